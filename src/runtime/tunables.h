/* Per-device kernel parameters: chosen by the host, prepended to every kernel source as
 * #defines (the kernels carry #ifndef defaults), and used by the launchers for work sizes. */
#ifndef CLS_RUNTIME_TUNABLES_H
#define CLS_RUNTIME_TUNABLES_H

#include "clstyle.h"

#include <stddef.h>

typedef struct cls_tunables {
    int conv_cout_tile; /* output channels per work-item in conv3x3_forward */
    int reduce_group;   /* work-group size of the loss reductions (a power of two) */
} cls_tunables;

cls_tunables cls_tunables_for(const cls_device_info *device);

/* Writes the #define lines into buf (NUL-terminated, truncated to size). */
void cls_tunables_prelude(const cls_tunables *t, char *buf, size_t size);

#endif
