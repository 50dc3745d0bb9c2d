/* fuzz_name.c - libFuzzer target for model names (store_name_parse, store_digest_valid).
 *
 * A name that parses must keep the invariant of store_name.c: every part non-empty, of
 * [A-Za-z0-9_.-] (the host also ':'), not starting with '.' or '-', so no part can be
 * "." or ".." or hold '/' or NUL; its full and display forms must parse back to an equal
 * name. Run: make fuzz (seeds in fuzz/corpus/fuzz_name/).
 */
#include <ctype.h>

#include "fuzz_util.h"
#include "store/store.h"

static void check_part(const char *p, bool host) {
    if (!*p || *p == '.' || *p == '-') abort();
    for (; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-' || (host && *p == ':'))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    if (!text) return 0;
    fuzz_sink += store_digest_valid(text);
    store_name n, back;
    pp_err err = {0};
    if (store_name_parse(text, &n, &err) == PP_OK) {
        check_part(n.host, true);
        check_part(n.ns, false);
        check_part(n.model, false);
        check_part(n.tag, false);
        if (strcmp(n.scheme, "http") && strcmp(n.scheme, "https")) abort();
        char full[1024], disp[1024];
        store_name_full(&n, full, sizeof full);
        store_name_display(&n, disp, sizeof disp);
        if (store_name_parse(full, &back, &err) != PP_OK || !store_name_eq(&n, &back)) abort();
        if (store_name_parse(disp, &back, &err) != PP_OK || !store_name_eq(&n, &back)) abort();
        if (!store_name_eq(&n, &n)) abort();
    } else {
        if (!err.msg[0] || !memchr(err.msg, 0, sizeof err.msg)) abort();
        fuzz_touch(err.msg);
    }
    free(text);
    return 0;
}
