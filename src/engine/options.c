/* options.c - the options table: every Ollama option name once (ollama-compat.md §2.3), with
 * its value type, range, default, where it goes and its help line. `-p NAME=VALUE`,
 * `/set parameter`, `/show parameters`, the REPL help, JSON `options` (src/catalog),
 * Modelfile PARAMETER checks (src/store, through catalog's lookup callback) and the params
 * layer all read this table.
 *
 * Where a name goes:
 *   ENGINE     an engine_options field (num_ctx, num_batch, num_predict, num_thread, stop);
 *   SAMPLER    a samp_params field; the row (name, range, field) is the sampler's own
 *              (samp_opt_get), so sample needs nothing from here;
 *   NO_EFFECT  accepted, type-checked and ignored: nothing to do on a CPU runtime;
 *   REFUSED    Ollama's removed options: text front ends refuse them as unknown, JSON
 *              options and Modelfile PARAMETER warn and ignore them (what Ollama does; LangChain
 *              still sends several).
 * Names not in the table are unknown everywhere (JSON options: warned and ignored).
 *
 * The rows are in the order Ollama's REPL help lists them, the unlisted ones after.
 * Adding an option is one row here (a sampler option: its row in samp_params.c, then a
 * SAMP row here); every front end picks it up. */
#include "engine_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

engine_options engine_default_options(void) {
    engine_options o;
    memset(&o, 0, sizeof o);
    o.samp = samp_default_params();
    o.num_ctx = 0;
    o.num_batch = 256;
    o.num_predict = -1;
    o.num_thread = 0;
    o.kv_type = GGUF_TTYPE_F16;
    return o;
}

/* The engine's numeric fields (the sampler's are samp_opt_get's). */
static const pp_opt NUM_CTX = {"num_ctx", PP_OPT_KIND_U32, 1, 1 << 24, false, NULL,
                               offsetof(engine_options, num_ctx)};
static const pp_opt NUM_BATCH = {"num_batch", PP_OPT_KIND_U32, 1, 4096, false, NULL,
                                 offsetof(engine_options, num_batch)};
/* -2 ("fill the context") is stored as -1: the same here */
static const pp_opt NUM_PREDICT = {"num_predict", PP_OPT_KIND_I32, -2, INT32_MAX, false, NULL,
                                   offsetof(engine_options, num_predict)};
static const pp_opt NUM_THREAD = {"num_thread", PP_OPT_KIND_I32, 0, 1024, false, NULL,
                                  offsetof(engine_options, num_thread)};
_Static_assert(sizeof(int) == sizeof(int32_t), "num_thread is read as an int32");

typedef struct opt_row {
    const char *name;        /* NULL for SAMPLER rows: the sampler's row names it */
    engine_opt_type type;
    engine_opt_dest dest;
    const pp_opt *num;       /* ENGINE numeric rows */
    samp_opt_id samp;        /* SAMPLER rows */
    const char *help;        /* the REPL help line, or NULL when not listed */
} opt_row;

#define ENG(nm, ty, field, help) {nm, ENGINE_OPT_TYPE_##ty, ENGINE_OPT_DEST_ENGINE, field, 0, help}
#define SAMP(id, ty, help) {NULL, ENGINE_OPT_TYPE_##ty, ENGINE_OPT_DEST_SAMPLER, NULL, id, help}
#define NOEFF(nm, ty, help) {nm, ENGINE_OPT_TYPE_##ty, ENGINE_OPT_DEST_NO_EFFECT, NULL, 0, help}
#define GONE(nm, ty) {nm, ENGINE_OPT_TYPE_##ty, ENGINE_OPT_DEST_REFUSED, NULL, 0, NULL}

static const opt_row ROWS[] = {
    SAMP(SAMP_OPT_SEED, INT, "Random number seed"),
    ENG("num_predict", INT, &NUM_PREDICT, "Max number of tokens to predict"),
    SAMP(SAMP_OPT_TOP_K, INT, "Pick from top k num of tokens"),
    SAMP(SAMP_OPT_TOP_P, FLOAT, "Pick token based on sum of probabilities"),
    SAMP(SAMP_OPT_MIN_P, FLOAT, "Pick token based on top token probability * min_p"),
    ENG("num_ctx", INT, &NUM_CTX, "Set the context size"),
    SAMP(SAMP_OPT_TEMPERATURE, FLOAT, "Set creativity level"),
    SAMP(SAMP_OPT_REPEAT_PENALTY, FLOAT, "How strongly to penalize repetitions"),
    SAMP(SAMP_OPT_REPEAT_LAST_N, INT, "Set how far back to look for repetitions"),
    NOEFF("num_gpu", INT, "The number of layers to send to the GPU"),
    ENG("stop", STRINGS, NULL, "Set the stop parameters"),
    ENG("num_batch", INT, &NUM_BATCH, NULL),
    ENG("num_thread", INT, &NUM_THREAD, NULL),
    SAMP(SAMP_OPT_TYPICAL_P, FLOAT, NULL),
    SAMP(SAMP_OPT_PRESENCE_PENALTY, FLOAT, NULL),
    SAMP(SAMP_OPT_FREQUENCY_PENALTY, FLOAT, NULL),
    NOEFF("main_gpu", INT, NULL),
    NOEFF("use_mmap", BOOL, NULL),
    NOEFF("draft_num_predict", INT, NULL),
    NOEFF("num_keep", INT, NULL),
    GONE("mirostat", INT),
    GONE("mirostat_tau", FLOAT),
    GONE("mirostat_eta", FLOAT),
    GONE("low_vram", BOOL),
    GONE("f16_kv", BOOL),
    GONE("logits_all", BOOL),
    GONE("vocab_only", BOOL),
    GONE("use_mlock", BOOL),
    GONE("penalize_newline", BOOL),
    GONE("tfs_z", FLOAT),
    GONE("numa", BOOL),
};
#undef ENG
#undef SAMP
#undef NOEFF
#undef GONE
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

/* The numeric field of a row and the struct it lives in (NULL for the others). */
static const pp_opt *row_num(const opt_row *r) {
    return r->dest == ENGINE_OPT_DEST_SAMPLER ? samp_opt_get(r->samp) : r->num;
}

static const opt_row *row_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < N_ROWS; i++) {
        const char *n = ROWS[i].name ? ROWS[i].name : samp_opt_get(ROWS[i].samp)->name;
        if (!strcmp(n, name)) return &ROWS[i];
    }
    return NULL;
}

size_t engine_opt_count(void) { return N_ROWS; }

engine_opt engine_opt_at(size_t i) {
    const opt_row *r = &ROWS[i];
    const pp_opt *num = row_num(r);
    engine_opt o = {r->name, r->type, r->dest, -HUGE_VAL, HUGE_VAL, false, 0, r->help};
    if (num) {
        engine_options d = engine_default_options();
        o.name = num->name;
        o.lo = num->lo;
        o.hi = num->hi;
        o.lo_open = num->lo_open;
        o.def = pp_opt_get(r->dest == ENGINE_OPT_DEST_SAMPLER ? (const void *)&d.samp : (const void *)&d, num);
    }
    return o;
}

bool engine_opt_find(const char *name, engine_opt *out) {
    const opt_row *r = row_find(name);
    if (!r) return false;
    if (out) *out = engine_opt_at((size_t)(r - ROWS));
    return true;
}

static pp_status stop_add(engine_options *o, const char *value, pp_err *err) {
    size_t len = strlen(value);
    if (len == 0) return pp_err_set(err, PP_ERR_ARG, "option 'stop': empty stop sequence");
    if (len >= ENGINE_MAX_STOP_LEN)
        return pp_err_set(err, PP_ERR_ARG, "option 'stop': longer than %d bytes", ENGINE_MAX_STOP_LEN - 1);
    if (o->n_stop >= ENGINE_MAX_STOP)
        return pp_err_set(err, PP_ERR_ARG, "option 'stop': at most %d stop sequences", ENGINE_MAX_STOP);
    memcpy(o->stop[o->n_stop++], value, len + 1);
    return PP_OK;
}

pp_status engine_options_set(engine_options *o, const char *name, const char *value, pp_err *err) {
    const opt_row *r = row_find(name);
    if (!r || r->dest == ENGINE_OPT_DEST_REFUSED)
        return pp_err_set(err, PP_ERR_NOT_FOUND, "unknown parameter '%.64s'", name ? name : "");
    if (r->dest == ENGINE_OPT_DEST_NO_EFFECT) return PP_OK;
    if (!value) value = "";
    if (r->type == ENGINE_OPT_TYPE_STRINGS) return stop_add(o, value, err);
    if (r->dest == ENGINE_OPT_DEST_SAMPLER) return pp_opt_set_text(&o->samp, row_num(r), value, err);
    pp_status st = pp_opt_set_text(o, r->num, value, err);
    if (st == PP_OK && r->num == &NUM_PREDICT && o->num_predict == -2) o->num_predict = -1;
    return st;
}

size_t engine_options_text(const engine_options *o, const char *name, size_t i, char *buf, size_t cap) {
    const opt_row *r = row_find(name);
    if (!r || r->dest == ENGINE_OPT_DEST_NO_EFFECT || r->dest == ENGINE_OPT_DEST_REFUSED) return 0;
    if (r->type == ENGINE_OPT_TYPE_STRINGS) {
        if (i < (size_t)o->n_stop && cap) snprintf(buf, cap, "%s", o->stop[i]);
        return (size_t)o->n_stop;
    }
    const pp_opt *num = row_num(r);
    double v = pp_opt_get(r->dest == ENGINE_OPT_DEST_SAMPLER ? (const void *)&o->samp : (const void *)o, num);
    if (i == 0 && cap) {
        if (num->kind == PP_OPT_KIND_F32) snprintf(buf, cap, "%g", v);
        else snprintf(buf, cap, "%lld", (long long)v);
    }
    return 1;
}

bool engine_options_need_reload(const engine_options *a, const engine_options *b) {
    return a->num_ctx != b->num_ctx || a->num_batch != b->num_batch || a->num_thread != b->num_thread ||
           a->kv_type != b->kv_type;
}
