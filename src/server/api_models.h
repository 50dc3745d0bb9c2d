/* api_models.h - model names -> files (api_models.c) and the store glue shared by the
 * management endpoints (api_store.c). No HTTP here: handlers are in api_handlers.h. */
#ifndef PIPPA_API_MODELS_H
#define PIPPA_API_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api_state.h"

typedef struct api_model {
    char name[API_NAME_MAX];      /* display name, always tagged: "fx:latest" */
    char path[API_PATH_MAX];      /* GGUF file */
    char digest[65];              /* sha256 hex identifying this model version */
    uint64_t size;                /* bytes */
    int64_t modified;             /* unix seconds */
    char *system;                 /* default system prompt or NULL (owned) */
    char *template_text;          /* model's template text or NULL (owned) */
    json_t *params;               /* model's options object or NULL (owned reference) */
    char *license;                /* NULL when none (owned) */
    char *modelfile;              /* /api/show's Modelfile text, only from show's resolve (owned) */
    json_t *details;              /* tags/show details from the store's config, or NULL */
    bool from_store, readonly;    /* found in the store; in Ollama's read-only store */
} api_model;

/* The one place a model name becomes a file. PP_ERR_NOT_FOUND: "model 'x' not found". */
pp_status api_model_resolve(api_server *srv, const char *name, api_model *out, pp_err *err);
void api_model_clear(api_model *m);
struct store;
/* Opens the model store ($PIPPA_MODELS, read-only $OLLAMA_MODELS) with the server's
 * configuration applied (no_prune). Caller store_close()s. */
pp_status api_store_open(const api_server *srv, struct store **out, pp_err *err);
/* All models (caller frees with api_model_list_free). */
pp_status api_model_list(api_server *srv, api_model **out, size_t *n, pp_err *err);
void api_model_list_free(api_model *v, size_t n);
/* "fx" -> "fx:latest", lower-cased; PP_ERR_ARG for names with characters outside
 * [a-z0-9._-] (one ':' for the tag) or leading '.'/'-'. */
pp_status api_name_normalize(const char *in, char *out, size_t cap, pp_err *err);
/* The request's "model" (or deprecated "name") field; 400 "model is required". */
pp_status api_model_field(const json_t *req, const char **out, pp_err *err);
/* details object shared by tags/ps/show */
json_t *api_model_details(const api_model *m);

#endif
