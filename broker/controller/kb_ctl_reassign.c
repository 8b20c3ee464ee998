/*
 * kb_ctl_reassign.c - partition reassignment, the controller's side
 * (zk-and-replication.md 1.3, 1.9, 2.4 step 8, 2.6 "Reassign", 2.7
 * "Reassignment"; Kafka 2.6's KafkaController.onPartitionReassignment).
 * The rules are kb_reassign.h; this file applies them.
 *
 * Where a reassignment lives.  The topic znode is the only persistent
 * record: while partition P moves, /brokers/topics/T lists
 * RS = TRS + (ORS - TRS) with adding (AR) and removing (RR) replicas, from
 * which ORS and TRS are read back.  A new controller therefore resumes
 * every reassignment from the view alone (the first pass visits every
 * partition; each one listing adding or removing replicas gets a record
 * here and its leader epoch raised, Kafka's A1 step on failover, so the
 * leader surely follows the replica list).  /admin/reassign_partitions
 * and AlterPartitionReassignments are only requests: each one becomes a
 * record's `target`, written to the topic znode when it can be.
 *
 * The steps of one partition, each a write the view must read back before
 * the next is decided (a partition with a write of ours in flight, or
 * not yet read back, is left alone; the read-back stamps it again):
 *
 *   start   a request: the topic znode gets Kafka's reassignTo lists
 *           (replicas = target first, then the original ones leaving),
 *           and, in the same ZooKeeper multi, the partition's state its
 *           leader epoch + 1 (leader and ISR unchanged), so that
 *           LeaderAndIsr with the new replica list reaches every replica:
 *           the new ones create their log and fetch from the leader as
 *           followers, and the leader adds each to the ISR once it has
 *           caught up (broker/replica/kb_partition_isr.c).  A request
 *           whose target is already all in the ISR (a new order of the
 *           same replicas, fewer replicas) goes straight to `finish`.
 *   wait    until every target replica is in the ISR (the controller
 *           reads every state znode while it holds the role, so a leader's
 *           ISR expansion is a visit).
 *   prepare if the leader is not a live target replica, Kafka's Reassign
 *           election (the first target replica live and in the ISR; none:
 *           wait); the replicas leaving taken out of the ISR; one state
 *           write, leader epoch + 1, LeaderAndIsr to every replica listed
 *           so far (a leader leaving learns it follows now).
 *   finish  the topic znode lists the target alone with no adding or
 *           removing replicas, and the state its leader epoch + 1, in one
 *           multi; LeaderAndIsr goes to the target replicas and
 *           UpdateMetadata to every broker when the view reads it back.
 *           Then the replicas that left get StopReplica, without and then
 *           with the deletion of their log (the queue merges the two into
 *           one delete and retries it until the broker answers 0), and
 *           the partition's /admin/reassign_partitions entry, if it named
 *           this target, is removed (the znode deleted with the last one).
 *
 * The topic znode and the states go in one multi, topic first: either
 * both or neither is written, so no controller ever finds replicas
 * listed that never got their leader epoch, and ZooKeeper reports the
 * two changes in that order, so the view holds the new replica list when
 * the state's read-back sends LeaderAndIsr from it.  The topic write is
 * conditional on the topic znode's version and fenced by the controller
 * epoch; the partitions of one topic that are ready in the same pass go
 * in one write, and a topic has one write in flight at a time.  A write
 * that lost to a concurrent one (BADVERSION) waits for the view to show
 * what changed and is decided again; other failures are retried after
 * RETRY_MS.
 *
 * A topic queued for deletion abandons its reassignments in the pass that
 * queues it (abandon(): Kafka instead makes the deletion wait for them):
 * each record is freed, its API request answered 3, its
 * /admin/reassign_partitions entry dropped, and the replicas a landed
 * write of it removed are stopped and deleted.  The topic znode keeps
 * its adding and removing lists until the deletion removes it.
 *
 * Partitions move independently: each has its record, and records are
 * visited from a to-do list filled by the reconciliation's visits (a
 * state or assignment change), by requests and by answers.  Costs follow
 * the partitions being reassigned; a partition that is not costs one hash
 * lookup per visit while any record exists, nothing otherwise.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "broker/controller/kb_reassign.h"
#include "common/kc_log.h"
#include "coord/kc_paths.h"
#include "coord/kc_reassign.h"
#include "proto/kp_types.h"

#define REC_BUCKETS 256
#define RETRY_MS 1000

typedef struct ids {
    int n;
    int32_t *v;
} ids_t;

struct alter;

/* An API request waiting for one of its entries to be written. */
typedef struct waiter {
    struct waiter *next;
    struct alter *a;
    int idx;
    uint32_t seq; /* the record's request it waits for */
} waiter_t;

/* An AlterPartitionReassignments request with entries still waiting. */
typedef struct alter {
    struct alter *next;
    kb_ctl_reassigner_t *r;
    kc_reassign_answer_t *answers;
    int pending;
    kb_reassign_done_fn done;
    void *arg;
    struct event *timer;
} alter_t;

typedef enum stage {
    R_IDLE,    /* nothing of ours in flight: decided at each visit */
    R_WRITING, /* its topic znode write is in flight */
    R_LANDING, /* written; waiting for the view to read the topic znode back */
} stage_t;

/* One partition being reassigned, or asked to be. */
typedef struct rec {
    struct rec *next;      /* hash chain */
    struct rec *todo_next; /* the to-do list */
    bool in_todo;
    stage_t stage;
    bool bumped;       /* its leader epoch was raised since its assignment changed (Kafka's A1) */
    bool requested;    /* a request waits to be written */
    bool cancel;       /* ... to go back to the original replicas */
    bool stuck_logged; /* "no target replica can lead" said once per wait */
    bool finish_logged; /* "finishing" said once */
    uint32_t req_seq;  /* counts requests, so a write knows whether a newer one came */
    uint32_t written_seq;
    ids_t target;      /* the request's target replicas */
    kb_reassign_lists_t want; /* what the write in flight lists */
    int32_t *want_buf;
    ids_t stop;        /* replicas the write removes, stopped once it lands */
    uint64_t op;       /* the write in flight */
    int32_t await_version; /* the topic znode version the view must reach */
    uint64_t wait_gen; /* after a lost write: wait for a change of the topic newer than this */
    waiter_t *waiters;
    int32_t partition;
    char topic[];
} rec_t;

/* A topic with a write of ours in flight or not yet read back. */
typedef struct topic_busy {
    struct topic_busy *next;
    bool writing;
    int32_t await_version;
    char name[];
} topic_busy_t;

/* An entry of /admin/reassign_partitions to take out: a completed
 * partition (with the replicas it completed with) or one an API request
 * replaced (any replicas: n -1). */
typedef struct drop_item {
    struct drop_item *next;
    uint64_t gen;
    int32_t partition;
    ids_t replicas;
    char topic[];
} drop_item_t;

struct kb_ctl_reassigner {
    kb_controller_t *c;
    rec_t *buckets[REC_BUCKETS];
    size_t n_recs;
    rec_t *todo;
    rec_t **batch; /* ready for their topic write this pass */
    size_t n_batch, cap_batch;
    topic_busy_t *busy;
    drop_item_t *drops;
    uint64_t drop_gen;
    bool dropping, drop_again;
    bool read_wanted, read_process, reading;
    alter_t *alters;
    uint64_t next_op;
    uint64_t role;     /* raised at every reset: answers from an earlier role are ignored */
    struct event *retry_ev;
};

static void rec_todo(kb_ctl_reassigner_t *r, rec_t *rec);
static void alter_answer(alter_t *a, int idx, int16_t error, const char *message);

/* ---- small lists ---- */

static bool ids_set(ids_t *d, const int32_t *v, int n) {
    int32_t *copy = n > 0 ? malloc((size_t)n * sizeof(*copy)) : NULL;
    if (n > 0 && !copy) return false;
    if (n > 0) memcpy(copy, v, (size_t)n * sizeof(*copy));
    free(d->v);
    d->v = copy;
    d->n = n;
    return true;
}

static void ids_clear(ids_t *d) {
    free(d->v);
    *d = (ids_t){0};
}

static bool ids_equal(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(*a)) == 0);
}

/* "[1,2,3]" for log lines. */
static const char *ids_text(const int32_t *v, int n, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++) used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", (int)v[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* ---- records ---- */

static uint32_t rec_hash(const char *topic, int32_t partition) {
    return (kb_ctl_topic_hash(topic) ^ (uint32_t)partition) * 16777619u % REC_BUCKETS;
}

static rec_t **rec_slot(kb_ctl_reassigner_t *r, const char *topic, int32_t partition) {
    rec_t **pp = &r->buckets[rec_hash(topic, partition)];
    while (*pp && ((*pp)->partition != partition || strcmp((*pp)->topic, topic) != 0)) pp = &(*pp)->next;
    return pp;
}

static rec_t *rec_find(kb_ctl_reassigner_t *r, const char *topic, int32_t partition) {
    return r->n_recs ? *rec_slot(r, topic, partition) : NULL;
}

static rec_t *rec_get(kb_ctl_reassigner_t *r, const char *topic, int32_t partition) {
    rec_t **slot = rec_slot(r, topic, partition);
    if (*slot) return *slot;
    size_t n = strlen(topic) + 1;
    rec_t *rec = calloc(1, sizeof(*rec) + n);
    if (!rec) return NULL;
    memcpy(rec->topic, topic, n);
    rec->partition = partition;
    *slot = rec;
    r->n_recs++;
    return rec;
}

static void want_clear(rec_t *rec) {
    free(rec->want_buf);
    rec->want_buf = NULL;
    rec->want = (kb_reassign_lists_t){0};
    ids_clear(&rec->stop);
}

/* Room for lists of up to n replicas each; false when out of memory. */
static bool want_alloc(rec_t *rec, int n) {
    want_clear(rec);
    rec->want_buf = malloc((size_t)(n > 0 ? n : 1) * 3 * sizeof(int32_t));
    if (!rec->want_buf) return false;
    rec->want = (kb_reassign_lists_t){.replicas = rec->want_buf, .adding = rec->want_buf + n,
                                      .removing = rec->want_buf + 2 * n};
    return true;
}

/* Answers the API requests waiting on the record for its requests up to
 * seq (all of them: UINT32_MAX). */
static void rec_answer(rec_t *rec, uint32_t seq, int16_t error, const char *message) {
    for (waiter_t **pp = &rec->waiters; *pp;) {
        waiter_t *w = *pp;
        if (w->seq > seq) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        alter_answer(w->a, w->idx, error, message);
        free(w);
    }
}

static void todo_unlink(kb_ctl_reassigner_t *r, rec_t *rec) {
    for (rec_t **pp = &r->todo; *pp; pp = &(*pp)->todo_next)
        if (*pp == rec) {
            *pp = rec->todo_next;
            break;
        }
    rec->in_todo = false;
}

static void rec_free(kb_ctl_reassigner_t *r, rec_t *rec, int16_t error, const char *message) {
    rec_t **slot = rec_slot(r, rec->topic, rec->partition);
    if (*slot == rec) {
        *slot = rec->next;
        r->n_recs--;
    }
    if (rec->in_todo) todo_unlink(r, rec);
    rec_answer(rec, UINT32_MAX, error, message);
    want_clear(rec);
    ids_clear(&rec->target);
    free(rec);
}

static void rec_todo(kb_ctl_reassigner_t *r, rec_t *rec) {
    if (rec->in_todo) return;
    rec->in_todo = true;
    rec->todo_next = r->todo;
    r->todo = rec;
}

static void all_todo(kb_ctl_reassigner_t *r) {
    for (int i = 0; i < REC_BUCKETS; i++)
        for (rec_t *rec = r->buckets[i]; rec; rec = rec->next) rec_todo(r, rec);
}

static void retry_later(kb_ctl_reassigner_t *r) {
    struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
    if (!evtimer_pending(r->retry_ev, NULL)) evtimer_add(r->retry_ev, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    kb_ctl_reassigner_t *r = arg;
    if (!r->c->active) return;
    all_todo(r);
    kb_ctl_schedule_reconcile(r->c);
}

/* ---- topics with a write in flight ---- */

static topic_busy_t **busy_slot(kb_ctl_reassigner_t *r, const char *topic) {
    topic_busy_t **pp = &r->busy;
    while (*pp && strcmp((*pp)->name, topic) != 0) pp = &(*pp)->next;
    return pp;
}

/* A write of ours to the topic znode is in flight or not read back yet;
 * one that has been read back is forgotten. */
static bool topic_writing(kb_ctl_reassigner_t *r, const kc_topic_t *t) {
    topic_busy_t **pp = busy_slot(r, t->name), *b = *pp;
    if (!b) return false;
    if (b->writing || t->zk_version < b->await_version) return true;
    *pp = b->next;
    free(b);
    return false;
}

static topic_busy_t *busy_mark(kb_ctl_reassigner_t *r, const char *topic) {
    topic_busy_t **pp = busy_slot(r, topic);
    if (*pp) return *pp;
    size_t n = strlen(topic) + 1;
    topic_busy_t *b = calloc(1, sizeof(*b) + n);
    if (!b) return NULL;
    memcpy(b->name, topic, n);
    *pp = b;
    return b;
}

static void busy_clear(kb_ctl_reassigner_t *r) {
    while (r->busy) {
        topic_busy_t *b = r->busy;
        r->busy = b->next;
        free(b);
    }
}

/* ---- requests ---- */

/* A request for the record: to `replicas`, or back to the original
 * replicas when replicas is NULL (an API cancellation).  A request
 * replaces any earlier one not yet written. */
static bool rec_request(kb_ctl_reassigner_t *r, rec_t *rec, const int32_t *replicas, int n) {
    if (replicas && !ids_set(&rec->target, replicas, n)) return false;
    if (!replicas) ids_clear(&rec->target);
    rec->cancel = replicas == NULL;
    rec->requested = true;
    rec->req_seq++;
    rec->stuck_logged = false;
    rec->wait_gen = 0;
    rec_todo(r, rec);
    return true;
}

/* Not to be reassigned: the topic or partition does not exist here, or
 * the topic is being deleted. */
static bool partition_unknown(kb_ctl_reassigner_t *r, const char *topic, int32_t partition) {
    const kc_topic_t *t = kc_view_topic(r->c->b->view, topic);
    return !t || partition < 0 || partition >= t->n_partitions || kb_ctl_delete_queued(r->c->deletion, topic);
}

/* ---- /admin/reassign_partitions ---- */

typedef struct zk_ctx {
    kb_ctl_reassigner_t *r;
    uint64_t role;
    uint64_t gen;  /* a drop: the drop items it covers */
    bool process;  /* a read: act on the entries (not just re-arm the watch) */
} zk_ctx_t;

static zk_ctx_t *zk_ctx(kb_ctl_reassigner_t *r) {
    zk_ctx_t *x = calloc(1, sizeof(*x));
    if (x) *x = (zk_ctx_t){.r = r, .role = r->role};
    return x;
}

static bool zk_current(const zk_ctx_t *x) { return x->role == x->r->role && x->r->c->active; }

/* Entries to take out of the znode at the next drop. */
static void drop_add(kb_ctl_reassigner_t *r, const char *topic, int32_t partition, const int32_t *replicas, int n) {
    size_t len = strlen(topic) + 1;
    drop_item_t *d = calloc(1, sizeof(*d) + len);
    if (!d || (replicas && !ids_set(&d->replicas, replicas, n))) {
        free(d);
        kc_error("controller", "out of memory noting %s-%d for removal from %s", topic, (int)partition,
                 KC_PATH_REASSIGN_PARTITIONS);
        return;
    }
    if (!replicas) d->replicas.n = -1;
    memcpy(d->topic, topic, len);
    d->partition = partition;
    d->gen = ++r->drop_gen;
    d->next = r->drops;
    r->drops = d;
    r->drop_again = true;
}

static void drops_clear(kb_ctl_reassigner_t *r, uint64_t upto) {
    for (drop_item_t **pp = &r->drops; *pp;) {
        drop_item_t *d = *pp;
        if (d->gen > upto) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        ids_clear(&d->replicas);
        free(d);
    }
}

/* Kafka's maybeRemoveFromZkReassignment predicates: a partition that does
 * not exist (or whose topic is being deleted), one completed with the
 * replicas its entry names, one an API request took over. */
static bool drop_entry(const kc_reassign_entry_t *e, void *arg) {
    zk_ctx_t *x = arg;
    kb_ctl_reassigner_t *r = x->r;
    if (!zk_current(x)) return false;
    if (partition_unknown(r, e->topic, e->partition)) return true;
    for (const drop_item_t *d = r->drops; d; d = d->next)
        if (d->gen <= x->gen && d->partition == e->partition && strcmp(d->topic, e->topic) == 0 &&
            (d->replicas.n < 0 || ids_equal(d->replicas.v, d->replicas.n, e->replicas, e->n_replicas)))
            return true;
    return false;
}

static void drop_done(int rc, void *arg) {
    zk_ctx_t *x = arg;
    kb_ctl_reassigner_t *r = x->r;
    bool current = zk_current(x);
    uint64_t gen = x->gen;
    free(x);
    if (!current) return;
    r->dropping = false;
    if (rc == KC_FENCED) {
        kb_ctl_lose_role(r->c, "a newer controller epoch fenced a change of " KC_PATH_REASSIGN_PARTITIONS);
        return;
    }
    if (rc == KC_OK) {
        drops_clear(r, gen);
    } else {
        kc_warn("controller", "updating %s failed: %s; trying again in %d ms", KC_PATH_REASSIGN_PARTITIONS,
                kc_strerror(rc), RETRY_MS);
        r->drop_again = true;
        retry_later(r);
    }
    if (r->drop_again) kb_ctl_schedule_reconcile(r->c);
}

static void drop_start(kb_ctl_reassigner_t *r) {
    zk_ctx_t *x = r->drop_again && !r->dropping ? zk_ctx(r) : NULL;
    if (!x) return;
    x->gen = r->drop_gen;
    r->drop_again = false;
    r->dropping = true;
    kc_reassign_drop(r->c->b->zk, r->c->epoch_zk_version, drop_entry, drop_done, x);
}

/* The entries of one read naming partitions that do not exist: one line
 * for them all (a hostile or stale znode may hold thousands), naming the
 * first few. */
#define UNKNOWN_NAMED 3

typedef struct unknown_sum {
    int n;
    char names[UNKNOWN_NAMED * 220];
} unknown_sum_t;

static void unknown_add(unknown_sum_t *u, const kc_reassign_entry_t *e) {
    size_t len = strlen(u->names);
    if (u->n++ < UNKNOWN_NAMED)
        snprintf(u->names + len, sizeof(u->names) - len, "%s%.200s-%d", len ? ", " : "", e->topic,
                 (int)e->partition);
}

static void unknown_report(const unknown_sum_t *u) {
    if (u->n > 0)
        kc_warn("controller", "%s asks to reassign %d partition(s) that do not exist (or are being deleted): %s%s; "
                "removing them from the request", KC_PATH_REASSIGN_PARTITIONS, u->n, u->names,
                u->n > UNKNOWN_NAMED ? ", ..." : "");
}

/* One entry of the znode: a request for its partition, or refused (added
 * to unknown). */
static void znode_entry(kb_ctl_reassigner_t *r, const kc_reassign_entry_t *e, unknown_sum_t *unknown) {
    char to[256];
    if (partition_unknown(r, e->topic, e->partition)) {
        unknown_add(unknown, e);
        r->drop_again = true;
        return;
    }
    rec_t *rec = rec_get(r, e->topic, e->partition);
    if (!rec || !rec_request(r, rec, e->replicas, e->n_replicas)) {
        kc_error("controller", "out of memory taking the reassignment of %s-%d", e->topic, (int)e->partition);
        return;
    }
    kc_info("controller", "reassignment of %s-%d to %s requested through %s", e->topic, (int)e->partition,
            ids_text(e->replicas, e->n_replicas, to, sizeof(to)), KC_PATH_REASSIGN_PARTITIONS);
}

static void znode_read(int rc, const kc_reassign_entry_t *e, int n, int32_t version, const char *why, void *arg) {
    zk_ctx_t *x = arg;
    kb_ctl_reassigner_t *r = x->r;
    bool current = zk_current(x), process = x->process;
    free(x);
    if (!current) return;
    r->reading = false;
    if (rc == KC_INVALID && process) {
        kc_warn("controller", "%s cannot be read (%s): deleting it; nothing in it is reassigned",
                KC_PATH_REASSIGN_PARTITIONS, why ? why : "invalid");
        r->drop_again = true;
    } else if (rc == KC_OK && process) {
        unknown_sum_t unknown = {0};
        for (int i = 0; i < n; i++) znode_entry(r, &e[i], &unknown);
        unknown_report(&unknown);
    } else if (rc != KC_OK && rc != KC_NONODE && rc != KC_INVALID) {
        kc_warn("controller", "reading %s failed: %s; trying again in %d ms", KC_PATH_REASSIGN_PARTITIONS,
                kc_strerror(rc), RETRY_MS);
        r->read_wanted = true;
        r->read_process = r->read_process || process;
        retry_later(r);
    }
    kb_ctl_schedule_reconcile(r->c);
}

/* Kafka 2.6 acts on the znode's creation only (and on taking the role):
 * a change of an existing one, such as the controller's own removals, is
 * not a new request.  Every event re-arms the watch. */
static void znode_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kb_ctl_reassigner_t *r = ctx;
    if (type == ZOO_SESSION_EVENT || !r->c->active) return;
    r->read_wanted = true;
    r->read_process = r->read_process || type == ZOO_CREATED_EVENT;
    kb_ctl_schedule_reconcile(r->c);
}

static void read_start(kb_ctl_reassigner_t *r) {
    zk_ctx_t *x = r->read_wanted && !r->reading ? zk_ctx(r) : NULL;
    if (!x) return;
    x->process = r->read_process;
    r->read_wanted = r->read_process = false;
    r->reading = true;
    kc_reassign_read(r->c->b->zk, znode_watch, r, znode_read, x);
}

/* ---- the replicas that left ---- */

/* StopReplica without, then with the log's deletion (Kafka's
 * OfflineReplica then NonExistentReplica); the queue merges the two and
 * retries the delete until the broker answers 0.  A broker that is down
 * gets nothing, as in Kafka: its log stays until an operator removes it. */
static void stop_left(kb_ctl_reassigner_t *r, const rec_t *rec) {
    uint32_t tid = rec->stop.n > 0 ? kb_ctl_fanout_topic(r->c->fanout, rec->topic) : UINT32_MAX;
    for (int i = 0; tid != UINT32_MAX && i < rec->stop.n; i++) {
        int32_t id = rec->stop.v[i];
        int64_t epoch;
        kb_ctl_key_t key = kb_ctl_key(tid, rec->partition);
        if (kb_ctl_fanout_stop_replica(r->c->fanout, id, key, false, &epoch) &&
            kb_ctl_fanout_stop_replica(r->c->fanout, id, key, true, &epoch))
            kc_info("controller", "%s-%d: broker %d is no longer a replica: its replica is stopped and deleted",
                    rec->topic, (int)rec->partition, (int)id);
        else
            kc_warn("controller", "%s-%d: broker %d is no longer a replica but cannot be told (not live): its log "
                    "stays there", rec->topic, (int)rec->partition, (int)id);
    }
}

/* The view read back our topic znode write.  Returns false when the
 * record is gone (the reassignment completed and nothing else is asked). */
static bool landed(kb_ctl_reassigner_t *r, rec_t *rec, const kc_partition_t *part) {
    char ids[256];
    stop_left(r, rec);
    bool complete = !kc_partition_reassigning(part);
    if (complete) {
        kc_info("controller", "reassignment of %s-%d complete: replicas %s", rec->topic, (int)rec->partition,
                ids_text(part->replicas, part->n_replicas, ids, sizeof(ids)));
        drop_add(r, rec->topic, rec->partition, part->replicas, part->n_replicas);
    }
    rec->stage = R_IDLE;
    rec->bumped = true; /* the write raised the leader epoch */
    want_clear(rec);
    if (complete && !rec->requested) {
        rec_free(r, rec, 0, NULL);
        return false;
    }
    return true;
}

/* ---- one partition's next step ---- */

static void batch_add(kb_ctl_reassigner_t *r, rec_t *rec) {
    if (r->n_batch == r->cap_batch) {
        size_t cap = r->cap_batch ? r->cap_batch * 2 : 16;
        rec_t **b = realloc(r->batch, cap * sizeof(*b));
        if (!b) {
            want_clear(rec);
            retry_later(r);
            return;
        }
        r->batch = b;
        r->cap_batch = cap;
    }
    r->batch[r->n_batch++] = rec;
}

/* The record's `want` is decided: the state first if it must change
 * (kb_reassign_prepare), else the topic znode write, batched with the
 * topic's other partitions ready in this pass. */
static void go(kb_ctl_reassigner_t *r, rec_t *rec, const kc_partition_t *part, const part_ref_t *ref) {
    kb_controller_t *c = r->c;
    int32_t isr[part->has_state && part->state.n_isr > 0 ? part->state.n_isr : 1], left[part->n_replicas + 1];
    kc_partition_state_t next = {.isr = isr};
    char ids[256];
    int n_left = kb_reassign_minus(part->replicas, part->n_replicas, rec->want.replicas, rec->want.n_replicas, left);
    /* A broker in controlled shutdown may not take the leadership. */
    switch (kb_reassign_prepare(part, rec->want.replicas, rec->want.n_replicas, c->epoch, kb_ctl_eligible, c,
                                &next)) {
    case KB_REASSIGN_READY:
        if (ids_set(&rec->stop, left, n_left)) batch_add(r, rec);
        else retry_later(r);
        return;
    case KB_REASSIGN_WRITE:
        if (kb_ctl_state_write(c, ref, &next))
            kc_info("controller", "%s-%d: leader %d, ISR %s (leader epoch %d) before its replicas become %s",
                    rec->topic, (int)rec->partition, (int)next.leader, ids_text(next.isr, next.n_isr, ids, 128),
                    (int)next.leader_epoch, ids_text(rec->want.replicas, rec->want.n_replicas, ids + 128, 128));
        break;
    case KB_REASSIGN_STUCK:
        if (!rec->stuck_logged)
            kc_warn("controller", "%s-%d: none of %s is live and in the ISR %s to lead: its reassignment waits",
                    rec->topic, (int)rec->partition, ids_text(rec->want.replicas, rec->want.n_replicas, ids, 128),
                    ids_text(part->state.isr, part->state.n_isr, ids + 128, 128));
        rec->stuck_logged = true;
        break;
    }
    want_clear(rec); /* decided again once the state is read back */
}

/* A request: Kafka's reassignTo from the original replicas, or straight
 * to the target when the target is all in the ISR already (a new order,
 * fewer replicas) or adds and removes nothing. */
static void plan_request(kb_ctl_reassigner_t *r, rec_t *rec, const kc_partition_t *part, const part_ref_t *ref) {
    int32_t origin[part->n_replicas];
    int n_origin = kb_reassign_origin(part, origin);
    const int32_t *target = rec->cancel ? origin : rec->target.v;
    int n_target = rec->cancel ? n_origin : rec->target.n;
    if (!want_alloc(rec, n_target + n_origin)) {
        retry_later(r);
        return;
    }
    kb_reassign_to(target, n_target, origin, n_origin, &rec->want);
    bool in_isr = part->has_state && kb_reassign_subset(target, n_target, part->state.isr, part->state.n_isr);
    if (in_isr || (rec->want.n_adding == 0 && rec->want.n_removing == 0)) {
        memcpy(rec->want.replicas, target, (size_t)n_target * sizeof(*target));
        rec->want.n_replicas = n_target;
        rec->want.n_adding = rec->want.n_removing = 0;
    }
    go(r, rec, part, ref);
}

/* Every target replica is in the ISR: the target alone from now on. */
static void plan_finish(kb_ctl_reassigner_t *r, rec_t *rec, const kc_partition_t *part, const part_ref_t *ref) {
    if (!want_alloc(rec, part->n_replicas)) {
        retry_later(r);
        return;
    }
    rec->want.n_replicas = kb_reassign_target(part, rec->want.replicas);
    if (!rec->finish_logged)
        kc_info("controller", "%s-%d: every target replica is in the ISR: finishing its reassignment", rec->topic,
                (int)rec->partition);
    rec->finish_logged = true;
    go(r, rec, part, ref);
}

/* Kafka's A1 on resuming: a new leader epoch, so that the leader surely
 * follows the replica list the topic znode holds. */
static void bump(kb_ctl_reassigner_t *r, rec_t *rec, const kc_partition_t *part, const part_ref_t *ref) {
    kc_partition_state_t next;
    kb_reassign_bump(&part->state, r->c->epoch, &next);
    if (!kb_ctl_state_write(r->c, ref, &next)) return;
    rec->bumped = true;
    kc_info("controller", "%s-%d: resuming its reassignment (leader epoch %d)", rec->topic, (int)rec->partition,
            (int)next.leader_epoch);
}

/* The partition is gone or its topic is queued for deletion: its
 * reassignment is abandoned.  A write of it that landed has taken replicas
 * out of the assignment the deletion may have read (it stops the replicas
 * listed when it was queued): those are stopped and deleted here.  Its
 * /admin/reassign_partitions entry goes at the next drop (drop_entry). */
static void abandon(kb_ctl_reassigner_t *r, rec_t *rec) {
    if (rec->requested || rec->stage == R_LANDING)
        kc_info("controller", "reassignment of %s-%d abandoned: %s", rec->topic, (int)rec->partition,
                kb_ctl_delete_queued(r->c->deletion, rec->topic) ? "its topic is being deleted"
                                                                  : "the partition no longer exists");
    if (rec->stage == R_LANDING) stop_left(r, rec);
    r->drop_again = true;
    rec_free(r, rec, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.");
}

static void step(kb_ctl_reassigner_t *r, rec_t *rec) {
    const kc_topic_t *t = kc_view_topic(r->c->b->view, rec->topic);
    if (rec->stage == R_WRITING) return;
    if (!t || rec->partition >= t->n_partitions || kb_ctl_delete_queued(r->c->deletion, rec->topic)) {
        abandon(r, rec);
        return;
    }
    const kc_partition_t *part = &t->partitions[rec->partition];
    if (rec->stage == R_LANDING && (t->zk_version < rec->await_version || !landed(r, rec, part))) return;
    part_ref_t ref = kb_ctl_part_ref(rec->topic, rec->partition);
    if (kb_ctl_state_busy(r->c, &ref) || topic_writing(r, t)) return;
    if (rec->wait_gen && t->changed <= rec->wait_gen) return;
    rec->wait_gen = 0;
    if (rec->requested) plan_request(r, rec, part, &ref);
    else if (!kc_partition_reassigning(part)) rec_free(r, rec, 0, NULL);
    else if (!part->has_state) return; /* no leader yet to follow */
    else if (kb_reassign_caught_up(part)) plan_finish(r, rec, part, &ref);
    else if (!rec->bumped) bump(r, rec, part, &ref);
}

/* ---- the topic znode writes ---- */

typedef struct multi_part {
    int32_t partition;
    uint64_t op;
    kb_ctl_write_t *token; /* its state's bookkeeping; NULL without a state */
} multi_part_t;

typedef struct multi_ctx {
    kb_ctl_reassigner_t *r;
    uint64_t role;
    int32_t topic_version; /* what the write was conditional on */
    int n;
    multi_part_t *parts;
    char topic[];
} multi_ctx_t;

/* The multi's outcome for one record still waiting on it. */
static void multi_settle(kb_ctl_reassigner_t *r, rec_t *rec, int rc, int32_t topic_version) {
    if (rc == KC_OK) {
        rec->stage = R_LANDING;
        rec->await_version = topic_version + 1;
        if (rec->written_seq == rec->req_seq) rec->requested = false;
        rec->stuck_logged = false;
        rec_answer(rec, rec->written_seq, 0, NULL);
    } else {
        rec->stage = R_IDLE;
        want_clear(rec);
        /* Lost to a concurrent write: decided again once the view shows it. */
        if (rc == KC_BADVERSION) rec->wait_gen = kc_view_generation(r->c->b->view);
        else retry_later(r);
    }
    rec_todo(r, rec);
}

static void multi_done(int rc, void *arg) {
    multi_ctx_t *x = arg;
    kb_ctl_reassigner_t *r = x->r;
    for (int i = 0; i < x->n; i++)
        if (x->parts[i].token) kb_ctl_write_done(rc, x->parts[i].token); /* a fenced one ends the role */
    if (x->role == r->role && r->c->active && rc == KC_FENCED)
        kb_ctl_lose_role(r->c, "a newer controller epoch fenced a reassignment's topic znode write");
    if (x->role == r->role && r->c->active) {
        topic_busy_t *b = *busy_slot(r, x->topic);
        if (b) {
            b->writing = false;
            b->await_version = rc == KC_OK ? x->topic_version + 1 : 0;
        }
        if (rc != KC_OK)
            kc_warn("controller", "reassignment: writing the topic znode of %s failed: %s; %s", x->topic,
                    kc_strerror(rc), rc == KC_BADVERSION ? "deciding again on what changed" : "retrying");
        for (int i = 0; i < x->n; i++) {
            rec_t *rec = rec_find(r, x->topic, x->parts[i].partition);
            if (rec && rec->stage == R_WRITING && rec->op == x->parts[i].op) multi_settle(r, rec, rc, x->topic_version);
        }
        kb_ctl_schedule_reconcile(r->c);
    }
    free(x->parts);
    free(x);
}

static multi_ctx_t *multi_ctx_new(kb_ctl_reassigner_t *r, const kc_topic_t *t, size_t n) {
    size_t len = strlen(t->name) + 1;
    multi_ctx_t *x = calloc(1, sizeof(*x) + len);
    if (x && !(x->parts = calloc(n, sizeof(*x->parts)))) {
        free(x);
        return NULL;
    }
    if (!x) return NULL;
    x->r = r;
    x->role = r->role;
    x->topic_version = t->zk_version;
    memcpy(x->topic, t->name, len);
    return x;
}

static void log_write(const rec_t *rec) {
    char a[128], b[128], c[128];
    const kb_reassign_lists_t *w = &rec->want;
    kc_info("controller", "%s-%d: replicas %s, adding %s, removing %s", rec->topic, (int)rec->partition,
            ids_text(w->replicas, w->n_replicas, a, sizeof(a)), ids_text(w->adding, w->n_adding, b, sizeof(b)),
            ids_text(w->removing, w->n_removing, c, sizeof(c)));
}

/* What one topic znode write carries, built record by record. */
typedef struct write_build {
    kc_partition_t *parts;         /* the topic's partitions, the records' with their new lists */
    kc_reassign_state_t *states;
    kc_partition_state_t *next;    /* the states written (leader epoch + 1) */
    int n_states;
    multi_ctx_t *x;
} write_build_t;

static void build_free(write_build_t *w) {
    free(w->parts);
    free(w->states);
    free(w->next);
    if (w->x) free(w->x->parts);
    free(w->x);
}

/* Adds one record to the write: its lists, and its state with the leader
 * epoch raised (skipped, to be decided again, when the state is busy). */
static void build_add(kb_ctl_reassigner_t *r, write_build_t *w, const kc_topic_t *t, rec_t *rec) {
    const kc_partition_t *cur = &t->partitions[rec->partition];
    multi_part_t *mp = &w->x->parts[w->x->n];
    if (cur->has_state) {
        part_ref_t ref = kb_ctl_part_ref(rec->topic, rec->partition);
        kc_partition_state_t *next = &w->next[w->n_states];
        kb_reassign_bump(&cur->state, r->c->epoch, next);
        if (!(mp->token = kb_ctl_write_begin(r->c, &ref, next->zk_version + 1))) {
            want_clear(rec); /* busy after all: decided again when its state is read back */
            return;
        }
        w->states[w->n_states++] = (kc_reassign_state_t){.partition = rec->partition, .state = next};
    }
    kc_partition_t *p = &w->parts[rec->partition];
    p->replicas = rec->want.replicas;
    p->n_replicas = rec->want.n_replicas;
    p->adding = rec->want.adding;
    p->n_adding = rec->want.n_adding;
    p->removing = rec->want.removing;
    p->n_removing = rec->want.n_removing;
    rec->stage = R_WRITING;
    rec->op = mp->op = ++r->next_op;
    rec->written_seq = rec->req_seq;
    mp->partition = rec->partition;
    w->x->n++;
    log_write(rec);
}

/* One multi for the n records of topic t: the topic znode with their
 * lists, and each one's state with its leader epoch + 1. */
static void write_topic(kb_ctl_reassigner_t *r, const kc_topic_t *t, rec_t **recs, size_t n) {
    write_build_t w = {.parts = malloc((size_t)t->n_partitions * sizeof(*w.parts)),
                       .states = malloc(n * sizeof(*w.states)), .next = malloc(n * sizeof(*w.next)),
                       .x = multi_ctx_new(r, t, n)};
    topic_busy_t *busy = busy_mark(r, t->name);
    if (!w.parts || !w.states || !w.next || !w.x || !busy) {
        kc_error("controller", "out of memory writing the reassignment of topic %s; retrying", t->name);
        for (size_t i = 0; i < n; i++) want_clear(recs[i]);
        build_free(&w);
        retry_later(r);
        return;
    }
    memcpy(w.parts, t->partitions, (size_t)t->n_partitions * sizeof(*w.parts));
    for (size_t i = 0; i < n; i++) build_add(r, &w, t, recs[i]);
    if (w.x->n > 0) {
        kc_topic_t topic = *t;
        topic.partitions = w.parts;
        busy->writing = true;
        kc_reassign_write_topic(r->c->b->zk, &topic, t->zk_version, w.states, w.n_states, r->c->epoch_zk_version,
                                multi_done, w.x);
        w.x = NULL; /* the write's now */
    }
    build_free(&w);
}

static int rec_topic_cmp(const void *a, const void *b) {
    return strcmp((*(rec_t *const *)a)->topic, (*(rec_t *const *)b)->topic);
}

/* The pass's ready records, one write per topic. */
static void flush_batch(kb_ctl_reassigner_t *r) {
    if (r->n_batch == 0) return;
    qsort(r->batch, r->n_batch, sizeof(*r->batch), rec_topic_cmp);
    for (size_t i = 0, end; i < r->n_batch; i = end) {
        for (end = i + 1; end < r->n_batch && strcmp(r->batch[end]->topic, r->batch[i]->topic) == 0; end++) continue;
        const kc_topic_t *t = kc_view_topic(r->c->b->view, r->batch[i]->topic);
        if (t && r->c->active) write_topic(r, t, r->batch + i, end - i);
    }
    r->n_batch = 0;
}

/* ---- the API ---- */

#define NOT_CONTROLLER_MESSAGE "This is not the correct controller for this cluster."

static void alter_finish(alter_t *a) {
    kb_ctl_reassigner_t *r = a->r;
    for (alter_t **pp = &r->alters; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    if (a->timer) event_free(a->timer);
    a->done(a->arg);
    free(a);
}

static void alter_answer(alter_t *a, int idx, int16_t error, const char *message) {
    a->answers[idx].error = error;
    snprintf(a->answers[idx].message, sizeof(a->answers[idx].message), "%s", message ? message : "");
    if (--a->pending == 0) alter_finish(a);
}

/* timeout_ms passed: what has not been written yet is answered
 * REQUEST_TIMED_OUT (its request stays and is carried out when it can). */
static void alter_timeout(evutil_socket_t fd, short what, void *arg) {
    alter_t *a = arg;
    kb_ctl_reassigner_t *r = a->r;
    for (int i = 0; i < REC_BUCKETS; i++)
        for (rec_t *rec = r->buckets[i]; rec; rec = rec->next)
            for (waiter_t **pp = &rec->waiters; *pp;) {
                waiter_t *w = *pp;
                if (w->a != a) {
                    pp = &w->next;
                    continue;
                }
                *pp = w->next;
                a->answers[w->idx].error = KP_ERR_REQUEST_TIMED_OUT;
                snprintf(a->answers[w->idx].message, sizeof(a->answers[w->idx].message),
                         "The reassignment could not be written within the request's timeout; it starts when it can.");
                a->pending--;
                free(w);
            }
    alter_finish(a);
}

typedef struct item_key {
    const char *topic;
    int32_t partition;
    int idx;
} item_key_t;

static int item_key_cmp(const void *a, const void *b) {
    const item_key_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Entries naming a partition the request names again are refused, all of
 * them (which one to take would be a guess).  O(n log n). */
static void refuse_repeated(const kc_reassign_entry_t *items, int n, kc_reassign_answer_t *answers) {
    item_key_t *keys = n > 1 ? malloc((size_t)n * sizeof(*keys)) : NULL;
    if (!keys) return;
    for (int i = 0; i < n; i++) keys[i] = (item_key_t){items[i].topic, items[i].partition, i};
    qsort(keys, (size_t)n, sizeof(*keys), item_key_cmp);
    for (int i = 0, end; i < n; i = end) {
        for (end = i + 1; end < n && item_key_cmp(&keys[i], &keys[end]) == 0; end++) continue;
        for (int j = i; end - i > 1 && j < end; j++) {
            answers[keys[j].idx].error = KP_ERR_INVALID_REQUEST;
            snprintf(answers[keys[j].idx].message, sizeof(answers[0].message),
                     "The request names partition %.100s-%d more than once.", keys[j].topic, (int)keys[j].partition);
        }
    }
    free(keys);
}

static int16_t refuse(kc_reassign_answer_t *ans, int16_t error, const char *fmt, const int32_t *ids, int n) {
    char list[160];
    ans->error = error;
    snprintf(ans->message, sizeof(ans->message), fmt, ids ? ids_text(ids, n, list, sizeof(list)) : "");
    return error;
}

/* Kafka's validateReplicas, then whether the partition can be reassigned
 * (or has something to cancel). */
static int16_t check_item(kb_ctl_reassigner_t *r, const kc_reassign_entry_t *e, kc_reassign_answer_t *ans) {
    const kc_view_t *v = r->c->b->view;
    bool cancel = e->n_replicas < 0;
    if (!cancel && e->n_replicas == 0)
        return refuse(ans, KP_ERR_INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment.%s",
                      NULL, 0);
    for (int i = 0; !cancel && i < e->n_replicas; i++) {
        if (kc_int32_contains(e->replicas, i, e->replicas[i]))
            return refuse(ans, KP_ERR_INVALID_REPLICA_ASSIGNMENT,
                          "Duplicate replica ids in partition reassignment replica list: %s", e->replicas, e->n_replicas);
        if (e->replicas[i] < 0)
            return refuse(ans, KP_ERR_INVALID_REPLICA_ASSIGNMENT, "Invalid broker id in replica list: %s", e->replicas,
                          e->n_replicas);
    }
    if (partition_unknown(r, e->topic, e->partition))
        return refuse(ans, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.%s", NULL, 0);
    const kc_partition_t *part = &kc_view_topic(v, e->topic)->partitions[e->partition];
    const rec_t *rec = rec_find(r, e->topic, e->partition);
    if (cancel && !kc_partition_reassigning(part) && !(rec && rec->requested))
        return refuse(ans, KP_ERR_NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress.%s", NULL, 0);
    int32_t origin[part->n_replicas], adding[e->n_replicas > 0 ? e->n_replicas : 1];
    int n_origin = kb_reassign_origin(part, origin);
    int n_adding = cancel ? 0 : kb_reassign_minus(e->replicas, e->n_replicas, origin, n_origin, adding);
    for (int i = 0; i < n_adding; i++)
        if (!kc_view_broker_live(v, adding[i]))
            return refuse(ans, KP_ERR_INVALID_REPLICA_ASSIGNMENT,
                          "Replica assignment has brokers that are not alive. Brokers to add: %s", adding, n_adding);
    return 0;
}

/* Starts entry i: a request on its record, a waiter for the answer, and
 * its /admin/reassign_partitions entry, if any, taken over. */
static void start_item(kb_ctl_reassigner_t *r, alter_t *a, const kc_reassign_entry_t *e, int i) {
    char to[256];
    rec_t *rec = rec_get(r, e->topic, e->partition);
    waiter_t *w = rec ? calloc(1, sizeof(*w)) : NULL;
    bool cancel = e->n_replicas < 0;
    if (!w || !rec_request(r, rec, cancel ? NULL : e->replicas, e->n_replicas)) {
        free(w);
        refuse(&a->answers[i], KP_ERR_UNKNOWN_SERVER_ERROR, "Out of memory.%s", NULL, 0);
        return;
    }
    *w = (waiter_t){.next = rec->waiters, .a = a, .idx = i, .seq = rec->req_seq};
    rec->waiters = w;
    a->pending++;
    drop_add(r, e->topic, e->partition, NULL, 0);
    if (!cancel)
        kc_info("controller", "reassignment of %s-%d to %s requested (AlterPartitionReassignments)", e->topic,
                (int)e->partition, ids_text(e->replicas, e->n_replicas, to, sizeof(to)));
    else
        kc_info("controller", "reassignment of %s-%d cancelled (AlterPartitionReassignments)", e->topic,
                (int)e->partition);
}

int16_t kb_controller_alter_reassignments(kb_controller_t *c, const kc_reassign_entry_t *items, int n,
                                          int32_t timeout_ms, kc_reassign_answer_t *answers,
                                          kb_reassign_done_fn done, void *arg, bool *pending) {
    kb_ctl_reassigner_t *r = c->reassign;
    *pending = false;
    if (!c->active) return KP_ERR_NOT_CONTROLLER;
    memset(answers, 0, (size_t)(n > 0 ? n : 0) * sizeof(*answers));
    alter_t *a = calloc(1, sizeof(*a));
    if (!a) return KP_ERR_UNKNOWN_SERVER_ERROR;
    *a = (alter_t){.r = r, .answers = answers, .done = done, .arg = arg};
    refuse_repeated(items, n, answers);
    for (int i = 0; i < n; i++)
        if (!answers[i].error && !check_item(r, &items[i], &answers[i])) start_item(r, a, &items[i], i);
    if (a->pending == 0) {
        free(a);
        return 0;
    }
    if (timeout_ms < 0) timeout_ms = 0;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    a->timer = evtimer_new(c->b->base, alter_timeout, a);
    if (a->timer) evtimer_add(a->timer, &tv);
    a->next = r->alters;
    r->alters = a;
    *pending = true;
    kb_ctl_schedule_reconcile(c);
    return 0;
}

/* A partition as this controller knows it: what it has just written when
 * the view has not read it back yet, else the view's. */
static void list_one(kb_ctl_reassigner_t *r, const kc_topic_t *t, int32_t p, kb_reassign_emit_fn emit, void *arg) {
    const rec_t *rec = rec_find(r, t->name, p);
    if (rec && rec->stage == R_LANDING && t->zk_version < rec->await_version) {
        const kb_reassign_lists_t *w = &rec->want;
        kc_partition_t lists = {.n_replicas = w->n_replicas, .replicas = w->replicas, .n_adding = w->n_adding,
                                .adding = w->adding, .n_removing = w->n_removing, .removing = w->removing};
        if (kc_partition_reassigning(&lists)) emit(arg, t->name, p, &lists);
        return;
    }
    if (kc_partition_reassigning(&t->partitions[p])) emit(arg, t->name, p, &t->partitions[p]);
}

int16_t kb_controller_list_reassignments(kb_controller_t *c, const kc_reassign_entry_t *only, int n_only,
                                         kb_reassign_emit_fn emit, void *arg) {
    const kc_view_t *v = c->b->view;
    if (!c->active) return KP_ERR_NOT_CONTROLLER;
    for (int i = 0; n_only < 0 && i < kc_view_topic_count(v); i++) {
        const kc_topic_t *t = kc_view_topic_at(v, i);
        for (int32_t p = 0; p < t->n_partitions; p++) list_one(c->reassign, t, p, emit, arg);
    }
    for (int i = 0; i < n_only; i++) {
        const kc_topic_t *t = kc_view_topic(v, only[i].topic);
        if (t && only[i].partition >= 0 && only[i].partition < t->n_partitions)
            list_one(c->reassign, t, only[i].partition, emit, arg);
    }
    return 0;
}

/* ---- the controller's hooks ---- */

kb_ctl_reassigner_t *kb_ctl_reassign_new(kb_controller_t *c) {
    kb_ctl_reassigner_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->c = c;
    r->retry_ev = evtimer_new(c->b->base, retry_cb, r);
    if (!r->retry_ev) {
        free(r);
        return NULL;
    }
    return r;
}

void kb_ctl_reassign_reset(kb_ctl_reassigner_t *r, bool active) {
    if (!r) return;
    r->role++;
    for (int i = 0; i < REC_BUCKETS; i++)
        while (r->buckets[i]) rec_free(r, r->buckets[i], KP_ERR_NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE);
    while (r->alters) alter_finish(r->alters); /* none should be left: each waits on a record */
    r->todo = NULL;
    r->n_batch = 0;
    busy_clear(r);
    drops_clear(r, UINT64_MAX);
    r->dropping = r->drop_again = r->reading = false;
    r->read_wanted = r->read_process = active;
    evtimer_del(r->retry_ev);
}

void kb_ctl_reassign_free(kb_ctl_reassigner_t *r) {
    if (!r) return;
    kb_ctl_reassign_reset(r, false);
    free(r->batch);
    event_free(r->retry_ev);
    free(r);
}

void kb_ctl_reassign_visit(kb_ctl_reassigner_t *r, const kc_topic_t *t, int32_t partition) {
    rec_t *rec = rec_find(r, t->name, partition);
    if (!rec && !kc_partition_reassigning(&t->partitions[partition])) return;
    if (!rec && !(rec = rec_get(r, t->name, partition))) {
        kc_error("controller", "out of memory following the reassignment of %s-%d", t->name, (int)partition);
        return;
    }
    rec_todo(r, rec);
}

void kb_ctl_reassign_reconcile(kb_ctl_reassigner_t *r) {
    if (!r->c->active) return;
    read_start(r);
    while (r->todo && r->c->active) {
        rec_t *rec = r->todo;
        r->todo = rec->todo_next;
        rec->in_todo = false;
        step(r, rec);
    }
    if (r->c->active) flush_batch(r);
    if (r->c->active) drop_start(r);
}

void kb_ctl_reassign_topic_queued(kb_ctl_reassigner_t *r, const kc_topic_t *t) {
    for (int32_t p = 0; r->n_recs > 0 && p < t->n_partitions; p++) {
        rec_t *rec = rec_find(r, t->name, p);
        if (rec) rec_todo(r, rec);
    }
}

void kb_ctl_reassign_topic_gone(kb_ctl_reassigner_t *r, const char *topic) {
    topic_busy_t **pp = busy_slot(r, topic), *b = *pp;
    if (!b) return;
    *pp = b->next;
    free(b);
}

bool kb_ctl_reassign_topic_busy(const kb_ctl_reassigner_t *r, const char *topic) {
    const kc_topic_t *t = kc_view_topic(r->c->b->view, topic);
    for (const topic_busy_t *b = r->busy; b && t; b = b->next)
        if (strcmp(b->name, topic) == 0) return b->writing || t->zk_version < b->await_version;
    return false;
}
