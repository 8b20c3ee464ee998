/*
 * kp_metadata.c - Metadata codecs, broker side (request decoding, response
 * encoding) and client side (request encoding, response decoding), after
 * Kafka's MetadataRequest/MetadataResponse schemas, versions 0-6.
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
/* The smallest response elements on the wire (classic encodings): a broker
 * is node_id, an empty host and port (and a null rack from v1); a topic an
 * error code, an empty name and an empty partition array (and is_internal
 * from v1); a partition an error code, index, leader and two empty arrays
 * (a third from v5); an array element of an id list its int32. */
#define KP_METADATA_BROKER_MIN_SIZE 10
#define KP_METADATA_RESP_TOPIC_MIN_SIZE 8
#define KP_METADATA_PARTITION_MIN_SIZE 18
#define KP_METADATA_ID_SIZE 4

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

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_broker(kp_writer_t *w, int16_t version, bool flex,
                          const kp_metadata_response_broker_t *b) {
    kp_write_int32(w, b->node_id);
    kp_write_str_flex(w, flex, kp_str_nonnull(b->host));
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
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
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

/* ------------------------------------------------------------ client side */

int kp_metadata_request_encode(kp_writer_t *w, int16_t version, const kp_metadata_request_t *req) {
    bool flex = kp_is_flexible(version, KP_METADATA_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version == 0 && req->n_topics < 0) return KP_BUF_INVALID;
    if (version < 4 && !req->allow_auto_topic_creation) return KP_BUF_INVALID;
    kp_write_array_count_flex(w, flex, req->n_topics < 0 ? -1 : req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        kp_write_str_flex(w, flex, kp_str_nonnull(req->topics[i].name));
        kp_write_empty_tags_flex(w, flex);
    }
    if (version >= 4) kp_write_bool(w, req->allow_auto_topic_creation);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* An id list into an owned array; *n is set only once the array exists. */
static const int32_t *decode_ids(kp_reader_t *r, bool flex, int32_t *n) {
    int32_t count = kp_read_array_count_flex(r, flex, KP_METADATA_ID_SIZE);
    int32_t *ids = kp_reader_calloc(r, count, sizeof(*ids));

    *n = r->err ? 0 : count;
    for (int32_t i = 0; i < *n; i++) ids[i] = kp_read_int32(r);
    return ids;
}

static void decode_response_broker(kp_reader_t *r, int16_t version, bool flex, kp_metadata_response_broker_t *b) {
    b->node_id = kp_read_int32(r);
    b->host = kp_read_string_flex(r, flex);
    b->port = kp_read_int32(r);
    b->rack = version >= 1 ? kp_read_nullable_string_flex(r, flex) : KP_STR_NULL;
    kp_skip_tags_flex(r, flex);
}

static void decode_response_partition(kp_reader_t *r, int16_t version, bool flex, kp_metadata_response_partition_t *p) {
    p->error_code = kp_read_int16(r);
    p->partition_index = kp_read_int32(r);
    p->leader_id = kp_read_int32(r);
    p->replica_nodes = decode_ids(r, flex, &p->n_replica_nodes);
    p->isr_nodes = decode_ids(r, flex, &p->n_isr_nodes);
    if (version >= 5) p->offline_replicas = decode_ids(r, flex, &p->n_offline_replicas);
    kp_skip_tags_flex(r, flex);
}

static size_t partition_min_size(int16_t version) {
    return version >= 5 ? KP_METADATA_PARTITION_MIN_SIZE + KP_METADATA_ID_SIZE : KP_METADATA_PARTITION_MIN_SIZE;
}

static void decode_response_topic(kp_reader_t *r, int16_t version, bool flex, kp_metadata_response_topic_t *t) {
    kp_metadata_response_partition_t *parts;
    int32_t n;

    t->error_code = kp_read_int16(r);
    t->name = kp_read_string_flex(r, flex);
    t->is_internal = version >= 1 ? kp_read_bool(r) : false;
    n = kp_read_array_count_flex(r, flex, partition_min_size(version));
    parts = kp_reader_calloc(r, n, sizeof(*parts));
    if (r->err) return;
    t->partitions = parts;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_response_partition(r, version, flex, &parts[i]);
    kp_skip_tags_flex(r, flex);
}

static void decode_response_brokers(kp_reader_t *r, int16_t version, bool flex, kp_metadata_response_t *resp) {
    size_t min = version >= 1 ? KP_METADATA_BROKER_MIN_SIZE + 2 : KP_METADATA_BROKER_MIN_SIZE;
    int32_t n = kp_read_array_count_flex(r, flex, min);
    kp_metadata_response_broker_t *brokers = kp_reader_calloc(r, n, sizeof(*brokers));

    if (r->err) return;
    resp->brokers = brokers;
    resp->n_brokers = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_response_broker(r, version, flex, &brokers[i]);
}

static void decode_response_topics(kp_reader_t *r, int16_t version, bool flex, kp_metadata_response_t *resp) {
    size_t min = version >= 1 ? KP_METADATA_RESP_TOPIC_MIN_SIZE + 1 : KP_METADATA_RESP_TOPIC_MIN_SIZE;
    int32_t n = kp_read_array_count_flex(r, flex, min);
    kp_metadata_response_topic_t *topics = kp_reader_calloc(r, n, sizeof(*topics));

    if (r->err) return;
    resp->topics = topics;
    resp->n_topics = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_response_topic(r, version, flex, &topics[i]);
}

int kp_metadata_response_decode(kp_reader_t *r, int16_t version, kp_metadata_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_METADATA_FLEX_FROM);

    *resp = (kp_metadata_response_t){0, 0, NULL, KP_STR_NULL, -1, 0, NULL};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 3) resp->throttle_time_ms = kp_read_int32(r);
    decode_response_brokers(r, version, flex, resp);
    if (version >= 2) resp->cluster_id = kp_read_nullable_string_flex(r, flex);
    if (version >= 1) resp->controller_id = kp_read_int32(r);
    decode_response_topics(r, version, flex, resp);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

/* The arrays are const to the broker, which lends them; a decoded response
 * allocated every one of them, hence the casts. */
void kp_metadata_response_clear(kp_metadata_response_t *resp) {
    for (int32_t t = 0; t < resp->n_topics; t++) {
        const kp_metadata_response_topic_t *topic = &resp->topics[t];
        for (int32_t p = 0; p < topic->n_partitions; p++) {
            free((void *)topic->partitions[p].replica_nodes);
            free((void *)topic->partitions[p].isr_nodes);
            free((void *)topic->partitions[p].offline_replicas);
        }
        free((void *)topic->partitions);
    }
    free((void *)resp->topics);
    free((void *)resp->brokers);
    *resp = (kp_metadata_response_t){0, 0, NULL, KP_STR_NULL, -1, 0, NULL};
}
