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
 * before.
 *
 * The topic's compression.type: a batch whose codec differs from it (and
 * it is not producer) is rebuilt with it on a worker thread, as Kafka's
 * LogValidator does (kp_batch_recompress: same records, same producer and
 * sequence fields, flags and timestamps; the check above comes with it),
 * and the rebuilt copy is what the partition appends and its followers
 * copy.  A rebuilt batch above the topic's max.message.bytes gets 10, as
 * in Kafka.  Batches already in the topic's codec, and every batch under
 * producer, are appended from the request's own bytes as before.
 *
 * Order: a batch that goes to a worker must not be overtaken by one that
 * arrives later for the same partition, from this request or any other
 * connection, or an idempotent producer's next batch would be judged out
 * of sequence.  So every batch that passes the checks on the loop takes a
 * turn in its partition's append order at once (kb_partition.h), and is
 * appended when it and every turn before it are ready; the
 * idempotent-producer checks (sequence, duplicates) run at that append, as
 * they always did.  A batch that needs no worker is ready at once and,
 * with nothing ahead of it, appended at once: the zero-copy path is
 * unchanged.
 *
 * Because completions may come after the handler returns, the request is
 * detached up front and the operation lives in its arena; the last
 * completion sends the answer.  acks=0 gets no answer at all: on success the
 * request is just finished, on any error the connection is closed, which is
 * the only signal such a producer gets (Kafka's behaviour).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/metrics/kb_metrics.h"
#include "broker/replica/kb_partition.h"
#include "common/kb_worker.h"
#include "proto/kp_batch.h"
#include "proto/kp_compress.h"
#include "proto/kp_produce.h"
#include "proto/kp_recompress.h"
#include "proto/kp_types.h"

#define ADMIN_CLIENT_ID "__admin_client"

typedef struct produce_op produce_op_t;

/* One requested partition and the place its answer goes. */
typedef struct {
    produce_op_t *op;
    kp_str_t topic;
    const kp_produce_request_partition_t *data;
    kp_produce_response_partition_t *out;
    kp_batch_header_t h;   /* the validated header; the rebuilt batch's once rebuilt */
    kb_append_turn_t turn; /* its place in the partition's append order */
    kb_worker_job_t job;   /* the worker's record check or rebuild */
    int codec;             /* read by the worker: rebuild with it, or KP_CODEC_PRODUCER: check only */
    size_t max_inflate;    /* read by the worker */
    size_t max_out;        /* read by the worker: the topic's max.message.bytes */
    int16_t job_error;     /* written by the worker */
    kp_rebuilt_t rebuilt;  /* written by the worker: the rebuilt batch, owned until its append */
    size_t inflated;       /* written by the worker: bytes decompressed */
} produce_slot_t;

struct produce_op {
    kb_request_t *req; /* detached; owns the arena this operation lives in */
    kp_produce_request_t body;
    kp_produce_response_t resp;
    int16_t version;
    int32_t n_slots;
    produce_slot_t *slots;
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
        count_append(s->op, kp_batch_size(&s->h));
    }
    op_release(s->op);
}

/* The slot's turn in its partition's append order (kb_partition.h): the
 * batch as the client sent it, or as the worker rebuilt it, goes to the
 * partition; a batch the worker refused is answered.  The rebuilt copy is
 * freed as soon as the append has written it (the log keeps no pointer to
 * it), not when the answer goes, which for acks=all may be much later.
 * s may be gone once kb_partition_produce returns. */
static void take_turn(void *arg, kb_partition_t *p) {
    produce_slot_t *s = arg;
    produce_op_t *op = s->op;
    uint8_t *rebuilt = s->rebuilt.batch;

    s->rebuilt.batch = NULL;
    if (!p && !s->job_error) s->job_error = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* the partition went away */
    if (s->job_error) {
        s->out->error_code = s->job_error;
        free(rebuilt);
        op_release(op);
        return;
    }
    kb_partition_produce(p, rebuilt ? rebuilt : (uint8_t *)s->data->records, &s->h, op->body.acks,
                         op->body.timeout_ms, on_produced, s);
    free(rebuilt);
}

/* On a worker thread: reads only the batch, which nobody else touches
 * until the job is done, and writes only the slot's job fields.  A batch
 * in its topic's codec (or under compression.type=producer) has its
 * records checked; any other is rebuilt with the topic's codec, which
 * checks its records on the way. */
static void run_job(void *arg) {
    produce_slot_t *s = arg;
    size_t size = kp_batch_size(&s->h);

    if (s->codec == KP_CODEC_PRODUCER) {
        s->job_error = kp_batch_validate_records(s->data->records, size, s->max_inflate, &s->inflated);
    } else {
        s->job_error = kp_batch_recompress(s->data->records, size, s->codec, s->max_inflate, s->max_out, &s->rebuilt);
        s->inflated = s->rebuilt.inflated;
    }
}

static void count_job(const produce_slot_t *s) {
    kb_metrics_t *m = s->op->req->ctx ? s->op->req->ctx->metrics : NULL;

    if (!m) return;
    if (kp_batch_codec(&s->h) != KP_CODEC_NONE) {
        m->produce_batches_decompressed++;
        m->produce_decompressed_bytes += s->inflated;
    }
    if (s->rebuilt.batch) {
        m->produce_batches_recompressed++;
        m->produce_recompressed_bytes += s->rebuilt.size;
    }
}

/* Back on the loop: the slot is ready to take its turn, which may run at
 * once (op may then be gone). */
static void job_done(void *arg, bool cancelled) {
    produce_slot_t *s = arg;

    if (cancelled)
        s->job_error = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* shutting down: run() never ran */
    else
        count_job(s);
    if (!s->job_error && s->rebuilt.batch) kp_batch_header_decode(s->rebuilt.batch, s->rebuilt.size, &s->h);
    kb_partition_turn_ready(&s->turn);
}

/* Queues the worker's part; the turn, already taken, waits for it. */
static void start_job(produce_slot_t *s, int codec) {
    const kb_api_ctx_t *b = s->op->req->ctx;
    int32_t max_message_bytes = kb_partition_max_message_bytes(s->turn.p);

    s->codec = codec;
    s->max_inflate = (size_t)b->cfg->batch_decompressed_max_bytes;
    s->max_out = max_message_bytes >= 0 ? (size_t)max_message_bytes : 0;
    s->job = (kb_worker_job_t){.run = run_job, .done = job_done, .arg = s};
    if (kb_worker_submit(b->worker, &s->job) != 0) {
        s->job_error = KP_ERR_NOT_LEADER_OR_FOLLOWER; /* shutting down */
        kb_partition_turn_ready(&s->turn);
    }
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

/* The codec to rebuild a batch of codec `have` with on a topic whose
 * compression.type is `want`, or KP_CODEC_PRODUCER to keep the batch. */
static int rebuild_codec(int want, int have) {
    return want == KP_CODEC_PRODUCER || want == have ? KP_CODEC_PRODUCER : want;
}

/* Judges one partition: an error answers it now; a batch that passes
 * takes its turn in the partition's append order, at once when it needs
 * nothing more (uncompressed, in its topic's codec: the zero-copy path),
 * else once the worker has checked its compressed records or rebuilt it
 * with the topic's codec. */
static void produce_partition(produce_slot_t *s) {
    produce_op_t *op = s->op;
    const kp_produce_request_partition_t *d = s->data;
    size_t len = d->records_len > 0 ? (size_t)d->records_len : 0;
    int16_t err;
    kb_partition_t *p = kb_api_partition(op->req, s->topic, d->index, true, &err);
    int codec;

    if (err == KP_ERR_NOT_LEADER_OR_FOLLOWER) note_not_leader(s, len);

    if (!err && kb_api_topic_is_internal(s->topic) && !kp_str_eq(op->req->header.client_id, ADMIN_CLIENT_ID))
        err = KP_ERR_INVALID_TOPIC_EXCEPTION;
    if (!err) err = kp_batch_validate_produce(d->records, len, op->version, kb_partition_max_message_bytes(p), &s->h);
    if (err) {
        s->out->error_code = err;
        return;
    }
    op->pending++; /* the turn's: released by its append's answer, or by take_turn */
    kb_partition_turn_take(p, &s->turn, take_turn, s);
    codec = rebuild_codec(kb_partition_compression_codec(p), kp_batch_codec(&s->h));
    if (codec == KP_CODEC_PRODUCER && kp_batch_codec(&s->h) == KP_CODEC_NONE)
        kb_partition_turn_ready(&s->turn);
    else
        start_job(s, codec);
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
    return op_release(op) ? KB_API_DONE : KB_API_PENDING;
}
