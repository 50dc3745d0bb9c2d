/* cli_flags.c - the table-driven argv parser of the subcommands (cli_flags.h). A flag that
 * takes a value but comes last is reported like an unknown one ("unknown or incomplete
 * option"), as the commands always did; a CLI_FLAG_FN flag reports it itself. */
#include "cli_flags.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../gguf/gguf.h"

int cli_flags_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        cli_error("%s: %s: expected an integer in [%ld, %ld], got '%s'", cmd, opt, lo, hi, s);
        return 2;
    }
    *out = v;
    return 0;
}

static bool is_flag(const cli_args *a, const char *s) {
    switch (a->dash) {
    case CLI_DASH_NOT_LONE: return s[0] == '-' && s[1];
    case CLI_DASH_DOUBLE: return s[0] == '-' && s[1] == '-';
    case CLI_DASH_NONE: return false;
    default: return s[0] == '-';
    }
}

static const cli_flag *find(const cli_args *a, const char *s) {
    for (size_t i = 0; i < a->n_flags; i++)
        if (!strcmp(s, a->flags[i].name) || (a->flags[i].alias && !strcmp(s, a->flags[i].alias))) return &a->flags[i];
    return NULL;
}

static int unknown(const cli_args *a, const char *s) {
    char msg[1024];
    snprintf(msg, sizeof msg, a->unknown ? a->unknown : "unknown or incomplete option '%s'\n%s", s, a->usage);
    if (a->cmd) cli_error("%s: %s", a->cmd, msg);
    else cli_error("%s", msg);
    return 2;
}

/* Applies flag f (typed as s) with value (NULL when argv has none left). */
static int apply(const cli_args *a, const cli_flag *f, const char *s, const char *value) {
    switch (f->kind) {
    case CLI_FLAG_BOOL: *(bool *)f->dest = true; return 0;
    case CLI_FLAG_FN:
    case CLI_FLAG_SWITCH: {
        int rc = f->fn(f->dest, a->cmd, s, value);
        return rc == CLI_FLAGS_MISSING ? unknown(a, s) : rc;
    }
    default: break;
    }
    if (!value) return unknown(a, s);
    if (f->kind == CLI_FLAG_STR) {
        *(const char **)f->dest = value;
        return 0;
    }
    if (f->kind == CLI_FLAG_LONG) return cli_flags_long(a->cmd, f->name, value, f->lo, f->hi, (long *)f->dest);
    cli_list *l = f->dest;
    if (l->n == CLI_LIST_MAX) {
        cli_error("%s: %s: at most %d values", a->cmd, f->name, CLI_LIST_MAX);
        return 2;
    }
    l->v[l->n++] = value;
    return 0;
}

int cli_flags_parse(const cli_args *a, int argc, char **argv) {
    size_t n_pos = 0;
    bool flags_done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!flags_done && a->dash != CLI_DASH_NONE && !strcmp(s, "--")) {
            flags_done = true;
            continue;
        }
        const cli_flag *f = flags_done ? NULL : find(a, s);
        if (!f && !flags_done && !a->no_help && (!strcmp(s, "-h") || !strcmp(s, "--help"))) {
            puts(a->usage);
            return CLI_FLAGS_HELP;
        }
        if (!flags_done && (f || is_flag(a, s))) {
            if (!f) return unknown(a, s);
            bool takes = f->kind != CLI_FLAG_BOOL && f->kind != CLI_FLAG_SWITCH;
            const char *value = takes && i + 1 < argc ? argv[i + 1] : NULL;
            if (value) i++;
            int rc = apply(a, f, s, value);
            if (rc) return rc;
            continue;
        }
        if (n_pos == a->max_pos) {
            if (a->too_many) cli_error(a->too_many, s, a->usage);
            else cli_error("%s: unexpected argument '%s'\n%s", a->cmd, s, a->usage);
            return 2;
        }
        a->pos[n_pos++] = s;
    }
    if (a->n_pos) *a->n_pos = n_pos;
    return 0;
}

int cli_flag_kv(void *dest, const char *cmd, const char *flag, const char *value) {
    if (!value) return CLI_FLAGS_MISSING;
    if (!strcmp(value, "f16")) *(uint32_t *)dest = GGUF_TTYPE_F16;
    else if (!strcmp(value, "f32")) *(uint32_t *)dest = GGUF_TTYPE_F32;
    else {
        cli_error("%s: %s: expected f16 or f32, got '%s'", cmd, flag, value);
        return 2;
    }
    return 0;
}
