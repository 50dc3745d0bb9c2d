/* vec_avx512f.c - AVX-512 vector helpers (kern_vec_ops): the f32 -> f16 conversion of the KV
 * cache, rounding to nearest even (vcvtps2ph), byte-identical to generic, and the attention
 * ops and GELU with 16 lanes. The ops not defined here (exp_sum, sumsq) stay the AVX2 ones
 * (kern.c copies the AVX2 ops first).
 *
 * attn_qk: per head two 16-lane accumulators over 32-element steps of the row in order (a
 * ragged end is one more masked step), then one fixed horizontal sum: a head's score does not
 * depend on how many heads share the call. attn_pv: one fma per term in j order for each
 * output element (masked at a ragged end), so m rows at once equal m calls of one row. */
#include "avx512f.h"

KA5_INLINE __mmask16 tail_mask(int64_t left) { return (__mmask16)((1u << left) - 1u); }
KA5_INLINE __mmask16 mask_at(int64_t n, int64_t i) {
    return n - i >= 16 ? (__mmask16)0xFFFF : n - i <= 0 ? (__mmask16)0 : tail_mask(n - i);
}

/* 16 elements of a row from i, f32 or f16; m selects the ones that exist (others read 0) */
KA5_INLINE __m512 row16(const void *row, bool f16, int64_t i, __mmask16 m) {
    return f16 ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i))
               : _mm512_maskz_loadu_ps(m, (const float *)row + i);
}
KA5_INLINE __m512 row16f(const void *row, bool f16, int64_t i) {
    return f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)))
               : _mm512_loadu_ps((const float *)row + i);
}

KA5_INLINE float hsum16(__m512 v) {
    return ka2_hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

#define HB 4 /* heads per register tile */

KA5_INLINE void qk_tile(int H, int64_t n, const float *q, int64_t qs, const void *k, bool f16, float *s, int64_t ss) {
    __m512 a0[HB], a1[HB];
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) a0[h] = a1[h] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 k0 = row16f(k, f16, i), k1 = row16f(k, f16, i + 16);
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) {
            a0[h] = _mm512_fmadd_ps(_mm512_loadu_ps(q + h * qs + i), k0, a0[h]);
            a1[h] = _mm512_fmadd_ps(_mm512_loadu_ps(q + h * qs + i + 16), k1, a1[h]);
        }
    }
    if (i < n) {
        const __mmask16 m0 = mask_at(n, i), m1 = mask_at(n, i + 16);
        const __m512 k0 = row16(k, f16, i, m0), k1 = row16(k, f16, i + 16, m1);
        for (int h = 0; h < H; h++) {
            a0[h] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, q + h * qs + i), k0, a0[h]);
            a1[h] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, q + h * qs + i + 16), k1, a1[h]);
        }
    }
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) s[h * ss] = hsum16(_mm512_add_ps(a0[h], a1[h]));
}

/* 64 output columns (4 vectors) of H heads per pass over the m rows, then 16 at a time (the
 * last one masked). */
KA5_INLINE void pv_tile(int H, int64_t n, int64_t m, const float *p, int64_t ps, const void *const *rows, bool f16,
                        float *out, int64_t os) {
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 c[HB][4];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++)
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) c[h][v] = _mm512_loadu_ps(out + h * os + i + 16 * v);
        for (int64_t j = 0; j < m; j++) {
            __m512 vv[4];
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) vv[v] = row16f(rows[j], f16, i + 16 * v);
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) {
                const __m512 pa = _mm512_set1_ps(p[h * ps + j]);
#pragma GCC unroll 4
                for (int v = 0; v < 4; v++) c[h][v] = _mm512_fmadd_ps(pa, vv[v], c[h][v]);
            }
        }
#pragma GCC unroll 4
        for (int h = 0; h < H; h++)
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(out + h * os + i + 16 * v, c[h][v]);
    }
    for (; i < n; i += 16) {
        const __mmask16 mk = mask_at(n, i);
        __m512 c[HB];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) c[h] = _mm512_maskz_loadu_ps(mk, out + h * os + i);
        for (int64_t j = 0; j < m; j++) {
            const __m512 v0 = row16(rows[j], f16, i, mk);
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) c[h] = _mm512_fmadd_ps(_mm512_set1_ps(p[h * ps + j]), v0, c[h]);
        }
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) _mm512_mask_storeu_ps(out + h * os + i, mk, c[h]);
    }
}

#include "../x86/heads.inc"

static void f32_to_f16(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

/* tanh-GELU(x) * u, 16 lanes (ka5_geglu16), a masked ragged end. */
static void geglu(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        _mm512_mask_storeu_ps(g + i, m, ka5_geglu16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
    }
}

void kern_vec_fill_avx512f(kern_vec_ops *o) {
    o->geglu = geglu;
    o->f32_to_f16 = f32_to_f16;
    o->attn_qk = attn_qk;
    o->attn_pv = attn_pv;
}
