/*
 * kb_ctl_queue.c - one broker's request queue (see kb_ctl_queue.h).
 *
 * State: the pending sets (lai, um, um_brokers), and while a call is out the
 * partitions it carries (sent) and its kind.  Sending moves up to max_batch
 * entries from the front of a pending set into `sent`; an answer empties
 * `sent`; a failure merges `sent` back into the pending set and sends again.
 * The set's merge keeps one entry per partition, so a retried request never
 * grows by its own partitions twice.
 */
#include "broker/controller/kb_ctl_queue.h"

#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"

#define DEFAULT_MAX_BATCH 5000

struct kb_ctl_queue {
    kb_ctl_queue_opts_t o;
    char *host;
    void *conn;
    kb_ctl_set_t lai, um;   /* pending partitions */
    bool um_brokers;        /* an UpdateMetadata is due even with no partition */
    bool in_flight;
    bool closing;           /* kb_ctl_queue_free is cancelling the call in flight */
    kb_ctl_kind_t sent_kind;
    kb_ctl_set_t sent;      /* the partitions of the call in flight */
    kb_ctl_arena_t arena;
    kb_ctl_queue_stats_t stats;
};

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
    return k == KB_CTL_LEADER_AND_ISR ? "LeaderAndIsr" : "UpdateMetadata";
}

kb_ctl_queue_t *kb_ctl_queue_new(const kb_ctl_queue_opts_t *opts) {
    kb_ctl_queue_t *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->o = *opts;
    if (!q->o.max_batch) q->o.max_batch = DEFAULT_MAX_BATCH;
    q->host = strdup(opts->peer.host ? opts->peer.host : "");
    q->o.peer.host = q->host;
    if (!q->host || !(q->conn = q->o.transport->connect(q->o.transport->arg, &q->o.peer))) {
        free(q->host);
        free(q);
        return NULL;
    }
    return q;
}

void kb_ctl_queue_free(kb_ctl_queue_t *q) {
    if (!q) return;
    q->closing = true;
    q->o.transport->close(q->conn);
    kb_ctl_set_clear(&q->lai);
    kb_ctl_set_clear(&q->um);
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

void kb_ctl_queue_update_brokers(kb_ctl_queue_t *q) { q->um_brokers = true; }

void kb_ctl_queue_stats(const kb_ctl_queue_t *q, kb_ctl_queue_stats_t *out) {
    *out = q->stats;
    out->in_flight = q->in_flight;
    out->pending_leader_and_isr = q->lai.n;
    out->pending_update_metadata = q->um.n + (q->um_brokers && q->um.n == 0);
}

/* Puts the partitions of the failed call back among the pending ones. */
static void requeue_sent(kb_ctl_queue_t *q) {
    kb_ctl_set_t *to = q->sent_kind == KB_CTL_LEADER_AND_ISR ? &q->lai : &q->um;
    for (size_t i = 0; i < q->sent.n; i++)
        if (kb_ctl_set_add(to, q->sent.keys[i], q->sent.flags[i]) < 0)
            kc_error("controller", "out of memory: a partition's update to broker %d is lost",
                     (int)q->o.peer.broker_id);
    if (q->sent_kind == KB_CTL_UPDATE_METADATA) q->um_brokers = true;
    kb_ctl_set_reset(&q->sent);
}

/* Logs what an answer refused: the whole request, or some partitions. */
static void log_answer(kb_ctl_queue_t *q, int32_t error_code, const ProtobufCMessage *body) {
    if (error_code != 0) {
        q->stats.errors++;
        kc_warn("controller", "broker %d refused %s with error %d", (int)q->o.peer.broker_id,
                kind_name(q->sent_kind), (int)error_code);
        return;
    }
    if (q->sent_kind != KB_CTL_LEADER_AND_ISR || !body) return;
    const Kbroker__Rpc__LeaderAndIsrResponse *r = (const Kbroker__Rpc__LeaderAndIsrResponse *)body;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < r->n_partition_errors; i++)
        if (r->partition_errors[i]->error_code != 0 && bad++ == 0) first = i;
    if (bad)
        kc_info("controller", "broker %d: LeaderAndIsr left %zu partition(s) unchanged, e.g. %s/%d (error %d)",
                (int)q->o.peer.broker_id, bad, r->partition_errors[first]->topic_name,
                (int)r->partition_errors[first]->partition_index, (int)r->partition_errors[first]->error_code);
}

static void call_done(kb_ctl_status_t st, int32_t error_code, const ProtobufCMessage *body, void *arg) {
    kb_ctl_queue_t *q = arg;
    q->in_flight = false;
    if (q->closing) return; /* kb_ctl_queue_free drops everything */
    if (st == KB_CTL_OK) {
        q->stats.answered++;
        log_answer(q, error_code, body);
        kb_ctl_set_reset(&q->sent);
    } else {
        q->stats.retried++;
        kc_info("controller", "%s to broker %d %s; sending again", kind_name(q->sent_kind),
                (int)q->o.peer.broker_id, kb_ctl_status_name(st));
        requeue_sent(q);
    }
    kb_ctl_queue_flush(q);
}

/* Moves the next batch of `from` into q->sent. */
static kb_ctl_batch_t take_batch(kb_ctl_queue_t *q, kb_ctl_kind_t kind, kb_ctl_set_t *from) {
    size_t n = from->n < q->o.max_batch ? from->n : q->o.max_batch;
    kb_ctl_set_reset(&q->sent);
    for (size_t i = 0; i < n; i++)
        if (kb_ctl_set_add(&q->sent, from->keys[i], from->flags[i]) < 0) {
            n = i; /* out of memory: send what fits, the rest stays pending */
            break;
        }
    kb_ctl_set_drop_front(from, n);
    if (kind == KB_CTL_UPDATE_METADATA) q->um_brokers = false;
    q->sent_kind = kind;
    return (kb_ctl_batch_t){.kind = kind, .broker_id = q->o.peer.broker_id, .broker_epoch = q->o.peer.broker_epoch,
                            .keys = q->sent.keys, .flags = q->sent.flags, .n = q->sent.n};
}

/* Sends one batch; false when nothing went out (the batch is dropped). */
static bool send_one(kb_ctl_queue_t *q, kb_ctl_kind_t kind) {
    kb_ctl_batch_t b = take_batch(q, kind, kind == KB_CTL_LEADER_AND_ISR ? &q->lai : &q->um);
    const ProtobufCMessage *msg = q->o.build(&b, &q->arena, q->o.build_arg);
    Kbroker__Rpc__Method m =
        kind == KB_CTL_LEADER_AND_ISR ? KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR : KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA;
    int rc = msg ? q->o.transport->call(q->conn, m, msg, q->o.timeout_ms, call_done, q) : -1;
    kb_ctl_arena_reset(&q->arena);
    if (rc == 0) {
        q->in_flight = true;
        if (kind == KB_CTL_LEADER_AND_ISR) q->stats.leader_and_isr_sent++;
        else q->stats.update_metadata_sent++;
        return true;
    }
    if (msg) /* too large to frame, or not packable: repeating cannot help */
        kc_error("controller", "%s of %zu partition(s) to broker %d could not be sent; dropped", kind_name(kind),
                 b.n, (int)q->o.peer.broker_id);
    kb_ctl_set_reset(&q->sent);
    return false;
}

void kb_ctl_queue_flush(kb_ctl_queue_t *q) {
    /* Each failed send drops its batch, so the pending sets shrink on every
     * turn and the loop ends. */
    while (!q->in_flight && !q->closing) {
        if (q->lai.n) send_one(q, KB_CTL_LEADER_AND_ISR);
        else if (q->um.n || q->um_brokers) send_one(q, KB_CTL_UPDATE_METADATA);
        else break;
    }
}
