/* dump-weights: prints a weight file's index as clstyle reads it and optionally writes every
 * tensor's float32 values, in index order, to a raw file: what check_weights_with_torch.py
 * compares with torch.load. */
#include "weights/weights.h"
#include "weights/weights_dtype.h"

#include <stdio.h>
#include <stdlib.h>

static int dump(cls_weights *w, FILE *raw)
{
    printf("format\t%s\n", cls_weights_format_name(cls_weights_get_format(w)));
    for (size_t i = 0; i < cls_weights_count(w); i++) {
        const cls_weight_tensor *t = cls_weights_at(w, i);
        printf("%s\t%s\t", t->name, cls_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
        printf("\t%llu\n", (unsigned long long)t->count);
        if (!raw)
            continue;
        float *v = malloc(t->count ? t->count * sizeof *v : 1);
        cls_status status = v ? cls_weights_read_f32(w, t, v) : CLS_ERR_OUT_OF_HOST_MEMORY;
        if (status != CLS_OK || fwrite(v, sizeof *v, t->count, raw) != t->count) {
            fprintf(stderr, "dump-weights: %s: %s\n", cls_status_str(status), cls_last_error());
            free(v);
            return 1;
        }
        free(v);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: dump-weights FILE [RAW_F32_OUT]\n");
        return 2;
    }
    cls_weights *w = NULL;
    cls_status status = cls_weights_open(argv[1], &w);
    if (status != CLS_OK) {
        fprintf(stderr, "dump-weights: %s: %s\n", cls_status_str(status), cls_last_error());
        return 1;
    }
    FILE *raw = argc == 3 ? fopen(argv[2], "wb") : NULL;
    int rc = argc == 3 && !raw ? 1 : dump(w, raw);
    if (raw && fclose(raw) != 0)
        rc = 1;
    cls_weights_close(w);
    return rc;
}
