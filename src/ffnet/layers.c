/* TransformerNet as rows: names as pytorch/examples' state_dict has them. */
#include "ffnet/layers.h"

/* clang-format off */
#define RES_BLOCK(i)                                                                               \
    {"res" #i ".conv1", "res" #i ".in1", 128, 128, 3, 1, 1, true, CLS_FFNET_RESIDUAL_SAVE},        \
    {"res" #i ".conv2", "res" #i ".in2", 128, 128, 3, 1, 1, false, CLS_FFNET_RESIDUAL_ADD}
/* clang-format on */

static const cls_ffnet_layer transformer_net[] = {
    {"conv1", "in1", 3, 32, 9, 1, 1, true, CLS_FFNET_RESIDUAL_NONE},
    {"conv2", "in2", 32, 64, 3, 2, 1, true, CLS_FFNET_RESIDUAL_NONE},
    {"conv3", "in3", 64, 128, 3, 2, 1, true, CLS_FFNET_RESIDUAL_NONE},
    RES_BLOCK(1),
    RES_BLOCK(2),
    RES_BLOCK(3),
    RES_BLOCK(4),
    RES_BLOCK(5),
    {"deconv1", "in4", 128, 64, 3, 1, 2, true, CLS_FFNET_RESIDUAL_NONE},
    {"deconv2", "in5", 64, 32, 3, 1, 2, true, CLS_FFNET_RESIDUAL_NONE},
    {"deconv3", NULL, 32, 3, 9, 1, 1, false, CLS_FFNET_RESIDUAL_NONE},
};

size_t cls_ffnet_layer_param_count(const cls_ffnet_layer *l)
{
    const size_t conv = (size_t)l->cout * l->cin * l->kernel * l->kernel + l->cout;
    return conv + (l->norm ? 2 * (size_t)l->cout : 0);
}

const cls_ffnet_layer *cls_ffnet_layers(size_t *count)
{
    *count = sizeof transformer_net / sizeof transformer_net[0];
    return transformer_net;
}
