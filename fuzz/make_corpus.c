/* make_corpus.c - writes the fuzz seed corpus (tiny valid GGUFs) into a directory.
 *
 *     make && cc -std=c11 -D_GNU_SOURCE -Isrc fuzz/make_corpus.c build/libpippa.a -lm \
 *         -pthread -o build/make_corpus && build/make_corpus fuzz/corpus/fuzz_gguf
 *
 * Seeds: an empty file (no KVs, no tensors), a Gemma-shaped miniature (vocab arrays, norms,
 * Q4_0/Q8_0/Q4_K/F16 weights), every value type as scalar and array with alignment 64, and
 * the miniature re-labelled as GGUF v2. Deterministic bytes; each file is < 20 KB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static void save(const char *dir, const char *name, gguf_writer *w, int version) {
    uint8_t *buf;
    size_t len;
    pp_err err;
    if (gguf_writer_to_mem(w, &buf, &len, &err)) { fprintf(stderr, "%s\n", err.msg); exit(1); }
    if (version) buf[4] = (uint8_t)version;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp)) { perror(path); exit(1); }
    printf("%s: %zu bytes\n", path, len);
    free(buf);
}

static uint8_t pattern[8192];

static void mini_model(gguf_writer *w) {
    static const char *const toks[] = {"<pad>", "<eos>", "<bos>", "<unk>", "\xe2\x96\x81the", "a", ""};
    float scores[7] = {-1000, -1000, -1000, -1000, 0, -1, -2};
    int32_t types[7] = {3, 3, 3, 3, 1, 1, 1};
    gguf_writer_set_str(w, "general.architecture", "gemma3");
    gguf_writer_set_u32(w, "gemma3.block_count", 1);
    gguf_writer_set_u32(w, "gemma3.embedding_length", 32);
    gguf_writer_set_f32(w, "gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 7);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, scores, 7);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, types, 7);
    int64_t ne1[1] = {32}, e2[2] = {32, 7}, q[2] = {32, 4}, k[2] = {256, 2};
    gguf_writer_add_tensor(w, "token_embd.weight", 2, e2, GGUF_TTYPE_F16, pattern, 32 * 7 * 2);
    gguf_writer_add_tensor(w, "blk.0.attn_norm.weight", 1, ne1, GGUF_TTYPE_F32, pattern, 128);
    gguf_writer_add_tensor(w, "blk.0.attn_q.weight", 2, q, GGUF_TTYPE_Q4_0, pattern, 4 * 18);
    gguf_writer_add_tensor(w, "blk.0.attn_k.weight", 2, q, GGUF_TTYPE_Q8_0, pattern, 4 * 34);
    gguf_writer_add_tensor(w, "blk.0.ffn_up.weight", 2, k, GGUF_TTYPE_Q4_K, pattern, 2 * 144);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: make_corpus DIR\n"); return 2; }
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)(i * 37 + 11);
    pp_err err;
    gguf_writer *w;

    gguf_writer_init(&w, &err);
    save(argv[1], "seed-empty.gguf", w, 0);
    gguf_writer_free(w);

    gguf_writer_init(&w, &err);
    mini_model(w);
    save(argv[1], "seed-mini.gguf", w, 0);
    save(argv[1], "seed-mini-v2.gguf", w, 2);
    gguf_writer_free(w);

    gguf_writer_init(&w, &err);
    gguf_writer_set_u32(w, "general.alignment", 64);
    uint8_t u8 = 200; int8_t i8 = -5; uint16_t u16 = 60000; int16_t i16 = -30000;
    uint64_t u64 = 1ull << 40; int64_t i64 = -(1ll << 40); double f64 = 3.25; bool b = true;
    gguf_writer_set_val(w, "t.u8", GGUF_VTYPE_UINT8, &u8);
    gguf_writer_set_val(w, "t.i8", GGUF_VTYPE_INT8, &i8);
    gguf_writer_set_val(w, "t.u16", GGUF_VTYPE_UINT16, &u16);
    gguf_writer_set_val(w, "t.i16", GGUF_VTYPE_INT16, &i16);
    gguf_writer_set_i32(w, "t.i32", -7);
    gguf_writer_set_u64(w, "t.u64", u64);
    gguf_writer_set_val(w, "t.i64", GGUF_VTYPE_INT64, &i64);
    gguf_writer_set_val(w, "t.f64", GGUF_VTYPE_FLOAT64, &f64);
    gguf_writer_set_val(w, "t.bool", GGUF_VTYPE_BOOL, &b);
    gguf_writer_set_str(w, "t.empty", "");
    int16_t a16[3] = {1, -2, 3};
    double af[2] = {0.5, -1e300};
    bool ab[3] = {true, false, true};
    gguf_writer_set_arr(w, "t.a_i16", GGUF_VTYPE_INT16, a16, 3);
    gguf_writer_set_arr(w, "t.a_f64", GGUF_VTYPE_FLOAT64, af, 2);
    gguf_writer_set_arr(w, "t.a_bool", GGUF_VTYPE_BOOL, ab, 3);
    gguf_writer_set_arr(w, "t.a_empty", GGUF_VTYPE_UINT8, NULL, 0);
    int64_t n3[3] = {4, 3, 2}, n4[4] = {2, 2, 2, 2}, nb[1] = {32};
    gguf_writer_add_tensor(w, "t3", 3, n3, GGUF_TTYPE_BF16, pattern, 24 * 2);
    gguf_writer_add_tensor(w, "t4", 4, n4, GGUF_TTYPE_I32, pattern, 16 * 4);
    gguf_writer_add_tensor(w, "iq4nl", 1, nb, GGUF_TTYPE_IQ4_NL, pattern, 18);
    save(argv[1], "seed-types.gguf", w, 0);
    gguf_writer_free(w);
    return 0;
}
