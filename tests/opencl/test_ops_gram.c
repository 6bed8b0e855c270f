/* Gram matrices on the device against the reference, by clstyle's kernels (cl/gram.cl) and by
 * CLBlast: the forward pass, and the backward pass with a non-symmetric incoming gradient,
 * written and accumulated; the forward pass split over slices of the columns, the backward
 * pass over chunks of them. */
#include "check.h"
#include "device_util.h"
#include "ops/gram.h"
#include "reference/ref_ops.h"

/* Every H and W in {1, 2, 3, 7, 13, 33, 64}, every C in {1, 3, 4, 64, 130, 512}, the
 * non-square 5x11 and 64x17, and N = 2 (one Gram matrix per batch item). 512 channels take
 * the kernel's tiled work-groups. */
static const cls_shape cases[] = {
    {1, 1, 1, 1},   {2, 3, 7, 13}, {1, 4, 5, 11},  {1, 3, 64, 17}, {1, 64, 13, 7}, {1, 130, 7, 3},
    {2, 4, 33, 64}, {1, 1, 64, 2}, {2, 130, 2, 1}, {1, 1, 3, 33},  {1, 512, 3, 7}, {2, 512, 1, 33},
};

static size_t gram_count(cls_shape s)
{
    return (size_t)s.n * s.c * s.c;
}

/* The normaliser of the style loss, as the device takes it: a scale. */
static float gram_scale(cls_shape s)
{
    return (float)(1.0 / ref_gram_norm(s.c, s.h, s.w));
}

static void forward_case(cls_shape s, const float *f, cl_mem d_f)
{
    const size_t n_g = gram_count(s);
    float *want = host_zeros(n_g);
    ref_gram_forward(s.n, s.c, s.h, s.w, f, ref_gram_norm(s.c, s.h, s.w), want);
    cl_mem g = dev_poisoned(n_g);
    CHECK_STATUS(cls_gram_forward(dev, s, d_f, gram_scale(s), g), CLS_OK);
    CHECK(dev_expect_close(g, want, n_g, TOL_CONV, "gram_forward %s", shape_str(s)));
}

/* Written into a buffer of NaNs, then added to a buffer holding other values; by the kernels,
 * with both register blocks (gram_grad and gram_grad_wide). */
static void backward_case(cls_shape s, const float *f, cl_mem d_f, ref_rng *rng, double tol)
{
    const size_t n_f = cls_shape_count(s);
    const float *grad_g = host_random(rng, gram_count(s), -1.0f, 1.0f); /* not symmetric */
    float *want = host_zeros(n_f);
    ref_gram_backward(s.n, s.c, s.h, s.w, f, grad_g, ref_gram_norm(s.c, s.h, s.w), want);
    cl_mem d_grad_g = dev_upload(grad_g, gram_count(s));
    float *prior = host_random_like(rng, want, n_f), *want_sum = host_zeros(n_f);
    for (size_t i = 0; i < n_f; i++)
        want_sum[i] = (float)((double)prior[i] + want[i]);

    const int saved = dev->tunables.gram_grad_vecs;
    for (int vecs = 1; vecs <= (dev->tunables.gram_kernel ? 2 : 1); vecs++) {
        dev->tunables.gram_grad_vecs = vecs;
        cl_mem grad_f = dev_poisoned(n_f);
        CHECK_STATUS(cls_gram_backward(dev, s, d_f, d_grad_g, gram_scale(s), false, grad_f),
                     CLS_OK);
        CHECK(dev_expect_close(grad_f, want, n_f, tol, "gram_backward %s (%d float16)",
                               shape_str(s), vecs));
        cl_mem sum = dev_upload(prior, n_f);
        CHECK_STATUS(cls_gram_backward(dev, s, d_f, d_grad_g, gram_scale(s), true, sum), CLS_OK);
        CHECK(dev_expect_close(sum, want_sum, n_f, tol, "gram_backward accumulate %s (%d float16)",
                               shape_str(s), vecs));
    }
    dev->tunables.gram_grad_vecs = saved;
}

static void random_cases(void)
{
    ref_rng rng = ref_rng_make(401);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cls_shape s = cases[i];
        const float *f = host_random(&rng, cls_shape_count(s), -1.0f, 1.0f);
        cl_mem d_f = dev_upload(f, cls_shape_count(s));
        forward_case(s, f, d_f);
        backward_case(s, f, d_f, &rng, TOL_CONV);
    }
}

/* Split-K: the device's rule on a 64-channel map large enough to be split, then the limits
 * lowered so small shapes split into 2 to 8 slices too (N = 2: the offsets of the second). */
static void split_cases(void)
{
    static const cls_shape big = {1, 64, 256, 256};
    /* 6 x 11: two slices of 66 columns, 40 and 26 for the kernel (a multiple of its vector
     * width, then the rest, with a scalar tail). */
    static const cls_shape small[] = {
        {2, 4, 33, 64}, {1, 3, 64, 17}, {2, 130, 16, 16}, {1, 5, 6, 11}};
    ref_rng rng = ref_rng_make(402);
    const cls_tunables saved = dev->tunables;
    for (size_t i = 0; i <= sizeof small / sizeof small[0]; i++) {
        const cls_shape s = i == 0 ? big : small[i - 1];
        if (i == 1) {
            dev->tunables.gram_min_part_cols = 4;
            dev->tunables.gram_min_part_work = 1;
            dev->tunables.gram_max_parts = 8;
        }
        CHECK(cls_tunables_gram_parts(&dev->tunables, (size_t)s.c, (size_t)s.h * s.w) > 1);
        const float *f = host_random(&rng, cls_shape_count(s), -1.0f, 1.0f);
        cl_mem d_f = dev_upload(f, cls_shape_count(s));
        forward_case(s, f, d_f);
    }
    dev->tunables = saved;
}

/* The gradient over chunks of column blocks: of 3 blocks (48 columns; 117 columns are
 * 48 + 48 + 21, the last block of each pass but the first full), and of 17, which the
 * launcher rounds up to work-groups of 2 (more work-items than blocks: they must neither read
 * past the chunk nor write into the next one, which the accumulated sum would count twice:
 * 6e-5 in one such mutation, against errors of 1e-7, hence the tighter bound). */
#define TOL_CHUNKS 1e-5
static void chunk_cases(void)
{
    static const struct {
        cls_shape s;
        size_t blocks;
    } chunks[] = {{{2, 20, 9, 13}, 3}, {{1, 7, 16, 6}, 3}, {{1, 5, 9, 61}, 17}};
    ref_rng rng = ref_rng_make(403);
    const cls_tunables saved = dev->tunables;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        const cls_shape s = chunks[i].s;
        dev->tunables.gram_pack_bytes = (size_t)s.c * 16 * sizeof(float) * chunks[i].blocks;
        const float *f = host_random(&rng, cls_shape_count(s), -1.0f, 1.0f);
        cl_mem d_f = dev_upload(f, cls_shape_count(s));
        backward_case(s, f, d_f, &rng, TOL_CHUNKS);
    }
    dev->tunables = saved;
}

/* Every case by clstyle's kernels (CPUs) and by CLBlast (GPUs), whichever the device has;
 * quick (valgrind): only the device's own. */
static void each_implementation(void (*run)(void))
{
    const bool saved = dev->tunables.gram_kernel;
    for (int kernel = 1; kernel >= 0; kernel--) {
        if (check_quick() && kernel != saved)
            continue;
        dev->tunables.gram_kernel = kernel;
        printf("  by %s\n", kernel ? "cl/gram.cl" : "CLBlast");
        run();
    }
    dev->tunables.gram_kernel = saved;
}

static void all_random_cases(void)
{
    each_implementation(random_cases);
}

static void all_split_cases(void)
{
    each_implementation(split_cases);
}

static void shape_errors(void)
{
    cl_mem a = dev_poisoned(256), b = dev_poisoned(256), c = dev_poisoned(256);
    for (size_t i = 0; i <= bad_shape_count; i++) {
        const cls_shape s = i < bad_shape_count ? bad_shapes[i] : oversized_shape;
        CHECK_STATUS(cls_gram_forward(dev, s, a, 1.0f, b), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_gram_backward(dev, s, a, b, 1.0f, false, c), CLS_ERR_SHAPE);
        CHECK_STATUS(cls_gram_backward(dev, s, a, b, 1.0f, true, c), CLS_ERR_SHAPE);
    }
}

int main(int argc, char **argv)
{
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(all_random_cases);
    RUN_CASE(all_split_cases);
    RUN_CASE(chunk_cases);
    RUN_CASE(shape_errors);
    dev_close();
    return check_report();
}
