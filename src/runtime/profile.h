/* CLSTYLE_PROFILE=1: where a run's device time goes, per kernel and CLBlast routine. Each
 * profiled call is bracketed by clFinish and timed on the host, so a row is the call's whole
 * cost as the program sees it (launch, driver work and the kernel), not overlapped with
 * others; the context logs the table when it is destroyed. Off, it costs one branch. */
#ifndef CLS_RUNTIME_PROFILE_H
#define CLS_RUNTIME_PROFILE_H

#include "runtime/context.h"

/* Whether this context profiles; when it does, waits for the queue and returns the time. */
bool cls_profile_begin(cls_ctx *ctx, double *start);

/* Waits for the queue and adds the time since start to name's row. */
void cls_profile_end(cls_ctx *ctx, const char *name, double start);

/* Logs the table (slowest first) and frees it. */
void cls_profile_report(cls_ctx *ctx);

#endif
