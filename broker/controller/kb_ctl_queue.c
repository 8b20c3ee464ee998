/*
 * kb_ctl_queue.c - one broker's request queue (see kb_ctl_queue.h).
 *
 * State: the pending sets (lai, um, um_brokers, sr), and while a call is
 * out the partitions it carries (sent) and its kind.  Sending copies up to
 * max_batch entries from the front of a pending set into `sent` and drops
 * them from the pending set only once the request is built, so a build out
 * of memory leaves everything where it was.  An answer with error code 0
 * empties `sent`; any other outcome merges `sent` back into the pending set
 * and sends again, at once or when the retry timer fires.  The set's merge
 * keeps one entry per partition, so a retried request never grows by its
 * own partitions twice.
 *
 * The retry timer is armed only while no call is in flight (backing_off),
 * and nothing is sent until it fires, so one request at most is ever out.
 * The same timer also brings back the deletes a broker failed (sr_later):
 * armed for them alone (later_armed, backing_off false) it holds nothing
 * else up, and whenever it fires, for either reason, they rejoin sr.
 */
#include "broker/controller/kb_ctl_queue.h"

#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "proto/kp_types.h"

#define DEFAULT_MAX_BATCH 5000

/* A StopReplica delete the broker failed (or left out of its answer) is
 * sent again this much later: Kafka retries such a replica at the
 * controller's next event, which comes at least as often. */
#define PARTITION_RETRY_MS 1000
/* Marks, in `sent`, a partition an answer has already named. */
#define F_ANSWERED 0x80u

/* The backoff before sending a refused request again (and before building
 * again after running out of memory).  The first retry comes soon: the
 * usual refusal is NOT_CONTROLLER (41) from a broker whose view of the
 * election lags ours by milliseconds.  It doubles up to a few seconds, so
 * a broker short of memory, or a controller that lost the election without
 * knowing it yet, is not hammered (Kafka's controller waits a fixed 100 ms
 * between tries).  An answer with error code 0 starts it over. */
#define RETRY_BACKOFF_FIRST_MS 50
#define RETRY_BACKOFF_MAX_MS 5000

#define UNCHANGED_LOG_MS 10000

struct kb_ctl_queue {
    kb_ctl_queue_opts_t o;
    char *host;
    void *conn;             /* NULL after a reconnect failed: flush tries again */
    void *timer;            /* the retry backoff's */
    kb_ctl_set_t lai, um, sr; /* pending partitions */
    kb_ctl_set_t sr_later;  /* deletes the broker failed, waiting for the retry timer */
    bool um_brokers;        /* an UpdateMetadata is due even with no partition */
    bool later_armed;       /* the timer is armed for sr_later alone */
    bool in_flight;
    bool backing_off;       /* the timer is armed: nothing leaves until it fires */
    bool closing;           /* a close of ours is cancelling calls: what they report is
                             * dropped (queue freed) or settled already (reconnect) */
    bool build_failing;     /* the last build ran out of memory (logged once) */
    int32_t backoff_ms;     /* the next backoff; 0: RETRY_BACKOFF_FIRST_MS */
    kb_ctl_kind_t sent_kind;
    kb_ctl_set_t sent;      /* the partitions of the call in flight */
    kb_ctl_arena_t arena;
    kb_ctl_queue_stats_t stats;
    kc_ratelimit_t unchanged_log; /* "LeaderAndIsr left N partition(s) unchanged" */
};

typedef enum send_result { SEND_SENT, SEND_DROPPED, SEND_LATER } send_result_t;

const char *kb_ctl_status_name(kb_ctl_status_t st) {
    switch (st) {
    case KB_CTL_OK: return "ok";
    case KB_CTL_TIMEOUT: return "timed out";
    case KB_CTL_DISCONNECTED: return "disconnected";
    case KB_CTL_BAD_RESPONSE: return "bad response";
    case KB_CTL_CANCELLED: return "cancelled";
    }
    return "?";
}

static const char *kind_name(kb_ctl_kind_t k) {
    switch (k) {
    case KB_CTL_LEADER_AND_ISR: return "LeaderAndIsr";
    case KB_CTL_UPDATE_METADATA: return "UpdateMetadata";
    case KB_CTL_STOP_REPLICA: return "StopReplica";
    }
    return "?";
}

static kb_ctl_set_t *pending_set(kb_ctl_queue_t *q, kb_ctl_kind_t k) {
    return k == KB_CTL_LEADER_AND_ISR ? &q->lai : k == KB_CTL_UPDATE_METADATA ? &q->um : &q->sr;
}

static void retry_fire(void *arg);

kb_ctl_queue_t *kb_ctl_queue_new(const kb_ctl_queue_opts_t *opts) {
    kb_ctl_queue_t *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    const kb_ctl_transport_t *t = opts->transport;
    q->o = *opts;
    if (!q->o.max_batch) q->o.max_batch = DEFAULT_MAX_BATCH;
    q->host = strdup(opts->peer.host ? opts->peer.host : "");
    q->o.peer.host = q->host;
    if (q->host) q->timer = t->timer_new(t->arg, retry_fire, q);
    if (!q->timer || !(q->conn = t->connect(t->arg, &q->o.peer))) {
        if (q->timer) t->timer_free(q->timer);
        free(q->host);
        free(q);
        return NULL;
    }
    return q;
}

void kb_ctl_queue_free(kb_ctl_queue_t *q) {
    if (!q) return;
    q->closing = true;
    if (q->conn) q->o.transport->close(q->conn);
    q->o.transport->timer_free(q->timer); /* disarms a pending retry */
    kb_ctl_set_clear(&q->lai);
    kb_ctl_set_clear(&q->um);
    kb_ctl_set_clear(&q->sr);
    kb_ctl_set_clear(&q->sr_later);
    kb_ctl_set_clear(&q->sent);
    kb_ctl_arena_clear(&q->arena);
    free(q->host);
    free(q);
}

int32_t kb_ctl_queue_broker(const kb_ctl_queue_t *q) { return q->o.peer.broker_id; }
int64_t kb_ctl_queue_epoch(const kb_ctl_queue_t *q) { return q->o.peer.broker_epoch; }

int kb_ctl_queue_leader_and_isr(kb_ctl_queue_t *q, kb_ctl_key_t key, bool is_new) {
    return kb_ctl_set_add(&q->lai, key, is_new ? KB_CTL_F_NEW : 0);
}

int kb_ctl_queue_update_metadata(kb_ctl_queue_t *q, kb_ctl_key_t key) { return kb_ctl_set_add(&q->um, key, 0); }

int kb_ctl_queue_stop_replica(kb_ctl_queue_t *q, kb_ctl_key_t key, bool delete_partition) {
    return kb_ctl_set_add(&q->sr, key, delete_partition ? KB_CTL_F_DELETE : 0);
}

void kb_ctl_queue_update_brokers(kb_ctl_queue_t *q) { q->um_brokers = true; }

void kb_ctl_queue_stats(const kb_ctl_queue_t *q, kb_ctl_queue_stats_t *out) {
    *out = q->stats;
    out->in_flight = q->in_flight;
    out->backing_off = q->backing_off;
    out->pending_leader_and_isr = q->lai.n;
    out->pending_update_metadata = q->um.n + (q->um_brokers && q->um.n == 0);
    out->pending_stop_replica = q->sr.n + q->sr_later.n;
}

/* ---- retries ---- */

/* Puts the partitions of the failed call back among the pending ones. */
static void requeue_sent(kb_ctl_queue_t *q) {
    kb_ctl_set_t *to = pending_set(q, q->sent_kind);
    for (size_t i = 0; i < q->sent.n; i++)
        if (kb_ctl_set_add(to, q->sent.keys[i], q->sent.flags[i]) < 0)
            kc_error("controller", "out of memory: a partition's update to broker %d is lost",
                     (int)q->o.peer.broker_id);
    if (q->sent_kind == KB_CTL_UPDATE_METADATA) q->um_brokers = true;
    kb_ctl_set_reset(&q->sent);
}

/* Arms the retry timer with the next backoff, doubles the backoff, and
 * returns the delay.  A timer that cannot be armed leaves the retry to the
 * next flush (the controller flushes on every loop turn that queued
 * something). */
static int32_t retry_later(kb_ctl_queue_t *q) {
    int32_t ms = q->backoff_ms ? q->backoff_ms : RETRY_BACKOFF_FIRST_MS;
    q->backoff_ms = ms > RETRY_BACKOFF_MAX_MS / 2 ? RETRY_BACKOFF_MAX_MS : ms * 2;
    if (q->o.transport->timer_arm(q->timer, ms) == 0) q->backing_off = true;
    else kc_error("controller", "cannot arm the retry timer for broker %d", (int)q->o.peer.broker_id);
    return ms;
}

/* The failed deletes rejoin the pending StopReplicas. */
static void later_rejoin(kb_ctl_queue_t *q) {
    for (size_t i = 0; i < q->sr_later.n; i++)
        if (kb_ctl_set_add(&q->sr, q->sr_later.keys[i], q->sr_later.flags[i]) < 0)
            kc_error("controller", "out of memory: a partition's deletion on broker %d is not retried",
                     (int)q->o.peer.broker_id);
    kb_ctl_set_reset(&q->sr_later);
    q->later_armed = false;
}

/* Arms the timer for sr_later, unless it is armed already (a backoff's
 * firing brings them back too). */
static void retry_partitions_later(kb_ctl_queue_t *q) {
    if (q->backing_off || q->later_armed) return;
    if (q->o.transport->timer_arm(q->timer, PARTITION_RETRY_MS) == 0) q->later_armed = true;
    else later_rejoin(q); /* retried with the next request instead */
}

static void retry_fire(void *arg) {
    kb_ctl_queue_t *q = arg;
    q->backing_off = false;
    later_rejoin(q);
    kb_ctl_queue_flush(q);
}

/* Opens the connection again after a reconnect; false (and a retry armed)
 * when the transport cannot. */
static bool connect_again(kb_ctl_queue_t *q) {
    q->conn = q->o.transport->connect(q->o.transport->arg, &q->o.peer);
    if (q->conn) return true;
    int32_t ms = retry_later(q);
    kc_error("controller", "cannot connect to broker %d again; trying in %d ms", (int)q->o.peer.broker_id, (int)ms);
    return false;
}

/* Drops the connection, whose peer may have stopped reading (a timed-out
 * call); the next flush connects again.  Nothing of ours is in flight (the
 * call that timed out is settled), so whatever the close cancels is ignored:
 * a transport that reported the timeout and still held the call must not
 * make us put its partitions back twice. */
static void drop_connection(kb_ctl_queue_t *q) {
    q->stats.reconnects++;
    q->closing = true;
    q->o.transport->close(q->conn);
    q->closing = false;
    q->conn = NULL;
}

/* ---- answers ---- */

/* Logs the partitions an accepted LeaderAndIsr left unchanged, at most
 * once every 10 s per broker: a broker that cannot host some partitions
 * (its partition budget is full) says so in every answer. */
static void log_partition_errors(kb_ctl_queue_t *q, const ProtobufCMessage *body) {
    if (q->sent_kind != KB_CTL_LEADER_AND_ISR || !body) return;
    const Kbroker__Rpc__LeaderAndIsrResponse *r = (const Kbroker__Rpc__LeaderAndIsrResponse *)body;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < r->n_partition_errors; i++)
        if (r->partition_errors[i]->error_code != 0 && bad++ == 0) first = i;
    if (bad)
        kc_log_limited(&q->unchanged_log, UNCHANGED_LOG_MS, KC_LOG_INFO, "controller",
                       "broker %d: LeaderAndIsr left %zu partition(s) unchanged, e.g. %s/%d (error %d)",
                       (int)q->o.peer.broker_id, bad, r->partition_errors[first]->topic_name,
                       (int)r->partition_errors[first]->partition_index, (int)r->partition_errors[first]->error_code);
}

/* Reports the partitions an accepted LeaderAndIsr refused with
 * KAFKA_STORAGE_ERROR, those with a name the controller knows. */
static void report_refusals(kb_ctl_queue_t *q, const ProtobufCMessage *body) {
    if (q->sent_kind != KB_CTL_LEADER_AND_ISR || !body || !q->o.refused || !q->o.key_of) return;
    const Kbroker__Rpc__LeaderAndIsrResponse *r = (const Kbroker__Rpc__LeaderAndIsrResponse *)body;
    for (size_t i = 0; i < r->n_partition_errors; i++) {
        const Kbroker__Rpc__PartitionError *e = r->partition_errors[i];
        kb_ctl_key_t key;
        if (e->error_code != KP_ERR_KAFKA_STORAGE_ERROR || !e->topic_name ||
            !q->o.key_of(e->topic_name, e->partition_index, q->o.answer_arg, &key))
            continue;
        kb_ctl_refused_t rf = {q->o.peer.broker_id, q->o.peer.broker_epoch, e->topic_name, e->partition_index};
        q->o.refused(&rf, q->o.answer_arg);
    }
}

/* One partition of an answered StopReplica: a failed delete waits for its
 * retry; every one is reported.  Returns whether it failed. */
static bool stop_settled(kb_ctl_queue_t *q, kb_ctl_key_t key, uint8_t flags, int16_t error) {
    kb_ctl_stopped_t s = {.broker_id = q->o.peer.broker_id, .broker_epoch = q->o.peer.broker_epoch, .key = key,
                          .deleted = (flags & KB_CTL_F_DELETE) != 0, .error = error};
    if (error && s.deleted) {
        q->stats.deletes_retried++;
        if (kb_ctl_set_add(&q->sr_later, key, KB_CTL_F_DELETE) == 0) retry_partitions_later(q);
        else kc_error("controller", "out of memory: a partition's deletion on broker %d is not retried",
                      (int)q->o.peer.broker_id);
    }
    if (q->o.stopped) q->o.stopped(&s, q->o.answer_arg);
    return error != 0;
}

/* Matches an accepted StopReplica's answer with the partitions sent: each
 * named one once, by name; the ones it leaves out count as failed. */
static void settle_stops(kb_ctl_queue_t *q, const ProtobufCMessage *body) {
    const Kbroker__Rpc__StopReplicaResponse *r = (const Kbroker__Rpc__StopReplicaResponse *)body;
    size_t failed = 0, pos;
    int32_t first_error = 0;
    for (size_t i = 0; r && i < r->n_partition_errors; i++) {
        const Kbroker__Rpc__PartitionError *e = r->partition_errors[i];
        kb_ctl_key_t key;
        if (!q->o.key_of || !e->topic_name || !q->o.key_of(e->topic_name, e->partition_index, q->o.answer_arg, &key) ||
            !kb_ctl_set_find(&q->sent, key, &pos) || (q->sent.flags[pos] & F_ANSWERED))
            continue;
        q->sent.flags[pos] |= F_ANSWERED;
        int16_t err = e->error_code >= INT16_MIN && e->error_code <= INT16_MAX ? (int16_t)e->error_code
                                                                              : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (stop_settled(q, key, q->sent.flags[pos], err) && failed++ == 0) first_error = err;
    }
    for (size_t i = 0; i < q->sent.n; i++)
        if (!(q->sent.flags[i] & F_ANSWERED) &&
            stop_settled(q, q->sent.keys[i], q->sent.flags[i], KP_ERR_UNKNOWN_SERVER_ERROR) && failed++ == 0)
            first_error = KP_ERR_UNKNOWN_SERVER_ERROR;
    if (failed)
        kc_info("controller", "broker %d: StopReplica failed %zu partition(s) (first error %d); deletions among "
                "them are sent again in %d ms", (int)q->o.peer.broker_id, failed, (int)first_error,
                PARTITION_RETRY_MS);
}

/* A broker whose view has not yet read what the controller wrote (a new
 * topic: UNKNOWN_TOPIC_OR_PARTITION; the new controller's epoch right
 * after an election: NOT_CONTROLLER) refuses a request it takes once its
 * ZooKeeper watch fires, a few milliseconds later: normal, so not worth a
 * warning while the backoff is in its first steps (50 + 100 + 200 + 400
 * ms); a refusal that lasts longer is. */
#define LAG_EXPECTED_MS 800

static bool lagging(int32_t error_code, int32_t ms) {
    return (error_code == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION || error_code == KP_ERR_NOT_CONTROLLER) &&
           ms < LAG_EXPECTED_MS;
}

static void call_done(kb_ctl_status_t st, int32_t error_code, const ProtobufCMessage *body, void *arg) {
    kb_ctl_queue_t *q = arg;
    if (q->closing) return; /* see the member */
    q->in_flight = false;
    if (st == KB_CTL_OK) q->stats.answered++;
    if (st == KB_CTL_OK && error_code == 0) {
        log_partition_errors(q, body);
        report_refusals(q, body);
        if (q->sent_kind == KB_CTL_STOP_REPLICA) settle_stops(q, body);
        kb_ctl_set_reset(&q->sent);
        q->backoff_ms = 0;
        kb_ctl_queue_flush(q);
        return;
    }
    size_t n = q->sent.n;
    q->stats.retried++;
    requeue_sent(q);
    if (st == KB_CTL_OK) { /* the broker refused the whole request */
        q->stats.errors++;
        int32_t ms = retry_later(q);
        kc_log(lagging(error_code, ms) ? KC_LOG_DEBUG : KC_LOG_WARN, "controller",
               "broker %d refused %s of %zu partition(s) with error %d; sending it again in %d ms",
               (int)q->o.peer.broker_id, kind_name(q->sent_kind), n, (int)error_code, (int)ms);
        return;
    }
    kc_info("controller", "%s to broker %d %s; sending again%s", kind_name(q->sent_kind), (int)q->o.peer.broker_id,
            kb_ctl_status_name(st), st == KB_CTL_TIMEOUT ? " on a new connection" : "");
    if (st == KB_CTL_TIMEOUT) drop_connection(q);
    kb_ctl_queue_flush(q);
}

/* ---- sending ---- */

/* Copies the next batch of `from` into q->sent (from keeps it until the
 * request is built). */
static kb_ctl_batch_t take_batch(kb_ctl_queue_t *q, kb_ctl_kind_t kind, const kb_ctl_set_t *from) {
    size_t n = from->n < q->o.max_batch ? from->n : q->o.max_batch;
    kb_ctl_set_reset(&q->sent);
    for (size_t i = 0; i < n; i++)
        if (kb_ctl_set_add(&q->sent, from->keys[i], from->flags[i]) < 0) break; /* send what fits */
    q->sent_kind = kind;
    return (kb_ctl_batch_t){.kind = kind, .broker_id = q->o.peer.broker_id, .broker_epoch = q->o.peer.broker_epoch,
                            .keys = q->sent.keys, .flags = q->sent.flags, .n = q->sent.n};
}

/* The batch stays pending: out of memory building it (or copying it). */
static send_result_t build_failed(kb_ctl_queue_t *q, kb_ctl_kind_t kind, size_t n) {
    kb_ctl_set_reset(&q->sent);
    kb_ctl_arena_reset(&q->arena);
    q->stats.retried++;
    int32_t ms = retry_later(q);
    if (!q->build_failing)
        kc_error("controller", "out of memory building %s of %zu partition(s) for broker %d; "
                 "trying again in %d ms, then backing off (not logged again until one is built)",
                 kind_name(kind), n, (int)q->o.peer.broker_id, (int)ms);
    q->build_failing = true;
    return SEND_LATER;
}

/* Builds and sends the next batch of kind. */
static const Kbroker__Rpc__Method methods[] = {
    [KB_CTL_LEADER_AND_ISR] = KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR,
    [KB_CTL_UPDATE_METADATA] = KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA,
    [KB_CTL_STOP_REPLICA] = KBROKER__RPC__METHOD__METHOD_STOP_REPLICA,
};

static void count_sent(kb_ctl_queue_t *q, kb_ctl_kind_t kind) {
    if (kind == KB_CTL_LEADER_AND_ISR) q->stats.leader_and_isr_sent++;
    else if (kind == KB_CTL_UPDATE_METADATA) q->stats.update_metadata_sent++;
    else q->stats.stop_replica_sent++;
}

static send_result_t send_one(kb_ctl_queue_t *q, kb_ctl_kind_t kind) {
    kb_ctl_set_t *from = pending_set(q, kind);
    kb_ctl_batch_t b = take_batch(q, kind, from);
    const ProtobufCMessage *msg = NULL;
    if ((from->n && !b.n) || q->o.build(&b, &q->arena, q->o.build_arg, &msg) < 0)
        return build_failed(q, kind, from->n < q->o.max_batch ? from->n : q->o.max_batch);
    if (q->build_failing) kc_info("controller", "built a request for broker %d again", (int)q->o.peer.broker_id);
    q->build_failing = false;
    int rc = msg ? q->o.transport->call(q->conn, methods[kind], msg, q->o.timeout_ms, call_done, q) : -1;
    kb_ctl_arena_reset(&q->arena);
    kb_ctl_set_drop_front(from, b.n);
    if (kind == KB_CTL_UPDATE_METADATA) q->um_brokers = false;
    if (rc == 0) {
        q->in_flight = true;
        count_sent(q, kind);
        return SEND_SENT;
    }
    if (msg) /* too large to frame, or not packable: repeating cannot help */
        kc_error("controller", "%s of %zu partition(s) to broker %d could not be sent; dropped", kind_name(kind),
                 b.n, (int)q->o.peer.broker_id);
    kb_ctl_set_reset(&q->sent);
    return SEND_DROPPED;
}

void kb_ctl_queue_flush(kb_ctl_queue_t *q) {
    if (q->closing || q->backing_off) return;
    if (!q->conn && !connect_again(q)) return;
    /* Each dropped batch leaves the pending sets smaller, and a batch kept
     * for later ends the loop, so it ends. */
    while (!q->in_flight) {
        kb_ctl_kind_t kind;
        if (q->lai.n) kind = KB_CTL_LEADER_AND_ISR;
        else if (q->um.n || q->um_brokers) kind = KB_CTL_UPDATE_METADATA;
        else if (q->sr.n) kind = KB_CTL_STOP_REPLICA;
        else break;
        if (send_one(q, kind) == SEND_LATER) break;
    }
}
