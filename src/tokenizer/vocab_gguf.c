/* vocab_gguf.c - reads the tokenizer.ggml.* keys of a GGUF into a tok_vocab.
 * Validation (spec gguf.md §6.17): tokens present; scores FLOAT32 and token_type INT32 with
 * the same length as tokens; `tokenizer.ggml.model` == "llama" (SentencePiece path; other
 * tokenizers are unsupported); special ids < n_vocab (warn, keep the default; in
 * tok_vocab_init). Absent keys take llama.cpp's SPM defaults (tokenizer.md §1).
 * ref: shared/spec/tokenizer.md §1, llama.cpp src/llama-vocab.cpp load(). */
#include "tok_internal.h"

#include <stdlib.h>

/* Optional u32 special id: absent keeps *id; present and valid replaces it. */
static pp_status opt_id(const gguf_file *f, const char *key, int32_t *id, pp_err *err) {
    if (!gguf_find_kv(f, key)) return PP_OK;
    uint32_t u;
    pp_status st = gguf_get_u32(f, key, &u, err);
    if (st != PP_OK) return st;
    /* out-of-range ids are reported (and replaced) by tok_vocab_init */
    *id = u > (uint32_t)INT32_MAX ? INT32_MAX : (int32_t)u;
    return PP_OK;
}

static pp_status opt_bool(const gguf_file *f, const char *key, bool *b, pp_err *err) {
    if (!gguf_find_kv(f, key)) return PP_OK;
    return gguf_get_bool(f, key, b, err);
}

pp_status tok_vocab_init_from_gguf(const gguf_file *f, tok_vocab **out, pp_err *err) {
    if (!f || !out) return pp_err_set(err, PP_ERR_ARG, "tok_vocab_init_from_gguf: NULL argument");
    const char *name = gguf_name(f);
    pp_view model;
    pp_status st = gguf_get_str(f, "tokenizer.ggml.model", &model, err);
    if (st != PP_OK) return st;
    if (!pp_view_eq(model, "llama")) {
        char buf[64];
        size_t n = model.len < sizeof buf - 1 ? model.len : sizeof buf - 1;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)model.ptr[i];
            buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
        }
        buf[n] = 0;
        return pp_err_set(err, PP_ERR_UNSUPPORTED,
                          "%s: key 'tokenizer.ggml.model': tokenizer '%s' is not supported (only "
                          "'llama', the SentencePiece tokenizer of Gemma 3)",
                          name, buf);
    }

    const gguf_kv *tokens = NULL, *scores = NULL, *types = NULL;
    st = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VTYPE_STRING, &tokens, err);
    if (st != PP_OK) return st;
    uint64_t n = tokens->arr_count;
    if (n == 0 || n > TOK_MAX_VOCAB)
        return pp_err_set(err, PP_ERR_FORMAT,
                          "%s: key 'tokenizer.ggml.tokens': %llu tokens, expected 1..%u", name,
                          (unsigned long long)n, TOK_MAX_VOCAB);
    if (gguf_find_kv(f, "tokenizer.ggml.scores")) {
        st = gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_VTYPE_FLOAT32, &scores, err);
        if (st != PP_OK) return st;
        if (scores->arr_count != n)
            return pp_err_set(err, PP_ERR_FORMAT,
                              "%s: key 'tokenizer.ggml.scores': %llu entries, expected %llu (one "
                              "per token)",
                              name, (unsigned long long)scores->arr_count, (unsigned long long)n);
    }
    if (gguf_find_kv(f, "tokenizer.ggml.token_type")) {
        st = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_VTYPE_INT32, &types, err);
        if (st != PP_OK) return st;
        if (types->arr_count != n)
            return pp_err_set(err, PP_ERR_FORMAT,
                              "%s: key 'tokenizer.ggml.token_type': %llu entries, expected %llu "
                              "(one per token)",
                              name, (unsigned long long)types->arr_count, (unsigned long long)n);
    }

    tok_vocab_params p = tok_vocab_default_params();
    p.name = name;
    p.n_vocab = (uint32_t)n;
    const char **texts = malloc(n * sizeof *texts);
    size_t *lens = malloc(n * sizeof *lens);
    float *sc = scores ? malloc(n * sizeof *sc) : NULL;
    int32_t *ty = types ? malloc(n * sizeof *ty) : NULL;
    if (!texts || !lens || (scores && !sc) || (types && !ty)) {
        st = pp_err_set(err, PP_ERR_NOMEM, "%s: out of memory reading %llu tokens", name,
                        (unsigned long long)n);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        pp_view t = gguf_arr_str(tokens, i);
        texts[i] = t.len ? t.ptr : "";
        lens[i] = t.len;
        if (sc) sc[i] = (float)gguf_arr_f64(scores, i);
        if (ty) {
            int64_t x = gguf_arr_i64(types, i);
            ty[i] = (x >= 0 && x < TOK_TYPE_COUNT) ? (int32_t)x : TOK_TYPE_UNDEFINED;
        }
    }
    p.texts = texts;
    p.text_lens = lens;
    p.scores = sc;
    p.types = ty;
    if ((st = opt_id(f, "tokenizer.ggml.bos_token_id", &p.bos_id, err)) != PP_OK ||
        (st = opt_id(f, "tokenizer.ggml.eos_token_id", &p.eos_id, err)) != PP_OK ||
        (st = opt_id(f, "tokenizer.ggml.unknown_token_id", &p.unk_id, err)) != PP_OK ||
        (st = opt_id(f, "tokenizer.ggml.padding_token_id", &p.pad_id, err)) != PP_OK ||
        (st = opt_id(f, "tokenizer.ggml.eot_token_id", &p.eot_id, err)) != PP_OK ||
        (st = opt_id(f, "tokenizer.ggml.eom_token_id", &p.eom_id, err)) != PP_OK ||
        (st = opt_bool(f, "tokenizer.ggml.add_bos_token", &p.add_bos, err)) != PP_OK ||
        (st = opt_bool(f, "tokenizer.ggml.add_eos_token", &p.add_eos, err)) != PP_OK ||
        (st = opt_bool(f, "tokenizer.ggml.add_space_prefix", &p.add_space_prefix, err)) != PP_OK)
        goto done;
    st = tok_vocab_init(&p, out, err);
done:
    free(texts);
    free(lens);
    free(sc);
    free(ty);
    return st;
}
