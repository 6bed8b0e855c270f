/* Shared pieces of clstyle-bench: timing with warm-up and medians, random device data, the
 * device's peak arithmetic rate, and output as a text table or JSON. */
#ifndef CLS_BENCH_UTIL_H
#define CLS_BENCH_UTIL_H

#include "ops/conv.h"
#include "runtime/context.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct bench_options {
    const char *device;
    const char *model;
    int repeats, warmup;
    bool json;
    double peak_override; /* --peak-gflops, 0 when not given */
    int sizes[8];         /* --sizes for the report */
    int nsizes;
    unsigned parts;     /* BENCH_PART_* bits of the report */
    int lbfgs_history;  /* L-BFGS overhead measurement: history size */
    bool lbfgs_host;    /* ... with the history in host memory */
    int transfer_iters; /* L-BFGS iterations of the end-to-end run (0: 8) */
} bench_options;

enum {
    BENCH_PART_CONV = 1u << 0,
    BENCH_PART_GRAM = 1u << 1,
    BENCH_PART_LOSS = 1u << 2,
    BENCH_PART_EVAL = 1u << 3,
    BENCH_PART_LBFGS = 1u << 4,
    BENCH_PART_TRANSFER = 1u << 5,
    BENCH_PART_ALL = (1u << 6) - 1,
};

/* One JSON array of result objects, or lines of text: bench_item() starts the next object
 * (with the separator) and tells whether JSON is wanted. */
typedef struct bench_out {
    bool json;
    int items;
} bench_out;

bool bench_item(bench_out *out);

/* An operation to time: enqueues the work once. */
typedef cls_status (*bench_fn)(cls_ctx *ctx, void *user);

/* Median seconds of `repeats` runs of fn after `warmup` untimed ones, each run timed from
 * an idle queue to clFinish. */
cls_status bench_time(cls_ctx *ctx, bench_fn fn, void *user, int warmup, int repeats,
                      double *median_s);

double bench_median(double *v, int n);

/* A device buffer of count floats, uniform in [-0.5, 0.5) from seed. */
cls_status bench_random_buffer(cls_ctx *ctx, size_t count, unsigned seed, cl_mem *out);

/* A size x size image with uniform values in 0..255 from seed. */
cls_status bench_random_image(int size, unsigned seed, cls_image *image);

/* The device's peak single-precision rate: compute units x clock x SIMD lanes x 2 (one
 * fused multiply-add is two operations), or the override. `how` says which. */
typedef struct bench_peak {
    double gflops;
    char how[256];
} bench_peak;

void bench_peak_detect(cls_ctx *ctx, double override_gflops, bench_peak *peak);

/* A 3x3 convolution layer with random weights, run the way the network runs it: with the
 * algorithm a transfer would use (measured by cls_conv3x3_select, or forced by
 * CLSTYLE_CONV) and the derived weights that needs (flipped, or Winograd-transformed). */
typedef struct bench_conv {
    cls_shape in;
    int cout;
    cls_conv_algo algo;
    cl_mem input, weight, derived, bias, output;
} bench_conv;

cls_status bench_conv_create(cls_ctx *ctx, cls_shape in, int cout, bench_conv *c);
void bench_conv_release(bench_conv *c);
/* bench_fn: forward with bias and ReLU, and backward-data, on a bench_conv. */
cls_status bench_conv_forward(cls_ctx *ctx, void *conv);
cls_status bench_conv_backward(cls_ctx *ctx, void *conv);

/* GFLOP/s of flops in seconds, and that as a fraction of the peak (0 when unknown). */
double bench_gflops(double flops, double seconds);
double bench_fraction(double gflops, const bench_peak *peak);

/* The full report: every VGG-19 conv layer shape up to relu5_1, the Gram and loss ops,
 * one evaluation, the L-BFGS overhead and a real transfer, at each size of o->sizes. */
cls_status bench_report(cls_ctx *ctx, const bench_options *o, bench_out *out);

/* One style transfer evaluation at size x size (an Adam run of 1 + warmup + repeats
 * iterations, the first and the warm-up ones left out): prints an "eval" item. */
cls_status bench_eval_size(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                           bench_out *out, double *eval_s);

/* Fast style (bench_ffnet.c): the transformer network of the file at path, run on a random
 * size x size image for each of sizes (the whole cls_ffnet_run call, median and fastest of
 * o->repeats after o->warmup): "stylize" items with seconds, images per second and device
 * memory; then "stylize_memory" items, without a run, for 1024 and 2048 where not run. */
cls_status bench_stylize(cls_ctx *ctx, const char *path, const int *sizes, int count,
                         const bench_options *o, bench_out *out);

/* Fast-style training (bench_train.c): for each of sizes, a trainer of a transformer (the
 * file init, else cls_ffnet_create_random seed 1) with the VGG-16 at vgg16_path, on a random
 * size x size style image and a random batch of `batch` images made on the host beforehand;
 * the first step timed alone, max(o->warmup, 1) - 1 more untimed, then o->repeats timed
 * cls_trainer_step calls: a "train" item with seconds per step (median, fastest), images per
 * second, the first step, the trainer's device memory (held and planned), the weights' and
 * the first and last steps' losses. */
cls_status bench_train(cls_ctx *ctx, const char *vgg16_path, const char *init, const int *sizes,
                       int count, int batch, const bench_options *o, bench_out *out);

#endif
