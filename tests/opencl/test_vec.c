/* The optimisers' vector reductions against double-precision sums on the host: dot products
 * through both read patterns of the dot_partials kernels (contiguous blocks, CPUs; strided,
 * GPUs) on lengths around the block and work-item counts, the update-and-dot of the L-BFGS
 * two-loop recursion, and the sums and maxima of |a| (NaN included) through both. With one
 * strided work-item, lengths past 65535 need more work-items on rusticl, whose llvmpipe stops
 * a work-item's loops after 65535 iterations (found by this test there). */
#include "check.h"
#include "device_util.h"
#include "optim/vec.h"

#include <math.h>

static const size_t lengths[] = {1,     7,     8,     9,     1023,  1024,   1025,
                                 16383, 16385, 65535, 65536, 65537, 196608, 786433};

static void check_dot(size_t n, ref_rng *rng, const char *pattern)
{
    const float *a = host_random(rng, n, -1.0f, 1.0f), *b = host_random(rng, n, -1.0f, 1.0f);
    double want = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        want += (double)a[i] * b[i];
        scale += fabs((double)a[i] * b[i]);
    }
    cls_vec_space v;
    CHECK_STATUS(cls_vec_space_init(&v, dev, n), CLS_OK);
    double got = NAN;
    CHECK_STATUS(cls_vec_dot(&v, dev_upload(a, n), dev_upload(b, n), &got), CLS_OK);
    /* float sums of at most a block (or n / items) terms each, added in double */
    const double tol = 1e-6 * scale + 1e-30;
    if (!(fabs(got - want) <= tol))
        printf("  %s n=%zu, dot_items %d: got %.9g, want %.9g (tolerance %.3g)\n", pattern, n,
               dev->tunables.dot_items, got, want, tol);
    CHECK(fabs(got - want) <= tol);
    cls_vec_space_release(&v);
}

/* y += a x, then z . y: the new y to a float's rounding, the dot against a double sum. */
static void check_axpy_dot(size_t n, ref_rng *rng, const char *pattern)
{
    const float *x = host_random(rng, n, -1.0f, 1.0f), *y = host_random(rng, n, -1.0f, 1.0f);
    const float *z = host_random(rng, n, -1.0f, 1.0f), a = -0.75f;
    float *want_y = host_zeros(n);
    double want = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        want_y[i] = (float)((double)a * x[i] + y[i]);
        want += (double)z[i] * want_y[i];
        scale += fabs((double)z[i] * want_y[i]);
    }
    cls_vec_space v;
    CHECK_STATUS(cls_vec_space_init(&v, dev, n), CLS_OK);
    cl_mem d_y = dev_upload(y, n);
    double got = NAN;
    CHECK_STATUS(cls_vec_axpy_dot(&v, a, dev_upload(x, n), d_y, dev_upload(z, n), &got), CLS_OK);
    CHECK(dev_expect_close(d_y, want_y, n, 1e-6, "axpy_dot %s n=%zu: y", pattern, n));
    const double tol = 1e-6 * scale + 1e-30;
    if (!(fabs(got - want) <= tol))
        printf("  axpy_dot %s n=%zu: got %.9g, want %.9g (tolerance %.3g)\n", pattern, n, got, want,
               tol);
    CHECK(fabs(got - want) <= tol);
    cls_vec_space_release(&v);
}

static void check_abs(size_t n, ref_rng *rng, const char *pattern);

/* Every length with dot_block set to block (0: the strided pattern) and each dot_items. */
static void dot_sweep(unsigned seed, int block, const int *items, size_t item_count)
{
    ref_rng rng = ref_rng_make(seed);
    const cls_tunables saved = dev->tunables;
    dev->tunables.dot_block = block;
    for (size_t k = 0; k < item_count; k++) {
        dev->tunables.dot_items = items[k];
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
            check_dot(lengths[i], &rng, block ? "block" : "strided");
            check_axpy_dot(lengths[i], &rng, block ? "block" : "strided");
            check_abs(lengths[i], &rng, block ? "block" : "strided");
        }
    }
    dev->tunables = saved;
}

static void dot_blocks(void)
{
    static const int unused[] = {16384};
    for (int block = 8; block <= 4096; block *= 8)
        dot_sweep(501, block, unused, 1);
}

static void dot_strided(void)
{
    static const int items[] = {1, 16, 256, 4096, 65536};
    dot_sweep(502, 0, items, sizeof items / sizeof items[0]);
}

/* sum |a| (also over a prefix) against a double sum, max |a| exactly, the largest at a
 * position that moves with n (the last element included); a NaN anywhere makes the max NaN,
 * not the largest of the rest (L-BFGS's convergence test reads it). */
static void check_abs(size_t n, ref_rng *rng, const char *pattern)
{
    float *a = host_random(rng, n, -1.0f, 1.0f);
    const size_t at = n % 2 ? n - 1 : (n * 7) / 11;
    a[at] = -3.5f;
    const size_t prefix = n / 2 + 1;
    double sum = 0.0, prefix_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += fabs(a[i]);
        prefix_sum += i < prefix ? fabs(a[i]) : 0.0;
    }
    cls_vec_space v;
    CHECK_STATUS(cls_vec_space_init(&v, dev, n), CLS_OK);
    cl_mem d = dev_upload(a, n);
    double got = 0.0, got_prefix = 0.0, got_max = 0.0, got_nan = 0.0;
    CHECK_STATUS(cls_vec_asum(&v, d, &got), CLS_OK);
    CHECK_STATUS(cls_vec_asum_count(&v, prefix, d, &got_prefix), CLS_OK);
    CHECK_STATUS(cls_vec_absmax(&v, d, &got_max), CLS_OK);
    a[n / 3] = NAN;
    CHECK_STATUS(cls_vec_absmax(&v, dev_upload(a, n), &got_nan), CLS_OK);
    /* float sums of positive terms: up to n / items of them in one work-item (strided with a
     * single item: 4e-6 of the sum seen at n = 196608) */
    const bool ok = fabs(got - sum) <= 2e-5 * sum && fabs(got_prefix - prefix_sum) <= 2e-5 * sum &&
                    got_max == 3.5 && isnan(got_nan);
    if (!ok)
        printf("  abs %s n=%zu: asum %.9g (want %.9g), prefix %.9g (want %.9g), max %g at %zu, "
               "with a NaN %g\n",
               pattern, n, got, sum, got_prefix, prefix_sum, got_max, at, got_nan);
    CHECK(ok);
    CHECK_STATUS(cls_vec_asum_count(&v, n + 1, d, &got), CLS_ERR_INVALID_ARGUMENT);
    cls_vec_space_release(&v);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(dot_blocks);
    RUN_CASE(dot_strided);
    dev_close();
    return check_report();
}
