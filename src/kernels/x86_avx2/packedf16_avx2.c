/* packedf16_avx2.c - F16 weights repacked at load time with lanes along the rows: the layout
 * (shared with the AVX-512 kernel, packedf16_avx512f.c) and the AVX2 gemm (f32 activations).
 *
 * Layout (../kern_pack.h, KERN_PACK_F16_X8): rows in groups of 8 (KERN_PACK_ROWS); per group,
 * np = ceil(n / 2) element pairs of 32 bytes each: pair p holds, at bytes 4j..4j+3, row j's elements 2p and 2p+1 (fp16; a zero
 * for element n when n is odd). Here the pair is two 16-byte halves (rows 0-3 and rows 4-7),
 * each converted to 8 f32 lanes where lane 2j + i is row j's element 2p + i, met by the
 * activation pair (a[2p], a[2p+1]) as one 64-bit broadcast.
 *
 * Kernel: as in packedf16_avx512f.c, lane 2j + i accumulates w * a over the elements 2p + i of
 * row j, one FMA per pair in the order of p, and row j's output is the sum of its two lanes;
 * every tile (decode: 2 groups x 1-2 tokens; prefill: 1 group x 6 tokens) and every chunk of
 * pairs runs those same two chains, so a token's result does not depend on the batch, and it
 * equals the AVX-512 kernel's bit for bit (same operations per lane).
 * ref: generic/dot_generic.c (vec_dot f16: the specification). */
#include "avx2.h"

#define PD_G 2      /* groups per decode tile */
#define PD_T KA2_PF16_DEC_T /* tokens per decode tile */
#define PP_T 6      /* tokens per prefill tile (one group: 12 accumulators) */
_Static_assert(KA2_PF16_ROWS == KERN_PACK_ROWS, "group size");

size_t kern_pack_bytes_f16_avx2(int64_t n) { return (size_t)((n + 1) / 2) * 32; }

void kern_pack_f16_avx2(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst) {
    const int64_t np = (n + 1) / 2, full = n / 2; /* pairs, and pairs with both elements */
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *out = (uint8_t *)dst + (size_t)g * (size_t)np * 32;
        const uint8_t *rows[KA2_PF16_ROWS];
        for (int j = 0; j < KA2_PF16_ROWS; j++)
            rows[j] = (const uint8_t *)w + (size_t)(g * KA2_PF16_ROWS + j) * w_row_bytes;
        for (int64_t p = 0; p < full; p++)
            for (int j = 0; j < KA2_PF16_ROWS; j++) memcpy(out + (size_t)p * 32 + 4 * j, rows[j] + 4 * p, 4);
        if (np > full) /* n odd: the last element, then a zero */
            for (int j = 0; j < KA2_PF16_ROWS; j++) {
                memcpy(out + (size_t)full * 32 + 4 * j, rows[j] + 4 * full, 2);
                memset(out + (size_t)full * 32 + 4 * j + 2, 0, 2);
            }
    }
}

void kern_unpack_row_f16_avx2(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst) {
    const uint16_t *grp = (const uint16_t *)((const uint8_t *)packed + (size_t)(row / KA2_PF16_ROWS) * group_bytes);
    const int j = (int)(row % KA2_PF16_ROWS);
    for (int64_t e = 0; e < n; e++) memcpy((uint8_t *)dst + 2 * e, &grp[(e / 2) * 16 + 2 * j + e % 2], 2);
}

/* The activation pair (a[2p], a[2p+1]) in every 64-bit lane (ka2_pf16_pair). */
KA2_INLINE __m256 pair_bcast(const float *a, int64_t p, bool last) {
    return _mm256_castpd_ps(_mm256_set1_pd(ka2_pf16_pair(a, p, last)));
}

/* pair p of a group: rows 0-3 (h = 0) or 4-7 (h = 1) as 8 floats */
KA2_INLINE __m256 wpair(const uint8_t *g, int64_t p, int h) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + (size_t)p * 32 + 16 * h)));
}

/* Rows 0-7 of a group: each row's two lanes added, to 8 consecutive floats. */
KA2_INLINE void store_rows(float *y, __m256 lo, __m256 hi) {
    const __m256 s = _mm256_hadd_ps(lo, hi); /* rows 0 1 4 5 | 2 3 6 7 */
    _mm256_storeu_ps(y, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xD8)));
}

/* G groups (gb bytes apart) x T tokens over pairs [p0, p1); accumulators in and out of
 * acc[(g * T + t) * 2 + h]; `odd`: n is odd and p1 includes the last, half-filled pair; pf
 * (decode): the same pairs of the next tile's groups are prefetched. */
KA2_INLINE void tile(int G, int T, const uint8_t *w, size_t gb, const float *const *a, int64_t p0, int64_t p1,
                     bool odd, __m256 *accv, const uint8_t *pf) {
    __m256 acc[2 * PP_T > 2 * PD_G * PD_T ? 2 * PP_T : 2 * PD_G * PD_T];
#pragma GCC unroll 12
    for (int i = 0; i < 2 * G * T; i++) acc[i] = accv[i];
    const int64_t pe = odd ? p1 - 1 : p1;
    for (int64_t p = p0; p < pe; p++) {
        if (pf && p % 2 == 0)
#pragma GCC unroll 2
            for (int g = 0; g < G; g++) _mm_prefetch((const char *)(pf + (size_t)g * gb + (size_t)p * 32), _MM_HINT_T0);
#pragma GCC unroll 2
        for (int g = 0; g < G; g++) {
            const __m256 w0 = wpair(w + (size_t)g * gb, p, 0), w1 = wpair(w + (size_t)g * gb, p, 1);
#pragma GCC unroll 6
            for (int t = 0; t < T; t++) {
                const __m256 b = pair_bcast(a[t], p, false);
                acc[(g * T + t) * 2] = _mm256_fmadd_ps(w0, b, acc[(g * T + t) * 2]);
                acc[(g * T + t) * 2 + 1] = _mm256_fmadd_ps(w1, b, acc[(g * T + t) * 2 + 1]);
            }
        }
    }
    if (odd && pe < p1)
        for (int g = 0; g < G; g++)
            for (int t = 0; t < T; t++) {
                const __m256 b = pair_bcast(a[t], pe, true);
                for (int h = 0; h < 2; h++)
                    acc[(g * T + t) * 2 + h] =
                        _mm256_fmadd_ps(wpair(w + (size_t)g * gb, pe, h), b, acc[(g * T + t) * 2 + h]);
            }
#pragma GCC unroll 12
    for (int i = 0; i < 2 * G * T; i++) accv[i] = acc[i];
}

static void tile_prefill(int T, const uint8_t *w, size_t gb, const float *const *a, int64_t p0, int64_t p1, bool odd,
                         __m256 *accv) {
    switch (T) {
    case 1: tile(1, 1, w, gb, a, p0, p1, odd, accv, NULL); break;
    case 2: tile(1, 2, w, gb, a, p0, p1, odd, accv, NULL); break;
    case 3: tile(1, 3, w, gb, a, p0, p1, odd, accv, NULL); break;
    case 4: tile(1, 4, w, gb, a, p0, p1, odd, accv, NULL); break;
    case 5: tile(1, 5, w, gb, a, p0, p1, odd, accv, NULL); break;
    default: tile(1, PP_T, w, gb, a, p0, p1, odd, accv, NULL); break;
    }
}

static void store_tile(int G, int T, const __m256 *acc, float *y, int64_t ys) {
    for (int g = 0; g < G; g++)
        for (int t = 0; t < T; t++)
            store_rows(y + (int64_t)t * ys + g * KA2_PF16_ROWS, acc[(g * T + t) * 2], acc[(g * T + t) * 2 + 1]);
}

static void gemm_decode(int64_t n, const uint8_t *w, size_t gb, const float *const *a, int T, float *y, int64_t ys,
                        int64_t g0, int64_t g1) {
    const int64_t np = (n + 1) / 2;
    const bool odd = n % 2 != 0;
    __m256 acc[2 * PD_G * PD_T];
    for (int64_t g = g0; g < g1; g += PD_G) {
        const int G = g1 - g < PD_G ? (int)(g1 - g) : PD_G;
        const uint8_t *wg = w + (size_t)g * gb;
        const uint8_t *pf = g + 2 * PD_G <= g1 ? wg + (size_t)PD_G * gb : NULL; /* the next tile */
        for (int i = 0; i < 2 * G * T; i++) acc[i] = _mm256_setzero_ps();
        if (G == PD_G) {
            if (T == 1) tile(PD_G, 1, wg, gb, a, 0, np, odd, acc, pf);
            else tile(PD_G, PD_T, wg, gb, a, 0, np, odd, acc, pf);
        } else {
            if (T == 1) tile(1, 1, wg, gb, a, 0, np, odd, acc, NULL);
            else tile(1, PD_T, wg, gb, a, 0, np, odd, acc, NULL);
        }
        store_tile(G, T, acc, y + g * KA2_PF16_ROWS, ys);
    }
}

/* Prefill (../x86/pf16_prefill.inc): one group per tile, two accumulators per output. */
typedef __m256 pf16_vec;
#define PF16_ZERO _mm256_setzero_ps
#define PP_G 1
#define PF16_TILE_ACC (2 * PP_T)
#define PF16_TILE_PREFILL(G, T, w, gb, a, p0, p1, last, acc) tile_prefill(T, w, gb, a, p0, p1, last, acc)
#include "../x86/pf16_prefill.inc"

void kern_gemm_packed_f16_avx2(int64_t n, const void *w, size_t group_bytes, const void *act, size_t act_row_bytes,
                               int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1) {
    ka2_pf16_gemm(gemm_decode, gemm_prefill, n, w, group_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
}
