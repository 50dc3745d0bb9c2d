/* test_kv.c - the KV cache's named rules one by one (src/model/kv_cache.h): sizing, the
 * slot of a position (ring wrap), the first visible position (window edge, against
 * llama.cpp's is_masked_swa rule), that a chunk of n_batch tokens never overwrites a key
 * one of its queries still reads, storage round trips, and the roll-back rules. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "model/kv_cache.h"

/* Three layers: two sliding (window 8), one global; 2 KV heads of 4. */
static model_hparams small_hp(void) {
    model_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.n_layer = 3;
    hp.n_head_kv = 2;
    hp.head_dim = 4;
    hp.sliding_window = 8;
    hp.is_swa[0] = hp.is_swa[1] = true;
    return hp;
}

typedef struct kv_fixture {
    pp_arena arena;
    model_kv_cache kv;
} kv_fixture;

static bool fixture_init(kv_fixture *f, const model_hparams *hp, uint32_t n_ctx, uint32_t n_batch, uint32_t type) {
    pp_err err = {0};
    memset(f, 0, sizeof *f);
    if (pp_arena_init(&f->arena, model_kv_arena_bytes(hp, n_ctx, n_batch, type), &err)) return false;
    pp_status st = model_kv_init(&f->kv, hp, n_ctx, n_batch, type, &f->arena, &err);
    T_CHECK_MSG(st == PP_OK, "%s", err.msg);
    return st == PP_OK;
}

static void test_sizing(void) {
    model_hparams hp = small_hp();
    T_CHECK(model_kv_type_bytes(GGUF_TTYPE_F32) == 4);
    T_CHECK(model_kv_type_bytes(GGUF_TTYPE_F16) == 2);
    T_CHECK(model_kv_type_bytes(GGUF_TTYPE_Q8_0) == 0);
    T_CHECK(model_kv_layer_slots(&hp, 0, 100, 4) == 11); /* window + n_batch - 1 */
    T_CHECK(model_kv_layer_slots(&hp, 2, 100, 4) == 100);
    T_CHECK(model_kv_layer_slots(&hp, 1, 10, 4) == 10);  /* never more than n_ctx */
    T_CHECK(model_kv_bytes(&hp, 100, 4, GGUF_TTYPE_F16) == 2ull * 8 * 2 * (11 + 11 + 100));
    T_CHECK(model_kv_bytes(&hp, 100, 4, GGUF_TTYPE_F32) == 2ull * 8 * 4 * (11 + 11 + 100));
    kv_fixture f;
    if (!fixture_init(&f, &hp, 100, 4, GGUF_TTYPE_F16)) return;
    T_CHECK(f.kv.n_seq == 1 && f.kv.n_past == 0 && f.kv.row_elems == 8);
    T_CHECK(f.kv.layer[0].window == 8 && f.kv.layer[0].n_slot == 11);
    T_CHECK(f.kv.layer[2].window == 0 && f.kv.layer[2].n_slot == 100);
    /* the arena was sized exactly: one more layer buffer would not fit */
    T_CHECK(pp_arena_alloc(&f.arena, 100 * 8 * 2, 64) == NULL);
    pp_arena_free(&f.arena);
}

static void test_slot(void) {
    model_kv_layer ring = {NULL, NULL, 11, 8}, global = {NULL, NULL, 100, 0};
    for (uint64_t p = 0; p < 11; p++) T_CHECK(model_kv_slot(&ring, p) == p);
    T_CHECK(model_kv_slot(&ring, 11) == 0);
    T_CHECK(model_kv_slot(&ring, 25) == 3);
    T_CHECK(model_kv_slot(&ring, 1100) == 0);
    T_CHECK(model_kv_slot(&global, 0) == 0);
    T_CHECK(model_kv_slot(&global, 99) == 99);
}

static void test_first_visible(void) {
    model_kv_layer ring = {NULL, NULL, 11, 8}, global = {NULL, NULL, 100, 0};
    for (uint64_t p = 0; p < 8; p++) T_CHECK(model_kv_first_visible(&ring, p) == 0);
    T_CHECK(model_kv_first_visible(&ring, 8) == 1);  /* the window edge: 8 keys, 1..8 */
    T_CHECK(model_kv_first_visible(&ring, 20) == 13);
    T_CHECK(model_kv_first_visible(&global, 99) == 0);
    /* llama.cpp: key p0 is masked from query p1 iff p1 - p0 >= n_swa */
    for (uint64_t q = 0; q < 40; q++)
        for (uint64_t k = 0; k <= q; k++)
            T_CHECK_MSG((k >= model_kv_first_visible(&ring, q)) == (q - k < 8), "q %llu k %llu",
                        (unsigned long long)q, (unsigned long long)k);
}

/* Runs chunks of n_batch tokens as the forward pass does (every token's K/V stored, then
 * every query reads its visible keys) and checks each read slot holds the key's position. */
static void test_ring_chunks(void) {
    const uint32_t window = 8;
    for (uint32_t n_batch = 1; n_batch <= 9; n_batch++) {
        model_kv_layer L = {NULL, NULL, window + n_batch - 1, window};
        int64_t held[64];
        for (int i = 0; i < 64; i++) held[i] = -1;
        int bad = 0;
        for (uint64_t p0 = 0; p0 < 60; p0 += n_batch) {
            for (uint64_t p = p0; p < p0 + n_batch; p++) held[model_kv_slot(&L, p)] = (int64_t)p;
            for (uint64_t q = p0; q < p0 + n_batch; q++)
                for (uint64_t k = model_kv_first_visible(&L, q); k <= q; k++) bad += held[model_kv_slot(&L, k)] != (int64_t)k;
        }
        T_CHECK_MSG(bad == 0, "n_batch %u: %d reads of overwritten slots", n_batch, bad);
        /* one slot fewer is too few once the batch is longer than one token */
        if (n_batch > 1) {
            L.n_slot--;
            for (int i = 0; i < 64; i++) held[i] = -1;
            bad = 0;
            for (uint64_t p0 = 0; p0 < 60; p0 += n_batch) {
                for (uint64_t p = p0; p < p0 + n_batch; p++) held[model_kv_slot(&L, p)] = (int64_t)p;
                for (uint64_t q = p0; q < p0 + n_batch; q++)
                    for (uint64_t k = model_kv_first_visible(&L, q); k <= q; k++)
                        bad += held[model_kv_slot(&L, k)] != (int64_t)k;
            }
            T_CHECK_MSG(bad > 0, "n_batch %u: a ring of window + n_batch - 2 should not suffice", n_batch);
        }
    }
}

static void test_store_rows(void) {
    model_hparams hp = small_hp();
    const uint32_t types[2] = {GGUF_TTYPE_F32, GGUF_TTYPE_F16};
    for (int ti = 0; ti < 2; ti++) {
        kv_fixture f;
        if (!fixture_init(&f, &hp, 40, 4, types[ti])) return;
        float k[8], v[8];
        for (uint64_t pos = 0; pos < 30; pos++) {
            for (int i = 0; i < 8; i++) {
                k[i] = (float)pos + 0.25f * (float)i;
                v[i] = -(float)pos - 0.5f * (float)i;
            }
            model_kv_store(&f.kv, 0, pos, k, v);
            model_kv_store(&f.kv, 2, pos, k, v);
        }
        /* the ring layer (11 slots) holds 19..29, the global one everything */
        const uint32_t ils[2] = {0, 2};
        for (int li = 0; li < 2; li++)
            for (uint64_t pos = li == 0 ? 19 : 0; pos < 30; pos++) {
                const void *kr, *vr;
                model_kv_rows(&f.kv, &f.kv.layer[ils[li]], pos, 1, &kr, &vr);
                for (int i = 0; i < 4; i++) {
                    float kk = ti == 0 ? ((const float *)kr)[i] : pp_f16_to_f32(((const uint16_t *)kr)[i]);
                    float vv = ti == 0 ? ((const float *)vr)[i] : pp_f16_to_f32(((const uint16_t *)vr)[i]);
                    T_CHECK_MSG(kk == (float)pos + 0.25f * (float)(4 + i) && vv == -(float)pos - 0.5f * (float)(4 + i),
                                "type %u layer %u pos %llu elem %d: %g %g", types[ti], ils[li],
                                (unsigned long long)pos, i, kk, vv);
                }
            }
        pp_arena_free(&f.arena);
    }
}

static void test_truncate(void) {
    model_hparams hp = small_hp();
    kv_fixture f;
    if (!fixture_init(&f, &hp, 100, 4, GGUF_TTYPE_F16)) return;
    pp_err err = {0};
    f.kv.n_past = 30; /* ring of 11: positions 19..29 intact */
    T_CHECK(model_kv_can_truncate(&f.kv, 30));
    T_CHECK(!model_kv_can_truncate(&f.kv, 31));
    T_CHECK(model_kv_can_truncate(&f.kv, 0));
    T_CHECK(model_kv_can_truncate(&f.kv, 27)); /* sees 20..27 */
    T_CHECK(model_kv_can_truncate(&f.kv, 26)); /* sees 19..26: 19 is the oldest intact */
    T_CHECK(!model_kv_can_truncate(&f.kv, 25)); /* would need 18 */
    T_CHECK(!model_kv_can_truncate(&f.kv, 5));
    T_CHECK(model_kv_truncate(&f.kv, 25, &err) == PP_ERR_ARG && f.kv.n_past == 30);
    T_CHECK(strstr(err.msg, "from 30 to 25") != NULL);
    T_CHECK(model_kv_truncate(&f.kv, 26, &err) == PP_OK && f.kv.n_past == 26);
    f.kv.n_past = 10; /* nothing overwritten yet */
    T_CHECK(model_kv_can_truncate(&f.kv, 1));
    model_kv_clear(&f.kv);
    T_CHECK(f.kv.n_past == 0);
    pp_arena_free(&f.arena);
    /* only global layers: always possible backwards */
    hp.is_swa[0] = hp.is_swa[1] = false;
    if (!fixture_init(&f, &hp, 100, 4, GGUF_TTYPE_F32)) return;
    f.kv.n_past = 90;
    T_CHECK(model_kv_can_truncate(&f.kv, 1));
    pp_arena_free(&f.arena);
}

int main(void) {
    t_kern_init();
    T_RUN(test_sizing);
    T_RUN(test_slot);
    T_RUN(test_first_visible);
    T_RUN(test_ring_chunks);
    T_RUN(test_store_rows);
    T_RUN(test_truncate);
    return t_finish("kv");
}
