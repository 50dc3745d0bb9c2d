/* api_json.c - request JSON: typed field access with errors that name the field, Ollama's
 * options object (the options table's JSON rules, src/catalog), keep_alive and RFC 3339 timestamps (ollama-compat.md §3.1, §3.5). Bounded body parsing is
 * the transport's (http_json_parse). */
#include "api_json.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "../catalog/catalog.h"
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
