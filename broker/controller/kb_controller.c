/*
 * kb_controller.c - the controller role (see kb_controller.h).
 *
 * The controller works by reconciliation: whenever the cluster view changes
 * it compares the state znodes with what the live broker set demands,
 * issuing a conditional write where they differ.  It visits only the
 * partitions the view stamped as changed since its last pass (kc_view.h,
 * change generations); when the broker set changed, the partitions with a
 * replica on a broker that joined or left, from an index broker id ->
 * partitions (kb_ctl_fanout.h); every partition only on taking the role,
 * after a reconnection and after a failed write, when any of them may need
 * a write that no stamp announces.  Creating thousands of partitions, or
 * losing a broker, thus costs the partitions concerned, not a walk of the
 * whole cluster.  A partition with a write in flight, or whose write
 * succeeded but whose new state the view has not read back yet, is
 * skipped; the read-back stamps it again.  That bookkeeping lives in a
 * small hash keyed by topic and partition; the fan-out holds the index and
 * the request queues.
 *
 * ISR changes made by partition leaders arrive as
 * /isr_change_notification children (zk-and-replication.md 2.7).  The
 * controller's view has read the new states by then (the leader writes the
 * state before the notification, and watch events reach one session in
 * order), so it sends UpdateMetadata for the partitions each entry lists,
 * logs them and deletes the entry, fenced by its epoch; a new controller
 * deletes the entries it finds unread, as Kafka's does (its full state
 * covers them).
 *
 * The brokers learn everything from the controller's requests
 * (kb_ctl_fanout.h): when a write of ours reaches the view, the partition's
 * replicas get LeaderAndIsr and every broker UpdateMetadata, built from the
 * view, so they carry exactly what ZooKeeper holds, zkVersion included.  A
 * state changed behind the controller's back is not forwarded.
 *
 * Topic deletion (/admin/delete_topics) is kb_ctl_delete.c's: each pass
 * ends with its own, and a topic it has queued gets no election here.
 *
 * Election is attempted after this broker registered in the current session
 * and whenever /controller disappears.  The role ends when /controller names
 * another broker, when a fenced write shows a newer controller epoch, or when
 * the ZooKeeper session expires.
 */
#include "broker/controller/kb_controller.h"
#include "broker/controller/kb_ctl_internal.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_fanout.h"
#include "broker/controller/kb_elect.h"
#include "broker/kb_topic_config.h"
#include "coord/kc_configs.h"
#include "coord/kc_election.h"
#include "coord/kc_isr.h"
#include "common/kc_log.h"
#include "coord/kc_topics.h"

#define ELECTION_RETRY_MS 1000
/* Config change notifications older than this are deleted (Kafka's
 * ZkNodeChangeNotificationListener uses 15 minutes), checked this often. */
#define CONFIG_CHANGE_MAX_AGE_MS (15 * 60 * 1000)
#define CONFIG_CHANGE_PURGE_EVERY_S (5 * 60)
/* A pass over /isr_change_notification that failed (other than fenced) is
 * retried after a delay that doubles from the first to the last value. */
#define ISR_CHANGES_RETRY_FIRST_MS 1000
#define ISR_CHANGES_RETRY_MAX_MS 30000

/* A write's completion context. */
typedef struct write_ctx {
    kb_controller_t *c;
    uint64_t op_id;
    int32_t next_version; /* zkVersion the state will have after the write; -1 for a create */
    part_ref_t ref;       /* ref.topic points at topic below */
    char topic[];
} write_ctx_t;

static void controller_elect(kb_controller_t *c);
static void isr_changes_consume(kb_controller_t *c, bool discard);

/* ---- pending writes ---- */

uint32_t kb_ctl_topic_hash(const char *topic) {
    uint32_t h = 2166136261u;
    for (; *topic; topic++) h = (h ^ (unsigned char)*topic) * 16777619u;
    return h;
}

static part_ref_t part_ref(const char *topic, uint32_t hash, int32_t partition) {
    return (part_ref_t){.topic = topic, .topic_hash = hash, .partition = partition};
}

part_ref_t kb_ctl_part_ref(const char *topic, int32_t partition) {
    return part_ref(topic, kb_ctl_topic_hash(topic), partition);
}

static pending_t **pending_slot(kb_controller_t *c, const part_ref_t *ref) {
    uint32_t h = (ref->topic_hash ^ (uint32_t)ref->partition) * 16777619u;
    pending_t **pp = &c->pending[h % PENDING_BUCKETS];
    while (*pp && ((*pp)->partition != ref->partition || strcmp((*pp)->topic, ref->topic) != 0)) pp = &(*pp)->next;
    return pp;
}

static void pending_remove(kb_controller_t *c, const part_ref_t *ref) {
    pending_t **pp = pending_slot(c, ref), *p = *pp;
    if (!p) return;
    *pp = p->next;
    c->n_pending--;
    free(p);
}

static void pending_clear(kb_controller_t *c) {
    for (int i = 0; i < PENDING_BUCKETS; i++) {
        while (c->pending[i]) {
            pending_t *p = c->pending[i];
            c->pending[i] = p->next;
            free(p);
        }
    }
    c->n_pending = 0;
}

static pending_t *pending_add(kb_controller_t *c, const part_ref_t *ref) {
    size_t n = strlen(ref->topic) + 1;
    pending_t **slot = pending_slot(c, ref);
    pending_t *p = calloc(1, sizeof(*p) + n);
    if (!p) return NULL;
    memcpy(p->topic, ref->topic, n);
    p->partition = ref->partition;
    p->in_flight = true;
    p->op_id = ++c->next_op_id;
    p->next = *slot;
    *slot = p;
    c->n_pending++;
    return p;
}

/* Where a partition stands with this controller's writes. */
typedef enum part_status {
    PART_FREE,        /* no write of ours pending */
    PART_BUSY,        /* a write is in flight or its result has not reached the view yet: leave it alone */
    PART_LANDED,      /* our update has just reached the view: the brokers must hear of it */
    PART_LANDED_NEW,  /* ... our first state of a new partition */
} part_status_t;

static part_status_t partition_check(kb_controller_t *c, const part_ref_t *ref, const kc_partition_t *part) {
    if (c->n_pending == 0) return PART_FREE;
    pending_t *p = *pending_slot(c, ref);
    if (!p) return PART_FREE;
    if (p->in_flight) return PART_BUSY;
    bool caught_up = part->has_state && (p->await_version < 0 || part->state.zk_version >= p->await_version);
    if (!caught_up) return PART_BUSY;
    bool created = p->await_version < 0; /* a create awaits any state */
    pending_remove(c, ref);
    return created ? PART_LANDED_NEW : PART_LANDED;
}

/* ---- role changes ---- */

void kb_ctl_lose_role(kb_controller_t *c, const char *why) {
    if (!c->active) return;
    kc_warn("controller", "no longer the controller (epoch %d): %s", (int)c->epoch, why);
    c->active = false;
    kc_view_set_states(c->b->view, false);
    pending_clear(c);
    kb_ctl_fanout_stop(c->fanout); /* every queue at once, whatever it held */
    kb_ctl_delete_reset(c->deletion);
    kb_ctl_reassign_reset(c->reassign, false);
    kb_ctl_shutdown_role_ended(c);
    kb_ctl_elections_role_ended(c);
    kb_ctl_preferred_role_ended(c);
    kb_ctl_unhosted_reset(c->unhosted);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) { controller_elect(arg); }

/* Notifications are only triggers (brokers re-read the entity), so old ones
 * are garbage; the controller sweeps them while it holds the role. */
static void purge_cb(evutil_socket_t fd, short what, void *arg) {
    kb_controller_t *c = arg;
    struct timeval tv = {CONFIG_CHANGE_PURGE_EVERY_S, 0};
    if (!c->active) return;
    kc_config_changes_purge(c->b->zk, CONFIG_CHANGE_MAX_AGE_MS, NULL, NULL);
    evtimer_add(c->purge_ev, &tv);
}

static void schedule_election_retry(kb_controller_t *c) {
    struct timeval tv = {ELECTION_RETRY_MS / 1000, (ELECTION_RETRY_MS % 1000) * 1000};
    evtimer_add(c->retry_ev, &tv);
}

static void election_done(const kc_election_result_t *r, void *arg) {
    kb_controller_t *c = arg;
    c->electing = false;
    if (r->rc != KC_OK) {
        kc_warn("controller", "election attempt failed: %s", kc_strerror(r->rc));
        if (c->registered) schedule_election_retry(c);
        return;
    }
    if (!r->won) {
        kc_debug("controller", "broker %d is the controller", (int)r->controller_id);
        return;
    }
    c->active = true;
    kc_view_set_states(c->b->view, true); /* reconcile waits until every state is read */
    c->epoch = r->epoch;
    c->epoch_zk_version = r->epoch_zk_version;
    pending_clear(c);
    kb_ctl_delete_reset(c->deletion);
    kb_ctl_reassign_reset(c->reassign, true);
    c->walk_all = true;
    kc_info("controller", "this broker is now the controller (controller epoch %d)", (int)c->epoch);
    kb_ctl_schedule_reconcile(c);
    purge_cb(-1, 0, c);
    isr_changes_consume(c, true);
    kb_ctl_preferred_role_taken(c);
}

static void controller_elect(kb_controller_t *c) {
    if (c->electing || c->active || !c->registered) return;
    c->electing = true;
    kc_controller_elect(c->b->zk, c->b->cfg->broker_id, election_done, c);
}

/* ---- ISR change notifications ---- */

static void isr_changes_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kb_controller_t *c = ctx;
    /* Session events reach every watcher; only a change of the children
     * (or the parent's creation) matters. */
    if ((type == ZOO_CHILD_EVENT || type == ZOO_CREATED_EVENT) && c->active) isr_changes_consume(c, false);
}

/* The leader wrote the state; the brokers' metadata follows it. */
static void isr_change_metadata(kb_controller_t *c, const kc_isr_change_t *parts, int n) {
    for (int i = 0; i < n; i++) {
        uint32_t tid = kb_ctl_fanout_topic(c->fanout, parts[i].topic);
        if (tid != UINT32_MAX) kb_ctl_fanout_metadata_changed(c->fanout, kb_ctl_key(tid, parts[i].partition));
    }
    kb_ctl_fanout_flush(c->fanout);
}

static void isr_change_seen(const char *node, const kc_isr_change_t *parts, int n, void *arg) {
    kb_controller_t *c = arg;
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < n && used < sizeof(list); i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s-%d", i ? ", " : "", parts[i].topic,
                         (int)parts[i].partition);
        if (w < 0) break;
        used += (size_t)w;
    }
    kc_info("controller", "ISR change notification %s: %d partition(s): %s", node, n, list);
    if (c->active) isr_change_metadata(c, parts, n);
}

static void isr_changes_done(int rc, void *arg) {
    kb_controller_t *c = arg;
    c->isr_consuming = false;
    if (rc == KC_FENCED) {
        kb_ctl_lose_role(c, "a newer controller epoch fenced an ISR change notification deletion");
        return;
    }
    if (!c->active) return;
    if (rc != KC_OK) {
        /* A pass asked for meanwhile waits for the retry. */
        if (evtimer_pending(c->isr_retry_ev, NULL)) return;
        struct timeval tv = {c->isr_retry_ms / 1000, (c->isr_retry_ms % 1000) * 1000};
        kc_warn("controller", "handling ISR change notifications failed: %s; retrying in %d ms", kc_strerror(rc),
                (int)c->isr_retry_ms);
        evtimer_add(c->isr_retry_ev, &tv);
        c->isr_retry_ms = c->isr_retry_ms * 2 > ISR_CHANGES_RETRY_MAX_MS ? ISR_CHANGES_RETRY_MAX_MS
                                                                         : c->isr_retry_ms * 2;
        return;
    }
    c->isr_retry_ms = ISR_CHANGES_RETRY_FIRST_MS;
    if (c->isr_again) isr_changes_consume(c, c->isr_discard);
}

static void isr_retry_cb(evutil_socket_t fd, short what, void *arg) {
    kb_controller_t *c = arg;
    if (c->active) isr_changes_consume(c, c->isr_again && c->isr_discard);
}

/* One pass at a time: a watch that fires during a pass asks for another. */
static void isr_changes_consume(kb_controller_t *c, bool discard) {
    if (c->isr_consuming) {
        c->isr_discard = c->isr_again ? c->isr_discard && discard : discard;
        c->isr_again = true;
        return;
    }
    c->isr_consuming = true;
    c->isr_again = false;
    kc_isr_changes_consume(c->b->zk, c->epoch_zk_version, isr_changes_watch, c, discard ? NULL : isr_change_seen,
                           isr_changes_done, c);
}

/* ---- reconciliation ---- */

/* The view read back the written state before the write's own answer came
 * (ZooKeeper answers the write first, so this should not happen): the pass
 * that saw it skipped the partition as busy, and nothing stamps it again. */
static bool read_back_already(const kb_controller_t *c, const write_ctx_t *w) {
    const kc_topic_t *t = kc_view_topic(c->b->view, w->topic);
    const kc_partition_t *part = t && w->ref.partition < t->n_partitions ? &t->partitions[w->ref.partition] : NULL;
    return part && part->has_state && (w->next_version < 0 || part->state.zk_version >= w->next_version);
}

/* The brokers hear of a write the view read back before its answer came. */
static void announce_written(kb_controller_t *c, const write_ctx_t *w) {
    const kc_topic_t *t = kc_view_topic(c->b->view, w->topic);
    uint32_t tid = kb_ctl_fanout_topic(c->fanout, w->topic);
    if (t && tid != UINT32_MAX)
        kb_ctl_fanout_state_written(c->fanout, kb_ctl_key(tid, w->ref.partition), &t->partitions[w->ref.partition],
                                    w->next_version < 0);
}

static void write_done(int rc, void *arg) {
    write_ctx_t *w = arg;
    kb_controller_t *c = w->c;
    pending_t *p = *pending_slot(c, &w->ref);
    if (p && p->op_id == w->op_id) {
        if (rc == KC_OK && !(c->b->view && read_back_already(c, w))) {
            p->in_flight = false;
            p->await_version = w->next_version;
        } else {
            if (rc == KC_OK && c->active) announce_written(c, w);
            pending_remove(c, &w->ref);
            c->walk_all = true;
            if (rc == KC_OK && c->active) kb_ctl_schedule_reconcile(c);
        }
    }
    if (rc == KC_FENCED) {
        kb_ctl_lose_role(c, "a newer controller epoch fenced a state write");
    } else if (rc != KC_OK && c->active) {
        kc_warn("controller", "state write for %s/%d failed: %s; will retry", w->topic, (int)w->ref.partition,
                kc_strerror(rc));
        kb_ctl_schedule_reconcile(c);
    }
    free(w);
}

static write_ctx_t *write_begin(kb_controller_t *c, const part_ref_t *ref, int32_t next_version) {
    size_t n = strlen(ref->topic) + 1;
    write_ctx_t *w = malloc(sizeof(*w) + n);
    pending_t *p = w ? pending_add(c, ref) : NULL;
    if (!p) {
        free(w);
        c->walk_all = true; /* out of memory: a later pass tries again */
        return NULL;
    }
    w->c = c;
    w->op_id = p->op_id;
    w->next_version = next_version;
    memcpy(w->topic, ref->topic, n);
    w->ref = part_ref(w->topic, ref->topic_hash, ref->partition);
    return w;
}


static void create_first_state(kb_controller_t *c, const part_ref_t *ref, const kc_partition_t *part) {
    int32_t isr[part->n_replicas > 0 ? part->n_replicas : 1];
    kc_partition_state_t st = {.isr = isr};
    if (!kb_elect_first_state(part, c->epoch, kb_ctl_eligible, c, &st))
        return; /* stays new until one of its brokers is up (a broker change walks everything) */
    write_ctx_t *w = write_begin(c, ref, -1);
    if (!w) return;
    kc_info("controller", "partition %s/%d: leader %d, first state", ref->topic, (int)ref->partition,
            (int)st.leader);
    kc_state_create(c->b->zk, ref->topic, ref->partition, &st, c->epoch_zk_version, write_done, w);
}

void kb_ctl_forget_topic(kb_controller_t *c, const char *topic, int32_t n_partitions) {
    part_ref_t ref = kb_ctl_part_ref(topic, 0);
    for (ref.partition = 0; ref.partition < n_partitions && c->n_pending > 0; ref.partition++) pending_remove(c, &ref);
    kb_ctl_reassign_topic_gone(c->reassign, topic);
}

bool kb_ctl_state_busy(kb_controller_t *c, const part_ref_t *ref) {
    return c->n_pending > 0 && *pending_slot(c, ref) != NULL;
}

bool kb_ctl_state_write(kb_controller_t *c, const part_ref_t *ref, const kc_partition_state_t *next) {
    if (kb_ctl_state_busy(c, ref)) return false;
    write_ctx_t *w = write_begin(c, ref, next->zk_version + 1);
    if (!w) return false;
    kc_state_update(c->b->zk, ref->topic, ref->partition, next, c->epoch_zk_version, write_done, w);
    return true;
}

kb_ctl_write_t *kb_ctl_write_begin(kb_controller_t *c, const part_ref_t *ref, int32_t next_version) {
    return kb_ctl_state_busy(c, ref) ? NULL : write_begin(c, ref, next_version);
}

void kb_ctl_write_done(int rc, kb_ctl_write_t *w) { write_done(rc, w); }

/* Offline election (spec 2.6, kb_elect.h) and its conditional write. */
static void fix_state(kb_controller_t *c, const part_ref_t *ref, const kc_topic_t *topic, const kc_partition_t *part) {
    const kc_partition_state_t *cur = &part->state;
    if (cur->controller_epoch > c->epoch) {
        kb_ctl_lose_role(c, "a state znode carries a newer controller epoch");
        return;
    }
    int32_t isr[cur->n_isr > 0 ? cur->n_isr : 1];
    kc_partition_state_t next = {.isr = isr};
    bool unclean = kb_topic_config_unclean(c->b->cfg, topic->configs, topic->n_configs);
    if (!kb_elect_offline_excluding(part, c->epoch, kb_ctl_live, kb_ctl_shutting, c, unclean, &next)) return;
    if (!kb_ctl_state_write(c, ref, &next)) return;
    if (next.leader >= 0 && !kc_int32_contains(cur->isr, cur->n_isr, next.leader))
        kc_warn("controller", "partition %s/%d: unclean election of %d, outside the ISR (leader epoch %d): "
                "records only the old ISR held are lost", ref->topic, (int)ref->partition, (int)next.leader,
                (int)next.leader_epoch);
    else if (next.leader < 0)
        kc_warn("controller", "partition %s/%d is offline: no live replica of its ISR (leader %d -> -1, leader "
                "epoch %d); it stays offline until one returns", ref->topic, (int)ref->partition, (int)cur->leader,
                (int)next.leader_epoch);
    else if (next.leader != cur->leader)
        kc_info("controller", "partition %s/%d: leader %d -> %d (leader epoch %d)", ref->topic, (int)ref->partition,
                (int)cur->leader, (int)next.leader, (int)next.leader_epoch);
    else
        kc_info("controller", "partition %s/%d: ISR shrinks to %d member(s) (leader epoch %d)", ref->topic,
                (int)ref->partition, next.n_isr, (int)next.leader_epoch);
}

/* One partition: tell the brokers about a write of ours that landed, index
 * its replicas (not while the index is being read: `index` false), then
 * write what the live broker set demands. */
static void visit_partition(kb_controller_t *c, const kc_topic_t *topic, uint32_t hash, uint32_t tid, int32_t p,
                            bool index) {
    const kc_partition_t *part = &topic->partitions[p];
    part_ref_t ref = part_ref(topic->name, hash, p);
    part_status_t st = partition_check(c, &ref, part);
    if (st == PART_BUSY) return;
    if (tid != UINT32_MAX) {
        kb_ctl_key_t key = kb_ctl_key(tid, p);
        if (index) kb_ctl_fanout_index(c->fanout, key, part);
        if (st != PART_FREE) kb_ctl_fanout_state_written(c->fanout, key, part, st == PART_LANDED_NEW);
    }
    kb_ctl_reassign_visit(c->reassign, topic, p);
    if (kb_ctl_delete_queued(c->deletion, topic->name)) return; /* no election while it is deleted */
    if (!part->has_state) create_first_state(c, &ref, part);
    else fix_state(c, &ref, topic, part);
}

/* The partitions of one topic stamped after generation `since`. */
static void reconcile_topic(kb_controller_t *c, const kc_topic_t *topic, uint64_t since) {
    uint32_t hash = kb_ctl_topic_hash(topic->name), tid = kb_ctl_fanout_topic(c->fanout, topic->name);
    for (int p = 0; p < topic->n_partitions && c->active; p++)
        if (topic->partitions[p].changed > since) visit_partition(c, topic, hash, tid, p, true);
}

/* A partition with a replica on a broker that joined or left (the fan-out
 * reads its index): it may need an election or its first state. */
static void examine_partition(const char *topic, int32_t partition, void *arg) {
    kb_controller_t *c = arg;
    const kc_topic_t *t = kc_view_topic(c->b->view, topic);
    if (!c->active || !t || partition >= t->n_partitions) return;
    visit_partition(c, t, kb_ctl_topic_hash(t->name), kb_ctl_fanout_topic(c->fanout, t->name), partition, false);
}

/*
 * What it costs: the stamped partitions, plus, when the broker set changed,
 * the partitions with a replica on a broker that joined or left (the
 * fan-out's index, kb_ctl_fanout.h), so a failover costs the dead broker's
 * partitions, not the cluster.  Only taking the role, a reconnection and a
 * failed write walk every partition (since 0 lists every topic, and every
 * partition is stamped); the first such walk in the role builds the index,
 * and the fan-out starts after it, sending every broker the full state.
 * Whatever the pass queued leaves at its end, batched per broker.
 */
static void reconcile(kb_controller_t *c) {
    const kc_view_t *v = c->b->view;
    if (!c->active || !kc_view_states_loaded(v) || !kc_session_connected(c->b->zk)) return;
    bool starting = !kb_ctl_fanout_started(c->fanout);
    bool brokers = kc_view_brokers_changed(v) > c->seen;
    uint64_t since = c->walk_all || starting ? 0 : c->seen;
    c->walk_all = false;
    c->seen = kc_view_generation(v);
    kb_ctl_delete_follow_markers(c->deletion);
    for (const kc_topic_t *t = kc_view_changed_since(v, since); t && c->active; t = kc_view_changed_next(v, t))
        reconcile_topic(c, t, since);
    if (!c->active) return;
    if (starting) kb_ctl_fanout_start(c->fanout, c->epoch);
    else if (brokers) kb_ctl_fanout_brokers_changed(c->fanout, examine_partition, c);
    kb_ctl_delete_reconcile(c->deletion);
    kb_ctl_reassign_reconcile(c->reassign);
    kb_ctl_shutdown_after_pass(c);
    kb_ctl_elections_after_pass(c);
    kb_ctl_unhosted_after_pass(c->unhosted);
    kb_ctl_fanout_flush(c->fanout);
}

static void reconcile_cb(evutil_socket_t fd, short what, void *arg) { reconcile(arg); }

void kb_ctl_schedule_reconcile(kb_controller_t *c) {
    if (!event_pending(c->reconcile_ev, EV_TIMEOUT, NULL)) event_active(c->reconcile_ev, EV_TIMEOUT, 0);
}

/* ---- inputs ---- */

void kb_controller_on_view_change(kb_controller_t *c, int what) {
    int32_t current = kc_view_controller(c->b->view);
    if (what & KC_VIEW_CONTROLLER) {
        if (c->active && current != c->b->cfg->broker_id && current != -1)
            kb_ctl_lose_role(c, "/controller names another broker");
        if (current == -1 && !c->active) controller_elect(c);
    }
    if (c->active) kb_ctl_schedule_reconcile(c);
}

void kb_controller_on_registered(kb_controller_t *c) {
    c->registered = true;
    controller_elect(c);
}

static void on_session(kc_session_t *s, kc_session_state_t st, bool new_session, void *arg) {
    kb_controller_t *c = arg;
    if (st == KC_SESSION_EXPIRED) {
        /* Our /controller vanished with the session; whoever wins next has a
         * higher epoch.  Stop before the new session exists. */
        c->registered = false;
        kb_ctl_lose_role(c, "ZooKeeper session expired");
    } else if (st == KC_SESSION_CONNECTED && c->active) {
        c->walk_all = true; /* writes lost to the disconnection are redone */
        kb_ctl_schedule_reconcile(c);
        isr_changes_consume(c, false);
    }
}

static bool topic_deleting(const char *topic, void *arg) {
    const kb_controller_t *c = arg;
    return kb_ctl_delete_queued(c->deletion, topic);
}

/* StopReplica answers go to the duties that stop replicas. */
static void replica_stopped(const kb_ctl_stopped_t *s, void *arg) {
    kb_controller_t *c = arg;
    kb_ctl_delete_stopped(c->deletion, s);
}

/* LeaderAndIsr refusals (KAFKA_STORAGE_ERROR) move the replica's roles. */
static void replica_refused(const kb_ctl_refused_t *r, void *arg) {
    kb_controller_t *c = arg;
    kb_ctl_unhosted_refused(c->unhosted, r->broker_id, r->broker_epoch, r->topic, r->partition);
}

/* The fan-out for a transport (NULL: decisions only, nothing sent). */
static kb_ctl_fanout_t *make_fanout(kb_controller_t *c, const kb_ctl_transport_t *t) {
    kb_ctl_fanout_opts_t o = {.view = c->b->view, .transport = t, .controller_id = c->b->cfg->broker_id,
                              .timeout_ms = c->b->cfg->controller_socket_timeout_ms,
                              .deleting = topic_deleting, .stopped = replica_stopped, .refused = replica_refused,
                              .arg = c};
    return kb_ctl_fanout_new(&o);
}

kb_controller_t *kb_controller_new(kb_broker_t *b) {
    kb_controller_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->b = b;
    c->deletion = kb_ctl_delete_new(c);
    c->reassign = kb_ctl_reassign_new(c);
    c->fanout = make_fanout(c, NULL);
    c->retry_ev = evtimer_new(b->base, retry_cb, c);
    c->reconcile_ev = event_new(b->base, -1, 0, reconcile_cb, c);
    c->purge_ev = evtimer_new(b->base, purge_cb, c);
    c->isr_retry_ev = evtimer_new(b->base, isr_retry_cb, c);
    c->isr_retry_ms = ISR_CHANGES_RETRY_FIRST_MS;
    c->shutdown = kb_ctl_shutdown_new(c);
    c->elections = kb_ctl_elections_new(c);
    c->preferred = kb_ctl_preferred_new(c);
    c->unhosted = kb_ctl_unhosted_new(c);
    if (!c->fanout || !c->deletion || !c->reassign || !c->retry_ev || !c->reconcile_ev || !c->purge_ev ||
        !c->isr_retry_ev || !c->shutdown || !c->elections || !c->preferred || !c->unhosted) {
        kb_controller_free(c);
        return NULL;
    }
    kc_session_add_listener(b->zk, on_session, c);
    return c;
}

void kb_controller_free(kb_controller_t *c) {
    if (!c) return;
    c->active = false; /* what the duties end below must not write to ZooKeeper any more */
    kb_ctl_shutdown_free(c->shutdown);
    kb_ctl_elections_free(c->elections);
    kb_ctl_preferred_free(c->preferred);
    kb_ctl_unhosted_free(c->unhosted);
    pending_clear(c);
    kb_ctl_fanout_free(c->fanout);
    kb_ctl_delete_free(c->deletion);
    kb_ctl_reassign_free(c->reassign);
    if (c->retry_ev) event_free(c->retry_ev);
    if (c->reconcile_ev) event_free(c->reconcile_ev);
    if (c->purge_ev) event_free(c->purge_ev);
    if (c->isr_retry_ev) event_free(c->isr_retry_ev);
    free(c);
}

int kb_controller_set_transport(kb_controller_t *c, const struct kb_ctl_transport *t) {
    kb_ctl_fanout_t *f = make_fanout(c, t);
    if (!f) return -1;
    kb_ctl_fanout_free(c->fanout); /* its queues go too; the next pass starts the new one */
    c->fanout = f;
    kb_ctl_delete_reset(c->deletion); /* its topic ids were the old fan-out's */
    if (c->active) {
        c->walk_all = true;
        kb_ctl_schedule_reconcile(c);
    }
    return 0;
}

bool kb_controller_active(const kb_controller_t *c) { return c->active; }
int32_t kb_controller_epoch(const kb_controller_t *c) { return c->epoch; }
size_t kb_controller_topics_deleting(const kb_controller_t *c) { return c->active ? kb_ctl_delete_count(c->deletion) : 0; }

void kb_controller_shutdown(kb_controller_t *c, kc_done_fn done, void *arg) {
    bool was_active = c->active;
    c->registered = false;
    c->active = false;
    kb_ctl_fanout_stop(c->fanout);
    kb_ctl_reassign_reset(c->reassign, false);
    kb_ctl_shutdown_role_ended(c);
    kb_ctl_elections_role_ended(c);
    kb_ctl_preferred_role_ended(c);
    kb_ctl_unhosted_reset(c->unhosted);
    evtimer_del(c->retry_ev);
    evtimer_del(c->purge_ev);
    evtimer_del(c->isr_retry_ev);
    if (!was_active) {
        done(KC_OK, arg);
        return;
    }
    kc_info("controller", "resigning as controller");
    kc_controller_resign(c->b->zk, c->b->cfg->broker_id, done, arg);
}
