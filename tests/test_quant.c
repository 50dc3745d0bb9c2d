/* test_quant.c - quant module: hand-built known-answer blocks for every format, round-trip
 * error bounds on random data, rounding tie rules, zero/extreme inputs, and every error path
 * of the dispatchers (with the message text). Fixture comparisons: test_quant_fx.c. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"

#define H_ONE 0x3C00     /* fp16 1.0 */
#define H_HALF 0x3800    /* fp16 0.5 */
#define H_QUARTER 0x3400 /* fp16 0.25 */
#define H_TWO 0x4000     /* fp16 2.0 */
#define H_MONE 0xBC00    /* fp16 -1.0 */

static bool deq(uint32_t type, const void *blk, float *y, int64_t n) {
    pp_err err;
    pp_status st = quant_dequantize_row(type, blk, y, n, &err);
    T_CHECK_MSG(st == PP_OK, "%s: %s", quant_type_name(type), err.msg);
    return st == PP_OK;
}

#define EXPECT(y, e, v)                                                                  \
    T_CHECK_MSG((y)[e] == (float)(v), "element %d: got %.9g, want %.9g", (int)(e), (y)[e], \
                (double)(v))

/* ---------- known-answer blocks (values worked out by hand from quant-formats.md) ---------- */

static void test_known_float(void) {
    float f[2] = {1.5f, -0.25f}, y[2];
    uint16_t h[2] = {0x3C00, 0xC000}, b[2] = {0x3F80, 0xC040};
    if (deq(GGUF_TTYPE_F32, f, y, 2)) { EXPECT(y, 0, 1.5); EXPECT(y, 1, -0.25); }
    if (deq(GGUF_TTYPE_F16, h, y, 2)) { EXPECT(y, 0, 1.0); EXPECT(y, 1, -2.0); }
    if (deq(GGUF_TTYPE_BF16, b, y, 2)) { EXPECT(y, 0, 1.0); EXPECT(y, 1, -3.0); }
}

static void test_known_q4_0(void) {
    block_q4_0 b = {.d = H_HALF};
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float y[32];
    if (!deq(GGUF_TTYPE_Q4_0, &b, y, 32)) return;
    for (int j = 0; j < 16; j++) {
        EXPECT(y, j, (j - 8) * 0.5);          /* low nibble = element j */
        EXPECT(y, j + 16, (7 - j) * 0.5);     /* high nibble = element j+16 */
    }
    EXPECT(y, 0, -4.0);
    EXPECT(y, 16, 3.5);
}

static void test_known_q4_1(void) {
    block_q4_1 b = {.d = H_HALF, .m = H_MONE};
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float y[32];
    if (!deq(GGUF_TTYPE_Q4_1, &b, y, 32)) return;
    for (int j = 0; j < 16; j++) {
        EXPECT(y, j, j * 0.5 - 1);
        EXPECT(y, j + 16, (15 - j) * 0.5 - 1);
    }
    EXPECT(y, 31, -1.0);
    EXPECT(y, 16, 6.5);
}

static void test_known_q5(void) {
    /* qh = 0x80010001: high bit for elements 0, 16 and 31 */
    block_q5_0 b0 = {.d = H_ONE, .qh = {0x01, 0x00, 0x01, 0x80}};
    block_q5_1 b1 = {.d = H_HALF, .m = H_TWO, .qh = {0x01, 0x00, 0x01, 0x80}};
    for (int j = 0; j < 16; j++) b0.qs[j] = b1.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float y[32];
    if (deq(GGUF_TTYPE_Q5_0, &b0, y, 32)) {
        EXPECT(y, 0, 0 + 16 - 16);   /* nib 0, hb 1 -> q 16 -> 0 */
        EXPECT(y, 1, 1 - 16);        /* nib 1, hb 0 -> -15 */
        EXPECT(y, 16, 15 + 16 - 16); /* nib 15, hb 1 -> 15 */
        EXPECT(y, 17, 14 - 16);
        EXPECT(y, 31, 0 + 16 - 16);  /* nib 0, hb 1 -> 0 */
        EXPECT(y, 15, 15 - 16);
    }
    if (deq(GGUF_TTYPE_Q5_1, &b1, y, 32)) {
        EXPECT(y, 0, 16 * 0.5 + 2);
        EXPECT(y, 1, 1 * 0.5 + 2);
        EXPECT(y, 16, 31 * 0.5 + 2);
        EXPECT(y, 31, 16 * 0.5 + 2);
        EXPECT(y, 30, 1 * 0.5 + 2);
    }
}

static void test_known_q8(void) {
    block_q8_0 b = {.d = H_QUARTER};
    block_q8_1 c = {.d = H_TWO, .s = 0x7C00 /* s is not used by dequantization */};
    for (int j = 0; j < 32; j++) b.qs[j] = c.qs[j] = (int8_t)(j - 16);
    b.qs[31] = c.qs[31] = -128;
    float y[32];
    if (deq(GGUF_TTYPE_Q8_0, &b, y, 32)) {
        for (int j = 0; j < 31; j++) EXPECT(y, j, (j - 16) * 0.25);
        EXPECT(y, 31, -32.0);
    }
    if (deq(GGUF_TTYPE_Q8_1, &c, y, 32)) {
        EXPECT(y, 0, -32.0);
        EXPECT(y, 17, 2.0);
        EXPECT(y, 31, -256.0);
    }
    static block_q8_K k;
    k.d = -0.5f;
    for (int e = 0; e < 256; e++) k.qs[e] = (int8_t)(e - 128);
    float z[256];
    if (deq(GGUF_TTYPE_Q8_K, &k, z, 256))
        for (int e = 0; e < 256; e++) EXPECT(z, e, (e - 128) * -0.5);
}

static void test_known_q2_K(void) {
    block_q2_K b;
    memset(&b, 0, sizeof b);
    b.d = H_ONE;
    b.dmin = H_HALF;
    b.scales[0] = 0x21; /* sc 1, min 2 */
    b.scales[1] = 0x03; /* sc 3, min 0 */
    b.scales[6] = 0x12; /* sc 2, min 1 */
    b.scales[8] = 0xF5; /* sc 5, min 15 */
    b.qs[0] = 0xE4;     /* elements 0, 32, 64, 96 -> q 0, 1, 2, 3 */
    b.qs[16] = 0x03;    /* element 16 -> q 3 */
    b.qs[32] = 0x02;    /* element 128 -> q 2 */
    float y[256];
    if (!deq(GGUF_TTYPE_Q2_K, &b, y, 256)) return;
    EXPECT(y, 0, 1 * 0 - 0.5 * 2);
    EXPECT(y, 1, -1.0);
    EXPECT(y, 16, 3 * 3 - 0.0);
    EXPECT(y, 32, 0.0);                /* scales[2] = 0 */
    EXPECT(y, 96, 2 * 3 - 0.5 * 1);    /* 5.5 */
    EXPECT(y, 128, 5 * 2 - 0.5 * 15);  /* 2.5 */
    EXPECT(y, 129, 5 * 0 - 0.5 * 15);
    EXPECT(y, 255, 0.0);
}

static void test_known_q3_K(void) {
    block_q3_K b;
    memset(&b, 0, sizeof b);
    b.d = H_HALF;
    b.scales[0] = 0x01; b.scales[8] = 0x02;  /* sc0 = (1 | 2<<4) - 32 = 1; sc8 = -32 */
    b.scales[5] = 0x0F; b.scales[9] = 0x0C;  /* sc5 = (15 | 3<<4) - 32 = 31 */
    b.qs[0] = 0x03; b.hmask[0] = 0x01;       /* element 0: q2 3, hb 1 -> 3 */
    b.qs[16] = 0x20; b.hmask[16] = 0x04;     /* element 80: q2 2, hb 1 -> 2 */
    b.qs[32] = 0x01;                         /* element 128: q2 1, hb 0 -> -3 */
    float y[256];
    if (!deq(GGUF_TTYPE_Q3_K, &b, y, 256)) return;
    EXPECT(y, 0, 0.5 * 1 * 3);
    EXPECT(y, 1, 0.5 * 1 * -4);
    EXPECT(y, 32, 0.5 * -32 * -4);   /* sc2 = -32, q = 0 - 4 */
    EXPECT(y, 80, 0.5 * 31 * 2);
    EXPECT(y, 81, 0.5 * 31 * -4);
    EXPECT(y, 128, 0.5 * -32 * -3);
}

static void fill_k4_scales(uint8_t *s) {
    s[0] = 0x05; s[4] = 0x02; /* sub-block 0: sc 5, m 2 */
    s[9] = 0x73;              /* sub-block 5: low sc 3, low m 7 */
    s[1] = 0xC0;              /* sub-block 1: sc 0; high bits of sc5 = 3 -> sc5 = 51 */
    s[5] = 0x40;              /* sub-block 1: m 0; high bits of m5 = 1 -> m5 = 23 */
}

static void test_known_q4_K(void) {
    block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = H_ONE;
    b.dmin = H_QUARTER;
    fill_k4_scales(b.scales);
    b.qs[0] = 0x9A;  /* element 0 (low) q 10, element 32 (high) q 9 */
    b.qs[67] = 0xF0; /* element 163 = sub-block 5, high nibble of chunk 2, l 3 -> q 15 */
    float y[256];
    if (!deq(GGUF_TTYPE_Q4_K, &b, y, 256)) return;
    EXPECT(y, 0, 5 * 10 - 0.25 * 2);
    EXPECT(y, 1, 5 * 0 - 0.25 * 2);
    EXPECT(y, 32, 0.0);
    EXPECT(y, 163, 51 * 15 - 0.25 * 23);
    EXPECT(y, 160, -0.25 * 23);
    EXPECT(y, 131, 0.0); /* low nibble of qs[67] is 0, sub-block 4 sc = 0, m = 0 */
}

static void test_known_q5_K(void) {
    block_q5_K b;
    memset(&b, 0, sizeof b);
    b.d = H_HALF;
    b.dmin = H_QUARTER;
    fill_k4_scales(b.scales);
    b.qs[0] = 0x9A;
    b.qs[67] = 0xF0;
    b.qh[0] = 0x01; /* element 0 high bit (sub-block 0) */
    b.qh[3] = 0x20; /* element 163 high bit (sub-block 5) */
    float y[256];
    if (!deq(GGUF_TTYPE_Q5_K, &b, y, 256)) return;
    EXPECT(y, 0, 0.5 * 5 * 26 - 0.25 * 2);
    EXPECT(y, 163, 0.5 * 51 * 31 - 0.25 * 23);
    EXPECT(y, 3 + 128, 0.0); /* qh[3] bit 4 clear, sc4 = 0 */
}

static void test_known_q6_K(void) {
    block_q6_K b;
    memset(&b, 0, sizeof b);
    b.d = H_HALF;
    b.scales[0] = 2; b.scales[2] = 4; b.scales[4] = 1; b.scales[5] = -3; b.scales[15] = 127;
    b.ql[0] = 0x5F;  /* element 0 low4 15, element 64 low4 5 */
    b.qh[0] = 0x0E;  /* element 0 high2 2, element 32 high2 3, element 64 high2 0 */
    b.ql[32] = 0x01; /* element 32 low4 1 */
    b.ql[16] = 0x30; /* element 80 low4 3 */
    b.qh[16] = 0x30; /* element 80 high2 3 */
    float y[256];
    if (!deq(GGUF_TTYPE_Q6_K, &b, y, 256)) return;
    EXPECT(y, 0, 0.5 * 2 * 15);   /* q = 47 - 32 */
    EXPECT(y, 32, 0.5 * 4 * 17);  /* q = 49 - 32 */
    EXPECT(y, 64, 0.5 * 1 * -27); /* q = 5 - 32 */
    EXPECT(y, 80, 0.5 * -3 * 19); /* q = 51 - 32 */
    EXPECT(y, 255, 0.5 * 127 * -32);
}

/* ---------- random round trips ---------- */

static uint64_t g_rng = 0x853c49e6748fea9bull;
static double rng_uniform(void) {
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
/* approximately N(0, 1): Irwin-Hall sum of 4 uniforms, like the fx weights */
static float rng_normal(void) {
    double s = rng_uniform() + rng_uniform() + rng_uniform() + rng_uniform();
    return (float)((s - 2.0) * sqrt(3.0));
}

typedef struct rt_case { uint32_t type; double bound; } rt_case;
static const rt_case RT_CASES[] = {
    {GGUF_TTYPE_F32, 0.0},     {GGUF_TTYPE_F16, 0.0003},  {GGUF_TTYPE_BF16, 0.0025},
    {GGUF_TTYPE_Q8_0, 0.006},  {GGUF_TTYPE_Q8_1, 0.006},  {GGUF_TTYPE_Q8_K, 0.0075},
    {GGUF_TTYPE_Q6_K, 0.02},   {GGUF_TTYPE_Q5_K, 0.04},   {GGUF_TTYPE_Q5_1, 0.045},
    {GGUF_TTYPE_Q5_0, 0.045},  {GGUF_TTYPE_Q4_K, 0.075},  {GGUF_TTYPE_Q4_1, 0.085},
    {GGUF_TTYPE_Q4_0, 0.09},   {GGUF_TTYPE_Q3_K, 0.16},   {GGUF_TTYPE_Q2_K, 0.32},
};

static void test_roundtrip_random(void) {
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    uint8_t *q = malloc(N * 4);
    if (!x || !y || !q) { T_CHECK(false); free(x); free(y); free(q); return; }
    for (int i = 0; i < N; i++) x[i] = 0.02f * rng_normal();
    for (size_t c = 0; c < sizeof RT_CASES / sizeof RT_CASES[0]; c++) {
        const rt_case *rc = &RT_CASES[c];
        pp_err err;
        T_CHECK(quant_type_quantizable(rc->type));
        pp_status st = quant_quantize_row(rc->type, x, q, N, &err);
        T_CHECK_MSG(st == PP_OK, "%s", err.msg);
        if (st != PP_OK || !deq(rc->type, q, y, N)) continue;
        double num = 0, den = 0;
        for (int i = 0; i < N; i++) {
            num += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
            den += (double)x[i] * x[i];
        }
        double e = sqrt(num / den);
        printf("roundtrip %-5s rel rmse %.5f (bound %.4f)\n", quant_type_name(rc->type), e, rc->bound);
        T_CHECK_MSG(e <= rc->bound, "%s: rel rmse %.5f > %.4f", quant_type_name(rc->type), e, rc->bound);
        /* scaling the input by a power of two scales the result exactly, as long as the
         * fp16 scales stay normal (weights of std 0.02 give subnormal Q6_K scales, so the
         * check runs on std 1.28 data) */
        if (rc->type != GGUF_TTYPE_F32 && rc->bound > 0.001) {
            uint8_t *q2 = malloc(N * 4);
            float *y2 = malloc(N * sizeof(float)), *x64 = malloc(N * sizeof(float));
            if (!q2 || !y2 || !x64) { free(q2); free(y2); free(x64); T_CHECK(false); continue; }
            for (int i = 0; i < N; i++) x64[i] = x[i] * 64.0f;
            for (int i = 0; i < N; i++) y[i] = x[i] * 256.0f;
            if (quant_quantize_row(rc->type, y, q2, N, &err) == PP_OK &&
                quant_quantize_row(rc->type, x64, q, N, &err) == PP_OK &&
                deq(rc->type, q2, y2, N) && deq(rc->type, q, y, N)) {
                int bad = 0;
                for (int i = 0; i < N; i++) bad += y2[i] != 4.0f * y[i];
                T_CHECK_MSG(bad == 0, "%s: %d values not scaled exactly", quant_type_name(rc->type), bad);
            }
            free(q2);
            free(y2);
            free(x64);
        }
    }
    free(x); free(y); free(q);
}

/* ---------- zero and extreme inputs ---------- */

/* Offset of the fp16 super-scale d in a block (where the all-zero rule is visible). */
static int d_offset(uint32_t type) {
    switch (type) {
    case GGUF_TTYPE_Q2_K: return 80;
    case GGUF_TTYPE_Q3_K: return 108;
    case GGUF_TTYPE_Q6_K: return 208;
    default: return 0;
    }
}

static bool is_block_type(uint32_t t) { return quant_block_size(t) > 1; }

static void test_zero_blocks(void) {
    enum { N = 512 };
    float x[N] = {0}, y[N];
    uint8_t q[N * 4];
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++) {
        if (!quant_type_quantizable(t)) continue;
        pp_err err;
        memset(q, 0xAB, sizeof q);
        T_CHECK(quant_quantize_row(t, x, q, N, &err) == PP_OK);
        if (is_block_type(t)) {
            /* Q4_0/Q5_0 store d = 0/-8 = -0.0 (0x8000), as llama.cpp does */
            const uint8_t *d = q + d_offset(t);
            float dv;
            if (t == GGUF_TTYPE_Q8_K) memcpy(&dv, d, 4);
            else dv = pp_f16_to_f32((uint16_t)(d[0] | d[1] << 8));
            bool zero = dv == 0.0f;
            T_CHECK_MSG(zero, "%s: d of a zero block is not 0", quant_type_name(t));
        }
        for (int i = 0; i < N; i++) y[i] = NAN;
        if (!deq(t, q, y, N)) continue;
        int bad = 0;
        for (int i = 0; i < N; i++) bad += !(y[i] == 0.0f);
        T_CHECK_MSG(bad == 0, "%s: %d non-zero values from a zero block", quant_type_name(t), bad);
    }
}

static void test_extreme_scales(void) {
    enum { N = 256 };
    float x[N], y[N];
    uint8_t q[N * 4];
    pp_err err;
    /* tiny: below fp16's range the scale flushes to zero -> exact zeros, never NaN */
    for (int i = 0; i < N; i++) x[i] = 1e-30f * rng_normal();
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++) {
        if (!quant_type_quantizable(t)) continue;
        T_CHECK(quant_quantize_row(t, x, q, N, &err) == PP_OK);
        if (!deq(t, q, y, N)) continue;
        int bad = 0;
        for (int i = 0; i < N; i++) {
            bool keeps = t == GGUF_TTYPE_F32 || t == GGUF_TTYPE_BF16 || t == GGUF_TTYPE_Q8_K;
            bad += keeps ? !(fabsf(y[i] - x[i]) <= 0.01f * 4e-30f) : !(y[i] == 0.0f);
        }
        T_CHECK_MSG(bad == 0, "%s: %d bad values for 1e-30 input", quant_type_name(t), bad);
    }
    /* huge: 1e30 overflows the fp16 scale to inf exactly as llama.cpp does; Q8_K (f32 scale)
     * and BF16 still represent it */
    for (int i = 0; i < N; i++) x[i] = (i % 7 == 0 ? 1e30f : 1.0f) * (i % 2 ? -1.0f : 1.0f);
    for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++) {
        if (!quant_type_quantizable(t)) continue;
        T_CHECK(quant_quantize_row(t, x, q, N, &err) == PP_OK);
        if (!deq(t, q, y, N)) continue;
        if (t == GGUF_TTYPE_Q8_K || t == GGUF_TTYPE_BF16 || t == GGUF_TTYPE_F32)
            T_CHECK_MSG(fabsf(y[0] - 1e30f) <= 0.01f * 1e30f, "%s: y[0] = %g", quant_type_name(t), y[0]);
    }
    block_q8_0 b8;
    quant_quantize_row_q8_0_ref(x, &b8, 32);
    T_CHECK(b8.d == 0x7C00); /* +inf */
    block_q4_0 b4;
    quant_quantize_row_q4_0_ref(x, &b4, 32);
    T_CHECK(b4.d == 0xFC00); /* d = max / -8 = -inf */
    /* mixture inside the fp16 range: the large value survives to ~1/127, the small ones
     * round to zero */
    for (int i = 0; i < 32; i++) x[i] = 1e-4f;
    x[5] = 3e4f;
    quant_quantize_row_q8_0_ref(x, &b8, 32);
    quant_dequantize_row_q8_0(&b8, y, 32);
    T_CHECK_MSG(fabsf(y[5] - 3e4f) < 3e4f / 127, "y[5] = %g", y[5]);
    T_CHECK(y[0] == 0.0f && y[31] == 0.0f);
    for (int i = 0; i < 256; i++) x[i] = i == 77 ? -5e4f : 1e-3f * (float)(i % 5);
    block_q6_K b6;
    quant_quantize_row_q6_K_ref(x, &b6, 256);
    quant_dequantize_row_q6_K(&b6, y, 256);
    T_CHECK_MSG(fabsf(y[77] + 5e4f) < 5e4f * 0.02f, "y[77] = %g", y[77]);
    for (int i = 0; i < 256; i++) T_CHECK(isfinite(y[i]));
}

/* ---------- rounding rules and ties ---------- */

static int q4_0_nib(const block_q4_0 *b, int e) {
    return e < 16 ? (b->qs[e] & 0xF) : (b->qs[e - 16] >> 4);
}

static void test_ties_q4_0(void) {
    /* max = -8 -> d = 1, id = 1, so x*id is exact: x + 8.5 truncated -> ties round up */
    float x[32] = {-8.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, 7.5f, -7.5f, 0.49f, -0.51f};
    const int want[10] = {0, 9, 8, 10, 7, 11, 15, 1, 8, 7};
    block_q4_0 b;
    quant_quantize_row_q4_0_ref(x, &b, 32);
    T_CHECK(b.d == H_ONE);
    for (int e = 0; e < 10; e++)
        T_CHECK_MSG(q4_0_nib(&b, e) == want[e], "element %d: q %d want %d", e, q4_0_nib(&b, e), want[e]);
    T_CHECK(q4_0_nib(&b, 31) == 8);
    /* first maximum wins among equal magnitudes */
    float y[32] = {0};
    y[3] = 3.0f; y[9] = -3.0f;
    quant_quantize_row_q4_0_ref(y, &b, 32);
    T_CHECK(b.d == pp_f32_to_f16(-0.375f));
    y[3] = -3.0f; y[9] = 3.0f;
    quant_quantize_row_q4_0_ref(y, &b, 32);
    T_CHECK(b.d == pp_f32_to_f16(0.375f));
}

static void test_ties_q8(void) {
    /* amax = 127 -> d = 1, scale 1: ref rounds half away from zero, x86 half to even */
    float x[32] = {127.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 126.5f, -126.5f};
    const int want_ref[9] = {127, 1, -1, 2, -2, 3, -3, 127, -127};
    const int want_x86[9] = {127, 0, 0, 2, -2, 2, -2, 126, -126};
    block_q8_0 a, b;
    quant_quantize_row_q8_0_ref(x, &a, 32);
    quant_quantize_row_q8_0_x86(x, &b, 32);
    T_CHECK(a.d == H_ONE && b.d == H_ONE);
    for (int e = 0; e < 9; e++) {
        T_CHECK_MSG(a.qs[e] == want_ref[e], "ref element %d: %d want %d", e, a.qs[e], want_ref[e]);
        T_CHECK_MSG(b.qs[e] == want_x86[e], "x86 element %d: %d want %d", e, b.qs[e], want_x86[e]);
    }
    /* Q8_1: same quants as Q8_0 ref, s = d * sum(q) */
    block_q8_1 c;
    quant_quantize_row_q8_1_ref(x, &c, 32);
    int sum = 0;
    for (int e = 0; e < 32; e++) {
        T_CHECK(c.qs[e] == a.qs[e]);
        sum += c.qs[e];
    }
    T_CHECK(c.s == pp_f32_to_f16((float)sum));
    /* x86 scale is 127/amax (not 1/(amax/127)): a case where the two differ by an ulp */
    float z[32] = {0};
    int diff = 0;
    for (int t = 1; t < 2000 && !diff; t++) {
        z[0] = 0.001f * (float)t + 0.3f;
        float d = z[0] / 127.0f, s_ref = 1.0f / d, s_x86 = 127.0f / z[0];
        diff = s_ref != s_x86;
    }
    T_CHECK_MSG(diff, "no amax found where 1/(amax/127) != 127/amax");
}

static void test_q8_K_rules(void) {
    static float x[256];
    memset(x, 0, sizeof x);
    x[0] = 127.0f; /* max = 127 -> iscale = -1, d = -1 */
    x[1] = 0.5f; x[2] = 1.5f; x[3] = 2.5f; x[4] = -0.5f; x[5] = -127.0f; x[20] = 3.0f;
    block_q8_K b;
    quant_quantize_row_q8_K_ref(x, &b, 256);
    T_CHECK(b.d == -1.0f);
    const int want[6] = {-127, 0, -2, -2, 0, 127}; /* nearest_int ties to even */
    for (int e = 0; e < 6; e++) T_CHECK_MSG(b.qs[e] == want[e], "element %d: %d", e, b.qs[e]);
    T_CHECK(b.bsums[0] == -127 + 0 - 2 - 2 + 0 + 127);
    T_CHECK(b.bsums[1] == -3);
    T_CHECK(b.bsums[2] == 0);
    /* first of equal magnitudes wins: -127 first -> iscale = +1, d = +1 */
    x[0] = -127.0f; x[5] = 127.0f;
    quant_quantize_row_q8_K_ref(x, &b, 256);
    T_CHECK(b.d == 1.0f && b.qs[0] == -127 && b.qs[5] == 127);
}

/* ---------- dispatcher errors and table ---------- */

static void test_errors(void) {
    float x[512] = {0}, y[512];
    uint8_t q[4096] = {0};
    pp_err err;
    T_CHECK(quant_dequantize_row(GGUF_TTYPE_IQ2_XS, q, y, 256, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strcmp(err.msg, "type IQ2_XS is not supported yet") == 0, "%s", err.msg);
    T_CHECK(quant_quantize_row(GGUF_TTYPE_MXFP4, x, q, 32, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strcmp(err.msg, "type MXFP4 is not supported yet") == 0, "%s", err.msg);
    T_CHECK(quant_dequantize_row(GGUF_TTYPE_F64, q, y, 4, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strcmp(err.msg, "type F64 is not supported yet") == 0, "%s", err.msg);
    T_CHECK(quant_dequantize_row(4, q, y, 32, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strcmp(err.msg, "type 4 is unknown") == 0, "%s", err.msg);
    T_CHECK(quant_dequantize_row(1000, q, y, 32, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(strcmp(err.msg, "type 1000 is unknown") == 0, "%s", err.msg);
    T_CHECK(quant_dequantize_row(GGUF_TTYPE_Q4_0, q, y, 33, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strcmp(err.msg, "element count 33 is not a multiple of the Q4_0 block size 32") == 0,
                "%s", err.msg);
    T_CHECK(quant_quantize_row(GGUF_TTYPE_Q4_K, x, q, 128, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strcmp(err.msg, "element count 128 is not a multiple of the Q4_K block size 256") == 0,
                "%s", err.msg);
    T_CHECK(quant_dequantize_row(GGUF_TTYPE_F16, q, y, -2, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strcmp(err.msg, "element count -2 is negative") == 0, "%s", err.msg);
    T_CHECK(quant_dequantize_row(GGUF_TTYPE_Q6_K, q, y, 0, &err) == PP_OK);
    /* non-finite input names the element */
    x[17] = NAN;
    T_CHECK(quant_quantize_row(GGUF_TTYPE_Q4_K, x, q, 256, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strcmp(err.msg, "non-finite value at element 17") == 0, "%s", err.msg);
    x[17] = 0;
    x[300] = -INFINITY;
    T_CHECK(quant_quantize_row(GGUF_TTYPE_Q8_0, x, q, 512, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strcmp(err.msg, "non-finite value at element 300") == 0, "%s", err.msg);
    T_CHECK(quant_quantize_row(GGUF_TTYPE_F16, x, q, 512, &err) == PP_ERR_ARG);
}

static void test_table(void) {
    T_CHECK(quant_row_bytes(GGUF_TTYPE_Q4_0, 256) == 144);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_Q4_K, 256) == 144);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_Q6_K, 512) == 420);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_Q8_K, 256) == 292);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_F32, 3) == 12);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_BF16, 3) == 6);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_IQ2_XS, 256) == 74);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_MXFP4, 64) == 34);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_Q4_0, 100) == 0);
    T_CHECK(quant_row_bytes(5, 32) == 0);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_COUNT, 32) == 0);
    T_CHECK(quant_row_bytes(GGUF_TTYPE_F32, UINT64_MAX / 2) == 0); /* overflow */
    T_CHECK(strcmp(quant_type_name(GGUF_TTYPE_Q5_K), "Q5_K") == 0);
    T_CHECK(strcmp(quant_type_name(31), "?") == 0);
    const uint32_t sup[] = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 30};
    int n_sup = 0;
    for (uint32_t t = 0; t < 64; t++) n_sup += quant_type_supported(t);
    T_CHECK(n_sup == (int)(sizeof sup / sizeof sup[0]));
    for (size_t i = 0; i < sizeof sup / sizeof sup[0]; i++) {
        T_CHECK(quant_type_supported(sup[i]));
        T_CHECK(quant_type_quantizable(sup[i]));
    }
    T_CHECK(!quant_type_supported(GGUF_TTYPE_IQ4_NL));
    T_CHECK(!quant_type_quantizable(GGUF_TTYPE_TQ2_0));
}

/* Misaligned byte buffers go through the staging path and give the same results. */
static void test_misaligned(void) {
    enum { N = 256 * 20 };
    static float x[N], y1[N], y2[N];
    static uint8_t q1[N * 2], q2[N * 2 + 1];
    pp_err err;
    for (int i = 0; i < N; i++) x[i] = rng_normal();
    const uint32_t types[] = {GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q8_K, GGUF_TTYPE_Q6_K, GGUF_TTYPE_F16};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        uint32_t t = types[k];
        uint64_t bytes = quant_row_bytes(t, N);
        T_CHECK(quant_quantize_row(t, x, q1, N, &err) == PP_OK);
        T_CHECK(quant_quantize_row(t, x, q2 + 1, N, &err) == PP_OK);
        T_CHECK_MSG(memcmp(q1, q2 + 1, bytes) == 0, "%s", quant_type_name(t));
        T_CHECK(quant_dequantize_row(t, q1, y1, N, &err) == PP_OK);
        T_CHECK(quant_dequantize_row(t, q2 + 1, y2, N, &err) == PP_OK);
        T_CHECK_MSG(memcmp(y1, y2, sizeof y1) == 0, "%s", quant_type_name(t));
    }
}

/* F16/BF16 through the dispatcher are the core conversions. */
static void test_float_conversions(void) {
    float x[4] = {1.0f, -65504.0f, 1e-8f, 3.14159265f};
    uint16_t h[4], b[4];
    pp_err err;
    T_CHECK(quant_quantize_row(GGUF_TTYPE_F16, x, h, 4, &err) == PP_OK);
    T_CHECK(quant_quantize_row(GGUF_TTYPE_BF16, x, b, 4, &err) == PP_OK);
    for (int i = 0; i < 4; i++) {
        T_CHECK(h[i] == pp_f32_to_f16(x[i]));
        T_CHECK(b[i] == pp_f32_to_bf16(x[i]));
    }
    T_CHECK(h[0] == 0x3C00 && h[1] == 0xFBFF && b[3] == 0x4049);
}

int main(void) {
    T_RUN(test_known_float);
    T_RUN(test_known_q4_0);
    T_RUN(test_known_q4_1);
    T_RUN(test_known_q5);
    T_RUN(test_known_q8);
    T_RUN(test_known_q2_K);
    T_RUN(test_known_q3_K);
    T_RUN(test_known_q4_K);
    T_RUN(test_known_q5_K);
    T_RUN(test_known_q6_K);
    T_RUN(test_roundtrip_random);
    T_RUN(test_zero_blocks);
    T_RUN(test_extreme_scales);
    T_RUN(test_ties_q4_0);
    T_RUN(test_ties_q8);
    T_RUN(test_q8_K_rules);
    T_RUN(test_errors);
    T_RUN(test_table);
    T_RUN(test_misaligned);
    T_RUN(test_float_conversions);
    return t_finish("quant");
}
