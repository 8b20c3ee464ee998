/*
 * kb_topic_settings.c - the settings last given for each topic
 * (kb_replicas_apply_topic_settings, kb_partition.h), kept apart from the
 * roles: a role update is pure data about one partition, while a topic's
 * log settings and minimum ISR are the topic's.
 *
 * A log created for a partition is made with its topic's settings as they
 * are when the creation completes (kb_partition_roles.c asks
 * kb_replicas_topic_settings then); a topic never given any has the broker
 * defaults.  Giving a topic the settings it already has only costs the
 * lookup, so that a caller may give them whenever it is unsure (the view
 * adapter does, for each topic it walks that has a partition assigned
 * here); new ones are copied to the logs of the topic's partitions.
 *
 * Entries live until kb_replicas_free: a topic deleted and created again
 * is given its settings again before its roles.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/replica/kb_partition_internal.h"
#include "common/kc_log.h"

#define INITIAL_BUCKETS 64

typedef struct kb_topic_entry {
    struct kb_topic_entry *hnext;
    kb_topic_settings_t settings;
    char name[];
} kb_topic_entry_t;

static size_t name_hash(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++) h = (h ^ *s) * 16777619u;
    return h;
}

static kb_topic_entry_t *entry_find(const kb_replicas_t *r, const char *topic) {
    if (!r->topics) return NULL;
    kb_topic_entry_t *e = r->topics[name_hash(topic) % r->n_topic_buckets];
    while (e && strcmp(e->name, topic) != 0) e = e->hnext;
    return e;
}

/* Field by field: the structs have padding, which memcmp would read. */
static bool settings_equal(const kb_topic_settings_t *a, const kb_topic_settings_t *b) {
    const kb_log_config_t *x = &a->log, *y = &b->log;
    return a->min_insync == b->min_insync && x->segment_bytes == y->segment_bytes && x->roll_ms == y->roll_ms &&
           x->index_interval_bytes == y->index_interval_bytes &&
           x->index_size_max_bytes == y->index_size_max_bytes &&
           x->flush_interval_messages == y->flush_interval_messages &&
           x->flush_interval_ms == y->flush_interval_ms && x->log_append_time == y->log_append_time &&
           x->max_message_bytes == y->max_message_bytes && x->retention_ms == y->retention_ms &&
           x->retention_bytes == y->retention_bytes && x->file_delete_delay_ms == y->file_delete_delay_ms &&
           x->compression_codec == y->compression_codec;
}

/* Doubles the buckets (or makes the first ones); false when out of memory,
 * which only lengthens the chains once there are buckets. */
static bool buckets_grow(kb_replicas_t *r) {
    size_t n = r->n_topic_buckets ? r->n_topic_buckets * 2 : INITIAL_BUCKETS;
    kb_topic_entry_t **nb = calloc(n, sizeof(*nb));
    if (!nb) return r->topics != NULL;
    for (size_t i = 0; i < r->n_topic_buckets; i++) {
        kb_topic_entry_t *e = r->topics[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            size_t j = name_hash(e->name) % n;
            e->hnext = nb[j];
            nb[j] = e;
        }
    }
    free(r->topics);
    r->topics = nb;
    r->n_topic_buckets = n;
    return true;
}

static kb_topic_entry_t *entry_add(kb_replicas_t *r, const char *topic) {
    if ((!r->topics || r->n_topics >= r->n_topic_buckets * 2) && !buckets_grow(r)) return NULL;
    size_t len = strlen(topic) + 1;
    kb_topic_entry_t *e = malloc(sizeof(*e) + len);
    if (!e) return NULL;
    memcpy(e->name, topic, len);
    size_t i = name_hash(topic) % r->n_topic_buckets;
    e->hnext = r->topics[i];
    r->topics[i] = e;
    r->n_topics++;
    return e;
}

const kb_topic_settings_t *kb_replicas_topic_settings(const kb_replicas_t *r, const char *topic) {
    const kb_topic_entry_t *e = entry_find(r, topic);
    return e ? &e->settings : &r->defaults;
}

void kb_replicas_apply_topic_settings(kb_replicas_t *r, const char *topic, int32_t n_partitions,
                                      const kb_topic_settings_t *ts) {
    kb_topic_entry_t *e = entry_find(r, topic);
    if (e ? settings_equal(&e->settings, ts) : settings_equal(&r->defaults, ts)) return;
    if (!e && !(e = entry_add(r, topic))) {
        kc_error("replica", "topic %s: out of memory for its settings; its new logs get the broker defaults", topic);
    } else {
        e->settings = *ts;
    }
    for (int32_t pid = 0; pid < n_partitions; pid++) {
        kb_partition_t *p = kb_replicas_find(r, topic, pid);
        if (!p) continue;
        p->min_insync = ts->min_insync;
        if (p->log) kb_log_set_config(p->log, &ts->log);
    }
}

void kb_replicas_topic_settings_free(kb_replicas_t *r) {
    for (size_t i = 0; i < r->n_topic_buckets; i++) {
        kb_topic_entry_t *e = r->topics[i], *next;
        for (; e; e = next) {
            next = e->hnext;
            free(e);
        }
    }
    free(r->topics);
    r->topics = NULL;
    r->n_topic_buckets = r->n_topics = 0;
}
