/* samp_internal.h - pieces shared inside src/sample/: the PRNG and OS seeding.
 * Not part of the public API (samp.h). */
#ifndef PIPPA_SAMP_INTERNAL_H
#define PIPPA_SAMP_INTERNAL_H

#include "samp.h"

/* xoshiro256** state; all-zero is impossible after samp_rng_seed. */
typedef struct samp_rng {
    uint64_t s[4];
} samp_rng;

/* Fills the state from seed with splitmix64 (so nearby seeds give unrelated streams). */
void samp_rng_seed(samp_rng *r, uint64_t seed);
uint64_t samp_rng_next(samp_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double samp_rng_uniform(samp_rng *r);
/* 64 random bits from the OS: getrandom(2), else /dev/urandom. */
pp_status samp_os_random(uint64_t *out, pp_err *err);

#endif
