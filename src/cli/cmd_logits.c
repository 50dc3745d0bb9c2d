/* cmd_logits.c - `pippa logits MODEL --prompt TEXT ...`: the raw prompt (no chat template)
 * through the model, printing top-K logits at chosen positions, optionally the whole last
 * vector and N greedy continuation ids. Used by the tests and to debug a model.
 * JSON: {"tokens": [...], "positions": [{"pos": p, "top": [[id, logit], ...]}, ...],
 *        "logits": [...] (--full), "generated": [...] (--generate N)} */
#include "cli.h"
#include "cli_env.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/engine.h"
#include "cli_flags.h"

static const char USAGE[] =
    "usage: pippa logits MODEL.gguf (--prompt TEXT | --tokens ID,ID,...) [--parse-special] [--no-bos] [--top K]\n"
    "                    [--positions last|all|i,j,...] [--full] [--generate N] [--json]\n"
    "                    [--kv f32|f16] [--threads N] [--kernels NAME] [--out FILE.f32]";

/* Top-k of x (k small): ids sorted by logit desc, ties by id asc. */
static void top_k(const float *x, size_t n, int k, int32_t *ids) {
    if (k <= 0) return; /* --top 0: no entries */
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int j = m < k ? m++ : k;
        if (j == k && !(x[i] > x[ids[k - 1]])) continue;
        if (j == k) j = k - 1;
        while (j > 0 && x[i] > x[ids[j - 1]]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = (int32_t)i;
    }
}

typedef struct logits_params {
    const char *path, *prompt, *tokens, *positions, *out_path;
    bool parse_special, no_bos, full, as_json;
    long top_k, generate, threads;
    uint32_t kv_type;
} logits_params;

static logits_params logits_default_params(void) {
    return (logits_params){.positions = "last", .top_k = 10, .kv_type = GGUF_TTYPE_F32};
}

static int flag_kv(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)flag;
    if (!value) return CLI_FLAGS_MISSING;
    if (!strcmp(value, "f32")) *(uint32_t *)dest = GGUF_TTYPE_F32;
    else if (!strcmp(value, "f16")) *(uint32_t *)dest = GGUF_TTYPE_F16;
    else { cli_error("%s: --kv takes f32 or f16, got '%s'", cmd, value); return 2; }
    return 0;
}

static int logits_parse(int argc, char **argv, logits_params *p) {
    const cli_flag flags[] = {
        {"--prompt", NULL, CLI_FLAG_STR, &p->prompt, 0, 0, NULL, "raw prompt text"},
        {"--tokens", NULL, CLI_FLAG_STR, &p->tokens, 0, 0, NULL, "ids, comma-separated"},
        {"--out", NULL, CLI_FLAG_STR, &p->out_path, 0, 0, NULL, "write the selected rows (f32)"},
        {"--parse-special", NULL, CLI_FLAG_BOOL, &p->parse_special, 0, 0, NULL, "special-token text"},
        {"--no-bos", NULL, CLI_FLAG_BOOL, &p->no_bos, 0, 0, NULL, "no BOS"},
        {"--full", NULL, CLI_FLAG_BOOL, &p->full, 0, 0, NULL, "the whole last vector"},
        {"--json", NULL, CLI_FLAG_BOOL, &p->as_json, 0, 0, NULL, "JSON"},
        {"--top", NULL, CLI_FLAG_LONG, &p->top_k, 0, 1000, NULL, "top K per position"},
        {"--generate", NULL, CLI_FLAG_LONG, &p->generate, 0, 100000, NULL, "greedy continuation ids"},
        {"--threads", NULL, CLI_FLAG_LONG, &p->threads, 0, 1024, NULL, "threads"},
        {"--positions", NULL, CLI_FLAG_STR, &p->positions, 0, 0, NULL, "last, all or i,j,..."},
        {"--kv", NULL, CLI_FLAG_FN, &p->kv_type, 0, 0, flag_kv, "KV cache type"},
    };
    cli_args a = {.cmd = "logits", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0],
                  .pos = &p->path, .max_pos = 1};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->path || (!p->prompt) == (!p->tokens)) {
        cli_error("logits: MODEL and one of --prompt or --tokens are required\n%s", USAGE);
        return 2;
    }
    return 0;
}

/* What one run computed: the prompt ids, the positions kept, their logits, the greedy ids. */
typedef struct logits_out {
    int32_t *ids, *gen_ids;
    size_t n, n_sel, n_vocab;
    bool *want;
    float *logits, *step;   /* n_sel * n_vocab; the last row stepped through --generate */
} logits_out;

static void logits_out_free(logits_out *o) {
    free(o->ids);
    free(o->gen_ids);
    free(o->want);
    free(o->logits);
    free(o->step);
}

/* "2,651,17" -> ids in [0, V). */
static int parse_ids(const char *arg, size_t V, logits_out *o) {
    size_t cap = 1;
    for (const char *q = arg; *q; q++) cap += *q == ',';
    o->ids = malloc(cap * sizeof *o->ids);
    if (!o->ids) return -1;
    for (const char *q = arg; *q;) {
        char *end = NULL;
        long v = strtol(q, &end, 10);
        if (end == q || v < 0 || (size_t)v >= V || (*end && *end != ',')) {
            cli_error("logits: --tokens: '%s' is not a list of ids in [0, %zu)", arg, V);
            return 2;
        }
        o->ids[o->n++] = (int32_t)v;
        q = *end ? end + 1 : end;
    }
    return 0;
}

/* --positions into o->want (the last one is added for --full and --generate). */
static int select_positions(const logits_params *p, logits_out *o) {
    size_t n = o->n;
    o->want = calloc(n, sizeof *o->want);
    if (!o->want) return -1;
    if (!strcmp(p->positions, "last")) o->want[n - 1] = true;
    else if (!strcmp(p->positions, "all")) for (size_t i = 0; i < n; i++) o->want[i] = true;
    else {
        for (const char *q = p->positions; *q;) {
            char *end = NULL;
            long v = strtol(q, &end, 10);
            if (end == q || v < 0 || (size_t)v >= n || (*end && *end != ',')) {
                cli_error("logits: --positions: '%s' is not 'last', 'all' or a list of positions in [0, %zu)",
                          p->positions, n);
                return 2;
            }
            o->want[v] = true;
            q = *end ? end + 1 : end;
        }
    }
    if (p->full || p->generate) o->want[n - 1] = true;
    for (size_t i = 0; i < n; i++) o->n_sel += o->want[i];
    return 0;
}

/* Evaluates the prompt and the greedy continuation. 0, 1 or 2 (a message was printed), or
 * -1 for out of memory. */
static int logits_compute(const logits_params *p, const engine_model *em, model_ctx **c, logits_out *o) {
    const model *m = engine_model_get(em);
    const size_t V = o->n_vocab = model_get_hparams(m)->n_vocab;
    pp_err err = {0};
    int rc;
    if (p->tokens) { /* explicit ids, e.g. from a reference implementation */
        if ((rc = parse_ids(p->tokens, V, o))) return rc;
    } else if (tok_encode_alloc(engine_model_vocab(em), p->prompt, strlen(p->prompt), !p->no_bos, p->parse_special,
                                &o->ids, &o->n, &err)) {
        cli_error("%s", err.msg);
        return 1;
    }
    if (o->n == 0) { cli_error("logits: the prompt has no tokens"); return 1; }
    if ((rc = select_positions(p, o))) return rc;
    model_ctx_params cp = model_ctx_default_params();
    cp.no_fuse = cli_model_params().no_fuse;
    cp.n_ctx = (uint32_t)(o->n + (size_t)p->generate + 1);
    cp.n_batch = cp.n_ctx < 512 ? cp.n_ctx : 512;
    cp.n_threads = (int)p->threads;
    cp.kv_type = p->kv_type;
    if (model_ctx_init(m, cp, c, &err) != PP_OK) { cli_error("%s", err.msg); return 1; }
    o->logits = malloc(o->n_sel * V * sizeof *o->logits);
    o->step = malloc(V * sizeof *o->step);
    o->gen_ids = malloc(((size_t)p->generate + 1) * sizeof *o->gen_ids);
    if (!o->logits || !o->step || !o->gen_ids) return -1;
    if (model_ctx_eval(*c, o->ids, (uint32_t)o->n, o->want, o->logits, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    memcpy(o->step, o->logits + (o->n_sel - 1) * V, V * sizeof *o->step);
    for (long g = 0; g < p->generate; g++) {
        int32_t best = 0;
        for (size_t i = 1; i < V; i++)
            if (o->step[i] > o->step[best]) best = (int32_t)i;
        o->gen_ids[g] = best;
        if (g + 1 < p->generate && model_ctx_eval(*c, &best, 1, NULL, o->step, &err) != PP_OK) {
            cli_error("%s", err.msg);
            return 1;
        }
    }
    return 0;
}

/* The JSON form (file comment); -1 for out of memory. */
static int print_json(const logits_params *p, const logits_out *o, int k) {
    const size_t V = o->n_vocab;
    const float *last = o->logits + (o->n_sel - 1) * V;
    int32_t tk[1000];
    json_t *root = json_object(), *jt = json_array(), *jp = json_array();
    for (size_t i = 0; i < o->n; i++) json_array_append_new(jt, json_integer(o->ids[i]));
    json_object_set_new(root, "tokens", jt);
    size_t sel = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (!o->want[i]) continue;
        const float *l = o->logits + sel++ * V;
        top_k(l, V, k, tk);
        json_t *e = json_object(), *top = json_array();
        json_object_set_new(e, "pos", json_integer((json_int_t)i));
        for (int j = 0; j < k; j++) {
            json_t *pair = json_array();
            json_array_append_new(pair, json_integer(tk[j]));
            json_array_append_new(pair, json_real(l[tk[j]]));
            json_array_append_new(top, pair);
        }
        json_object_set_new(e, "top", top);
        json_array_append_new(jp, e);
    }
    json_object_set_new(root, "positions", jp);
    if (p->full) {
        json_t *jl = json_array();
        for (size_t i = 0; i < V; i++) json_array_append_new(jl, json_real(last[i]));
        json_object_set_new(root, "logits", jl);
    }
    if (p->generate) {
        json_t *jg = json_array();
        for (long g = 0; g < p->generate; g++) json_array_append_new(jg, json_integer(o->gen_ids[g]));
        json_object_set_new(root, "generated", jg);
    }
    int rc = json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0 ? -1 : 0;
    if (!rc) putchar('\n');
    json_decref(root);
    return rc;
}

static void print_text(const logits_params *p, const logits_out *o, int k) {
    const size_t V = o->n_vocab;
    const float *last = o->logits + (o->n_sel - 1) * V;
    int32_t tk[1000];
    printf("tokens:");
    for (size_t i = 0; i < o->n; i++) printf(" %d", o->ids[i]);
    printf("\n");
    size_t sel = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (!o->want[i]) continue;
        const float *l = o->logits + sel++ * V;
        top_k(l, V, k, tk);
        printf("pos %zu:", i);
        for (int j = 0; j < k; j++) printf(" %d:%.4f", tk[j], l[tk[j]]);
        printf("\n");
    }
    if (p->full) {
        printf("logits:");
        for (size_t i = 0; i < V; i++) printf(" %.9g", last[i]);
        printf("\n");
    }
    if (p->generate) {
        printf("generated:");
        for (long g = 0; g < p->generate; g++) printf(" %d", o->gen_ids[g]);
        printf("\n");
    }
}

static int logits_run(const logits_params *p) {
    pp_err err = {0};
    engine_model *em = NULL;
    model_ctx *c = NULL;
    logits_out o = {0};
    int rc = 1;
    if (engine_model_load(p->path, cli_model_params(), &em, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    if ((rc = logits_compute(p, em, &c, &o))) goto done;
    rc = 1;
    if (p->out_path) { /* selected positions' logits, rows of n_vocab little-endian f32 */
        FILE *of = fopen(p->out_path, "wb");
        if (!of || fwrite(o.logits, sizeof(float) * o.n_vocab, o.n_sel, of) != o.n_sel || fclose(of) != 0) {
            cli_error("logits: %s: cannot write", p->out_path);
            goto done;
        }
    }
    int k = (int)(p->top_k < (long)o.n_vocab ? p->top_k : (long)o.n_vocab);
    if (p->as_json) rc = print_json(p, &o, k);
    else {
        print_text(p, &o, k);
        rc = 0;
    }
done:
    if (rc < 0) {
        cli_error("logits: out of memory");
        rc = 1;
    }
    logits_out_free(&o);
    model_ctx_free(c);
    engine_model_free(em);
    return rc;
}

int cli_cmd_logits(int argc, char **argv) {
    logits_params p = logits_default_params();
    int rc = logits_parse(argc, argv, &p);
    if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
    return logits_run(&p);
}
