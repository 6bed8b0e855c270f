/* A small deterministic PRNG (splitmix64) so every test draws the same data on every host. */
#ifndef REF_RNG_H
#define REF_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ref_rng {
    uint64_t state;
} ref_rng;

static inline ref_rng ref_rng_make(uint64_t seed)
{
    return (ref_rng){.state = seed};
}

static inline uint64_t ref_rng_next(ref_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 random bits. */
static inline double ref_rng_uniform(ref_rng *rng)
{
    return (double)(ref_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi). */
static inline double ref_rng_range(ref_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * ref_rng_uniform(rng);
}

/* Uniform integer in [0, n), n > 0. */
static inline int ref_rng_int(ref_rng *rng, int n)
{
    return (int)(ref_rng_uniform(rng) * n);
}

static inline void ref_rng_fill(ref_rng *rng, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)ref_rng_range(rng, lo, hi);
}

static inline void ref_rng_fill_f64(ref_rng *rng, double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ref_rng_range(rng, lo, hi);
}

/* Values from {lo, lo + step, ..., hi} with `levels` >= 2 evenly spaced levels, so that
 * ties (max pooling) and zero differences (total variation) are common. */
static inline void ref_rng_fill_levels(ref_rng *rng, float *x, size_t n, int levels, float lo,
                                       float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (double)(hi - lo) * ref_rng_int(rng, levels) / (levels - 1));
}

#endif
