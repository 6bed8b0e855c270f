/* The transformer network on the device against PyTorch's TransformerNet
 * (tests/data/golden/ffnet_*.gold from make_ffnet_golden.py), with the random weights
 * `make-weights --arch transformer --seed 1` writes, read from all three formats; a stream of
 * frames reusing its plan; sizes that are not multiples of 4; the memory plan; bad calls.
 * Arguments: GOLDEN_DIR PTH LEGACY_PTH SAFETENSORS. */
#include "check.h"
#include "device_util.h"
#include "ffnet/ffnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *weight_files[3];

/* Mean and max |got - clamp(want)| over the image, want in planes. */
static void compare(const cls_image *got, const float *want, double *mean, double *worst)
{
    const size_t n = (size_t)got->width * got->height;
    double sum = 0;
    *worst = 0;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++) {
            const double w = fmin(255.0, fmax(0.0, want[c * n + i]));
            const double d = fabs(got->pixels[i * 3 + c] - w);
            sum += d;
            *worst = d > *worst ? d : *worst;
        }
    *mean = sum / (3.0 * n);
}

static void golden_case(const char *file, int w, int h, const char *weights)
{
    golden_file g;
    golden_open(&g, file);
    cls_image input = golden_image(&g, "input", w, h), output = {0};
    const float *want = golden_tensor(&g, "output", 3 * (size_t)w * h);
    cls_ffnet *net = NULL;
    CHECK_STATUS(cls_ffnet_load(dev, weights, &net), CLS_OK);
    if (net) {
        CHECK_STATUS(cls_ffnet_run(net, &input, &output), CLS_OK);
        double mean = INFINITY, worst = INFINITY;
        if (output.pixels)
            compare(&output, want, &mean, &worst);
        printf("  %s %s: mean |diff| %.5f, max %.4f (0..255 scale)\n", file, weights, mean, worst);
        CHECK(mean <= 0.05 && worst <= 1.0);
    }
    cls_ffnet_destroy(net);
    cls_image_free(&input);
    cls_image_free(&output);
    CHECK(golden_close(&g));
}

static void matches_pytorch(void)
{
    const int formats = check_quick() ? 1 : 3;
    for (int f = 0; f < formats; f++) {
        golden_case("ffnet_64x48.gold", 64, 48, weight_files[f]);
        golden_case("ffnet_100x76.gold", 100, 76, weight_files[f]);
    }
}

static bool same_image(const cls_image *a, const cls_image *b)
{
    return a->width == b->width && a->height == b->height &&
           memcmp(a->pixels, b->pixels, 3 * sizeof(float) * a->width * a->height) == 0;
}

/* Frames of one size reuse the plan and give the same result as a fresh network; a size in
 * between does not disturb it. */
static void stream_of_frames(void)
{
    golden_file g;
    golden_open(&g, "ffnet_100x76.gold");
    cls_image input = golden_image(&g, "input", 100, 76), first = {0}, again = {0}, other = {0};
    cls_image small = {0};
    CHECK_STATUS(cls_image_alloc(&small, 37, 29), CLS_OK);
    for (size_t i = 0; i < 37 * 29 * 3; i++)
        small.pixels[i] = input.pixels[i];
    cls_ffnet *net = NULL;
    CHECK_STATUS(cls_ffnet_load(dev, weight_files[0], &net), CLS_OK);
    if (net) {
        CHECK_STATUS(cls_ffnet_run(net, &input, &first), CLS_OK);
        const size_t bytes = cls_ffnet_device_bytes(net);
        float *pixels = first.pixels;
        CHECK_STATUS(cls_ffnet_run(net, &input, &first), CLS_OK);
        CHECK(first.pixels == pixels); /* the caller's buffer, overwritten */
        CHECK(cls_ffnet_device_bytes(net) == bytes);
        CHECK_STATUS(cls_ffnet_run(net, &small, &other), CLS_OK);
        CHECK(other.width == 37 && other.height == 29);
        CHECK_STATUS(cls_ffnet_run(net, &input, &again), CLS_OK);
        CHECK(same_image(&first, &again));
        /* The wrong output size is refused. */
        CHECK_STATUS(cls_ffnet_run(net, &input, &other), CLS_ERR_INVALID_ARGUMENT);
    }
    cls_ffnet_destroy(net);
    cls_image_free(&input);
    cls_image_free(&small);
    cls_image_free(&first);
    cls_image_free(&again);
    cls_image_free(&other);
    CHECK(golden_close(&g));
}

/* The plan's bytes grow with the image and count the Winograd weights once. */
static void memory_plan(void)
{
    cls_ffnet *net = NULL;
    CHECK_STATUS(cls_ffnet_load(dev, weight_files[2], &net), CLS_OK);
    if (!net)
        return;
    size_t small = 0, large = 0, odd = 0;
    CHECK_STATUS(cls_ffnet_plan_bytes(net, 64, 48, &small), CLS_OK);
    CHECK_STATUS(cls_ffnet_plan_bytes(net, 1024, 1024, &large), CLS_OK);
    CHECK_STATUS(cls_ffnet_plan_bytes(net, 1021, 1022, &odd), CLS_OK);
    printf("  plan: %.1f MiB at 64x48, %.1f MiB at 1024x1024; weights %.1f MiB\n",
           small / 1048576.0, large / 1048576.0, cls_ffnet_device_bytes(net) / 1048576.0);
    CHECK(small < large && odd == large); /* 1021x1022 runs padded to 1024x1024 */
    size_t bytes;
    CHECK_STATUS(cls_ffnet_plan_bytes(net, 7, 100, &bytes), CLS_ERR_SHAPE);
    cls_image tiny = {0}, out = {0};
    CHECK_STATUS(cls_image_alloc(&tiny, 100, 7), CLS_OK);
    CHECK_STATUS(cls_ffnet_run(net, &tiny, &out), CLS_ERR_SHAPE);
    CHECK_CONTAINS(cls_last_error(), "too small");
    CHECK(out.pixels == NULL);
    cls_image_free(&tiny);
    cls_ffnet_destroy(net);
}

static void wrong_files(void)
{
    cls_ffnet *net = NULL;
    CHECK_STATUS(cls_ffnet_load(dev, "/nonexistent/model.pth", &net), CLS_ERR_IO);
    CHECK(net == NULL);
    CHECK_STATUS(cls_ffnet_check(weight_files[1]), CLS_OK); /* with running statistics */
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s GOLDEN_DIR PTH LEGACY_PTH SAFETENSORS\n", argv[0]);
        return 2;
    }
    for (int f = 0; f < 3; f++)
        weight_files[f] = argv[2 + f];
    if (!dev_open(argc, argv))
        return 1;
    RUN_CASE(matches_pytorch);
    RUN_CASE(stream_of_frames);
    RUN_CASE(memory_plan);
    RUN_CASE(wrong_files);
    dev_close();
    return check_report();
}
