/* The tensor index of an open weight file: adding entries, checking names. */
#include "weights/weights_internal.h"

#include <stdlib.h>
#include <string.h>

cls_status cls_weights_add(cls_weights *w, const cls_weight_entry *e)
{
    if (w->count == CLS_WEIGHTS_MAX_TENSORS)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "more than %d tensors", CLS_WEIGHTS_MAX_TENSORS);
    if (w->count == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        cls_weight_entry *grown = realloc(w->entries, cap * sizeof *grown);
        if (!grown)
            return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating the index of %zu tensors",
                             cap);
        w->entries = grown;
        w->cap = cap;
    }
    w->entries[w->count++] = *e;
    return CLS_OK;
}

cls_status cls_weights_set_name(cls_weight_tensor *t, const char *name, size_t len)
{
    if (len == 0)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "a tensor has an empty name");
    if (len >= CLS_WEIGHT_NAME_MAX)
        return cls_error(CLS_ERR_WEIGHTS_FORMAT,
                         "tensor name of %zu bytes (%.40s...) is longer than the limit of %d", len,
                         name, CLS_WEIGHT_NAME_MAX - 1);
    if (memchr(name, '\0', len))
        return cls_error(CLS_ERR_WEIGHTS_FORMAT, "tensor name %s... contains a NUL byte", name);
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    return CLS_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cls_status cls_weights_check_unique(const cls_weights *w)
{
    if (w->count < 2)
        return CLS_OK;
    const char **names = malloc(w->count * sizeof *names);
    if (!names)
        return cls_error(CLS_ERR_OUT_OF_HOST_MEMORY, "allocating %zu tensor names", w->count);
    for (size_t i = 0; i < w->count; i++)
        names[i] = w->entries[i].t.name;
    qsort(names, w->count, sizeof *names, compare_names);
    cls_status status = CLS_OK;
    for (size_t i = 1; i < w->count && status == CLS_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            status = cls_error(CLS_ERR_WEIGHTS_FORMAT, "two tensors are named %s", names[i]);
    free(names);
    return status;
}
