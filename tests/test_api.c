/* test_api.c - the server's parsers without a socket: OLLAMA_HOST forms, Go durations,
 * model-name normalization (nothing path-like gets through), the JSON depth bound and
 * body errors (the transport's http_json_parse), typed fields, Ollama's options rules and
 * keep_alive, RFC 3339 output, the handlers' parse steps (api_*_parse, fuzzed by
 * fuzz/fuzz_api_*.c). The transport alone is tests/test_http.c, the whole server
 * over HTTP tests/test_server.py. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/api_respond.h"
#include "server/api_runner.h"
#include "server/http.h"
#include "test.h"

static void test_host_parse(void) {
    char h[API_HOST_MAX];
    uint16_t p = 0;
    pp_err e = {0};
    struct {
        const char *in, *host;
        uint16_t port;
    } ok[] = {
        {"", "127.0.0.1", 11434},
        {"0.0.0.0", "0.0.0.0", 11434},
        {":8080", "127.0.0.1", 8080},
        {"example.com:99", "example.com", 99},
        {"http://example.com", "example.com", 80},
        {"https://example.com", "example.com", 443},
        {"http://1.2.3.4:5/some/path", "1.2.3.4", 5},
        {"[::1]:7000", "::1", 7000},
        {"\"127.0.0.1:1234\"", "127.0.0.1", 1234},
        {"::1", "::1", 11434},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pp_status st = api_host_parse(ok[i].in, h, sizeof h, &p, &e);
        T_CHECK_MSG(st == PP_OK && !strcmp(h, ok[i].host) && p == ok[i].port, "'%s' -> '%s':%u (%s)", ok[i].in, h, p,
                    e.msg);
    }
    T_CHECK(api_host_parse("host:99999", h, sizeof h, &p, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "host 'host:99999': bad port '99999'"), "%s", e.msg);
    T_CHECK(api_host_parse("host:x", h, sizeof h, &p, &e) == PP_ERR_ARG);
    T_CHECK(api_host_parse("[::1", h, sizeof h, &p, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "host '[::1': missing ']'"), "%s", e.msg);
}

static void test_duration(void) {
    int64_t ns = 0;
    pp_err e = {0};
    struct {
        const char *in;
        int64_t ns;
    } ok[] = {
        {"5m", 300000000000LL}, {"1h30m", 5400000000000LL}, {"-1m", -60000000000LL}, {"250ms", 250000000LL},
        {"300", 300000000000LL}, {"-1", -1000000000LL},   {"0", 0},                 {"1.5s", 1500000000LL},
        {"2us", 2000},          {"0s", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pp_status st = api_duration_parse(ok[i].in, &ns, &e);
        T_CHECK_MSG(st == PP_OK && ns == ok[i].ns, "'%s' -> %lld (%s)", ok[i].in, (long long)ns, e.msg);
    }
    const char *badv[] = {"", "5x", "m", "-", "5 m", "1h-3m"};
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++)
        T_CHECK_MSG(api_duration_parse(badv[i], &ns, &e) == PP_ERR_ARG, "'%s' accepted", badv[i]);
    api_duration_parse("5x", &ns, &e);
    T_CHECK_MSG(!strcmp(e.msg, "bad duration '5x': missing unit"), "%s", e.msg);
}

static void test_names(void) {
    char out[API_NAME_MAX];
    pp_err e = {0};
    T_CHECK(api_name_normalize("Gemma3", out, sizeof out, &e) == PP_OK && !strcmp(out, "gemma3:latest"));
    T_CHECK(api_name_normalize("gemma3:4B-it_qat.1", out, sizeof out, &e) == PP_OK &&
            !strcmp(out, "gemma3:4b-it_qat.1"));
    const char *bad[] = {"", "../x", "/etc/passwd", "a/b", ".hidden", "-x", "a:b:c", "a:", ":a", "a b", "a\\b",
                         "x\n", "%2e%2e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        T_CHECK_MSG(api_name_normalize(bad[i], out, sizeof out, &e) == PP_ERR_ARG, "'%s' accepted", bad[i]);
    api_name_normalize("../x", out, sizeof out, &e);
    T_CHECK_MSG(!strcmp(e.msg, "invalid model name '../x'"), "%s", e.msg);
    api_name_normalize("", out, sizeof out, &e);
    T_CHECK_MSG(!strcmp(e.msg, "model is required"), "%s", e.msg);
    char longname[API_NAME_MAX + 10];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    T_CHECK(api_name_normalize(longname, out, sizeof out, &e) == PP_ERR_ARG);
}

static void test_json_parse(void) {
    json_t *j = NULL;
    pp_err e = {0};
    T_CHECK(http_json_parse(NULL, 0, &j, &e) == PP_ERR_ARG && !strcmp(e.msg, "missing request body"));
    T_CHECK(http_json_parse("{", 1, &j, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strncmp(e.msg, "request body: invalid JSON at line 1", 36), "%s", e.msg);
    T_CHECK(http_json_parse("\"s\"", 3, &j, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "request body: expected a JSON object, got string"), "%s", e.msg);
    char deep[300];
    size_t n = 0;
    for (int i = 0; i < 65; i++) deep[n++] = '[';
    for (int i = 0; i < 65; i++) deep[n++] = ']';
    T_CHECK(http_json_parse(deep, n, &j, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "request body: JSON nested deeper than 64 levels"), "%s", e.msg);
    /* brackets inside strings do not count */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}";
    T_CHECK_MSG(http_json_parse(s, strlen(s), &j, &e) == PP_OK, "%s", e.msg);
    json_decref(j);
    /* 64 levels is fine */
    n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4);
    n += 4;
    for (int i = 0; i < 63; i++) deep[n++] = '[';
    for (int i = 0; i < 63; i++) deep[n++] = ']';
    deep[n++] = '}';
    T_CHECK_MSG(http_json_parse(deep, n, &j, &e) == PP_OK, "%s", e.msg);
    json_decref(j);
    T_CHECK(http_json_parse("{\"a\":1,\"a\":2}", 13, &j, &e) == PP_ERR_ARG);
}

static void test_fields_options(void) {
    pp_err e = {0};
    json_t *o = json_loads("{\"s\":\"x\",\"b\":true,\"n\":1.5,\"i\":3,\"z\":null}", 0, NULL);
    const char *s = NULL;
    bool b = false;
    double d = 0;
    T_CHECK(api_field_string(o, "s", &s, &e) == PP_OK && !strcmp(s, "x"));
    T_CHECK(api_field_bool(o, "b", &b, &e) == PP_OK && b);
    T_CHECK(api_field_number(o, "n", &d, &e) == PP_OK && d == 1.5);
    s = "keep";
    T_CHECK(api_field_string(o, "z", &s, &e) == PP_OK && !strcmp(s, "keep")); /* null = absent */
    T_CHECK(api_field_bool(o, "s", &b, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "field 's': expected boolean, got string"), "%s", e.msg);
    T_CHECK(api_field_string(o, "i", &s, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "field 'i': expected string, got integer"), "%s", e.msg);
    json_decref(o);

    engine_options eo = engine_default_options();
    o = json_loads("{\"top_k\":7,\"num_ctx\":512.0,\"temperature\":0,\"stop\":[\"a\",\"b\"],\"seed\":5,"
                   "\"unknown\":1,\"mirostat\":2,\"use_mmap\":true}",
                   0, NULL);
    T_CHECK_MSG(api_options_apply(&eo, o, &e) == PP_OK, "%s", e.msg);
    T_CHECK(eo.samp.top_k == 7 && eo.num_ctx == 512 && eo.samp.temperature == 0 && eo.n_stop == 2 &&
            !strcmp(eo.stop[1], "b") && eo.samp.seed == 5);
    json_decref(o);
    struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"top_k\":\"x\"}", "option \"top_k\" must be of type integer"},
        {"{\"top_p\":\"x\"}", "option \"top_p\" must be of type float32"},
        {"{\"use_mmap\":1}", "option \"use_mmap\" must be of type boolean"},
        {"{\"stop\":\"x\"}", "option \"stop\" must be of type array"},
        {"{\"stop\":[1]}", "option \"stop\" must be of an array of strings"},
        {"{\"top_p\":2}", "option 'top_p': 2 is outside [0, 1]"},
        {"{\"num_ctx\":0}", "option 'num_ctx': 0 is outside [1, 16777216]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        engine_options before = engine_default_options(), x = before;
        o = json_loads(bad[i].json, 0, NULL);
        T_CHECK(api_options_apply(&x, o, &e) == PP_ERR_ARG);
        T_CHECK_MSG(!strcmp(e.msg, bad[i].msg), "%s: got '%s'", bad[i].json, e.msg);
        T_CHECK(!memcmp(&x, &before, sizeof x)); /* unchanged on error */
        json_decref(o);
    }
    o = json_array();
    T_CHECK(api_options_apply(&eo, o, &e) == PP_ERR_ARG && !strcmp(e.msg, "field 'options': expected object, got array"));
    json_decref(o);
}

static void test_keep_alive_time(void) {
    int64_t ns = 0;
    pp_err e = {0};
    json_t *v = json_integer(10);
    T_CHECK(api_keep_alive_parse(v, &ns, &e) == PP_OK && ns == 10000000000LL);
    json_decref(v);
    v = json_string("-1m");
    T_CHECK(api_keep_alive_parse(v, &ns, &e) == PP_OK && ns < 0);
    json_decref(v);
    v = json_string("later");
    T_CHECK(api_keep_alive_parse(v, &ns, &e) == PP_ERR_ARG && !strcmp(e.msg, "field 'keep_alive': bad duration 'later'"));
    json_decref(v);
    v = json_true();
    T_CHECK(api_keep_alive_parse(v, &ns, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strcmp(e.msg, "field 'keep_alive': expected number or duration string, got boolean"), "%s", e.msg);
    json_decref(v);
    char ts[64];
    api_time_rfc3339(1760742847414671000LL, ts, sizeof ts);
    T_CHECK_MSG(!strcmp(ts, "2025-10-17T23:14:07.414671Z"), "%s", ts);
}

/* The parse steps return the 400 texts the handlers send. */
static json_t *body(const char *s) {
    json_t *v = json_loads(s, 0, NULL);
    T_CHECK(v != NULL);
    return v;
}

static void test_parse_steps(void) {
    pp_err e = {0};
    api_generate_req g;
    json_t *r = body("{\"prompt\":1}");
    T_CHECK(api_generate_parse(r, &g, &e) == PP_ERR_ARG && !strcmp(e.msg, "field 'prompt': expected string, got integer"));
    json_decref(r);
    r = body("{\"raw\":true,\"system\":\"s\"}");
    T_CHECK(api_generate_parse(r, &g, &e) && !strcmp(e.msg, "raw mode does not support template, system, or context"));
    json_decref(r);
    r = body("{\"prompt\":\"p\",\"context\":[1,2,-3]}");
    T_CHECK(api_generate_parse(r, &g, &e) == PP_OK && g.has_ctx && !strcmp(g.prompt, "p"));
    api_job *j = api_job_new(API_JOB_GENERATE);
    T_CHECK(api_context_parse(g.ctx, j, &e) == PP_ERR_ARG && !strcmp(e.msg, "field 'context[2]': expected token id, got integer"));
    json_decref(r);
    api_common_req c = {.stream = true};
    r = body("{\"name\":\"m\",\"keep_alive\":\"5m\"}");
    T_CHECK(api_common_parse(r, &c, j, &e) == PP_OK && !strcmp(c.name, "m") && c.stream && j->keep_alive_set &&
            j->keep_alive_ns == 300000000000LL);
    json_decref(r);
    r = body("{\"model\":\"m\",\"think\":true}");
    T_CHECK(api_common_parse(r, &c, j, &e) == PP_ERR_ARG && c.think);
    json_decref(r);
    r = body("{\"model\":\"m\",\"top_logprobs\":21}");
    T_CHECK(api_common_parse(r, &c, j, &e) && !strcmp(e.msg, "top_logprobs must be between 0 and 20"));
    json_decref(r);
    api_job_unref_locked(j);

    api_oai_req o;
    j = api_job_new(API_JOB_CHAT);
    json_t *opts = json_object();
    r = body("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5,\"stop\":\"x\"}");
    T_CHECK(api_oai_parse(r, true, &o, j, opts, &e) == PP_OK && j->n_msgs == 1 && !o.stream &&
            json_integer_value(json_object_get(opts, "num_predict")) == 5 &&
            json_real_value(json_object_get(opts, "temperature")) == 1.0);
    json_decref(r);
    r = body("{\"model\":\"m\",\"tools\":[{}]}");
    T_CHECK(api_oai_parse(r, true, &o, j, opts, &e) == PP_ERR_UNSUPPORTED && !strcmp(o.refused, "tools"));
    json_decref(r);
    r = body("{\"model\":\"m\",\"stop\":[1]}");
    T_CHECK(api_oai_parse(r, false, &o, j, opts, &e) == PP_ERR_ARG && !strcmp(e.msg, "field 'stop[0]': expected string, got integer"));
    json_decref(r);
    json_decref(opts);
    api_job_unref_locked(j);

    api_create_req cr = {.stream = true};
    r = body("{\"model\":\"x\",\"quantize\":\"q4_0\"}");
    T_CHECK(api_create_parse(r, &cr, &e) == PP_ERR_ARG && strstr(e.msg, "quantize is not supported by the server yet"));
    json_decref(r);
    r = body("{\"model\":\"../x\"}");
    T_CHECK(api_create_parse(r, &cr, &e) == PP_ERR_ARG && strstr(e.msg, "invalid model name"));
    json_decref(r);
    r = body("{\"model\":\"me/m:t\",\"from\":\"f\",\"parameters\":{\"top_k\":3},\"stream\":false}");
    T_CHECK(api_create_parse(r, &cr, &e) == PP_OK && !cr.stream && !strcmp(cr.sn.model, "m") && !strcmp(cr.from, "f"));
    json_decref(r);
}

/* Request bodies found by fuzz/fuzz_api_*.c (tests/data/api-crash-*), through every parse
 * step: each is parsed or refused with a message, and nothing is undefined (the ASan+UBSan
 * build stops at the first report). api-crash-option-inf: "temperature": 4.4e85 (inf as a
 * float) was converted to long long for the message before the finiteness check (undefined:
 * reported by -fsanitize=float-cast-overflow, which clang's -fsanitize=undefined includes and
 * gcc's does not); api-crash-oai-option-huge: the same through the OpenAI mapping. */
static void test_fuzz_regressions(void) {
    DIR *dir = opendir("tests/data");
    if (!dir) { t_skip("tests/data not found (run from the repo root)"); return; }
    struct dirent *de;
    int n = 0;
    while ((de = readdir(dir))) {
        if (strncmp(de->d_name, "api-crash-", 10) != 0) continue;
        char path[512], *data;
        size_t len;
        pp_err e = {0};
        snprintf(path, sizeof path, "tests/data/%s", de->d_name);
        if (pp_read_file(path, &data, &len, 1 << 20, &e) != PP_OK) {
            T_CHECK_MSG(0, "%s", e.msg);
            continue;
        }
        json_t *req;
        if (http_json_parse(data, len, &req, &e) == PP_OK) {
            api_generate_req g;
            api_common_req c = {.stream = true};
            api_job *j = api_job_new(API_JOB_CHAT);
            (void)api_generate_parse(req, &g, &e);
            (void)api_common_parse(req, &c, j, &e);
            (void)api_parse_messages(json_object_get(req, "messages"), j, &e);
            engine_options o = engine_default_options();
            pp_status st = api_options_apply(&o, json_object_get(req, "options"), &e);
            if (!strcmp(de->d_name, "api-crash-option-inf"))
                T_CHECK_MSG(st == PP_ERR_ARG && !strcmp(e.msg, "option 'temperature': inf is not a finite number"),
                            "%s", e.msg);
            json_t *opts = json_object();
            api_oai_req oa;
            (void)api_oai_parse(req, false, &oa, j, opts, &e);
            o = engine_default_options();
            (void)api_options_apply(&o, opts, &e);
            json_decref(opts);
            api_create_req cr = {.stream = true};
            (void)api_create_parse(req, &cr, &e);
            api_job_unref_locked(j);
            json_decref(req);
        }
        free(data);
        n++;
    }
    closedir(dir);
    T_CHECK_MSG(n >= 1, "no regression inputs found");
}

int main(void) {
    T_RUN(test_host_parse);
    T_RUN(test_duration);
    T_RUN(test_names);
    T_RUN(test_json_parse);
    T_RUN(test_fields_options);
    T_RUN(test_keep_alive_time);
    T_RUN(test_parse_steps);
    T_RUN(test_fuzz_regressions);
    return t_finish("api");
}
