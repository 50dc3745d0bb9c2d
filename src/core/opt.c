/* opt.c - typed option fields: reading a value from text, the range check and its messages,
 * shared by the options table (src/engine/options.c) and the sampler's rows
 * (src/sample/samp_params.c), so every option is parsed and refused the same way.
 *
 * Invariants: every message names the option; pp_opt_set_text leaves the struct unchanged on
 * error; text must be a whole decimal integer or finite number with nothing around it.
 * Reference: Ollama's option names and ranges (shared/spec/ollama-compat.md §2.3). */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool kind_is_int(pp_opt_kind k) { return k != PP_OPT_KIND_F32; }

/* Whether v converts to long long (outside that range, or NaN, the conversion is undefined). */
static bool fits_ll(double v) { return v >= -0x1p63 && v < 0x1p63; }

/* iv is v as an exact integer (for the messages of integer fields; 0 when v does not fit). */
static pp_status check(const pp_opt *o, double v, long long iv, pp_err *err) {
    if (!isfinite(v)) return pp_err_set(err, PP_ERR_ARG, "option '%s': %g is not a finite number", o->name, v);
    bool has_lo = o->lo > -HUGE_VAL, has_hi = o->hi < HUGE_VAL;
    bool low = o->lo_open ? !(v > o->lo) : v < o->lo;
    if (has_lo && has_hi) {
        if (!low && v <= o->hi) return PP_OK;
        if (kind_is_int(o->kind) && fits_ll(v))
            return pp_err_set(err, PP_ERR_ARG, "option '%s': %lld is outside [%lld, %lld]", o->name, iv,
                              (long long)o->lo, (long long)o->hi);
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %g is outside [%g, %g]", o->name, v, o->lo, o->hi);
    }
    char shown[32];
    if (kind_is_int(o->kind) && fits_ll(v)) snprintf(shown, sizeof shown, "%lld", iv);
    else snprintf(shown, sizeof shown, "%g", v);
    if (has_lo && low)
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %s must be %s %g%s", o->name, shown, o->lo_open ? ">" : ">=",
                          o->lo, o->note ? o->note : "");
    if (has_hi && v > o->hi)
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %s must be <= %g", o->name, shown, o->hi);
    return PP_OK;
}

pp_status pp_opt_check(const pp_opt *o, double v, pp_err *err) {
    return check(o, v, fits_ll(v) ? (long long)v : 0, err);
}

double pp_opt_get(const void *base, const pp_opt *o) {
    const char *p = (const char *)base + o->offset;
    switch (o->kind) {
    case PP_OPT_KIND_F32: { float f; memcpy(&f, p, sizeof f); return f; }
    case PP_OPT_KIND_I32: { int32_t i; memcpy(&i, p, sizeof i); return i; }
    case PP_OPT_KIND_U32: { uint32_t u; memcpy(&u, p, sizeof u); return u; }
    case PP_OPT_KIND_I64: { int64_t i; memcpy(&i, p, sizeof i); return (double)i; }
    }
    return 0;
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

static bool fits_kind(pp_opt_kind k, int64_t v) {
    if (k == PP_OPT_KIND_I32) return v >= INT32_MIN && v <= INT32_MAX;
    if (k == PP_OPT_KIND_U32) return v >= 0 && v <= (int64_t)UINT32_MAX;
    return true;
}

pp_status pp_opt_set_text(void *base, const pp_opt *o, const char *text, pp_err *err) {
    if (!text) text = "";
    char *p = (char *)base + o->offset;
    if (o->kind == PP_OPT_KIND_F32) {
        double v = 0;
        if (!parse_f64(text, &v))
            return pp_err_set(err, PP_ERR_ARG, "option '%s': expected number, got '%.64s'", o->name, text);
        float f = (float)v; /* the stored value is what gets checked */
        pp_status st = pp_opt_check(o, f, err);
        if (st != PP_OK) return st;
        memcpy(p, &f, sizeof f);
        return PP_OK;
    }
    int64_t v = 0;
    bool overflow = false;
    if (!parse_i64(text, &v, &overflow))
        return pp_err_set(err, PP_ERR_ARG, "option '%s': expected integer, got '%.64s'", o->name, text);
    if (overflow) return pp_err_set(err, PP_ERR_ARG, "option '%s': %.64s is out of range", o->name, text);
    /* A range bounded on both sides is tighter than the field's type: its message is the
     * useful one ("0 is outside [1, 16777216]"); otherwise the type's limits come first. */
    pp_status st;
    if (o->lo > -HUGE_VAL && o->hi < HUGE_VAL && (st = check(o, (double)v, (long long)v, err)) != PP_OK) return st;
    if (!fits_kind(o->kind, v))
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %.64s is out of range", o->name, text);
    if ((st = check(o, (double)v, (long long)v, err)) != PP_OK) return st;
    switch (o->kind) {
    case PP_OPT_KIND_I32: { int32_t i = (int32_t)v; memcpy(p, &i, sizeof i); break; }
    case PP_OPT_KIND_U32: { uint32_t u = (uint32_t)v; memcpy(p, &u, sizeof u); break; }
    default: memcpy(p, &v, sizeof v); break;
    }
    return PP_OK;
}
