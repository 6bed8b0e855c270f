/* How the command reports: library log messages and errors, on stderr, and the context
 * parameters that send the library's messages there. */
#include "cli/cli.h"

#include <stdio.h>

void cls_cli_log(void *user, cls_log_level level, const char *message)
{
    const cls_cli_common *common = user;
    if (common->verbosity < 0 && level > CLS_LOG_WARN)
        return;
    if (level == CLS_LOG_WARN)
        fprintf(stderr, "clstyle: warning: %s\n", message);
    else
        fprintf(stderr, "clstyle: %s\n", message);
}

int cls_cli_fail(cls_status status)
{
    const char *detail = cls_last_error();
    fprintf(stderr, "clstyle: error: %s\n", detail && *detail ? detail : cls_status_str(status));
    return CLS_EXIT_RUNTIME;
}

cls_ctx_params cls_cli_ctx_params(const cls_cli_common *common)
{
    cls_ctx_params params = cls_ctx_params_default();
    params.device_spec = common->device_spec;
    params.reproducible = common->reproducible;
    params.log = cls_cli_log;
    params.log_user = (void *)common;
    params.log_level = common->verbosity >= 2   ? CLS_LOG_DEBUG
                       : common->verbosity == 1 ? CLS_LOG_INFO
                                                : CLS_LOG_WARN;
    return params;
}
