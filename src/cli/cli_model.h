/* cli_model.h - the CLI's bridge from a MODEL argument to a GGUF file and its defaults:
 * a path to a .gguf file, or a model name in the store (src/store). Also GGUF facts for
 * `create` and `show`. Thread safety: main thread only. */
#ifndef PIPPA_CLI_MODEL_H
#define PIPPA_CLI_MODEL_H

#include <stdbool.h>

#include "../engine/engine.h"
#include "../store/store.h"

typedef struct cli_model {
    char *path;          /* the GGUF to load (owned) */
    bool from_store;
    store_model m;       /* valid when from_store */
    char **msg_role, **msg_content; /* the MESSAGE layer, in order */
    size_t n_msgs;
} cli_model;

/* arg is a file when it ends in .gguf, or contains '/' and exists; otherwise a model name.
 * Prints the error ("pippa: model 'x' not found; try 'pippa pull x'") and returns 1. */
int cli_model_resolve(const char *arg, cli_model *out);
void cli_model_free(cli_model *cm);

/* The model's params layer applied to o (JSON options -> engine_options_set; arrays ->
 * repeated names). Names pippa has no use for are skipped. */
void cli_model_apply_params(const cli_model *cm, engine_options *o);
/* True when the model's TEMPLATE is absent or a known Gemma 3 template (the native
 * renderer is used either way; false means "custom template", which we warn about). */
bool cli_model_template_is_gemma3(const char *tmpl, const char *digest);

/* The Ollama library's gemma3 TEMPLATE (the format pippa renders natively). */
const char *cli_gemma3_template(void);

/* Opens the store (PIPPA_MODELS / OLLAMA_MODELS); prints the error and returns 1. */
int cli_store_open(store **out);
/* store_gguf_info_fn for create: architecture, parameter count, file type of a GGUF. */
pp_status cli_gguf_info(const char *path, store_gguf_info *info, pp_err *err);
/* llama.cpp file type name ("Q4_K_M") for general.file_type; NULL if unknown. */
const char *cli_file_type_name(uint32_t ftype);

#endif
