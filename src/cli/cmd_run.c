/* cmd_run.c - `pippa run MODEL [PROMPT...] [-p NAME=VALUE]... [--verbose] [--interactive]`:
 * one-shot generation when a prompt is given or stdin is not a terminal (stdin is read and
 * put before the prompt words, as Ollama does), otherwise the REPL with Ollama's commands
 * (ollama-compat.md §1.3-1.6). Both drive engine_chat, so earlier turns stay in the KV cache
 * and a follow-up processes only its new tokens. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>
#include <jansson.h>

#include "../engine/engine.h"
#include "cli_model.h"

#define RUN_MAX_INPUT (64u << 20) /* bytes read from stdin or one REPL message */

static const char USAGE[] =
    "usage: pippa run MODEL|FILE.gguf [PROMPT...] [-p NAME=VALUE]... [--verbose] [--interactive] [--kernels generic]";

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

typedef struct msg_list {
    engine_msg *v;
    char **owned;      /* content strings we own, parallel to v */
    int32_t **ids;     /* owned reply ids, parallel to v */
    size_t n, cap;
} msg_list;

static bool msgs_push(msg_list *l, const char *role, const char *content, const int32_t *ids, size_t n_ids) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        engine_msg *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return false;
        l->v = nv;
        char **no = realloc(l->owned, nc * sizeof *no);
        if (!no) return false;
        l->owned = no;
        int32_t **ni = realloc(l->ids, nc * sizeof *ni);
        if (!ni) return false;
        l->ids = ni;
        l->cap = nc;
    }
    char *c = strdup(content);
    int32_t *idc = NULL;
    if (n_ids) {
        idc = malloc(n_ids * sizeof *idc);
        if (idc) memcpy(idc, ids, n_ids * sizeof *idc);
    }
    if (!c || (n_ids && !idc)) {
        free(c);
        free(idc);
        return false;
    }
    l->owned[l->n] = c;
    l->ids[l->n] = idc;
    l->v[l->n] = (engine_msg){role, c, idc, idc ? n_ids : 0};
    l->n++;
    return true;
}

static void msgs_pop(msg_list *l) {
    if (!l->n) return;
    l->n--;
    free(l->owned[l->n]);
    free(l->ids[l->n]);
}

static void msgs_clear(msg_list *l, bool keep_system) {
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (keep_system && !strcmp(l->v[i].role, "system")) {
            l->v[k] = l->v[i];
            l->owned[k] = l->owned[i];
            l->ids[k] = l->ids[i];
            k++;
        } else {
            free(l->owned[i]);
            free(l->ids[i]);
        }
    }
    l->n = k;
}

static void msgs_free(msg_list *l) {
    msgs_clear(l, false);
    free(l->v);
    free(l->owned);
    free(l->ids);
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
    msg_list msgs;
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
    if (!msgs_push(&st->msgs, "user", user_text, NULL, 0)) {
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
        msgs_pop(&st->msgs);
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
        if (!msgs_push(&st->msgs, "assistant", "", r.reply_ids, r.n_reply_ids)) {
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

static const char REPL_HELP[] =
    "Available Commands:\n"
    "  /set            Set session variables\n"
    "  /show           Show model information\n"
    "  /clear          Clear session context\n"
    "  /bye            Exit\n"
    "  /?, /help       Help for a command\n"
    "  /? shortcuts    Help for keyboard shortcuts\n"
    "\n"
    "Use \"\"\" to begin a multi-line message.\n";

static const char SET_HELP[] =
    "Available Commands:\n"
    "  /set parameter ...     Set a parameter\n"
    "  /set system <string>   Set system message\n"
    "  /set verbose           Show LLM stats\n"
    "  /set quiet             Disable LLM stats\n";

static const char SHOW_HELP[] =
    "Available Commands:\n"
    "  /show info         Show details for this model\n"
    "  /show parameters   Show parameters for this model\n"
    "  /show system       Show system message\n"
    "  /show template     Show prompt template\n";

static const char PARAM_HELP[] =
    "Available Parameters:\n"
    "  /set parameter seed <int>             Random number seed\n"
    "  /set parameter num_predict <int>      Max number of tokens to predict\n"
    "  /set parameter top_k <int>            Pick from top k num of tokens\n"
    "  /set parameter top_p <float>          Pick token based on sum of probabilities\n"
    "  /set parameter min_p <float>          Pick token based on top token probability * min_p\n"
    "  /set parameter num_ctx <int>          Set the context size\n"
    "  /set parameter temperature <float>    Set creativity level\n"
    "  /set parameter repeat_penalty <float> How strongly to penalize repetitions\n"
    "  /set parameter repeat_last_n <int>    Set how far back to look for repetitions\n"
    "  /set parameter num_gpu <int>          The number of layers to send to the GPU\n"
    "  /set parameter stop <string> <string> ...   Set the stop parameters\n";


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
    const engine_options *o = &st->opt;
    for (int i = 0; i < st->n_set; i++) {
        const char *n = st->set_names[i];
        if (!strcmp(n, "num_ctx")) printf("%-30s %u\n", n, o->num_ctx);
        else if (!strcmp(n, "num_batch")) printf("%-30s %u\n", n, o->num_batch);
        else if (!strcmp(n, "num_predict")) printf("%-30s %d\n", n, o->num_predict);
        else if (!strcmp(n, "num_thread")) printf("%-30s %d\n", n, o->num_thread);
        else if (!strcmp(n, "temperature")) printf("%-30s %g\n", n, o->samp.temperature);
        else if (!strcmp(n, "top_k")) printf("%-30s %d\n", n, o->samp.top_k);
        else if (!strcmp(n, "top_p")) printf("%-30s %g\n", n, o->samp.top_p);
        else if (!strcmp(n, "min_p")) printf("%-30s %g\n", n, o->samp.min_p);
        else if (!strcmp(n, "typical_p")) printf("%-30s %g\n", n, o->samp.typical_p);
        else if (!strcmp(n, "repeat_penalty")) printf("%-30s %g\n", n, o->samp.repeat_penalty);
        else if (!strcmp(n, "repeat_last_n")) printf("%-30s %d\n", n, o->samp.repeat_last_n);
        else if (!strcmp(n, "presence_penalty")) printf("%-30s %g\n", n, o->samp.presence_penalty);
        else if (!strcmp(n, "frequency_penalty")) printf("%-30s %g\n", n, o->samp.frequency_penalty);
        else if (!strcmp(n, "seed")) printf("%-30s %lld\n", n, (long long)o->samp.seed);
        else if (!strcmp(n, "stop"))
            for (int k = 0; k < o->n_stop; k++) printf("%-30s \"%s\"\n", n, o->stop[k]);
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

static const char *system_prompt(run_state *st) {
    for (size_t i = st->msgs.n; i-- > 0;)
        if (!strcmp(st->msgs.v[i].role, "system")) return st->msgs.v[i].content;
    return NULL;
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
        fputs(PARAM_HELP, stdout);
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

/* Reads one line (libedit on a terminal, plain stdin otherwise). Caller frees. */
static char *read_line(bool tty, const char *prompt) {
    if (tty) {
        char *l = readline(prompt);
        return l;
    }
    size_t cap = 0;
    char *line = NULL;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = 0;
    return line;
}

/* Reads a message: a single line, or a """ block (lines until one ending in """). */
static char *read_message(bool tty, bool *eof) {
    *eof = false;
    char *line = read_line(tty, ">>> ");
    if (!line) {
        *eof = true;
        return NULL;
    }
    if (strncmp(line, "\"\"\"", 3) != 0) {
        if (tty && *line) add_history(line);
        return line;
    }
    /* multi-line block */
    size_t cap = 1024, n = 0;
    char *buf = malloc(cap);
    if (!buf) { free(line); return NULL; }
    buf[0] = 0;
    char *cur = line + 3;
    for (;;) {
        size_t l = strlen(cur);
        bool end = l >= 3 && !strcmp(cur + l - 3, "\"\"\"");
        if (end) l -= 3;
        if (n + l + 2 > cap) {
            while (n + l + 2 > cap) cap *= 2;
            if (cap > RUN_MAX_INPUT) { free(buf); free(line); cli_error("message too long"); return NULL; }
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); free(line); return NULL; }
            buf = nb;
        }
        if (n || cur != line + 3 || l) {
            if (n || cur != line + 3) buf[n++] = '\n';
            memcpy(buf + n, cur, l);
            n += l;
            buf[n] = 0;
        }
        free(line);
        if (end) break;
        line = read_line(tty, "... ");
        if (!line) break; /* EOF inside a block: submit what we have */
        cur = line;
    }
    if (tty && n) add_history(buf);
    /* a leading newline from `"""` alone on the first line is not content */
    if (buf[0] == '\n') memmove(buf, buf + 1, n);
    return buf;
}

static int repl(run_state *st) {
    bool tty = isatty(STDIN_FILENO);
    if (tty) {
        using_history();
        fprintf(stdout, "Send a message (/? for help)\n");
    }
    for (;;) {
        bool eof;
        char *in = read_message(tty, &eof);
        if (eof) {
            if (tty) fputs("\n", stdout);
            break;
        }
        if (!in) continue;
        char *p = in;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) { free(in); continue; }
        if (p[0] == '/') {
            char *cmd = p;
            char *rest = strpbrk(cmd, " \t");
            if (rest) { *rest++ = 0; while (*rest == ' ' || *rest == '\t') rest++; }
            else rest = cmd + strlen(cmd);
            if (!strcmp(cmd, "/bye") || !strcmp(cmd, "/exit")) { free(in); break; }
            if (!strcmp(cmd, "/?") || !strcmp(cmd, "/help")) {
                if (!strncmp(rest, "set", 3)) fputs(SET_HELP, stdout);
                else if (!strncmp(rest, "show", 4)) fputs(SHOW_HELP, stdout);
                else if (!strncmp(rest, "shortcuts", 9))
                    fputs("Available keyboard shortcuts:\n  Ctrl + a  Move to the beginning of the line\n"
                          "  Ctrl + e  Move to the end of the line\n  Ctrl + c  Stop the model from responding\n"
                          "  Ctrl + d  Exit pippa (/bye)\n", stdout);
                else fputs(REPL_HELP, stdout);
            } else if (!strcmp(cmd, "/clear")) {
                msgs_clear(&st->msgs, true);
                engine_session_clear(st->s);
                printf("Cleared session context\n");
            } else if (!strcmp(cmd, "/set")) {
                char *sub = rest, *arg = strpbrk(sub, " \t");
                if (arg) { *arg++ = 0; while (*arg == ' ' || *arg == '\t') arg++; }
                else arg = sub + strlen(sub);
                if (!strcmp(sub, "parameter")) set_parameter(st, arg);
                else if (!strcmp(sub, "system")) {
                    /* replace the last system message, else append one */
                    size_t i = st->msgs.n;
                    while (i > 0 && strcmp(st->msgs.v[i - 1].role, "system") != 0) i--;
                    if (i > 0) {
                        char *c = strdup(arg);
                        if (c) { free(st->msgs.owned[i - 1]); st->msgs.owned[i - 1] = c; st->msgs.v[i - 1].content = c; }
                    } else {
                        msgs_push(&st->msgs, "system", arg, NULL, 0);
                    }
                    printf("Set system message.\n");
                } else if (!strcmp(sub, "verbose")) { st->verbose = true; printf("Set 'verbose' mode.\n"); }
                else if (!strcmp(sub, "quiet")) { st->verbose = false; printf("Set 'quiet' mode.\n"); }
                else fputs(SET_HELP, stdout);
            } else if (!strcmp(cmd, "/show")) {
                if (!strcmp(rest, "info")) show_info(st);
                else if (!strcmp(rest, "parameters")) show_parameters(st);
                else if (!strcmp(rest, "system")) {
                    const char *sp = system_prompt(st);
                    if (sp) printf("%s\n", sp);
                    else printf("No system message was specified for this model.\n");
                } else if (!strcmp(rest, "template")) {
                    /* the model's TEMPLATE layer, else the Gemma 3 format pippa renders natively */
                    const char *tm = st->model_template ? st->model_template : cli_gemma3_template();
                    fputs(tm, stdout);
                    if (*tm && tm[strlen(tm) - 1] != '\n') fputs("\n", stdout);
                }
                else fputs(SHOW_HELP, stdout);
            } else {
                printf("Unknown command '%s'. Type /? for help\n", cmd);
            }
            free(in);
            fflush(stdout);
            continue;
        }
        answer(st, in, true);
        if (tty) fputs("\n", stdout);
        free(in);
    }
    return 0;
}

/* Reads all of stdin (bounded). */
static char *slurp_stdin(void) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            if (cap > RUN_MAX_INPUT) { free(buf); cli_error("run: stdin is larger than %u bytes", RUN_MAX_INPUT); return NULL; }
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, stdin);
        n += got;
        if (got == 0) break;
    }
    buf[n] = 0;
    return buf;
}

int cli_cmd_run(int argc, char **argv) {
    run_state st;
    memset(&st, 0, sizeof st);
    st.opt = engine_default_options();
    bool interactive = false;
    char *prompt = NULL;
    size_t plen = 0;
    int rc = 0;
    cli_model cm = {0};
    const char *user_p[256]; /* -p arguments, re-applied over the model's parameters */
    int n_user_p = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-p") || !strcmp(a, "--parameter")) {
            if (i + 1 >= argc) { cli_error("run: %s needs NAME=VALUE", a); rc = 2; goto out; }
            if ((rc = apply_p(&st, argv[++i]))) goto out;
            if (n_user_p < 256) user_p[n_user_p++] = argv[i];
        } else if (!strcmp(a, "--verbose")) {
            st.verbose = true;
        } else if (!strcmp(a, "--interactive") || !strcmp(a, "-i")) {
            interactive = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            puts(USAGE);
            goto out;
        } else if (a[0] == '-' && a[1]) {
            cli_error("run: unknown option '%s'\n%s", a, USAGE);
            rc = 2;
            goto out;
        } else if (!st.path) {
            st.path = a;
        } else {
            size_t l = strlen(a);
            char *np = realloc(prompt, plen + l + 2);
            if (!np) { cli_error("out of memory"); rc = 1; goto out; }
            prompt = np;
            if (plen) prompt[plen++] = ' ';
            memcpy(prompt + plen, a, l + 1);
            plen += l;
        }
    }
    if (!st.path) {
        cli_error("run: missing MODEL\n%s", USAGE);
        rc = 2;
        goto out;
    }
    if (!interactive && !isatty(STDIN_FILENO)) {
        char *in = slurp_stdin();
        if (!in) { rc = 1; goto out; }
        size_t il = strlen(in);
        while (il && (in[il - 1] == '\n' || in[il - 1] == '\r')) in[--il] = 0;
        if (il) {
            char *np = malloc(il + plen + 2);
            if (!np) { free(in); rc = 1; goto out; }
            memcpy(np, in, il);
            np[il] = 0;
            if (plen) { np[il] = ' '; memcpy(np + il + 1, prompt, plen + 1); }
            free(prompt);
            prompt = np;
            plen = strlen(np);
        }
        free(in);
    }
    /* MODEL: a .gguf file or a name in the store (cli_model.c); options = defaults <- the
     * model's params layer <- -p; its SYSTEM and MESSAGEs start the conversation */
    if (cli_model_resolve(st.path, &cm)) { rc = 1; goto out; }
    st.path = cm.path;
    if (cm.from_store) {
        engine_options o = engine_default_options();
        cli_model_apply_params(&cm, &o);
        bool user_stop = false;
        for (int k = 0; k < n_user_p; k++) {
            if (!strncmp(user_p[k], "stop=", 5) && !user_stop) { o.n_stop = 0; user_stop = true; }
            pp_err e = {0};
            const char *eq = strchr(user_p[k], '=');
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", (int)(eq - user_p[k]), user_p[k]);
            engine_options_set(&o, nm, eq + 1, &e); /* validated above */
        }
        st.opt = o;
        st.model_params_json = cm.m.params_json;
        st.model_template = cm.m.tmpl;
        if (cm.m.system) msgs_push(&st.msgs, "system", cm.m.system, NULL, 0);
        for (size_t k = 0; k < cm.n_msgs; k++) msgs_push(&st.msgs, cm.msg_role[k], cm.msg_content[k], NULL, 0);
    }
    pp_err err = {0};
    if (engine_model_load(st.path, &st.em, &err) != PP_OK) {
        cli_error("%s", err.msg);
        rc = 1;
        goto out;
    }
    if (engine_session_init(st.em, &st.opt, &st.s, &err) != PP_OK) {
        cli_error("%s", err.msg);
        rc = 1;
        goto out;
    }
    if (st.verbose) {
        char kv[32];
        cli_fmt_size(engine_session_kv_bytes(st.s), kv, sizeof kv);
        fprintf(stderr, "pippa: kernels %s, KV cache %s for num_ctx %u\n", kern_isa_name(kern_active_isa()), kv,
                engine_session_n_ctx(st.s));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (prompt && !interactive) {
        rc = answer(&st, prompt, true);
    } else if (!prompt && !interactive && !isatty(STDIN_FILENO)) {
        cli_error("run: empty prompt on stdin");
        rc = 1;
    } else {
        if (prompt) rc = answer(&st, prompt, true);
        if (!rc) rc = repl(&st);
    }
out:
    free(prompt);
    msgs_free(&st.msgs);
    engine_session_free(st.s);
    engine_model_free(st.em);
    cli_model_free(&cm);
    return rc;
}
