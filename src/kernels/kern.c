/* kern.c - the ISA table, ops-table dispatch, the matmul driver and small element-wise ops.
 * kern_init fills one ops table per ISA the CPU has, each from its ISA row: the base ISA's
 * entries first (generic at the root), then the row's fill overrides what it implements. */
#include "kern.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "generic/generic.h"
#include "kern_internal.h"

#define N_TYPES GGUF_TTYPE_COUNT

static void set(kern_type_traits *t, uint32_t type, uint32_t act_type, uint32_t act_blck,
                kern_quantize_fn q, kern_vec_dot_fn dot) {
    t[type] = (kern_type_traits){.type = type, .act_type = act_type, .act_blck = act_blck, .quantize_act = q, .vec_dot = dot};
}

void kern_init_generic_table(kern_type_traits *t, size_t count) {
    PP_ASSERT(count >= N_TYPES);
    memset(t, 0, count * sizeof *t);
    set(t, GGUF_TTYPE_F32, GGUF_TTYPE_F32, 1, kern_act_f32_generic, kern_dot_f32_f32_generic);
    set(t, GGUF_TTYPE_F16, GGUF_TTYPE_F32, 1, kern_act_f32_generic, kern_dot_f16_f32_generic);
    set(t, GGUF_TTYPE_BF16, GGUF_TTYPE_F32, 1, kern_act_f32_generic, kern_dot_bf16_f32_generic);
    set(t, GGUF_TTYPE_Q4_0, GGUF_TTYPE_Q8_0, 32, kern_act_q8_0_generic, kern_dot_q4_0_q8_0_generic);
    set(t, GGUF_TTYPE_Q5_0, GGUF_TTYPE_Q8_0, 32, kern_act_q8_0_generic, kern_dot_q5_0_q8_0_generic);
    set(t, GGUF_TTYPE_Q8_0, GGUF_TTYPE_Q8_0, 32, kern_act_q8_0_generic, kern_dot_q8_0_q8_0_generic);
    set(t, GGUF_TTYPE_Q4_1, GGUF_TTYPE_Q8_1, 32, kern_act_q8_1_generic, kern_dot_q4_1_q8_1_generic);
    set(t, GGUF_TTYPE_Q5_1, GGUF_TTYPE_Q8_1, 32, kern_act_q8_1_generic, kern_dot_q5_1_q8_1_generic);
    set(t, GGUF_TTYPE_Q2_K, GGUF_TTYPE_Q8_K, 256, kern_act_q8_K_generic, kern_dot_q2_K_q8_K_generic);
    set(t, GGUF_TTYPE_Q3_K, GGUF_TTYPE_Q8_K, 256, kern_act_q8_K_generic, kern_dot_q3_K_q8_K_generic);
    set(t, GGUF_TTYPE_Q4_K, GGUF_TTYPE_Q8_K, 256, kern_act_q8_K_generic, kern_dot_q4_K_q8_K_generic);
    set(t, GGUF_TTYPE_Q5_K, GGUF_TTYPE_Q8_K, 256, kern_act_q8_K_generic, kern_dot_q5_K_q8_K_generic);
    set(t, GGUF_TTYPE_Q6_K, GGUF_TTYPE_Q8_K, 256, kern_act_q8_K_generic, kern_dot_q6_K_q8_K_generic);
}

static void fill_generic(kern_type_traits *t) { kern_init_generic_table(t, N_TYPES); }

static bool cpu_any(const pp_cpu *c) {
    (void)c;
    return true;
}
static bool cpu_avx2(const pp_cpu *c) { return KERN_HAVE_X86 && c->avx2 && c->fma && c->f16c; }
/* F/BW/VL/DQ: Skylake-X and later (x86-64-v4); VNNI on top: Cascade Lake, Ice Lake, Zen 4. */
static bool cpu_avx512f(const pp_cpu *c) {
    return KERN_HAVE_X86 && c->avx512f && c->avx512bw && c->avx512vl && c->avx512dq;
}
static bool cpu_avx512vnni(const pp_cpu *c) { return KERN_HAVE_X86 && c->avx512vnni; }

#if KERN_HAVE_X86
#define X86(fn) fn
#else
#define X86(fn) NULL
#endif

/* The ISAs, one row each, indexed by kern_isa, in order of preference (auto picks the last
 * one the CPU has); a row's base comes before it. A row's table starts as its base's and its
 * fill overrides what its directory implements; `has` names the CPU features its files are
 * compiled with (Makefile KERN_ISA_*), checked together with the base's. Adding an ISA: its
 * directory, its kern_isa constant, a row here and its line in the Makefile. */
static const kern_isa_row ISA_ROWS[KERN_ISA_COUNT] = {
    [KERN_ISA_GENERIC] = {"generic", KERN_ISA_GENERIC, cpu_any, fill_generic, kern_vec_fill_generic},
    [KERN_ISA_AVX2] = {"avx2", KERN_ISA_GENERIC, cpu_avx2, X86(kern_fill_avx2), X86(kern_vec_fill_avx2)},
    [KERN_ISA_AVX512F] = {"avx512f", KERN_ISA_AVX2, cpu_avx512f, X86(kern_fill_avx512f), X86(kern_vec_fill_avx512f)},
    [KERN_ISA_AVX512] = {"avx512", KERN_ISA_AVX512F, cpu_avx512vnni, X86(kern_fill_avx512), NULL},
};

static bool valid(kern_isa isa) { return isa > KERN_ISA_AUTO && isa < KERN_ISA_COUNT; }

const char *kern_isa_name(kern_isa isa) { return valid(isa) ? ISA_ROWS[isa].name : "auto"; }

bool kern_isa_supported(kern_isa isa, const pp_cpu *cpu) {
    if (!valid(isa) || !ISA_ROWS[isa].fill || !ISA_ROWS[isa].has(cpu)) return false;
    return isa == ISA_ROWS[isa].base || kern_isa_supported(ISA_ROWS[isa].base, cpu);
}

bool kern_isa_available(kern_isa isa) {
    const pp_cpu c = pp_cpu_detect();
    return kern_isa_supported(isa, &c);
}

kern_isa kern_fill_isa(kern_isa isa, const pp_cpu *cpu, kern_type_traits *table, size_t count, kern_vec_ops *vec) {
    PP_ASSERT(valid(isa) && count >= N_TYPES);
    while (!kern_isa_supported(isa, cpu)) isa = ISA_ROWS[isa].base; /* generic always is */
    const kern_isa base = ISA_ROWS[isa].base;
    if (base != isa) kern_fill_isa(base, cpu, table, count, vec);
    /* The fill functions are compiled with their ISA's flags: only called on a CPU with them. */
    ISA_ROWS[isa].fill(table);
    if (ISA_ROWS[isa].vec_fill) ISA_ROWS[isa].vec_fill(vec);
    return isa;
}

static kern_type_traits tables[KERN_ISA_COUNT][N_TYPES];
static kern_vec_ops vecs[KERN_ISA_COUNT];
static bool isa_ready[KERN_ISA_COUNT];
static kern_isa isa_active = KERN_ISA_GENERIC;
static bool tables_ready;

pp_status kern_isa_parse(const char *name, kern_isa *out, pp_err *err) {
    char names[256] = "auto";
    size_t len = strlen(names);
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        if (!strcmp(name, kern_isa_name((kern_isa)i))) {
            *out = (kern_isa)i;
            return PP_OK;
        }
        if (i > KERN_ISA_AUTO && len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i + 1 < KERN_ISA_COUNT ? ", " : " or ",
                                    ISA_ROWS[i].name);
    }
    return pp_err_set(err, PP_ERR_ARG, "unknown kernels '%s' (expected %s)", name, names);
}

kern_isa kern_init(kern_isa isa) {
    PP_ASSERT(isa >= KERN_ISA_AUTO && isa < KERN_ISA_COUNT);
    const pp_cpu cpu = pp_cpu_detect();
    kern_isa best = KERN_ISA_GENERIC;
    for (int i = KERN_ISA_GENERIC; i < KERN_ISA_COUNT; i++) {
        isa_ready[i] = kern_isa_supported((kern_isa)i, &cpu);
        if (!isa_ready[i]) continue;
        kern_fill_isa((kern_isa)i, &cpu, tables[i], N_TYPES, &vecs[i]);
        best = (kern_isa)i;
    }
    tables_ready = true;
    if (isa == KERN_ISA_AUTO) isa = best;
    while (!isa_ready[isa]) isa = ISA_ROWS[isa].base;
    isa_active = isa;
    return isa;
}

kern_isa kern_active_isa(void) { return isa_active; }

/* The table of an ISA the CPU has, NULL otherwise. */
static const kern_type_traits *table_of(kern_isa isa) {
    PP_ASSERT(tables_ready);
    return valid(isa) && isa_ready[isa] ? tables[isa] : NULL;
}

const kern_vec_ops *kern_vec(void) { return kern_vec_isa(isa_active); }
const kern_vec_ops *kern_vec_generic(void) { return kern_vec_isa(KERN_ISA_GENERIC); }
const kern_vec_ops *kern_vec_isa(kern_isa isa) { return table_of(isa) ? &vecs[isa] : NULL; }

static const kern_type_traits *lookup(const kern_type_traits *t, uint32_t wtype) {
    if (!t || wtype >= N_TYPES || !t[wtype].vec_dot) return NULL;
    return &t[wtype];
}

const kern_type_traits *kern_traits(uint32_t wtype) { return lookup(table_of(isa_active), wtype); }
const kern_type_traits *kern_traits_generic(uint32_t wtype) { return lookup(table_of(KERN_ISA_GENERIC), wtype); }
const kern_type_traits *kern_traits_isa(kern_isa isa, uint32_t wtype) { return lookup(table_of(isa), wtype); }

size_t kern_act_row_bytes(const kern_type_traits *tt, int64_t n) {
    switch (tt->act_type) {
    case GGUF_TTYPE_Q8_0: return (size_t)(n / 32) * sizeof(block_q8_0);
    case GGUF_TTYPE_Q8_1: return (size_t)(n / 32) * sizeof(block_q8_1);
    case GGUF_TTYPE_Q8_K: return (size_t)(n / 256) * sizeof(block_q8_K);
    default: return (size_t)n * sizeof(float);
    }
}

void kern_matmul(const kern_type_traits *tt, int64_t n, const void *w, size_t w_row_bytes,
                 const void *act, size_t act_row_bytes, int n_tok, float *y, int64_t y_stride,
                 int64_t r0, int64_t r1) {
    if (tt->gemm) {
        tt->gemm(n, w, w_row_bytes, act, act_row_bytes, n_tok, y, y_stride, r0, r1);
        return;
    }
    const uint8_t *wb = w, *ab = act;
    for (int64_t o = r0; o < r1; o++) {
        const void *row = wb + (size_t)o * w_row_bytes;
        for (int t = 0; t < n_tok; t++)
            y[(int64_t)t * y_stride + o] = tt->vec_dot(n, row, ab + (size_t)t * act_row_bytes);
    }
}

void kern_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    /* the sum of squares in double, vectorized in an order that is the same on every ISA
     * (scalar partial sums were ~2% of a prompt's time) */
    const double sum = kern_vec()->sumsq(x, n);
    float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    kern_vec()->scale_mul(y, x, scale, w, n);
}

void kern_softmax(float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}
