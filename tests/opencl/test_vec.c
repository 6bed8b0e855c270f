/* The optimisers' vector reductions against double-precision sums on the host: dot products
 * through both read patterns of the dot_partials kernels (contiguous blocks, CPUs; strided,
 * GPUs) on lengths around the block and work-item counts, plus asum and absmax. */
#include "check.h"
#include "device_util.h"
#include "optim/vec.h"

#include <math.h>

static const size_t lengths[] = {1, 7, 8, 9, 1023, 1024, 1025, 16383, 16385, 196608, 786433};

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
        printf("  %s n=%zu: got %.9g, want %.9g (tolerance %.3g)\n", pattern, n, got, want, tol);
    CHECK(fabs(got - want) <= tol);
    cls_vec_space_release(&v);
}

static void dot_blocks(void)
{
    ref_rng rng = ref_rng_make(501);
    const cls_tunables saved = dev->tunables;
    for (int block = 8; block <= 4096; block *= 8) {
        dev->tunables.dot_block = block;
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
            check_dot(lengths[i], &rng, "block");
    }
    dev->tunables = saved;
}

static void dot_strided(void)
{
    ref_rng rng = ref_rng_make(502);
    const cls_tunables saved = dev->tunables;
    dev->tunables.dot_block = 0;
    for (int items = 1; items <= 65536; items *= 16) {
        dev->tunables.dot_items = items;
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
            check_dot(lengths[i], &rng, "strided");
    }
    dev->tunables = saved;
}

static void asum_absmax(void)
{
    ref_rng rng = ref_rng_make(503);
    const size_t n = 1025;
    float *a = host_random(&rng, n, -1.0f, 1.0f);
    a[700] = -3.5f;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabs(a[i]);
    cls_vec_space v;
    CHECK_STATUS(cls_vec_space_init(&v, dev, n), CLS_OK);
    cl_mem d = dev_upload(a, n);
    double got = 0.0;
    CHECK_STATUS(cls_vec_asum(&v, d, &got), CLS_OK);
    CHECK(fabs(got - sum) <= 1e-5 * sum);
    CHECK_STATUS(cls_vec_absmax(&v, d, &got), CLS_OK);
    CHECK(got == 3.5);
    cls_vec_space_release(&v);
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(dot_blocks);
    RUN_CASE(dot_strided);
    RUN_CASE(asum_absmax);
    dev_close();
    return check_report();
}
