/* kern.h - compute kernels: an ops table filled at start-up from CPU detection.
 *
 * Usage:
 *     kern_init(KERN_ISA_AUTO);                 // once, in main, before any thread exists
 *     const kern_type_traits *tt = kern_traits(GGUF_TTYPE_Q4_0);
 *     tt->quantize_act(x, act, n);              // activation row -> Q8_0 blocks
 *     kern_matmul(tt, W, row_bytes, n, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
 *
 * Every op has a plain C reference in generic/ (the specification: plain loops, double
 * accumulation, always built). x86_avx2/, x86_avx512f/ and x86_avx512/ (VNNI) hold faster
 * variants of the same signatures, one ISA row each in kern.c, picked by kern_init from
 * pp_cpu_detect(); kern_init(KERN_ISA_GENERIC) forces the reference so a wrong answer can be
 * bisected. The kernels read no environment: main parses PIPPA_KERNELS or --kernels with
 * kern_isa_parse and passes the result to kern_init.
 *
 * Matmul convention (ggml's): weight W has rows of n_in contiguous elements (ne[0]) and
 * y[t][o] = sum_i W[o][i] * x[t][i]. The activation row x[t] is first converted once to the
 * weight type's activation format (act_type): Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
 * Q8_K for the K-quants, F32 for F32/F16/BF16 weights.
 *
 * Thread safety: kern_init writes the tables and must return before any other kern_* call
 * and before any thread that uses kernels starts (the getters assert it ran); after it,
 * every kernel is reentrant and kernels never allocate, log or touch globals.
 */
#ifndef PIPPA_KERN_H
#define PIPPA_KERN_H

#include "../quant/quant.h"

typedef enum kern_isa {
    KERN_ISA_AUTO = 0,
    KERN_ISA_GENERIC,
    KERN_ISA_AVX2,    /* AVX2 + FMA + F16C */
    KERN_ISA_AVX512F, /* AVX-512 F/BW/VL/DQ (16-lane float kernels, vector ops), on top of avx2 */
    KERN_ISA_AVX512,  /* + VNNI (the vpdpbusd packed integer gemms), on top of avx512f */
    KERN_ISA_COUNT
} kern_isa;

/* One dot product of a weight row with a converted activation row, n elements. */
typedef float (*kern_vec_dot_fn)(int64_t n, const void *w_row, const void *act_row);
/* Converts n f32 activations (a multiple of the block size) to the activation format. */
typedef void (*kern_quantize_fn)(const float *x, void *y, int64_t n);
/* y[t*y_stride + o] for o in [r0, r1), t in [0, n_tok). */
typedef void (*kern_gemm_fn)(int64_t n, const void *w, size_t w_row_bytes, const void *act,
                             size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,
                             int64_t r0, int64_t r1);

/* Rows per group of the AVX2 repacked layouts (a type's own group size is its traits'
 * pack_rows: 8 or 16), and the longest row a packed kernel takes. */
#define KERN_PACK_ROWS 8
#define KERN_PACK_MAX_N 131072

/* Repacks row groups [g0, g1) of a weight (n elements per row) into dst + g0 * group bytes. */
typedef void (*kern_pack_fn)(int64_t n, const void *w, size_t w_row_bytes, int64_t g0, int64_t g1, void *dst);
/* Writes row `row` of a packed weight back in the original block format (the exact inverse of
 * pack), e.g. for the embedding lookup of a tied output that is only resident packed. */
typedef void (*kern_unpack_row_fn)(int64_t n, const void *packed, size_t group_bytes, int64_t row, void *dst);

typedef struct kern_type_traits {
    uint32_t type;       /* weight type */
    uint32_t act_type;   /* activation format type id (GGUF_TTYPE_F32 for float weights) */
    uint32_t act_blck;   /* activation block size: rows must be a multiple of this */
    kern_quantize_fn quantize_act;
    kern_vec_dot_fn vec_dot;
    kern_gemm_fn gemm;   /* NULL: kern_matmul loops over vec_dot */
    /* Optional load-time repacking into a layout of this ISA (NULL: none). Rows are stored in
     * groups of pack_rows; a packed group of n elements takes pack_group_bytes(n) bytes.
     * gemm_packed takes the packed buffer as w and the group bytes as w_row_bytes; r0 and r1
     * must be multiples of pack_rows. Results equal gemm's within float rounding. */
    uint32_t pack_rows;
    size_t (*pack_group_bytes)(int64_t n);
    kern_pack_fn pack;
    kern_gemm_fn gemm_packed;
    kern_unpack_row_fn unpack_row; /* set whenever pack is */
    /* Optional (NULL: none): y = geglu(gate) * up for two weights of this type packed alike
     * (same n, rows and group bytes), i.e. gemm_packed of each then kern_vec_ops.geglu of the
     * active ISA on the pair, bit for bit, without writing the up outputs anywhere. With yq
     * (r0 and r1 multiples of 32), the result is written only as Q8_0 activation rows instead
     * (token t's blocks r0/32.. at yq + t * yq_stride), the bytes this ISA's Q8_0 quantize_act
     * makes of y's rows. */
    void (*gemm_packed_geglu)(int64_t n, const void *w_gate, const void *w_up, size_t group_bytes, const void *act,
                              size_t act_row_bytes, int n_tok, float *y, int64_t y_stride, int64_t r0, int64_t r1,
                              void *yq, size_t yq_stride);
} kern_type_traits;

/* Fills the ops tables from CPU detection and selects isa: AUTO picks the best the CPU has,
 * an ISA the CPU lacks falls back to the best one it extends that the CPU has. Returns the
 * ISA in use. Call once, before other kern_* and before any thread (calling it again, with
 * no kernel running, only reselects: tests). */
kern_isa kern_init(kern_isa isa);
/* The ISA named by name ("auto", "generic", "avx2", "avx512f", "avx512", as kern_isa_name
 * spells them). PP_ERR_ARG naming the value and the accepted names otherwise. */
pp_status kern_isa_parse(const char *name, kern_isa *out, pp_err *err);
kern_isa kern_active_isa(void);
const char *kern_isa_name(kern_isa isa);
/* True if the CPU supports the ISA's kernels (its features and its base ISA's). */
bool kern_isa_available(kern_isa isa);
/* The same for a given feature set (tests pass a simulated CPU). */
bool kern_isa_supported(kern_isa isa, const pp_cpu *cpu);

/* Traits for a weight type, or NULL if matmul with it is not supported. */
const kern_type_traits *kern_traits(uint32_t wtype);
/* The generic traits, whatever kern_init chose (tests compare against these). */
const kern_type_traits *kern_traits_generic(uint32_t wtype);
/* Table of a given ISA, NULL if the CPU lacks the ISA or it has no kernel for the type (tests). */
const kern_type_traits *kern_traits_isa(kern_isa isa, uint32_t wtype);

/* Bytes of one converted activation row of n elements. */
size_t kern_act_row_bytes(const kern_type_traits *tt, int64_t n);

/* y rows [r0, r1) for all n_tok tokens (see the convention above). */
void kern_matmul(const kern_type_traits *tt, int64_t n, const void *w, size_t w_row_bytes,
                 const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,
                 int64_t r0, int64_t r1);

/* Element-wise helpers shared by the model: rmsnorm runs on the active ISA's vec ops
 * (sumsq, scale_mul), softmax is plain C. */
/* y = x / rms(x) * w (w may be NULL: no weight). Sum of squares in double (as ggml), in four
 * interleaved partial sums. */
void kern_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps);
/* max-subtracted softmax in place; returns nothing. */
void kern_softmax(float *x, int64_t n);

/* Vector helpers for attention and the FFN, one variant per ISA with the same contract.
 * Results do not depend on the thread that computes them (fixed order per call). */
typedef struct kern_vec_ops {
    /* Attention scores of nh query rows against one key row of n elements, f32 or f16 (k_f16):
     * s[h * s_stride] = sum_i q[h * q_stride + i] * k[i]. The key row is loaded (and converted)
     * once for all the heads; each head's sum takes the same steps whatever nh is. */
    void (*attn_qk)(int64_t n, int64_t nh, const float *q, int64_t q_stride, const void *k, bool k_f16, float *s,
                    int64_t s_stride);
    /* Weighted sum of m value rows into nh output rows: for j = 0..m-1 in order,
     * out[h * o_stride + i] += p[h * p_stride + j] * v_j[i] with v_j = rows[j] (f32 or f16):
     * the same roundings as m successive axpy, with the outputs held in registers meanwhile. */
    void (*attn_pv)(int64_t n, int64_t m, int64_t nh, const float *p, int64_t p_stride, const void *const *rows,
                    bool v_f16, float *out, int64_t o_stride);
    /* g[i] = gelu(g[i]) * u[i] with the tanh GELU 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))
     * computed in f32. (llama.cpp's CPU backend reads it from an fp16 table instead; the exact
     * form keeps us within 1e-3 x std of a float64 reference and closer to llama.cpp's f32
     * logits than the table does to a float reference; quant-formats.md §6.) */
    void (*geglu)(float *g, const float *u, int64_t n);
    void (*f32_to_f16)(const float *x, uint16_t *y, int64_t n); /* round to nearest even */
    /* x[i] = exp(x[i] - max); returns the sum (softmax numerator and denominator) */
    float (*exp_sum)(float *x, int64_t n, float max);
    /* sum of (double)(x[i] * x[i]) (the square rounded in f32), in 16 double partial sums
     * (element i into lane i % 16) added as ((l_j + l_j+8) + ...) in the fixed tree
     * j + j+8, then j + j+4, j + j+2, j + j+1: the same bits on every ISA (rmsnorm). */
    double (*sumsq)(const float *x, int64_t n);
    /* y[i] = (x[i] * s) * w[i] (w NULL: x[i] * s); y may be x (rmsnorm's scaling) */
    void (*scale_mul)(float *y, const float *x, float s, const float *w, int64_t n);
} kern_vec_ops;
/* The active ISA's vector ops (after kern_init), and the generic ones (tests). */
const kern_vec_ops *kern_vec(void);
const kern_vec_ops *kern_vec_generic(void);
const kern_vec_ops *kern_vec_isa(kern_isa isa); /* NULL if the CPU lacks the ISA */
/* Fills table (count >= GGUF_TTYPE_COUNT entries) and vec with the kernels isa has on a CPU
 * with the features cpu: generic, then each ISA up isa's base chain that cpu supports, in
 * order. Returns the ISA filled: isa, or the best one of its base chain cpu supports. kern_init
 * fills its tables this way; tests pass a simulated CPU, which must not claim a feature the
 * running CPU lacks (the fill functions are compiled with their ISA's flags). */
kern_isa kern_fill_isa(kern_isa isa, const pp_cpu *cpu, kern_type_traits *table, size_t count, kern_vec_ops *vec);


/* Generic reference kernels (exported for the tests and the fallback table). */
void kern_init_generic_table(kern_type_traits *table, size_t count);

#endif
