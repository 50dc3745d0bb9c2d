/* tok.h - Gemma 3 tokenizer: SentencePiece-style BPE driven by piece scores, exactly as
 * llama.cpp runs it for `tokenizer.ggml.model = "llama"` (ref: shared/spec/tokenizer.md).
 *
 * Usage:
 *     tok_vocab *v; pp_err err;
 *     if (tok_vocab_init_from_gguf(f, &v, &err) != PP_OK) die(err.msg);
 *     int32_t *ids; size_t n;
 *     tok_encode_alloc(v, text, strlen(text), true, true, &ids, &n, &err); // BOS + specials
 *     char buf[256];
 *     size_t len = tok_piece(v, ids[1], false, buf, sizeof buf);        // bytes of one token
 *     tok_stream st; tok_stream_init(&st);                               // UTF-8 safe stream
 *     char out[TOK_STREAM_OUT_MAX(sizeof buf)];
 *     size_t m = tok_stream_feed(&st, buf, len, out);  ... m = tok_stream_flush(&st, out);
 *     free(ids); tok_vocab_free(v);
 *
 * Thread safety: a tok_vocab is immutable after init; any number of threads may encode and
 * decode with it at once (each call uses its own scratch memory). A tok_stream belongs to
 * one thread.
 * Ownership: the vocab copies everything it needs (it does not borrow the gguf_file or the
 * params arrays). Views returned by accessors are valid until tok_vocab_free.
 */
#ifndef PIPPA_TOK_H
#define PIPPA_TOK_H

#include "../core/core.h"
#include "../gguf/gguf.h"

/* Token types as stored in `tokenizer.ggml.token_type` (llama.cpp llama_token_type). */
typedef enum tok_type {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,
    TOK_TYPE_USER_DEFINED = 4,
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6,
    TOK_TYPE_COUNT
} tok_type;

/* Limits on hostile input. */
#define TOK_MAX_VOCAB (1u << 24)          /* entries */
#define TOK_MAX_TOKEN_LEN (1u << 16)      /* bytes of one token text */
#define TOK_MAX_TEXT_LEN ((size_t)1 << 30) /* bytes of one text to encode */

typedef struct tok_vocab tok_vocab;

/* A vocabulary from plain arrays (tests, tools). Fields not set by the caller keep the
 * values of tok_vocab_default_params(), which are llama.cpp's SPM defaults for a GGUF that
 * lacks the keys (bos 1, eos 2, unk 0, no pad/eot/eom, add_bos true, add_eos false,
 * add_space_prefix true). Special ids < 0 mean "none". */
typedef struct tok_vocab_params {
    const char *name;           /* used as prefix in error messages ("fx.gguf"), may be NULL */
    uint32_t n_vocab;
    const char *const *texts;   /* n_vocab token texts (required) */
    const size_t *text_lens;    /* byte lengths, or NULL: texts are NUL-terminated */
    const float *scores;        /* NULL: all 0 */
    const int32_t *types;       /* tok_type values, NULL: all NORMAL */
    int32_t bos_id, eos_id, unk_id, pad_id, eot_id, eom_id;
    bool add_bos, add_eos, add_space_prefix;
} tok_vocab_params;

tok_vocab_params tok_vocab_default_params(void);

/* Builds a vocabulary. Checks: n_vocab in [1, TOK_MAX_VOCAB], unique texts (the error names
 * both ids), token text length <= TOK_MAX_TOKEN_LEN. Special ids >= n_vocab are ignored with
 * a warning (the default is kept when it is in range, else none). Applies llama.cpp's
 * load-time fix-ups (tokenizer.md §2): empty text -> "[EMPTY_<id>]", EOT auto-detection,
 * end-of-generation set, CONTROL forced for end-of-generation texts (incl. `</s>`).
 * Caller frees *out with tok_vocab_free. */
pp_status tok_vocab_init(const tok_vocab_params *p, tok_vocab **out, pp_err *err);

/* Reads the tokenizer.ggml.* keys of an open GGUF (spec gguf.md §6.17): tokens (STRING
 * array) required; scores FLOAT32 and token_type INT32 with the same length when present;
 * `tokenizer.ggml.model` must be "llama" (anything else is PP_ERR_UNSUPPORTED naming it). */
pp_status tok_vocab_init_from_gguf(const gguf_file *f, tok_vocab **out, pp_err *err);

void tok_vocab_free(tok_vocab *v); /* NULL-safe */

/* Accessors (pure getters). Special ids are -1 when absent. */
uint32_t tok_n_vocab(const tok_vocab *v);
int32_t tok_bos(const tok_vocab *v);
int32_t tok_eos(const tok_vocab *v);
int32_t tok_eot(const tok_vocab *v);
int32_t tok_eom(const tok_vocab *v);
int32_t tok_pad(const tok_vocab *v);
int32_t tok_unk(const tok_vocab *v);
bool tok_add_bos(const tok_vocab *v);
bool tok_add_eos(const tok_vocab *v);
bool tok_add_space_prefix(const tok_vocab *v);
/* End of generation (eos, eot, eom and the texts of tokenizer.md §2). False for bad ids. */
bool tok_is_eog(const tok_vocab *v, int32_t id);
/* Number of end-of-generation ids and the i-th one (ascending). */
uint32_t tok_n_eog(const tok_vocab *v);
int32_t tok_eog_at(const tok_vocab *v, uint32_t i);
/* Stored text ("▁" for spaces in NORMAL pieces) after fix-ups; empty view for bad ids. */
pp_view tok_text(const tok_vocab *v, int32_t id);
/* Type after fix-ups (forced CONTROL etc.); types outside 0..6 read as UNDEFINED.
 * TOK_TYPE_UNDEFINED for bad ids. */
tok_type tok_get_type(const tok_vocab *v, int32_t id);
float tok_score(const tok_vocab *v, int32_t id);
/* Id of the token whose text is exactly these bytes, or -1. O(1) (hash table). */
int32_t tok_find(const tok_vocab *v, const char *text, size_t len);

/* ---- Encoding (tokenizer.md §3) ----
 * add_special: prepend BOS when add_bos (and append EOS when add_eos).
 * parse_special: CONTROL/UNKNOWN token texts in the input become their ids; USER_DEFINED
 * texts are always split out. Writes at most cap ids to out and sets *n_out to the full
 * count; returns PP_ERR_ARG ("output buffer too small") when cap < *n_out. */
pp_status tok_encode(const tok_vocab *v, const char *text, size_t len, bool add_special,
                     bool parse_special, int32_t *out, size_t cap, size_t *n_out, pp_err *err);
/* Same, into a malloc'd array the caller frees (*out is NULL when *n_out is 0). */
pp_status tok_encode_alloc(const tok_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, int32_t **out, size_t *n_out, pp_err *err);

/* ---- Decoding (tokenizer.md §4) ----
 * The bytes of one token: CONTROL/UNKNOWN -> text only when special, else empty;
 * USER_DEFINED -> text verbatim; NORMAL -> text with "▁" replaced by ' '; BYTE -> the raw
 * byte; UNUSED/UNDEFINED/bad id -> empty. Writes min(cap, size) bytes (no NUL) and returns
 * the full size in bytes. */
size_t tok_piece(const tok_vocab *v, int32_t id, bool special, char *buf, size_t cap);
/* Concatenated pieces into a malloc'd NUL-terminated string (*len excludes the NUL).
 * remove_special drops a leading BOS (when add_bos) and a trailing EOS (when add_eos).
 * The bytes are not UTF-8 validated (use tok_stream for display). */
pp_status tok_detokenize(const tok_vocab *v, const int32_t *ids, size_t n, bool remove_special,
                         bool unparse_special, char **out, size_t *len, pp_err *err);

/* Streaming UTF-8 assembler: byte tokens can split a character across tokens, so bytes are
 * buffered and only complete characters are emitted, never half a character. Invalid input
 * is replaced, never passed through: each maximal ill-formed subpart (Unicode §3.9 "U+FFFD
 * substitution of maximal subparts", the same as Python's errors="replace" and WHATWG)
 * becomes one U+FFFD (EF BF BD). Overlongs, surrogates and code points > U+10FFFF are
 * ill-formed. An incomplete sequence pending at flush also becomes one U+FFFD.
 * Plain struct, no allocation; zero-initialized == tok_stream_init. */
typedef struct tok_stream {
    uint8_t pend[4];
    uint32_t n_pend; /* bytes of an incomplete but so far valid sequence */
} tok_stream;
/* Output room tok_stream_feed needs for n input bytes (worst case: every byte invalid). */
#define TOK_STREAM_OUT_MAX(n) (3 * ((size_t)(n) + 4))
void tok_stream_init(tok_stream *s);
/* Appends n bytes; writes the completed characters to out (room for TOK_STREAM_OUT_MAX(n)
 * bytes) and returns how many bytes were written. */
size_t tok_stream_feed(tok_stream *s, const char *in, size_t n, char *out);
/* Ends the stream: a pending incomplete sequence becomes U+FFFD. out needs 3 bytes.
 * Returns the bytes written; the stream is reset. */
size_t tok_stream_flush(tok_stream *s, char *out);

#endif
