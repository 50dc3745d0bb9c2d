/* fuzz_manifest.c - libFuzzer target for the manifest parser (store_manifest_parse): a
 * manifest that parses has only valid digests (they become blob paths), bounded media
 * types and at most STORE_LAYERS_MAX layers; its raw bytes and id are the input's.
 * Run: make fuzz (seeds in fuzz/corpus/fuzz_manifest/).
 */
#include "fuzz_util.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    store_manifest m;
    pp_err err = {0};
    if (store_manifest_parse((const char *)data, size, "fuzz", &m, &err) != PP_OK) {
        if (!err.msg[0]) abort();
        return 0;
    }
    if (m.n_layers > STORE_LAYERS_MAX) abort();
    if (m.config.digest[0] && !store_digest_valid(m.config.digest)) abort();
    for (size_t i = 0; i < m.n_layers; i++) {
        if (!store_digest_valid(m.layers[i].digest)) abort();
        if (!memchr(m.layers[i].media_type, 0, sizeof m.layers[i].media_type)) abort();
        fuzz_touch(m.layers[i].media_type);
        fuzz_sink += m.layers[i].size;
    }
    if (m.raw_len != size || memcmp(m.raw, data, size)) abort();
    char hex[65];
    if (store_sha256_mem(data, size, hex, &err) == PP_OK && strcmp(hex, m.id)) abort();
    store_manifest_free(&m);
    return 0;
}
