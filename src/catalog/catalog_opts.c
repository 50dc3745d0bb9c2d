/* catalog_opts.c - the options table (src/engine/options.c) as the JSON "options" object
 * and as the store's PARAMETER type lookup.
 *
 * JSON types follow Ollama's api.Options decoding (ollama-compat.md §3.5): integers accept
 * a JSON integer or a finite real (Go's int(float64) truncates), floats any number, bools a
 * boolean, stop an array of strings; the texts of the type errors are Ollama's
 * (`option "top_k" must be of type integer`). The value then goes through
 * engine_options_set, whose range messages are the table's. */
#include "catalog.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

bool catalog_param_lookup(const char *name, store_param_type *type, bool *deprecated) {
    engine_opt o;
    if (!engine_opt_find(name, &o)) return false;
    static const store_param_type TYPES[] = {
        [ENGINE_OPT_TYPE_INT] = STORE_PARAM_INT, [ENGINE_OPT_TYPE_FLOAT] = STORE_PARAM_FLOAT,
        [ENGINE_OPT_TYPE_BOOL] = STORE_PARAM_BOOL, [ENGINE_OPT_TYPE_STRINGS] = STORE_PARAM_STRINGS,
    };
    if (type) *type = TYPES[o.type];
    if (deprecated) *deprecated = o.dest == ENGINE_OPT_DEST_REFUSED;
    return true;
}

/* Checks v's JSON type for the row and writes a scalar's text for engine_options_set. */
static pp_status json_text(const engine_opt *r, const char *key, const json_t *v, char *text, size_t cap,
                           pp_err *err) {
    switch (r->type) {
    case ENGINE_OPT_TYPE_INT:
        if (json_is_integer(v)) snprintf(text, cap, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9e15)
            snprintf(text, cap, "%lld", (long long)json_real_value(v)); /* Go: int(float64) */
        else return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type integer", key);
        return PP_OK;
    case ENGINE_OPT_TYPE_FLOAT:
        if (!json_is_number(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type float32", key);
        snprintf(text, cap, "%.9g", json_number_value(v));
        return PP_OK;
    case ENGINE_OPT_TYPE_BOOL:
        if (!json_is_boolean(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type boolean", key);
        snprintf(text, cap, "%s", json_is_true(v) ? "true" : "false");
        return PP_OK;
    case ENGINE_OPT_TYPE_STRINGS:
        break;
    }
    return pp_err_set(err, PP_ERR_INTERNAL, "option \"%s\": not a scalar", key);
}

static pp_status json_stop(engine_options *o, const char *key, const json_t *v, bool *stop_reset, pp_err *err) {
    if (!json_is_array(v)) return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of type array", key);
    if (!*stop_reset) {
        o->n_stop = 0; /* the request's list replaces the model's */
        *stop_reset = true;
    }
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it) {
        if (!json_is_string(it))
            return pp_err_set(err, PP_ERR_ARG, "option \"%s\" must be of an array of strings", key);
        pp_status st = engine_options_set(o, key, json_string_value(it), err);
        if (st) return st;
    }
    return PP_OK;
}

pp_status catalog_option_json(engine_options *o, const char *key, const json_t *v, bool *stop_reset,
                              catalog_opt_verdict *verdict, pp_err *err) {
    engine_opt r;
    *verdict = CATALOG_OPT_IGNORED;
    if (!engine_opt_find(key, &r)) {
        *verdict = CATALOG_OPT_UNKNOWN;
        return PP_OK;
    }
    if (!v || json_is_null(v)) return PP_OK;
    if (r.dest == ENGINE_OPT_DEST_REFUSED) {
        *verdict = CATALOG_OPT_DEPRECATED;
        return PP_OK;
    }
    pp_status st;
    if (r.type == ENGINE_OPT_TYPE_STRINGS) {
        st = json_stop(o, key, v, stop_reset, err);
    } else {
        char text[64];
        if ((st = json_text(&r, key, v, text, sizeof text, err)) != PP_OK) return st;
        if (r.dest == ENGINE_OPT_DEST_NO_EFFECT) return PP_OK;
        st = engine_options_set(o, key, text, err);
    }
    if (st == PP_OK) *verdict = CATALOG_OPT_APPLIED;
    return st;
}

pp_status catalog_options_json(engine_options *o, const json_t *options, pp_err *err) {
    if (!options || json_is_null(options)) return PP_OK;
    if (!json_is_object(options)) return pp_err_set(err, PP_ERR_ARG, "options: expected a JSON object");
    const char *key;
    json_t *v;
    engine_options tmp = *o;
    bool stop_reset = false;
    json_object_foreach((json_t *)options, key, v) {
        catalog_opt_verdict verdict;
        pp_status st = catalog_option_json(&tmp, key, v, &stop_reset, &verdict, err);
        if (st) return st;
        if (verdict == CATALOG_OPT_UNKNOWN) pp_log(PP_LOG_WARN, "invalid option provided: %s", key);
        else if (verdict == CATALOG_OPT_DEPRECATED) pp_log(PP_LOG_WARN, "option '%s' is deprecated and ignored", key);
    }
    *o = tmp;
    return PP_OK;
}
