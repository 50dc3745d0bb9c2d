/* perplexity.c - perplexity and KL-divergence statistics computed as llama.cpp's
 * llama-perplexity does (ref: llama.cpp tools/perplexity; shared/fixtures README §4.4).
 *
 * Invariants: a chunk is evaluated from an empty cache with its first token replaced by BOS;
 * only positions n_ctx/2 .. n_ctx-2 are scored (they predict the token that follows). All
 * sums are in double. log-softmax uses max-subtraction, so it is finite for finite logits.
 * The error figures follow llama.cpp: PPL error = PPL * sqrt(var(NLL)/(N-1)) with
 * var = E[x^2] - E[x]^2; a mean's error is sqrt(var/(N-1)); a share's error is
 * sqrt(p(1-p)/(N-1)).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct engine_ppl_runner {
    model_ctx *ctx;
    uint32_t n_ctx, n_vocab;
    int32_t *tokens; /* n_ctx */
    bool *want;      /* n_ctx */
    float *rows;     /* n_scored * n_vocab */
};

engine_ppl_params engine_ppl_default_params(void) {
    engine_ppl_params p = {512, 0, 0, GGUF_TTYPE_F16, false};
    return p;
}

pp_status engine_ppl_tokenize(const tok_vocab *v, const char *name, const char *text, size_t len, uint32_t n_ctx,
                              int32_t **ids, size_t *n_ids, pp_err *err) {
    int32_t *out = NULL;
    size_t n = 0;
    pp_status st = tok_encode_alloc(v, text, len, true, false, &out, &n, err);
    if (st != PP_OK) return pp_err_prefix(err, "%s: ", name);
    if (n < 2 * (uint64_t)n_ctx) {
        free(out);
        return pp_err_set(err, PP_ERR_ARG, "%s: %zu tokens, need at least %llu for a context of %u", name, n,
                          2ull * n_ctx, n_ctx);
    }
    *ids = out;
    *n_ids = n;
    return PP_OK;
}

void engine_ppl_runner_free(engine_ppl_runner *r) {
    if (!r) return;
    model_ctx_free(r->ctx);
    free(r->tokens);
    free(r->want);
    free(r->rows);
    free(r);
}

pp_status engine_ppl_runner_init(const model *m, engine_ppl_params p, engine_ppl_runner **out, pp_err *err) {
    const model_hparams *hp = model_get_hparams(m);
    if (p.n_ctx < ENGINE_PPL_MIN_CTX || p.n_ctx > ENGINE_PPL_MAX_CTX)
        return pp_err_set(err, PP_ERR_ARG, "context %u: must be in [%u, %u]", p.n_ctx, ENGINE_PPL_MIN_CTX,
                          ENGINE_PPL_MAX_CTX);
    uint64_t row_floats;
    if (!pp_mul_u64(engine_ppl_n_scored(p.n_ctx), hp->n_vocab, &row_floats) || row_floats > SIZE_MAX / sizeof(float))
        return pp_err_set(err, PP_ERR_ARG, "context %u: logits buffer too large", p.n_ctx);
    engine_ppl_runner *r = calloc(1, sizeof *r);
    if (!r) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    r->n_ctx = p.n_ctx;
    r->n_vocab = hp->n_vocab;
    r->tokens = malloc(p.n_ctx * sizeof *r->tokens);
    r->want = calloc(p.n_ctx, sizeof *r->want);
    r->rows = malloc((size_t)row_floats * sizeof(float));
    if (!r->tokens || !r->want || !r->rows) {
        engine_ppl_runner_free(r);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory for %llu logits", (unsigned long long)row_floats);
    }
    uint32_t first = engine_ppl_first(p.n_ctx);
    for (uint32_t i = first; i + 1 < p.n_ctx; i++) r->want[i] = true;
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = p.n_ctx;
    cp.n_batch = p.n_batch && p.n_batch < p.n_ctx ? p.n_batch : p.n_ctx;
    cp.n_threads = p.n_threads;
    cp.kv_type = p.kv_type;
    cp.no_fuse = p.no_fuse;
    pp_status st = model_ctx_init(m, cp, &r->ctx, err);
    if (st != PP_OK) {
        engine_ppl_runner_free(r);
        return st;
    }
    *out = r;
    return PP_OK;
}

pp_status engine_ppl_runner_eval(engine_ppl_runner *r, const int32_t *chunk, int32_t bos, const float **rows,
                                 pp_err *err) {
    memcpy(r->tokens, chunk, r->n_ctx * sizeof *r->tokens);
    if (bos >= 0) r->tokens[0] = bos;
    model_ctx_reset(r->ctx);
    pp_status st = model_ctx_eval(r->ctx, r->tokens, r->n_ctx, r->want, r->rows, err);
    if (st != PP_OK) return st;
    *rows = r->rows;
    return PP_OK;
}

/* max and log(sum(exp(x - max))) in double */
static void lse(const float *x, uint32_t n, float *max_out, double *log_sum, int32_t *argmax) {
    float mx = x[0];
    int32_t am = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > mx) {
            mx = x[i];
            am = (int32_t)i;
        }
    double s = 0;
    for (uint32_t i = 0; i < n; i++) s += exp((double)x[i] - mx);
    *max_out = mx;
    *log_sum = log(s);
    if (argmax) *argmax = am;
}

int32_t engine_log_softmax(const float *logits, uint32_t n, float *out) {
    float mx;
    double ls;
    int32_t am;
    lse(logits, n, &mx, &ls, &am);
    for (uint32_t i = 0; i < n; i++) out[i] = (float)((double)logits[i] - mx - ls);
    return am;
}

double engine_ppl_add(engine_ppl_acc *a, const float *logits, uint32_t n_vocab, int32_t target) {
    float mx;
    double ls;
    lse(logits, n_vocab, &mx, &ls, NULL);
    double lp = (double)logits[target] - mx - ls;
    a->nll -= lp;
    a->nll2 += lp * lp;
    a->count++;
    return lp;
}

void engine_ppl_value(const engine_ppl_acc *a, double *ppl, double *ppl_err) {
    *ppl = 0;
    *ppl_err = 0;
    if (a->count == 0) return;
    double mean = a->nll / a->count;
    double var = a->nll2 / a->count - mean * mean;
    *ppl = exp(mean);
    if (a->count > 1 && var > 0) *ppl_err = *ppl * sqrt(var / (a->count - 1));
}

/* ---- KL divergence ---- */

const double engine_kld_pct_fraction[ENGINE_KLD_N_PCT] = {1.0, 0.999, 0.99, 0.5, 0.10, 0.05, 0.01, 0.0};
const double engine_dp_pct_fraction[ENGINE_DP_N_PCT] = {1.0,  0.999, 0.99, 0.95, 0.90, 0.75, 0.5,
                                                        0.25, 0.10,  0.05, 0.01, 0.001, 0.0};

void engine_kld_acc_free(engine_kld_acc *a) {
    free(a->kld_vals);
    free(a->dp_vals);
    memset(a, 0, sizeof *a);
}

pp_status engine_kld_add(engine_kld_acc *a, const float *base_logp, int32_t base_top, double base_target_logp,
                         const float *q_logits, uint32_t n_vocab, int32_t target, pp_err *err) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4096;
        float *k = realloc(a->kld_vals, cap * sizeof *k);
        if (!k) return pp_err_set(err, PP_ERR_NOMEM, "out of memory for KLD values");
        a->kld_vals = k;
        float *d = realloc(a->dp_vals, cap * sizeof *d);
        if (!d) return pp_err_set(err, PP_ERR_NOMEM, "out of memory for KLD values");
        a->dp_vals = d;
        a->cap = cap;
    }
    float mx;
    double ls;
    int32_t q_top;
    lse(q_logits, n_vocab, &mx, &ls, &q_top);
    double off = (double)mx + ls;
    double kld = 0;
    for (uint32_t i = 0; i < n_vocab; i++) {
        double lb = base_logp[i];
        kld += exp(lb) * (lb - ((double)q_logits[i] - off));
    }
    double lq = (double)q_logits[target] - off, lb = base_target_logp;
    double dp = exp(lq) - exp(lb);
    a->kld += kld;
    a->kld2 += kld * kld;
    a->dp += dp;
    a->dp2 += dp * dp;
    a->dp4 += dp * dp * dp * dp;
    a->lq += lq;
    a->lq2 += lq * lq;
    a->lb += lb;
    a->lb2 += lb * lb;
    a->lqb += lq * lb;
    a->same_top += q_top == base_top;
    a->kld_vals[a->n] = (float)kld;
    a->dp_vals[a->n] = (float)dp;
    a->n++;
    return PP_OK;
}

static int cmp_float(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* linear interpolation between sorted values */
static double percentile(const float *v, size_t n, double f) {
    if (n == 0) return 0;
    if (f <= 0) return v[0];
    if (f >= 1) return v[n - 1];
    double p = f * (double)(n - 1);
    size_t i = (size_t)p;
    p -= (double)i;
    size_t j = i + 1 < n ? i + 1 : n - 1;
    return (1 - p) * v[i] + p * v[j];
}

/* mean and its standard error from sums */
static void mean_err(double s, double s2, uint64_t n, double *mean, double *e) {
    *mean = s / (double)n;
    double var = s2 / (double)n - *mean * *mean;
    *e = n > 1 && var > 0 ? sqrt(var / (double)(n - 1)) : 0;
}

void engine_kld_summarize(engine_kld_acc *a, engine_kld_summary *o) {
    memset(o, 0, sizeof *o);
    uint64_t n = a->n;
    o->n = n;
    if (n == 0) return;
    double mq, eq, mb, eb;
    mean_err(-a->lq, a->lq2, n, &mq, &eq);
    mean_err(-a->lb, a->lb2, n, &mb, &eb);
    o->ppl_q = exp(mq);
    o->ppl_q_err = o->ppl_q * eq;
    o->ppl_base = exp(mb);
    o->ppl_base_err = o->ppl_base * eb;
    /* correlation of the per-token log-probs */
    double vq = a->lq2 / n - (a->lq / n) * (a->lq / n), vb = a->lb2 / n - (a->lb / n) * (a->lb / n);
    double cov = a->lqb / n - (a->lq / n) * (a->lb / n);
    o->cor_ln_ppl = vq > 0 && vb > 0 ? cov / sqrt(vq * vb) : 0;
    /* ln(PPL_q / PPL_base) = mean(lb - lq); its variance from the per-token differences */
    double d_mean = (a->lb - a->lq) / n;
    double d_var = vq + vb - 2 * cov;
    o->ln_ratio = d_mean;
    o->ln_ratio_err = n > 1 && d_var > 0 ? sqrt(d_var / (n - 1)) : 0;
    o->ppl_ratio = exp(d_mean);
    o->ppl_ratio_err = o->ppl_ratio * o->ln_ratio_err;
    o->ppl_diff = o->ppl_q - o->ppl_base;
    double dv = o->ppl_q_err * o->ppl_q_err + o->ppl_base_err * o->ppl_base_err -
                2 * o->cor_ln_ppl * o->ppl_q_err * o->ppl_base_err;
    o->ppl_diff_err = dv > 0 ? sqrt(dv) : 0;
    mean_err(a->kld, a->kld2, n, &o->kld, &o->kld_err);
    mean_err(a->dp, a->dp2, n, &o->dp, &o->dp_err);
    double ms, ms_err;
    mean_err(a->dp2, a->dp4, n, &ms, &ms_err);
    o->dp_rms = sqrt(ms);
    o->dp_rms_err = o->dp_rms > 0 ? ms_err / (2 * o->dp_rms) : 0;
    o->same_top = (double)a->same_top / n;
    o->same_top_err = n > 1 ? sqrt(o->same_top * (1 - o->same_top) / (n - 1)) : 0;
    qsort(a->kld_vals, n, sizeof *a->kld_vals, cmp_float);
    qsort(a->dp_vals, n, sizeof *a->dp_vals, cmp_float);
    for (int i = 0; i < ENGINE_KLD_N_PCT; i++) o->kld_pct[i] = percentile(a->kld_vals, n, engine_kld_pct_fraction[i]);
    for (int i = 0; i < ENGINE_DP_N_PCT; i++) o->dp_pct[i] = percentile(a->dp_vals, n, engine_dp_pct_fraction[i]);
}

/* ---- the chunk loop ---- */

uint32_t engine_ppl_runner_n_ctx(const engine_ppl_runner *r) { return r->n_ctx; }
uint32_t engine_ppl_runner_n_vocab(const engine_ppl_runner *r) { return r->n_vocab; }

pp_status engine_ppl_run(const engine_ppl_job *j, pp_err *err) {
    if (j->n_runners == 0) return pp_err_set(err, PP_ERR_ARG, "perplexity: no model");
    uint32_t n_ctx = j->runners[0]->n_ctx, n_vocab = j->runners[0]->n_vocab;
    for (size_t k = 1; k < j->n_runners; k++)
        if (j->runners[k]->n_ctx != n_ctx || j->runners[k]->n_vocab != n_vocab)
            return pp_err_set(err, PP_ERR_ARG, "perplexity: model %zu: n_ctx %u / n_vocab %u differ from %u / %u", k,
                              j->runners[k]->n_ctx, j->runners[k]->n_vocab, n_ctx, n_vocab);
    bool kld = j->kld && (j->base_file || (j->kld_vs_first && j->n_runners > 1));
    if (j->base_file && (engine_logits_n_vocab(j->base_file) != n_vocab || engine_logits_n_ctx(j->base_file) != n_ctx))
        return pp_err_set(err, PP_ERR_ARG, "perplexity: logits file has n_vocab %u / n_ctx %u, expected %u / %u",
                          engine_logits_n_vocab(j->base_file), engine_logits_n_ctx(j->base_file), n_vocab, n_ctx);
    const float **rows = calloc(j->n_runners, sizeof *rows);
    float *logp = kld ? malloc((size_t)n_vocab * sizeof *logp) : NULL;
    if (!rows || (kld && !logp)) {
        free(rows);
        free(logp);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    uint32_t first = engine_ppl_first(n_ctx), ns = engine_ppl_n_scored(n_ctx);
    pp_status st = PP_OK;
    for (uint32_t c = 0; c < j->n_chunks && st == PP_OK; c++) {
        const int32_t *chunk = j->tokens + (size_t)c * n_ctx;
        for (size_t k = 0; k < j->n_runners && st == PP_OK; k++)
            st = engine_ppl_runner_eval(j->runners[k], chunk, j->bos, &rows[k], err);
        for (uint32_t i = 0; i < ns && st == PP_OK; i++) {
            int32_t target = chunk[first + i + 1];
            size_t off = (size_t)i * n_vocab;
            double lp0 = 0;
            for (size_t k = 0; k < j->n_runners; k++) {
                double lp = engine_ppl_add(&j->ppl[k], rows[k] + off, n_vocab, target);
                if (k == 0) lp0 = lp;
            }
            if (j->save_file && (st = engine_logits_write_row(j->save_file, rows[0] + off, target, err))) break;
            if (!kld) continue;
            int32_t top;
            double base_lp;
            size_t k0;
            if (j->base_file) {
                if ((st = engine_logits_read_row(j->base_file, logp, &top, &base_lp, err))) break;
                k0 = 0;
            } else {
                top = engine_log_softmax(rows[0] + off, n_vocab, logp);
                base_lp = lp0;
                k0 = 1;
            }
            for (size_t k = k0; k < j->n_runners && st == PP_OK; k++)
                st = engine_kld_add(&j->kld[k], logp, top, base_lp, rows[k] + off, n_vocab, target, err);
        }
        if (st == PP_OK && j->on_chunk) j->on_chunk(j->ud, c);
    }
    free(rows);
    free(logp);
    return st;
}
