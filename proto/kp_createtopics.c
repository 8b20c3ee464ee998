/*
 * kp_createtopics.c - CreateTopics request decoding and response encoding
 * (Kafka's CreateTopicsRequest/CreateTopicsResponse schemas, versions 0-4).
 *
 * Fields of later versions (response num_partitions, replication_factor and
 * configs v5, topic_id v7) are not written; the version checks below are
 * where they will go.
 */
#include "proto/kp_createtopics.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire.  A topic: empty name, num_partitions,
 * replication_factor and two empty arrays (compact: 1+4+2+1+1 and a tag
 * byte).  An assignment: an index and an empty id array.  A config: an
 * empty name and a null or empty value. */
#define TOPIC_MIN_SIZE 16
#define TOPIC_MIN_SIZE_FLEX 10
#define ASSIGNMENT_MIN_SIZE 8
#define ASSIGNMENT_MIN_SIZE_FLEX 6
#define CONFIG_MIN_SIZE 4
#define CONFIG_MIN_SIZE_FLEX 3
#define BROKER_ID_SIZE 4

static bool version_ok(int16_t version) {
    return version >= 0 && version <= KP_CREATETOPICS_VERSION_MAX;
}

/* ---------------------------------------------------------------- request */

static void decode_assignment(kp_reader_t *r, bool flex, kp_createtopics_assignment_t *a) {
    int32_t n;

    a->partition_index = kp_read_int32(r);
    n = kp_read_array_count_flex(r, flex, BROKER_ID_SIZE);
    a->broker_ids = kp_reader_calloc(r, n, sizeof(*a->broker_ids));
    if (r->err) return;
    a->n_broker_ids = n;
    for (int32_t i = 0; i < n; i++) a->broker_ids[i] = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
}

static void decode_assignments(kp_reader_t *r, bool flex, kp_createtopics_topic_t *t) {
    int32_t n = kp_read_array_count_flex(r, flex, flex ? ASSIGNMENT_MIN_SIZE_FLEX
                                                        : ASSIGNMENT_MIN_SIZE);

    t->assignments = kp_reader_calloc(r, n, sizeof(*t->assignments));
    if (r->err) return;
    t->n_assignments = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_assignment(r, flex, &t->assignments[i]);
}

static void decode_configs(kp_reader_t *r, bool flex, kp_createtopics_topic_t *t) {
    int32_t n = kp_read_array_count_flex(r, flex, flex ? CONFIG_MIN_SIZE_FLEX : CONFIG_MIN_SIZE);

    t->configs = kp_reader_calloc(r, n, sizeof(*t->configs));
    if (r->err) return;
    t->n_configs = n;
    for (int32_t i = 0; i < n && !r->err; i++) {
        t->configs[i].name = kp_read_string_flex(r, flex);
        t->configs[i].value = kp_read_nullable_string_flex(r, flex);
        kp_skip_tags_flex(r, flex);
    }
}

static void decode_topic(kp_reader_t *r, bool flex, kp_createtopics_topic_t *t) {
    t->name = kp_read_string_flex(r, flex);
    t->num_partitions = kp_read_int32(r);
    t->replication_factor = kp_read_int16(r);
    decode_assignments(r, flex, t);
    if (!r->err) decode_configs(r, flex, t);
    kp_skip_tags_flex(r, flex);
}

int kp_createtopics_request_decode(kp_reader_t *r, int16_t version,
                                   kp_createtopics_request_t *req) {
    bool flex = kp_is_flexible(version, KP_CREATETOPICS_FLEX_FROM);
    int32_t n;

    *req = (kp_createtopics_request_t){0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE);
    req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
    if (!r->err) req->n_topics = n;
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_topic(r, flex, &req->topics[i]);
    req->timeout_ms = kp_read_int32(r);
    if (version >= 1) req->validate_only = kp_read_bool(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_createtopics_request_clear(kp_createtopics_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) {
        kp_createtopics_topic_t *t = &req->topics[i];
        for (int32_t j = 0; j < t->n_assignments; j++) free(t->assignments[j].broker_ids);
        free(t->assignments);
        free(t->configs);
    }
    free(req->topics);
    *req = (kp_createtopics_request_t){0};
}

/* --------------------------------------------------------------- response */


static void encode_topic(kp_writer_t *w, int16_t version, bool flex,
                         const kp_createtopics_response_topic_t *t) {
    kp_write_str_flex(w, flex, kp_str_nonnull(t->name));
    kp_write_int16(w, t->error_code);
    if (version >= 1) kp_write_str_flex(w, flex, t->error_message);
    kp_write_empty_tags_flex(w, flex);
}

int kp_createtopics_response_encode(kp_writer_t *w, int16_t version,
                                    const kp_createtopics_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_CREATETOPICS_FLEX_FROM);
    int32_t n = resp->n_topics > 0 ? resp->n_topics : 0;

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 2) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, n);
    for (int32_t i = 0; i < n; i++) encode_topic(w, version, flex, &resp->topics[i]);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}
