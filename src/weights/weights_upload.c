/* Uploading weight tensors to the device. */
#include "weights/weights_upload.h"
#include "runtime/launch.h"

cls_status cls_weights_upload(cls_ctx *ctx, cls_weights *w, const cls_weight_tensor *t,
                              const char *what, float *host, cl_mem *out)
{
    cls_status status = CLS_OK;
    CLS_TRY(cls_weights_read_f32(w, t, host));
    CLS_TRY(cls_buffer_create(ctx, t->count * sizeof(float), what, out));
    CLS_CHECK_CL(clEnqueueWriteBuffer(ctx->queue, *out, CL_TRUE, 0, t->count * sizeof(float),
                                      host, 0, NULL, NULL),
                 "uploading weights");
fail:
    return status;
}
