/* test_quantize.c - llama-quantize recipes (recipe.c), whole-file quantization
 * (quantize_file.c) and the gguf_writer streaming path it uses.
 *
 * Known answers: the per-tensor type tables of quant-formats.md §9 for every Gemma 3 size,
 * and byte identity with llama-quantize's fixture files (shared/fixtures, skipped when
 * absent) for all 13 presets plus the QAT layout; every error path checks its text. */
#include "test.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quant/quant.h"

/* Rotating buffers: a few results may be used in one call. */
static const char *tmp_path(const char *name) {
    static char bufs[4][1024];
    static int k;
    char *p = bufs[k++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", t_tmp_dir(), name);
    return p;
}

static bool file_exists(const char *p) { return access(p, F_OK) == 0; }

/* No "*.tmp.*" leftovers in the temp dir. */
static bool no_tmp_files(void) {
    DIR *d = opendir(t_tmp_dir());
    if (!d) return false;
    bool ok = true;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".tmp.")) ok = false;
    closedir(d);
    return ok;
}

static bool same_bytes(const char *a, const char *b) {
    char *pa = NULL, *pb = NULL;
    size_t la = 0, lb = 0;
    pp_err err;
    bool ok = pp_read_file(a, &pa, &la, (size_t)1 << 30, &err) == PP_OK &&
              pp_read_file(b, &pb, &lb, (size_t)1 << 30, &err) == PP_OK && la == lb &&
              memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return ok;
}

/* ---- recipe ---- */

static void test_ftype_names(void) {
    quant_ftype ft;
    pp_err err = {0};
    T_CHECK(quant_ftype_from_name("q4_k_m", &ft, &err) == PP_OK && ft == QUANT_FTYPE_Q4_K_M);
    T_CHECK(quant_ftype_from_name("Q8_0", &ft, &err) == PP_OK && ft == QUANT_FTYPE_Q8_0);
    T_CHECK(quant_ftype_from_name("f32", &ft, &err) == PP_OK && ft == QUANT_FTYPE_ALL_F32);
    T_CHECK(quant_ftype_from_name("bf16", &ft, &err) == PP_OK && (int)ft == 32);
    T_CHECK(quant_ftype_from_name("Q3_k_L", &ft, &err) == PP_OK && (int)ft == 13);
    T_CHECK(quant_ftype_from_name("Q4_K", &ft, &err) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(err.msg, "unknown type 'Q4_K' (valid: F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, "
                        "Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, Q4_0, Q3_K_L, Q3_K_M, "
                        "Q3_K_S, Q2_K)"), "%s", err.msg);
    T_CHECK(quant_ftype_from_name("Q4_0x", &ft, &err) == PP_ERR_ARG);
    T_CHECK(!strcmp(quant_ftype_name(QUANT_FTYPE_Q5_K_S), "Q5_K_S"));
    T_CHECK(quant_ftype_default_type(QUANT_FTYPE_Q3_K_M) == GGUF_TTYPE_Q3_K);
    T_CHECK(quant_ftype_default_type(QUANT_FTYPE_BF16) == GGUF_TTYPE_BF16);
}

static void test_order(void) {
    T_CHECK(quant_tensor_order_cmp("output_norm.weight", "token_embd.weight") < 0);
    T_CHECK(quant_tensor_order_cmp("token_embd.weight", "blk.0.attn_k.weight") < 0);
    T_CHECK(quant_tensor_order_cmp("blk.9.ffn_up.weight", "blk.10.attn_k.weight") < 0);
    T_CHECK(quant_tensor_order_cmp("blk.1.attn_q.weight", "blk.1.attn_k.weight") > 0);
    T_CHECK(quant_tensor_order_cmp("blk.1.attn_k.weight", "blk.1.attn_k_norm.weight") < 0);
    T_CHECK(quant_tensor_order_cmp("blk.2.x", "blk.2.x") == 0);
}

static void test_quantizable(void) {
    const int64_t m[4] = {256, 64, 1, 1}, v[4] = {256, 1, 1, 1};
    T_CHECK(quant_recipe_quantizable("blk.0.attn_q.weight", 2, m));
    T_CHECK(!quant_recipe_quantizable("blk.0.attn_q_norm.weight", 2, m));
    T_CHECK(!quant_recipe_quantizable("blk.0.attn_norm.weight", 1, v));
    T_CHECK(!quant_recipe_quantizable("blk.0.attn_q.weight", 2, v)); /* [256, 1]: 1-D for ggml */
    T_CHECK(!quant_recipe_quantizable("blk.0.attn_q.bias", 2, m));
    T_CHECK(!quant_recipe_quantizable("blk.0.ffn_gate_inp.weight", 2, m));
    T_CHECK(!quant_recipe_quantizable("v.position_embd.weight", 2, m));
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q4_K, 1152) == GGUF_TTYPE_Q5_0);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q5_K, 640) == GGUF_TTYPE_Q5_1);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q6_K, 640) == GGUF_TTYPE_Q8_0);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q2_K, 640) == GGUF_TTYPE_Q4_0);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q3_K, 1152) == GGUF_TTYPE_Q4_0);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q4_K, 40) == GGUF_TTYPE_F16);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q8_0, 48) == GGUF_TTYPE_F16);
    T_CHECK(quant_recipe_fallback(GGUF_TTYPE_Q4_K, 2560) == GGUF_TTYPE_Q4_K);
}

/* A Gemma 3 tensor list (tied embeddings) run through the recipe in llama.cpp's order. */
#define G_MAX 1024
typedef struct gemma_shape { int n_layer, n_embd, n_q, n_ff, n_gqa; } gemma_shape;
typedef struct gtensor { char name[GGUF_MAX_NAME]; int64_t ne[4]; uint32_t type; } gtensor;

static int gt_cmp(const void *a, const void *b) {
    return quant_tensor_order_cmp(((const gtensor *)a)->name, ((const gtensor *)b)->name);
}

static int gemma_types(gemma_shape s, quant_recipe_params p, gtensor *t) {
    static const char *const L[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm",
                                    "attn_k_norm", "attn_output", "post_attention_norm",
                                    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", "post_ffw_norm"};
    int n = 0;
    t[n++] = (gtensor){"token_embd.weight", {s.n_embd, 262144, 1, 1}, 0};
    for (int l = 0; l < s.n_layer; l++) {
        for (size_t j = 0; j < sizeof L / sizeof L[0]; j++) {
            gtensor *g = &t[n++];
            snprintf(g->name, sizeof g->name, "blk.%d.%s.weight", l, L[j]);
            int64_t ne0 = s.n_embd, ne1 = 1;
            if (!strcmp(L[j], "attn_q")) ne1 = s.n_q;
            else if (!strcmp(L[j], "attn_k") || !strcmp(L[j], "attn_v")) ne1 = s.n_q / s.n_gqa;
            else if (!strcmp(L[j], "attn_output")) ne0 = s.n_q, ne1 = s.n_embd;
            else if (!strcmp(L[j], "ffn_gate") || !strcmp(L[j], "ffn_up")) ne1 = s.n_ff;
            else if (!strcmp(L[j], "ffn_down")) ne0 = s.n_ff, ne1 = s.n_embd;
            else if (strstr(L[j], "_q_norm") || strstr(L[j], "_k_norm")) ne0 = 256;
            g->ne[0] = ne0, g->ne[1] = ne1, g->ne[2] = g->ne[3] = 1;
        }
    }
    t[n++] = (gtensor){"output_norm.weight", {s.n_embd, 1, 1, 1}, 0};
    qsort(t, (size_t)n, sizeof *t, gt_cmp);
    quant_recipe r;
    quant_recipe_init(&r, p, s.n_layer, s.n_gqa);
    for (int i = 0; i < n; i++) quant_recipe_observe(&r, t[i].name);
    for (int i = 0; i < n; i++)
        t[i].type = quant_recipe_tensor_type(&r, t[i].name, GGUF_TTYPE_BF16,
                                             t[i].ne[1] > 1 ? 2 : 1, t[i].ne);
    return n;
}

static uint32_t find_type(const gtensor *t, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, name)) return t[i].type;
    return 9999;
}

static uint32_t layer_type(const gtensor *t, int n, int l, const char *what) {
    char name[64];
    snprintf(name, sizeof name, "blk.%d.%s.weight", l, what);
    return find_type(t, n, name);
}

static void test_recipe_gemma(void) {
    static gtensor t[G_MAX];
    const gemma_shape M270 = {18, 640, 1024, 2048, 4}, B1 = {26, 1152, 1024, 6912, 4},
                      B4 = {34, 2560, 2048, 10240, 2}, B27 = {62, 5376, 4096, 21504, 2};
    quant_recipe_params p = quant_recipe_default_params();
    /* §9.2: layers whose attn_v / ffn_down get Q6_K in Q4_K_M */
    const struct { gemma_shape s; const char *more; } MB[] = {
        {M270, "0 1 4 7 10 13 15 16 17"},
        {B4, "0 1 2 3 6 9 12 15 18 21 24 27 29 30 31 32 33"},
        {B27, "0 1 2 3 4 5 6 9 12 15 18 21 24 27 30 33 36 39 42 45 48 51 54 55 56 57 58 59 60 61"},
    };
    for (size_t k = 0; k < sizeof MB / sizeof MB[0]; k++) {
        p.ftype = QUANT_FTYPE_Q4_K_M;
        int n = gemma_types(MB[k].s, p, t);
        char got[512] = "";
        for (int l = 0; l < MB[k].s.n_layer; l++) {
            uint32_t v = layer_type(t, n, l, "attn_v"), d = layer_type(t, n, l, "ffn_down");
            /* 270M: attn_v rows are 640 wide, so Q6_K falls back to Q8_0 and Q4_K to Q5_0 */
            bool more = v == GGUF_TTYPE_Q6_K || v == GGUF_TTYPE_Q8_0;
            T_CHECK_MSG(more == (d == GGUF_TTYPE_Q6_K), "layer %d: attn_v %u ffn_down %u", l, v, d);
            if (more) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", got[0] ? " " : "", l);
        }
        T_CHECK_MSG(!strcmp(got, MB[k].more), "n_layer %d: got %s", MB[k].s.n_layer, got);
        T_CHECK(find_type(t, n, "token_embd.weight") ==
                (MB[k].s.n_embd % 256 ? GGUF_TTYPE_Q8_0 : GGUF_TTYPE_Q6_K));
        T_CHECK(find_type(t, n, "output_norm.weight") == GGUF_TTYPE_BF16);
        T_CHECK(layer_type(t, n, 3, "attn_q_norm") == GGUF_TTYPE_BF16);
    }
    /* §9.3, 1B Q4_K_M: token_embd Q8_0, q/k/gate/up Q5_0, attn_v Q8_0 / Q5_0, attn_output
     * Q4_K, ffn_down Q6_K / Q4_K */
    p.ftype = QUANT_FTYPE_Q4_K_M;
    int n = gemma_types(B1, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q8_0);
    T_CHECK(layer_type(t, n, 3, "attn_q") == GGUF_TTYPE_Q5_0);
    T_CHECK(layer_type(t, n, 3, "ffn_up") == GGUF_TTYPE_Q5_0);
    T_CHECK(layer_type(t, n, 5, "attn_v") == GGUF_TTYPE_Q8_0);
    T_CHECK(layer_type(t, n, 4, "attn_v") == GGUF_TTYPE_Q5_0);
    T_CHECK(layer_type(t, n, 4, "attn_output") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 25, "ffn_down") == GGUF_TTYPE_Q6_K);
    T_CHECK(layer_type(t, n, 4, "ffn_down") == GGUF_TTYPE_Q4_K);
    /* 1B Q4_0: token_embd takes the output rule (Q6_K), which falls back to Q8_0 */
    p.ftype = QUANT_FTYPE_Q4_0;
    n = gemma_types(B1, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q8_0);
    T_CHECK(layer_type(t, n, 0, "ffn_down") == GGUF_TTYPE_Q4_0);
    /* Q2_K: attn_v Q4_K when n_gqa >= 4, else Q3_K; q/k/gate/up Q2_K (1B: Q4_0 fallback) */
    p.ftype = QUANT_FTYPE_Q2_K;
    n = gemma_types(B1, p, t);
    T_CHECK(layer_type(t, n, 0, "attn_v") == GGUF_TTYPE_Q5_0); /* Q4_K -> Q5_0 at 1152 */
    T_CHECK(layer_type(t, n, 0, "attn_q") == GGUF_TTYPE_Q4_0);
    T_CHECK(layer_type(t, n, 0, "attn_output") == GGUF_TTYPE_Q3_K);
    n = gemma_types(B4, p, t);
    T_CHECK(layer_type(t, n, 0, "attn_v") == GGUF_TTYPE_Q3_K);
    T_CHECK(layer_type(t, n, 0, "ffn_down") == GGUF_TTYPE_Q3_K);
    T_CHECK(layer_type(t, n, 0, "ffn_gate") == GGUF_TTYPE_Q2_K);
    /* Q3_K_M (4B): attn_v Q5_K for the first 2, ffn_down Q5_K below n/16 = 2 */
    p.ftype = QUANT_FTYPE_Q3_K_M;
    n = gemma_types(B4, p, t);
    T_CHECK(layer_type(t, n, 1, "attn_v") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 2, "attn_v") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 1, "ffn_down") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 2, "ffn_down") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 2, "attn_output") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 2, "attn_k") == GGUF_TTYPE_Q3_K);
    /* Q4_K_S (27B): attn_v Q5_K for i < 4, ffn_down Q5_K for i < n/8 = 7 */
    p.ftype = QUANT_FTYPE_Q4_K_S;
    n = gemma_types(B27, p, t);
    T_CHECK(layer_type(t, n, 3, "attn_v") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 4, "attn_v") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 6, "ffn_down") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 7, "ffn_down") == GGUF_TTYPE_Q4_K);
    /* Q3_K_L / Q5_K_S / Q6_K / Q8_0 (4B) */
    p.ftype = QUANT_FTYPE_Q3_K_L;
    n = gemma_types(B4, p, t);
    T_CHECK(layer_type(t, n, 9, "attn_v") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 9, "ffn_down") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 9, "attn_output") == GGUF_TTYPE_Q5_K);
    T_CHECK(layer_type(t, n, 9, "ffn_up") == GGUF_TTYPE_Q3_K);
    p.ftype = QUANT_FTYPE_Q5_K_S;
    n = gemma_types(B4, p, t);
    T_CHECK(layer_type(t, n, 0, "attn_v") == GGUF_TTYPE_Q5_K);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q6_K);
    p.ftype = QUANT_FTYPE_Q8_0;
    n = gemma_types(B4, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q8_0);
    /* --pure: no rules, only the fallback; overrides */
    p.ftype = QUANT_FTYPE_Q4_K_M;
    p.pure = true;
    n = gemma_types(B1, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q5_0);
    T_CHECK(layer_type(t, n, 0, "ffn_down") == GGUF_TTYPE_Q4_K);
    T_CHECK(layer_type(t, n, 0, "attn_v") == GGUF_TTYPE_Q5_0);
    p.pure = false;
    p.output_type = GGUF_TTYPE_Q5_K; /* tied: token_embd takes the output type */
    n = gemma_types(B4, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q5_K);
    p.token_embd_type = GGUF_TTYPE_F16; /* --token-embedding-type wins */
    n = gemma_types(B4, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_F16);
    /* F16 ftype: every 2-D weight F16, overrides still apply */
    p = quant_recipe_default_params();
    p.ftype = QUANT_FTYPE_F16;
    p.token_embd_type = GGUF_TTYPE_Q8_0;
    n = gemma_types(B1, p, t);
    T_CHECK(find_type(t, n, "token_embd.weight") == GGUF_TTYPE_Q8_0);
    T_CHECK(layer_type(t, n, 0, "attn_v") == GGUF_TTYPE_F16);
    T_CHECK(layer_type(t, n, 0, "attn_norm") == GGUF_TTYPE_BF16);
}

/* ---- whole files against the fixtures ---- */

typedef struct prog_log {
    uint64_t n_done, last_index;
    bool in_order;
    int cancel_at; /* -1: never */
} prog_log;

static bool log_progress(void *ctx, const quant_progress *p) {
    prog_log *l = ctx;
    if (p->rows_done == p->rows) {
        if (p->index != l->n_done || p->count != 80) l->in_order = false;
        l->n_done++;
        l->last_index = p->index;
    }
    return l->cancel_at < 0 || (int64_t)p->index < l->cancel_at;
}

static pp_status quantize(const char *in_path, const char *out_path, quant_file_params fp,
                          pp_err *err) {
    gguf_file *in;
    pp_status st = gguf_open(in_path, &in, err);
    if (st) return st;
    quant_plan *plan = NULL;
    st = quant_plan_init(in, fp, &plan, err);
    if (!st) st = quant_plan_write(plan, out_path, NULL, err);
    quant_plan_free(plan);
    gguf_close(in);
    return st;
}

static void test_fixture_presets(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) {
        t_skip("fixtures not found");
        return;
    }
    static const char *const PRESETS[] = {"Q8_0", "Q6_K", "Q5_K_M", "Q5_1", "Q5_0",
                                          "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "Q3_K_M",
                                          "Q2_K", "F16", "BF16"};
    char in[1024], ref[1024];
    snprintf(in, sizeof in, "%s/fx.f32.gguf", fx);
    int same = 0;
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        quant_file_params fp = quant_file_default_params();
        pp_err err = {0};
        T_CHECK(quant_ftype_from_name(PRESETS[i], &fp.recipe.ftype, &err) == PP_OK);
        fp.n_threads = 1 + (int)(i % 3); /* the bytes must not depend on the thread count */
        prog_log log = {.in_order = true, .cancel_at = -1};
        fp.progress = log_progress;
        fp.progress_ctx = &log;
        const char *out = tmp_path("preset.gguf");
        pp_status st = quantize(in, out, fp, &err);
        T_CHECK_MSG(st == PP_OK, "%s: %s", PRESETS[i], err.msg);
        T_CHECK(log.n_done == 80 && log.in_order);
        snprintf(ref, sizeof ref, "%s/fx.%s.gguf", fx, PRESETS[i]);
        bool ok = same_bytes(out, ref);
        T_CHECK_MSG(ok, "%s: output differs from %s", PRESETS[i], ref);
        same += ok;
    }
    /* QAT layout: Q4_0 --pure --token-embedding-type f16 */
    quant_file_params fp = quant_file_default_params();
    fp.recipe.ftype = QUANT_FTYPE_Q4_0;
    fp.recipe.pure = true;
    fp.recipe.token_embd_type = GGUF_TTYPE_F16;
    pp_err err = {0};
    T_CHECK(quantize(in, tmp_path("qat.gguf"), fp, &err) == PP_OK);
    snprintf(ref, sizeof ref, "%s/fx.qat-q4_0.gguf", fx);
    bool ok = same_bytes(tmp_path("qat.gguf"), ref);
    T_CHECK(ok);
    same += ok;
    printf("QUANTIZE-FX byte-identical: %d of 14\n", same);
    T_CHECK(no_tmp_files());
}

/* The common QAT use: shrink the F16 embeddings, copy every Q4_0 tensor bit-exactly. */
static void test_qat_shrink(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) {
        t_skip("fixtures not found");
        return;
    }
    char in_path[1024];
    snprintf(in_path, sizeof in_path, "%s/fx.qat-q4_0.gguf", fx);
    gguf_file *in, *out;
    pp_err err = {0};
    T_CHECK(gguf_open(in_path, &in, &err) == PP_OK);
    quant_file_params fp = quant_file_default_params();
    fp.recipe.ftype = QUANT_FTYPE_Q4_0;
    fp.recipe.pure = true;
    fp.recipe.token_embd_type = GGUF_TTYPE_Q6_K;
    quant_plan *plan;
    T_CHECK(quant_plan_init(in, fp, &plan, &err) == PP_OK); /* no --allow-requantize needed */
    T_CHECK(quant_plan_n_requant(plan) == 0);
    uint64_t n_conv = 0;
    for (uint64_t i = 0; i < quant_plan_count(plan); i++) n_conv += quant_plan_at(plan, i)->convert;
    T_CHECK(n_conv == 1);
    quant_file_stats st;
    T_CHECK(quant_plan_write(plan, tmp_path("shrink.gguf"), &st, &err) == PP_OK);
    T_CHECK(st.n_converted == 1 && st.n_tensors == 80);
    quant_plan_free(plan);
    T_CHECK(gguf_open(tmp_path("shrink.gguf"), &out, &err) == PP_OK);
    T_CHECK(gguf_n_tensors(out) == 80 && gguf_n_kv(out) == gguf_n_kv(in));
    for (uint64_t i = 0; i < gguf_n_tensors(in); i++) {
        const gguf_tensor *a = gguf_tensor_at(in, i), *b = gguf_tensor_at(out, i);
        T_CHECK(a->name.len == b->name.len && !memcmp(a->name.ptr, b->name.ptr, a->name.len));
        if (pp_view_eq(a->name, "token_embd.weight")) {
            T_CHECK(a->type == GGUF_TTYPE_F16 && b->type == GGUF_TTYPE_Q6_K);
            T_CHECK(b->nbytes == 4096 / 1 * 210);
            /* row 7 = Q6_K of the F16 row */
            float row[256];
            uint8_t want[210];
            T_CHECK(quant_dequantize_row(GGUF_TTYPE_F16, (const uint8_t *)a->data + 7 * 512,
                                         row, 256, &err) == PP_OK);
            T_CHECK(quant_quantize_row(GGUF_TTYPE_Q6_K, row, want, 256, &err) == PP_OK);
            T_CHECK(!memcmp(want, (const uint8_t *)b->data + 7 * 210, 210));
        } else {
            T_CHECK_MSG(a->type == b->type && a->nbytes == b->nbytes &&
                        !memcmp(a->data, b->data, a->nbytes), "tensor %llu", (unsigned long long)i);
        }
    }
    uint32_t ft;
    T_CHECK(gguf_get_u32(out, "general.file_type", &ft, &err) == PP_OK && ft == 2);
    gguf_close(out);
    gguf_close(in);
}

static void test_requantize(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) {
        t_skip("fixtures not found");
        return;
    }
    char in_path[1024];
    snprintf(in_path, sizeof in_path, "%s/fx.Q8_0.gguf", fx);
    gguf_file *in;
    pp_err err = {0};
    T_CHECK(gguf_open(in_path, &in, &err) == PP_OK);
    quant_file_params fp = quant_file_default_params();
    fp.recipe.ftype = QUANT_FTYPE_Q4_0;
    quant_plan *plan = NULL;
    T_CHECK(quant_plan_init(in, fp, &plan, &err) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(err.msg, "fx.Q8_0.gguf: tensor 'token_embd.weight' is already Q8_0; "
                        "converting it to Q6_K would requantize it (lossy): use "
                        "--allow-requantize"), "%s", err.msg);
    fp.allow_requantize = true;
    T_CHECK(quant_plan_init(in, fp, &plan, &err) == PP_OK);
    T_CHECK(quant_plan_n_requant(plan) == 43);
    T_CHECK(quant_plan_write(plan, tmp_path("requant.gguf"), NULL, &err) == PP_OK);
    quant_plan_free(plan);
    gguf_file *out;
    T_CHECK(gguf_open(tmp_path("requant.gguf"), &out, &err) == PP_OK);
    const gguf_tensor *t = gguf_find_tensor(out, "blk.2.ffn_down.weight");
    T_CHECK(t && t->type == GGUF_TTYPE_Q4_0);
    /* Q8_0 -> f32 -> Q4_0 stays close to the Q8_0 values */
    const gguf_tensor *s = gguf_find_tensor(in, "blk.2.ffn_down.weight");
    float a[1024], b[1024];
    T_CHECK(quant_dequantize_row(s->type, s->data, a, 1024, &err) == PP_OK);
    T_CHECK(quant_dequantize_row(t->type, t->data, b, 1024, &err) == PP_OK);
    double num = 0, den = 0;
    for (int i = 0; i < 1024; i++) num += (a[i] - b[i]) * (a[i] - b[i]), den += a[i] * a[i];
    T_CHECK_MSG(sqrt(num / den) < 0.1, "rel rmse %g", sqrt(num / den));
    gguf_close(out);
    gguf_close(in);
}

/* ---- bad inputs, written with gguf_writer ---- */

static void write_model(const char *path, uint32_t type, const void *data, uint64_t nbytes,
                        int64_t ne0, int64_t ne1) {
    gguf_writer *w;
    pp_err err;
    T_CHECK(gguf_writer_init(&w, &err) == PP_OK);
    gguf_writer_set_str(w, "general.architecture", "gemma3");
    gguf_writer_set_u32(w, "gemma3.block_count", 1);
    static const float norm[32] = {1};
    int64_t ne[2] = {ne0, ne1}, nn[1] = {32};
    gguf_writer_add_tensor(w, "blk.0.attn_norm.weight", 1, nn, GGUF_TTYPE_F32, norm, sizeof norm);
    gguf_writer_add_tensor(w, "blk.0.attn_q.weight", 2, ne, type, data, nbytes);
    T_CHECK(gguf_writer_write(w, path, &err) == PP_OK);
    gguf_writer_free(w);
}

static void test_bad_inputs(void) {
    float x[32 * 4];
    for (int i = 0; i < 128; i++) x[i] = (float)(i % 7) * 0.01f;
    x[70] = NAN;
    write_model(tmp_path("nan.gguf"), GGUF_TTYPE_F32, x, sizeof x, 32, 4);
    quant_file_params fp = quant_file_default_params();
    fp.recipe.ftype = QUANT_FTYPE_Q4_0;
    pp_err err = {0};
    T_CHECK(quantize(tmp_path("nan.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(!strcmp(err.msg, "nan.gguf: tensor 'blk.0.attn_q.weight': non-finite value (nan) "
                        "at element 70 (row 2, column 6)"), "%s", err.msg);
    T_CHECK(!file_exists(tmp_path("out.gguf")) && no_tmp_files());
    /* -inf in an F16 source, F16 -> BF16; lowest bad row wins with several threads */
    uint16_t h[32 * 4];
    for (int i = 0; i < 128; i++) h[i] = pp_f32_to_f16((float)i * 0.001f);
    h[45] = 0xFC00; /* -inf, row 1 */
    h[127] = 0x7C00; /* +inf, row 3 (another thread) */
    write_model(tmp_path("inf.gguf"), GGUF_TTYPE_F16, h, sizeof h, 32, 4);
    fp.recipe.ftype = QUANT_FTYPE_BF16;
    fp.n_threads = 4;
    T_CHECK(quantize(tmp_path("inf.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_FORMAT);
    T_CHECK_MSG(!strcmp(err.msg, "inf.gguf: tensor 'blk.0.attn_q.weight': non-finite value (-inf) "
                        "at element 45 (row 1, column 13)"), "%s", err.msg);
    T_CHECK(!file_exists(tmp_path("out.gguf")) && no_tmp_files());
    /* a type pippa cannot decode */
    static uint8_t iq[74 * 2];
    write_model(tmp_path("iq.gguf"), GGUF_TTYPE_IQ2_XS, iq, sizeof iq, 256, 2);
    fp.recipe.ftype = QUANT_FTYPE_Q4_0;
    T_CHECK(quantize(tmp_path("iq.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_UNSUPPORTED);
    T_CHECK_MSG(!strcmp(err.msg, "iq.gguf: tensor 'blk.0.attn_q.weight': cannot convert IQ2_XS "
                        "to Q4_0: IQ2_XS is not supported"), "%s", err.msg);
    /* a user type we cannot write */
    fp.recipe.token_embd_type = GGUF_TTYPE_Q8_K;
    T_CHECK(quantize(tmp_path("nan.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_ARG);
    T_CHECK_MSG(!strncmp(err.msg, "token embedding: type Q8_K cannot be written (valid: F32,",
                         57), "%s", err.msg);
    fp.recipe.token_embd_type = -1;
    fp.recipe.ftype = (quant_ftype)19;
    T_CHECK(quantize(tmp_path("nan.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_ARG);
    T_CHECK_MSG(!strncmp(err.msg, "file type 19 is not supported (valid: F32, F16,", 46), "%s",
                err.msg);
    /* missing input: gguf_open's message */
    T_CHECK(quantize(tmp_path("missing.gguf"), tmp_path("out.gguf"), fp, &err) == PP_ERR_IO);
    T_CHECK_MSG(strstr(err.msg, "missing.gguf: cannot open") != NULL, "%s", err.msg);
    T_CHECK(!file_exists(tmp_path("out.gguf")));
}

static void test_cancel(void) {
    const char *fx = t_fixtures_dir();
    if (!fx) {
        t_skip("fixtures not found");
        return;
    }
    char in[1024];
    snprintf(in, sizeof in, "%s/fx.f32.gguf", fx);
    quant_file_params fp = quant_file_default_params();
    fp.recipe.ftype = QUANT_FTYPE_Q8_0;
    prog_log log = {.in_order = true, .cancel_at = 5};
    fp.progress = log_progress;
    fp.progress_ctx = &log;
    pp_err err = {0};
    T_CHECK(quantize(in, tmp_path("cancel.gguf"), fp, &err) == PP_ERR_CANCELLED);
    T_CHECK(!file_exists(tmp_path("cancel.gguf")) && no_tmp_files());
    T_CHECK(log.n_done == 6); /* tensors 0-5 reported; the callback stopped at 5 */
}

/* ---- gguf_writer streaming ---- */

typedef struct src_bytes { const uint8_t *p; uint64_t n; int mode; } src_bytes;

static pp_status produce(void *ctx, uint64_t index, gguf_sink *sink, pp_err *err) {
    const src_bytes *s = ctx;
    (void)index;
    if (s->mode == 1) return pp_err_set(err, PP_ERR_IO, "producer failed");
    uint64_t n = s->mode == 2 ? s->n - 4 : s->n;
    for (uint64_t off = 0; off < n; off += 7) { /* odd piece sizes */
        pp_status st = gguf_sink_write(sink, s->p + off, n - off < 7 ? n - off : 7, err);
        if (st) return st;
    }
    return PP_OK;
}

static void test_writer_stream(void) {
    float data[40];
    for (int i = 0; i < 40; i++) data[i] = (float)i;
    int64_t ne[2] = {10, 4};
    src_bytes s = {(const uint8_t *)data, sizeof data, 0};
    gguf_writer *a, *b;
    pp_err err = {0};
    uint8_t *ma, *mb;
    size_t la, lb;
    T_CHECK(gguf_writer_init(&a, &err) == PP_OK && gguf_writer_init(&b, &err) == PP_OK);
    gguf_writer_add_tensor(a, "t", 2, ne, GGUF_TTYPE_F32, data, sizeof data);
    gguf_writer_add_tensor(a, "u", 2, ne, GGUF_TTYPE_F32, data, sizeof data);
    gguf_writer_add_tensor_stream(b, "t", 2, ne, GGUF_TTYPE_F32, sizeof data, produce, &s);
    gguf_writer_add_tensor(b, "u", 2, ne, GGUF_TTYPE_F32, data, sizeof data);
    T_CHECK(gguf_writer_to_mem(a, &ma, &la, &err) == PP_OK);
    T_CHECK(gguf_writer_to_mem(b, &mb, &lb, &err) == PP_OK);
    T_CHECK(la == lb && !memcmp(ma, mb, la));
    free(ma);
    free(mb);
    T_CHECK(gguf_writer_write(b, tmp_path("stream.gguf"), &err) == PP_OK);
    T_CHECK(gguf_writer_write(a, tmp_path("plain.gguf"), &err) == PP_OK);
    T_CHECK(same_bytes(tmp_path("stream.gguf"), tmp_path("plain.gguf")));
    s.mode = 2; /* 4 bytes short */
    T_CHECK(gguf_writer_write(b, tmp_path("short.gguf"), &err) == PP_ERR_INTERNAL);
    T_CHECK_MSG(!strcmp(err.msg, "gguf writer: tensor 't': the write function stopped 4 bytes short"),
                "%s", err.msg);
    T_CHECK(!file_exists(tmp_path("short.gguf")) && no_tmp_files());
    s.mode = 1;
    T_CHECK(gguf_writer_write(b, tmp_path("fail.gguf"), &err) == PP_ERR_IO);
    T_CHECK(!strcmp(err.msg, "producer failed"));
    T_CHECK(!file_exists(tmp_path("fail.gguf")) && no_tmp_files());
    T_CHECK(gguf_writer_to_mem(b, &ma, &la, &err) == PP_ERR_IO);
    gguf_writer_free(a);
    gguf_writer_free(b);
    /* too many bytes */
    src_bytes big = {(const uint8_t *)data, sizeof data, 0};
    int64_t ne_small[2] = {10, 2};
    T_CHECK(gguf_writer_init(&a, &err) == PP_OK);
    gguf_writer_add_tensor_stream(a, "t", 2, ne_small, GGUF_TTYPE_F32, 80, produce, &big);
    T_CHECK(gguf_writer_to_mem(a, &ma, &la, &err) == PP_ERR_INTERNAL);
    T_CHECK_MSG(strstr(err.msg, "produced") != NULL, "%s", err.msg);
    gguf_writer_add_tensor_stream(a, "v", 2, ne_small, GGUF_TTYPE_F32, 80, NULL, NULL);
    T_CHECK(gguf_writer_error(a) != NULL);
    gguf_writer_free(a);
}

int main(void) {
    T_RUN(test_ftype_names);
    T_RUN(test_order);
    T_RUN(test_quantizable);
    T_RUN(test_recipe_gemma);
    T_RUN(test_fixture_presets);
    T_RUN(test_qat_shrink);
    T_RUN(test_requantize);
    T_RUN(test_bad_inputs);
    T_RUN(test_cancel);
    T_RUN(test_writer_stream);
    return t_finish("quantize");
}
