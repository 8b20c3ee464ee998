/*
 * kp_deletetopics.c - DeleteTopics request decoding and response encoding
 * (Kafka's DeleteTopicsRequest/DeleteTopicsResponse schemas, versions 0-4;
 * flexible from 4), and the reverse pair for clients and tests.  Pure byte
 * work: what deleting means is the broker's business
 * (broker/api/kb_api_deletetopics.c).
 */
#include "proto/kp_deletetopics.h"

#include <stdlib.h>

#include "proto/kp_types.h"

/* Smallest elements on the wire: a name is an empty string (two bytes, or
 * one compact length byte); a result a name and an error code (plus a tag
 * section when flexible). */
#define NAME_MIN_SIZE 2
#define NAME_MIN_SIZE_FLEX 1
#define RESULT_MIN_SIZE 4
#define RESULT_MIN_SIZE_FLEX 4

static bool version_ok(int16_t version) { return version >= 0 && version <= KP_DELETETOPICS_VERSION_MAX; }

static int32_t nonneg(int32_t n) { return n < 0 ? 0 : n; }

int kp_deletetopics_request_decode(kp_reader_t *r, int16_t version, kp_deletetopics_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);
    int32_t n;

    *req = (kp_deletetopics_request_t){0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    n = kp_read_array_count_flex(r, flex, flex ? NAME_MIN_SIZE_FLEX : NAME_MIN_SIZE);
    req->topic_names = kp_reader_calloc(r, n, sizeof(*req->topic_names));
    if (!r->err) req->n_topic_names = n;
    for (int32_t i = 0; i < req->n_topic_names && !r->err; i++)
        req->topic_names[i] = kp_read_string_flex(r, flex); /* a null name fails the reader */
    req->timeout_ms = kp_read_int32(r);
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_deletetopics_request_clear(kp_deletetopics_request_t *req) {
    free(req->topic_names);
    req->topic_names = NULL;
    req->n_topic_names = 0;
}

int kp_deletetopics_response_encode(kp_writer_t *w, int16_t version, const kp_deletetopics_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    if (version >= 1) kp_write_int32(w, resp->throttle_time_ms);
    kp_write_array_count_flex(w, flex, nonneg(resp->n_responses));
    for (int32_t i = 0; i < resp->n_responses; i++) {
        kp_write_str_flex(w, flex, kp_str_nonnull(resp->responses[i].name));
        kp_write_int16(w, resp->responses[i].error_code);
        kp_write_empty_tags_flex(w, flex);
    }
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_deletetopics_request_encode(kp_writer_t *w, int16_t version, const kp_deletetopics_request_t *req) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);

    if (!version_ok(version)) return KP_BUF_INVALID;
    kp_write_array_count_flex(w, flex, nonneg(req->n_topic_names));
    for (int32_t i = 0; i < req->n_topic_names; i++) kp_write_str_flex(w, flex, kp_str_nonnull(req->topic_names[i]));
    kp_write_int32(w, req->timeout_ms);
    kp_write_empty_tags_flex(w, flex);
    return w->err;
}

int kp_deletetopics_response_decode(kp_reader_t *r, int16_t version, kp_deletetopics_response_t *resp) {
    bool flex = kp_is_flexible(version, KP_DELETETOPICS_FLEX_FROM);
    kp_deletetopics_result_t *results;
    int32_t n;

    *resp = (kp_deletetopics_response_t){0};
    if (!version_ok(version)) {
        kp_reader_fail(r, KP_BUF_INVALID);
        return r->err;
    }
    if (version >= 1) resp->throttle_time_ms = kp_read_int32(r);
    n = kp_read_array_count_flex(r, flex, flex ? RESULT_MIN_SIZE_FLEX : RESULT_MIN_SIZE);
    results = kp_reader_calloc(r, n, sizeof(*results));
    if (!r->err) {
        resp->responses = results;
        resp->n_responses = n;
    }
    for (int32_t i = 0; i < resp->n_responses && !r->err; i++) {
        results[i].name = kp_read_string_flex(r, flex);
        results[i].error_code = kp_read_int16(r);
        kp_skip_tags_flex(r, flex);
    }
    kp_skip_tags_flex(r, flex);
    return kp_reader_expect_end(r);
}

void kp_deletetopics_response_clear(kp_deletetopics_response_t *resp) {
    free((void *)resp->responses);
    resp->responses = NULL;
    resp->n_responses = 0;
}
