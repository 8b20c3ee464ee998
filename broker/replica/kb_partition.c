/*
 * kb_partition.c - the partition table and the delayed operations that
 * wait on hosted partitions (see kb_partition.h).
 *
 * Partitions live in a hash table keyed by topic and partition id.  A
 * partition object, once created, lives until kb_replicas_free: when its
 * assignment no longer lists this broker it only loses its role (the log stays
 * open and on disk), so the waiters and delayed produces that point at it can
 * never dangle.  kb_replicas_get() hides partitions that are not hosted.  A
 * deleted partition (its topic deleted) loses its log too, keeping a small
 * object (its name and epochs forgotten) until the broker stops, or until
 * a topic of that name hosts it again.
 *
 * Roles arrive as data (kb_roles.h) and are applied, with the logs they
 * make partitions host, by kb_partition_roles.c; the leader's ISR upkeep
 * is kb_partition_isr.c's.  This file keeps the table, the delayed
 * operations, the calls the handlers read and append through, and the
 * life cycle.
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

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "broker/kb_topic_config.h"
#include "broker/replica/kb_partition_internal.h"
#include "broker/log/kb_producer_state.h"
#include "broker/net/kb_sendfile.h"
#include "common/kc_log.h"
#include "coord/kc_model.h"
#include "proto/kp_types.h"

#define INITIAL_BUCKETS 256
#define MAX_POOLED_PRODUCES 1024

/* ---- the table ---- */

int64_t kb_replicas_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t key_hash(const char *topic, int32_t partition) {
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)topic; *s; s++) h = (h ^ *s) * 16777619u;
    h = (h ^ (uint32_t)partition) * 16777619u;
    return h;
}

kb_partition_t *kb_replicas_find(const kb_replicas_t *r, const char *topic, int32_t partition) {
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

kb_partition_t *kb_replicas_add(kb_replicas_t *r, const char *topic, int32_t partition) {
    size_t len = strlen(topic) + 1;
    kb_partition_t *p = calloc(1, sizeof(*p) + len);
    if (!p) return NULL;
    memcpy(p->topic, topic, len);
    p->r = r;
    p->partition = partition;
    p->leader_epoch = -1;
    p->seen_epoch = KB_ROLE_NO_EPOCH;
    p->min_insync = r->defaults.min_insync;
    p->leader_id = -1;
    TAILQ_INIT(&p->waiters);
    TAILQ_INIT(&p->append_waiters);
    TAILQ_INIT(&p->parked);
    TAILQ_INIT(&p->flushing);
    TAILQ_INIT(&p->turns);
    if (r->n_partitions >= r->n_buckets * 2) table_grow(r);
    size_t i = key_hash(topic, partition) % r->n_buckets;
    p->hnext = r->buckets[i];
    r->buckets[i] = p;
    r->n_partitions++;
    return p;
}

/* ---- fetch waiters ---- */

/* Queues p to have the waiters of the kinds flagged woken from the loop
 * (the caller may be deep in an append or a view change). */
static void schedule(kb_partition_t *p, bool consumers, bool followers) {
    kb_replicas_t *r = p->r;
    p->wake_consumers |= consumers && !TAILQ_EMPTY(&p->waiters);
    p->wake_followers |= followers && !TAILQ_EMPTY(&p->append_waiters);
    if (p->wake_queued || !(p->wake_consumers || p->wake_followers)) return;
    p->wake_queued = true;
    TAILQ_INSERT_TAIL(&r->wake_queue, p, wake_link);
    if (!r->wake_scheduled) {
        r->wake_scheduled = true;
        event_active(r->wake_ev, EV_TIMEOUT, 0);
    }
}

void kb_partition_schedule_wake(kb_partition_t *p) { schedule(p, true, true); }
void kb_partition_schedule_append_wake(kb_partition_t *p) { schedule(p, false, true); }

static void queue_list(kb_partition_t *p, struct waiter_list *list) {
    kb_waiter_t *w;
    while ((w = TAILQ_FIRST(list))) {
        TAILQ_REMOVE(list, w, link);
        w->state = W_QUEUED;
        TAILQ_INSERT_TAIL(&p->r->firing, w, link);
    }
}

/* Moves p's waiters of the kinds due (all of them when `all`) to the
 * firing list. */
static void queue_waiters(kb_partition_t *p, bool all) {
    if (all || p->wake_consumers) queue_list(p, &p->waiters);
    if (all || p->wake_followers) queue_list(p, &p->append_waiters);
    p->wake_consumers = p->wake_followers = false;
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
        queue_waiters(p, false);
    }
    fire_waiters(r);
}

static kb_waiter_t *wait_on(kb_partition_t *p, struct waiter_list *list, void (*wake)(void *arg), void *arg) {
    if (p->r->closing) return NULL;
    kb_waiter_t *w = malloc(sizeof(*w));
    if (!w) return NULL;
    *w = (kb_waiter_t){.p = p, .list = list, .state = W_WAITING, .wake = wake, .arg = arg};
    TAILQ_INSERT_TAIL(list, w, link);
    return w;
}

kb_waiter_t *kb_partition_wait(kb_partition_t *p, void (*wake)(void *arg), void *arg) {
    return wait_on(p, &p->waiters, wake, arg);
}

kb_waiter_t *kb_partition_wait_append(kb_partition_t *p, void (*wake)(void *arg), void *arg) {
    return wait_on(p, &p->append_waiters, wake, arg);
}

void kb_waiter_cancel(kb_waiter_t *w) {
    if (!w) return;
    switch (w->state) {
    case W_WAITING: TAILQ_REMOVE(w->list, w, link); break;
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
    kb_produce_result_t res = op->res;
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
void kb_partition_fail_parked(kb_partition_t *p, int16_t error_code) {
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

/* The leader's HW rule (spec 3.2, kb_isr_hw_candidate): it moves forward
 * only, to the least log end offset of the ISR and of the followers caught
 * up lately.  Without a known ISR it does not move.  Returns true if it
 * moved. */
static bool update_high_watermark(kb_partition_t *p) {
    if (!p->leader || !p->isr_known) return false;
    int64_t old = kb_log_high_watermark(p->log), leo = kb_log_end_offset(p->log);
    if (leo <= old) return false;
    int64_t hw = kb_isr_hw_candidate(p->isr, p->n_isr, p->r->deps.cfg->broker_id, p->followers, p->n_followers,
                                     leo, kb_replicas_now_ms(), p->r->deps.cfg->replica_lag_time_max_ms);
    if (hw <= old) return false;
    kb_log_set_high_watermark(p->log, hw);
    if (kb_log_high_watermark(p->log) == old) return false;
    /* Consumers only: followers learn the HW from their next fetch, as in
     * Kafka; waking their parked fetches for it would double the answers
     * under load. */
    schedule(p, true, false);
    return true;
}

void kb_partition_update_hw(kb_partition_t *p) {
    if (update_high_watermark(p)) complete_parked(p);
}

/* ---- produce ---- */

static void produce_now(kb_produce_done_fn done, void *arg, int16_t error_code) {
    kb_produce_result_t res = {.base_offset = -1, .last_offset = -1, .log_append_time = -1, .log_start_offset = -1};
    done(arg, error_code, &res);
}

/* The answer after a successful append: now when nothing needs waiting for,
 * else through a delayed produce. */
static void produce_after_append(kb_partition_t *p, int16_t acks, int32_t timeout_ms, const kb_produce_result_t *res,
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
    kb_produce_result_t res = {.base_offset = b->last_offset - b->offset_delta, .last_offset = b->last_offset,
                               .log_append_time = b->timestamp, .log_start_offset = kb_log_start_offset(p->log)};
    kc_debug("replica", "%s-%d: duplicate batch at offset %lld answered from the producer state", p->topic,
             (int)p->partition, (long long)res.base_offset);
    produce_after_append(p, acks, timeout_ms, &res, done, arg);
}

void kb_partition_note_refused(kb_partition_t *p, const kp_batch_header_t *h, int16_t error_code) {
    if (p->log) kb_producers_note_refused(kb_log_producers(p->log), h, error_code);
}

static void produce_refused(kb_partition_t *p, const kp_batch_header_t *h, int16_t error_code,
                            kb_produce_done_fn done, void *arg) {
    kb_partition_note_refused(p, h, error_code);
    produce_now(done, arg, error_code);
}

/* The idempotent-producer checks run before the append (45 and 47 refuse
 * the batch, a duplicate is answered without appending); the log records
 * every appended batch in the same producer table.  A refusal before the
 * append is noted in that table (kb_producers_note_refused), so that the
 * batches pipelined behind the refused one get its retriable error, not
 * 45. */
void kb_partition_produce(kb_partition_t *p, uint8_t *batch, const kp_batch_header_t *h, int16_t acks,
                          int32_t timeout_ms, kb_produce_done_fn done, void *arg) {
    kb_append_result_t appended;
    kb_producer_verdict_t verdict;
    if (!kb_partition_is_leader(p)) {
        /* Deleted while its batch was being checked on a worker. */
        produce_refused(p, h, p->deleted ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION : KP_ERR_NOT_LEADER_OR_FOLLOWER, done,
                        arg);
        return;
    }
    if (acks == -1 && p->n_isr < p->min_insync) {
        produce_refused(p, h, KP_ERR_NOT_ENOUGH_REPLICAS, done, arg);
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
    if (kb_log_append(p->log, batch, h, p->leader_epoch, &appended) != 0) {
        produce_refused(p, h, KP_ERR_KAFKA_STORAGE_ERROR, done, arg);
        return;
    }
    kb_produce_result_t res = {appended.base_offset, appended.last_offset, appended.log_append_time,
                               appended.log_start_offset};
    kb_partition_schedule_append_wake(p);
    if (update_high_watermark(p)) complete_parked(p);
    produce_after_append(p, acks, timeout_ms, &res, done, arg);
}

/* ---- accessors and the log, for the handlers ---- */

kb_partition_t *kb_replicas_get(kb_replicas_t *r, const char *topic, int32_t partition) {
    kb_partition_t *p = kb_replicas_find(r, topic, partition);
    return p && p->hosted ? p : NULL;
}

/* A hosted partition always has its log (it is hosted once the log is
 * open), and keeps it until kb_replicas_free. */
bool kb_partition_is_leader(const kb_partition_t *p) {
    return p->hosted && p->leader && kb_replicas_lease_held(p->r);
}

bool kb_replicas_lease_held(const kb_replicas_t *r) { return !r->deps.zk || kc_session_lease_held(r->deps.zk); }
int32_t kb_partition_leader_epoch(const kb_partition_t *p) { return p->leader_epoch; }
int64_t kb_partition_high_watermark(const kb_partition_t *p) { return p->log ? kb_log_high_watermark(p->log) : -1; }
int64_t kb_partition_log_start_offset(const kb_partition_t *p) { return p->log ? kb_log_start_offset(p->log) : -1; }
int64_t kb_partition_log_end_offset(const kb_partition_t *p) { return p->log ? kb_log_end_offset(p->log) : -1; }
bool kb_partition_is_deleted(const kb_partition_t *p) { return p->deleted; }

bool kb_partition_high_watermark_lags_epoch(const kb_partition_t *p) {
    return p->leader && p->log && kb_log_high_watermark(p->log) < p->epoch_start_offset;
}
int32_t kb_partition_max_message_bytes(const kb_partition_t *p) { return kb_log_get_config(p->log)->max_message_bytes; }
int kb_partition_compression_codec(const kb_partition_t *p) { return kb_log_get_config(p->log)->compression_codec; }

int kb_partition_read(kb_partition_t *p, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                      kb_partition_range_t *out) {
    kb_log_range_t r;
    int rc = kb_log_read(p->log, offset, upper, max_bytes, first_batch_whole, &r);
    *out = (kb_partition_range_t){.segment = r.segment, .fd = r.fd, .pos = (int64_t)r.pos, .len = r.len};
    return rc;
}

int kb_partition_read_batches(kb_partition_t *p, int64_t offset, size_t max_bytes, kb_partition_range_t *out) {
    kb_log_range_t r;
    int rc = kb_log_read_batches(p->log, offset, kb_log_end_offset(p->log), max_bytes, &r);
    *out = (kb_partition_range_t){.segment = r.segment, .fd = r.fd, .pos = (int64_t)r.pos, .len = r.len};
    return rc;
}

size_t kb_partition_range_len(const kb_partition_range_t *r) { return r->segment ? r->len : 0; }
bool kb_partition_range_empty(const kb_partition_range_t *r) { return kb_partition_range_len(r) == 0; }

/* Drops one range's hold on its segment, given the segment alone (what a
 * sendfile output keeps for a queued range). */
static void release_segment(void *segment) {
    kb_log_range_t r = {.fd = -1, .segment = segment};
    kb_log_range_release(&r);
}

void kb_partition_range_release(kb_partition_range_t *r) {
    if (r->segment) release_segment(r->segment);
    *r = (kb_partition_range_t){.fd = -1};
}

int kb_partition_range_send(kb_sendfile_t *out, kb_partition_range_t *r) {
    kb_partition_range_t held = *r;
    *r = (kb_partition_range_t){.fd = -1};
    if (!held.segment) return 0;
    /* The output owns the reference from here, on failure too. */
    return kb_sendfile_add_file(out, held.fd, held.pos, held.len, release_segment, held.segment);
}

int kb_partition_offset_for_timestamp(kb_partition_t *p, int64_t ts, int64_t upper, kb_partition_time_fn done,
                                      void *arg) {
    const kb_replicas_deps_t *d = &p->r->deps;
    if (!d->worker || !p->log) return -1;
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
    if (!r->deps.write_isr) r->deps.write_isr = kc_state_leader_write;
    kb_topic_config_resolve(deps->cfg, NULL, 0, &r->defaults.log);
    r->defaults.min_insync = kb_topic_config_min_insync(deps->cfg, NULL, 0);
    r->n_buckets = INITIAL_BUCKETS;
    r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
    r->wake_ev = event_new(deps->base, -1, 0, wake_cb, r);
    TAILQ_INIT(&r->wake_queue);
    TAILQ_INIT(&r->retry);
    TAILQ_INIT(&r->firing);
    TAILQ_INIT(&r->pool);
    if (!r->buckets || !r->wake_ev || kb_replicas_roles_start(r) != 0 || kb_replicas_isr_start(r) != 0) {
        kb_replicas_free(r);
        return NULL;
    }
    return r;
}

void kb_replicas_set_session(kb_replicas_t *r, kc_session_t *zk) { r->deps.zk = zk; }

void kb_replicas_replication_stats(const kb_replicas_t *r, kb_replication_stats_t *out) { *out = r->repl_stats; }
void kb_replicas_set_worker(kb_replicas_t *r, kb_worker_t *worker) { r->deps.worker = worker; }

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

/* Partitions that were given a follower role before the fetchers existed
 * start following now. */
static void follow_if_follower(kb_partition_t *p) {
    if (p->hosted && !p->leader && p->leader_id >= 0 && !p->follow.fetcher) kb_fetcher_follow(p);
}

int kb_replicas_start_fetchers(kb_replicas_t *r, const kb_fetchers_opts_t *o) {
    if (r->fetchers) return 0;
    if (!(r->fetchers = kb_fetchers_new(r, o))) return -1;
    replicas_each(r, follow_if_follower);
    return 0;
}

void kb_replicas_set_identity(kb_replicas_t *r, kb_rpc_identity_t self) {
    if (r->fetchers) kb_fetchers_set_identity(r->fetchers, self);
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
    kb_produce_result_t res = op->res;
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
    kb_partition_fail_parked(p, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    while ((op = TAILQ_FIRST(&p->flushing))) produce_orphan(op);
    queue_waiters(p, true);
    fire_waiters(p->r);
}

static void partition_free(kb_partition_t *p) {
    kb_partition_turns_orphan(p);
    kb_partition_isr_free(p);
    kb_partition_roles_free(p);
    free(p);
}

void kb_replicas_free(kb_replicas_t *r) {
    if (!r) return;
    kb_replicas_isr_stop(r);
    if (r->deps.logs && r->retry_ev) kb_logmgr_on_room(r->deps.logs, NULL, NULL); /* set by kb_replicas_roles_start */
    if (r->buckets) {
        /* Three passes: once nothing leads, produce callbacks that re-enter
         * are answered NOT_LEADER_OR_FOLLOWER at once and nothing new can
         * wait; every callback has run before any partition is freed. */
        r->closing = true;
        kb_fetchers_free(r->fetchers); /* closes their connections; nothing follows any more */
        r->fetchers = NULL;
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
    if (r->no_room_ev) event_free(r->no_room_ev);
    kb_replicas_topic_settings_free(r);
    free(r);
}
