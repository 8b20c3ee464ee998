/*
 * kp_metadata.c - Metadata request decoding and response encoding (Kafka's
 * MetadataRequest/MetadataResponse schemas, versions 0-6).
 *
 * Fields of later versions (leader_epoch v7, authorized operations v8,
 * topic_id v10) are not written; the version checks below are the places
 * they will go.
 */
#include "proto/kp_metadata.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* The smallest request topic on the wire: an empty classic string. */
#define KP_METADATA_TOPIC_MIN_SIZE 2

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_METADATA_VERSION_MAX;
}

static int decode_topics(kp_reader_t *r, int16_t version, bool flex, kp_metadata_request_t *req) {
    const size_t min = KP_METADATA_TOPIC_MIN_SIZE;
    int32_t n = version >= 1 ? kp_read_nullable_array_count_flex(r, flex, min)
                             : kp_read_array_count_flex(r, flex, min);

    req->n_topics = n;
    if (r->err || n <= 0) return r->err;
    req->topics = calloc((size_t)n, sizeof(*req->topics));
    if (!req->topics) {
        kp_reader_fail(r, KP_BUF_NOMEM);
        return r->err;
    }
    for (int32_t i = 0; i < n && !r->err; i++) {
        req->topics[i].name = kp_read_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
    return r->err;
}

int kp_metadata_request_decode(kp_reader_t *r, int16_t version, kp_metadata_request_t *req) {
    bool flex = kp_is_flexible(version, KP_METADATA_FLEX_FROM);

    req->n_topics = 0;
    req->topics = NULL;
    req->allow_auto_topic_creation = true;
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    decode_topics(r, version, flex, req);
    if (version >= 4) req->allow_auto_topic_creation = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_metadata_request_clear(kp_metadata_request_t *req) {
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

bool kp_metadata_request_all_topics(const kp_metadata_request_t *req, int16_t version) {
    return version == 0 ? req->n_topics == 0 : req->n_topics < 0;
}

/* Non-nullable fields must never go out as null. */
static kp_str_t nonnull(kp_str_t s) { return s.len < 0 ? kp_str_c("") : s; }
static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_broker(kp_writer_t *w, int16_t version, bool flex,
                          const kp_metadata_response_broker_t *b) {
    kp_write_int32(w, b->node_id);
    kp_write_str_flex(w, flex, nonnull(b->host));
    kp_write_int32(w, b->port);
    if (version >= 1) kp_write_str_flex(w, flex, b->rack);
    kp_write_empty_tags_flex(w, flex);
}

static void encode_partition(kp_writer_t *w, int16_t version, bool flex,
                             const kp_metadata_response_partition_t *p) {
    kp_write_int16(w, p->error_code);
    kp_write_int32(w, p->partition_index);
    kp_write_int32(w, p->leader_id);
    kp_write_int32_array_flex(w, flex, p->replica_nodes, nonneg(p->n_replica_nodes));
    kp_write_int32_array_flex(w, flex, p->isr_nodes, nonneg(p->n_isr_nodes));
    if (version >= 5)
        kp_write_int32_array_flex(w, flex, p->offline_replicas, nonneg(p->n_offline_replicas));
    kp_write_empty_tags_flex(w, flex);
}

static void encode_topic(kp_writer_t *w, int16_t version, bool flex,
                         const kp_metadata_response_topic_t *t) {
    kp_write_int16(w, t->error_code);
    kp_write_str_flex(w, flex, nonnull(t->name));
    if (version >= 1) kp_write_bool(w, t->is_internal);
    kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
    for (int32_t i = 0; i < t->n_partitions; i++)
        encode_partition(w, version, flex, &t->partitions[i]);
    kp_write_empty_tags_flex(w, flex);
}

int kp_metadata_response_encode(kp_writer_t *w, int16_t version,
                                const kp_metadata_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_METADATA_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 3) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_brokers));
    for (int32_t i = 0; i < resp->n_brokers; i++)
        encode_broker(w, version, flex, &resp->brokers[i]);
    if (version >= 2) kp_write_str_flex(w, flex, resp->cluster_id);
    if (version >= 1) kp_write_int32(w, resp->controller_id);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_topics));
    for (int32_t i = 0; i < resp->n_topics; i++) encode_topic(w, version, flex, &resp->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
