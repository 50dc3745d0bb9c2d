/* api_json.h - request JSON helpers of the API layer (api_json.c): typed field access with
 * errors that name the field, Ollama's options object, keep_alive, RFC 3339 timestamps.
 * Body parsing with the depth bound is the transport's (http_json_parse in http.h). */
#ifndef PIPPA_API_JSON_H
#define PIPPA_API_JSON_H

#include <jansson.h>

#include "../engine/engine.h"
#include "api_models.h"

/* Optional field of the given type: absent/null -> *out untouched and PP_OK; wrong type ->
 * PP_ERR_ARG "field 'stream': expected boolean, got string". */
pp_status api_field_string(const json_t *obj, const char *key, const char **out, pp_err *err);
pp_status api_field_bool(const json_t *obj, const char *key, bool *out, pp_err *err);
pp_status api_field_number(const json_t *obj, const char *key, double *out, pp_err *err);
/* Applies an options object (Ollama's names and type rules; unknown names ignored with a
 * log line): 400 texts `option "top_k" must be of type integer`. */
pp_status api_options_apply(engine_options *o, const json_t *options, pp_err *err);
/* keep_alive field: number (seconds) or duration string. */
pp_status api_keep_alive_parse(const json_t *v, int64_t *ns, pp_err *err);
/* RFC 3339 UTC with microseconds: "2025-10-17T23:14:07.414671Z". */
void api_time_rfc3339(int64_t unix_ns, char *buf, size_t cap);
int64_t api_now_unix_ns(void);
/* Builds the job's options: defaults <- server num_ctx <- model params <- request options. */
pp_status api_job_options(api_server *srv, const api_model *m, const json_t *options, engine_options *o, pp_err *err);

#endif
