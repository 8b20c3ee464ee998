/*
 * test_deleterecords.c - DeleteRecords request decoding and response
 * encoding (proto/kp_deleterecords.c, wire-protocol.md 4.9).
 *
 * The v1 fixture is a whole frame laid out as librdkafka's AdminClient
 * sends it (two partitions of "test": an explicit offset and -1 for "up to
 * the high watermark", timeout 5000 ms); the v2 fixture is the same body in
 * the flexible encoding.  Bad bodies: every truncation, trailing bytes,
 * negative and oversized counts, an unknown version.  Responses are checked
 * byte for byte in v0 and v2.
 */
#include <string.h>

#include "proto/kp_deleterecords.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"

/* DeleteRecords v1, correlation id 5, client "rdkafka": "test" partition 0
 * up to offset 100, partition 1 up to the high watermark, timeout 5000. */
static const uint8_t librdkafka_deleterecords_v1[] = {
    0x00, 0x00, 0x00, 0x3b,                         /* size 59 */
    0x00, 0x15, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, /* key 21, v1, corr 5 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
    0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* offset 100 */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* offset -1 */
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
};

/* The same request body in v2 (compact arrays and strings, tag sections). */
static const uint8_t flexible_body_v2[] = {
    0x02, 0x05, 't', 'e', 's', 't',                 /* topics: 1, name "test" */
    0x03,                                           /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00,                         /* partition_index 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* offset 100 */
    0x00,                                           /* partition tags */
    0x00, 0x00, 0x00, 0x01,                         /* partition_index 1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* offset -1 */
    0x00,                                           /* partition tags */
    0x00,                                           /* topic tags */
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* body tags */
};

static int decode_body(const uint8_t *body, size_t len, int16_t version, kp_deleterecords_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_deleterecords_request_decode(&r, version, req);
}

/* The v1 fixture's body (after size, fixed header and client_id). */
static const uint8_t *v1_body(size_t *len) {
    size_t skip = 4 + 8 + 2 + 7;

    *len = sizeof(librdkafka_deleterecords_v1) - skip;
    return librdkafka_deleterecords_v1 + skip;
}

static void check_sample_request(const kp_deleterecords_request_t *req) {
    ck_assert_int_eq(req->n_topics, 1);
    ck_assert(kp_str_eq(req->topics[0].name, "test"));
    ck_assert_int_eq(req->topics[0].n_partitions, 2);
    ck_assert_int_eq(req->topics[0].partitions[0].partition_index, 0);
    ck_assert(req->topics[0].partitions[0].offset == 100);
    ck_assert_int_eq(req->topics[0].partitions[1].partition_index, 1);
    ck_assert(req->topics[0].partitions[1].offset == KP_DELETERECORDS_HIGH_WATERMARK);
    ck_assert_int_eq(req->timeout_ms, 5000);
}

START_TEST(librdkafka_v1_frame_decodes) {
    kp_request_header_t h;
    kp_deleterecords_request_t req;
    kp_reader_t r;

    kp_reader_init(&r, librdkafka_deleterecords_v1, sizeof(librdkafka_deleterecords_v1));
    ck_assert_int_eq(kp_read_int32(&r), (int32_t)sizeof(librdkafka_deleterecords_v1) - 4);
    ck_assert_int_eq(kp_request_header_decode_ids(&r, &h), 0);
    ck_assert_int_eq(h.request_api_key, KP_API_DELETE_RECORDS);
    ck_assert_int_eq(h.request_api_version, 1);
    ck_assert_int_eq(h.correlation_id, 5);
    ck_assert_int_eq(kp_request_header_decode_rest(&r, 1, &h), 0);
    ck_assert_int_eq(kp_deleterecords_request_decode(&r, h.request_api_version, &req), 0);
    check_sample_request(&req);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(v0_body_is_the_same_as_v1) {
    kp_deleterecords_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    ck_assert_int_eq(decode_body(body, len, 0, &req), 0);
    check_sample_request(&req);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(flexible_v2_body_decodes) {
    kp_deleterecords_request_t req;

    ck_assert_int_eq(decode_body(flexible_body_v2, sizeof(flexible_body_v2), 2, &req), 0);
    check_sample_request(&req);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    kp_deleterecords_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    for (size_t n = 0; n < len; n++) {
        ck_assert_int_ne(decode_body(body, n, 1, &req), 0);
        kp_deleterecords_request_clear(&req);
    }
    for (size_t n = 0; n < sizeof(flexible_body_v2); n++) {
        ck_assert_int_ne(decode_body(flexible_body_v2, n, 2, &req), 0);
        kp_deleterecords_request_clear(&req);
    }
}
END_TEST

START_TEST(trailing_garbage_is_rejected) {
    uint8_t buf[128];
    kp_deleterecords_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    memcpy(buf, body, len);
    buf[len] = 0x00;
    ck_assert_int_eq(decode_body(buf, len + 1, 1, &req), KP_BUF_TRAILING);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(negative_counts_are_rejected) {
    static const uint8_t topics[] = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t partitions[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0xff,
                                         0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    kp_deleterecords_request_t req;

    ck_assert_int_eq(decode_body(topics, sizeof(topics), 1, &req), KP_BUF_INVALID);
    kp_deleterecords_request_clear(&req);
    ck_assert_int_eq(decode_body(partitions, sizeof(partitions), 1, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(oversized_partition_count_is_rejected_without_allocating) {
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00,
                                   0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    kp_deleterecords_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_deleterecords_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    kp_deleterecords_request_t req;
    size_t len;
    const uint8_t *body = v1_body(&len);

    ck_assert_int_eq(decode_body(body, len, 3, &req), KP_BUF_INVALID);
    kp_deleterecords_request_clear(&req);
    ck_assert_int_eq(decode_body(body, len, -1, &req), KP_BUF_INVALID);
    kp_deleterecords_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const kp_deleterecords_response_partition_t sample_parts[] = {
    {0, 100, KP_ERR_NONE},
    {1, -1, KP_ERR_OFFSET_OUT_OF_RANGE},
};
static const kp_deleterecords_response_topic_t sample_topic = {{4, "test"}, 2, sample_parts};
static const kp_deleterecords_response_t sample = {0, 1, &sample_topic};

START_TEST(v0_response_bytes_are_exact) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 't', 'e', 's', 't',
        0x00, 0x00, 0x00, 0x02,                         /* partitions: 2 */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* low_watermark 100 */
        0x00, 0x00,                                     /* error 0 */
        0x00, 0x00, 0x00, 0x01,                         /* partition 1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* low_watermark -1 */
        0x00, 0x01,                                     /* error 1 */
    };
    kp_writer_t w;

    for (int16_t v = 0; v <= 1; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_deleterecords_response_encode(&w, v, &sample), 0);
        ck_assert_uint_eq(w.len, sizeof(want));
        ck_assert_mem_eq(w.buf, want, sizeof(want));
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(v2_response_is_flexible) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x02, 0x05, 't', 'e', 's', 't',                 /* topics: 1, "test" */
        0x03,                                           /* partitions: 2 */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* low_watermark 100 */
        0x00, 0x00, 0x00,                               /* error 0, tags */
        0x00, 0x00, 0x00, 0x01,                         /* partition 1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* low_watermark -1 */
        0x00, 0x01, 0x00,                               /* error 1, tags */
        0x00,                                           /* topic tags */
        0x00,                                           /* body tags */
    };
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_deleterecords_response_encode(&w, 2, &sample), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_deleterecords_response_encode(&w, 3, &sample), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

Suite *deleterecords_suite(void) {
    Suite *s = suite_create("deleterecords");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, librdkafka_v1_frame_decodes);
    tcase_add_test(tc, v0_body_is_the_same_as_v1);
    tcase_add_test(tc, flexible_v2_body_decodes);
    tcase_add_test(tc, truncated_request_is_rejected_at_every_length);
    tcase_add_test(tc, trailing_garbage_is_rejected);
    tcase_add_test(tc, negative_counts_are_rejected);
    tcase_add_test(tc, oversized_partition_count_is_rejected_without_allocating);
    tcase_add_test(tc, unsupported_request_version_is_refused);
    tcase_add_test(tc, v0_response_bytes_are_exact);
    tcase_add_test(tc, v2_response_is_flexible);
    tcase_add_test(tc, response_version_out_of_range_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
