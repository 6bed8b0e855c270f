/* Saving a transformer network's weights as the state_dict PyTorch users load. */
#include "ffnet/tape.h"
#include "runtime/launch.h"
#include "weights/safetensors_write.h"

#include <math.h>
#include <stdlib.h>

/* Downloads every weight tensor into one host block and describes them in out[]. */
static cls_status download(cls_ffnet *net, cls_ffnet_tensor *tensors, size_t count, float **host,
                           cls_tensor_out *out, size_t *total_out)
{
    cls_status status = CLS_OK;
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        cls_ffnet_tensor_at(net, NULL, i, &tensors[i]);
        total += tensors[i].count;
    }
    *host = malloc(total * sizeof **host);
    CLS_CHECK_ALLOC(*host, "the weights being saved");
    float *at = *host;
    for (size_t i = 0; i < count; i++) {
        const cls_ffnet_tensor *t = &tensors[i];
        CLS_CHECK_CL(clEnqueueReadBuffer(net->ctx->queue, *t->param, CL_FALSE, 0,
                                         t->count * sizeof(float), at, 0, NULL, NULL),
                     "reading the weights");
        out[i] = (cls_tensor_out){t->name, at, t->ndim, t->shape};
        at += t->count;
    }
    CLS_CHECK_CL(clFinish(net->ctx->queue), "reading the weights");
    *total_out = total;
fail:
    return status;
}

cls_status cls_ffnet_save(cls_ffnet *net, const char *path)
{
    cls_status status = CLS_OK;
    float *host = NULL;
    const size_t count = cls_ffnet_tensor_count(net);
    cls_ffnet_tensor *tensors = calloc(count, sizeof *tensors);
    cls_tensor_out *out = calloc(count, sizeof *out);
    CLS_CHECK_ALLOC(tensors && out ? out : NULL, "the weights being saved");
    size_t total = 0;
    CLS_TRY(download(net, tensors, count, &host, out, &total));
    for (size_t i = 0; i < total; i++)
        if (!isfinite(host[i])) {
            status = cls_error(CLS_ERR_NOT_FINITE,
                               "the network's weights are not finite (training diverged: a "
                               "lower learning rate may help); %s was not written",
                               path);
            goto fail;
        }
    static const char *const metadata[] = {"format", "pt", "network",
                                           "TransformerNet (pytorch/examples fast_neural_style)"};
    CLS_TRY(cls_safetensors_write(path, out, count, metadata, 2));
fail:
    free(host);
    free(tensors);
    free(out);
    return status;
}
