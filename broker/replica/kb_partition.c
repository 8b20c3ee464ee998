/*
 * kb_partition.c - hosted partitions, their roles and the delayed
 * operations that wait on them (see kb_partition.h).
 *
 * Partitions live in a hash table keyed by topic and partition id.  A
 * partition object, once created, lives until kb_replicas_free: when its
 * assignment no longer lists this broker it only loses its role (the log stays
 * open and on disk), so the waiters and delayed produces that point at it can
 * never dangle.  kb_replicas_get() hides partitions that are not hosted.
 *
 * Roles arrive as data (kb_roles.h) through kb_replicas_apply_roles, each
 * update fenced by its leader epoch, and reach partition_set_role as a
 * kb_role_t relative to this broker; its ISR part, and the leader's ISR
 * upkeep, are kb_partition_isr.c's.
 *
 * Logs.  A partition assigned here whose log the manager does not have yet
 * gets it from the log manager's creation worker, off the loop; until that
 * completes it is not hosted (clients are answered NOT_LEADER_OR_FOLLOWER,
 * as by a broker that has not yet applied its LeaderAndIsr) and keeps the
 * last role it was given, which it takes then.  A creation that fails
 * (disk full, no descriptor left) is logged once and retried: at once when
 * the partition gets a new role, otherwise on a timer that backs off from
 * 1 s to 30 s while attempts keep failing.
 *
 * Delayed produces.  An append whose answer must wait (acks=all until the
 * high watermark passes the batch, or any acks until a flush.messages fsync
 * completes) takes a kb_delayed_produce_t from a small pool; each one keeps
 * its libevent timer for life so the hot path allocates nothing once the
 * pool is warm.  A produce is in exactly one stage: FLUSHING (on the
 * partition's flushing list, kb_log_flush_async has its pointer) or PARKED
 * (on the parked list sorted by required offset, timer armed).  Its timeout
 * starts when it parks: the fsync is bounded by the disk, not by the client.
 *
 * Fetch waiters are woken on the loop, never inside the call that moved the
 * high watermark or changed the role: such a change queues the partition and
 * activates one event, whose callback moves the waiters of every queued
 * partition to a firing list and calls them one by one.  Waiters registered
 * while that runs wait for the next change.
 */
#include "broker/replica/kb_partition.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "broker/kb_topic_config.h"
#include "broker/replica/kb_partition_internal.h"
#include "broker/log/kb_producer_state.h"
#include "common/kc_log.h"
#include "coord/kc_model.h"
#include "proto/kp_types.h"

#define INITIAL_BUCKETS 256
#define MAX_POOLED_PRODUCES 1024
/* Failed log creations are tried again after a delay that doubles from the
 * first to the last value while they keep failing. */
#define CREATE_RETRY_FIRST_MS 1000
#define CREATE_RETRY_MAX_MS 30000

/* ---- the table ---- */

static size_t key_hash(const char *topic, int32_t partition) {
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)topic; *s; s++) h = (h ^ *s) * 16777619u;
    h = (h ^ (uint32_t)partition) * 16777619u;
    return h;
}

static kb_partition_t *table_find(const kb_replicas_t *r, const char *topic, int32_t partition) {
    kb_partition_t *p = r->buckets[key_hash(topic, partition) % r->n_buckets];
    while (p && (p->partition != partition || strcmp(p->topic, topic) != 0)) p = p->hnext;
    return p;
}

/* Doubles the bucket array; on allocation failure the table keeps working
 * with longer chains. */
static void table_grow(kb_replicas_t *r) {
    size_t n = r->n_buckets * 2;
    kb_partition_t **nb = calloc(n, sizeof(*nb));
    if (!nb) return;
    for (size_t i = 0; i < r->n_buckets; i++) {
        kb_partition_t *p = r->buckets[i], *next;
        for (; p; p = next) {
            next = p->hnext;
            size_t j = key_hash(p->topic, p->partition) % n;
            p->hnext = nb[j];
            nb[j] = p;
        }
    }
    free(r->buckets);
    r->buckets = nb;
    r->n_buckets = n;
}

static kb_partition_t *table_insert(kb_replicas_t *r, const char *topic, int32_t partition) {
    size_t len = strlen(topic) + 1;
    kb_partition_t *p = calloc(1, sizeof(*p) + len);
    if (!p) return NULL;
    memcpy(p->topic, topic, len);
    p->r = r;
    p->partition = partition;
    p->leader_epoch = -1;
    p->seen_epoch = KB_ROLE_NO_EPOCH;
    p->settings = r->defaults;
    p->min_insync = r->defaults.min_insync;
    TAILQ_INIT(&p->waiters);
    TAILQ_INIT(&p->parked);
    TAILQ_INIT(&p->flushing);
    if (r->n_partitions >= r->n_buckets * 2) table_grow(r);
    size_t i = key_hash(topic, partition) % r->n_buckets;
    p->hnext = r->buckets[i];
    r->buckets[i] = p;
    r->n_partitions++;
    return p;
}

/* ---- fetch waiters ---- */

/* Queues p's waiters to be woken from the loop (the caller may be deep in
 * an append or a view change). */
static void schedule_wake(kb_partition_t *p) {
    kb_replicas_t *r = p->r;
    if (p->wake_queued || TAILQ_EMPTY(&p->waiters)) return;
    p->wake_queued = true;
    TAILQ_INSERT_TAIL(&r->wake_queue, p, wake_link);
    if (!r->wake_scheduled) {
        r->wake_scheduled = true;
        event_active(r->wake_ev, EV_TIMEOUT, 0);
    }
}

/* Moves p's waiters to the firing list. */
static void queue_waiters(kb_partition_t *p) {
    kb_waiter_t *w;
    while ((w = TAILQ_FIRST(&p->waiters))) {
        TAILQ_REMOVE(&p->waiters, w, link);
        w->state = W_QUEUED;
        TAILQ_INSERT_TAIL(&p->r->firing, w, link);
    }
}

/* Wakes and frees every waiter on the firing list.  A wake callback may
 * cancel waiters still queued there (a fetch waiting on several partitions
 * drops the rest), so the head is re-read each time. */
static void fire_waiters(kb_replicas_t *r) {
    kb_waiter_t *w;
    while ((w = TAILQ_FIRST(&r->firing))) {
        TAILQ_REMOVE(&r->firing, w, link);
        w->state = W_FIRING;
        w->wake(w->arg);
        free(w);
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    kb_partition_t *p;
    r->wake_scheduled = false;
    while ((p = TAILQ_FIRST(&r->wake_queue))) {
        TAILQ_REMOVE(&r->wake_queue, p, wake_link);
        p->wake_queued = false;
        queue_waiters(p);
    }
    fire_waiters(r);
}

kb_waiter_t *kb_partition_wait(kb_partition_t *p, void (*wake)(void *arg), void *arg) {
    if (p->r->closing) return NULL;
    kb_waiter_t *w = malloc(sizeof(*w));
    if (!w) return NULL;
    w->p = p;
    w->state = W_WAITING;
    w->wake = wake;
    w->arg = arg;
    TAILQ_INSERT_TAIL(&p->waiters, w, link);
    return w;
}

void kb_waiter_cancel(kb_waiter_t *w) {
    if (!w) return;
    switch (w->state) {
    case W_WAITING: TAILQ_REMOVE(&w->p->waiters, w, link); break;
    case W_QUEUED: TAILQ_REMOVE(&w->p->r->firing, w, link); break;
    case W_FIRING: return; /* its own wake is running; wake_cb frees it */
    }
    free(w);
}

/* ---- delayed produces ---- */

static void produce_timeout(evutil_socket_t fd, short what, void *arg);

static kb_delayed_produce_t *produce_get(kb_replicas_t *r) {
    kb_delayed_produce_t *op = TAILQ_FIRST(&r->pool);
    if (op) {
        TAILQ_REMOVE(&r->pool, op, link);
        r->pool_size--;
        return op;
    }
    op = calloc(1, sizeof(*op));
    if (op && !(op->timer = evtimer_new(r->deps.base, produce_timeout, op))) {
        free(op);
        op = NULL;
    }
    return op;
}

static void produce_destroy(kb_delayed_produce_t *op) {
    if (op->timer) event_free(op->timer);
    free(op);
}

static void produce_put(kb_replicas_t *r, kb_delayed_produce_t *op) {
    if (r->pool_size >= MAX_POOLED_PRODUCES) {
        produce_destroy(op);
        return;
    }
    op->p = NULL;
    op->done = NULL;
    op->arg = NULL;
    TAILQ_INSERT_HEAD(&r->pool, op, link);
    r->pool_size++;
}

/* Takes op off whichever list its stage puts it on. */
static void produce_unlink(kb_delayed_produce_t *op) {
    kb_partition_t *p = op->p;
    if (op->stage == OP_PARKED) {
        TAILQ_REMOVE(&p->parked, op, link);
        evtimer_del(op->timer);
    } else if (op->stage == OP_FLUSHING) {
        TAILQ_REMOVE(&p->flushing, op, link);
    }
    op->stage = OP_IDLE;
}

/* Answers op and recycles it.  The callback runs last, after op is back in
 * the pool: it may produce again (even to this partition). */
static void produce_finish(kb_delayed_produce_t *op, int16_t error_code) {
    kb_produce_done_fn done = op->done;
    void *arg = op->arg;
    kb_append_result_t res = op->res;
    kb_replicas_t *r = op->p->r;
    produce_unlink(op);
    produce_put(r, op);
    done(arg, error_code, &res);
}

static int16_t produce_acked_error(const kb_partition_t *p) {
    return p->n_isr < p->min_insync ? KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND : KP_ERR_NONE;
}

/* Inserts op into the parked list, keeping it sorted by required offset
 * (appends arrive in offset order, so the scan from the tail is short). */
static void produce_park(kb_partition_t *p, kb_delayed_produce_t *op) {
    kb_delayed_produce_t *after = TAILQ_LAST(&p->parked, produce_list);
    while (after && after->required_offset > op->required_offset)
        after = TAILQ_PREV(after, produce_list, link);
    if (after) TAILQ_INSERT_AFTER(&p->parked, after, op, link);
    else TAILQ_INSERT_HEAD(&p->parked, op, link);
    op->stage = OP_PARKED;
    int32_t ms = op->timeout_ms > 0 ? op->timeout_ms : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(op->timer, &tv);
}

static void produce_timeout(evutil_socket_t fd, short what, void *arg) {
    produce_finish(arg, KP_ERR_REQUEST_TIMED_OUT);
}

/* Completes the parked produces the high watermark has reached. */
static void complete_parked(kb_partition_t *p) {
    int64_t hw = kb_log_high_watermark(p->log);
    kb_delayed_produce_t *op;
    while ((op = TAILQ_FIRST(&p->parked)) && op->required_offset <= hw) produce_finish(op, produce_acked_error(p));
}

/* Answers the parked produces (leadership lost).  Produces still waiting
 * for their fsync stay: the flusher holds their pointer, and
 * produce_await_hw() sees the lost leadership when the fsync returns. */
static void fail_parked(kb_partition_t *p, int16_t error_code) {
    kb_delayed_produce_t *op;
    while ((op = TAILQ_FIRST(&p->parked))) produce_finish(op, error_code);
}

/* The acks=all stage after any fsync: answer now or park until the high
 * watermark passes the batch. */
static void produce_await_hw(kb_partition_t *p, kb_delayed_produce_t *op) {
    if (!p->leader || p->leadership != op->leadership) {
        produce_finish(op, KP_ERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    if (kb_log_high_watermark(p->log) >= op->required_offset) {
        produce_finish(op, produce_acked_error(p));
        return;
    }
    produce_park(p, op);
}

static void produce_flushed(void *arg, int rc) {
    kb_delayed_produce_t *op = arg;
    if (op->orphaned) {
        produce_destroy(op);
        return;
    }
    produce_unlink(op);
    if (rc != 0) {
        kc_error("replica", "%s-%d: fsync failed; answering KAFKA_STORAGE_ERROR", op->p->topic, (int)op->p->partition);
        produce_finish(op, KP_ERR_KAFKA_STORAGE_ERROR);
    } else if (op->acks == -1) {
        produce_await_hw(op->p, op);
    } else {
        produce_finish(op, KP_ERR_NONE);
    }
}

/* ---- high watermark ---- */

/* With no replication yet the HW moves only when the ISR is this broker
 * alone; then it follows the log end offset.  Returns true if it moved. */
static bool update_high_watermark(kb_partition_t *p) {
    if (!p->leader || !kb_partition_isr_is_self(p)) return false;
    int64_t old = kb_log_high_watermark(p->log);
    if (kb_log_end_offset(p->log) <= old) return false;
    kb_log_set_high_watermark(p->log, kb_log_end_offset(p->log));
    if (kb_log_high_watermark(p->log) == old) return false;
    schedule_wake(p);
    return true;
}

void kb_partition_on_isr_change(kb_partition_t *p) {
    if (update_high_watermark(p)) complete_parked(p);
}

/* ---- produce ---- */

static void produce_now(kb_produce_done_fn done, void *arg, int16_t error_code) {
    kb_append_result_t res = {.base_offset = -1, .last_offset = -1, .log_append_time = -1, .log_start_offset = -1};
    done(arg, error_code, &res);
}

/* The answer after a successful append: now when nothing needs waiting for,
 * else through a delayed produce. */
static void produce_after_append(kb_partition_t *p, int16_t acks, int32_t timeout_ms, const kb_append_result_t *res,
                                 kb_produce_done_fn done, void *arg) {
    bool flush = kb_log_flush_due(p->log);
    int64_t required = res->last_offset + 1;
    if (!flush && (acks != -1 || kb_log_high_watermark(p->log) >= required)) {
        done(arg, acks == -1 ? produce_acked_error(p) : KP_ERR_NONE, res);
        return;
    }
    kb_delayed_produce_t *op = produce_get(p->r);
    if (!op) {
        kc_error("replica", "%s-%d: out of memory for a delayed produce", p->topic, (int)p->partition);
        done(arg, KP_ERR_UNKNOWN_SERVER_ERROR, res);
        return;
    }
    *op = (kb_delayed_produce_t){.p = p, .timer = op->timer, .acks = acks, .timeout_ms = timeout_ms,
                                 .leadership = p->leadership, .required_offset = required, .res = *res,
                                 .done = done, .arg = arg};
    if (!flush) {
        produce_park(p, op);
        return;
    }
    op->stage = OP_FLUSHING;
    TAILQ_INSERT_TAIL(&p->flushing, op, link);
    kb_log_flush_async(p->log, produce_flushed, op);
}

/* A retry of a batch already in the log (wire-protocol.md 7.2 step 1):
 * nothing is appended; it is answered with the offsets the batch got and,
 * as Kafka does, its cached timestamp as log_append_time, once acks allow
 * (the high watermark passing it, for acks=all). */
static void produce_duplicate(kb_partition_t *p, int16_t acks, int32_t timeout_ms, const kb_producer_batch_t *b,
                              kb_produce_done_fn done, void *arg) {
    kb_append_result_t res = {.base_offset = b->last_offset - b->offset_delta, .last_offset = b->last_offset,
                              .log_append_time = b->timestamp, .log_start_offset = kb_log_start_offset(p->log)};
    kc_debug("replica", "%s-%d: duplicate batch at offset %lld answered from the producer state", p->topic,
             (int)p->partition, (long long)res.base_offset);
    produce_after_append(p, acks, timeout_ms, &res, done, arg);
}

/* The idempotent-producer checks run before the append (45 and 47 refuse
 * the batch, a duplicate is answered without appending); the log records
 * every appended batch in the same producer table. */
void kb_partition_produce(kb_partition_t *p, uint8_t *batch, const kp_batch_header_t *h, int16_t acks,
                          int32_t timeout_ms, kb_produce_done_fn done, void *arg) {
    kb_append_result_t res;
    kb_producer_verdict_t verdict;
    if (!p->hosted || !p->leader) {
        produce_now(done, arg, KP_ERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    if (acks == -1 && p->n_isr < p->min_insync) {
        produce_now(done, arg, KP_ERR_NOT_ENOUGH_REPLICAS);
        return;
    }
    kb_producers_check(kb_log_producers(p->log), h, &verdict);
    if (verdict.error_code != KP_ERR_NONE) {
        produce_now(done, arg, verdict.error_code);
        return;
    }
    if (verdict.duplicate) {
        produce_duplicate(p, acks, timeout_ms, &verdict.cached, done, arg);
        return;
    }
    if (kb_log_append(p->log, batch, h, p->leader_epoch, &res) != 0) {
        produce_now(done, arg, KP_ERR_KAFKA_STORAGE_ERROR);
        return;
    }
    if (update_high_watermark(p)) complete_parked(p);
    produce_after_append(p, acks, timeout_ms, &res, done, arg);
}

/* ---- roles ---- */

static void log_role_change(const kb_partition_t *p, const kb_role_t *to) {
    if (p->hosted && !to->hosted)
        kc_info("replica", "%s-%d: no longer assigned to this broker%s; log kept", p->topic, (int)p->partition,
                p->leader ? ", leadership dropped" : "");
    else if (to->leader && !p->leader)
        kc_info("replica", "%s-%d: leader (epoch %d, ISR of %d)", p->topic, (int)p->partition, (int)to->leader_epoch,
                to->n_isr);
    else if (p->leader && !to->leader)
        kc_info("replica", "%s-%d: no longer leader (epoch %d)", p->topic, (int)p->partition, (int)to->leader_epoch);
    else if (to->hosted && (!p->hosted || to->leader_epoch != p->leader_epoch))
        kc_debug("replica", "%s-%d: %s (epoch %d)", p->topic, (int)p->partition, to->leader ? "leader" : "follower",
                 (int)to->leader_epoch);
}

/* Moves p, which has its log, to role `to`: losing leadership fails the
 * waiting produces, a changed ISR may move the high watermark, and any
 * change of role or epoch wakes the fetch waiters.  The ISR goes first
 * (kb_partition_isr_apply compares `to` with the role p still holds). */
static void partition_set_role(kb_partition_t *p, const kb_role_t *to) {
    bool was_leader = p->leader;
    bool new_epoch = to->leader_epoch != p->leader_epoch;
    bool changed = to->hosted != p->hosted || to->leader != p->leader || new_epoch;
    log_role_change(p, to);
    kb_partition_isr_apply(p, to, to->leader && !was_leader, new_epoch);
    p->hosted = to->hosted;
    p->leader = to->leader;
    p->leader_epoch = to->leader_epoch;
    if (to->leader && !was_leader) p->leadership++;
    if (changed) schedule_wake(p);
    /* Fields first: a produce callback below may re-enter this partition. */
    if (was_leader && !to->leader) fail_parked(p, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    if (update_high_watermark(p)) complete_parked(p);
}

/* The role update u gives this broker; p (may be NULL) supplies the epoch
 * an unassigning update without one leaves in place. */
static void role_from_update(kb_role_t *to, const kb_role_update_t *u, const kb_partition_t *p, int32_t me) {
    bool hosted = kc_int32_contains(u->replicas, u->n_replicas, me);
    *to = (kb_role_t){.hosted = hosted, .leader_epoch = u->leader_epoch, .zk_version = -1,
                      .replicas = u->replicas, .n_replicas = u->n_replicas};
    if (!hosted) {
        if (u->leader_epoch == KB_ROLE_NO_EPOCH && p) to->leader_epoch = p->leader_epoch;
        return; /* no role here: neither leader nor an ISR to keep */
    }
    if (u->leader_epoch == KB_ROLE_NO_EPOCH) return;
    to->has_state = true;
    to->leader = u->leader == me;
    to->controller_epoch = u->controller_epoch;
    to->zk_version = u->zk_version;
    to->isr = u->isr;
    to->n_isr = u->n_isr;
}

/* Fencing (kb_roles.h): false when `to` must not be applied to p. */
static bool role_admitted(kb_replicas_t *r, const kb_partition_t *p, const kb_role_t *to) {
    if (!p->assigned || to->leader_epoch == KB_ROLE_NO_EPOCH) return true;
    if (to->leader_epoch < p->seen_epoch) {
        r->roles_stats.refused_stale_epoch++;
        kc_warn("replica", "%s-%d: role update refused: leader epoch %d is older than %d", p->topic, (int)p->partition,
                (int)to->leader_epoch, (int)p->seen_epoch);
        return false;
    }
    if (to->leader_epoch == p->seen_epoch && to->hosted == p->assigned) {
        r->roles_stats.ignored_same_epoch++;
        return false;
    }
    return true;
}

/* Keeps a copy of `to` in p->want (its arrays in p->want_ids).  Out of
 * memory it keeps the role without its ISR: the partition is then hosted
 * with no state to shrink from until the next update. */
static void want_set(kb_partition_t *p, const kb_role_t *to) {
    size_t n = (size_t)to->n_isr + (size_t)to->n_replicas;
    int32_t *ids = n > 0 ? malloc(n * sizeof(*ids)) : NULL;
    free(p->want_ids);
    p->want = *to;
    p->want_ids = ids;
    p->has_want = true;
    if (n > 0 && !ids) {
        kc_error("replica", "%s-%d: out of memory for its role; hosting it without an ISR", p->topic, (int)p->partition);
        p->want.has_state = false;
        p->want.isr = p->want.replicas = NULL;
        p->want.n_isr = p->want.n_replicas = 0;
        return;
    }
    if (to->n_isr > 0) memcpy(ids, to->isr, (size_t)to->n_isr * sizeof(*ids));
    if (to->n_replicas > 0) memcpy(ids + to->n_isr, to->replicas, (size_t)to->n_replicas * sizeof(*ids));
    p->want.isr = ids;
    p->want.replicas = ids + to->n_isr;
}

static void want_clear(kb_partition_t *p) {
    free(p->want_ids);
    p->want_ids = NULL;
    p->has_want = false;
}

/* p has its log: it takes the role it was waiting for, if any. */
static void take_wanted(kb_partition_t *p) {
    if (!p->has_want) return;
    kb_role_t to = p->want;
    partition_set_role(p, &to);
    want_clear(p);
}

static bool partition_open_log(kb_replicas_t *r, kb_partition_t *p);

/* A log that could not be created is reported once (until one is), and
 * the partition waits on r->retry for retry_ev. */
static void creation_failed(kb_partition_t *p, const char *why) {
    kb_replicas_t *r = p->r;
    if (r->creations_stopped) return; /* cut short by shutdown: not a failure */
    if (!p->log_failed)
        kc_error("replica", "%s-%d: cannot create its log (%s); not hosting it until a later attempt succeeds",
                 p->topic, (int)p->partition, why);
    p->log_failed = true;
    if (!p->retry_queued) {
        TAILQ_INSERT_TAIL(&r->retry, p, retry_link);
        p->retry_queued = true;
    }
    if (!r->closing && !evtimer_pending(r->retry_ev, NULL)) {
        struct timeval tv = {r->retry_delay_ms / 1000, (r->retry_delay_ms % 1000) * 1000};
        evtimer_add(r->retry_ev, &tv);
    }
}

/* The creation worker's completion, on the loop: p takes the last role it
 * was given, whatever changed while its log was being built, and the
 * topic's settings as they are now. */
static void log_created(void *arg, kb_log_t *log, const char *why) {
    kb_partition_t *p = arg;
    p->creating = NULL;
    if (!log) {
        creation_failed(p, why);
        return;
    }
    kb_log_set_config(log, &p->settings.log);
    p->log = log;
    p->log_failed = false;
    p->r->retry_delay_ms = CREATE_RETRY_FIRST_MS; /* the disk has room again, or never lacked it */
    take_wanted(p);
}

/* Gives p its log: one the manager has (loaded at start-up) at once; a new
 * one is built off the loop (kb_logmgr_create_async), and p takes its
 * role when that completes.  True when p has its log now. */
static bool partition_open_log(kb_replicas_t *r, kb_partition_t *p) {
    if (p->creating) return false;
    kb_log_t *log = kb_logmgr_get(r->deps.logs, p->topic, p->partition);
    if (log) {
        kb_log_set_config(log, &p->settings.log);
        p->log = log;
        p->log_failed = false;
        return true;
    }
    p->creating = kb_logmgr_create_async(r->deps.logs, p->topic, p->partition, &p->settings.log, log_created, p);
    if (!p->creating) creation_failed(p, strerror(errno));
    return false;
}

/* Applies one admitted role: at once when p has its log; otherwise p
 * keeps it and takes it once its log exists (an update that unassigns
 * it meanwhile cancels that). */
static void partition_take_role(kb_replicas_t *r, kb_partition_t *p, const kb_role_t *to) {
    p->assigned = to->hosted;
    p->seen_epoch = to->leader_epoch;
    if (p->log) {
        partition_set_role(p, to);
        return;
    }
    if (!to->hosted) {
        want_clear(p);
        return;
    }
    want_set(p, to);
    if (partition_open_log(r, p)) take_wanted(p);
}

static void apply_role(kb_replicas_t *r, const kb_role_update_t *u) {
    kb_partition_t *p = table_find(r, u->topic, u->partition);
    kb_role_t to;
    role_from_update(&to, u, p, r->deps.cfg->broker_id);
    if (!p && !to.hosted) return; /* never hosted here: nothing to drop */
    if (!p && !(p = table_insert(r, u->topic, u->partition))) {
        kc_error("replica", "%s-%d: out of memory", u->topic, (int)u->partition);
        return;
    }
    if (!role_admitted(r, p, &to)) return;
    r->roles_stats.applied++;
    if (u->settings && !p->log) {
        p->settings = *u->settings;
        p->min_insync = u->settings->min_insync;
    }
    partition_take_role(r, p, &to);
}

void kb_replicas_apply_roles(kb_replicas_t *r, const kb_role_update_t *u, size_t n) {
    for (size_t i = 0; i < n; i++) apply_role(r, &u[i]);
}

void kb_replicas_apply_topic_settings(kb_replicas_t *r, const char *topic, int32_t n_partitions,
                                      const kb_topic_settings_t *ts) {
    for (int32_t pid = 0; pid < n_partitions; pid++) {
        kb_partition_t *p = table_find(r, topic, pid);
        if (!p) continue;
        p->settings = *ts;
        p->min_insync = ts->min_insync;
        if (p->log) kb_log_set_config(p->log, &ts->log);
    }
}

void kb_replicas_each_assigned(kb_replicas_t *r, void (*fn)(void *arg, const char *topic, int32_t partition),
                               void *arg) {
    for (size_t i = 0; i < r->n_buckets; i++)
        for (kb_partition_t *p = r->buckets[i]; p; p = p->hnext)
            if (p->assigned) fn(arg, p->topic, p->partition);
}

void kb_replicas_roles_stats(const kb_replicas_t *r, kb_roles_stats_t *out) { *out = r->roles_stats; }

/* Partitions whose log could not be created try again (those still
 * assigned here), on a timer rather than on every role update: a full
 * disk or a descriptor shortage fails a whole burst at once, and retrying
 * all of it on each of the burst's own updates would cost the loop the
 * square of its size.  A partition that gets a new role is tried at once. */
static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    struct partition_list todo = TAILQ_HEAD_INITIALIZER(todo);
    kb_partition_t *p;
    TAILQ_CONCAT(&todo, &r->retry, retry_link);
    r->retry_delay_ms = r->retry_delay_ms * 2 > CREATE_RETRY_MAX_MS ? CREATE_RETRY_MAX_MS : r->retry_delay_ms * 2;
    while ((p = TAILQ_FIRST(&todo))) {
        TAILQ_REMOVE(&todo, p, retry_link);
        p->retry_queued = false;
        /* A new failure queues it on r->retry again. */
        if (!p->log && p->has_want && partition_open_log(r, p)) take_wanted(p);
    }
}

void kb_replicas_stop_creating(kb_replicas_t *r) {
    r->creations_stopped = true;
    if (r->deps.logs) kb_logmgr_stop_creating(r->deps.logs);
}

/* ---- accessors and the log, for the handlers ---- */

kb_partition_t *kb_replicas_get(kb_replicas_t *r, const char *topic, int32_t partition) {
    kb_partition_t *p = table_find(r, topic, partition);
    return p && p->hosted ? p : NULL;
}

/* A hosted partition always has its log (it is hosted once the log is
 * open), and keeps it until kb_replicas_free. */
bool kb_partition_is_leader(const kb_partition_t *p) { return p->hosted && p->leader; }
int32_t kb_partition_leader_epoch(const kb_partition_t *p) { return p->leader_epoch; }
int64_t kb_partition_high_watermark(const kb_partition_t *p) { return kb_log_high_watermark(p->log); }
int64_t kb_partition_log_start_offset(const kb_partition_t *p) { return kb_log_start_offset(p->log); }
int64_t kb_partition_log_end_offset(const kb_partition_t *p) { return kb_log_end_offset(p->log); }
int32_t kb_partition_max_message_bytes(const kb_partition_t *p) { return kb_log_get_config(p->log)->max_message_bytes; }

int kb_partition_read(kb_partition_t *p, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                      kb_partition_range_t *out) {
    return kb_log_read(p->log, offset, upper, max_bytes, first_batch_whole, out);
}

void kb_partition_range_release(kb_partition_range_t *r) {
    kb_log_range_release(r);
    *r = (kb_partition_range_t){.fd = -1};
}

int kb_partition_offset_for_timestamp(kb_partition_t *p, int64_t ts, int64_t upper, kb_partition_time_fn done,
                                      void *arg) {
    const kb_replicas_deps_t *d = &p->r->deps;
    if (!d->worker) return -1;
    return kb_log_offset_for_timestamp(p->log, d->worker, ts, upper, (size_t)d->cfg->batch_decompressed_max_bytes,
                                       done, arg);
}

int kb_partition_delete_records(kb_partition_t *p, int64_t offset, int64_t *low_watermark) {
    return kb_log_delete_records(p->log, offset, low_watermark) == 0 ? 0 : 1;
}

/* ---- life cycle ---- */

kb_replicas_t *kb_replicas_new(const kb_replicas_deps_t *deps) {
    kb_replicas_t *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->deps = *deps;
    kb_topic_config_resolve(deps->cfg, NULL, 0, &r->defaults.log);
    r->defaults.min_insync = kb_topic_config_min_insync(deps->cfg, NULL, 0);
    r->n_buckets = INITIAL_BUCKETS;
    r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
    r->wake_ev = event_new(deps->base, -1, 0, wake_cb, r);
    TAILQ_INIT(&r->wake_queue);
    TAILQ_INIT(&r->retry);
    r->retry_ev = evtimer_new(deps->base, retry_cb, r);
    r->retry_delay_ms = CREATE_RETRY_FIRST_MS;
    TAILQ_INIT(&r->firing);
    TAILQ_INIT(&r->pool);
    if (!r->buckets || !r->wake_ev || !r->retry_ev || kb_replicas_isr_start(r) != 0) {
        kb_replicas_free(r);
        return NULL;
    }
    return r;
}

void kb_replicas_set_session(kb_replicas_t *r, kc_session_t *zk) { r->deps.zk = zk; }

/* Calls fn on every partition; fn must not add or remove partitions. */
static void replicas_each(kb_replicas_t *r, void (*fn)(kb_partition_t *p)) {
    for (size_t i = 0; i < r->n_buckets; i++) {
        kb_partition_t *p = r->buckets[i], *next;
        for (; p; p = next) {
            next = p->hnext;
            fn(p);
        }
    }
}

static void partition_resign(kb_partition_t *p) {
    /* A creation still queued or running completes when the log manager
     * closes (after this), without calling back. */
    kb_logmgr_create_abandon(p->creating);
    p->creating = NULL;
    p->hosted = p->leader = false;
    if (p->wake_queued) {
        TAILQ_REMOVE(&p->r->wake_queue, p, wake_link);
        p->wake_queued = false;
    }
}

/* A produce waiting for an fsync cannot be recalled from the flusher: it is
 * answered now, and produce_flushed() frees it if the flush ever returns. */
static void produce_orphan(kb_delayed_produce_t *op) {
    kb_produce_done_fn done = op->done;
    void *arg = op->arg;
    kb_append_result_t res = op->res;
    produce_unlink(op);
    event_free(op->timer);
    op->timer = NULL;
    op->orphaned = true;
    op->p = NULL;
    done(arg, KP_ERR_NOT_LEADER_OR_FOLLOWER, &res);
}

/* Answers every produce and wakes every waiter of p, synchronously: the
 * loop no longer runs. */
static void partition_answer_all(kb_partition_t *p) {
    kb_delayed_produce_t *op;
    fail_parked(p, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    while ((op = TAILQ_FIRST(&p->flushing))) produce_orphan(op);
    queue_waiters(p);
    fire_waiters(p->r);
}

static void partition_free(kb_partition_t *p) {
    kb_partition_isr_free(p);
    want_clear(p);
    free(p);
}

void kb_replicas_free(kb_replicas_t *r) {
    if (!r) return;
    kb_replicas_isr_stop(r);
    if (r->buckets) {
        /* Three passes: once nothing leads, produce callbacks that re-enter
         * are answered NOT_LEADER_OR_FOLLOWER at once and nothing new can
         * wait; every callback has run before any partition is freed. */
        r->closing = true;
        replicas_each(r, partition_resign);
        replicas_each(r, partition_answer_all);
        replicas_each(r, partition_free);
        free(r->buckets);
    }
    kb_delayed_produce_t *op;
    while ((op = TAILQ_FIRST(&r->pool))) {
        TAILQ_REMOVE(&r->pool, op, link);
        produce_destroy(op);
    }
    if (r->wake_ev) event_free(r->wake_ev);
    if (r->retry_ev) event_free(r->retry_ev);
    free(r);
}
