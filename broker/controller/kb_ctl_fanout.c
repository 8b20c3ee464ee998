/*
 * kb_ctl_fanout.c - the controller's queues and broker index (see
 * kb_ctl_fanout.h).
 *
 * Two small tables sorted by broker id: `live`, one entry per broker
 * incarnation the queues were made for (id, broker epoch, queue), and
 * `hosted`, the index: for every broker id named as a replica, the set of
 * partition keys naming it.  Broker counts are small, so both are arrays
 * searched by bisection and grown by insertion.  The index only grows as
 * partitions are visited; an entry a reassignment made stale (the broker no
 * longer in the partition's replicas, or the partition gone) is filtered
 * out when that broker's set is next read, against the view.
 */
#include "broker/controller/kb_ctl_fanout.h"

#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"

typedef struct live {
    int32_t id;
    int64_t epoch;       /* czxid of the registration the queue was made for */
    kb_ctl_queue_t *q;   /* NULL when the broker publishes no RPC listener */
    bool kept;           /* diff bookkeeping */
} live_t;

typedef struct hosted {
    int32_t id;
    kb_ctl_set_t parts;
} hosted_t;

struct kb_ctl_fanout {
    kb_ctl_fanout_opts_t o;
    kb_ctl_names_t *names;
    kb_ctl_source_t src;
    bool started;
    live_t *live;
    int n_live;
    hosted_t *hosted;
    int n_hosted, cap_hosted;
};

kb_ctl_fanout_t *kb_ctl_fanout_new(const kb_ctl_fanout_opts_t *opts) {
    kb_ctl_fanout_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->names = kb_ctl_names_new())) {
        free(f);
        return NULL;
    }
    f->o = *opts;
    f->src = (kb_ctl_source_t){.view = opts->view, .names = f->names, .controller_id = opts->controller_id,
                               .deleting = opts->deleting, .deleting_arg = opts->arg};
    return f;
}

void kb_ctl_fanout_free(kb_ctl_fanout_t *f) {
    if (!f) return;
    kb_ctl_fanout_stop(f);
    free(f->hosted);
    kb_ctl_names_free(f->names);
    free(f);
}

uint32_t kb_ctl_fanout_topic(kb_ctl_fanout_t *f, const char *topic) { return kb_ctl_names_intern(f->names, topic); }

bool kb_ctl_fanout_started(const kb_ctl_fanout_t *f) { return f->started; }

/* ---- the index ---- */

/* The index entry of broker id, or where it would be inserted. */
static int hosted_pos(const kb_ctl_fanout_t *f, int32_t id) {
    int lo = 0, hi = f->n_hosted;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (f->hosted[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static hosted_t *hosted_find(const kb_ctl_fanout_t *f, int32_t id) {
    int i = hosted_pos(f, id);
    return i < f->n_hosted && f->hosted[i].id == id ? &f->hosted[i] : NULL;
}

static hosted_t *hosted_get(kb_ctl_fanout_t *f, int32_t id) {
    int i = hosted_pos(f, id);
    if (i < f->n_hosted && f->hosted[i].id == id) return &f->hosted[i];
    if (f->n_hosted == f->cap_hosted) {
        int cap = f->cap_hosted ? f->cap_hosted * 2 : 8;
        hosted_t *h = realloc(f->hosted, (size_t)cap * sizeof(*h));
        if (!h) return NULL;
        f->hosted = h;
        f->cap_hosted = cap;
    }
    memmove(&f->hosted[i + 1], &f->hosted[i], (size_t)(f->n_hosted - i) * sizeof(*f->hosted));
    f->hosted[i] = (hosted_t){.id = id};
    f->n_hosted++;
    return &f->hosted[i];
}

void kb_ctl_fanout_index(kb_ctl_fanout_t *f, kb_ctl_key_t key, const kc_partition_t *part) {
    for (int r = 0; r < part->n_replicas; r++) {
        hosted_t *h = hosted_get(f, part->replicas[r]);
        if (!h || kb_ctl_set_add(&h->parts, key, 0) < 0)
            kc_error("controller", "out of memory indexing the replicas of broker %d", (int)part->replicas[r]);
    }
}

/* The view's partition a key names, or NULL when it is gone. */
static const kc_partition_t *key_partition(const kb_ctl_fanout_t *f, kb_ctl_key_t key, const char **topic) {
    const char *name = kb_ctl_names_get(f->names, kb_ctl_key_topic(key));
    const kc_topic_t *t = name ? kc_view_topic(f->o.view, name) : NULL;
    int32_t p = kb_ctl_key_partition(key);
    if (!t || p < 0 || p >= t->n_partitions) return NULL;
    if (topic) *topic = t->name;
    return &t->partitions[p];
}

typedef struct still_hosted {
    const kb_ctl_fanout_t *f;
    int32_t id;
} still_hosted_t;

static bool still_hosted(kb_ctl_key_t key, void *arg) {
    const still_hosted_t *s = arg;
    const kc_partition_t *part = key_partition(s->f, key, NULL);
    return part && kc_int32_contains(part->replicas, part->n_replicas, s->id);
}

/* Broker id's partitions as the view assigns them now (stale entries
 * dropped); NULL when it hosts none. */
static const kb_ctl_set_t *hosted_parts(kb_ctl_fanout_t *f, int32_t id) {
    hosted_t *h = hosted_find(f, id);
    if (!h) return NULL;
    still_hosted_t s = {f, id};
    kb_ctl_set_filter(&h->parts, still_hosted, &s);
    return &h->parts;
}

/* ---- queues ---- */

static int build(const kb_ctl_batch_t *b, kb_ctl_arena_t *a, void *arg, const ProtobufCMessage **out) {
    kb_ctl_fanout_t *f = arg;
    int rc;
    if (b->kind == KB_CTL_LEADER_AND_ISR) {
        Kbroker__Rpc__LeaderAndIsrRequest *r;
        rc = kb_ctl_build_leader_and_isr(&f->src, b, a, &r);
        *out = r ? &r->base : NULL;
    } else if (b->kind == KB_CTL_STOP_REPLICA) {
        Kbroker__Rpc__StopReplicaRequest *r;
        rc = kb_ctl_build_stop_replica(&f->src, b, a, &r);
        *out = r ? &r->base : NULL;
    } else {
        Kbroker__Rpc__UpdateMetadataRequest *r;
        rc = kb_ctl_build_update_metadata(&f->src, b, a, &r);
        *out = r ? &r->base : NULL;
    }
    return rc;
}

/* A StopReplica answer names its partitions by topic name: only names
 * already interned are known (an answer cannot grow the table). */
static bool key_of(const char *topic, int32_t partition, void *arg, kb_ctl_key_t *key) {
    const kb_ctl_fanout_t *f = arg;
    uint32_t id = kb_ctl_names_find(f->names, topic);
    if (id == UINT32_MAX) return false;
    *key = kb_ctl_key(id, partition);
    return true;
}

static void stopped(const kb_ctl_stopped_t *s, void *arg) {
    const kb_ctl_fanout_t *f = arg;
    if (f->o.stopped) f->o.stopped(s, f->o.arg);
}

static void refused(const kb_ctl_refused_t *r, void *arg) {
    const kb_ctl_fanout_t *f = arg;
    if (f->o.refused) f->o.refused(r, f->o.arg);
}

static kb_ctl_queue_t *make_queue(kb_ctl_fanout_t *f, const kc_broker_info_t *info) {
    int32_t port = -1;
    const char *host = kc_broker_rpc_endpoint(info, &port);
    if (!f->o.transport) return NULL;
    if (!host) {
        kc_warn("controller", "broker %d publishes no kbroker RPC listener; it gets no controller requests",
                (int)info->id);
        return NULL;
    }
    const kc_broker_info_t *self = kc_view_broker(f->o.view, f->o.controller_id);
    kb_ctl_queue_opts_t o = {
        .peer = {.self_id = f->o.controller_id, .self_epoch = self ? self->czxid : -1, .broker_id = info->id,
                 .broker_epoch = info->czxid, .host = host, .port = port},
        .transport = f->o.transport,
        .build = build,
        .build_arg = f,
        .stopped = stopped,
        .refused = refused,
        .key_of = key_of,
        .answer_arg = f,
        .timeout_ms = f->o.timeout_ms,
        .max_batch = f->o.max_batch,
    };
    kb_ctl_queue_t *q = kb_ctl_queue_new(&o);
    if (!q) kc_error("controller", "cannot open a request queue to broker %d", (int)info->id);
    return q;
}

static void queue_failed(int32_t id) {
    kc_error("controller", "out of memory queueing requests to broker %d", (int)id);
}

/* Everything a broker incarnation must know: LeaderAndIsr for each of its
 * partitions, then UpdateMetadata for every partition with a state. */
static void full_state(kb_ctl_fanout_t *f, live_t *l) {
    if (!l->q) return;
    const kb_ctl_set_t *mine = hosted_parts(f, l->id);
    for (size_t i = 0; mine && i < mine->n; i++)
        if (kb_ctl_queue_leader_and_isr(l->q, mine->keys[i], false) < 0) queue_failed(l->id);
    for (int t = 0; t < kc_view_topic_count(f->o.view); t++) {
        const kc_topic_t *topic = kc_view_topic_at(f->o.view, t);
        uint32_t tid = kb_ctl_names_intern(f->names, topic->name);
        for (int p = 0; p < topic->n_partitions && tid != UINT32_MAX; p++)
            if (topic->partitions[p].has_state && kb_ctl_queue_update_metadata(l->q, kb_ctl_key(tid, p)) < 0)
                queue_failed(l->id);
    }
    kb_ctl_queue_update_brokers(l->q);
}

static live_t *live_find(const kb_ctl_fanout_t *f, int32_t id) {
    int lo = 0, hi = f->n_live;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (f->live[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->n_live && f->live[lo].id == id ? &f->live[lo] : NULL;
}

/* Frees every queue at once (whatever each held is dropped). */
static void drop_queues(kb_ctl_fanout_t *f) {
    for (int i = 0; i < f->n_live; i++) kb_ctl_queue_free(f->live[i].q);
    free(f->live);
    f->live = NULL;
    f->n_live = 0;
}

void kb_ctl_fanout_start(kb_ctl_fanout_t *f, int32_t controller_epoch) {
    drop_queues(f); /* not the index: the controller has just built it */
    f->src.controller_epoch = controller_epoch;
    f->started = true;
    int n = kc_view_broker_count(f->o.view);
    f->live = calloc((size_t)(n > 0 ? n : 1), sizeof(*f->live));
    if (!f->live) {
        kc_error("controller", "out of memory starting the request queues");
        return;
    }
    for (int i = 0; i < n; i++) {
        const kc_broker_info_t *info = kc_view_broker_at(f->o.view, i);
        live_t *l = &f->live[f->n_live++];
        *l = (live_t){.id = info->id, .epoch = info->czxid, .q = make_queue(f, info)};
        full_state(f, l);
    }
}

void kb_ctl_fanout_stop(kb_ctl_fanout_t *f) {
    drop_queues(f);
    for (int i = 0; i < f->n_hosted; i++) kb_ctl_set_clear(&f->hosted[i].parts);
    f->n_hosted = 0;
    f->started = false;
}

void kb_ctl_fanout_state_written(kb_ctl_fanout_t *f, kb_ctl_key_t key, const kc_partition_t *part, bool is_new) {
    for (int r = 0; r < part->n_replicas; r++) {
        live_t *l = live_find(f, part->replicas[r]);
        if (l && l->q && kb_ctl_queue_leader_and_isr(l->q, key, is_new) < 0) queue_failed(l->id);
    }
    kb_ctl_fanout_metadata_changed(f, key);
}

void kb_ctl_fanout_metadata_changed(kb_ctl_fanout_t *f, kb_ctl_key_t key) {
    for (int i = 0; i < f->n_live; i++)
        if (f->live[i].q && kb_ctl_queue_update_metadata(f->live[i].q, key) < 0) queue_failed(f->live[i].id);
}

void kb_ctl_fanout_flush(kb_ctl_fanout_t *f) {
    for (int i = 0; i < f->n_live; i++)
        if (f->live[i].q) kb_ctl_queue_flush(f->live[i].q);
}

bool kb_ctl_fanout_stop_replica(kb_ctl_fanout_t *f, int32_t broker_id, kb_ctl_key_t key, bool delete_partition,
                                int64_t *epoch) {
    live_t *l = live_find(f, broker_id);
    if (!l || !l->q) return false;
    if (kb_ctl_queue_stop_replica(l->q, key, delete_partition) < 0) {
        queue_failed(broker_id);
        return false;
    }
    *epoch = l->epoch;
    return true;
}

int64_t kb_ctl_fanout_broker_epoch(const kb_ctl_fanout_t *f, int32_t broker_id) {
    live_t *l = live_find(f, broker_id);
    return l && l->q ? l->epoch : -1;
}

kb_ctl_queue_t *kb_ctl_fanout_queue(const kb_ctl_fanout_t *f, int32_t broker_id) {
    live_t *l = live_find(f, broker_id);
    return l ? l->q : NULL;
}

/* ---- broker set changes ---- */

void kb_ctl_fanout_each_hosted(kb_ctl_fanout_t *f, int32_t id, kb_ctl_examine_fn examine, void *arg) {
    const kb_ctl_set_t *parts = hosted_parts(f, id);
    for (size_t i = 0; parts && i < parts->n; i++) {
        const char *topic;
        if (key_partition(f, parts->keys[i], &topic)) examine(topic, kb_ctl_key_partition(parts->keys[i]), arg);
    }
}

/* The old incarnations that are gone: queues freed, partitions examined.
 * `changed` collects the ids to examine (at most old + new counts). */
static void drop_departed(kb_ctl_fanout_t *f, int32_t *changed, int *n_changed) {
    for (int i = 0; i < f->n_live; i++) {
        if (f->live[i].kept) continue;
        kc_info("controller", "broker %d (epoch %lld) is gone: its request queue is dropped", (int)f->live[i].id,
                (long long)f->live[i].epoch);
        kb_ctl_queue_free(f->live[i].q);
        changed[(*n_changed)++] = f->live[i].id;
    }
}

void kb_ctl_fanout_brokers_changed(kb_ctl_fanout_t *f, kb_ctl_examine_fn examine, void *arg) {
    if (!f->started) return;
    int n = kc_view_broker_count(f->o.view), n_changed = 0;
    live_t *next = calloc((size_t)(n > 0 ? n : 1), sizeof(*next));
    int32_t *changed = calloc((size_t)(n + f->n_live + 1), sizeof(*changed));
    if (!next || !changed) {
        free(next);
        free(changed);
        kc_error("controller", "out of memory following a broker change");
        return;
    }
    for (int i = 0; i < n; i++) {
        const kc_broker_info_t *info = kc_view_broker_at(f->o.view, i);
        live_t *old = live_find(f, info->id);
        if (old && old->epoch == info->czxid) {
            old->kept = true;
            next[i] = *old;
            next[i].kept = false;
            if (next[i].q) kb_ctl_queue_update_brokers(next[i].q);
            continue;
        }
        kc_info("controller", "broker %d (epoch %lld) joined: it gets the full state", (int)info->id,
                (long long)info->czxid);
        next[i] = (live_t){.id = info->id, .epoch = info->czxid, .q = make_queue(f, info), .kept = true};
        changed[n_changed++] = info->id;
    }
    drop_departed(f, changed, &n_changed);
    free(f->live);
    f->live = next;
    f->n_live = n;
    for (int i = 0; i < n; i++) {
        if (next[i].kept) full_state(f, &next[i]); /* kept marks the joiners here */
        next[i].kept = false;
    }
    for (int i = 0; i < n_changed; i++) {
        bool seen = false; /* a bounced broker left and joined: examined once */
        for (int j = 0; j < i && !seen; j++) seen = changed[j] == changed[i];
        if (!seen) kb_ctl_fanout_each_hosted(f, changed[i], examine, arg);
    }
    free(changed);
}
