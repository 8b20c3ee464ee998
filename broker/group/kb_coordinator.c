/*
 * kb_coordinator.c - which groups this broker coordinates, and the checks
 * every group API makes first (group-protocol.md 3).
 *
 * A group belongs to partition p(G) = abs(hashCode(G)) % N of
 * __consumer_offsets, N being the topic's partition count (the configured
 * one until the topic exists; it never changes after).  Each partition is
 * not owned, loading or owned here, following its leadership: the replicas
 * call on_leadership when this broker starts or stops leading one (spec
 * 3.4); a newer epoch while it leads only moves the epoch its writes are
 * made at.  The groups of all
 * owned partitions live in one hash table keyed by group id.
 *
 * FindCoordinator creates the topic on first use with
 * offsets.topic.num.partitions and offsets.topic.replication.factor; the
 * factor is never lowered to the live broker count, so with too few
 * brokers the topic is not created and the broker says why (at most once a
 * minute), while clients keep hearing COORDINATOR_NOT_AVAILABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/admin/kb_topic_creator.h"
#include "broker/group/kb_group_internal.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/replica/kb_roles.h"
#include "common/kc_log.h"
#include "proto/kp_group_records.h"
#include "proto/kp_types.h"

#define MOD "group"
#define CREATE_LOG_INTERVAL_MS 60000

int64_t kb_group_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *kb_strdup_slice(kp_str_t s) {
    char *out = malloc(s.len > 0 ? (size_t)s.len + 1 : 1);
    if (!out) return NULL;
    if (s.len > 0) memcpy(out, s.ptr, (size_t)s.len);
    out[s.len > 0 ? s.len : 0] = '\0';
    return out;
}

bool kb_slice_eq(kp_str_t s, const char *c) {
    if (!c) return s.len < 0;
    return s.len >= 0 && strlen(c) == (size_t)s.len && memcmp(c, s.ptr, (size_t)s.len) == 0;
}

void kb_group_arm(struct event *ev, int32_t ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ev) evtimer_add(ev, &tv);
}

const char *kb_group_state_name(kb_group_state_t s) {
    static const char *const names[] = {"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "Dead";
}

void kb_group_set_state(kb_group_t *g, kb_group_state_t s) {
    if (g->state != s)
        kc_debug(MOD, "group '%s': %s -> %s", g->id, kb_group_state_name(g->state), kb_group_state_name(s));
    g->state = s;
    g->state_ts = kb_group_now_ms();
}

/* ------------------------------------------------------------ the table */

/* FNV-1a from a per-process random start: ids are client-chosen, and a
 * fixed hash would let a client precompute ids that share one chain. */
static uint64_t hash_id(uint64_t seed, const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static kb_group_t **bucket_of(const kb_coordinator_t *c, const char *id, size_t len) {
    return &c->buckets[hash_id(c->seed, id, len) & (c->n_buckets - 1)];
}

kb_group_t *kb_coordinator_find(kb_coordinator_t *c, kp_str_t id) {
    size_t len = id.len > 0 ? (size_t)id.len : 0;
    for (kb_group_t *g = *bucket_of(c, id.ptr ? id.ptr : "", len); g; g = g->hnext)
        if (strlen(g->id) == len && memcmp(g->id, id.ptr, len) == 0) return g;
    return NULL;
}

static void table_grow(kb_coordinator_t *c) {
    size_t n = c->n_buckets * 2;
    kb_group_t **b = calloc(n, sizeof(*b));
    if (!b) return; /* chains just get longer */
    for (size_t i = 0; i < c->n_buckets; i++)
        for (kb_group_t *g = c->buckets[i], *next; g; g = next) {
            next = g->hnext;
            kb_group_t **slot = &b[hash_id(c->seed, g->id, strlen(g->id)) & (n - 1)];
            g->hnext = *slot;
            *slot = g;
        }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

static void group_ids_clear(kb_group_t *g) {
    kb_ids_clear(&g->member_ids);
    kb_ids_clear(&g->instance_ids);
    kb_ids_clear(&g->pending_ids);
}

kb_group_t *kb_coordinator_add(kb_coordinator_t *c, kp_str_t id, int32_t partition) {
    kb_group_t *g = calloc(1, sizeof(*g));
    if (!g || !(g->id = kb_strdup_slice(id))) {
        free(g);
        return NULL;
    }
    g->c = c;
    g->partition = partition;
    g->state = KB_GROUP_EMPTY;
    g->state_ts = kb_group_now_ms();
    g->storing_generation = -1;
    TAILQ_INIT(&g->members);
    LIST_INIT(&g->pending);
    kb_offsets_init(&g->offsets);
    if (!kb_ids_init(&g->member_ids, c->seed) || !kb_ids_init(&g->instance_ids, c->seed) ||
        !kb_ids_init(&g->pending_ids, c->seed)) {
        group_ids_clear(g);
        free(g->id);
        free(g);
        return NULL;
    }
    if (c->n_groups >= c->n_buckets) table_grow(c);
    kb_group_t **slot = bucket_of(c, g->id, strlen(g->id));
    g->hnext = *slot;
    *slot = g;
    c->n_groups++;
    return g;
}

static void group_free(kb_group_t *g) {
    group_ids_clear(g);
    if (g->join_timer) event_free(g->join_timer);
    if (g->sync_timer) event_free(g->sync_timer);
    kb_offsets_clear(&g->offsets);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g->id);
    free(g);
}

void kb_group_unref(kb_group_t *g) {
    if (--g->refs == 0 && g->freed) group_free(g);
}

static void table_unlink(kb_coordinator_t *c, kb_group_t *g) {
    for (kb_group_t **pp = bucket_of(c, g->id, strlen(g->id)); *pp; pp = &(*pp)->hnext)
        if (*pp == g) {
            *pp = g->hnext;
            c->n_groups--;
            return;
        }
}

void kb_coordinator_drop(kb_group_t *g, int16_t error) {
    kb_member_t *m;
    kb_pending_member_t *p;

    kb_group_set_state(g, KB_GROUP_DEAD);
    if (g->join_timer) evtimer_del(g->join_timer);
    if (g->sync_timer) evtimer_del(g->sync_timer);
    while ((m = TAILQ_FIRST(&g->members))) {
        kb_group_answer_join(m, error);
        kb_group_unlink_member(g, m);
        if (m->sync.done) {
            kb_sync_done_fn done = m->sync.done;
            m->sync.done = NULL;
            done(m->sync.arg, error, (kp_bytes_t){0, NULL});
        }
        kb_member_free(m);
    }
    while ((p = LIST_FIRST(&g->pending))) kb_pending_free(p);
    table_unlink(g->c, g);
    g->freed = true;
    if (g->refs == 0) group_free(g);
}

/* ---------------------------------------------------------- ownership */

static kb_owned_partition_t *part_at(kb_coordinator_t *c, int32_t p, bool grow) {
    if (p < 0) return NULL;
    if (p >= c->n_parts) {
        if (!grow) return NULL;
        kb_owned_partition_t *a = realloc(c->parts, (size_t)(p + 1) * sizeof(*a));
        if (!a) return NULL;
        memset(a + c->n_parts, 0, (size_t)(p + 1 - c->n_parts) * sizeof(*a));
        c->parts = a;
        c->n_parts = p + 1;
    }
    return &c->parts[p];
}

int32_t kb_coordinator_epoch(const kb_coordinator_t *c, int32_t partition) {
    if (partition < 0 || partition >= c->n_parts || c->parts[partition].state == KB_OWN_NONE) return -1;
    return c->parts[partition].epoch;
}

bool kb_coordinator_owns(const kb_coordinator_t *c, int32_t partition) {
    return partition >= 0 && partition < c->n_parts && c->parts[partition].state == KB_OWN_OWNED;
}

/* Every group of partition p goes (spec 3.4 "Unload"). */
static void unload(kb_coordinator_t *c, int32_t p) {
    size_t dropped = 0;
    kb_store_load_cancel(c, p);
    for (size_t i = 0; i < c->n_buckets; i++)
        for (kb_group_t *g = c->buckets[i], *next; g; g = next) {
            next = g->hnext;
            if (g->partition != p) continue;
            kb_coordinator_drop(g, KP_ERR_NOT_COORDINATOR);
            dropped++;
        }
    if (dropped) kc_info(MOD, "%s-%d: no longer led here; %zu group(s) unloaded", KB_OFFSETS_TOPIC, (int)p, dropped);
}

static void on_leadership(void *arg, const char *topic, int32_t partition, bool leader, int32_t epoch) {
    kb_coordinator_t *c = arg;
    kb_owned_partition_t *op;

    if (strcmp(topic, KB_OFFSETS_TOPIC) != 0 || c->shutting_down) return;
    if (!(op = part_at(c, partition, leader))) return;
    if (leader && op->state != KB_OWN_NONE) {
        /* Still the leader, at a newer epoch (the controller bumps it when
         * the ISR changes): the log and the groups are the same, so they
         * stay, as in Kafka, where an owned partition is not loaded again. */
        op->epoch = epoch;
        return;
    }
    if (op->state != KB_OWN_NONE) unload(c, partition);
    op->state = KB_OWN_NONE;
    if (!leader) return;
    op->state = KB_OWN_LOADING;
    op->epoch = epoch;
    if (!kb_store_load_start(c, partition, epoch)) op->state = KB_OWN_NONE; /* NOT_COORDINATOR, not loading forever */
}

/* ---------------------------------------------------- FindCoordinator */

static int32_t partition_count(const kb_coordinator_t *c) {
    const kb_metadata_topic_t *t = c->deps.metadata ? kb_metadata_topic(c->deps.metadata, KB_OFFSETS_TOPIC) : NULL;
    return t && t->n_partitions > 0 ? t->n_partitions : c->deps.cfg->offsets_topic_num_partitions;
}

/* Starts creating __consumer_offsets with the internal settings (spec 3.3). */
static void create_topic(kb_coordinator_t *c) {
    const kb_config_t *cfg = c->deps.cfg;
    char segment[24], why[512];
    kc_config_entry_t configs[] = {
        {(char *)"cleanup.policy", (char *)"compact"},
        {(char *)"compression.type", (char *)"producer"},
        {(char *)"segment.bytes", segment},
    };
    int16_t err;

    if (!c->deps.topic_creator) return;
    snprintf(segment, sizeof(segment), "%d", (int)cfg->offsets_topic_segment_bytes);
    err = kb_topic_creator_create_internal(c->deps.topic_creator, KB_OFFSETS_TOPIC,
                                           cfg->offsets_topic_num_partitions, cfg->offsets_topic_replication_factor,
                                           configs, 3, why, sizeof(why));
    if (err == KP_ERR_LEADER_NOT_AVAILABLE) return;
    if (mono_ms() - c->create_logged_ms < CREATE_LOG_INTERVAL_MS && c->create_logged_ms) return;
    c->create_logged_ms = mono_ms();
    kc_warn(MOD, "cannot create %s (%d partitions, offsets.topic.replication.factor=%d): %s; consumer groups "
            "get COORDINATOR_NOT_AVAILABLE until it exists", KB_OFFSETS_TOPIC, (int)cfg->offsets_topic_num_partitions,
            (int)cfg->offsets_topic_replication_factor, why);
}

bool kb_coordinator_ensure_topic(kb_coordinator_t *c) {
    if (c->deps.metadata && kb_metadata_topic(c->deps.metadata, KB_OFFSETS_TOPIC)) return true;
    create_topic(c);
    return false;
}

int32_t kb_coordinator_partition_for(kb_coordinator_t *c, kp_str_t group, int16_t *error) {
    *error = KP_ERR_NONE;
    if (!kb_coordinator_ensure_topic(c)) {
        *error = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        return -1;
    }
    return kp_group_partition(group.ptr ? group.ptr : "", group.len > 0 ? (size_t)group.len : 0,
                              partition_count(c));
}

int32_t kb_coordinator_partition_of(const kb_coordinator_t *c, kp_str_t id) {
    return kp_group_partition(id.ptr ? id.ptr : "", id.len > 0 ? (size_t)id.len : 0, partition_count(c));
}

bool kb_coordinator_group_id_ok(kp_str_t id) { return !(id.len > 0 && memchr(id.ptr, '\0', (size_t)id.len)); }

int16_t kb_coordinator_check(kb_coordinator_t *c, kp_str_t id, bool empty_ok, int32_t *partition) {
    const kb_owned_partition_t *op;

    *partition = -1;
    if (!empty_ok && id.len <= 0) return KP_ERR_INVALID_GROUP_ID;
    /* Group ids are kept as C strings: one with a NUL byte could never be
     * found again, and each request naming it would make a new group. */
    if (!kb_coordinator_group_id_ok(id)) return KP_ERR_INVALID_GROUP_ID;
    if (c->shutting_down) return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    *partition = kb_coordinator_partition_of(c, id);
    op = part_at(c, *partition, false);
    if (op && op->state == KB_OWN_LOADING) return KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (!op || op->state != KB_OWN_OWNED) return KP_ERR_NOT_COORDINATOR;
    return KP_ERR_NONE;
}

void kb_coordinator_load_gone(kb_coordinator_t *c, int32_t partition, const kb_load_t *l) {
    kb_owned_partition_t *op = part_at(c, partition, false);
    if (op && op->load == l) op->load = NULL;
}

kb_load_t *kb_coordinator_set_load(kb_coordinator_t *c, int32_t partition, kb_load_t *load) {
    kb_owned_partition_t *op = part_at(c, partition, false);
    kb_load_t *old = op ? op->load : NULL;
    if (op) op->load = load;
    return old;
}

/* Called by the store when load l of partition finishes (kb_group_store.c). */
void kb_coordinator_loaded(kb_coordinator_t *c, int32_t partition, const kb_load_t *l, size_t groups) {
    kb_owned_partition_t *op = part_at(c, partition, false);
    if (!op || op->state != KB_OWN_LOADING || op->load != l) return;
    op->state = KB_OWN_OWNED;
    op->load = NULL;
    kc_info(MOD, "%s-%d: coordinating its groups (leader epoch %d, %zu group(s) loaded)", KB_OFFSETS_TOPIC,
            (int)partition, (int)op->epoch, groups);
}

/* --------------------------------------------------------------- expiry */

static void on_expiry_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd, (void)what;
    kb_offsets_expire(arg);
}

/* ------------------------------------------------------------ lifetime */

kb_coordinator_t *kb_coordinator_new(const kb_coordinator_deps_t *deps) {
    kb_coordinator_t *c = calloc(1, sizeof(*c));
    int64_t every = deps->cfg->offsets_retention_check_interval_ms;
    struct timeval tv = {every / 1000, (every % 1000) * 1000};

    if (!c) return NULL;
    c->deps = *deps;
    if (getrandom(&c->seed, sizeof(c->seed), 0) != (ssize_t)sizeof(c->seed)) c->seed = (uint64_t)mono_ms();
    c->n_buckets = 64;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    c->expiry_ev = deps->base ? event_new(deps->base, -1, EV_PERSIST, on_expiry_tick, c) : NULL;
    if (!c->buckets || (deps->base && !c->expiry_ev)) {
        kb_coordinator_free(c);
        return NULL;
    }
    if (c->expiry_ev) event_add(c->expiry_ev, &tv);
    if (deps->replicas) kb_replicas_observe_leadership(deps->replicas, on_leadership, c);
    return c;
}

void kb_coordinator_set_worker(kb_coordinator_t *c, kb_worker_t *worker) { c->deps.worker = worker; }

void kb_coordinator_shutdown(kb_coordinator_t *c) {
    if (!c || c->shutting_down) return;
    for (int32_t p = 0; p < c->n_parts; p++)
        if (c->parts[p].state != KB_OWN_NONE) {
            unload(c, p);
            c->parts[p].state = KB_OWN_NONE;
        }
    c->shutting_down = true;
}

void kb_coordinator_free(kb_coordinator_t *c) {
    if (!c) return;
    kb_coordinator_shutdown(c);
    if (c->deps.replicas) kb_replicas_observe_leadership(c->deps.replicas, NULL, NULL);
    if (c->expiry_ev) event_free(c->expiry_ev);
    free(c->buckets);
    free(c->parts);
    free(c);
}

void kb_coordinator_stats(const kb_coordinator_t *c, kb_group_stats_t *out) {
    *out = c->stats;
    out->groups = c->n_groups;
    out->partitions_owned = out->partitions_loading = 0;
    for (int32_t p = 0; p < c->n_parts; p++) {
        out->partitions_owned += c->parts[p].state == KB_OWN_OWNED;
        out->partitions_loading += c->parts[p].state == KB_OWN_LOADING;
    }
}

void kb_coordinator_each_offset(const kb_coordinator_t *c,
                                void (*fn)(void *arg, const char *group, const char *topic, int32_t partition,
                                           int64_t offset),
                                void *arg) {
    for (size_t i = 0; i < c->n_buckets; i++)
        for (const kb_group_t *g = c->buckets[i]; g; g = g->hnext)
            for (size_t b = 0; kb_coordinator_owns(c, g->partition) && b < g->offsets.n_buckets; b++)
                for (const kb_offset_t *o = g->offsets.buckets[b]; o; o = o->next)
                    if (o->committed) fn(arg, g->id, o->topic, o->partition, o->offset);
}

void kb_coordinator_each_group(const kb_coordinator_t *c, void (*group_fn)(void *arg, const char *group,
                                                                             int32_t members),
                               void *arg) {
    for (size_t i = 0; i < c->n_buckets; i++)
        for (const kb_group_t *g = c->buckets[i]; g; g = g->hnext)
            if (kb_coordinator_owns(c, g->partition)) group_fn(arg, g->id, g->n_members);
}
