/* run_input.c - what `pippa run` reads and keeps: the conversation (cli_msgs) and the user's
 * input, a REPL line or block (libedit on a terminal, plain getline otherwise, which is how
 * the tests drive the REPL through a pipe) or all of stdin for a one-shot prompt. */
#include "cli_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"

bool cli_msgs_push(cli_msgs *l, const char *role, const char *content, const int32_t *ids, size_t n_ids) {
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

void cli_msgs_pop(cli_msgs *l) {
    if (!l->n) return;
    l->n--;
    free(l->owned[l->n]);
    free(l->ids[l->n]);
}

void cli_msgs_clear(cli_msgs *l, bool keep_system) {
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

void cli_msgs_free(cli_msgs *l) {
    cli_msgs_clear(l, false);
    free(l->v);
    free(l->owned);
    free(l->ids);
}

void cli_msgs_set_system(cli_msgs *l, const char *content) {
    size_t i = l->n;
    while (i > 0 && strcmp(l->v[i - 1].role, "system") != 0) i--;
    if (i > 0) {
        char *c = strdup(content);
        if (c) {
            free(l->owned[i - 1]);
            l->owned[i - 1] = c;
            l->v[i - 1].content = c;
        }
    } else {
        cli_msgs_push(l, "system", content, NULL, 0);
    }
}

const char *cli_msgs_system(const cli_msgs *l) {
    for (size_t i = l->n; i-- > 0;)
        if (!strcmp(l->v[i].role, "system")) return l->v[i].content;
    return NULL;
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

char *cli_read_message(bool tty, bool *eof) {
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

char *cli_read_stdin(void) {
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

void cli_repl_loop(bool (*command)(void *ud, char *line), void (*message)(void *ud, const char *text), void *ud) {
    bool tty = isatty(STDIN_FILENO);
    if (tty) {
        using_history();
        fprintf(stdout, "Send a message (/? for help)\n");
    }
    for (;;) {
        bool eof;
        char *in = cli_read_message(tty, &eof);
        if (eof) {
            if (tty) fputs("\n", stdout);
            break;
        }
        if (!in) continue;
        char *p = in;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) { free(in); continue; }
        if (p[0] == '/') {
            bool go_on = command(ud, p);
            free(in);
            if (!go_on) break;
            continue;
        }
        message(ud, in);
        if (tty) fputs("\n", stdout);
        free(in);
    }
}
