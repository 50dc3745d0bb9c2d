/* api_json.c - request JSON: typed field access with errors that name the field, Ollama's
 * options object (names from §2.3, type errors `option "X" must be of type integer`),
 * keep_alive and RFC 3339 timestamps (ollama-compat.md §3.1, §3.5). Bounded body parsing is
 * the transport's (http_json_parse). */
#include "api_json.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "http.h"

static pp_status field_type(const char *key, const char *want, const json_t *v, pp_err *err) {
    return pp_err_set(err, PP_ERR_ARG, "field '%s': expected %s, got %s", key, want, http_json_type(v));
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

typedef enum opt_type { OPT_INT, OPT_FLOAT, OPT_BOOL, OPT_STRINGS, OPT_IGNORED } opt_type;
typedef struct opt_def {
    const char *name;
    opt_type type;
    bool engine; /* passed to engine_options_set */
} opt_def;

/* ollama-compat.md §2.3 (runner options + sampling options). */
static const opt_def OPTS[] = {
    {"num_ctx", OPT_INT, true},          {"num_batch", OPT_INT, true},
    {"num_gpu", OPT_INT, false},         {"main_gpu", OPT_INT, false},
    {"use_mmap", OPT_BOOL, false},       {"num_thread", OPT_INT, true},
    {"draft_num_predict", OPT_INT, false}, {"num_keep", OPT_INT, false},
    {"seed", OPT_INT, true},             {"num_predict", OPT_INT, true},
    {"top_k", OPT_INT, true},            {"top_p", OPT_FLOAT, true},
    {"min_p", OPT_FLOAT, true},          {"typical_p", OPT_FLOAT, true},
    {"repeat_last_n", OPT_INT, true},    {"temperature", OPT_FLOAT, true},
    {"repeat_penalty", OPT_FLOAT, true}, {"presence_penalty", OPT_FLOAT, true},
    {"frequency_penalty", OPT_FLOAT, true}, {"stop", OPT_STRINGS, true},
    /* deprecated: accepted, logged, ignored */
    {"mirostat", OPT_IGNORED, false},    {"mirostat_tau", OPT_IGNORED, false},
    {"mirostat_eta", OPT_IGNORED, false}, {"low_vram", OPT_IGNORED, false},
    {"f16_kv", OPT_IGNORED, false},      {"logits_all", OPT_IGNORED, false},
    {"vocab_only", OPT_IGNORED, false},  {"use_mlock", OPT_IGNORED, false},
    {"penalize_newline", OPT_IGNORED, false}, {"tfs_z", OPT_IGNORED, false},
    {"numa", OPT_IGNORED, false},
};

pp_status api_options_apply(engine_options *o, const json_t *options, pp_err *err) {
    if (!options || json_is_null(options)) return PP_OK;
    if (!json_is_object(options)) return field_type("options", "object", options, err);
    const char *key;
    json_t *v;
    engine_options tmp = *o;
    bool stop_reset = false;
    json_object_foreach((json_t *)options, key, v) {
        const opt_def *d = NULL;
        for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
            if (!strcmp(OPTS[i].name, key)) d = &OPTS[i];
        if (!d) {
            pp_log(PP_LOG_WARN, "invalid option provided: %s", key);
            continue;
        }
        if (json_is_null(v)) continue;
        char text[64];
        switch (d->type) {
        case OPT_IGNORED:
            pp_log(PP_LOG_WARN, "option '%s' is deprecated and ignored", key);
            continue;
        case OPT_INT:
            if (json_is_integer(v)) snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9e15)
                snprintf(text, sizeof text, "%lld", (long long)json_real_value(v)); /* Go: int(float64) */
            else return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type integer", key);
            break;
        case OPT_FLOAT:
            if (!json_is_number(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type float32", key);
            snprintf(text, sizeof text, "%.9g", json_number_value(v));
            break;
        case OPT_BOOL:
            if (!json_is_boolean(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type boolean", key);
            continue;
        case OPT_STRINGS: {
            if (!json_is_array(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type array", key);
            if (!stop_reset) {
                tmp.n_stop = 0; /* the request's list replaces the model's */
                stop_reset = true;
            }
            size_t i;
            json_t *it;
            json_array_foreach(v, i, it) {
                if (!json_is_string(it))
                    return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of an array of strings", key);
                pp_status st = engine_options_set(&tmp, key, json_string_value(it), err);
                if (st) return st;
            }
            continue;
        }
        }
        if (!d->engine) continue;
        pp_status st = engine_options_set(&tmp, key, text, err);
        if (st) return st;
    }
    *o = tmp;
    return PP_OK;
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
