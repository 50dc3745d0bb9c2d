/* gen.c - pippa-gen: writes Gemma-3-shaped GGUF files with deterministic random weights.
 *
 *   pippa-gen --shape 1b --type f16 -o gemma3-1b-random.gguf
 *   pippa-gen --layers 2 --embd 128 --heads 2 --heads-kv 1 --head-dim 64 --ff 256 \
 *             --vocab 1024 --window 8 -o tiny.gguf
 *
 * Purpose: test and benchmark models of any size without downloading weights. The layout and
 * metadata follow shared/spec/gemma3.md §2-4 (tensor names, ne order, keys and types as
 * llama.cpp reads them) and the fixture shape of shared/fixtures/README.md §2.1 (--shape fx).
 *
 * Invariants:
 *   * Deterministic: a tensor's values depend only on --seed and the tensor's name
 *     (splitmix64 stream seeded from seed and an FNV-1a hash of the name; each value is an
 *     Irwin-Hall sum of 4 uniforms, rescaled to unit variance). 2-D weights N(0, std),
 *     token_embd N(0, embd_std), norm weights 1 + N(0, 0.02) (GGUF stores Gemma's +1).
 *   * Norm vectors are always F32; 2-D weights use --type (F32, F16 or BF16).
 *   * The synthetic vocabulary mirrors the fixture layout (ids 0-493 as in real Gemma 3:
 *     specials, <unusedN>, turn markers, newline/space runs, HTML tags, byte tokens), then
 *     unique NORMAL pieces in which every prefix of a piece is also a piece.
 *   * gguf_writer borrows tensor data until gguf_writer_write returns, so every tensor gets
 *     its own heap buffer, all freed after the write (peak memory ~ file size).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "gguf/gguf.h"

#define GEN_MAX_LAYERS 512
#define GEN_FIRST_NORMAL 494 /* first NORMAL id of the fixture / real-layout vocabulary */
#define GEN_MIN_VOCAB 512
#define GEN_MAX_VOCAB (1u << 24)

/* token types (llama.cpp) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4, TT_BYTE = 6 };

typedef struct gen_opts {
    const char *shape;
    uint32_t n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_swa, n_ctx;
    float rope_base, rope_base_swa, rope_scale, softcap, std, embd_std, eps;
    bool has_rope_base_swa, has_swa_pattern, swa_bools, untied;
    uint32_t swa_pattern;
    uint32_t threads; /* 0 = all CPUs */
    uint32_t type; /* gguf_ttype of 2-D weights */
    uint64_t seed;
    const char *vocab_from;
    const char *out;
} gen_opts;

/* ---- deterministic random values ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
    return h;
}

/* Approximately N(0, 1): Irwin-Hall sum of four 16-bit uniforms from one splitmix64 draw. */
static float gen_gauss(uint64_t *s) {
    uint64_t z = splitmix64(s);
    uint64_t a = (z & 0xFFFF) + ((z >> 16) & 0xFFFF) + ((z >> 32) & 0xFFFF) + (z >> 48);
    /* sum of four uniforms (x + 0.5) / 65536 on (0, 1), minus the mean 2, times sqrt(12/4) */
    return (float)(((double)a + 2.0 - 131072.0) * (1.7320508075688772 / 65536.0));
}

/* Fills element range [lo, hi) of one tensor; the splitmix64 state after i draws is
 * s0 + i * golden, so any split over threads gives the same values. */
typedef struct gen_fill {
    void *buf;
    uint64_t n, s0;
    uint32_t type;
    float mean, std;
} gen_fill;

static void gen_fill_task(void *ctx, int ith, int nth) {
    const gen_fill *f = ctx;
    int64_t lo, hi;
    pp_split((int64_t)f->n, ith, nth, &lo, &hi);
    uint64_t s = f->s0 + (uint64_t)lo * 0x9E3779B97F4A7C15ull;
    if (f->type == GGUF_TTYPE_F32) {
        float *p = f->buf;
        for (int64_t i = lo; i < hi; i++) p[i] = f->mean + f->std * gen_gauss(&s);
    } else if (f->type == GGUF_TTYPE_F16) {
        uint16_t *p = f->buf;
        for (int64_t i = lo; i < hi; i++) p[i] = pp_f32_to_f16(f->mean + f->std * gen_gauss(&s));
    } else {
        uint16_t *p = f->buf;
        for (int64_t i = lo; i < hi; i++) p[i] = pp_f32_to_bf16(f->mean + f->std * gen_gauss(&s));
    }
}

static const char *gen_writer_msg(const gguf_writer *w) {
    const char *m = gguf_writer_error(w);
    return m ? m : "gguf writer failed";
}

/* ---- tensors ------------------------------------------------------------------------ */

typedef struct gen_tensors {
    void **bufs;
    size_t n, cap;
} gen_tensors;

static void gen_tensors_free(gen_tensors *t) {
    for (size_t i = 0; i < t->n; i++) free(t->bufs[i]);
    free(t->bufs);
    t->bufs = NULL;
    t->n = t->cap = 0;
}

/* Adds tensor `name` of shape ne[0..n_dims) filled with mean + std*N(0,1), stored as type. */
static pp_status gen_add_tensor(gguf_writer *w, gen_tensors *ts, pp_pool *pool,
                                const gen_opts *o, const char *name, uint32_t n_dims, const int64_t *ne,
                                uint32_t type, float mean, float std, pp_err *err) {
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        if (!pp_mul_u64(n, (uint64_t)ne[i], &n))
            return pp_err_set(err, PP_ERR_ARG, "tensor '%s': element count overflows", name);
    }
    uint64_t esz = type == GGUF_TTYPE_F32 ? 4 : 2, nbytes;
    if (!pp_mul_u64(n, esz, &nbytes) || nbytes > SIZE_MAX)
        return pp_err_set(err, PP_ERR_ARG, "tensor '%s': %llu elements are too many", name,
                          (unsigned long long)n);
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        void **b = realloc(ts->bufs, cap * sizeof *b);
        if (!b) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        ts->bufs = b;
        ts->cap = cap;
    }
    void *buf = malloc(nbytes ? (size_t)nbytes : 1);
    if (!buf)
        return pp_err_set(err, PP_ERR_NOMEM, "tensor '%s': cannot allocate %llu bytes", name,
                          (unsigned long long)nbytes);
    ts->bufs[ts->n++] = buf;
    gen_fill fill = {buf, n, o->seed * 0xD1B54A32D192ED03ull ^ fnv1a64(name), type, mean, std};
    if (pool && n >= (1u << 16)) pp_pool_run(pool, gen_fill_task, &fill);
    else gen_fill_task(&fill, 0, 1);
    pp_status st = gguf_writer_add_tensor(w, name, n_dims, ne, type, buf, nbytes);
    if (st != PP_OK) return pp_err_set(err, st, "%s", gen_writer_msg(w));
    return PP_OK;
}

static pp_status gen_weights(gguf_writer *w, gen_tensors *ts, pp_pool *pool, const gen_opts *o,
                             pp_err *err) {
    const int64_t E = o->n_embd, V = o->n_vocab, HD = o->head_dim, FF = o->n_ff;
    const int64_t Q = (int64_t)o->n_head * HD, KV = (int64_t)o->n_head_kv * HD;
    const uint32_t wt = o->type;
    const float ns = 0.02f; /* std of the norm weights around 1 */
    char name[64];
    pp_status st;
#define ADD(nm, nd, t, mean, sd, ...)                                                        \
    do {                                                                                     \
        const int64_t ne_[] = {__VA_ARGS__};                                                 \
        if ((st = gen_add_tensor(w, ts, pool, o, nm, nd, ne_, t, mean, sd, err)) != PP_OK)         \
            return st;                                                                       \
    } while (0)
    ADD("token_embd.weight", 2, wt, 0.0f, o->embd_std, E, V);
    for (uint32_t il = 0; il < o->n_layer; il++) {
#define LNAME(s) (snprintf(name, sizeof name, "blk.%u." s, il), name)
        ADD(LNAME("attn_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, E);
        ADD(LNAME("attn_q.weight"), 2, wt, 0.0f, o->std, E, Q);
        ADD(LNAME("attn_k.weight"), 2, wt, 0.0f, o->std, E, KV);
        ADD(LNAME("attn_v.weight"), 2, wt, 0.0f, o->std, E, KV);
        ADD(LNAME("attn_q_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, HD);
        ADD(LNAME("attn_k_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, HD);
        ADD(LNAME("attn_output.weight"), 2, wt, 0.0f, o->std, Q, E);
        ADD(LNAME("post_attention_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, E);
        ADD(LNAME("ffn_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, E);
        ADD(LNAME("ffn_gate.weight"), 2, wt, 0.0f, o->std, E, FF);
        ADD(LNAME("ffn_up.weight"), 2, wt, 0.0f, o->std, E, FF);
        ADD(LNAME("ffn_down.weight"), 2, wt, 0.0f, o->std, FF, E);
        ADD(LNAME("post_ffw_norm.weight"), 1, GGUF_TTYPE_F32, 1.0f, ns, E);
#undef LNAME
    }
    ADD("output_norm.weight", 1, GGUF_TTYPE_F32, 1.0f, ns, E);
    if (o->untied) ADD("output.weight", 2, wt, 0.0f, o->embd_std, E, V);
#undef ADD
    return PP_OK;
}

/* ---- metadata ----------------------------------------------------------------------- */

/* Keys written by gen_write_hparams, so that --vocab-from can drop every other foreign key. */
typedef struct gen_keys {
    const char *k[32];
    int n;
} gen_keys;

static bool gen_keys_has(const gen_keys *ks, pp_view key) {
    for (int i = 0; i < ks->n; i++)
        if (pp_view_eq(key, ks->k[i])) return true;
    return false;
}

static pp_status gen_note(gen_keys *ks, const char *key, pp_status st) {
    PP_ASSERT(ks->n < (int)(sizeof ks->k / sizeof ks->k[0]));
    ks->k[ks->n++] = key;
    return st;
}

static pp_status gen_write_hparams(gguf_writer *w, const gen_opts *o, gen_keys *ks) {
    uint32_t ftype = o->type == GGUF_TTYPE_F32 ? 0 : o->type == GGUF_TTYPE_F16 ? 1 : 32;
    char name[64];
    snprintf(name, sizeof name, "pippa-gen %s", o->shape ? o->shape : "custom");
#define STR(k, v) if (!st) st = gen_note(ks, k, gguf_writer_set_str(w, k, v))
#define U32(k, v) if (!st) st = gen_note(ks, k, gguf_writer_set_u32(w, k, v))
#define F32(k, v) if (!st) st = gen_note(ks, k, gguf_writer_set_f32(w, k, v))
    pp_status st = PP_OK;
    STR("general.architecture", "gemma3");
    STR("general.type", "model");
    STR("general.name", name);
    U32("general.file_type", ftype);
    U32("gemma3.context_length", o->n_ctx);
    U32("gemma3.embedding_length", o->n_embd);
    U32("gemma3.block_count", o->n_layer);
    U32("gemma3.feed_forward_length", o->n_ff);
    U32("gemma3.attention.head_count", o->n_head);
    U32("gemma3.attention.head_count_kv", o->n_head_kv);
    U32("gemma3.attention.key_length", o->head_dim);
    U32("gemma3.attention.value_length", o->head_dim);
    F32("gemma3.attention.layer_norm_rms_epsilon", o->eps);
    F32("gemma3.rope.freq_base", o->rope_base);
    if (o->has_rope_base_swa) F32("gemma3.rope.freq_base_swa", o->rope_base_swa);
    if (o->n_swa > 0) U32("gemma3.attention.sliding_window", o->n_swa);
    if (o->swa_bools) {
        bool flags[GEN_MAX_LAYERS];
        uint32_t p = o->has_swa_pattern ? o->swa_pattern : 6;
        for (uint32_t il = 0; il < o->n_layer; il++) flags[il] = p == 0 || il % p < p - 1;
        if (!st)
            st = gen_note(ks, "gemma3.attention.sliding_window_pattern",
                          gguf_writer_set_arr(w, "gemma3.attention.sliding_window_pattern",
                                              GGUF_VTYPE_BOOL, flags, o->n_layer));
    } else if (o->has_swa_pattern) {
        U32("gemma3.attention.sliding_window_pattern", o->swa_pattern);
    }
    if (o->rope_scale != 0.0f) {
        STR("gemma3.rope.scaling.type", "linear");
        F32("gemma3.rope.scaling.factor", o->rope_scale);
    }
    if (o->softcap != 0.0f) F32("gemma3.final_logit_softcapping", o->softcap);
#undef STR
#undef U32
#undef F32
    return st;
}

/* ---- synthetic vocabulary ----------------------------------------------------------- */

typedef struct gen_vocab {
    char **tok;
    float *score;
    int32_t *type;
    uint32_t n, cap;
    uint32_t *slots; /* open-addressing set of token indices + 1 */
    uint32_t n_slots;
    uint32_t first_normal;
} gen_vocab;

static void gen_vocab_free(gen_vocab *v) {
    if (v->tok)
        for (uint32_t i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->score);
    free(v->type);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static pp_status gen_vocab_init(gen_vocab *v, uint32_t cap, pp_err *err) {
    memset(v, 0, sizeof *v);
    v->cap = cap;
    v->n_slots = 1;
    while (v->n_slots < 2 * cap) v->n_slots <<= 1;
    v->tok = calloc(cap, sizeof *v->tok);
    v->score = calloc(cap, sizeof *v->score);
    v->type = calloc(cap, sizeof *v->type);
    v->slots = calloc(v->n_slots, sizeof *v->slots);
    if (!v->tok || !v->score || !v->type || !v->slots) {
        gen_vocab_free(v);
        return pp_err_set(err, PP_ERR_NOMEM, "vocabulary: out of memory");
    }
    return PP_OK;
}

/* Adds s unless present or full. Returns 1 if added, 0 if skipped, -1 on OOM. */
static int gen_vocab_add(gen_vocab *v, const char *s, int32_t type, float score) {
    if (v->n >= v->cap) return 0;
    uint32_t mask = v->n_slots - 1, i = (uint32_t)fnv1a64(s) & mask;
    while (v->slots[i]) {
        if (strcmp(v->tok[v->slots[i] - 1], s) == 0) return 0;
        i = (i + 1) & mask;
    }
    char *c = strdup(s);
    if (!c) return -1;
    v->tok[v->n] = c;
    v->type[v->n] = type;
    v->score[v->n] = type == TT_NORMAL ? -(float)(v->n - v->first_normal) : score;
    v->slots[i] = ++v->n;
    return 1;
}

#define SPM_SPACE "\xe2\x96\x81" /* U+2581, SentencePiece's space marker */

static const char *const gen_html_tags[70] = {
    "<table>", "<caption>", "<thead>", "<tbody>", "<tfoot>", "<tr>", "<th>", "<td>",
    "</table>", "</caption>", "</thead>", "</tbody>", "</tfoot>", "</tr>", "</th>", "</td>",
    "<h1>", "<h2>", "<h3>", "<h4>", "<h5>", "<h6>", "<blockquote>", "</h1>", "</h2>", "</h3>",
    "</h4>", "</h5>", "</h6>", "</blockquote>", "<strong>", "<em>", "<b>", "<i>", "<u>", "<s>",
    "<sub>", "<sup>", "<code>", "</strong>", "</em>", "</b>", "</i>", "</u>", "</s>", "</sub>",
    "</sup>", "</code>", "<a>", "<html>", "<body>", "<img>", "<span>", "<bbox>", "<ul>", "<li>",
    "<div>", "<iframe>", "<footer>", "</a>", "</html>", "</body>", "</img>", "</span>",
    "</bbox>", "</ul>", "</li>", "</div>", "</iframe>", "</footer>"};

static const char *const gen_words[] = {
    "the", "of", "and", "to", "in", "is", "it", "you", "that", "he", "was", "for", "on", "are",
    "with", "as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by",
    "word", "but", "what", "some", "we", "can", "out", "other", "were", "all", "there", "when",
    "up", "use", "your", "how", "said", "an", "each", "she", "which", "do", "their", "time",
    "if", "will", "way", "about", "many", "then", "them", "write", "would", "like", "so",
    "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look", "more", "day",
    "could", "go", "come", "did", "number", "sound", "no", "most", "people", "my", "over",
    "know", "water", "than", "call", "first", "who", "may", "down", "side", "been", "now",
    "find", "any", "new", "work", "part", "take", "get", "place", "made", "live", "where",
    "after", "back", "little", "only", "round", "man", "year", "came", "show", "every", "good",
    "me", "give", "our", "under", "name", "very", "through", "just", "form", "sentence",
    "great", "think", "say", "help", "low", "line", "differ", "turn", "cause", "much", "mean",
    "before", "move", "right", "boy", "old", "too", "same", "tell", "does", "set", "three",
    "want", "air", "well", "also", "play", "small", "end", "put", "home", "read", "hand",
    "port", "large", "spell", "add", "even", "land", "here", "must", "big", "high", "such",
    "follow", "act", "why", "ask", "men", "change", "went", "light", "kind", "off", "need",
    "house", "picture", "try", "us", "again", "animal", "point", "mother", "world", "near",
    "build", "self", "earth", "father", "head", "stand", "own", "page", "should", "country",
    "found", "answer", "school", "grow", "study", "still", "learn", "plant", "cover", "food",
    "sun", "four", "between", "state", "keep", "eye", "never", "last", "let", "thought",
    "city", "tree", "cross", "farm", "hard", "start", "might", "story", "saw", "far", "sea",
    "draw", "left", "late", "run", "while", "press", "close", "night", "real", "life", "few",
    "north", "open", "seem", "together", "next", "white", "children", "begin", "got", "walk",
    "example", "ease", "paper", "group", "always", "music", "those", "both", "mark", "often",
    "letter", "until", "mile", "river", "car", "feet", "care", "second", "book", "carry",
    "took", "science", "eat", "room", "friend", "began", "idea", "fish", "mountain", "stop",
    "once", "base", "hear", "horse", "cut", "sure", "watch", "color", "face", "wood", "main",
    "enough", "plain", "girl", "usual", "young", "ready", "above", "ever", "red", "list",
    "though", "feel", "talk", "bird", "soon", "body", "dog", "family", "direct", "pose",
    "leave", "song", "measure", "door", "product", "black", "short", "numeral", "class",
    "wind", "question", "happen", "complete", "ship", "area", "half", "rock", "order", "fire",
    "south", "problem", "piece", "told", "knew", "pass", "since", "top", "whole", "king",
    "space", "heard", "best", "hour", "better", "true", "during", "hundred", "five",
    "remember", "step", "early", "hold", "west", "ground", "interest", "reach", "fast",
    "verb", "sing", "listen", "six", "table", "travel", "less", "morning", "ten", "simple",
    "several", "vowel", "toward", "war", "lay", "against", "pattern", "slow", "center",
    "love", "person", "money", "serve", "appear", "road", "map", "rain", "rule", "govern",
    "pull", "cold", "notice", "voice", "unit", "power", "town", "fine", "certain", "fly",
    "fall", "lead", "cry", "dark", "machine", "note", "wait", "plan", "figure", "star", "box",
    "noun", "field", "rest", "correct", "able", "pound", "done", "beauty", "drive", "stood",
    "contain", "front", "teach", "week", "final", "gave", "green", "oh", "quick", "develop",
    "ocean", "warm", "free", "minute", "strong", "special", "mind", "behind", "clear", "tail",
    "produce", "fact", "street", "inch", "multiply", "nothing", "course", "stay", "wheel",
    "full", "force", "blue", "object", "decide", "surface", "deep", "moon", "island", "foot",
    "system", "busy", "test", "record", "boat", "common", "gold", "possible", "plane",
    "stead", "dry", "wonder", "laugh", "thousand", "ago", "ran", "check", "game", "shape",
    "equate", "hot", "miss", "brought", "heat", "snow", "tire", "bring", "yes", "distant",
    "fill", "east", "paint", "language", "among", "brown", "fox", "jumps", "lazy", "haiku",
    "ing", "ed", "ly", "er", "est", "tion", "ment", "ness", "s", "es"};

/* Adds prefixes (length >= 2 bytes after the marker) of marker+w for one casing. */
static int gen_vocab_word(gen_vocab *v, const char *w, bool cap) {
    char buf[64], low[40];
    size_t n = strlen(w);
    if (n >= sizeof low) return 0;
    memcpy(low, w, n + 1);
    if (cap && low[0] >= 'a' && low[0] <= 'z') low[0] = (char)(low[0] - 'a' + 'A');
    for (int marked = 1; marked >= 0; marked--) {
        for (size_t l = 2; l <= n; l++) {
            int k = snprintf(buf, sizeof buf, "%s%.*s", marked ? SPM_SPACE : "", (int)l, low);
            if (k < 0 || (size_t)k >= sizeof buf) return 0;
            if (gen_vocab_add(v, buf, TT_NORMAL, 0) < 0) return -1;
        }
    }
    return 0;
}

static pp_status gen_vocab_build(gen_vocab *v, uint32_t n_vocab, pp_err *err) {
    pp_status st = gen_vocab_init(v, n_vocab, err);
    if (st != PP_OK) return st;
    char buf[64];
    int rc = 0;
    static const char *const head[6] = {"<pad>", "<eos>", "<bos>", "<unk>", "<mask>",
                                        "[multimodal]"};
    for (int i = 0; i < 6 && rc >= 0; i++)
        rc = gen_vocab_add(v, head[i], i == 5 ? TT_USER_DEFINED : TT_CONTROL, -1000.0f);
    for (int i = 0; i <= 98 && rc >= 0; i++) {
        snprintf(buf, sizeof buf, "<unused%d>", i);
        rc = gen_vocab_add(v, buf, TT_CONTROL, -1000.0f);
    }
    if (rc >= 0) rc = gen_vocab_add(v, "<start_of_turn>", TT_CONTROL, -1000.0f);
    if (rc >= 0) rc = gen_vocab_add(v, "<end_of_turn>", TT_CONTROL, -1000.0f);
    for (int r = 1; r <= 31 && rc >= 0; r++) { /* 107..137 newline runs */
        memset(buf, '\n', (size_t)r);
        buf[r] = 0;
        rc = gen_vocab_add(v, buf, TT_USER_DEFINED, -1000.0f);
    }
    for (int r = 2; r <= 31 && rc >= 0; r++) { /* 138..167 space runs */
        memset(buf, ' ', (size_t)r);
        buf[r] = 0;
        rc = gen_vocab_add(v, buf, TT_USER_DEFINED, -1000.0f);
    }
    for (int i = 0; i < 70 && rc >= 0; i++) rc = gen_vocab_add(v, gen_html_tags[i],
                                                               TT_USER_DEFINED, -1000.0f);
    for (int b = 0; b < 256 && rc >= 0; b++) { /* 238..493 byte tokens */
        snprintf(buf, sizeof buf, "<0x%02X>", b);
        rc = gen_vocab_add(v, buf, TT_BYTE, 0.0f);
    }
    PP_ASSERT(rc < 0 || v->n == GEN_FIRST_NORMAL);
    v->first_normal = GEN_FIRST_NORMAL;
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789.,!?;:'\"()-[]{}/\\@#$%^&*_+=<>|~`";
    if (rc >= 0) rc = gen_vocab_add(v, SPM_SPACE, TT_NORMAL, 0);
    if (rc >= 0) rc = gen_vocab_add(v, "\t", TT_NORMAL, 0);
    for (size_t i = 0; chars[i] && rc >= 0; i++) {
        buf[0] = chars[i];
        buf[1] = 0;
        rc = gen_vocab_add(v, buf, TT_NORMAL, 0);
    }
    for (size_t i = 0; chars[i] && rc >= 0; i++) {
        snprintf(buf, sizeof buf, SPM_SPACE "%c", chars[i]);
        rc = gen_vocab_add(v, buf, TT_NORMAL, 0);
    }
    for (size_t i = 0; i < sizeof gen_words / sizeof gen_words[0] && rc >= 0; i++) {
        if (gen_vocab_word(v, gen_words[i], false) < 0) rc = -1;
        if (rc >= 0 && gen_vocab_word(v, gen_words[i], true) < 0) rc = -1;
    }
    /* Synthetic syllable words: k = 1, 2, ... consonant+vowel syllables in counting order. */
    static const char cons[] = "bdfghjklmnprstvwyz", vow[] = "aeiou";
    const uint64_t n_syl = (sizeof cons - 1) * (sizeof vow - 1);
    for (int k = 1; k <= 8 && v->n < v->cap && rc >= 0; k++) {
        uint64_t total = 1;
        for (int j = 0; j < k; j++) total *= n_syl;
        for (uint64_t c = 0; c < total && v->n < v->cap && rc >= 0; c++) {
            char word[40];
            uint64_t x = c;
            for (int j = k - 1; j >= 0; j--) {
                uint64_t s = x % n_syl;
                x /= n_syl;
                word[2 * j] = cons[s / (sizeof vow - 1)];
                word[2 * j + 1] = vow[s % (sizeof vow - 1)];
            }
            word[2 * k] = 0;
            if (gen_vocab_word(v, word, false) < 0) rc = -1;
        }
    }
    if (rc < 0) {
        gen_vocab_free(v);
        return pp_err_set(err, PP_ERR_NOMEM, "vocabulary: out of memory");
    }
    if (v->n != n_vocab) {
        uint32_t got = v->n;
        gen_vocab_free(v);
        return pp_err_set(err, PP_ERR_ARG, "vocabulary: could only make %u unique tokens of %u",
                          got, n_vocab);
    }
    return PP_OK;
}

/* Our own Jinja rendering of the Gemma 3 instruct format (gemma3.md §7.2). */
static const char gen_chat_template[] =
    "{{ bos_token }}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}"
    "{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] | trim }}"
    "{%- elif message['content'] is iterable -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- else -%}"
    "{{ raise_exception('Invalid content type') }}"
    "{%- endif -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}";

static pp_status gen_write_vocab(gguf_writer *w, uint32_t n_vocab, pp_err *err) {
    gen_vocab v;
    pp_status st = gen_vocab_build(&v, n_vocab, err);
    if (st != PP_OK) return st;
    st = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    if (!st) st = gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    if (!st) st = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                          (const char *const *)v.tok, v.n);
    if (!st) st = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32,
                                      v.score, v.n);
    if (!st) st = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32,
                                      v.type, v.n);
    if (!st) st = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 2);
    if (!st) st = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 1);
    if (!st) st = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 3);
    if (!st) st = gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 0);
    if (!st) st = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    if (!st) st = gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    if (!st) st = gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    if (!st) st = gguf_writer_set_str(w, "tokenizer.chat_template", gen_chat_template);
    gen_vocab_free(&v);
    if (st != PP_OK) return pp_err_set(err, st, "tokenizer keys: %s", gen_writer_msg(w));
    return PP_OK;
}

/* Copies the tokenizer.* keys of another GGUF; n_vocab = its token count. src must stay
 * open until the file is written. Our keys (ours) are set before this call, so
 * gguf_writer_copy_kvs (which skips keys already set) keeps them; every other foreign key that
 * is not tokenizer.* is removed again. */
static pp_status gen_copy_vocab(gguf_writer *w, const gguf_file *src, const gen_keys *ours,
                                uint32_t *n_vocab, pp_err *err) {
    const gguf_kv *toks;
    pp_status st = gguf_get_arr(src, "tokenizer.ggml.tokens", GGUF_VTYPE_STRING, &toks, err);
    if (st != PP_OK) return pp_err_prefix(err, "--vocab-from: ");
    if (toks->arr_count == 0 || toks->arr_count > GEN_MAX_VOCAB)
        return pp_err_set(err, PP_ERR_FORMAT, "--vocab-from %s: %llu tokens (need 1..%u)",
                          gguf_name(src), (unsigned long long)toks->arr_count, GEN_MAX_VOCAB);
    *n_vocab = (uint32_t)toks->arr_count;
    st = gguf_writer_copy_kvs(w, src);
    if (st != PP_OK)
        return pp_err_set(err, st, "--vocab-from: %s", gen_writer_msg(w));
    for (uint64_t i = 0; i < gguf_n_kv(src); i++) {
        pp_view k = gguf_kv_at(src, i)->key;
        if ((k.len >= 10 && memcmp(k.ptr, "tokenizer.", 10) == 0) || gen_keys_has(ours, k))
            continue;
        char *ks = pp_view_dup(k);
        if (!ks) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        gguf_writer_remove(w, ks);
        free(ks);
    }
    return PP_OK;
}

/* ---- options ------------------------------------------------------------------------ */

typedef struct gen_shape {
    const char *name;
    uint32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_swa, n_ctx, n_vocab;
    float rope_scale;
} gen_shape;

/* gemma3.md §3 and fixtures/README.md §2.1 */
static const gen_shape gen_shapes[] = {
    {"270m", 18, 640, 2048, 4, 1, 256, 512, 32768, 262144, 0.0f},
    {"1b", 26, 1152, 6912, 4, 1, 256, 512, 32768, 262144, 0.0f},
    {"4b", 34, 2560, 10240, 8, 4, 256, 1024, 131072, 262144, 8.0f},
    {"12b", 48, 3840, 15360, 16, 8, 256, 1024, 131072, 262144, 8.0f},
    {"27b", 62, 5376, 21504, 32, 16, 128, 1024, 131072, 262144, 8.0f},
    {"fx", 6, 256, 1024, 4, 1, 64, 64, 2048, 4096, 0.0f},
};

static void gen_usage(FILE *f) {
    fprintf(f,
            "usage: pippa-gen [options] -o OUT.gguf\n"
            "Writes a Gemma-3-shaped GGUF with deterministic random weights.\n"
            "  --shape 270m|1b|4b|12b|27b|fx   real hyper-parameters (default fx); options\n"
            "                                  below override single values\n"
            "  --layers N --embd N --heads N --heads-kv N --head-dim N --ff N --vocab N\n"
            "  --window N        sliding window (0 = no SWA key, every layer global)\n"
            "  --ctx N           context_length\n"
            "  --rope-base F     global RoPE base (default 1e6)\n"
            "  --rope-base-swa F write rope.freq_base_swa (local base)\n"
            "  --rope-scale F    linear RoPE scaling factor (writes rope.scaling.*; 0 = none)\n"
            "  --softcap F       final_logit_softcapping (0 = absent)\n"
            "  --swa-pattern N   write attention.sliding_window_pattern = N (u32 period)\n"
            "  --swa-bools       write it as Ollama's per-layer bool array instead\n"
            "  --type f32|f16|bf16  type of the 2-D weights (norms are always F32)\n"
            "  --seed N --std F --embd-std F --eps F\n"
            "  --threads N       generator threads (default: all CPUs; output is the same)\n"
            "  --untied          also write a separate output.weight\n"
            "  --vocab-from FILE.gguf  copy tokenizer.* keys (vocab size comes from FILE)\n");
}

static bool gen_parse_u32(const char *s, uint32_t *out) {
    if (!s || !*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

static bool gen_parse_f32(const char *s, float *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || fabs(v) > 3.0e38) return false;
    *out = (float)v;
    return true;
}

static void gen_apply_shape(gen_opts *o, const gen_shape *s) {
    o->shape = s->name;
    o->n_layer = s->n_layer;
    o->n_embd = s->n_embd;
    o->n_ff = s->n_ff;
    o->n_head = s->n_head;
    o->n_head_kv = s->n_head_kv;
    o->head_dim = s->head_dim;
    o->n_swa = s->n_swa;
    o->n_ctx = s->n_ctx;
    o->n_vocab = s->n_vocab;
    o->rope_scale = s->rope_scale;
    if (strcmp(s->name, "fx") == 0) {
        o->has_rope_base_swa = true;
        o->rope_base_swa = 10000.0f;
        o->seed = 7;
    }
}

/* Returns 0 ok, 1 bad input (message in err), 2 usage printed. */
static int gen_parse_args(int argc, char **argv, gen_opts *o, pp_err *err) {
    memset(o, 0, sizeof *o);
    o->rope_base = 1000000.0f;
    o->std = 0.02f;
    o->embd_std = 0.15f;
    o->eps = 1e-6f;
    o->type = GGUF_TTYPE_F32;
    gen_apply_shape(o, &gen_shapes[5]);
    o->shape = NULL;
    o->seed = 1;
    /* The preset first, so that later options override single values. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shape") == 0) {
            if (i + 1 >= argc) {
                pp_err_set(err, PP_ERR_ARG, "--shape: missing value");
                return 1;
            }
            const char *v = argv[++i];
            size_t k;
            for (k = 0; k < sizeof gen_shapes / sizeof gen_shapes[0]; k++)
                if (strcmp(gen_shapes[k].name, v) == 0) break;
            if (k == sizeof gen_shapes / sizeof gen_shapes[0]) {
                pp_err_set(err, PP_ERR_ARG,
                           "--shape: unknown shape '%s' (270m, 1b, 4b, 12b, 27b, fx)", v);
                return 1;
            }
            gen_apply_shape(o, &gen_shapes[k]);
        }
    }
    bool vocab_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t *u = NULL;
        float *f = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            gen_usage(stdout);
            return 2;
        }
        if (strcmp(a, "--untied") == 0) { o->untied = true; continue; }
        if (strcmp(a, "--swa-bools") == 0) { o->swa_bools = true; continue; }
        if (!v) {
            pp_err_set(err, PP_ERR_ARG, "%s: missing value", a);
            return 1;
        }
        if (strcmp(a, "--shape") == 0) { i++; continue; }
        if (strcmp(a, "-o") == 0) { o->out = v; i++; continue; }
        if (strcmp(a, "--vocab-from") == 0) { o->vocab_from = v; i++; continue; }
        if (strcmp(a, "--type") == 0) {
            if (strcmp(v, "f32") == 0) o->type = GGUF_TTYPE_F32;
            else if (strcmp(v, "f16") == 0) o->type = GGUF_TTYPE_F16;
            else if (strcmp(v, "bf16") == 0) o->type = GGUF_TTYPE_BF16;
            else {
                pp_err_set(err, PP_ERR_ARG, "--type: '%s' is not f32, f16 or bf16", v);
                return 1;
            }
            i++;
            continue;
        }
        if (strcmp(a, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || !*v || *v == '-') {
                pp_err_set(err, PP_ERR_ARG, "--seed: '%s' is not an unsigned integer", v);
                return 1;
            }
            o->seed = s;
            i++;
            continue;
        }
        if (strcmp(a, "--layers") == 0) u = &o->n_layer;
        else if (strcmp(a, "--embd") == 0) u = &o->n_embd;
        else if (strcmp(a, "--heads") == 0) u = &o->n_head;
        else if (strcmp(a, "--heads-kv") == 0) u = &o->n_head_kv;
        else if (strcmp(a, "--head-dim") == 0) u = &o->head_dim;
        else if (strcmp(a, "--ff") == 0) u = &o->n_ff;
        else if (strcmp(a, "--vocab") == 0) { u = &o->n_vocab; vocab_set = true; }
        else if (strcmp(a, "--window") == 0) u = &o->n_swa;
        else if (strcmp(a, "--ctx") == 0) u = &o->n_ctx;
        else if (strcmp(a, "--threads") == 0) u = &o->threads;
        else if (strcmp(a, "--swa-pattern") == 0) { u = &o->swa_pattern; o->has_swa_pattern = true; }
        else if (strcmp(a, "--rope-base") == 0) f = &o->rope_base;
        else if (strcmp(a, "--rope-base-swa") == 0) { f = &o->rope_base_swa; o->has_rope_base_swa = true; }
        else if (strcmp(a, "--rope-scale") == 0) f = &o->rope_scale;
        else if (strcmp(a, "--softcap") == 0) f = &o->softcap;
        else if (strcmp(a, "--std") == 0) f = &o->std;
        else if (strcmp(a, "--embd-std") == 0) f = &o->embd_std;
        else if (strcmp(a, "--eps") == 0) f = &o->eps;
        else {
            pp_err_set(err, PP_ERR_ARG, "unknown option '%s' (see --help)", a);
            return 1;
        }
        if (u && !gen_parse_u32(v, u)) {
            pp_err_set(err, PP_ERR_ARG, "%s: '%s' is not an unsigned 32-bit integer", a, v);
            return 1;
        }
        if (f && !gen_parse_f32(v, f)) {
            pp_err_set(err, PP_ERR_ARG, "%s: '%s' is not a finite number", a, v);
            return 1;
        }
        i++;
    }
    if (!o->out) {
        pp_err_set(err, PP_ERR_ARG, "missing -o OUT.gguf");
        return 1;
    }
    if (vocab_set && o->vocab_from) {
        pp_err_set(err, PP_ERR_ARG, "--vocab and --vocab-from exclude each other");
        return 1;
    }
    if (o->n_layer == 0 || o->n_layer > GEN_MAX_LAYERS) {
        pp_err_set(err, PP_ERR_ARG, "--layers: %u not in 1..%d", o->n_layer, GEN_MAX_LAYERS);
        return 1;
    }
    if (!o->n_embd || !o->n_head || !o->n_head_kv || !o->head_dim || !o->n_ff || !o->n_ctx) {
        pp_err_set(err, PP_ERR_ARG, "--embd, --heads, --heads-kv, --head-dim, --ff and --ctx "
                                    "must be > 0");
        return 1;
    }
    if (o->n_head % o->n_head_kv) {
        pp_err_set(err, PP_ERR_ARG, "--heads %u is not a multiple of --heads-kv %u", o->n_head,
                   o->n_head_kv);
        return 1;
    }
    if (o->head_dim % 2) {
        pp_err_set(err, PP_ERR_ARG, "--head-dim %u must be even (RoPE pairs)", o->head_dim);
        return 1;
    }
    if (!o->vocab_from && (o->n_vocab < GEN_MIN_VOCAB || o->n_vocab > GEN_MAX_VOCAB)) {
        pp_err_set(err, PP_ERR_ARG, "--vocab: %u not in %u..%u", o->n_vocab, GEN_MIN_VOCAB,
                   GEN_MAX_VOCAB);
        return 1;
    }
    if (o->rope_base <= 0.0f || (o->has_rope_base_swa && o->rope_base_swa <= 0.0f) ||
        o->rope_scale < 0.0f || o->std < 0.0f || o->embd_std < 0.0f || o->eps <= 0.0f) {
        pp_err_set(err, PP_ERR_ARG, "--rope-base/--rope-base-swa/--eps must be > 0, "
                                    "--rope-scale/--std/--embd-std >= 0");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    gen_opts o;
    pp_err err = {0};
    int rc = gen_parse_args(argc, argv, &o, &err);
    if (rc == 2) return 0;
    if (rc) {
        fprintf(stderr, "pippa-gen: %s\n", err.msg);
        return 2;
    }
    gguf_writer *w = NULL;
    gguf_file *src = NULL;
    gen_tensors ts = {0};
    gen_keys keys = {0};
    pp_status st = gguf_writer_init(&w, &err);
    if (st == PP_OK && (st = gen_write_hparams(w, &o, &keys)) != PP_OK)
        pp_err_set(&err, st, "metadata: %s", gen_writer_msg(w));
    if (st == PP_OK && o.vocab_from) {
        st = gguf_open(o.vocab_from, &src, &err);
        if (st != PP_OK) pp_err_prefix(&err, "--vocab-from: ");
        if (st == PP_OK) st = gen_copy_vocab(w, src, &keys, &o.n_vocab, &err);
    } else if (st == PP_OK) {
        st = gen_write_vocab(w, o.n_vocab, &err);
    }
    pp_pool *pool = NULL;
    if (st == PP_OK) st = pp_pool_init(o.threads ? (int)o.threads : pp_cpu_count(), &pool, &err);
    if (st == PP_OK) st = gen_weights(w, &ts, pool, &o, &err);
    pp_pool_free(pool);
    if (st == PP_OK) st = gguf_writer_write(w, o.out, &err);
    gguf_writer_free(w);
    gen_tensors_free(&ts);
    gguf_close(src);
    if (st != PP_OK) {
        fprintf(stderr, "pippa-gen: %s\n", err.msg);
        return 1;
    }
    return 0;
}
