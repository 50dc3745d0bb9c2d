/* core.h - status codes and error detail, byte views, checked size math,
 * fp16/bf16 conversion, arena, thread pool, CPU detection, clocks, logging.
 *
 * Usage:
 *     pp_err err = {0};
 *     if (gguf_open(path, &f, &err) != PP_OK) { fprintf(stderr, "%s\n", err.msg); ... }
 *
 * Thread safety: every function here is reentrant; a pp_pool is driven by one
 * thread at a time (its owner), a pp_arena belongs to one thread.
 *
 * Errors (STYLE.md §4): fallible functions return pp_status and fill a
 * caller-owned pp_err with a one-line message that says where and what.
 */
#ifndef PIPPA_CORE_H
#define PIPPA_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIPPA_VERSION "0.1.0"

typedef enum pp_status {
    PP_OK = 0,
    PP_ERR_ARG,         /* bad argument from the caller or the user */
    PP_ERR_IO,          /* file system or network failure */
    PP_ERR_FORMAT,      /* malformed input data */
    PP_ERR_UNSUPPORTED, /* well-formed but not handled (e.g. IQ2_XS tensor) */
    PP_ERR_NOMEM,       /* allocation failed (user-chosen sizes, so not an abort) */
    PP_ERR_NOT_FOUND,   /* key, tensor, model, file not present */
    PP_ERR_CANCELLED,   /* stopped by the user or a disconnecting client */
    PP_ERR_INTERNAL,    /* our own bug detected at run time */
    PP_STATUS_COUNT
} pp_status;

#define PP_ERR_MSG_MAX 768

typedef struct pp_err {
    pp_status status;
    char msg[PP_ERR_MSG_MAX];
} pp_err;

/* Sets err (when not NULL) to status + formatted message and returns status. */
pp_status pp_err_set(pp_err *err, pp_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix" to an existing message ("model.gguf: " + msg). Returns err->status. */
pp_status pp_err_prefix(pp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *pp_status_name(pp_status status);

/* Our own bugs only, never input (STYLE.md §4). */
#define PP_ASSERT(x)                                                                     \
    do {                                                                                 \
        if (!(x)) pp_assert_fail(__FILE__, __LINE__, #x);                                \
    } while (0)
_Noreturn void pp_assert_fail(const char *file, int line, const char *expr);

/* Borrowed bytes: pointer + length, not NUL-terminated. */
typedef struct pp_view {
    const char *ptr;
    size_t len;
} pp_view;

static inline pp_view pp_view_cstr(const char *s);
bool pp_view_eq(pp_view v, const char *s);
/* Copies a view into a fresh NUL-terminated string (caller frees). NULL on OOM. */
char *pp_view_dup(pp_view v);

/* Overflow-checked arithmetic: return false on overflow, *out untouched. */
static inline bool pp_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool pp_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return false;
    *out = a + b;
    return true;
}
static inline pp_view pp_view_cstr(const char *s) {
    pp_view v = {s, 0};
    while (s && s[v.len]) v.len++;
    return v;
}

/* IEEE binary16 and bfloat16 (quant-formats.md §0). f32->f16 is round-to-nearest-even,
 * overflow to inf, NaN to 0x7E00; f32->bf16 is RNE with NaN -> (bits>>16)|0x40. */
static inline float pp_f16_to_f32(uint16_t h);
uint16_t pp_f32_to_f16(float f);
static inline float pp_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}
uint16_t pp_f32_to_bf16(float f);
/* Exact binary16 -> binary32 (inline: it sits in inner loops of the reference kernels). */
static inline float pp_f16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v;
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0x1F) {
        v.u = sign | 0x7F800000u | (man << 13); /* inf / nan */
    } else if (exp == 0) {
        v.f = (float)man * 5.9604644775390625e-08f; /* zero or subnormal: man * 2^-24, exact */
        v.u |= sign;
    } else {
        v.u = sign | ((exp + 112) << 23) | (man << 13);
    }
    return v.f;
}

/* Arena: one block allocated up front, bump allocation, freed as a whole. */
typedef struct pp_arena {
    uint8_t *base;
    size_t size; /* bytes reserved */
    size_t used; /* bytes handed out */
} pp_arena;
pp_status pp_arena_init(pp_arena *a, size_t size, pp_err *err);
/* Returns NULL when the arena is full (a sizing bug in the caller). align: power of 2. */
void *pp_arena_alloc(pp_arena *a, size_t size, size_t align);
void pp_arena_free(pp_arena *a);

/* Persistent thread pool (STYLE.md §6). pp_pool_run calls fn(ctx, ith, nth) on every
 * thread, the caller being thread 0, and returns when all have finished. */
typedef struct pp_pool pp_pool;
typedef void (*pp_task_fn)(void *ctx, int ith, int nth);
pp_status pp_pool_init(int n_threads, pp_pool **out, pp_err *err);
void pp_pool_run(pp_pool *pool, pp_task_fn fn, void *ctx);
int pp_pool_size(const pp_pool *pool);
void pp_pool_free(pp_pool *pool);
/* Splits [0, n) into nth contiguous parts; part ith is [*lo, *hi). */
static inline void pp_split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    int64_t per = n / nth, rem = n % nth;
    *lo = ith * per + (ith < rem ? ith : rem);
    *hi = *lo + per + (ith < rem ? 1 : 0);
}
int pp_cpu_count(void);

/* CPU features, for kernel dispatch. */
typedef struct pp_cpu {
    bool avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16, avx512vbmi;
} pp_cpu;
pp_cpu pp_cpu_detect(void);
/* "AVX2 FMA F16C AVX512F ..." for display; writes at most cap bytes. */
void pp_cpu_describe(pp_cpu cpu, char *buf, size_t cap);

/* Monotonic clock. */
uint64_t pp_time_ns(void);
static inline double pp_time_s(void) { return (double)pp_time_ns() * 1e-9; }

/* Logging to stderr; level from PIPPA_LOG (error, warn, info, debug), default warn. */
typedef enum pp_log_level { PP_LOG_ERROR, PP_LOG_WARN, PP_LOG_INFO, PP_LOG_DEBUG } pp_log_level;
void pp_log(pp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file into a malloc'd buffer (NUL-terminated; *len excludes the NUL). */
pp_status pp_read_file(const char *path, char **out, size_t *len, size_t max_len, pp_err *err);

/* Typed option fields (core/opt.c): one numeric field of a params struct, its range and
 * how a text value is read, for the options table (src/engine/options.c) and the
 * sampler's rows (src/sample/samp_params.c). Messages name the option:
 * "option 'top_p': 1.5 is outside [0, 1]", "option 'top_k': -3 must be >= 0",
 * "option 'num_ctx': expected integer, got 'big'", "option 'seed': 1e99 is out of range". */
typedef enum pp_opt_kind { PP_OPT_KIND_F32, PP_OPT_KIND_I32, PP_OPT_KIND_U32, PP_OPT_KIND_I64 } pp_opt_kind;
typedef struct pp_opt {
    const char *name;
    pp_opt_kind kind;
    double lo, hi;    /* allowed values; -HUGE_VAL / HUGE_VAL: unbounded on that side */
    bool lo_open;     /* the value must be > lo, not >= lo */
    const char *note; /* appended to a lower-bound message: " (-1 = num_ctx)", or NULL */
    size_t offset;    /* of the field in its struct */
} pp_opt;
/* Checks one value (a finite number in the range). */
pp_status pp_opt_check(const pp_opt *o, double v, pp_err *err);
/* The field's value in the struct at base. */
double pp_opt_get(const void *base, const pp_opt *o);
/* Sets the field from text: a whole decimal integer or finite number with nothing around it
 * ("4x", " 4", "", "inf", "0x10" are refused), then checked. On error *base is unchanged. */
pp_status pp_opt_set_text(void *base, const pp_opt *o, const char *text, pp_err *err);

#endif
