/* cmd_pull.c - `pippa pull NAME [--insecure]` (ollama-compat.md §4.4): a progress bar per
 * blob on a terminal (bytes, rate, ETA), plain lines otherwise. Test/debug knobs:
 * PIPPA_PULL_PART_SIZE (bytes per ranged part), PIPPA_PULL_PARTS (parallel parts),
 * PIPPA_PULL_RETRIES (per part, default 6). */
#include "cli.h"
#include "cli_flags.h"
#include "cli_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE_TEXT "usage: pippa pull MODEL [--insecure]"
static const char USAGE[] = USAGE_TEXT;

typedef struct pull_ui {
    bool tty;
} pull_ui;

static void on_status(const char *line, void *ud) {
    (void)ud;
    if (!strncmp(line, "pulling ", 8) && strcmp(line, "pulling manifest") != 0) return; /* progress prints these */
    printf("%s\n", line);
    fflush(stdout);
}

static void fmt_eta(double s, char *buf, size_t cap) {
    if (s < 0 || s > 360000) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%ldm", t / 3600, (t % 3600) / 60);
    else if (t >= 60) snprintf(buf, cap, "%ldm%lds", t / 60, t % 60);
    else snprintf(buf, cap, "%lds", t);
}

static void on_progress(const store_progress *p, void *ud) {
    pull_ui *ui = ud;
    char done[32], total[32];
    cli_fmt_size(p->completed, done, sizeof done);
    cli_fmt_size(p->total, total, sizeof total);
    int pct = p->total ? (int)(p->completed * 100 / p->total) : 100;
    if (!ui->tty) {
        if (p->done) printf("pulling %.12s: 100%% %s\n", p->digest + 7, total);
        fflush(stdout);
        return;
    }
    char bar[64 * 3 + 1];
    int w = 25, fill = pct * w / 100;
    size_t o = 0;
    for (int i = 0; i < w; i++) {
        const char *c = i < fill ? "\xe2\x96\x88" : " "; /* U+2588 full block */
        size_t l = strlen(c);
        memcpy(bar + o, c, l);
        o += l;
    }
    bar[o] = 0;
    char rate[32] = "", eta[32] = "";
    if (!p->done && p->rate > 0) {
        cli_fmt_size((uint64_t)p->rate, rate, sizeof rate);
        strcat(rate, "/s");
        fmt_eta((double)(p->total - p->completed) / p->rate, eta, sizeof eta);
    }
    printf("\r\033[Kpulling %.12s: %3d%% \xe2\x96\x95%s\xe2\x96\x8f %s/%s  %s  %s", p->digest + 7, pct, bar, done, total,
           rate, eta);
    if (p->done) printf("\n");
    fflush(stdout);
}

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    long x = strtol(v, &end, 10);
    return *end || x < 0 ? def : x;
}

/* MODEL and --insecure from argv; the download's tuning from the environment. */
static int pull_parse(int argc, char **argv, const char **name, store_pull_params *p) {
    const cli_flag flags[] = {
        {"--insecure", NULL, CLI_FLAG_BOOL, &p->insecure, 0, 0, NULL, "allow http:// registries"},
    };
    cli_args a = {.cmd = "pull", .usage = USAGE, .flags = flags, .n_flags = 1, .pos = name, .max_pos = 1,
                  .unknown = "unknown option '%s'\n%s", .too_many = "pull: one MODEL only\n" USAGE_TEXT};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    if (!*name) { cli_error("pull: missing MODEL\n%s", USAGE); return 2; }
    p->part_size = (uint64_t)env_long("PIPPA_PULL_PART_SIZE", 0);
    p->max_parts = (int)env_long("PIPPA_PULL_PARTS", p->max_parts);
    p->retries = (int)env_long("PIPPA_PULL_RETRIES", p->retries);
    return 0;
}

int cli_cmd_pull(int argc, char **argv) {
    const char *name = NULL;
    store_pull_params p = store_pull_default_params();
    int prc = pull_parse(argc, argv, &name, &p);
    if (prc) return prc == CLI_FLAGS_HELP ? 0 : prc;
    pull_ui ui = {isatty(STDOUT_FILENO)};
    p.status = on_status;
    p.progress = on_progress;
    p.ud = &ui;
    store *s;
    if (cli_store_open(&s)) return 1;
    pp_err err = {0};
    int rc = 0;
    if (store_pull(s, name, p, &err) != PP_OK) {
        if (ui.tty) printf("\n");
        cli_error("%s", err.msg);
        rc = 1;
    }
    store_close(s);
    return rc;
}
