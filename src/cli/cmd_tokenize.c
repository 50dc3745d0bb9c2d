/* cmd_tokenize.c - `pippa tokenize MODEL TEXT [--parse-special] [--no-bos] [--json]`.
 * Prints the ids llama.cpp would produce for TEXT with MODEL's vocabulary (a .gguf path).
 * Without --parse-special, CONTROL token texts stay plain text (USER_DEFINED ones are always
 * split out); --no-bos leaves out the BOS token. Output: one "id<TAB>piece" per line (piece =
 * the stored token text), or with --json {"ids": [...], "pieces": [...]}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf/gguf.h"
#include "../tokenizer/tok.h"
#include "cli.h"

static const char USAGE[] = "usage: pippa tokenize MODEL.gguf TEXT [--parse-special] [--no-bos] [--json]";

int cli_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    bool parse_special = false, add_bos = true, as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--parse-special")) parse_special = true;
        else if (!strcmp(argv[i], "--no-bos")) add_bos = false;
        else if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\n", USAGE);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            cli_error("tokenize: unknown option '%s'\n%s", argv[i], USAGE);
            return 2;
        } else if (!model) model = argv[i];
        else if (!text) text = argv[i];
        else {
            cli_error("tokenize: unexpected argument '%s'\n%s", argv[i], USAGE);
            return 2;
        }
    }
    if (!model || !text) {
        cli_error("tokenize: MODEL and TEXT are required\n%s", USAGE);
        return 2;
    }
    pp_err err = {0};
    gguf_file *f = NULL;
    tok_vocab *v = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = 1;
    if (gguf_open(model, &f, &err) != PP_OK || tok_vocab_init_from_gguf(f, &v, &err) != PP_OK) {
        cli_error("%s", err.msg);
        goto done;
    }
    gguf_close(f);
    f = NULL;
    if (tok_encode_alloc(v, text, strlen(text), add_bos, parse_special, &ids, &n, &err) != PP_OK) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (as_json) {
        json_t *o = json_object(), *ji = json_array(), *jp = json_array();
        for (size_t i = 0; i < n; i++) {
            pp_view t = tok_text(v, ids[i]);
            json_array_append_new(ji, json_integer(ids[i]));
            /* Token texts are bytes; invalid UTF-8 (hostile vocab) is shown as null. */
            json_t *s = json_stringn(t.ptr, t.len);
            json_array_append_new(jp, s ? s : json_null());
        }
        json_object_set_new(o, "ids", ji);
        json_object_set_new(o, "pieces", jp);
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!s) {
            cli_error("tokenize: out of memory");
            goto done;
        }
        printf("%s\n", s);
        free(s);
    } else {
        for (size_t i = 0; i < n; i++) {
            pp_view t = tok_text(v, ids[i]);
            printf("%d\t%.*s\n", ids[i], (int)t.len, t.ptr);
        }
    }
    rc = 0;
done:
    free(ids);
    tok_vocab_free(v);
    gguf_close(f);
    return rc;
}
