/*
 * kp_electleaders.c - ElectLeaders requests and responses, both ways (see
 * kp_electleaders.h).  Pure byte work: what an election does is the
 * controller's business (broker/controller/kb_leader_election.h).
 */
#include "proto/kp_electleaders.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire: a topic is an empty string and an empty
 * array (compact: two one-byte lengths and a tag section); a partition id
 * 4 bytes; a partition result an id, an error code and a null message
 * (plus a tag section when flexible). */
#define TOPIC_MIN_SIZE 6
#define TOPIC_MIN_SIZE_FLEX 3
#define PARTITION_ID_SIZE 4
#define RESULT_MIN_SIZE 8
#define RESULT_MIN_SIZE_FLEX 8

static bool version_ok(int16_t version) { return version >= 0 && version <= KP_ELECTLEADERS_VERSION_MAX; }

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

/* ---- request ---- */

static void decode_request_topic(kp_reader_t *r, bool flex, kp_electleaders_request_topic_t *t) {
    t->topic = kp_read_string_flex(r, flex);
    int32_t n = kp_read_array_count_flex(r, flex, PARTITION_ID_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) t->partitions[i] = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
}

int kp_electleaders_request_decode(kp_reader_t *r, int16_t version, kp_electleaders_request_t *req) {
    bool flex = kp_is_flexible(version, KP_ELECTLEADERS_FLEX_FROM);

    *req = (kp_electleaders_request_t){.election_type = KP_ELECTION_PREFERRED, .n_topics = 0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 1) req->election_type = kp_read_int8(r);
    int32_t n = kp_read_nullable_array_count_flex(r, flex, flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE);
    if (!r->err && n < 0) {
        req->n_topics = -1;
    } else {
        req->topics = kp_reader_calloc(r, n, sizeof(*req->topics));
        if (!r->err) req->n_topics = n;
    }
    for (int32_t i = 0; i < req->n_topics && !r->err; i++) decode_request_topic(r, flex, &req->topics[i]);
    req->timeout_ms = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_electleaders_request_clear(kp_electleaders_request_t *req) {
    for (int32_t i = 0; i < req->n_topics; i++) free(req->topics[i].partitions);
    free(req->topics);
    req->topics = NULL;
    req->n_topics = 0;
}

int kp_electleaders_request_encode(kp_writer_t *w, int16_t version, const kp_electleaders_request_t *req) {
    bool flex = kp_is_flexible(version, KP_ELECTLEADERS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int8(w, req->election_type);
    kp_write_array_count_flex(w, flex, req->n_topics < 0 ? -1 : req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const kp_electleaders_request_topic_t *t = &req->topics[i];
        kp_write_str_flex(w, flex, kp_str_nonnull(t->topic));
        kp_write_int32_array_flex(w, flex, t->partitions, nonneg(t->n_partitions));
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_int32(w, req->timeout_ms);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

/* ---- response ---- */

int kp_electleaders_response_encode(kp_writer_t *w, int16_t version, const kp_electleaders_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_ELECTLEADERS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_int32(w, resp->throttle_time_ms);
    if (version >= 1) kp_write_int16(w, resp->error_code);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_topics));
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const kp_electleaders_topic_result_t *t = &resp->topics[i];
        kp_write_str_flex(w, flex, kp_str_nonnull(t->topic));
        kp_write_array_count_flex(w, flex, nonneg(t->n_partitions));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const kp_electleaders_partition_result_t *p = &t->partitions[j];
            kp_write_int32(w, p->partition_id);
            kp_write_int16(w, p->error_code);
            kp_write_str_flex(w, flex, p->error_message);
            kp_write_empty_tags_flex(w, flex);
        }
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

static void decode_result(kp_reader_t *r, bool flex, kp_electleaders_partition_result_t *p) {
    p->partition_id = kp_read_int32(r);
    p->error_code = kp_read_int16(r);
    p->error_message = kp_read_nullable_string_flex(r, flex);
    kp_skip_tags_flex(r, flex);
}

static void decode_topic_result(kp_reader_t *r, bool flex, kp_electleaders_topic_result_t *t) {
    t->topic = kp_read_string_flex(r, flex);
    int32_t n = kp_read_array_count_flex(r, flex, flex ? RESULT_MIN_SIZE_FLEX : RESULT_MIN_SIZE);
    t->partitions = kp_reader_calloc(r, n, sizeof(*t->partitions));
    if (r->err) return;
    t->n_partitions = n;
    for (int32_t i = 0; i < n && !r->err; i++) decode_result(r, flex, &t->partitions[i]);
    kp_skip_tags_flex(r, flex);
}

int kp_electleaders_response_decode(kp_reader_t *r, int16_t version, kp_electleaders_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_ELECTLEADERS_FLEX_FROM);

    *resp = (kp_electleaders_response_t){0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    resp->throttle_time_ms = kp_read_int32(r);
    if (version >= 1) resp->error_code = kp_read_int16(r);
    int32_t n = kp_read_array_count_flex(r, flex, flex ? TOPIC_MIN_SIZE_FLEX : TOPIC_MIN_SIZE);
    resp->topics = kp_reader_calloc(r, n, sizeof(*resp->topics));
    if (!r->err) resp->n_topics = n;
    for (int32_t i = 0; i < resp->n_topics && !r->err; i++) decode_topic_result(r, flex, &resp->topics[i]);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_electleaders_response_clear(kp_electleaders_response_t *resp) {
    for (int32_t i = 0; i < resp->n_topics; i++) free(resp->topics[i].partitions);
    free(resp->topics);
    resp->topics = NULL;
    resp->n_topics = 0;
}
