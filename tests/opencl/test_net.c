/* The VGG-19 network on the device against PyTorch (tests/data/golden/vgg19_*.gold from
 * make_vgg_golden.py): tap outputs and the input gradient of a fixed loss, with the random
 * weights `make-weights --arch vgg19 --seed 1` writes; the same weights read from all three
 * file formats; memory planning errors. Arguments: GOLDEN_DIR PTH LEGACY_PTH SAFETENSORS. */
#include "check.h"
#include "device_util.h"
#include "net/net.h"
#include "ops/elementwise.h"
#include "ops/loss.h"

#include <stdlib.h>

static const char *weight_files[3];

typedef struct tap_case {
    const char *name;
    int channels_stored; /* the golden keeps only the first channels of big taps; 0: all */
} tap_case;

static const tap_case taps[] = {{"conv1_1", 4}, {"relu2_1", 4}, {"conv4_2", 0}, {"relu5_1", 0}};
enum { TAPS = 4 };

/* loss = sum over taps of mean(tap^2): each tap adds 2 tap / count to its gradient. */
typedef struct square_loss {
    cl_mem zeros, losses;
    int slot[64];
} square_loss;

static cls_status add_square_grad(void *user, int layer, cl_mem tap, cl_mem grad, cls_shape s)
{
    square_loss *l = user;
    return cls_loss_content_mse(dev, cls_shape_count(s), tap, l->zeros, 1.0f, grad, l->losses,
                                l->slot[layer]);
}

static void compare_tap(cls_net *net, cls_model *model, golden_file *g, const tap_case *t)
{
    cl_mem buffer;
    cls_shape s;
    CHECK_STATUS(cls_net_tap(net, cls_vgg_find(model->arch, t->name), &buffer, &s), CLS_OK);
    const int channels = t->channels_stored ? t->channels_stored : s.c;
    const size_t count = (size_t)channels * s.h * s.w;
    char name[64];
    snprintf(name, sizeof name, "%s%s", t->name, t->channels_stored ? "_c4" : "");
    const float *want = golden_tensor(g, name, count);
    float *got = dev_download(buffer, count); /* channel-major: the first channels lead */
    CHECK(expect_close(got, want, count, TOL_CONV, "%s %dx%dx%d", t->name, s.c, s.h, s.w));
}

static void network_case(cls_model *model, const char *file, cls_pool_kind pooling, int h, int w)
{
    golden_file g;
    golden_open(&g, file);
    int indices[TAPS];
    for (int t = 0; t < TAPS; t++)
        indices[t] = cls_vgg_find(model->arch, taps[t].name);
    cls_net_config config = {h, w, pooling, indices, TAPS, 0, 1};
    cls_net *net = NULL;
    CHECK_STATUS(cls_net_create(model, &config, &net), CLS_OK);
    if (!net)
        return;
    cl_mem image = dev_upload(golden_tensor(&g, "image", (size_t)3 * h * w), (size_t)3 * h * w);
    CHECK_STATUS(cls_net_forward(net, image), CLS_OK);
    for (int t = 0; t < TAPS; t++)
        compare_tap(net, model, &g, &taps[t]);

    square_loss loss = {.zeros = dev_upload(host_zeros((size_t)64 * h * w), (size_t)64 * h * w),
                        .losses = dev_upload(host_zeros(TAPS), TAPS)};
    for (int t = 0; t < TAPS; t++)
        loss.slot[indices[t]] = t;
    cl_mem grad = dev_poisoned((size_t)3 * h * w);
    CHECK_STATUS(cls_net_backward(net, add_square_grad, &loss, grad), CLS_OK);
    CHECK(dev_expect_close(grad, golden_tensor(&g, "grad_image", (size_t)3 * h * w),
                           (size_t)3 * h * w, TOL_CONV, "%s input gradient", file));
    float *values = dev_download(loss.losses, TAPS);
    float total = values[0] + values[1] + values[2] + values[3];
    CHECK(expect_close(&total, golden_tensor(&g, "loss", 1), 1, TOL_CONV, "%s loss", file));
    printf("  planned %.1f MiB of activations and gradients\n",
           (double)cls_net_device_bytes(net) / 1048576.0);
    cls_net_destroy(net);
    CHECK(golden_close(&g));
}

static cls_model *load(const char *path)
{
    cls_model *model = NULL;
    CHECK_STATUS(cls_model_load(dev, path, &model), CLS_OK);
    return model;
}

static void vgg19_matches_pytorch(void)
{
    cls_model *model = load(weight_files[0]);
    if (!model)
        return;
    CHECK(strcmp(cls_model_arch(model), "vgg19") == 0);
    network_case(model, "vgg19_max_40x56.gold", CLS_POOL_MAX, 40, 56);
    network_case(model, "vgg19_avg_37x53.gold", CLS_POOL_AVG, 37, 53);
    cls_model_destroy(model);
}

/* The three formats of one generated file give bit-identical weights on the device. */
static void formats_agree(void)
{
    cls_model *models[3];
    for (int f = 0; f < 3; f++)
        models[f] = load(weight_files[f]);
    if (!models[0] || !models[1] || !models[2])
        goto done;
    for (size_t i = 0; i < models[0]->layer_count; i++) {
        const cls_vgg_layer *layer = &models[0]->layers[i];
        if (layer->kind != CLS_LAYER_CONV)
            continue;
        const size_t count = (size_t)layer->cout * layer->cin * 9;
        float *ref = dev_download(models[0]->params[i].weight, count);
        float *ref_bias = dev_download(models[0]->params[i].bias, (size_t)layer->cout);
        for (int f = 1; f < 3; f++) {
            CHECK(same_bits(dev_download(models[f]->params[i].weight, count), ref, count));
            CHECK(same_bits(dev_download(models[f]->params[i].bias, (size_t)layer->cout), ref_bias,
                            (size_t)layer->cout));
        }
        dev_release_all();
    }
    printf("  %s, %s and %s: identical weights\n", weight_files[0], weight_files[1],
           weight_files[2]);
done:
    for (int f = 0; f < 3; f++)
        cls_model_destroy(models[f]);
}

static void planning_errors(void)
{
    cls_model *model = load(weight_files[0]);
    if (!model)
        return;
    int relu5_1 = cls_vgg_find(model->arch, "relu5_1");
    cls_net *net = NULL;
    cls_net_config huge = {30000, 30000, CLS_POOL_MAX, &relu5_1, 1, 0, 1};
    CHECK_STATUS(cls_net_create(model, &huge, &net), CLS_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK_CONTAINS(cls_last_error(), "MiB of device memory");
    CHECK_CONTAINS(cls_last_error(), "smaller --size");
    cls_net_config tiny = {12, 40, CLS_POOL_MAX, &relu5_1, 1, 0, 1};
    CHECK_STATUS(cls_net_create(model, &tiny, &net), CLS_ERR_SHAPE);
    CHECK_CONTAINS(cls_last_error(), "too small");
    int conv1_1 = 0;
    cls_net_config shallow = {1, 1, CLS_POOL_MAX, &conv1_1, 1, 0, 1}; /* no pooling: any size */
    CHECK_STATUS(cls_net_create(model, &shallow, &net), CLS_OK);
    cls_net_destroy(net);
    cls_model_destroy(model);
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
    RUN_CASE(vgg19_matches_pytorch);
    RUN_CASE(formats_agree);
    RUN_CASE(planning_errors);
    dev_close();
    return check_report();
}
