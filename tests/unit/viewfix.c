/*
 * viewfix.c - the hand-made cluster view (see viewfix.h): coord/kc_view.h's
 * accessors over a small sorted table.
 */
#include "tests/unit/viewfix.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 16
#define MAX_BROKERS 16
#define MAX_MARKS 16

struct kc_view {
    bool loaded;
    int n_topics;
    kc_topic_t topics[MAX_TOPICS]; /* sorted by name */
    int n_brokers;
    kc_broker_info_t brokers[MAX_BROKERS]; /* sorted by id */
    /* Change generations as kc_view.h describes them: every viewfix_*
     * change stamps what it changed with the next number. */
    uint64_t generation, brokers_changed, topics_removed;
    uint64_t walk_since; /* of the kc_view_changed_since() walk under way */
    int32_t controller, controller_epoch; /* -1: none, unknown */
    int n_marked;
    char *marked[MAX_MARKS]; /* sorted by name */
    uint64_t marks_changed;
};

static struct kc_view fix = {.loaded = true, .controller = -1, .controller_epoch = -1};

kc_view_t *viewfix_view(void) { return &fix; }
void viewfix_set_loaded(bool loaded) { fix.loaded = loaded; }

void viewfix_reset(void) {
    for (int i = 0; i < fix.n_topics; i++) kc_topic_clear(&fix.topics[i]);
    for (int i = 0; i < fix.n_brokers; i++) kc_broker_info_clear(&fix.brokers[i]);
    for (int i = 0; i < fix.n_marked; i++) free(fix.marked[i]);
    memset(&fix, 0, sizeof(fix));
    fix.loaded = true;
    fix.controller = fix.controller_epoch = -1;
}

void viewfix_controller(int32_t id, int32_t epoch) {
    fix.controller = id;
    fix.controller_epoch = epoch;
}

void viewfix_add_broker(int32_t id) {
    int i = fix.n_brokers;
    ck_assert_int_lt(i, MAX_BROKERS);
    while (i > 0 && fix.brokers[i - 1].id > id) {
        fix.brokers[i] = fix.brokers[i - 1];
        i--;
    }
    fix.brokers[i] = (kc_broker_info_t){.id = id, .port = -1, .jmx_port = -1};
    fix.n_brokers++;
    fix.brokers_changed = ++fix.generation;
}

static kc_broker_info_t *find_broker(int32_t id) {
    for (int i = 0; i < fix.n_brokers; i++)
        if (fix.brokers[i].id == id) return &fix.brokers[i];
    return NULL;
}

void viewfix_broker_details(int32_t id, int64_t czxid, const char *rpc_host, int32_t rpc_port, const char *listener,
                            const char *protocol, const char *host, int32_t port, const char *rack) {
    kc_broker_info_t *b = find_broker(id);
    ck_assert_ptr_nonnull(b);
    kc_broker_info_clear(b);
    *b = (kc_broker_info_t){.id = id, .czxid = czxid, .port = port, .jmx_port = -1, .rpc_port = rpc_port};
    b->host = strdup(host);
    b->rpc_host = rpc_host ? strdup(rpc_host) : NULL;
    b->rack = rack ? strdup(rack) : NULL;
    b->endpoints = calloc(1, sizeof(*b->endpoints));
    ck_assert_ptr_nonnull(b->endpoints);
    b->n_endpoints = 1;
    b->endpoints[0] = (kc_endpoint_t){.listener = strdup(listener), .host = strdup(host), .port = port,
                                      .security_protocol = strdup(protocol)};
    fix.brokers_changed = ++fix.generation;
}

void viewfix_remove_broker(int32_t id) {
    kc_broker_info_t *b = find_broker(id);
    ck_assert_ptr_nonnull(b);
    kc_broker_info_clear(b);
    int i = (int)(b - fix.brokers);
    memmove(&fix.brokers[i], &fix.brokers[i + 1], (size_t)(fix.n_brokers - i - 1) * sizeof(*b));
    fix.n_brokers--;
    fix.brokers_changed = ++fix.generation;
}

static kc_topic_t *find(const char *name) {
    for (int i = 0; i < fix.n_topics; i++)
        if (!strcmp(fix.topics[i].name, name)) return &fix.topics[i];
    return NULL;
}

void viewfix_topic(const char *name, int n_partitions, const int32_t *replicas, int n_replicas) {
    kc_topic_t *t = find(name);
    if (t) {
        kc_topic_clear(t);
        fix.topics_removed = ++fix.generation; /* its old partitions may be gone */
    } else {
        int i = fix.n_topics;
        ck_assert_int_lt(i, MAX_TOPICS);
        while (i > 0 && strcmp(fix.topics[i - 1].name, name) > 0) {
            fix.topics[i] = fix.topics[i - 1];
            i--;
        }
        t = &fix.topics[i];
        fix.n_topics++;
    }
    *t = (kc_topic_t){.name = strdup(name), .n_partitions = n_partitions, .changed = ++fix.generation};
    t->partitions = calloc((size_t)n_partitions, sizeof(*t->partitions));
    ck_assert_ptr_nonnull(t->partitions);
    for (int p = 0; p < n_partitions; p++) {
        t->partitions[p].changed = t->changed;
        t->partitions[p].n_replicas = n_replicas;
        t->partitions[p].replicas = malloc((size_t)n_replicas * sizeof(int32_t) + 1);
        memcpy(t->partitions[p].replicas, replicas, (size_t)n_replicas * sizeof(int32_t));
    }
}

void viewfix_assign(const char *topic, int32_t p, const int32_t *replicas, int n_replicas) {
    kc_topic_t *t = find(topic);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_lt(p, t->n_partitions);
    kc_partition_t *part = &t->partitions[p];
    part->replicas = realloc(part->replicas, (size_t)n_replicas * sizeof(int32_t) + 1);
    memcpy(part->replicas, replicas, (size_t)n_replicas * sizeof(int32_t));
    part->n_replicas = n_replicas;
    part->changed = t->changed = ++fix.generation;
}

void viewfix_remove_topic(const char *name) {
    kc_topic_t *t = find(name);
    ck_assert_ptr_nonnull(t);
    kc_topic_clear(t);
    int i = (int)(t - fix.topics);
    memmove(&fix.topics[i], &fix.topics[i + 1], (size_t)(fix.n_topics - i - 1) * sizeof(*t));
    fix.n_topics--;
    fix.topics_removed = ++fix.generation;
}

void viewfix_state(const char *topic, int32_t p, int32_t leader, int32_t leader_epoch, const int32_t *isr,
                   int n_isr) {
    kc_topic_t *t = find(topic);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_lt(p, t->n_partitions);
    kc_partition_t *part = &t->partitions[p];
    int32_t version = part->has_state ? part->state.zk_version : -1;
    kc_partition_state_clear(&part->state);
    part->has_state = true;
    part->state = (kc_partition_state_t){.leader = leader, .leader_epoch = leader_epoch, .n_isr = n_isr,
                                         .zk_version = version + 1};
    part->state.isr = malloc((size_t)n_isr * sizeof(int32_t) + 1);
    memcpy(part->state.isr, isr, (size_t)n_isr * sizeof(int32_t));
    part->changed = t->changed = ++fix.generation;
}

void viewfix_mark(const char *name, bool marked) {
    int i = 0;
    while (i < fix.n_marked && strcmp(fix.marked[i], name) < 0) i++;
    bool there = i < fix.n_marked && strcmp(fix.marked[i], name) == 0;
    if (there == marked) return;
    if (marked) {
        ck_assert_int_lt(fix.n_marked, MAX_MARKS);
        memmove(&fix.marked[i + 1], &fix.marked[i], (size_t)(fix.n_marked - i) * sizeof(char *));
        fix.marked[i] = strdup(name);
        fix.n_marked++;
    } else {
        free(fix.marked[i]);
        memmove(&fix.marked[i], &fix.marked[i + 1], (size_t)(fix.n_marked - i - 1) * sizeof(char *));
        fix.n_marked--;
    }
    fix.marks_changed = ++fix.generation;
}

void viewfix_topic_config(const char *topic, const char *key, const char *value) {
    kc_topic_t *t = find(topic);
    ck_assert_ptr_nonnull(t);
    t->configs = realloc(t->configs, (size_t)(t->n_configs + 1) * sizeof(*t->configs));
    t->configs[t->n_configs++] = (kc_config_entry_t){strdup(key), strdup(value)};
    t->configs_changed = t->changed = ++fix.generation;
}

/* ---- coord/kc_view.h's accessors ---- */

bool kc_view_loaded(const kc_view_t *v) { return v->loaded; }
int kc_view_broker_count(const kc_view_t *v) { return v->n_brokers; }
const kc_broker_info_t *kc_view_broker_at(const kc_view_t *v, int i) { return &v->brokers[i]; }

const kc_broker_info_t *kc_view_broker(const kc_view_t *v, int32_t id) {
    for (int i = 0; i < v->n_brokers; i++)
        if (v->brokers[i].id == id) return &v->brokers[i];
    return NULL;
}

bool kc_view_broker_live(const kc_view_t *v, int32_t id) { return kc_view_broker(v, id) != NULL; }
int kc_view_topic_count(const kc_view_t *v) { return v->n_topics; }
const kc_topic_t *kc_view_topic_at(const kc_view_t *v, int i) { return &v->topics[i]; }

const kc_topic_t *kc_view_topic(const kc_view_t *v, const char *name) {
    for (int i = 0; i < v->n_topics; i++)
        if (!strcmp(v->topics[i].name, name)) return &v->topics[i];
    return NULL;
}

int32_t kc_view_controller(const kc_view_t *v) { return v->controller; }
int32_t kc_view_controller_epoch(const kc_view_t *v) { return v->controller_epoch; }
const char *kc_view_cluster_id(const kc_view_t *v) { return NULL; }

uint64_t kc_view_generation(const kc_view_t *v) { return v->generation; }
uint64_t kc_view_brokers_changed(const kc_view_t *v) { return v->brokers_changed; }
uint64_t kc_view_topics_removed(const kc_view_t *v) { return v->topics_removed; }

/* In name order rather than by last change: the table is tiny and the
 * suites do not depend on the order of a walk. */
static const kc_topic_t *changed_from(const kc_view_t *v, int i) {
    for (; i < v->n_topics; i++)
        if (v->topics[i].changed > v->walk_since) return &v->topics[i];
    return NULL;
}

const kc_topic_t *kc_view_changed_since(const kc_view_t *v, uint64_t since) {
    fix.walk_since = since;
    return changed_from(v, 0);
}

const kc_topic_t *kc_view_changed_next(const kc_view_t *v, const kc_topic_t *t) {
    return changed_from(v, (int)(t - v->topics) + 1);
}

bool kc_view_topic_marked(const kc_view_t *v, const char *name) {
    for (int i = 0; i < v->n_marked; i++)
        if (!strcmp(v->marked[i], name)) return true;
    return false;
}

int kc_view_marked_count(const kc_view_t *v) { return v->n_marked; }
const char *kc_view_marked_at(const kc_view_t *v, int i) { return v->marked[i]; }
uint64_t kc_view_marks_changed(const kc_view_t *v) { return v->marks_changed; }
