/* fuzz_gguf.c - libFuzzer target for the GGUF reader (and writer round trip).
 *
 * Opens the input with gguf_open_mem (lenient and strict), touches every kv (typed getters,
 * every array element, every string byte) and every tensor's first and last data byte, so
 * ASan sees any out-of-bounds view. A file that opens must also survive a round trip:
 * copy its KVs and tensors into a writer, serialize, reopen strictly, and compare counts.
 * Build and run: make fuzz FUZZ_SECONDS=60 (corpus seeds in fuzz/corpus/fuzz_gguf/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch_view(pp_view v) {
    uint64_t h = 0;
    for (size_t i = 0; i < v.len; i++) h += (uint8_t)v.ptr[i];
    sink += h;
}

static void touch(const gguf_file *f) {
    pp_err err;
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        touch_view(kv->key);
        char *key = pp_view_dup(kv->key);
        if (!key) continue;
        const gguf_kv *found = gguf_find_kv(f, key);
        if (!memchr(kv->key.ptr, 0, kv->key.len) && found != kv) abort();
        uint32_t u32; uint64_t u64; int64_t i64; float f32; bool b; pp_view s;
        const gguf_kv *arr;
        sink += gguf_get_u32(f, key, &u32, &err) + gguf_get_u64(f, key, &u64, &err) +
                gguf_get_i64(f, key, &i64, &err) + gguf_get_f32(f, key, &f32, &err) +
                gguf_get_bool(f, key, &b, &err) + gguf_get_str(f, key, &s, &err) +
                gguf_get_arr(f, key, GGUF_VTYPE_COUNT, &arr, &err);
        free(key);
        if (kv->type == GGUF_VTYPE_STRING) touch_view(kv->v.str);
        if (kv->type != GGUF_VTYPE_ARRAY) continue;
        for (uint64_t j = 0; j < kv->arr_count; j++) {
            if (kv->arr_type == GGUF_VTYPE_STRING) touch_view(gguf_arr_str(kv, j));
            else sink += (uint64_t)gguf_arr_i64(kv, j) + (uint64_t)(gguf_arr_f64(kv, j) != 0);
        }
    }
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        touch_view(t->name);
        const uint8_t *d = t->data;
        if (t->nbytes) sink += d[0] + d[t->nbytes - 1];
        char *name = pp_view_dup(t->name);
        if (name && !memchr(t->name.ptr, 0, t->name.len) && gguf_find_tensor(f, name) != t)
            abort();
        free(name);
    }
}

/* Rewrites f with the writer and checks the result opens strictly with the same content. */
static void round_trip(const gguf_file *f) {
    gguf_writer *w;
    pp_err err;
    if (gguf_writer_init(&w, &err)) return;
    gguf_writer_copy_kvs(w, f);
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        char *name = pp_view_dup(t->name);
        if (name) gguf_writer_add_tensor(w, name, t->n_dims, t->ne, t->type, t->data, t->nbytes);
        free(name);
    }
    uint8_t *buf;
    size_t len;
    if (gguf_writer_to_mem(w, &buf, &len, &err) == PP_OK) {
        gguf_open_params p = gguf_default_open_params();
        p.strict_offsets = true;
        gguf_file *g;
        if (gguf_open_mem(buf, len, "rt", p, &g, &err) != PP_OK) abort(); /* writer bug */
        if (gguf_n_kv(g) != gguf_n_kv(f) || gguf_n_tensors(g) != gguf_n_tensors(f)) abort();
        for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor *a = gguf_tensor_at(f, i), *b = gguf_tensor_at(g, i);
            if (a->nbytes != b->nbytes || memcmp(a->data, b->data, a->nbytes)) abort();
        }
        gguf_close(g);
        free(buf);
    }
    gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_open_params p = gguf_default_open_params();
    pp_err err;
    gguf_file *f;
    if (gguf_open_mem(data, size, "fuzz.gguf", p, &f, &err) == PP_OK) {
        touch(f);
        round_trip(f);
        gguf_close(f);
    }
    p.strict_offsets = true;
    if (gguf_open_mem(data, size, "fuzz.gguf", p, &f, &err) == PP_OK) {
        touch(f);
        gguf_close(f);
    }
    return 0;
}
