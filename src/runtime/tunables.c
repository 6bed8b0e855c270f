/* Choosing kernel parameters for a device. */
#include "runtime/tunables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cls_tunables cls_tunables_for(const cls_device_info *device)
{
    (void)device; /* one setting fits every device measured so far; see the perf issue */
    cls_tunables t = {
        .conv_cout_tile = 8,
        .reduce_group = 64,
        .wino_gemm_rows = 16,
        /* PoCL's own choice for the transforms (up to 4096 work-items a group) overflows
         * its stack with their float8 arrays; 8 is as fast as 1 to 32 measured. */
        .wino_group = 8,
        .wino_clblast = false,
        .wino_scratch_bytes = (size_t)32 << 20,
        .wino_min_channels = 16,
        .wino_min_tiles = 16,
    };
    /* For benchmarks: the Winograd channel mixing by CLBlast or by the wino_gemm kernel. */
    const char *gemm = getenv("CLSTYLE_WINO_GEMM");
    if (gemm && strcmp(gemm, "clblast") == 0)
        t.wino_clblast = true;
    else if (gemm && strcmp(gemm, "kernel") == 0)
        t.wino_clblast = false;
    return t;
}

void cls_tunables_prelude(const cls_tunables *t, char *buf, size_t size)
{
    snprintf(buf, size,
             "#define CONV_COUT_TILE %d\n#define REDUCE_GROUP %d\n"
             "#define WINO_GEMM_ROWS %d\n",
             t->conv_cout_tile, t->reduce_group, t->wino_gemm_rows);
}
