/* fp16.c - exact IEEE binary16 <-> binary32 and binary32 -> bfloat16 conversions.
 * ref: quant-formats.md §0 (ggml's software routines are standard RNE conversions). */
#include "core.h"

#include <string.h>

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

uint16_t pp_f32_to_f16(float f) {
    uint32_t x = f2u(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return 0x7E00; /* NaN */
    if (ax >= 0x477FF000u) return sign | 0x7C00; /* rounds to >= 65520 -> inf */
    if (ax < 0x38800000u) { /* below the smallest normal 2^-14: subnormal or zero */
        if (ax < 0x33000000u) return sign; /* < 2^-25 rounds to 0 (2^-25 itself ties to even 0) */
        uint32_t e = ax >> 23, m = (ax & 0x7FFFFF) | 0x800000;
        /* value = m * 2^(e-150); in units of 2^-24 that is m >> (126-e), shift in [14, 24] */
        int shift = 126 - (int)e;
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7FFFFF;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* carry into exponent is correct */
    return sign | (uint16_t)h;
}

uint16_t pp_f32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}
