/* The helper layer of the device op tests: one context per program, host arrays and
 * device buffers that are released together at the end of each case, and comparisons
 * that print the maximum error they saw, so each test reads as a list of cases. */
#ifndef CLS_TESTS_DEVICE_UTIL_H
#define CLS_TESTS_DEVICE_UTIL_H

#include "ops/shape.h"
#include "reference/golden.h"
#include "reference/rng.h"
#include "runtime/context.h"

#include <stdbool.h>
#include <stddef.h>

/* Tolerances on the max-abs-normalised error (see Comparisons below). */
#define TOL_ELEMENTWISE 1e-5 /* elementwise ops, pooling and loss reductions */
#define TOL_CONV 1e-4        /* convolution, Gram matrices and chains through them */

/* The context every test uses, made by dev_open. */
extern cls_ctx *dev;

/* Creates dev on $CLSTYLE_TEST_DEVICE (default: the first device) and takes the golden
 * directory from argv[1] when given. Prints why and returns false when that fails, e.g.
 * when there is no OpenCL device: the test must then fail. */
bool dev_open(int argc, char **argv);
void dev_close(void);

/* The start of a test run as `TEST GOLDEN_DIR WEIGHTS`: dev_open, then the weights loaded
 * into *model. Returns 0, or the exit status after saying why (2 for other arguments, 1 when
 * the device or the weights fail). */
int dev_open_with_model(int argc, char **argv, cls_model **model);

/* Runs one case and releases everything it allocated through the helpers below. */
#define RUN_CASE(test)                                                                             \
    do {                                                                                           \
        RUN(test);                                                                                 \
        dev_release_all();                                                                         \
    } while (0)

/* ---------------------------------------------------------------------------------------
 * Host arrays and device buffers, all released by dev_release_all(). A failure to allocate
 * or transfer is not what these tests check: it prints the reason and exits.
 * ------------------------------------------------------------------------------------- */

float *host_zeros(size_t n);
float *host_copy(const float *x, size_t n);
float *host_random(ref_rng *rng, size_t n, float lo, float hi);
/* Values from `levels` evenly spaced levels in [lo, hi]: ties and zeros are common. */
float *host_levels(ref_rng *rng, size_t n, int levels, float lo, float hi);
/* Uniform in [-m, m] where m = max |like[i]| (1 when that is 0): a gradient buffer's
 * prior contents on the scale of what an op adds to it. */
float *host_random_like(ref_rng *rng, const float *like, size_t n);
double *host_f64(const float *x, size_t n); /* a double copy */
double *host_zeros_f64(size_t n);
float *host_f32(const double *x, size_t n); /* a float copy */

cl_mem dev_upload(const float *x, size_t n);
/* A buffer of n NaNs: an element an op fails to write shows up in the comparison. */
cl_mem dev_poisoned(size_t n);
float *dev_download(cl_mem buffer, size_t n);
float dev_read_one(cl_mem buffer, size_t index);

void dev_release_all(void);

/* ---------------------------------------------------------------------------------------
 * Comparisons. The error is max |got - want| / max(max |want|, tiny), infinite when got
 * has a NaN where want has a number. Each prints "  <label>: max rel err E" (with the
 * worst element when E is over tol) and returns whether E <= tol, for the caller to CHECK.
 * ------------------------------------------------------------------------------------- */

/* The error alone, printing nothing. */
double max_rel_err(const float *got, const float *want, size_t n);

bool expect_close(const float *got, const float *want, size_t n, double tol, const char *fmt, ...)
    CLS_PRINTF(5, 6);
bool expect_close_f64(const double *got, const double *want, size_t n, double tol, const char *fmt,
                      ...) CLS_PRINTF(5, 6);
/* Downloads got first. */
bool dev_expect_close(cl_mem got, const float *want, size_t n, double tol, const char *fmt, ...)
    CLS_PRINTF(5, 6);

/* Whether a and b hold the same bits. */
bool same_bits(const float *a, const float *b, size_t n);

/* ---------------------------------------------------------------------------------------
 * Shapes and golden files
 * ------------------------------------------------------------------------------------- */

/* Shapes every launcher must refuse with CLS_ERR_SHAPE: each dimension 0 or negative in
 * turn; and one with more elements than the kernels' 32-bit indices reach. */
extern const cls_shape bad_shapes[];
extern const size_t bad_shape_count;
extern const cls_shape oversized_shape;

/* "2x3x7x13" (N x C x H x W) for labels, in one of a few rotating static buffers. */
const char *shape_str(cls_shape s);

/* count indices into [0, n), tracked: the first and last element, the rest at random. */
size_t *sample_indices(ref_rng *rng, size_t n, size_t count);

/* A golden file being read by a test. A missing file or tensor is printed and marks the
 * file not ok; the tensor then reads as NaNs, so the test runs on and fails. */
typedef struct golden_file {
    ref_golden data;
    bool ok;
} golden_file;

/* Loads file from the golden directory (dev_open takes it from the test's argument). */
void golden_open(golden_file *g, const char *file);

/* The data of the tensor called name, which must hold count values. */
const float *golden_tensor(golden_file *g, const char *name, size_t count);

/* The CHW tensor called name (3 x h x w) as an interleaved RGB cls_image (free with
 * cls_image_free). */
cls_image golden_image(golden_file *g, const char *name, int w, int h);

/* Frees the file; returns whether everything asked for was there, for the caller to CHECK. */
bool golden_close(golden_file *g);

#endif
