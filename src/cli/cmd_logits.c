/* cmd_logits.c - `pippa logits MODEL --prompt TEXT ...`: the raw prompt (no chat template)
 * through the model, printing top-K logits at chosen positions, optionally the whole last
 * vector and N greedy continuation ids. Used by the tests and to debug a model.
 * JSON: {"tokens": [...], "positions": [{"pos": p, "top": [[id, logit], ...]}, ...],
 *        "logits": [...] (--full), "generated": [...] (--generate N)} */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/engine.h"

static const char USAGE[] =
    "usage: pippa logits MODEL.gguf (--prompt TEXT | --tokens ID,ID,...) [--parse-special] [--no-bos] [--top K]\n"
    "                    [--positions last|all|i,j,...] [--full] [--generate N] [--json]\n"
    "                    [--kv f32|f16] [--threads N] [--kernels generic] [--out FILE.f32]";

static int parse_uint(const char *what, const char *s, long max, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > max) {
        cli_error("logits: %s: expected an integer in [0, %ld], got '%s'", what, max, s);
        return 2;
    }
    *out = v;
    return 0;
}

/* Top-k of x (k small): ids sorted by logit desc, ties by id asc. */
static void top_k(const float *x, size_t n, int k, int32_t *ids) {
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

int cli_cmd_logits(int argc, char **argv) {
    const char *path = NULL, *prompt = NULL, *positions = "last", *out_path = NULL, *tokens_arg = NULL;
    bool parse_special = false, add_bos = true, full = false, as_json = false;
    long topk = 10, gen = 0, threads = 0;
    uint32_t kv = GGUF_TTYPE_F32;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--prompt") && has) prompt = argv[++i];
        else if (!strcmp(a, "--tokens") && has) tokens_arg = argv[++i];
        else if (!strcmp(a, "--out") && has) out_path = argv[++i];
        else if (!strcmp(a, "--parse-special")) parse_special = true;
        else if (!strcmp(a, "--no-bos")) add_bos = false;
        else if (!strcmp(a, "--full")) full = true;
        else if (!strcmp(a, "--json")) as_json = true;
        else if (!strcmp(a, "--top") && has) { if ((rc = parse_uint("--top", argv[++i], 1000, &topk))) return rc; }
        else if (!strcmp(a, "--generate") && has) { if ((rc = parse_uint("--generate", argv[++i], 100000, &gen))) return rc; }
        else if (!strcmp(a, "--threads") && has) { if ((rc = parse_uint("--threads", argv[++i], 1024, &threads))) return rc; }
        else if (!strcmp(a, "--positions") && has) positions = argv[++i];
        else if (!strcmp(a, "--kv") && has) {
            const char *k = argv[++i];
            if (!strcmp(k, "f32")) kv = GGUF_TTYPE_F32;
            else if (!strcmp(k, "f16")) kv = GGUF_TTYPE_F16;
            else { cli_error("logits: --kv takes f32 or f16, got '%s'", k); return 2; }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { puts(USAGE); return 0; }
        else if (a[0] == '-') { cli_error("logits: unknown or incomplete option '%s'\n%s", a, USAGE); return 2; }
        else if (!path) path = a;
        else { cli_error("logits: unexpected argument '%s'\n%s", a, USAGE); return 2; }
    }
    if (!path || (!prompt) == (!tokens_arg)) {
        cli_error("logits: MODEL and one of --prompt or --tokens are required\n%s", USAGE);
        return 2;
    }

    pp_err err = {0};
    engine_model *em = NULL;
    model_ctx *c = NULL;
    int32_t *ids = NULL, *gen_ids = NULL;
    bool *want = NULL;
    float *logits = NULL, *step = NULL;
    json_t *root = NULL;
    size_t n = 0;
    rc = 1;
    if (engine_model_load(path, &em, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    const model *m = engine_model_get(em);
    const size_t V = model_get_hparams(m)->n_vocab;
    if (tokens_arg) {
        /* explicit ids, e.g. from a reference implementation: "2,651,17" */
        size_t cap = 1;
        for (const char *p = tokens_arg; *p; p++) cap += *p == ',';
        ids = malloc(cap * sizeof *ids);
        if (!ids) goto oom;
        const char *p = tokens_arg;
        while (*p) {
            char *end = NULL;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || (size_t)v >= V || (*end && *end != ',')) {
                cli_error("logits: --tokens: '%s' is not a list of ids in [0, %zu)", tokens_arg, V);
                rc = 2;
                goto done;
            }
            ids[n++] = (int32_t)v;
            p = *end ? end + 1 : end;
        }
    } else if (tok_encode_alloc(engine_model_vocab(em), prompt, strlen(prompt), add_bos, parse_special, &ids, &n,
                                &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (n == 0) { cli_error("logits: the prompt has no tokens"); goto done; }
    want = calloc(n, sizeof *want);
    if (!want) goto oom;
    size_t n_sel = 0;
    if (!strcmp(positions, "last")) want[n - 1] = true;
    else if (!strcmp(positions, "all")) for (size_t i = 0; i < n; i++) want[i] = true;
    else {
        const char *p = positions;
        while (*p) {
            char *end = NULL;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || (size_t)v >= n || (*end && *end != ',')) {
                cli_error("logits: --positions: '%s' is not 'last', 'all' or a list of positions in [0, %zu)", positions, n);
                rc = 2;
                goto done;
            }
            want[v] = true;
            p = *end ? end + 1 : end;
        }
    }
    for (size_t i = 0; i < n; i++) n_sel += want[i];
    bool need_last = full || gen;
    if (need_last && !want[n - 1]) { want[n - 1] = true; n_sel++; }
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = (uint32_t)(n + (size_t)gen + 1);
    cp.n_batch = cp.n_ctx < 512 ? cp.n_ctx : 512;
    cp.n_threads = (int)threads;
    cp.kv_type = kv;
    if (model_ctx_init(m, cp, &c, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    logits = malloc(n_sel * V * sizeof *logits);
    step = malloc(V * sizeof *step);
    gen_ids = malloc(((size_t)gen + 1) * sizeof *gen_ids);
    if (!logits || !step || !gen_ids) goto oom;
    if (model_ctx_eval(c, ids, (uint32_t)n, want, logits, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    const float *last = logits + (n_sel - 1) * V;
    memcpy(step, last, V * sizeof *step);
    for (long g = 0; g < gen; g++) {
        int32_t best = 0;
        for (size_t i = 1; i < V; i++)
            if (step[i] > step[best]) best = (int32_t)i;
        gen_ids[g] = best;
        if (g + 1 < gen && model_ctx_eval(c, &best, 1, NULL, step, &err) != PP_OK) { cli_error("%s", err.msg); goto done; }
    }
    if (out_path) { /* selected positions' logits, rows of n_vocab little-endian f32 */
        FILE *of = fopen(out_path, "wb");
        if (!of || fwrite(logits, sizeof(float) * V, n_sel, of) != n_sel || fclose(of) != 0) {
            cli_error("logits: %s: cannot write", out_path);
            goto done;
        }
    }
    int32_t tk[1000];
    int k = (int)(topk < (long)V ? topk : (long)V);
    if (as_json) {
        root = json_object();
        json_t *jt = json_array(), *jp = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(jt, json_integer(ids[i]));
        json_object_set_new(root, "tokens", jt);
        size_t sel = 0;
        for (size_t i = 0; i < n; i++) {
            if (!want[i]) continue;
            const float *l = logits + sel++ * V;
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
        if (full) {
            json_t *jl = json_array();
            for (size_t i = 0; i < V; i++) json_array_append_new(jl, json_real(last[i]));
            json_object_set_new(root, "logits", jl);
        }
        if (gen) {
            json_t *jg = json_array();
            for (long g = 0; g < gen; g++) json_array_append_new(jg, json_integer(gen_ids[g]));
            json_object_set_new(root, "generated", jg);
        }
        if (json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0) goto oom;
        putchar('\n');
    } else {
        printf("tokens:");
        for (size_t i = 0; i < n; i++) printf(" %d", ids[i]);
        printf("\n");
        size_t sel = 0;
        for (size_t i = 0; i < n; i++) {
            if (!want[i]) continue;
            const float *l = logits + sel++ * V;
            top_k(l, V, k, tk);
            printf("pos %zu:", i);
            for (int j = 0; j < k; j++) printf(" %d:%.4f", tk[j], l[tk[j]]);
            printf("\n");
        }
        if (full) {
            printf("logits:");
            for (size_t i = 0; i < V; i++) printf(" %.9g", last[i]);
            printf("\n");
        }
        if (gen) {
            printf("generated:");
            for (long g = 0; g < gen; g++) printf(" %d", gen_ids[g]);
            printf("\n");
        }
    }
    rc = 0;
    goto done;
oom:
    cli_error("logits: out of memory");
done:
    json_decref(root);
    free(ids);
    free(want);
    free(logits);
    free(step);
    free(gen_ids);
    model_ctx_free(c);
    engine_model_free(em);
    return rc;
}
