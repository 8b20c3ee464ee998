/*
 * kp_listoffsets.c - ListOffsets codecs, broker side (request decoding,
 * response encoding) and client side (request encoding, response decoding),
 * after Kafka's ListOffsetsRequest/ListOffsetsResponse schemas, versions
 * 0-3.
 *
 * current_leader_epoch (request v4+) and leader_epoch (response v4+) are
 * not written; the version checks below are where they will go.
 */
#include "proto/kp_listoffsets.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire: a topic is an empty string and an empty
 * array (compact: 3 bytes); a partition an index and a timestamp. */
#define KP_LISTOFFSETS_TOPIC_MIN_SIZE 6
#define KP_LISTOFFSETS_TOPIC_MIN_SIZE_FLEX 3
#define KP_LISTOFFSETS_PARTITION_MIN_SIZE 12
/* A response partition: index and error code, then an empty offsets array
 * (v0) or a timestamp and an offset (v1+). */
#define KP_LISTOFFSETS_RESP_PARTITION_MIN_SIZE_V0 10
#define KP_LISTOFFSETS_RESP_PARTITION_MIN_SIZE 22
#define KP_LISTOFFSETS_OFFSET_SIZE 8

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_LISTOFFSETS_VERSION_MAX;
}

static void decode_partition(kp_reader_t *r, int16_t version, bool flex,
                             kp_listoffsets_request_partition_t *p) {
    p->partition_index = kp_read_int32(r);
    p->current_leader_epoch = version >= 4 ? kp_read_int32(r) : -1;
    p->timestamp = kp_read_int64(r);
    p->max_num_offsets = version == 0 ? kp_read_int32(r) : 1;
    kp_skip_tags_flex(r, flex);
}

static void decode_topic(kp_reader_t *r, int16_t version, bool flex,
                         kp_listoffsets_request_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, KP_LISTOFFSETS_PARTITION_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++)
        decode_partition(r, version, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_listoffsets_request_decode(kp_reader_t *r, int16_t version, kp_listoffsets_request_t *req) {
    bool flex = kp_is_flexible(version, KP_LISTOFFSETS_FLEX_FROM);
    int32_t n;

    req->isolation_level = 0;
    req->n_topics = 0;
    req->topics = NULL;
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    req->replica_id = kp_read_int32(r);
    if (version >= 2) req->isolation_level = kp_read_int8(r);
    n = kp_read_array_count_flex(r, flex,
                                 flex ? KP_LISTOFFSETS_TOPIC_MIN_SIZE_FLEX
                                      : KP_LISTOFFSETS_TOPIC_MIN_SIZE);
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++)
        decode_topic(r, version, flex, &req->topics[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_listoffsets_request_clear(kp_listoffsets_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partitions);
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

static void encode_partition(kp_writer_t *w, int16_t version, bool flex,
                             const kp_listoffsets_response_partition_t *p) {
    kp_write_int32(w, p->partition_index);
    kp_write_int16(w, p->error_code);
    if (version == 0) {
        kp_write_array_count_flex(w, flex, nonneg(p->n_old_style_offsets));
        for (int32_t i = 0; i < p->n_old_style_offsets; i++)
            kp_write_int64(w, p->old_style_offsets[i]);
    } else {
        kp_write_int64(w, p->timestamp);
        kp_write_int64(w, p->offset);
    }
    kp_write_empty_tags_flex(w, flex);
}

static void encode_topic(kp_writer_t *w, int16_t version, bool flex,
                         const kp_listoffsets_response_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
    for (int32_t i = 0; i < t->n_partitions; i++)
        encode_partition(w, version, flex, &t->partitions[i]);
    kp_write_empty_tags_flex(w, flex);
}

int kp_listoffsets_response_encode(kp_writer_t *w, int16_t version,
                                   const kp_listoffsets_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_LISTOFFSETS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 2) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_topics));
    for (int32_t i = 0; i < resp->n_topics; i++) encode_topic(w, version, flex, &resp->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ------------------------------------------------------------ client side */

static void encode_request_topic(kp_writer_t *w, int16_t version, bool flex,
                                 const kp_listoffsets_request_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
    for (int32_t i = 0; i < t->n_partitions; i++) {
        const kp_listoffsets_request_partition_t *p = &t->partitions[i];
        kp_write_int32(w, p->partition_index);
        if (version >= 4) kp_write_int32(w, p->current_leader_epoch);
        kp_write_int64(w, p->timestamp);
        if (version == 0) kp_write_int32(w, p->max_num_offsets);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
}

int kp_listoffsets_request_encode(kp_writer_t *w, int16_t version, const kp_listoffsets_request_t *req) {
    bool flex = kp_is_flexible(version, KP_LISTOFFSETS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version < 2 && req->isolation_level != 0) return KP_BUF_INVALID;
    kp_write_int32(w, req->replica_id);
    if (version >= 2) kp_write_int8(w, req->isolation_level);
    kp_write_array_count_flex(w, flex, nonneg(req->n_topics));
    for (int32_t i = 0; i < req->n_topics; i++) encode_request_topic(w, version, flex, &req->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

static void decode_response_partition(kp_reader_t *r, int16_t version, bool flex,
                                      kp_listoffsets_response_partition_t *p) {
    p->partition_index = kp_read_int32(r);
    p->error_code = kp_read_int16(r);
    p->timestamp = -1;
    p->offset = -1;
    if (version == 0) {
        int32_t n = kp_read_array_count_flex(r, flex, KP_LISTOFFSETS_OFFSET_SIZE);
        int64_t *offsets = kp_reader_calloc(r, n, sizeof(*offsets));
        if (r->err) return;
        for (int32_t i = 0; i < n; i++) offsets[i] = kp_read_int64(r);
        p->old_style_offsets = offsets;
        p->n_old_style_offsets = n;
    } else {
        p->timestamp = kp_read_int64(r);
        p->offset = kp_read_int64(r);
    }
    kp_skip_tags_flex(r, flex);
}

static void decode_response_topic(kp_reader_t *r, int16_t version, bool flex, kp_listoffsets_response_topic_t *t) {
    size_t min = version == 0 ? KP_LISTOFFSETS_RESP_PARTITION_MIN_SIZE_V0 : KP_LISTOFFSETS_RESP_PARTITION_MIN_SIZE;
    kp_listoffsets_response_partition_t *parts;
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    n = kp_read_array_count_flex(r, flex, min);
    parts = kp_reader_calloc(r, n, sizeof(*parts));
    if (r->err) return;
    t->partitions = parts;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_response_partition(r, version, flex, &parts[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_listoffsets_response_decode(kp_reader_t *r, int16_t version, kp_listoffsets_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_LISTOFFSETS_FLEX_FROM);
    kp_listoffsets_response_topic_t *topics;
    int32_t n;

    *resp = (kp_listoffsets_response_t){0, 0, NULL};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 2) resp->throttle_time_ms = kp_read_int32(r);
    n = kp_read_array_count_flex(r, flex, flex ? KP_LISTOFFSETS_TOPIC_MIN_SIZE_FLEX : KP_LISTOFFSETS_TOPIC_MIN_SIZE);
    topics = kp_reader_calloc(r, n, sizeof(*topics));
    if (!r->err) {
        resp->topics = topics;
        resp->n_topics = n;
    }
    for (int32_t i = 0; i < resp->n_topics && !r->err; i++) decode_response_topic(r, version, flex, &topics[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

/* The arrays are const to the broker, which lends them; a decoded response
 * allocated every one of them, hence the casts. */
void kp_listoffsets_response_clear(kp_listoffsets_response_t *resp) {
    for (int32_t t = 0; t < resp->n_topics; t++) {
        const kp_listoffsets_response_topic_t *topic = &resp->topics[t];
        for (int32_t p = 0; p < topic->n_partitions; p++) free((void *)topic->partitions[p].old_style_offsets);
        free((void *)topic->partitions);
    }
    free((void *)resp->topics);
    *resp = (kp_listoffsets_response_t){0, 0, NULL};
}
