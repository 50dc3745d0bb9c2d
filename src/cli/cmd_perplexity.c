/* cmd_perplexity.c - `pippa perplexity MODEL -f TEXT [-c CTX] ...`: perplexity over a text as
 * llama-perplexity computes it (engine.h "Perplexity"), printing the running value after each
 * chunk ("[1]1597312039.9551,[2]...") and "Final estimate: PPL = X +/- Y"; and the KL
 * divergence against a base model, live (--kl-base BASE.gguf: both models run chunk by chunk)
 * or from a file saved earlier (--save-logits FILE on the base run, --kl-logits FILE later).
 * The KLD printout follows llama-perplexity --kl-divergence.
 *
 * Exit status: 0 ok, 1 a model/text/file problem, 2 bad usage.
 */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_env.h"
#include "cli_eval.h"

static const char USAGE[] =
    "usage: pippa perplexity MODEL.gguf -f TEXT [-c CTX] [-b BATCH] [-t THREADS] [--kv f16|f32] [--chunks N]\n"
    "       [--kl-base BASE.gguf | --kl-logits FILE | --save-logits FILE [--logits-type f16|f32]] [--json]";

#define TEXT_MAX_BYTES (1ull << 30)

int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        cli_error("%s: %s: expected an integer in [%ld, %ld], got '%s'", cmd, opt, lo, hi, s);
        return 2;
    }
    *out = v;
    return 0;
}

int cli_ppl_read_text(const char *path, char **text, size_t *len) {
    pp_err err = {0};
    if (pp_read_file(path, text, len, TEXT_MAX_BYTES, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (*len == 0) {
        cli_error("%s: empty text", path);
        free(*text);
        *text = NULL;
        return 1;
    }
    return 0;
}

int cli_ppl_check_vocab(const char *a_name, const tok_vocab *a, const char *b_name, const tok_vocab *b) {
    if (tok_n_vocab(a) != tok_n_vocab(b)) {
        cli_error("%s: vocab of %u tokens does not match %s's %u", b_name, tok_n_vocab(b), a_name, tok_n_vocab(a));
        return 1;
    }
    for (uint32_t i = 0; i < tok_n_vocab(a); i++) {
        pp_view x = tok_text(a, (int32_t)i), y = tok_text(b, (int32_t)i);
        if (x.len != y.len || memcmp(x.ptr, y.ptr, x.len) != 0) {
            cli_error("%s: vocab differs from %s's at token %u", b_name, a_name, i);
            return 1;
        }
    }
    return 0;
}

static const char *KLD_LABELS[ENGINE_KLD_N_PCT] = {"Maximum", "99.9%  ", "99.0%  ", "Median ",
                                                   "10.0%  ", " 5.0%  ", " 1.0%  ", "Minimum"};
static const char *DP_LABELS[ENGINE_DP_N_PCT] = {"Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ",
                                                 "75.0%  ", "Median ", "25.0%  ", "10.0%  ", " 5.0%  ",
                                                 " 1.0%  ", " 0.1%  ", "Minimum"};

static void print_kld(const engine_kld_summary *s) {
    printf("\n====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", s->ppl_q, s->ppl_q_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", s->ppl_base, s->ppl_base_err);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100 * s->cor_ln_ppl);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s->ln_ratio, s->ln_ratio_err);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", s->ppl_ratio, s->ppl_ratio_err);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", s->ppl_diff, s->ppl_diff_err);
    printf("\n====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", s->kld, s->kld_err);
    for (int i = 0; i < ENGINE_KLD_N_PCT; i++) printf("%s KLD: %10.6f\n", KLD_LABELS[i], s->kld_pct[i]);
    printf("\n====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * s->dp, 100 * s->dp_err);
    for (int i = 0; i < ENGINE_DP_N_PCT; i++) printf("%s Δp: %6.3f%%\n", DP_LABELS[i], 100 * s->dp_pct[i]);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * s->dp_rms, 100 * s->dp_rms_err);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100 * s->same_top, 100 * s->same_top_err);
}

static json_t *pair(double v, double e) { return json_pack("[f, f]", v, e); }

json_t *cli_kld_json(const engine_kld_summary *s) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    json_object_set_new(o, "ppl_q", pair(s->ppl_q, s->ppl_q_err));
    json_object_set_new(o, "ppl_base", pair(s->ppl_base, s->ppl_base_err));
    json_object_set_new(o, "cor_ln_ppl", json_real(s->cor_ln_ppl));
    json_object_set_new(o, "mean_ln_ppl_ratio", pair(s->ln_ratio, s->ln_ratio_err));
    json_object_set_new(o, "ppl_ratio", pair(s->ppl_ratio, s->ppl_ratio_err));
    json_object_set_new(o, "ppl_diff", pair(s->ppl_diff, s->ppl_diff_err));
    json_object_set_new(o, "mean_kld", pair(s->kld, s->kld_err));
    static const char *kn[ENGINE_KLD_N_PCT] = {"max_kld", "kld_99.9%", "kld_99%", "median_kld",
                                               "kld_10%", "kld_5%",    "kld_1%",  "min_kld"};
    for (int i = 0; i < ENGINE_KLD_N_PCT; i++) json_object_set_new(o, kn[i], json_real(s->kld_pct[i]));
    json_object_set_new(o, "mean_delta_p", pair(s->dp, s->dp_err));
    json_object_set_new(o, "rms_delta_p", pair(s->dp_rms, s->dp_rms_err));
    json_t *dp = json_object();
    for (int i = 0; i < ENGINE_DP_N_PCT; i++) {
        char k[16];
        snprintf(k, sizeof k, "%g", 100 * engine_dp_pct_fraction[i]);
        json_object_set_new(dp, k, json_real(s->dp_pct[i]));
    }
    json_object_set_new(o, "delta_p_percentiles", dp);
    json_object_set_new(o, "same_top", pair(s->same_top, s->same_top_err));
    return o;
}

typedef struct chunk_print {
    const engine_ppl_acc *acc;
    bool quiet;
    json_t *running;
} chunk_print;

static void on_chunk(void *ud, uint32_t c) {
    chunk_print *p = ud;
    double ppl, e;
    engine_ppl_value(p->acc, &ppl, &e);
    if (p->running) json_array_append_new(p->running, json_real(ppl));
    if (!p->quiet) {
        printf("[%u]%.4f,", c + 1, ppl);
        fflush(stdout);
    }
}

int cli_cmd_perplexity(int argc, char **argv) {
    const char *path = NULL, *text_path = NULL, *kl_base = NULL, *kl_logits = NULL, *save_logits = NULL;
    long ctx = 512, batch = 0, threads = 0, max_chunks = 0;
    bool ctx_given = false, as_json = false;
    uint32_t kv = GGUF_TTYPE_F16;
    engine_logits_dtype ldt = ENGINE_LOGITS_F16;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-f") && has) text_path = argv[++i];
        else if (!strcmp(a, "-c") && has) {
            if ((rc = cli_parse_long("perplexity", "-c", argv[++i], ENGINE_PPL_MIN_CTX, ENGINE_PPL_MAX_CTX, &ctx))) return rc;
            ctx_given = true;
        } else if (!strcmp(a, "-b") && has) {
            if ((rc = cli_parse_long("perplexity", "-b", argv[++i], 1, 65536, &batch))) return rc;
        } else if (!strcmp(a, "-t") && has) {
            if ((rc = cli_parse_long("perplexity", "-t", argv[++i], 1, 1024, &threads))) return rc;
        } else if (!strcmp(a, "--chunks") && has) {
            if ((rc = cli_parse_long("perplexity", "--chunks", argv[++i], 1, 1L << 30, &max_chunks))) return rc;
        } else if (!strcmp(a, "--kv") && has) {
            const char *v = argv[++i];
            if (!strcmp(v, "f16")) kv = GGUF_TTYPE_F16;
            else if (!strcmp(v, "f32")) kv = GGUF_TTYPE_F32;
            else { cli_error("perplexity: --kv: expected f16 or f32, got '%s'", v); return 2; }
        } else if (!strcmp(a, "--logits-type") && has) {
            const char *v = argv[++i];
            if (!strcmp(v, "f16")) ldt = ENGINE_LOGITS_F16;
            else if (!strcmp(v, "f32")) ldt = ENGINE_LOGITS_F32;
            else { cli_error("perplexity: --logits-type: expected f16 or f32, got '%s'", v); return 2; }
        } else if (!strcmp(a, "--kl-base") && has) kl_base = argv[++i];
        else if (!strcmp(a, "--kl-logits") && has) kl_logits = argv[++i];
        else if (!strcmp(a, "--save-logits") && has) save_logits = argv[++i];
        else if (!strcmp(a, "--json")) as_json = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { puts(USAGE); return 0; }
        else if (a[0] == '-') { cli_error("perplexity: unknown or incomplete option '%s'\n%s", a, USAGE); return 2; }
        else if (!path) path = a;
        else { cli_error("perplexity: unexpected argument '%s'\n%s", a, USAGE); return 2; }
    }
    if (!path) { cli_error("perplexity: missing MODEL\n%s", USAGE); return 2; }
    if (!text_path && !kl_logits) { cli_error("perplexity: missing -f TEXT\n%s", USAGE); return 2; }
    if ((kl_base != NULL) + (kl_logits != NULL) + (save_logits != NULL) > 1) {
        cli_error("perplexity: use only one of --kl-base, --kl-logits and --save-logits");
        return 2;
    }

    pp_err err = {0};
    engine_model *em = NULL, *eb = NULL;
    engine_ppl_runner *runners[2] = {NULL, NULL};
    engine_logits_file *lf = NULL;
    char *text = NULL;
    size_t text_len = 0, n_ids = 0;
    int32_t *ids = NULL;
    engine_ppl_acc acc[2];
    engine_kld_acc kacc[2];
    memset(acc, 0, sizeof acc);
    memset(kacc, 0, sizeof kacc);
    json_t *running = NULL;
    rc = 1;
    if (text_path && (rc = cli_ppl_read_text(text_path, &text, &text_len))) goto done;
    rc = 1;
    if (engine_model_load(path, cli_model_params(), &em, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    const model *m = engine_model_get(em);
    const tok_vocab *v = engine_model_vocab(em);
    const model_hparams *hp = model_get_hparams(m);
    if (kl_logits) {
        if (engine_logits_open(kl_logits, &lf, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
        if (engine_logits_n_vocab(lf) != hp->n_vocab) {
            cli_error("%s: vocab of %u tokens does not match %s's %u", kl_logits, engine_logits_n_vocab(lf), path,
                      hp->n_vocab);
            goto done;
        }
        if (ctx_given && (uint32_t)ctx != engine_logits_n_ctx(lf)) {
            cli_error("%s: saved with a context of %u, not %ld", kl_logits, engine_logits_n_ctx(lf), ctx);
            goto done;
        }
        ctx = engine_logits_n_ctx(lf);
    }
    if ((uint32_t)ctx > hp->n_ctx_train) {
        cli_error("perplexity: -c %ld exceeds %s's trained context length %u", ctx, path, hp->n_ctx_train);
        goto done;
    }
    uint32_t n_chunks = 0;
    if (text) {
        if (engine_ppl_tokenize(v, text_path, text, text_len, (uint32_t)ctx, &ids, &n_ids, &err) != PP_OK) {
            cli_error("%s", err.msg);
            goto done;
        }
        n_chunks = (uint32_t)(n_ids / (size_t)ctx);
    }
    if (lf) {
        uint32_t fc = engine_logits_n_chunks(lf);
        const int32_t *ft = engine_logits_tokens(lf);
        if (ids) {
            if (n_chunks < fc) {
                cli_error("%s: has %u chunks, %s gives only %u", kl_logits, fc, text_path, n_chunks);
                goto done;
            }
            for (size_t i = 0; i < (size_t)fc * (size_t)ctx; i++)
                if (ft[i] != ids[i]) {
                    cli_error("%s: token %zu differs from %s's (%d vs %d)", kl_logits, i, text_path, ft[i], ids[i]);
                    goto done;
                }
        } else {
            n_ids = (size_t)fc * (size_t)ctx;
            ids = malloc(n_ids * sizeof *ids);
            if (!ids) { cli_error("perplexity: out of memory"); goto done; }
            memcpy(ids, ft, n_ids * sizeof *ids);
        }
        n_chunks = fc;
    }
    if (max_chunks && (uint32_t)max_chunks < n_chunks) n_chunks = (uint32_t)max_chunks;
    engine_ppl_params pp = engine_ppl_default_params();
    pp.no_fuse = cli_model_params().no_fuse;
    pp.n_ctx = (uint32_t)ctx;
    pp.n_batch = (uint32_t)batch;
    pp.n_threads = (int)threads;
    pp.kv_type = kv;
    size_t n_run = 0;
    if (kl_base) {
        if (engine_model_load(kl_base, cli_model_params(), &eb, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
        if (cli_ppl_check_vocab(path, v, kl_base, engine_model_vocab(eb))) goto done;
        if ((uint32_t)ctx > model_get_hparams(engine_model_get(eb))->n_ctx_train) {
            cli_error("perplexity: -c %ld exceeds %s's trained context length", ctx, kl_base);
            goto done;
        }
        if (engine_ppl_runner_init(engine_model_get(eb), pp, &runners[n_run++], &err) != PP_OK) {
            cli_error("%s: %s", kl_base, err.msg);
            goto done;
        }
    }
    size_t qi = n_run;
    if (engine_ppl_runner_init(m, pp, &runners[n_run++], &err) != PP_OK) { cli_error("%s: %s", path, err.msg); goto done; }
    if (save_logits) {
        uint64_t bytes = 0;
        engine_logits_file_bytes(hp->n_vocab, (uint32_t)ctx, n_chunks, ldt, &bytes);
        if (engine_logits_create(save_logits, hp->n_vocab, (uint32_t)ctx, n_chunks, n_ids, ids, ldt, &lf, &err) !=
            PP_OK) {
            cli_error("%s", err.msg);
            goto done;
        }
        fprintf(stderr, "perplexity: saving logits to %s (%.1f MB)\n", save_logits, bytes / 1e6);
    }
    fprintf(stderr, "perplexity: %zu tokens, %u chunks of %ld, scoring %u positions per chunk\n", n_ids, n_chunks,
            ctx, engine_ppl_n_scored((uint32_t)ctx));
    if (as_json) running = json_array();
    chunk_print cp = {&acc[qi], as_json, running};
    engine_ppl_job job = {0};
    job.runners = runners;
    job.n_runners = n_run;
    job.tokens = ids;
    job.n_chunks = n_chunks;
    job.bos = tok_bos(v);
    job.base_file = kl_logits ? lf : NULL;
    job.save_file = save_logits ? lf : NULL;
    job.kld_vs_first = kl_base != NULL;
    job.ppl = acc;
    job.kld = kacc;
    job.on_chunk = on_chunk;
    job.ud = &cp;
    if (engine_ppl_run(&job, &err) != PP_OK) {
        if (!as_json) printf("\n");
        cli_error("%s", err.msg);
        goto done;
    }
    if (save_logits) {
        engine_logits_file *f = lf;
        lf = NULL;
        if (engine_logits_close(f, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    }
    double ppl, ppl_err;
    engine_ppl_value(&acc[qi], &ppl, &ppl_err);
    bool have_kld = kl_base || kl_logits;
    engine_kld_summary ks;
    if (have_kld) engine_kld_summarize(&kacc[qi], &ks);
    if (as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "model", json_string(path));
        json_object_set_new(o, "n_ctx", json_integer(ctx));
        json_object_set_new(o, "n_tokens", json_integer((json_int_t)n_ids));
        json_object_set_new(o, "n_chunks", json_integer(n_chunks));
        json_object_set_new(o, "n_scored", json_integer((json_int_t)acc[qi].count));
        json_object_set_new(o, "ppl", json_real(ppl));
        json_object_set_new(o, "ppl_err", json_real(ppl_err));
        json_object_set_new(o, "running_ppl", running);
        running = NULL;
        if (have_kld) json_object_set_new(o, "kld", cli_kld_json(&ks));
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, ppl_err);
        if (have_kld) print_kld(&ks);
    }
    rc = 0;
done:
    if (lf) {
        pp_err e2 = {0};
        engine_logits_close(lf, &e2);
    }
    json_decref(running);
    engine_kld_acc_free(&kacc[0]);
    engine_kld_acc_free(&kacc[1]);
    engine_ppl_runner_free(runners[0]);
    engine_ppl_runner_free(runners[1]);
    engine_model_free(eb);
    engine_model_free(em);
    free(ids);
    free(text);
    return rc;
}
