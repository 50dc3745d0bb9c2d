/* test_model.c - the Gemma 3 forward pass against llama.cpp's own outputs on the fixture
 * models (fixtures/llamacpp-ref.json: logits at every 16th prompt position and the last,
 * greedy continuations with their top-5 logits), with the tolerances of fixtures/README §7;
 * thread-count determinism; KV-cache roll-back; load errors. */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

static json_t *ref;

static json_t *load_ref(void) {
    if (ref) return ref;
    const char *fx = t_fixtures_dir();
    if (!fx) return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/llamacpp-ref.json", fx);
    json_error_t je;
    ref = json_load_file(path, 0, &je);
    return ref;
}

typedef struct tol { double max, rms; } tol;

static tol tolerance_for(const char *name, bool exact) {
    if (!strcmp(name, "fx.f32")) return exact ? (tol){0.01, 0.002} : (tol){0.03, 0.005};
    if (!strcmp(name, "fx.F16")) return (tol){0.03, 0.005};
    if (!strcmp(name, "fx.BF16")) return (tol){0.1, 0.02};
    return (tol){0.6, 0.1};
}

/* Decodes last_logits or last_logits_f32le_b64 into out (n floats). */
static bool ref_last_logits(json_t *run, float *out, size_t n) {
    json_t *a = json_object_get(run, "last_logits");
    if (a && json_array_size(a) == n) {
        for (size_t i = 0; i < n; i++) out[i] = (float)json_number_value(json_array_get(a, i));
        return true;
    }
    json_t *b = json_object_get(run, "last_logits_f32le_b64");
    if (!b) return false;
    const char *s = json_string_value(b);
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t *bytes = (uint8_t *)out;
    size_t nb = 0, cap = n * 4;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(tbl, *s);
        if (!p) continue;
        acc = acc << 6 | (uint32_t)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (nb < cap) bytes[nb++] = (uint8_t)(acc >> bits);
        }
    }
    return nb == cap;
}

static void diff_stats(const float *a, const float *b, size_t n, double *mx, double *sumsq) {
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > *mx) *mx = d;
        *sumsq += d * d;
    }
}

static int argmax(const float *x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int)best;
}

/* Runs one model on every prompt with the given KV type and compares with the setting. */
static void check_model(const char *name, uint32_t kv_type, int n_threads) {
    json_t *r = load_ref();
    const char *fx = t_fixtures_dir();
    bool exact = kv_type == GGUF_TTYPE_F32;
    const char *setting = exact ? "exact" : "default";
    json_t *mj = json_object_get(json_object_get(r, "models"), name);
    T_CHECK_MSG(mj != NULL, "%s missing from llamacpp-ref.json", name);
    if (!mj) return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", fx, name);
    model *m = NULL;
    pp_err err = {0};
    T_CHECK_MSG(model_load(path, model_load_default_params(), &m, &err) == PP_OK, "%s", err.msg);
    if (!m) return;
    const model_hparams *hp = model_get_hparams(m);
    size_t V = hp->n_vocab;
    tol tl = tolerance_for(name, exact);
    const char *prompts[] = {"a", "b", "c"};
    float *refl = malloc(V * sizeof(float));
    for (int pi = 0; pi < 3; pi++) {
        json_t *ids = json_object_get(json_object_get(r, "prompt_ids"), prompts[pi]);
        json_t *run = json_object_get(json_object_get(json_object_get(mj, "runs"), prompts[pi]), setting);
        size_t n = json_array_size(ids);
        int32_t *tok = malloc((n + 40) * sizeof *tok);
        bool *want = malloc(n * sizeof *want);
        for (size_t i = 0; i < n; i++) {
            tok[i] = (int32_t)json_integer_value(json_array_get(ids, i));
            want[i] = true;
        }
        model_ctx_params cp = model_ctx_default_params();
        cp.n_ctx = (uint32_t)n + 48;
        cp.n_batch = (uint32_t)n + 48;
        cp.n_threads = n_threads;
        cp.kv_type = kv_type;
        model_ctx *c = NULL;
        T_CHECK_MSG(model_ctx_init(m, cp, &c, &err) == PP_OK, "%s", err.msg);
        float *logits = malloc(n * V * sizeof(float));
        T_CHECK_MSG(model_ctx_eval(c, tok, (uint32_t)n, want, logits, &err) == PP_OK, "%s", err.msg);
        /* all logits at the last prompt position */
        double mx = 0, ss = 0;
        T_CHECK(ref_last_logits(run, refl, V));
        diff_stats(logits + (n - 1) * V, refl, V, &mx, &ss);
        double rms = sqrt(ss / (double)V);
        T_CHECK_MSG(mx <= tl.max && rms <= tl.rms, "%s %s prompt %s last position: max %.4f rms %.5f (tolerance %.3f / %.4f)",
                    name, setting, prompts[pi], mx, rms, tl.max, tl.rms);
        /* top-10 at every 16th position: the reference ids' logits */
        json_t *top10 = json_object_get(run, "top10");
        double tmx = 0;
        for (size_t e = 0; e < json_array_size(top10); e++) {
            json_t *ent = json_array_get(top10, e);
            size_t pos = (size_t)json_integer_value(json_object_get(ent, "pos"));
            json_t *tid = json_object_get(ent, "ids"), *tlg = json_object_get(ent, "logits");
            if (pos >= n) continue;
            T_CHECK_MSG(argmax(logits + pos * V, V) == (int)json_integer_value(json_array_get(tid, 0)),
                        "%s prompt %s pos %zu: top-1 differs", name, prompts[pi], pos);
            for (size_t k = 0; k < json_array_size(tid); k++) {
                size_t id = (size_t)json_integer_value(json_array_get(tid, k));
                double d = fabs(logits[pos * V + id] - json_number_value(json_array_get(tlg, k)));
                if (d > tmx) tmx = d;
            }
        }
        T_CHECK_MSG(tmx <= tl.max, "%s %s prompt %s: top-10 logits differ by %.4f", name, setting, prompts[pi], tmx);
        /* greedy continuation, one token at a time */
        json_t *greedy = json_object_get(run, "greedy"), *g5 = json_object_get(run, "greedy_top5_logits");
        json_t *g5i = json_object_get(run, "greedy_top5_ids");
        float *cur = logits + (n - 1) * V;
        float *step = malloc(V * sizeof(float));
        int mismatches = 0;
        double gmx = 0;
        for (size_t g = 0; g < json_array_size(greedy); g++) {
            int want_id = (int)json_integer_value(json_array_get(greedy, g));
            int got = argmax(cur, V);
            if (got != want_id) mismatches++;
            json_t *ids5 = json_array_get(g5i, g), *lg5 = json_array_get(g5, g);
            for (size_t k = 0; k < json_array_size(ids5); k++) {
                size_t id = (size_t)json_integer_value(json_array_get(ids5, k));
                double d = fabs(cur[id] - json_number_value(json_array_get(lg5, k)));
                if (d > gmx) gmx = d;
            }
            int32_t next = want_id;
            if (model_ctx_eval(c, &next, 1, NULL, step, &err) != PP_OK) {
                T_CHECK_MSG(0, "%s", err.msg);
                break;
            }
            cur = step;
        }
        T_CHECK_MSG(mismatches == 0, "%s prompt %s: %d greedy tokens differ", name, prompts[pi], mismatches);
        T_CHECK_MSG(gmx <= tl.max, "%s %s prompt %s: greedy top-5 logits differ by %.4f", name, setting, prompts[pi], gmx);
        if (pi == 1) printf("     %-14s %-7s max %.4f rms %.5f top10 %.4f greedy %.4f\n", name, setting, mx, rms, tmx, gmx);
        free(step);
        free(logits);
        free(want);
        free(tok);
        model_ctx_free(c);
    }
    free(refl);
    model_free(m);
}

static const char *const MODELS[] = {"fx.f32", "fx.F16", "fx.BF16", "fx.Q8_0", "fx.Q6_K", "fx.Q5_K_M", "fx.Q5_1",
                                     "fx.Q5_0", "fx.Q4_K_M", "fx.Q4_K_S", "fx.Q4_1", "fx.Q4_0", "fx.qat-q4_0",
                                     "fx.Q3_K_M", "fx.Q2_K"};

static void test_fixtures_exact(void) {
    if (!load_ref()) { t_skip("../shared/fixtures not found"); return; }
    for (size_t i = 0; i < sizeof MODELS / sizeof MODELS[0]; i++) check_model(MODELS[i], GGUF_TTYPE_F32, 2);
}

static void test_fixtures_default_f16_kv(void) {
    if (!load_ref()) { t_skip("../shared/fixtures not found"); return; }
    const char *some[] = {"fx.f32", "fx.F16", "fx.Q4_0", "fx.Q4_K_M"};
    for (size_t i = 0; i < 4; i++) check_model(some[i], GGUF_TTYPE_F16, 2);
}

/* Same logits at 1, 2 and 3 threads, bit for bit (fixed reduction order). */
/* The fused gate/up/GELU kernel (AVX-512 Q4_0/Q5_0/Q8_0) gives the same logits, bit for bit,
 * as separate matmuls and GELU (model_ctx_params.no_fuse), for a prompt and a decode step. */
static void test_fused_ffn(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) { t_skip("../shared/fixtures not found"); return; }
    const char *names[] = {"fx.Q4_0", "fx.Q8_0", "fx.Q5_0"};
    for (int mi = 0; mi < 3; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.gguf", fx, names[mi]);
        model *m = NULL;
        pp_err err = {0};
        if (model_load(path, model_load_default_params(), &m, &err) != PP_OK) { T_CHECK_MSG(0, "%s", err.msg); return; }
        const size_t V = model_get_hparams(m)->n_vocab;
        int32_t tok[40];
        for (int i = 0; i < 40; i++) tok[i] = 300 + (i * 53) % 4000;
        float *l[2];
        for (int nf = 0; nf < 2; nf++) {
            model_ctx_params cp = model_ctx_default_params();
            cp.n_ctx = 64;
            cp.n_threads = 2;
            cp.no_fuse = nf;
            model_ctx *c = NULL;
            T_CHECK(model_ctx_init(m, cp, &c, &err) == PP_OK);
            l[nf] = malloc(2 * V * sizeof(float));
            T_CHECK(model_ctx_eval(c, tok, 40, NULL, l[nf], &err) == PP_OK);
            int32_t one = 777;
            T_CHECK(model_ctx_eval(c, &one, 1, NULL, l[nf] + V, &err) == PP_OK);
            model_ctx_free(c);
        }
        T_CHECK_MSG(!memcmp(l[0], l[1], 2 * V * sizeof(float)), "%s: fused FFN logits differ from unfused", names[mi]);
        free(l[0]), free(l[1]);
        model_free(m);
    }
}

/* model_load_params.no_repack keeps every weight in the file's layout: nothing packed, and
 * the logits those kernels give stay within rounding of the packed ones. */
static void test_no_repack(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) { t_skip("../shared/fixtures not found"); return; }
    char path[512];
    snprintf(path, sizeof path, "%s/fx.Q4_0.gguf", fx);
    const bool can_pack = kern_traits(GGUF_TTYPE_Q4_0)->pack != NULL;
    float *l[2] = {NULL, NULL};
    size_t V = 0;
    for (int nr = 0; nr < 2; nr++) {
        model_load_params lp = model_load_default_params();
        lp.no_repack = nr;
        model *m = NULL;
        pp_err err = {0};
        if (model_load(path, lp, &m, &err) != PP_OK) { T_CHECK_MSG(0, "%s", err.msg); return; }
        T_CHECK_MSG((model_packed_bytes(m) > 0) == (can_pack && !nr), "no_repack %d: %llu packed bytes", nr,
                    (unsigned long long)model_packed_bytes(m));
        V = model_get_hparams(m)->n_vocab;
        int32_t tok[20];
        for (int i = 0; i < 20; i++) tok[i] = 400 + i * 31;
        model_ctx_params cp = model_ctx_default_params();
        cp.n_ctx = 32;
        model_ctx *c = NULL;
        T_CHECK(model_ctx_init(m, cp, &c, &err) == PP_OK);
        l[nr] = malloc(V * sizeof(float));
        T_CHECK(model_ctx_eval(c, tok, 20, NULL, l[nr], &err) == PP_OK);
        model_ctx_free(c);
        model_free(m);
    }
    double mx = 0, ss = 0;
    diff_stats(l[0], l[1], V, &mx, &ss);
    T_CHECK_MSG(mx < 1e-3, "packed and unpacked logits differ by %g", mx);
    free(l[0]), free(l[1]);
}

static void test_thread_determinism(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) { t_skip("../shared/fixtures not found"); return; }
    const char *names[] = {"fx.Q4_K_M", "fx.f32"};
    for (int mi = 0; mi < 2; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.gguf", fx, names[mi]);
        model *m = NULL;
        pp_err err = {0};
        if (model_load(path, model_load_default_params(), &m, &err) != PP_OK) { T_CHECK_MSG(0, "%s", err.msg); return; }
        size_t V = model_get_hparams(m)->n_vocab;
        int32_t tok[70];
        for (int i = 0; i < 70; i++) tok[i] = 500 + (i * 37) % 3000;
        float *ref1 = NULL;
        for (int nt = 1; nt <= 3; nt++) {
            model_ctx_params cp = model_ctx_default_params();
            cp.n_ctx = 128;
            cp.n_batch = 32;
            cp.n_threads = nt;
            model_ctx *c = NULL;
            T_CHECK(model_ctx_init(m, cp, &c, &err) == PP_OK);
            float *l = malloc(2 * V * sizeof(float));
            T_CHECK(model_ctx_eval(c, tok, 70, NULL, l, &err) == PP_OK);
            int32_t one = 600;
            T_CHECK(model_ctx_eval(c, &one, 1, NULL, l + V, &err) == PP_OK);
            if (!ref1) ref1 = l;
            else {
                T_CHECK_MSG(memcmp(ref1, l, 2 * V * sizeof(float)) == 0, "%s: %d threads differ from 1", names[mi], nt);
                free(l);
            }
            model_ctx_free(c);
        }
        free(ref1);
        model_free(m);
    }
}

/* Rolling the cache back and re-evaluating gives the same logits as a fresh run, also
 * across the sliding-window ring (window 64 in fx). */
static void test_truncate(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) { t_skip("../shared/fixtures not found"); return; }
    char path[512];
    snprintf(path, sizeof path, "%s/fx.f32.gguf", fx);
    model *m = NULL;
    pp_err err = {0};
    if (model_load(path, model_load_default_params(), &m, &err) != PP_OK) { T_CHECK_MSG(0, "%s", err.msg); return; }
    size_t V = model_get_hparams(m)->n_vocab;
    int32_t tok[200];
    for (int i = 0; i < 200; i++) tok[i] = 494 + (i * 53) % 3500;
    model_ctx_params cp = model_ctx_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 16;
    cp.kv_type = GGUF_TTYPE_F32;
    model_ctx *a = NULL, *b = NULL;
    T_CHECK(model_ctx_init(m, cp, &a, &err) == PP_OK);
    T_CHECK(model_ctx_init(m, cp, &b, &err) == PP_OK);
    float *la = malloc(V * sizeof(float)), *lb = malloc(V * sizeof(float));
    T_CHECK(model_ctx_eval(a, tok, 150, NULL, la, &err) == PP_OK);
    T_CHECK(model_ctx_can_truncate(a, 140));   /* within n_batch - 1 of the end */
    T_CHECK(!model_ctx_can_truncate(a, 100));  /* the ring no longer holds 37..99 */
    T_CHECK(model_ctx_truncate(a, 100, &err) == PP_ERR_ARG);
    T_CHECK(model_ctx_truncate(a, 140, &err) == PP_OK);
    T_CHECK(model_ctx_eval(a, tok + 140, 20, NULL, la, &err) == PP_OK);
    T_CHECK(model_ctx_eval(b, tok, 160, NULL, lb, &err) == PP_OK);
    double mx = 0, ss = 0;
    diff_stats(la, lb, V, &mx, &ss);
    T_CHECK_MSG(mx < 1e-4, "rolled-back run differs by %g", mx);
    /* overflow is an error, not a crash */
    T_CHECK(model_ctx_eval(b, tok, 200, NULL, lb, &err) == PP_ERR_ARG);
    T_CHECK(strstr(err.msg, "exceed num_ctx 256") != NULL);
    int32_t bad = 999999;
    T_CHECK(model_ctx_eval(b, &bad, 1, NULL, lb, &err) == PP_ERR_ARG);
    T_CHECK(strstr(err.msg, "outside the vocabulary") != NULL);
    free(la);
    free(lb);
    model_ctx_free(a);
    model_ctx_free(b);
    model_free(m);
}

/* Copies a generated model with one change and checks model_load's error text. */
typedef enum edit { EDIT_NONE, EDIT_ARCH, EDIT_DROP, EDIT_SHAPE, EDIT_IQ, EDIT_LAYERS, EDIT_HEADS, EDIT_KEYTYPE } edit;

static pp_status load_edited(const char *src, edit e, pp_err *err) {
    gguf_file *f = NULL;
    pp_err e0 = {0};
    PP_ASSERT(gguf_open(src, &f, &e0) == PP_OK);
    gguf_writer *w = NULL;
    PP_ASSERT(gguf_writer_init(&w, &e0) == PP_OK);
    if (e == EDIT_ARCH) gguf_writer_set_str(w, "general.architecture", "llama");
    if (e == EDIT_LAYERS) gguf_writer_set_u32(w, "gemma3.block_count", 600);
    if (e == EDIT_HEADS) gguf_writer_set_u32(w, "gemma3.attention.head_count_kv", 3);
    if (e == EDIT_KEYTYPE) gguf_writer_set_str(w, "gemma3.embedding_length", "big");
    PP_ASSERT(gguf_writer_copy_kvs(w, f) == PP_OK);
    static uint8_t iq[1 << 20];
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        bool target = !strcmp(name, "blk.1.attn_q.weight");
        if (target && e == EDIT_DROP) continue;
        if (target && e == EDIT_SHAPE) {
            int64_t ne[2] = {t->ne[0], t->ne[1] / 2};
            gguf_writer_add_tensor(w, name, 2, ne, t->type, t->data, t->nbytes / 2);
        } else if (target && e == EDIT_IQ) {
            uint64_t bytes = quant_row_bytes(GGUF_TTYPE_IQ2_XS, (uint64_t)t->ne[0]) * (uint64_t)t->ne[1];
            PP_ASSERT(bytes <= sizeof iq);
            gguf_writer_add_tensor(w, name, 2, t->ne, GGUF_TTYPE_IQ2_XS, iq, bytes);
        } else {
            gguf_writer_add_tensor(w, name, t->n_dims, t->ne, t->type, t->data, t->nbytes);
        }
    }
    char out[600];
    snprintf(out, sizeof out, "%s/edited.gguf", t_tmp_dir());
    PP_ASSERT(gguf_writer_write(w, out, &e0) == PP_OK);
    gguf_writer_free(w);
    gguf_close(f);
    model *m = NULL;
    pp_status st = model_load(out, model_load_default_params(), &m, err);
    model_free(m);
    return st;
}

static void test_load_errors(void) {
    char src[600];
    snprintf(src, sizeof src, "%s/gen-small.gguf", t_tmp_dir());
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "%s/pippa-gen --layers 2 --embd 256 --heads 2 --heads-kv 1 --head-dim 128 --ff 256 --vocab 600 -o %s",
             t_build_dir(), src);
    if (system(cmd) != 0) { T_CHECK_MSG(0, "pippa-gen failed: %s", cmd); return; }
    pp_err err = {0};
    T_CHECK_MSG(load_edited(src, EDIT_NONE, &err) == PP_OK, "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_ARCH, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(!strcmp(err.msg, "edited.gguf: architecture 'llama' is not supported (pippa runs gemma3)"), "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_DROP, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(!strcmp(err.msg, "edited.gguf: tensor 'blk.1.attn_q.weight' is missing"), "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_SHAPE, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "tensor 'blk.1.attn_q.weight': expected shape [256, 256], got [256, 128") != NULL, "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_IQ, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(!strcmp(err.msg, "edited.gguf: tensor 'blk.1.attn_q.weight': type 17 (IQ2_XS) is not supported yet"), "%s",
                err.msg);
    T_CHECK(load_edited(src, EDIT_LAYERS, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "'gemma3.block_count': 600 is outside [1, 512]") != NULL, "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_HEADS, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "head_count a multiple of head_count_kv") != NULL, "%s", err.msg);
    T_CHECK(load_edited(src, EDIT_KEYTYPE, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(strstr(err.msg, "key 'gemma3.embedding_length': expected UINT32, got STRING") != NULL, "%s", err.msg);
}

int main(void) {
    t_kern_init();
    T_RUN(test_load_errors);
    T_RUN(test_fixtures_exact);
    T_RUN(test_fixtures_default_f16_kv);
    T_RUN(test_fused_ffn);
    T_RUN(test_no_repack);
    T_RUN(test_thread_determinism);
    T_RUN(test_truncate);
    json_decref(ref);
    return t_finish("model");
}
