/* api_handlers.h - the endpoints, one handler per route (http_handler: the JSON body, or
 * NULL for routes without one). The route table that maps method + path to them is in
 * api_server.c; each family's file says which endpoints it serves. */
#ifndef PIPPA_API_HANDLERS_H
#define PIPPA_API_HANDLERS_H

#include "../store/store.h"
#include "api_sched.h"
#include "http.h"

/* The parse steps of the generation handlers: request JSON -> fields, or an error for a 400
 * (err.msg is the reply's text). The handlers call them in this order; they touch no
 * server state, so tests and fuzz/fuzz_api_*.c call them directly. */
typedef struct api_common_req {
    const char *name;         /* "model", else "name" (required) */
    bool stream;              /* set only when present; the caller's default otherwise */
    bool think;               /* thinking was asked for: the handler refuses naming the model */
} api_common_req;
/* Fields of /api/generate and /api/chat checked before the model is resolved: model/name,
 * stream, think, top_logprobs, keep_alive (into j->keep_alive_ns, keep_alive_set). */
pp_status api_common_parse(const json_t *req, api_common_req *c, api_job *j, pp_err *err);
typedef struct api_generate_req {
    const char *prompt, *system, *tmpl, *suffix;
    bool raw;
    const json_t *ctx;        /* "context" (array or NULL/null) */
    bool has_ctx;             /* a non-empty context array */
} api_generate_req;
/* /api/generate's own fields (checked first): types, raw's exclusions, images. */
pp_status api_generate_parse(const json_t *req, api_generate_req *g, pp_err *err);
/* "context" ids into j->ctx_in (after the model is resolved); PP_ERR_NOMEM on OOM. */
pp_status api_context_parse(const json_t *ctx, api_job *j, pp_err *err);

/* native generation (api_gen.c) */
enum MHD_Result api_handle_generate(http_req *r, json_t *req);
enum MHD_Result api_handle_chat(http_req *r, json_t *req);
enum MHD_Result api_handle_ps(http_req *r, json_t *req);
/* OpenAI (api_openai.c) */
typedef struct api_oai_req {
    const char *name;         /* "model" (required) */
    bool stream, include_usage;
    const char *refused;      /* "tools" or "insert": the handler refuses naming the model */
} api_oai_req;
/* The parse step of the OpenAI handlers: model, stream, stream_options, tools, messages
 * (chat: into j->msgs) or prompt and suffix (completion: j->prompt), and the sampling
 * fields mapped onto the Ollama options object opts. PP_ERR_NOMEM on OOM. */
pp_status api_oai_parse(const json_t *req, bool chat, api_oai_req *o, api_job *j, json_t *opts, pp_err *err);
enum MHD_Result api_handle_oai_chat(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_completion(http_req *r, json_t *req);
/* OpenAI's error body {"error": {message, type, param, code}}. */
json_t *api_oai_error(const char *msg, unsigned status);
/* models, read side (api_models.c); oai_model: GET /v1/models/<r->rest> */
enum MHD_Result api_handle_tags(http_req *r, json_t *req);
enum MHD_Result api_handle_show(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_models(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_model(http_req *r, json_t *req);
/* models, write side (api_store.c) */
typedef struct api_create_req {
    const char *name, *from, *system, *tmpl;
    bool stream;              /* set only when present */
    store_name sn;            /* name, parsed */
    const json_t *params, *files, *msgs, *lic; /* checked types (or NULL/null) */
} api_create_req;
/* The parse step of POST /api/create: field types, the name, quantize refused, parameters
 * through the options table (api_options_apply on a probe). */
pp_status api_create_parse(const json_t *req, api_create_req *c, pp_err *err);
enum MHD_Result api_handle_copy(http_req *r, json_t *req);
enum MHD_Result api_handle_delete(http_req *r, json_t *req);
enum MHD_Result api_handle_pull(http_req *r, json_t *req);
enum MHD_Result api_handle_create(http_req *r, json_t *req);
/* blobs (api_blobs.c): HEAD/GET /api/blobs/<digest>, and POST as a streamed-body route */
enum MHD_Result api_handle_blob_head(http_req *r, json_t *req);
enum MHD_Result api_handle_blob_upload(http_req *r, json_t *req);
extern const http_blob_ops api_blob_ops;

#endif
