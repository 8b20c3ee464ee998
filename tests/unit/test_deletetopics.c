/*
 * test_deletetopics.c - DeleteTopics request decoding and response
 * encoding (proto/kp_deletetopics.c, wire-protocol.md 4.7).
 *
 * Fixtures are whole frames captured from the clients
 * (tests/fuzz/capture.py): librdkafka's AdminClient sends v1, kafka-python's
 * KafkaAdminClient v3; the v4 body is the flexible encoding (compact
 * array and strings, tag sections) no target client sends yet.  Bad bodies:
 * every truncation, trailing bytes, a null name, negative and oversized
 * counts, an unknown version.  Responses are checked byte for byte in v0,
 * v1 and v4, and decoded back.
 */
#include <string.h>

#include "proto/kp_deletetopics.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"

/* librdkafka 2.0.2: DeleteTopics v1, correlation id 4, client "rdkafka",
 * topics ck-doomed and ck-never, timeout 30000. */
static const uint8_t librdkafka_v1[] = {
    0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',
    0x00, 0x00, 0x00, 0x02, 0x00, 0x09, 'c', 'k', '-', 'd', 'o', 'o', 'm', 'e', 'd',
    0x00, 0x08, 'c', 'k', '-', 'n', 'e', 'v', 'e', 'r', 0x00, 0x00, 0x75, 0x30,
};

/* kafka-python 2.0.2: DeleteTopics v3, correlation id 4, client
 * "kafka-python-2.0.2", topics kp-doomed and kp-doomed-2, timeout 30000. */
static const uint8_t kafka_python_v3[] = {
    0x00, 0x14, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y',
    't', 'h', 'o', 'n', '-', '2', '.', '0', '.', '2', 0x00, 0x00, 0x00, 0x02,
    0x00, 0x09, 'k', 'p', '-', 'd', 'o', 'o', 'm', 'e', 'd',
    0x00, 0x0b, 'k', 'p', '-', 'd', 'o', 'o', 'm', 'e', 'd', '-', '2', 0x00, 0x00, 0x75, 0x30,
};

/* v4 (flexible), as the integration suite sends it: topics no-topic and
 * other, timeout 0. */
static const uint8_t flexible_body_v4[] = {
    0x03,                                          /* topic_names: 2 */
    0x09, 'n', 'o', '-', 't', 'o', 'p', 'i', 'c',  /* "no-topic" */
    0x06, 'o', 't', 'h', 'e', 'r',                 /* "other" */
    0x00, 0x00, 0x00, 0x00,                        /* timeout_ms 0 */
    0x00,                                          /* body tags */
};

static int decode_body(const uint8_t *body, size_t len, int16_t version, kp_deletetopics_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_deletetopics_request_decode(&r, version, req);
}

/* Decodes a captured frame's header and body. */
static void decode_frame(const uint8_t *frame, size_t len, int16_t version, kp_deletetopics_request_t *req) {
    kp_request_header_t h;
    kp_reader_t r;

    kp_reader_init(&r, frame, len);
    ck_assert_int_eq(kp_request_header_decode_ids(&r, &h), 0);
    ck_assert_int_eq(h.request_api_key, KP_API_DELETE_TOPICS);
    ck_assert_int_eq(h.request_api_version, version);
    ck_assert_int_eq(kp_request_header_decode_rest(&r, 1, &h), 0);
    ck_assert_int_eq(kp_deletetopics_request_decode(&r, version, req), 0);
}

START_TEST(librdkafka_v1_frame_decodes) {
    kp_deletetopics_request_t req;

    decode_frame(librdkafka_v1, sizeof(librdkafka_v1), 1, &req);
    ck_assert_int_eq(req.n_topic_names, 2);
    ck_assert(kp_str_eq(req.topic_names[0], "ck-doomed"));
    ck_assert(kp_str_eq(req.topic_names[1], "ck-never"));
    ck_assert_int_eq(req.timeout_ms, 30000);
    kp_deletetopics_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_v3_frame_decodes) {
    kp_deletetopics_request_t req;

    decode_frame(kafka_python_v3, sizeof(kafka_python_v3), 3, &req);
    ck_assert_int_eq(req.n_topic_names, 2);
    ck_assert(kp_str_eq(req.topic_names[0], "kp-doomed"));
    ck_assert(kp_str_eq(req.topic_names[1], "kp-doomed-2"));
    ck_assert_int_eq(req.timeout_ms, 30000);
    kp_deletetopics_request_clear(&req);
}
END_TEST

START_TEST(flexible_v4_body_decodes) {
    kp_deletetopics_request_t req;

    ck_assert_int_eq(decode_body(flexible_body_v4, sizeof(flexible_body_v4), 4, &req), 0);
    ck_assert_int_eq(req.n_topic_names, 2);
    ck_assert(kp_str_eq(req.topic_names[0], "no-topic"));
    ck_assert(kp_str_eq(req.topic_names[1], "other"));
    ck_assert_int_eq(req.timeout_ms, 0);
    kp_deletetopics_request_clear(&req);
}
END_TEST

/* The body of librdkafka's frame (after the fixed header and client_id). */
static const uint8_t *v1_body(size_t *len) {
    size_t skip = 8 + 2 + 7;

    *len = sizeof(librdkafka_v1) - skip;
    return librdkafka_v1 + skip;
}

START_TEST(truncated_request_is_rejected_at_every_length) {
    kp_deletetopics_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    for (size_t n = 0; n < len; n++) {
        ck_assert_int_ne(decode_body(body, n, 1, &req), 0);
        kp_deletetopics_request_clear(&req);
    }
    for (size_t n = 0; n < sizeof(flexible_body_v4); n++) {
        ck_assert_int_ne(decode_body(flexible_body_v4, n, 4, &req), 0);
        kp_deletetopics_request_clear(&req);
    }
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    uint8_t buf[128];
    kp_deletetopics_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    memcpy(buf, body, len);
    buf[len] = 0x00;
    ck_assert_int_eq(decode_body(buf, len + 1, 1, &req), KP_BUF_TRAILING);
    kp_deletetopics_request_clear(&req);
}
END_TEST

START_TEST(null_name_and_bad_counts_are_rejected) {
    static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t null_name_v4[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t negative[] = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
    /* 65536 names announced in 4 bytes left: refused before any allocation. */
    static const uint8_t oversized[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t oversized_v4[] = {0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00};
    kp_deletetopics_request_t req;

    ck_assert_int_eq(decode_body(null_name, sizeof(null_name), 1, &req), KP_BUF_INVALID);
    kp_deletetopics_request_clear(&req);
    ck_assert_int_eq(decode_body(null_name_v4, sizeof(null_name_v4), 4, &req), KP_BUF_INVALID);
    kp_deletetopics_request_clear(&req);
    ck_assert_int_eq(decode_body(negative, sizeof(negative), 1, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topic_names);
    kp_deletetopics_request_clear(&req);
    ck_assert_int_eq(decode_body(oversized, sizeof(oversized), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topic_names);
    kp_deletetopics_request_clear(&req);
    ck_assert_int_eq(decode_body(oversized_v4, sizeof(oversized_v4), 4, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topic_names);
    kp_deletetopics_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    kp_deletetopics_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    ck_assert_int_eq(decode_body(body, len, 5, &req), KP_BUF_INVALID);
    kp_deletetopics_request_clear(&req);
    ck_assert_int_eq(decode_body(body, len, -1, &req), KP_BUF_INVALID);
    kp_deletetopics_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const kp_deletetopics_result_t sample_results[] = {
    {{2, "ok"}, KP_ERR_NONE},
    {{1, "x"}, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION},
};
static const kp_deletetopics_response_t sample = {0, 2, sample_results};

START_TEST(v0_and_v1_response_bytes_are_exact) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                   /* throttle_time_ms (v1+) */
        0x00, 0x00, 0x00, 0x02,                   /* responses: 2 */
        0x00, 0x02, 'o', 'k', 0x00, 0x00,         /* "ok", 0 */
        0x00, 0x01, 'x', 0x00, 0x03,              /* "x", 3 */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_deletetopics_response_encode(&w, 0, &sample), 0);
    ck_assert_uint_eq(w.len, sizeof(want) - 4);
    ck_assert_mem_eq(w.buf, want + 4, sizeof(want) - 4);
    kp_writer_free(&w);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_deletetopics_response_encode(&w, 1, &sample), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v4_response_is_flexible_and_decodes_back) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                   /* throttle_time_ms */
        0x03,                                     /* responses: 2 */
        0x03, 'o', 'k', 0x00, 0x00, 0x00,         /* "ok", 0, tags */
        0x02, 'x', 0x00, 0x03, 0x00,              /* "x", 3, tags */
        0x00,                                     /* body tags */
    };
    kp_deletetopics_response_t got;
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_deletetopics_response_encode(&w, 4, &sample), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_reader_init(&r, w.buf, w.len);
    ck_assert_int_eq(kp_deletetopics_response_decode(&r, 4, &got), 0);
    ck_assert_int_eq(got.n_responses, 2);
    ck_assert(kp_str_eq(got.responses[1].name, "x"));
    ck_assert_int_eq(got.responses[1].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kp_deletetopics_response_clear(&got);
    kp_writer_free(&w);
}
END_TEST

START_TEST(request_encodes_as_decoded) {
    kp_deletetopics_request_t req;
    kp_writer_t w;
    size_t len;
    const uint8_t *body = v1_body(&len);

    ck_assert_int_eq(decode_body(body, len, 1, &req), 0);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_deletetopics_request_encode(&w, 1, &req), 0);
    ck_assert_uint_eq(w.len, len);
    ck_assert_mem_eq(w.buf, body, len);
    kp_writer_free(&w);
    kp_deletetopics_request_clear(&req);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_deletetopics_response_encode(&w, 5, &sample), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *deletetopics_suite(void) {
    Suite *s = suite_create("deletetopics");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, librdkafka_v1_frame_decodes);
    tcase_add_test(tc, kafka_python_v3_frame_decodes);
    tcase_add_test(tc, flexible_v4_body_decodes);
    tcase_add_test(tc, truncated_request_is_rejected_at_every_length);
    tcase_add_test(tc, trailing_garbage_is_rejected);
    tcase_add_test(tc, null_name_and_bad_counts_are_rejected);
    tcase_add_test(tc, unsupported_request_version_is_refused);
    tcase_add_test(tc, v0_and_v1_response_bytes_are_exact);
    tcase_add_test(tc, v4_response_is_flexible_and_decodes_back);
    tcase_add_test(tc, request_encodes_as_decoded);
    tcase_add_test(tc, response_version_out_of_range_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
