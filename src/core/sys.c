/* sys.c - CPU feature detection, monotonic clock, whole-file reads. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#endif

pp_cpu pp_cpu_detect(void) {
    pp_cpu c;
    memset(&c, 0, sizeof c);
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d)) return c;
    bool osxsave = (cx >> 27) & 1;
    if (!osxsave) return c;
    uint64_t xcr0 = read_xcr0();
    bool ymm_ok = (xcr0 & 0x6) == 0x6;
    bool zmm_ok = ymm_ok && (xcr0 & 0xE0) == 0xE0;
    c.fma = ymm_ok && ((cx >> 12) & 1);
    c.f16c = ymm_ok && ((cx >> 29) & 1);
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c.avx2 = ymm_ok && ((b >> 5) & 1);
        c.avx512f = zmm_ok && ((b >> 16) & 1);
        c.avx512dq = zmm_ok && ((b >> 17) & 1);
        c.avx512bw = zmm_ok && ((b >> 30) & 1);
        c.avx512vl = zmm_ok && ((b >> 31) & 1);
        c.avx512vbmi = zmm_ok && ((cx >> 1) & 1);
        c.avx512vnni = zmm_ok && ((cx >> 11) & 1);
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        c.avx512bf16 = zmm_ok && ((a1 >> 5) & 1);
        (void)b1; (void)c1; (void)d1;
    }
#endif
    return c;
}

void pp_cpu_describe(pp_cpu c, char *buf, size_t cap) {
    if (!cap) return;
    buf[0] = 0;
    size_t n = 0;
#define ADD(flag, name)                                                                  \
    if (c.flag && n < cap) n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", name);
    ADD(avx2, "AVX2") ADD(fma, "FMA") ADD(f16c, "F16C") ADD(avx512f, "AVX512F")
    ADD(avx512bw, "AVX512BW") ADD(avx512vl, "AVX512VL") ADD(avx512dq, "AVX512DQ")
    ADD(avx512vnni, "AVX512_VNNI") ADD(avx512bf16, "AVX512_BF16") ADD(avx512vbmi, "AVX512_VBMI")
#undef ADD
    if (n == 0) snprintf(buf, cap, "generic");
}

uint64_t pp_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

pp_status pp_read_file(const char *path, char **out, size_t *len, size_t max_len, pp_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return pp_err_set(err, PP_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    pp_status st = PP_OK;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536 * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) { st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", path); goto done; }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_len) {
            st = pp_err_set(err, PP_ERR_ARG, "%s: larger than the limit of %zu bytes", path, max_len);
            goto done;
        }
        if (got == 0) break;
    }
    if (ferror(f)) { st = pp_err_set(err, PP_ERR_IO, "%s: read error", path); goto done; }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return st;
}
