/* Tuning CLBlast (cls_ctx_tune_blas) on a real device with a tiny budget and size: the file
 * is written and read back, a later context applies it, corrupt, truncated and foreign
 * files are ignored with a warning, and the Gram products computed with applied
 * parameters still match a double-precision reference on both of CLBlast's paths. */
#include "check.h"
#include "ops/gram.h"
#include "runtime/blas_tune.h"
#include "runtime/context.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char cache_dir[256];
static int warnings;
static char last_warning[1024];

static void log_warnings(void *user, cls_log_level level, const char *message)
{
    (void)user;
    if (level == CLS_LOG_WARN) {
        warnings++;
        snprintf(last_warning, sizeof last_warning, "%s", message);
        printf("  warning: %s\n", message);
    }
}

static cls_ctx *open_ctx(bool no_tuning)
{
    cls_ctx_params p = cls_ctx_params_default();
    p.device_spec = getenv("CLSTYLE_TEST_DEVICE");
    p.cache_dir = cache_dir;
    p.no_blas_tuning = no_tuning;
    p.log = log_warnings;
    cls_ctx *ctx = NULL;
    warnings = 0;
    last_warning[0] = '\0';
    CHECK_STATUS(cls_ctx_create(&p, &ctx), CLS_OK);
    return ctx;
}

static void progress(void *user, const cls_tune_progress *p)
{
    (void)user;
    printf("  [%.1f s] %s %d/%d %.2f GFLOP/s %s\n", p->elapsed_s, p->stage, p->candidate,
           p->candidates, p->gflops, p->note ? p->note : "");
}

/* G = F F^T / k and dF = S F for random F (c x hw) and S (c x c), through the ops the
 * style loss uses, against double-precision host products. */
static void check_gram(cls_ctx *ctx, int c, int hw, const char *label)
{
    const size_t fc = (size_t)c * (size_t)hw, cc = (size_t)c * (size_t)c;
    float *f = malloc(fc * sizeof *f), *s = malloc(cc * sizeof *s);
    float *g = malloc(cc * sizeof *g), *df = malloc(fc * sizeof *df);
    unsigned seed = 7;
    for (size_t i = 0; i < fc; i++)
        f[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / (float)(1 << 24) - 0.5f;
    for (size_t i = 0; i < cc; i++)
        s[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / (float)(1 << 24) - 0.5f;
    cl_mem bf = NULL, bs = NULL, bg = NULL, bdf = NULL;
    CHECK_STATUS(cls_buffer_create(ctx, fc * 4, "F", &bf), CLS_OK);
    CHECK_STATUS(cls_buffer_create(ctx, cc * 4, "S", &bs), CLS_OK);
    CHECK_STATUS(cls_buffer_create(ctx, cc * 4, "G", &bg), CLS_OK);
    CHECK_STATUS(cls_buffer_create(ctx, fc * 4, "dF", &bdf), CLS_OK);
    clEnqueueWriteBuffer(ctx->queue, bf, CL_TRUE, 0, fc * 4, f, 0, NULL, NULL);
    clEnqueueWriteBuffer(ctx->queue, bs, CL_TRUE, 0, cc * 4, s, 0, NULL, NULL);
    const cls_shape shape = {1, c, 1, hw};
    const float scale = 1.0f / (float)hw;
    CHECK_STATUS(cls_gram_forward(ctx, shape, bf, scale, bg), CLS_OK);
    /* grad_features = scale (S + S^T) F */
    CHECK_STATUS(cls_gram_backward(ctx, shape, bf, bs, scale, false, bdf), CLS_OK);
    clEnqueueReadBuffer(ctx->queue, bg, CL_TRUE, 0, cc * 4, g, 0, NULL, NULL);
    clEnqueueReadBuffer(ctx->queue, bdf, CL_TRUE, 0, fc * 4, df, 0, NULL, NULL);
    double worst_g = 0, big_g = 0, worst_d = 0, big_d = 0;
    for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++) {
            double want = 0;
            for (int k = 0; k < hw; k++)
                want += (double)f[(size_t)i * hw + k] * f[(size_t)j * hw + k];
            want *= scale;
            big_g = fmax(big_g, fabs(want));
            worst_g = fmax(worst_g, fabs(want - g[(size_t)i * c + j]));
        }
    for (int i = 0; i < c; i++)
        for (int k = 0; k < hw; k++) {
            double want = 0;
            for (int j = 0; j < c; j++)
                want +=
                    ((double)s[(size_t)i * c + j] + s[(size_t)j * c + i]) * f[(size_t)j * hw + k];
            want *= scale;
            big_d = fmax(big_d, fabs(want));
            worst_d = fmax(worst_d, fabs(want - df[(size_t)i * hw + k]));
        }
    printf("  %s: Gram %dx%d, K %d: max rel err %.2e; gradient %.2e\n", label, c, c, hw,
           worst_g / big_g, worst_d / big_d);
    CHECK(worst_g <= 1e-4 * big_g);
    CHECK(worst_d <= 1e-4 * big_d);
    cl_mem all[] = {bf, bs, bg, bdf};
    for (int i = 0; i < 4; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    free(f);
    free(s);
    free(g);
    free(df);
}

static void tune_tiny(void)
{
    cls_ctx *ctx = open_ctx(true);
    if (!ctx)
        return;
    CHECK(cls_ctx_startup_stats(ctx)->blas_tuned_kernels == 0);
    static const int sizes[] = {32};
    cls_tune_params tp = cls_tune_params_default();
    /* Quick (under valgrind): a budget too small for any candidate, natively too, so the
     * CLBlast programs built are the same in the warm-up and the valgrind run; a candidate's
     * compilation inside valgrind takes minutes. The reference, routing and storing stages
     * still run (whether a file is stored then depends on the timings). */
    tp.time_budget_s = check_quick() ? 0.01 : 2.0;
    tp.sizes = sizes;
    tp.size_count = 1;
    tp.winograd_tile = 4;
    tp.progress = progress;
    cls_tune_result *r = calloc(1, sizeof *r);
    CHECK_STATUS(cls_ctx_tune_blas(ctx, &tp, r), CLS_OK);
    printf("  %.1f s, %d candidates, stored %d, %.4f s -> %.4f s\n%s", r->seconds,
           r->candidates_tried, r->stored, r->total_s_before, r->total_s_after, r->params);
    CHECK(r->shape_count == 10 + 9); /* 5 Gram products and their gradients, 9 conv layers */
    CHECK(access(r->path, R_OK) == 0);
    CHECK(strncmp(r->path, cache_dir, strlen(cache_dir)) == 0);
    /* Read back: a file of this device, with the three kernels when something was stored. */
    cls_blas_params sets[CLS_BLAS_MAX_KERNELS];
    int count = -1;
    CHECK_STATUS(cls_blas_tuning_read(ctx, r->path, sets, CLS_BLAS_MAX_KERNELS, &count), CLS_OK);
    CHECK(count == (r->stored ? 3 : 0));
    check_gram(ctx, 64, 1000, "after tuning");
    cls_ctx_destroy(ctx);

    ctx = open_ctx(false);
    if (ctx) {
        CHECK(warnings == 0);
        CHECK(cls_ctx_startup_stats(ctx)->blas_tuned_kernels == count);
    }
    cls_ctx_destroy(ctx);
    free(r);
}

/* Writes a file with non-default parameters for both paths and the given switch size, opens
 * a context that applies it and checks the products on shapes of either path. */
static void applied_parameters_match(void)
{
    cls_ctx *ctx = open_ctx(true);
    if (!ctx)
        return;
    char path[4200];
    CHECK_STATUS(cls_blas_tuning_path(ctx, path, sizeof path), CLS_OK);
    cls_blas_params sets[3];
    CHECK(cls_blas_params_retrieve(ctx->device, "Xgemm", &sets[0]) == 0);
    CHECK(cls_blas_params_retrieve(ctx->device, "XgemmDirect", &sets[1]) == 0);
    CHECK(cls_blas_params_retrieve(ctx->device, "GemmRoutine", &sets[2]) == 0);
    const struct {
        const char *kernel, *name;
        size_t value;
    } changes[] = {
        {"Xgemm", "GEMMK", 0},
        {"Xgemm", "KREG", 1},
        {"Xgemm", "MWG", 64},
        {"Xgemm", "NWG", 64},
        {"Xgemm", "KWG", 32},
        {"Xgemm", "MDIMC", 8},
        {"Xgemm", "NDIMC", 8},
        {"Xgemm", "MDIMA", 8},
        {"Xgemm", "NDIMB", 8},
        {"Xgemm", "KWI", 2},
        {"Xgemm", "VWM", 8},
        {"Xgemm", "VWN", 8},
        {"Xgemm", "SA", 0},
        {"Xgemm", "SB", 0},
        {"Xgemm", "STRM", 0},
        {"Xgemm", "STRN", 0},
        {"XgemmDirect", "WGD", 32},
        {"XgemmDirect", "MDIMCD", 8},
        {"XgemmDirect", "NDIMCD", 8},
        {"XgemmDirect", "MDIMAD", 8},
        {"XgemmDirect", "NDIMBD", 8},
        {"XgemmDirect", "KWID", 2},
        {"XgemmDirect", "VWMD", 4},
        {"XgemmDirect", "VWND", 4},
        {"XgemmDirect", "PADA", 1},
        {"XgemmDirect", "PADB", 1},
        {"GemmRoutine", "XGEMM_MIN_INDIRECT_SIZE", 200},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
        for (int k = 0; k < 3; k++)
            if (strcmp(sets[k].kernel, changes[i].kernel) == 0) {
                size_t *v = cls_blas_params_find(&sets[k], changes[i].name);
                CHECK(v != NULL);
                if (v)
                    *v = changes[i].value;
            }
    CHECK_STATUS(cls_blas_tuning_write(ctx, path, sets, 3), CLS_OK);
    cls_ctx_destroy(ctx);

    ctx = open_ctx(false);
    if (!ctx)
        return;
    CHECK(warnings == 0);
    CHECK(cls_ctx_startup_stats(ctx)->blas_tuned_kernels == 3);
    cls_blas_params now;
    CHECK(cls_blas_params_retrieve(ctx->device, "Xgemm", &now) == 0);
    CHECK(*cls_blas_params_find(&now, "MWG") == 64 && *cls_blas_params_find(&now, "VWM") == 8);
    /* 200^3 = 8e6: 64 x 64 x 1000 = 4.1e6 runs XgemmDirect, 96 x 96 x 1000 = 9.2e6 Xgemm;
     * odd sizes exercise the padding of both. */
    check_gram(ctx, 64, 1000, "XgemmDirect");
    check_gram(ctx, 96, 1003, "Xgemm");
    check_gram(ctx, 130, 777, "Xgemm, padded");
    cls_ctx_destroy(ctx);
}

/* Rewrites the tuning file with a change, opens a context and expects a warning and no
 * parameters applied. */
/* What a context starting now would do with the file at path (content): ignore it with one
 * warning. The file is read as cls_ctx_create reads it (cls_blas_tuning_apply) on ctx, a
 * context created without tuning: a new context per file would add a minute each under
 * valgrind. */
static void expect_ignored(cls_ctx *ctx, const char *path, const char *content, size_t size,
                           const char *why)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(content, 1, size, f);
    fclose(f);
    warnings = 0;
    last_warning[0] = '\0';
    ctx->startup.blas_tuned_kernels = 0;
    cls_blas_tuning_apply(ctx);
    printf("  %s:\n", why);
    CHECK(warnings == 1);
    CHECK_CONTAINS(last_warning, "ignoring the BLAS tuning file");
    CHECK(cls_ctx_startup_stats(ctx)->blas_tuned_kernels == 0);
}

static void bad_files_ignored(void)
{
    cls_ctx *ctx = open_ctx(true);
    if (!ctx)
        return;
    char path[4200];
    CHECK_STATUS(cls_blas_tuning_path(ctx, path, sizeof path), CLS_OK);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static char good[65536];
    size_t size = fread(good, 1, sizeof good - 1, f);
    fclose(f);
    CHECK(size > 100);
    char *copy = malloc(size + 1);

    memcpy(copy, good, size);
    char *mwg = strstr(copy, "MWG=64");
    CHECK(mwg != NULL);
    if (mwg)
        mwg[5] = '5'; /* MWG=65: the checksum no longer matches */
    expect_ignored(ctx, path, copy, size, "a changed value");
    expect_ignored(ctx, path, good, size / 2, "truncated");
    expect_ignored(ctx, path, "", 0, "empty");
    expect_ignored(ctx, path,
                   "\x7f"
                   "ELF garbage\n",
                   13, "garbage");

    /* A well-formed file whose key is another device's. */
    {
        cls_device_info saved = ctx->info;
        snprintf(ctx->info.driver_version, sizeof ctx->info.driver_version, "another driver");
        cls_blas_params sets[1];
        CHECK(cls_blas_params_retrieve(ctx->device, "Xgemm", &sets[0]) == 0);
        CHECK_STATUS(cls_blas_tuning_write(ctx, path, sets, 1), CLS_OK);
        ctx->info = saved;
        static char other[65536];
        f = fopen(path, "rb");
        size_t n = f ? fread(other, 1, sizeof other - 1, f) : 0;
        if (f)
            fclose(f);
        expect_ignored(ctx, path, other, n, "another driver's");
    }
    cls_ctx_destroy(ctx);

    /* No file at all: silent. */
    unlink(path);
    ctx = open_ctx(false);
    if (ctx) {
        CHECK(warnings == 0);
        CHECK(cls_ctx_startup_stats(ctx)->blas_tuned_kernels == 0);
    }
    cls_ctx_destroy(ctx);
    free(copy);
}

int main(void)
{
    snprintf(cache_dir, sizeof cache_dir, "%s/clstyle-blas-tune-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(cache_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(tune_tiny);
    RUN(applied_parameters_match);
    RUN(bad_files_ignored);
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", cache_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", cache_dir);
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}
