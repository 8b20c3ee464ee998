/*
 * kb_api_listoffsets.c - the ListOffsets handler (wire-protocol.md 4.5).
 *
 * Each requested partition is answered from its leader's log: EARLIEST (-2)
 * is the log start offset, LATEST (-1) the high watermark (READ_COMMITTED
 * asks for the last stable offset, which equals the high watermark while
 * there are no transactions; a debugging consumer, replica id -2, gets the
 * log end offset and may ask a follower), and a timestamp t >= 0 the first
 * offset whose batch holds a record at or after t, found through the time
 * index below that same bound.  A partition listed twice is refused with 42
 * INVALID_REQUEST on each occurrence, as Kafka does.
 *
 * A new leader's high watermark starts where its own last fetch left it,
 * which may be below records the previous leader acknowledged (it learns
 * the ISR's progress from the followers' next fetches).  Until it reaches
 * the log end offset the leader had when it took its epoch, LATEST, and a
 * timestamp found nowhere below it, are refused with 78
 * OFFSET_NOT_AVAILABLE (5 LEADER_NOT_AVAILABLE before v5, which clients
 * retry alike), as Kafka 2.2+ does (KIP-207): answering the stale high
 * watermark would tell a client that acknowledged records do not exist.
 *
 * Timestamp lookups read segment data and decompress records, which the
 * event loop must not wait for (a compressed batch may inflate to
 * kbroker.batch.decompressed.max.bytes): the log hands them to the broker's
 * worker threads (kb_partition_offset_for_timestamp).  A request with any of them is
 * detached and its lookups run one after the other, each completion
 * starting the next, so one request never occupies more than one worker
 * thread; the last one sends the answer.  The connection reads no other
 * request meanwhile (broker/net).  Everything else is answered at once.
 *
 * v0 answers with old_style_offsets, which Kafka fills with segment base
 * offsets in descending order.  librdkafka 1.7.0, the one client that still
 * sends v0, asks for a single offset with -1 or -2, so the answer holds at
 * most one offset: the value v1 would return, or for a timestamp past every
 * record the high watermark (Kafka's "latest segment older than t").
 */
#include <stdint.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/replica/kb_partition.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_types.h"

typedef struct lo_op lo_op_t;

/* A timestamp lookup waiting for the worker. */
typedef struct {
    lo_op_t *op;
    kb_partition_t *p;
    int64_t ts, upper;
    int16_t hw_unknown; /* hw_unknown_error() when the request came: upper is that moment's */
    const kp_listoffsets_request_partition_t *in;
    kp_listoffsets_response_partition_t *out;
} lo_lookup_t;

/* One request; lives in its arena (detached once a lookup must wait). */
struct lo_op {
    kb_request_t *req;
    kp_listoffsets_request_t body;
    kp_listoffsets_response_t resp;
    int16_t version;
    lo_lookup_t *lookups; /* one per timestamp partition, in request order */
    int32_t n_lookups, next_lookup;
    bool *twice;    /* per requested partition, in request order: listed more than once */
    int32_t listed; /* partitions answered so far (the index into twice) */
};

/* Marks op->twice[i] for every entry whose topic-partition occurs more
 * than once in the request. */
static int mark_listed_twice(lo_op_t *op, int32_t n) {
    kb_api_tp_t *keys = kb_arena_calloc(&op->req->arena, n > 0 ? (size_t)n : 1, sizeof(*keys));
    int32_t k = 0;

    if (!keys) return -1;
    for (int32_t i = 0; i < op->body.n_topics; i++) {
        const kp_listoffsets_request_topic_t *t = &op->body.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++, k++)
            keys[k] = (kb_api_tp_t){t->name, t->partitions[j].partition_index, k};
    }
    op->twice = kb_api_mark_repeated(&op->req->arena, keys, n, false);
    return op->twice ? 0 : -1;
}

/* The highest offset this request may see: the high watermark for
 * consumers (READ_COMMITTED's last stable offset is the same while there
 * are no transactions), the log end for a debugging consumer. */
static int64_t upper_bound(const lo_op_t *op, kb_partition_t *p) {
    if (op->body.replica_id == KP_DEBUGGING_REPLICA_ID)
        return kb_partition_log_end_offset(p);
    return kb_partition_high_watermark(p);
}

/* KIP-207: the answer when p's high watermark is not known yet (see the
 * top of the file), or 0. */
static int16_t hw_unknown_error(const lo_op_t *op, const kb_partition_t *p) {
    if (op->body.replica_id == KP_DEBUGGING_REPLICA_ID || !kb_partition_high_watermark_lags_epoch(p))
        return KP_ERR_NONE;
    return op->version >= 5 ? KP_ERR_OFFSET_NOT_AVAILABLE : KP_ERR_LEADER_NOT_AVAILABLE;
}

/* v0: at most one offset, descending order being trivially kept. */
static int fill_old_style(lo_op_t *op, kb_partition_t *p, const kp_listoffsets_request_partition_t *in,
                          kp_listoffsets_response_partition_t *out) {
    int64_t *offsets;

    if (op->version != 0 || in->max_num_offsets <= 0) return 0;
    offsets = kb_arena_alloc(&op->req->arena, sizeof(*offsets));
    if (!offsets) return -1;
    offsets[0] = out->offset >= 0 ? out->offset : upper_bound(op, p);
    out->old_style_offsets = offsets;
    out->n_old_style_offsets = 1;
    return 0;
}

/* EARLIEST and LATEST are answered now (v1 semantics); a timestamp becomes
 * a lookup for the worker. */
static int answer_or_queue(lo_op_t *op, kb_partition_t *p, const kp_listoffsets_request_partition_t *in,
                           kp_listoffsets_response_partition_t *out) {
    int64_t upper = upper_bound(op, p);

    if (in->timestamp == KP_LISTOFFSETS_EARLIEST) {
        out->offset = kb_partition_log_start_offset(p);
    } else if (in->timestamp == KP_LISTOFFSETS_LATEST) {
        out->error_code = hw_unknown_error(op, p);
        if (out->error_code) return 0;
        out->offset = upper;
    } else {
        op->lookups[op->n_lookups++] = (lo_lookup_t){op, p, in->timestamp, upper, hw_unknown_error(op, p), in, out};
        return 0;
    }
    return fill_old_style(op, p, in, out);
}

static int list_partition(lo_op_t *op, kp_str_t topic, const kp_listoffsets_request_partition_t *in,
                          kp_listoffsets_response_partition_t *out) {
    bool leader_only = op->body.replica_id != KP_DEBUGGING_REPLICA_ID;
    kb_partition_t *p = NULL;
    int16_t err = KP_ERR_NONE;

    *out = (kp_listoffsets_response_partition_t){in->partition_index, KP_ERR_NONE, 0, NULL, -1, -1};
    if (op->twice[op->listed++]) err = KP_ERR_INVALID_REQUEST;
    if (!err) p = kb_api_partition(op->req, topic, in->partition_index, leader_only, &err);
    out->error_code = err;
    return err ? 0 : answer_or_queue(op, p, in, out);
}

static int list_topic(lo_op_t *op, const kp_listoffsets_request_topic_t *in, kp_listoffsets_response_topic_t *out) {
    kp_listoffsets_response_partition_t *parts;

    parts = kb_arena_calloc(&op->req->arena, (size_t)in->n_partitions, sizeof(*parts));
    if (!parts) return -1;
    *out = (kp_listoffsets_response_topic_t){in->name, in->n_partitions, parts};
    for (int32_t i = 0; i < in->n_partitions; i++)
        if (list_partition(op, in->name, &in->partitions[i], &parts[i]) != 0) return -1;
    return 0;
}

static int32_t count_partitions(const kp_listoffsets_request_t *body) {
    int32_t n = 0;

    for (int32_t i = 0; i < body->n_topics; i++) n += body->topics[i].n_partitions;
    return n;
}

static int build_response(lo_op_t *op) {
    const kp_listoffsets_request_t *body = &op->body;
    kp_listoffsets_response_topic_t *topics;

    int32_t n = count_partitions(body);

    topics = kb_arena_calloc(&op->req->arena, (size_t)body->n_topics, sizeof(*topics));
    op->lookups = kb_arena_calloc(&op->req->arena, (size_t)n, sizeof(*op->lookups));
    if (!topics || !op->lookups || mark_listed_twice(op, n) != 0) return -1;
    op->resp = (kp_listoffsets_response_t){0, body->n_topics, topics};
    for (int32_t i = 0; i < body->n_topics; i++)
        if (list_topic(op, &body->topics[i], &topics[i]) != 0) return -1;
    return 0;
}

/* ------------------------------------------------------ waiting lookups */

/* Sends the answer of a detached request and frees it. */
static void reply(lo_op_t *op) {
    kb_request_t *req = op->req;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (kp_listoffsets_response_encode(&w, op->version, &op->resp) != 0 ||
        kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the ListOffsets response");
    kp_writer_free(&w);
    kp_listoffsets_request_clear(&op->body);
    kb_api_request_free(req);
}

static bool run_lookups(lo_op_t *op);

/* The partition's topic was deleted while the request waited: the
 * partition has no log to answer from any more. */
static bool answer_deleted(lo_lookup_t *l) {
    if (!kb_partition_is_deleted(l->p)) return false;
    l->out->offset = l->out->timestamp = -1;
    l->out->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return true;
}

static void lookup_done(void *arg, int rc, int64_t offset, int64_t timestamp) {
    lo_lookup_t *l = arg;

    l->out->offset = rc == 0 ? offset : -1;
    l->out->timestamp = rc == 0 ? timestamp : -1;
    if (l->out->offset < 0) l->out->error_code = l->hw_unknown;
    if (!answer_deleted(l) && fill_old_style(l->op, l->p, l->in, l->out) != 0)
        l->out->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
    run_lookups(l->op);
}

/* Starts the next lookup that needs the worker, answering those that do
 * not on the way; after the last one, replies.  True when the request is
 * finished (op is then gone). */
static bool run_lookups(lo_op_t *op) {
    while (op->next_lookup < op->n_lookups) {
        lo_lookup_t *l = &op->lookups[op->next_lookup++];
        if (answer_deleted(l)) continue;
        int rc = kb_partition_offset_for_timestamp(l->p, l->ts, l->upper, lookup_done, l);
        if (rc == 0) return false;
        if (rc > 0) l->out->error_code = l->hw_unknown; /* no record below the bound */
        if (fill_old_style(op, l->p, l->in, l->out) != 0) l->out->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        if (rc < 0) l->out->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    reply(op);
    return true;
}

/* ---------------------------------------------------------------- handler */

kb_api_status_t kb_api_listoffsets(kb_request_t *req, kp_writer_t *w) {
    lo_op_t *op = kb_arena_alloc(&req->arena, sizeof(*op));

    if (!op) return KB_API_FAILED;
    op->req = req;
    op->version = req->header.request_api_version;
    if (kp_listoffsets_request_decode(&req->body, op->version, &op->body) != 0) {
        kp_listoffsets_request_clear(&op->body);
        return KB_API_MALFORMED;
    }
    if (build_response(op) != 0) {
        kp_listoffsets_request_clear(&op->body);
        return KB_API_FAILED;
    }
    if (op->n_lookups == 0) { /* nothing for the worker: answer now */
        kb_api_status_t st = kp_listoffsets_response_encode(w, op->version, &op->resp) == 0 ? KB_API_REPLY
                                                                                            : KB_API_FAILED;
        kp_listoffsets_request_clear(&op->body);
        return st;
    }
    op->req = kb_api_request_detach(req); /* the op, in the arena, moves with it */
    if (!op->req) {
        kp_listoffsets_request_clear(&op->body);
        return KB_API_FAILED;
    }
    return run_lookups(op) ? KB_API_DONE : KB_API_PENDING;
}
