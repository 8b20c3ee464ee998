/*
 * kb_metadata.c - the broker's metadata cache (kb_metadata.h): deep copies
 * of brokers and topics in sorted pointer arrays, and the listeners told
 * after each batch of updates.
 *
 * Every update builds its copy first and swaps it in only when the copy is
 * complete, so an allocation failure leaves the old entry readable.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/metadata/kb_metadata.h"

typedef struct {
    kb_metadata_listener_fn fn;
    void *arg;
} md_listener_t;

struct kb_metadata {
    kb_metadata_broker_t **brokers; /* sorted by id */
    int n_brokers;
    kb_metadata_topic_t **topics;   /* sorted by name */
    int n_topics, cap_topics;
    int32_t controller;
    char *cluster_id;
    bool loaded;
    md_listener_t *listeners;
    int n_listeners;
};

/* ---------------------------------------------------------------- copies */

static char *dup_or_null(const char *s, bool *oom) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *oom = true;
    return d;
}

/* A partition's replicas and ISR share one allocation (replicas first):
 * with 10,000 partitions a malloc per list is a visible part of the RSS.
 * isr may be NULL when n_isr is 0. */
static void partition_clear(kb_metadata_partition_t *p) {
    free(p->replicas);
    memset(p, 0, sizeof(*p));
}

static int partition_copy(kb_metadata_partition_t *dst, const kb_metadata_partition_t *src) {
    size_t nr = src->n_replicas > 0 ? (size_t)src->n_replicas : 0, ni = src->n_isr > 0 ? (size_t)src->n_isr : 0;
    int32_t *ids = malloc(sizeof(*ids) * (nr + ni + 1));

    if (!ids) return -1;
    if (nr) memcpy(ids, src->replicas, sizeof(*ids) * nr);
    if (ni) memcpy(ids + nr, src->isr, sizeof(*ids) * ni);
    *dst = *src;
    dst->replicas = ids;
    dst->isr = ids + nr;
    return 0;
}

static kc_config_entry_t *configs_dup(const kc_config_entry_t *c, int n, bool *oom) {
    kc_config_entry_t *d = calloc((size_t)n + 1, sizeof(*d));
    if (!d) {
        *oom = true;
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        d[i].key = dup_or_null(c[i].key, oom);
        d[i].value = dup_or_null(c[i].value, oom);
    }
    return d;
}

static void topic_free(kb_metadata_topic_t *t) {
    if (!t) return;
    for (int i = 0; i < t->n_partitions; i++) partition_clear(&t->partitions[i]);
    free(t->partitions);
    kc_config_entries_free(t->configs, t->n_configs);
    free(t->name);
    free(t);
}

static kb_metadata_topic_t *topic_dup(const kb_metadata_topic_t *src) {
    kb_metadata_topic_t *t = calloc(1, sizeof(*t));
    bool oom = !t;
    if (oom) return NULL;
    t->name = dup_or_null(src->name, &oom);
    t->partitions = calloc((size_t)src->n_partitions + 1, sizeof(*t->partitions));
    if (!t->partitions) oom = true;
    for (int i = 0; !oom && i < src->n_partitions; i++, t->n_partitions++)
        if (partition_copy(&t->partitions[i], &src->partitions[i]) != 0) oom = true;
    t->n_configs = src->n_configs;
    t->configs = configs_dup(src->configs, src->n_configs, &oom);
    if (!oom) return t;
    topic_free(t);
    return NULL;
}

static void broker_free(kb_metadata_broker_t *b) {
    if (!b) return;
    for (int i = 0; i < b->n_endpoints; i++) {
        free(b->endpoints[i].listener);
        free(b->endpoints[i].host);
    }
    free(b->endpoints);
    free(b->rack);
    free(b);
}

static kb_metadata_broker_t *broker_dup(const kb_metadata_broker_t *src) {
    kb_metadata_broker_t *b = calloc(1, sizeof(*b));
    bool oom = !b;
    if (oom) return NULL;
    b->id = src->id;
    b->rack = dup_or_null(src->rack, &oom);
    b->endpoints = calloc((size_t)src->n_endpoints + 1, sizeof(*b->endpoints));
    if (!b->endpoints) oom = true;
    for (int i = 0; !oom && i < src->n_endpoints; i++, b->n_endpoints++) {
        b->endpoints[i].listener = dup_or_null(src->endpoints[i].listener, &oom);
        b->endpoints[i].host = dup_or_null(src->endpoints[i].host, &oom);
        b->endpoints[i].port = src->endpoints[i].port;
    }
    if (!oom) return b;
    broker_free(b);
    return NULL;
}

/* ------------------------------------------------------------- lifetime */

kb_metadata_t *kb_metadata_new(void) {
    kb_metadata_t *md = calloc(1, sizeof(*md));
    if (md) md->controller = -1;
    return md;
}

static void brokers_free(kb_metadata_broker_t **b, int n) {
    for (int i = 0; i < n; i++) broker_free(b[i]);
    free(b);
}

void kb_metadata_free(kb_metadata_t *md) {
    if (!md) return;
    brokers_free(md->brokers, md->n_brokers);
    for (int i = 0; i < md->n_topics; i++) topic_free(md->topics[i]);
    free(md->topics);
    free(md->cluster_id);
    free(md->listeners);
    free(md);
}

/* -------------------------------------------------------------- brokers */

static int broker_ptr_cmp(const void *a, const void *b) {
    int32_t x = (*(kb_metadata_broker_t *const *)a)->id, y = (*(kb_metadata_broker_t *const *)b)->id;
    return (x > y) - (x < y);
}

int kb_metadata_set_brokers(kb_metadata_t *md, const kb_metadata_broker_t *brokers, int n) {
    kb_metadata_broker_t **copy = calloc((size_t)n + 1, sizeof(*copy));
    if (!copy) return -1;
    for (int i = 0; i < n; i++) {
        if ((copy[i] = broker_dup(&brokers[i]))) continue;
        brokers_free(copy, i);
        return -1;
    }
    qsort(copy, (size_t)n, sizeof(*copy), broker_ptr_cmp);
    brokers_free(md->brokers, md->n_brokers);
    md->brokers = copy;
    md->n_brokers = n;
    return 0;
}

void kb_metadata_set_controller(kb_metadata_t *md, int32_t id) { md->controller = id; }

int kb_metadata_set_cluster_id(kb_metadata_t *md, const char *cluster_id) {
    bool oom = false;
    char *copy = dup_or_null(cluster_id, &oom);
    if (oom) return -1;
    free(md->cluster_id);
    md->cluster_id = copy;
    return 0;
}

void kb_metadata_set_loaded(kb_metadata_t *md, bool loaded) { md->loaded = loaded; }

bool kb_metadata_loaded(const kb_metadata_t *md) { return md->loaded; }
int32_t kb_metadata_controller(const kb_metadata_t *md) { return md->controller; }
const char *kb_metadata_cluster_id(const kb_metadata_t *md) { return md->cluster_id; }
int kb_metadata_broker_count(const kb_metadata_t *md) { return md->n_brokers; }
const kb_metadata_broker_t *kb_metadata_broker_at(const kb_metadata_t *md, int i) { return md->brokers[i]; }

const kb_metadata_broker_t *kb_metadata_broker(const kb_metadata_t *md, int32_t id) {
    int lo = 0, hi = md->n_brokers - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int32_t at = md->brokers[mid]->id;
        if (at == id) return md->brokers[mid];
        if (at < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

const char *kb_metadata_broker_rack(int32_t id, const void *md) {
    const kb_metadata_broker_t *b = kb_metadata_broker(md, id);
    return b ? b->rack : NULL;
}

const kb_metadata_endpoint_t *kb_metadata_broker_endpoint(const kb_metadata_broker_t *b, const char *name) {
    for (int i = 0; b && name && i < b->n_endpoints; i++)
        if (b->endpoints[i].listener && strcmp(b->endpoints[i].listener, name) == 0) return &b->endpoints[i];
    return NULL;
}

/* --------------------------------------------------------------- topics */

/* The index of topic `name`, or -(insertion point) - 1 when absent. */
static int topic_search(const kb_metadata_t *md, const char *name) {
    int lo = 0, hi = md->n_topics - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(md->topics[mid]->name, name);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

int kb_metadata_topic_count(const kb_metadata_t *md) { return md->n_topics; }
const kb_metadata_topic_t *kb_metadata_topic_at(const kb_metadata_t *md, int i) { return md->topics[i]; }

const kb_metadata_topic_t *kb_metadata_topic(const kb_metadata_t *md, const char *name) {
    int i = name ? topic_search(md, name) : -1;
    return i >= 0 ? md->topics[i] : NULL;
}

static int topics_reserve(kb_metadata_t *md) {
    if (md->n_topics < md->cap_topics) return 0;
    int cap = md->cap_topics ? md->cap_topics * 2 : 16;
    kb_metadata_topic_t **t = realloc(md->topics, sizeof(*t) * (size_t)cap);
    if (!t) return -1;
    md->topics = t;
    md->cap_topics = cap;
    return 0;
}

int kb_metadata_upsert_topic(kb_metadata_t *md, const kb_metadata_topic_t *t) {
    int at = t->name ? topic_search(md, t->name) : -1;
    kb_metadata_topic_t *copy;
    if (!t->name || (at < 0 && topics_reserve(md) != 0) || !(copy = topic_dup(t))) return -1;
    if (at >= 0) {
        topic_free(md->topics[at]);
        md->topics[at] = copy;
        return 0;
    }
    at = -at - 1;
    memmove(&md->topics[at + 1], &md->topics[at], sizeof(*md->topics) * (size_t)(md->n_topics - at));
    md->topics[at] = copy;
    md->n_topics++;
    return 0;
}

int kb_metadata_set_partition(kb_metadata_t *md, const char *topic, int32_t index,
                              const kb_metadata_partition_t *p) {
    int at = topic ? topic_search(md, topic) : -1;
    kb_metadata_partition_t copy;
    if (at < 0 || index < 0 || index >= md->topics[at]->n_partitions) return -1;
    if (partition_copy(&copy, p) != 0) return -1;
    partition_clear(&md->topics[at]->partitions[index]);
    md->topics[at]->partitions[index] = copy;
    return 0;
}

/* The partitions [from, n) of a topic being grown: no leader, no epoch,
 * no replicas (each with its own small allocation, as partition_copy
 * makes them, so partition_clear frees them alike). */
static int partitions_fill_empty(kb_metadata_partition_t *parts, int from, int n) {
    static const kb_metadata_partition_t none = {.leader = -1, .leader_epoch = -1};
    for (int i = from; i < n; i++) {
        if (partition_copy(&parts[i], &none) == 0) continue;
        while (--i >= from) partition_clear(&parts[i]);
        return -1;
    }
    return 0;
}

/* Grows topic t to n partitions in place; the old ones move, uncopied. */
static int topic_grow(kb_metadata_topic_t *t, int n) {
    kb_metadata_partition_t *parts = calloc((size_t)n + 1, sizeof(*parts));
    if (!parts) return -1;
    if (partitions_fill_empty(parts, t->n_partitions, n) != 0) {
        free(parts);
        return -1;
    }
    if (t->n_partitions > 0) memcpy(parts, t->partitions, sizeof(*parts) * (size_t)t->n_partitions);
    free(t->partitions);
    t->partitions = parts;
    t->n_partitions = n;
    return 0;
}

int kb_metadata_ensure_partitions(kb_metadata_t *md, const char *topic, int32_t n, const kc_config_entry_t *configs,
                                  int n_configs) {
    int at = topic ? topic_search(md, topic) : -1;
    if (!topic || n < 0) return -1;
    if (at >= 0) return md->topics[at]->n_partitions >= n ? 0 : topic_grow(md->topics[at], n);
    kb_metadata_topic_t fresh = {(char *)topic, 0, NULL, n_configs, (kc_config_entry_t *)configs};
    if (kb_metadata_upsert_topic(md, &fresh) != 0) return -1;
    at = topic_search(md, topic);
    if (topic_grow(md->topics[at], n) == 0) return 0;
    kb_metadata_remove_topic(md, topic);
    return -1;
}

int kb_metadata_set_topic_configs(kb_metadata_t *md, const char *topic, const kc_config_entry_t *configs,
                                  int n) {
    int at = topic ? topic_search(md, topic) : -1;
    bool oom = false;
    kc_config_entry_t *copy;
    if (at < 0) return -1;
    copy = configs_dup(configs, n, &oom);
    if (oom) {
        kc_config_entries_free(copy, copy ? n : 0);
        return -1;
    }
    kc_config_entries_free(md->topics[at]->configs, md->topics[at]->n_configs);
    md->topics[at]->configs = copy;
    md->topics[at]->n_configs = n;
    return 0;
}

bool kb_metadata_remove_topic(kb_metadata_t *md, const char *topic) {
    int at = topic ? topic_search(md, topic) : -1;
    if (at < 0) return false;
    topic_free(md->topics[at]);
    memmove(&md->topics[at], &md->topics[at + 1], sizeof(*md->topics) * (size_t)(md->n_topics - at - 1));
    md->n_topics--;
    return true;
}

/* ------------------------------------------------------------ listeners */

int kb_metadata_subscribe(kb_metadata_t *md, kb_metadata_listener_fn fn, void *arg) {
    md_listener_t *l = realloc(md->listeners, sizeof(*l) * (size_t)(md->n_listeners + 1));
    if (!l) return -1;
    md->listeners = l;
    l[md->n_listeners++] = (md_listener_t){fn, arg};
    return 0;
}

void kb_metadata_unsubscribe(kb_metadata_t *md, kb_metadata_listener_fn fn, void *arg) {
    for (int i = 0; i < md->n_listeners; i++) {
        if (md->listeners[i].fn != fn || md->listeners[i].arg != arg) continue;
        memmove(&md->listeners[i], &md->listeners[i + 1], sizeof(*md->listeners) * (size_t)(md->n_listeners - i - 1));
        md->n_listeners--;
        return;
    }
}

/* A listener may not subscribe or unsubscribe from inside its call. */
void kb_metadata_notify(kb_metadata_t *md) {
    for (int i = 0; i < md->n_listeners; i++) md->listeners[i].fn(md, md->listeners[i].arg);
}
