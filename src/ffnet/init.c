/* A transformer network with PyTorch's default initialisation, the start of training from
 * scratch. */
#include "ffnet/ffnet.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* splitmix64: a small, well-mixed stream, the same for a seed on every machine. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-bound, bound). */
static void fill_uniform(uint64_t *state, float bound, float *out, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const double u = (double)(next_u64(state) >> 11) * 0x1.0p-53;
        out[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

static void fill_value(float value, float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = value;
}

static cls_status upload(cls_ffnet *net, const float *host, size_t count, const char *what,
                         cl_mem *out)
{
    cls_status status = cls_buffer_create(net->ctx, count * sizeof(float), what, out);
    if (status != CLS_OK)
        return status;
    net->device_bytes += count * sizeof(float);
    const cl_int err = clEnqueueWriteBuffer(net->ctx->queue, *out, CL_TRUE, 0,
                                            count * sizeof(float), host, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLS_OK : cls_error_cl(err, "uploading initial weights");
}

/* torch.nn.Conv2d's reset_parameters: kaiming_uniform_(a = sqrt(5)) gives weights uniform in
 * +-1 / sqrt(fan_in), and the bias the same bound; InstanceNorm2d(affine) starts at 1 and 0. */
static cls_status init_layer(cls_ffnet *net, size_t i, uint64_t *state, float *host)
{
    cls_status status = CLS_OK;
    const cls_ffnet_layer *l = &net->layers[i];
    cls_ffnet_params *p = &net->params[i];
    const size_t fan_in = (size_t)l->cin * l->kernel * l->kernel;
    const float bound = (float)(1.0 / sqrt((double)fan_in));
    fill_uniform(state, bound, host, fan_in * l->cout);
    CLS_TRY(upload(net, host, fan_in * l->cout, l->conv, &p->weight));
    fill_uniform(state, bound, host, (size_t)l->cout);
    CLS_TRY(upload(net, host, (size_t)l->cout, l->conv, &p->bias));
    if (!l->norm)
        return CLS_OK;
    fill_value(1.0f, host, (size_t)l->cout);
    CLS_TRY(upload(net, host, (size_t)l->cout, l->norm, &p->norm_weight));
    fill_value(0.0f, host, (size_t)l->cout);
    CLS_TRY(upload(net, host, (size_t)l->cout, l->norm, &p->norm_bias));
fail:
    return status;
}

cls_status cls_ffnet_create_random(cls_ctx *ctx, uint64_t seed, cls_ffnet **out)
{
    cls_status status = CLS_OK;
    float *host = NULL;
    uint64_t state = seed;
    *out = NULL;
    cls_ffnet *net = NULL;
    CLS_TRY(cls_ffnet_alloc(ctx, &net, &host));
    for (size_t i = 0; i < net->layer_count; i++)
        CLS_TRY(init_layer(net, i, &state, host));
    snprintf(net->path, sizeof net->path, "(random, seed %llu)", (unsigned long long)seed);
    *out = net;
    net = NULL;
fail:
    free(host);
    cls_ffnet_destroy(net);
    return status;
}
