/* cmd_compare.c - `pippa compare A B [C ...] [-f TEXT] [--prompt P] [--seed S] [-c CTX]
 * [--chunks N] [--html FILE] [--json]`: one table comparing models (typically quantizations of
 * one model): file size, weights resident in memory, KV-cache bytes, load time, prefill and
 * decode speed, perplexity on TEXT and KL divergence against the FIRST model; then each model's
 * answer to the same prompt with the same seed.
 *
 * Order of work: every model is loaded (timed), measured for speed (a warm-up and one timed
 * run of -p prefill tokens and -n decoded tokens, like `pippa bench -r 1`) and asked the
 * prompt; then one perplexity pass runs all models chunk by chunk (engine_ppl_run with
 * kld_vs_first), so only one chunk of logits per model is held. Resident memory is measured
 * last: the Rss of the file mapping that holds the tensor data, from /proc/self/smaps (falling
 * back to mincore() on that range, i.e. page-cache residency, where smaps is unavailable),
 * plus the heap copies of weights repacked at load (whose mapped pages were dropped).
 */
#include "cli.h"
#include "cli_env.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli_eval.h"
#include "cli_flags.h"

static const char USAGE[] =
    "usage: pippa compare A.gguf B.gguf [C.gguf ...] [-f TEXT] [-c CTX] [--chunks N] [--prompt P] [--seed S]\n"
    "       [-n NUM_PREDICT] [-t THREADS] [--kv f16|f32] [--html FILE] [--json]";

#define COMPARE_MAX_MODELS 16
#define DEFAULT_PROMPT "Why is the sky blue? Answer in two sentences."
#define BENCH_PREFILL 128
#define BENCH_DECODE 32

/* [lo, hi) of the tensor data inside the model's mapping */
static void data_range(const model *m, uintptr_t *lo, uintptr_t *hi) {
    const gguf_file *f = model_get_gguf(m);
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        uintptr_t a = (uintptr_t)t->data, b = a + (uintptr_t)t->nbytes;
        if (a < *lo) *lo = a;
        if (b > *hi) *hi = b;
    }
    if (*lo > *hi) *lo = *hi = 0;
}

static bool resident_smaps(uintptr_t lo, uintptr_t hi, uint64_t *out) {
    FILE *fp = fopen("/proc/self/smaps", "r");
    if (!fp) return false;
    char line[512];
    bool in = false, found = false;
    uint64_t total = 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned long a, b, kb;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a < hi && b > lo;
            found |= in;
        } else if (in && sscanf(line, "Rss: %lu kB", &kb) == 1) {
            total += (uint64_t)kb * 1024;
        }
    }
    fclose(fp);
    if (!found) return false;
    *out = total;
    return true;
}

static bool resident_mincore(uintptr_t lo, uintptr_t hi, uint64_t *out) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || hi <= lo) return false;
    uintptr_t a = lo & ~(uintptr_t)(ps - 1);
    size_t len = hi - a, pages = (len + ps - 1) / ps;
    unsigned char *vec = malloc(pages);
    if (!vec) return false;
    bool ok = mincore((void *)a, len, vec) == 0;
    uint64_t n = 0;
    for (size_t i = 0; ok && i < pages; i++) n += vec[i] & 1;
    free(vec);
    if (ok) *out = n * (uint64_t)ps;
    return ok;
}

typedef struct text_buf {
    char *p;
    size_t len, cap;
    bool oom;
} text_buf;

static bool on_text(const char *text, size_t len, void *ud) {
    text_buf *b = ud;
    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->len + len + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = true; return false; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, text, len);
    b->len += len;
    b->p[b->len] = 0;
    return true;
}

static void fmt_num(double v, char *buf, size_t cap) {
    if (v != 0 && (v >= 1e6 || v <= -1e6 || (v < 1e-3 && v > -1e-3))) snprintf(buf, cap, "%.4e", v);
    else snprintf(buf, cap, "%.4f", v);
}

static void fmt_ms(double ms, char *buf, size_t cap) { snprintf(buf, cap, "%.1f ms", ms); }

/* one table line: label then one cell per model */
/* display width: UTF-8 code points (the labels use ± and Δ) */
static int text_width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(const char *s, int w, bool right) {
    int k = w - text_width(s);
    if (right) printf("%*s%s", k > 0 ? k : 0, "", s);
    else printf("%s%*s", s, k > 0 ? k : 0, "");
}

static void table_line(const char *label, char cells[][48], size_t n, const int *w) {
    printf("| ");
    pad(label, 30, false);
    printf(" |");
    for (size_t i = 0; i < n; i++) {
        printf(" ");
        pad(cells[i], w[i], true);
        printf(" |");
    }
    printf("\n");
}

static json_t *row_json(const cli_compare_row *r) {
    json_t *o = json_object();
    json_object_set_new(o, "model", json_string(r->name));
    json_object_set_new(o, "path", json_string(r->path));
    json_object_set_new(o, "weight_type", json_string(r->weight_type));
    json_object_set_new(o, "file_bytes", json_integer((json_int_t)r->file_bytes));
    json_object_set_new(o, "weight_bytes", json_integer((json_int_t)r->weight_bytes));
    json_object_set_new(o, "resident_bytes", json_integer((json_int_t)r->resident_bytes));
    json_object_set_new(o, "resident_mapped_bytes", json_integer((json_int_t)r->mapped_resident_bytes));
    json_object_set_new(o, "resident_packed_bytes", json_integer((json_int_t)r->packed_bytes));
    json_object_set_new(o, "resident_method", json_string(r->resident_method));
    json_object_set_new(o, "n_ctx_train", json_integer(r->n_ctx_train));
    json_object_set_new(o, "kv_bytes_train", json_integer((json_int_t)r->kv_bytes_train));
    json_object_set_new(o, "n_ctx", json_integer(r->n_ctx));
    json_object_set_new(o, "kv_bytes_ctx", json_integer((json_int_t)r->kv_bytes_ctx));
    json_object_set_new(o, "load_ms", json_real(r->load_ms));
    json_object_set_new(o, "prefill_tok_s", json_real(r->prefill_tps));
    json_object_set_new(o, "decode_tok_s", json_real(r->decode_tps));
    json_object_set_new(o, "ppl", r->have_ppl ? json_real(r->ppl) : json_null());
    json_object_set_new(o, "ppl_err", r->have_ppl ? json_real(r->ppl_err) : json_null());
    json_object_set_new(o, "kld", r->have_kld ? cli_kld_json(&r->kld) : json_null());
    json_object_set_new(o, "answer", json_string(r->answer ? r->answer : ""));
    return o;
}

static void print_table(const cli_compare_info *info, const cli_compare_row *rows, size_t n) {
    int w[COMPARE_MAX_MODELS] = {0};
    char cells[COMPARE_MAX_MODELS][48];
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(rows[i].name);
        w[i] = l > 14 ? (l > 40 ? 40 : (int)l) : 14;
        snprintf(cells[i], sizeof cells[i], "%.40s", rows[i].name);
    }
    table_line("model", cells, n, w);
    printf("|%s|", "--------------------------------");
    for (size_t i = 0; i < n; i++) {
        printf("%.*s:|", w[i] + 1, "------------------------------------------");
    }
    printf("\n");
#define ROW(label, ...)                                                                  \
    do {                                                                                 \
        for (size_t i = 0; i < n; i++) { const cli_compare_row *r = &rows[i]; __VA_ARGS__; } \
        table_line(label, cells, n, w);                                                  \
    } while (0)
    char label[64];
    ROW("weight type", snprintf(cells[i], 48, "%s", r->weight_type));
    ROW("file size", cli_fmt_size(r->file_bytes, cells[i], 48));
    ROW("weights resident", cli_fmt_size(r->resident_bytes, cells[i], 48));
    ROW("KV cache @ trained ctx", {
        char s[32];
        cli_fmt_size(r->kv_bytes_train, s, sizeof s);
        snprintf(cells[i], 48, "%s (%u)", s, r->n_ctx_train);
    });
    snprintf(label, sizeof label, "KV cache @ ctx %u", info->n_ctx);
    ROW(label, cli_fmt_size(r->kv_bytes_ctx, cells[i], 48));
    ROW("load time", fmt_ms(r->load_ms, cells[i], 48));
    snprintf(label, sizeof label, "prefill tok/s (pp%u)", info->n_prefill);
    ROW(label, snprintf(cells[i], 48, "%.2f", r->prefill_tps));
    snprintf(label, sizeof label, "decode tok/s (tg%u)", info->n_decode);
    ROW(label, snprintf(cells[i], 48, "%.2f", r->decode_tps));
    ROW("PPL", {
        if (r->have_ppl) fmt_num(r->ppl, cells[i], 48);
        else snprintf(cells[i], 48, "-");
    });
    ROW("PPL ± error", {
        if (r->have_ppl) fmt_num(r->ppl_err, cells[i], 48);
        else snprintf(cells[i], 48, "-");
    });
    ROW("PPL ratio vs first", {
        if (r->have_ppl) snprintf(cells[i], 48, "%.6f", r->ppl / rows[0].ppl);
        else snprintf(cells[i], 48, "-");
    });
    ROW("mean KLD vs first", {
        if (r->have_kld) snprintf(cells[i], 48, "%.6f", r->kld.kld);
        else snprintf(cells[i], 48, "-");
    });
    ROW("KLD 99% vs first", {
        if (r->have_kld) snprintf(cells[i], 48, "%.6f", r->kld.kld_pct[2]);
        else snprintf(cells[i], 48, "-");
    });
    ROW("same top token vs first", {
        if (r->have_kld) snprintf(cells[i], 48, "%.3f%%", 100 * r->kld.same_top);
        else snprintf(cells[i], 48, "-");
    });
    ROW("RMS Δp vs first", {
        if (r->have_kld) snprintf(cells[i], 48, "%.3f%%", 100 * r->kld.dp_rms);
        else snprintf(cells[i], 48, "-");
    });
#undef ROW
}

typedef struct compare_params {
    const char *paths[COMPARE_MAX_MODELS];
    size_t n;
    const char *text_path, *html, *prompt;
    long ctx, max_chunks, seed, n_predict, threads;
    bool as_json;
    uint32_t kv_type;
} compare_params;

static compare_params compare_default_params(void) {
    return (compare_params){.prompt = DEFAULT_PROMPT, .ctx = 512, .seed = 42, .n_predict = 64,
                            .kv_type = GGUF_TTYPE_F16};
}

static int compare_parse(int argc, char **argv, compare_params *p) {
    const cli_flag flags[] = {
        {"-f", NULL, CLI_FLAG_STR, &p->text_path, 0, 0, NULL, "text for PPL and KLD"},
        {"--prompt", NULL, CLI_FLAG_STR, &p->prompt, 0, 0, NULL, "the question every model answers"},
        {"--html", NULL, CLI_FLAG_STR, &p->html, 0, 0, NULL, "write an HTML report"},
        {"-c", NULL, CLI_FLAG_LONG, &p->ctx, ENGINE_PPL_MIN_CTX, ENGINE_PPL_MAX_CTX, NULL, "chunk length"},
        {"--chunks", NULL, CLI_FLAG_LONG, &p->max_chunks, 1, 1L << 30, NULL, "at most N chunks"},
        {"--seed", NULL, CLI_FLAG_LONG, &p->seed, 0, 0x7fffffffL, NULL, "sampling seed"},
        {"-n", NULL, CLI_FLAG_LONG, &p->n_predict, 0, 65536, NULL, "answer length"},
        {"-t", NULL, CLI_FLAG_LONG, &p->threads, 1, 1024, NULL, "threads"},
        {"--kv", NULL, CLI_FLAG_FN, &p->kv_type, 0, 0, cli_flag_kv, "KV cache type"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON"},
    };
    char too_many[64];
    snprintf(too_many, sizeof too_many, "compare: at most %d models", COMPARE_MAX_MODELS);
    cli_args a = {.cmd = "compare", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = p->paths, .max_pos = COMPARE_MAX_MODELS, .n_pos = &p->n, .too_many = too_many};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (p->n < 2) { cli_error("compare: need at least two models\n%s", USAGE); return 2; }
    return 0;
}

/* Everything a run holds; compare_state_free releases it. */
typedef struct compare_state {
    engine_model *em[COMPARE_MAX_MODELS];
    engine_ppl_runner *runners[COMPARE_MAX_MODELS];
    cli_compare_row rows[COMPARE_MAX_MODELS];
    engine_ppl_acc acc[COMPARE_MAX_MODELS];
    engine_kld_acc kacc[COMPARE_MAX_MODELS];
    char *text;
    size_t text_len, n_ids;
    int32_t *ids;          /* the text's tokens (first model's vocab) */
    cli_compare_info info;
} compare_state;

static void compare_state_free(compare_state *st, size_t n) {
    for (size_t k = 0; k < n; k++) {
        engine_ppl_runner_free(st->runners[k]);
        engine_kld_acc_free(&st->kacc[k]);
        engine_model_free(st->em[k]);
        free(st->rows[k].answer);
    }
    free(st->ids);
    free(st->text);
}

/* Prefill and decode speed, like `pippa bench -r 1` after one warm-up. */
static int measure_speed(const compare_params *p, const model *m, cli_compare_row *r) {
    const model_hparams *hp = model_get_hparams(m);
    pp_err err = {0};
    model_ctx_params cp = model_ctx_default_params();
    cp.no_fuse = cli_model_params().no_fuse;
    cp.n_ctx = BENCH_PREFILL + BENCH_DECODE + 1;
    cp.n_batch = 512;
    cp.n_threads = (int)p->threads;
    cp.kv_type = p->kv_type;
    model_ctx *bc = NULL;
    if (model_ctx_init(m, cp, &bc, &err) != PP_OK) { cli_error("%s: %s", r->path, err.msg); return 1; }
    int32_t *btoks = malloc((BENCH_PREFILL + 1) * sizeof *btoks);
    float *logits = malloc((size_t)hp->n_vocab * sizeof *logits);
    int rc = 0;
    if (!btoks || !logits) {
        cli_error("compare: out of memory");
        rc = 1;
        goto done;
    }
    cli_bench_tokens(btoks, BENCH_PREFILL + 1, hp->n_vocab);
    for (int rep = 0; rep < 2 && !rc; rep++) { /* rep 0: warm-up */
        if (cli_bench_once(bc, btoks, BENCH_PREFILL, false, logits, &r->prefill_tps, &err) != PP_OK ||
            cli_bench_once(bc, btoks, BENCH_DECODE, true, logits, &r->decode_tps, &err) != PP_OK) {
            cli_error("%s: %s", r->path, err.msg);
            rc = 1;
        }
    }
done:
    free(btoks);
    free(logits);
    model_ctx_free(bc);
    return rc;
}

/* The model's answer to the prompt (same seed for every model). */
static int ask(const compare_params *p, const engine_model *em, cli_compare_row *r) {
    pp_err err = {0};
    engine_options o = engine_default_options();
    o.samp.seed = p->seed;
    o.num_predict = (int32_t)p->n_predict;
    o.num_thread = (int)p->threads;
    o.kv_type = p->kv_type;
    engine_session *sess = NULL;
    if (engine_session_init(em, &o, &sess, &err) != PP_OK) { cli_error("%s: %s", r->path, err.msg); return 1; }
    engine_msg msg = {"user", p->prompt, NULL, 0};
    engine_result res;
    text_buf tb = {0};
    on_text("", 0, &tb);
    pp_status st = engine_chat(sess, &msg, 1, on_text, &tb, &res, &err);
    r->answer = tb.p;
    engine_session_free(sess);
    if (tb.oom) { cli_error("compare: out of memory"); return 1; }
    if (st != PP_OK) { cli_error("%s: %s", r->path, err.msg); return 1; }
    return 0;
}

/* Loads model k (timed), checks it against the first, measures its speed, asks the prompt. */
static int measure_model(const compare_params *p, compare_state *st, size_t k) {
    pp_err err = {0};
    cli_compare_row *r = &st->rows[k];
    r->path = p->paths[k];
    const char *b = strrchr(p->paths[k], '/');
    r->name = b ? b + 1 : p->paths[k];
    if (engine_model_load(p->paths[k], cli_model_params(), &st->em[k], &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    if (k > 0 && cli_ppl_check_vocab(p->paths[0], engine_model_vocab(st->em[0]), p->paths[k],
                                     engine_model_vocab(st->em[k])))
        return 1;
    const model *m = engine_model_get(st->em[k]);
    const model_hparams *hp = model_get_hparams(m);
    uint32_t ctx = (uint32_t)p->ctx;
    if (ctx > hp->n_ctx_train) {
        cli_error("compare: -c %ld exceeds %s's trained context length %u", p->ctx, p->paths[k], hp->n_ctx_train);
        return 1;
    }
    /* a text too short for -c fails before any measuring */
    if (k == 0 && st->text &&
        engine_ppl_tokenize(engine_model_vocab(st->em[0]), p->text_path, st->text, st->text_len, ctx, &st->ids,
                            &st->n_ids, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    r->weight_type = quant_type_name(model_main_weight_type(m));
    r->file_bytes = gguf_file_size(model_get_gguf(m));
    r->weight_bytes = model_weight_bytes(m);
    r->load_ms = engine_model_load_ns(st->em[k]) / 1e6;
    r->n_ctx_train = hp->n_ctx_train;
    r->n_ctx = ctx;
    r->kv_bytes_train = model_kv_bytes(hp, hp->n_ctx_train, 512, p->kv_type);
    r->kv_bytes_ctx = model_kv_bytes(hp, ctx, ctx, p->kv_type);
    if (measure_speed(p, m, r)) return 1;
    return ask(p, st->em[k], r);
}

/* One perplexity pass over all models, KLD against the first. */
static int measure_ppl(const compare_params *p, compare_state *st) {
    pp_err err = {0};
    size_t n = p->n;
    uint32_t n_chunks = (uint32_t)(st->n_ids / (size_t)p->ctx);
    if (p->max_chunks && (uint32_t)p->max_chunks < n_chunks) n_chunks = (uint32_t)p->max_chunks;
    st->info.n_chunks = n_chunks;
    engine_ppl_params pp = engine_ppl_default_params();
    pp.no_fuse = cli_model_params().no_fuse;
    pp.n_ctx = (uint32_t)p->ctx;
    pp.n_threads = (int)p->threads;
    pp.kv_type = p->kv_type;
    for (size_t k = 0; k < n; k++)
        if (engine_ppl_runner_init(engine_model_get(st->em[k]), pp, &st->runners[k], &err) != PP_OK) {
            cli_error("%s: %s", p->paths[k], err.msg);
            return 1;
        }
    engine_ppl_job job = {0};
    job.runners = st->runners;
    job.n_runners = n;
    job.tokens = st->ids;
    job.n_chunks = n_chunks;
    job.bos = tok_bos(engine_model_vocab(st->em[0]));
    job.kld_vs_first = true;
    job.ppl = st->acc;
    job.kld = st->kacc;
    if (engine_ppl_run(&job, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    for (size_t k = 0; k < n; k++) {
        st->rows[k].have_ppl = true;
        engine_ppl_value(&st->acc[k], &st->rows[k].ppl, &st->rows[k].ppl_err);
        if (k > 0) {
            st->rows[k].have_kld = true;
            engine_kld_summarize(&st->kacc[k], &st->rows[k].kld);
        }
    }
    return 0;
}

/* Weights resident after the runs: the file mapping's Rss plus the heap copies repacked at
 * load (written at load, read every token: resident). */
static void measure_resident(const engine_model *em, cli_compare_row *r) {
    uintptr_t lo, hi;
    data_range(engine_model_get(em), &lo, &hi);
    if (resident_smaps(lo, hi, &r->mapped_resident_bytes)) r->resident_method = "smaps Rss";
    else if (resident_mincore(lo, hi, &r->mapped_resident_bytes)) r->resident_method = "mincore";
    else r->resident_method = "n/a";
    r->packed_bytes = model_packed_bytes(engine_model_get(em));
    r->resident_bytes = r->mapped_resident_bytes + r->packed_bytes;
}

static void compare_print(const compare_params *p, const compare_state *st) {
    const cli_compare_row *rows = st->rows;
    size_t n = p->n;
    if (p->as_json) {
        json_t *o = json_object();
        json_object_set_new(o, "text", p->text_path ? json_string(p->text_path) : json_null());
        json_object_set_new(o, "n_ctx", json_integer(p->ctx));
        json_object_set_new(o, "n_chunks", json_integer(st->info.n_chunks));
        json_object_set_new(o, "prompt", json_string(p->prompt));
        json_object_set_new(o, "seed", json_integer(p->seed));
        json_object_set_new(o, "num_predict", json_integer(p->n_predict));
        json_object_set_new(o, "prefill_tokens", json_integer(BENCH_PREFILL));
        json_object_set_new(o, "decode_tokens", json_integer(BENCH_DECODE));
        json_t *arr = json_array();
        for (size_t k = 0; k < n; k++) json_array_append_new(arr, row_json(&rows[k]));
        json_object_set_new(o, "models", arr);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        if (s) puts(s);
        free(s);
        json_decref(o);
        return;
    }
    print_table(&st->info, rows, n);
    printf("\nweights resident: %s of the file mapping after the runs, plus weights repacked at load\n",
           !strcmp(rows[0].resident_method, "smaps Rss") ? "Rss (/proc/self/smaps)" : rows[0].resident_method);
    if (p->text_path)
        printf("PPL/KLD: %s, %u chunks of %ld tokens; KLD, same top and Δp against %s\n", p->text_path,
               st->info.n_chunks, p->ctx, rows[0].name);
    printf("\nprompt: %s\nseed: %ld, num_predict: %ld\n", p->prompt, p->seed, p->n_predict);
    for (size_t k = 0; k < n; k++) printf("\n=== %s ===\n%s\n", rows[k].name, rows[k].answer ? rows[k].answer : "");
}

static int compare_run(const compare_params *p) {
    compare_state st;
    memset(&st, 0, sizeof st);
    st.info = (cli_compare_info){p->text_path, p->prompt, p->seed, (uint32_t)p->ctx, 0, BENCH_PREFILL, BENCH_DECODE,
                                 (int)p->n_predict};
    int rc = 0;
    if (p->text_path && (rc = cli_ppl_read_text(p->text_path, &st.text, &st.text_len))) goto done;
    rc = 1;
    for (size_t k = 0; k < p->n; k++)
        if (measure_model(p, &st, k)) goto done;
    if (st.text && measure_ppl(p, &st)) goto done;
    for (size_t k = 0; k < p->n; k++) measure_resident(st.em[k], &st.rows[k]);
    compare_print(p, &st);
    if (p->html && (rc = cli_compare_write_html(p->html, &st.info, st.rows, p->n)) != 0) goto done;
    rc = 0;
done:
    compare_state_free(&st, p->n);
    return rc;
}

int cli_cmd_compare(int argc, char **argv) {
    compare_params p = compare_default_params();
    int rc = compare_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    return compare_run(&p);
}
