/* The helper layer of the device op tests (see device_util.h). */
#include "device_util.h"
#include "ops/elementwise.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cls_ctx *dev;

static const char *golden_directory;

/* Everything the helpers allocated since the last dev_release_all. */
typedef struct tracked {
    void *host;
    cl_mem buffer;
} tracked;

static tracked *tracked_list;
static size_t tracked_count, tracked_capacity;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "test harness: %s: %s\n", what, detail);
    exit(1);
}

static void track(void *host, cl_mem buffer)
{
    if (tracked_count == tracked_capacity) {
        tracked_capacity = tracked_capacity ? 2 * tracked_capacity : 64;
        tracked_list = realloc(tracked_list, tracked_capacity * sizeof *tracked_list);
        if (!tracked_list)
            die("out of memory", "tracking allocations");
    }
    tracked_list[tracked_count++] = (tracked){host, buffer};
}

void dev_release_all(void)
{
    for (size_t i = 0; i < tracked_count; i++) {
        free(tracked_list[i].host);
        if (tracked_list[i].buffer)
            clReleaseMemObject(tracked_list[i].buffer);
    }
    tracked_count = 0;
}

bool dev_open(int argc, char **argv)
{
    golden_directory = argc > 1 ? argv[1] : NULL;
    cls_ctx_params p = cls_ctx_params_default();
    p.device_spec = getenv("CLSTYLE_TEST_DEVICE");
    cls_status status = cls_ctx_create(&p, &dev);
    if (status != CLS_OK) {
        fprintf(stderr, "cannot create an OpenCL context: %s\n  %s\n", cls_status_str(status),
                cls_last_error());
        if (status == CLS_ERR_NO_DEVICE)
            fprintf(stderr, "(`meson test --suite unit` runs only the tests without a device)\n");
        return false;
    }
    printf("device: %s\n", cls_ctx_device(dev)->name);
    return true;
}

int dev_open_with_model(int argc, char **argv, cls_model **model)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s GOLDEN_DIR WEIGHTS\n", argv[0]);
        return 2;
    }
    if (!dev_open(argc, argv))
        return 1;
    if (cls_model_load(dev, argv[2], model) != CLS_OK) {
        fprintf(stderr, "loading %s: %s\n", argv[2], cls_last_error());
        return 1;
    }
    return 0;
}

void dev_close(void)
{
    dev_release_all();
    free(tracked_list);
    tracked_list = NULL;
    tracked_capacity = 0;
    cls_ctx_destroy(dev);
    dev = NULL;
}

/* ---------------------------------------------------------------------------------------
 * Host arrays and device buffers
 * ------------------------------------------------------------------------------------- */

static void *host_alloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p)
        die("out of memory", "allocating a host array");
    track(p, NULL);
    return p;
}

float *host_zeros(size_t n)
{
    return host_alloc(n * sizeof(float));
}

float *host_copy(const float *x, size_t n)
{
    float *y = host_zeros(n);
    memcpy(y, x, n * sizeof *y);
    return y;
}

float *host_random(ref_rng *rng, size_t n, float lo, float hi)
{
    float *x = host_zeros(n);
    ref_rng_fill(rng, x, n, lo, hi);
    return x;
}

float *host_levels(ref_rng *rng, size_t n, int levels, float lo, float hi)
{
    float *x = host_zeros(n);
    ref_rng_fill_levels(rng, x, n, levels, lo, hi);
    return x;
}

float *host_random_like(ref_rng *rng, const float *like, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(like[i]));
    return host_random(rng, n, m > 0 ? (float)-m : -1.0f, m > 0 ? (float)m : 1.0f);
}

double *host_zeros_f64(size_t n)
{
    return host_alloc(n * sizeof(double));
}

double *host_f64(const float *x, size_t n)
{
    double *y = host_zeros_f64(n);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
    return y;
}

float *host_f32(const double *x, size_t n)
{
    float *y = host_zeros(n);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)x[i];
    return y;
}

static cl_mem dev_alloc(size_t n)
{
    cl_mem buffer = NULL;
    if (cls_buffer_create(dev, n * sizeof(float), "a test tensor", &buffer) != CLS_OK)
        die("device buffer", cls_last_error());
    track(NULL, buffer);
    return buffer;
}

cl_mem dev_upload(const float *x, size_t n)
{
    cl_mem buffer = dev_alloc(n);
    cl_int err =
        n ? clEnqueueWriteBuffer(dev->queue, buffer, CL_TRUE, 0, n * sizeof *x, x, 0, NULL, NULL)
          : CL_SUCCESS;
    if (err != CL_SUCCESS)
        die("writing a device buffer", cls_cl_error_name(err) ? cls_cl_error_name(err) : "?");
    return buffer;
}

static float *host_nans(size_t n)
{
    float *x = host_zeros(n);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

cl_mem dev_poisoned(size_t n)
{
    return dev_upload(host_nans(n), n);
}

static void read_floats(cl_mem buffer, size_t index, size_t n, float *out)
{
    if (cls_read_floats(dev, buffer, index, n, out) != CLS_OK)
        die("reading a device buffer", cls_last_error());
}

float *dev_download(cl_mem buffer, size_t n)
{
    float *x = host_zeros(n);
    if (n)
        read_floats(buffer, 0, n, x);
    return x;
}

float dev_read_one(cl_mem buffer, size_t index)
{
    float value = NAN;
    read_floats(buffer, index, 1, &value);
    return value;
}

/* ---------------------------------------------------------------------------------------
 * Comparisons
 * ------------------------------------------------------------------------------------- */

#define TINY 1e-30

/* The largest difference, where it is, and the normaliser. */
typedef struct error_stat {
    double diff, scale;
    size_t worst;
} error_stat;

static void error_add(error_stat *e, size_t i, double got, double want)
{
    const double d = isnan(got) && isnan(want) ? 0.0 : fabs(got - want);
    if (!(d <= e->diff)) { /* a NaN on one side only counts as infinitely far */
        e->diff = isnan(d) ? INFINITY : d;
        e->worst = i;
    }
    if (fabs(want) > e->scale)
        e->scale = fabs(want);
}

static double error_rel(error_stat e)
{
    return e.diff / (e.scale > TINY ? e.scale : TINY);
}

static bool report(error_stat e, double got, double want, double tol, const char *fmt, va_list ap)
{
    const double err = error_rel(e);
    printf("  ");
    vprintf(fmt, ap);
    printf(": max rel err %.2g", err);
    const bool ok = err <= tol;
    if (!ok)
        printf("  FAILS tol %.0e: element %zu is %.9g, want %.9g", tol, e.worst, got, want);
    printf("\n");
    return ok;
}

static error_stat compare_f32(const float *got, const float *want, size_t n)
{
    error_stat e = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        error_add(&e, i, got[i], want[i]);
    return e;
}

double max_rel_err(const float *got, const float *want, size_t n)
{
    return error_rel(compare_f32(got, want, n));
}

bool expect_close(const float *got, const float *want, size_t n, double tol, const char *fmt, ...)
{
    const error_stat e = compare_f32(got, want, n);
    va_list ap;
    va_start(ap, fmt);
    const bool ok = report(e, n ? got[e.worst] : 0, n ? want[e.worst] : 0, tol, fmt, ap);
    va_end(ap);
    return ok;
}

bool expect_close_f64(const double *got, const double *want, size_t n, double tol, const char *fmt,
                      ...)
{
    error_stat e = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        error_add(&e, i, got[i], want[i]);
    va_list ap;
    va_start(ap, fmt);
    const bool ok = report(e, n ? got[e.worst] : 0, n ? want[e.worst] : 0, tol, fmt, ap);
    va_end(ap);
    return ok;
}

bool dev_expect_close(cl_mem got, const float *want, size_t n, double tol, const char *fmt, ...)
{
    const float *host = dev_download(got, n);
    const error_stat e = compare_f32(host, want, n);
    va_list ap;
    va_start(ap, fmt);
    const bool ok = report(e, n ? host[e.worst] : 0, n ? want[e.worst] : 0, tol, fmt, ap);
    va_end(ap);
    return ok;
}

bool same_bits(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Shapes and golden files
 * ------------------------------------------------------------------------------------- */

const cls_shape bad_shapes[] = {
    {0, 3, 4, 4},  {1, 0, 4, 4},  {1, 3, 0, 4},  {1, 3, 4, 0},
    {-1, 3, 4, 4}, {1, -3, 4, 4}, {1, 3, -4, 4}, {1, 3, 4, -4},
};
const size_t bad_shape_count = sizeof bad_shapes / sizeof bad_shapes[0];
const cls_shape oversized_shape = {1, 65536, 65536, 1};

const char *shape_str(cls_shape s)
{
    static char text[8][64];
    static int next;
    char *t = text[next++ % 8];
    snprintf(t, sizeof text[0], "%dx%dx%dx%d", s.n, s.c, s.h, s.w);
    return t;
}

size_t *sample_indices(ref_rng *rng, size_t n, size_t count)
{
    size_t *idx = host_alloc(count * sizeof *idx);
    for (size_t k = 0; k < count; k++)
        idx[k] = k == 0 ? 0 : k == 1 ? n - 1 : (size_t)(ref_rng_uniform(rng) * (double)n);
    return idx;
}

void golden_open(golden_file *g, const char *file)
{
    char path[4096], err[512];
    *g = (golden_file){.ok = false};
    if (!golden_directory) {
        fprintf(stderr, "golden file %s: no golden directory given as the first argument\n", file);
        return;
    }
    snprintf(path, sizeof path, "%s/%s", golden_directory, file);
    g->ok = ref_golden_load(path, &g->data, err, sizeof err) == 0;
    if (!g->ok)
        fprintf(stderr, "golden file: %s\n", err);
}

const float *golden_tensor(golden_file *g, const char *name, size_t count)
{
    const ref_golden_tensor *t = ref_golden_find(&g->data, name);
    if (t && t->count == count)
        return t->data;
    if (!t)
        fprintf(stderr, "golden tensor %s is missing\n", name);
    else
        fprintf(stderr, "golden tensor %s holds %zu values, expected %zu\n", name, t->count, count);
    g->ok = false;
    return host_nans(count);
}

cls_image golden_image(golden_file *g, const char *name, int w, int h)
{
    const size_t plane = (size_t)w * h;
    const float *chw = golden_tensor(g, name, 3 * plane);
    cls_image image = {0};
    if (cls_image_alloc(&image, w, h) != CLS_OK)
        return image;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < plane; i++)
            image.pixels[3 * i + c] = chw[c * plane + i];
    return image;
}

bool golden_close(golden_file *g)
{
    ref_golden_free(&g->data);
    return g->ok;
}
