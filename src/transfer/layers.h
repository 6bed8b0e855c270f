/* Layer lists ("relu1_1,relu2_1") resolved against a model's layer table. */
#ifndef CLS_TRANSFER_LAYERS_H
#define CLS_TRANSFER_LAYERS_H

#include "net/vgg.h"
#include "runtime/error.h"

enum { CLS_MAX_LAYER_LIST = 32 };

typedef struct cls_layer_list {
    int count;
    int index[CLS_MAX_LAYER_LIST];     /* rows of the VGG table */
    double weight[CLS_MAX_LAYER_LIST]; /* normalised to sum 1 */
} cls_layer_list;

/* Parses a comma-separated list; weights (count of them, or NULL for equal) are normalised
 * to sum 1. `what` names the list in errors ("style layers"). */
cls_status cls_layer_list_parse(cls_vgg_arch arch, const char *names, const double *weights,
                                int weight_count, const char *what, cls_layer_list *out);

#endif
