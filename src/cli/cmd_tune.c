/* `clstyle tune`: searches CLBlast GEMM parameters for the device (cls_ctx_tune_blas),
 * printing each candidate, then the GFLOP/s of every Gram shape before and after. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct tune_cli {
    cls_cli_common common;
    double budget;
    int sizes[3], nsizes;
    int winograd;
} tune_cli;

static void print_usage(FILE *out)
{
    fputs("Usage: clstyle tune [-d SPEC] [--time-budget S] [--sizes N[,N...]] [--winograd M]\n"
          "                    [-v|-q]\n"
          "Searches CLBlast's GEMM parameters (Xgemm, XgemmDirect and the size at which it\n"
          "switches between them) for the device, on the shapes of the Gram matrices of a\n"
          "style transfer at the given image sizes (256,512), checking every candidate's\n"
          "results, and stores the winner in $XDG_CACHE_HOME/clstyle (default\n"
          "~/.cache/clstyle) for every later run on this device and driver. Only GPUs\n"
          "need it: on CPUs the Gram matrices run on clstyle's own kernels.\n"
          "  -d, --device SPEC      the device (see `clstyle devices`)\n"
          "      --time-budget S    seconds for the whole search (120)\n"
          "      --sizes N[,N...]   image sizes whose Gram shapes are tuned, 1 to 3 (256,512)\n"
          "      --winograd M       also the batched products of Winograd F(MxM,3x3)\n"
          "                         convolution (M = 2 or 4) of VGG-19's layers\n"
          "  -v, --verbose          every candidate's parameters\n"
          "  -q, --quiet            only the result\n",
          out);
}

static int parse(int argc, char **argv, tune_cli *t, bool *help)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'}, {"time-budget", required_argument, NULL, 'b'},
        {"sizes", required_argument, NULL, 's'},  {"winograd", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, ":d:vqh", options, NULL)) != -1) {
        switch (opt) {
        case 'd': t->common.device_spec = optarg; break;
        case 'b':
            t->budget = strtod(optarg, &end);
            if (*end || !(t->budget > 0 && t->budget <= 86400)) {
                fprintf(stderr, "clstyle: error: --time-budget wants seconds > 0, got %s\n",
                        optarg);
                return CLS_EXIT_USAGE;
            }
            break;
        case 's': {
            t->nsizes = 0;
            for (char *p = optarg; *p;) {
                long v = strtol(p, &end, 10);
                if (end == p || v < 16 || v > 4096 || t->nsizes >= 3 || (*end && *end != ',')) {
                    fprintf(stderr,
                            "clstyle: error: --sizes wants 1 to 3 sizes in 16..4096, "
                            "got %s\n",
                            optarg);
                    return CLS_EXIT_USAGE;
                }
                t->sizes[t->nsizes++] = (int)v;
                p = *end ? end + 1 : end;
            }
            break;
        }
        case 'v':
            t->common.verbosity = t->common.verbosity < 0 ? 1 : t->common.verbosity + 1;
            break;
        case 'q': t->common.verbosity = -1; break;
        case 'h': *help = true; break;
        case ':':
            fprintf(stderr, "clstyle: error: option needs a value: %s\n", argv[optind - 1]);
            return CLS_EXIT_USAGE;
        default:
            fprintf(stderr, "clstyle: error: unknown option %s\nTry `clstyle tune --help`.\n",
                    argv[optind - 1]);
            return CLS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clstyle: error: unexpected argument %s\n", argv[optind]);
        return CLS_EXIT_USAGE;
    }
    return CLS_EXIT_OK;
}

static void on_progress(void *user, const cls_tune_progress *p)
{
    const tune_cli *t = user;
    if (t->common.verbosity < 0)
        return;
    if (p->candidate == 0 && p->gflops <= 0) {
        fprintf(stderr, "[%5.1f s] %s: %s\n", p->elapsed_s, p->stage, p->note ? p->note : "");
        return;
    }
    if (p->candidate == 0)
        fprintf(stderr, "[%5.1f s] %-11s  in use ", p->elapsed_s, p->stage);
    else if (p->candidate < 0)
        fprintf(stderr, "[%5.1f s] %-11s again %d ", p->elapsed_s, p->stage, -p->candidate);
    else
        fprintf(stderr, "[%5.1f s] %-11s %2d/%-2d ", p->elapsed_s, p->stage, p->candidate,
                p->candidates);
    if (p->gflops > 0)
        fprintf(stderr, "%7.2f GFLOP/s (best %.2f)", p->gflops, p->best_gflops);
    else
        fprintf(stderr, "rejected: %s", p->note ? p->note : "failed");
    if (p->candidate <= 0)
        fprintf(stderr, "  %s", p->note ? p->note : "");
    if (t->common.verbosity > 0 || p->candidate <= 0)
        fprintf(stderr, "\n            %s", p->params);
    fputc('\n', stderr);
}

static void print_result(const cls_tune_result *r)
{
    printf("%-22s %5s %7s %7s %14s %14s %6s\n", "shape", "M", "N", "K", "before GFLOP/s",
           "after GFLOP/s", "ratio");
    for (int i = 0; i < r->shape_count; i++) {
        const cls_tune_shape *s = &r->shapes[i];
        printf("%-22s %5d %7d %7d %14.2f %14.2f %5.2fx\n", s->what, s->m, s->n, s->k,
               s->gflops_before, s->gflops_after, s->gflops_after / s->gflops_before);
    }
    printf("all shapes once: %.3f s before, %.3f s after (%.2fx)\n", r->total_s_before,
           r->total_s_after, r->total_s_before / r->total_s_after);
    printf("%d candidates run (%d rejected) in %.0f s\n", r->candidates_tried,
           r->candidates_rejected, r->seconds);
    if (r->stored)
        printf("stored in %s:\n%s", r->path, r->params);
    else
        printf("nothing faster than the parameters in use: kept them (%s)\n", r->path);
}

int cls_cmd_tune(int argc, char **argv)
{
    tune_cli t = {.budget = 120.0};
    bool help = false;
    int rc = parse(argc, argv, &t, &help);
    if (rc != CLS_EXIT_OK)
        return rc;
    if (help) {
        print_usage(stdout);
        return CLS_EXIT_OK;
    }
    cls_ctx_params params = cls_cli_ctx_params(&t.common);
    params.no_blas_tuning = true; /* start from CLBlast's own parameters */
    cls_ctx *ctx = NULL;
    cls_status status = cls_ctx_create(&params, &ctx);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    const cls_device_info *dev = cls_ctx_device(ctx);
    if (t.common.verbosity >= 0)
        fprintf(stderr, "tuning CLBlast SGEMM on device %d: %s (%s, driver %s), budget %.0f s\n",
                dev->index, dev->name, dev->platform, dev->driver_version, t.budget);
    if (t.common.verbosity >= 0 && !cls_ctx_gram_uses_clblast(ctx))
        fprintf(stderr, "note: on this device the Gram matrices run on clstyle's own kernels, not "
                        "CLBlast, so style transfer does not use what this finds (only with "
                        "CLSTYLE_GRAM=clblast)\n");
    cls_tune_params tp = cls_tune_params_default();
    tp.time_budget_s = t.budget;
    if (t.nsizes > 0) {
        tp.sizes = t.sizes;
        tp.size_count = t.nsizes;
    }
    tp.winograd_tile = t.winograd;
    tp.progress = on_progress;
    tp.progress_user = &t;
    cls_tune_result *result = calloc(1, sizeof *result);
    if (!result) {
        cls_ctx_destroy(ctx);
        fprintf(stderr, "clstyle: error: out of memory\n");
        return CLS_EXIT_RUNTIME;
    }
    status = cls_ctx_tune_blas(ctx, &tp, result);
    if (status == CLS_OK)
        print_result(result);
    else
        rc = cls_cli_fail(status);
    free(result);
    cls_ctx_destroy(ctx);
    return status == CLS_OK ? CLS_EXIT_OK : rc;
}
