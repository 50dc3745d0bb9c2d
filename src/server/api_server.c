/* api_server.c - `pippa serve` wired together (server.h): the route table of Ollama's and
 * OpenAI's endpoints, the error body per family, and server start/stop (the transport, the
 * scheduler, the task threads). The only file that knows both the transport and every
 * endpoint; the transport (http.c) knows neither.
 *
 * Routes are tried in order; 405 comes from the exact paths below (not "/", which answers
 * other methods with 404 as Ollama does). */
#include <stdlib.h>
#include <string.h>

#include "api_handlers.h"
#include "api_respond.h"
#include "api_task.h"

static enum MHD_Result handle_root(http_req *r, json_t *req) {
    (void)req;
    return http_send_text(r, 200, "text/plain; charset=utf-8", "Ollama is running");
}

static enum MHD_Result handle_version(http_req *r, json_t *req) {
    (void)req;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(API_COMPAT_VERSION));
    return http_send_json(r, 200, o);
}

static const http_route ROUTES[] = {
    {"POST", "/api/blobs/", HTTP_PATH_PREFIX, HTTP_BODY_BLOB, api_handle_blob_upload, &api_blob_ops, false},
    {"GET", "/", HTTP_PATH_EXACT, HTTP_BODY_NONE, handle_root, NULL, true},
    {"GET", "/api/version", HTTP_PATH_EXACT, HTTP_BODY_NONE, handle_version, NULL, false},
    {"POST", "/api/generate", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_generate, NULL, false},
    {"POST", "/api/chat", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_chat, NULL, false},
    {"GET", "/api/tags", HTTP_PATH_EXACT, HTTP_BODY_NONE, api_handle_tags, NULL, false},
    {"GET", "/api/blobs/", HTTP_PATH_PREFIX, HTTP_BODY_NONE, api_handle_blob_head, NULL, false},
    {"POST", "/api/show", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_show, NULL, false},
    {"GET", "/api/ps", HTTP_PATH_EXACT, HTTP_BODY_NONE, api_handle_ps, NULL, false},
    {"POST", "/api/pull", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_pull, NULL, false},
    {"POST", "/api/create", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_create, NULL, false},
    {"POST", "/api/copy", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_copy, NULL, false},
    {"DELETE", "/api/delete", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_delete, NULL, false},
    {"POST", "/v1/chat/completions", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_oai_chat, NULL, false},
    {"POST", "/v1/completions", HTTP_PATH_EXACT, HTTP_BODY_JSON, api_handle_oai_completion, NULL, false},
    {"GET", "/v1/models", HTTP_PATH_EXACT, HTTP_BODY_NONE, api_handle_oai_models, NULL, false},
    {"GET", "/v1/models/", HTTP_PATH_PREFIX_NONEMPTY, HTTP_BODY_NONE, api_handle_oai_model, NULL, false},
};

/* Errors on /v1/ paths (any status, routed or not) take OpenAI's shape. */
static json_t *error_body(const http_req *r, unsigned status, const char *msg) {
    if (!strncmp(r->url, "/v1/", 4)) return api_oai_error(msg, status);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(msg));
    return o;
}

pp_status api_server_start(const api_server_params *p, api_server **out, pp_err *err) {
    api_server *srv = calloc(1, sizeof *srv);
    if (!srv) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    srv->p = *p;
    atomic_init(&srv->next_id, 1);
    pthread_mutex_init(&srv->mu, NULL);
    api_cond_init(&srv->cv_sched);
    http_server_params hp = http_server_default_params();
    hp.host = srv->p.host;
    hp.port = srv->p.port;
    hp.origins = srv->p.origins;
    hp.routes = ROUTES;
    hp.n_routes = sizeof ROUTES / sizeof ROUTES[0];
    hp.app = srv;
    hp.error_body = error_body;
    pp_status st = http_server_start(&hp, &srv->http, err);
    if (st) {
        pthread_cond_destroy(&srv->cv_sched);
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return st;
    }
    api_sched_start(srv);
    *out = srv;
    return PP_OK;
}

uint16_t api_server_port(const api_server *s) { return http_server_port(s->http); }

void api_server_stop(api_server *srv) {
    if (!srv) return;
    http_server_quiesce(srv->http);          /* no new connections */
    api_sched_cancel_all(srv);               /* wakes every waiting connection */
    /* let responses in flight end with their final line (bounded: HTTP_DRAIN_MS) */
    http_server_stop(srv->http, HTTP_DRAIN_MS); /* joins the connection threads */
    api_sched_stop(srv);                     /* joins the workers, unloads the models */
    api_task_join_all(srv);                  /* waits for pulls/creates in progress */
    pthread_cond_destroy(&srv->cv_sched);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
