/* test_ppl.c - known answers for the perplexity / KL-divergence statistics (engine.h
 * "Perplexity") and the logits file writer/reader, without a model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "test.h"

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static void test_ppl_uniform(void) {
    /* uniform logits over V tokens: every prediction has p = 1/V, so PPL = V and error 0 */
    float logits[100];
    for (int i = 0; i < 100; i++) logits[i] = 3.25f;
    engine_ppl_acc a = {0};
    for (int k = 0; k < 10; k++) engine_ppl_add(&a, logits, 100, k);
    double ppl, e;
    engine_ppl_value(&a, &ppl, &e);
    T_CHECK_MSG(near(ppl, 100, 1e-9), "ppl %.12f", ppl);
    T_CHECK_MSG(e == 0, "err %g", e);
}

static void test_ppl_error(void) {
    /* two predictions with log p = log 0.5 and log 0.25: mean NLL = 1.5 ln 2,
     * var = (ln 2)^2 / 4, error = PPL * sqrt(var / (N-1)) = PPL * ln2 / 2 */
    float l2[2] = {0, 0}, l4[4] = {0, 0, 0, 0};
    engine_ppl_acc a = {0};
    double lp = engine_ppl_add(&a, l2, 2, 1);
    T_CHECK(near(lp, log(0.5), 1e-12));
    engine_ppl_add(&a, l4, 4, 3);
    double ppl, e;
    engine_ppl_value(&a, &ppl, &e);
    double want = exp(1.5 * log(2));
    T_CHECK_MSG(near(ppl, want, 1e-9), "ppl %.12f want %.12f", ppl, want);
    T_CHECK_MSG(near(e, want * log(2) / 2, 1e-9), "err %.12f", e);
    engine_ppl_acc z = {0};
    engine_ppl_value(&z, &ppl, &e);
    T_CHECK(ppl == 0 && e == 0);
}

static void test_log_softmax(void) {
    float x[4] = {1, 3, 3, -1e30f}, out[4];
    int32_t top = engine_log_softmax(x, 4, out);
    T_CHECK_MSG(top == 1, "ties go to the lower id, got %d", top);
    double s = 0;
    for (int i = 0; i < 4; i++) s += exp(out[i]);
    T_CHECK_MSG(near(s, 1, 1e-6), "sum %g", s);
    T_CHECK(isfinite(out[3]));
}

static void test_kld_known(void) {
    /* base p = (0.5, 0.5), Q q = (0.25, 0.75): KL = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) */
    float base_logits[2] = {0, 0}, base_lp[2];
    int32_t top = engine_log_softmax(base_logits, 2, base_lp);
    float q[2] = {0, (float)log(3.0)};
    engine_kld_acc a = {0};
    pp_err err = {0};
    T_CHECK(engine_kld_add(&a, base_lp, top, log(0.5), q, 2, 0, &err) == PP_OK);
    /* a second position where Q equals the base: KL 0, same top */
    T_CHECK(engine_kld_add(&a, base_lp, top, log(0.5), base_logits, 2, 0, &err) == PP_OK);
    engine_kld_summary s;
    engine_kld_summarize(&a, &s);
    double k1 = 0.5 * log(2.0) + 0.5 * log(0.5 / 0.75);
    T_CHECK(s.n == 2);
    T_CHECK_MSG(near(s.kld, k1 / 2, 1e-7), "mean kld %.9f want %.9f", s.kld, k1 / 2);
    T_CHECK_MSG(near(s.kld_pct[0], k1, 1e-7) && near(s.kld_pct[7], 0, 1e-7), "max %g min %g", s.kld_pct[0], s.kld_pct[7]);
    T_CHECK_MSG(near(s.kld_pct[3], k1 / 2, 1e-7), "median interpolates: %g", s.kld_pct[3]);
    /* top: base argmax is 0 (tie), Q's is 1 at the first position, 0 at the second */
    T_CHECK_MSG(near(s.same_top, 0.5, 1e-12), "same top %g", s.same_top);
    /* Δp for target 0: 0.25 - 0.5 and 0 */
    T_CHECK_MSG(near(s.dp, -0.125, 1e-7), "dp %g", s.dp);
    T_CHECK_MSG(near(s.dp_rms, sqrt(0.0625 / 2), 1e-7), "rms dp %g", s.dp_rms);
    /* PPL(Q) = exp(-(ln .25 + ln .5)/2), PPL(base) = 2 */
    T_CHECK(near(s.ppl_base, 2, 1e-9));
    T_CHECK(near(s.ppl_q, exp(-(log(0.25) + log(0.5)) / 2), 1e-6));
    T_CHECK(near(s.ppl_ratio, s.ppl_q / s.ppl_base, 1e-6));
    engine_kld_acc_free(&a);
}

static void test_logits_file_round_trip(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/rt.logits", t_tmp_dir());
    const uint32_t V = 37, C = 8, N = 2, NS = engine_ppl_n_scored(8);
    int32_t toks[16];
    for (int i = 0; i < 16; i++) toks[i] = (i * 7) % 37;
    for (int dt = 0; dt < 2; dt++) {
        pp_err err = {0};
        engine_logits_file *f = NULL;
        T_CHECK(engine_logits_create(path, V, C, N, 20, toks, (engine_logits_dtype)dt, &f, &err) == PP_OK);
        if (!f) return;
        float rows[2 * 3][37];
        for (uint32_t r = 0; r < N * NS; r++) {
            for (uint32_t i = 0; i < V; i++) rows[r][i] = (float)sin(r * 1.3 + i * 0.7) * 4;
            T_CHECK(engine_logits_write_row(f, rows[r], (int32_t)(r % V), &err) == PP_OK);
        }
        T_CHECK(engine_logits_write_row(f, rows[0], 0, &err) == PP_ERR_ARG);
        T_CHECK(engine_logits_close(f, &err) == PP_OK);
        uint64_t bytes = 0;
        T_CHECK(engine_logits_file_bytes(V, C, N, (engine_logits_dtype)dt, &bytes));
        FILE *fp = fopen(path, "rb");
        fseek(fp, 0, SEEK_END);
        T_CHECK_MSG((uint64_t)ftell(fp) == bytes, "size %ld want %llu", ftell(fp), (unsigned long long)bytes);
        fclose(fp);
        engine_logits_file *g = NULL;
        T_CHECK(engine_logits_open(path, &g, &err) == PP_OK);
        if (!g) return;
        T_CHECK(engine_logits_n_vocab(g) == V && engine_logits_n_ctx(g) == C && engine_logits_n_chunks(g) == N);
        T_CHECK(memcmp(engine_logits_tokens(g), toks, sizeof toks) == 0);
        double worst = 0;
        for (uint32_t r = 0; r < N * NS; r++) {
            float lp[37], want[37];
            int32_t top, wtop = engine_log_softmax(rows[r], V, want);
            double tl;
            T_CHECK(engine_logits_read_row(g, lp, &top, &tl, &err) == PP_OK);
            T_CHECK(top == wtop);
            T_CHECK(near(tl, want[r % V], 1e-6));
            for (uint32_t i = 0; i < V; i++)
                if (fabs(lp[i] - want[i]) > worst) worst = fabs(lp[i] - want[i]);
        }
        /* F16 steps are 2^-8 for |x| in [2,4) etc.; F32 is exact up to renormalization */
        T_CHECK_MSG(worst <= (dt == 1 ? 0.02 : 1e-5), "dtype %d worst %g", dt, worst);
        float lp[37];
        int32_t top;
        double tl;
        T_CHECK(engine_logits_read_row(g, lp, &top, &tl, &err) == PP_ERR_ARG);
        engine_logits_close(g, &err);
    }
    /* an incomplete file is an error on close and is removed */
    pp_err err = {0};
    engine_logits_file *f = NULL;
    T_CHECK(engine_logits_create(path, V, C, N, 20, toks, ENGINE_LOGITS_F16, &f, &err) == PP_OK);
    T_CHECK(engine_logits_close(f, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "incomplete (0 of 6 rows), removed") != NULL, "%s", err.msg);
    T_CHECK(fopen(path, "rb") == NULL);
}

int main(void) {
    T_RUN(test_ppl_uniform);
    T_RUN(test_ppl_error);
    T_RUN(test_log_softmax);
    T_RUN(test_kld_known);
    T_RUN(test_logits_file_round_trip);
    return t_finish("ppl");
}
