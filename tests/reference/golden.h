/* Golden files: named float32 tensors computed by PyTorch (make_golden.py), read back here. */
#ifndef REF_GOLDEN_H
#define REF_GOLDEN_H

/*
 * Format, version 1 (ABNF-like; SP is one space 0x20, LF is 0x0A):
 *
 *     file    = "CLSGOLD1" LF *record
 *     record  = "tensor" SP name SP ndim *(SP dim) LF data
 *     name    = 1 to 128 characters from [A-Za-z0-9_./-]
 *     ndim    = decimal integer 0..8, the number of dims that follow
 *     dim     = decimal integer >= 1, without sign or leading zeros
 *     data    = prod(dim) values as IEEE-754 float32, little-endian, row-major (C order,
 *               the last dim fastest), no padding; ndim 0 is a scalar: one value
 *
 * A header line is at most 512 bytes including its LF. The file ends right after the last
 * record's data. Names are unique within a file. A tensor holds at most 2^28 values.
 */

#include <stddef.h>
#include <stdio.h>

#define REF_GOLDEN_NAME_MAX 128
#define REF_GOLDEN_NDIM_MAX 8
#define REF_GOLDEN_COUNT_MAX ((size_t)1 << 28)

typedef struct ref_golden_tensor {
    char name[REF_GOLDEN_NAME_MAX + 1];
    int ndim;
    size_t dims[REF_GOLDEN_NDIM_MAX];
    size_t count; /* prod(dims): 1 for a scalar */
    float *data;
} ref_golden_tensor;

typedef struct ref_golden {
    ref_golden_tensor *tensors;
    size_t count;
} ref_golden;

/* Reads the golden file at path into *golden. Returns 0, or -1 with *golden empty and a
 * one-line reason in err (naming the file, the record and the byte offset). */
int ref_golden_load(const char *path, ref_golden *golden, char *err, size_t err_size);

/* The same from an open stream, read to its end; label names it in messages. */
int ref_golden_read(FILE *f, const char *label, ref_golden *golden, char *err, size_t err_size);

/* The tensor called name, or NULL. */
const ref_golden_tensor *ref_golden_find(const ref_golden *golden, const char *name);

/* The data of the tensor called name when it has exactly ndim dims equal to dims (dims may
 * be NULL when ndim is 0); else NULL with the reason in err. */
const float *ref_golden_get(const ref_golden *golden, const char *name, int ndim,
                            const size_t *dims, char *err, size_t err_size);

/* Frees what a load allocated and empties *golden; safe on an empty one. */
void ref_golden_free(ref_golden *golden);

#endif
