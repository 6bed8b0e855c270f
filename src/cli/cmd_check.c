/* `clstyle check`: builds every kernel on the chosen device (through the kernel cache) and
 * runs the known-answer self-check, so a broken driver shows up in seconds. */
#include "cli/cli.h"

#include <stdio.h>

int cls_cmd_check(const cls_cli_common *common)
{
    cls_ctx_params params = cls_cli_ctx_params(common);
    params.build_all_kernels = true;
    cls_ctx *ctx = NULL;
    cls_status status = cls_ctx_create(&params, &ctx);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    const cls_device_info *dev = cls_ctx_device(ctx);
    const cls_ctx_startup *startup = cls_ctx_startup_stats(ctx);
    printf("device %d: %s (%s)\n", dev->index, dev->name, dev->platform);
    printf("kernels: %d programs ready in %.3f s (%d from the kernel cache, %d compiled)\n",
           startup->programs, startup->seconds_total, startup->cache_hits, startup->compiled);
    status = cls_ctx_self_check(ctx);
    if (status != CLS_OK) {
        int code = cls_cli_fail(status);
        fprintf(stderr, "clstyle: this device computes wrong results; try another one "
                        "(`clstyle devices`) or update its driver\n");
        cls_ctx_destroy(ctx);
        return code;
    }
    printf("self-check: passed\n");
    cls_ctx_destroy(ctx);
    return CLS_EXIT_OK;
}
