/* cli_eval.h - helpers shared by `pippa perplexity`, `pippa compare` and `pippa bench`
 * (cmd_perplexity.c, cli_speed.c). The int-returning ones return an exit status (0 ok,
 * 1 error, 2 usage) after printing a one-line error. */
#ifndef PIPPA_CLI_EVAL_H
#define PIPPA_CLI_EVAL_H

#include <jansson.h>

#include "../engine/engine.h"

/* Reads a text file (caller frees *text); an empty file is an error. */
int cli_ppl_read_text(const char *path, char **text, size_t *len);
/* Fails unless both vocabularies have the same size and token texts. */
int cli_ppl_check_vocab(const char *a_name, const tok_vocab *a, const char *b_name, const tok_vocab *b);
/* The KLD summary as a JSON object (names as in llama-ppl-ref.json where they exist). */
json_t *cli_kld_json(const engine_kld_summary *s);

/* Speed (cli_speed.c). n pseudo-random token ids (fixed seed, the same in every run). */
void cli_bench_tokens(int32_t *toks, long n, uint32_t n_vocab);
/* One timed run from an empty cache: n tokens prefilled as one batch (logits for the last
 * only), or n tokens decoded one at a time. logits: n_vocab floats. */
pp_status cli_bench_once(model_ctx *c, const int32_t *toks, long n, bool decode, float *logits, double *tok_s,
                         pp_err *err);

/* ---- compare (cmd_compare.c, compare_html.c) ---- */
typedef struct cli_compare_row {
    const char *path, *name;         /* name: base name of path */
    const char *weight_type;         /* majority 2-D weight type, e.g. "Q4_0" */
    uint64_t file_bytes, weight_bytes;
    uint64_t resident_bytes;         /* weights resident after the runs: mapped + packed */
    uint64_t mapped_resident_bytes;  /* resident part of the file mapping */
    uint64_t packed_bytes;           /* heap copies repacked at load (model_packed_bytes) */
    const char *resident_method;     /* how the mapping was measured: "smaps Rss", "mincore", "n/a" */
    uint32_t n_ctx_train, n_ctx;
    uint64_t kv_bytes_train, kv_bytes_ctx;
    double load_ms, prefill_tps, decode_tps;
    bool have_ppl, have_kld;
    double ppl, ppl_err;
    engine_kld_summary kld;          /* against the first model (have_kld: rows 1..) */
    char *answer;                    /* malloc'd, NUL-terminated */
} cli_compare_row;
typedef struct cli_compare_info {
    const char *text_path, *prompt;
    int64_t seed;
    uint32_t n_ctx, n_chunks, n_prefill, n_decode;
    int n_predict;
} cli_compare_info;
/* Writes the self-contained HTML report (inline CSS and SVG, no scripts, no external
 * references) to path. Returns an exit status. */
int cli_compare_write_html(const char *path, const cli_compare_info *info, const cli_compare_row *rows, size_t n);

#endif
