/* clstyle-bench: per-op and per-evaluation timings on an OpenCL device; medians after warm-up. */
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
    const char *model;
    int repeats, warmup;
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
    cl_mem in, weight, flipped, bias, out, winograd;
    cls_conv_algo algo;
} conv_buffers;

static void release_conv(conv_buffers *b)
{
    cl_mem all[] = {b->in, b->weight, b->flipped, b->bias, b->out, b->winograd};
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
        if (backward && b->algo == CLS_CONV_WINOGRAD)
            CLS_TRY(
                cls_conv3x3_winograd_backward_data(ctx, in, c->cout, b->out, b->winograd, b->in));
        else if (backward)
            CLS_TRY(cls_conv3x3_backward_data(ctx, in, c->cout, b->out, b->flipped, b->in));
        else if (b->algo == CLS_CONV_WINOGRAD)
            CLS_TRY(cls_conv3x3_winograd_forward(ctx, in, c->cout, b->in, b->winograd, b->bias,
                                                 true, b->out));
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
    b.algo = cls_conv3x3_choose(ctx, (cls_shape){1, c->cin, c->h, c->w}, c->cout);
    if (b.algo == CLS_CONV_WINOGRAD) {
        const size_t count = cls_conv3x3_winograd_weight_count(c->cin, c->cout);
        CLS_TRY(cls_buffer_create(ctx, count * sizeof(float), "Winograd weights", &b.winograd));
        CLS_TRY(cls_conv3x3_winograd_weights(ctx, c->cin, c->cout, b.weight, b.winograd));
    }
    double fwd = 0, bwd = 0;
    CLS_TRY(time_conv(ctx, c, false, o->repeats, &b, &fwd));
    CLS_TRY(time_conv(ctx, c, true, o->repeats, &b, &bwd));
    /* Direct-convolution FLOPs for either algorithm, so the rates compare. */
    const double flops = 2.0 * 9.0 * c->cin * c->cout * (double)plane;
    const char *algo = cls_conv_algo_name(b.algo);
    if (o->json)
        printf("%s{\"op\": \"conv3x3\", \"algo\": \"%s\", \"cin\": %d, \"cout\": %d, "
               "\"h\": %d, \"w\": %d, \"forward_s\": %.6f, \"forward_gflops\": %.2f, "
               "\"backward_data_s\": %.6f, \"backward_data_gflops\": %.2f}",
               first ? "" : ",\n", algo, c->cin, c->cout, c->h, c->w, fwd, flops / fwd * 1e-9, bwd,
               flops / bwd * 1e-9);
    else
        printf("conv3x3 %-8s %4d -> %4d at %4dx%-4d  forward %8.2f ms %7.2f GFLOP/s   "
               "backward-data %8.2f ms %7.2f GFLOP/s\n",
               algo, c->cin, c->cout, c->h, c->w, fwd * 1e3, flops / fwd * 1e-9, bwd * 1e3,
               flops / bwd * 1e-9);
    fflush(stdout);
fail:
    release_conv(&b);
    return status;
}

/* Seconds since the optimisation started, after each iteration (one evaluation each). */
typedef struct eval_times {
    double *elapsed;
    int count;
} eval_times;

static int record_progress(void *user, const cls_progress *p)
{
    eval_times *t = user;
    if (p->iteration >= 1 && p->iteration <= t->count)
        t->elapsed[p->iteration - 1] = p->elapsed_s;
    return 0;
}

static cls_status random_image(int size, unsigned seed, cls_image *image)
{
    cls_status status = cls_image_alloc(image, size, size);
    if (status != CLS_OK)
        return status;
    for (size_t i = 0; i < (size_t)size * (size_t)size * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        image->pixels[i] = (float)(seed >> 8) / (float)(1 << 24) * 255.0f;
    }
    return CLS_OK;
}

/* Median seconds per evaluation after the warm-up: differences of consecutive iterations. */
static double eval_median(const eval_times *t, int warmup)
{
    const int n = t->count - 1 - warmup;
    for (int i = 0; i < n; i++)
        t->elapsed[i] = t->elapsed[1 + warmup + i] - t->elapsed[warmup + i];
    return median(t->elapsed, n);
}

/* One Adam run of 1 + warmup + repeats iterations: Adam evaluates exactly once per step. */
static cls_status time_eval(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                            double *seconds)
{
    cls_image content = {0}, style = {0}, out = {0};
    eval_times t = {.count = 1 + o->warmup + o->repeats};
    t.elapsed = calloc((size_t)t.count, sizeof *t.elapsed);
    cls_status status = t.elapsed ? CLS_OK : cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "timings");
    if (status == CLS_OK)
        status = random_image(size, 11, &content);
    if (status == CLS_OK)
        status = random_image(size, 12, &style);
    cls_transfer_params tp = cls_transfer_params_default();
    tp.optimizer = CLS_OPTIMIZER_ADAM;
    tp.iterations = t.count;
    tp.progress = record_progress;
    tp.progress_user = &t;
    cls_transfer_result result;
    if (status == CLS_OK)
        status = cls_transfer_run(ctx, model, &content, &style, 1, NULL, &tp, &out, &result);
    if (status == CLS_OK && result.iterations != t.count)
        status = cls_error(CLS_ERR_UNSUPPORTED, "the run stopped after %d of %d iterations: %s",
                           result.iterations, t.count, result.stop_reason);
    if (status == CLS_OK)
        *seconds = eval_median(&t, o->warmup);
    cls_image_free(&out);
    cls_image_free(&style);
    cls_image_free(&content);
    free(t.elapsed);
    return status;
}

static cls_status bench_eval(cls_ctx *ctx, cls_model *model, int size, const bench_options *o,
                             bool first)
{
    cls_status status = CLS_OK;
    size_t bytes = 0;
    double seconds = 0;
    cls_transfer_params defaults = cls_transfer_params_default();
    CLS_TRY(cls_transfer_plan_bytes(model, size, size, &defaults, &bytes));
    CLS_TRY(time_eval(ctx, model, size, o, &seconds));
    if (o->json)
        printf("%s{\"op\": \"eval\", \"size\": %d, \"eval_s\": %.6f, \"device_bytes\": %zu, "
               "\"warmup\": %d, \"repeats\": %d}",
               first ? "" : ",\n", size, seconds, bytes, o->warmup, o->repeats);
    else
        printf("eval %4dx%-4d  %9.2f ms per evaluation   device memory %8.1f MiB\n", size, size,
               seconds * 1e3, (double)bytes / (1024.0 * 1024.0));
    fflush(stdout);
fail:
    return status;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: clstyle-bench [-d DEVICE] [--repeats N] [--warmup W] [--json]\n"
                 "                     [--conv CIN,COUT,H,W]... [--model PATH --eval SIZE]...\n"
                 "Times 3x3 convolution forward and backward-data on the device (median of N\n"
                 "runs after one warm-up; default N = 5). Without --conv or --eval: 64->64 at\n"
                 "128x128 and 256->256 at 64x64. The algorithm is the one clstyle chooses for the\n"
                 "shape; CLSTYLE_CONV=direct|winograd forces one. GFLOP/s count the direct\n"
                 "convolution's 2 * cin * cout * 9 * h * w operations for both.\n"
                 "--eval SIZE: one style transfer evaluation (VGG-19 forward, content, style and\n"
                 "TV losses, backward to the image) on random SIZE x SIZE images with the model\n"
                 "at PATH: median of N evaluations after W warm-up ones (default 1), and the\n"
                 "device memory of a default (L-BFGS) run.\n");
}

typedef struct bench_cases {
    conv_case conv[64];
    int nconv, given;
    int eval[64];
    int neval;
} bench_cases;

/* Reads the command line into o and c: 0 to go on, else the exit code plus one. */
static int parse_args(int argc, char **argv, bench_options *o, bench_cases *c)
{
    static const struct option options[] = {{"device", required_argument, NULL, 'd'},
                                            {"repeats", required_argument, NULL, 'r'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"conv", required_argument, NULL, 'c'},
                                            {"model", required_argument, NULL, 'm'},
                                            {"eval", required_argument, NULL, 'e'},
                                            {"warmup", required_argument, NULL, 'w'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        conv_case *cc = &c->conv[c->given];
        switch (opt) {
        case 'd': o->device = optarg; break;
        case 'r': o->repeats = atoi(optarg); break;
        case 'w': o->warmup = atoi(optarg); break;
        case 'j': o->json = true; break;
        case 'm': o->model = optarg; break;
        case 'c':
            if (c->given >= 64 ||
                sscanf(optarg, "%d,%d,%d,%d", &cc->cin, &cc->cout, &cc->h, &cc->w) != 4)
                return 3;
            c->nconv = ++c->given;
            break;
        case 'e':
            if (c->neval >= 64 || (c->eval[c->neval++] = atoi(optarg)) < 1)
                return 3;
            break;
        case 'h': usage(stdout); return 1;
        default: return 3;
        }
    }
    if (c->neval > 0 && c->given == 0)
        c->nconv = 0;
    if (o->repeats < 1 || o->warmup < 0 || (c->neval > 0 && !o->model) || optind < argc)
        return 3;
    return 0;
}

static cls_status run_benchmarks(cls_ctx *ctx, const bench_cases *c, const bench_options *o)
{
    cls_status status = CLS_OK;
    cls_model *model = NULL;
    if (c->neval > 0)
        CLS_TRY(cls_model_load(ctx, o->model, &model));
    for (int i = 0; i < c->nconv; i++)
        CLS_TRY(bench_conv(ctx, &c->conv[i], o, i == 0));
    for (int i = 0; i < c->neval; i++)
        CLS_TRY(bench_eval(ctx, model, c->eval[i], o, i == 0 && c->nconv == 0));
fail:
    cls_model_destroy(model);
    return status;
}

int main(int argc, char **argv)
{
    bench_options o = {.repeats = 5, .warmup = 1};
    bench_cases c = {.conv = {{64, 64, 128, 128}, {256, 256, 64, 64}}, .nconv = 2};
    int parsed = parse_args(argc, argv, &o, &c);
    if (parsed) {
        if (parsed > 1)
            usage(stderr);
        return parsed - 1;
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
    status = run_benchmarks(ctx, &c, &o);
    if (o.json)
        printf("\n]}\n");
    if (status != CLS_OK)
        fprintf(stderr, "clstyle-bench: %s\n", cls_last_error());
    cls_ctx_destroy(ctx);
    return status == CLS_OK ? 0 : 1;
}
