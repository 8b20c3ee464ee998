/*
 * kb_api_fetch.c - the Fetch handler for consumers (wire-protocol.md 4.4).
 *
 * Reading.  Partitions are read in request order, each limited to
 * min(partition_max_bytes, what is left of max_bytes) where max_bytes is
 * also capped by the broker's fetch.max.bytes (KIP-74).  Until a partition
 * yields data, the first batch at the fetch position is returned whole even
 * when it exceeds both limits, so a consumer always makes progress; after
 * that a batch that does not fit is left for the next fetch.  Consumers read
 * up to the high watermark; READ_COMMITTED stops at the last stable offset,
 * which equals it while there are no transactions.  Record bytes are never
 * copied: kb_partition_read() returns a range of the partition's log,
 * which kb_partition_range_send() queues into a sendfile output
 * (broker/net/kb_sendfile.h) as a file segment that holds the log segment
 * until libevent lets go of it.
 *
 * Framing.  The response body interleaves encoded fields and record ranges,
 * so it is encoded once with the record bytes left out (kp_fetch.h), the
 * frame size is the encoded size plus the ranges, and the frame is then
 * emitted piece by piece in order.
 *
 * Long-poll.  The answer goes out at once when max_wait_ms <= 0, min_bytes
 * <= 0, any partition has an error, or the bytes read reach min_bytes.
 * Otherwise the request is detached and parked: a waiter on every requested
 * partition (woken by appends and high-watermark moves, never by polling)
 * and a timer for max_wait_ms.  A wake re-reads every partition; when the
 * answer is due, the remaining waiters and the timer are cancelled.  A
 * parked request holds no segment: ranges are released until the answer.
 * A request with nothing to wait on (no partition, or partitions closing at
 * shutdown) is answered at once rather than left to the timer.  A partition
 * the request names more than once gets 42 INVALID_REQUEST on each copy,
 * which is an error, so such a request never waits.
 *
 * Sessions (KIP-227) are not implemented: session_id 0 is answered with
 * session 0 (the client keeps sending full fetches), any other id with the
 * top-level error 70 FETCH_SESSION_ID_NOT_FOUND.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <sys/time.h>

#include "broker/api/kb_api_internal.h"
#include "broker/metrics/kb_metrics.h"
#include "broker/net/kb_sendfile.h"
#include "broker/replica/kb_partition.h"
#include "proto/kp_fetch.h"
#include "proto/kp_types.h"

typedef struct fetch_op fetch_op_t;

/* One requested partition: what was read for it and its answer. */
typedef struct {
    fetch_op_t *op;
    kp_str_t topic;
    const kp_fetch_request_partition_t *in;
    kp_fetch_response_partition_t *out;
    kb_partition_range_t range; /* from the last read; zeroed: holds nothing */
    kb_waiter_t *waiter;  /* while parked */
    bool waiting;         /* the waiter has not fired */
    bool repeated;        /* the request names this partition twice: 42, never read */
} fetch_slot_t;

struct fetch_op {
    kb_request_t *req; /* the dispatcher's, or the detached copy once parked */
    bool detached;
    kp_fetch_request_t body;
    kp_fetch_response_t resp;
    int16_t version;
    int32_t n_slots;
    fetch_slot_t *slots;
    size_t bytes;   /* record bytes the last read found */
    bool any_error; /* ... and whether a partition failed */
    struct event *timer; /* max_wait_ms */
};

static void fetch_finish(fetch_op_t *op);

/* ------------------------------------------------------------ operation */

static int build_topic(fetch_op_t *op, kb_arena_t *a, const kp_fetch_request_topic_t *in,
                       kp_fetch_response_topic_t *out) {
    kp_fetch_response_partition_t *parts;

    parts = kb_arena_calloc(a, (size_t)in->n_partitions, sizeof(*parts));
    if (!parts) return -1;
    *out = (kp_fetch_response_topic_t){in->topic, in->n_partitions, parts};
    for (int32_t i = 0; i < in->n_partitions; i++) {
        fetch_slot_t *s = &op->slots[op->n_slots++];
        s->op = op;
        s->topic = in->topic;
        s->in = &in->partitions[i];
        s->out = &parts[i];
    }
    return 0;
}

static int32_t count_partitions(const kp_fetch_request_t *body) {
    int32_t n = 0;

    for (int32_t i = 0; i < body->n_topics; i++) n += body->topics[i].n_partitions;
    return n;
}

/* A partition named twice is answered 42 INVALID_REQUEST each time and
 * never read (Kafka's brokers keep one entry per partition; no client
 * sends two).  Reading it, and waiting on it, once per copy let one request
 * of 64 kB hold the loop for half a minute on every append to it. */
static int mark_repeated(fetch_op_t *op) {
    kb_api_tp_t *keys = kb_arena_calloc(&op->req->arena, op->n_slots > 0 ? (size_t)op->n_slots : 1, sizeof(*keys));
    bool *repeated;

    if (!keys) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) keys[i] = (kb_api_tp_t){op->slots[i].topic, op->slots[i].in->partition, i};
    if (!(repeated = kb_api_mark_repeated(&op->req->arena, keys, op->n_slots, false))) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) op->slots[i].repeated = repeated[i];
    return 0;
}

/* Builds the operation and its response mirror in req's arena; takes over
 * body.  NULL when out of memory (body is then still the caller's). */
static fetch_op_t *op_new(kb_request_t *req, kp_fetch_request_t *body) {
    fetch_op_t *op = kb_arena_alloc(&req->arena, sizeof(*op));
    kp_fetch_response_topic_t *topics;

    if (!op) return NULL;
    op->req = req;
    op->body = *body;
    op->version = req->header.request_api_version;
    topics = kb_arena_calloc(&req->arena, (size_t)body->n_topics, sizeof(*topics));
    op->slots = kb_arena_calloc(&req->arena, (size_t)count_partitions(body), sizeof(*op->slots));
    if (!topics || !op->slots) return NULL;
    op->resp = (kp_fetch_response_t){0, KP_ERR_NONE, 0, body->n_topics, topics};
    for (int32_t i = 0; i < body->n_topics; i++)
        if (build_topic(op, &req->arena, &body->topics[i], &topics[i]) != 0) return NULL;
    return mark_repeated(op) == 0 ? op : NULL;
}

/* ---------------------------------------------------------------- reading */

static void release_all(fetch_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++) kb_partition_range_release(&op->slots[i].range);
}

/* max_bytes capped by the broker's fetch.max.bytes. */
static size_t response_limit(const fetch_op_t *op) {
    const kb_api_ctx_t *b = op->req->ctx;
    int32_t max = op->body.max_bytes;

    if (b && b->cfg && b->cfg->fetch_max_bytes < max) max = b->cfg->fetch_max_bytes;
    return max > 0 ? (size_t)max : 0;
}

static size_t partition_limit(int32_t partition_max_bytes, size_t left) {
    if (partition_max_bytes <= 0) return 0;
    return (size_t)partition_max_bytes < left ? (size_t)partition_max_bytes : left;
}

/* current_leader_epoch (v9+) is checked only when the client sent one. */
static int16_t epoch_error(kb_partition_t *p, int32_t current_leader_epoch) {
    int32_t epoch = kb_partition_leader_epoch(p);

    if (current_leader_epoch < 0 || current_leader_epoch == epoch) return KP_ERR_NONE;
    return current_leader_epoch < epoch ? KP_ERR_FENCED_LEADER_EPOCH : KP_ERR_UNKNOWN_LEADER_EPOCH;
}

/* Kafka maps a storage error to 6 for versions that predate 56 (v6). */
static int16_t storage_error(const fetch_op_t *op) {
    return op->version >= 6 ? KP_ERR_KAFKA_STORAGE_ERROR : KP_ERR_NOT_LEADER_OR_FOLLOWER;
}

/* Reads s's range below the high watermark, within what is left of the
 * response; first_batch_whole until some partition yielded data. */
static int16_t read_range(fetch_slot_t *s, kb_partition_t *p, size_t *left, bool *yielded) {
    int64_t offset = s->in->fetch_offset, hw = kb_partition_high_watermark(p);
    int64_t log_start = kb_partition_log_start_offset(p);
    size_t limit = partition_limit(s->in->partition_max_bytes, *left);
    int rc;

    if (offset < log_start || offset > kb_partition_log_end_offset(p)) return KP_ERR_OFFSET_OUT_OF_RANGE;
    s->out->high_watermark = hw;
    s->out->last_stable_offset = hw;
    s->out->log_start_offset = log_start;
    if (offset >= hw || (limit == 0 && *yielded)) return KP_ERR_NONE;
    rc = kb_partition_read(p, offset, hw, limit, !*yielded, &s->range);
    if (rc == 1) return KP_ERR_OFFSET_OUT_OF_RANGE;
    if (rc != 0) return storage_error(s->op);
    size_t len = kb_partition_range_len(&s->range);
    if (len > 0) {
        *yielded = true;
        *left -= len < *left ? len : *left;
    }
    return KP_ERR_NONE;
}

static void reset_answer(const fetch_op_t *op, int32_t partition,
                         kp_fetch_response_partition_t *out) {
    bool committed = op->body.isolation_level == KP_READ_COMMITTED;

    out->partition_index = partition;
    out->error_code = KP_ERR_NONE;
    out->high_watermark = -1;
    out->last_stable_offset = -1;
    out->log_start_offset = -1;
    /* No transactions yet: nothing was ever aborted. */
    out->n_aborted_transactions = committed ? 0 : -1;
    out->aborted_transactions = NULL;
    out->preferred_read_replica = -1;
    out->records = (kp_bytes_t){0, NULL};
}

static void read_slot(fetch_slot_t *s, size_t *left, bool *yielded) {
    kp_fetch_response_partition_t *out = s->out;
    int16_t err;
    kb_partition_t *p = NULL;

    kb_partition_range_release(&s->range);
    reset_answer(s->op, s->in->partition, out);
    if (s->repeated) err = KP_ERR_INVALID_REQUEST;
    else p = kb_api_partition(s->op->req, s->topic, s->in->partition, true, &err);
    if (!err) err = epoch_error(p, s->in->current_leader_epoch);
    if (!err) err = read_range(s, p, left, yielded);
    out->error_code = err;
    if (err) {
        kb_partition_range_release(&s->range);
        out->high_watermark = out->last_stable_offset = out->log_start_offset = -1;
        s->op->any_error = true;
    }
    out->records.len = (int32_t)kb_partition_range_len(&s->range);
    s->op->bytes += kb_partition_range_len(&s->range);
}

/* Reads every partition afresh. */
static void read_all(fetch_op_t *op) {
    size_t left = response_limit(op);
    bool yielded = false;

    op->bytes = 0;
    op->any_error = false;
    for (int32_t i = 0; i < op->n_slots; i++) read_slot(&op->slots[i], &left, &yielded);
}

static bool answer_due(const fetch_op_t *op) {
    const kp_fetch_request_t *b = &op->body;

    return b->max_wait_ms <= 0 || b->min_bytes <= 0 || op->any_error ||
           op->bytes >= (size_t)b->min_bytes;
}

/* ---------------------------------------------------------------- answer */

/* Queues the encoded bytes of w from `start` and the ranges at their
 * positions, in order.  Returns the bytes queued as file segments, or -1. */
static int64_t emit(fetch_op_t *op, kb_sendfile_t *out, const kp_writer_t *w, size_t start, const size_t *pos) {
    size_t at = start;
    int64_t sent = 0;

    for (int32_t i = 0; i < op->n_slots; i++) {
        kb_partition_range_t *r = &op->slots[i].range;
        size_t len = kb_partition_range_len(r);
        if (len == 0) continue;
        if (kb_sendfile_add_bytes(out, w->buf + at, pos[i] - at) != 0 || kb_partition_range_send(out, r) != 0)
            return -1;
        at = pos[i];
        sent += (int64_t)len;
    }
    return kb_sendfile_add_bytes(out, w->buf + at, w->len - at) == 0 ? sent : -1;
}

static void count_answer(const fetch_op_t *op, int64_t bytes) {
    kb_metrics_t *m = op->req->ctx ? op->req->ctx->metrics : NULL;

    if (!m) return;
    m->fetch_requests++;
    m->fetch_record_bytes += (uint64_t)bytes;
    m->fetch_sendfile_bytes += (uint64_t)bytes;
}

/* Encodes the header and body with the ranges left out, patches the frame
 * size to include them, and queues the pieces.  0, or -1 on failure. */
static int send_answer(fetch_op_t *op) {
    size_t *pos = kb_arena_calloc(&op->req->arena, (size_t)op->n_slots + 1, sizeof(*pos));
    size_t extra = kp_fetch_response_external_bytes(&op->resp), start, size;
    kb_sendfile_t out;
    int ready = kb_sendfile_init(&out);
    kp_writer_t w;
    int64_t sent = -1;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, op->req);
    if (pos && ready == 0 && kp_fetch_response_encode(&w, op->version, &op->resp, pos) == 0) {
        size = w.len - start - 4 + extra;
        if (size <= INT32_MAX) {
            kp_write_patch_int32(&w, start, (int32_t)size);
            sent = emit(op, &out, &w, start, pos);
        }
    }
    if (sent >= 0) {
        kb_conn_reply(op->req->conn, kb_sendfile_evbuffer(&out));
        count_answer(op, sent);
    }
    kb_sendfile_clear(&out); /* drops the segments of a failed answer */
    kp_writer_free(&w);
    release_all(op);
    return sent >= 0 ? 0 : -1;
}

/* --------------------------------------------------------------- parking */

/* The kbroker_fetch_requests_parked gauge (tests wait on it to know a
 * long-poll is in place before they produce). */
static void count_parked(const fetch_op_t *op, int delta) {
    kb_metrics_t *m = op->req->ctx ? op->req->ctx->metrics : NULL;

    if (m) m->fetch_parked += (uint64_t)(int64_t)delta;
}

static void cancel_waiters(fetch_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++) {
        fetch_slot_t *s = &op->slots[i];
        if (s->waiter && s->waiting) kb_waiter_cancel(s->waiter);
        s->waiter = NULL;
        s->waiting = false;
    }
}

static void free_events(fetch_op_t *op) {
    if (op->timer) event_free(op->timer);
    op->timer = NULL;
}

static void on_wake(void *arg);

/* Registers a waiter on every requested partition led here that has none;
 * returns how many partitions are being waited on. */
static int arm_waiters(fetch_op_t *op) {
    int n = 0;

    for (int32_t i = 0; i < op->n_slots; i++) {
        fetch_slot_t *s = &op->slots[i];
        int16_t err;
        kb_partition_t *p = NULL;
        kb_waiter_t *waiter;

        if (!s->waiting && !s->repeated) p = kb_api_partition(op->req, s->topic, s->in->partition, true, &err);
        if (p) {
            s->waiting = true;
            waiter = kb_partition_wait(p, on_wake, s);
            if (s->waiting) s->waiter = waiter; /* unless it already fired */
            if (!waiter) s->waiting = false;
        }
        n += s->waiting;
    }
    return n;
}

/* A waiter fired (and is gone).  The partition calls it from its own loop
 * callback, never from inside an append, and allows the other waiters to
 * be cancelled from here.  With nothing left to wait on (the partitions are
 * closing) the answer goes out now. */
static void on_wake(void *arg) {
    fetch_slot_t *s = arg;
    fetch_op_t *op = s->op;

    s->waiting = false;
    s->waiter = NULL;
    read_all(op);
    if (answer_due(op) || arm_waiters(op) == 0) {
        fetch_finish(op);
        return;
    }
    release_all(op);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
    fetch_op_t *op = arg;

    (void)fd;
    (void)what;
    read_all(op);
    fetch_finish(op);
}

/* Waits for data or max_wait_ms, with the request detached.  0, or -1 when
 * that is impossible or nothing could wake it (answer now instead).  No
 * waiter or timer can fire before the handler has returned. */
static int park(fetch_op_t *op) {
    struct event_base *base = op->req->ctx ? op->req->ctx->base : NULL;
    struct timeval tv = {op->body.max_wait_ms / 1000, (op->body.max_wait_ms % 1000) * 1000};
    kb_request_t *heap = NULL;

    if (!base) return -1;
    op->timer = evtimer_new(base, on_timeout, op);
    if (op->timer && evtimer_add(op->timer, &tv) == 0 && arm_waiters(op) > 0)
        heap = kb_api_request_detach(op->req);
    if (!heap) {
        cancel_waiters(op);
        free_events(op);
        return -1;
    }
    op->req = heap;
    op->detached = true;
    count_parked(op, +1);
    release_all(op);
    return 0;
}

/* Answers with the last read, then releases everything the operation
 * holds; the dispatcher frees an undetached request's arena. */
static void fetch_finish(fetch_op_t *op) {
    kb_request_t *req = op->req;
    bool detached = op->detached;

    cancel_waiters(op);
    free_events(op);
    if (detached) count_parked(op, -1);
    if (send_answer(op) != 0) kb_api_close(req, "could not build or queue the Fetch response");
    kp_fetch_request_clear(&op->body);
    if (detached) kb_api_request_free(req);
}

/* ---------------------------------------------------------------- handler */

kb_api_status_t kb_api_fetch(kb_request_t *req, kp_writer_t *w) {
    kp_fetch_request_t body;
    fetch_op_t *op;

    (void)w; /* the answer carries file segments: it is framed here */
    if (kp_fetch_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_fetch_request_clear(&body);
        return KB_API_MALFORMED;
    }
    op = op_new(req, &body);
    if (!op) {
        kp_fetch_request_clear(&body);
        return KB_API_FAILED;
    }
    if (op->body.session_id != 0) {
        op->resp.error_code = KP_ERR_FETCH_SESSION_ID_NOT_FOUND;
        op->resp.n_responses = 0;
    } else {
        read_all(op);
        if (!answer_due(op) && park(op) == 0) return KB_API_PENDING;
    }
    fetch_finish(op);
    return KB_API_DONE;
}
