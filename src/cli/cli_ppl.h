/* cli_ppl.h - helpers shared by `pippa perplexity` and `pippa compare` (cmd_perplexity.c).
 * Each returns an exit status (0 ok, 1 error, 2 usage) after printing a one-line error. */
#ifndef PIPPA_CLI_PPL_H
#define PIPPA_CLI_PPL_H

#include <jansson.h>

#include "../engine/engine.h"

/* "<cmd>: <opt>: expected an integer in [lo, hi], got 's'" (exit 2). */
int cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/* Reads a text file (caller frees *text); an empty file is an error. */
int cli_ppl_read_text(const char *path, char **text, size_t *len);
/* Fails unless both vocabularies have the same size and token texts. */
int cli_ppl_check_vocab(const char *a_name, const tok_vocab *a, const char *b_name, const tok_vocab *b);
/* The KLD summary as a JSON object (names as in llama-ppl-ref.json where they exist). */
json_t *cli_kld_json(const engine_kld_summary *s);

#endif
