/* clstyle-bench: per-op and per-evaluation timings on an OpenCL device; medians after warm-up. */
#include "bench_util.h"
#include "ops/conv.h"
#include "runtime/launch.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_case {
    int cin, cout, h, w;
} conv_case;

static cls_status bench_conv_case(cls_ctx *ctx, const conv_case *c, const bench_options *o,
                                  bench_out *out)
{
    cls_status status = CLS_OK;
    bench_conv b;
    double fwd = 0, bwd = 0;
    CLS_TRY(bench_conv_create(ctx, (cls_shape){1, c->cin, c->h, c->w}, c->cout, &b));
    status = bench_time(ctx, bench_conv_forward, &b, o->warmup, o->repeats, &fwd);
    if (status == CLS_OK)
        status = bench_time(ctx, bench_conv_backward, &b, o->warmup, o->repeats, &bwd);
    bench_conv_release(&b);
    if (status != CLS_OK)
        goto fail;
    /* Direct-convolution FLOPs for either algorithm, so the rates compare. */
    const double flops = 2.0 * 9.0 * c->cin * c->cout * (double)c->h * (double)c->w;
    const char *algo = cls_conv_algo_name(b.algo);
    if (bench_item(out))
        printf("{\"op\": \"conv3x3\", \"algo\": \"%s\", \"cin\": %d, \"cout\": %d, "
               "\"h\": %d, \"w\": %d, \"forward_s\": %.6f, \"forward_gflops\": %.2f, "
               "\"backward_data_s\": %.6f, \"backward_data_gflops\": %.2f}",
               algo, c->cin, c->cout, c->h, c->w, fwd, flops / fwd * 1e-9, bwd,
               flops / bwd * 1e-9);
    else
        printf("conv3x3 %-8s %4d -> %4d at %4dx%-4d  forward %8.2f ms %7.2f GFLOP/s   "
               "backward-data %8.2f ms %7.2f GFLOP/s\n",
               algo, c->cin, c->cout, c->h, c->w, fwd * 1e3, flops / fwd * 1e-9, bwd * 1e3,
               flops / bwd * 1e-9);
    fflush(stdout);
fail:
    return status;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: clstyle-bench [-d DEVICE] [--model PATH] [--sizes 256,512] [--repeat N]\n"
            "                     [--warmup W] [--peak-gflops X] [--only PARTS] [--json]\n"
            "       clstyle-bench [options] [--conv CIN,COUT,H,W]... [--model PATH --eval SIZE]...\n"
            "       clstyle-bench [options] --model TRANSFORMER --stylize SIZE...\n"
            "       clstyle-bench [options] --model VGG16 [--init TRANSFORMER] [--batch N]\n"
            "                     --train SIZE...\n"
            "\n"
            "Without --conv, --eval, --stylize or --train: the report of a VGG-19 style\n"
            "transfer at each size: every conv layer shape up to relu5_1 (forward with bias\n"
            "and ReLU, and backward-data, through the launchers the network uses), the Gram\n"
            "matrices (cl/gram.cl, CLBlast on GPUs) and losses of the five style layers and\n"
            "the content layer, one evaluation, the L-BFGS optimiser's own work per\n"
            "iteration (history 100, on a cheap objective) and seconds per iteration of a\n"
            "real L-BFGS transfer; with GFLOP/s and the fraction of the device's peak\n"
            "(compute units x clock x SIMD lanes x 2; --peak-gflops overrides it).\n"
            "Evaluation and transfer need weights: --model, else the file `clstyle` would\n"
            "find; random-weight files time the same.\n"
            "\n"
            "  --sizes LIST        input sizes (default 256,512)\n"
            "  --repeat N          timed runs per op, median reported (default 3; 5 with\n"
            "                      --conv, --eval, --stylize or --train)\n"
            "  --warmup W          untimed runs first (default 1)\n"
            "  --only PARTS        comma list of conv,gram,loss,eval,lbfgs,transfer\n"
            "  --lbfgs-history N   history of the optimiser measurement (default 100)\n"
            "  --lbfgs-host-history  that history in host memory, uploaded every iteration\n"
            "  --transfer-iterations N  L-BFGS iterations of the real transfer (default 8;\n"
            "                      the first one's line search takes several evaluations)\n"
            "  --json              one JSON object with a results list instead of tables\n"
            "--conv CIN,COUT,H,W: only that 3x3 convolution, forward and backward-data.\n"
            "--eval SIZE: only one style transfer evaluation on random SIZE x SIZE images with\n"
            "the model at PATH (median of N after W warm-up ones) and the device memory of a\n"
            "default (L-BFGS) run.\n"
            "--stylize SIZE: only fast style: the transformer network (pytorch/examples\n"
            "TransformerNet) at PATH on a random SIZE x SIZE image, seconds per image of the\n"
            "whole call (upload, forward, download) and images per second, median of N after\n"
            "W warm-up ones, and the device memory; also the memory at 1024 and 2048 (no run).\n"
            "--train SIZE: only fast-style training (pytorch/examples neural_style.py train):\n"
            "a trainer of the transformer at --init (else random weights, seed 1) with the\n"
            "VGG-16 loss network at PATH (-m), on a random SIZE x SIZE style image and a random\n"
            "batch of --batch N images (default 4) made on the host first; seconds per step\n"
            "of the whole cls_trainer_step call (upload, forward, losses, backward, Adam),\n"
            "median and fastest of N after W warm-up ones, of which the first (it compiles\n"
            "kernels) is timed alone; images per second; the trainer's device memory.\n");
}

typedef struct bench_cases {
    conv_case conv[64];
    int nconv;
    int eval[64];
    int neval;
    int stylize[64];
    int nstylize;
    int train[64];
    int ntrain;
    int batch;        /* --batch of --train */
    const char *init; /* --init of --train */
} bench_cases;

static bool parse_sizes(const char *text, bench_options *o)
{
    o->nsizes = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 16 || v > 8192 || o->nsizes >= 8)
            return false;
        o->sizes[o->nsizes++] = (int)v;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return o->nsizes > 0;
}

static bool parse_parts(const char *text, bench_options *o)
{
    static const char *const names[] = {"conv", "gram", "loss", "eval", "lbfgs", "transfer"};
    o->parts = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < 6 && strcmp(tok, names[i]) != 0)
            i++;
        if (i == 6)
            return false;
        o->parts |= 1u << i;
    }
    return o->parts != 0;
}

/* Reads the command line into o and c: 0 to go on, else the exit code plus one. */
static int parse_args(int argc, char **argv, bench_options *o, bench_cases *c)
{
    enum {
        OPT_PEAK = 256,
        OPT_ONLY,
        OPT_HISTORY,
        OPT_HOST_HISTORY,
        OPT_TRANSFER,
        OPT_STYLIZE,
        OPT_TRAIN,
        OPT_BATCH,
        OPT_INIT
    };
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'},
        {"repeats", required_argument, NULL, 'r'},
        {"repeat", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"conv", required_argument, NULL, 'c'},
        {"model", required_argument, NULL, 'm'},
        {"eval", required_argument, NULL, 'e'},
        {"stylize", required_argument, NULL, OPT_STYLIZE},
        {"train", required_argument, NULL, OPT_TRAIN},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"init", required_argument, NULL, OPT_INIT},
        {"warmup", required_argument, NULL, 'w'},
        {"sizes", required_argument, NULL, 's'},
        {"peak-gflops", required_argument, NULL, OPT_PEAK},
        {"only", required_argument, NULL, OPT_ONLY},
        {"lbfgs-history", required_argument, NULL, OPT_HISTORY},
        {"lbfgs-host-history", no_argument, NULL, OPT_HOST_HISTORY},
        {"transfer-iterations", required_argument, NULL, OPT_TRANSFER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    bool repeats_given = false;
    while ((opt = getopt_long(argc, argv, "d:m:h", options, NULL)) != -1) {
        conv_case *cc = &c->conv[c->nconv];
        switch (opt) {
        case 'd': o->device = optarg; break;
        case 'r':
            o->repeats = atoi(optarg);
            repeats_given = true;
            break;
        case 'w': o->warmup = atoi(optarg); break;
        case 'j': o->json = true; break;
        case 'm': o->model = optarg; break;
        case 's':
            if (!parse_sizes(optarg, o))
                return 3;
            break;
        case OPT_PEAK: o->peak_override = atof(optarg); break;
        case OPT_ONLY:
            if (!parse_parts(optarg, o))
                return 3;
            break;
        case OPT_HISTORY: o->lbfgs_history = atoi(optarg); break;
        case OPT_HOST_HISTORY: o->lbfgs_host = true; break;
        case OPT_TRANSFER: o->transfer_iters = atoi(optarg); break;
        case 'c':
            if (c->nconv >= 64 ||
                sscanf(optarg, "%d,%d,%d,%d", &cc->cin, &cc->cout, &cc->h, &cc->w) != 4)
                return 3;
            c->nconv++;
            break;
        case 'e':
            if (c->neval >= 64 || (c->eval[c->neval++] = atoi(optarg)) < 1)
                return 3;
            break;
        case OPT_STYLIZE:
            if (c->nstylize >= 64 || (c->stylize[c->nstylize++] = atoi(optarg)) < 8)
                return 3;
            break;
        case OPT_TRAIN:
            if (c->ntrain >= 64 || (c->train[c->ntrain++] = atoi(optarg)) < 16)
                return 3;
            break;
        case OPT_BATCH:
            if ((c->batch = atoi(optarg)) < 1)
                return 3;
            break;
        case OPT_INIT: c->init = optarg; break;
        case 'h': usage(stdout); return 1;
        default: return 3;
        }
    }
    if (!repeats_given && (c->nconv > 0 || c->neval > 0 || c->nstylize > 0 || c->ntrain > 0))
        o->repeats = 5; /* what --conv and --eval always used */
    /* --eval, --stylize and --train need a model each, of different networks (VGG-19, the
     * transformer, VGG-16): one --model names one. */
    const int model_modes = (c->neval > 0) + (c->nstylize > 0) + (c->ntrain > 0);
    if (o->repeats < 1 || o->warmup < 0 || o->lbfgs_history < 1 || o->transfer_iters < 0 ||
        o->peak_override < 0 || (model_modes > 0 && !o->model) || model_modes > 1 ||
        ((c->init || c->batch) && c->ntrain == 0) || optind < argc)
        return 3;
    if (c->batch == 0)
        c->batch = 4;
    return 0;
}

static cls_status run_benchmarks(cls_ctx *ctx, const bench_cases *c, const bench_options *o,
                                 bench_out *out)
{
    cls_status status = CLS_OK;
    cls_model *model = NULL;
    if (c->nconv == 0 && c->neval == 0 && c->nstylize == 0 && c->ntrain == 0)
        return bench_report(ctx, o, out);
    if (c->neval > 0)
        CLS_TRY(cls_model_load(ctx, o->model, &model));
    for (int i = 0; i < c->nconv; i++)
        CLS_TRY(bench_conv_case(ctx, &c->conv[i], o, out));
    for (int i = 0; i < c->neval; i++) {
        double seconds;
        CLS_TRY(bench_eval_size(ctx, model, c->eval[i], o, out, &seconds));
    }
    if (c->nstylize > 0)
        CLS_TRY(bench_stylize(ctx, o->model, c->stylize, c->nstylize, o, out));
    if (c->ntrain > 0)
        CLS_TRY(bench_train(ctx, o->model, c->init, c->train, c->ntrain, c->batch, o, out));
fail:
    cls_model_destroy(model);
    return status;
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    putchar('"');
}

/* The library's warnings (and the CLSTYLE_PROFILE=1 table, logged as one) on stderr, so
 * they never mix with the results on stdout. */
static void log_stderr(void *user, cls_log_level level, const char *message)
{
    (void)user;
    if (level <= CLS_LOG_WARN)
        fprintf(stderr, "clstyle-bench: %s\n", message);
}

int main(int argc, char **argv)
{
    bench_options o = {.repeats = 3,
                       .warmup = 1,
                       .sizes = {256, 512},
                       .nsizes = 2,
                       .parts = BENCH_PART_ALL,
                       .lbfgs_history = 100};
    bench_cases c = {0};
    int parsed = parse_args(argc, argv, &o, &c);
    if (parsed) {
        if (parsed > 1)
            usage(stderr);
        return parsed - 1;
    }
    cls_ctx_params params = cls_ctx_params_default();
    params.device_spec = o.device;
    params.log = log_stderr;
    params.log_level = CLS_LOG_WARN;
    cls_ctx *ctx = NULL;
    cls_status status = cls_ctx_create(&params, &ctx);
    if (status != CLS_OK) {
        fprintf(stderr, "clstyle-bench: %s\n", cls_last_error());
        return 1;
    }
    bench_out out = {.json = o.json};
    /* What a reader of the figures must know: Gram matrices on CLBlast or clstyle's kernels,
     * and whether a `clstyle tune` file gave CLBlast tuned parameters. */
    const char *gram = cls_ctx_gram_uses_clblast(ctx) ? "clblast" : "kernel";
    const int tuned = cls_ctx_startup_stats(ctx)->blas_tuned_kernels;
    if (!o.json) {
        printf("device: %s (%s, driver %s)\n", ctx->info.name, ctx->info.platform,
               ctx->info.driver_version);
        printf("Gram matrices: %s; CLBlast kernels with tuned parameters: %d\n", gram, tuned);
    } else {
        printf("{\"device\": ");
        print_json_string(ctx->info.name);
        printf(", \"driver\": ");
        print_json_string(ctx->info.driver_version);
        printf(", \"gram\": \"%s\", \"blas_tuned_kernels\": %d, \"results\": [\n", gram, tuned);
    }
    fflush(stdout);
    status = run_benchmarks(ctx, &c, &o, &out);
    if (o.json)
        printf("\n]}\n");
    if (status != CLS_OK)
        fprintf(stderr, "clstyle-bench: %s\n", cls_last_error());
    cls_ctx_destroy(ctx);
    return status == CLS_OK ? 0 : 1;
}
