/*
 * kp_produce.c - Produce request decoding and response encoding (Kafka's
 * ProduceRequest/ProduceResponse schemas, versions 0-7).
 *
 * The fields of v8 (record_errors, error_message) and the flexible v9 are
 * not written; the version checks below are where they will go.  The
 * response's throttle_time_ms comes after the topic array, unlike in most
 * other APIs (wire-protocol.md 4.0).
 */
#include "proto/kp_produce.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire: a topic is an empty string and an empty
 * array; a partition an index and a null records blob. */
#define KP_PRODUCE_TOPIC_MIN_SIZE 6
#define KP_PRODUCE_PARTITION_MIN_SIZE 8

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_PRODUCE_VERSION_MAX;
}

static void decode_partition(kp_reader_t *r, bool flex, kp_produce_request_partition_t *p) {
    kp_bytes_t records;

    p->index = kp_read_int32(r);
    records = kp_read_nullable_bytes_flex(r, flex);
    p->records_len = records.len;
    /* The frame is the connection's mutable buffer (see the header). */
    p->records = (uint8_t *)(uintptr_t)records.ptr;
    kp_skip_tags_flex(r, flex);
}

static void decode_topic(kp_reader_t *r, bool flex, kp_produce_request_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, KP_PRODUCE_PARTITION_MIN_SIZE);
    t->partition_data = kp_reader_calloc(r, n, sizeof(*t->partition_data));
    if (r->err) return;
    t->n_partition_data = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_partition(r, flex, &t->partition_data[i]);
    kp_skip_tags_flex(r, flex);
}

static void decode_topics(kp_reader_t *r, bool flex, kp_produce_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, KP_PRODUCE_TOPIC_MIN_SIZE);

    req->topic_data = kp_reader_calloc(r, n, sizeof(*req->topic_data));
    if (r->err) return;
    req->n_topic_data = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_topic(r, flex, &req->topic_data[i]);
}

int kp_produce_request_decode(kp_reader_t *r, int16_t version, kp_produce_request_t *req) {
    bool flex = kp_is_flexible(version, KP_PRODUCE_FLEX_FROM);

    req->transactional_id = KP_STR_NULL;
    req->n_topic_data = 0;
    req->topic_data = NULL;
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 3) req->transactional_id = kp_read_nullable_string_flex(r, flex);
    req->acks = kp_read_int16(r);
    req->timeout_ms = kp_read_int32(r);
    decode_topics(r, flex, req);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_produce_request_clear(kp_produce_request_t *req) {
    for (int32_t i = 0; i < req->n_topic_data; i++) free(req->topic_data[i].partition_data);
    free(req->topic_data);
    req->topic_data = NULL;
    req->n_topic_data = 0;
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_partition(kp_writer_t *w, int16_t version, bool flex,
                             const kp_produce_response_partition_t *p) {
    kp_write_int32(w, p->index);
    kp_write_int16(w, p->error_code);
    kp_write_int64(w, p->base_offset);
    if (version >= 2) kp_write_int64(w, p->log_append_time_ms);
    if (version >= 5) kp_write_int64(w, p->log_start_offset);
    kp_write_empty_tags_flex(w, flex);
}

static void encode_topic(kp_writer_t *w, int16_t version, bool flex,
                         const kp_produce_response_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, nonneg(t->n_partition_responses));
    for (int32_t i = 0; i < t->n_partition_responses; i++)
        encode_partition(w, version, flex, &t->partition_responses[i]);
    kp_write_empty_tags_flex(w, flex);
}

int kp_produce_response_encode(kp_writer_t *w, int16_t version, const kp_produce_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_PRODUCE_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_array_count_flex(w, flex, nonneg(resp->n_responses));
    for (int32_t i = 0; i < resp->n_responses; i++)
        encode_topic(w, version, flex, &resp->responses[i]);
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
