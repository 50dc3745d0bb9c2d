/* store.h - models by name: Ollama-compatible names, manifests and content-addressed blobs
 * (ollama-compat.md §4), Modelfiles (§2), `create` and registry pulls (§4.4).
 *
 * Usage:
 *     store *s; pp_err err = {0};
 *     store_open(NULL, NULL, &s, &err);              // $PIPPA_MODELS / $OLLAMA_MODELS
 *     store_model m;
 *     store_model_load(s, "gemma3:27b-it-qat", &m, &err);
 *     ... m.model_path (the GGUF blob), m.params_json, m.system ...
 *     store_model_free(&m); store_close(s);
 *
 * Layout (ours, under $PIPPA_MODELS, default ~/.pippa/models; Ollama's is the same):
 *     manifests/<host>/<namespace>/<model>/<tag>    raw manifest bytes
 *     blobs/sha256-<64 hex>                          content, named by its sha256
 *     blobs/sha256-<hex>-partial, -partial-<N>       an unfinished pull (§4.4)
 * An existing Ollama store ($OLLAMA_MODELS, default ~/.ollama/models) is read, never written.
 *
 * Invariants: a name is validated (store_name_parse) and a digest (store_digest_valid)
 * before any path is built from it, so no input can reach outside the store. Every file is
 * written to a temporary name and renamed into place; a manifest is written last, so a
 * failed create or pull never leaves a model listed.
 *
 * Thread safety: a store handle is used by one thread at a time; different processes may
 * share a store (renames are atomic).
 */
#ifndef PIPPA_STORE_H
#define PIPPA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

/* ---- names (ollama-compat.md §4.3) -------------------------------------------------- */

#define STORE_HOST_MAX 350
#define STORE_PART_MAX 80
#define STORE_DEFAULT_HOST "registry.ollama.ai"
#define STORE_DEFAULT_NAMESPACE "library"
#define STORE_DEFAULT_TAG "latest"

typedef struct store_name {
    char scheme[8]; /* "https" (default) or "http" */
    char host[STORE_HOST_MAX + 1];
    char ns[STORE_PART_MAX + 1];
    char model[STORE_PART_MAX + 1];
    char tag[STORE_PART_MAX + 1];
} store_name;

/* "[scheme://][host/][namespace/]model[:tag]" with Ollama's defaults. Errors:
 * "invalid model name '../x': ..." (PP_ERR_ARG). */
pp_status store_name_parse(const char *text, store_name *out, pp_err *err);
/* Shortest display form: "gemma3:4b", "hf.co/u/r:Q4_K_M", "me/m:latest". */
void store_name_display(const store_name *n, char *buf, size_t cap);
/* "registry.ollama.ai/library/gemma3:4b" */
void store_name_full(const store_name *n, char *buf, size_t cap);
/* Case-insensitive comparison of host, namespace, model and tag. */
bool store_name_eq(const store_name *a, const store_name *b);

/* "sha256:" + 64 lowercase hex digits. */
bool store_digest_valid(const char *digest);

/* ---- SHA-256 (libcrypto) ------------------------------------------------------------ */

/* hex: 65 bytes (64 hex + NUL). */
pp_status store_sha256_mem(const void *p, size_t n, char hex[65], pp_err *err);
pp_status store_sha256_file(const char *path, char hex[65], pp_err *err);

/* ---- Go encoding/json compatible output (§4.2 byte-exactness) ---------------------- */

/* Appends s as a Go JSON string ("\u003c" for <, etc.) to a growing buffer. */
typedef struct store_buf {
    char *p;
    size_t len, cap;
    bool oom;
} store_buf;
void store_buf_add(store_buf *b, const char *s, size_t n);
void store_buf_adds(store_buf *b, const char *s);
void store_buf_add_json_str(store_buf *b, const char *s, size_t n);
/* float32 value as Go prints it (shortest round-trip, %f style below 1e21). */
void store_buf_add_go_float32(store_buf *b, float v);
void store_buf_free(store_buf *b);

/* ---- Modelfile (§2) ----------------------------------------------------------------- */

typedef enum store_param_type {
    STORE_PARAM_INT, STORE_PARAM_FLOAT, STORE_PARAM_BOOL, STORE_PARAM_STRINGS
} store_param_type;
/* The type of a PARAMETER name, from the caller's options table (the store needs only core;
 * src/catalog's catalog_param_lookup reads the engine's): false for unknown names;
 * *deprecated for old names that are accepted with a warning and dropped. */
typedef bool (*store_param_fn)(const char *name, store_param_type *type, bool *deprecated);

typedef struct store_kv {
    char *key;   /* PARAMETER name, or MESSAGE role */
    char *value;
    int line;
} store_kv;

typedef struct store_modelfile {
    char *from;         /* FROM argument (name or path), NULL if absent */
    int from_line;
    char *tmpl, *system, *requires;
    store_kv *params;   /* in file order; deprecated ones dropped (with a warning) */
    size_t n_params;
    store_kv *messages;
    size_t n_messages;
    char **licenses;
    size_t n_licenses;
    char warnings[512]; /* "Modelfile:4: warning: parameter mirostat is deprecated\n"... */
} store_modelfile;

/* Parses Modelfile text; PARAMETER names and value types are checked with param. fname is
 * used in messages: "Modelfile:3: PARAMETER top_k: expected integer, got 'x'". Caller frees
 * with store_modelfile_free. */
pp_status store_modelfile_parse(const char *text, size_t len, const char *fname, store_param_fn param,
                                store_modelfile *out, pp_err *err);
void store_modelfile_free(store_modelfile *mf);

/* Modelfile text (store_mf_print.c): every value quoted so that store_modelfile_parse reads
 * it back exactly (bare when that is safe, else "...", """...""", or "..." with \" and
 * \\ escapes), so no value can start an instruction of its own. */
void store_modelfile_quote(store_buf *b, const char *value);
/* mf's instructions (FROM, TEMPLATE, SYSTEM, PARAMETER..., LICENSE..., MESSAGE..., REQUIRES):
 * store_modelfile_parse of the text gives mf again (less its warnings and line numbers).
 * Caller frees *out; len may be NULL. */
pp_status store_modelfile_print(const store_modelfile *mf, char **out, size_t *len, pp_err *err);

/* The params layer for a list of PARAMETERs: Go's JSON of the typed map + "\n"
 * ({"stop":["\u003cend_of_turn\u003e"],"temperature":1,...}). First value wins for
 * non-stop names (as Ollama). Caller frees *out. */
pp_status store_params_json(store_param_fn param, const store_kv *params, size_t n, char **out, size_t *len,
                            pp_err *err);
/* Same, merged over a base model's params layer (its keys kept unless set again), as
 * Ollama does for `FROM othermodel`. base_json may be NULL. */
pp_status store_params_json_merge(store_param_fn param, const char *base_json, const store_kv *params, size_t n,
                                  char **out, size_t *len, pp_err *err);
/* A JSON value re-encoded the way Go prints a decoded map[string]any (sorted keys,
 * float64 numbers in shortest form). */
void store_buf_add_go_json(store_buf *b, const void *jansson_value);
/* The messages layer: [{"role":"user","content":"..."},...] + "\n". */
pp_status store_messages_json(const store_kv *msgs, size_t n, char **out, size_t *len, pp_err *err);

/* ---- the store ---------------------------------------------------------------------- */

typedef struct store store;

/* root NULL: $PIPPA_MODELS, else ~/.pippa/models (created on first write).
 * ro_root NULL: $OLLAMA_MODELS, else ~/.ollama/models (read only; may not exist); "" = none. */
pp_status store_open(const char *root, const char *ro_root, store **out, pp_err *err);
void store_close(store *s);
const char *store_root(const store *s);
const char *store_ro_root(const store *s); /* NULL if none */
/* Whether store_remove prunes unreferenced blobs (default true; pippa's main turns it off
 * for PIPPA_NOPRUNE, like Ollama's OLLAMA_NOPRUNE). */
void store_set_prune(store *s, bool prune);

typedef struct store_layer {
    char media_type[128];
    char digest[72]; /* validated */
    uint64_t size;
} store_layer;

#define STORE_MANIFEST_MAX (4u << 20)
#define STORE_LAYERS_MAX 4096

typedef struct store_manifest {
    store_layer config;
    store_layer *layers;
    size_t n_layers;
    char *raw;       /* the file's bytes */
    size_t raw_len;
    char id[65];     /* sha256 hex of raw (`list` shows the first 12) */
    int64_t mtime;   /* seconds since the epoch */
    bool readonly;   /* found in the Ollama store */
} store_manifest;

/* Parses and validates manifest JSON (digests, sizes, media types). where names it. */
pp_status store_manifest_parse(const char *bytes, size_t len, const char *where, store_manifest *out,
                               pp_err *err);
void store_manifest_free(store_manifest *m);
/* Our store first, then Ollama's. Name lookup is case-insensitive.
 * Missing: PP_ERR_NOT_FOUND "model 'x' not found". */
pp_status store_manifest_load(const store *s, const store_name *n, store_manifest *out, pp_err *err);
/* Path of an existing blob (ours, then Ollama's) into buf. PP_ERR_NOT_FOUND if absent. */
pp_status store_blob_find(const store *s, const char *digest, char *buf, size_t cap, pp_err *err);
/* Path our store uses for a digest (may not exist). */
pp_status store_blob_path(const store *s, const char *digest, char *buf, size_t cap, pp_err *err);
/* Writes bytes as a blob (skipped if present); digest "sha256:<hex>" into digest_out[72]. */
pp_status store_blob_put(store *s, const void *p, size_t n, char digest_out[72], pp_err *err);
/* Copies a file into blobs (hashing it on the way). */
pp_status store_blob_put_file(store *s, const char *path, char digest_out[72], uint64_t *size_out, pp_err *err);
/* Writes raw manifest bytes for a name atomically (the last step of create/pull/cp). */
pp_status store_manifest_write(store *s, const store_name *n, const char *raw, size_t len, pp_err *err);

/* A model resolved from a name: its GGUF and text layers. */
typedef struct store_model {
    store_name name;
    char display[512];
    store_manifest manifest;
    char *model_path;     /* the GGUF blob */
    char *tmpl;           /* NULL when absent */
    char tmpl_digest[72];
    char *system;
    char *params_json;
    char *messages_json;
    char **licenses;
    size_t n_licenses;
    char *config_json;
    bool has_adapter, has_projector;
} store_model;
pp_status store_model_load(const store *s, const char *name, store_model *out, pp_err *err);
void store_model_free(store_model *m);
/* m as a Modelfile (`show --modelfile`, /api/show): three comment lines naming tool
 * ("\"pippa show\"") and display, then FROM from (the GGUF's path) and m's template, system,
 * params, licenses, messages and REQUIRES, quoted as store_modelfile_quote does, so that
 * creating a model from the text gives m's layers again. Caller frees *out; len may be NULL. */
pp_status store_model_modelfile(const store_model *m, const char *tool, const char *display, const char *from,
                                char **out, size_t *len, pp_err *err);

typedef struct store_entry {
    store_name name;
    char display[512];
    char id[65];
    uint64_t size; /* config + layers */
    int64_t mtime;
    bool readonly;
} store_entry;
/* Every model in our store and then the Ollama store's models not shadowed by ours,
 * sorted by mtime, newest first. Caller frees *out. */
pp_status store_list(const store *s, store_entry **out, size_t *n, pp_err *err);
/* Removes a model from our store and prunes blobs no manifest references any more (unless
 * store_set_prune turned that off). */
pp_status store_remove(store *s, const char *name, pp_err *err);
/* Copies src's manifest to dst (blobs are shared). */
pp_status store_copy(store *s, const char *src, const char *dst, pp_err *err);
/* Deletes blobs of our store that no manifest of ours references. */
pp_status store_prune(store *s, uint64_t *n_removed, pp_err *err);

/* ---- create ------------------------------------------------------------------------- */

/* What the caller (who can read GGUF) knows about the model file, for the config blob. */
typedef struct store_gguf_info {
    char family[64];     /* general.architecture, "gemma3" */
    char model_type[32]; /* parameter count, Ollama's HumanNumber: "4.3B", "999.89M" */
    char file_type[32];  /* "Q4_K_M" */
} store_gguf_info;
/* Looks at a GGUF file: filled by the caller's callback (the store needs only core). */
typedef pp_status (*store_gguf_info_fn)(const char *path, store_gguf_info *info, pp_err *err);

typedef void (*store_status_fn)(const char *line, void *ud);

/* Converts the model GGUF in_path into out_path (create --quantize); done by the caller,
 * who has the quant module. */
typedef pp_status (*store_convert_fn)(const char *in_path, const char *out_path, void *ud, pp_err *err);

typedef struct store_create_params {
    const char *modelfile_dir;    /* FROM paths are relative to it */
    store_gguf_info_fn gguf_info; /* NULL: config without family/type */
    store_param_fn param;         /* PARAMETER types; NULL: every PARAMETER is unknown */
    store_convert_fn convert;     /* NULL: the model layer is used as it is */
    store_status_fn status;       /* "using existing layer sha256:..." lines; may be NULL */
    void *ud;                     /* for status and convert */
} store_create_params;
store_create_params store_create_default_params(void);
/* Builds layers + config + manifest for name from a parsed Modelfile. */
pp_status store_create(store *s, const char *name, const store_modelfile *mf, store_create_params p,
                       pp_err *err);
/* Ollama's HumanNumber for parameter counts. */
void store_human_number(uint64_t n, char *buf, size_t cap);

/* ---- the shipped demo model (store_demo.c, docs/QAT.md) ------------------------------- */

/* models/pippa-demo: $PIPPA_DEMO_DIR, else ../models/pippa-demo beside the executable. */
pp_status store_demo_dir(char *buf, size_t cap, pp_err *err);
/* pippa-demo with tag latest, qat, f16 or ptq (default host and namespace). */
bool store_demo_is_name(const char *name);
/* Creates the store entry of a demo name from its shipped Modelfile (PP_ERR_NOT_FOUND when
 * name is not a demo name or the files are missing). Prints one line to stderr. */
pp_status store_demo_register(store *s, const char *name, store_gguf_info_fn info, store_param_fn param,
                              pp_err *err);
/* store_model_load, and for an absent demo name its registration first (the CLI and the
 * server resolve names through this). */
pp_status store_model_load_or_demo(store *s, const char *name, store_gguf_info_fn info, store_param_fn param,
                                   store_model *out, pp_err *err);

/* ---- pull (§4.4) -------------------------------------------------------------------- */

typedef struct store_progress {
    const char *digest; /* the blob */
    uint64_t total, completed;
    double rate;        /* bytes/s, average over this pull of the blob */
    bool done;
} store_progress;
typedef void (*store_progress_fn)(const store_progress *p, void *ud);

typedef struct store_pull_params {
    bool insecure;            /* allow http:// */
    int max_parts;            /* parallel ranges per blob (default 16) */
    uint64_t part_size;       /* 0 = Ollama's total/16 clamped to [100 MB, 1000 MB] */
    int retries;              /* per part (default 6; backoff 1 s, 2 s, 4 s ...) */
    store_status_fn status;   /* "pulling manifest", "verifying sha256 digest", ... */
    store_progress_fn progress;
    void *ud;
} store_pull_params;
store_pull_params store_pull_default_params(void);
/* Initialises the network library (libcurl's global state) once for the process. Call it
 * from main before any thread starts and before the first store_pull: it is not thread-safe
 * (curl_global_init is not), which is why store_pull does not do it lazily. */
pp_status store_global_init(pp_err *err);
/* Needs store_global_init to have succeeded (asserted). Safe from several threads at once,
 * each with its own store handle. */
pp_status store_pull(store *s, const char *name, store_pull_params p, pp_err *err);

#endif
