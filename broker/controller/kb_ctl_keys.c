/*
 * kb_ctl_keys.c - interned topic names and key sets (see kb_ctl_keys.h).
 *
 * Both tables are open-addressing hashes with linear probing over a
 * power-of-two slot array that is kept at most half full, so a probe ends
 * within a few slots and every loop below is bounded by the slot count.
 * Neither supports removing one entry from the hash: a set that loses
 * entries (kb_ctl_set_drop_front, kb_ctl_set_filter) rebuilds its hash from
 * the dense array, which those callers pay for anyway.
 */
#include "broker/controller/kb_ctl_keys.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 16

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint32_t hash_key(kb_ctl_key_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k;
}

/* ---- names ---- */

struct kb_ctl_names {
    char **names; /* by id */
    size_t n, cap;
    uint32_t *slots; /* id + 1; 0 = empty */
    size_t n_slots;
};

kb_ctl_names_t *kb_ctl_names_new(void) { return calloc(1, sizeof(kb_ctl_names_t)); }

void kb_ctl_names_free(kb_ctl_names_t *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) free(n->names[i]);
    free(n->names);
    free(n->slots);
    free(n);
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *names_slot(const kb_ctl_names_t *n, const char *name) {
    size_t mask = n->n_slots - 1, i = hash_str(name) & mask;
    for (size_t step = 0; step < n->n_slots; step++, i = (i + 1) & mask) {
        uint32_t v = n->slots[i];
        if (v == 0 || strcmp(n->names[v - 1], name) == 0) return &n->slots[i];
    }
    return NULL; /* unreachable: the table is never full */
}

static int names_grow(kb_ctl_names_t *n) {
    size_t want = n->n_slots ? n->n_slots * 2 : MIN_SLOTS;
    uint32_t *slots = calloc(want, sizeof(*slots)), *old = n->slots;
    if (!slots) return -1;
    n->slots = slots;
    n->n_slots = want;
    for (size_t id = 0; id < n->n; id++) *names_slot(n, n->names[id]) = (uint32_t)id + 1;
    free(old);
    return 0;
}

uint32_t kb_ctl_names_intern(kb_ctl_names_t *n, const char *name) {
    if ((n->n + 1) * 2 > n->n_slots && names_grow(n) < 0) return UINT32_MAX;
    uint32_t *slot = names_slot(n, name);
    if (*slot) return *slot - 1;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 16;
        char **names = realloc(n->names, cap * sizeof(*names));
        if (!names) return UINT32_MAX;
        n->names = names;
        n->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy || n->n >= UINT32_MAX - 1) {
        free(copy);
        return UINT32_MAX;
    }
    n->names[n->n] = copy;
    *slot = (uint32_t)++n->n;
    return (uint32_t)n->n - 1;
}

uint32_t kb_ctl_names_find(const kb_ctl_names_t *n, const char *name) {
    uint32_t *slot = n->n_slots ? names_slot(n, name) : NULL;
    return slot && *slot ? *slot - 1 : UINT32_MAX;
}

const char *kb_ctl_names_get(const kb_ctl_names_t *n, uint32_t id) { return id < n->n ? n->names[id] : NULL; }

/* ---- sets ---- */

void kb_ctl_set_clear(kb_ctl_set_t *s) {
    free(s->keys);
    free(s->flags);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

void kb_ctl_set_reset(kb_ctl_set_t *s) {
    s->n = 0;
    if (s->slots) memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
}

static uint32_t *set_slot(const kb_ctl_set_t *s, kb_ctl_key_t key) {
    size_t mask = s->n_slots - 1, i = hash_key(key) & mask;
    for (size_t step = 0; step < s->n_slots; step++, i = (i + 1) & mask) {
        uint32_t v = s->slots[i];
        if (v == 0 || s->keys[v - 1] == key) return &s->slots[i];
    }
    return NULL; /* unreachable: the table is never full */
}

static void set_rehash(kb_ctl_set_t *s) {
    memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
    for (size_t i = 0; i < s->n; i++) *set_slot(s, s->keys[i]) = (uint32_t)i + 1;
}

static int set_reserve(kb_ctl_set_t *s) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        kb_ctl_key_t *keys = realloc(s->keys, cap * sizeof(*keys));
        if (!keys) return -1;
        s->keys = keys;
        uint8_t *flags = realloc(s->flags, cap);
        if (!flags) return -1;
        s->flags = flags;
        s->cap = cap;
    }
    if ((s->n + 1) * 2 > s->n_slots) {
        size_t want = s->n_slots ? s->n_slots * 2 : MIN_SLOTS;
        uint32_t *slots = calloc(want, sizeof(*slots));
        if (!slots) return -1;
        free(s->slots);
        s->slots = slots;
        s->n_slots = want;
        set_rehash(s);
    }
    return 0;
}

int kb_ctl_set_add(kb_ctl_set_t *s, kb_ctl_key_t key, uint8_t flags) {
    if (s->n_slots) {
        uint32_t *slot = set_slot(s, key);
        if (*slot) {
            s->flags[*slot - 1] |= flags;
            return 0;
        }
    }
    if (s->n >= UINT32_MAX - 1 || set_reserve(s) < 0) return -1;
    s->keys[s->n] = key;
    s->flags[s->n] = flags;
    *set_slot(s, key) = (uint32_t)++s->n;
    return 0;
}

bool kb_ctl_set_has(const kb_ctl_set_t *s, kb_ctl_key_t key) { return s->n_slots && *set_slot(s, key) != 0; }

bool kb_ctl_set_find(const kb_ctl_set_t *s, kb_ctl_key_t key, size_t *pos) {
    uint32_t v = s->n_slots ? *set_slot(s, key) : 0;
    if (v) *pos = v - 1;
    return v != 0;
}

void kb_ctl_set_drop_front(kb_ctl_set_t *s, size_t n) {
    if (n >= s->n) {
        kb_ctl_set_reset(s);
        return;
    }
    memmove(s->keys, s->keys + n, (s->n - n) * sizeof(*s->keys));
    memmove(s->flags, s->flags + n, s->n - n);
    s->n -= n;
    set_rehash(s);
}

void kb_ctl_set_filter(kb_ctl_set_t *s, bool (*keep)(kb_ctl_key_t key, void *arg), void *arg) {
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!keep(s->keys[i], arg)) continue;
        s->keys[w] = s->keys[i];
        s->flags[w++] = s->flags[i];
    }
    if (w == s->n) return;
    s->n = w;
    if (s->n_slots) set_rehash(s);
}
