/* Reductions and copies over device vectors for the optimisers: dot products, sums and
 * maxima of |a| by the kernels of cl/optim.cl, their partial results finished on the host
 * (in double). Each reduction reads its result back to the host: the only host
 * synchronisation an optimiser step needs. */
#ifndef CLS_OPTIM_VEC_H
#define CLS_OPTIM_VEC_H

#include "runtime/context.h"

#include <stddef.h>

/* A vector space of n floats on a context, with a small device buffer for results. */
typedef struct cls_vec_space {
    cls_ctx *ctx;
    size_t n;
    cl_mem partials; /* the reductions' partial results */
    size_t partial_count;
    float *host_partials;
} cls_vec_space;

/* Device bytes of a vector space besides its vectors (the partial sums). */
size_t cls_vec_space_bytes(const cls_ctx *ctx, size_t n);

cls_status cls_vec_space_init(cls_vec_space *v, cls_ctx *ctx, size_t n);
void cls_vec_space_release(cls_vec_space *v);

cls_status cls_vec_alloc(cls_vec_space *v, const char *what, cl_mem *out);
cls_status cls_vec_dot(cls_vec_space *v, cl_mem a, cl_mem b, double *out);
/* y += a x, then *out = z . y (the new y) as cls_vec_dot computes it: one pass over y. */
cls_status cls_vec_axpy_dot(cls_vec_space *v, float a, cl_mem x, cl_mem y, cl_mem z, double *out);
cls_status cls_vec_asum(cls_vec_space *v, cl_mem a, double *out); /* sum |a_i| */
/* sum |a_i| over the first count (at most n) elements of a (a vector of any length). */
cls_status cls_vec_asum_count(cls_vec_space *v, size_t count, cl_mem a, double *out);
cls_status cls_vec_absmax(cls_vec_space *v, cl_mem a, double *out); /* max |a_i| */
cls_status cls_vec_copy(cls_vec_space *v, cl_mem from, cl_mem to);

#endif
