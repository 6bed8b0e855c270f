/* Random weights for the fast-neural-style transformer network (TransformerNet of
 * pytorch/examples fast_neural_style) with its state_dict names and shapes, from the same
 * seeded stream as random_vgg.h, identical on every run and in every file format. */
#ifndef CLS_TESTS_RANDOM_FFNET_H
#define CLS_TESTS_RANDOM_FFNET_H

#include "weights_writer.h"

#include <stdbool.h>

#define RANDOM_FFNET_DEFAULT_SEED 20160327ull

/* The last conv (deconv3) is scaled so that the raw output spans 0..255 on typical inputs:
 * weights ~ N(0, 2.5^2) with 3/4 of each 9x9 kernel's mean removed (so the channels' means
 * stay near the bias), bias 127.5. Measured with PyTorch over seeds and images: output
 * std 60-75, 4-9% of values outside 0..255. */
#define RANDOM_FFNET_LAST_WEIGHT_STD 2.5
#define RANDOM_FFNET_LAST_MEAN_REMOVED 0.75
#define RANDOM_FFNET_LAST_BIAS 127.5

typedef struct random_ffnet {
    writer_tensor *tensors;
    size_t count;
    const char **modules; /* the state_dict's _metadata modules, NULL-terminated */
    int *versions;        /* their versions as torch 2 writes them (InstanceNorm2d: 2) */
    char *names;          /* storage for tensor and module names */
} random_ffnet;

/* In state_dict order: for each ConvLayer P, P.conv2d.weight [cout, cin, k, k] ~
 * N(0, 2 / (cin k k)) and P.conv2d.bias [cout] ~ N(0, 0.1^2); for each InstanceNorm2d N,
 * N.weight [C] ~ 1 + N(0, 0.1^2) and N.bias [C] ~ N(0, 0.1^2); deconv3 as above.
 * With running_stats, every norm is followed by N.running_mean [C] ~ N(0, 0.5^2) and
 * N.running_var [C] ~ 0.5 + |N(0, 1)|, as the published legacy models hold (loaders must
 * ignore them); these come from a second stream, so the other tensors do not change. */
cls_status random_ffnet_make(uint64_t seed, bool running_stats, random_ffnet *out);
void random_ffnet_free(random_ffnet *f);

#endif
