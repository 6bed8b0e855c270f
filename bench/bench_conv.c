/* A 3x3 convolution layer with random weights, run the way the network runs it. */
#include "bench_util.h"

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

cls_status bench_conv_create(cls_ctx *ctx, cls_shape in, int cout, bench_conv *c)
{
    cls_status status = CLS_OK;
    bool timed;
    *c = (bench_conv){.in = in, .cout = cout};
    CLS_TRY(cls_conv3x3_select(ctx, in, cout, false, &timed)); /* as a transfer would */
    c->algo = cls_conv3x3_choose(ctx, in, cout);
    const size_t plane = (size_t)in.n * (size_t)in.h * (size_t)in.w;
    const size_t weights = (size_t)in.c * (size_t)cout * 9;
    CLS_TRY(bench_random_buffer(ctx, (size_t)in.c * plane, 1, &c->input));
    CLS_TRY(bench_random_buffer(ctx, weights, 2, &c->weight));
    CLS_TRY(bench_random_buffer(ctx, (size_t)cout, 4, &c->bias));
    CLS_TRY(bench_random_buffer(ctx, (size_t)cout * plane, 5, &c->output));
    if (c->algo == CLS_CONV_WINOGRAD) {
        const size_t count = cls_conv3x3_winograd_weight_count(in.c, cout);
        CLS_TRY(bench_random_buffer(ctx, count, 3, &c->derived));
        CLS_TRY(cls_conv3x3_winograd_weights(ctx, in.c, cout, c->weight, c->derived));
    } else {
        CLS_TRY(bench_random_buffer(ctx, weights, 3, &c->derived));
        CLS_TRY(cls_conv3x3_flip_weights(ctx, in.c, cout, c->weight, c->derived));
    }
fail:
    if (status != CLS_OK)
        bench_conv_release(c);
    return status;
}

void bench_conv_release(bench_conv *c)
{
    release(&c->input);
    release(&c->weight);
    release(&c->derived);
    release(&c->bias);
    release(&c->output);
}

cls_status bench_conv_forward(cls_ctx *ctx, void *conv)
{
    bench_conv *c = conv;
    if (c->algo == CLS_CONV_WINOGRAD)
        return cls_conv3x3_winograd_forward(ctx, c->in, c->cout, c->input, c->derived, c->bias,
                                            true, c->output);
    return cls_conv3x3_forward(ctx, c->in, c->cout, c->input, c->weight, c->bias, true, c->output);
}

cls_status bench_conv_backward(cls_ctx *ctx, void *conv)
{
    bench_conv *c = conv;
    if (c->algo == CLS_CONV_WINOGRAD)
        return cls_conv3x3_winograd_backward_data(ctx, c->in, c->cout, c->output, c->derived,
                                                  c->input);
    return cls_conv3x3_backward_data(ctx, c->in, c->cout, c->output, c->derived, c->input);
}
