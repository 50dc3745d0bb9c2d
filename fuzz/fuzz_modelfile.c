/* fuzz_modelfile.c - libFuzzer target for the Modelfile parser (store_modelfile_parse) with
 * the engine's options table (catalog_param_lookup), and the params and messages layers
 * built from what it parsed (store_params_json, store_messages_json, which must be JSON).
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_modelfile/).
 */
#include <jansson.h>

#include "catalog/catalog.h"
#include "fuzz_util.h"
#include "store/store.h"

static void must_be_json(const char *s, size_t n) {
    json_error_t je;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!v) abort();
    json_decref(v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    setenv("PIPPA_LOG", "error", 0); /* deprecated/unknown names warn on every run */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    store_modelfile mf;
    pp_err err = {0};
    if (store_modelfile_parse((const char *)data, size, "Modelfile", catalog_param_lookup, &mf, &err) != PP_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    fuzz_touch(mf.from);
    fuzz_touch(mf.tmpl);
    fuzz_touch(mf.system);
    fuzz_touch(mf.requires);
    fuzz_touch(mf.warnings);
    for (size_t i = 0; i < mf.n_params; i++) fuzz_touch(mf.params[i].key), fuzz_touch(mf.params[i].value);
    for (size_t i = 0; i < mf.n_messages; i++) fuzz_touch(mf.messages[i].key), fuzz_touch(mf.messages[i].value);
    for (size_t i = 0; i < mf.n_licenses; i++) fuzz_touch(mf.licenses[i]);
    char *out;
    size_t len;
    if (store_params_json(catalog_param_lookup, mf.params, mf.n_params, &out, &len, &err) == PP_OK) {
        must_be_json(out, len);
        char *merged;
        size_t mlen;
        if (store_params_json_merge(catalog_param_lookup, out, mf.params, mf.n_params, &merged, &mlen, &err) ==
            PP_OK) {
            must_be_json(merged, mlen);
            free(merged);
        }
        free(out);
    }
    if (store_messages_json(mf.messages, mf.n_messages, &out, &len, &err) == PP_OK) {
        must_be_json(out, len);
        free(out);
    }
    store_modelfile_free(&mf);
    return 0;
}
