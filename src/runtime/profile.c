/* The per-kernel profile of CLSTYLE_PROFILE=1 (runtime/profile.h). */
#include "runtime/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cls_profile_row {
    char name[64];
    long calls;
    double seconds;
};

bool cls_profile_begin(cls_ctx *ctx, double *start)
{
    if (!ctx->profile_on)
        return false;
    clFinish(ctx->queue);
    *start = cls_now_seconds();
    return true;
}

static struct cls_profile_row *row_for(cls_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->profile_count; i++)
        if (strcmp(ctx->profile[i].name, name) == 0)
            return &ctx->profile[i];
    struct cls_profile_row *grown =
        realloc(ctx->profile, (ctx->profile_count + 1) * sizeof *ctx->profile);
    if (!grown)
        return NULL; /* a lost row, not a failed run */
    ctx->profile = grown;
    struct cls_profile_row *row = &ctx->profile[ctx->profile_count++];
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    return row;
}

void cls_profile_end(cls_ctx *ctx, const char *name, double start)
{
    clFinish(ctx->queue);
    const double seconds = cls_now_seconds() - start;
    struct cls_profile_row *row = row_for(ctx, name);
    if (row) {
        row->calls++;
        row->seconds += seconds;
    }
}

static int slower_first(const void *a, const void *b)
{
    const double x = ((const struct cls_profile_row *)a)->seconds;
    const double y = ((const struct cls_profile_row *)b)->seconds;
    return (x < y) - (x > y);
}

void cls_profile_report(cls_ctx *ctx)
{
    if (!ctx->profile_on)
        return;
    double total = 0.0;
    for (size_t i = 0; i < ctx->profile_count; i++)
        total += ctx->profile[i].seconds;
    qsort(ctx->profile, ctx->profile_count, sizeof *ctx->profile, slower_first);
    cls_log(ctx, CLS_LOG_WARN, "profile on %s: %.3f s in %zu kernels and routines", ctx->info.name,
            total, ctx->profile_count);
    cls_log(ctx, CLS_LOG_WARN, "%-32s %8s %10s %10s %6s", "kernel", "calls", "total ms", "ms/call",
            "share");
    for (size_t i = 0; i < ctx->profile_count; i++) {
        const struct cls_profile_row *r = &ctx->profile[i];
        cls_log(ctx, CLS_LOG_WARN, "%-32s %8ld %10.1f %10.3f %5.1f%%", r->name, r->calls,
                r->seconds * 1e3, r->seconds * 1e3 / (double)r->calls,
                total > 0.0 ? 100.0 * r->seconds / total : 0.0);
    }
    free(ctx->profile);
    ctx->profile = NULL;
    ctx->profile_count = 0;
}
