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
#include "cli_flags.h"

static const char USAGE[] = "usage: pippa tokenize MODEL.gguf TEXT [--parse-special] [--no-bos] [--json]";

typedef struct tokenize_params {
    const char *pos[2];      /* MODEL, TEXT */
    bool parse_special, no_bos, as_json;
} tokenize_params;

/* TEXT may start with '-' ("-5"): only "--x" words are flags. */
static int tokenize_parse(int argc, char **argv, tokenize_params *p) {
    const cli_flag flags[] = {
        {"--parse-special", NULL, CLI_FLAG_BOOL, &p->parse_special, 0, 0, NULL, "special-token text"},
        {"--no-bos", NULL, CLI_FLAG_BOOL, &p->no_bos, 0, 0, NULL, "no BOS"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON"},
    };
    cli_args a = {.cmd = "tokenize", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = p->pos, .max_pos = 2, .unknown = "unknown option '%s'\n%s", .dash = CLI_DASH_DOUBLE};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->pos[0] || !p->pos[1]) {
        cli_error("tokenize: MODEL and TEXT are required\n%s", USAGE);
        return 2;
    }
    return 0;
}

int cli_cmd_tokenize(int argc, char **argv) {
    tokenize_params p = {0};
    int rc = tokenize_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    const char *model = p.pos[0], *text = p.pos[1];
    bool parse_special = p.parse_special, add_bos = !p.no_bos, as_json = p.as_json;
    pp_err err = {0};
    gguf_file *f = NULL;
    tok_vocab *v = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    rc = 1;
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
