/* store_modelfile.c - Modelfile parser (ollama-compat.md §2) and the params/messages layers.
 *
 * Grammar: one instruction per line, `NAME args` with case-insensitive NAME; '#' lines are
 * comments; an argument is bare text to the end of the line (trimmed), "quoted" (\" and \\
 * escapes) or """multi-line""" (raw, may contain newlines and quotes). PARAMETER takes
 * `name value`, MESSAGE `role content`. Every error names the file and line:
 * "Modelfile:3: PARAMETER top_k: expected integer, got 'x'". Which names exist and their
 * types come from the caller's options table (store_param_fn; src/catalog passes the
 * engine's), so the store needs only core. */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#define MF_MAX_BYTES (64u << 20)

/* Go strconv.ParseBool */
static int parse_bool(const char *v) {
    static const char *const T[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const F[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        if (!strcmp(v, T[i])) return 1;
        if (!strcmp(v, F[i])) return 0;
    }
    return -1;
}

static bool parse_int(const char *v, long long *out) {
    if (!*v || isspace((unsigned char)*v)) return false;
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || *end) return false;
    *out = x;
    return true;
}

static bool parse_float(const char *v, float *out) {
    if (!*v || isspace((unsigned char)*v)) return false;
    for (const char *p = v; *p; p++) /* decimal only: no hex floats, inf, nan */
        if (!strchr("0123456789+-.eE_", *p)) return false;
    char *end;
    errno = 0;
    float x = strtof(v, &end);
    if (*end || !isfinite(x)) return false;
    *out = x;
    return true;
}

/* Checks a PARAMETER value; message without the "Modelfile:N: " prefix. */
static pp_status check_param(store_param_fn param, const char *name, const char *raw, bool *deprecated,
                             pp_err *err) {
    char value[128]; /* for messages: one line, bounded */
    size_t k = 0;
    for (const char *c = raw; *c && k < sizeof value - 4; c++) value[k++] = (*c == '\n' || *c == '\r' || *c == '\t') ? '?' : *c;
    value[k] = 0;
    if (strlen(raw) > k) snprintf(value + k, sizeof value - k, "...");
    store_param_type t;
    if (!param || !param(name, &t, deprecated)) return pp_err_set(err, PP_ERR_ARG, "unknown parameter '%s'", name);
    long long i;
    float f;
    switch (t) {
    case STORE_PARAM_INT:
        if (!parse_int(raw, &i))
            return pp_err_set(err, PP_ERR_ARG, "PARAMETER %s: expected integer, got '%s'", name, value);
        break;
    case STORE_PARAM_FLOAT:
        if (!parse_float(raw, &f))
            return pp_err_set(err, PP_ERR_ARG, "PARAMETER %s: expected number, got '%s'", name, value);
        /* Go prints a float32 below 1e21 without an exponent: from 2^63 on that text is an
         * integer no JSON reader of ours (jansson, int64) takes, so the layer could be written
         * but never read back. No option has a use for such values. */
        if (fabsf(f) >= 0x1p63f)
            return pp_err_set(err, PP_ERR_ARG, "PARAMETER %s: %s is out of range", name, value);
        break;
    case STORE_PARAM_BOOL:
        if (parse_bool(raw) < 0)
            return pp_err_set(err, PP_ERR_ARG, "PARAMETER %s: expected true or false, got '%s'", name, value);
        break;
    case STORE_PARAM_STRINGS:
        break;
    }
    return PP_OK;
}

/* ---- the parser ---------------------------------------------------------------------- */

typedef struct mf_reader {
    const char *p, *end;
    int line;
    const char *fname;
} mf_reader;

static void skip_blank(mf_reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t')) r->p++;
}

/* Reads a word (instruction, parameter name, role). */
static char *read_word(mf_reader *r) {
    skip_blank(r);
    const char *s = r->p;
    while (r->p < r->end && !isspace((unsigned char)*r->p)) r->p++;
    return pp_view_dup((pp_view){s, (size_t)(r->p - s)});
}

static pp_status at(mf_reader *r, int line, pp_err *err, const char *fmt, const char *a) {
    char m[PP_ERR_MSG_MAX];
    snprintf(m, sizeof m, fmt, a);
    return pp_err_set(err, PP_ERR_FORMAT, "%s:%d: %s", r->fname, line, m);
}

/* Reads an argument to the end of its line (or quote), leaving r->p after the newline. */
static pp_status read_arg(mf_reader *r, const char *what, char **out, pp_err *err) {
    int line = r->line;
    skip_blank(r);
    store_buf b = {0};
    if (r->end - r->p >= 3 && !memcmp(r->p, "\"\"\"", 3)) {
        r->p += 3;
        const char *s = r->p;
        for (;;) {
            if (r->end - r->p < 3) return at(r, line, err, "%s: unterminated \"\"\" (no closing \"\"\")", what);
            if (!memcmp(r->p, "\"\"\"", 3)) break;
            if (*r->p == '\n') r->line++;
            r->p++;
        }
        store_buf_add(&b, s, (size_t)(r->p - s));
        r->p += 3;
    } else if (r->p < r->end && *r->p == '"') {
        r->p++;
        for (;;) {
            if (r->p >= r->end) {
                store_buf_free(&b);
                return at(r, line, err, "%s: unterminated quote", what);
            }
            char c = *r->p++;
            if (c == '"') break;
            if (c == '\\' && r->p < r->end && (*r->p == '"' || *r->p == '\\')) c = *r->p++;
            if (c == '\n') r->line++;
            store_buf_add(&b, &c, 1);
        }
    } else {
        const char *s = r->p;
        while (r->p < r->end && *r->p != '\n') r->p++;
        const char *e = r->p;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        store_buf_add(&b, s, (size_t)(e - s));
        if (e == s) {
            store_buf_free(&b);
            return at(r, line, err, "missing value for %s", what);
        }
    }
    /* only blanks may follow */
    skip_blank(r);
    if (r->p < r->end && *r->p == '\r') r->p++;
    if (r->p < r->end && *r->p != '\n') {
        store_buf_free(&b);
        return at(r, r->line, err, "%s: unexpected text after the closing quote", what);
    }
    if (b.oom) return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", r->fname);
    if (!b.p) store_buf_add(&b, "", 0);
    if (!b.p) return pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", r->fname);
    *out = b.p;
    return PP_OK;
}

static bool kv_push(store_kv **v, size_t *n, char *key, char *value, int line) {
    store_kv *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return false;
    *v = nv;
    nv[*n] = (store_kv){key, value, line};
    (*n)++;
    return true;
}

void store_modelfile_free(store_modelfile *mf) {
    if (!mf) return;
    free(mf->from);
    free(mf->tmpl);
    free(mf->system);
    free(mf->requires);
    for (size_t i = 0; i < mf->n_params; i++) { free(mf->params[i].key); free(mf->params[i].value); }
    free(mf->params);
    for (size_t i = 0; i < mf->n_messages; i++) { free(mf->messages[i].key); free(mf->messages[i].value); }
    free(mf->messages);
    for (size_t i = 0; i < mf->n_licenses; i++) free(mf->licenses[i]);
    free(mf->licenses);
    memset(mf, 0, sizeof *mf);
}

static void set_text(char **slot, char *v) {
    free(*slot);
    *slot = v;
}

pp_status store_modelfile_parse(const char *text, size_t len, const char *fname, store_param_fn param,
                                store_modelfile *out, pp_err *err) {
    store_modelfile mf;
    memset(&mf, 0, sizeof mf);
    if (!fname) fname = "Modelfile";
    if (len > MF_MAX_BYTES) return pp_err_set(err, PP_ERR_FORMAT, "%s: larger than %u bytes", fname, MF_MAX_BYTES);
    mf_reader r = {text, text + len, 1, fname};
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) r.p += 3;
    else if (len >= 2 && (!memcmp(text, "\xFF\xFE", 2) || !memcmp(text, "\xFE\xFF", 2)))
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s: UTF-16 Modelfiles are not supported yet; save it as UTF-8",
                          fname);
    if (memchr(text, 0, len)) return pp_err_set(err, PP_ERR_FORMAT, "%s: contains a NUL byte", fname);
    pp_status st = PP_OK;
    char *word = NULL, *arg = NULL, *sub = NULL;
    while (r.p < r.end) {
        skip_blank(&r);
        if (r.p >= r.end) break;
        if (*r.p == '\n' || *r.p == '\r' || *r.p == '#') {
            while (r.p < r.end && *r.p != '\n') r.p++;
            if (r.p < r.end) { r.p++; r.line++; }
            continue;
        }
        int line = r.line;
        word = read_word(&r);
        if (!word) { st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", fname); goto fail; }
        for (char *c = word; *c; c++) *c = (char)tolower((unsigned char)*c);
        if (!strcmp(word, "from") || !strcmp(word, "template") || !strcmp(word, "system") ||
            !strcmp(word, "license") || !strcmp(word, "requires")) {
            char upper[16];
            size_t k = 0;
            for (; word[k] && k < sizeof upper - 1; k++) upper[k] = (char)toupper((unsigned char)word[k]);
            upper[k] = 0;
            if ((st = read_arg(&r, upper, &arg, err)) != PP_OK) goto fail;
            if (!strcmp(word, "from")) { set_text(&mf.from, arg); mf.from_line = line; }
            else if (!strcmp(word, "template")) set_text(&mf.tmpl, arg);
            else if (!strcmp(word, "system")) set_text(&mf.system, arg);
            else if (!strcmp(word, "requires")) set_text(&mf.requires, arg);
            else {
                char **nl = realloc(mf.licenses, (mf.n_licenses + 1) * sizeof *nl);
                if (!nl) { free(arg); arg = NULL; st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", fname); goto fail; }
                mf.licenses = nl;
                mf.licenses[mf.n_licenses++] = arg;
            }
            arg = NULL;
        } else if (!strcmp(word, "parameter")) {
            sub = read_word(&r);
            if (!sub || !*sub) { st = at(&r, line, err, "PARAMETER: missing name%s", ""); goto fail; }
            for (char *c = sub; *c; c++) *c = (char)tolower((unsigned char)*c);
            char what[128];
            snprintf(what, sizeof what, "PARAMETER %s", sub);
            if ((st = read_arg(&r, what, &arg, err)) != PP_OK) goto fail;
            bool dep = false;
            pp_err e2 = {0};
            if (check_param(param, sub, arg, &dep, &e2) != PP_OK) { st = at(&r, line, err, "%s", e2.msg); goto fail; }
            if (dep) {
                size_t wl = strlen(mf.warnings);
                snprintf(mf.warnings + wl, sizeof mf.warnings - wl, "%s:%d: warning: parameter %s is deprecated\n",
                         fname, line, sub);
                free(sub); free(arg); sub = arg = NULL;
            } else {
                if (!kv_push(&mf.params, &mf.n_params, sub, arg, line)) {
                    st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", fname);
                    goto fail;
                }
                sub = arg = NULL;
            }
        } else if (!strcmp(word, "message")) {
            sub = read_word(&r);
            if (!sub || !*sub) { st = at(&r, line, err, "MESSAGE: missing role%s", ""); goto fail; }
            for (char *c = sub; *c; c++) *c = (char)tolower((unsigned char)*c);
            if (strcmp(sub, "system") && strcmp(sub, "user") && strcmp(sub, "assistant")) {
                st = at(&r, line, err, "MESSAGE role must be one of \"system\", \"user\", or \"assistant\", not '%s'", sub);
                goto fail;
            }
            if ((st = read_arg(&r, "MESSAGE", &arg, err)) != PP_OK) goto fail;
            if (!kv_push(&mf.messages, &mf.n_messages, sub, arg, line)) {
                st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory", fname);
                goto fail;
            }
            sub = arg = NULL;
        } else if (!strcmp(word, "adapter")) {
            st = at(&r, line, err, "ADAPTER is not supported yet (LoRA)%s", "");
            goto fail;
        } else if (!strcmp(word, "draft") || !strcmp(word, "renderer") || !strcmp(word, "parser")) {
            for (char *c = word; *c; c++) *c = (char)toupper((unsigned char)*c);
            st = at(&r, line, err, "%s is not supported yet", word);
            goto fail;
        } else {
            char shown[40];
            snprintf(shown, sizeof shown, "%s", word);
            st = at(&r, line, err,
                    "unknown instruction '%s': command must be one of \"from\", \"license\", \"template\", "
                    "\"system\", \"adapter\", \"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", "
                    "or \"requires\"", shown);
            goto fail;
        }
        free(word);
        word = NULL;
        if (r.p < r.end && *r.p == '\n') { r.p++; r.line++; }
    }
    if (!mf.from) { st = pp_err_set(err, PP_ERR_FORMAT, "%s: no FROM line", fname); goto fail; }
    *out = mf;
    return PP_OK;
fail:
    free(word);
    free(arg);
    free(sub);
    store_modelfile_free(&mf);
    return st;
}

/* ---- layers ------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

pp_status store_params_json(store_param_fn param, const store_kv *params, size_t n, char **out, size_t *len,
                            pp_err *err) {
    return store_params_json_merge(param, NULL, params, n, out, len, err);
}

pp_status store_params_json_merge(store_param_fn param, const char *base_json, const store_kv *params, size_t n,
                                  char **out, size_t *len, pp_err *err) {
    json_t *base = NULL;
    if (base_json) {
        json_error_t je;
        base = json_loads(base_json, 0, &je);
        if (!json_is_object(base)) {
            json_decref(base);
            return pp_err_set(err, PP_ERR_FORMAT, "base model params layer: not a JSON object");
        }
    }
    /* distinct names, sorted (Go sorts map keys) */
    size_t nbase = base ? json_object_size(base) : 0;
    const char **names = calloc(n + nbase + 1, sizeof *names);
    if (!names) {
        json_decref(base);
        return pp_err_set(err, PP_ERR_NOMEM, "params: out of memory");
    }
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < nn && strcmp(names[k], params[i].key)) k++;
        if (k == nn) names[nn++] = params[i].key;
    }
    const char *bkey;
    json_t *bval;
    json_object_foreach(base, bkey, bval) {
        size_t k = 0;
        while (k < nn && strcmp(names[k], bkey)) k++;
        if (k == nn) names[nn++] = bkey;
    }
    qsort(names, nn, sizeof *names, cmp_str);
    store_buf b = {0};
    pp_status st = PP_OK;
    store_buf_add(&b, "{", 1);
    for (size_t k = 0; k < nn; k++) {
        bool mine = false;
        for (size_t i = 0; i < n && !mine; i++) mine = !strcmp(params[i].key, names[k]);
        if (!mine) { /* inherited from the base model as it was */
            if (k) store_buf_add(&b, ",", 1);
            store_buf_add_json_str(&b, names[k], strlen(names[k]));
            store_buf_add(&b, ":", 1);
            store_buf_add_go_json(&b, json_object_get(base, names[k]));
            continue;
        }
        store_param_type t;
        if (!param || !param(names[k], &t, NULL)) {
            st = pp_err_set(err, PP_ERR_ARG, "unknown parameter '%s'", names[k]);
            goto out;
        }
        if (k) store_buf_add(&b, ",", 1);
        store_buf_add_json_str(&b, names[k], strlen(names[k]));
        store_buf_add(&b, ":", 1);
        const store_kv *first = NULL;
        if (t == STORE_PARAM_STRINGS) store_buf_add(&b, "[", 1);
        int cnt = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(params[i].key, names[k])) continue;
            if (t == STORE_PARAM_STRINGS) {
                if (cnt++) store_buf_add(&b, ",", 1);
                store_buf_add_json_str(&b, params[i].value, strlen(params[i].value));
            } else if (!first) {
                first = &params[i];
            }
        }
        if (t == STORE_PARAM_STRINGS) { store_buf_add(&b, "]", 1); continue; }
        char num[64];
        long long iv;
        float fv;
        switch (t) {
        case STORE_PARAM_INT:
            if (!parse_int(first->value, &iv)) goto badval;
            snprintf(num, sizeof num, "%lld", iv);
            store_buf_adds(&b, num);
            break;
        case STORE_PARAM_FLOAT:
            if (!parse_float(first->value, &fv)) goto badval;
            store_buf_add_go_float32(&b, fv);
            break;
        case STORE_PARAM_BOOL:
            if (parse_bool(first->value) < 0) goto badval;
            store_buf_adds(&b, parse_bool(first->value) ? "true" : "false");
            break;
        default:
            break;
        }
        continue;
    badval:
        st = pp_err_set(err, PP_ERR_ARG, "PARAMETER %s: bad value '%s'", names[k], first->value);
        goto out;
    }
    store_buf_add(&b, "}\n", 2);
    if (b.oom) st = pp_err_set(err, PP_ERR_NOMEM, "params: out of memory");
out:
    free(names);
    json_decref(base);
    if (st != PP_OK) {
        store_buf_free(&b);
        return st;
    }
    *out = b.p;
    *len = b.len;
    return PP_OK;
}

pp_status store_messages_json(const store_kv *msgs, size_t n, char **out, size_t *len, pp_err *err) {
    store_buf b = {0};
    store_buf_add(&b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) store_buf_add(&b, ",", 1);
        store_buf_adds(&b, "{\"role\":");
        store_buf_add_json_str(&b, msgs[i].key, strlen(msgs[i].key));
        store_buf_adds(&b, ",\"content\":");
        store_buf_add_json_str(&b, msgs[i].value, strlen(msgs[i].value));
        store_buf_add(&b, "}", 1);
    }
    store_buf_add(&b, "]\n", 2);
    if (b.oom) {
        store_buf_free(&b);
        return pp_err_set(err, PP_ERR_NOMEM, "messages: out of memory");
    }
    *out = b.p;
    *len = b.len;
    return PP_OK;
}
