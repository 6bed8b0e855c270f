/* Formatting log messages for the user's callback, and the clock used for timings. */
#include "runtime/context.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void cls_log(const cls_ctx *ctx, cls_log_level level, const char *fmt, ...)
{
    if (!ctx->log || level > ctx->log_level)
        return;
    char message[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    ctx->log(ctx->log_user, level, message);
}

double cls_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
