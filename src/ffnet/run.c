/* Running a transformer network on an image: the plan of buffers for an image size, kept
 * for the next image of the same size, and the forward pass through the layer table. */
#include "ffnet/ffnet.h"
#include "ops/conv_kxk.h"
#include "ops/norm.h"
#include "ops/pad.h"
#include "runtime/launch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* A layer's shapes given its input. */
static cls_status plan_step(const cls_ffnet *net, const cls_ffnet_layer *l, cls_shape in,
                            cls_ffnet_step *s)
{
    cls_status status = CLS_OK;
    *s = (cls_ffnet_step){.in = in, .algo = CLS_CONV_DIRECT};
    CLS_TRY(cls_pad_reflect_shape(in, l->upsample, l->kernel / 2, &s->padded));
    s->same3x3 = l->kernel == 3 && l->stride == 1;
    if (s->same3x3) {
        /* The VGG kernels pad with zeros by 1; run on the reflection-padded input they
         * compute the wanted output inside a 1-pixel border, which the next op skips. */
        s->conv = (cls_shape){in.n, l->cout, s->padded.h, s->padded.w};
        s->out = (cls_shape){in.n, l->cout, s->padded.h - 2, s->padded.w - 2};
        s->algo = cls_conv3x3_choose(net->ctx, s->padded, l->cout);
    } else {
        CLS_TRY(cls_conv_kxk_shape(s->padded, l->cout, l->kernel, l->stride, &s->conv));
        s->out = s->conv;
    }
fail:
    return status;
}

cls_status cls_ffnet_plan_steps(const cls_ffnet *net, int batch, int width, int height,
                                cls_ffnet_step *steps, cls_ffnet_sizes *sizes)
{
    cls_status status = CLS_OK;
    cls_shape in = {batch, 3, height, width};
    *sizes = (cls_ffnet_sizes){.image = cls_shape_count(in)};
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        CLS_TRY(plan_step(net, l, in, &steps[i]));
        const cls_ffnet_step *s = &steps[i];
        sizes->padded = max_size(sizes->padded, cls_shape_count(s->padded));
        sizes->conv = max_size(sizes->conv, cls_shape_count(s->conv));
        sizes->act = max_size(sizes->act, cls_shape_count(s->out));
        if (s->same3x3 && s->algo == CLS_CONV_WINOGRAD) {
            size_t b[2];
            cls_conv3x3_winograd_scratch_bytes(net->ctx, s->padded, l->cout, b);
            sizes->scratch_bytes[0] = max_size(sizes->scratch_bytes[0], b[0]);
            sizes->scratch_bytes[1] = max_size(sizes->scratch_bytes[1], b[1]);
            if (!net->params[i].winograd)
                sizes->derived_bytes +=
                    cls_conv3x3_winograd_weight_count(l->cin, l->cout) * sizeof(float);
        }
        in = s->out;
    }
fail:
    return status;
}

size_t cls_ffnet_sizes_bytes(const cls_ffnet_sizes *sizes)
{
    return (sizes->image + sizes->padded + sizes->conv + 2 * sizes->act) * sizeof(float) +
           sizes->scratch_bytes[0] + sizes->scratch_bytes[1] + sizes->derived_bytes;
}

void cls_ffnet_plan_release(cls_ffnet_plan *plan)
{
    cl_mem buffers[] = {plan->image, plan->padded, plan->conv, plan->act[0], plan->act[1]};
    for (size_t b = 0; b < sizeof buffers / sizeof buffers[0]; b++)
        if (buffers[b])
            clReleaseMemObject(buffers[b]);
    free(plan->steps);
    free(plan->host);
    memset(plan, 0, sizeof *plan);
}

static int round_up(int value, int multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

static cls_status check_size(int width, int height)
{
    if (width < CLS_FFNET_MIN_SIDE || height < CLS_FFNET_MIN_SIDE)
        return cls_error(CLS_ERR_SHAPE,
                         "a %dx%d image is too small for the transformer network: it needs at "
                         "least %d pixels on each side",
                         width, height, CLS_FFNET_MIN_SIDE);
    return CLS_OK;
}

cls_status cls_ffnet_plan_bytes(const cls_ffnet *net, int width, int height, size_t *bytes)
{
    cls_status status = check_size(width, height);
    if (status != CLS_OK)
        return status;
    cls_ffnet_step *steps = calloc(net->layer_count, sizeof *steps);
    cls_ffnet_sizes sizes;
    if (!steps)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating a transformer plan");
    status = cls_ffnet_plan_steps(net, 1, round_up(width, CLS_FFNET_SIZE_MULTIPLE),
                                  round_up(height, CLS_FFNET_SIZE_MULTIPLE), steps, &sizes);
    if (status == CLS_OK)
        *bytes = cls_ffnet_sizes_bytes(&sizes);
    free(steps);
    return status;
}

static cls_status buffer(cls_ffnet *net, size_t floats, const char *what, cl_mem *out)
{
    return cls_buffer_create(net->ctx, floats * sizeof(float), what, out);
}

/* Makes the plan for an image of width x height, unless the current one is for that size. */
static cls_status plan_for(cls_ffnet *net, int width, int height)
{
    cls_status status = CLS_OK;
    cls_ffnet_plan *p = &net->plan;
    if (p->width == width && p->height == height)
        return CLS_OK;
    cls_ffnet_plan_release(p);
    p->width4 = round_up(width, CLS_FFNET_SIZE_MULTIPLE);
    p->height4 = round_up(height, CLS_FFNET_SIZE_MULTIPLE);
    p->steps = calloc(net->layer_count, sizeof *p->steps);
    CLS_CHECK_ALLOC(p->steps, "a transformer plan");
    cls_ffnet_sizes sizes;
    CLS_TRY(cls_ffnet_plan_steps(net, 1, p->width4, p->height4, p->steps, &sizes));
    p->host = malloc(sizes.image * sizeof *p->host);
    CLS_CHECK_ALLOC(p->host, "an image staging buffer");
    CLS_TRY(buffer(net, sizes.image, "the image", &p->image));
    CLS_TRY(buffer(net, sizes.padded, "padded activations", &p->padded));
    CLS_TRY(buffer(net, sizes.conv, "convolution outputs", &p->conv));
    for (int a = 0; a < 2; a++)
        CLS_TRY(buffer(net, sizes.act, "activations", &p->act[a]));
    p->width = width;
    p->height = height;
fail:
    if (status != CLS_OK)
        cls_ffnet_plan_release(p);
    return status;
}

/* The Winograd-transformed weights of the layers that run so, made once. */
static cls_status prepare_weights(cls_ffnet *net)
{
    cls_status status = CLS_OK;
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        cls_ffnet_params *p = &net->params[i];
        if (!net->plan.steps[i].same3x3 || net->plan.steps[i].algo != CLS_CONV_WINOGRAD ||
            p->winograd)
            continue;
        const size_t bytes = cls_conv3x3_winograd_weight_count(l->cin, l->cout) * sizeof(float);
        CLS_TRY(cls_buffer_create(net->ctx, bytes, l->conv, &p->winograd));
        CLS_TRY(cls_conv3x3_winograd_weights(net->ctx, l->cin, l->cout, p->weight, p->winograd));
        net->device_bytes += bytes;
    }
fail:
    return status;
}

/* Reflects i into 0 .. n - 1 (n > i - n: the padding is below the side). */
static int reflect(int i, int n)
{
    return i < n ? i : 2 * (n - 1) - i;
}

/* Interleaved RGB into planes of the padded size, the extra columns and rows reflected. */
static void to_planes(const cls_image *in, int w4, int h4, float *planes)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h4; y++) {
            const float *row = in->pixels + (size_t)reflect(y, in->height) * in->width * 3;
            float *dst = planes + ((size_t)c * h4 + y) * w4;
            for (int x = 0; x < w4; x++)
                dst[x] = row[(size_t)reflect(x, in->width) * 3 + c];
        }
}

/* The planes' top-left width x height, clamped to 0..255, interleaved into out. */
static void from_planes(const float *planes, int w4, int h4, cls_image *out)
{
    for (int y = 0; y < out->height; y++)
        for (int x = 0; x < out->width; x++)
            for (int c = 0; c < 3; c++) {
                const float v = planes[((size_t)c * h4 + y) * w4 + x];
                out->pixels[((size_t)y * out->width + x) * 3 + c] =
                    isnan(v) ? 0.0f : fminf(fmaxf(v, 0.0f), 255.0f);
            }
}

cls_status cls_ffnet_convolve(cls_ffnet *net, size_t i, const cls_ffnet_step *s, cl_mem input,
                              cl_mem output)
{
    const cls_ffnet_layer *l = &net->layers[i];
    const cls_ffnet_params *p = &net->params[i];
    if (!s->same3x3)
        return cls_conv_kxk_forward(net->ctx, s->padded, l->cout, l->kernel, l->stride, input,
                                    p->weight, p->bias, output);
    if (s->algo == CLS_CONV_WINOGRAD)
        return cls_conv3x3_winograd_forward(net->ctx, s->padded, l->cout, input, p->winograd,
                                            p->bias, false, output);
    return cls_conv3x3_forward(net->ctx, s->padded, l->cout, input, p->weight, p->bias, false,
                               output);
}

cls_plane_view cls_ffnet_conv_view(const cls_ffnet_step *s)
{
    return s->same3x3 ? (cls_plane_view){s->conv.h, s->conv.w, 1, 1} : cls_plane_view_full(s->conv);
}

cls_instance_norm_args cls_ffnet_norm_args(const cls_ffnet *net, size_t i, const cls_ffnet_step *s,
                                           cl_mem conv, cl_mem residual, cl_mem output)
{
    const cls_ffnet_layer *l = &net->layers[i];
    return (cls_instance_norm_args){
        .shape = s->out,
        .input = conv,
        .view = cls_ffnet_conv_view(s),
        .weight = net->params[i].norm_weight,
        .bias = net->params[i].norm_bias,
        .eps = 1e-5f,
        .relu = l->relu,
        .residual = l->residual == CLS_FFNET_RESIDUAL_ADD ? residual : NULL,
        .output = output,
    };
}

/* Where layer output goes: an activation buffer that is neither the layer's input nor a
 * residual still to be added, else the input's own (the padding step has copied it). */
static cl_mem output_buffer(const cls_ffnet_plan *p, cl_mem input, cl_mem residual)
{
    for (int a = 0; a < 2; a++)
        if (p->act[a] != input && p->act[a] != residual)
            return p->act[a];
    return input;
}

/* Runs the layers on plan.image; the last one writes the result back into it. */
static cls_status forward(cls_ffnet *net)
{
    cls_status status = CLS_OK;
    cls_ffnet_plan *p = &net->plan;
    cl_mem x = p->image, residual = NULL;
    for (size_t i = 0; i < net->layer_count; i++) {
        const cls_ffnet_layer *l = &net->layers[i];
        const cls_ffnet_step *s = &p->steps[i];
        if (l->residual == CLS_FFNET_RESIDUAL_SAVE)
            residual = x;
        CLS_TRY(cls_pad_reflect(net->ctx, s->in, l->upsample, l->kernel / 2, x, p->padded));
        if (!l->norm) { /* the last layer: straight into the image */
            CLS_TRY(cls_ffnet_convolve(net, i, s, p->padded, p->image));
            x = p->image;
            continue;
        }
        CLS_TRY(cls_ffnet_convolve(net, i, s, p->padded, p->conv));
        const bool add = l->residual == CLS_FFNET_RESIDUAL_ADD;
        const cls_instance_norm_args norm =
            cls_ffnet_norm_args(net, i, s, p->conv, residual, output_buffer(p, x, residual));
        CLS_TRY(cls_instance_norm_forward(net->ctx, &norm));
        x = norm.output;
        if (add)
            residual = NULL;
    }
    if (x != p->image)
        return cls_error(CLS_ERR_SHAPE, "the transformer's last layer has a norm");
fail:
    return status;
}

static cls_status check_images(const cls_image *input, const cls_image *output)
{
    if (!input || !input->pixels || !output)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_ffnet_run: no input image or output");
    if (output->pixels && (output->width != input->width || output->height != input->height))
        return cls_error(CLS_ERR_INVALID_ARGUMENT,
                         "cls_ffnet_run: the output is %dx%d, the input %dx%d", output->width,
                         output->height, input->width, input->height);
    return check_size(input->width, input->height);
}

cls_status cls_ffnet_run(cls_ffnet *net, const cls_image *input, cls_image *output)
{
    cls_status status = check_images(input, output);
    if (status != CLS_OK)
        return status;
    CLS_TRY(plan_for(net, input->width, input->height));
    CLS_TRY(prepare_weights(net));
    cls_ffnet_plan *p = &net->plan;
    const size_t bytes = 3 * (size_t)p->width4 * (size_t)p->height4 * sizeof(float);
    to_planes(input, p->width4, p->height4, p->host);
    CLS_CHECK_CL(
        clEnqueueWriteBuffer(net->ctx->queue, p->image, CL_FALSE, 0, bytes, p->host, 0, NULL, NULL),
        "uploading the image");
    CLS_TRY(forward(net));
    CLS_CHECK_CL(
        clEnqueueReadBuffer(net->ctx->queue, p->image, CL_TRUE, 0, bytes, p->host, 0, NULL, NULL),
        "reading the stylised image");
    if (!output->pixels)
        CLS_TRY(cls_image_alloc(output, input->width, input->height));
    from_planes(p->host, p->width4, p->height4, output);
fail:
    return status;
}
