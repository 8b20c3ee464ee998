/*
 * kb_api_deleterecords.c - the DeleteRecords handler (wire-protocol.md 4.9).
 *
 * Each partition is answered by its leader (kb_partition_delete_records,
 * done by its log): offset -1 becomes the high watermark, an offset that is
 * then negative or above the high watermark is refused with 1
 * OFFSET_OUT_OF_RANGE, otherwise the log start offset is raised (never
 * lowered), the segments wholly below it retired and the log-start
 * checkpoint queued.  low_watermark is the
 * resulting log start offset (-1 on error).  Unknown partitions get 3,
 * partitions not led here 6.
 *
 * What is not done yet, and why:
 *   - Kafka answers only once every replica has adopted the new log start
 *     offset (or timeout_ms expired: 7 REQUEST_TIMED_OUT), and reports the
 *     minimum over the replicas.  Followers learn the log start from the
 *     replication protocol, which is a later issue; until then the leader
 *     answers at once with its own log start, which is exact for
 *     replication factor 1.
 *   - 44 POLICY_VIOLATION for a topic whose cleanup.policy lacks `delete`:
 *     kbroker refuses `compact` (no log cleaner), so every topic has the
 *     delete policy and the check cannot fail.
 */
#include <stdint.h>

#include "broker/api/kb_api_internal.h"
#include "broker/replica/kb_partition.h"
#include "proto/kp_deleterecords.h"
#include "proto/kp_types.h"

typedef struct {
    const kb_request_t *req;
    kb_arena_t *arena;
} dr_ctx_t;

static void delete_partition(const dr_ctx_t *ctx, kp_str_t topic, const kp_deleterecords_request_partition_t *in,
                             kp_deleterecords_response_partition_t *out) {
    int16_t err = KP_ERR_NONE;
    kb_partition_t *p = kb_api_partition(ctx->req, topic, in->partition_index, true, &err);
    int64_t low_watermark = -1;

    /* As Kafka: "Cannot delete records of internal topic" (the groups'
     * committed offsets and state live in __consumer_offsets). */
    if (!err && kb_api_topic_is_internal(topic)) err = KP_ERR_INVALID_TOPIC_EXCEPTION;
    if (!err && kb_partition_delete_records(p, in->offset, &low_watermark) != 0) err = KP_ERR_OFFSET_OUT_OF_RANGE;
    *out = (kp_deleterecords_response_partition_t){in->partition_index, err ? -1 : low_watermark, err};
}

static int delete_topic(const dr_ctx_t *ctx, const kp_deleterecords_request_topic_t *in,
                        kp_deleterecords_response_topic_t *out) {
    kp_deleterecords_response_partition_t *parts =
        kb_arena_calloc(ctx->arena, (size_t)in->n_partitions, sizeof(*parts));

    if (!parts && in->n_partitions > 0) return -1;
    *out = (kp_deleterecords_response_topic_t){in->name, in->n_partitions, parts};
    for (int32_t i = 0; i < in->n_partitions; i++) delete_partition(ctx, in->name, &in->partitions[i], &parts[i]);
    return 0;
}

static int build_response(const dr_ctx_t *ctx, const kp_deleterecords_request_t *body,
                          kp_deleterecords_response_t *resp) {
    kp_deleterecords_response_topic_t *topics = kb_arena_calloc(ctx->arena, (size_t)body->n_topics, sizeof(*topics));

    if (!topics && body->n_topics > 0) return -1;
    *resp = (kp_deleterecords_response_t){0, body->n_topics, topics};
    for (int32_t i = 0; i < body->n_topics; i++)
        if (delete_topic(ctx, &body->topics[i], &topics[i]) != 0) return -1;
    return 0;
}

kb_api_status_t kb_api_deleterecords(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    dr_ctx_t ctx = {req, &req->arena};
    kp_deleterecords_request_t body;
    kp_deleterecords_response_t resp;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_deleterecords_request_decode(&req->body, version, &body) != 0) st = KB_API_MALFORMED;
    else if (build_response(&ctx, &body, &resp) != 0) st = KB_API_FAILED;
    else if (kp_deleterecords_response_encode(w, version, &resp) != 0) st = KB_API_FAILED;
    kp_deleterecords_request_clear(&body);
    return st;
}
