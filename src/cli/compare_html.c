/* compare_html.c - the self-contained HTML page of `pippa compare --html FILE`: inline CSS,
 * inline SVG bar charts drawn here (file size, prefill and decode speed, perplexity, KLD),
 * the numbers in a table and the answers side by side. No scripts and no external references
 * (no URLs at all), so the page renders offline and is safe to open.
 *
 * Invariants: every piece of user or model text goes through html_text(), which escapes
 * & < > " ' and replaces C0 control characters (other than tab and newline) and DEL by U+FFFD.
 * Each chart has one <rect class="bar"> per model, in command-line order.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_eval.h"

static void html_text(FILE *o, const char *s) {
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default:
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) fputs("&#xFFFD;", o);
            else fputc(c, o);
        }
    }
}

static const char CSS[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}"
    ".charts{display:flex;flex-wrap:wrap;gap:1em}"
    "figure.chart{margin:0;border:1px solid #ddd;padding:.5em}"
    "figcaption{font-weight:bold;margin-bottom:.3em}"
    "svg text{font-size:12px;font-family:system-ui,sans-serif}"
    "rect.bar{fill:#4a7bd0}rect.bar.ref{fill:#999}"
    ".answers{display:flex;gap:1em;align-items:flex-start}"
    ".answer{flex:1;min-width:0;border:1px solid #ddd;padding:.5em}"
    ".answer pre{white-space:pre-wrap;word-wrap:break-word;margin:0}"
    ".meta{color:#555}";

#define CHART_W 520
#define LABEL_W 170
#define BAR_MAX 230
#define ROW_H 26

static void fmt_value(double v, char *buf, size_t cap) {
    if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3)) snprintf(buf, cap, "%.4e", v);
    else snprintf(buf, cap, "%.4g", v);
}

static void chart(FILE *o, const char *id, const char *title, const cli_compare_row *rows, size_t n,
                  const double *vals, bool first_is_ref) {
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(vals[i]) && vals[i] > mx) mx = vals[i];
    int h = (int)n * ROW_H + 10;
    fprintf(o, "<figure class=\"chart\" id=\"%s\"><figcaption>", id);
    html_text(o, title);
    fprintf(o, "</figcaption>\n<svg width=\"%d\" height=\"%d\" role=\"img\">\n",
            CHART_W, h);
    for (size_t i = 0; i < n; i++) {
        double v = isfinite(vals[i]) && vals[i] > 0 ? vals[i] : 0;
        int w = mx > 0 ? (int)lround(v / mx * BAR_MAX) : 0;
        if (w < 1) w = 1;
        int y = (int)i * ROW_H + 5;
        char num[48];
        fmt_value(vals[i], num, sizeof num);
        fprintf(o, "<text x=\"0\" y=\"%d\">", y + 16);
        html_text(o, rows[i].name);
        fprintf(o, "</text><rect class=\"bar%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"><title>",
                first_is_ref && i == 0 ? " ref" : "", LABEL_W, y, w, ROW_H - 6);
        html_text(o, num);
        fprintf(o, "</title></rect><text class=\"val\" x=\"%d\" y=\"%d\">", LABEL_W + w + 6, y + 16);
        html_text(o, num);
        if (first_is_ref && i == 0) fputs(" (reference)", o);
        fputs("</text>\n", o);
    }
    fputs("</svg></figure>\n", o);
}

static void cell(FILE *o, const char *s) {
    fputs("<td class=\"num\">", o);
    html_text(o, s);
    fputs("</td>", o);
}

int cli_compare_write_html(const char *path, const cli_compare_info *info, const cli_compare_row *rows, size_t n) {
    FILE *o = fopen(path, "w");
    if (!o) {
        cli_error("%s: cannot create: %m", path);
        return 1;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pippa compare</title><style>", o);
    fputs(CSS, o);
    fputs("</style></head><body>\n<h1>pippa compare</h1>\n<p class=\"meta\">", o);
    if (info->text_path) {
        fputs("Perplexity text: ", o);
        html_text(o, info->text_path);
        fprintf(o, ", %u chunks of %u tokens; KLD against the first model. ", info->n_chunks, info->n_ctx);
    }
    fprintf(o, "Speed: %u-token prefill, %u decoded tokens. Prompt: &ldquo;", info->n_prefill, info->n_decode);
    html_text(o, info->prompt);
    fprintf(o, "&rdquo;, seed %lld, up to %d tokens.</p>\n", (long long)info->seed, info->n_predict);

    /* the numbers */
    fputs("<h2>Summary</h2>\n<table id=\"summary\"><tr><th>metric</th>", o);
    for (size_t i = 0; i < n; i++) {
        fputs("<th>", o);
        html_text(o, rows[i].name);
        fputs("</th>", o);
    }
    fputs("</tr>\n", o);
    char b[64];
#define TROW(label, ...)                                                                 \
    do {                                                                                 \
        fputs("<tr><th>", o);                                                            \
        html_text(o, label);                                                             \
        fputs("</th>", o);                                                               \
        for (size_t i = 0; i < n; i++) { const cli_compare_row *r = &rows[i]; __VA_ARGS__; cell(o, b); } \
        fputs("</tr>\n", o);                                                             \
    } while (0)
    char label[64];
    TROW("weight type", snprintf(b, sizeof b, "%s", r->weight_type));
    TROW("file size", cli_fmt_size(r->file_bytes, b, sizeof b));
    snprintf(label, sizeof label, "weights resident (%s + repacked)", rows[0].resident_method);
    TROW(label, cli_fmt_size(r->resident_bytes, b, sizeof b));
    TROW("of which repacked at load", cli_fmt_size(r->packed_bytes, b, sizeof b));
    TROW("KV cache @ trained ctx", {
        char s[32];
        cli_fmt_size(r->kv_bytes_train, s, sizeof s);
        snprintf(b, sizeof b, "%s (%u)", s, r->n_ctx_train);
    });
    snprintf(label, sizeof label, "KV cache @ ctx %u", info->n_ctx);
    TROW(label, cli_fmt_size(r->kv_bytes_ctx, b, sizeof b));
    TROW("load time (ms)", snprintf(b, sizeof b, "%.1f", r->load_ms));
    TROW("prefill tok/s", snprintf(b, sizeof b, "%.2f", r->prefill_tps));
    TROW("decode tok/s", snprintf(b, sizeof b, "%.2f", r->decode_tps));
    if (info->text_path) {
        TROW("PPL", fmt_value(r->ppl, b, sizeof b));
        TROW("PPL ± error", fmt_value(r->ppl_err, b, sizeof b));
        TROW("mean KLD vs first", {
            if (r->have_kld) snprintf(b, sizeof b, "%.6f", r->kld.kld);
            else snprintf(b, sizeof b, "-");
        });
        TROW("KLD 99% vs first", {
            if (r->have_kld) snprintf(b, sizeof b, "%.6f", r->kld.kld_pct[2]);
            else snprintf(b, sizeof b, "-");
        });
        TROW("same top token vs first", {
            if (r->have_kld) snprintf(b, sizeof b, "%.3f%%", 100 * r->kld.same_top);
            else snprintf(b, sizeof b, "-");
        });
    }
#undef TROW
    fputs("</table>\n", o);

    /* the charts */
    double v[64] = {0};
    size_t nn = n < 64 ? n : 64;
    fputs("<h2>Charts</h2>\n<div class=\"charts\">\n", o);
    for (size_t i = 0; i < nn; i++) v[i] = rows[i].file_bytes / 1e6;
    chart(o, "chart-size", "File size (MB)", rows, nn, v, false);
    for (size_t i = 0; i < nn; i++) v[i] = rows[i].prefill_tps;
    chart(o, "chart-prefill", "Prefill (tokens/s, higher is better)", rows, nn, v, false);
    for (size_t i = 0; i < nn; i++) v[i] = rows[i].decode_tps;
    chart(o, "chart-decode", "Decode (tokens/s, higher is better)", rows, nn, v, false);
    if (info->text_path) {
        for (size_t i = 0; i < nn; i++) v[i] = rows[i].ppl;
        chart(o, "chart-ppl", "Perplexity (lower is better)", rows, nn, v, false);
        for (size_t i = 0; i < nn; i++) v[i] = rows[i].have_kld ? rows[i].kld.kld : 0;
        chart(o, "chart-kld", "Mean KLD vs the first model (lower is better)", rows, nn, v, true);
    }
    fputs("</div>\n", o);

    /* the answers */
    fputs("<h2>Answers</h2>\n<div class=\"answers\">\n", o);
    for (size_t i = 0; i < n; i++) {
        fputs("<section class=\"answer\"><h3>", o);
        html_text(o, rows[i].name);
        fputs("</h3><pre>", o);
        html_text(o, rows[i].answer);
        fputs("</pre></section>\n", o);
    }
    fputs("</div>\n</body></html>\n", o);
    if (ferror(o) | (fclose(o) != 0)) {
        cli_error("%s: write failed", path);
        return 1;
    }
    return 0;
}
