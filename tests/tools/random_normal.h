/* The seeded random stream behind make-weights: splitmix64, and Box-Muller for normal
 * draws, identical on every host, so generated weights match the PyTorch goldens. */
#ifndef CLS_TESTS_RANDOM_NORMAL_H
#define CLS_TESTS_RANDOM_NORMAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct random_stream {
    uint64_t state;
    bool has_spare;
    double spare;
} random_stream;

static inline uint64_t random_next(random_stream *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so the logarithm below is finite. */
static inline double random_uniform(random_stream *r)
{
    return ((double)(random_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* A standard normal draw. */
static inline double random_normal(random_stream *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double radius = sqrt(-2.0 * log(random_uniform(r))),
           angle = 6.283185307179586 * random_uniform(r);
    r->spare = radius * sin(angle);
    r->has_spare = true;
    return radius * cos(angle);
}

#endif
