/* fuzz_api_native.c - libFuzzer target for the native Ollama request decoder: the body
 * through the transport's JSON parse (http_json_parse, the depth bound), then the parse
 * steps of /api/generate and /api/chat as their handlers run them (api_generate_parse,
 * api_common_parse, api_context_parse, api_parse_messages) and the options object through
 * the options table (api_options_apply -> catalog_options_json), with no server: every
 * failure must carry a one-line message, as it becomes a 400's text.
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_api_native/).
 */
#include "fuzz_util.h"
#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/api_respond.h"
#include "server/api_runner.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("PIPPA_LOG", "error", 0); /* unknown options and ignored fields log a warning */
    return 0;
}

static void check_err(pp_status st, const pp_err *err) {
    if (st == PP_OK || st == PP_ERR_NOMEM) return;
    if (!err->msg[0] || !memchr(err->msg, 0, sizeof err->msg)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *req;
    pp_err err = {0};
    if (http_json_parse((const char *)data, size, &req, &err) != PP_OK) {
        check_err(PP_ERR_ARG, &err);
        return 0;
    }
    api_job *j = api_job_new(API_JOB_GENERATE);
    if (!j) abort();
    api_generate_req g;
    pp_status gst = api_generate_parse(req, &g, &err);
    check_err(gst, &err);
    fuzz_touch(g.prompt), fuzz_touch(g.system), fuzz_touch(g.tmpl), fuzz_touch(g.suffix);
    api_common_req c = {.stream = true};
    pp_status st = api_common_parse(req, &c, j, &err);
    check_err(st, &err);
    if (st == PP_OK) {
        if (!c.name || !*c.name) abort();
        fuzz_touch(c.name);
    }
    if (gst == PP_OK && g.has_ctx) {
        st = api_context_parse(g.ctx, j, &err);
        check_err(st, &err);
        if (st == PP_OK) for (size_t i = 0; i < j->n_ctx_in; i++) if (j->ctx_in[i] < 0) abort();
    }
    st = api_parse_messages(json_object_get(req, "messages"), j, &err);
    check_err(st, &err);
    if (st == PP_OK)
        for (size_t i = 0; i < j->n_msgs; i++) fuzz_touch(j->msgs[i].role), fuzz_touch(j->msgs[i].content);
    engine_options o = engine_default_options();
    check_err(api_options_apply(&o, json_object_get(req, "options"), &err), &err);
    o = engine_default_options();
    check_err(api_options_apply(&o, req, &err), &err); /* the body itself as an options object */
    api_job_unref_locked(j);
    json_decref(req);
    return 0;
}
