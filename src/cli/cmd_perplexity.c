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
#include "cli_env.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_eval.h"
#include "cli_flags.h"

static const char USAGE[] =
    "usage: pippa perplexity MODEL.gguf -f TEXT [-c CTX] [-b BATCH] [-t THREADS] [--kv f16|f32] [--chunks N]\n"
    "       [--kl-base BASE.gguf | --kl-logits FILE | --save-logits FILE [--logits-type f16|f32]] [--json]";

#define TEXT_MAX_BYTES (1ull << 30)

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

typedef struct ppl_params {
    const char *path, *text_path, *kl_base, *kl_logits, *save_logits;
    long ctx, batch, threads, max_chunks;   /* ctx 0: not given (512, or the saved file's) */
    bool as_json;
    uint32_t kv_type;
    uint32_t logits_type;                   /* engine_logits_dtype */
} ppl_params;

static ppl_params ppl_default_params(void) {
    return (ppl_params){.kv_type = GGUF_TTYPE_F16, .logits_type = ENGINE_LOGITS_F16};
}

static int flag_logits_type(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)flag;
    if (!value) return CLI_FLAGS_MISSING;
    if (!strcmp(value, "f16")) *(uint32_t *)dest = ENGINE_LOGITS_F16;
    else if (!strcmp(value, "f32")) *(uint32_t *)dest = ENGINE_LOGITS_F32;
    else { cli_error("%s: --logits-type: expected f16 or f32, got '%s'", cmd, value); return 2; }
    return 0;
}

static int ppl_parse(int argc, char **argv, ppl_params *p) {
    const cli_flag flags[] = {
        {"-f", NULL, CLI_FLAG_STR, &p->text_path, 0, 0, NULL, "the text"},
        {"-c", NULL, CLI_FLAG_LONG, &p->ctx, ENGINE_PPL_MIN_CTX, ENGINE_PPL_MAX_CTX, NULL, "chunk length"},
        {"-b", NULL, CLI_FLAG_LONG, &p->batch, 1, 65536, NULL, "batch"},
        {"-t", NULL, CLI_FLAG_LONG, &p->threads, 1, 1024, NULL, "threads"},
        {"--chunks", NULL, CLI_FLAG_LONG, &p->max_chunks, 1, 1L << 30, NULL, "at most N chunks"},
        {"--kv", NULL, CLI_FLAG_FN, &p->kv_type, 0, 0, cli_flag_kv, "KV cache type"},
        {"--logits-type", NULL, CLI_FLAG_FN, &p->logits_type, 0, 0, flag_logits_type, "saved logits type"},
        {"--kl-base", NULL, CLI_FLAG_STR, &p->kl_base, 0, 0, NULL, "KLD against a base model"},
        {"--kl-logits", NULL, CLI_FLAG_STR, &p->kl_logits, 0, 0, NULL, "KLD against saved logits"},
        {"--save-logits", NULL, CLI_FLAG_STR, &p->save_logits, 0, 0, NULL, "save this model's logits"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON"},
    };
    cli_args a = {.cmd = "perplexity", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = &p->path, .max_pos = 1};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->path) { cli_error("perplexity: missing MODEL\n%s", USAGE); return 2; }
    if (!p->text_path && !p->kl_logits) { cli_error("perplexity: missing -f TEXT\n%s", USAGE); return 2; }
    if ((p->kl_base != NULL) + (p->kl_logits != NULL) + (p->save_logits != NULL) > 1) {
        cli_error("perplexity: use only one of --kl-base, --kl-logits and --save-logits");
        return 2;
    }
    return 0;
}

/* Everything a run holds; ppl_state_free releases it. */
typedef struct ppl_state {
    engine_model *em, *eb;
    engine_ppl_runner *runners[2];
    size_t n_run, qi;              /* runners in use; the index of the model's own */
    engine_logits_file *lf;        /* --kl-logits (read) or --save-logits (written) */
    char *text;
    size_t text_len, n_ids;
    int32_t *ids;
    uint32_t ctx, n_chunks;
    engine_ppl_acc acc[2];
    engine_kld_acc kacc[2];
    json_t *running;
} ppl_state;

static void ppl_state_free(ppl_state *st) {
    if (st->lf) {
        pp_err e2 = {0};
        engine_logits_close(st->lf, &e2);
    }
    json_decref(st->running);
    engine_kld_acc_free(&st->kacc[0]);
    engine_kld_acc_free(&st->kacc[1]);
    engine_ppl_runner_free(st->runners[0]);
    engine_ppl_runner_free(st->runners[1]);
    engine_model_free(st->eb);
    engine_model_free(st->em);
    free(st->ids);
    free(st->text);
}

/* The saved file's tokens must be the text's (or are the tokens, without -f). */
static int match_saved_tokens(const ppl_params *p, ppl_state *st) {
    uint32_t fc = engine_logits_n_chunks(st->lf);
    const int32_t *ft = engine_logits_tokens(st->lf);
    if (st->ids) {
        if (st->n_chunks < fc) {
            cli_error("%s: has %u chunks, %s gives only %u", p->kl_logits, fc, p->text_path, st->n_chunks);
            return 1;
        }
        for (size_t i = 0; i < (size_t)fc * st->ctx; i++)
            if (ft[i] != st->ids[i]) {
                cli_error("%s: token %zu differs from %s's (%d vs %d)", p->kl_logits, i, p->text_path, ft[i], st->ids[i]);
                return 1;
            }
    } else {
        st->n_ids = (size_t)fc * st->ctx;
        st->ids = malloc(st->n_ids * sizeof *st->ids);
        if (!st->ids) { cli_error("perplexity: out of memory"); return 1; }
        memcpy(st->ids, ft, st->n_ids * sizeof *st->ids);
    }
    st->n_chunks = fc;
    return 0;
}

/* The text, the model, the saved logits: the token chunks to score. */
static int ppl_load_inputs(const ppl_params *p, ppl_state *st) {
    pp_err err = {0};
    int rc;
    if (p->text_path && (rc = cli_ppl_read_text(p->text_path, &st->text, &st->text_len))) return rc;
    if (engine_model_load(p->path, cli_model_params(), &st->em, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    const model_hparams *hp = model_get_hparams(engine_model_get(st->em));
    long ctx = p->ctx ? p->ctx : 512;
    if (p->kl_logits) {
        if (engine_logits_open(p->kl_logits, &st->lf, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
        if (engine_logits_n_vocab(st->lf) != hp->n_vocab) {
            cli_error("%s: vocab of %u tokens does not match %s's %u", p->kl_logits, engine_logits_n_vocab(st->lf),
                      p->path, hp->n_vocab);
            return 1;
        }
        if (p->ctx && (uint32_t)ctx != engine_logits_n_ctx(st->lf)) {
            cli_error("%s: saved with a context of %u, not %ld", p->kl_logits, engine_logits_n_ctx(st->lf), ctx);
            return 1;
        }
        ctx = engine_logits_n_ctx(st->lf);
    }
    if ((uint32_t)ctx > hp->n_ctx_train) {
        cli_error("perplexity: -c %ld exceeds %s's trained context length %u", ctx, p->path, hp->n_ctx_train);
        return 1;
    }
    st->ctx = (uint32_t)ctx;
    if (st->text) {
        if (engine_ppl_tokenize(engine_model_vocab(st->em), p->text_path, st->text, st->text_len, st->ctx, &st->ids,
                                &st->n_ids, &err) != PP_OK) {
            cli_error("%s", err.msg);
            return 1;
        }
        st->n_chunks = (uint32_t)(st->n_ids / st->ctx);
    }
    if (st->lf && (rc = match_saved_tokens(p, st))) return rc;
    if (p->max_chunks && (uint32_t)p->max_chunks < st->n_chunks) st->n_chunks = (uint32_t)p->max_chunks;
    return 0;
}

/* The base model's runner (--kl-base) first, then the model's; the file to save into. */
static int ppl_init_runners(const ppl_params *p, ppl_state *st) {
    pp_err err = {0};
    engine_ppl_params pp = engine_ppl_default_params();
    pp.no_fuse = cli_model_params().no_fuse;
    pp.n_ctx = st->ctx;
    pp.n_batch = (uint32_t)p->batch;
    pp.n_threads = (int)p->threads;
    pp.kv_type = p->kv_type;
    if (p->kl_base) {
        if (engine_model_load(p->kl_base, cli_model_params(), &st->eb, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
        if (cli_ppl_check_vocab(p->path, engine_model_vocab(st->em), p->kl_base, engine_model_vocab(st->eb))) return 1;
        if (st->ctx > model_get_hparams(engine_model_get(st->eb))->n_ctx_train) {
            cli_error("perplexity: -c %u exceeds %s's trained context length", st->ctx, p->kl_base);
            return 1;
        }
        if (engine_ppl_runner_init(engine_model_get(st->eb), pp, &st->runners[st->n_run++], &err) != PP_OK) {
            cli_error("%s: %s", p->kl_base, err.msg);
            return 1;
        }
    }
    st->qi = st->n_run;
    if (engine_ppl_runner_init(engine_model_get(st->em), pp, &st->runners[st->n_run++], &err) != PP_OK) {
        cli_error("%s: %s", p->path, err.msg);
        return 1;
    }
    if (p->save_logits) {
        uint32_t n_vocab = model_get_hparams(engine_model_get(st->em))->n_vocab;
        engine_logits_dtype ldt = (engine_logits_dtype)p->logits_type;
        uint64_t bytes = 0;
        engine_logits_file_bytes(n_vocab, st->ctx, st->n_chunks, ldt, &bytes);
        if (engine_logits_create(p->save_logits, n_vocab, st->ctx, st->n_chunks, st->n_ids, st->ids, ldt, &st->lf,
                                 &err) != PP_OK) {
            cli_error("%s", err.msg);
            return 1;
        }
        fprintf(stderr, "perplexity: saving logits to %s (%.1f MB)\n", p->save_logits, bytes / 1e6);
    }
    return 0;
}

static void ppl_print(const ppl_params *p, ppl_state *st) {
    double ppl, ppl_err;
    engine_ppl_value(&st->acc[st->qi], &ppl, &ppl_err);
    bool have_kld = p->kl_base || p->kl_logits;
    engine_kld_summary ks;
    if (have_kld) engine_kld_summarize(&st->kacc[st->qi], &ks);
    if (!p->as_json) {
        printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", ppl, ppl_err);
        if (have_kld) print_kld(&ks);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(p->path));
    json_object_set_new(o, "n_ctx", json_integer(st->ctx));
    json_object_set_new(o, "n_tokens", json_integer((json_int_t)st->n_ids));
    json_object_set_new(o, "n_chunks", json_integer(st->n_chunks));
    json_object_set_new(o, "n_scored", json_integer((json_int_t)st->acc[st->qi].count));
    json_object_set_new(o, "ppl", json_real(ppl));
    json_object_set_new(o, "ppl_err", json_real(ppl_err));
    json_object_set_new(o, "running_ppl", st->running);
    st->running = NULL;
    if (have_kld) json_object_set_new(o, "kld", cli_kld_json(&ks));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (s) puts(s);
    free(s);
    json_decref(o);
}

static int ppl_run(const ppl_params *p) {
    ppl_state st;
    memset(&st, 0, sizeof st);
    pp_err err = {0};
    int rc = ppl_load_inputs(p, &st);
    if (!rc) rc = ppl_init_runners(p, &st);
    if (rc) goto done;
    rc = 1;
    fprintf(stderr, "perplexity: %zu tokens, %u chunks of %u, scoring %u positions per chunk\n", st.n_ids, st.n_chunks,
            st.ctx, engine_ppl_n_scored(st.ctx));
    if (p->as_json) st.running = json_array();
    chunk_print cp = {&st.acc[st.qi], p->as_json, st.running};
    engine_ppl_job job = {0};
    job.runners = st.runners;
    job.n_runners = st.n_run;
    job.tokens = st.ids;
    job.n_chunks = st.n_chunks;
    job.bos = tok_bos(engine_model_vocab(st.em));
    job.base_file = p->kl_logits ? st.lf : NULL;
    job.save_file = p->save_logits ? st.lf : NULL;
    job.kld_vs_first = p->kl_base != NULL;
    job.ppl = st.acc;
    job.kld = st.kacc;
    job.on_chunk = on_chunk;
    job.ud = &cp;
    if (engine_ppl_run(&job, &err) != PP_OK) {
        if (!p->as_json) printf("\n");
        cli_error("%s", err.msg);
        goto done;
    }
    if (p->save_logits) {
        engine_logits_file *f = st.lf;
        st.lf = NULL;
        if (engine_logits_close(f, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    }
    ppl_print(p, &st);
    rc = 0;
done:
    ppl_state_free(&st);
    return rc;
}

int cli_cmd_perplexity(int argc, char **argv) {
    ppl_params p = ppl_default_params();
    int rc = ppl_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    return ppl_run(&p);
}
