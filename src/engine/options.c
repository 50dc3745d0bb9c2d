/* options.c - engine options by Ollama PARAMETER name (ollama-compat.md §2.3). */
#include "engine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

engine_options engine_default_options(void) {
    engine_options o;
    memset(&o, 0, sizeof o);
    o.samp = samp_default_params();
    o.num_ctx = 0;
    o.num_batch = 256;
    o.num_predict = -1;
    o.num_thread = 0;
    o.kv_type = GGUF_TTYPE_F16;
    return o;
}

static pp_status parse_int(const char *name, const char *value, long long lo, long long hi, long long *out, pp_err *err) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (!*value || *end || errno)
        return pp_err_set(err, PP_ERR_ARG, "option '%s': expected integer, got '%s'", name, value);
    if (v < lo || v > hi)
        return pp_err_set(err, PP_ERR_ARG, "option '%s': %lld is outside [%lld, %lld]", name, v, lo, hi);
    *out = v;
    return PP_OK;
}

pp_status engine_options_set(engine_options *o, const char *name, const char *value, pp_err *err) {
    long long v;
    pp_status st;
    if (!strcmp(name, "num_ctx")) {
        if ((st = parse_int(name, value, 1, 1 << 24, &v, err))) return st;
        o->num_ctx = (uint32_t)v;
    } else if (!strcmp(name, "num_batch")) {
        if ((st = parse_int(name, value, 1, 4096, &v, err))) return st;
        o->num_batch = (uint32_t)v;
    } else if (!strcmp(name, "num_predict")) {
        if ((st = parse_int(name, value, -2, INT32_MAX, &v, err))) return st;
        o->num_predict = v == -2 ? -1 : (int32_t)v; /* -2 "fill the context" is the same here */
    } else if (!strcmp(name, "num_thread")) {
        if ((st = parse_int(name, value, 0, 1024, &v, err))) return st;
        o->num_thread = (int)v;
    } else if (!strcmp(name, "stop")) {
        size_t len = strlen(value);
        if (len == 0) return pp_err_set(err, PP_ERR_ARG, "option 'stop': empty stop sequence");
        if (len >= ENGINE_MAX_STOP_LEN)
            return pp_err_set(err, PP_ERR_ARG, "option 'stop': longer than %d bytes", ENGINE_MAX_STOP_LEN - 1);
        if (o->n_stop >= ENGINE_MAX_STOP)
            return pp_err_set(err, PP_ERR_ARG, "option 'stop': at most %d stop sequences", ENGINE_MAX_STOP);
        memcpy(o->stop[o->n_stop++], value, len + 1);
    } else if (!strcmp(name, "num_keep") || !strcmp(name, "num_gpu") || !strcmp(name, "main_gpu") ||
               !strcmp(name, "use_mmap") || !strcmp(name, "draft_num_predict")) {
        /* accepted for compatibility; no effect on a CPU runtime */
        return PP_OK;
    } else {
        return samp_params_set(&o->samp, name, value, err);
    }
    return PP_OK;
}

bool engine_options_need_reload(const engine_options *a, const engine_options *b) {
    return a->num_ctx != b->num_ctx || a->num_batch != b->num_batch || a->num_thread != b->num_thread ||
           a->kv_type != b->kv_type;
}
