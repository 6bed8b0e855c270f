/* Seeded random TransformerNet weights (fast-neural-style) named as pytorch/examples. */
#include "random_ffnet.h"

#include "random_normal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAME_SIZE = 64, MAX_TENSORS = 128, MAX_MODULES = 96 };

typedef enum draw { HE, SMALL, NORM_WEIGHT, LAST_WEIGHT, LAST_BIAS, RUN_MEAN, RUN_VAR } draw;

typedef struct builder {
    random_ffnet *f;
    random_stream values, stats;
    bool running_stats;
    size_t nmodules;
    char *pool;
    bool ok;
} builder;

static const char *intern(builder *b, const char *a, const char *c)
{
    char *name = b->pool;
    snprintf(name, NAME_SIZE, "%s%s%s", a, *a && *c ? "." : "", c);
    b->pool += NAME_SIZE;
    return name;
}

static void module(builder *b, const char *prefix, const char *name, int version)
{
    b->f->versions[b->nmodules] = version;
    b->f->modules[b->nmodules++] = intern(b, prefix, name);
}

static double value(builder *b, draw d, const int64_t *shape)
{
    switch (d) {
    case HE:
        return random_normal(&b->values) * sqrt(2.0 / (double)(shape[1] * shape[2] * shape[3]));
    case SMALL: return 0.1 * random_normal(&b->values);
    case NORM_WEIGHT: return 1.0 + 0.1 * random_normal(&b->values);
    case LAST_WEIGHT: return RANDOM_FFNET_LAST_WEIGHT_STD * random_normal(&b->values);
    case LAST_BIAS: return RANDOM_FFNET_LAST_BIAS;
    case RUN_MEAN: return 0.5 * random_normal(&b->stats);
    case RUN_VAR: return 0.5 + fabs(random_normal(&b->stats));
    }
    return 0.0;
}

static void tensor(builder *b, const char *prefix, const char *name, int ndim, const int64_t *shape,
                   draw d)
{
    if (!b->ok)
        return;
    writer_tensor *t = &b->f->tensors[b->f->count];
    t->name = intern(b, prefix, name);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    uint64_t count = writer_count(t);
    double *v = malloc(count * sizeof *v);
    float *data = malloc(count * sizeof *data);
    b->ok = v && data;
    for (uint64_t i = 0; b->ok && i < count; i++)
        v[i] = value(b, d, shape);
    if (b->ok && d == LAST_WEIGHT) { /* remove part of each kernel's mean */
        uint64_t k2 = (uint64_t)(shape[2] * shape[3]);
        for (uint64_t at = 0; at < count; at += k2) {
            double mean = 0.0;
            for (uint64_t i = 0; i < k2; i++)
                mean += v[at + i] / (double)k2;
            for (uint64_t i = 0; i < k2; i++)
                v[at + i] -= RANDOM_FFNET_LAST_MEAN_REMOVED * mean;
        }
    }
    for (uint64_t i = 0; b->ok && i < count; i++)
        data[i] = (float)v[i];
    free(v);
    if (!b->ok) {
        free(data);
        return;
    }
    t->data = data;
    b->f->count++;
}

/* ConvLayer / UpsampleConvLayer: reflection_pad (no tensors) and conv2d. */
static void conv_layer(builder *b, const char *prefix, const char *name, int cin, int cout, int k,
                       bool last)
{
    const char *p = intern(b, prefix, name);
    module(b, p, "", 1);
    module(b, p, "reflection_pad", 1);
    module(b, p, "conv2d", 1);
    const char *conv = intern(b, p, "conv2d");
    int64_t wshape[4] = {cout, cin, k, k}, bshape[1] = {cout};
    tensor(b, conv, "weight", 4, wshape, last ? LAST_WEIGHT : HE);
    tensor(b, conv, "bias", 1, bshape, last ? LAST_BIAS : SMALL);
}

/* InstanceNorm2d(affine=True); the legacy files' running statistics after its affine. */
static void norm(builder *b, const char *prefix, const char *name, int c)
{
    const char *p = intern(b, prefix, name);
    module(b, p, "", 2); /* _NormBase._version */
    int64_t shape[1] = {c};
    tensor(b, p, "weight", 1, shape, NORM_WEIGHT);
    tensor(b, p, "bias", 1, shape, SMALL);
    if (b->running_stats) {
        tensor(b, p, "running_mean", 1, shape, RUN_MEAN);
        tensor(b, p, "running_var", 1, shape, RUN_VAR);
    }
}

static void residual_block(builder *b, const char *name)
{
    module(b, name, "", 1);
    conv_layer(b, name, "conv1", 128, 128, 3, false);
    norm(b, name, "in1", 128);
    conv_layer(b, name, "conv2", 128, 128, 3, false);
    norm(b, name, "in2", 128);
    module(b, name, "relu", 1);
}

cls_status random_ffnet_make(uint64_t seed, bool running_stats, random_ffnet *out)
{
    memset(out, 0, sizeof *out);
    out->tensors = calloc(MAX_TENSORS, sizeof *out->tensors);
    out->modules = calloc(MAX_MODULES + 1, sizeof *out->modules);
    out->versions = calloc(MAX_MODULES, sizeof *out->versions);
    /* every tensor and module name, and each prefix, takes one slot */
    out->names = calloc(4 * (MAX_TENSORS + MAX_MODULES), NAME_SIZE);
    builder b = {.f = out,
                 .values = {.state = seed},
                 .stats = {.state = seed ^ 0x72756e6e696e67ull}, /* "running" */
                 .running_stats = running_stats,
                 .pool = out->names,
                 .ok = out->tensors && out->modules && out->versions && out->names};
    if (b.ok) {
        module(&b, "", "", 1);
        conv_layer(&b, "", "conv1", 3, 32, 9, false);
        norm(&b, "", "in1", 32);
        conv_layer(&b, "", "conv2", 32, 64, 3, false);
        norm(&b, "", "in2", 64);
        conv_layer(&b, "", "conv3", 64, 128, 3, false);
        norm(&b, "", "in3", 128);
        for (int i = 1; i <= 5; i++) {
            char name[8];
            snprintf(name, sizeof name, "res%d", i);
            residual_block(&b, name);
        }
        conv_layer(&b, "", "deconv1", 128, 64, 3, false);
        norm(&b, "", "in4", 64);
        conv_layer(&b, "", "deconv2", 64, 32, 3, false);
        norm(&b, "", "in5", 32);
        conv_layer(&b, "", "deconv3", 32, 3, 9, true);
        module(&b, "", "relu", 1);
    }
    if (b.ok)
        return CLS_OK;
    random_ffnet_free(out);
    return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating random transformer weights");
}

void random_ffnet_free(random_ffnet *f)
{
    for (size_t i = 0; f->tensors && i < f->count; i++)
        free((void *)f->tensors[i].data);
    free(f->tensors);
    free(f->modules);
    free(f->versions);
    free(f->names);
    memset(f, 0, sizeof *f);
}
