/* Choosing kernel parameters for a device. */
#include "runtime/tunables.h"

#include <stdio.h>

cls_tunables cls_tunables_for(const cls_device_info *device)
{
    (void)device; /* one setting fits every device measured so far; see the perf issue */
    return (cls_tunables){.conv_cout_tile = 8, .reduce_group = 64};
}

void cls_tunables_prelude(const cls_tunables *t, char *buf, size_t size)
{
    snprintf(buf, size, "#define CONV_COUT_TILE %d\n#define REDUCE_GROUP %d\n", t->conv_cout_tile,
             t->reduce_group);
}
