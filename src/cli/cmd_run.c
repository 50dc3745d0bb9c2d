/* cmd_run.c - `pippa run MODEL [PROMPT...] [-p NAME=VALUE]... [--verbose] [--interactive]`:
 * one-shot generation when a prompt is given or stdin is not a terminal (stdin is read and
 * put before the prompt words, as Ollama does), otherwise the REPL with Ollama's commands
 * (ollama-compat.md §1.3-1.6). Both drive engine_chat, so earlier turns stay in the KV cache
 * and a follow-up processes only its new tokens. */
#include "cli.h"
#include "cli_env.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../engine/engine.h"
#include "cli_flags.h"
#include "cli_model.h"
#include "cli_run.h"

static const char USAGE[] =
    "usage: pippa run MODEL|FILE.gguf [PROMPT...] [-p NAME=VALUE]... [--verbose] [--interactive] [--kernels NAME]";

/* The session being generated, for the SIGINT handler (Ctrl-C stops the answer). */
static engine_session *volatile g_active;
static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
    engine_session *s = g_active;
    if (s) engine_session_cancel(s); /* a lock-free atomic store: async-signal-safe */
}

static bool print_piece(const char *text, size_t len, void *ud) {
    (void)ud;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

typedef struct run_state {
    engine_model *em;
    engine_session *s;
    engine_options opt;
    engine_options user_set;  /* what the user changed, for /show parameters */
    char set_names[64][32];
    int n_set;
    bool verbose;
    const char *path;
    const char *model_params_json; /* the store model's params layer, or NULL */
    const char *model_template;    /* the store model's TEMPLATE layer, or NULL */
    cli_msgs msgs;
    /* from argv (run_parse) */
    bool interactive;
    char *prompt;                  /* the PROMPT words joined by spaces, or NULL (owned) */
    const char *user_p[256];       /* -p arguments, re-applied over the model's parameters */
    int n_user_p;
} run_state;

static void note_set(run_state *st, const char *name) {
    for (int i = 0; i < st->n_set; i++)
        if (!strcmp(st->set_names[i], name)) return;
    if (st->n_set < 64) snprintf(st->set_names[st->n_set++], sizeof st->set_names[0], "%s", name);
}

static void print_stats(run_state *st, const engine_result *r) {
    char buf[1024];
    engine_format_stats(&r->stats, buf, sizeof buf);
    fprintf(stderr, "%s", buf);
    fprintf(stderr, "seed:                 %lld\n", (long long)engine_session_seed(st->s));
}

/* One user turn: generate, print, keep the reply in the history. Returns 0 or 1. */
static int answer(run_state *st, const char *user_text, bool newline_after) {
    if (!cli_msgs_push(&st->msgs, "user", user_text, NULL, 0)) {
        cli_error("out of memory");
        return 1;
    }
    engine_result r;
    pp_err err = {0};
    g_interrupted = 0;
    g_active = st->s;
    pp_status rc = engine_chat(st->s, st->msgs.v, st->msgs.n, print_piece, NULL, &r, &err);
    g_active = NULL;
    if (rc != PP_OK) {
        cli_msgs_pop(&st->msgs);
        fprintf(stdout, "\n");
        cli_error("%s", err.msg);
        return 1;
    }
    if (newline_after) fputs("\n", stdout);
    fflush(stdout);
    if (r.dropped_turns)
        fprintf(stderr, "pippa: the conversation no longer fit num_ctx %u: dropped the %u oldest messages\n",
                engine_session_n_ctx(st->s), r.dropped_turns);
    if (r.done == ENGINE_DONE_CANCELLED) {
        /* Ollama: the user turn stays, the partial answer is dropped */
        fputs("\n", stdout);
    } else {
        if (!cli_msgs_push(&st->msgs, "assistant", "", r.reply_ids, r.n_reply_ids)) {
            cli_error("out of memory");
            return 1;
        }
        if (r.context_full)
            fprintf(stderr, "pippa: the context is full (num_ctx %u); the oldest turns will be dropped next time\n",
                    engine_session_n_ctx(st->s));
    }
    if (st->verbose) print_stats(st, &r);
    return 0;
}

/* "name=value" */
static int apply_p(run_state *st, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        cli_error("run: -p expects NAME=VALUE, got '%s'", arg);
        return 2;
    }
    char name[64];
    size_t nl = (size_t)(eq - arg);
    if (nl >= sizeof name) {
        cli_error("run: unknown parameter '%.*s'", (int)nl, arg);
        return 2;
    }
    memcpy(name, arg, nl);
    name[nl] = 0;
    pp_err err = {0};
    if (engine_options_set(&st->opt, name, eq + 1, &err) != PP_OK) {
        cli_error("run: %s", err.msg);
        return 2;
    }
    note_set(st, name);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * REPL */

/* Ollama's "/set parameter" help, from the options table's help lines. */
static void print_param_help(void) {
    fputs("Available Parameters:\n", stdout);
    for (size_t i = 0; i < engine_opt_count(); i++) {
        engine_opt r = engine_opt_at(i);
        if (!r.help) continue;
        char usage[64];
        if (r.type == ENGINE_OPT_TYPE_STRINGS) { /* Ollama's line: three blanks, not aligned */
            printf("  /set parameter %s <string> <string> ...   %s\n", r.name, r.help);
            continue;
        }
        snprintf(usage, sizeof usage, "%s <%s>", r.name, r.type == ENGINE_OPT_TYPE_FLOAT ? "float" : "int");
        printf("  /set parameter %-22s %s\n", usage, r.help);
    }
}

static void show_parameters(run_state *st) {
    bool model_params = false;
    if (st->model_params_json) { /* the params layer, as Ollama lists it: name, Go-quoted value */
        json_t *root = json_loads(st->model_params_json, 0, NULL);
        const char *key;
        json_t *val;
        if (json_is_object(root) && json_object_size(root)) {
            printf("Model defined parameters:\n");
            model_params = true;
            json_object_foreach(root, key, val) {
                size_t n = json_is_array(val) ? json_array_size(val) : 1;
                for (size_t k = 0; k < n; k++) {
                    json_t *v = json_is_array(val) ? json_array_get(val, k) : val;
                    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                    printf("%-30s %s\n", key, txt ? txt : "?");
                    free(txt);
                }
            }
        }
        json_decref(root);
    }
    if (st->n_set == 0) {
        if (!model_params) printf("No parameters were specified for this model.\n");
        return;
    }
    if (model_params) printf("\n");
    printf("User defined parameters:\n");
    for (int i = 0; i < st->n_set; i++) {
        const char *n = st->set_names[i];
        engine_opt r;
        if (!engine_opt_find(n, &r)) continue;
        char val[ENGINE_MAX_STOP_LEN];
        size_t count = engine_options_text(&st->opt, n, 0, val, sizeof val);
        for (size_t k = 0; k < count; k++) {
            engine_options_text(&st->opt, n, k, val, sizeof val);
            if (r.type == ENGINE_OPT_TYPE_STRINGS) printf("%-30s \"%s\"\n", n, val);
            else printf("%-30s %s\n", n, val);
        }
    }
}

static void show_info(run_state *st) {
    const model *m = engine_model_get(st->em);
    const model_hparams *hp = model_get_hparams(m);
    char ps[32];
    cli_fmt_params(hp->n_params, ps, sizeof ps);
    printf("  Model\n");
    printf("    %-20s%s\n", "architecture", "gemma3");
    printf("    %-20s%s\n", "parameters", ps);
    printf("    %-20s%u\n", "context length", hp->n_ctx_train);
    printf("    %-20s%u\n", "embedding length", hp->n_embd);
    printf("    %-20s%s\n", "quantization", gguf_ttype_info_get(model_main_weight_type(m)).name);
    printf("\n  Capabilities\n    completion\n\n");
}

/* Applies changed options to the session (a reload only for context-shape options). */
static int commit_options(run_state *st, engine_options *prev) {
    pp_err err = {0};
    if (engine_session_set_options(st->s, &st->opt, &err) != PP_OK) {
        cli_error("%s", err.msg);
        st->opt = *prev;
        return 1;
    }
    return 0;
}

static void set_parameter(run_state *st, char *args) {
    char *save = NULL, *name = strtok_r(args, " \t", &save);
    if (!name) {
        print_param_help();
        return;
    }
    engine_options prev = st->opt;
    pp_err err = {0};
    char shown[1024] = "";
    size_t sn = 0;
    if (!strcmp(name, "stop")) st->opt.n_stop = 0;
    int nvals = 0;
    for (char *val = strtok_r(NULL, " \t", &save); val; val = strtok_r(NULL, " \t", &save)) {
        if (nvals && strcmp(name, "stop") != 0) break; /* only stop takes several words */
        if (engine_options_set(&st->opt, name, val, &err) != PP_OK) {
            st->opt = prev;
            printf("Couldn't set parameter: %s\n", err.msg);
            return;
        }
        sn += (size_t)snprintf(shown + sn, sn < sizeof shown ? sizeof shown - sn : 0, "%s%s", nvals ? ", " : "", val);
        if (sn >= sizeof shown) sn = sizeof shown - 1;
        nvals++;
    }
    if (!nvals) {
        printf("Couldn't set parameter: option '%s': missing value\n", name);
        return;
    }
    if (commit_options(st, &prev)) return;
    note_set(st, name);
    printf("Set parameter '%s' to '%s'\n", name, shown);
}

/* ---- the REPL's commands: {name, alias, handler, help label, help} ---- */

typedef struct repl_cmd {
    const char *name, *alias;
    bool (*fn)(run_state *st, char *rest);   /* false: leave the REPL */
    const char *label, *help;                /* the line in /? (no fn: a help line only) */
} repl_cmd;

static void print_help_rows(const repl_cmd *rows, size_t n, int width) {
    for (size_t i = 0; i < n; i++) printf("  %-*s%s\n", width, rows[i].label, rows[i].help);
}

static const repl_cmd *find_cmd(const repl_cmd *rows, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].fn && (!strcmp(name, rows[i].name) || (rows[i].alias && !strcmp(name, rows[i].alias))))
            return &rows[i];
    return NULL;
}

/* /set <sub> <arg> */
static bool set_system(run_state *st, char *arg) {
    cli_msgs_set_system(&st->msgs, arg);
    printf("Set system message.\n");
    return true;
}
static bool set_verbose(run_state *st, char *arg) {
    (void)arg;
    st->verbose = true;
    printf("Set 'verbose' mode.\n");
    return true;
}
static bool set_quiet(run_state *st, char *arg) {
    (void)arg;
    st->verbose = false;
    printf("Set 'quiet' mode.\n");
    return true;
}
static bool set_param(run_state *st, char *arg) {
    set_parameter(st, arg);
    return true;
}

static const repl_cmd SET_CMDS[] = {
    {"parameter", NULL, set_param, "/set parameter ...", "Set a parameter"},
    {"system", NULL, set_system, "/set system <string>", "Set system message"},
    {"verbose", NULL, set_verbose, "/set verbose", "Show LLM stats"},
    {"quiet", NULL, set_quiet, "/set quiet", "Disable LLM stats"},
};
#define N_SET (sizeof SET_CMDS / sizeof SET_CMDS[0])

/* /show <sub> (the whole rest of the line names it) */
static bool show_info_cmd(run_state *st, char *arg) {
    (void)arg;
    show_info(st);
    return true;
}
static bool show_params_cmd(run_state *st, char *arg) {
    (void)arg;
    show_parameters(st);
    return true;
}
static bool show_system(run_state *st, char *arg) {
    (void)arg;
    const char *sp = cli_msgs_system(&st->msgs);
    if (sp) printf("%s\n", sp);
    else printf("No system message was specified for this model.\n");
    return true;
}
static bool show_template(run_state *st, char *arg) {
    (void)arg;
    /* the model's TEMPLATE layer, else the Gemma 3 format pippa renders natively */
    const char *tm = st->model_template ? st->model_template : cli_gemma3_template();
    fputs(tm, stdout);
    if (*tm && tm[strlen(tm) - 1] != '\n') fputs("\n", stdout);
    return true;
}

static const repl_cmd SHOW_CMDS[] = {
    {"info", NULL, show_info_cmd, "/show info", "Show details for this model"},
    {"parameters", NULL, show_params_cmd, "/show parameters", "Show parameters for this model"},
    {"system", NULL, show_system, "/show system", "Show system message"},
    {"template", NULL, show_template, "/show template", "Show prompt template"},
};
#define N_SHOW (sizeof SHOW_CMDS / sizeof SHOW_CMDS[0])

static void set_help(void) {
    printf("Available Commands:\n");
    print_help_rows(SET_CMDS, N_SET, 23);
}
static void show_help(void) {
    printf("Available Commands:\n");
    print_help_rows(SHOW_CMDS, N_SHOW, 19);
}

/* Splits "word rest" at the first blank: *rest is the remainder without leading blanks. */
static char *split_word(char *s, char **rest) {
    char *r = strpbrk(s, " \t");
    if (r) {
        *r++ = 0;
        while (*r == ' ' || *r == '\t') r++;
    } else {
        r = s + strlen(s);
    }
    *rest = r;
    return s;
}

static bool cmd_set(run_state *st, char *rest) {
    char *arg, *sub = split_word(rest, &arg);
    const repl_cmd *c = find_cmd(SET_CMDS, N_SET, sub);
    if (c) return c->fn(st, arg);
    set_help();
    return true;
}

static bool cmd_show(run_state *st, char *rest) {
    const repl_cmd *c = find_cmd(SHOW_CMDS, N_SHOW, rest);
    if (c) return c->fn(st, rest);
    show_help();
    return true;
}

static bool cmd_clear(run_state *st, char *rest) {
    (void)rest;
    cli_msgs_clear(&st->msgs, true);
    engine_session_clear(st->s);
    printf("Cleared session context\n");
    return true;
}

static bool cmd_bye(run_state *st, char *rest) {
    (void)st;
    (void)rest;
    return false;
}

static bool cmd_help(run_state *st, char *rest);

static const repl_cmd REPL_CMDS[] = {
    {"/set", NULL, cmd_set, "/set", "Set session variables"},
    {"/show", NULL, cmd_show, "/show", "Show model information"},
    {"/clear", NULL, cmd_clear, "/clear", "Clear session context"},
    {"/bye", "/exit", cmd_bye, "/bye", "Exit"},
    {"/?", "/help", cmd_help, "/?, /help", "Help for a command"},
    {"/? shortcuts", NULL, NULL, "/? shortcuts", "Help for keyboard shortcuts"},
};
#define N_REPL (sizeof REPL_CMDS / sizeof REPL_CMDS[0])

static bool cmd_help(run_state *st, char *rest) {
    (void)st;
    if (!strncmp(rest, "set", 3)) set_help();
    else if (!strncmp(rest, "show", 4)) show_help();
    else if (!strncmp(rest, "shortcuts", 9))
        fputs("Available keyboard shortcuts:\n  Ctrl + a  Move to the beginning of the line\n"
              "  Ctrl + e  Move to the end of the line\n  Ctrl + c  Stop the model from responding\n"
              "  Ctrl + d  Exit pippa (/bye)\n", stdout);
    else {
        printf("Available Commands:\n");
        print_help_rows(REPL_CMDS, N_REPL, 16);
        printf("\nUse \"\"\" to begin a multi-line message.\n");
    }
    return true;
}

/* Runs a "/command ..." line; false to leave the REPL. */
static bool repl_command(run_state *st, char *line) {
    char *rest, *name = split_word(line, &rest);
    const repl_cmd *c = find_cmd(REPL_CMDS, N_REPL, name);
    bool go_on = true;
    if (c) go_on = c->fn(st, rest);
    else printf("Unknown command '%s'. Type /? for help\n", name);
    fflush(stdout);
    return go_on;
}

static bool repl_on_command(void *ud, char *line) { return repl_command(ud, line); }
static void repl_on_message(void *ud, const char *text) { answer(ud, text, true); }

static int repl(run_state *st) {
    cli_repl_loop(repl_on_command, repl_on_message, st);
    return 0;
}

/* ---- `pippa run`: argv -> run_state, then the one-shot answer or the REPL ---- */

static int flag_parameter(void *dest, const char *cmd, const char *flag, const char *value) {
    run_state *st = dest;
    (void)cmd;
    if (!value) { cli_error("run: %s needs NAME=VALUE", flag); return 2; }
    int rc = apply_p(st, value);
    if (rc) return rc;
    if (st->n_user_p < 256) st->user_p[st->n_user_p++] = value;
    return 0;
}

/* MODEL, the prompt words, the flags. -p values are checked here, in argv's order. */
static int run_parse(int argc, char **argv, run_state *st) {
    const cli_flag flags[] = {
        {"-p", "--parameter", CLI_FLAG_FN, st, 0, 0, flag_parameter, "NAME=VALUE (repeatable)"},
        {"--verbose", NULL, CLI_FLAG_BOOL, &st->verbose, 0, 0, NULL, "timings after each answer"},
        {"--interactive", "-i", CLI_FLAG_BOOL, &st->interactive, 0, 0, NULL, "the REPL after the prompt"},
    };
    const char **pos = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos) { cli_error("out of memory"); return 1; }
    size_t n_pos = 0;
    cli_args a = {.cmd = "run", .usage = USAGE, .flags = flags, .n_flags = sizeof flags / sizeof flags[0], .pos = pos,
                  .max_pos = (size_t)argc, .n_pos = &n_pos, .unknown = "unknown option '%s'\n%s", .dash = CLI_DASH_NOT_LONE};
    int rc = cli_flags_parse(&a, argc, argv);
    if (!rc && n_pos == 0) {
        cli_error("run: missing MODEL\n%s", USAGE);
        rc = 2;
    }
    if (!rc) st->path = pos[0];
    size_t plen = 0;
    for (size_t i = 1; !rc && i < n_pos; i++) {
        size_t l = strlen(pos[i]);
        char *np = realloc(st->prompt, plen + l + 2);
        if (!np) { cli_error("out of memory"); rc = 1; break; }
        st->prompt = np;
        if (plen) st->prompt[plen++] = ' ';
        memcpy(st->prompt + plen, pos[i], l + 1);
        plen += l;
    }
    free(pos);
    return rc;
}

/* Piped stdin goes before the prompt words, as Ollama does. */
static int prepend_stdin(run_state *st) {
    char *in = cli_read_stdin();
    if (!in) return 1;
    size_t il = strlen(in), plen = st->prompt ? strlen(st->prompt) : 0;
    while (il && (in[il - 1] == '\n' || in[il - 1] == '\r')) in[--il] = 0;
    if (il) {
        char *np = malloc(il + plen + 2);
        if (!np) { free(in); return 1; }
        memcpy(np, in, il);
        np[il] = 0;
        if (plen) { np[il] = ' '; memcpy(np + il + 1, st->prompt, plen + 1); }
        free(st->prompt);
        st->prompt = np;
    }
    free(in);
    return 0;
}

/* MODEL: a .gguf file or a name in the store (cli_model.c); options = defaults <- the model's
 * params layer <- -p; its SYSTEM and MESSAGEs start the conversation. */
static void apply_model(run_state *st, const cli_model *cm) {
    engine_options o = engine_default_options();
    cli_model_apply_params(cm, &o);
    bool user_stop = false;
    for (int k = 0; k < st->n_user_p; k++) {
        if (!strncmp(st->user_p[k], "stop=", 5) && !user_stop) { o.n_stop = 0; user_stop = true; }
        pp_err e = {0};
        const char *eq = strchr(st->user_p[k], '=');
        char nm[64];
        snprintf(nm, sizeof nm, "%.*s", (int)(eq - st->user_p[k]), st->user_p[k]);
        engine_options_set(&o, nm, eq + 1, &e); /* validated by run_parse */
    }
    st->opt = o;
    st->model_params_json = cm->m.params_json;
    st->model_template = cm->m.tmpl;
    if (cm->m.system) cli_msgs_push(&st->msgs, "system", cm->m.system, NULL, 0);
    for (size_t k = 0; k < cm->n_msgs; k++) cli_msgs_push(&st->msgs, cm->msg_role[k], cm->msg_content[k], NULL, 0);
}

static int run_run(run_state *st) {
    int rc = 0;
    cli_model cm = {0};
    if (!st->interactive && !isatty(STDIN_FILENO) && prepend_stdin(st)) { rc = 1; goto out; }
    if (cli_model_resolve(st->path, &cm)) { rc = 1; goto out; }
    st->path = cm.path;
    if (cm.from_store) apply_model(st, &cm);
    pp_err err = {0};
    if (engine_model_load(st->path, cli_model_params(), &st->em, &err) != PP_OK) { cli_error("%s", err.msg); rc = 1; goto out; }
    if (engine_session_init(st->em, &st->opt, &st->s, &err) != PP_OK) { cli_error("%s", err.msg); rc = 1; goto out; }
    if (st->verbose) {
        char kv[32];
        cli_fmt_size(engine_session_kv_bytes(st->s), kv, sizeof kv);
        fprintf(stderr, "pippa: kernels %s, KV cache %s for num_ctx %u\n", kern_isa_name(kern_active_isa()), kv,
                engine_session_n_ctx(st->s));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (st->prompt && !st->interactive) {
        rc = answer(st, st->prompt, true);
    } else if (!st->prompt && !st->interactive && !isatty(STDIN_FILENO)) {
        cli_error("run: empty prompt on stdin");
        rc = 1;
    } else {
        if (st->prompt) rc = answer(st, st->prompt, true);
        if (!rc) rc = repl(st);
    }
out:
    cli_model_free(&cm);
    return rc;
}

int cli_cmd_run(int argc, char **argv) {
    run_state st;
    memset(&st, 0, sizeof st);
    st.opt = engine_default_options();
    int rc = run_parse(argc, argv, &st);
    if (!rc) rc = run_run(&st);
    else if (rc == CLI_FLAGS_HELP) rc = 0;
    free(st.prompt);
    cli_msgs_free(&st.msgs);
    engine_session_free(st.s);
    engine_model_free(st.em);
    return rc;
}
