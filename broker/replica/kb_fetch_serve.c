/*
 * kb_fetch_serve.c - the leader's side of replication over RPC: the
 * ReplicaFetch and OffsetForLeaderEpoch handlers (zk-and-replication.md
 * 3.3, 3.7).
 *
 * ReplicaFetch.  Each partition is checked (led here, the follower's leader
 * epoch neither older, 74, nor newer, 75, than ours, the offset within the
 * log, the follower a replica), and the follower's fetch is recorded where
 * it passes: its log end offset moves the HW and may add it to the ISR
 * (kb_partition_follower_fetched).  The answer goes at once when a check
 * failed, when there are min_bytes to send, or when the follower does not
 * wait; otherwise the request parks with a waiter on every partition that
 * wakes when the leader appends (kb_partition_wait_append) and a timer of
 * max_wait_ms, whichever comes first.  Records are read when the answer is
 * built: whole batches from the fetch offset to the log end offset, at most
 * partition_max_bytes per partition (a larger first batch goes whole) and
 * max_bytes in all (kb_log_read_batches), and queued as file ranges (sendfile) in the trailer,
 * slice i for partition i.  Every partition of the request is answered, in
 * the request's order, with the leader's HW, log start, log end offset and
 * leader epoch.
 *
 * A parked request keeps pointers to its partitions, which live until
 * kb_replicas_free; shutdown wakes every waiter, which answers it.
 *
 * Bounds, since the RPC port authenticates nobody (kb_rpc.h): a request
 * naming more partitions than this broker knows is refused whole
 * (INVALID_REQUEST); it parks for at most replica.socket.timeout.ms
 * whatever it asks (a follower gives up on its call by then); while
 * MAX_PARKED requests are parked, a new one that would park is refused
 * whole with THROTTLING_QUOTA_EXCEEDED (a follower backs off on it rather
 * than asking again at once); and an answer carries at most
 * replica.fetch.response.max.bytes of records and never more than fits in
 * an RPC frame (kbroker.rpc.max.frame.bytes, less the envelope): a first
 * batch that can never fit (a topic's max.message.bytes above what the
 * frame allows) is answered MESSAGE_TOO_LARGE for its partition only.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/net/kb_sendfile.h"
#include "broker/replica/kb_partition_internal.h"
#include "broker/rpc/kb_rpc.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define MAX_PARKED 1024
#define ENVELOPE_PER_PARTITION 96 /* an answer's fields and slice length, generously */

typedef struct serve_op serve_op_t;

typedef struct serve_part {
    serve_op_t *op;
    kb_partition_t *p;  /* NULL: not led here (then answered within the handler) */
    const char *topic;  /* the request's name: read only while p is NULL, within the handler */
    int32_t index;
    int16_t error_code;
    int64_t fetch_offset;
    int32_t max_bytes;
    kb_waiter_t *waiter; /* while parked */
} serve_part_t;

struct serve_op {
    kb_replicas_t *r;
    kb_rpc_req_t *req;
    int32_t max_bytes;
    size_t frame_room;   /* record bytes an answer's frame has room for */
    struct event *timer; /* while parked */
    size_t n;
    serve_part_t parts[];
};

/* ---- checks ---- */

/* Spec 3.7's fencing by the asker's leader epoch.  A follower always has
 * one, so none (-1) is fenced too. */
static int16_t check_epoch(const kb_partition_t *p, int32_t current_leader_epoch) {
    if (current_leader_epoch == p->leader_epoch) return KP_ERR_NONE;
    return current_leader_epoch < p->leader_epoch ? KP_ERR_FENCED_LEADER_EPOCH : KP_ERR_UNKNOWN_LEADER_EPOCH;
}

/* The partition if this broker leads it, with the error otherwise. */
static kb_partition_t *led_here(kb_replicas_t *r, const char *topic, int32_t index, int32_t epoch, int16_t *error) {
    kb_partition_t *p = kb_replicas_get(r, topic, index);
    *error = !p ? KP_ERR_NOT_LEADER_OR_FOLLOWER : !p->leader ? KP_ERR_NOT_LEADER_OR_FOLLOWER : check_epoch(p, epoch);
    return *error == KP_ERR_NONE ? p : NULL;
}

/* Checks one partition of a fetch and records the follower's fetch. */
static void check_and_record(serve_op_t *op, serve_part_t *sp, int32_t follower,
                             const Kbroker__Rpc__ReplicaFetchPartition *fp) {
    kb_partition_t *p = led_here(op->r, fp->topic_name, fp->partition_index, fp->current_leader_epoch,
                                 &sp->error_code);
    sp->topic = fp->topic_name;
    sp->index = fp->partition_index;
    sp->fetch_offset = fp->fetch_offset;
    sp->max_bytes = fp->partition_max_bytes;
    if (!p) return;
    if (fp->fetch_offset < kb_log_start_offset(p->log) || fp->fetch_offset > kb_log_end_offset(p->log))
        sp->error_code = KP_ERR_OFFSET_OUT_OF_RANGE;
    else if (kb_partition_follower_fetched(p, follower, fp->fetch_offset) != 0)
        sp->error_code = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* broker `follower` is no replica of it */
    sp->p = p; /* answered with the leader's offsets, whatever the error */
}

/* Whether a fetch would get records now (some log end offset is past its
 * fetch offset). */
static bool has_data(const serve_op_t *op) {
    for (size_t i = 0; i < op->n; i++) {
        const serve_part_t *sp = &op->parts[i];
        if (sp->error_code == KP_ERR_NONE && sp->p && sp->p->log && kb_log_end_offset(sp->p->log) > sp->fetch_offset)
            return true;
    }
    return false;
}

static bool any_error(const serve_op_t *op) {
    for (size_t i = 0; i < op->n; i++)
        if (op->parts[i].error_code != KP_ERR_NONE) return true;
    return false;
}

/* ---- the answer ---- */

/* What an answer may still carry: records (max_bytes) and frame bytes. */
typedef struct budget {
    size_t records;
    size_t frame;      /* room left in the RPC frame */
    size_t frame_full; /* the room of an empty answer */
} budget_t;

/* Takes range's bytes from the budget; false (range released) when they
 * do not fit in the frame now.  A range that would not fit even in an
 * empty answer is MESSAGE_TOO_LARGE for its partition. */
static bool fits(kb_partition_range_t *range, budget_t *b, const kb_partition_t *p, int32_t *error) {
    size_t len = kb_partition_range_len(range);
    if (len <= b->frame) {
        b->frame -= len;
        b->records -= len < b->records ? len : b->records;
        return true;
    }
    kb_partition_range_release(range);
    if (len > b->frame_full) {
        kc_error("replica", "%s-%d: a batch of %zu bytes does not fit in an RPC frame (kbroker.rpc.max.frame.bytes "
                 "leaves %zu here): followers cannot copy it", p->topic, (int)p->partition, len, b->frame_full);
        *error = KP_ERR_MESSAGE_TOO_LARGE;
    }
    return false;
}

/* Reads partition sp's records into out (within the budget) and fills r. */
static uint64_t answer_part(const serve_part_t *sp, Kbroker__Rpc__ReplicaFetchPartitionResponse *r,
                            kb_sendfile_t *out, budget_t *budget) {
    kb_partition_t *p = sp->p;
    kb_partition_range_t range = {.fd = -1};
    r->error_code = sp->error_code;
    r->high_watermark = r->log_start_offset = r->log_end_offset = -1;
    r->leader_epoch = -1;
    if (!p || !p->log) return 0;
    r->high_watermark = kb_log_high_watermark(p->log);
    r->log_start_offset = kb_log_start_offset(p->log);
    r->log_end_offset = kb_log_end_offset(p->log);
    r->leader_epoch = p->leader_epoch;
    /* Still the leader: a role change while parked answers 6. */
    if (r->error_code == KP_ERR_NONE && !p->leader) r->error_code = KP_ERR_NOT_LEADER_OR_FOLLOWER;
    if (r->error_code != KP_ERR_NONE || budget->records == 0) return 0;
    size_t max = sp->max_bytes > 0 && (size_t)sp->max_bytes < budget->records ? (size_t)sp->max_bytes
                                                                              : budget->records;
    int rc = kb_partition_read_batches(p, sp->fetch_offset, max, &range);
    if (rc == 1) r->error_code = KP_ERR_OFFSET_OUT_OF_RANGE; /* retention moved the log start while parked */
    if (rc == -1) r->error_code = KP_ERR_KAFKA_STORAGE_ERROR;
    if (!fits(&range, budget, p, &r->error_code)) return 0;
    size_t len = kb_partition_range_len(&range);
    if (kb_partition_range_send(out, &range) != 0) return UINT64_MAX;
    return len;
}

/* Builds and sends the answer, then frees op. */
static void answer(serve_op_t *op) {
    Kbroker__Rpc__ReplicaFetchResponse resp = KBROKER__RPC__REPLICA_FETCH_RESPONSE__INIT;
    Kbroker__Rpc__ReplicaFetchPartitionResponse *rs = calloc(op->n ? op->n : 1, sizeof(*rs));
    Kbroker__Rpc__ReplicaFetchPartitionResponse **rp = calloc(op->n ? op->n : 1, sizeof(*rp));
    uint64_t *lens = calloc(op->n ? op->n : 1, sizeof(*lens));
    budget_t budget = {.records = op->max_bytes > 0 ? (size_t)op->max_bytes : 0, .frame = op->frame_room,
                       .frame_full = op->frame_room};
    uint64_t total = 0;
    kb_sendfile_t out;
    bool inited = rs && rp && lens && kb_sendfile_init(&out) == 0, ok = inited;
    for (size_t i = 0; ok && i < op->n; i++) {
        kbroker__rpc__replica_fetch_partition_response__init(&rs[i]);
        rp[i] = &rs[i];
        rs[i].topic_name = op->parts[i].p ? op->parts[i].p->topic : (char *)op->parts[i].topic;
        rs[i].partition_index = op->parts[i].index;
        lens[i] = answer_part(&op->parts[i], &rs[i], &out, &budget);
        ok = lens[i] != UINT64_MAX;
        total += ok ? lens[i] : 0;
    }
    if (ok) {
        resp.n_responses = op->n;
        resp.responses = rp;
        op->r->repl_stats.fetches_served++;
        op->r->repl_stats.fetch_bytes += total;
        op->r->repl_stats.fetch_sendfile_bytes += total; /* every record byte is a file range */
        kb_rpc_respond(op->req, 0, &resp.base, kb_sendfile_evbuffer(&out), lens, op->n);
    } else {
        kc_error("replica", "out of memory answering a replica fetch");
        kb_rpc_respond(op->req, KP_ERR_UNKNOWN_SERVER_ERROR, NULL, NULL, NULL, 0);
    }
    if (inited) kb_sendfile_clear(&out);
    free(rs);
    free(rp);
    free(lens);
    if (op->timer) event_free(op->timer);
    free(op);
}

/* ---- parking ---- */

static void unpark(serve_op_t *op) {
    for (size_t i = 0; i < op->n; i++) {
        kb_waiter_cancel(op->parts[i].waiter);
        op->parts[i].waiter = NULL;
    }
    if (op->timer) evtimer_del(op->timer);
    op->r->repl_stats.fetches_parked--;
}

/* A partition appended (or changed role): the follower gets its answer. */
static void woken(void *arg) {
    serve_part_t *sp = arg;
    serve_op_t *op = sp->op;
    sp->waiter = NULL; /* freed by the partition once this returns */
    unpark(op);
    answer(op);
}

static void expired(evutil_socket_t fd, short what, void *arg) {
    serve_op_t *op = arg;
    unpark(op);
    answer(op);
}

/* Parks op until a partition appends or max_wait_ms pass; false when it
 * cannot (out of memory, shutting down): the caller answers now. */
static bool park(serve_op_t *op, int32_t max_wait_ms) {
    struct timeval tv = {max_wait_ms / 1000, (max_wait_ms % 1000) * 1000};
    op->timer = evtimer_new(op->r->deps.base, expired, op);
    if (!op->timer) return false;
    op->r->repl_stats.fetches_parked++;
    for (size_t i = 0; i < op->n; i++) {
        serve_part_t *sp = &op->parts[i];
        if (sp->p && !(sp->waiter = kb_partition_wait_append(sp->p, woken, sp))) {
            unpark(op);
            return false;
        }
    }
    evtimer_add(op->timer, &tv);
    return true;
}

/* The record bytes an answer to rq has room for in a frame: the frame
 * limit less a generous estimate of the envelope. */
static size_t frame_room(const kb_config_t *cfg, const Kbroker__Rpc__ReplicaFetchRequest *rq) {
    size_t envelope = 4096;
    for (size_t i = 0; i < rq->n_partitions; i++)
        envelope += strlen(rq->partitions[i]->topic_name) + ENVELOPE_PER_PARTITION;
    size_t max = (size_t)cfg->rpc_max_frame_bytes;
    return max > envelope ? max - envelope : 0;
}

static void on_replica_fetch(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                             size_t n_slices, void *arg) {
    const Kbroker__Rpc__ReplicaFetchRequest *rq = (const Kbroker__Rpc__ReplicaFetchRequest *)body;
    kb_replicas_t *r = arg;
    int32_t follower = kb_rpc_req_peer(req).broker_id;
    if (rq->n_partitions > r->n_partitions) {
        kb_rpc_respond(req, KP_ERR_INVALID_REQUEST, NULL, NULL, NULL, 0);
        return;
    }
    serve_op_t *op = calloc(1, sizeof(*op) + rq->n_partitions * sizeof(op->parts[0]));
    if (!op) {
        kb_rpc_respond(req, KP_ERR_UNKNOWN_SERVER_ERROR, NULL, NULL, NULL, 0);
        return;
    }
    const kb_config_t *cfg = r->deps.cfg;
    int32_t max_bytes = rq->max_bytes > 0 && rq->max_bytes < cfg->replica_fetch_response_max_bytes
                            ? rq->max_bytes
                            : cfg->replica_fetch_response_max_bytes;
    int32_t max_wait = rq->max_wait_ms < cfg->replica_socket_timeout_ms ? rq->max_wait_ms
                                                                        : cfg->replica_socket_timeout_ms;
    *op = (serve_op_t){.r = r, .req = req, .max_bytes = max_bytes, .n = rq->n_partitions,
                       .frame_room = frame_room(cfg, rq)};
    /* The Hello's id, not the body's replica_id, names the follower. */
    for (size_t i = 0; i < op->n; i++) {
        op->parts[i].op = op;
        check_and_record(op, &op->parts[i], follower, rq->partitions[i]);
    }
    if (op->n == 0 || max_wait <= 0 || any_error(op) || has_data(op) || r->closing) {
        answer(op);
    } else if (r->repl_stats.fetches_parked >= MAX_PARKED) {
        kb_rpc_respond(req, KP_ERR_THROTTLING_QUOTA_EXCEEDED, NULL, NULL, NULL, 0);
        free(op);
    } else if (!park(op, max_wait)) {
        answer(op);
    }
}

/* ---- OffsetForLeaderEpoch ---- */

static void epoch_answer(kb_replicas_t *r, const Kbroker__Rpc__OffsetForLeaderEpochPartition *q,
                         Kbroker__Rpc__EpochEndOffset *a) {
    kbroker__rpc__epoch_end_offset__init(a);
    a->topic_name = q->topic_name;
    a->partition_index = q->partition_index;
    a->leader_epoch = -1;
    a->end_offset = -1;
    int16_t error;
    kb_partition_t *p = led_here(r, q->topic_name, q->partition_index, q->current_leader_epoch, &error);
    a->error_code = error;
    if (p) kb_log_end_offset_for_epoch(p->log, q->leader_epoch, &a->leader_epoch, &a->end_offset);
}

static void on_offset_for_leader_epoch(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                                       size_t n_slices, void *arg) {
    const Kbroker__Rpc__OffsetForLeaderEpochRequest *rq = (const Kbroker__Rpc__OffsetForLeaderEpochRequest *)body;
    Kbroker__Rpc__OffsetForLeaderEpochResponse resp = KBROKER__RPC__OFFSET_FOR_LEADER_EPOCH_RESPONSE__INIT;
    size_t n = rq->n_partitions;
    Kbroker__Rpc__EpochEndOffset *as = calloc(n ? n : 1, sizeof(*as));
    Kbroker__Rpc__EpochEndOffset **ap = calloc(n ? n : 1, sizeof(*ap));
    if (!as || !ap) {
        kb_rpc_respond(req, KP_ERR_UNKNOWN_SERVER_ERROR, NULL, NULL, NULL, 0);
    } else {
        for (size_t i = 0; i < n; i++) {
            epoch_answer(arg, rq->partitions[i], &as[i]);
            ap[i] = &as[i];
        }
        resp.n_partitions = n;
        resp.partitions = ap;
        kb_rpc_respond(req, 0, &resp.base, NULL, NULL, 0);
    }
    free(as);
    free(ap);
}

size_t kb_replicas_rpc_handlers(kb_replicas_t *r, kb_rpc_handler_t *out, size_t room) {
    const kb_rpc_handler_t rows[] = {
        {KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, on_replica_fetch, r},
        {KBROKER__RPC__METHOD__METHOD_OFFSET_FOR_LEADER_EPOCH, on_offset_for_leader_epoch, r},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    if (n > room) n = room;
    memcpy(out, rows, n * sizeof(rows[0]));
    return n;
}
