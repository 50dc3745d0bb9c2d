/* test_kern_pack.c - the load-time repacked kernels of every ISA row the CPU supports: pack,
 * unpack_row, gemm_packed and the fused gate/up gemm against generic vec_dot, and every
 * packed type against the ISA-neutral layouts of kernels/kern_pack.h and their reference
 * (generic/pack_generic.c). An ISA the CPU lacks prints SKIP. */
#include "test.h"

#include <stddef.h>

#include "kern_test_data.h"
#include "kernels/kern_pack.h"

/* Repacked weights: pack + gemm_packed against the generic vec_dot (1, 3, 5 and 17 groups of
 * the type's pack_rows, 8 or 16: odd group counts; 1, 3 and 17 blocks, and rows of 4096
 * elements with 17 groups so the drivers' L2-sized row chunks (256 KiB of packed weights) end
 * inside the range; 1..64 tokens; row
 * ranges of whole groups, untouched rows outside; unpack_row gives back every original row
 * byte for byte). Edge data beyond fill_weights/fill_acts (zero blocks, max-magnitude scales,
 * negative mins): the last row's first block has every quant bit set (Q6_K: scales -128),
 * and two tokens are all +-127 after quantization, so the integer sums reach their bounds.
 * Every token's outputs in a batch of 64 equal, bit for bit, its outputs alone (decode). */
#define PACK_MAX_TOK 64
static void check_packed(kern_isa isa) {
    int n_checked = 0;
    for (size_t i = 0; i < N_TYPES_T; i++) {
        const uint32_t t = TYPES[i];
        const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
        if (!tt || !tt->pack) continue;
        static const int64_t NBLK[] = {1, 3, 17, 0}, NGROUPS[] = {3, 1, 5, 17};
        for (size_t ni = 0; ni < 4; ni++) {
            /* float weights (act_blck 1): 4097, an odd row over several of the F16 kernel's chunks */
            const int64_t n = NBLK[ni] ? NBLK[ni] * g->act_blck : 4096 + (g->act_blck == 1),
                          rows = NGROUPS[ni] * tt->pack_rows;
            const size_t rb = quant_row_bytes(t, (uint64_t)n), ab = kern_act_row_bytes(g, n);
            const size_t gb = tt->pack_group_bytes(n);
            uint8_t *w = malloc(rb * (size_t)(rows + ROWS)), *pk = malloc(gb * (size_t)(rows / tt->pack_rows));
            uint8_t *act = malloc(ab * PACK_MAX_TOK);
            float *x = malloc((size_t)n * PACK_MAX_TOK * sizeof *x);
            float *y = malloc(sizeof(float) * (size_t)(rows + 3) * PACK_MAX_TOK);
            double *want = malloc(sizeof(double) * (size_t)rows * PACK_MAX_TOK * 2), *lim = want + rows * PACK_MAX_TOK;
            for (int64_t r = 0; r < rows; r += ROWS) fill_weights(t, w + (size_t)r * rb, rb, n); /* ROWS rows each */
            {
                uint8_t *blk = w + (size_t)(rows - 1) * rb;
                int d_off, m_off;
                scale_fields(t, &d_off, &m_off);
                memset(blk, 0xFF, quant_block_bytes(t));
                if (t == GGUF_TTYPE_Q6_K) memset(blk + offsetof(block_q6_K, scales), 0x80, 16);
                put16(blk + d_off, pp_f32_to_f16(0.5f));
                if (m_off >= 0) put16(blk + m_off, pp_f32_to_f16(-0.25f));
            }
            fill_acts(t, x, n, PACK_MAX_TOK);
            for (int64_t e = 0; e < n; e++) {
                x[6 * n + e] = -2.5f;                /* all -127 */
                x[7 * n + e] = e % 2 ? -2.5f : 2.5f; /* +-127 */
            }
            for (int tk = 0; tk < PACK_MAX_TOK; tk++)
                g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
            for (int64_t o = 0; o < rows; o++)
                for (int tk = 0; tk < PACK_MAX_TOK; tk++) {
                    const uint8_t *wr = w + (size_t)o * rb, *ar = act + (size_t)tk * ab;
                    want[o * PACK_MAX_TOK + tk] = g->vec_dot(n, wr, ar);
                    lim[o * PACK_MAX_TOK + tk] = tol_rel(t, n) * abs_scale(t, wr, ar, n) + 1e-37;
                }
            T_CHECK(tt->pack_rows == 8 || tt->pack_rows == 16);
            tt->pack(n, w, rb, 0, rows / tt->pack_rows, pk);
            T_CHECK_MSG(tt->unpack_row != NULL, "%s packed %s has no unpack_row", kern_isa_name(isa), quant_type_name(t));
            for (int64_t o = 0; o < rows && tt->unpack_row; o++) { /* the exact inverse of pack */
                uint8_t *un = malloc(rb);
                memset(un, 0xA5, rb);
                tt->unpack_row(n, pk, gb, o, un);
                T_CHECK_MSG(!memcmp(un, w + (size_t)o * rb, rb), "%s unpack_row %s n %lld row %lld differs from the original",
                            kern_isa_name(isa), quant_type_name(t), (long long)n, (long long)o);
                free(un);
            }
            static const int toks[] = {1, 2, 3, 4, 5, 13, 17, 64};
            for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
                const int nt = toks[k];
                const int64_t ys = rows + 3, r0 = rows > 2 * (int64_t)tt->pack_rows ? tt->pack_rows : 0, r1 = rows;
                for (int64_t e = 0; e < ys * nt; e++) y[e] = -12345.0f;
                tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, r0, r1);
                int bad = 0;
                for (int tk = 0; tk < nt; tk++)
                    for (int64_t o = 0; o < ys; o++) {
                        float got = y[tk * ys + o];
                        if (o < r0 || o >= r1) {
                            T_CHECK_MSG(got == -12345.0f, "%s packed %s wrote row %lld outside [%lld, %lld)",
                                        kern_isa_name(isa), quant_type_name(t), (long long)o, (long long)r0, (long long)r1);
                            continue;
                        }
                        const double wv = want[o * PACK_MAX_TOK + tk];
                        const bool ok = fabs(got - wv) <= lim[o * PACK_MAX_TOK + tk];
                        if (!ok && bad++ < 3)
                            T_CHECK_MSG(ok, "%s packed %s n %lld tok %d/%d row %lld: got %.9g want %.9g",
                                        kern_isa_name(isa), quant_type_name(t), (long long)n, tk, nt, (long long)o,
                                        got, wv);
                    }
            }
            { /* a token's outputs do not depend on the batch: 64 tokens at once equal each alone */
                const int nt = PACK_MAX_TOK;
                const int64_t ys = rows;
                float *one = malloc(sizeof(float) * (size_t)rows);
                tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, 0, rows);
                int bad = 0;
                for (int tk = 0; tk < nt; tk++) {
                    tt->gemm_packed(n, pk, gb, act + (size_t)tk * ab, ab, 1, one, ys, 0, rows);
                    for (int64_t o = 0; o < rows; o++)
                        if (memcmp(&one[o], &y[tk * ys + o], sizeof(float)) && bad++ < 3)
                            T_CHECK_MSG(0, "%s packed %s n %lld tok %d row %lld: %.9g in a batch of %d, %.9g alone",
                                        kern_isa_name(isa), quant_type_name(t), (long long)n, tk, (long long)o,
                                        y[tk * ys + o], nt, one[o]);
                }
                free(one);
            }
            if (tt->gemm_packed_geglu) { /* fused gate/up: gemm_packed of both then the ISA's geglu, bit for bit */
                const kern_vec_ops *vo = kern_vec_isa(isa);
                uint8_t *pk2 = malloc(gb * (size_t)(rows / tt->pack_rows));
                tt->pack(n, w + rb, rb, 0, rows / tt->pack_rows, pk2); /* the up weight: rows shifted by one */
                const int64_t ys = rows + 3, r0 = rows > 2 * (int64_t)tt->pack_rows ? tt->pack_rows : 0, r1 = rows;
                float *yu = malloc(sizeof(float) * (size_t)ys * PACK_MAX_TOK);
                static const int ftoks[] = {1, 3, 8, 13, 64};
                for (size_t k = 0; k < sizeof ftoks / sizeof ftoks[0]; k++) {
                    const int nt = ftoks[k];
                    tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, r0, r1);
                    tt->gemm_packed(n, pk2, gb, act, ab, nt, yu, ys, r0, r1);
                    for (int tk = 0; tk < nt; tk++) vo->geglu(y + tk * ys + r0, yu + tk * ys + r0, r1 - r0);
                    for (int64_t e = 0; e < ys * nt; e++) yu[e] = -12345.0f;
                    tt->gemm_packed_geglu(n, pk, pk2, gb, act, ab, nt, yu, ys, r0, r1, NULL, 0);
                    int bad = 0;
                    for (int tk = 0; tk < nt; tk++)
                        for (int64_t o = 0; o < ys; o++) {
                            const bool in = o >= r0 && o < r1;
                            const float got = yu[tk * ys + o];
                            if ((in ? memcmp(&got, &y[tk * ys + o], sizeof got) != 0 : got != -12345.0f) && bad++ < 3)
                                T_CHECK_MSG(0, "%s packed geglu %s n %lld tok %d/%d row %lld: %.9g, unfused %.9g",
                                            kern_isa_name(isa), quant_type_name(t), (long long)n, tk, nt, (long long)o,
                                            got, in ? y[tk * ys + o] : -12345.0f);
                        }
                }
                /* Q8_0 output (row ranges of whole blocks): the active quantizer's bytes of the
                 * unfused result, nothing written outside the range's blocks */
                const kern_type_traits *q8 = kern_traits_isa(isa, GGUF_TTYPE_Q8_0);
                const int64_t q0 = rows >= 64 ? 32 : 0, q1 = rows / 32 * 32;
                if (q1 > q0) {
                    const size_t qs = kern_act_row_bytes(q8, rows / 32 * 32);
                    uint8_t *yq = malloc(qs * PACK_MAX_TOK), *want_q = malloc(qs);
                    const int nt = 13;
                    tt->gemm_packed(n, pk, gb, act, ab, nt, y, ys, 0, rows);
                    tt->gemm_packed(n, pk2, gb, act, ab, nt, yu, ys, 0, rows);
                    memset(yq, 0xA5, qs * PACK_MAX_TOK);
                    tt->gemm_packed_geglu(n, pk, pk2, gb, act, ab, nt, NULL, 0, q0, q1, yq, qs);
                    for (int tk = 0; tk < nt; tk++) {
                        vo->geglu(y + tk * ys, yu + tk * ys, rows);
                        q8->quantize_act(y + tk * ys, want_q, q1);
                        const size_t b0 = (size_t)q0 / 32 * sizeof(block_q8_0), b1 = (size_t)q1 / 32 * sizeof(block_q8_0);
                        bool ok = !memcmp(yq + tk * qs + b0, want_q + b0, b1 - b0);
                        for (size_t e = 0; e < qs; e++)
                            if ((e < b0 || e >= b1) && yq[tk * qs + e] != 0xA5) ok = false;
                        T_CHECK_MSG(ok, "%s packed geglu %s Q8_0 output n %lld tok %d rows [%lld, %lld)", kern_isa_name(isa),
                                    quant_type_name(t), (long long)n, tk, (long long)q0, (long long)q1);
                    }
                    free(yq), free(want_q);
                }
                free(pk2), free(yu);
            }
            n_checked++;
            free(w), free(pk), free(act), free(x), free(y), free(want);
        }
    }
    if (getenv("PIPPA_TEST_VERBOSE")) printf("%s: %d packed cases\n", kern_isa_name(isa), n_checked);
}

/* Every packed type of an ISA against the ISA-neutral layout of kernels/kern_pack.h: its
 * group bytes are the layout's, it writes the bytes the reference pack writes (so the layout
 * as documented is the one the kernels read), the reference unpack gives the original rows
 * back, and gemm_packed agrees with the reference gemm over the layout (which equals generic
 * on the original rows bit for bit) within the type's tolerance. */
static void check_pack_ref(kern_isa isa) {
    for (size_t i = 0; i < N_TYPES_T; i++) {
        const uint32_t t = TYPES[i];
        const kern_type_traits *tt = kern_traits_isa(isa, t), *g = kern_traits_generic(t);
        if (!tt || !tt->pack) continue;
        const kern_pack_layout l = kern_pack_layout_of(t, tt->pack_rows);
        T_CHECK_MSG(l != KERN_PACK_NONE, "%s %s: pack_rows %u is no layout of kern_pack.h", kern_isa_name(isa),
                    quant_type_name(t), tt->pack_rows);
        if (l == KERN_PACK_NONE) continue;
        const int64_t sizes[2] = {g->act_blck == 1 ? 33 : 1 * (int64_t)quant_block_size(t),
                                  g->act_blck == 1 ? 96 : 5 * (int64_t)quant_block_size(t)};
        for (int si = 0; si < 2; si++) {
            const int64_t n = sizes[si], rows = 3 * tt->pack_rows;
            const size_t rb = quant_row_bytes(t, (uint64_t)n), gb = tt->pack_group_bytes(n),
                         ab = kern_act_row_bytes(g, n);
            T_CHECK_MSG(gb == kern_pack_group_bytes_ref(l, n), "%s %s n %lld: group bytes %zu, layout %zu",
                        kern_isa_name(isa), quant_type_name(t), (long long)n, gb, kern_pack_group_bytes_ref(l, n));
            uint8_t *w = malloc(rb * (size_t)rows), *pk = malloc(gb * 3), *want = malloc(gb * 3), *row = malloc(rb),
                    *act = malloc(ab * 3);
            float *x = malloc(sizeof(float) * (size_t)n * 3), *y = malloc(sizeof(float) * (size_t)rows * 3),
                  *yr = malloc(sizeof(float) * (size_t)rows * 3);
            fill_weights_n(t, w, rb, n, (int)rows);
            tt->pack(n, w, rb, 0, 3, pk);
            T_CHECK(kern_pack_ref(l, n, w, rb, 0, 3, want));
            {
                T_CHECK_MSG(!memcmp(pk, want, gb * 3), "%s %s n %lld: packed bytes differ from kern_pack.h's layout",
                            kern_isa_name(isa), quant_type_name(t), (long long)n);
                fill_acts(t, x, n, 3);
                for (int tk = 0; tk < 3; tk++) g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
                for (int64_t o = 0; o < rows; o++) {
                    T_CHECK(kern_unpack_row_ref(l, n, pk, gb, o, row));
                    T_CHECK_MSG(!memcmp(row, w + (size_t)o * rb, rb), "%s %s row %lld: reference unpack",
                                kern_isa_name(isa), quant_type_name(t), (long long)o);
                }
                T_CHECK(kern_gemm_packed_ref(l, n, pk, gb, act, ab, 3, yr, rows, 0, rows, row));
                tt->gemm_packed(n, pk, gb, act, ab, 3, y, rows, 0, rows);
                for (int tk = 0; tk < 3; tk++)
                    for (int64_t o = 0; o < rows; o++) {
                        const uint8_t *wo = w + (size_t)o * rb, *at = act + (size_t)tk * ab;
                        const float ref = yr[tk * rows + o], got = y[tk * rows + o];
                        T_CHECK_MSG(ref == g->vec_dot(n, wo, at), "reference gemm %s row %lld", quant_type_name(t),
                                    (long long)o);
                        T_CHECK_MSG(fabs((double)got - ref) <= tol_rel(t, n) * abs_scale(t, wo, at, n) + 1e-37,
                                    "%s %s n %lld tok %d row %lld: packed gemm %.9g, layout reference %.9g",
                                    kern_isa_name(isa), quant_type_name(t), (long long)n, tk, (long long)o, got, ref);
                    }
            }
            free(w), free(pk), free(want), free(row), free(act), free(x), free(y), free(yr);
        }
    }
}

static void test_packedk_vnni_matches_avx2(void) {
    if (isa_skip(KERN_ISA_AVX512)) return;
    /* Q4_K and Q6_K keep the AVX2 layouts with VNNI tiles that compute the same integers and
     * float steps, F16 the AVX2 pair layout with the same two FMA chains per output:
     * bit-identical to the AVX2 packed gemm, 1 to 9 tokens, 3 super-blocks (F16: 769
     * elements), 24 rows */
    const uint32_t kt[3] = {GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q6_K, GGUF_TTYPE_F16};
    for (int k = 0; k < 3; k++) {
        const kern_type_traits *t5 = kern_traits_isa(KERN_ISA_AVX512, kt[k]), *t2 = kern_traits_isa(KERN_ISA_AVX2, kt[k]),
                               *g = kern_traits_generic(kt[k]);
        T_CHECK(t5->pack == t2->pack && t5->gemm_packed != t2->gemm_packed);
        enum { NR = 24, NT = 9 };
        const int64_t n = 3 * 256 + (kt[k] == GGUF_TTYPE_F16);
        const size_t rb = quant_row_bytes(kt[k], (uint64_t)n), ab = kern_act_row_bytes(g, n), gb = t2->pack_group_bytes(n);
        uint8_t *w = malloc(rb * NR), *pk = malloc(gb * (NR / KERN_PACK_ROWS)), *act = malloc(ab * NT);
        float *x = malloc(sizeof(float) * (size_t)n * NT), *y2 = malloc(sizeof(float) * NR * NT),
              *y5 = malloc(sizeof(float) * NR * NT);
        fill_weights_n(kt[k], w, rb, n, NR);
        fill_acts(kt[k], x, n, NT);
        for (int tk = 0; tk < NT; tk++) g->quantize_act(x + (int64_t)tk * n, act + (size_t)tk * ab, n);
        t2->pack(n, w, rb, 0, NR / KERN_PACK_ROWS, pk);
        for (int nt = 1; nt <= NT; nt++) {
            t2->gemm_packed(n, pk, gb, act, ab, nt, y2, NR, 0, NR);
            t5->gemm_packed(n, pk, gb, act, ab, nt, y5, NR, 0, NR);
            T_CHECK_MSG(!memcmp(y2, y5, sizeof(float) * (size_t)(NR * nt)),
                        "avx512 %s packed gemm differs from avx2's, %d tokens", quant_type_name(kt[k]), nt);
        }
        free(w), free(pk), free(act), free(x), free(y2), free(y5);
    }
}

static kern_isa row_isa;
static void test_packed_row(void) {
    if (isa_skip(row_isa)) return;
    check_packed(row_isa);
    check_pack_ref(row_isa);
}

int main(void) {
    t_kern_init();
    T_RUN(test_packedk_vnni_matches_avx2);
    static char names[KERN_ISA_COUNT][48];
    for (int i = KERN_ISA_AVX2; i < KERN_ISA_COUNT; i++) {
        row_isa = (kern_isa)i;
        snprintf(names[i], sizeof names[i], "test_packed_%s", kern_isa_name(row_isa));
        t_run(names[i], test_packed_row);
    }
    return t_finish("kern_pack");
}
