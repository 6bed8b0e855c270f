/* `clstyle devices`: the device table, in aligned columns. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>

int cls_cmd_devices(const cls_cli_common *common)
{
    (void)common;
    cls_device_info *list = NULL;
    size_t count = 0;
    cls_status status = cls_device_list(&list, &count);
    if (status != CLS_OK)
        return cls_cli_fail(status);
    if (count == 0) {
        fprintf(stderr, "clstyle: error: no OpenCL device found. Install the OpenCL driver of "
                        "your GPU, or PoCL to run on the CPU (Debian/Ubuntu: sudo apt-get "
                        "install pocl-opencl-icd), then check with `clinfo -l`.\n");
        return CLS_EXIT_RUNTIME;
    }
    char *table = cls_device_table_format(list, count);
    size_t chosen = 0;
    cls_status pick = cls_device_select(list, count, NULL, &chosen);
    cls_device_list_free(list);
    if (!table) {
        fprintf(stderr, "clstyle: error: out of memory\n");
        return CLS_EXIT_RUNTIME;
    }
    fputs(table, stdout);
    free(table);
    if (pick == CLS_OK)
        printf("\ndefault: device %zu (the first GPU, else the first device); choose with "
               "--device INDEX, P:D, a part of the name, gpu or cpu, or CLSTYLE_DEVICE\n",
               chosen);
    return CLS_EXIT_OK;
}
