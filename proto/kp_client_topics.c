/*
 * kp_client_topics.c - client-side CreateTopics, DeleteTopics and
 * CreatePartitions codecs (see kp_client_topics.h): the requests
 * kafka-topics.sh --bootstrap-server sends for --create, --delete and
 * --alter --partitions, and the answers it reads.  Pure byte work.
 */
#include "proto/kp_client_topics.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest encodings: a string (an int16 length, or one compact byte) and
 * the tag byte closing a flexible struct. */
static size_t str_min(bool flex) { return flex ? 1 : 2; }
static size_t tags_min(bool flex) { return flex ? 1 : 0; }

static bool version_ok(int16_t version, int16_t max) { return version >= 0 && version <= max; }
static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* ------------------------------------------------------------ CreateTopics */

static void encode_creatable_topic(kp_writer_t *w, const kp_createtopics_topic_t *t) {
    kp_write_str(w, kp_str_nonnull(t->name));
    kp_write_int32(w, t->num_partitions);
    kp_write_int16(w, t->replication_factor);
    kp_write_array_count(w, nonneg(t->n_assignments));
    for (int32_t i = 0; i < t->n_assignments; i++) {
        kp_write_int32(w, t->assignments[i].partition_index);
        kp_write_int32_array_flex(w, false, t->assignments[i].broker_ids, nonneg(t->assignments[i].n_broker_ids));
    }
    kp_write_array_count(w, nonneg(t->n_configs));
    for (int32_t i = 0; i < t->n_configs; i++) {
        kp_write_str(w, kp_str_nonnull(t->configs[i].name));
        kp_write_str(w, t->configs[i].value);
    }
}

int kp_client_createtopics_request_encode(kp_writer_t *w, int16_t version, const kp_createtopics_request_t *req) {
    if (!version_ok(version, KP_CLIENT_CREATETOPICS_VERSION_MAX)) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_array_count(w, nonneg(req->n_topics));
    for (int32_t i = 0; i < req->n_topics; i++) encode_creatable_topic(w, &req->topics[i]);
    kp_write_int32(w, req->timeout_ms);
    if (version >= 1) kp_write_bool(w, req->validate_only);
    return w->err;
}

int kp_client_createtopics_response_decode(kp_reader_t *r, int16_t version, kp_client_createtopics_response_t *resp) {
    *resp = (kp_client_createtopics_response_t){0};
    if (!version_ok(version, KP_CLIENT_CREATETOPICS_VERSION_MAX)) return kp_reader_fail(r, KP_BUF_INVALID);
    if (version >= 2) resp->throttle_time_ms = kp_read_int32(r);
    /* name and error code at least; v1+ adds a nullable message. */
    int32_t n = kp_read_array_count(r, 2 + 2 + (version >= 1 ? 2 : 0));
    resp->topics = kp_reader_calloc(r, n, sizeof(*resp->topics));
    if (!r->err) resp->n_topics = n;
    for (int32_t i = 0; i < resp->n_topics && !r->err; i++) {
        kp_client_createtopics_result_t *t = &resp->topics[i];
        t->name = kp_read_string(r);
        t->error_code = kp_read_int16(r);
        t->error_message = version >= 1 ? kp_read_nullable_string(r) : KP_STR_NULL;
    }
    return kp_reader_expect_end(r);
}

void kp_client_createtopics_response_clear(kp_client_createtopics_response_t *resp) {
    free(resp->topics);
    *resp = (kp_client_createtopics_response_t){0};
}

/* ------------------------------------------------------------ DeleteTopics */

int kp_client_deletetopics_request_encode(kp_writer_t *w, int16_t version,
                                          const kp_client_deletetopics_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);

    if (!version_ok(version, KP_DELETETOPICS_VERSION_MAX)) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_array_count_flex(w, flex, nonneg(req->n_topic_names));
    for (int32_t i = 0; i < req->n_topic_names; i++) kp_write_str_flex(w, flex, kp_str_nonnull(req->topic_names[i]));
    kp_write_int32(w, req->timeout_ms);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_client_deletetopics_response_decode(kp_reader_t *r, int16_t version, kp_client_deletetopics_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);

    *resp = (kp_client_deletetopics_response_t){0};
    if (!version_ok(version, KP_DELETETOPICS_VERSION_MAX)) return kp_reader_fail(r, KP_BUF_INVALID);
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    int32_t n = kp_read_array_count_flex(r, flex, str_min(flex) + 2 + tags_min(flex));
    resp->responses = kp_reader_calloc(r, n, sizeof(*resp->responses));
    if (!r->err) resp->n_responses = n;
    for (int32_t i = 0; i < resp->n_responses && !r->err; i++) {
        resp->responses[i].name = kp_read_string_flex(r, flex);
        resp->responses[i].error_code = kp_read_int16(r);
        kp_skip_tags_flex(r, flex);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_client_deletetopics_response_clear(kp_client_deletetopics_response_t *resp) {
    free(resp->responses);
    *resp = (kp_client_deletetopics_response_t){0};
}

/* -------------------------------------------------------- CreatePartitions */

static void encode_partitions_topic(kp_writer_t *w, bool flex, const kp_client_createpartitions_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_int32(w, t->count);
    /* A negative count is the schema's null: no explicit placement. */
    kp_write_array_count_flex(w, flex, t->n_assignments < 0 ? -1 : t->n_assignments);
    for (int32_t i = 0; i < t->n_assignments; i++) {
        const kp_client_createpartitions_assignment_t *a = &t->assignments[i];
        kp_write_int32_array_flex(w, flex, a->broker_ids, nonneg(a->n_broker_ids));
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
}

int kp_client_createpartitions_request_encode(kp_writer_t *w, int16_t version,
                                              const kp_client_createpartitions_request_t *req) {
    bool flex = kp_is_flexible(version, KP_CREATEPARTITIONS_FLEX_FROM);

    if (!version_ok(version, KP_CREATEPARTITIONS_VERSION_MAX)) return kp_writer_fail(w, KP_BUF_INVALID);
    kp_write_array_count_flex(w, flex, nonneg(req->n_topics));
    for (int32_t i = 0; i < req->n_topics; i++) encode_partitions_topic(w, flex, &req->topics[i]);
    kp_write_int32(w, req->timeout_ms);
    kp_write_bool(w, req->validate_only);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_client_createpartitions_response_decode(kp_reader_t *r, int16_t version,
                                               kp_client_createpartitions_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_CREATEPARTITIONS_FLEX_FROM);

    *resp = (kp_client_createpartitions_response_t){0};
    if (!version_ok(version, KP_CREATEPARTITIONS_VERSION_MAX)) return kp_reader_fail(r, KP_BUF_INVALID);
    resp->throttle_time_ms = kp_read_int32(r);
    /* name, error code, nullable message (an int16 -1, or one compact byte). */
    int32_t n = kp_read_array_count_flex(r, flex, 2 * str_min(flex) + 2 + tags_min(flex));
    resp->results = kp_reader_calloc(r, n, sizeof(*resp->results));
    if (!r->err) resp->n_results = n;
    for (int32_t i = 0; i < resp->n_results && !r->err; i++) {
        kp_client_createpartitions_result_t *t = &resp->results[i];
        t->name = kp_read_string_flex(r, flex);
        t->error_code = kp_read_int16(r);
        t->error_message = kp_read_nullable_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_client_createpartitions_response_clear(kp_client_createpartitions_response_t *resp) {
    free(resp->results);
    *resp = (kp_client_createpartitions_response_t){0};
}
