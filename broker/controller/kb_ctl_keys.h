/*
 * kb_ctl_keys.h - how the controller names partitions in its own memory:
 * small integer keys instead of (topic name, partition) pairs, and sets of
 * them.
 *
 * The request queues (kb_ctl_queue.h) hold the partitions each broker still
 * has to be told about, and the broker index (kb_ctl_fanout.h) the
 * partitions each broker hosts.  Both hold tens of thousands of entries for
 * a large cluster and are merged into on every state change, so an entry is
 * 8 bytes, not a copied topic name: the topic is interned once in a name
 * table (kb_ctl_names_t) and a partition is the 64-bit key
 * (topic id << 32 | partition).  Interned names are never forgotten while
 * the table lives; a deleted and re-created topic reuses its id.
 *
 * A set (kb_ctl_set_t) is a dense array of keys, each with a byte of flags,
 * indexed by an open-addressing hash so that adding a key already present
 * costs O(1) and merges its flags.  That merge is the queues' coalescing:
 * a partition queued twice is sent once.
 */
#ifndef KB_CTL_KEYS_H
#define KB_CTL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t kb_ctl_key_t;

static inline kb_ctl_key_t kb_ctl_key(uint32_t topic_id, int32_t partition) {
    return ((uint64_t)topic_id << 32) | (uint32_t)partition;
}
static inline uint32_t kb_ctl_key_topic(kb_ctl_key_t k) { return (uint32_t)(k >> 32); }
static inline int32_t kb_ctl_key_partition(kb_ctl_key_t k) { return (int32_t)(uint32_t)k; }

/* ---- interned topic names ---- */

typedef struct kb_ctl_names kb_ctl_names_t;

kb_ctl_names_t *kb_ctl_names_new(void);
void kb_ctl_names_free(kb_ctl_names_t *n);
/* The id of `name`, interning it on first sight; UINT32_MAX when out of
 * memory. */
uint32_t kb_ctl_names_intern(kb_ctl_names_t *n, const char *name);
/* The id of `name` if it was interned, else UINT32_MAX (nothing added). */
uint32_t kb_ctl_names_find(const kb_ctl_names_t *n, const char *name);
/* The name of an id returned by kb_ctl_names_intern, or NULL. */
const char *kb_ctl_names_get(const kb_ctl_names_t *n, uint32_t id);

/* ---- key sets ---- */

typedef struct kb_ctl_set {
    kb_ctl_key_t *keys; /* n entries, in insertion order */
    uint8_t *flags;     /* flags[i] belongs to keys[i] */
    size_t n, cap;
    uint32_t *slots;    /* hash of positions + 1 (0 = empty); n_slots is a power of two */
    size_t n_slots;
} kb_ctl_set_t;

/* A zeroed set is empty and valid. */
void kb_ctl_set_clear(kb_ctl_set_t *s);  /* frees everything */
void kb_ctl_set_reset(kb_ctl_set_t *s);  /* empties, keeps the memory */
/* Adds key with flags, or ORs flags into the key already there.  Returns 0,
 * or -1 when out of memory (the set is unchanged). */
int kb_ctl_set_add(kb_ctl_set_t *s, kb_ctl_key_t key, uint8_t flags);
bool kb_ctl_set_has(const kb_ctl_set_t *s, kb_ctl_key_t key);
/* The position of key in s->keys (and s->flags) in *pos; false when it is
 * not in the set. */
bool kb_ctl_set_find(const kb_ctl_set_t *s, kb_ctl_key_t key, size_t *pos);
/* Removes the first n entries (n <= s->n), keeping the order of the rest.
 * Costs O(s->n). */
void kb_ctl_set_drop_front(kb_ctl_set_t *s, size_t n);
/* Keeps only the entries keep(key, arg) approves.  Costs O(s->n). */
void kb_ctl_set_filter(kb_ctl_set_t *s, bool (*keep)(kb_ctl_key_t key, void *arg), void *arg);

#endif
