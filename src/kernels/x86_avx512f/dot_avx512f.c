/* dot_avx512f.c - AVX-512 dot products and gemm for the float weights (F32, F16, BF16 against
 * f32 activations), 16 lanes per step.
 *
 * Every output element is one accumulator chain over the row's 16-element steps in order (a
 * ragged last step is a masked load: the missing elements read as zeros), ended by hsum16.
 * vec_dot, the decode tile (up to 8 rows x 2 tokens) and the prefill panel all run that same
 * chain, so gemm of a token equals vec_dot of that token bit for bit, whatever the tile,
 * thread split or batch. The results differ from the AVX2 kernels' (8-lane chains) within
 * float rounding, as any two ISAs do.
 *
 * Decode (1-2 tokens) streams the weights: 8 rows per tile, so 8 independent FMA chains hide
 * the conversion and FMA latency, with the next rows prefetched a tile ahead. Prefill (3 or
 * more tokens) converts a panel of 4 rows x 1024 elements to f32 once per group of 96 tokens
 * and runs a 4-row x 6-token tile of FMAs over it (24 accumulators of the 32 registers).
 * ref: generic/dot_generic.c (the specification); x86_avx2/dot_avx2.c (the 8-lane version). */
#include "avx512f.h"

enum { F_F32, F_F16, F_BF16 };

KA5_INLINE size_t esize(int kind) { return kind == F_F32 ? 4 : 2; }

/* 16 weights -> f32; m selects the elements that exist (the others read as zero) */
KA5_INLINE __m512 ld16(int kind, const uint8_t *p, __mmask16 m, int full) {
    switch (kind) {
    case F_F32: return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
    case F_F16:
        return _mm512_cvtph_ps(full ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(m, p));
    default: {
        __m256i h = full ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskz_loadu_epi16(m, p);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    }
}

KA5_INLINE float hsum16(__m512 v) {
    return ka2_hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

KA5_INLINE __mmask16 tail16(int64_t left) { return (__mmask16)((1u << left) - 1u); }

/* ---- decode: R rows x T tokens, R <= 8, T <= 2 ---- */

#define DR 8 /* rows per decode tile */
#define DT 2 /* tokens per decode tile */
#ifndef PREFETCH_ROWS
#define PREFETCH_ROWS 1
#endif
 /* prefetch the tile DR rows ahead (weights stream from memory) */

KA5_INLINE void tile(int kind, int R, int T, int64_t n, const uint8_t *w, size_t wrb, const uint8_t *a, size_t arb,
                     float *y, int64_t ys, const uint8_t *pf) {
    __m512 acc[DR][DT];
    const size_t es = esize(kind);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const int64_t n16 = n & ~(int64_t)15;
    for (int64_t i = 0; i < n16; i += 16) {
        __m512 av[DT];
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) av[t] = _mm512_loadu_ps((const float *)(a + (size_t)t * arb) + i);
        if (pf && (i * (int64_t)es) % 64 == 0)
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) _mm_prefetch((const char *)(pf + (size_t)r * wrb + (size_t)i * es), _MM_HINT_T0);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const __m512 wv = ld16(kind, w + (size_t)r * wrb + (size_t)i * es, 0, 1);
#pragma GCC unroll 2
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, av[t], acc[r][t]);
        }
    }
    if (n16 < n) {
        const __mmask16 m = tail16(n - n16);
        __m512 av[DT];
        for (int t = 0; t < T; t++) av[t] = _mm512_maskz_loadu_ps(m, (const float *)(a + (size_t)t * arb) + n16);
        for (int r = 0; r < R; r++) {
            const __m512 wv = ld16(kind, w + (size_t)r * wrb + (size_t)n16 * es, m, 0);
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, av[t], acc[r][t]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) y[(int64_t)t * ys + r] = hsum16(acc[r][t]);
}

/* ---- prefill: the panel gemm of ../x86/fpanel.inc with 16 lanes, PF_TOK tokens at a time;
 * ragged ends are masked loads (zeros beyond), as in the decode tile ---- */

#ifndef PF_ROWS
#define PF_ROWS 4
#define PF_TOK 6
#define PF_K 1024
#endif    /* elements per panel row: 16 KB of f32 for the panel */
#define PF_TGROUP 96 /* tokens per group: 24 KB of accumulators */

typedef __m512 fp_vec;
#define FP_W 16
#define FP_LOAD _mm512_load_ps
#define FP_LOADU _mm512_loadu_ps
#define FP_STORE _mm512_store_ps
#define FP_FMA _mm512_fmadd_ps
#define FP_ALIGN 64
#define FP_UNROLL_TOK 6
#define fp_esize esize
#define fp_hsum hsum16

KA5_INLINE __m512 fp_load_w(int kind, const uint8_t *p) { return ld16(kind, p, 0, 1); }
KA5_INLINE __m512 fp_load_w_part(int kind, const uint8_t *p, int64_t rest) { return ld16(kind, p, tail16(rest), 0); }
KA5_INLINE __m512 fp_load_a_part(const float *p, int64_t rest) { return _mm512_maskz_loadu_ps(tail16(rest), p); }

#include "../x86/fpanel.inc"

/* Full panels run tiles whose row and token counts are compile-time constants; the rows of a
 * last, partial panel run one at a time (row 0 of a panel shifted to that row). */
KA5_INLINE void ptile_t(int R, int T, int64_t nv, int64_t rest, const float *pan, const uint8_t *a, size_t arb,
                        float *accb) {
    switch (T) {
    case 1: fp_ptile(R, 1, nv, rest, pan, a, arb, accb); break;
    case 2: fp_ptile(R, 2 < PF_TOK ? 2 : PF_TOK, nv, rest, pan, a, arb, accb); break;
    case 3: fp_ptile(R, 3 < PF_TOK ? 3 : PF_TOK, nv, rest, pan, a, arb, accb); break;
    case 4: fp_ptile(R, 4 < PF_TOK ? 4 : PF_TOK, nv, rest, pan, a, arb, accb); break;
    case 5: fp_ptile(R, 5 < PF_TOK ? 5 : PF_TOK, nv, rest, pan, a, arb, accb); break;
    default: fp_ptile(R, PF_TOK, nv, rest, pan, a, arb, accb); break;
    }
}

KA5_INLINE void fp_ptile_rt(int R, int T, int64_t nv, int64_t rest, const float *pan, const uint8_t *a, size_t arb,
                            float *accb) {
    if (R == PF_ROWS) {
        ptile_t(PF_ROWS, T, nv, rest, pan, a, arb, accb);
        return;
    }
    for (int r = 0; r < R; r++) ptile_t(1, T, nv, rest, pan + (size_t)r * PF_K, a, arb, accb + r * 16);
}

/* ---- drivers ---- */

KA5_INLINE void tile_rt(int kind, int R, int T, int64_t n, const uint8_t *w, size_t wrb, const uint8_t *a,
                        size_t arb, float *y, int64_t ys, const uint8_t *pf) {
    if (R == DR) {
        if (T == 1) tile(kind, DR, 1, n, w, wrb, a, arb, y, ys, pf);
        else tile(kind, DR, DT, n, w, wrb, a, arb, y, ys, pf);
    } else {
        if (T == 1) tile(kind, 1, 1, n, w, wrb, a, arb, y, ys, NULL);
        else tile(kind, 1, DT, n, w, wrb, a, arb, y, ys, NULL);
    }
}

KA5_INLINE void gemm_dec(int kind, int64_t n, const uint8_t *w, size_t wrb, const uint8_t *a, size_t arb, int n_tok,
                         float *y, int64_t ys, int64_t r0, int64_t r1) {
    for (int t0 = 0; t0 < n_tok; t0 += DT) {
        const int T = n_tok - t0 < DT ? n_tok - t0 : DT;
        const uint8_t *at = a + (size_t)t0 * arb;
        float *yt = y + (int64_t)t0 * ys;
        int64_t r = r0;
        for (; r + DR <= r1; r += DR) {
            const uint8_t *pf = PREFETCH_ROWS && r + 2 * DR <= r1 ? w + (size_t)(r + DR) * wrb : NULL;
            tile_rt(kind, DR, T, n, w + (size_t)r * wrb, wrb, at, arb, yt + r, ys, pf);
        }
        for (; r < r1; r++) tile_rt(kind, 1, T, n, w + (size_t)r * wrb, wrb, at, arb, yt + r, ys, NULL);
    }
}

#define DEFINE_KERNELS(name, kind)                                                                              \
    static __attribute__((noinline)) void panel_##name(int64_t n, const uint8_t *w, size_t wrb,                 \
                                                       const uint8_t *act, size_t arb, int n_tok, float *y,     \
                                                       int64_t ys, int64_t r0, int64_t r1) {                    \
        fp_gemm_panel(kind, n, w, wrb, act, arb, n_tok, y, ys, r0, r1);                                         \
    }                                                                                                           \
    float kern_dot_##name##_avx512f(int64_t n, const void *w, const void *a) {                                   \
        float y;                                                                                                \
        tile(kind, 1, 1, n, w, 0, a, 0, &y, 0, NULL);                                                           \
        return y;                                                                                               \
    }                                                                                                           \
    void kern_gemm_##name##_avx512f(int64_t n, const void *w, size_t w_row_bytes, const void *act,               \
                                   size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0,     \
                                   int64_t r1) {                                                                \
        if (n_tok > DT) panel_##name(n, w, w_row_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);        \
        else gemm_dec(kind, n, w, w_row_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);                 \
    }

DEFINE_KERNELS(f32_f32, F_F32)
DEFINE_KERNELS(f16_f32, F_F16)
DEFINE_KERNELS(bf16_f32, F_BF16)
