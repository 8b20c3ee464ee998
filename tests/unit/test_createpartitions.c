/*
 * test_createpartitions.c - CreatePartitions request decoding and response
 * encoding (proto/kp_createpartitions.c).
 *
 * The request fixtures are whole frames captured from real clients talking
 * to kbroker through a recording proxy: confluent-kafka-python 1.7.0 on
 * librdkafka 2.0.2 (v0: an increase, the same validate_only, an explicit
 * assignment) and kafka-python 2.0.2's KafkaAdminClient (v1: an increase
 * with a null assignment, a validate_only one with an assignment).  v2
 * (flexible, which neither client sends) is built from Kafka's schema.
 * The rest are truncated, trailing, negative-count and oversized-count
 * bodies, and responses read back field by field for every version.
 */
#include <string.h>

#include "proto/kp_createpartitions.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* librdkafka: v0, corr 3, ck-topic to 2, validate_only. */
static const uint8_t librdkafka_v0_validate_only[] = {
    0x00, 0x00, 0x00, 0x2c,                         /* size 44 */
    0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* key 37, v0, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'c', 'k', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x02,                         /* count 2 */
    0xff, 0xff, 0xff, 0xff,                         /* assignments null */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x01,                                           /* validate_only */
};

/* librdkafka: v0, corr 4, ck-topic to 2. */
static const uint8_t librdkafka_v0_increase[] = {
    0x00, 0x00, 0x00, 0x2c,                         /* size 44 */
    0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, /* key 37, v0, corr 4 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'c', 'k', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x02,                         /* count 2 */
    0xff, 0xff, 0xff, 0xff,                         /* assignments null */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x00,                                           /* validate_only */
};

/* librdkafka: v0, corr 5, ck-topic to 4 with replica_assignment [[0], [0]]. */
static const uint8_t librdkafka_v0_assignment[] = {
    0x00, 0x00, 0x00, 0x3c,                         /* size 60 */
    0x00, 0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* key 37, v0, corr 5 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'c', 'k', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x04,                         /* count 4 */
    0x00, 0x00, 0x00, 0x02,                         /* two assignments */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* [0] */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* [0] */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x00,                                           /* validate_only */
};

/* kafka-python: v1, corr 3, kp-topic to 2, null assignments. */
static const uint8_t kafka_python_v1_increase[] = {
    0x00, 0x00, 0x00, 0x37,                         /* size 55 */
    0x00, 0x25, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, /* key 37, v1, corr 3 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'k', 'p', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x02,                         /* count 2 */
    0xff, 0xff, 0xff, 0xff,                         /* assignments null */
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* validate_only */
};

/* kafka-python: v1, corr 4, kp-topic to 3 with [[0]], validate_only. */
static const uint8_t kafka_python_v1_assignment_validate_only[] = {
    0x00, 0x00, 0x00, 0x3f,                         /* size 63 */
    0x00, 0x25, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, /* key 37, v1, corr 4 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'k', 'p', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x03,                         /* count 3 */
    0x00, 0x00, 0x00, 0x01,                         /* one assignment */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* [0] */
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x01,                                           /* validate_only */
};

/* v2 body (flexible): "a" to 3 with [[1, 2]], "b" to 5 with null
 * assignments, timeout 1000, not validate_only. */
static const uint8_t v2_body[] = {
    0x03,                                           /* two topics */
    0x02, 'a', 0x00, 0x00, 0x00, 0x03,              /* "a", count 3 */
    0x02,                                           /* one assignment */
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, /* [1, 2], tags */
    0x00,                                           /* topic tags */
    0x02, 'b', 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,  /* "b", count 5, null, tags */
    0x00, 0x00, 0x03, 0xe8,                         /* timeout_ms 1000 */
    0x00,                                           /* validate_only */
    0x00,                                           /* tags */
};

static int decode_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_createpartitions_request_t *req) {
    kp_reader_t r;

    protofix_open_frame(&r, frame, len, KP_API_CREATE_PARTITIONS, 1, h);
    return kp_createpartitions_request_decode(&r, h->request_api_version, req);
}

#define DECODE_FRAME(frame, h, req) decode_frame((frame), sizeof(frame), (h), (req))

static int decode_body(const uint8_t *body, size_t len, int16_t version, kp_createpartitions_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_createpartitions_request_decode(&r, version, req);
}

static int verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_createpartitions_request_t req;
    int rc = decode_body(body, len, version, &req);
    kp_createpartitions_request_clear(&req);
    return rc;
}

/* The body of a whole fixture frame: past size, fixed ids and client_id. */
static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t client_id_len = (size_t)frame[12] << 8 | frame[13];
    size_t off = 4 + 8 + 2 + client_id_len;

    *body_len = len - off;
    return frame + off;
}

static void assert_one_topic(const kp_createpartitions_request_t *req, const char *name, int32_t count) {
    ck_assert_int_eq(req->n_topics, 1);
    ck_assert(kp_str_eq(req->topics[0].name, name));
    ck_assert_int_eq(req->topics[0].count, count);
}

START_TEST(librdkafka_v0_increase_and_validate_only_decode) {
    kp_request_header_t h;
    kp_createpartitions_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v0_increase, &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 0);
    assert_one_topic(&req, "ck-topic", 2);
    ck_assert(!req.topics[0].has_assignments);
    ck_assert_int_eq(req.topics[0].n_assignments, 0);
    ck_assert_int_eq(req.timeout_ms, 30000);
    ck_assert(!req.validate_only);
    kp_createpartitions_request_clear(&req);

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v0_validate_only, &h, &req), 0);
    assert_one_topic(&req, "ck-topic", 2);
    ck_assert(req.validate_only);
    kp_createpartitions_request_clear(&req);
}
END_TEST

START_TEST(librdkafka_v0_assignment_decodes) {
    kp_request_header_t h;
    kp_createpartitions_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v0_assignment, &h, &req), 0);
    assert_one_topic(&req, "ck-topic", 4);
    ck_assert(req.topics[0].has_assignments);
    ck_assert_int_eq(req.topics[0].n_assignments, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(req.topics[0].assignments[i].n_broker_ids, 1);
        ck_assert_int_eq(req.topics[0].assignments[i].broker_ids[0], 0);
    }
    kp_createpartitions_request_clear(&req);
    ck_assert_int_eq(req.n_topics, 0);
    ck_assert_ptr_null(req.topics);
}
END_TEST

START_TEST(kafka_python_v1_decodes) {
    kp_request_header_t h;
    kp_createpartitions_request_t req;

    ck_assert_int_eq(DECODE_FRAME(kafka_python_v1_increase, &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 1);
    assert_one_topic(&req, "kp-topic", 2);
    ck_assert(!req.topics[0].has_assignments);
    ck_assert_int_eq(req.timeout_ms, 5000);
    kp_createpartitions_request_clear(&req);

    ck_assert_int_eq(DECODE_FRAME(kafka_python_v1_assignment_validate_only, &h, &req), 0);
    assert_one_topic(&req, "kp-topic", 3);
    ck_assert(req.topics[0].has_assignments);
    ck_assert_int_eq(req.topics[0].n_assignments, 1);
    ck_assert_int_eq(req.topics[0].assignments[0].broker_ids[0], 0);
    ck_assert(req.validate_only);
    kp_createpartitions_request_clear(&req);
}
END_TEST

START_TEST(v2_flexible_body_decodes) {
    kp_createpartitions_request_t req;

    ck_assert_int_eq(decode_body(v2_body, sizeof(v2_body), 2, &req), 0);
    ck_assert_int_eq(req.n_topics, 2);
    ck_assert(kp_str_eq(req.topics[0].name, "a"));
    ck_assert_int_eq(req.topics[0].count, 3);
    ck_assert(req.topics[0].has_assignments);
    ck_assert_int_eq(req.topics[0].n_assignments, 1);
    ck_assert_int_eq(req.topics[0].assignments[0].n_broker_ids, 2);
    ck_assert_int_eq(req.topics[0].assignments[0].broker_ids[1], 2);
    ck_assert(kp_str_eq(req.topics[1].name, "b"));
    ck_assert_int_eq(req.topics[1].count, 5);
    ck_assert(!req.topics[1].has_assignments);
    ck_assert_int_eq(req.timeout_ms, 1000);
    ck_assert(!req.validate_only);
    kp_createpartitions_request_clear(&req);
    /* The same bytes are not a v1 body. */
    ck_assert_int_ne(verdict(v2_body, sizeof(v2_body), 1), 0);
}
END_TEST

START_TEST(truncated_requests_are_rejected_at_every_length) {
    const uint8_t *frames[] = {librdkafka_v0_increase, librdkafka_v0_assignment, kafka_python_v1_increase,
                               kafka_python_v1_assignment_validate_only};
    const size_t sizes[] = {sizeof(librdkafka_v0_increase), sizeof(librdkafka_v0_assignment),
                            sizeof(kafka_python_v1_increase), sizeof(kafka_python_v1_assignment_validate_only)};

    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        size_t len;
        const uint8_t *body = frame_body(frames[f], sizes[f], &len);
        protofix_truncations_fail(verdict, body, len, 1);
        protofix_trailing_fails(verdict, body, len, 1);
    }
    protofix_truncations_fail(verdict, v2_body, sizeof(v2_body), 2);
    protofix_trailing_fails(verdict, v2_body, sizeof(v2_body), 2);
}
END_TEST

/* A one-topic v1 body with the given counts; everything else empty. */
static size_t body_with_counts(uint8_t *buf, int32_t topics, int32_t assignments, int32_t ids) {
    kp_writer_t w;
    size_t len;

    kp_writer_init(&w);
    kp_write_int32(&w, topics);
    kp_write_string(&w, "t");
    kp_write_int32(&w, 3);
    kp_write_int32(&w, assignments);
    if (assignments == 1) kp_write_int32(&w, ids);
    kp_write_int32(&w, 30000);
    kp_write_bool(&w, false);
    len = w.len;
    memcpy(buf, w.buf, len);
    kp_writer_free(&w);
    return len;
}

START_TEST(negative_counts_are_rejected) {
    const int32_t cases[][3] = {{-1, 0, 0}, {-2, 0, 0}, {1, -2, 0}, {1, 1, -1}};
    uint8_t buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = body_with_counts(buf, cases[i][0], cases[i][1], cases[i][2]);
        ck_assert_int_eq(verdict(buf, len, 1), KP_BUF_INVALID);
    }
}
END_TEST

START_TEST(oversized_counts_are_rejected_before_allocating) {
    const int32_t cases[][3] = {{INT32_MAX, 0, 0}, {1, INT32_MAX, 0}, {1, 1, INT32_MAX}, {2, 0, 0}, {1, 2, 0}};
    uint8_t buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kp_createpartitions_request_t req;
        size_t len = body_with_counts(buf, cases[i][0], cases[i][1], cases[i][2]);
        ck_assert_int_eq(decode_body(buf, len, 1, &req), KP_BUF_SHORT);
        if (cases[i][0] == INT32_MAX) ck_assert_ptr_null(req.topics);
        kp_createpartitions_request_clear(&req);
    }
}
END_TEST

START_TEST(null_topic_name_and_unknown_versions_are_refused) {
    static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02,
                                        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0x00};
    static const uint8_t empty[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x75, 0x30, 0x00};

    ck_assert_int_eq(verdict(null_name, sizeof(null_name), 1), KP_BUF_INVALID);
    ck_assert_int_eq(verdict(empty, sizeof(empty), 0), 0);
    ck_assert_int_eq(verdict(empty, sizeof(empty), 3), KP_BUF_INVALID);
    ck_assert_int_eq(verdict(empty, sizeof(empty), -1), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const kp_createpartitions_result_t sample_results[] = {
    {{6, "orders"}, KP_ERR_NONE, {KP_NULL_LEN, NULL}},
    {{3, "old"}, KP_ERR_INVALID_PARTITIONS, {32, "Topic already has 4 partitions.."}},
};

static const kp_createpartitions_response_t sample = {0, 2, sample_results};

static void expect_str(kp_reader_t *r, bool flex, kp_str_t want) {
    kp_str_t s = kp_read_nullable_string_flex(r, flex);
    ck_assert_int_eq(r->err, KP_BUF_OK);
    ck_assert_int_eq(s.len, want.len);
    if (want.len > 0) ck_assert(memcmp(s.ptr, want.ptr, (size_t)want.len) == 0);
}

START_TEST(response_layout_of_every_version) {
    for (int16_t v = 0; v <= KP_CREATEPARTITIONS_VERSION_MAX; v++) {
        bool flex = v >= KP_CREATEPARTITIONS_FLEX_FROM;
        kp_writer_t w;
        kp_reader_t r;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_createpartitions_response_encode(&w, v, &sample), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_read_int32(&r), 0); /* throttle_time_ms, every version */
        ck_assert_int_eq(kp_read_array_count_flex(&r, flex, 4), 2);
        for (int i = 0; i < 2; i++) {
            expect_str(&r, flex, sample_results[i].name);
            ck_assert_int_eq(kp_read_int16(&r), sample_results[i].error_code);
            expect_str(&r, flex, sample_results[i].error_message);
            kp_skip_tags_flex(&r, flex);
        }
        kp_skip_tags_flex(&r, flex);
        ck_assert_int_eq(kp_reader_expect_end(&r), 0);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(response_exact_bytes_v0_and_v2) {
    static const uint8_t want_v0[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
                                      'x',  0x00, 0x29, 0xff, 0xff};
    static const uint8_t want_v2[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 'x', 0x00, 0x29, 0x00, 0x00, 0x00};
    static const kp_createpartitions_result_t one = {{1, "x"}, KP_ERR_NOT_CONTROLLER, {KP_NULL_LEN, NULL}};
    kp_createpartitions_response_t resp = {0, 1, &one};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_createpartitions_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, want_v0, sizeof(want_v0));
    kp_writer_free(&w);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_createpartitions_response_encode(&w, 2, &resp), 0);
    protofix_bytes(&w, want_v2, sizeof(want_v2));
    kp_writer_free(&w);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_createpartitions_response_encode(&w, 3, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *createpartitions_suite(void) {
    Suite *s = suite_create("createpartitions");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, librdkafka_v0_increase_and_validate_only_decode);
    tcase_add_test(tc, librdkafka_v0_assignment_decodes);
    tcase_add_test(tc, kafka_python_v1_decodes);
    tcase_add_test(tc, v2_flexible_body_decodes);
    tcase_add_test(tc, truncated_requests_are_rejected_at_every_length);
    tcase_add_test(tc, negative_counts_are_rejected);
    tcase_add_test(tc, oversized_counts_are_rejected_before_allocating);
    tcase_add_test(tc, null_topic_name_and_unknown_versions_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("response");
    tcase_add_test(tc, response_layout_of_every_version);
    tcase_add_test(tc, response_exact_bytes_v0_and_v2);
    suite_add_tcase(s, tc);
    return s;
}
