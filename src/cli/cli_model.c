/* cli_model.c - MODEL arguments for the CLI: src/catalog resolves them (a .gguf path or a
 * store name, ollama-compat.md §4); this file adds the CLI's words: the error with its
 * "try 'pippa pull'" hint, the warnings, and the params layer applied leniently. */
#include "cli_model.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

const char *cli_gemma3_template(void) { return catalog_gemma3_template(); }

int cli_store_open(store **out) {
    pp_err err = {0};
    if (store_open(NULL, NULL, out, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    return 0;
}

int cli_model_resolve(const char *arg, cli_model *out) {
    catalog_params p = catalog_default_params();
    p.paths = true;
    p.messages = true;
    pp_err err = {0};
    pp_status st = catalog_resolve(&p, arg, out, &err);
    if (st != PP_OK) {
        if (st == PP_ERR_NOT_FOUND && !strncmp(err.msg, "model '", 7) && strstr(err.msg, "' not found"))
            cli_error("%s; try 'pippa pull %s'", err.msg, arg);
        else
            cli_error("%s", err.msg);
        catalog_model_free(out);
        return 1;
    }
    if (!out->from_store) return 0;
    if (out->m.has_adapter) fprintf(stderr, "pippa: warning: model '%s' has an ADAPTER layer (LoRA), which is not supported yet; it is ignored\n", out->m.display);
    if (!out->template_ok)
        fprintf(stderr, "pippa: warning: model '%s': custom TEMPLATE is not supported yet; using the Gemma 3 chat format\n",
                out->m.display);
    return 0;
}

void cli_model_free(cli_model *cm) { catalog_model_free(cm); }

void cli_model_apply_params(const cli_model *cm, engine_options *o) {
    if (!cm->from_store || !cm->m.params_json) return;
    json_error_t je;
    json_t *root = json_loads(cm->m.params_json, 0, &je);
    if (!json_is_object(root)) {
        fprintf(stderr, "pippa: warning: model '%s': params layer is not a JSON object; ignored\n", cm->m.display);
        json_decref(root);
        return;
    }
    const char *key;
    json_t *v;
    bool stop_reset = false;
    json_object_foreach(root, key, v) {
        engine_options t = *o; /* a value that does not apply leaves o as it was */
        bool r = stop_reset;
        catalog_opt_verdict verdict;
        pp_err err = {0};
        if (catalog_option_json(&t, key, v, &r, &verdict, &err) != PP_OK) {
            fprintf(stderr, "pippa: warning: model '%s': parameter ignored: %s\n", cm->m.display, err.msg);
            continue;
        }
        *o = t;
        stop_reset = r;
    }
    json_decref(root);
}
