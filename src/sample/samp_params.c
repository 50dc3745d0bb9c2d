/* samp_params.c - sampler option defaults and the sampler's rows of the options table
 * (name, type, range, field); reading and checking values is core's pp_opt (core/opt.c).
 *
 * Invariants: every error names the option ("option 'top_p': 1.5 is outside [0, 1]");
 * samp_params_set leaves *p unchanged on error; text values must be a whole integer or
 * number with nothing around it ("4x", " 4", "" are rejected).
 * Reference: Ollama option names and defaults (shared/spec/ollama-compat.md §2.3, §3.5).
 */
#include "samp.h"

#include <math.h>
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

/* The rows, in samp_opt_id order (ollama-compat.md §2.3 ranges). */
#define ROW(id, nm, kind, lo, hi, open, note, field) \
    [id] = {nm, kind, lo, hi, open, note, offsetof(samp_params, field)}
static const pp_opt SAMP_OPTS[SAMP_OPT_COUNT] = {
    ROW(SAMP_OPT_TEMPERATURE, "temperature", PP_OPT_KIND_F32, 0, HUGE_VAL, false, NULL, temperature),
    ROW(SAMP_OPT_TOP_K, "top_k", PP_OPT_KIND_I32, 0, HUGE_VAL, false, NULL, top_k),
    ROW(SAMP_OPT_TOP_P, "top_p", PP_OPT_KIND_F32, 0, 1, false, NULL, top_p),
    ROW(SAMP_OPT_MIN_P, "min_p", PP_OPT_KIND_F32, 0, 1, false, NULL, min_p),
    ROW(SAMP_OPT_TYPICAL_P, "typical_p", PP_OPT_KIND_F32, 0, 1, false, NULL, typical_p),
    ROW(SAMP_OPT_REPEAT_PENALTY, "repeat_penalty", PP_OPT_KIND_F32, 0, HUGE_VAL, true, NULL, repeat_penalty),
    ROW(SAMP_OPT_REPEAT_LAST_N, "repeat_last_n", PP_OPT_KIND_I32, -1, HUGE_VAL, false, " (-1 = num_ctx)",
        repeat_last_n),
    ROW(SAMP_OPT_PRESENCE_PENALTY, "presence_penalty", PP_OPT_KIND_F32, -HUGE_VAL, HUGE_VAL, false, NULL,
        presence_penalty),
    ROW(SAMP_OPT_FREQUENCY_PENALTY, "frequency_penalty", PP_OPT_KIND_F32, -HUGE_VAL, HUGE_VAL, false, NULL,
        frequency_penalty),
    ROW(SAMP_OPT_SEED, "seed", PP_OPT_KIND_I64, -HUGE_VAL, HUGE_VAL, false, NULL, seed),
};
#undef ROW

const pp_opt *samp_opt_get(samp_opt_id id) { return &SAMP_OPTS[id]; }

pp_status samp_params_validate(const samp_params *p, pp_err *err) {
    for (size_t i = 0; i < SAMP_OPT_COUNT; i++) {
        pp_status st = pp_opt_check(&SAMP_OPTS[i], pp_opt_get(p, &SAMP_OPTS[i]), err);
        if (st != PP_OK) return st;
    }
    return PP_OK;
}

pp_status samp_params_set(samp_params *p, const char *name, const char *value, pp_err *err) {
    if (!name) return pp_err_set(err, PP_ERR_ARG, "parameter name missing");
    for (size_t i = 0; i < SAMP_OPT_COUNT; i++)
        if (strcmp(SAMP_OPTS[i].name, name) == 0) return pp_opt_set_text(p, &SAMP_OPTS[i], value, err);
    return pp_err_set(err, PP_ERR_NOT_FOUND, "unknown parameter '%.64s'", name);
}
