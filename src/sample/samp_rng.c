/* samp_rng.c - the sampler's PRNG (xoshiro256**, seeded through splitmix64) and reading a
 * random seed from the OS.
 *
 * Invariants: all state lives in the caller's samp_rng (no globals); the same seed gives the
 * same stream on every platform (pure 64-bit integer arithmetic).
 * Reference: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number generators"
 * (xoshiro256**, 2018); splitmix64 from G. Steele et al., "Fast splittable pseudorandom
 * number generators" (2014). Written from the published algorithm descriptions.
 */
#include "samp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void samp_rng_seed(samp_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 is a bijection of its counter, so four consecutive outputs are never all
     * zero; keep the guard anyway since xoshiro's all-zero state is a fixed point. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

uint64_t samp_rng_next(samp_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

double samp_rng_uniform(samp_rng *r) {
    return (double)(samp_rng_next(r) >> 11) * 0x1.0p-53;
}

pp_status samp_os_random(uint64_t *out, pp_err *err) {
    uint64_t v = 0;
    ssize_t got = -1;
    do {
        got = getrandom(&v, sizeof v, 0);
    } while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof v) {
        *out = v;
        return PP_OK;
    }
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pp_err_set(err, PP_ERR_IO, "seed: cannot read random bytes (getrandom and "
                                          "/dev/urandom failed: %s)", strerror(errno));
    size_t have = 0;
    unsigned char buf[sizeof v];
    while (have < sizeof buf) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (have < sizeof buf)
        return pp_err_set(err, PP_ERR_IO, "seed: short read from /dev/urandom (%s)",
                          strerror(saved));
    memcpy(&v, buf, sizeof v);
    *out = v;
    return PP_OK;
}
