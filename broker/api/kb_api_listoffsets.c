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
 * v0 answers with old_style_offsets, which Kafka fills with segment base
 * offsets in descending order.  librdkafka 1.7.0, the one client that still
 * sends v0, asks for a single offset with -1 or -2, so the answer holds at
 * most one offset: the value v1 would return, or for a timestamp past every
 * record the high watermark (Kafka's "latest segment older than t").
 */
#include <stdint.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/log/kb_log.h"
#include "broker/replica/kb_partition.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_types.h"

typedef struct {
    const kb_request_t *req;
    const kp_listoffsets_request_t *body;
    int16_t version;
    kb_arena_t *arena;
} lo_ctx_t;

static bool same_name(kp_str_t a, kp_str_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* True when topic-partition occurs more than once in the request. */
static bool listed_twice(const kp_listoffsets_request_t *body, kp_str_t topic, int32_t partition) {
    int seen = 0;

    for (int32_t i = 0; i < body->n_topics; i++) {
        const kp_listoffsets_request_topic_t *t = &body->topics[i];
        if (!same_name(t->name, topic)) continue;
        for (int32_t j = 0; j < t->n_partitions; j++)
            if (t->partitions[j].partition_index == partition && ++seen > 1) return true;
    }
    return false;
}

/* The highest offset this request may see: the high watermark for
 * consumers (READ_COMMITTED's last stable offset is the same while there
 * are no transactions), the log end for a debugging consumer. */
static int64_t upper_bound(const lo_ctx_t *ctx, kb_partition_t *p) {
    if (ctx->body->replica_id == KP_DEBUGGING_REPLICA_ID)
        return kb_log_end_offset(kb_partition_log(p));
    return kb_partition_high_watermark(p);
}

/* Sets out->offset/timestamp for one lookup (v1 semantics). */
static void lookup(const lo_ctx_t *ctx, kb_partition_t *p, int64_t ts,
                   kp_listoffsets_response_partition_t *out) {
    kb_log_t *log = kb_partition_log(p);
    int64_t upper = upper_bound(ctx, p);

    if (ts == KP_LISTOFFSETS_EARLIEST)
        out->offset = kb_log_start_offset(log);
    else if (ts == KP_LISTOFFSETS_LATEST)
        out->offset = upper;
    else if (kb_log_offset_for_timestamp(log, ts, upper, &out->offset, &out->timestamp) != 0) {
        out->offset = -1;
        out->timestamp = -1;
    }
}

/* v0: at most one offset, descending order being trivially kept. */
static int fill_old_style(const lo_ctx_t *ctx, kb_partition_t *p,
                          const kp_listoffsets_request_partition_t *in,
                          kp_listoffsets_response_partition_t *out) {
    int64_t *offsets;

    if (in->max_num_offsets <= 0) return 0;
    offsets = kb_arena_alloc(ctx->arena, sizeof(*offsets));
    if (!offsets) return -1;
    offsets[0] = out->offset >= 0 ? out->offset : upper_bound(ctx, p);
    out->old_style_offsets = offsets;
    out->n_old_style_offsets = 1;
    return 0;
}

static int list_partition(const lo_ctx_t *ctx, kp_str_t topic,
                          const kp_listoffsets_request_partition_t *in,
                          kp_listoffsets_response_partition_t *out) {
    bool leader_only = ctx->body->replica_id != KP_DEBUGGING_REPLICA_ID;
    kb_partition_t *p = NULL;
    int16_t err = KP_ERR_NONE;

    *out = (kp_listoffsets_response_partition_t){in->partition_index, KP_ERR_NONE, 0, NULL, -1, -1};
    if (listed_twice(ctx->body, topic, in->partition_index)) err = KP_ERR_INVALID_REQUEST;
    if (!err) p = kb_api_partition(ctx->req, topic, in->partition_index, leader_only, &err);
    if (!err && !kb_partition_log(p)) err = KP_ERR_NOT_LEADER_OR_FOLLOWER;
    out->error_code = err;
    if (err) return 0;
    lookup(ctx, p, in->timestamp, out);
    return ctx->version == 0 ? fill_old_style(ctx, p, in, out) : 0;
}

static int list_topic(const lo_ctx_t *ctx, const kp_listoffsets_request_topic_t *in,
                      kp_listoffsets_response_topic_t *out) {
    kp_listoffsets_response_partition_t *parts;

    parts = kb_arena_calloc(ctx->arena, (size_t)in->n_partitions, sizeof(*parts));
    if (!parts) return -1;
    *out = (kp_listoffsets_response_topic_t){in->name, in->n_partitions, parts};
    for (int32_t i = 0; i < in->n_partitions; i++)
        if (list_partition(ctx, in->name, &in->partitions[i], &parts[i]) != 0) return -1;
    return 0;
}

static int build_response(const lo_ctx_t *ctx, kp_listoffsets_response_t *resp) {
    const kp_listoffsets_request_t *body = ctx->body;
    kp_listoffsets_response_topic_t *topics;

    topics = kb_arena_calloc(ctx->arena, (size_t)body->n_topics, sizeof(*topics));
    if (!topics) return -1;
    *resp = (kp_listoffsets_response_t){0, body->n_topics, topics};
    for (int32_t i = 0; i < body->n_topics; i++)
        if (list_topic(ctx, &body->topics[i], &topics[i]) != 0) return -1;
    return 0;
}

kb_api_status_t kb_api_listoffsets(kb_request_t *req, kp_writer_t *w) {
    kp_listoffsets_request_t body;
    kp_listoffsets_response_t resp;
    lo_ctx_t ctx = {req, &body, req->header.request_api_version, &req->arena};
    kb_api_status_t st = KB_API_REPLY;

    if (kp_listoffsets_request_decode(&req->body, ctx.version, &body) != 0)
        st = KB_API_MALFORMED;
    else if (build_response(&ctx, &resp) != 0)
        st = KB_API_FAILED;
    else if (kp_listoffsets_response_encode(w, ctx.version, &resp) != 0)
        st = KB_API_FAILED;
    kp_listoffsets_request_clear(&body);
    return st;
}
