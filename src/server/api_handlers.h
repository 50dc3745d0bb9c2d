/* api_handlers.h - the endpoints, one handler per route (http_handler: the JSON body, or
 * NULL for routes without one). The route table that maps method + path to them is in
 * api_server.c; each family's file says which endpoints it serves. */
#ifndef PIPPA_API_HANDLERS_H
#define PIPPA_API_HANDLERS_H

#include "http.h"

/* native generation (api_gen.c) */
enum MHD_Result api_handle_generate(http_req *r, json_t *req);
enum MHD_Result api_handle_chat(http_req *r, json_t *req);
enum MHD_Result api_handle_ps(http_req *r, json_t *req);
/* OpenAI (api_openai.c) */
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
enum MHD_Result api_handle_copy(http_req *r, json_t *req);
enum MHD_Result api_handle_delete(http_req *r, json_t *req);
enum MHD_Result api_handle_pull(http_req *r, json_t *req);
enum MHD_Result api_handle_create(http_req *r, json_t *req);
/* blobs (api_blobs.c): HEAD/GET /api/blobs/<digest>, and POST as a streamed-body route */
enum MHD_Result api_handle_blob_head(http_req *r, json_t *req);
enum MHD_Result api_handle_blob_upload(http_req *r, json_t *req);
extern const http_blob_ops api_blob_ops;

#endif
