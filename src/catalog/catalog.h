/* catalog.h - a MODEL name or path to a GGUF file and its Modelfile defaults, for the CLI
 * and the server alike; the options table applied from JSON; the callbacks the store needs
 * (PARAMETER types, GGUF facts), so the store keeps depending on core only.
 *
 * Usage:
 *     catalog_params p = catalog_default_params();
 *     p.paths = true;                                    // the CLI: "m.gguf" is a file
 *     catalog_model m; pp_err err = {0};
 *     if (catalog_resolve(&p, "gemma3:4b", &m, &err) != PP_OK) die(err.msg);  // "model 'x' not found"
 *     ... m.path, m.m.system, m.m.params_json, m.template_ok, m.digest ...
 *     catalog_model_free(&m);
 *
 * Sources, in lookup order: a path (when p.paths), the operator's registered names
 * (`serve --model NAME=PATH`), the model store (src/store, shipped demo names registered on
 * first use), a directory of GGUF files (PIPPA_GGUF_DIR: "NAME.gguf" is "NAME:latest",
 * "NAME:TAG.gguf" "NAME:TAG", a sidecar "NAME[:TAG].json" {"system", "template",
 * "parameters"} holds what a Modelfile would). A client's name is validated by the store or
 * compared with names we listed; it never becomes a path.
 *
 * Depends on store, gguf and engine (the options table); used by cli and server.
 * Thread safety: every function is reentrant (each call opens the store it needs).
 */
#ifndef PIPPA_CATALOG_H
#define PIPPA_CATALOG_H

#include "../engine/engine.h"
#include "../store/store.h"

struct json_t;

/* ---- options (catalog_opts.c) -------------------------------------------------------- */

/* store_param_fn over the engine's options table: REFUSED rows are *deprecated. */
bool catalog_param_lookup(const char *name, store_param_type *type, bool *deprecated);

typedef enum catalog_opt_verdict {
    CATALOG_OPT_APPLIED,    /* an ENGINE or SAMPLER row, set */
    CATALOG_OPT_IGNORED,    /* NO_EFFECT row (type-checked) or a null value */
    CATALOG_OPT_DEPRECATED, /* REFUSED row: Ollama warns "deprecated and ignored" */
    CATALOG_OPT_UNKNOWN     /* not in the table: Ollama warns "invalid option provided" */
} catalog_opt_verdict;
/* One key of Ollama's JSON "options" object into o, with Ollama's type rules and messages
 * (`option "top_k" must be of type integer`, then the table's range messages). *stop_reset
 * starts false: the first "stop" array replaces the model's list. */
pp_status catalog_option_json(engine_options *o, const char *key, const struct json_t *v, bool *stop_reset,
                              catalog_opt_verdict *verdict, pp_err *err);
/* The whole object (NULL and null: nothing), all or nothing; warns (pp_log) about
 * deprecated and unknown names. The caller checks that options is an object (the server
 * says "field 'options': expected object, got array"). */
pp_status catalog_options_json(engine_options *o, const struct json_t *options, pp_err *err);

/* ---- GGUF facts (catalog_gguf.c) -------------------------------------------------------- */

/* store_gguf_info_fn: family, parameter count (Ollama's HumanNumber) and file type. */
pp_status catalog_gguf_info(const char *path, store_gguf_info *info, pp_err *err);

/* ---- models (catalog_resolve.c) -------------------------------------------------------- */

/* "fx" -> "fx:latest", lower-cased; PP_ERR_ARG for names with characters outside
 * [a-z0-9._-] (one ':' for the tag) or leading '.'/'-'. cap >= CATALOG_NAME_MAX. */
#define CATALOG_NAME_MAX 520
pp_status catalog_name_normalize(const char *in, char *out, size_t cap, pp_err *err);

typedef struct catalog_params {
    bool paths;                  /* a name ending in .gguf, or with '/' naming a file, is a path */
    bool messages;               /* load the MESSAGE layer into msg_role/msg_content */
    const char *const *reg_name; /* registered NAME=PATH pairs, looked up first */
    const char *const *reg_path;
    int n_registered;
    const char *gguf_dir;        /* NULL or "": none */
} catalog_params;
catalog_params catalog_default_params(void);

typedef struct catalog_model {
    char *path;                  /* the GGUF to load (owned) */
    char name[CATALOG_NAME_MAX];   /* "fx:latest", the store's display name, or the path given */
    bool from_store, readonly;   /* in the store; in Ollama's read-only store */
    store_model m;               /* the store's layers (m.system, m.tmpl, m.params_json, ...);
                                    for a registered or directory model only system, tmpl and
                                    params_json (from the sidecar) are set */
    char digest[65];             /* sha256 hex: the manifest id, else of "path size mtime" */
    uint64_t size;               /* bytes (config + layers for a store model) */
    int64_t modified;            /* unix seconds */
    bool template_ok;            /* TEMPLATE absent or a known Gemma 3 template */
    char **msg_role, **msg_content; /* the MESSAGE layer, in order (p.messages) */
    size_t n_msgs;
} catalog_model;

/* PP_ERR_NOT_FOUND "model 'x' not found"; a broken store entry or an invalid name is its
 * own error. The caller frees *out with catalog_model_free (also after an error). */
pp_status catalog_resolve(const catalog_params *p, const char *name, catalog_model *out, pp_err *err);
void catalog_model_free(catalog_model *m);
/* Every model: registered, then the store's, then the directory's (first name wins).
 * Caller frees with catalog_model_list_free. */
pp_status catalog_list(const catalog_params *p, catalog_model **out, size_t *n, pp_err *err);
void catalog_model_list_free(catalog_model *v, size_t n);


/* True when tmpl is NULL or a known Gemma 3 template (by digest, or by text with whitespace
 * removed): pippa renders Gemma 3 natively; any other template is not interpreted. */
bool catalog_template_is_gemma3(const char *tmpl, const char *digest);
/* The Ollama library's gemma3 TEMPLATE (the format pippa renders natively). */
const char *catalog_gemma3_template(void);

#endif
