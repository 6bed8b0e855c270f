/* Enumerating OpenCL devices into cls_device_info rows, keeping their OpenCL handles. */
#ifndef CLS_RUNTIME_DEVICE_H
#define CLS_RUNTIME_DEVICE_H

#include "runtime/error.h"

typedef struct cls_device_handles {
    cl_platform_id platform;
    cl_device_id device;
} cls_device_handles;

/* Like cls_device_list, and also returns each row's platform and device handles in
 * *handles (malloc'd, same length; free with free()). */
cls_status cls_device_enumerate(cls_device_info **list, cls_device_handles **handles,
                                size_t *count);

/* Fills one row from a device. Strings that the driver cannot report stay empty. */
void cls_device_describe(cl_platform_id platform, cl_device_id device, cls_device_info *info);

#endif
