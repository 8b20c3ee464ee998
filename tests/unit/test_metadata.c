/*
 * test_metadata.c - Metadata request decoding and response encoding.
 *
 * Request fixtures are whole frames built byte by byte from
 * wire-protocol.md: kafka-python's version probe (Metadata v0 with an empty
 * topic array, meaning all topics) and librdkafka's Metadata v4 with a null
 * topic array (all topics) and with an empty one (brokers only).  Responses
 * are encoded for v0, v1, v5 and v6 and read back field by field with the
 * reader, so each version's field set and order is checked independently
 * of the encoder.
 */
#include <string.h>

#include "proto/kp_header.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* kafka-python probe: Metadata v0, correlation id 2, topics = []. */
static const uint8_t kafka_python_metadata_v0[] = {
    0x00, 0x00, 0x00, 0x20,                         /* size 32 */
    0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* key 3, v0, corr 2 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0x00, 0x00, 0x00, 0x00,                         /* topics: empty = all in v0 */
};

/* librdkafka: Metadata v4, correlation id 3, topics = null, no auto-create. */
static const uint8_t librdkafka_metadata_v4_null[] = {
    0x00, 0x00, 0x00, 0x16,                         /* size 22 */
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, /* key 3, v4, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0xff, 0xff, 0xff, 0xff,                         /* topics: null = all */
    0x00,                                           /* allow_auto_topic_creation */
};

/* librdkafka: Metadata v4, correlation id 4, topics = [] (brokers only). */
static const uint8_t librdkafka_metadata_v4_empty[] = {
    0x00, 0x00, 0x00, 0x16,                         /* size 22 */
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, /* key 3, v4, corr 4 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x00,                         /* topics: empty = none */
    0x00,                                           /* allow_auto_topic_creation */
};

/* Metadata v4 body naming two topics, auto-create allowed. */
static const uint8_t metadata_v4_two_topics[] = {
    0x00, 0x00, 0x00, 0x02,                         /* two topics */
    0x00, 0x06, 'o', 'r', 'd', 'e', 'r', 's',       /* "orders" */
    0x00, 0x01, 'x',                                /* "x" */
    0x01,                                           /* allow_auto_topic_creation */
};

/* Decodes frame's header, then its body as Metadata of the header's version. */
static int decode_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_metadata_request_t *req) {
    kp_reader_t r;

    protofix_open_frame(&r, frame, len, KP_API_METADATA, 1, h);
    return kp_metadata_request_decode(&r, h->request_api_version, req);
}

#define DECODE_FRAME(frame, h, req) decode_frame((frame), sizeof(frame), (h), (req))

static int decode_body(const uint8_t *body, size_t len, int16_t version,
                       kp_metadata_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_metadata_request_decode(&r, version, req);
}

START_TEST(kafka_python_v0_empty_topics_means_all) {
    kp_request_header_t h;
    kp_metadata_request_t req;

    ck_assert_int_eq(DECODE_FRAME(kafka_python_metadata_v0, &h, &req), 0);
    ck_assert_int_eq(h.correlation_id, 2);
    ck_assert(kp_str_eq(h.client_id, "kafka-python-2.0.2"));
    ck_assert_int_eq(req.n_topics, 0);
    ck_assert(kp_metadata_request_all_topics(&req, 0));
    ck_assert(req.allow_auto_topic_creation);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(librdkafka_v4_null_topics_means_all) {
    kp_request_header_t h;
    kp_metadata_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_metadata_v4_null, &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 4);
    ck_assert_int_eq(req.n_topics, -1);
    ck_assert(kp_metadata_request_all_topics(&req, 4));
    ck_assert(!req.allow_auto_topic_creation);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(librdkafka_v4_empty_topics_means_none) {
    kp_request_header_t h;
    kp_metadata_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_metadata_v4_empty, &h, &req), 0);
    ck_assert_int_eq(h.correlation_id, 4);
    ck_assert_int_eq(req.n_topics, 0);
    ck_assert(!kp_metadata_request_all_topics(&req, 4));
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(v4_named_topics_decode_in_order) {
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(metadata_v4_two_topics, sizeof(metadata_v4_two_topics), 4, &req),
                     0);
    ck_assert_int_eq(req.n_topics, 2);
    ck_assert(kp_str_eq(req.topics[0].name, "orders"));
    ck_assert(kp_str_eq(req.topics[1].name, "x"));
    ck_assert(req.allow_auto_topic_creation);
    ck_assert(!kp_metadata_request_all_topics(&req, 4));
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(v1_null_topics_means_all_and_v3_has_no_auto_create_flag) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 1, &req), 0);
    ck_assert(kp_metadata_request_all_topics(&req, 1));
    kp_metadata_request_clear(&req);
    ck_assert_int_eq(decode_body(body, sizeof(body), 3, &req), 0);
    ck_assert(req.allow_auto_topic_creation);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(v0_null_topics_is_invalid) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 0, &req), KP_BUF_INVALID);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    for (size_t n = 0; n < sizeof(metadata_v4_two_topics); n++) {
        kp_metadata_request_t req;
        ck_assert_int_ne(decode_body(metadata_v4_two_topics, n, 4, &req), 0);
        kp_metadata_request_clear(&req);
    }
}
END_TEST

START_TEST(oversized_topic_count_is_rejected) {
    static const uint8_t body[] = {0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 'a', 0x01};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(max_topic_count_is_rejected_without_allocating) {
    static const uint8_t body[] = {0x7f, 0xff, 0xff, 0xff, 0x01};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(negative_topic_count_is_rejected) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xfe, 0x01};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_INVALID);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(null_topic_name_is_rejected) {
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 1, &req), KP_BUF_INVALID);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    static const uint8_t v0[] = {0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t v4[] = {0xff, 0xff, 0xff, 0xff, 0x01, 0xaa};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(v0, sizeof(v0), 0, &req), KP_BUF_TRAILING);
    kp_metadata_request_clear(&req);
    ck_assert_int_eq(decode_body(v4, sizeof(v4), 4, &req), KP_BUF_TRAILING);
    kp_metadata_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00};
    kp_metadata_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_INVALID);
    kp_metadata_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const int32_t p0_replicas[] = {1, 2, 3}, p0_isr[] = {1, 2}, p0_offline[] = {3};
static const int32_t p1_replicas[] = {2}, p1_offline[] = {2};

static const kp_metadata_response_broker_t sample_brokers[] = {
    {1, {2, "h1"}, 9092, {6, "rack-a"}},
    {2, {2, "h2"}, 9093, {KP_NULL_LEN, NULL}},
};

static const kp_metadata_response_partition_t sample_partitions[] = {
    {0, 0, 1, 3, p0_replicas, 2, p0_isr, 1, p0_offline},
    {KP_ERR_LEADER_NOT_AVAILABLE, 1, -1, 1, p1_replicas, 0, NULL, 1, p1_offline},
};

static const kp_metadata_response_topic_t sample_topics[] = {
    {0, {6, "orders"}, false, 2, sample_partitions},
    {KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, {7, "missing"}, false, 0, NULL},
    {0, {18, "__consumer_offsets"}, true, 0, NULL},
};

static const kp_metadata_response_t sample = {
    0, 2, sample_brokers, {22, "AbCdEfGhIjKlMnOpQrStUv"}, 1, 3, sample_topics,
};

static void expect_str(kp_reader_t *r, const char *want) {
    kp_str_t s = kp_read_string(r);
    ck_assert_int_eq(r->err, KP_BUF_OK);
    ck_assert_msg(kp_str_eq(s, want), "expected '%s'", want);
}

static void expect_int32_array(kp_reader_t *r, const int32_t *want, int32_t n) {
    ck_assert_int_eq(kp_read_array_count(r, 4), n);
    for (int32_t i = 0; i < n; i++) ck_assert_int_eq(kp_read_int32(r), want[i]);
}

static void expect_broker(kp_reader_t *r, int16_t v, const kp_metadata_response_broker_t *b) {
    ck_assert_int_eq(kp_read_int32(r), b->node_id);
    expect_str(r, b->host.ptr);
    ck_assert_int_eq(kp_read_int32(r), b->port);
    if (v >= 1) {
        kp_str_t rack = kp_read_nullable_string(r);
        ck_assert_int_eq(rack.len, b->rack.len);
        if (b->rack.len > 0) ck_assert(kp_str_eq(rack, b->rack.ptr));
    }
}

static void expect_partition(kp_reader_t *r, int16_t v, const kp_metadata_response_partition_t *p) {
    ck_assert_int_eq(kp_read_int16(r), p->error_code);
    ck_assert_int_eq(kp_read_int32(r), p->partition_index);
    ck_assert_int_eq(kp_read_int32(r), p->leader_id);
    expect_int32_array(r, p->replica_nodes, p->n_replica_nodes);
    expect_int32_array(r, p->isr_nodes, p->n_isr_nodes);
    if (v >= 5) expect_int32_array(r, p->offline_replicas, p->n_offline_replicas);
}

static void expect_topic(kp_reader_t *r, int16_t v, const kp_metadata_response_topic_t *t) {
    ck_assert_int_eq(kp_read_int16(r), t->error_code);
    expect_str(r, t->name.ptr);
    if (v >= 1) ck_assert_int_eq(kp_read_bool(r), t->is_internal);
    ck_assert_int_eq(kp_read_array_count(r, 1), t->n_partitions);
    for (int32_t i = 0; i < t->n_partitions; i++) expect_partition(r, v, &t->partitions[i]);
}

/* Encodes `sample` as version v and reads it back field by field. */
static void round_trip(int16_t v) {
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_response_encode(&w, v, &sample), 0);
    kp_reader_init(&r, w.buf, w.len);
    if (v >= 3) ck_assert_int_eq(kp_read_int32(&r), 0);
    ck_assert_int_eq(kp_read_array_count(&r, 1), 2);
    for (int i = 0; i < 2; i++) expect_broker(&r, v, &sample_brokers[i]);
    if (v >= 2) expect_str(&r, "AbCdEfGhIjKlMnOpQrStUv");
    if (v >= 1) ck_assert_int_eq(kp_read_int32(&r), 1);
    ck_assert_int_eq(kp_read_array_count(&r, 1), 3);
    for (int i = 0; i < 3; i++) expect_topic(&r, v, &sample_topics[i]);
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
    kp_writer_free(&w);
}

START_TEST(v0_response_round_trips) { round_trip(0); }
END_TEST

START_TEST(v1_response_round_trips) { round_trip(1); }
END_TEST

START_TEST(v5_response_round_trips) { round_trip(5); }
END_TEST

START_TEST(v6_response_round_trips) { round_trip(6); }
END_TEST

START_TEST(v0_response_bytes_are_exact) {
    static const kp_metadata_response_broker_t b = {7, {1, "h"}, 9092, {1, "r"}};
    static const int32_t ids[] = {7};
    static const kp_metadata_response_partition_t p = {0, 0, 7, 1, ids, 1, ids, 1, ids};
    static const kp_metadata_response_topic_t t = {0, {1, "t"}, true, 1, &p};
    static const kp_metadata_response_t resp = {9, 1, &b, {1, "c"}, 7, 1, &t};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x01,                         /* brokers: 1 */
        0x00, 0x00, 0x00, 0x07, 0x00, 0x01, 'h',        /* node_id 7, host "h" */
        0x00, 0x00, 0x23, 0x84,                         /* port 9092 */
        0x00, 0x00, 0x00, 0x01,                         /* topics: 1 */
        0x00, 0x00, 0x00, 0x01, 't',                    /* error 0, name "t" */
        0x00, 0x00, 0x00, 0x01,                         /* partitions: 1 */
        0x00, 0x00,                                     /* error_code */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* index 0, leader 7 */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, /* replicas [7] */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, /* isr [7] */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_response_encode(&w, 0, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v2_null_cluster_id_is_written_as_null) {
    static const kp_metadata_response_t resp = {0, 0, NULL, {KP_NULL_LEN, NULL}, -1, 0, NULL};
    static const uint8_t want[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_response_encode(&w, 2, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_response_encode(&w, 7, &sample), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *metadata_suite(void) {
    Suite *s = suite_create("metadata");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, kafka_python_v0_empty_topics_means_all);
    tcase_add_test(req, librdkafka_v4_null_topics_means_all);
    tcase_add_test(req, librdkafka_v4_empty_topics_means_none);
    tcase_add_test(req, v4_named_topics_decode_in_order);
    tcase_add_test(req, v1_null_topics_means_all_and_v3_has_no_auto_create_flag);
    tcase_add_test(req, v0_null_topics_is_invalid);
    tcase_add_test(req, truncated_request_is_rejected_at_every_length);
    tcase_add_test(req, oversized_topic_count_is_rejected);
    tcase_add_test(req, max_topic_count_is_rejected_without_allocating);
    tcase_add_test(req, negative_topic_count_is_rejected);
    tcase_add_test(req, null_topic_name_is_rejected);
    tcase_add_test(req, trailing_garbage_is_rejected);
    tcase_add_test(req, unsupported_request_version_is_refused);
    tcase_add_test(resp, v0_response_round_trips);
    tcase_add_test(resp, v1_response_round_trips);
    tcase_add_test(resp, v5_response_round_trips);
    tcase_add_test(resp, v6_response_round_trips);
    tcase_add_test(resp, v0_response_bytes_are_exact);
    tcase_add_test(resp, v2_null_cluster_id_is_written_as_null);
    tcase_add_test(resp, response_version_out_of_range_is_refused);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
