/* The device table: every device of every platform, described for selection and display. */
#include "runtime/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void platform_string(cl_platform_id p, cl_platform_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetPlatformInfo(p, what, size, buf, NULL) != CL_SUCCESS)
        buf[0] = '\0';
    buf[size - 1] = '\0';
}

/* clGetDeviceInfo fails with CL_INVALID_VALUE when the buffer is too small, so long
 * strings (extension lists) are read into a heap buffer of the reported size first. */
static char *device_string_alloc(cl_device_id d, cl_device_info what)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, what, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return NULL;
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (clGetDeviceInfo(d, what, size, s, NULL) != CL_SUCCESS) {
        free(s);
        return NULL;
    }
    s[size] = '\0';
    return s;
}

static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    char *s = device_string_alloc(d, what);
    buf[0] = '\0';
    if (s) {
        snprintf(buf, size, "%s", s);
        free(s);
    }
}

static uint64_t device_ulong(cl_device_id d, cl_device_info what)
{
    cl_ulong v = 0;
    if (clGetDeviceInfo(d, what, sizeof v, &v, NULL) != CL_SUCCESS)
        return 0;
    return v;
}

static cls_device_type device_type(cl_device_id d)
{
    cl_device_type t = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS)
        return CLS_DEVICE_OTHER;
    if (t & CL_DEVICE_TYPE_GPU)
        return CLS_DEVICE_GPU;
    if (t & CL_DEVICE_TYPE_CPU)
        return CLS_DEVICE_CPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return CLS_DEVICE_ACCELERATOR;
    return CLS_DEVICE_OTHER;
}

static bool has_extension(const char *extensions, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = extensions; p && (p = strstr(p, name)) != NULL; p += n) {
        bool starts = p == extensions || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

void cls_device_describe(cl_platform_id platform, cl_device_id device, cls_device_info *info)
{
    platform_string(platform, CL_PLATFORM_NAME, info->platform, sizeof info->platform);
    platform_string(platform, CL_PLATFORM_VERSION, info->platform_version,
                    sizeof info->platform_version);
    device_string(device, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(device, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_string(device, CL_DEVICE_VERSION, info->version, sizeof info->version);
    device_string(device, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    info->type = device_type(device);

    cl_uint units = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL) !=
        CL_SUCCESS)
        units = 0;
    info->compute_units = units;
    cl_uint width = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width, &width, NULL) !=
        CL_SUCCESS)
        width = 0;
    info->native_float_width = width;
    info->global_mem_bytes = device_ulong(device, CL_DEVICE_GLOBAL_MEM_SIZE);
    info->max_alloc_bytes = device_ulong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    info->local_mem_bytes = device_ulong(device, CL_DEVICE_LOCAL_MEM_SIZE);

    char *extensions = device_string_alloc(device, CL_DEVICE_EXTENSIONS);
    info->fp16 = has_extension(extensions, "cl_khr_fp16");
    cl_device_fp_config fp64 = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS)
        fp64 = 0;
    info->fp64 = fp64 != 0 || has_extension(extensions, "cl_khr_fp64");
    free(extensions);
}

/* Devices of one platform; a platform with no devices is not an error. */
static cls_status platform_devices(cl_platform_id platform, cl_device_id **ids, cl_uint *n)
{
    *ids = NULL;
    *n = 0;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, n);
    if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && *n == 0)) {
        *n = 0;
        return CLS_OK;
    }
    if (err != CL_SUCCESS)
        return cls_error_cl(err, "clGetDeviceIDs");
    *ids = malloc(*n * sizeof **ids);
    if (!*ids)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the device list");
    err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, *n, *ids, NULL);
    if (err != CL_SUCCESS) {
        free(*ids);
        *ids = NULL;
        return cls_error_cl(err, "clGetDeviceIDs");
    }
    return CLS_OK;
}

static cls_status append_platform(cl_platform_id platform, int platform_index,
                                  cls_device_info **list, cls_device_handles **handles,
                                  size_t *count)
{
    cls_status status = CLS_OK;
    cl_device_id *ids = NULL;
    cl_uint n = 0;
    CLS_TRY(platform_devices(platform, &ids, &n));
    if (n == 0)
        goto fail;
    cls_device_info *grown_list = realloc(*list, (*count + n) * sizeof **list);
    CLS_CHECK_ALLOC(grown_list, "the device table");
    *list = grown_list;
    cls_device_handles *grown_handles = realloc(*handles, (*count + n) * sizeof **handles);
    CLS_CHECK_ALLOC(grown_handles, "the device table");
    *handles = grown_handles;
    for (cl_uint d = 0; d < n; d++) {
        cls_device_info *info = &(*list)[*count];
        memset(info, 0, sizeof *info);
        info->index = (int)*count;
        info->platform_index = platform_index;
        info->device_index = (int)d;
        cls_device_describe(platform, ids[d], info);
        (*handles)[*count] = (cls_device_handles){platform, ids[d]};
        (*count)++;
    }
fail:
    free(ids);
    return status;
}

cls_status cls_device_enumerate(cls_device_info **list_out, cls_device_handles **handles_out,
                                size_t *count_out)
{
    cls_status status = CLS_OK;
    cl_platform_id *platforms = NULL;
    cls_device_info *list = NULL;
    cls_device_handles *handles = NULL;
    size_t count = 0;

    cl_uint nplat = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    /* The ICD loader says "no platform" with CL_PLATFORM_NOT_FOUND_KHR: an empty table. */
    if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && nplat == 0))
        goto done;
    CLS_CHECK_CL(err, "clGetPlatformIDs");
    platforms = malloc(nplat * sizeof *platforms);
    CLS_CHECK_ALLOC(platforms, "the platform list");
    CLS_CHECK_CL(clGetPlatformIDs(nplat, platforms, NULL), "clGetPlatformIDs");
    for (cl_uint p = 0; p < nplat; p++)
        CLS_TRY(append_platform(platforms[p], (int)p, &list, &handles, &count));
done:
    free(platforms);
    *list_out = list;
    *count_out = count;
    if (handles_out)
        *handles_out = handles;
    else
        free(handles);
    return CLS_OK;
fail:
    free(platforms);
    free(list);
    free(handles);
    *list_out = NULL;
    *count_out = 0;
    if (handles_out)
        *handles_out = NULL;
    return status;
}

cls_status cls_device_list(cls_device_info **out, size_t *count)
{
    if (!out || !count)
        return cls_error(CLS_ERR_INVALID_ARGUMENT, "cls_device_list: NULL output pointer");
    return cls_device_enumerate(out, NULL, count);
}

void cls_device_list_free(cls_device_info *list)
{
    free(list);
}

const char *cls_device_type_str(cls_device_type type)
{
    switch (type) {
    case CLS_DEVICE_GPU: return "gpu";
    case CLS_DEVICE_CPU: return "cpu";
    case CLS_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}
