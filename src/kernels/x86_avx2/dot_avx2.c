/* dot_avx2.c - AVX2 dot products and gemm tiles for the float weights (F32, F16, BF16
 * against f32 activations) and the 32-element block formats (Q4_0, Q5_0, Q8_0 against
 * Q8_0; Q4_1, Q5_1 against Q8_1).
 *
 * One tile routine per format family computes an R-rows x T-tokens tile: each weight block
 * is unpacked once and used for T tokens, each activation block is loaded once for R rows.
 * vec_dot is the 1x1 tile, and every output element runs the same instruction sequence in
 * every tile shape, so results are bit-identical between vec_dot, gemm and any row split.
 * Integer block sums are exact (Q8_0: sign trick |w| * sign(a, w) with maddubs, |w| <= 128
 * and activations in [-127, 127] cannot saturate the int16 pairs; Q4_0/Q5_0: unsigned quants
 * minus the offset's products; Q4_1/Q5_1: unsigned quants); only the f32 accumulation
 * differs from generic/ (which accumulates in double).
 * ref: shared/spec/quant-formats.md §2, §5; generic/dot_generic.c (the specification). */
#include "avx2.h"

#define RM 4 /* rows per gemm tile */
#define TN 3 /* tokens per gemm tile (2 for the float weights: 4x3 f32 tiles spill) */

/* ---- 32-element blocks ---- */

enum { B_Q4_0, B_Q5_0, B_Q8_0, B_Q4_1, B_Q5_1 };

KA2_INLINE size_t wsize(int kind) {
    switch (kind) {
    case B_Q4_0: return sizeof(block_q4_0);
    case B_Q5_0: return sizeof(block_q5_0);
    case B_Q8_0: return sizeof(block_q8_0);
    case B_Q4_1: return sizeof(block_q4_1);
    default: return sizeof(block_q5_1);
    }
}
KA2_INLINE int has_min(int kind) { return kind == B_Q4_1 || kind == B_Q5_1; }
/* Q4_0/Q5_0 stay unsigned (q = u - off): sum (u-off)*a = maddubs(u, a) - maddubs(off, a),
 * both int16 pair sums within +-3937, so the int16 difference is exact. */
KA2_INLINE int offset_of(int kind) { return kind == B_Q4_0 ? 8 : kind == B_Q5_0 ? 16 : 0; }
KA2_INLINE size_t asize(int kind) { return has_min(kind) ? sizeof(block_q8_1) : sizeof(block_q8_0); }

/* 16 packed bytes -> 32 nibbles in element order (low nibbles are elements 0..15) */
KA2_INLINE __m256i nibbles(const uint8_t *qs) {
    const __m128i f = _mm_set1_epi8(0x0F);
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), f), _mm_and_si128(v, f));
}

/* qh (32 bits, bit e for element e) -> 0x10 in byte e where the bit is set */
KA2_INLINE __m256i high_bits(const uint8_t *qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i idx = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), idx);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* weight block -> 32 int8 (Q8_0) or uint8 (the others; Q4_0/Q5_0 still carry their
 * offset), scale, min */
KA2_INLINE __m256i unpack32(int kind, const uint8_t *p, float *d, float *m) {
    switch (kind) {
    case B_Q4_0: {
        const block_q4_0 *b = (const block_q4_0 *)p;
        *d = ka2_h2f(b->d);
        return nibbles(b->qs);
    }
    case B_Q5_0: {
        const block_q5_0 *b = (const block_q5_0 *)p;
        *d = ka2_h2f(b->d);
        return _mm256_or_si256(nibbles(b->qs), high_bits(b->qh));
    }
    case B_Q8_0: {
        const block_q8_0 *b = (const block_q8_0 *)p;
        *d = ka2_h2f(b->d);
        return _mm256_loadu_si256((const __m256i *)b->qs);
    }
    case B_Q4_1: {
        const block_q4_1 *b = (const block_q4_1 *)p;
        *d = ka2_h2f(b->d);
        *m = ka2_h2f(b->m);
        return nibbles(b->qs);
    }
    default: {
        const block_q5_1 *b = (const block_q5_1 *)p;
        *d = ka2_h2f(b->d);
        *m = ka2_h2f(b->m);
        return _mm256_or_si256(nibbles(b->qs), high_bits(b->qh));
    }
    }
}

/* exact sum of the 32 products, as 8 int32 lanes; aoff = maddubs(offset, a) */
KA2_INLINE __m256i idot32(int kind, __m256i x, __m256i ax, __m256i a, __m256i aoff) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (has_min(kind)) return _mm256_madd_epi16(_mm256_maddubs_epi16(x, a), ones);
    if (offset_of(kind))
        return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(x, a), aoff), ones);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(a, x)), ones);
}

KA2_INLINE void tile32(int kind, int R, int T, int64_t nb, const uint8_t *w, size_t wrb,
                       const uint8_t *a, size_t arb, float *y, int64_t ys) {
    __m256 acc[RM][TN];
    float accm[RM][TN];
    const size_t ws = wsize(kind), as = asize(kind);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            acc[r][t] = _mm256_setzero_ps();
            accm[r][t] = 0.0f;
        }
    for (int64_t b = 0; b < nb; b++) {
        __m256i x[RM], ax[RM], qa[TN], aoff[TN];
        float dw[RM], mw[RM], da[TN], sa[TN];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            x[r] = unpack32(kind, w + (size_t)r * wrb + (size_t)b * ws, &dw[r], &mw[r]);
            if (kind == B_Q8_0) ax[r] = _mm256_sign_epi8(x[r], x[r]);
            else ax[r] = x[r];
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const uint8_t *ab = a + (size_t)t * arb + (size_t)b * as;
            if (has_min(kind)) {
                const block_q8_1 *q = (const block_q8_1 *)ab;
                da[t] = ka2_h2f(q->d);
                sa[t] = ka2_h2f(q->s);
                qa[t] = _mm256_loadu_si256((const __m256i *)q->qs);
            } else {
                const block_q8_0 *q = (const block_q8_0 *)ab;
                da[t] = ka2_h2f(q->d);
                qa[t] = _mm256_loadu_si256((const __m256i *)q->qs);
            }
            aoff[t] = offset_of(kind) ? _mm256_maddubs_epi16(_mm256_set1_epi8((char)offset_of(kind)), qa[t])
                                      : _mm256_setzero_si256();
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                __m256 s = _mm256_cvtepi32_ps(idot32(kind, x[r], ax[r], qa[t], aoff[t]));
                acc[r][t] = _mm256_fmadd_ps(s, _mm256_set1_ps(dw[r] * da[t]), acc[r][t]);
                if (has_min(kind)) accm[r][t] += mw[r] * sa[t];
            }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
            y[(int64_t)t * ys + r] = has_min(kind) ? ka2_hsum(acc[r][t]) + accm[r][t] : ka2_hsum(acc[r][t]);
}

/* Q4_0 / Q5_0, two blocks per step: the packed nibbles of blocks b and b+1 share one
 * register, low nibbles (elements 0..15 of each block) in `lo`, high nibbles in `hi`; the
 * activations are permuted to match. After madd, lanes 0-3 hold block b and lanes 4-7 block
 * b+1, scaled by [dd_b x4 | dd_b+1 x4]. An odd last block pairs with zeros (scale 0).
 * Bounds: maddubs pairs <= 2*31*128, two of them minus the offset term fit int16. */
KA2_INLINE __m256i high_pair(uint64_t h, __m256i idx) {
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)h), idx);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* two f16 scales -> [d0 x4 | d1 x4] with one conversion */
KA2_INLINE __m256 scale_pair(uint16_t h0, uint16_t h1) {
    __m128 d = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | (uint32_t)h1 << 16)));
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

KA2_INLINE void unpack_pair(int kind, const uint8_t *p0, int two, __m256i *lo, __m256i *hi, __m256 *dwv) {
    const size_t ws = wsize(kind);
    const uint8_t *p1 = p0 + ws;
    const size_t qs_off = kind == B_Q4_0 ? 2 : 6;
    uint16_t h0, h1 = 0;
    memcpy(&h0, p0, 2);
    __m128i q0 = _mm_loadu_si128((const __m128i *)(p0 + qs_off)), q1 = _mm_setzero_si128();
    if (two) {
        q1 = _mm_loadu_si128((const __m128i *)(p1 + qs_off));
        memcpy(&h1, p1, 2);
    }
    const __m256i f = _mm256_set1_epi8(0x0F);
    __m256i v = _mm256_set_m128i(q1, q0);
    *lo = _mm256_and_si256(v, f);
    *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), f);
    if (kind == B_Q5_0) {
        uint32_t b0, b1 = 0;
        memcpy(&b0, p0 + 2, 4);
        if (two) memcpy(&b1, p1 + 2, 4);
        const uint64_t hh = (uint64_t)b0 | (uint64_t)b1 << 32;
        const __m256i idx_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
        const __m256i idx_hi = _mm256_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                                6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
        *lo = _mm256_or_si256(*lo, high_pair(hh, idx_lo));
        *hi = _mm256_or_si256(*hi, high_pair(hh, idx_hi));
    }
    *dwv = scale_pair(h0, h1);
}

KA2_INLINE void tile32p(int kind, int R, int T, int64_t nb, const uint8_t *w, size_t wrb,
                        const uint8_t *a, size_t arb, float *y, int64_t ys) {
    __m256 acc[RM][TN];
    const size_t ws = wsize(kind);
    const __m256i ones = _mm256_set1_epi16(1), off = _mm256_set1_epi8((char)offset_of(kind));
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        const int two = b + 1 < nb;
        __m256i lo[RM], hi[RM], alo[TN], ahi[TN], aoff[TN];
        __m256 dwv[RM], dav[TN];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) unpack_pair(kind, w + (size_t)r * wrb + (size_t)b * ws, two, &lo[r], &hi[r], &dwv[r]);
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            const block_q8_0 *q = (const block_q8_0 *)(a + (size_t)t * arb) + b;
            __m256i a0 = _mm256_loadu_si256((const __m256i *)q[0].qs), a1 = _mm256_setzero_si256();
            uint16_t d1 = 0;
            if (two) {
                a1 = _mm256_loadu_si256((const __m256i *)q[1].qs);
                d1 = q[1].d;
            }
            alo[t] = _mm256_permute2x128_si256(a0, a1, 0x20);
            ahi[t] = _mm256_permute2x128_si256(a0, a1, 0x31);
            aoff[t] = _mm256_add_epi16(_mm256_maddubs_epi16(off, alo[t]), _mm256_maddubs_epi16(off, ahi[t]));
            dav[t] = scale_pair(q[0].d, d1);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[r], alo[t]), _mm256_maddubs_epi16(hi[r], ahi[t]));
                __m256i s = _mm256_madd_epi16(_mm256_sub_epi16(p, aoff[t]), ones);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dwv[r], dav[t]), acc[r][t]);
            }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) y[(int64_t)t * ys + r] = ka2_hsum(acc[r][t]);
}

/* ---- float weights: 8 elements per step; a ragged tail goes through zero-padded copies ---- */

enum { F_F32, F_F16, F_BF16 };

KA2_INLINE size_t fsize(int kind) { return kind == F_F32 ? 4 : 2; }

KA2_INLINE __m256 load8(int kind, const uint8_t *p) {
    switch (kind) {
    case F_F32: return _mm256_loadu_ps((const float *)p);
    case F_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    default:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
    }
}

KA2_INLINE void tilef(int kind, int R, int T, int64_t n, const uint8_t *w, size_t wrb,
                      const uint8_t *a, size_t arb, float *y, int64_t ys) {
    __m256 acc[RM][TN];
    const size_t es = fsize(kind);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    const int64_t n8 = n & ~(int64_t)7;
    for (int64_t i = 0; i < n8; i += 8) {
        __m256 wv[RM], av[TN];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) wv[r] = load8(kind, w + (size_t)r * wrb + (size_t)i * es);
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) av[t] = _mm256_loadu_ps((const float *)(a + (size_t)t * arb) + i);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv[r], av[t], acc[r][t]);
    }
    if (n8 < n) {
        const size_t rest = (size_t)(n - n8);
        __m256 wv[RM], av[TN];
        for (int r = 0; r < R; r++) {
            uint8_t tmp[32] = {0};
            memcpy(tmp, w + (size_t)r * wrb + (size_t)n8 * es, rest * es);
            wv[r] = load8(kind, tmp);
        }
        for (int t = 0; t < T; t++) {
            float tmp[8] = {0};
            memcpy(tmp, (const float *)(a + (size_t)t * arb) + n8, rest * 4);
            av[t] = _mm256_loadu_ps(tmp);
        }
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv[r], av[t], acc[r][t]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) y[(int64_t)t * ys + r] = ka2_hsum(acc[r][t]);
}

/* Prefill over float weights (3 or more tokens): the panel gemm of ../x86/fpanel.inc with
 * 8 lanes; a 4 x 3 tile of accumulators fills the 16 registers and needs 4 + 3 loads per 12
 * FMAs. Ragged ends go through zero-padded copies, as in tilef, so the result is
 * bit-identical to vec_dot's. */
#define PF_ROWS 4
#define PF_TOK 3
#define PF_K 1024    /* elements per panel row: 16 KB of f32 for the panel */
#define PF_TGROUP 96 /* tokens per group: 12 KB of accumulators */

typedef __m256 fp_vec;
#define FP_W 8
#define FP_LOAD _mm256_load_ps
#define FP_LOADU _mm256_loadu_ps
#define FP_STORE _mm256_store_ps
#define FP_FMA _mm256_fmadd_ps
#define FP_ALIGN 32
#define FP_UNROLL_TOK 4
#define fp_esize fsize
#define fp_load_w load8
#define fp_hsum ka2_hsum

KA2_INLINE __m256 fp_load_w_part(int kind, const uint8_t *p, int64_t rest) {
    uint8_t tmp[32] = {0};
    memcpy(tmp, p, (size_t)rest * fsize(kind));
    return load8(kind, tmp);
}

KA2_INLINE __m256 fp_load_a_part(const float *p, int64_t rest) {
    float tmp[8] = {0};
    memcpy(tmp, p, (size_t)rest * 4);
    return _mm256_loadu_ps(tmp);
}

#include "../x86/fpanel.inc"

KA2_INLINE void fp_ptile_rt(int R, int T, int64_t nv, int64_t rest, const float *pan, const uint8_t *a, size_t arb,
                            float *accb) {
    switch (T) {
    case 1: fp_ptile(R, 1, nv, rest, pan, a, arb, accb); break;
    case 2: fp_ptile(R, 2, nv, rest, pan, a, arb, accb); break;
    default: fp_ptile(R, PF_TOK, nv, rest, pan, a, arb, accb); break;
    }
}

/* One out-of-line copy per float kind: inlined into gemm_any, the panel's 28 KiB frame and
 * register pressure slowed the 1-token path of the same function by ~6%. */
#define PANEL_FN(K)                                                                                             \
    static __attribute__((noinline)) void gemm_panel_##K(int64_t n, const uint8_t *w, size_t wrb,               \
                                                         const uint8_t *act, size_t arb, int n_tok, float *y,   \
                                                         int64_t ys, int64_t r0, int64_t r1) {                  \
        fp_gemm_panel(K, n, w, wrb, act, arb, n_tok, y, ys, r0, r1);                                            \
    }
PANEL_FN(F_F32)
PANEL_FN(F_F16)
PANEL_FN(F_BF16)

/* ---- drivers ---- */

KA2_INLINE void tile_any(int fam, int kind, int R, int T, int64_t n, const uint8_t *w, size_t wrb,
                         const uint8_t *a, size_t arb, float *y, int64_t ys) {
    if (fam) tilef(kind, R, T, n, w, wrb, a, arb, y, ys);
    else if (offset_of(kind)) tile32p(kind, R, T, n / 32, w, wrb, a, arb, y, ys);
    else tile32(kind, R, T, n / 32, w, wrb, a, arb, y, ys);
}

KA2_INLINE void tile_rt(int fam, int kind, int R, int T, int64_t n, const uint8_t *w, size_t wrb,
                        const uint8_t *a, size_t arb, float *y, int64_t ys) {
    switch (T) {
    case 1: tile_any(fam, kind, R, 1, n, w, wrb, a, arb, y, ys); break;
    case 2: tile_any(fam, kind, R, 2, n, w, wrb, a, arb, y, ys); break;
    default:
        if (fam) tile_any(fam, kind, R, 2, n, w, wrb, a, arb, y, ys); /* 4x2: float tiles spill beyond */
        else tile_any(fam, kind, R, TN, n, w, wrb, a, arb, y, ys);
        break;
    }
}

KA2_INLINE void gemm_any(int fam, int kind, int64_t n, const void *w, size_t wrb, const void *act,
                         size_t arb, int n_tok, float *y, int64_t ys, int64_t r0, int64_t r1) {
    const uint8_t *wb = w, *ab = act;
    if (fam && n_tok >= PF_TOK) {
        if (kind == F_F32) gemm_panel_F_F32(n, wb, wrb, ab, arb, n_tok, y, ys, r0, r1);
        else if (kind == F_F16) gemm_panel_F_F16(n, wb, wrb, ab, arb, n_tok, y, ys, r0, r1);
        else gemm_panel_F_BF16(n, wb, wrb, ab, arb, n_tok, y, ys, r0, r1);
        return;
    }
    int64_t chunk = (int64_t)(KA2_CHUNK_BYTES / (wrb ? wrb : 1));
    chunk = chunk < RM ? RM : chunk - chunk % RM;
    for (int64_t c0 = r0; c0 < r1; c0 += chunk) {
        const int64_t c1 = c0 + chunk < r1 ? c0 + chunk : r1;
        const int tn = fam ? 2 : TN;
        for (int t0 = 0; t0 < n_tok; t0 += tn) {
            const int T = n_tok - t0 < tn ? n_tok - t0 : tn;
            const uint8_t *at = ab + (size_t)t0 * arb;
            float *yt = y + (int64_t)t0 * ys;
            int64_t r = c0;
            for (; r + RM <= c1; r += RM) tile_rt(fam, kind, RM, T, n, wb + (size_t)r * wrb, wrb, at, arb, yt + r, ys);
            for (; r < c1; r++) tile_rt(fam, kind, 1, T, n, wb + (size_t)r * wrb, wrb, at, arb, yt + r, ys);
        }
    }
}

#define DEFINE_KERNELS(name, fam, kind)                                                  \
    float kern_dot_##name##_avx2(int64_t n, const void *w, const void *a) {              \
        float y;                                                                         \
        tile_any(fam, kind, 1, 1, n, w, 0, a, 0, &y, 0);                                 \
        return y;                                                                        \
    }                                                                                    \
    void kern_gemm_##name##_avx2(int64_t n, const void *w, size_t w_row_bytes,           \
                                 const void *act, size_t act_row_bytes, int n_tok,       \
                                 float *y, int64_t y_stride, int64_t r0, int64_t r1) {   \
        gemm_any(fam, kind, n, w, w_row_bytes, act, act_row_bytes, n_tok, y, y_stride,   \
                 r0, r1);                                                                \
    }

DEFINE_KERNELS(f32_f32, 1, F_F32)
DEFINE_KERNELS(f16_f32, 1, F_F16)
DEFINE_KERNELS(bf16_f32, 1, F_BF16)
DEFINE_KERNELS(q4_0_q8_0, 0, B_Q4_0)
DEFINE_KERNELS(q5_0_q8_0, 0, B_Q5_0)
DEFINE_KERNELS(q8_0_q8_0, 0, B_Q8_0)
DEFINE_KERNELS(q4_1_q8_1, 0, B_Q4_1)
DEFINE_KERNELS(q5_1_q8_1, 0, B_Q5_1)
