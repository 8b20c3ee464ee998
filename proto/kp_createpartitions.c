/*
 * kp_createpartitions.c - CreatePartitions request decoding and response
 * encoding (Kafka's CreatePartitionsRequest/Response schemas, v0-2).
 */
#include "proto/kp_createpartitions.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire.  A topic: an empty name, the count and a
 * null assignments array (2+4+4; compact: 1+4+1 and a tag byte).  An
 * assignment: an empty id array (4; compact: 1 and a tag byte). */
#define TOPIC_MIN_SIZE 10
#define TOPIC_MIN_SIZE_FLEX 7
#define ASSIGNMENT_MIN_SIZE 4
#define ASSIGNMENT_MIN_SIZE_FLEX 2
#define BROKER_ID_SIZE 4

static bool version_ok(int16_t version) { return version >= 0 && version <= KP_CREATEPARTITIONS_VERSION_MAX; }

/* ---------------------------------------------------------------- request */

static void decode_assignment(kp_reader_t *r, bool flex, kp_createpartitions_assignment_t *a) {
    int32_t n = kp_read_array_count_flex(r, flex, BROKER_ID_SIZE);

    a->broker_ids = kp_reader_calloc(r, n, sizeof(*a->broker_ids));
    if (r->err) return;
    a->n_broker_ids = n;
    for (int32_t i = 0; i < n; i++) a->broker_ids[i] = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
}

static void decode_topic(kp_reader_t *r, bool flex, kp_createpartitions_topic_t *t) {
    int32_t n;

    t->name = kp_read_string_flex(r, flex);
    t->count = kp_read_int32(r);
    n = kp_read_nullable_array_count_flex(r, flex, flex ? ASSIGNMENT_MIN_SIZE_FLEX : ASSIGNMENT_MIN_SIZE);
    t->has_assignments = n >= 0 && !r->err;
    t->assignments = kp_reader_calloc(r, n, sizeof(*t->assignments));
    if (r->err) return;
    t->n_assignments = n > 0 ? n : 0;
    for (int32_t i = 0; i < t->n_assignments && !r->err; i++) decode_assignment(r, flex, &t->assignments[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_createpartitions_request_decode(kp_reader_t *r, int16_t version, kp_createpartitions_request_t *req) {
    bool flex = kp_is_flexible(version, KP_CREATEPARTITIONS_FLEX_FROM);
    int32_t n;

    *req = (kp_createpartitions_request_t){0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE);
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_topic(r, flex, &req->topics[i]);
    req->timeout_ms = kp_read_int32(r);
    req->validate_only = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_createpartitions_request_clear(kp_createpartitions_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) {
        kp_createpartitions_topic_t *t = &req->topics[i];
        for (int32_t j = 0; j < t->n_assignments; j++) free(t->assignments[j].broker_ids);
        free(t->assignments);
    }
    free(req->topics);
    *req = (kp_createpartitions_request_t){0};
}

/* --------------------------------------------------------------- response */

int kp_createpartitions_response_encode(kp_writer_t *w, int16_t version, const kp_createpartitions_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_CREATEPARTITIONS_FLEX_FROM);
    int32_t n = resp->n_results > 0 ? resp->n_results : 0;

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) {
        const kp_createpartitions_result_t *t = &resp->results[i];
        kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
        kp_write_int16(w, t->error_code);
        kp_write_str_flex(w, flex, t->error_message);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
