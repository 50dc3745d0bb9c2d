/* samp_params.c - sampler option defaults, validation and parsing from text.
 *
 * Invariants: every error names the option ("option 'top_p': 1.5 is outside [0, 1]");
 * samp_params_set leaves *p unchanged on error; text values must be a whole integer or
 * number with nothing around it ("4x", " 4", "" are rejected).
 * Reference: Ollama option names and defaults (shared/spec/ollama-compat.md §2.3, §3.5).
 */
#include "samp.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

samp_params samp_default_params(void) {
    samp_params p;
    p.temperature = SAMP_DEFAULT_TEMPERATURE;
    p.top_k = SAMP_DEFAULT_TOP_K;
    p.top_p = SAMP_DEFAULT_TOP_P;
    p.min_p = SAMP_DEFAULT_MIN_P;
    p.typical_p = SAMP_DEFAULT_TYPICAL_P;
    p.repeat_penalty = SAMP_DEFAULT_REPEAT_PENALTY;
    p.repeat_last_n = SAMP_DEFAULT_REPEAT_LAST_N;
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.0f;
    p.seed = -1;
    return p;
}

void samp_params_resolve_ctx(samp_params *p, int32_t n_ctx) {
    if (p->repeat_last_n == -1) p->repeat_last_n = n_ctx;
}

/* The options, each with its kind and where it lives in samp_params. */
typedef enum samp_opt_kind { SAMP_OPT_FLOAT, SAMP_OPT_I32, SAMP_OPT_I64 } samp_opt_kind;

typedef enum samp_range {
    SAMP_RANGE_ANY,      /* any finite value */
    SAMP_RANGE_GE0,      /* >= 0 */
    SAMP_RANGE_GT0,      /* > 0 */
    SAMP_RANGE_UNIT,     /* [0, 1] */
    SAMP_RANGE_GE_M1,    /* >= -1 */
} samp_range;

typedef struct samp_opt {
    const char *name;
    samp_opt_kind kind;
    samp_range range;
    size_t offset;
} samp_opt;

static const samp_opt SAMP_OPTS[] = {
    {"temperature", SAMP_OPT_FLOAT, SAMP_RANGE_GE0, offsetof(samp_params, temperature)},
    {"top_k", SAMP_OPT_I32, SAMP_RANGE_GE0, offsetof(samp_params, top_k)},
    {"top_p", SAMP_OPT_FLOAT, SAMP_RANGE_UNIT, offsetof(samp_params, top_p)},
    {"min_p", SAMP_OPT_FLOAT, SAMP_RANGE_UNIT, offsetof(samp_params, min_p)},
    {"typical_p", SAMP_OPT_FLOAT, SAMP_RANGE_UNIT, offsetof(samp_params, typical_p)},
    {"repeat_penalty", SAMP_OPT_FLOAT, SAMP_RANGE_GT0, offsetof(samp_params, repeat_penalty)},
    {"repeat_last_n", SAMP_OPT_I32, SAMP_RANGE_GE_M1, offsetof(samp_params, repeat_last_n)},
    {"presence_penalty", SAMP_OPT_FLOAT, SAMP_RANGE_ANY,
     offsetof(samp_params, presence_penalty)},
    {"frequency_penalty", SAMP_OPT_FLOAT, SAMP_RANGE_ANY,
     offsetof(samp_params, frequency_penalty)},
    {"seed", SAMP_OPT_I64, SAMP_RANGE_ANY, offsetof(samp_params, seed)},
};
#define SAMP_OPTS_COUNT (sizeof SAMP_OPTS / sizeof SAMP_OPTS[0])

/* Checks one value (as double; exact for every int32 and for the int64 seed's range check,
 * which accepts anything). */
static pp_status check_range(const samp_opt *o, double v, pp_err *err) {
    if (!isfinite(v))
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g is not a finite number", o->name,
                          v);
    switch (o->range) {
    case SAMP_RANGE_ANY: return PP_OK;
    case SAMP_RANGE_GE0:
        if (v >= 0) return PP_OK;
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g must be >= 0", o->name, v);
    case SAMP_RANGE_GT0:
        if (v > 0) return PP_OK;
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g must be > 0", o->name, v);
    case SAMP_RANGE_UNIT:
        if (v >= 0 && v <= 1) return PP_OK;
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g is outside [0, 1]", o->name, v);
    case SAMP_RANGE_GE_M1:
        if (v >= -1) return PP_OK;
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g must be >= -1 (-1 = num_ctx)",
                          o->name, v);
    }
    return pp_err_set(err, PP_ERR_INTERNAL, "option '%s': bad range kind", o->name);
}

static double get_value(const samp_params *p, const samp_opt *o) {
    const char *base = (const char *)p + o->offset;
    switch (o->kind) {
    case SAMP_OPT_FLOAT: { float f; memcpy(&f, base, sizeof f); return f; }
    case SAMP_OPT_I32: { int32_t i; memcpy(&i, base, sizeof i); return i; }
    case SAMP_OPT_I64: { int64_t i; memcpy(&i, base, sizeof i); return (double)i; }
    }
    return 0;
}

pp_status samp_params_validate(const samp_params *p, pp_err *err) {
    for (size_t i = 0; i < SAMP_OPTS_COUNT; i++) {
        const samp_opt *o = &SAMP_OPTS[i];
        if (o->kind == SAMP_OPT_I64) continue; /* seed: every value is valid */
        pp_status st = check_range(o, get_value(p, o), err);
        if (st != PP_OK) return st;
    }
    return PP_OK;
}

/* Whole-string integer: optional sign, decimal digits, nothing else. */
static bool parse_i64(const char *s, int64_t *out, bool *overflow) {
    *overflow = false;
    if (!s || !*s) return false;
    const char *d = s + (*s == '-' || *s == '+');
    if (*d < '0' || *d > '9') return false; /* also rejects leading spaces */
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0') return false;
    if (errno == ERANGE) *overflow = true;
    *out = v;
    return true;
}

/* Whole-string finite decimal number ("0.5", "1e-3", "-2", ".5"); no inf/nan/hex. */
static bool parse_f64(const char *s, double *out) {
    if (!s || !*s) return false;
    const char *d = s + (*s == '-' || *s == '+');
    if (!((*d >= '0' && *d <= '9') || (*d == '.' && d[1] >= '0' && d[1] <= '9'))) return false;
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0') return false;
    *out = v;
    return true;
}

pp_status samp_params_set(samp_params *p, const char *name, const char *value, pp_err *err) {
    if (!name) return pp_err_set(err, PP_ERR_ARG, "parameter name missing");
    const samp_opt *o = NULL;
    for (size_t i = 0; i < SAMP_OPTS_COUNT; i++)
        if (strcmp(SAMP_OPTS[i].name, name) == 0) o = &SAMP_OPTS[i];
    if (!o) return pp_err_set(err, PP_ERR_NOT_FOUND, "unknown parameter '%.64s'", name);
    if (!value) value = "";

    char *base = (char *)p + o->offset;
    if (o->kind == SAMP_OPT_FLOAT) {
        double v = 0;
        if (!parse_f64(value, &v))
            return pp_err_set(err, PP_ERR_ARG, "option '%s': expected number, got '%.64s'",
                              o->name, value);
        float f = (float)v; /* the stored value is what gets checked */
        pp_status st = check_range(o, f, err);
        if (st != PP_OK) return st;
        memcpy(base, &f, sizeof f);
        return PP_OK;
    }
    int64_t v = 0;
    bool overflow = false;
    if (!parse_i64(value, &v, &overflow))
        return pp_err_set(err, PP_ERR_ARG, "option '%s': expected integer, got '%.64s'",
                          o->name, value);
    if (overflow || (o->kind == SAMP_OPT_I32 && (v < INT32_MIN || v > INT32_MAX)))
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %.64s is out of range", o->name,
                          value);
    if (o->kind == SAMP_OPT_I64) {
        memcpy(base, &v, sizeof v);
        return PP_OK;
    }
    pp_status st = check_range(o, (double)v, err);
    if (st != PP_OK) return st;
    int32_t i32 = (int32_t)v;
    memcpy(base, &i32, sizeof i32);
    return PP_OK;
}
