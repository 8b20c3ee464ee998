/*
 * kb_group_ids.c - a group's indexes of its members by member id and by
 * group instance id, and of the member ids it issued with
 * MEMBER_ID_REQUIRED.
 *
 * Every member-scoped request looks a member up, and LeaveGroup and
 * SyncGroup look up one per entry: with lists that cost members x entries
 * on the loop, which a client controls on both sides (it makes the pending
 * ids, it writes the entries).  The entries are embedded in the member or
 * pending record they index (no allocation per entry); the table only
 * holds bucket heads, grown as it fills.  A failed growth keeps the old
 * buckets (longer chains, nothing lost), so adding never fails once the
 * table has its first buckets, which kb_ids_init allocates.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group/kb_group_internal.h"

#define IDS_FIRST_BUCKETS 8

static uint64_t id_hash(uint64_t seed, const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

bool kb_ids_init(kb_id_table_t *t, uint64_t seed) {
    *t = (kb_id_table_t){.seed = seed};
    t->buckets = calloc(IDS_FIRST_BUCKETS, sizeof(*t->buckets));
    if (!t->buckets) return false;
    t->n_buckets = IDS_FIRST_BUCKETS;
    return true;
}

void kb_ids_clear(kb_id_table_t *t) {
    free(t->buckets);
    *t = (kb_id_table_t){0};
}

static kb_id_entry_t **bucket(const kb_id_table_t *t, const char *id, size_t len) {
    return &t->buckets[id_hash(t->seed, id, len) & (t->n_buckets - 1)];
}

kb_id_entry_t *kb_ids_find(const kb_id_table_t *t, kp_str_t id) {
    size_t len = id.len > 0 ? (size_t)id.len : 0;
    if (id.len < 0 || !t->n_buckets) return NULL;
    for (kb_id_entry_t *e = *bucket(t, id.ptr ? id.ptr : "", len); e; e = e->next)
        if (e->len == len && memcmp(e->id, id.ptr, len) == 0) return e;
    return NULL;
}

static void grow(kb_id_table_t *t) {
    size_t n = t->n_buckets * 2;
    kb_id_entry_t **b = calloc(n, sizeof(*b));
    if (!b) return;
    for (size_t i = 0; i < t->n_buckets; i++)
        for (kb_id_entry_t *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            kb_id_entry_t **slot = &b[id_hash(t->seed, e->id, e->len) & (n - 1)];
            e->next = *slot;
            *slot = e;
        }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
}

void kb_ids_add(kb_id_table_t *t, kb_id_entry_t *e, const char *id) {
    e->id = id;
    e->len = strlen(id);
    if (t->n >= t->n_buckets) grow(t);
    kb_id_entry_t **slot = bucket(t, id, e->len);
    e->next = *slot;
    *slot = e;
    t->n++;
}

void kb_ids_remove(kb_id_table_t *t, kb_id_entry_t *e) {
    if (!e->id) return;
    for (kb_id_entry_t **pp = bucket(t, e->id, e->len); *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            t->n--;
            break;
        }
    e->id = NULL;
}
