/* tok_internal.h - the tok_vocab layout shared by vocab.c, encode.c and decode.c.
 * Not part of the public API (tok.h). All arrays are owned by the vocab and immutable
 * after tok_vocab_init returns. */
#ifndef PIPPA_TOK_INTERNAL_H
#define PIPPA_TOK_INTERNAL_H

#include "tok.h"

struct tok_vocab {
    char *name;        /* for messages */
    uint32_t n_vocab;
    char *blob;        /* all texts, each followed by a NUL */
    uint64_t *off;     /* [n_vocab] offset of text i in blob */
    uint32_t *len;     /* [n_vocab] byte length of text i */
    float *scores;     /* [n_vocab] */
    uint8_t *type;     /* [n_vocab] tok_type after fix-ups (unknown values -> UNDEFINED) */
    uint8_t *is_eog;   /* [n_vocab] 0/1 */
    int32_t *eog;      /* ascending end-of-generation ids */
    uint32_t n_eog;

    /* text -> id: open addressing, linear probing, slot = id + 1 (0 empty) */
    uint32_t *slots;
    uint64_t slot_mask;

    int32_t bos, eos, eot, eom, pad, unk;
    bool add_bos, add_eos, add_space_prefix;
    int32_t byte_id[256]; /* byte fallback token per byte value, -1 if none */

    /* Special tokens (CONTROL, USER_DEFINED, UNKNOWN) in partition order: text length
     * descending, then id ascending. rank = index in this array. */
    int32_t *special;
    uint32_t n_special;

    /* Byte trie over the special texts: node 0 is the root; node_rank[n] is the rank of the
     * special whose text ends at node n, or -1. Edges live in a hash table keyed by
     * (node << 8 | byte) + 1 (0 = empty slot). */
    int32_t *node_rank;
    uint32_t n_nodes;
    uint64_t *edge_key;
    uint32_t *edge_child;
    uint64_t edge_mask;
};

/* FNV-1a, 64 bit. */
static inline uint64_t tok_hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static inline uint64_t tok_hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Child of trie node `node` along byte b, or 0 when there is none (the root is never a
 * child). */
static inline uint32_t tok_trie_child(const tok_vocab *v, uint32_t node, uint8_t b) {
    if (!v->edge_key) return 0;
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    for (uint64_t i = tok_hash_u64(key) & v->edge_mask;; i = (i + 1) & v->edge_mask) {
        if (v->edge_key[i] == key) return v->edge_child[i];
        if (v->edge_key[i] == 0) return 0;
    }
}

#endif
