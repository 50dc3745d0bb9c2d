/* fuzz_api_openai.c - libFuzzer target for the OpenAI request decoder: the body through the
 * transport's JSON parse, then api_oai_parse as /v1/chat/completions and as /v1/completions
 * run it (model, stream_options, tools, messages or prompt/suffix, the sampling fields
 * mapped onto an Ollama options object), and that options object through the options
 * table as api_job_options applies it. No server; failures must carry a message.
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_api_openai/).
 */
#include "fuzz_util.h"
#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/api_runner.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("PIPPA_LOG", "error", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *req;
    pp_err err = {0};
    if (http_json_parse((const char *)data, size, &req, &err) != PP_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    for (int chat = 0; chat < 2; chat++) {
        api_job *j = api_job_new(chat ? API_JOB_CHAT : API_JOB_GENERATE);
        json_t *opts = json_object();
        if (!j || !opts) abort();
        api_oai_req o;
        err.msg[0] = 0;
        pp_status st = api_oai_parse(req, chat, &o, j, opts, &err);
        if (st == PP_ERR_UNSUPPORTED) {
            if (!o.refused || !o.name || !*o.name) abort();
        } else if (st != PP_OK && st != PP_ERR_NOMEM) {
            if (!err.msg[0]) abort();
        } else if (st == PP_OK) {
            if (!o.name || !*o.name || (chat && !j->n_msgs) || (!chat && !j->prompt)) abort();
            engine_options eo = engine_default_options();
            pp_status ost = api_options_apply(&eo, opts, &err);
            if (ost && !err.msg[0]) abort();
        }
        json_decref(opts);
        api_job_unref_locked(j);
    }
    json_decref(req);
    return 0;
}
