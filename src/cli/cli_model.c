/* cli_model.c - MODEL arguments: a .gguf path or a store name (ollama-compat.md §4), the
 * model's params layer as engine options, the template check, and GGUF facts for create
 * and show.
 *
 * Templates: pippa renders Gemma 3 chat natively (src/engine/chat.c). A model whose
 * TEMPLATE is absent or one of the known gemma3 templates (compared by digest or by text
 * with whitespace removed) is rendered exactly; any other template gets one warning and
 * the Gemma 3 format (a Go text/template interpreter is not implemented). */
#include "cli_model.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../gguf/gguf.h"

/* Ollama library gemma3 template, blob sha256:e0a42594d802... (358 bytes; ollama-compat.md
 * §2.4, reconstructed and checked against the digest). */
static const char GEMMA3_LIBRARY_TEMPLATE[] =
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if or (eq .Role \"user\") (eq .Role \"system\") }}<start_of_turn>user\n"
    "{{ .Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n"
    "{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}<start_of_turn>model\n"
    "{{ .Content }}{{ if not $last }}<end_of_turn>\n"
    "{{ end }}\n"
    "{{- end }}\n"
    "{{- end }}";

const char *cli_gemma3_template(void) { return GEMMA3_LIBRARY_TEMPLATE; }

/* Template blobs known to be Gemma 3's chat format (library gemma3/gemma2; gemma3:270m). */
static const char *const GEMMA3_TEMPLATE_DIGESTS[] = {
    "sha256:e0a42594d802e5d31cdc786deb4823edb8adff66094d49de8fffe976d753e348",
    "sha256:4b19ac7dd2fb", /* prefix: only the first 12 hex digits are published */
};

static bool same_normalized(const char *a, const char *b) {
    for (;;) {
        while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r') a++;
        while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r') b++;
        if (*a != *b) return false;
        if (!*a) return true;
        a++;
        b++;
    }
}

bool cli_model_template_is_gemma3(const char *tmpl, const char *digest) {
    if (!tmpl) return true;
    for (size_t i = 0; i < sizeof GEMMA3_TEMPLATE_DIGESTS / sizeof *GEMMA3_TEMPLATE_DIGESTS; i++)
        if (digest && !strncmp(digest, GEMMA3_TEMPLATE_DIGESTS[i], strlen(GEMMA3_TEMPLATE_DIGESTS[i]))) return true;
    return same_normalized(tmpl, GEMMA3_LIBRARY_TEMPLATE);
}

int cli_store_open(store **out) {
    pp_err err = {0};
    if (store_open(NULL, NULL, out, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    return 0;
}

static bool is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The messages layer ([{"role","content"},...]) into msg_role/msg_content. */
static int load_messages(cli_model *cm) {
    json_error_t je;
    json_t *a = json_loads(cm->m.messages_json, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        cli_error("model '%s': messages layer is not a JSON array", cm->m.display);
        return 1;
    }
    size_t n = json_array_size(a);
    cm->msg_role = calloc(n + 1, sizeof *cm->msg_role);
    cm->msg_content = calloc(n + 1, sizeof *cm->msg_content);
    int rc = cm->msg_role && cm->msg_content ? 0 : 1;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *m = json_array_get(a, i);
        const char *r = json_string_value(json_object_get(m, "role"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (!r || !c || (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))) {
            cli_error("model '%s': messages layer: message %zu needs a role (system, user, assistant) and content",
                      cm->m.display, i);
            rc = 1;
            break;
        }
        cm->msg_role[i] = strdup(r);
        cm->msg_content[i] = strdup(c);
        cm->n_msgs = i + 1;
        if (!cm->msg_role[i] || !cm->msg_content[i]) rc = 1;
    }
    json_decref(a);
    return rc;
}

int cli_model_resolve(const char *arg, cli_model *out) {
    memset(out, 0, sizeof *out);
    size_t n = strlen(arg);
    bool looks_path = (n >= 5 && !strcmp(arg + n - 5, ".gguf")) || (strchr(arg, '/') && is_file(arg));
    if (looks_path) {
        out->path = strdup(arg);
        return out->path ? 0 : 1;
    }
    store_name nm;
    pp_err err = {0};
    if (store_name_parse(arg, &nm, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    store *s;
    if (cli_store_open(&s)) return 1;
    pp_status st = store_model_load_or_demo(s, arg, cli_gguf_info, &out->m, &err);
    store_close(s);
    if (st != PP_OK) {
        if (st == PP_ERR_NOT_FOUND && !strncmp(err.msg, "model '", 7) && strstr(err.msg, "' not found"))
            cli_error("%s; try 'pippa pull %s'", err.msg, arg);
        else
            cli_error("%s", err.msg);
        return 1;
    }
    out->from_store = true;
    out->path = strdup(out->m.model_path);
    if (!out->path) return 1;
    if (out->m.messages_json && load_messages(out)) {
        cli_model_free(out);
        return 1;
    }
    if (out->m.has_adapter) fprintf(stderr, "pippa: warning: model '%s' has an ADAPTER layer (LoRA), which is not supported yet; it is ignored\n", out->m.display);
    if (!cli_model_template_is_gemma3(out->m.tmpl, out->m.tmpl_digest))
        fprintf(stderr, "pippa: warning: model '%s': custom TEMPLATE is not supported yet; using the Gemma 3 chat format\n",
                out->m.display);
    return 0;
}

void cli_model_free(cli_model *cm) {
    if (!cm) return;
    free(cm->path);
    for (size_t i = 0; i < cm->n_msgs; i++) {
        free(cm->msg_role[i]);
        free(cm->msg_content[i]);
    }
    free(cm->msg_role);
    free(cm->msg_content);
    if (cm->from_store) store_model_free(&cm->m);
    memset(cm, 0, sizeof *cm);
}

static void set_one(engine_options *o, const char *name, json_t *v, const char *who) {
    char text[64];
    if (json_is_string(v)) snprintf(text, sizeof text, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* integer-valued numbers as integers: "num_ctx": 32768.0 must parse as int */
        if (d == (double)(long long)d) snprintf(text, sizeof text, "%lld", (long long)d);
        else snprintf(text, sizeof text, "%.9g", d);
    } else if (json_is_boolean(v)) snprintf(text, sizeof text, "%s", json_is_true(v) ? "true" : "false");
    else return;
    pp_err err = {0};
    if (engine_options_set(o, name, json_is_string(v) ? json_string_value(v) : text, &err) != PP_OK)
        fprintf(stderr, "pippa: warning: model '%s': parameter ignored: %s\n", who, err.msg);
}

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
    json_object_foreach(root, key, v) {
        store_param_type t;
        bool dep;
        if (!store_param_lookup(key, &t, &dep) || dep) continue; /* Ollama ignores these too */
        if (json_is_array(v)) {
            if (!strcmp(key, "stop")) o->n_stop = 0;
            for (size_t i = 0; i < json_array_size(v); i++) set_one(o, key, json_array_get(v, i), cm->m.display);
        } else {
            set_one(o, key, v, cm->m.display);
        }
    }
    json_decref(root);
}

/* ---- GGUF facts --------------------------------------------------------------------- */

const char *cli_file_type_name(uint32_t ftype) {
    static const char *const NAMES[] = {
        [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0", [8] = "Q5_0", [9] = "Q5_1",
        [10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
        [16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S",
        [22] = "IQ3_XS", [23] = "IQ3_XXS", [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M",
        [28] = "IQ2_S", [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16", [36] = "TQ1_0",
        [37] = "TQ2_0", [38] = "MXFP4",
    };
    if (ftype < sizeof NAMES / sizeof *NAMES) return NAMES[ftype];
    return NULL;
}

pp_status cli_gguf_info(const char *path, store_gguf_info *info, pp_err *err) {
    gguf_file *f;
    memset(info, 0, sizeof *info);
    if (gguf_open(path, &f, err) != PP_OK) return err->status;
    pp_view arch;
    pp_err e2 = {0};
    if (gguf_get_str(f, "general.architecture", &arch, &e2) == PP_OK)
        snprintf(info->family, sizeof info->family, "%.*s", (int)arch.len, arch.ptr);
    uint64_t n = 0, best_bytes = 0;
    uint64_t by_type[GGUF_TTYPE_COUNT] = {0};
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        n += t->n_elements;
        if (t->type < GGUF_TTYPE_COUNT && t->n_dims >= 2) by_type[t->type] += t->nbytes;
    }
    store_human_number(n, info->model_type, sizeof info->model_type);
    uint32_t ft;
    const char *name = NULL;
    if (gguf_get_u32(f, "general.file_type", &ft, &e2) == PP_OK) name = cli_file_type_name(ft);
    if (!name) {
        uint32_t best = 0;
        for (uint32_t t = 0; t < GGUF_TTYPE_COUNT; t++)
            if (by_type[t] > best_bytes) { best_bytes = by_type[t]; best = t; }
        name = gguf_ttype_info_get(best).name;
    }
    snprintf(info->file_type, sizeof info->file_type, "%s", name);
    gguf_close(f);
    return PP_OK;
}
