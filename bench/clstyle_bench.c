/* clstyle-bench: per-op timings on an OpenCL device. Each case runs once to warm up (kernel
 * compile, first-touch allocation), then `repeats` times; the median is reported. */
#include "ops/conv.h"
#include "runtime/launch.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_case {
    int cin, cout, h, w;
} conv_case;

typedef struct bench_options {
    const char *device;
    int repeats;
    bool json;
} bench_options;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static cls_status random_buffer(cls_ctx *ctx, size_t count, unsigned seed, cl_mem *out)
{
    float *host = malloc(count * sizeof *host);
    if (!host)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "benchmark data");
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        host[i] = (float)(seed >> 8) / (float)(1 << 24) - 0.5f;
    }
    cls_status status = cls_buffer_create(ctx, count * sizeof *host, "benchmark data", out);
    if (status == CLS_OK) {
        cl_int err = clEnqueueWriteBuffer(ctx->queue, *out, CL_TRUE, 0, count * sizeof *host, host,
                                          0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = cls_error_cl(err, "uploading benchmark data");
    }
    free(host);
    return status;
}

typedef struct conv_buffers {
    cl_mem in, weight, flipped, bias, out;
} conv_buffers;

static void release_conv(conv_buffers *b)
{
    cl_mem all[] = {b->in, b->weight, b->flipped, b->bias, b->out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
}

/* Seconds for one forward (backward = false) or backward-data pass, median of repeats. */
static cls_status time_conv(cls_ctx *ctx, const conv_case *c, bool backward, int repeats,
                            const conv_buffers *b, double *seconds)
{
    cls_status status = CLS_OK;
    cls_shape in = {1, c->cin, c->h, c->w};
    double *runs = calloc((size_t)repeats, sizeof *runs);
    if (!runs)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "timings");
    for (int r = -1; r < repeats; r++) {
        CLS_CHECK_CL(clFinish(ctx->queue), "clFinish");
        double start = cls_now_seconds();
        if (backward)
            CLS_TRY(cls_conv3x3_backward_data(ctx, in, c->cout, b->out, b->flipped, b->in));
        else
            CLS_TRY(cls_conv3x3_forward(ctx, in, c->cout, b->in, b->weight, b->bias, true, b->out));
        CLS_CHECK_CL(clFinish(ctx->queue), "clFinish");
        if (r >= 0)
            runs[r] = cls_now_seconds() - start;
    }
    *seconds = median(runs, repeats);
fail:
    free(runs);
    return status;
}

static cls_status bench_conv(cls_ctx *ctx, const conv_case *c, const bench_options *o, bool first)
{
    cls_status status = CLS_OK;
    conv_buffers b = {0};
    const size_t plane = (size_t)c->h * (size_t)c->w;
    CLS_TRY(random_buffer(ctx, (size_t)c->cin * plane, 1, &b.in));
    CLS_TRY(random_buffer(ctx, (size_t)c->cout * (size_t)c->cin * 9, 2, &b.weight));
    CLS_TRY(random_buffer(ctx, (size_t)c->cout * (size_t)c->cin * 9, 3, &b.flipped));
    CLS_TRY(random_buffer(ctx, (size_t)c->cout, 4, &b.bias));
    CLS_TRY(random_buffer(ctx, (size_t)c->cout * plane, 5, &b.out));
    CLS_TRY(cls_conv3x3_flip_weights(ctx, c->cin, c->cout, b.weight, b.flipped));
    double fwd = 0, bwd = 0;
    CLS_TRY(time_conv(ctx, c, false, o->repeats, &b, &fwd));
    CLS_TRY(time_conv(ctx, c, true, o->repeats, &b, &bwd));
    const double flops = 2.0 * 9.0 * c->cin * c->cout * (double)plane;
    if (o->json)
        printf("%s{\"op\": \"conv3x3\", \"cin\": %d, \"cout\": %d, \"h\": %d, \"w\": %d, "
               "\"forward_s\": %.6f, \"forward_gflops\": %.2f, \"backward_data_s\": %.6f, "
               "\"backward_data_gflops\": %.2f}",
               first ? "" : ",\n", c->cin, c->cout, c->h, c->w, fwd, flops / fwd * 1e-9, bwd,
               flops / bwd * 1e-9);
    else
        printf("conv3x3 %4d -> %4d at %4dx%-4d  forward %8.2f ms %7.2f GFLOP/s   "
               "backward-data %8.2f ms %7.2f GFLOP/s\n",
               c->cin, c->cout, c->h, c->w, fwd * 1e3, flops / fwd * 1e-9, bwd * 1e3,
               flops / bwd * 1e-9);
    fflush(stdout);
fail:
    release_conv(&b);
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: clstyle-bench [-d DEVICE] [--repeats N] [--json] [--conv CIN,COUT,H,W]...\n"
            "Times 3x3 convolution forward and backward-data on the device (median of N\n"
            "runs after one warm-up; default N = 5). Without --conv: 64->64 at 128x128 and\n"
            "256->256 at 64x64.\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'}, {"repeats", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},         {"conv", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    bench_options o = {.repeats = 5};
    conv_case cases[64] = {{64, 64, 128, 128}, {256, 256, 64, 64}};
    int ncases = 2, given = 0, opt;
    while ((opt = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': o.device = optarg; break;
        case 'r': o.repeats = atoi(optarg); break;
        case 'j': o.json = true; break;
        case 'c':
            if (given >= 64 || sscanf(optarg, "%d,%d,%d,%d", &cases[given].cin, &cases[given].cout,
                                      &cases[given].h, &cases[given].w) != 4) {
                usage(stderr);
                return 2;
            }
            ncases = ++given;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.repeats < 1) {
        usage(stderr);
        return 2;
    }
    cls_ctx_params params = cls_ctx_params_default();
    params.device_spec = o.device;
    cls_ctx *ctx = NULL;
    cls_status status = cls_ctx_create(&params, &ctx);
    if (status != CLS_OK) {
        fprintf(stderr, "clstyle-bench: %s\n", cls_last_error());
        return 1;
    }
    if (!o.json)
        printf("device: %s (%s)\n", ctx->info.name, ctx->info.platform);
    else
        printf("{\"device\": \"%s\", \"results\": [\n", ctx->info.name);
    for (int i = 0; i < ncases && status == CLS_OK; i++)
        status = bench_conv(ctx, &cases[i], &o, i == 0);
    if (o.json)
        printf("\n]}\n");
    if (status != CLS_OK)
        fprintf(stderr, "clstyle-bench: %s\n", cls_last_error());
    cls_ctx_destroy(ctx);
    return status == CLS_OK ? 0 : 1;
}
