/* cli_speed.c - the timed prefill / decode runs behind `pippa bench` and `pippa compare`. */
#include "cli_eval.h"

void cli_bench_tokens(int32_t *toks, long n, uint32_t n_vocab) {
    uint64_t seed = 42;
    for (long i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        toks[i] = (int32_t)((seed >> 33) % n_vocab);
    }
}

pp_status cli_bench_once(model_ctx *c, const int32_t *toks, long n, bool decode, float *logits, double *tok_s,
                         pp_err *err) {
    model_ctx_reset(c);
    uint64_t t0 = pp_time_ns();
    pp_status st;
    if (!decode) {
        st = model_ctx_eval(c, toks, (uint32_t)n, NULL, logits, err);
    } else {
        st = PP_OK;
        for (long i = 0; i < n && st == PP_OK; i++) st = model_ctx_eval(c, &toks[i], 1, NULL, logits, err);
    }
    if (st != PP_OK) return st;
    double s = (double)(pp_time_ns() - t0) * 1e-9;
    *tok_s = s > 0 ? (double)n / s : 0;
    return PP_OK;
}
