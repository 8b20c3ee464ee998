/*
 * kb_ctl_delete.c - topic deletion, the controller's side
 * (zk-and-replication.md 1.9, 2.3-2.8 "Topic deletion"; Kafka 2.6's
 * TopicDeletionManager).
 *
 * A tool or the DeleteTopics API marks a topic by creating
 * /admin/delete_topics/T; the view lists the markers (kc_view.h), and each
 * reconciliation pass of the controller begins by reading them (so that no
 * partition of a marked topic is elected in the pass) and ends with the
 * progress of every deletion.  A marker of a topic
 * that does not exist is removed (after ZooKeeper confirms the topic znode
 * is absent: the view may list a new topic's marker before its assignment),
 * and so is every marker while delete.topic.enable is false; both are
 * logged.  A marked topic whose znode exists but is no readable assignment
 * (no view lists it, so no broker hosts it) has its znodes and marker
 * deleted at once.  A step of these that fails is tried again after
 * RETRY_MS, never at once.  Any other marked topic is queued, and from
 * then on:
 *
 *   1. it is "being deleted": the controller elects nothing for it and
 *      sends no LeaderAndIsr for it, and every UpdateMetadata carries its
 *      partitions with leader -2, so the brokers drop it from their caches
 *      and clients get UNKNOWN_TOPIC_OR_PARTITION (kb_ctl_requests.h).
 *      One UpdateMetadata for all its partitions goes to every broker at
 *      once;
 *   2. every replica on a live broker gets StopReplica (without, then with
 *      the log's deletion, leader epoch -2; the queue merges the two into
 *      one delete, as Kafka's request batch does), retried by the queue
 *      until the broker answers 0 for it (kb_ctl_queue.h);
 *   3. once every replica has answered 0, /brokers/topics/T (recursively),
 *      /config/topics/T and the marker are deleted, each fenced by the
 *      controller epoch (kc_admin.h).  Only then can a topic of that name
 *      be created again (kc_topic_create refuses while the marker exists).
 *
 * A replica on a broker that is down makes the deletion wait (Kafka's
 * "ineligible"): the others are deleted, and its own StopReplica goes out
 * when its broker registers again (a new incarnation gets it even if the
 * old one was sent it, its answer having been lost with the old queue).
 * A topic whose reassignment has a topic znode write in flight waits for
 * that write (reassigning()) before its stops go out; they go at the first
 * pass after the wait ends (stops_due keeps them asked for).  A marked
 * topic's reassignments are abandoned by kb_ctl_reassign.c in the pass
 * that queues it (Kafka instead makes the deletion wait for them to
 * complete); a replica a landed write of theirs had taken out is stopped
 * and deleted there.  Once the znodes are gone the controller forgets the
 * topic (kb_ctl_forget_topic), so that a topic created again under the
 * name finds no write of ours to wait for.
 *
 * Nothing here is persistent but the markers: a new controller (failover
 * mid-deletion) queues the marked topics again and sends the stops again;
 * a broker that has already deleted a log answers 0 for it, and the znode
 * deletion tolerates what a predecessor already removed.
 *
 * Cost: a pass costs O(markers) lookups; the replicas of a topic are walked
 * when it is queued, when the broker set changed, and at the start of the
 * role, not on every pass.  An answer costs a lookup by partition.
 * Deletions are few at a time, so the topics are a plain list.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "common/kc_log.h"
#include "coord/kc_admin.h"

#define RETRY_MS 1000

/* One replica of a topic being deleted. */
typedef struct del_replica {
    int32_t broker;
    int64_t sent_epoch; /* the broker epoch its stops were queued for; -1: none */
    bool done;          /* its broker answered 0 to the delete */
} del_replica_t;

typedef struct del_topic {
    struct del_topic *next;
    uint32_t tid;            /* the fan-out's id of its name */
    int32_t n_partitions;
    int32_t *first;          /* partition p's replicas: replicas[first[p] .. first[p + 1]) */
    del_replica_t *replicas;
    size_t n_replicas, n_done;
    bool announced;          /* the UpdateMetadata with leader -2 is queued */
    /* Its stops are to be queued (again) at the next chance: set when it is
     * queued and by every walk (a broker came back, a stop could not be
     * queued), cleared only once stop_replicas ran.  A walk asked for
     * while the deletion waits for a reassignment's write is thus kept for
     * when the wait ends; a pass-local flag was lost there, and the topic
     * never got a StopReplica. */
    bool stops_due;
    /* The znodes are deleted: kept until the view no longer lists the
     * marker, which it reads a moment later, so that the marker still
     * seen meanwhile does not queue the topic again. */
    bool finished;
    bool waiting_logged;     /* "waits for broker N" was logged for the current wait */
    bool znodes;             /* the znode deletion is in flight */
    char name[];
} del_topic_t;

/* A marker being removed (the topic does not exist, or deletion is off),
 * or the znodes of a marked topic whose assignment is unreadable (no view
 * holds it, so no broker hosts it).  While the entry lives, the marker is
 * not followed again: an ended step parks it until the retry timer (so a
 * marker that cannot be removed costs one attempt and one line a
 * RETRY_MS, never a loop); a finished one goes earlier, once the view no
 * longer lists the marker. */
typedef struct unmarking {
    struct unmarking *next;
    bool parked;   /* its step ended: dropped by retry_cb */
    bool done;     /* the marker is gone: dropped once the view agrees */
    char name[];
} unmarking_t;

struct kb_ctl_deletion {
    kb_controller_t *c;
    del_topic_t *topics;
    unmarking_t *unmarking;
    uint64_t role;           /* bumped by each reset: completions of an older role are ignored */
    uint64_t brokers_seen;   /* the view's broker generation the replicas were walked for */
    bool walk;               /* walk every topic's replicas at the next pass */
    struct event *retry_ev;
};

/* What an asynchronous ZooKeeper step remembers. */
typedef struct del_ctx {
    kb_ctl_deletion_t *d;
    uint64_t role;
    bool absent;  /* an unmark that checked the topic is absent */
    char name[];
} del_ctx_t;

/* ---- table ---- */

static void topic_free(del_topic_t *t) {
    free(t->first);
    free(t->replicas);
    free(t);
}

static del_topic_t *topic_find(const kb_ctl_deletion_t *d, const char *name) {
    for (del_topic_t *t = d->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

static void topic_remove(kb_ctl_deletion_t *d, del_topic_t *t) {
    for (del_topic_t **pp = &d->topics; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            topic_free(t);
            return;
        }
}

size_t kb_ctl_delete_count(const kb_ctl_deletion_t *d) {
    size_t n = 0;
    for (const del_topic_t *t = d ? d->topics : NULL; t; t = t->next) n += !t->finished;
    return n;
}

bool kb_ctl_delete_queued(const kb_ctl_deletion_t *d, const char *topic) {
    const del_topic_t *t = d && d->topics ? topic_find(d, topic) : NULL;
    return t && !t->finished;
}

/* The topic's replicas from the view's assignment, indexed by partition. */
static del_topic_t *topic_new(kb_ctl_deletion_t *d, const kc_topic_t *vt) {
    size_t n = strlen(vt->name) + 1, total = 0;
    del_topic_t *t = calloc(1, sizeof(*t) + n);
    if (!t) return NULL;
    memcpy(t->name, vt->name, n);
    for (int p = 0; p < vt->n_partitions; p++) total += (size_t)vt->partitions[p].n_replicas;
    t->first = calloc((size_t)vt->n_partitions + 1, sizeof(*t->first));
    t->replicas = calloc(total + 1, sizeof(*t->replicas));
    t->tid = kb_ctl_fanout_topic(d->c->fanout, vt->name);
    if (!t->first || !t->replicas || t->tid == UINT32_MAX) {
        topic_free(t);
        return NULL;
    }
    t->n_partitions = vt->n_partitions;
    for (int p = 0; p < vt->n_partitions; p++) {
        t->first[p] = (int32_t)t->n_replicas;
        for (int r = 0; r < vt->partitions[p].n_replicas; r++)
            t->replicas[t->n_replicas++] = (del_replica_t){.broker = vt->partitions[p].replicas[r], .sent_epoch = -1};
    }
    t->first[vt->n_partitions] = (int32_t)t->n_replicas;
    return t;
}

/* ---- lifetime ---- */

static void unmarking_drop_if(kb_ctl_deletion_t *d, bool (*drop)(const kb_ctl_deletion_t *, const unmarking_t *)) {
    for (unmarking_t **pp = &d->unmarking; *pp;) {
        unmarking_t *u = *pp;
        if (drop(d, u)) {
            *pp = u->next;
            free(u);
        } else {
            pp = &u->next;
        }
    }
}

static bool is_parked(const kb_ctl_deletion_t *d, const unmarking_t *u) { return u->parked; }

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    kb_ctl_deletion_t *d = arg;
    d->walk = true; /* a stop that could not be queued is queued again */
    unmarking_drop_if(d, is_parked); /* their markers are followed again */
    if (d->c->active) kb_ctl_schedule_reconcile(d->c);
}

static void retry_later(kb_ctl_deletion_t *d) {
    struct timeval tv = {RETRY_MS / 1000, (RETRY_MS % 1000) * 1000};
    if (!evtimer_pending(d->retry_ev, NULL)) evtimer_add(d->retry_ev, &tv);
}

kb_ctl_deletion_t *kb_ctl_delete_new(kb_controller_t *c) {
    kb_ctl_deletion_t *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->c = c;
    d->retry_ev = evtimer_new(c->b->base, retry_cb, d);
    if (!d->retry_ev) {
        free(d);
        return NULL;
    }
    return d;
}

void kb_ctl_delete_reset(kb_ctl_deletion_t *d) {
    if (!d) return;
    while (d->topics) {
        del_topic_t *t = d->topics;
        d->topics = t->next;
        topic_free(t);
    }
    while (d->unmarking) {
        unmarking_t *u = d->unmarking;
        d->unmarking = u->next;
        free(u);
    }
    d->role++;
    d->walk = true;
    evtimer_del(d->retry_ev);
}

void kb_ctl_delete_free(kb_ctl_deletion_t *d) {
    if (!d) return;
    kb_ctl_delete_reset(d);
    event_free(d->retry_ev);
    free(d);
}

static del_ctx_t *ctx_new(kb_ctl_deletion_t *d, const char *name) {
    size_t n = strlen(name) + 1;
    del_ctx_t *x = malloc(sizeof(*x) + n);
    if (!x) return NULL;
    x->d = d;
    x->role = d->role;
    x->absent = false;
    memcpy(x->name, name, n);
    return x;
}

/* A fenced step ends the role; any other failure is tried again later.
 * Returns whether the step's result still matters (same role, not fenced). */
static bool step_settled(del_ctx_t *x, int rc, const char *what) {
    kb_ctl_deletion_t *d = x->d;
    if (x->role != d->role || !d->c->active) return false;
    if (rc == KC_FENCED) {
        kb_ctl_lose_role(d->c, "a newer controller epoch fenced a topic deletion");
        return false;
    }
    if (rc != KC_OK) {
        kc_warn("controller", "%s %s failed: %s; trying again in %d ms", what, x->name, kc_strerror(rc), RETRY_MS);
        retry_later(d);
    }
    return true;
}

/* ---- markers the controller does not act on ---- */

static unmarking_t *unmarking(const kb_ctl_deletion_t *d, const char *name) {
    for (unmarking_t *u = d->unmarking; u; u = u->next)
        if (strcmp(u->name, name) == 0) return u;
    return NULL;
}

static bool is_settled(const kb_ctl_deletion_t *d, const unmarking_t *u) {
    return u->done && !kc_view_topic_marked(d->c->b->view, u->name);
}

/* Ends x's entry: parked until the retry timer either way, so that no
 * entry outlives a RETRY_MS (a marker removed and created again between
 * two reads of the view would otherwise be ignored for good); a done one
 * goes earlier, once the view no longer lists the marker. */
static void unmarking_end(del_ctx_t *x, bool done) {
    unmarking_t *u = x->role == x->d->role ? unmarking(x->d, x->name) : NULL;
    if (!u) return;
    u->done = done;
    u->parked = true;
    retry_later(x->d);
}

static void unreadable_deleted(int rc, void *arg) {
    del_ctx_t *x = arg;
    if (step_settled(x, rc, "deleting the znodes of unreadable topic")) unmarking_end(x, rc == KC_OK);
    free(x);
}

/* The marked topic's znode exists but no view can read it, so no broker
 * hosts a replica of it (brokers ignore an unreadable assignment) and
 * nothing but its znodes is left to delete. */
static void delete_unreadable(del_ctx_t *x) {
    kb_ctl_deletion_t *d = x->d;
    kc_warn("controller", "topic %s is marked for deletion and its assignment /brokers/topics/%s is unreadable: "
            "deleting its znodes and the marker", x->name, x->name);
    kc_topic_delete_znodes(d->c->b->zk, x->name, d->c->epoch_zk_version, unreadable_deleted, x);
}

static void unmarked(int rc, void *arg) {
    del_ctx_t *x = arg;
    bool current = x->role == x->d->role && x->d->c->active;
    if (current && rc == KC_INVALID) {
        delete_unreadable(x); /* takes x */
        return;
    }
    /* KC_EXISTS: the topic exists after all, readable (the view had not
     * read it yet): the marker is followed again after RETRY_MS, by when
     * the view normally lists it and the pass queues its deletion. */
    if (current && rc == KC_EXISTS)
        kc_debug("controller", "topic %s exists though the view does not list it yet; its marker is looked at "
                 "again in %d ms", x->name, RETRY_MS);
    else if (step_settled(x, rc, "removing the deletion marker of topic") && rc == KC_OK && x->absent)
        kc_warn("controller", "ignored the deletion of topic %s, which does not exist: removed its marker", x->name);
    else if (rc == KC_OK && current)
        kc_info("controller", "removed the deletion marker /admin/delete_topics/%s", x->name);
    unmarking_end(x, rc == KC_OK);
    free(x);
}

/* Removes name's marker: while deletion is off, whatever the topic; else
 * only once ZooKeeper shows the topic does not exist. */
static void unmark(kb_ctl_deletion_t *d, const char *name, bool only_if_absent) {
    size_t n = strlen(name) + 1;
    unmarking_t *u = malloc(sizeof(*u) + n);
    del_ctx_t *x = ctx_new(d, name);
    if (!u || !x) {
        free(u);
        free(x);
        retry_later(d);
        return;
    }
    memcpy(u->name, name, n);
    u->parked = u->done = false;
    x->absent = only_if_absent;
    u->next = d->unmarking;
    d->unmarking = u;
    kc_topic_unmark_deletion(d->c->b->zk, name, d->c->epoch_zk_version, only_if_absent, unmarked, x);
}

/* ---- queueing and progress ---- */

static void queue_topic(kb_ctl_deletion_t *d, const kc_topic_t *vt) {
    del_topic_t *t = topic_new(d, vt);
    if (!t) {
        kc_error("controller", "out of memory queueing the deletion of topic %s; trying again", vt->name);
        retry_later(d);
        return;
    }
    t->next = d->topics;
    d->topics = t;
    kc_info("controller", "deleting topic %s (%d partition(s), %zu replica(s))", t->name, (int)t->n_partitions,
            t->n_replicas);
    kb_ctl_reassign_topic_queued(d->c->reassign, vt);
}

/* Step 1: every broker drops the topic from its cache (leader -2); its
 * stops are due. */
static void announce(kb_ctl_deletion_t *d, del_topic_t *t) {
    for (int32_t p = 0; p < t->n_partitions; p++) kb_ctl_fanout_metadata_changed(d->c->fanout, kb_ctl_key(t->tid, p));
    t->announced = true;
    t->stops_due = true;
}

/* Kafka makes a topic whose partitions are being reassigned ineligible for
 * deletion until the reassignment completes.  kbroker abandons the
 * reassignments of a topic queued for deletion instead (kb_ctl_reassign.c:
 * the topic gets no LeaderAndIsr any more, so they could not complete);
 * the deletion only waits for a write of theirs in flight to the topic
 * znode, whose read-back brings a reconciliation pass (the stops due are
 * queued then). */
static bool reassigning(const kb_ctl_deletion_t *d, const del_topic_t *t) {
    return kb_ctl_reassign_topic_busy(d->c->reassign, t->name);
}

/* Step 2 for one replica: its stops go to its broker's current
 * incarnation, unless they went there already; false when its broker is
 * down (the deletion waits for it). */
static bool stop_replica(kb_ctl_deletion_t *d, del_topic_t *t, int32_t p, del_replica_t *r) {
    kb_ctl_key_t key = kb_ctl_key(t->tid, p);
    int64_t epoch = kb_ctl_fanout_broker_epoch(d->c->fanout, r->broker);
    if (epoch < 0) return false;
    if (epoch == r->sent_epoch) return true;
    if (kb_ctl_fanout_stop_replica(d->c->fanout, r->broker, key, false, &epoch) &&
        kb_ctl_fanout_stop_replica(d->c->fanout, r->broker, key, true, &epoch))
        r->sent_epoch = epoch;
    else retry_later(d);
    return true;
}

static void stop_replicas(kb_ctl_deletion_t *d, del_topic_t *t) {
    int32_t down = -1;
    for (int32_t p = 0; p < t->n_partitions; p++)
        for (int32_t i = t->first[p]; i < t->first[p + 1]; i++) {
            del_replica_t *r = &t->replicas[i];
            if (!r->done && !stop_replica(d, t, p, r) && down < 0) down = r->broker;
        }
    if (down >= 0 && !t->waiting_logged)
        kc_info("controller", "deletion of topic %s waits for broker %d, which is down and holds a replica of it",
                t->name, (int)down);
    t->waiting_logged = down >= 0;
}

/* The view may list partitions added since the topic was queued (a
 * CreatePartitions that raced the marker). */
static void forget(kb_ctl_deletion_t *d, const del_topic_t *t) {
    const kc_topic_t *vt = kc_view_topic(d->c->b->view, t->name);
    kb_ctl_forget_topic(d->c, t->name, vt && vt->n_partitions > t->n_partitions ? vt->n_partitions : t->n_partitions);
}

static void znodes_deleted(int rc, void *arg) {
    del_ctx_t *x = arg;
    kb_ctl_deletion_t *d = x->d;
    del_topic_t *t = x->role == d->role ? topic_find(d, x->name) : NULL;
    if (t) t->znodes = false;
    if (step_settled(x, rc, "deleting the znodes of topic") && rc == KC_OK && t) {
        kc_info("controller", "topic %s deleted: its %zu replica(s) deleted their logs, and its znodes are gone",
                t->name, t->n_replicas);
        t->finished = true;
        forget(d, t);
    }
    free(x);
}

/* Step 3: the znodes, once every replica deleted its log. */
static void delete_znodes(kb_ctl_deletion_t *d, del_topic_t *t) {
    del_ctx_t *x = ctx_new(d, t->name);
    if (!x) {
        retry_later(d);
        return;
    }
    t->znodes = true;
    kc_topic_delete_znodes(d->c->b->zk, t->name, d->c->epoch_zk_version, znodes_deleted, x);
}

static void progress(kb_ctl_deletion_t *d, del_topic_t *t, bool walk) {
    if (t->finished) {
        if (!kc_view_topic_marked(d->c->b->view, t->name)) topic_remove(d, t);
        return;
    }
    if (t->znodes) return;
    if (!t->announced) announce(d, t);
    t->stops_due = t->stops_due || walk;
    if (reassigning(d, t)) return;
    if (t->stops_due && t->n_done < t->n_replicas) stop_replicas(d, t);
    t->stops_due = false;
    if (t->n_done == t->n_replicas) delete_znodes(d, t);
}

/* ---- answers ---- */

void kb_ctl_delete_stopped(kb_ctl_deletion_t *d, const kb_ctl_stopped_t *s) {
    if (!d || !s->deleted || s->error != 0) return; /* the queue sends failed deletes again */
    int32_t p = kb_ctl_key_partition(s->key);
    for (del_topic_t *t = d->topics; t; t = t->next) {
        if (t->tid != kb_ctl_key_topic(s->key) || p < 0 || p >= t->n_partitions) continue;
        for (int32_t i = t->first[p]; i < t->first[p + 1]; i++) {
            del_replica_t *r = &t->replicas[i];
            if (r->broker != s->broker_id || r->done) continue;
            r->done = true;
            if (++t->n_done == t->n_replicas) kb_ctl_schedule_reconcile(d->c);
        }
        return;
    }
}

/* ---- the pass ---- */

/* One marker: settled, queued, or already in hand. */
static void follow_marker(kb_ctl_deletion_t *d, const char *name) {
    const kc_topic_t *vt = kc_view_topic(d->c->b->view, name);
    if (topic_find(d, name) || unmarking(d, name)) return;
    if (!d->c->b->cfg->delete_topic_enable) {
        kc_warn("controller", "topic %s is marked for deletion, but delete.topic.enable is false: removing the "
                "marker, the topic stays", name);
        unmark(d, name, false);
    } else if (!vt) {
        unmark(d, name, true); /* logs once the marker is gone, or deletes an unreadable topic */
    } else {
        queue_topic(d, vt);
    }
}

void kb_ctl_delete_follow_markers(kb_ctl_deletion_t *d) {
    const kc_view_t *v = d->c->b->view;
    unmarking_drop_if(d, is_settled);
    for (int i = 0; i < kc_view_marked_count(v) && d->c->active; i++) follow_marker(d, kc_view_marked_at(v, i));
}

void kb_ctl_delete_reconcile(kb_ctl_deletion_t *d) {
    const kc_view_t *v = d->c->b->view;
    if (!d->c->active) return;
    bool walk = d->walk || kc_view_brokers_changed(v) != d->brokers_seen;
    d->walk = false;
    d->brokers_seen = kc_view_brokers_changed(v);
    for (del_topic_t *t = d->topics, *next; t && d->c->active; t = next) {
        next = t->next; /* progress may remove t */
        progress(d, t, walk);
    }
}
