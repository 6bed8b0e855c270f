/* Per-device kernel parameters: chosen by the host, prepended to every kernel source as
 * #defines (the kernels carry #ifndef defaults), and used by the launchers for work sizes. */
#ifndef CLS_RUNTIME_TUNABLES_H
#define CLS_RUNTIME_TUNABLES_H

#include "clstyle.h"

#include <stdbool.h>
#include <stddef.h>

/* Loop iterations one work-item may run, in all its loops, on every device: Mesa's llvmpipe
 * (rusticl) ends a work-item's loops after 65535 iterations (LP_MAX_TGSI_LOOP_ITERATIONS)
 * and keeps what was computed so far, silently. Launchers whose work-items loop over a
 * length that grows with the image split it so that none passes this; kept well under. */
enum { CLS_MAX_ITEM_ITERATIONS = 32768 };

typedef struct cls_tunables {
    int conv_cout_tile;  /* output channels per work-item in conv3x3_forward */
    int reduce_group;    /* work-group size of the loss reductions (a power of two) */
    bool reduce_blocked; /* the squared-difference losses read contiguous blocks (CPUs) */

    /* Winograd F(4x4, 3x3) convolution (cl/winograd.cl, ops/conv_winograd.c). */
    int wino_gemm_rows; /* rows of the channel-mixing product per work-item */
    int wino_gemm_vecs; /* ... by this many float16 of columns: 1 (wino_gemm) or 2
                           (wino_gemm_wide); 0: one column a work-item, in
                           wino_gemm_lane_rows rows (wino_gemm_lanes) */
    int wino_gemm_lane_rows;
    int wino_gemm_pass;        /* rows wino_gemm computes at a time (in registers) */
    int wino_gemm_wide_pass;   /* ... and wino_gemm_wide */
    int wino_group;            /* work-group size (dimension 0) of the transform kernels */
    bool wino_gemm_column;     /* a wino_gemm work-group is one column block, all its rows */
    bool wino_clblast;         /* channel mixing with CLBlast instead of wino_gemm */
    size_t wino_scratch_bytes; /* each of the two transformed buffers at most (one tile row
                                  of the layer is the minimum) */
    bool conv_measure;         /* time direct against Winograd per layer shape (else the rule) */
    int wino_min_channels;     /* Winograd only when cin and cout are at least this */
    int wino_min_tiles;        /* ... and the image has at least this many 4x4 tiles */
    int wino_min_work;         /* ... and tiles * min(cin, cout) is at least this */

    /* Gram matrices (ops/gram.c, cl/gram.cl): clstyle's kernels (gram_kernel: CPUs) or
     * CLBlast (GPUs, whose tuned GEMMs read memory coalesced). The kernels' forward pass
     * computes blocks of gram_rows_i x gram_rows_j entries with gram_vec-wide vectors, a
     * work-group one row of blocks, or gram_tile_i x gram_tile_j blocks from
     * gram_tile_min_channels channels on; the gradient gram_grad_rows rows by 16 columns per
     * work-item (gram_grad), or with gram_grad_vecs 2 gram_grad_wide_rows rows by 32
     * (gram_grad_wide), a work-group gram_grad_group such work-items along the columns. */
    bool gram_kernel;
    int gram_vec;
    int gram_rows_i;
    int gram_rows_j;
    int gram_tile_min_channels;
    int gram_tile_i;
    int gram_tile_j;
    int gram_grad_rows;
    int gram_grad_vecs;
    int gram_grad_wide_rows;
    int gram_grad_group;
    size_t gram_pack_bytes; /* the gradient packs F's columns in chunks of at most this */
    /* Split-K: F F^T over slices of the H*W columns, added up after. */
    int gram_max_parts;        /* at most this many slices (a power of two) */
    size_t gram_min_part_cols; /* each slice at least this many columns */
    size_t gram_min_part_work; /* ... and C * C * columns at least this */

    /* Dot products of the optimisers (optim/vec.c, cl/optim.cl): each work-item sums a
     * contiguous block of dot_block elements (CPUs), or, when 0, every dot_items-th element
     * (GPUs: neighbouring work-items read neighbouring elements). */
    int dot_block;
    int dot_items;

    /* Instance normalisation (ops/norm.c, cl/norm.cl): each plane is split into parts, one
     * work-group each, until there are about compute units x norm_groups_per_cu groups, but
     * no part under norm_min_part elements nor more than norm_max_parts parts. A work-item
     * reads a contiguous block of its part (norm_blocked: CPUs) or every reduce_group-th
     * element (GPUs). */
    int norm_groups_per_cu;
    int norm_min_part;
    int norm_max_parts;
    bool norm_blocked;

    /* Kernels may fuse a * b + c into one instruction (FP_CONTRACT). $CLSTYLE_NO_FMA=1 turns
     * it off: valgrind emulates each fused instruction by a call, several times slower. */
    bool fused_multiply_add;
} cls_tunables;

cls_tunables cls_tunables_for(const cls_device_info *device);

/* How many slices ops/gram.c splits the H*W columns of a C x C Gram matrix into: the largest
 * power of two the limits allow that divides hw (1: one product). */
size_t cls_tunables_gram_parts(const cls_tunables *t, size_t c, size_t hw);

/* Writes the #define lines into buf (NUL-terminated, truncated to size). */
void cls_tunables_prelude(const cls_tunables *t, char *buf, size_t size);

#endif
