/* packedf16_avx512f.c - F16 weights repacked at load time with lanes along the rows, and their
 * gemm (AVX-512, f32 activations).
 *
 * Layout (packed by packedf16_avx2.c, shared with the AVX2 kernel): rows in groups of 8
 * (KERN_PACK_ROWS); per group, np = ceil(n / 2) element pairs of
 * 32 bytes each: pair p holds, at bytes 4j..4j+3, row j's elements 2p and 2p+1 (fp16; a zero
 * for element n when n is odd). One 32-byte load converted to f32 is then 16 lanes where lane
 * 2j + i is row j's element 2p + i, and it meets the activation pair (a[2p], a[2p+1]) as one
 * 64-bit broadcast.
 *
 * Kernel: lane 2j + i accumulates w * a over the elements 2p + i of row j, one FMA per pair in
 * the order of p; after the last pair row j's output is the sum of lanes 2j and 2j + 1. Every
 * tile (decode: up to 8 groups x 2 tokens; prefill: 4 groups x 6 tokens) and every split of
 * the pairs into chunks runs those same two chains per output, so a token's result does not
 * depend on the batch, the tile or the thread count. The results differ from the unpacked
 * kernels' (16-lane chains along a row, dot_avx512f.c) within float rounding.
 *
 * Why: with lanes along a row, every output needs its own 16-lane accumulator and every
 * activation vector is loaded for a handful of rows; here one register holds 8 outputs, an
 * activation pair is 8 bytes loaded once for 4 groups (32 rows; decode: 8 groups), and the
 * weights are converted straight from fp16 in the FMA loop, so prefill runs at nearly the FMA
 * rate and decode reads each weight byte once.
 * ref: generic/dot_generic.c (vec_dot f16: the specification). */
#include "avx512f.h"

#define PD_G 8       /* groups per decode tile */
#define PD_T KA2_PF16_DEC_T /* tokens per decode tile */
#define PP_G 4       /* groups per prefill tile */
#define PP_T 6       /* tokens per prefill tile */
_Static_assert(KA2_PF16_ROWS == KERN_PACK_ROWS, "group size");

/* The activation pair (a[2p], a[2p+1]) in every 64-bit lane (ka2_pf16_pair). */
KA5_INLINE __m512 pair_bcast(const float *a, int64_t p, bool last) {
    return _mm512_castpd_ps(_mm512_set1_pd(ka2_pf16_pair(a, p, last)));
}

KA5_INLINE __m512 wpair(const uint8_t *g, int64_t p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(g + (size_t)p * 32)));
}

/* Decode prefetch: a tile's 8 groups are 8 streams gb bytes apart, more than the hardware
 * prefetcher follows well, so each is prefetched PF_PAIRS pairs (1 KB) ahead; past the tile's
 * last pair the prefetch runs on into the next tile `nt` (the tile itself for the last one), so
 * a tile starts with its first kilobyte under way. Returns the address for the tile's first
 * group (add g * gb for group g) at pair p of np. On Zen 5, F16 decode 1.06x (1 thread) and
 * 1.13x (2 threads) over prefetching the next tile at the same pair (distances 16-32 pairs
 * best; 64 and more no better). The AVX2 kernel's 2-group tiles keep that older scheme: this
 * one measured 0.88x there. */
#define PF_PAIRS 32
KA5_INLINE const uint8_t *ahead(const uint8_t *w, const uint8_t *nt, int64_t p, int64_t np) {
    const int64_t q = p + PF_PAIRS;
    return q < np ? w + (size_t)q * 32 : nt + (size_t)(q - np) * 32;
}

/* Row j's two lanes added, to 8 consecutive floats. */
KA5_INLINE void store_rows(float *y, __m512 acc) {
    acc = _mm512_add_ps(acc, _mm512_castsi512_ps(_mm512_srli_epi64(_mm512_castps_si512(acc), 32)));
    _mm256_storeu_si256((__m256i *)y, _mm512_cvtepi64_epi32(_mm512_castps_si512(acc)));
}

/* G groups (consecutive, gb bytes apart) x T tokens over pairs [p0, p1): the accumulators are
 * read from and written back to acc[g * T + t] (so chunks of pairs continue the same chains);
 * `odd`: n is odd and p1 includes the last, half-filled pair. pf (decode, pairs [0, np)): the
 * next tile, for the prefetch ahead of every group (ahead). */
KA5_INLINE void tile(int G, int T, const uint8_t *w, size_t gb, const float *const *a, int64_t p0, int64_t p1,
                     bool odd, __m512 *accv, const uint8_t *pf) {
    __m512 acc[PD_G * PD_T > PP_G * PP_T ? PD_G * PD_T : PP_G * PP_T];
#pragma GCC unroll 24
    for (int i = 0; i < G * T; i++) acc[i] = accv[i];
    const int64_t pe = odd ? p1 - 1 : p1;
    for (int64_t p = p0; p < pe; p++) {
        __m512 b[PP_T > PD_T ? PP_T : PD_T];
#pragma GCC unroll 6
        for (int t = 0; t < T; t++) b[t] = pair_bcast(a[t], p, false);
        if (pf && p % 2 == 0) {
            const uint8_t *s = ahead(w, pf, p, p1);
#pragma GCC unroll 8
            for (int g = 0; g < G; g++) _mm_prefetch((const char *)(s + (size_t)g * gb), _MM_HINT_T0);
        }
#pragma GCC unroll 8
        for (int g = 0; g < G; g++) {
            const __m512 wv = wpair(w + (size_t)g * gb, p);
#pragma GCC unroll 6
            for (int t = 0; t < T; t++) acc[g * T + t] = _mm512_fmadd_ps(wv, b[t], acc[g * T + t]);
        }
    }
    if (odd && pe < p1) {
        for (int t = 0; t < T; t++) {
            const __m512 b = pair_bcast(a[t], pe, true);
            for (int g = 0; g < G; g++)
                acc[g * T + t] = _mm512_fmadd_ps(wpair(w + (size_t)g * gb, pe), b, acc[g * T + t]);
        }
    }
#pragma GCC unroll 24
    for (int i = 0; i < G * T; i++) accv[i] = acc[i];
}

/* Token counts and group counts as compile-time constants: full tiles, and one group at a time
 * for the last groups of a range. */
#define TILE_T(G, TMAX, T, ...)                                                                   \
    switch (T) {                                                                                  \
    case 1: tile(G, 1, __VA_ARGS__, NULL); break;                                                       \
    case 2: tile(G, 2 < TMAX ? 2 : TMAX, __VA_ARGS__, NULL); break;                                     \
    case 3: tile(G, 3 < TMAX ? 3 : TMAX, __VA_ARGS__, NULL); break;                                     \
    case 4: tile(G, 4 < TMAX ? 4 : TMAX, __VA_ARGS__, NULL); break;                                     \
    case 5: tile(G, 5 < TMAX ? 5 : TMAX, __VA_ARGS__, NULL); break;                                     \
    default: tile(G, TMAX, __VA_ARGS__, NULL); break;                                                   \
    }

static void tile_prefill(int G, int T, const uint8_t *w, size_t gb, const float *const *a, int64_t p0, int64_t p1,
                         bool odd, __m512 *accv) {
    if (G == PP_G) {
        TILE_T(PP_G, PP_T, T, w, gb, a, p0, p1, odd, accv)
    } else {
        for (int g = 0; g < G; g++) TILE_T(1, PP_T, T, w + (size_t)g * gb, gb, a, p0, p1, odd, accv + g * T)
    }
}

static void tile_decode(int G, int T, const uint8_t *w, size_t gb, const float *const *a, int64_t np, bool odd,
                        __m512 *accv, const uint8_t *pf) {
    if (G == PD_G) {
        if (T == 1) tile(PD_G, 1, w, gb, a, 0, np, odd, accv, pf);
        else tile(PD_G, PD_T, w, gb, a, 0, np, odd, accv, pf);
    } else {
        for (int g = 0; g < G; g++) {
            if (T == 1) tile(1, 1, w + (size_t)g * gb, gb, a, 0, np, odd, accv + g * T, NULL);
            else tile(1, PD_T, w + (size_t)g * gb, gb, a, 0, np, odd, accv + g * T, NULL);
        }
    }
}

/* acc[g * T + t] of a finished tile to y (token t's row g * 8 + j at y + t * ys + g * 8 + j) */
static void store_tile(int G, int T, const __m512 *acc, float *y, int64_t ys) {
    for (int g = 0; g < G; g++)
        for (int t = 0; t < T; t++) store_rows(y + (int64_t)t * ys + g * KA2_PF16_ROWS, acc[g * T + t]);
}

/* Decode (1-2 tokens): 8 groups (64 rows) per tile stream past the activations once. */
static void gemm_decode(int64_t n, const uint8_t *w, size_t gb, const float *const *a, int T, float *y, int64_t ys,
                        int64_t g0, int64_t g1) {
    const int64_t np = (n + 1) / 2;
    __m512 acc[PD_G * PD_T];
    for (int64_t g = g0; g < g1; g += PD_G) {
        const int G = g1 - g < PD_G ? (int)(g1 - g) : PD_G;
        for (int i = 0; i < G * T; i++) acc[i] = _mm512_setzero_ps();
        const uint8_t *pf = w + (size_t)(g + 2 * PD_G <= g1 ? g + PD_G : g) * gb; /* the next tile, or this one */
        tile_decode(G, T, w + (size_t)g * gb, gb, a, np, n % 2 != 0, acc, pf);
        store_tile(G, T, acc, y + g * KA2_PF16_ROWS, ys);
    }
}

/* Prefill (../x86/pf16_prefill.inc): 4 groups per tile (4 x 36 KB of weights per chunk),
 * 24 accumulators per tile. */
typedef __m512 pf16_vec;
#define PF16_ZERO _mm512_setzero_ps
#define PF16_TILE_ACC (PP_G * PP_T)
#define PF16_TILE_PREFILL tile_prefill
#include "../x86/pf16_prefill.inc"

void kern_gemm_packed_f16_avx512f(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                                 int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    ka2_pf16_gemm(gemm_decode, gemm_prefill, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
