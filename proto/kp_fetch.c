/*
 * kp_fetch.c - Fetch request decoding and response encoding (Kafka's
 * FetchRequest/FetchResponse schemas, versions 0-11).
 *
 * The response encoder writes each partition's records blob in two parts,
 * the length prefix and the bytes, so that the bytes can come from a file
 * instead (kp_fetch.h).  The tagged fields of v12 (cluster_id in the
 * request, diverging_epoch / current_leader / snapshot_id in the response)
 * are not supported; a v12 body would fail the version check.
 */
#include "proto/kp_fetch.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire (classic encodings; compact ones are
 * smaller and use the _FLEX sizes): a topic or forgotten topic is an empty
 * string and an empty array; a partition has at least partition,
 * fetch_offset and partition_max_bytes. */
#define KP_FETCH_TOPIC_MIN_SIZE 6
#define KP_FETCH_TOPIC_MIN_SIZE_FLEX 3
#define KP_FETCH_PARTITION_MIN_SIZE 16

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_FETCH_VERSION_MAX;
}

static size_t topic_min_size(bool flex) {
    return flex ? KP_FETCH_TOPIC_MIN_SIZE_FLEX : KP_FETCH_TOPIC_MIN_SIZE;
}

/* ---------------------------------------------------------------- request */

static void decode_partition(kp_reader_t *r, int16_t version, bool flex,
                             kp_fetch_request_partition_t *p) {
    p->partition = kp_read_int32(r);
    p->current_leader_epoch = version >= 9 ? kp_read_int32(r) : -1;
    p->fetch_offset = kp_read_int64(r);
    p->log_start_offset = version >= 5 ? kp_read_int64(r) : -1;
    p->partition_max_bytes = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
}

static void decode_topic(kp_reader_t *r, int16_t version, bool flex, kp_fetch_request_topic_t *t) {
    int32_t n;

    t->topic = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, KP_FETCH_PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++)
        decode_partition(r, version, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

static void decode_topics(kp_reader_t *r, int16_t version, bool flex, kp_fetch_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, topic_min_size(flex));

    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (r->err) return;
    req->n_topics = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_topic(r, version, flex, &req->topics[i]);
}

/* Reads the forgotten topics (incremental sessions only) without keeping
 * them: a name and an int32 array each. */
static void skip_forgotten_topics(kp_reader_t *r, bool flex, kp_fetch_request_t *req) {
    int32_t n = kp_read_array_count_flex(r, flex, topic_min_size(flex));

    for (int32_t i = 0; i < n && !r->err; i++) {
        int32_t n_partitions;

        (void)kp_read_string_flex(r, flex);
        n_partitions = kp_read_array_count_flex(r, flex, 4);
        kp_read_skip(r, (size_t)n_partitions * 4);
        kp_skip_tags_flex(r, flex);
    }
    if (!r->err) req->n_forgotten_topics_data = n;
}

static void request_defaults(kp_fetch_request_t *req) {
    req->max_bytes = INT32_MAX;
    req->isolation_level = KP_READ_UNCOMMITTED;
    req->session_id = 0;
    req->session_epoch = -1;
    req->n_topics = 0;
    req->topics = NULL;
    req->n_forgotten_topics_data = 0;
    req->rack_id = kp_str_c("");
}

int kp_fetch_request_decode(kp_reader_t *r, int16_t version, kp_fetch_request_t *req) {
    bool flex = kp_is_flexible(version, KP_FETCH_FLEX_FROM);

    request_defaults(req);
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->replica_id = kp_read_int32(r);
    req->max_wait_ms = kp_read_int32(r);
    req->min_bytes = kp_read_int32(r);
    if (version >= 3) req->max_bytes = kp_read_int32(r);
    if (version >= 4) req->isolation_level = kp_read_int8(r);
    if (version >= 7) {
        req->session_id = kp_read_int32(r);
        req->session_epoch = kp_read_int32(r);
    }
    decode_topics(r, version, flex, req);
    if (version >= 7) skip_forgotten_topics(r, flex, req);
    if (version >= 11) req->rack_id = kp_read_string_flex(r, flex);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_fetch_request_clear(kp_fetch_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partitions);
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

/* --------------------------------------------------------------- response */

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_aborted(kp_writer_t *w, bool flex, const kp_fetch_response_partition_t *p) {
    kp_write_array_count_flex(w, flex, p->n_aborted_transactions);
    for (int32_t i = 0; i < p->n_aborted_transactions; i++) {
        kp_write_int64(w, p->aborted_transactions[i].producer_id);
        kp_write_int64(w, p->aborted_transactions[i].first_offset);
        kp_write_empty_tags_flex(w, flex);
    }
}

/* The records blob: its length prefix, then its bytes unless they travel
 * out of band.  Returns where the bytes start in w. */
static size_t encode_records(kp_writer_t *w, bool flex, kp_bytes_t records) {
    int32_t len = nonneg(records.len);
    size_t pos;

    if (flex)
        kp_write_uvarint(w, (uint32_t)len + 1);
    else
        kp_write_int32(w, len);
    pos = w->len;
    if (records.ptr && len > 0) kp_write_raw(w, records.ptr, (size_t)len);
    return pos;
}

static size_t encode_partition(kp_writer_t *w, int16_t version, bool flex,
                               const kp_fetch_response_partition_t *p) {
    size_t pos;

    kp_write_int32(w, p->partition_index);
    kp_write_int16(w, p->error_code);
    kp_write_int64(w, p->high_watermark);
    if (version >= 4) kp_write_int64(w, p->last_stable_offset);
    if (version >= 5) kp_write_int64(w, p->log_start_offset);
    if (version >= 4) encode_aborted(w, flex, p);
    if (version >= 11) kp_write_int32(w, p->preferred_read_replica);
    pos = encode_records(w, flex, p->records);
    kp_write_empty_tags_flex(w, flex);
    return pos;
}

int kp_fetch_response_encode(kp_writer_t *w, int16_t version, const kp_fetch_response_t *resp,
                             size_t *records_pos) {
    bool flex = kp_is_flexible(version, KP_FETCH_FLEX_FROM);
    size_t k = 0;

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    if (version >= 7) {
        kp_write_int16(w, resp->error_code);
        kp_write_int32(w, resp->session_id);
    }
    kp_write_array_count_flex(w, flex, nonneg(resp->n_responses));
    for (int32_t i = 0; i < resp->n_responses; i++) {
        const kp_fetch_response_topic_t *t = &resp->responses[i];

        kp_write_str_flex(w, flex, kp_str_nonnull(t->topic));
        kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            size_t pos = encode_partition(w, version, flex, &t->partitions[j]);
            if (records_pos) records_pos[k++] = pos;
        }
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

size_t kp_fetch_response_external_bytes(const kp_fetch_response_t *resp) {
    size_t total = 0;

    for (int32_t i = 0; i < resp->n_responses; i++) {
        const kp_fetch_response_topic_t *t = &resp->responses[i];
        for (int32_t j = 0; j < t->n_partitions; j++)
            if (!t->partitions[j].records.ptr && t->partitions[j].records.len > 0)
                total += (size_t)t->partitions[j].records.len;
    }
    return total;
}
