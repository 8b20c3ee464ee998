/*
 * kb_ctl_preferred.c - what makes the controller move leaderships back to
 * the preferred (first assigned) replicas without an ElectLeaders request
 * (zk-and-replication.md 2.3, 2.4 steps 8-9, 2.7): the znode
 * /admin/preferred_replica_election, and the automatic leader rebalance.
 * Both hand their partitions to a preferred-election job
 * (kb_ctl_elections.c).
 *
 * The znode.  On taking the role the controller reads it, leaving an
 * exists watch, which fires when a tool creates it; whenever it exists
 * (a new controller finds one a predecessor left) its partitions are
 * elected, unknown partitions and those led by their preferred replica
 * already being skipped (the job logs how many), then it is deleted,
 * fenced by the controller epoch, and read again.  One at a time: a watch
 * that fires while one is read or processed asks for another read.
 *
 * The rebalance (auto.leader.rebalance.enable): 5 s after taking the role,
 * then every leader.imbalance.check.interval.seconds, one walk over every
 * partition counts, for each broker B, the partitions whose preferred
 * replica is B and how many of them B does not lead; where that share is
 * above leader.imbalance.per.broker.percentage, the partitions B could
 * lead (live, not shutting down, in the ISR) get a preferred election.
 * The walk is one look at each partition in memory (ms for 10,000); the
 * job starts their writes in batches.  A check finds nothing to do while
 * the previous one's job still runs.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "common/kc_log.h"
#include "coord/kc_preferred.h"

#define FIRST_CHECK_S 5
#define RETRY_MS 1000
/* A job from the znode or the rebalance gives up on what is left after
 * this (REQUEST_TIMED_OUT, logged): nothing an operator waits on. */
#define JOB_TIMEOUT_MS 120000

struct kb_ctl_preferred {
    kb_controller_t *c;
    uint64_t role;     /* counts the roles taken: a read of an older one is ignored */
    uint64_t read_role;
    bool reading;      /* a read of the znode is in flight */
    bool again;        /* ... and a watch fired meanwhile */
    bool processing;   /* its partitions are being elected, or it is being deleted */
    struct event *check_ev;
    struct event *retry_ev;
};

static void znode_read(struct kb_ctl_preferred *p);

/* ---- /admin/preferred_replica_election ---- */

static void retry_later(struct kb_ctl_preferred *p) {
    struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
    evtimer_add(p->retry_ev, &tv);
}

static void znode_deleted(int rc, void *arg) {
    struct kb_ctl_preferred *p = arg;
    p->processing = false;
    if (rc == KC_FENCED) {
        kb_ctl_lose_role(p->c, "a newer controller epoch fenced the deletion of /admin/preferred_replica_election");
        return;
    }
    if (!p->c->active) return;
    if (rc != KC_OK) {
        kc_warn("controller", "deleting /admin/preferred_replica_election failed: %s; retrying", kc_strerror(rc));
        p->processing = true; /* the job is done: only the deletion is retried */
        retry_later(p);
        return;
    }
    znode_read(p);
}

static void znode_delete(struct kb_ctl_preferred *p) {
    kc_preferred_election_delete(p->c->b->zk, p->c->epoch_zk_version, znode_deleted, p);
}

static void zk_job_done(const kb_ctl_job_result_t *r, void *arg) {
    struct kb_ctl_preferred *p = arg;
    if (!p->c->active) {
        p->processing = false;
        return;
    }
    kc_info("controller", "/admin/preferred_replica_election: %zu partition(s): %zu elected, %zu already led by "
            "their preferred replica, %zu skipped or failed", r->n, r->elected, r->not_needed, r->failed);
    znode_delete(p);
}

/* The znode's partitions as a job of their own (topics copied). */
static int start_zk_job(struct kb_ctl_preferred *p, const kc_isr_change_t *parts, int n) {
    kb_election_item_t *items = calloc((size_t)n, sizeof(*items));
    int rc = items ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        items[i] = (kb_election_item_t){.topic = strdup(parts[i].topic), .partition = parts[i].partition};
        if (!items[i].topic) rc = -1;
    }
    kb_ctl_job_t spec = {.type = KB_ELECTION_PREFERRED, .trigger = KB_CTL_TRIGGER_ZK, .items = items, .n = (size_t)n,
                         .owns_topics = true, .timeout_ms = JOB_TIMEOUT_MS, .done = zk_job_done, .arg = p};
    if (rc == 0) rc = kb_ctl_elections_start(p->c, &spec);
    if (rc != 0)
        for (int i = 0; items && i < n; i++) free((char *)items[i].topic);
    free(items);
    return rc;
}

static void znode_found(int rc, bool exists, const kc_isr_change_t *parts, int n, void *arg) {
    struct kb_ctl_preferred *p = arg;
    bool current = p->read_role == p->role && p->c->active;
    p->reading = false;
    if (!current || p->processing) {
        if (p->c->active && !p->processing) znode_read(p); /* a read of an older role */
        return;
    }
    if (rc != KC_OK) {
        kc_warn("controller", "reading /admin/preferred_replica_election failed: %s; retrying", kc_strerror(rc));
        retry_later(p);
        return;
    }
    if (p->again) {
        znode_read(p);
        return;
    }
    if (!exists) return; /* the watch reports its creation */
    p->processing = true;
    kc_info("controller", "/admin/preferred_replica_election lists %d partition(s): electing their preferred "
            "replicas", n);
    if (n == 0) znode_delete(p);
    else if (start_zk_job(p, parts, n) != 0) {
        p->processing = false;
        kc_error("controller", "out of memory starting the elections of /admin/preferred_replica_election");
        retry_later(p);
    }
}

static void znode_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    struct kb_ctl_preferred *p = ctx;
    /* Session events reach every watcher; only the znode's own matter. */
    if (type != ZOO_CREATED_EVENT && type != ZOO_DELETED_EVENT && type != ZOO_CHANGED_EVENT) return;
    if (p->c->active && !p->processing) znode_read(p);
}

static void znode_read(struct kb_ctl_preferred *p) {
    if (p->reading) {
        p->again = true;
        return;
    }
    p->reading = true;
    p->again = false;
    p->read_role = p->role;
    kc_preferred_election_read(p->c->b->zk, znode_watch, p, znode_found, p);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    struct kb_ctl_preferred *p = arg;
    if (!p->c->active) return;
    if (p->processing) znode_delete(p);
    else znode_read(p);
}

/* ---- the leader imbalance check ---- */

typedef struct tally {
    int32_t id;
    size_t preferred, not_led; /* partitions B is the preferred replica of; of those, not led by B */
} tally_t;

typedef struct tallies {
    tally_t *v;
    size_t n, cap;
} tallies_t;

static tally_t *tally_get(tallies_t *t, int32_t id) {
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->v[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo < t->n && t->v[lo].id == id) return &t->v[lo];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        tally_t *v = realloc(t->v, cap * sizeof(*v));
        if (!v) return NULL;
        t->v = v;
        t->cap = cap;
    }
    memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
    t->v[lo] = (tally_t){.id = id};
    t->n++;
    return &t->v[lo];
}

/* Calls fn for every partition with a state and an assignment. */
static int each_partition(const kc_view_t *v, int (*fn)(const kc_topic_t *, int32_t, void *), void *arg) {
    for (int t = 0; t < kc_view_topic_count(v); t++) {
        const kc_topic_t *topic = kc_view_topic_at(v, t);
        for (int32_t i = 0; i < topic->n_partitions; i++)
            if (topic->partitions[i].has_state && topic->partitions[i].n_replicas > 0 && fn(topic, i, arg) < 0)
                return -1;
    }
    return 0;
}

static int count_one(const kc_topic_t *topic, int32_t i, void *arg) {
    const kc_partition_t *part = &topic->partitions[i];
    tally_t *t = tally_get(arg, part->replicas[0]);
    if (!t) return -1;
    t->preferred++;
    if (part->state.leader != part->replicas[0]) t->not_led++;
    return 0;
}

typedef struct candidates {
    kb_controller_t *c;
    const tallies_t *over; /* the brokers above the threshold (their ids) */
    kb_election_item_t *items;
    size_t n, cap;
} candidates_t;

static bool over_threshold(const tallies_t *t, int32_t id) {
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].id == id) return true;
    return false;
}

/* Kafka's canPreferredReplicaBeLeader, for a partition of a broker above
 * the threshold that it does not lead; like Kafka's check, it leaves alone
 * the topics queued for deletion and the partitions being reassigned. */
static int pick_one(const kc_topic_t *topic, int32_t i, void *arg) {
    candidates_t *cd = arg;
    const kc_partition_t *part = &topic->partitions[i];
    int32_t pref = part->replicas[0];
    if (part->state.leader == pref || !over_threshold(cd->over, pref) || !kb_ctl_eligible(pref, cd->c) ||
        !kc_int32_contains(part->state.isr, part->state.n_isr, pref) || kc_partition_reassigning(part) ||
        kb_ctl_delete_queued(cd->c->deletion, topic->name))
        return 0;
    if (cd->n == cd->cap) {
        size_t cap = cd->cap ? cd->cap * 2 : 64;
        kb_election_item_t *v = realloc(cd->items, cap * sizeof(*v));
        if (!v) return -1;
        cd->items = v;
        cd->cap = cap;
    }
    cd->items[cd->n] = (kb_election_item_t){.topic = strdup(topic->name), .partition = i};
    return cd->items[cd->n++].topic ? 0 : -1;
}

/* The brokers whose share of preferred partitions they do not lead is
 * above the threshold, logged. */
static void keep_imbalanced(tallies_t *t, int32_t pct) {
    size_t kept = 0;
    for (size_t i = 0; i < t->n; i++) {
        const tally_t *b = &t->v[i];
        if (b->not_led * 100 <= (size_t)pct * b->preferred) continue;
        kc_info("controller", "leader imbalance of broker %d: it leads %zu of the %zu partitions it is the "
                "preferred replica of (more than %d%% not led): electing it where it can lead", (int)b->id,
                b->preferred - b->not_led, b->preferred, (int)pct);
        t->v[kept++] = *b;
    }
    t->n = kept;
}

static void auto_job_done(const kb_ctl_job_result_t *r, void *arg) {
    kc_info("controller", "leader rebalance: %zu preferred leader election(s): %zu elected, %zu not needed, "
            "%zu failed", r->n, r->elected, r->not_needed, r->failed);
}

static void check_imbalance(kb_controller_t *c) {
    tallies_t t = {0};
    candidates_t cd = {.c = c, .over = &t};
    int rc = each_partition(c->b->view, count_one, &t);
    if (rc == 0) keep_imbalanced(&t, c->b->cfg->leader_imbalance_per_broker_percentage);
    if (rc == 0 && t.n > 0) rc = each_partition(c->b->view, pick_one, &cd);
    kb_ctl_job_t spec = {.type = KB_ELECTION_PREFERRED, .trigger = KB_CTL_TRIGGER_AUTO, .items = cd.items, .n = cd.n,
                         .owns_topics = true, .timeout_ms = JOB_TIMEOUT_MS, .done = auto_job_done};
    if (rc == 0 && cd.n > 0) rc = kb_ctl_elections_start(c, &spec);
    if (rc != 0) {
        kc_error("controller", "out of memory in the leader imbalance check");
        for (size_t i = 0; i < cd.n; i++) free((char *)cd.items[i].topic);
    }
    free(cd.items);
    free(t.v);
}

static void arm_check(struct kb_ctl_preferred *p, int64_t seconds) {
    struct timeval tv = {(time_t)seconds, 0};
    evtimer_add(p->check_ev, &tv);
}

/* A controller still reading the states (thousands of partitions take a
 * while) checks again a second later rather than an interval later. */
static void check_cb(evutil_socket_t fd, short what, void *arg) {
    struct kb_ctl_preferred *p = arg;
    kb_controller_t *c = p->c;
    if (!c->active) return;
    if (!kc_view_states_loaded(c->b->view) || !kb_ctl_fanout_started(c->fanout)) {
        arm_check(p, 1);
        return;
    }
    if (!kb_ctl_elections_running(c, KB_CTL_TRIGGER_AUTO)) check_imbalance(c);
    arm_check(p, c->b->cfg->leader_imbalance_check_interval_seconds);
}

/* ---- lifetime ---- */

struct kb_ctl_preferred *kb_ctl_preferred_new(kb_controller_t *c) {
    struct kb_ctl_preferred *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->c = c;
    p->check_ev = evtimer_new(c->b->base, check_cb, p);
    p->retry_ev = evtimer_new(c->b->base, retry_cb, p);
    if (!p->check_ev || !p->retry_ev) {
        kb_ctl_preferred_free(p);
        return NULL;
    }
    return p;
}

void kb_ctl_preferred_free(struct kb_ctl_preferred *p) {
    if (!p) return;
    if (p->check_ev) event_free(p->check_ev);
    if (p->retry_ev) event_free(p->retry_ev);
    free(p);
}

void kb_ctl_preferred_role_taken(kb_controller_t *c) {
    struct kb_ctl_preferred *p = c->preferred;
    p->role++;
    p->processing = false;
    znode_read(p);
    if (c->b->cfg->auto_leader_rebalance_enable) arm_check(p, FIRST_CHECK_S);
}

void kb_ctl_preferred_role_ended(kb_controller_t *c) {
    struct kb_ctl_preferred *p = c->preferred;
    if (!p) return;
    evtimer_del(p->check_ev);
    evtimer_del(p->retry_ev);
    p->processing = false;
}
