/* cli_model.h - the CLI's bridge from a MODEL argument to a GGUF file and its defaults:
 * a path to a .gguf file, or a model name in the store, resolved by src/catalog (the
 * server's resolver too). Thread safety: main thread only. */
#ifndef PIPPA_CLI_MODEL_H
#define PIPPA_CLI_MODEL_H

#include <stdbool.h>

#include "../catalog/catalog.h"

/* path, from_store, m (the store's layers), msg_role/msg_content/n_msgs (MESSAGE layer). */
typedef catalog_model cli_model;

/* arg is a file when it ends in .gguf, or contains '/' and exists; otherwise a model name.
 * Prints the error ("pippa: model 'x' not found; try 'pippa pull x'") and returns 1; warns
 * about an ADAPTER layer and a custom TEMPLATE. */
int cli_model_resolve(const char *arg, cli_model *out);
void cli_model_free(cli_model *cm);

/* The model's params layer applied to o (the JSON options rules, catalog_option_json); a
 * value that does not apply is skipped with a warning, names pippa has no use for silently. */
void cli_model_apply_params(const cli_model *cm, engine_options *o);

/* The Ollama library's gemma3 TEMPLATE (the format pippa renders natively). */
const char *cli_gemma3_template(void);

/* Opens the store (PIPPA_MODELS / OLLAMA_MODELS); prints the error and returns 1. */
int cli_store_open(store **out);

#endif
