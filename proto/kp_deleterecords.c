/*
 * kp_deleterecords.c - DeleteRecords request decoding and response encoding
 * (Kafka's DeleteRecordsRequest/DeleteRecordsResponse schemas, versions
 * 0-2; flexible from 2).  Pure byte work: what the offsets mean is the
 * broker's business (broker/api/kb_api_deleterecords.c).
 */
#include "proto/kp_deleterecords.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire: a topic is an empty string and an empty
 * array (compact: two one-byte lengths and a tag section); a partition an
 * index and an offset (plus a tag section when flexible). */
#define TOPIC_MIN_SIZE 6
#define TOPIC_MIN_SIZE_FLEX 3
#define PARTITION_MIN_SIZE 12
#define PARTITION_MIN_SIZE_FLEX 13

static bool version_ok(int16_t version) { return version >= 0 && version <= KP_DELETERECORDS_VERSION_MAX; }

static void decode_partition(kp_reader_t *r, bool flex, kp_deleterecords_request_partition_t *p) {
    p->partition_index = kp_read_int32(r);
    p->offset = kp_read_int64(r);
    kp_skip_tags_flex(r, flex);
}

static void decode_topic(kp_reader_t *r, bool flex, kp_deleterecords_request_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, flex ? PARTITION_MIN_SIZE_FLEX : PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_partition(r, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_deleterecords_request_decode(kp_reader_t *r, int16_t version, kp_deleterecords_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DELETERECORDS_FLEX_FROM);
    int32_t n;

    req->n_topics = 0;
    req->topics = NULL;
    req->timeout_ms = 0;
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE);
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_topic(r, flex, &req->topics[i]);
    req->timeout_ms = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_deleterecords_request_clear(kp_deleterecords_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partitions);
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_partition(kp_writer_t *w, bool flex, const kp_deleterecords_response_partition_t *p) {
    kp_write_int32(w, p->partition_index);
    kp_write_int64(w, p->low_watermark);
    kp_write_int16(w, p->error_code);
    kp_write_empty_tags_flex(w, flex);
}

static void encode_topic(kp_writer_t *w, bool flex, const kp_deleterecords_response_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
    for (int32_t i = 0; i < t->n_partitions; i++) encode_partition(w, flex, &t->partitions[i]);
    kp_write_empty_tags_flex(w, flex);
}

int kp_deleterecords_response_encode(kp_writer_t *w, int16_t version, const kp_deleterecords_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DELETERECORDS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_topics));
    for (int32_t i = 0; i < resp->n_topics; i++) encode_topic(w, flex, &resp->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
