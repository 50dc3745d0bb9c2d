/* store_name.c - Ollama model names: "[scheme://][host/][namespace/]model[:tag]"
 * (ollama-compat.md §4.3; ollama types/model/name.go).
 *
 * Invariant: a parsed name's parts contain only [A-Za-z0-9_.-] (host also ':'), start with
 * a letter, digit or '_', and are non-empty and bounded, so none of them can be ".", "..",
 * contain '/' or NUL, or reach outside the store when joined into a path. */
#include "store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef enum part_kind { PART_HOST, PART_NAMESPACE, PART_MODEL, PART_TAG } part_kind;

static const char *const PART_NAMES[] = {"host", "namespace", "model", "tag"};

/* The name for messages: non-printable bytes as '?', cut at 200 bytes. */
static void printable(const char *s, char *buf, size_t cap) {
    size_t n = 0;
    for (; *s && n + 1 < cap && n < 200; s++) buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    buf[n] = 0;
}

static pp_status bad(pp_err *err, const char *text, const char *fmt, const char *a, const char *b) {
    char shown[256];
    printable(text, shown, sizeof shown);
    char why[300];
    snprintf(why, sizeof why, fmt, a, b);
    return pp_err_set(err, PP_ERR_ARG, "invalid model name '%s': %s", shown, why);
}

static pp_status check_part(const char *text, const char *p, size_t n, part_kind kind, char *out, size_t cap,
                            pp_err *err) {
    const char *what = PART_NAMES[kind];
    size_t max = kind == PART_HOST ? STORE_HOST_MAX : STORE_PART_MAX;
    if (n == 0) return bad(err, text, "empty %s%s", what, "");
    if (n > max) {
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", max);
        return bad(err, text, "%s longer than %s characters", what, lim);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool ok = isalnum(c) || c == '_';
        if (i > 0) {
            if (c == '-') ok = true;
            if (c == '.' && kind != PART_NAMESPACE) ok = true;
            if (c == ':' && kind == PART_HOST) ok = true;
        }
        if (!ok) {
            char ch[8];
            if (c >= 0x20 && c < 0x7f) snprintf(ch, sizeof ch, "'%c'", c);
            else snprintf(ch, sizeof ch, "0x%02x", c);
            if (i == 0) return bad(err, text, "%s must start with a letter, digit or '_', not %s", what, ch);
            return bad(err, text, "character %s is not allowed in the %s", ch, what);
        }
    }
    PP_ASSERT(n < cap);
    memcpy(out, p, n);
    out[n] = 0;
    return PP_OK;
}

pp_status store_name_parse(const char *text, store_name *out, pp_err *err) {
    if (!text) return pp_err_set(err, PP_ERR_ARG, "invalid model name '': empty");
    store_name n;
    memset(&n, 0, sizeof n);
    snprintf(n.scheme, sizeof n.scheme, "https");
    snprintf(n.host, sizeof n.host, STORE_DEFAULT_HOST);
    snprintf(n.ns, sizeof n.ns, STORE_DEFAULT_NAMESPACE);
    snprintf(n.tag, sizeof n.tag, STORE_DEFAULT_TAG);
    size_t len = strlen(text);
    if (len == 0) return bad(err, text, "empty%s%s", "", "");
    if (len > STORE_HOST_MAX + 3 * STORE_PART_MAX + 16)
        return bad(err, text, "longer than %s characters%s", "600", "");
    const char *s = text, *end = text + len;
    const char *sep = strstr(s, "://");
    if (sep) {
        size_t sl = (size_t)(sep - s);
        if (sl == 4 && !strncasecmp(s, "http", 4)) snprintf(n.scheme, sizeof n.scheme, "http");
        else if (sl == 5 && !strncasecmp(s, "https", 5)) snprintf(n.scheme, sizeof n.scheme, "https");
        else return bad(err, text, "scheme must be http:// or https://%s%s", "", "");
        s = sep + 3;
    }
    if (memchr(s, '@', (size_t)(end - s))) return bad(err, text, "digest references (@sha256:...) are not supported%s%s", "", "");
    /* the tag is split off only if the last ':' comes after the last '/' */
    const char *slash = NULL, *colon = NULL;
    for (const char *q = s; q < end; q++) {
        if (*q == '/') slash = q;
        if (*q == ':') colon = q;
    }
    const char *body_end = end;
    if (colon && (!slash || colon > slash)) {
        if (check_part(text, colon + 1, (size_t)(end - colon - 1), PART_TAG, n.tag, sizeof n.tag, err) != PP_OK)
            return err->status;
        body_end = colon;
    }
    /* split from the right: model, namespace, host (the rest, which may not contain '/') */
    const char *parts[3];
    size_t lens[3];
    int np = 0;
    const char *q = body_end;
    while (np < 2) {
        const char *p = q;
        while (p > s && p[-1] != '/') p--;
        parts[np] = p;
        lens[np] = (size_t)(q - p);
        np++;
        if (p == s) break;
        q = p - 1; /* at the '/' */
    }
    if (np == 2 && parts[1] != s) {
        parts[2] = s;
        lens[2] = (size_t)(parts[1] - 1 - s);
        np = 3;
    }
    if (check_part(text, parts[0], lens[0], PART_MODEL, n.model, sizeof n.model, err) != PP_OK) return err->status;
    if (np >= 2 && check_part(text, parts[1], lens[1], PART_NAMESPACE, n.ns, sizeof n.ns, err) != PP_OK)
        return err->status;
    if (np == 3) {
        if (memchr(parts[2], '/', lens[2])) return bad(err, text, "too many '/' (host/namespace/model:tag)%s%s", "", "");
        if (check_part(text, parts[2], lens[2], PART_HOST, n.host, sizeof n.host, err) != PP_OK) return err->status;
    }
    *out = n;
    return PP_OK;
}

void store_name_display(const store_name *n, char *buf, size_t cap) {
    if (strcasecmp(n->host, STORE_DEFAULT_HOST) != 0)
        snprintf(buf, cap, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
    else if (strcasecmp(n->ns, STORE_DEFAULT_NAMESPACE) != 0)
        snprintf(buf, cap, "%s/%s:%s", n->ns, n->model, n->tag);
    else
        snprintf(buf, cap, "%s:%s", n->model, n->tag);
}

void store_name_full(const store_name *n, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
}

bool store_name_eq(const store_name *a, const store_name *b) {
    return !strcasecmp(a->host, b->host) && !strcasecmp(a->ns, b->ns) && !strcasecmp(a->model, b->model) &&
           !strcasecmp(a->tag, b->tag);
}

bool store_digest_valid(const char *d) {
    if (!d || strncmp(d, "sha256:", 7) != 0) return false;
    for (int i = 0; i < 64; i++) {
        char c = d[7 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return d[71] == 0;
}
