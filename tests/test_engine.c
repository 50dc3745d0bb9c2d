/* test_engine.c - the generation loop: chat rendering against llama.cpp's prompt (c), the
 * prompt prefix staying in the cache across turns, dropping old turns when num_ctx fills,
 * the linear fitting giving the same prompt as the old render-after-each-drop loop, the
 * prompt token count, the last reply's ids reused, stop sequences, sampler determinism
 * across thread counts, option parsing, the statistics block, and zero allocations in the
 * token loop. Uses the fixture models. */
#include "test.h"

#include <dlfcn.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

/* ---- allocation counter (glibc only; ASan owns malloc there) ---- */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_long n_allocs;
void *malloc(size_t n) { atomic_fetch_add(&n_allocs, 1); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add(&n_allocs, 1); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add(&n_allocs, 1); return __libc_realloc(p, n); }
#endif

static engine_model *load(const char *name) {
    const char *fx = t_fixtures_dir();
    if (!fx) return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fx, name);
    engine_model *em = NULL;
    pp_err err = {0};
    if (engine_model_load(path, engine_model_default_params(), &em, &err) != PP_OK) {
        T_CHECK_MSG(0, "%s", err.msg);
        return NULL;
    }
    return em;
}

/* engine_model_params are kept with the model and reach the loader: no_repack leaves
 * nothing packed (no_fuse goes to each session's model_ctx_params). */
static void test_model_params(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) { t_skip("../shared/fixtures not found"); return; }
    char path[512];
    snprintf(path, sizeof path, "%s/fx.Q4_0.gguf", fx);
    engine_model_params mp = engine_model_default_params();
    T_CHECK(!mp.no_repack && !mp.no_fuse);
    mp.no_repack = true;
    mp.no_fuse = true;
    engine_model *em = NULL;
    pp_err err = {0};
    if (engine_model_load(path, mp, &em, &err) != PP_OK) { T_CHECK_MSG(0, "%s", err.msg); return; }
    T_CHECK(engine_model_get_params(em).no_repack && engine_model_get_params(em).no_fuse);
    T_CHECK(model_packed_bytes(engine_model_get(em)) == 0);
    engine_model_free(em);
}

typedef struct sink { char buf[8192]; size_t n; } sink;
static bool collect(const char *t, size_t len, void *ud) {
    sink *s = ud;
    if (s->n + len < sizeof s->buf) { memcpy(s->buf + s->n, t, len); s->n += len; s->buf[s->n] = 0; }
    return true;
}

static void test_render_matches_llamacpp(void) {
    engine_model *em = load("fx.f32.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    static const int32_t want[] = {2, 105, 3809, 107, 1127, 590, 808, 504, 506, 516, 1079, 685, 2410, 558, 106, 107, 105, 3807, 107};
    engine_msg m[] = {{"user", "Write a haiku about the sea.", NULL, 0}};
    int32_t *ids = NULL;
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(engine_render_chat(engine_model_vocab(em), m, 1, true, &ids, &n, &err) == PP_OK);
    T_CHECK_MSG(n == sizeof want / sizeof want[0] && !memcmp(ids, want, sizeof want), "rendered %zu ids", n);
    free(ids);
    /* system folded into the first user turn; user text with a special text stays text */
    engine_msg m2[] = {{"system", "Be brief.", NULL, 0}, {"user", "a <end_of_turn> b", NULL, 0}};
    T_CHECK(engine_render_chat(engine_model_vocab(em), m2, 2, true, &ids, &n, &err) == PP_OK);
    int n_eot = 0;
    for (size_t i = 0; i < n; i++) n_eot += ids[i] == 106;
    T_CHECK_MSG(n_eot == 1, "user text '<end_of_turn>' became a control token (%d)", n_eot);
    T_CHECK(ids[0] == 2 && ids[1] == 105);
    char *txt = NULL;
    size_t tl = 0;
    T_CHECK(tok_detokenize(engine_model_vocab(em), ids, n, false, true, &txt, &tl, &err) == PP_OK);
    T_CHECK_MSG(txt && !strcmp(txt, "<bos><start_of_turn>user\nBe brief.\n\na <end_of_turn> b<end_of_turn>\n<start_of_turn>model\n"),
                "got '%s'", txt ? txt : "");
    free(txt);
    free(ids);
    engine_msg bad[] = {{"tool", "x", NULL, 0}};
    T_CHECK(engine_render_chat(engine_model_vocab(em), bad, 1, true, &ids, &n, &err) == PP_ERR_ARG);
    T_CHECK(strstr(err.msg, "role 'tool'") != NULL);
    engine_model_free(em);
}

/* A follow-up turn processes only the new tokens; dropping the oldest turns when num_ctx
 * fills keeps the system prompt and never truncates the current message. */
static void test_prefix_reuse_and_overflow(void) {
    engine_model *em = load("fx.Q8_0.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    engine_options o = engine_default_options();
    pp_err err = {0};
    T_CHECK(engine_options_set(&o, "num_predict", "8", &err) == PP_OK);
    T_CHECK(engine_options_set(&o, "temperature", "0", &err) == PP_OK);
    T_CHECK(engine_options_set(&o, "num_ctx", "160", &err) == PP_OK);
    engine_session *s = NULL;
    T_CHECK(engine_session_init(em, &o, &s, &err) == PP_OK);
    engine_msg msgs[16];
    int32_t reply[8][64];
    size_t n = 0;
    msgs[n++] = (engine_msg){"system", "You are a sailor.", NULL, 0};
    msgs[n++] = (engine_msg){"user", "Tell me about the sea and the boats.", NULL, 0};
    engine_result r;
    sink out = {0};
    T_CHECK(engine_chat(s, msgs, n, collect, &out, &r, &err) == PP_OK);
    uint32_t first_prompt = r.stats.prompt_eval_count;
    T_CHECK(r.stats.eval_count == 8 && r.done == ENGINE_DONE_LENGTH);
    memcpy(reply[0], r.reply_ids, r.n_reply_ids * sizeof(int32_t));
    msgs[n++] = (engine_msg){"assistant", "", reply[0], r.n_reply_ids};
    msgs[n++] = (engine_msg){"user", "And the wind?", NULL, 0};
    T_CHECK(engine_chat(s, msgs, n, collect, &out, &r, &err) == PP_OK);
    /* new tokens: <end_of_turn>\n<start_of_turn>user\nAnd the wind?<end_of_turn>\n<start_of_turn>model\n */
    T_CHECK_MSG(r.stats.prompt_eval_count > 0 && r.stats.prompt_eval_count < 20 && first_prompt > 10,
                "second turn evaluated %u tokens (first %u)", r.stats.prompt_eval_count, first_prompt);
    T_CHECK(r.dropped_turns == 0);
    /* keep talking until the 160-token context forces drops */
    uint32_t dropped = 0;
    for (int turn = 1; turn < 7 && n + 2 < 16; turn++) {
        memcpy(reply[turn], r.reply_ids, r.n_reply_ids * sizeof(int32_t));
        msgs[n++] = (engine_msg){"assistant", "", reply[turn], r.n_reply_ids};
        msgs[n++] = (engine_msg){"user", "Please say much more about the old man, the boats and the wind over the sea.", NULL, 0};
        T_CHECK_MSG(engine_chat(s, msgs, n, collect, &out, &r, &err) == PP_OK, "%s", err.msg);
        dropped += r.dropped_turns;
    }
    T_CHECK_MSG(dropped > 0, "no turns were dropped in a 160-token context");
    /* a message that alone cannot fit is an error, not a silent truncation */
    static char big[4000];
    for (size_t i = 0; i + 4 < sizeof big; i += 4) memcpy(big + i, "sea ", 4);
    engine_msg huge[] = {{"user", big, NULL, 0}};
    T_CHECK(engine_chat(s, huge, 1, collect, &out, &r, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "does not fit num_ctx 160") != NULL, "%s", err.msg);
    engine_session_free(s);
    engine_model_free(em);
}

/* The fitting loop as it was before engine_chat_fit: render the kept messages again after
 * each dropped exchange. The reference the linear version must match. */
static pp_status old_fit(const tok_vocab *v, const engine_msg *msgs, size_t n, uint32_t n_ctx, int32_t **ids_out,
                         size_t *n_out, uint32_t *dropped_out, pp_err *err) {
    int32_t *ids = NULL;
    size_t n_ids = 0;
    uint32_t reserve = n_ctx / 4 < 1024 ? n_ctx / 4 : 1024;
    size_t first = 0, dropped = 0;
    pp_status st;
    engine_msg *kept = malloc((n ? n : 1) * sizeof *kept);
    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (i >= first || (msgs[i].role && !strcmp(msgs[i].role, "system"))) kept[k++] = msgs[i];
        free(ids);
        ids = NULL;
        if ((st = engine_render_chat(v, kept, k, true, &ids, &n_ids, err))) break;
        if (n_ids + reserve <= n_ctx || first + 1 >= n) break;
        size_t next = first + 1;
        while (next < n - 1 && msgs[next].role && strcmp(msgs[next].role, "user") != 0) next++;
        dropped += next - first;
        first = next;
    }
    free(kept);
    if (st) { free(ids); return st; }
    *ids_out = ids;
    *n_out = n_ids;
    *dropped_out = (uint32_t)dropped;
    return PP_OK;
}

static void check_fit_same(const tok_vocab *v, const char *what, const engine_msg *m, size_t n, uint32_t n_ctx) {
    int32_t *want = NULL;
    size_t n_want = 0;
    uint32_t want_dropped = 0;
    pp_err err = {0};
    T_CHECK_MSG(old_fit(v, m, n, n_ctx, &want, &n_want, &want_dropped, &err) == PP_OK, "%s: %s", what, err.msg);
    engine_fit f;
    T_CHECK_MSG(engine_chat_fit(v, m, n, n_ctx, NULL, &f, &err) == PP_OK, "%s: %s", what, err.msg);
    T_CHECK_MSG(f.n_ids == n_want && f.dropped == want_dropped && !memcmp(f.ids, want, n_want * sizeof *want),
                "%s at num_ctx %u: %zu ids, %u dropped; before %zu ids, %u dropped", what, n_ctx, f.n_ids, f.dropped,
                n_want, want_dropped);
    T_CHECK_MSG(f.n_encode <= n + 4, "%s: %llu tokenizer calls for %zu messages", what,
                (unsigned long long)f.n_encode, n);
    free(f.ids);
    free(want);
}

/* Dropping by counted lengths gives exactly the prompt the old loop gave: the system prompt
 * kept (and a second one, and one that comes late), a last assistant message left open,
 * messages with given ids, a single message too long to fit. */
static void test_fit_matches_old_loop(void) {
    engine_model *em = load("fx.f32.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    const tok_vocab *v = engine_model_vocab(em);
    static const int32_t ids[] = {1127, 590, 808, 504};
    const char *para = "Please say much more about the old man, the boats and the wind over the sea.";
    engine_msg a[] = {{"system", "You are a sailor.", NULL, 0}, {"user", para, NULL, 0}, {"assistant", para, NULL, 0},
                      {"user", para, NULL, 0}, {"assistant", "ok", ids, 4}, {"user", para, NULL, 0},
                      {"assistant", para, NULL, 0}, {"user", "And the wind?", NULL, 0}};
    engine_msg b[] = {{"user", para, NULL, 0}, {"system", "Be brief.", NULL, 0}, {"assistant", para, NULL, 0},
                      {"user", para, NULL, 0}, {"system", "Be long.", NULL, 0}, {"user", para, NULL, 0},
                      {"assistant", para, NULL, 0}, {"assistant", para, NULL, 0}, {"user", para, NULL, 0},
                      {"assistant", "The sea", NULL, 0}};
    engine_msg c[] = {{"assistant", para, NULL, 0}, {"assistant", para, NULL, 0}, {NULL, para, NULL, 0},
                      {"system", "Late system.", NULL, 0}, {"assistant", para, NULL, 0}, {"system", "Last.", NULL, 0}};
    static char big[2000];
    for (size_t i = 0; i + 4 < sizeof big; i += 4) memcpy(big + i, "sea ", 4);
    engine_msg d[] = {{"system", "You are a sailor.", NULL, 0}, {"user", para, NULL, 0}, {"assistant", para, NULL, 0},
                      {"user", big, NULL, 0}};
    static const uint32_t ctx[] = {16, 48, 64, 100, 128, 160, 256, 4096};
    for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
        check_fit_same(v, "sailor", a, sizeof a / sizeof a[0], ctx[k]);
        check_fit_same(v, "two systems", b, sizeof b / sizeof b[0], ctx[k]);
        check_fit_same(v, "late system", c, sizeof c / sizeof c[0], ctx[k]);
        check_fit_same(v, "too long", d, sizeof d / sizeof d[0], ctx[k]);
        check_fit_same(v, "one message", d + 3, 1, ctx[k]);
        check_fit_same(v, "empty", d, 0, ctx[k]);
    }
    /* the system prompt survives the drops */
    engine_fit f;
    pp_err err = {0};
    T_CHECK(engine_chat_fit(v, a, sizeof a / sizeof a[0], 100, NULL, &f, &err) == PP_OK);
    T_CHECK_MSG(f.dropped > 0, "dropped %u", f.dropped);
    char *txt = NULL;
    size_t tl = 0;
    T_CHECK(tok_detokenize(v, f.ids, f.n_ids, false, true, &txt, &tl, &err) == PP_OK);
    T_CHECK_MSG(txt && !strncmp(txt, "<bos><start_of_turn>user\nYou are a sailor.\n\n", 44), "got '%s'", txt ? txt : "");
    free(txt);
    free(f.ids);
    /* a bad role is reported as rendering reports it */
    engine_msg bad[] = {{"user", "a", NULL, 0}, {"tool", "x", NULL, 0}};
    T_CHECK(engine_chat_fit(v, bad, 2, 64, NULL, &f, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "message 1: role 'tool'") != NULL, "%s", err.msg);
    /* a set cancel flag stops the fitting */
    atomic_bool cancel = true;
    T_CHECK(engine_chat_fit(v, a, sizeof a / sizeof a[0], 64, &cancel, &f, &err) == PP_ERR_CANCELLED);
    engine_model_free(em);
}

/* 12,000 one-word messages fit with one tokenizer call per message and one assembly: the old
 * loop rendered the whole conversation again after each of its ~6,000 drops. */
static void test_fit_is_linear(void) {
    engine_model *em = load("fx.f32.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    const tok_vocab *v = engine_model_vocab(em);
    enum { N = 12000 };
    engine_msg *m = malloc(N * sizeof *m);
    m[0] = (engine_msg){"system", "You are a sailor.", NULL, 0};
    for (size_t i = 1; i < N; i++) m[i] = (engine_msg){i % 2 ? "user" : "assistant", "sea", NULL, 0};
    engine_fit f;
    pp_err err = {0};
    T_CHECK(engine_chat_fit(v, m, N, 2048, NULL, &f, &err) == PP_OK);
    T_CHECK_MSG(f.n_encode <= N + 4, "%llu tokenizer calls for %d messages", (unsigned long long)f.n_encode, N);
    T_CHECK_MSG(f.n_ids + 512 <= 2048 && f.n_ids + 512 + 20 > 2048 && f.dropped > N / 2, "%zu ids, %u dropped", f.n_ids,
                f.dropped);
    /* and the prompt is exactly the render of what was kept */
    engine_msg *kept = malloc(N * sizeof *kept);
    size_t k = 0;
    kept[k++] = m[0];
    for (size_t i = f.first; i < N; i++) kept[k++] = m[i];
    int32_t *ids = NULL;
    size_t n = 0;
    T_CHECK(engine_render_chat(v, kept, k, true, &ids, &n, &err) == PP_OK);
    T_CHECK(n == f.n_ids && !memcmp(ids, f.ids, n * sizeof *ids));
    free(ids);
    free(kept);
    free(f.ids);
    free(m);
    engine_model_free(em);
}

/* engine_result.prompt_tokens is the whole prompt (cached prefix included); a reply sent back
 * verbatim as text gets its generated ids, so the next turn evaluates only the new tokens. */
static void test_prompt_tokens_and_reply_reuse(void) {
    engine_model *em = load("fx.Q8_0.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    engine_options o = engine_default_options();
    pp_err err = {0};
    T_CHECK(engine_options_set(&o, "num_predict", "6", &err) == PP_OK);
    T_CHECK(engine_options_set(&o, "temperature", "0", &err) == PP_OK);
    engine_session *s = NULL;
    T_CHECK(engine_session_init(em, &o, &s, &err) == PP_OK);
    engine_msg msgs[4] = {{"system", "You are a sailor.", NULL, 0}, {"user", "Tell me about the sea.", NULL, 0}};
    engine_result r;
    sink out = {0};
    T_CHECK(engine_chat(s, msgs, 2, collect, &out, &r, &err) == PP_OK);
    int32_t *ids = NULL;
    size_t n = 0;
    T_CHECK(engine_render_chat(engine_model_vocab(em), msgs, 2, true, &ids, &n, &err) == PP_OK);
    T_CHECK_MSG(r.prompt_tokens == n && r.stats.prompt_eval_count == n, "prompt %u, evaluated %u, rendered %zu",
                r.prompt_tokens, r.stats.prompt_eval_count, n);
    free(ids);
    int32_t reply[64];
    size_t n_reply = r.n_reply_ids;
    memcpy(reply, r.reply_ids, n_reply * sizeof *reply);
    msgs[2] = (engine_msg){"assistant", out.buf, NULL, 0};
    msgs[3] = (engine_msg){"user", "And the wind?", NULL, 0};
    T_CHECK(engine_chat(s, msgs, 4, collect, &out, &r, &err) == PP_OK);
    (void)reply;
    (void)n_reply;
    /* the prompt is the text's rendering (never this session's ids for it: issue 21), and
     * the first turn's prompt is reused from the cache */
    T_CHECK(engine_render_chat(engine_model_vocab(em), msgs, 4, true, &ids, &n, &err) == PP_OK);
    T_CHECK_MSG(r.prompt_tokens == n, "prompt %u, rendered from the text %zu", r.prompt_tokens, n);
    T_CHECK_MSG(r.stats.prompt_eval_count + 20 < r.prompt_tokens, "evaluated %u of %u", r.stats.prompt_eval_count,
                r.prompt_tokens);
    free(ids);
    engine_session_free(s);
    engine_model_free(em);
}

/* A seeded follow-up at the default temperature answers the same on the session that
 * generated the reply (its prefix cached, its reply's ids known) as on a fresh session
 * (issue 21: the cached reply's ids used to replace the text's rendering). */
static void test_seeded_followup_cold_eq_warm(void) {
    /* the shipped demo model: its replies start with a space the template trims */
    engine_model *em = NULL;
    pp_err err = {0};
    if (engine_model_load("models/pippa-demo/pippa-demo-qat-q4_0.gguf", engine_model_default_params(), &em, &err)) {
        t_skip("models/pippa-demo not found");
        return;
    }
    engine_options o = engine_default_options();
    static const char *const OPT[][2] = {{"num_predict", "40"}, {"seed", "3"}, {"num_ctx", "256"},
                                         {"temperature", "0.7"}, {"repeat_penalty", "1.1"}};
    for (size_t i = 0; i < 5; i++) T_CHECK(engine_options_set(&o, OPT[i][0], OPT[i][1], &err) == PP_OK);
    int differ = 0;
    for (int k = 0; k < 4; k++) {
        const char *first[4] = {"Tell me about the sea.", "In the beginning", "A", "Once upon a time"};
        engine_session *warm = NULL, *cold = NULL;
        T_CHECK(engine_session_init(em, &o, &warm, &err) == PP_OK);
        T_CHECK(engine_session_init(em, &o, &cold, &err) == PP_OK);
        engine_msg msgs[3] = {{"user", first[k], NULL, 0}};
        engine_result r;
        sink a = {0}, b = {0}, c = {0};
        T_CHECK(engine_chat(warm, msgs, 1, collect, &a, &r, &err) == PP_OK);
        msgs[1] = (engine_msg){"assistant", a.buf, NULL, 0};
        msgs[2] = (engine_msg){"user", "And then?", NULL, 0};
        T_CHECK(engine_chat(warm, msgs, 3, collect, &b, &r, &err) == PP_OK);
        T_CHECK(engine_chat(cold, msgs, 3, collect, &c, &r, &err) == PP_OK);
        if (strcmp(b.buf, c.buf)) differ++;
        engine_session_free(warm);
        engine_session_free(cold);
    }
    T_CHECK_MSG(differ == 0, "%d of 4 follow-ups differ between a warm and a cold session", differ);
    engine_model_free(em);
}

/* Same seed and options give the same tokens at 1 and 2 threads. */
static void test_seed_determinism_threads(void) {
    engine_model *em = load("fx.Q4_K_M.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    int32_t got[2][32];
    size_t ng[2] = {0, 0};
    for (int nt = 1; nt <= 2; nt++) {
        engine_options o = engine_default_options();
        pp_err err = {0};
        char th[16];
        snprintf(th, sizeof th, "%d", nt);
        T_CHECK(engine_options_set(&o, "num_thread", th, &err) == PP_OK);
        T_CHECK(engine_options_set(&o, "seed", "1234", &err) == PP_OK);
        T_CHECK(engine_options_set(&o, "temperature", "1.5", &err) == PP_OK);
        T_CHECK(engine_options_set(&o, "top_k", "0", &err) == PP_OK);
        T_CHECK(engine_options_set(&o, "top_p", "1", &err) == PP_OK);
        T_CHECK(engine_options_set(&o, "num_predict", "32", &err) == PP_OK);
        engine_session *s = NULL;
        T_CHECK(engine_session_init(em, &o, &s, &err) == PP_OK);
        engine_msg m[] = {{"user", "Once upon a time", NULL, 0}};
        engine_result r;
        T_CHECK(engine_chat(s, m, 1, NULL, NULL, &r, &err) == PP_OK);
        ng[nt - 1] = r.n_reply_ids;
        memcpy(got[nt - 1], r.reply_ids, r.n_reply_ids * sizeof(int32_t));
        T_CHECK(engine_session_seed(s) == 1234);
        engine_session_free(s);
    }
    T_CHECK(ng[0] == ng[1] && ng[0] > 0 && !memcmp(got[0], got[1], ng[0] * sizeof(int32_t)));
    engine_model_free(em);
}

/* Stop sequences end the text before the match, also when the match spans tokens. */
static void test_stop_sequences(void) {
    engine_model *em = load("fx.f32.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    const tok_vocab *v = engine_model_vocab(em);
    /* fx echoes its last token: a raw prompt ending in "ab" keeps producing "b" */
    int32_t *ids = NULL;
    size_t n = 0;
    pp_err err = {0};
    T_CHECK(tok_encode_alloc(v, "the sea the sea", 15, true, false, &ids, &n, &err) == PP_OK);
    engine_options o = engine_default_options();
    T_CHECK(engine_options_set(&o, "temperature", "0", &err) == PP_OK);
    T_CHECK(engine_options_set(&o, "num_predict", "12", &err) == PP_OK);
    engine_session *s = NULL;
    T_CHECK(engine_session_init(em, &o, &s, &err) == PP_OK);
    engine_result r;
    sink a = {0};
    T_CHECK(engine_generate_ids(s, ids, n, collect, &a, &r, &err) == PP_OK);
    T_CHECK_MSG(a.n > 6 && r.done == ENGINE_DONE_LENGTH, "free run gave '%s'", a.buf);
    /* stop at the 3rd repetition of whatever the model repeats */
    char stop[64] = {0};
    size_t unit = 0;
    for (size_t u = 1; u <= a.n / 3; u++)
        if (!memcmp(a.buf, a.buf + u, u) && !memcmp(a.buf, a.buf + 2 * u, u)) { unit = u; break; }
    T_CHECK_MSG(unit > 0 && unit < 20, "no repeating unit in '%s'", a.buf);
    memcpy(stop, a.buf, unit);
    memcpy(stop + unit, a.buf, unit);
    T_CHECK(engine_options_set(&o, "stop", stop, &err) == PP_OK);
    T_CHECK(engine_session_set_options(s, &o, &err) == PP_OK);
    sink b = {0};
    T_CHECK(engine_generate_ids(s, ids, n, collect, &b, &r, &err) == PP_OK);
    T_CHECK_MSG(b.n == 0 && r.done == ENGINE_DONE_STOP, "with stop '%s' got '%s' (done %d)", stop, b.buf, r.done);
    free(ids);
    engine_session_free(s);
    engine_model_free(em);
}

static void test_options_and_stats(void) {
    engine_options o = engine_default_options();
    pp_err err = {0};
    T_CHECK(engine_options_set(&o, "num_ctx", "big", &err) == PP_ERR_ARG);
    T_CHECK(!strcmp(err.msg, "option 'num_ctx': expected integer, got 'big'"));
    T_CHECK(engine_options_set(&o, "num_ctx", "0", &err) == PP_ERR_ARG);
    T_CHECK(engine_options_set(&o, "bogus", "1", &err) == PP_ERR_NOT_FOUND);
    T_CHECK(!strcmp(err.msg, "unknown parameter 'bogus'"));
    T_CHECK(engine_options_set(&o, "top_p", "2", &err) != PP_OK);
    T_CHECK(engine_options_set(&o, "num_ctx", "32768", &err) == PP_OK && o.num_ctx == 32768);
    for (int i = 0; i < ENGINE_MAX_STOP; i++) T_CHECK(engine_options_set(&o, "stop", "x", &err) == PP_OK);
    T_CHECK(engine_options_set(&o, "stop", "y", &err) == PP_ERR_ARG);
    char d[64];
    engine_format_duration(2811290634ull, d, sizeof d); T_CHECK(!strcmp(d, "2.811290634s"));
    engine_format_duration(51403219ull, d, sizeof d); T_CHECK(!strcmp(d, "51.403219ms"));
    engine_format_duration(812400ull, d, sizeof d); T_CHECK(!strcmp(d, "812.4\xC2\xB5s"));
    engine_format_duration(950ull, d, sizeof d); T_CHECK(!strcmp(d, "950ns"));
    engine_format_duration(65200000000ull, d, sizeof d); T_CHECK(!strcmp(d, "1m5.2s"));
    engine_format_duration(3723000000000ull, d, sizeof d); T_CHECK(!strcmp(d, "1h2m3s"));
    engine_format_duration(2000000000ull, d, sizeof d); T_CHECK(!strcmp(d, "2s"));
    engine_stats st = {2811290634ull, 11000000ull, 160000000ull, 371000000ull, 14, 16};
    char buf[1024];
    engine_format_stats(&st, buf, sizeof buf);
    T_CHECK_MSG(strstr(buf, "prompt eval count:    14 token(s)\n") && strstr(buf, "prompt eval rate:     87.50 tokens/s\n") &&
                    strstr(buf, "total duration:       2.811290634s\n") && strstr(buf, "eval rate:            43.13 tokens/s\n"),
                "%s", buf);
}

/* The token loop (decode one token + sample) allocates nothing. */
static void test_no_alloc_in_token_loop(void) {
#if !COUNT_ALLOCS
    t_skip("allocation counting is not possible under ASan");
#else
    engine_model *em = load("fx.Q4_0.gguf");
    if (!em) { t_skip("../shared/fixtures not found"); return; }
    const model *m = engine_model_get(em);
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 2;
    model_ctx *c = NULL;
    pp_err err = {0};
    T_CHECK(model_ctx_init(m, cp, &c, &err) == PP_OK);
    samp *sp = NULL;
    samp_params p = samp_default_params();
    p.seed = 1;
    T_CHECK(samp_init(p, (int32_t)model_get_hparams(m)->n_vocab, &sp, &err) == PP_OK);
    float *logits = __libc_malloc(model_get_hparams(m)->n_vocab * sizeof(float));
    int32_t tok = 2;
    T_CHECK(model_ctx_eval(c, &tok, 1, NULL, logits, &err) == PP_OK);
    long before = atomic_load(&n_allocs);
    for (int i = 0; i < 20; i++) {
        T_CHECK(samp_sample(sp, logits, &tok, &err) == PP_OK);
        samp_accept(sp, tok);
        T_CHECK(model_ctx_eval(c, &tok, 1, NULL, logits, &err) == PP_OK);
    }
    long after = atomic_load(&n_allocs);
    T_CHECK_MSG(after == before, "%ld allocations in 20 tokens", after - before);
    free(logits);
    samp_free(sp);
    model_ctx_free(c);
    engine_model_free(em);
#endif
}

int main(void) {
    t_kern_init();
    T_RUN(test_render_matches_llamacpp);
    T_RUN(test_model_params);
    T_RUN(test_prefix_reuse_and_overflow);
    T_RUN(test_fit_matches_old_loop);
    T_RUN(test_fit_is_linear);
    T_RUN(test_prompt_tokens_and_reply_reuse);
    T_RUN(test_seeded_followup_cold_eq_warm);
    T_RUN(test_seed_determinism_threads);
    T_RUN(test_stop_sequences);
    T_RUN(test_options_and_stats);
    T_RUN(test_no_alloc_in_token_loop);
    return t_finish("engine");
}
