/* kern.c - ops-table dispatch, the matmul driver and small element-wise ops.
 * The table is filled once by kern_init: generic entries first, then the chosen ISA's
 * file overrides what it implements (kern_fill_avx2 / kern_fill_avx512). */
#include "kern.h"

#include <math.h>
#include <string.h>

#include "generic/generic.h"
#include "kern_internal.h"

#define N_TYPES GGUF_TTYPE_COUNT

static kern_type_traits table_generic[N_TYPES];
static kern_type_traits table_avx2[N_TYPES];
static kern_type_traits table_avx512[N_TYPES];
static const kern_type_traits *table_active = table_generic;
static kern_isa isa_active = KERN_ISA_GENERIC;
static bool tables_ready;
static kern_vec_ops vec_generic, vec_avx2, vec_avx512;
static const kern_vec_ops *vec_active = &vec_generic;


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

const char *kern_isa_name(kern_isa isa) {
    switch (isa) {
    case KERN_ISA_GENERIC: return "generic";
    case KERN_ISA_AVX2: return "avx2";
    case KERN_ISA_AVX512: return "avx512";
    default: return "auto";
    }
}

bool kern_isa_available(kern_isa isa) {
    pp_cpu c = pp_cpu_detect();
    switch (isa) {
    case KERN_ISA_GENERIC: return true;
    case KERN_ISA_AVX2: return KERN_HAVE_X86 && c.avx2 && c.fma && c.f16c;
    case KERN_ISA_AVX512:
        return KERN_HAVE_X86 && c.avx2 && c.fma && c.f16c && c.avx512f && c.avx512bw &&
               c.avx512vl && c.avx512dq && c.avx512vnni && c.avx512bf16 && c.avx512vbmi;
    default: return false;
    }
}

static void build_tables(void) {
    kern_init_generic_table(table_generic, N_TYPES);
    kern_vec_fill_generic(&vec_generic);
    vec_avx2 = vec_avx512 = vec_generic;
    memcpy(table_avx2, table_generic, sizeof table_generic);
    memcpy(table_avx512, table_generic, sizeof table_generic);
#if KERN_HAVE_X86
    /* The fill functions are compiled with ISA flags: never call them on a CPU without. */
    if (kern_isa_available(KERN_ISA_AVX2)) {
        kern_fill_avx2(table_avx2);
        kern_vec_fill_avx2(&vec_avx2);
        vec_avx512 = vec_avx2;
    }
    memcpy(table_avx512, table_avx2, sizeof table_avx2);
    if (kern_isa_available(KERN_ISA_AVX512)) {
        kern_fill_avx512(table_avx512);
        kern_vec_fill_avx512(&vec_avx512);
    }
#endif
    tables_ready = true;
}

pp_status kern_isa_parse(const char *name, kern_isa *out, pp_err *err) {
    for (int i = 0; i < KERN_ISA_COUNT; i++) {
        if (!strcmp(name, kern_isa_name((kern_isa)i))) {
            *out = (kern_isa)i;
            return PP_OK;
        }
    }
    return pp_err_set(err, PP_ERR_ARG, "unknown kernels '%s' (expected auto, generic, avx2 or avx512)", name);
}

kern_isa kern_init(kern_isa isa) {
    build_tables();
    if (isa == KERN_ISA_AUTO) {
        isa = kern_isa_available(KERN_ISA_AVX512) ? KERN_ISA_AVX512
              : kern_isa_available(KERN_ISA_AVX2) ? KERN_ISA_AVX2
                                                  : KERN_ISA_GENERIC;
    }
    if (!kern_isa_available(isa)) isa = kern_isa_available(KERN_ISA_AVX2) ? KERN_ISA_AVX2 : KERN_ISA_GENERIC;
    isa_active = isa;
    table_active = isa == KERN_ISA_AVX512 ? table_avx512 : isa == KERN_ISA_AVX2 ? table_avx2 : table_generic;
    vec_active = isa == KERN_ISA_AVX512 ? &vec_avx512 : isa == KERN_ISA_AVX2 ? &vec_avx2 : &vec_generic;
    return isa;
}

kern_isa kern_active_isa(void) { return isa_active; }

const kern_vec_ops *kern_vec(void) {
    PP_ASSERT(tables_ready);
    return vec_active;
}
const kern_vec_ops *kern_vec_generic(void) {
    PP_ASSERT(tables_ready);
    return &vec_generic;
}
const kern_vec_ops *kern_vec_isa(kern_isa isa) {
    PP_ASSERT(tables_ready);
    switch (isa) {
    case KERN_ISA_GENERIC: return &vec_generic;
    case KERN_ISA_AVX2: return &vec_avx2;
    case KERN_ISA_AVX512: return &vec_avx512;
    default: return NULL;
    }
}

static const kern_type_traits *lookup(const kern_type_traits *t, uint32_t wtype) {
    if (wtype >= N_TYPES || !t[wtype].vec_dot) return NULL;
    return &t[wtype];
}

const kern_type_traits *kern_traits(uint32_t wtype) {
    PP_ASSERT(tables_ready);
    return lookup(table_active, wtype);
}

const kern_type_traits *kern_traits_generic(uint32_t wtype) {
    PP_ASSERT(tables_ready);
    return lookup(table_generic, wtype);
}

const kern_type_traits *kern_traits_isa(kern_isa isa, uint32_t wtype) {
    PP_ASSERT(tables_ready);
    switch (isa) {
    case KERN_ISA_GENERIC: return lookup(table_generic, wtype);
    case KERN_ISA_AVX2: return lookup(table_avx2, wtype);
    case KERN_ISA_AVX512: return lookup(table_avx512, wtype);
    default: return NULL;
    }
}

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
