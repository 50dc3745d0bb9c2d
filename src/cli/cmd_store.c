/* cmd_store.c - `pippa list`, `show`, `rm`, `cp`: the model store from the command line,
 * in Ollama's output formats (ollama-compat.md §1.2, §1.5, §2.5). */
#include "cli.h"
#include "cli_flags.h"
#include "cli_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../gguf/gguf.h"

/* Ollama's format.HumanBytes: decimal units, >= 10 as an integer, else one decimal. */
static void human_bytes(uint64_t b, char *buf, size_t cap) {
    static const struct { double v; const char *u; } U[] = {{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}};
    for (size_t i = 0; i < 4; i++) {
        if ((double)b >= U[i].v) {
            double v = (double)b / U[i].v;
            if (v >= 10 || v == trunc(v)) snprintf(buf, cap, "%d %s", (int)v, U[i].u);
            else snprintf(buf, cap, "%.1f %s", v, U[i].u);
            return;
        }
    }
    snprintf(buf, cap, "%llu B", (unsigned long long)b);
}

/* Ollama's format.HumanTime for a past time: "2 days ago". */
static void human_ago(int64_t then, char *buf, size_t cap) {
    double d = difftime(time(NULL), (time_t)then);
    if (d < 0) d = 0;
    long secs = (long)d, mins = (long)(d / 60), hours = lround(d / 3600);
    if (secs < 1) snprintf(buf, cap, "Less than a second ago");
    else if (secs == 1) snprintf(buf, cap, "1 second ago");
    else if (secs < 60) snprintf(buf, cap, "%ld seconds ago", secs);
    else if (mins == 1) snprintf(buf, cap, "About a minute ago");
    else if (mins < 60) snprintf(buf, cap, "%ld minutes ago", mins);
    else if (hours == 1) snprintf(buf, cap, "About an hour ago");
    else if (hours < 48) snprintf(buf, cap, "%ld hours ago", hours);
    else if (hours < 24 * 7 * 2) snprintf(buf, cap, "%ld days ago", hours / 24);
    else if (hours < 24 * 30 * 2) snprintf(buf, cap, "%ld weeks ago", hours / (24 * 7));
    else if (hours < 24 * 365 * 2) snprintf(buf, cap, "%ld months ago", hours / (24 * 30));
    else snprintf(buf, cap, "%ld years ago", hours / (24 * 365));
}

/* Positional words of a command without flags of its own (cli_flags_parse into an argv-sized
 * array, owned by the caller). */
static const char **words_alloc(int argc) { return malloc((size_t)(argc > 0 ? argc : 1) * sizeof(const char *)); }

/* list [PREFIX]: the last PREFIX given counts. */
static int list_parse(int argc, char **argv, const char **prefix) {
    const char **pos = words_alloc(argc);
    if (!pos) { cli_error("out of memory"); return 1; }
    size_t n = 0;
    cli_args a = {.cmd = "list", .usage = "usage: pippa list [PREFIX]", .pos = pos, .max_pos = (size_t)argc,
                  .n_pos = &n, .unknown = "unknown option '%s'\n%s", .no_help = true};
    int rc = cli_flags_parse(&a, argc, argv);
    *prefix = !rc && n ? pos[n - 1] : NULL;
    free(pos);
    return rc;
}

int cli_cmd_list(int argc, char **argv) {
    const char *prefix = NULL;
    int prc = list_parse(argc, argv, &prefix);
    if (prc) return prc;
    store *s;
    if (cli_store_open(&s)) return 1;
    store_entry *v = NULL;
    size_t n = 0;
    pp_err err = {0};
    if (store_list(s, &v, &n, &err) != PP_OK) {
        cli_error("%s", err.msg);
        store_close(s);
        return 1;
    }
    enum { NCOL = 4 };
    static const char *const HEAD[NCOL] = {"NAME", "ID", "SIZE", "MODIFIED"};
    char (*cells)[NCOL][600] = calloc(n + 1, sizeof *cells);
    size_t rows = 0;
    if (!cells) {
        free(v);
        store_close(s);
        cli_error("out of memory");
        return 1;
    }
    for (int c = 0; c < NCOL; c++) snprintf(cells[0][c], sizeof cells[0][c], "%s", HEAD[c]);
    rows = 1;
    for (size_t i = 0; i < n; i++) {
        if (prefix && strncasecmp(v[i].display, prefix, strlen(prefix)) != 0) continue;
        snprintf(cells[rows][0], sizeof cells[rows][0], "%s", v[i].display);
        snprintf(cells[rows][1], sizeof cells[rows][1], "%.12s", v[i].id);
        human_bytes(v[i].size, cells[rows][2], sizeof cells[rows][2]);
        human_ago(v[i].mtime, cells[rows][3], sizeof cells[rows][3]);
        rows++;
    }
    size_t w[NCOL] = {0};
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < NCOL; c++)
            if (strlen(cells[r][c]) > w[c]) w[c] = strlen(cells[r][c]);
    for (size_t r = 0; r < rows; r++) {
        for (int c = 0; c < NCOL; c++) {
            if (c < NCOL - 1) printf("%-*s    ", (int)w[c], cells[r][c]);
            else printf("%s\n", cells[r][c]);
        }
    }
    free(cells);
    free(v);
    store_close(s);
    return 0;
}

/* A params value as Go's %v prints it (strings quoted with %#v in --parameters). */
static void param_value(json_t *v, char *buf, size_t cap) {
    if (json_is_string(v)) {
        snprintf(buf, cap, "\"%s\"", json_string_value(v));
        return;
    }
    store_buf b = {0};
    store_buf_add_go_json(&b, v);
    snprintf(buf, cap, "%s", b.p ? b.p : "");
    store_buf_free(&b);
}

typedef void (*param_fn)(const char *key, const char *val, json_t *raw, void *ud);

static void each_param(const char *params_json, param_fn fn, void *ud) {
    if (!params_json) return;
    json_error_t je;
    json_t *o = json_loads(params_json, 0, &je);
    const char *k;
    json_t *v;
    char val[1024];
    json_object_foreach(o, k, v) {
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                param_value(json_array_get(v, i), val, sizeof val);
                fn(k, val, json_array_get(v, i), ud);
            }
        } else {
            param_value(v, val, sizeof val);
            fn(k, val, v, ud);
        }
    }
    json_decref(o);
}

static void max_key(const char *k, const char *val, json_t *raw, void *ud) {
    (void)val;
    (void)raw;
    size_t *w = ud;
    if (strlen(k) > *w) *w = strlen(k);
}
static void print_row(const char *k, const char *val, json_t *raw, void *ud) {
    (void)raw;
    printf("    %-*s    %s\n", *(int *)ud, k, val);
}
static void print_param30(const char *k, const char *val, json_t *raw, void *ud) {
    (void)raw;
    (void)ud;
    printf("%-30s %s\n", k, val);
}
static void show_text_block(const char *title, const char *text) {
    if (!text || !*text) return;
    printf("  %s\n", title);
    int shown = 0;
    const char *p = text;
    while (*p && shown < 2) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        bool blank = true;
        for (size_t i = 0; i < l; i++)
            if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') blank = false;
        if (!blank) {
            printf("    %.*s\n", (int)l, p);
            shown++;
        }
        p = e ? e + 1 : p + l;
    }
    while (*p == '\n' || *p == ' ' || *p == '\r' || *p == '\t') p++;
    if (*p) printf("    ...\n");
    printf("\n");
}

static int show_info(const cli_model *cm) {
    gguf_file *f;
    pp_err err = {0};
    if (gguf_open(cm->path, &f, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    store_gguf_info gi;
    catalog_gguf_info(cm->path, &gi, &err);
    char key[128], ctx[32] = "", emb[32] = "";
    uint32_t u;
    pp_err e2 = {0};
    snprintf(key, sizeof key, "%s.context_length", gi.family);
    if (gguf_get_u32(f, key, &u, &e2) == PP_OK) snprintf(ctx, sizeof ctx, "%u", u);
    snprintf(key, sizeof key, "%s.embedding_length", gi.family);
    if (gguf_get_u32(f, key, &u, &e2) == PP_OK) snprintf(emb, sizeof emb, "%u", u);
    bool vision = cm->m.has_projector;
    snprintf(key, sizeof key, "%s.vision.block_count", gi.family);
    if (gguf_find_kv(f, key)) vision = true;
    for (uint64_t i = 0; i < gguf_n_tensors(f) && !vision; i++) {
        pp_view nm = gguf_tensor_at(f, i)->name;
        if (nm.len > 2 && !memcmp(nm.ptr, "v.", 2)) vision = true;
    }
    gguf_close(f);
    printf("  Model\n");
    printf("    %-16s    %s\n", "architecture", gi.family);
    printf("    %-16s    %s\n", "parameters", gi.model_type);
    if (ctx[0]) printf("    %-16s    %s\n", "context length", ctx);
    if (emb[0]) printf("    %-16s    %s\n", "embedding length", emb);
    printf("    %-16s    %s\n", "quantization", gi.file_type);
    if (cm->m.config_json) { /* REQUIRES is kept in the config blob */
        json_error_t je;
        json_t *cfg = json_loads(cm->m.config_json, 0, &je);
        const char *req = json_string_value(json_object_get(cfg, "requires"));
        if (req) printf("    %-16s    %s\n", "requires", req);
        json_decref(cfg);
    }
    printf("\n  Capabilities\n    completion\n");
    if (vision) printf("    vision\n");
    if (cm->m.tmpl && strstr(cm->m.tmpl, ".Tools")) printf("    tools\n");
    if (cm->m.tmpl && strstr(cm->m.tmpl, ".Suffix")) printf("    insert\n");
    printf("\n");
    if (cm->m.params_json) {
        size_t w = 0;
        each_param(cm->m.params_json, max_key, &w);
        int wi = (int)w;
        printf("  Parameters\n");
        each_param(cm->m.params_json, print_row, &wi);
        printf("\n");
    }
    show_text_block("System", cm->m.system);
    for (size_t i = 0; i < cm->m.n_licenses; i++) show_text_block("License", cm->m.licenses[i]);
    return 0;
}

/* Every value quoted (store_model_modelfile), so that `pippa create -f` of this output makes
 * the same model again. */
static int show_modelfile(const cli_model *cm) {
    char *text = NULL;
    size_t len = 0;
    pp_err err = {0};
    if (store_model_modelfile(&cm->m, "\"pippa show\"", cm->m.display, cm->path, &text, &len, &err) != PP_OK) {
        cli_error("%s", err.msg);
        return 1;
    }
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

#define SHOW_USAGE "usage: pippa show MODEL [--modelfile|--parameters|--template|--system|--license]"

/* --modelfile, --parameters, ...: which part to show (one at most). */
static int flag_show_what(void *dest, const char *cmd, const char *flag, const char *value) {
    (void)cmd;
    (void)value;
    const char **what = dest;
    if (*what) {
        cli_error("show: only one of --license, --modelfile, --parameters, --system, or --template can be specified");
        return 2;
    }
    *what = flag + 2;
    return 0;
}

static int show_parse(int argc, char **argv, const char **name, const char **what) {
    static const char *const PARTS[] = {"--modelfile", "--parameters", "--template", "--system", "--license"};
    cli_flag flags[5];
    for (size_t i = 0; i < 5; i++) flags[i] = (cli_flag){PARTS[i], NULL, CLI_FLAG_SWITCH, what, 0, 0, flag_show_what, NULL};
    cli_args a = {.cmd = "show", .usage = SHOW_USAGE, .flags = flags, .n_flags = 5, .pos = name, .max_pos = 1,
                  .unknown = "unknown option '%s'\n%s", .too_many = "show: one MODEL only\n" SHOW_USAGE};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!*name) {
        cli_error("show: missing MODEL\n%s", SHOW_USAGE);
        return 2;
    }
    return 0;
}

int cli_cmd_show(int argc, char **argv) {
    const char *name = NULL, *what = NULL;
    int prc = show_parse(argc, argv, &name, &what);
    if (prc) return prc == CLI_FLAGS_HELP ? 0 : prc;
    cli_model cm;
    if (cli_model_resolve(name, &cm)) return 1;
    int rc = 0;
    if (!what) rc = show_info(&cm);
    else if (!strcmp(what, "modelfile")) rc = show_modelfile(&cm);
    else if (!strcmp(what, "parameters")) each_param(cm.m.params_json, print_param30, NULL);
    else if (!strcmp(what, "template")) { if (cm.m.tmpl) printf("%s\n", cm.m.tmpl); }
    else if (!strcmp(what, "system")) { if (cm.m.system) printf("%s\n", cm.m.system); }
    else if (!strcmp(what, "license")) {
        for (size_t i = 0; i < cm.m.n_licenses; i++) printf("%s\n", cm.m.licenses[i]);
    }
    cli_model_free(&cm);
    return rc;
}

typedef struct rm_params {
    const char **names;    /* every argument is a name (argv-sized, owned) */
    size_t n;
    bool no_prune;         /* PIPPA_NOPRUNE: keep the blobs a removed model leaves unreferenced */
} rm_params;

static int rm_parse(int argc, char **argv, rm_params *p) {
    p->names = words_alloc(argc);
    if (!p->names) { cli_error("out of memory"); return 1; }
    cli_args a = {.cmd = "rm", .usage = "usage: pippa rm MODEL [MODEL...]", .pos = p->names, .max_pos = (size_t)argc,
                  .n_pos = &p->n, .dash = CLI_DASH_NONE, .no_help = true};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!p->n) {
        cli_error("rm: missing MODEL\nusage: pippa rm MODEL [MODEL...]");
        return 2;
    }
    const char *np = getenv("PIPPA_NOPRUNE");
    p->no_prune = np && *np;
    return 0;
}

static int rm_run(const rm_params *p) {
    store *s;
    if (cli_store_open(&s)) return 1;
    store_set_prune(s, !p->no_prune);
    int rc = 0;
    for (size_t i = 0; i < p->n; i++) {
        pp_err err = {0};
        store_name n;
        if (store_name_parse(p->names[i], &n, &err) != PP_OK || store_remove(s, p->names[i], &err) != PP_OK) {
            cli_error("%s", err.msg);
            rc = 1;
            continue;
        }
        char disp[512];
        store_name_display(&n, disp, sizeof disp);
        printf("deleted '%s'\n", disp);
    }
    store_close(s);
    return rc;
}

int cli_cmd_rm(int argc, char **argv) {
    rm_params p = {0};
    int rc = rm_parse(argc, argv, &p);
    if (!rc) rc = rm_run(&p);
    free(p.names);
    return rc;
}

#define CP_NEED "cp: need SOURCE and DESTINATION\nusage: pippa cp SOURCE DESTINATION"

int cli_cmd_cp(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL};
    size_t n = 0;
    cli_args a = {.cmd = "cp", .usage = CP_NEED, .pos = pos, .max_pos = 2, .n_pos = &n, .too_many = CP_NEED,
                  .dash = CLI_DASH_NONE, .no_help = true};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (n != 2) {
        cli_error(CP_NEED);
        return 2;
    }
    store *s;
    if (cli_store_open(&s)) return 1;
    pp_err err = {0};
    if (store_copy(s, pos[0], pos[1], &err) != PP_OK) {
        cli_error("%s", err.msg);
        rc = 1;
    } else {
        printf("copied '%s' to '%s'\n", pos[0], pos[1]);
    }
    store_close(s);
    return rc;
}
