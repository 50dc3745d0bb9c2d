/* engine.h - a session = model context + tokenizer + sampler: the one generation loop that
 * the CLI and the server both drive (STYLE.md §1), the Gemma 3 chat format, prompt-prefix
 * reuse in the KV cache, stop sequences, UTF-8-safe streaming and Ollama's statistics.
 *
 * Usage:
 *     engine_model *em; engine_session *s; pp_err err;
 *     engine_model_load("m.gguf", &em, &err);
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
/* Sets one option by name from text ("num_ctx", "32768"); handles num_ctx, num_batch,
 * num_predict, num_thread, stop (appends) and every sampler option. Errors name the option:
 * "option 'num_ctx': expected integer, got 'big'"; unknown names: "unknown parameter 'x'". */
pp_status engine_options_set(engine_options *o, const char *name, const char *value, pp_err *err);
/* True if changing from a to b needs a new model context (num_ctx, num_batch, threads, kv). */
bool engine_options_need_reload(const engine_options *a, const engine_options *b);

/* Model + vocabulary, loaded once and shared. */
typedef struct engine_model engine_model;
pp_status engine_model_load(const char *path, engine_model **out, pp_err *err);
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
    uint32_t dropped_turns; /* oldest turns dropped to fit num_ctx */
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

/* Renders msgs with the Gemma 3 template (system folded into the first user turn), drops
 * the oldest turns if the prompt does not fit num_ctx (keeping the system prompt), reuses
 * the cached prefix, then generates. */
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

#endif
