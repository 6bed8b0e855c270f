/* Shared pieces of the clstyle command: options common to every subcommand, exit codes,
 * and reporting. */
#ifndef CLS_CLI_H
#define CLS_CLI_H

#include "clstyle.h"

#include <stdio.h>

#if defined(__GNUC__)
#define CLS_CLI_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLS_CLI_PRINTF(fmt_index, first_arg)
#endif

enum {
    CLS_EXIT_OK = 0,
    CLS_EXIT_RUNTIME = 1,
    CLS_EXIT_USAGE = 2,
    CLS_EXIT_INTERRUPTED = 130,
};

typedef struct cls_cli_common {
    const char *device_spec; /* -d/--device, NULL when not given */
    int verbosity;           /* -1 quiet, 0 default, 1 -v, 2 -vv */
    bool reproducible;       /* --reproducible */
} cls_cli_common;

/* Log callback printing to stderr; user points to a cls_cli_common. */
void cls_cli_log(void *user, cls_log_level level, const char *message);

/* Context parameters for the device of -d, logging to stderr at the verbosity of -v / -q
 * (common must outlive the context). */
cls_ctx_params cls_cli_ctx_params(const cls_cli_common *common);

/* Prints "clstyle: error: <what failed>" for a failed library call; returns the exit code. */
int cls_cli_fail(cls_status status);

int cls_cmd_devices(const cls_cli_common *common);
int cls_cmd_check(const cls_cli_common *common);
int cls_cmd_info(const char *path);
int cls_cmd_tune(int argc, char **argv);    /* argv[0] is "tune" */
int cls_cmd_stylize(int argc, char **argv); /* argv[0] is "stylize" */
int cls_cmd_train(int argc, char **argv);   /* argv[0] is "train" */

#endif
