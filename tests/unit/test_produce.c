/*
 * test_produce.c - Produce request decoding and response encoding.
 *
 * Request fixtures are whole frames built byte by byte from
 * wire-protocol.md 4.3 and 5.1: librdkafka's Produce v7 (acks=all, one
 * partition) and kafka-python's Produce v7 (acks=1), each carrying the same
 * one-record batch (value "hello", CRC-32C computed over bytes 21..end),
 * plus a v0 body as only the refusal path reads it.  Truncations at every
 * length, negative and oversized counts, and trailing bytes are rejected.
 * Responses are encoded for v0, v2, v5 and v7 and read back field by field,
 * checking that throttle_time_ms is the last field.
 */
#include <string.h>

#include "proto/kp_header.h"
#include "proto/kp_produce.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* One magic-2 batch: base offset 0, batch_length 61, leader epoch 0,
 * CRC 0xe641a44b, no attributes, one record at 1700000000000 ms with a null
 * key and the value "hello", no producer id. */
#define HELLO_BATCH                                                                            \
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* base_offset */                          \
    0x00, 0x00, 0x00, 0x3d,                         /* batch_length 61 */                      \
    0x00, 0x00, 0x00, 0x00,                         /* partition_leader_epoch */               \
    0x02,                                           /* magic */                                \
    0xe6, 0x41, 0xa4, 0x4b,                         /* crc */                                  \
    0x00, 0x00,                                     /* attributes */                           \
    0x00, 0x00, 0x00, 0x00,                         /* last_offset_delta */                    \
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* base_timestamp */                       \
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* max_timestamp */                        \
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */                       \
    0xff, 0xff,                                     /* producer_epoch -1 */                    \
    0xff, 0xff, 0xff, 0xff,                         /* base_sequence -1 */                     \
    0x00, 0x00, 0x00, 0x01,                         /* records_count 1 */                      \
    0x16, 0x00, 0x00, 0x00, 0x01, 0x0a, 'h', 'e', 'l', 'l', 'o', 0x00 /* the record */
#define HELLO_BATCH_SIZE 73

/* librdkafka: Produce v7, correlation id 5, acks -1, timeout 30000 ms,
 * topic "test" partition 0. */
static uint8_t librdkafka_produce_v7[] = {
    0x00, 0x00, 0x00, 0x78,                         /* size 120 */
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05, /* key 0, v7, corr 5 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0xff, 0xff,                                     /* transactional_id null */
    0xff, 0xff,                                     /* acks -1 */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x00, 0x00, 0x00, 0x01,                         /* topic_data: 1 */
    0x00, 0x04, 't', 'e', 's', 't',                 /* name */
    0x00, 0x00, 0x00, 0x01,                         /* partition_data: 1 */
    0x00, 0x00, 0x00, 0x00,                         /* index 0 */
    0x00, 0x00, 0x00, 0x49,                         /* records: 73 bytes */
    HELLO_BATCH,
};

/* kafka-python: Produce v7, correlation id 9, acks 1, timeout 30000 ms,
 * topic "test" partition 2. */
static uint8_t kafka_python_produce_v7[] = {
    0x00, 0x00, 0x00, 0x88,                         /* size 136 */
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09, /* key 0, v7, corr 9 */
    0x00, 0x17, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', 'p', 'r', 'o',
    'd', 'u', 'c', 'e', 'r', '-', '1',              /* client_id */
    0xff, 0xff,                                     /* transactional_id null */
    0x00, 0x01,                                     /* acks 1 */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x00, 0x00, 0x00, 0x01,                         /* topic_data: 1 */
    0x00, 0x04, 't', 'e', 's', 't',                 /* name */
    0x00, 0x00, 0x00, 0x01,                         /* partition_data: 1 */
    0x00, 0x00, 0x00, 0x02,                         /* index 2 */
    0x00, 0x00, 0x00, 0x49,                         /* records: 73 bytes */
    HELLO_BATCH,
};

/* Produce v0 body (no transactional_id): acks 1, two partitions of "t",
 * the first with a 4-byte legacy blob, the second with null records. */
static uint8_t produce_v0_body[] = {
    0x00, 0x01,                                     /* acks 1 */
    0x00, 0x00, 0x03, 0xe8,                         /* timeout_ms 1000 */
    0x00, 0x00, 0x00, 0x01,                         /* topic_data: 1 */
    0x00, 0x01, 't',                                /* name */
    0x00, 0x00, 0x00, 0x02,                         /* partition_data: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
    0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, /* index 1, records null */
};

static const uint8_t hello_batch[] = {HELLO_BATCH};

/* Decodes frame's header, then its body as Produce of the header's version. */
static int decode_frame(uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_produce_request_t *req) {
    kp_reader_t r;

    protofix_open_frame(&r, frame, len, KP_API_PRODUCE, 1, h);
    return kp_produce_request_decode(&r, h->request_api_version, req);
}

static int decode_body(const uint8_t *body, size_t len, int16_t version,
                       kp_produce_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_produce_request_decode(&r, version, req);
}

/* The body of a frame: what follows the size, the fixed ids and client_id. */
static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t client_id_len = (size_t)frame[12] << 8 | frame[13];
    size_t skip = 4 + 8 + 2 + client_id_len;

    *body_len = len - skip;
    return frame + skip;
}

START_TEST(librdkafka_v7_decodes) {
    kp_request_header_t h;
    kp_produce_request_t req;
    const kp_produce_request_partition_t *p;

    ck_assert_int_eq(decode_frame(librdkafka_produce_v7, sizeof(librdkafka_produce_v7), &h, &req),
                     0);
    ck_assert_int_eq(h.request_api_version, 7);
    ck_assert_int_eq(h.correlation_id, 5);
    ck_assert(kp_str_eq(h.client_id, "rdkafka"));
    ck_assert_int_eq(req.transactional_id.len, KP_NULL_LEN);
    ck_assert_int_eq(req.acks, -1);
    ck_assert_int_eq(req.timeout_ms, 30000);
    ck_assert_int_eq(req.n_topic_data, 1);
    ck_assert(kp_str_eq(req.topic_data[0].name, "test"));
    ck_assert_int_eq(req.topic_data[0].n_partition_data, 1);
    p = &req.topic_data[0].partition_data[0];
    ck_assert_int_eq(p->index, 0);
    ck_assert_int_eq(p->records_len, HELLO_BATCH_SIZE);
    ck_assert_mem_eq(p->records, hello_batch, HELLO_BATCH_SIZE);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(records_are_borrowed_from_the_frame) {
    kp_request_header_t h;
    kp_produce_request_t req;
    uint8_t *end = librdkafka_produce_v7 + sizeof(librdkafka_produce_v7);

    ck_assert_int_eq(decode_frame(librdkafka_produce_v7, sizeof(librdkafka_produce_v7), &h, &req),
                     0);
    ck_assert_ptr_eq(req.topic_data[0].partition_data[0].records, end - HELLO_BATCH_SIZE);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_v7_decodes) {
    kp_request_header_t h;
    kp_produce_request_t req;
    const kp_produce_request_partition_t *p;

    ck_assert_int_eq(
        decode_frame(kafka_python_produce_v7, sizeof(kafka_python_produce_v7), &h, &req), 0);
    ck_assert_int_eq(h.correlation_id, 9);
    ck_assert(kp_str_eq(h.client_id, "kafka-python-producer-1"));
    ck_assert_int_eq(req.acks, 1);
    ck_assert_int_eq(req.n_topic_data, 1);
    p = &req.topic_data[0].partition_data[0];
    ck_assert_int_eq(p->index, 2);
    ck_assert_int_eq(p->records_len, HELLO_BATCH_SIZE);
    ck_assert_mem_eq(p->records, hello_batch, HELLO_BATCH_SIZE);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(v0_decodes_for_the_refusal) {
    kp_produce_request_t req;
    const kp_produce_request_topic_t *t;

    ck_assert_int_eq(decode_body(produce_v0_body, sizeof(produce_v0_body), 0, &req), 0);
    ck_assert_int_eq(req.transactional_id.len, KP_NULL_LEN);
    ck_assert_int_eq(req.acks, 1);
    ck_assert_int_eq(req.timeout_ms, 1000);
    t = &req.topic_data[0];
    ck_assert(kp_str_eq(t->name, "t"));
    ck_assert_int_eq(t->n_partition_data, 2);
    ck_assert_int_eq(t->partition_data[0].records_len, 4);
    ck_assert_int_eq(t->partition_data[1].index, 1);
    ck_assert_int_eq(t->partition_data[1].records_len, KP_NULL_LEN);
    ck_assert_ptr_null(t->partition_data[1].records);
    kp_produce_request_clear(&req);
    ck_assert_int_eq(decode_body(produce_v0_body, sizeof(produce_v0_body), 2, &req), 0);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(v3_reads_a_transactional_id) {
    static const uint8_t body[] = {0x00, 0x02, 't', 'x', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 3, &req), 0);
    ck_assert(kp_str_eq(req.transactional_id, "tx"));
    ck_assert_int_eq(req.acks, 0);
    ck_assert_int_eq(req.n_topic_data, 0);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    size_t len;
    const uint8_t *body = frame_body(librdkafka_produce_v7, sizeof(librdkafka_produce_v7), &len);

    for (size_t n = 0; n < len; n++) {
        kp_produce_request_t req;
        ck_assert_int_ne(decode_body(body, n, 7, &req), 0);
        kp_produce_request_clear(&req);
    }
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    uint8_t buf[sizeof(produce_v0_body) + 1];
    kp_produce_request_t req;

    memcpy(buf, produce_v0_body, sizeof(produce_v0_body));
    buf[sizeof(produce_v0_body)] = 0x00;
    ck_assert_int_eq(decode_body(buf, sizeof(buf), 0, &req), KP_BUF_TRAILING);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(negative_topic_count_is_rejected) {
    static const uint8_t body[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                   0xff, 0xff, 0xff, 0xfe};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topic_data);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(null_topic_array_is_rejected) {
    static const uint8_t body[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0xff, 0xff, 0xff, 0xff};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_INVALID);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(oversized_partition_count_is_rejected_without_allocating) {
    static const uint8_t body[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_SHORT);
    ck_assert_int_eq(req.n_topic_data, 1);
    ck_assert_ptr_null(req.topic_data[0].partition_data);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(records_longer_than_the_frame_are_rejected) {
    static const uint8_t body[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x10, 0x01, 0x02};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_SHORT);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(negative_records_length_is_rejected) {
    static const uint8_t body[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0xff, 0xff, 0xff, 0xf0};
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 7, &req), KP_BUF_INVALID);
    kp_produce_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    kp_produce_request_t req;

    ck_assert_int_eq(decode_body(produce_v0_body, sizeof(produce_v0_body), 8, &req),
                     KP_BUF_INVALID);
    kp_produce_request_clear(&req);
    ck_assert_int_eq(decode_body(produce_v0_body, sizeof(produce_v0_body), -1, &req),
                     KP_BUF_INVALID);
    kp_produce_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const kp_produce_response_partition_t sample_parts_a[] = {
    {0, KP_ERR_NONE, 42, -1, 7},
    {3, KP_ERR_NOT_LEADER_OR_FOLLOWER, -1, -1, -1},
};
static const kp_produce_response_partition_t sample_parts_b[] = {
    {1, KP_ERR_MESSAGE_TOO_LARGE, -1, -1, -1},
};
static const kp_produce_response_topic_t sample_topics[] = {
    {{6, "orders"}, 2, sample_parts_a},
    {{1, "x"}, 1, sample_parts_b},
};
static const kp_produce_response_t sample = {2, sample_topics, 0};

static void expect_partition(kp_reader_t *r, int16_t v, const kp_produce_response_partition_t *p) {
    ck_assert_int_eq(kp_read_int32(r), p->index);
    ck_assert_int_eq(kp_read_int16(r), p->error_code);
    ck_assert(kp_read_int64(r) == p->base_offset);
    if (v >= 2) ck_assert(kp_read_int64(r) == p->log_append_time_ms);
    if (v >= 5) ck_assert(kp_read_int64(r) == p->log_start_offset);
}

/* Encodes `sample` as version v and reads it back field by field. */
static void round_trip(int16_t v) {
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_produce_response_encode(&w, v, &sample), 0);
    kp_reader_init(&r, w.buf, w.len);
    ck_assert_int_eq(kp_read_array_count(&r, 1), 2);
    for (int i = 0; i < 2; i++) {
        const kp_produce_response_topic_t *t = &sample_topics[i];
        ck_assert(kp_str_eq(kp_read_string(&r), t->name.ptr));
        ck_assert_int_eq(kp_read_array_count(&r, 1), t->n_partition_responses);
        for (int j = 0; j < t->n_partition_responses; j++)
            expect_partition(&r, v, &t->partition_responses[j]);
    }
    if (v >= 1) ck_assert_int_eq(kp_read_int32(&r), 0); /* throttle_time_ms, last */
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_OK);
    kp_writer_free(&w);
}

START_TEST(v0_response_round_trips) { round_trip(0); }
END_TEST

START_TEST(v2_response_round_trips) { round_trip(2); }
END_TEST

START_TEST(v5_response_round_trips) { round_trip(5); }
END_TEST

START_TEST(v7_response_round_trips) { round_trip(7); }
END_TEST

START_TEST(v7_response_bytes_are_exact) {
    static const kp_produce_response_partition_t p = {0, KP_ERR_NONE, 5, -1, 0};
    static const kp_produce_response_topic_t t = {{4, "test"}, 1, &p};
    static const kp_produce_response_t resp = {1, &t, 0};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x01,                         /* responses: 1 */
        0x00, 0x04, 't', 'e', 's', 't',                 /* name */
        0x00, 0x00, 0x00, 0x01,                         /* partition_responses: 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* index 0, error 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* base_offset 5 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_append_time_ms -1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* log_start_offset 0 */
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_produce_response_encode(&w, 7, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v0_refusal_bytes_are_exact) {
    static const kp_produce_response_partition_t p = {0, KP_ERR_UNSUPPORTED_VERSION, -1, -1, -1};
    static const kp_produce_response_topic_t t = {{1, "t"}, 1, &p};
    static const kp_produce_response_t resp = {1, &t, 0};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x23,             /* index 0, error 35 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* base_offset -1 */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_produce_response_encode(&w, 0, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_produce_response_encode(&w, 8, &sample), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *produce_suite(void) {
    Suite *s = suite_create("produce");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, librdkafka_v7_decodes);
    tcase_add_test(req, records_are_borrowed_from_the_frame);
    tcase_add_test(req, kafka_python_v7_decodes);
    tcase_add_test(req, v0_decodes_for_the_refusal);
    tcase_add_test(req, v3_reads_a_transactional_id);
    tcase_add_test(req, truncated_request_is_rejected_at_every_length);
    tcase_add_test(req, trailing_garbage_is_rejected);
    tcase_add_test(req, negative_topic_count_is_rejected);
    tcase_add_test(req, null_topic_array_is_rejected);
    tcase_add_test(req, oversized_partition_count_is_rejected_without_allocating);
    tcase_add_test(req, records_longer_than_the_frame_are_rejected);
    tcase_add_test(req, negative_records_length_is_rejected);
    tcase_add_test(req, unsupported_request_version_is_refused);
    tcase_add_test(resp, v0_response_round_trips);
    tcase_add_test(resp, v2_response_round_trips);
    tcase_add_test(resp, v5_response_round_trips);
    tcase_add_test(resp, v7_response_round_trips);
    tcase_add_test(resp, v7_response_bytes_are_exact);
    tcase_add_test(resp, v0_refusal_bytes_are_exact);
    tcase_add_test(resp, response_version_out_of_range_is_refused);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
