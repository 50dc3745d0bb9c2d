/* test_catalog.c - the one resolver of the CLI and the server (src/catalog): paths, registered
 * names, store models with their layers, a GGUF directory with sidecars, the list, the error
 * messages; and the GGUF summary behind the store's config blob. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "gguf/gguf.h"

static char g_tmp[512];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void path_in_tmp(char *buf, size_t cap, const char *rel) { snprintf(buf, cap, "%s/%s", g_tmp, rel); }

static void test_paths_and_cli_names(void) {
    catalog_params p = catalog_default_params();
    p.paths = true;
    catalog_model m;
    pp_err err = {0};
    T_CHECK(catalog_resolve(&p, "some/where.gguf", &m, &err) == PP_OK);
    T_CHECK(!strcmp(m.path, "some/where.gguf") && !m.from_store && m.template_ok);
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "nosuch", &m, &err) == PP_ERR_NOT_FOUND);
    T_CHECK_MSG(!strcmp(err.msg, "model 'nosuch:latest' not found"), "%s", err.msg);
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "../x", &m, &err) == PP_ERR_ARG);
    T_CHECK_MSG(strstr(err.msg, "invalid model name '../x'") == err.msg, "%s", err.msg);
    catalog_model_free(&m);
}

static void test_server_sources(void) {
    char fx[600], gone[600], dir[600], side[700], dm[700];
    path_in_tmp(fx, sizeof fx, "fx.gguf");
    path_in_tmp(gone, sizeof gone, "gone.gguf");
    path_in_tmp(dir, sizeof dir, "dir");
    write_file(fx, "0123456789");
    char cmd[800];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    T_CHECK(system(cmd) == 0);
    snprintf(dm, sizeof dm, "%s/m1.gguf", dir);
    snprintf(side, sizeof side, "%s/m1.json", dir);
    write_file(dm, "abc");
    write_file(side, "{\"system\":\"hi\",\"parameters\":{\"top_k\":5,\"top_p\":0.5}}");
    const char *names[] = {"Fx", "gone", "m1"};
    const char *paths[] = {fx, gone, fx};
    catalog_params p = catalog_default_params();
    p.reg_name = names;
    p.reg_path = paths;
    p.n_registered = 3;
    p.gguf_dir = dir;
    catalog_model m;
    pp_err err = {0};
    T_CHECK(catalog_resolve(&p, "fx", &m, &err) == PP_OK);
    T_CHECK(!strcmp(m.name, "fx:latest") && !strcmp(m.path, fx) && m.size == 10 && strlen(m.digest) == 64);
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "gone", &m, &err) == PP_ERR_NOT_FOUND);
    T_CHECK_MSG(!strcmp(err.msg, "model 'gone:latest' not found"), "%s", err.msg);
    catalog_model_free(&m);
    p.n_registered = 2; /* m1 from the directory, with its sidecar */
    T_CHECK(catalog_resolve(&p, "M1:latest", &m, &err) == PP_OK);
    T_CHECK(!strcmp(m.name, "m1:latest") && m.size == 3 && m.m.system && !strcmp(m.m.system, "hi"));
    T_CHECK_MSG(m.m.params_json && !strcmp(m.m.params_json, "{\"top_k\":5,\"top_p\":0.5}"), "%s",
                m.m.params_json ? m.m.params_json : "(null)");
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "nosuch", &m, &err) == PP_ERR_NOT_FOUND && !strcmp(err.msg, "model 'nosuch' not found"));
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "me/nosuch", &m, &err) == PP_ERR_NOT_FOUND && !strcmp(err.msg, "model 'me/nosuch' not found"));
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "../x", &m, &err) == PP_ERR_ARG && !strcmp(err.msg, "invalid model name '../x'"));
    catalog_model_free(&m);
    /* the list: registered first (a missing file skipped), then the directory; first name wins */
    p.n_registered = 3;
    catalog_model *v = NULL;
    size_t n = 0;
    T_CHECK(catalog_list(&p, &v, &n, &err) == PP_OK);
    T_CHECK_MSG(n == 2 && !strcmp(v[0].name, "fx:latest") && !strcmp(v[1].name, "m1:latest") && !strcmp(v[1].path, fx),
                "%zu models", n);
    catalog_model_list_free(v, n);
}

static void test_store_model(void) {
    char gg[600], text[1200];
    path_in_tmp(gg, sizeof gg, "st.gguf");
    write_file(gg, "not read without a gguf_info callback");
    store *s;
    pp_err err = {0};
    T_CHECK(store_open(NULL, NULL, &s, &err) == PP_OK);
    const char *mfs[] = {"FROM %s\nPARAMETER top_k 64\nPARAMETER mirostat 1\nSYSTEM be brief\nMESSAGE user hi\n",
                         "FROM %s\nTEMPLATE {{ .Prompt }}\n"};
    const char *names[] = {"me/plain", "me/custom"};
    for (int i = 0; i < 2; i++) {
        store_modelfile mf;
        snprintf(text, sizeof text, mfs[i], gg);
        T_CHECK(store_modelfile_parse(text, strlen(text), "Modelfile", catalog_param_lookup, &mf, &err) == PP_OK);
        store_create_params cp = store_create_default_params();
        cp.param = catalog_param_lookup;
        T_CHECK_MSG(store_create(s, names[i], &mf, cp, &err) == PP_OK, "%s", err.msg);
        store_modelfile_free(&mf);
    }
    store_close(s);
    catalog_params p = catalog_default_params();
    p.paths = true;
    p.messages = true;
    catalog_model m;
    T_CHECK_MSG(catalog_resolve(&p, "me/plain", &m, &err) == PP_OK, "%s", err.msg);
    T_CHECK(m.from_store && !strcmp(m.name, "me/plain:latest") && m.template_ok && strlen(m.digest) == 64);
    T_CHECK(m.n_msgs == 1 && !strcmp(m.msg_role[0], "user") && !strcmp(m.msg_content[0], "hi"));
    T_CHECK_MSG(m.m.params_json && !strcmp(m.m.params_json, "{\"top_k\":64}\n"), "%s", m.m.params_json);
    T_CHECK(m.m.system && !strcmp(m.m.system, "be brief"));
    T_CHECK(m.size > 0);
    catalog_model_free(&m);
    T_CHECK(catalog_resolve(&p, "me/custom", &m, &err) == PP_OK && !m.template_ok);
    catalog_model_free(&m);
}

static void test_gguf_summary(void) {
    T_CHECK(!strcmp(gguf_file_type_name(15), "Q4_K_M") && !strcmp(gguf_file_type_name(21), "Q2_K_S"));
    T_CHECK(gguf_file_type_name(4) == NULL && gguf_file_type_name(1000) == NULL);
    const char *fx = t_fixtures_dir();
    if (!fx) {
        t_skip("fixtures not found");
        return;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/fx.f32.gguf", fx);
    store_gguf_info gi;
    pp_err err = {0};
    T_CHECK_MSG(catalog_gguf_info(path, &gi, &err) == PP_OK, "%s", err.msg);
    T_CHECK_MSG(!strcmp(gi.family, "gemma3") && !strcmp(gi.file_type, "F32") && gi.model_type[0], "%s %s %s", gi.family,
                gi.file_type, gi.model_type);
    T_CHECK(catalog_gguf_info("/nonexistent.gguf", &gi, &err) != PP_OK);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s", t_tmp_dir());
    char root[600];
    path_in_tmp(root, sizeof root, "models");
    setenv("PIPPA_MODELS", root, 1);
    setenv("OLLAMA_MODELS", "", 1);
    T_RUN(test_paths_and_cli_names);
    T_RUN(test_server_sources);
    T_RUN(test_store_model);
    T_RUN(test_gguf_summary);
    return t_finish("catalog");
}
