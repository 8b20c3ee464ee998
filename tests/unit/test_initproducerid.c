/*
 * test_initproducerid.c - InitProducerId request decoding and response
 * encoding (wire-protocol.md 4.10).
 *
 * The librdkafka fixture is a frame captured from confluent-kafka-python
 * with librdkafka 2.0.2 (enable.idempotence=true, client.id rdkafka) on its
 * way to a kbroker: v4, request header v2, transactional_id null and -1 in
 * every other field.  The v1 fixture is KafkaJS's layout (non-flexible,
 * transactionTimeout 60000).  Responses are checked byte by byte in v0 and
 * in the flexible v4.
 */
#include <string.h>

#include "proto/kp_header.h"
#include "proto/kp_initproducerid.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"

/* librdkafka 2.0.2: InitProducerId v4, correlation id 15. */
static const uint8_t librdkafka_initproducerid_v4[] = {
    0x00, 0x00, 0x00, 0x22,                         /* size 34 */
    0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0f, /* key 22, v4, corr 15 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id (int16 length even in header v2) */
    0x00,                                           /* header tags */
    0x00,                                           /* transactional_id: compact null */
    0xff, 0xff, 0xff, 0xff,                         /* transaction_timeout_ms -1 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */
    0xff, 0xff,                                     /* producer_epoch -1 */
    0x00,                                           /* body tags */
};

/* KafkaJS layout: InitProducerId v1 body, transactional_id null, 60000 ms. */
static const uint8_t kafkajs_initproducerid_v1_body[] = {
    0xff, 0xff,             /* transactional_id: null */
    0x00, 0x00, 0xea, 0x60, /* transaction_timeout_ms 60000 */
};

/* A v3 body with the transactional id "tx", asking for an epoch bump. */
static const uint8_t transactional_v3_body[] = {
    0x03, 't', 'x',                                 /* compact string "tx" */
    0x00, 0x00, 0x27, 0x10,                         /* 10000 ms */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, /* producer_id 1000 */
    0x00, 0x02,                                     /* producer_epoch 2 */
    0x00,                                           /* tags */
};

static int decode_body(const uint8_t *body, size_t len, int16_t version, kp_initproducerid_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_initproducerid_request_decode(&r, version, req);
}

/* The body of the librdkafka frame and its length. */
static const uint8_t *librdkafka_body(size_t *len) {
    const size_t header = 4 + 8 + 2 + 7 + 1;

    *len = sizeof(librdkafka_initproducerid_v4) - header;
    return librdkafka_initproducerid_v4 + header;
}

START_TEST(librdkafka_v4_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_initproducerid_request_t req;
    const uint8_t *f = librdkafka_initproducerid_v4;

    kp_reader_init(&r, f, sizeof(librdkafka_initproducerid_v4));
    ck_assert_int_eq(kp_read_int32(&r), (int32_t)sizeof(librdkafka_initproducerid_v4) - 4);
    ck_assert_int_eq(kp_request_header_decode_ids(&r, &h), 0);
    ck_assert_int_eq(h.request_api_key, KP_API_INIT_PRODUCER_ID);
    ck_assert_int_eq(h.request_api_version, 4);
    ck_assert_int_eq(h.correlation_id, 15);
    ck_assert_int_eq(kp_request_header_decode_rest(&r, 2, &h), 0);
    ck_assert(kp_str_eq(h.client_id, "rdkafka"));
    ck_assert_int_eq(kp_initproducerid_request_decode(&r, 4, &req), 0);
    ck_assert_int_lt(req.transactional_id.len, 0);
    ck_assert_int_eq(req.transaction_timeout_ms, -1);
    ck_assert(req.producer_id == KP_NO_PRODUCER_ID);
    ck_assert_int_eq(req.producer_epoch, KP_NO_PRODUCER_EPOCH);
}
END_TEST

START_TEST(kafkajs_v1_body_decodes) {
    kp_initproducerid_request_t req;

    ck_assert_int_eq(decode_body(kafkajs_initproducerid_v1_body, sizeof(kafkajs_initproducerid_v1_body), 1, &req), 0);
    ck_assert_int_lt(req.transactional_id.len, 0);
    ck_assert_int_eq(req.transaction_timeout_ms, 60000);
    /* Before v3 the request carries no id: the "none" values stand in. */
    ck_assert(req.producer_id == KP_NO_PRODUCER_ID);
    ck_assert_int_eq(req.producer_epoch, KP_NO_PRODUCER_EPOCH);
}
END_TEST

START_TEST(v3_transactional_body_decodes) {
    kp_initproducerid_request_t req;

    ck_assert_int_eq(decode_body(transactional_v3_body, sizeof(transactional_v3_body), 3, &req), 0);
    ck_assert(kp_str_eq(req.transactional_id, "tx"));
    ck_assert_int_eq(req.transaction_timeout_ms, 10000);
    ck_assert(req.producer_id == 1000);
    ck_assert_int_eq(req.producer_epoch, 2);
}
END_TEST

START_TEST(empty_transactional_id_is_not_null) {
    static const uint8_t body[] = {0x00, 0x00, 0xff, 0xff, 0xff, 0xff}; /* v0: "" */
    kp_initproducerid_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 0, &req), 0);
    ck_assert_int_eq(req.transactional_id.len, 0);
}
END_TEST

START_TEST(truncated_request_is_rejected_at_every_length) {
    size_t len;
    const uint8_t *body = librdkafka_body(&len);

    for (size_t n = 0; n < len; n++) {
        kp_initproducerid_request_t req;
        ck_assert_int_ne(decode_body(body, n, 4, &req), 0);
    }
    for (size_t n = 0; n < sizeof(transactional_v3_body); n++) {
        kp_initproducerid_request_t req;
        ck_assert_int_ne(decode_body(transactional_v3_body, n, 3, &req), 0);
    }
}
END_TEST

START_TEST(trailing_bytes_are_rejected) {
    uint8_t buf[64];
    size_t len;
    const uint8_t *body = librdkafka_body(&len);
    kp_initproducerid_request_t req;

    memcpy(buf, body, len);
    buf[len] = 0x07;
    ck_assert_int_eq(decode_body(buf, len + 1, 4, &req), KP_BUF_TRAILING);
    /* A v3 body read as v1 leaves the id, the epoch and the tags over. */
    ck_assert_int_ne(decode_body(transactional_v3_body, sizeof(transactional_v3_body), 1, &req), 0);
}
END_TEST

START_TEST(unknown_versions_are_refused) {
    size_t len;
    const uint8_t *body = librdkafka_body(&len);
    kp_initproducerid_request_t req;
    kp_initproducerid_response_t resp = {0, 0, 1, 0};
    kp_writer_t w;

    ck_assert_int_eq(decode_body(body, len, 5, &req), KP_BUF_INVALID);
    ck_assert_int_eq(decode_body(body, len, -1, &req), KP_BUF_INVALID);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_initproducerid_response_encode(&w, 5, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(request_round_trips_in_every_version) {
    kp_initproducerid_request_t in = {kp_str_c("app-1"), 30000, 42, 7}, out;

    for (int16_t v = 0; v <= KP_INITPRODUCERID_VERSION_MAX; v++) {
        kp_writer_t w;
        kp_writer_init(&w);
        ck_assert_int_eq(kp_initproducerid_request_encode(&w, v, &in), 0);
        ck_assert_int_eq(decode_body(w.buf, w.len, v, &out), 0);
        ck_assert(kp_str_eq(out.transactional_id, "app-1"));
        ck_assert_int_eq(out.transaction_timeout_ms, 30000);
        ck_assert(out.producer_id == (v >= 3 ? 42 : KP_NO_PRODUCER_ID));
        ck_assert_int_eq(out.producer_epoch, v >= 3 ? 7 : KP_NO_PRODUCER_EPOCH);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(v0_response_bytes) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x00, 0x00,                                     /* error_code */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe9, /* producer_id 1001 */
        0x00, 0x00,                                     /* producer_epoch 0 */
    };
    kp_initproducerid_response_t resp = {0, 0, 1001, 0};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_initproducerid_response_encode(&w, 0, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v4_error_response_bytes) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
        0x00, 0x35,                                     /* 53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */
        0xff, 0xff,                                     /* producer_epoch -1 */
        0x00,                                           /* tags */
    };
    kp_initproducerid_response_t resp = {0, KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_initproducerid_response_encode(&w, 4, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert_mem_eq(w.buf, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

Suite *initproducerid_suite(void) {
    Suite *s = suite_create("initproducerid");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, librdkafka_v4_frame_decodes);
    tcase_add_test(req, kafkajs_v1_body_decodes);
    tcase_add_test(req, v3_transactional_body_decodes);
    tcase_add_test(req, empty_transactional_id_is_not_null);
    tcase_add_test(req, truncated_request_is_rejected_at_every_length);
    tcase_add_test(req, trailing_bytes_are_rejected);
    tcase_add_test(req, unknown_versions_are_refused);
    tcase_add_test(req, request_round_trips_in_every_version);
    tcase_add_test(resp, v0_response_bytes);
    tcase_add_test(resp, v4_error_response_bytes);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
