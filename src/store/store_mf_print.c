/* store_mf_print.c - Modelfile text from a parsed Modelfile or a stored model (`pippa show
 * --modelfile`, /api/show's "modelfile"), written so that store_modelfile_parse reads every
 * value back exactly: parse(print(mf)) == mf, and `create -f <(show --modelfile X)` makes X
 * again (the same layers, so the same manifest).
 *
 * Quoting (store_modelfile_quote), the first form that holds the value:
 *   bare         one line, no leading blank, no trailing white space, not starting with '"',
 *                no '\r' (Ollama's parser ends a line there too)
 *   "value"      no '"' and no '\' inside: the same text for our parser and Ollama's (which
 *                has no escapes), multi-line allowed
 *   """value"""  no '"""' inside and not ending in '"': raw, as Ollama's quote() writes a
 *                multi-line value with quotes
 *   "esc"        anything else, with \" and \\ (Ollama's parser cannot hold such a value)
 * so a value never ends its line early: a newline inside a value is inside quotes, and
 * `PARAMETER stop "a\nSYSTEM x"` cannot add an instruction. Names that the grammar cannot
 * hold (a PARAMETER name with white space, a MESSAGE role other than system, user and
 * assistant, possible only in a hand-made or foreign store) are left out rather than
 * printed broken. */
#include "store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static bool bare_ok(const char *v, size_t n) {
    if (!n || v[0] == ' ' || v[0] == '\t' || v[0] == '"' || isspace((unsigned char)v[n - 1])) return false;
    return !memchr(v, '\n', n) && !memchr(v, '\r', n);
}

void store_modelfile_quote(store_buf *b, const char *v) {
    size_t n = strlen(v);
    if (bare_ok(v, n)) {
        store_buf_add(b, v, n);
    } else if (!memchr(v, '"', n) && !memchr(v, '\\', n)) {
        store_buf_add(b, "\"", 1);
        store_buf_add(b, v, n);
        store_buf_add(b, "\"", 1);
    } else if (!strstr(v, "\"\"\"") && v[n - 1] != '"') {
        store_buf_add(b, "\"\"\"", 3);
        store_buf_add(b, v, n);
        store_buf_add(b, "\"\"\"", 3);
    } else {
        store_buf_add(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
            if (v[i] == '"' || v[i] == '\\') store_buf_add(b, "\\", 1);
            store_buf_add(b, v + i, 1);
        }
        store_buf_add(b, "\"", 1);
    }
}

/* A PARAMETER name the parser reads back as one word: [A-Za-z0-9_]+ (Ollama's grammar). */
static bool param_name_ok(const char *k) {
    if (!*k) return false;
    for (const char *c = k; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') return false;
    return true;
}

static bool role_ok(const char *r) {
    return !strcasecmp(r, "system") || !strcasecmp(r, "user") || !strcasecmp(r, "assistant");
}

static void instr(store_buf *b, const char *name, const char *v) {
    store_buf_adds(b, name);
    store_buf_add(b, " ", 1);
    store_modelfile_quote(b, v);
    store_buf_add(b, "\n", 1);
}

static void instr2(store_buf *b, const char *name, const char *word, const char *v) {
    store_buf_adds(b, name);
    store_buf_add(b, " ", 1);
    store_buf_adds(b, word);
    store_buf_add(b, " ", 1);
    store_modelfile_quote(b, v);
    store_buf_add(b, "\n", 1);
}

/* The instructions of mf, FROM first (no header). */
static void print_body(store_buf *b, const store_modelfile *mf) {
    if (mf->from) instr(b, "FROM", mf->from);
    if (mf->tmpl) instr(b, "TEMPLATE", mf->tmpl);
    if (mf->system) instr(b, "SYSTEM", mf->system);
    for (size_t i = 0; i < mf->n_params; i++)
        if (param_name_ok(mf->params[i].key)) instr2(b, "PARAMETER", mf->params[i].key, mf->params[i].value);
    for (size_t i = 0; i < mf->n_licenses; i++) instr(b, "LICENSE", mf->licenses[i]);
    for (size_t i = 0; i < mf->n_messages; i++)
        if (role_ok(mf->messages[i].key)) instr2(b, "MESSAGE", mf->messages[i].key, mf->messages[i].value);
    if (mf->requires) instr(b, "REQUIRES", mf->requires);
}

static pp_status finish(store_buf *b, char **out, size_t *len, pp_err *err) {
    if (!b->p) store_buf_add(b, "", 0);
    if (b->oom || !b->p) {
        store_buf_free(b);
        return pp_err_set(err, PP_ERR_NOMEM, "Modelfile: out of memory");
    }
    *out = b->p;
    if (len) *len = b->len;
    return PP_OK;
}

pp_status store_modelfile_print(const store_modelfile *mf, char **out, size_t *len, pp_err *err) {
    store_buf b = {0};
    print_body(&b, mf);
    return finish(&b, out, len, err);
}

/* One params value as PARAMETER text: a string as it is, an integer exactly, other numbers
 * and booleans as Go prints them (what the CLI always showed); false for values no PARAMETER can give (null, objects). */
static bool param_text(json_t *v, store_buf *t) {
    t->len = 0;
    char num[32];
    if (json_is_string(v)) store_buf_add(t, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v)) { /* exact: Go's float64 print would round 2^63 - 1 */
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        store_buf_adds(t, num);
    } else if (json_is_real(v) || json_is_boolean(v)) store_buf_add_go_json(t, v);
    else return false;
    store_buf_add(t, "", 1);
    return !t->oom && !memchr(t->p, 0, t->len - 1); /* a JSON "\u0000" cannot be written */
}

/* A header comment line with control characters shown as '?' (a name cannot end it). */
static void comment(store_buf *b, const char *pre, const char *text) {
    store_buf_adds(b, pre);
    for (const char *c = text; c && *c; c++) {
        char ch = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
        store_buf_add(b, &ch, 1);
    }
    store_buf_add(b, "\n", 1);
}

pp_status store_model_modelfile(const store_model *m, const char *tool, const char *display, const char *from,
                                char **out, size_t *len, pp_err *err) {
    store_buf b = {0}, t = {0};
    comment(&b, "# Modelfile generated by ", tool);
    store_buf_adds(&b, "# To build a new Modelfile based on this, replace FROM with:\n");
    comment(&b, "# FROM ", display);
    store_buf_add(&b, "\n", 1);
    if (from) instr(&b, "FROM", from);
    if (m->tmpl) instr(&b, "TEMPLATE", m->tmpl);
    if (m->system) instr(&b, "SYSTEM", m->system);
    json_t *params = m->params_json ? json_loads(m->params_json, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(params, k, v) {
        if (!param_name_ok(k)) continue;
        size_t cnt = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < cnt; i++)
            if (param_text(json_is_array(v) ? json_array_get(v, i) : v, &t)) instr2(&b, "PARAMETER", k, t.p);
    }
    json_decref(params);
    store_buf_free(&t);
    for (size_t i = 0; i < m->n_licenses; i++) instr(&b, "LICENSE", m->licenses[i]);
    json_t *msgs = m->messages_json ? json_loads(m->messages_json, 0, NULL) : NULL;
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *e = json_array_get(msgs, i);
        const char *r = json_string_value(json_object_get(e, "role"));
        json_t *c = json_object_get(e, "content");
        if (!r || !json_is_string(c) || !role_ok(r) || memchr(json_string_value(c), 0, json_string_length(c))) continue;
        char role[16];
        size_t n = 0;
        for (; r[n] && n < sizeof role - 1; n++) role[n] = (char)tolower((unsigned char)r[n]);
        role[n] = 0;
        instr2(&b, "MESSAGE", role, json_string_value(c));
    }
    json_decref(msgs);
    json_t *cfg = m->config_json ? json_loads(m->config_json, 0, NULL) : NULL;
    const char *req = json_string_value(json_object_get(cfg, "requires"));
    if (req && *req) instr(&b, "REQUIRES", req);
    json_decref(cfg);
    return finish(&b, out, len, err);
}
