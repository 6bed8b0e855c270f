/* Random VGG weights with torchvision's tensor names and shapes: He-initialised conv
 * weights and small biases from a seeded splitmix64 + Box-Muller stream, identical on every
 * run and for every file format. */
#ifndef CLS_TESTS_RANDOM_VGG_H
#define CLS_TESTS_RANDOM_VGG_H

#include "net/vgg.h"
#include "weights_writer.h"

#include <stdbool.h>

enum { RANDOM_VGG_CLASSIFIER_ROWS = 16 }; /* a stand-in for torchvision's 4096 x 25088 */
#define RANDOM_VGG_DEFAULT_SEED 20170320ull

typedef struct random_vgg {
    writer_tensor *tensors;
    size_t count;
    const char **modules; /* the state_dict's _metadata modules, NULL-terminated */
    char *names;          /* storage for tensor and module names */
} random_vgg;

/* features.{i}.weight [cout, cin, 3, 3] ~ N(0, 2 / (cin * 9)) and features.{i}.bias [cout]
 * ~ N(0, 0.01^2) for every conv, in order; with extra_classifier, then an unused
 * classifier.0.weight [16, 25088] ~ N(0, 0.01^2). */
cls_status random_vgg_make(cls_vgg_arch arch, uint64_t seed, bool extra_classifier,
                           random_vgg *out);
void random_vgg_free(random_vgg *v);

#endif
