/* engine.h - a session = model context + tokenizer + sampler: the one generation loop that
 * the CLI and the server both drive (STYLE.md §1), the Gemma 3 chat format, prompt-prefix
 * reuse in the KV cache, stop sequences, UTF-8-safe streaming and Ollama's statistics.
 *
 * Usage:
 *     engine_model *em; engine_session *s; pp_err err;
 *     engine_model_load("m.gguf", engine_model_default_params(), &em, &err);
 *     engine_options o = engine_default_options();
 *     engine_session_init(em, &o, &s, &err);
 *     engine_msg msgs[] = {{"user", "Hello", NULL, 0}};
 *     engine_result r;
 *     engine_chat(s, msgs, 1, on_text, userdata, &r, &err);   // streams the reply
 *     ... r.stats.eval_count, r.reply_ids ...
 *     engine_session_free(s); engine_model_free(em);
 *
 * Thread safety: an engine_model is immutable and shared; an engine_session is driven by one
 * thread at a time. engine_session_cancel may be called from any thread (or a signal
 * handler): generation stops within one token.
 */
#ifndef PIPPA_ENGINE_H
#define PIPPA_ENGINE_H

#include <signal.h>

#include "../model/model.h"
#include "../sample/samp.h"
#include "../tokenizer/tok.h"

#define ENGINE_MAX_STOP 16
#define ENGINE_MAX_STOP_LEN 256

/* Run-time options: Ollama's PARAMETER names (ollama-compat.md §2.3). */
typedef struct engine_options {
    samp_params samp;
    uint32_t num_ctx;       /* 0 = min(4096, trained context) */
    uint32_t num_batch;     /* prompt chunk, default 256 */
    int32_t num_predict;    /* -1 = no limit (until the context is full) */
    int num_thread;         /* 0 = all CPUs */
    uint32_t kv_type;       /* GGUF_TTYPE_F16 (default) or F32 */
    int n_stop;
    char stop[ENGINE_MAX_STOP][ENGINE_MAX_STOP_LEN];
} engine_options;
engine_options engine_default_options(void);
/* Sets one option by name from text ("num_ctx", "32768"): an ENGINE or SAMPLER row of the
 * table below (stop appends); NO_EFFECT rows are accepted and ignored. Errors name the
 * option: "option 'num_ctx': expected integer, got 'big'"; REFUSED rows and names not in
 * the table: PP_ERR_NOT_FOUND "unknown parameter 'x'". */
pp_status engine_options_set(engine_options *o, const char *name, const char *value, pp_err *err);
/* Value i of an option as text ("%g" for floats, the integer, a stop sequence unquoted)
 * into buf; returns how many values the option has (n_stop for stop, 0 for NO_EFFECT,
 * REFUSED and unknown names, else 1). */
size_t engine_options_text(const engine_options *o, const char *name, size_t i, char *buf, size_t cap);

/* The options table (options.c): every Ollama option name once, with its value type,
 * range, default, where it goes and the REPL's help line. Every front end reads it. */
typedef enum engine_opt_type {
    ENGINE_OPT_TYPE_INT, ENGINE_OPT_TYPE_FLOAT, ENGINE_OPT_TYPE_BOOL, ENGINE_OPT_TYPE_STRINGS
} engine_opt_type;
typedef enum engine_opt_dest {
    ENGINE_OPT_DEST_ENGINE,    /* an engine_options field */
    ENGINE_OPT_DEST_SAMPLER,   /* a samp_params field (the sampler's row, samp_opt_get) */
    ENGINE_OPT_DEST_NO_EFFECT, /* accepted and ignored: no effect on a CPU runtime (num_gpu, ...) */
    ENGINE_OPT_DEST_REFUSED    /* removed by Ollama (mirostat, tfs_z, ...): unknown to -p and
                                  /set parameter; JSON options and PARAMETER warn and ignore */
} engine_opt_dest;
typedef struct engine_opt {
    const char *name;
    engine_opt_type type;
    engine_opt_dest dest;
    double lo, hi;    /* ENGINE/SAMPLER numbers: allowed range (-HUGE_VAL/HUGE_VAL: open) */
    bool lo_open;     /* the value must be > lo */
    double def;       /* default (engine_default_options'); 0 for the others */
    const char *help; /* the REPL's help line ("Set the context size"), NULL when unlisted */
} engine_opt;
size_t engine_opt_count(void);
/* Row i (< engine_opt_count()), in the REPL help's order. */
engine_opt engine_opt_at(size_t i);
/* The row of name into *out (may be NULL); false for names not in the table. */
bool engine_opt_find(const char *name, engine_opt *out);
/* True if changing from a to b needs a new model context (num_ctx, num_batch, threads, kv). */
bool engine_options_need_reload(const engine_options *a, const engine_options *b);

/* How a model is loaded and run: switches for A/B timing and bisecting, read from the
 * environment by the front ends' main (PIPPA_NO_REPACK, PIPPA_NO_FUSE), never below. */
typedef struct engine_model_params {
    bool no_repack;  /* model_load_params.no_repack: weights stay in the file's layout */
    bool no_fuse;    /* model_ctx_params.no_fuse of every context made for this model */
} engine_model_params;
engine_model_params engine_model_default_params(void);   /* both false */

/* Model + vocabulary, loaded once and shared. */
typedef struct engine_model engine_model;
pp_status engine_model_load(const char *path, engine_model_params p, engine_model **out, pp_err *err);
/* The parameters it was loaded with (callers that make their own model_ctx copy no_fuse). */
engine_model_params engine_model_get_params(const engine_model *em);
void engine_model_free(engine_model *em);
const model *engine_model_get(const engine_model *em);
const tok_vocab *engine_model_vocab(const engine_model *em);
uint64_t engine_model_load_ns(const engine_model *em);

/* A chat message. ids (optional) are the content's token ids when known (a reply this
 * session generated), so the cached prefix matches exactly. */
typedef struct engine_msg {
    const char *role;    /* "system", "user", "assistant" (or "model") */
    const char *content;
    const int32_t *ids;
    size_t n_ids;
} engine_msg;

/* Ollama's timing fields, nanoseconds. */
typedef struct engine_stats {
    uint64_t total_duration, load_duration, prompt_eval_duration, eval_duration;
    uint32_t prompt_eval_count, eval_count;
} engine_stats;

typedef enum engine_done {
    ENGINE_DONE_STOP = 0,   /* end-of-generation token or stop sequence */
    ENGINE_DONE_LENGTH,     /* num_predict reached or the context is full */
    ENGINE_DONE_CANCELLED
} engine_done;

typedef struct engine_result {
    engine_stats stats;
    engine_done done;
    bool context_full;      /* generation stopped because num_ctx was reached */
    uint32_t prompt_tokens; /* the whole prompt, cached prefix included (stats.prompt_eval_count
                               is the part evaluated now) */
    uint32_t dropped_turns; /* oldest messages dropped to fit num_ctx */
    int32_t *reply_ids;     /* generated ids (owned by the session, valid until the next call) */
    size_t n_reply_ids;
} engine_result;

/* Called with each piece of complete UTF-8 text; return false to stop. */
typedef bool (*engine_text_fn)(const char *text, size_t len, void *ud);

typedef struct engine_session engine_session;
pp_status engine_session_init(const engine_model *em, const engine_options *o, engine_session **out, pp_err *err);
void engine_session_free(engine_session *s);
/* Changes options; recreates the model context only when engine_options_need_reload. */
pp_status engine_session_set_options(engine_session *s, const engine_options *o, pp_err *err);
const engine_options *engine_session_options(const engine_session *s);
uint64_t engine_session_seed(const engine_session *s);
uint64_t engine_session_kv_bytes(const engine_session *s);
/* Context length in use (num_ctx after defaults and the cap at the trained length). */
uint32_t engine_session_n_ctx(const engine_session *s);
void engine_session_cancel(engine_session *s);
/* Forgets the cached conversation. */
void engine_session_clear(engine_session *s);
/* PP_ERR_ARG "the prompt is N tokens, which does not fit num_ctx C (raise num_ctx)" unless
 * a prompt of n_ids tokens leaves room for at least one generated token. */
pp_status engine_session_check_fit(const engine_session *s, size_t n_ids, pp_err *err);

/* Renders msgs with the Gemma 3 template (system folded into the first user turn), drops
 * the oldest turns if the prompt does not fit num_ctx (keeping the system prompt), reuses
 * the cached prefix, then generates. The prompt depends on msgs only (an assistant message
 * without ids is tokenized from its text, also when it repeats this session's last reply),
 * so a seeded request answers the same whatever the cache holds. Cancelling while the prompt is
 * fitted gives PP_OK with done ENGINE_DONE_CANCELLED and nothing generated. */
pp_status engine_chat(engine_session *s, const engine_msg *msgs, size_t n, engine_text_fn fn, void *ud,
                      engine_result *res, pp_err *err);
/* Generates after raw prompt ids (no template). */
pp_status engine_generate_ids(engine_session *s, const int32_t *ids, size_t n, engine_text_fn fn, void *ud,
                              engine_result *res, pp_err *err);
/* Renders msgs into ids (caller frees *out); add_generation_prompt appends the model turn. */
pp_status engine_render_chat(const tok_vocab *v, const engine_msg *msgs, size_t n, bool add_generation_prompt,
                             int32_t **out, size_t *n_out, pp_err *err);

/* Ollama's --verbose block (ollama-compat.md §1.4) into buf. */
void engine_format_stats(const engine_stats *st, char *buf, size_t cap);
/* Go duration text: "2.811290634s", "51.403219ms", "812.4µs", "950ns", "1m5.2s". */
void engine_format_duration(uint64_t ns, char *buf, size_t cap);


/* ---- Perplexity and KL divergence (perplexity.c, logits_file.c) ----
 * Computed as llama.cpp's llama-perplexity does: the text is tokenized with BOS (add_special,
 * no special-token parsing), cut into floor(n_tokens / n_ctx) chunks of n_ctx tokens (the rest
 * is dropped); each chunk is evaluated from an empty cache with its first token replaced by
 * BOS, and positions first = n_ctx/2 .. n_ctx-2 predict the next token (n_ctx - 1 - first
 * predictions per chunk). PPL = exp(mean NLL); its error is PPL * sqrt(var(NLL) / (N - 1)).
 *
 *     engine_ppl_runner *r; engine_ppl_runner_init(m, params, &r, &err);
 *     for (c = 0; c < n_chunks; c++) {
 *         const float *rows;   // n_scored rows of n_vocab logits
 *         engine_ppl_runner_eval(r, ids + c * n_ctx, &rows, &err);
 *         for (i = 0; i < n_scored; i++)
 *             engine_ppl_add(&acc, rows + i * n_vocab, n_vocab, ids[c * n_ctx + first + i + 1]);
 *         engine_ppl_value(&acc, &ppl, &ppl_err);   // llama.cpp's running value
 *     }
 */
#define ENGINE_PPL_MIN_CTX 4u
#define ENGINE_PPL_MAX_CTX 1048576u

typedef struct engine_ppl_params {
    uint32_t n_ctx;      /* chunk length in tokens */
    uint32_t n_batch;    /* 0: n_ctx */
    int n_threads;       /* 0: all CPUs */
    uint32_t kv_type;    /* GGUF_TTYPE_F16 or GGUF_TTYPE_F32 */
    bool no_fuse;        /* model_ctx_params.no_fuse */
} engine_ppl_params;
engine_ppl_params engine_ppl_default_params(void);   /* n_ctx 512, F16 KV */

/* Scored positions of a chunk: first = n_ctx / 2, n_scored = n_ctx - 1 - first. */
static inline uint32_t engine_ppl_first(uint32_t n_ctx) { return n_ctx / 2; }
static inline uint32_t engine_ppl_n_scored(uint32_t n_ctx) { return n_ctx - 1 - n_ctx / 2; }

/* Tokenizes text for perplexity (BOS added when the vocab says so, specials not parsed) and
 * checks there are at least 2 * n_ctx tokens ("TEXT: 57 tokens, need at least 256 for
 * -c 128"). name prefixes messages. Caller frees *ids. */
pp_status engine_ppl_tokenize(const tok_vocab *v, const char *name, const char *text, size_t len, uint32_t n_ctx,
                              int32_t **ids, size_t *n_ids, pp_err *err);

/* A model context plus the buffers for one chunk (n_scored * n_vocab floats). */
typedef struct engine_ppl_runner engine_ppl_runner;
pp_status engine_ppl_runner_init(const model *m, engine_ppl_params p, engine_ppl_runner **out, pp_err *err);
void engine_ppl_runner_free(engine_ppl_runner *r);
/* Evaluates one chunk (n_ctx ids; ids[0] is replaced by bos) from an empty cache. *rows points
 * at n_scored rows of raw logits (owned by the runner, valid until the next eval). */
pp_status engine_ppl_runner_eval(engine_ppl_runner *r, const int32_t *chunk, int32_t bos, const float **rows,
                                 pp_err *err);

typedef struct engine_logits_file engine_logits_file;

/* Running negative log-likelihood sums (zero-initialize). */
typedef struct engine_ppl_acc {
    double nll, nll2;
    uint64_t count;
} engine_ppl_acc;
/* Adds one prediction from raw logits; returns log p(target). */
double engine_ppl_add(engine_ppl_acc *a, const float *logits, uint32_t n_vocab, int32_t target);
/* PPL and its standard error (llama.cpp's formula); 0/0 when count is 0. */
void engine_ppl_value(const engine_ppl_acc *a, double *ppl, double *ppl_err);

/* log-softmax of n logits into out (may alias logits), computed in double; returns the
 * argmax (lowest id on ties). */
int32_t engine_log_softmax(const float *logits, uint32_t n, float *out);

/* KL divergence of a model Q against a base model, position by position. */
typedef struct engine_kld_acc {
    uint64_t n, same_top;
    double kld, kld2;
    double dp, dp2, dp4;                 /* Δp = p_q(target) - p_base(target) */
    double lq, lq2, lb, lb2, lqb;        /* log p(target) sums, for PPLs and their correlation */
    float *kld_vals, *dp_vals;           /* per position, for percentiles */
    size_t cap;
} engine_kld_acc;
void engine_kld_acc_free(engine_kld_acc *a);   /* frees the arrays; the struct may be reused */
/* Adds one position: base_logp is the base model's log-softmax (n_vocab), base_top its argmax,
 * base_target_logp its log p(target); q_logits are Q's raw logits. Fails only on OOM. */
pp_status engine_kld_add(engine_kld_acc *a, const float *base_logp, int32_t base_top, double base_target_logp,
                         const float *q_logits, uint32_t n_vocab, int32_t target, pp_err *err);

/* One pass over the chunks with several models (all runners must share n_ctx and n_vocab).
 * Per chunk every runner is evaluated (each holds only that chunk's rows), then each scored
 * position is added to ppl[k]; with base_file, kld[k] of every runner is computed against the
 * file's row; with kld_vs_first, kld[k] (k >= 1) against runner 0; with save_file, runner 0's
 * rows are written. on_chunk (optional) is called after each chunk. */
typedef struct engine_ppl_job {
    engine_ppl_runner *const *runners;
    size_t n_runners;
    const int32_t *tokens;           /* n_chunks * n_ctx */
    uint32_t n_chunks;
    int32_t bos;
    engine_logits_file *base_file;   /* optional */
    engine_logits_file *save_file;   /* optional */
    bool kld_vs_first;
    engine_ppl_acc *ppl;             /* n_runners */
    engine_kld_acc *kld;             /* n_runners, or NULL without KLD */
    void (*on_chunk)(void *ud, uint32_t chunk);
    void *ud;
} engine_ppl_job;
pp_status engine_ppl_run(const engine_ppl_job *j, pp_err *err);
uint32_t engine_ppl_runner_n_ctx(const engine_ppl_runner *r);
uint32_t engine_ppl_runner_n_vocab(const engine_ppl_runner *r);

#define ENGINE_KLD_N_PCT 8   /* max, 99.9, 99, median, 10, 5, 1, min */
#define ENGINE_DP_N_PCT 13   /* max, 99.9, 99, 95, 90, 75, median, 25, 10, 5, 1, 0.1, min */
extern const double engine_kld_pct_fraction[ENGINE_KLD_N_PCT];
extern const double engine_dp_pct_fraction[ENGINE_DP_N_PCT];
typedef struct engine_kld_summary {
    uint64_t n;
    double ppl_q, ppl_q_err, ppl_base, ppl_base_err;
    double cor_ln_ppl;                   /* correlation of the per-token log-probs */
    double ln_ratio, ln_ratio_err;       /* mean ln(PPL(Q)/PPL(base)) */
    double ppl_ratio, ppl_ratio_err, ppl_diff, ppl_diff_err;
    double kld, kld_err;                 /* mean KLD (nats) */
    double kld_pct[ENGINE_KLD_N_PCT];
    double dp, dp_err, dp_rms, dp_rms_err; /* fractions (x100 for percent) */
    double dp_pct[ENGINE_DP_N_PCT];
    double same_top, same_top_err;       /* fractions */
} engine_kld_summary;
/* Summary figures as llama-perplexity --kl-divergence prints them (percentiles interpolate
 * linearly between sorted values). Sorts the per-position arrays in place. */
void engine_kld_summarize(engine_kld_acc *a, engine_kld_summary *out);

/* ---- Saved base logits (logits_file.c) ----
 * Binary file, little-endian, written by `pippa perplexity --save-logits`:
 *   header, 64 bytes: magic "PPLOGIT1" | u32 version (1) | u32 n_vocab | u32 n_ctx |
 *     u32 n_chunks | u32 dtype (1 = F16, 0 = F32) | u32 reserved (0) | u64 n_text_tokens |
 *     24 zero bytes
 *   tokens: n_chunks * n_ctx int32 (the chunked token stream, before BOS replacement)
 *   rows: for each chunk, n_scored(n_ctx) records of
 *     i32 argmax | f32 log p(target) | n_vocab log-softmax values (dtype)
 * The file's size must equal exactly what the header implies (at most ENGINE_LOGITS_MAX_BYTES);
 * engine_logits_create first checks that the file system has room for it.
 * F16 rows are 2 * n_vocab + 8 bytes per scored position (about n_vocab bytes per text token):
 * a 262144-token vocab costs 512 KiB per scored position. */
#define ENGINE_LOGITS_MAGIC "PPLOGIT1"
#define ENGINE_LOGITS_HEADER_BYTES 64u
#define ENGINE_LOGITS_MAX_BYTES (1ull << 40)
typedef enum engine_logits_dtype { ENGINE_LOGITS_F32 = 0, ENGINE_LOGITS_F16 = 1 } engine_logits_dtype;
/* Total bytes of a file with these dimensions; false on overflow. */
bool engine_logits_file_bytes(uint32_t n_vocab, uint32_t n_ctx, uint32_t n_chunks, engine_logits_dtype dt,
                              uint64_t *out);
/* Creates path and writes header + tokens (n_chunks * n_ctx ids). */
pp_status engine_logits_create(const char *path, uint32_t n_vocab, uint32_t n_ctx, uint32_t n_chunks,
                               uint64_t n_text_tokens, const int32_t *tokens, engine_logits_dtype dt,
                               engine_logits_file **out, pp_err *err);
/* Appends one scored position from raw logits (log-softmax computed here). */
pp_status engine_logits_write_row(engine_logits_file *f, const float *logits, int32_t target, pp_err *err);
/* Opens and validates a file (magic, version, dims, exact size, token ids < n_vocab). */
pp_status engine_logits_open(const char *path, engine_logits_file **out, pp_err *err);
uint32_t engine_logits_n_vocab(const engine_logits_file *f);
uint32_t engine_logits_n_ctx(const engine_logits_file *f);
uint32_t engine_logits_n_chunks(const engine_logits_file *f);
const int32_t *engine_logits_tokens(const engine_logits_file *f);   /* n_chunks * n_ctx */
/* Reads the next row: log-softmax (renormalized) into logp (n_vocab floats), the argmax and
 * log p(target). Rejects non-finite values and out-of-range argmax with the row's position. */
pp_status engine_logits_read_row(engine_logits_file *f, float *logp, int32_t *top, double *target_logp,
                                 pp_err *err);
/* Flushes and closes; for a file being written, fails if it is incomplete or a write failed
 * (and removes it). NULL-safe. */
pp_status engine_logits_close(engine_logits_file *f, pp_err *err);

#endif
