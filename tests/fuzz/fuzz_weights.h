/* What the weight file targets share: the input becomes a file (a memfd, named by its
 * /proc/self/fd path) opened through cls_weights_open, the CLI's entry, and then every tensor
 * small enough is read back as float32, as the model loader does. */
#ifndef CLS_FUZZ_WEIGHTS_H
#define CLS_FUZZ_WEIGHTS_H

#define _GNU_SOURCE /* memfd_create */
#include "weights/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Tensors with more elements are not read back: the model loader checks every shape against
 * the network before it allocates, so it never asks for one this large (the largest VGG
 * tensor has 2.4 M elements). A zip entry's declared size is not bounded by the input's. */
enum { FUZZ_MAX_READ_ELEMENTS = 1 << 24 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_weights_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-weights", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("writing the memfd");
        abort();
    }
    cls_weights *w = NULL;
    if (cls_weights_open(path, &w) != CLS_OK) {
        (void)strlen(cls_last_error());
        return;
    }
    (void)cls_weights_format_name(cls_weights_get_format(w));
    for (size_t i = 0; i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        if (cls_weights_find(w, t->name) == NULL)
            abort(); /* every listed name must be found */
        if (t->count > FUZZ_MAX_READ_ELEMENTS)
            continue;
        float *values = malloc(t->count ? t->count * sizeof *values : 1);
        if (!values)
            abort();
        if (cls_weights_read_f32(w, t, values) != CLS_OK)
            (void)strlen(cls_last_error());
        free(values);
    }
    cls_weights_close(w);
}

#endif
