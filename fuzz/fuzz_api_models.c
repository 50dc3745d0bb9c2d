/* fuzz_api_models.c - libFuzzer target for the model-management request fields: the body
 * through the transport's JSON parse, then what /api/show, /api/delete, /api/pull (model or
 * name, verbose, stream, insecure, the name normalized and parsed), /api/copy (source,
 * destination) and /api/create (api_create_parse: field types, the name, quantize, the
 * parameters through the options table) read before touching the store. No server or store.
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_api_models/).
 */
#include "fuzz_util.h"
#include "server/api_handlers.h"
#include "server/api_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("PIPPA_LOG", "error", 0);
    return 0;
}

static void check(pp_status st, const pp_err *err) {
    if (st != PP_OK && st != PP_ERR_NOMEM && (!err->msg[0] || !memchr(err->msg, 0, sizeof err->msg))) abort();
}

static void name_checks(const char *name) {
    if (!name) return;
    char norm[API_NAME_MAX];
    pp_err err = {0};
    check(api_name_normalize(name, norm, sizeof norm, &err), &err);
    store_name sn;
    check(store_name_parse(name, &sn, &err), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *req;
    pp_err err = {0};
    if (http_json_parse((const char *)data, size, &req, &err) != PP_OK) {
        check(PP_ERR_ARG, &err);
        return 0;
    }
    const char *name = NULL, *src = NULL, *dst = NULL;
    bool b = false;
    pp_status st = api_model_field(req, &name, &err);
    check(st, &err);
    if (st == PP_OK) name_checks(name);
    check(api_field_bool(req, "verbose", &b, &err), &err);
    check(api_field_bool(req, "insecure", &b, &err), &err);
    check(api_field_bool(req, "stream", &b, &err), &err);
    st = api_field_string(req, "source", &src, &err);
    check(st, &err);
    if (st == PP_OK) name_checks(src);
    st = api_field_string(req, "destination", &dst, &err);
    check(st, &err);
    if (st == PP_OK) name_checks(dst);
    api_create_req c = {.stream = true};
    st = api_create_parse(req, &c, &err);
    check(st, &err);
    if (st == PP_OK) {
        if (!c.name || !*c.name) abort();
        fuzz_touch(c.sn.model);
        fuzz_touch(c.from), fuzz_touch(c.system), fuzz_touch(c.tmpl);
    }
    json_decref(req);
    return 0;
}
