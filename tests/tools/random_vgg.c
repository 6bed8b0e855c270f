/* Seeded random VGG weights (splitmix64, Box-Muller) named and shaped as torchvision's. */
#include "random_vgg.h"

#include "random_normal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NAME_SIZE = 64 };

static float *fill(random_stream *r, uint64_t count, double std)
{
    float *v = malloc(count * sizeof *v);
    for (uint64_t i = 0; v && i < count; i++)
        v[i] = (float)(std * random_normal(r));
    return v;
}

/* Adds a tensor named name (copied into the name pool at *pool). */
static bool add(random_vgg *v, char **pool, const char *name, int ndim, const int64_t *shape,
                random_stream *r, double std)
{
    writer_tensor *t = &v->tensors[v->count];
    snprintf(*pool, NAME_SIZE, "%s", name);
    t->name = *pool;
    *pool += NAME_SIZE;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = fill(r, writer_count(t), std);
    if (!t->data)
        return false;
    v->count++;
    return true;
}

static void add_module(random_vgg *v, size_t *n, char **pool, const char *name)
{
    snprintf(*pool, NAME_SIZE, "%s", name);
    v->modules[(*n)++] = *pool;
    *pool += NAME_SIZE;
}

static void list_modules(random_vgg *v, const cls_vgg_layer *layers, size_t nlayers,
                         bool classifier, char **pool)
{
    size_t n = 0;
    char name[NAME_SIZE];
    add_module(v, &n, pool, "");
    add_module(v, &n, pool, "features");
    for (size_t i = 0; i < nlayers; i++) {
        snprintf(name, sizeof name, "features.%d", layers[i].torch_index);
        add_module(v, &n, pool, name);
    }
    if (classifier) {
        add_module(v, &n, pool, "classifier");
        add_module(v, &n, pool, "classifier.0");
    }
    v->modules[n] = NULL;
}

cls_status random_vgg_make(cls_vgg_arch arch, uint64_t seed, bool extra_classifier, random_vgg *out)
{
    size_t nlayers;
    const cls_vgg_layer *layers = cls_vgg_layers(arch, &nlayers);
    random_stream r = {.state = seed};
    memset(out, 0, sizeof *out);
    size_t max = 2 * nlayers + 1, max_modules = nlayers + 5;
    out->tensors = calloc(max, sizeof *out->tensors);
    out->modules = calloc(max_modules, sizeof *out->modules);
    out->names = calloc(max + max_modules, NAME_SIZE);
    char *pool = out->names, name[NAME_SIZE];
    bool ok = out->tensors && out->modules && out->names;
    for (size_t i = 0; ok && i < nlayers; i++) {
        const cls_vgg_layer *l = &layers[i];
        if (l->kind != CLS_LAYER_CONV)
            continue;
        int64_t wshape[4] = {l->cout, l->cin, 3, 3}, bshape[1] = {l->cout};
        snprintf(name, sizeof name, "features.%d.weight", l->torch_index);
        ok = add(out, &pool, name, 4, wshape, &r, sqrt(2.0 / (l->cin * 9.0)));
        snprintf(name, sizeof name, "features.%d.bias", l->torch_index);
        ok = ok && add(out, &pool, name, 1, bshape, &r, 0.01);
    }
    int64_t cshape[2] = {RANDOM_VGG_CLASSIFIER_ROWS, 512 * 7 * 7};
    if (ok && extra_classifier)
        ok = add(out, &pool, "classifier.0.weight", 2, cshape, &r, 0.01);
    if (ok)
        list_modules(out, layers, nlayers, extra_classifier, &pool);
    if (ok)
        return CLS_OK;
    random_vgg_free(out);
    return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating random VGG weights");
}

void random_vgg_free(random_vgg *v)
{
    for (size_t i = 0; v->tensors && i < v->count; i++)
        free((void *)v->tensors[i].data);
    free(v->tensors);
    free(v->modules);
    free(v->names);
    memset(v, 0, sizeof *v);
}
