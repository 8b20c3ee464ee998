/*
 * kb_api_produce.c - the Produce handler (wire-protocol.md 4.3, 5.10).
 *
 * Every partition of a request is judged on its own, so one bad partition
 * never fails the others, and the response echoes exactly the requested
 * topics and partitions in request order (librdkafka rejects anything
 * else).  For each partition: the partition must be hosted and led here
 * (3 / 6), an internal topic may be written only by the admin client (17),
 * and the batch passes kp_batch_validate_produce (87, 76, 10, 2); it is then
 * handed to the partition, which completes it per acks - at once, after an
 * fsync, or when the high watermark passes it (acks=all).  Request-wide
 * refusals go on every partition: 35 for versions 0-2 (advertised only for
 * librdkafka's compression check), 21 for acks outside {0, 1, -1}, 53 for
 * transactional batches without a transactional id.
 *
 * Compressed batches: Kafka decompresses every one on the leader to check
 * its records, and so does kbroker, on the broker's worker threads (a batch
 * may inflate to kbroker.batch.decompressed.max.bytes, far too long for the
 * event loop): kp_batch_validate_records answers 2 CORRUPT_MESSAGE for a
 * payload that is not what its codec says, or whose record count or
 * lengths are wrong, and 10 MESSAGE_TOO_LARGE beyond the cap; nothing of
 * such a batch is stored.  Uncompressed batches are checked on the loop as
 * before.  Appends happen on the loop strictly in request order: a batch
 * that passed waits until every earlier one of the request is appended or
 * answered, so two batches for one partition keep their order, and the
 * idempotent-producer checks run at append time as they always did.
 *
 * Because completions may come after the handler returns, the request is
 * detached up front and the operation lives in its arena; the last
 * completion sends the answer.  acks=0 gets no answer at all: on success the
 * request is just finished, on any error the connection is closed, which is
 * the only signal such a producer gets (Kafka's behaviour).
 */
#include <stdint.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/metrics/kb_metrics.h"
#include "broker/replica/kb_partition.h"
#include "common/kb_worker.h"
#include "proto/kp_batch.h"
#include "proto/kp_produce.h"
#include "proto/kp_types.h"

#define ADMIN_CLIENT_ID "__admin_client"

typedef struct produce_op produce_op_t;

/* Where a requested partition stands: answered (an error, or handed to
 * the partition), ready to append, or waiting for the worker's check of
 * its compressed records. */
typedef enum { SLOT_ANSWERED = 0, SLOT_READY, SLOT_CHECKING } slot_state_t;

/* One requested partition and the place its answer goes. */
typedef struct {
    produce_op_t *op;
    kp_str_t topic;
    const kp_produce_request_partition_t *data;
    kp_produce_response_partition_t *out;
    slot_state_t state;
    kb_partition_t *p;     /* READY, CHECKING: the leader to append to */
    kp_batch_header_t h;   /* READY, CHECKING: the validated header */
    kb_worker_job_t check; /* CHECKING: the record check on the worker */
    size_t max_inflate;    /* read by the worker */
    int16_t check_error;   /* written by the worker */
    size_t inflated;       /* written by the worker: bytes decompressed */
} produce_slot_t;

struct produce_op {
    kb_request_t *req; /* detached; owns the arena this operation lives in */
    kp_produce_request_t body;
    kp_produce_response_t resp;
    int16_t version;
    int32_t n_slots;
    produce_slot_t *slots;
    int32_t next_append; /* slots before it are answered or appended, in request order */
    int pending; /* partitions not yet completed, plus one while dispatching */
};

/* ------------------------------------------------------------ operation */

static int build_topic(produce_op_t *op, kb_arena_t *a, const kp_produce_request_topic_t *in,
                       kp_produce_response_topic_t *out) {
    kp_produce_response_partition_t *parts;

    parts = kb_arena_calloc(a, (size_t)in->n_partition_data, sizeof(*parts));
    if (!parts) return -1;
    out->name = in->name;
    out->n_partition_responses = in->n_partition_data;
    out->partition_responses = parts;
    for (int32_t i = 0; i < in->n_partition_data; i++) {
        parts[i] = (kp_produce_response_partition_t){in->partition_data[i].index, KP_ERR_NONE,
                                                     -1, -1, -1};
        op->slots[op->n_slots++] =
            (produce_slot_t){.op = op, .topic = in->name, .data = &in->partition_data[i], .out = &parts[i]};
    }
    return 0;
}

static int32_t count_partitions(const kp_produce_request_t *body) {
    int32_t n = 0;

    for (int32_t i = 0; i < body->n_topic_data; i++) n += body->topic_data[i].n_partition_data;
    return n;
}

/* The response mirror of the request, allocated in the request's arena. */
static int build_response(produce_op_t *op, kb_arena_t *a) {
    const kp_produce_request_t *body = &op->body;
    kp_produce_response_topic_t *topics;

    topics = kb_arena_calloc(a, (size_t)body->n_topic_data, sizeof(*topics));
    op->slots = kb_arena_calloc(a, (size_t)count_partitions(body), sizeof(*op->slots));
    if (!topics || !op->slots) return -1;
    op->resp = (kp_produce_response_t){body->n_topic_data, topics, 0};
    for (int32_t i = 0; i < body->n_topic_data; i++)
        if (build_topic(op, a, &body->topic_data[i], &topics[i]) != 0) return -1;
    return 0;
}

/* Builds the operation in req's arena and detaches req; takes over body.
 * NULL when out of memory (body is then still the caller's). */
static produce_op_t *op_new(kb_request_t *req, kp_produce_request_t *body) {
    produce_op_t *op = kb_arena_alloc(&req->arena, sizeof(*op));

    if (!op) return NULL;
    op->body = *body;
    op->version = req->header.request_api_version;
    op->pending = 1;
    if (build_response(op, &req->arena) != 0) return NULL;
    op->req = kb_api_request_detach(req);
    return op->req ? op : NULL;
}

/* -------------------------------------------------------------- answer */

static const produce_slot_t *first_error(const produce_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].out->error_code != KP_ERR_NONE) return &op->slots[i];
    return NULL;
}

/* acks=0: no response; an error closes the connection instead. */
static void finish_silently(produce_op_t *op) {
    const produce_slot_t *bad = first_error(op);

    if (bad)
        kb_api_close(op->req, "acks=0 Produce failed on %.*s-%d with error %d",
                     (int)bad->topic.len, bad->topic.ptr, (int)bad->data->index,
                     (int)bad->out->error_code);
    else
        kb_conn_done(op->req->conn);
}

static void reply(produce_op_t *op) {
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, op->req);
    if (kp_produce_response_encode(&w, op->version, &op->resp) != 0 ||
        kb_api_response_send(op->req->conn, &w, start) != 0)
        kb_api_close(op->req, "could not encode or queue the Produce response");
    kp_writer_free(&w);
}

/* Answers (or not, for acks=0) and releases everything. */
static void produce_finish(produce_op_t *op) {
    kb_request_t *req = op->req;

    if (op->body.acks == 0)
        finish_silently(op);
    else
        reply(op);
    kp_produce_request_clear(&op->body);
    kb_api_request_free(req);
}

/* Drops one pending count; the last one answers.  True when that
 * happened (op is then gone). */
static bool op_release(produce_op_t *op) {
    if (--op->pending > 0) return false;
    produce_finish(op);
    return true;
}

/* ----------------------------------------------------------- partitions */

static void count_append(const produce_op_t *op, size_t bytes) {
    kb_metrics_t *m = op->req->ctx ? op->req->ctx->metrics : NULL;

    if (!m) return;
    m->produce_batches++;
    m->produce_bytes += bytes;
}

static void on_produced(void *arg, int16_t error_code, const kb_produce_result_t *res) {
    produce_slot_t *s = arg;

    s->out->error_code = error_code;
    if (error_code == KP_ERR_NONE && res) {
        s->out->base_offset = res->base_offset;
        s->out->log_append_time_ms = res->log_append_time;
        s->out->log_start_offset = res->log_start_offset;
        count_append(s->op, (size_t)s->data->records_len);
    }
    op_release(s->op);
}

/* The topic's max.message.bytes (its override, else message.max.bytes). */
static int32_t max_message_bytes(kb_partition_t *p) {
    return kb_partition_max_message_bytes(p);
}

/* Appends, in request order, every slot up to the first one still being
 * checked.  The caller holds a pending count, so op survives completions
 * that run inside kb_partition_produce. */
static void append_ready(produce_op_t *op) {
    while (op->next_append < op->n_slots) {
        produce_slot_t *s = &op->slots[op->next_append];
        if (s->state == SLOT_CHECKING) return;
        op->next_append++;
        if (s->state != SLOT_READY) continue;
        s->state = SLOT_ANSWERED;
        op->pending++;
        kb_partition_produce(s->p, (uint8_t *)s->data->records, &s->h, op->body.acks, op->body.timeout_ms,
                             on_produced, s);
    }
}

/* On a worker thread: reads only the batch, which nobody else touches
 * until the check is done. */
static void check_records(void *arg) {
    produce_slot_t *s = arg;

    s->check_error =
        kp_batch_validate_records(s->data->records, kp_batch_size(&s->h), s->max_inflate, &s->inflated);
}

static void count_check(const produce_op_t *op, size_t inflated) {
    kb_metrics_t *m = op->req->ctx ? op->req->ctx->metrics : NULL;

    if (!m) return;
    m->produce_batches_decompressed++;
    m->produce_decompressed_bytes += inflated;
}

static void check_done(void *arg, bool cancelled) {
    produce_slot_t *s = arg;
    produce_op_t *op = s->op;

    if (cancelled) s->check_error = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* shutting down */
    else count_check(op, s->inflated);
    s->state = s->check_error ? SLOT_ANSWERED : SLOT_READY;
    s->out->error_code = s->check_error;
    append_ready(op);
    op_release(op); /* the check's count */
}

/* Queues the record check of a compressed batch. */
static void start_check(produce_slot_t *s) {
    const kb_api_ctx_t *b = s->op->req->ctx;

    s->max_inflate = (size_t)b->cfg->batch_decompressed_max_bytes;
    s->check = (kb_worker_job_t){.run = check_records, .done = check_done, .arg = s};
    if (kb_worker_submit(b->worker, &s->check) != 0) {
        s->out->error_code = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* shutting down */
        return;
    }
    s->state = SLOT_CHECKING;
    s->op->pending++;
}

/* A partition hosted here but not led (or whose leader's session lease
 * lapsed) refuses the batch as its leader would, noting the refusal in its
 * producer table (kb_partition_note_refused). */
static void note_not_leader(produce_slot_t *s, size_t len) {
    const kp_produce_request_partition_t *d = s->data;
    kp_batch_header_t h;
    int16_t err;
    kb_partition_t *p = kb_api_partition(s->op->req, s->topic, d->index, false, &err);

    if (p && kp_batch_header_decode(d->records, len, &h) == 0 && h.magic == KP_BATCH_MAGIC)
        kb_partition_note_refused(p, &h, KP_ERR_NOT_LEADER_OR_FOLLOWER);
}

/* Judges one partition: an error answers it now; a batch that passes is
 * ready to append, or first has its compressed records checked. */
static void produce_partition(produce_slot_t *s) {
    produce_op_t *op = s->op;
    const kp_produce_request_partition_t *d = s->data;
    size_t len = d->records_len > 0 ? (size_t)d->records_len : 0;
    int16_t err;
    kb_partition_t *p = kb_api_partition(op->req, s->topic, d->index, true, &err);

    if (err == KP_ERR_NOT_LEADER_OR_FOLLOWER) note_not_leader(s, len);

    if (!err && kb_api_topic_is_internal(s->topic) && !kp_str_eq(op->req->header.client_id, ADMIN_CLIENT_ID))
        err = KP_ERR_INVALID_TOPIC_EXCEPTION;
    if (!err) err = kp_batch_validate_produce(d->records, len, op->version, max_message_bytes(p), &s->h);
    if (err) {
        s->out->error_code = err;
        return;
    }
    s->p = p;
    if (kp_batch_codec(&s->h) == KP_CODEC_NONE)
        s->state = SLOT_READY;
    else
        start_check(s);
}

/* ------------------------------------------------------ request-wide checks */

static bool acks_valid(int16_t acks) { return acks == 0 || acks == 1 || acks == -1; }

/* True when a partition's blob looks like a magic-2 batch with the
 * transactional attribute (validation proper comes later). */
static bool transactional_batch(const kp_produce_request_partition_t *d) {
    if (d->records_len < KP_BATCH_HEADER_SIZE) return false;
    if (d->records[KP_BATCH_OFF_MAGIC] != KP_BATCH_MAGIC) return false;
    return (d->records[KP_BATCH_OFF_ATTRIBUTES + 1] & KP_ATTR_TRANSACTIONAL) != 0;
}

/* The error every partition gets, or 0 when each is judged on its own. */
static int16_t request_error(const produce_op_t *op) {
    if (op->version < 3) return KP_ERR_UNSUPPORTED_VERSION;
    if (!acks_valid(op->body.acks)) return KP_ERR_INVALID_REQUIRED_ACKS;
    if (op->body.transactional_id.len < 0)
        for (int32_t i = 0; i < op->n_slots; i++)
            if (transactional_batch(op->slots[i].data))
                return KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return KP_ERR_NONE;
}

/* ---------------------------------------------------------------- handler */

kb_api_status_t kb_api_produce(kb_request_t *req, kp_writer_t *w) {
    kp_produce_request_t body;
    produce_op_t *op;
    int16_t err;

    (void)w; /* the operation frames its own answer, now or later */
    if (kp_produce_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_produce_request_clear(&body);
        return KB_API_MALFORMED;
    }
    op = op_new(req, &body);
    if (!op) {
        kp_produce_request_clear(&body);
        return KB_API_FAILED;
    }
    err = request_error(op);
    for (int32_t i = 0; i < op->n_slots; i++) {
        if (err)
            op->slots[i].out->error_code = err;
        else
            produce_partition(&op->slots[i]);
    }
    append_ready(op);
    return op_release(op) ? KB_API_DONE : KB_API_PENDING;
}
