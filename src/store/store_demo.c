/* store_demo.c - the shipped demo model (models/pippa-demo, docs/QAT.md) enters the store on
 * first use: `pippa run pippa-demo` works offline on a fresh machine.
 *
 * A name is a demo name when it is registry.ollama.ai/library/pippa-demo with one of the tags
 * below; its Modelfile (models/pippa-demo/Modelfile.TAG, FROM a GGUF beside it) goes through
 * store_create like `pippa create`, so the entry is an ordinary store model afterwards (rm,
 * cp, show, list all apply). The directory is $PIPPA_DEMO_DIR, else ../models/pippa-demo
 * next to the running executable (build/pippa in a checkout). */
#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct {
    const char *tag, *file;
} demo_tags[] = {
    {"latest", "Modelfile.qat"}, /* the QAT Q4_0 model is the default, as Google ships it */
    {"qat", "Modelfile.qat"},
    {"f16", "Modelfile.f16"},
    {"ptq", "Modelfile.ptq"},
};

pp_status store_demo_dir(char *buf, size_t cap, pp_err *err) {
    const char *env = getenv("PIPPA_DEMO_DIR");
    if (env && env[0]) {
        if ((size_t)snprintf(buf, cap, "%s", env) >= cap)
            return pp_err_set(err, PP_ERR_ARG, "PIPPA_DEMO_DIR is too long");
        return PP_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return pp_err_set(err, PP_ERR_NOT_FOUND, "cannot find the running executable (set PIPPA_DEMO_DIR)");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    if ((size_t)snprintf(buf, cap, "%s/../models/pippa-demo", exe) >= cap)
        return pp_err_set(err, PP_ERR_ARG, "demo model directory path is too long");
    return PP_OK;
}

/* The shipped Modelfile of a demo name, NULL for any other name. */
static const char *demo_modelfile(const store_name *n) {
    if (strcasecmp(n->host, STORE_DEFAULT_HOST) || strcasecmp(n->ns, STORE_DEFAULT_NAMESPACE) ||
        strcasecmp(n->model, "pippa-demo"))
        return NULL;
    for (size_t i = 0; i < sizeof demo_tags / sizeof demo_tags[0]; i++)
        if (!strcasecmp(n->tag, demo_tags[i].tag)) return demo_tags[i].file;
    return NULL;
}

bool store_demo_is_name(const char *name) {
    store_name n;
    pp_err e;
    return store_name_parse(name, &n, &e) == PP_OK && demo_modelfile(&n) != NULL;
}

pp_status store_demo_register(store *s, const char *name, store_gguf_info_fn info, store_param_fn param,
                              pp_err *err) {
    store_name n;
    if (store_name_parse(name, &n, err) != PP_OK) return err->status;
    const char *mfname = demo_modelfile(&n);
    if (!mfname) return pp_err_set(err, PP_ERR_NOT_FOUND, "model '%s' is not a shipped demo model", name);
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (store_demo_dir(dir, sizeof dir, err) != PP_OK) return err->status;
    snprintf(path, sizeof path, "%s/%s", dir, mfname);
    char *text = NULL;
    size_t len = 0;
    if (pp_read_file(path, &text, &len, 1u << 20, err) != PP_OK) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return pp_err_set(err, PP_ERR_NOT_FOUND, "demo model '%s': %s (the shipped models/pippa-demo directory; set PIPPA_DEMO_DIR)",
                          name, why);
    }
    store_modelfile mf;
    pp_status st = store_modelfile_parse(text, len, path, param, &mf, err);
    free(text);
    if (st != PP_OK) return st;
    store_create_params p = store_create_default_params();
    p.modelfile_dir = dir;
    p.gguf_info = info;
    p.param = param;
    char display[512];
    store_name_display(&n, display, sizeof display);
    fprintf(stderr, "pippa: first use of %s: adding it to the store from %s\n", display, dir);
    st = store_create(s, name, &mf, p, err);
    store_modelfile_free(&mf);
    if (st != PP_OK) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return pp_err_set(err, st, "demo model '%s': %s", display, why);
    }
    return PP_OK;
}

pp_status store_model_load_or_demo(store *s, const char *name, store_gguf_info_fn info, store_param_fn param,
                                   store_model *out, pp_err *err) {
    pp_status st = store_model_load(s, name, out, err);
    if (st != PP_ERR_NOT_FOUND || !store_demo_is_name(name)) return st;
    st = store_demo_register(s, name, info, param, err);
    return st == PP_OK ? store_model_load(s, name, out, err) : st;
}
