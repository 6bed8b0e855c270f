/* Choosing kernel parameters for a device. */
#include "runtime/tunables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cls_tunables cls_tunables_for(const cls_device_info *device)
{
    /* One setting fits every device measured so far (a CPU: PoCL), except how a dot
     * product reads its vectors, which follows the device type; see the perf issue. */
    /* GPUs run work-items as SIMD lanes: their Winograd GEMM takes a column a work-item
     * (wino_gemm_lanes), not a float16 block, whose 6 x 16 accumulators would spill there.
     * Not measured on a GPU; checked on rusticl's llvmpipe, which is not one in this sense:
     * an L-BFGS iteration at 64x48 took 30.0 s with it against 13.8 s with wino_gemm (LLVM
     * turns a work-item's float16 into SIMD itself). */
    const bool lanes = device && device->type == CLS_DEVICE_GPU;
    cls_tunables t = {
        .conv_cout_tile = 8,
        .reduce_group = 64,
        .reduce_blocked = !(device && device->type == CLS_DEVICE_GPU),
        .wino_gemm_rows = 16,
        /* The channel mixing's register block (cl/winograd.cl): 6 rows by one float16 in
         * AVX2's 16 registers; on devices with 16 native lanes (AVX-512: 32 registers), 8 rows
         * by two float16 (wino_gemm_wide, where the columns round to 32 with little waste).
         * 2 Xeon cores with AVX-512 (PoCL pthread-skylake-avx512), clstyle-bench --conv,
         * medians of 7, two interleaved runs, ms forward / backward-data, narrow -> wide:
         *   64 -> 128 at 128x128   7.4-8.5 / 6.9-10.3   ->  6.0-9.9 / 5.5-7.1
         *   256 -> 256 at 64x64    9.8-10.5 / 10.8-13.9 ->  6.6-7.4 / 7.3-8.3
         *   512 -> 512 at 32x32    9.0-9.9 / 12.5-18.1  ->  7.3-8.4 / 10.0-10.2
         *   128 -> 128 at 256x256   50-53 / 61-62       ->   45-46 / 48-50
         * and one evaluation at 256x256 / 512x512: 0.312 / 1.141 s -> 0.255 / 0.988 s.
         * Wide passes of 12 and 14 rows measured the same as 8 within noise. */
        .wino_gemm_pass = 6,
        .wino_gemm_wide_pass = 8,
        .wino_gemm_vecs = lanes                                        ? 0
                          : device && device->native_float_width >= 16 ? 2
                                                                       : 1,
        .wino_gemm_lane_rows = 8,
        /* PoCL's own choice for the transforms (up to 4096 work-items a group) overflows
         * its stack with their float8 arrays; 8 is as fast as 1 to 32 measured. */
        .wino_group = 8,
        /* One work-group per 16-column block of the GEMM, over all its row blocks, so the
         * block's column strip of the transformed data stays in cache while every row block
         * uses it: 1.4-1.7x for 64 and 256 channels (e.g. 256 -> 256 at 128x128: 26 -> 45
         * GFLOP/s in the GEMM), the same for 512, against PoCL's own choice. */
        .wino_gemm_column = true,
        .wino_clblast = false,
        /* Two buffers of at most this: about 47 MiB together for VGG-19 at 512x512 (the
         * largest layers split into chunks of 19 tile rows), which keeps a default 512x512
         * run with its weights and transformed weights at 1428 MiB. 32 MiB each measured
         * the same within noise; 16 and 8 MiB cost 10-15% and 25-40% in the backward pass
         * of conv1_2 and conv2_1 (more halo rows, more launches). */
        .wino_scratch_bytes = (size_t)24 << 20,
        /* When Winograd beats the direct kernel (forward + backward-data, clstyle-bench
         * --conv, medians of 9 on the 2-core EPYC PoCL device, direct vs Winograd):
         *   3 -> 64 at 256x256    44 vs 69 ms   (conv1_1: 3 input channels, direct wins)
         *   512 -> 512 at 4x4     24 vs 35 ms   (1 tile, padded to a 16-column GEMM block;
         *                                        streaming U, 4x the weights, dominates)
         *   512 -> 512 at 8x8     54 vs 36 ms   (4 tiles)
         *   16 -> 16 at 16x16     0.10 vs 0.18  (16 tiles x 16 channels: tiny either way)
         *   64 -> 64 at 8x8       0.46 vs 0.44  (break-even)
         *   16 -> 16 at 32x32     0.34 vs 0.21
         *   64 -> 64 at 16x16     1.25 vs 0.95
         *   256 -> 256 at 12x12   32 vs 7 ms
         * and every VGG-19 layer but conv1_1 at 256x256 and 512x512 (2-5x, see the commit
         * log). */
        .wino_min_channels = 16,
        /* The rule above chose as the timings did on all 9 VGG-19 layer shapes at 512x384 on
         * both CPUs measured (2 AMD EPYC cores with AVX2 and 2 Xeon cores with AVX-512:
         * direct for conv1_1, Winograd for the rest, by 1.4x to 12x), and timing them took
         * 8-14 s of a first run there, a third of its start. So CPUs take the rule; other
         * devices, where it was never measured, time both once per shape. */
        .conv_measure = !(device && device->type == CLS_DEVICE_CPU),
        .wino_min_tiles = 4,
        .wino_min_work = 1024,
        /* A Gram matrix of few channels over many pixels is a long, thin product: CLBlast
         * gives 64 x 64 four work-groups (2 cores idle half the time, each streaming 256K
         * columns). Slices fix that (medians of 3, clstyle-bench --only gram, 512x512, ms
         * for 1 / 2 / 4 / 8 / 16 / 32 slices):
         *   relu1_1  64 x 262144   249 183 224 156 117 170
         *   relu2_1 128 x 65536    164 146  85  65  65 150
         *   relu3_1 256 x 16384     72  64  51  40  38 146
         *   relu4_1 512 x 4096      50  34  34  29  39 156
         *   relu5_1 512 x 1024     6.9 8.2  11  37  55  48
         * The cliffs are slices falling below CLBlast's switch to its direct kernel (m*n*k
         * under 406^3 as `clstyle tune` set it here), or too short to pay for the extra
         * C x C partial results. */
        /* Gram matrices on cl/gram.cl rather than CLBlast on CPUs: untuned, CLBlast ran them
         * at 10-20 GFLOP/s here, the kernel at 80-170 (GFLOP/s of the full product; the
         * forward pass computes half of it). clstyle-bench --only gram, medians of 3-5,
         * fresh cache, ms forward / backward:
         *                          CLBlast      kernel     PyTorch 2.15 (2 threads)
         *   relu1_1  64 x 65536    45 / 51     3.8 / 4.5   4.7 / 7.4
         *   relu3_1 256 x 4096     44 / 40     3.7 / 3.3   3.2 / 3.6
         *   relu4_1 512 x 1024     43 / 40     3.8 / 3.3   3.0 / 3.4
         *   relu1_1  64 x 262144  177 / 181     16 / 17     22 / 34
         *   relu4_1 512 x 4096    175 / 99      15 / 12     12 / 14
         * Float8 and 4 x 3 blocks: 12 accumulators and 7 operands in AVX2's 16 registers.
         * Devices with 16 native lanes (AVX-512, 32 registers) take float16: not measured. */
        .gram_kernel = !(device && device->type == CLS_DEVICE_GPU),
        .gram_vec = device && device->native_float_width >= 16 ? 16 : 8,
        .gram_rows_i = 4,
        .gram_rows_j = 3,
        /* 512 channels: a row of 171 blocks streams all 512 rows of F through the cache for
         * each row block; tiles of 16 x 4 blocks took relu4_1 at 256x256 from 5.3 to 3.8 ms
         * and relu5_1 from 1.6 to 1.2. Below 512 channels rows measured as fast or faster
         * (relu4_1 excepted, tiles cost 5-15%). */
        .gram_tile_min_channels = 512,
        .gram_tile_i = 16,
        .gram_tile_j = 4,
        /* The gradient's F strip is packed (cl/gram.cl: 31 -> 13 ms for 256 x 16384) in
         * chunks of 4 MiB, less than the Winograd scratch shares the slot with. Groups of 8
         * column blocks against 1: 17 against 21 ms for 64 x 262144, the same within noise
         * for the others. */
        /* 16 native lanes: 8 rows by 32 columns (gram_grad_wide), as the Winograd GEMM. 2 Xeon
         * cores with AVX-512, clstyle-bench --only gram, medians of 7, three interleaved
         * runs, the gradient's ms (pack included), 6 x 16 -> 8 x 32:
         *   256x256  relu3_1 3.0-5.9 -> 2.2-4.0, relu4_1 3.4-4.3 -> 2.2, relu5_1 1.1-1.8 -> 0.7-1.3
         *   512x512  relu1_1 20-22 -> 18-19, relu2_1 16-16.5 -> 11-12, relu3_1 12-16 -> 8.5-8.9,
         *            relu4_1 11-12 -> 7.7-11.6, relu5_1 3.0-3.4 -> 2.2-2.6 */
        .gram_grad_rows = 6,
        .gram_grad_vecs = device && device->native_float_width >= 16 ? 2 : 1,
        .gram_grad_wide_rows = 8,
        .gram_grad_group = 8,
        .gram_pack_bytes = (size_t)4 << 20,
        .gram_max_parts = 16,
        .gram_min_part_cols = 1024,
        .gram_min_part_work = (size_t)1 << 26,
        /* A dot product of 786432 floats (the L-BFGS vectors at 512x512) on the EPYC PoCL
         * device: CLBlast's Xdot 2.3-3.0 ms, blocks of 256 to 4096 elements 0.09 ms, the
         * strided pattern 1.8-3.7 ms (PoCL does not vectorise it). */
        .dot_block = device && device->type == CLS_DEVICE_GPU ? 0 : 1024,
        .dot_items = 16384,
        /* Instance norm on the 2-core EPYC PoCL device (ms, relu, best of 5): the
         * fast-style shapes (32 to 128 planes, one part each) are the same within noise
         * for 4 to 16 groups per unit; 3 planes of 1024^2: 3 parts 2.0, 11 parts 1.5. A
         * work-item reading every 64th element instead of a block: 32 x 1024^2 planes
         * 254 ms against 21 (PoCL does not vectorise it); GPUs read that way coalesced. */
        .norm_groups_per_cu = 8,
        .norm_min_part = 4096,
        .norm_max_parts = 256,
        .norm_blocked = !(device && device->type == CLS_DEVICE_GPU),
    };
    /* For benchmarks: the Winograd scratch budget, the Gram matrices' slices (1: none) and
     * whether CLBlast or cl/gram.cl computes them, and the channel mixing by CLBlast or by
     * the wino_gemm kernel, and CLSTYLE_BLOCKS=narrow|wide: the register blocks of one or
     * two float16 of columns in wino_gemm and gram_grad (by default, the device's), or
     * lanes: wino_gemm_lanes. */
    const char *scratch = getenv("CLSTYLE_WINO_SCRATCH_MIB");
    if (scratch && atoi(scratch) > 0)
        t.wino_scratch_bytes = (size_t)atoi(scratch) << 20;
    const char *parts = getenv("CLSTYLE_GRAM_MAX_PARTS");
    if (parts && atoi(parts) > 0)
        t.gram_max_parts = atoi(parts);
    const char *gram = getenv("CLSTYLE_GRAM");
    if (gram && strcmp(gram, "clblast") == 0)
        t.gram_kernel = false;
    else if (gram && strcmp(gram, "kernel") == 0)
        t.gram_kernel = true;
    const char *gemm = getenv("CLSTYLE_WINO_GEMM");
    if (gemm && strcmp(gemm, "clblast") == 0)
        t.wino_clblast = true;
    else if (gemm && strcmp(gemm, "kernel") == 0)
        t.wino_clblast = false;
    const char *blocks = getenv("CLSTYLE_BLOCKS");
    if (blocks && (strcmp(blocks, "narrow") == 0 || strcmp(blocks, "wide") == 0))
        t.wino_gemm_vecs = t.gram_grad_vecs = strcmp(blocks, "wide") == 0 ? 2 : 1;
    else if (blocks && strcmp(blocks, "lanes") == 0)
        t.wino_gemm_vecs = 0;
    const char *no_fma = getenv("CLSTYLE_NO_FMA");
    t.fused_multiply_add = !(no_fma && strcmp(no_fma, "1") == 0);
    return t;
}

size_t cls_tunables_gram_parts(const cls_tunables *t, size_t c, size_t hw)
{
    size_t parts = 1;
    while (parts * 2 <= (size_t)t->gram_max_parts && hw % (parts * 2) == 0) {
        const size_t cols = hw / (parts * 2);
        if (cols < t->gram_min_part_cols || c * c * cols < t->gram_min_part_work)
            break;
        parts *= 2;
    }
    return parts;
}

void cls_tunables_prelude(const cls_tunables *t, char *buf, size_t size)
{
    snprintf(
        buf, size,
        "#define CONV_COUT_TILE %d\n#define REDUCE_GROUP %d\n"
        "#define WINO_GEMM_ROWS %d\n#define WINO_GEMM_PASS %d\n#define WINO_GEMM_WIDE_PASS %d\n"
        "#define WINO_GEMM_LANE_ROWS %d\n"
        "#define GRAM_VEC %d\n#define GRAM_ROWS_I %d\n"
        "#define GRAM_ROWS_J %d\n#define GRAM_GRAD_ROWS %d\n#define GRAM_GRAD_WIDE_ROWS %d\n%s",
        t->conv_cout_tile, t->reduce_group, t->wino_gemm_rows, t->wino_gemm_pass,
        t->wino_gemm_wide_pass, t->wino_gemm_lane_rows, t->gram_vec, t->gram_rows_i, t->gram_rows_j,
        t->gram_grad_rows, t->gram_grad_wide_rows,
        t->fused_multiply_add ? "" : "#define CLS_NO_FMA 1\n");
}
