/* dotk_avx2.c - AVX2 dot products and gemm tiles for the K-quants (Q2_K..Q6_K against Q8_K).
 *
 * Each weight super-block is first unpacked (once per tile row, reused for every token of
 * the tile) into unsigned quants u[256] (0..63), 16 int16 scales per 16-element group
 * (expanded for madd) and 16 int16 "min" coefficients, so that
 *     dot = da * (d * sum_g sc_g * sum_{e in g} u*a  -  dmin * sum_g mn_g * bsum_g).
 * Signed formats are shifted to unsigned: Q6_K q-32 and Q3_K q+4 become u with
 * mn_g = 32*sc_g (resp. 4*sc_g) and dmin = d; their two sums are subtracted as integers
 * (exact, no cancellation in float). Bounds: maddubs pairs <= 2*63*127 < 32767, int32 sums
 * < 2^31. Every output element runs the same instructions in every tile shape.
 * ref: shared/spec/quant-formats.md §3, §5; generic/dot_generic.c. */
#include "avx2.h"

#define RM 4
#define TN 2

typedef struct kunp {
    __m256i u[8];      /* elements 32k..32k+31 */
    __m256i sc[8];     /* int16: lanes 0-7 = scale of group 2k, lanes 8-15 = group 2k+1 */
    __m256i mn;        /* int16 min coefficient per group */
    float d, dmin;
    int int_min;       /* 1: subtract the min term as an integer (dmin == d) */
} kunp;

enum { K_Q2, K_Q3, K_Q4, K_Q5, K_Q6 };

KA2_INLINE size_t ksize(int kind) {
    switch (kind) {
    case K_Q2: return sizeof(block_q2_K);
    case K_Q3: return sizeof(block_q3_K);
    case K_Q4: return sizeof(block_q4_K);
    case K_Q5: return sizeof(block_q5_K);
    default: return sizeof(block_q6_K);
    }
}

/* 16 int16 scales -> the 8 expanded madd operands */
KA2_INLINE void expand_scales(__m256i v, __m256i *out) {
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    for (int k = 0; k < 8; k++)
        out[k] = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, _mm256_set1_epi32(k)), pick);
}

/* Q4_K/Q5_K packed 6-bit scales and mins (quant-formats.md §3.3) -> 8 scale bytes then 8
 * min bytes, computed four at a time in 32-bit words */
KA2_INLINE __m128i k4_scales(const uint8_t *b) {
    uint32_t w[3], o[4];
    memcpy(w, b, 12);
    const uint32_t low6 = 0x3F3F3F3Fu, low4 = 0x0F0F0F0Fu, top2 = 0x03030303u;
    o[0] = w[0] & low6;                                        /* sc0..3 */
    o[1] = (w[2] & low4) | (((w[0] >> 6) & top2) << 4);        /* sc4..7 */
    o[2] = w[1] & low6;                                        /* m0..3 */
    o[3] = ((w[2] >> 4) & low4) | (((w[1] >> 6) & top2) << 4); /* m4..7 */
    return _mm_loadu_si128((const __m128i *)o);
}

/* 8 bytes -> 16 int16, each value twice (one per 16-element group of a 32-block) */
KA2_INLINE __m256i dup_pairs(__m128i bytes8) {
    __m128i v = _mm_cvtepu8_epi16(bytes8);
    return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

KA2_INLINE void kunpack(int kind, const uint8_t *p, kunp *k) {
    const __m256i m2 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(0x0F), m1 = _mm256_set1_epi8(1);
    __m256i sc, mn;
    switch (kind) {
    case K_Q2: {
        const block_q2_K *x = (const block_q2_K *)p;
        k->d = ka2_h2f(x->d);
        k->dmin = ka2_h2f(x->dmin);
        k->int_min = 0;
        const __m128i sb = _mm_loadu_si128((const __m128i *)x->scales), f = _mm_set1_epi8(0x0F);
        sc = _mm256_cvtepu8_epi16(_mm_and_si128(sb, f));
        mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), f));
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
            for (int kk = 0; kk < 4; kk++)
                k->u[4 * h + kk] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * kk), m2);
        }
        break;
    }
    case K_Q3: {
        const block_q3_K *x = (const block_q3_K *)p;
        k->d = ka2_h2f(x->d);
        k->dmin = k->d;
        k->int_min = 1;
        const uint8_t *b = x->scales;
        int16_t s16[16];
        for (int s = 0; s < 16; s++) {
            int low4 = s < 8 ? b[s] & 0xF : b[s - 8] >> 4;
            int high2 = (b[8 + (s % 4)] >> (2 * (s / 4))) & 3;
            s16[s] = (int16_t)((low4 | high2 << 4) - 32);
        }
        sc = _mm256_loadu_si256((const __m256i *)s16);
        mn = _mm256_slli_epi16(sc, 2);
        const __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
            for (int kk = 0; kk < 4; kk++) {
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * kk), m2);
                __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + kk), m1);
                k->u[4 * h + kk] = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
            }
        }
        break;
    }
    case K_Q4:
    case K_Q5: {
        const uint8_t *scales, *qs;
        if (kind == K_Q4) {
            const block_q4_K *x = (const block_q4_K *)p;
            k->d = ka2_h2f(x->d);
            k->dmin = ka2_h2f(x->dmin);
            scales = x->scales;
            qs = x->qs;
        } else {
            const block_q5_K *x = (const block_q5_K *)p;
            k->d = ka2_h2f(x->d);
            k->dmin = ka2_h2f(x->dmin);
            scales = x->scales;
            qs = x->qs;
        }
        k->int_min = 0;
        const __m128i sm = k4_scales(scales);
        sc = dup_pairs(sm);
        mn = dup_pairs(_mm_srli_si128(sm, 8));
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            k->u[2 * c] = _mm256_and_si256(q, m4);
            k->u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        }
        if (kind == K_Q5) {
            const block_q5_K *x = (const block_q5_K *)p;
            const __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
            for (int j = 0; j < 8; j++) {
                __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, j), m1);
                k->u[j] = _mm256_or_si256(k->u[j], _mm256_slli_epi16(hb, 4));
            }
        }
        break;
    }
    default: {
        const block_q6_K *x = (const block_q6_K *)p;
        k->d = ka2_h2f(x->d);
        k->dmin = k->d;
        k->int_min = 1;
        sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
        mn = _mm256_slli_epi16(sc, 5);
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
            __m256i lo[4] = {_mm256_and_si256(l0, m4), _mm256_and_si256(l1, m4),
                             _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4)};
            for (int kk = 0; kk < 4; kk++) {
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * kk), m2);
                k->u[4 * h + kk] = _mm256_or_si256(lo[kk], _mm256_slli_epi16(hi, 4));
            }
        }
        break;
    }
    }
    expand_scales(sc, k->sc);
    k->mn = mn;
}

KA2_INLINE __m256 kdot(const kunp *k, const block_q8_K *q, __m256 acc) {
    __m256i sumi = _mm256_setzero_si256();
    for (int kk = 0; kk < 8; kk++) {
        __m256i p = _mm256_maddubs_epi16(k->u[kk], _mm256_loadu_si256((const __m256i *)(q->qs + 32 * kk)));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, k->sc[kk]));
    }
    __m256i summ = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q->bsums), k->mn);
    if (k->int_min)
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, summ)), _mm256_set1_ps(k->d * q->d), acc);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(k->d * q->d), acc);
    return _mm256_fnmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(k->dmin * q->d), acc);
}

KA2_INLINE void ktile(int kind, int R, int T, int64_t nb, const uint8_t *w, size_t wrb,
                      const uint8_t *a, size_t arb, float *y, int64_t ys) {
    __m256 acc[RM][TN];
    kunp k[RM];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) kunpack(kind, w + (size_t)r * wrb + (size_t)b * ksize(kind), &k[r]);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int t = 0; t < T; t++)
                acc[r][t] = kdot(&k[r], (const block_q8_K *)(a + (size_t)t * arb) + b, acc[r][t]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) y[(int64_t)t * ys + r] = ka2_hsum(acc[r][t]);
}

KA2_INLINE void ktile_rt(int kind, int R, int T, int64_t nb, const uint8_t *w, size_t wrb,
                         const uint8_t *a, size_t arb, float *y, int64_t ys) {
    if (T == 1) ktile(kind, R, 1, nb, w, wrb, a, arb, y, ys);
    else ktile(kind, R, 2, nb, w, wrb, a, arb, y, ys);
}

KA2_INLINE void kgemm(int kind, int64_t n, const void *w, size_t wrb, const void *act, size_t arb,
                      int n_tok, float *y, int64_t ys, int64_t r0, int64_t r1) {
    const uint8_t *wb = w, *ab = act;
    const int64_t nb = n / QK_K;
    int64_t chunk = (int64_t)(KA2_CHUNK_BYTES / (wrb ? wrb : 1));
    chunk = chunk < RM ? RM : chunk - chunk % RM;
    for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        for (int t0 = 0; t0 < n_tok; t0 += TN) {
            const int T = n_tok - t0 < TN ? n_tok - t0 : TN;
            const uint8_t *at = ab + (size_t)t0 * arb;
            float *yt = y + (int64_t)t0 * ys;
            int64_t r = c0;
            for (; r + RM <= c1; r += RM) ktile_rt(kind, RM, T, nb, wb + (size_t)r * wrb, wrb, at, arb, yt + r, ys);
            for (; r < c1; r++) ktile_rt(kind, 1, T, nb, wb + (size_t)r * wrb, wrb, at, arb, yt + r, ys);
        }
    }
}

#define DEFINE_KERNELS(name, kind)                                                       \
    float kern_dot_##name##_avx2(int64_t n, const void *w, const void *a) {              \
        float y;                                                                         \
        ktile(kind, 1, 1, n / QK_K, w, 0, a, 0, &y, 0);                                  \
        return y;                                                                        \
    }                                                                                    \
    void kern_gemm_##name##_avx2(int64_t n, const void *w, size_t w_row_bytes,           \
                                 const void *act, size_t act_row_bytes, int n_tok,       \
                                 float *y, int64_t y_stride, int64_t r0, int64_t r1) {   \
        kgemm(kind, n, w, w_row_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);  \
    }

DEFINE_KERNELS(q2_K_q8_K, K_Q2)
DEFINE_KERNELS(q3_K_q8_K, K_Q3)
DEFINE_KERNELS(q4_K_q8_K, K_Q4)
DEFINE_KERNELS(q5_K_q8_K, K_Q5)
DEFINE_KERNELS(q6_K_q8_K, K_Q6)
