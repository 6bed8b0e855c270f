/* The growable byte buffer the encoders write into. */
#include "io/io_internal.h"

#include <stdlib.h>
#include <string.h>

bool cls_bytes_append(cls_bytes *bytes, const void *data, size_t size)
{
    if (size > SIZE_MAX - bytes->size)
        return false;
    size_t need = bytes->size + size;
    if (need > bytes->capacity) {
        size_t capacity = bytes->capacity ? bytes->capacity : 65536;
        while (capacity < need)
            capacity = capacity > SIZE_MAX / 2 ? need : capacity * 2;
        uint8_t *grown = realloc(bytes->data, capacity);
        if (!grown)
            return false;
        bytes->data = grown;
        bytes->capacity = capacity;
    }
    if (size)
        memcpy(bytes->data + bytes->size, data, size);
    bytes->size = need;
    return true;
}

void cls_bytes_free(cls_bytes *bytes)
{
    free(bytes->data);
    memset(bytes, 0, sizeof *bytes);
}
