/* cli_flags.h - the one argv parser of the subcommands: a table of flags, each writing into
 * a field of the command's params struct, so a command is parse(argv) -> params, then
 * run(params).
 *
 *     bench_params p = bench_default_params();
 *     const cli_flag flags[] = {
 *         {"-p", NULL, CLI_FLAG_LONG, &p.n_prompt, 0, 65536, NULL, "prompt tokens"},
 *         {"--json", NULL, CLI_FLAG_BOOL, &p.as_json, 0, 0, NULL, "JSON lines"},
 *     };
 *     cli_args a = {.cmd = "bench", .usage = USAGE, .flags = flags, .n_flags = 2,
 *                   .pos = &p.path, .max_pos = 1};
 *     int rc = cli_flags_parse(&a, argc, argv);
 *     if (rc) return rc == CLI_FLAGS_HELP ? 0 : rc;
 *
 * Messages are one line (plus the usage where the command printed it before), prefixed with
 * the command: "bench: -r: expected an integer in [1, 1000], got '0'",
 * "bench: unknown or incomplete option '--x'", "bench: unexpected argument 'y'".
 * Thread safety: none needed (main's thread, before any other exists). */
#ifndef PIPPA_CLI_FLAGS_H
#define PIPPA_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_FLAGS_HELP (-1)     /* -h/--help: the usage was printed; exit 0 */
#define CLI_FLAGS_MISSING (-2)  /* from a CLI_FLAG_FN: report the flag as incomplete */
#define CLI_LIST_MAX 256      /* values of one repeated flag */

typedef enum cli_flag_kind {
    CLI_FLAG_BOOL,   /* no value: *(bool *)dest = true */
    CLI_FLAG_STR,    /* one value: *(const char **)dest = the argv string (borrowed) */
    CLI_FLAG_LONG,   /* an integer in [lo, hi]: *(long *)dest */
    CLI_FLAG_LIST,   /* repeatable: appended to *(cli_list *)dest */
    CLI_FLAG_FN,     /* fn(dest, cmd, flag as typed, value or NULL if missing): an exit status */
    CLI_FLAG_SWITCH  /* no value: fn(dest, cmd, flag as typed, NULL) */
} cli_flag_kind;

typedef struct cli_list {
    const char *v[CLI_LIST_MAX];
    int n;
} cli_list;

typedef int (*cli_flag_fn)(void *dest, const char *cmd, const char *flag, const char *value);

typedef struct cli_flag {
    const char *name;    /* "-p" */
    const char *alias;   /* "--parameter", or NULL */
    cli_flag_kind kind;
    void *dest;
    long lo, hi;         /* CLI_FLAG_LONG */
    cli_flag_fn fn;      /* CLI_FLAG_FN */
    const char *help;
} cli_flag;

/* What counts as a flag: anything starting with '-', anything but a lone "-", only "--x",
 * or only the table's flags (every other word is positional, "-x" included). */
typedef enum cli_dash {
    CLI_DASH_ANY = 0,
    CLI_DASH_NOT_LONE,
    CLI_DASH_DOUBLE,
    CLI_DASH_NONE
} cli_dash;

typedef struct cli_args {
    const char *cmd;          /* prefixes every message (NULL: no prefix) */
    const char *usage;        /* printed by -h, and after unknown-flag and positional errors */
    const cli_flag *flags;
    size_t n_flags;
    const char **pos;         /* positional arguments, in order (borrowed argv strings) */
    size_t max_pos;
    size_t *n_pos;            /* optional: how many were given */
    const char *unknown;      /* format of (flag, usage); NULL: "unknown or incomplete option '%s'\n%s" */
    const char *too_many;     /* format of (word, usage); NULL: "unexpected argument '%s'\n%s" */
    cli_dash dash;
    bool no_help;             /* -h/--help are not flags of this command */
} cli_args;

/* Parses argv[1..argc) ("--" ends the flags, except with CLI_DASH_NONE): 0, 2 after printing a usage error, the
 * status a CLI_FLAG_FN returned, or CLI_FLAGS_HELP. */
int cli_flags_parse(const cli_args *a, int argc, char **argv);
/* "<cmd>: <opt>: expected an integer in [lo, hi], got 's'" (2) unless s is one. */
int cli_flags_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/* CLI_FLAG_FN for "--kv f16|f32" (dest: uint32_t GGUF type): "<cmd>: --kv: expected f16 or
 * f32, got 'x'". */
int cli_flag_kv(void *dest, const char *cmd, const char *flag, const char *value);

#endif
