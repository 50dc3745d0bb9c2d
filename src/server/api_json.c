/* api_json.c - request JSON: bounded parsing (HTTP_MAX_DEPTH checked before jansson, whose
 * own limit is 2048), typed field access with errors that name the field, Ollama's options
 * object (the options table's JSON rules, src/catalog), keep_alive,
 * RFC 3339 timestamps and the final-chunk statistics (ollama-compat.md §3.1, §3.5, §3.10). */
#include "server_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "../catalog/catalog.h"

const char *api_json_type(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Depth of the deepest [ or { outside strings; stops early past the limit. */
static int json_depth(const char *s, size_t n) {
    int depth = 0, max = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
            if (max > HTTP_MAX_DEPTH) return max;
        } else if (c == ']' || c == '}') depth--;
    }
    return max;
}

pp_status api_json_parse(const char *body, size_t n, json_t **out, pp_err *err) {
    if (!body || n == 0) return pp_err_set(err, PP_ERR_ARG, "missing request body");
    if (json_depth(body, n) > HTTP_MAX_DEPTH)
        return pp_err_set(err, PP_ERR_ARG, "request body: JSON nested deeper than %d levels", HTTP_MAX_DEPTH);
    json_error_t je;
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j)
        return pp_err_set(err, PP_ERR_ARG, "request body: invalid JSON at line %d column %d: %s", je.line, je.column,
                          je.text);
    if (!json_is_object(j)) {
        pp_err_set(err, PP_ERR_ARG, "request body: expected a JSON object, got %s", api_json_type(j));
        json_decref(j);
        return PP_ERR_ARG;
    }
    *out = j;
    return PP_OK;
}

static pp_status field_type(const char *key, const char *want, const json_t *v, pp_err *err) {
    return pp_err_set(err, PP_ERR_ARG, "field '%s': expected %s, got %s", key, want, api_json_type(v));
}

pp_status api_field_string(const json_t *obj, const char *key, const char **out, pp_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return PP_OK;
    if (!json_is_string(v)) return field_type(key, "string", v, err);
    *out = json_string_value(v);
    return PP_OK;
}

pp_status api_field_bool(const json_t *obj, const char *key, bool *out, pp_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return PP_OK;
    if (!json_is_boolean(v)) return field_type(key, "boolean", v, err);
    *out = json_is_true(v);
    return PP_OK;
}

pp_status api_field_number(const json_t *obj, const char *key, double *out, pp_err *err) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return PP_OK;
    if (!json_is_number(v)) return field_type(key, "number", v, err);
    *out = json_number_value(v);
    return PP_OK;
}

/* The options object: the table's JSON rules are src/catalog's (catalog_options_json). */
pp_status api_options_apply(engine_options *o, const json_t *options, pp_err *err) {
    if (!options || json_is_null(options)) return PP_OK;
    if (!json_is_object(options)) return field_type("options", "object", options, err);
    return catalog_options_json(o, options, err);
}

pp_status api_keep_alive_parse(const json_t *v, int64_t *ns, pp_err *err) {
    if (json_is_number(v)) {
        double s = json_number_value(v);
        if (!isfinite(s)) return pp_err_set(err, PP_ERR_ARG, "field 'keep_alive': not a finite number");
        if (s > 9e9) s = 9e9;
        if (s < -9e9) s = -9e9;
        *ns = (int64_t)(s * 1e9);
        return PP_OK;
    }
    if (json_is_string(v)) {
        pp_status st = api_duration_parse(json_string_value(v), ns, err);
        if (st) return pp_err_set(err, st, "field 'keep_alive': bad duration '%s'", json_string_value(v));
        return PP_OK;
    }
    return field_type("keep_alive", "number or duration string", v, err);
}

int64_t api_now_unix_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void api_time_rfc3339(int64_t unix_ns, char *buf, size_t cap) {
    time_t sec = (time_t)(unix_ns / 1000000000LL);
    long usec = (long)((unix_ns % 1000000000LL) / 1000);
    if (usec < 0) usec = 0;
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[40];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%06ldZ", base, usec);
}

const char *api_done_reason(const api_job *j) {
    return j->res.done == ENGINE_DONE_LENGTH ? "length" : "stop";
}

/* Ollama omits zero timing fields (§3.10). */
static void add_nonzero(json_t *obj, const char *key, uint64_t v) {
    if (v) json_object_set_new(obj, key, json_integer((json_int_t)v));
}

void api_json_add_stats(json_t *obj, const api_job *j) {
    json_object_set_new(obj, "done_reason", json_string(api_done_reason(j)));
    const engine_stats *st = &j->res.stats;
    add_nonzero(obj, "total_duration", st->total_duration);
    add_nonzero(obj, "load_duration", st->load_duration);
    add_nonzero(obj, "prompt_eval_count", j->prompt_tokens);
    add_nonzero(obj, "prompt_eval_duration", st->prompt_eval_duration);
    add_nonzero(obj, "eval_count", st->eval_count);
    add_nonzero(obj, "eval_duration", st->eval_duration);
}

pp_status api_job_options(api_server *srv, const api_model *m, const json_t *options, engine_options *o, pp_err *err) {
    *o = engine_default_options();
    o->num_ctx = srv->p.num_ctx;
    pp_status st;
    if (m->params && (st = api_options_apply(o, m->params, err))) {
        char msg[PP_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return pp_err_set(err, PP_ERR_FORMAT, "model '%s' parameters: %s", m->name, msg);
    }
    return api_options_apply(o, options, err);
}
