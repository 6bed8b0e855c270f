/* cls_ctx_tune_blas: a bounded search over CLBlast's Xgemm and XgemmDirect parameters and
 * its direct/indirect switch (XGEMM_MIN_INDIRECT_SIZE: CLBlast runs the single-kernel
 * XgemmDirect when m*n*k is below its cube, else the padded/transposed Xgemm), timed on the
 * real routine with the Gram matrices' shapes, every candidate checked against the results
 * of the parameters in use before. */
#include "runtime/blas_status.h"
#include "runtime/blas_tune.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Candidates in the order they are tried (a budget stops the list early): names not given
 * keep the value in use. CPU-friendly ones first (no local memory, wide vectors, 8x8 work
 * groups of 8x8 or 4x4 outputs each, as PoCL vectorises across work-items; 32x32 tiles give
 * a 64 x 64 Gram matrix four work-groups, one per core or more), GPU-style ones after; on
 * GPUs the order is reversed. Each is checked against the kernel's constraints first. */
static const char *const xgemm_candidates[] = {
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=8 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=32 NWG=32 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=4 VWN=4 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=16 MDIMC=4 NDIMC=8 MDIMA=4 NDIMB=8 KWI=2 VWM=16 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=32 NWG=64 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=4 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=32 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=8 VWN=4 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=128 NWG=64 KWG=16 MDIMC=16 NDIMC=8 MDIMA=16 NDIMB=8 KWI=2 VWM=8 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=128 KWG=16 MDIMC=8 NDIMC=16 MDIMA=8 NDIMB=16 KWI=2 VWM=8 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=16 NWG=16 KWG=32 MDIMC=4 NDIMC=4 MDIMA=4 NDIMB=4 KWI=2 VWM=4 VWN=4 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=64 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=8 VWM=8 VWN=8 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=1 KREG=4 MWG=64 NWG=64 KWG=1 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=1 VWM=8 VWN=4 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=128 NWG=128 KWG=16 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=8 "
    "VWN=8 STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=32 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=4 VWN=4 "
    "STRM=0 STRN=0 SA=0 SB=0",
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=32 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=2 VWN=2 "
    "STRM=0 STRN=0 SA=1 SB=1",
    "GEMMK=0 KREG=1 MWG=128 NWG=128 KWG=16 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=4 "
    "VWN=4 STRM=1 STRN=1 SA=1 SB=1",
    "GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=16 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=4 VWN=4 "
    "STRM=0 STRN=0 SA=1 SB=1",
};

static const char *const direct_candidates[] = {
    "WGD=32 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=2 VWMD=4 VWND=4 PADA=1 PADB=1",
    "WGD=64 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=8 VWMD=8 VWND=8 PADA=1 PADB=1",
    "WGD=32 MDIMCD=4 NDIMCD=8 MDIMAD=4 NDIMBD=8 KWID=2 VWMD=8 VWND=4 PADA=1 PADB=1",
    "WGD=64 MDIMCD=8 NDIMCD=16 MDIMAD=8 NDIMBD=16 KWID=8 VWMD=8 VWND=4 PADA=1 PADB=1",
    "WGD=64 MDIMCD=16 NDIMCD=16 MDIMAD=16 NDIMBD=16 KWID=2 VWMD=4 VWND=4 PADA=1 PADB=1",
    "WGD=32 MDIMCD=16 NDIMCD=16 MDIMAD=16 NDIMBD=16 KWID=2 VWMD=2 VWND=2 PADA=1 PADB=1",
    "WGD=16 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=2 VWMD=2 VWND=2 PADA=1 PADB=1",
    "WGD=64 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=16 VWMD=8 VWND=8 PADA=0 PADB=0",
};

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

enum { K_XGEMM, K_DIRECT, K_ROUTINE, K_COUNT };
static const char *const kernel_names[K_COUNT] = {"Xgemm", "XgemmDirect", "GemmRoutine"};

/* XGEMM_MIN_INDIRECT_SIZE values that force one path for every shape. */
enum { ALWAYS_INDIRECT = 1, ALWAYS_DIRECT = 65536 };

typedef struct gemm_shape {
    char what[48];
    int m, n, k;
    bool gram; /* F F^T (no, trans); else the gradient S F (no, no) */
    int size;
} gemm_shape;

typedef struct tuner {
    cls_ctx *ctx;
    cls_tune_params p;
    cls_tune_result *r;
    double t0;
    gemm_shape shapes[CLS_TUNE_MAX_SHAPES];
    int nshapes, nsearch; /* the first nsearch shapes (smallest size) are the search set */
    cl_mem a, b, c;       /* features, a C x C matrix, the output */
    cl_mem va, vb, vc;    /* validation operands and output */
    float *ref[2][2];     /* [indirect, direct][validation shape] reference outputs */
    float *host;          /* validation read-back */
    cls_blas_params start[K_COUNT], best[K_COUNT];
    size_t max_wg;
} tuner;

/* The two validation products: odd sizes, so padding and edge paths run too. */
static const gemm_shape validation[2] = {
    {"validation F F^T", 100, 100, 1000, true, 0},
    {"validation S F", 100, 1000, 100, false, 0},
};

static double shape_flops(const gemm_shape *s)
{
    return 2.0 * s->m * (double)s->n * s->k;
}

/* Slices of a Gram product (ops/gram.c splits long, thin ones); 1 for the others. */
static size_t shape_parts(const tuner *t, const gemm_shape *s)
{
    return s->gram ? cls_tunables_gram_parts(&t->ctx->tunables, (size_t)s->m, (size_t)s->k) : 1;
}

/* m * n * k of one product of the shape as CLBlast sees it: what its direct/indirect switch
 * compares with the cube of XGEMM_MIN_INDIRECT_SIZE. */
static long long routed_size(const tuner *t, const gemm_shape *s)
{
    return (long long)s->m * s->n * (s->k / (long long)shape_parts(t, s));
}

static void report(tuner *t, const char *stage, int candidate, int candidates, const char *params,
                   double gflops, double best, const char *note)
{
    if (!t->p.progress)
        return;
    cls_tune_progress pr = {stage,  candidate, candidates, params ? params : "",
                            gflops, best,      note,       cls_now_seconds() - t->t0};
    t->p.progress(t->p.progress_user, &pr);
}

/* ---- running one GEMM as ops/gram.c does ---- */

/* beta: 1 for the workload's products that are not Gram matrices (the style loss adds its
 * gradient into the feature gradient), 0 for validation (repeatable results). */
static cls_status run_gemm(tuner *t, const gemm_shape *s, cl_mem a, cl_mem b, cl_mem c, float beta)
{
    cls_status status = CLS_OK;
    cls_ctx *ctx = t->ctx;
    const size_t m = (size_t)s->m, n = (size_t)s->n, k = (size_t)s->k;
    const size_t parts = shape_parts(t, s);
    if (parts > 1) /* the split-K product; adding up the slices takes no BLAS */
        CLS_CHECK_BLAS(CLBlastSgemmStridedBatched(
                           CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n,
                           k / parts, 1.0f / (float)k, a, 0, k, k / parts, a, 0, k, k / parts, 0.0f,
                           c, 0, n, m * n, parts, &ctx->queue, NULL),
                       s->what);
    else if (s->gram)
        CLS_CHECK_BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                    m, n, k, 1.0f / (float)k, a, 0, k, a, 0, k, 0.0f, c, 0, n,
                                    &ctx->queue, NULL),
                       s->what);
    else
        CLS_CHECK_BLAS(CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                    m, n, k, 0.5f, b, 0, k, a, 0, n, beta, c, 0, n, &ctx->queue,
                                    NULL),
                       s->what);
fail:
    return status;
}

/* Seconds of each shape in [first, first + count): the minimum (search) or median of
 * `passes` passes after one untimed pass (which compiles what is new). */
static cls_status time_shapes(tuner *t, int first, int count, int passes, bool use_min,
                              double *seconds)
{
    cls_status status = CLS_OK;
    double runs[8];
    if (passes > 8)
        passes = 8;
    for (int i = first; i < first + count; i++)
        CLS_TRY(run_gemm(t, &t->shapes[i], t->a, t->b, t->c, 1.0f));
    CLS_CHECK_CL(clFinish(t->ctx->queue), "clFinish");
    for (int i = first; i < first + count; i++) {
        for (int p = 0; p < passes; p++) {
            double start = cls_now_seconds();
            CLS_TRY(run_gemm(t, &t->shapes[i], t->a, t->b, t->c, 1.0f));
            CLS_CHECK_CL(clFinish(t->ctx->queue), "clFinish");
            runs[p] = cls_now_seconds() - start;
        }
        double v = runs[0];
        if (use_min) {
            for (int p = 1; p < passes; p++)
                v = fmin(v, runs[p]);
        } else {
            for (int p = 1; p < passes; p++) /* insertion sort, then the middle */
                for (int q = p; q > 0 && runs[q] < runs[q - 1]; q--) {
                    double x = runs[q];
                    runs[q] = runs[q - 1];
                    runs[q - 1] = x;
                }
            v = passes % 2 ? runs[passes / 2] : 0.5 * (runs[passes / 2 - 1] + runs[passes / 2]);
        }
        seconds[i - first] = v;
    }
fail:
    return status;
}

/* GFLOP/s of the search set in its forced path (min of 2 passes per shape). */
static cls_status search_rate(tuner *t, double *gflops)
{
    double seconds[CLS_TUNE_MAX_SHAPES], total = 0, flops = 0;
    cls_status status = time_shapes(t, 0, t->nsearch, 2, true, seconds);
    for (int i = 0; status == CLS_OK && i < t->nsearch; i++) {
        total += seconds[i];
        flops += shape_flops(&t->shapes[i]);
    }
    *gflops = status == CLS_OK && total > 0 ? flops / total * 1e-9 : 0.0;
    return status;
}

/* ---- parameters ---- */

static cls_status apply(tuner *t, const cls_blas_params *xgemm, const cls_blas_params *direct,
                        size_t min_indirect)
{
    cls_status status = CLS_OK;
    cls_blas_params routine = t->start[K_ROUTINE];
    size_t *v = cls_blas_params_find(&routine, "XGEMM_MIN_INDIRECT_SIZE");
    if (v)
        *v = min_indirect;
    CLS_TRY(cls_blas_params_override(t->ctx->device, xgemm));
    CLS_TRY(cls_blas_params_override(t->ctx->device, direct));
    CLS_TRY(cls_blas_params_override(t->ctx->device, &routine));
fail:
    return status;
}

/* Applies "NAME=V ..." onto a copy of base; false when a name is unknown to this CLBlast. */
static bool parse_candidate(const char *text, const cls_blas_params *base, cls_blas_params *out)
{
    *out = *base;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return false;
        *eq = '\0';
        size_t *v = cls_blas_params_find(out, tok);
        if (!v)
            return false;
        *v = (size_t)strtoul(eq + 1, NULL, 10);
    }
    return true;
}

static size_t get(cls_blas_params *p, const char *name)
{
    size_t *v = cls_blas_params_find(p, name);
    return v ? *v : 0;
}

static bool multiple(size_t x, size_t of)
{
    return of != 0 && x % of == 0;
}

static bool vector_width_ok(size_t v)
{
    return v == 1 || v == 2 || v == 4 || v == 8 || v == 16;
}

/* The constraints of CLBlast's Xgemm tuner, and the device's limits. */
static bool xgemm_valid(tuner *t, cls_blas_params *p)
{
    const size_t gemmk = get(p, "GEMMK"), kreg = get(p, "KREG"), kwg = get(p, "KWG"),
                 kwi = get(p, "KWI"), mdima = get(p, "MDIMA"), mdimc = get(p, "MDIMC"),
                 mwg = get(p, "MWG"), ndimb = get(p, "NDIMB"), ndimc = get(p, "NDIMC"),
                 nwg = get(p, "NWG"), sa = get(p, "SA"), sb = get(p, "SB"), vwm = get(p, "VWM"),
                 vwn = get(p, "VWN");
    if (!mdima || !mdimc || !ndimb || !ndimc || !vector_width_ok(vwm) || !vector_width_ok(vwn))
        return false;
    bool ok = multiple(kwg, kwi) && multiple(mwg, mdimc * vwm) && multiple(nwg, ndimc * vwn) &&
              multiple(mwg, mdima * vwm) && multiple(nwg, ndimb * vwn);
    if (gemmk == 0)
        ok = ok && multiple(kwg, (mdimc * ndimc) / mdima) && multiple(kwg, (mdimc * ndimc) / ndimb);
    else
        ok = ok && multiple(kreg, vwn) && mdimc == mdima && ndimc == ndimb && !sa && !sb;
    const size_t local = 4 * (sa * kwg * mwg + sb * kwg * nwg);
    return ok && mdimc * ndimc <= t->max_wg && local <= t->ctx->info.local_mem_bytes;
}

/* The constraints of CLBlast's XgemmDirect tuner, and the device's limits. */
static bool direct_valid(tuner *t, cls_blas_params *p)
{
    const size_t wgd = get(p, "WGD"), mdimcd = get(p, "MDIMCD"), ndimcd = get(p, "NDIMCD"),
                 mdimad = get(p, "MDIMAD"), ndimbd = get(p, "NDIMBD"), kwid = get(p, "KWID"),
                 vwmd = get(p, "VWMD"), vwnd = get(p, "VWND"), pada = get(p, "PADA"),
                 padb = get(p, "PADB");
    if (!mdimad || !ndimbd || !vector_width_ok(vwmd) || !vector_width_ok(vwnd))
        return false;
    const bool ok = multiple(wgd, kwid) && multiple(wgd, mdimcd * vwmd) &&
                    multiple(wgd, ndimcd * vwnd) && multiple(wgd, mdimad * vwmd) &&
                    multiple(wgd, ndimbd * vwnd) && multiple(wgd, (mdimcd * ndimcd) / mdimad) &&
                    multiple(wgd, (mdimcd * ndimcd) / ndimbd);
    const size_t local = 4 * (wgd * (wgd + pada) + wgd * (wgd + padb));
    return ok && mdimcd * ndimcd <= t->max_wg && local <= t->ctx->info.local_mem_bytes;
}

/* ---- validation ---- */

/* Runs the validation products; with reference NULL stores them as the reference, else
 * compares: *good is false on any difference above 1e-4 of the largest reference value. */
static cls_status validate(tuner *t, float **reference, bool *good)
{
    cls_status status = CLS_OK;
    *good = true;
    for (int v = 0; v < 2; v++) {
        const gemm_shape *s = &validation[v];
        const size_t count = (size_t)s->m * (size_t)s->n;
        CLS_TRY(run_gemm(t, s, t->va, t->vb, t->vc, 0.0f));
        CLS_CHECK_CL(clEnqueueReadBuffer(t->ctx->queue, t->vc, CL_TRUE, 0, count * sizeof(float),
                                         t->host, 0, NULL, NULL),
                     "reading a validation product");
        if (!reference[v]) {
            reference[v] = malloc(count * sizeof(float));
            CLS_CHECK_ALLOC(reference[v], "validation results");
            memcpy(reference[v], t->host, count * sizeof(float));
            continue;
        }
        double largest = 0, worst = 0;
        for (size_t i = 0; i < count; i++) {
            largest = fmax(largest, fabs(reference[v][i]));
            double d = fabs((double)t->host[i] - reference[v][i]);
            if (!(d <= worst)) /* NaN counts as worst */
                worst = isnan(d) ? INFINITY : d;
        }
        if (!(worst <= 1e-4 * largest + 1e-6))
            *good = false;
    }
fail:
    return status;
}

/* ---- set-up ---- */

static cls_status random_buffer(cls_ctx *ctx, size_t count, unsigned seed, cl_mem *out)
{
    float *host = malloc(count * sizeof *host);
    if (!host)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "tuning data");
    for (size_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        host[i] = (float)(seed >> 8) / (float)(1 << 24) - 0.5f;
    }
    cls_status status = cls_buffer_create(ctx, count * sizeof *host, "tuning data", out);
    if (status == CLS_OK) {
        cl_int err = clEnqueueWriteBuffer(ctx->queue, *out, CL_TRUE, 0, count * sizeof *host, host,
                                          0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = cls_error_cl(err, "uploading tuning data");
    }
    free(host);
    return status;
}

static int compare_ints(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The Gram products of VGG's five style layers at each size, smallest size first. */
static cls_status make_shapes(tuner *t)
{
    static const struct {
        const char *name;
        int c, div;
    } layers[] = {{"relu1_1", 64, 1},
                  {"relu2_1", 128, 2},
                  {"relu3_1", 256, 4},
                  {"relu4_1", 512, 8},
                  {"relu5_1", 512, 16}};
    int sizes[8], count = t->p.sizes ? t->p.size_count : 2;
    if (count < 1 || count > 3)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tuning: 1 to 3 sizes, got %d", count);
    for (int i = 0; i < count; i++) {
        sizes[i] = t->p.sizes ? t->p.sizes[i] : (i == 0 ? 256 : 512);
        if (sizes[i] < 16 || sizes[i] > 4096)
            return cls_error(CLS_ERR_INVALID_ARGUMENT, "tuning: size %d is not in 16..4096",
                             sizes[i]);
    }
    qsort(sizes, (size_t)count, sizeof sizes[0], compare_ints);
    /* VGG-19's distinct conv shapes to relu5_1 (in, out channels, size divisor) for the
     * batched products of Winograd F(m x m, 3 x 3): Cout x tiles = (Cout x Cin)(Cin x tiles),
     * one product standing for the (m + 2)^2 of a layer. */
    static const int convs[][3] = {{3, 64, 1},    {64, 64, 1},   {64, 128, 2},
                                   {128, 128, 2}, {128, 256, 4}, {256, 256, 4},
                                   {256, 512, 8}, {512, 512, 8}, {512, 512, 16}};
    const int tile = t->p.winograd_tile;
    if (tile != 0 && tile != 2 && tile != 4)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "tuning: Winograd tile %d is not 2 or 4", tile);
    t->nshapes = 0;
    for (int i = 0; i < count; i++) {
        for (int l = 0; l < 5; l++)
            for (int g = 0; g < 2; g++) {
                gemm_shape *s = &t->shapes[t->nshapes++];
                const int hw = (sizes[i] / layers[l].div) * (sizes[i] / layers[l].div);
                s->gram = g == 0;
                s->size = sizes[i];
                s->m = layers[l].c;
                s->n = s->gram ? layers[l].c : hw;
                s->k = s->gram ? hw : layers[l].c;
                snprintf(s->what, sizeof s->what, "%s %d Gram%s", layers[l].name, sizes[i],
                         s->gram ? "" : " grad");
            }
        for (int l = 0; tile && l < 9; l++) {
            gemm_shape *s = &t->shapes[t->nshapes++];
            const int side = (sizes[i] / convs[l][2] + tile - 1) / tile;
            s->gram = false;
            s->size = sizes[i];
            s->m = convs[l][1];
            s->n = side * side;
            s->k = convs[l][0];
            snprintf(s->what, sizeof s->what, "conv %d->%d %d F(%d)", convs[l][0], convs[l][1],
                     sizes[i], tile);
        }
        if (i == 0)
            t->nsearch = t->nshapes;
    }
    return CLS_OK;
}

static cls_status setup(tuner *t)
{
    cls_status status = CLS_OK;
    size_t a = 0, b = 0, c = 0;
    for (int i = 0; i < t->nshapes; i++) {
        const gemm_shape *s = &t->shapes[i];
        const size_t mk = (size_t)s->m * s->k, kn = (size_t)s->k * s->n;
        const size_t mn = (size_t)s->m * s->n * shape_parts(t, s); /* one per slice */
        if (s->gram) {
            a = mk > a ? mk : a;
        } else {
            b = mk > b ? mk : b;
            a = kn > a ? kn : a;
        }
        c = mn > c ? mn : c;
    }
    CLS_TRY(random_buffer(t->ctx, a, 1, &t->a));
    CLS_TRY(random_buffer(t->ctx, b, 2, &t->b));
    CLS_TRY(random_buffer(t->ctx, c, 3, &t->c));
    CLS_TRY(random_buffer(t->ctx, 100 * 1000, 4, &t->va));
    CLS_TRY(random_buffer(t->ctx, 100 * 100, 5, &t->vb));
    CLS_TRY(random_buffer(t->ctx, 100 * 1000, 6, &t->vc));
    t->host = malloc(100 * 1000 * sizeof(float));
    CLS_CHECK_ALLOC(t->host, "validation results");
    CLS_CHECK_CL(clGetDeviceInfo(t->ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof t->max_wg,
                                 &t->max_wg, NULL),
                 "CL_DEVICE_MAX_WORK_GROUP_SIZE");
    for (int k = 0; k < K_COUNT; k++) {
        int code = cls_blas_params_retrieve(t->ctx->device, kernel_names[k], &t->start[k]);
        if (code != 0) {
            status = cls_error_blas((CLBlastStatusCode)code, "reading CLBlast's parameters");
            goto fail;
        }
        t->best[k] = t->start[k];
    }
    if (!cls_blas_params_find(&t->start[K_ROUTINE], "XGEMM_MIN_INDIRECT_SIZE"))
        status = cls_error(CLS_ERR_UNSUPPORTED, "this CLBlast has no XGEMM_MIN_INDIRECT_SIZE");
fail:
    return status;
}

static void teardown(tuner *t)
{
    cl_mem all[] = {t->a, t->b, t->c, t->va, t->vb, t->vc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
    for (int m = 0; m < 2; m++)
        for (int v = 0; v < 2; v++)
            free(t->ref[m][v]);
    free(t->host);
}

/* ---- the stages ---- */

/* The parameters in use, with every shape forced through kernel's path (K_XGEMM: Xgemm,
 * K_DIRECT: XgemmDirect): the reference results for the candidates, every shape's time
 * (median of 3) and the search set's rate to beat. */
static cls_status stage_reference(tuner *t, int kernel, double *times, double *rate)
{
    cls_status status = CLS_OK;
    const bool direct = kernel == K_DIRECT;
    char text[1024];
    bool good = false;
    CLS_TRY(
        apply(t, &t->best[K_XGEMM], &t->start[K_DIRECT], direct ? ALWAYS_DIRECT : ALWAYS_INDIRECT));
    CLS_TRY(validate(t, t->ref[direct], &good));
    CLS_TRY(time_shapes(t, 0, t->nshapes, 3, false, times));
    CLS_TRY(search_rate(t, rate));
    cls_blas_params_format(&t->start[kernel], text, sizeof text);
    report(t, kernel_names[kernel], 0, direct ? COUNT(direct_candidates) : COUNT(xgemm_candidates),
           text, *rate, *rate, "the parameters in use");
fail:
    return status;
}

/* The best few of a stage, kept for a second timing: on a shared machine one timing can be
 * slowed by other work, never sped up, so each keeps the faster of its two. */
enum { FINALISTS = 3 };
typedef struct finalist {
    cls_blas_params p;
    double rate;
} finalist;

static void keep_finalist(finalist *top, int *n, const cls_blas_params *p, double rate)
{
    int at = *n < FINALISTS ? (*n)++ : FINALISTS - 1;
    if (*n == FINALISTS && rate <= top[at].rate)
        return;
    top[at] = (finalist){*p, rate};
    for (int i = at; i > 0 && top[i].rate > top[i - 1].rate; i--) {
        finalist x = top[i];
        top[i] = top[i - 1];
        top[i - 1] = x;
    }
}

/* Kernel's candidates, on its forced path, until the deadline, then the finalists (the
 * parameters in use among them, at best_rate) timed again; t->best[kernel] is the winner. */
static void search(tuner *t, int kernel, const char *const *list, int count, double deadline,
                   double best_rate)
{
    const bool direct = kernel == K_DIRECT;
    const size_t force = direct ? ALWAYS_DIRECT : ALWAYS_INDIRECT;
    const char *stage = kernel_names[kernel];
    const bool gpu = t->ctx->info.type == CLS_DEVICE_GPU;
    char text[1024];
    finalist top[FINALISTS];
    int ntop = 0;
    keep_finalist(top, &ntop, &t->best[kernel], best_rate);
    for (int i = 0; i < count && cls_now_seconds() < deadline; i++) {
        const char *candidate = list[gpu ? count - 1 - i : i];
        cls_blas_params p;
        if (!parse_candidate(candidate, &t->start[kernel], &p) ||
            !(direct ? direct_valid(t, &p) : xgemm_valid(t, &p))) {
            report(t, stage, i + 1, count, candidate, 0, best_rate, "not valid for this device");
            continue;
        }
        cls_blas_params_format(&p, text, sizeof text);
        t->r->candidates_tried++;
        double rate = 0;
        bool good = false;
        cls_status st =
            apply(t, direct ? &t->best[K_XGEMM] : &p, direct ? &p : &t->start[K_DIRECT], force);
        if (st == CLS_OK)
            st = validate(t, t->ref[direct], &good);
        if (st == CLS_OK && good)
            st = search_rate(t, &rate);
        if (st != CLS_OK || !good) {
            t->r->candidates_rejected++;
            report(t, stage, i + 1, count, text, 0, best_rate,
                   st != CLS_OK ? cls_last_error() : "wrong results");
            cls_error_clear();
            clFinish(t->ctx->queue);
            continue;
        }
        best_rate = fmax(best_rate, rate);
        keep_finalist(top, &ntop, &p, rate);
        report(t, stage, i + 1, count, text, rate, best_rate, NULL);
    }
    /* The finalists again (compiled already, so this is quick). */
    double best = 0;
    for (int i = 0; i < ntop; i++) {
        double again = 0;
        cls_status st = apply(t, direct ? &t->best[K_XGEMM] : &top[i].p,
                              direct ? &top[i].p : &t->start[K_DIRECT], force);
        if (st == CLS_OK)
            st = search_rate(t, &again);
        if (st != CLS_OK)
            cls_error_clear();
        const double rate = fmax(top[i].rate, again);
        if (rate > best) {
            best = rate;
            t->best[kernel] = top[i].p;
        }
        cls_blas_params_format(&top[i].p, text, sizeof text);
        report(t, stage, -(i + 1), ntop, text, rate, best, "timed again");
    }
}

static long long icbrt_floor(long long v)
{
    long long r = (long long)cbrt((double)v);
    while (r > 0 && r * r * r > v)
        r--;
    while ((r + 1) * (r + 1) * (r + 1) <= v)
        r++;
    return r;
}

/* Picks XGEMM_MIN_INDIRECT_SIZE from every shape timed both ways (median of 3): the shapes
 * below the cube of it run XgemmDirect, the rest Xgemm. Both programs are the ones the
 * searches compiled (the parameters a path does not use are part of CLBlast's program key),
 * so nothing is compiled here. after[] receives each shape's time on its chosen path. */
static cls_status choose_routing(tuner *t, size_t *min_indirect, double *after)
{
    cls_status status = CLS_OK;
    double ind[CLS_TUNE_MAX_SHAPES], dir[CLS_TUNE_MAX_SHAPES];
    report(t, "routing", 0, 0, NULL, 0, 0, "timing every shape on both paths");
    CLS_TRY(apply(t, &t->best[K_XGEMM], &t->start[K_DIRECT], ALWAYS_INDIRECT));
    CLS_TRY(time_shapes(t, 0, t->nshapes, 3, false, ind));
    CLS_TRY(apply(t, &t->best[K_XGEMM], &t->best[K_DIRECT], ALWAYS_DIRECT));
    CLS_TRY(time_shapes(t, 0, t->nshapes, 3, false, dir));
    /* Split points: the distinct m*n*k, ascending. */
    long long sizes[CLS_TUNE_MAX_SHAPES];
    int distinct = 0;
    for (int i = 0; i < t->nshapes; i++) {
        long long v = routed_size(t, &t->shapes[i]);
        int j = 0;
        while (j < distinct && sizes[j] != v)
            j++;
        if (j == distinct)
            sizes[distinct++] = v;
    }
    for (int i = 1; i < distinct; i++) /* insertion sort */
        for (int j = i; j > 0 && sizes[j] < sizes[j - 1]; j--) {
            long long x = sizes[j];
            sizes[j] = sizes[j - 1];
            sizes[j - 1] = x;
        }
    double best = INFINITY;
    long long chosen = 1;
    for (int split = 0; split <= distinct; split++) {
        /* XgemmDirect below sizes[split] (for every shape when split == distinct). */
        long long root = split == 0 ? icbrt_floor(sizes[0]) : icbrt_floor(sizes[split - 1]) + 1;
        if (root < 1 || (split > 0 && split < distinct && root * root * root > sizes[split]))
            continue;
        double total = 0;
        for (int i = 0; i < t->nshapes; i++) {
            long long v = routed_size(t, &t->shapes[i]);
            total += v < root * root * root ? dir[i] : ind[i];
        }
        if (total < best) {
            best = total;
            chosen = root;
        }
    }
    for (int i = 0; i < t->nshapes; i++) {
        long long v = routed_size(t, &t->shapes[i]);
        after[i] = v < chosen * chosen * chosen ? dir[i] : ind[i];
    }
    *min_indirect = (size_t)chosen;
    char note[160];
    snprintf(note, sizeof note, "XgemmDirect below m*n*k = %lld^3, Xgemm above", chosen);
    report(t, "routing", 0, 0, NULL, 0, 0, note);
fail:
    return status;
}

static double total_of(const double *s, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += s[i];
    return total;
}

cls_tune_params cls_tune_params_default(void)
{
    return (cls_tune_params){.time_budget_s = 120.0};
}

static void describe(const cls_blas_params *sets, int count, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used + 64 < size; i++) {
        char values[768];
        cls_blas_params_format(&sets[i], values, sizeof values);
        int n = snprintf(buf + used, size - used, "%s: %s\n", sets[i].kernel, values);
        used += n > 0 ? (size_t)n : 0;
    }
}

cls_status cls_ctx_tune_blas(cls_ctx *ctx, const cls_tune_params *params, cls_tune_result *result)
{
    cls_status status = CLS_OK;
    if (!ctx || !result)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_ctx_tune_blas: NULL argument");
    memset(result, 0, sizeof *result);
    tuner t = {.ctx = ctx, .p = params ? *params : cls_tune_params_default(), .r = result};
    t.t0 = cls_now_seconds();
    double before[CLS_TUNE_MAX_SHAPES], after[CLS_TUNE_MAX_SHAPES];
    bool restore = true; /* unless the winner is stored, the parameters in use come back */
    CLS_TRY(cls_blas_tuning_path(ctx, result->path, sizeof result->path));
    CLS_TRY(make_shapes(&t));
    CLS_TRY(setup(&t));

    /* Before: the parameters in use on each path; CLBlast picks the path by the switch
     * size in use, so every shape's time before is that path's. */
    double ind_start[CLS_TUNE_MAX_SHAPES], dir_start[CLS_TUNE_MAX_SHAPES], rate = 0;
    report(&t, "baseline", 0, 0, NULL, 0, 0, "the parameters in use, every shape on each path");
    CLS_TRY(stage_reference(&t, K_XGEMM, ind_start, &rate));
    const double pass = total_of(ind_start, t.nshapes);
    const double compile = fmax(0.0, cls_now_seconds() - t.t0 - 6.0 * pass);

    /* The search gets what the budget leaves for XgemmDirect's reference (a compilation
     * and six passes), the routing stage (eight passes over every shape) and one
     * compilation's overrun, with the compilation time estimated from the first. */
    const double reserve = 14.0 * pass + 2.0 * compile;
    const double search_end = t.t0 + t.p.time_budget_s - reserve;
    const double now = cls_now_seconds();
    search(&t, K_XGEMM, xgemm_candidates, COUNT(xgemm_candidates), now + 0.55 * (search_end - now),
           rate);
    CLS_TRY(stage_reference(&t, K_DIRECT, dir_start, &rate));
    search(&t, K_DIRECT, direct_candidates, COUNT(direct_candidates), search_end, rate);
    const long long root =
        (long long)*cls_blas_params_find(&t.start[K_ROUTINE], "XGEMM_MIN_INDIRECT_SIZE");
    for (int i = 0; i < t.nshapes; i++) {
        long long v = routed_size(&t, &t.shapes[i]);
        before[i] = v < root * root * root ? dir_start[i] : ind_start[i];
    }

    size_t min_indirect = 0;
    CLS_TRY(choose_routing(&t, &min_indirect, after));
    CLS_TRY(apply(&t, &t.best[K_XGEMM], &t.best[K_DIRECT], min_indirect));

    result->total_s_before = total_of(before, t.nshapes);
    result->total_s_after = total_of(after, t.nshapes);
    result->shape_count = t.nshapes;
    for (int i = 0; i < t.nshapes; i++) {
        cls_tune_shape *s = &result->shapes[i];
        snprintf(s->what, sizeof s->what, "%s", t.shapes[i].what);
        s->m = t.shapes[i].m;
        s->n = t.shapes[i].n;
        s->k = t.shapes[i].k;
        s->gflops_before = shape_flops(&t.shapes[i]) / before[i] * 1e-9;
        s->gflops_after = shape_flops(&t.shapes[i]) / after[i] * 1e-9;
    }
    cls_blas_params chosen[K_COUNT] = {t.best[K_XGEMM], t.best[K_DIRECT], t.start[K_ROUTINE]};
    *cls_blas_params_find(&chosen[K_ROUTINE], "XGEMM_MIN_INDIRECT_SIZE") = min_indirect;
    if (result->total_s_after < 0.98 * result->total_s_before) {
        CLS_TRY(cls_blas_tuning_write(ctx, result->path, chosen, K_COUNT));
        describe(chosen, K_COUNT, result->params, sizeof result->params);
        result->stored = true;
        restore = false;
    } else if (access(result->path, F_OK) != 0) {
        /* "Tuned, and CLBlast's parameters were best"; an earlier tuning's file stays. */
        CLS_TRY(cls_blas_tuning_write(ctx, result->path, NULL, 0));
    }
fail:
    if ((restore || status != CLS_OK) && t.start[K_ROUTINE].count > 0) {
        /* Back to the parameters in use before, keeping the reason for a failure. */
        char why[1024];
        snprintf(why, sizeof why, "%s", cls_last_error());
        for (int k = 0; k < K_COUNT; k++)
            (void)cls_blas_params_override(ctx->device, &t.start[k]);
        cls_error_clear();
        if (status != CLS_OK)
            (void)cls_error(status, "tuning CLBlast: %s", why);
    }
    result->seconds = cls_now_seconds() - t.t0;
    teardown(&t);
    return status;
}
