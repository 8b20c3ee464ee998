/*
 * test_apiversions.c - request/response headers and ApiVersions.
 *
 * Request fixtures are whole frames as the target clients send them, built
 * byte by byte from wire-protocol.md: librdkafka 2.0.2 opens every
 * connection with ApiVersions v3 (client id "rdkafka", software
 * "librdkafka"/"2.0.2"); kafka-python 2.0.2 probes with ApiVersions v0
 * (client id "kafka-python-2.0.2").  Response tests are byte-exact,
 * including the spec's worked example of the too-new-version fallback.
 */
#include <string.h>

#include "proto/kp_apiversions.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* librdkafka: ApiVersions v3, correlation id 1. */
static const uint8_t librdkafka_apiversions_v3[] = {
    0x00, 0x00, 0x00, 0x24,                               /* size 36 */
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,       /* key 18, v3, corr 1 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',        /* client_id (classic) */
    0x00,                                                 /* header tags */
    0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a', /* compact "librdkafka" */
    0x06, '2', '.', '0', '.', '2',                        /* compact "2.0.2" */
    0x00,                                                 /* body tags */
};

/* kafka-python: ApiVersions v0, correlation id 1, empty body. */
static const uint8_t kafka_python_apiversions_v0[] = {
    0x00, 0x00, 0x00, 0x1c,                         /* size 28 */
    0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* key 18, v0, corr 1 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',
};

static const kp_apiversion_t two_apis[] = {{3, 0, 6}, {18, 0, 3}};

/* Opens a frame: checks the size prefix and leaves r on the header. */
static void open_frame(kp_reader_t *r, const uint8_t *frame, size_t len) {
    kp_reader_init(r, frame, len);
    ck_assert_int_eq(kp_read_int32(r), (int32_t)(len - 4));
}

/* Decodes a whole request header the way the dispatcher does. */
static void decode_header(kp_reader_t *r, kp_request_header_t *h, int16_t flex_from) {
    ck_assert_int_eq(kp_request_header_decode_ids(r, h), 0);
    int hv = kp_request_header_version(h->request_api_key, h->request_api_version, flex_from);
    ck_assert_int_eq(kp_request_header_decode_rest(r, hv, h), 0);
}

START_TEST(librdkafka_v3_request_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_apiversions_request_t req;

    open_frame(&r, librdkafka_apiversions_v3, sizeof(librdkafka_apiversions_v3));
    decode_header(&r, &h, KP_APIVERSIONS_FLEX_FROM);
    ck_assert_int_eq(h.request_api_key, KP_API_API_VERSIONS);
    ck_assert_int_eq(h.request_api_version, 3);
    ck_assert_int_eq(h.correlation_id, 1);
    ck_assert(kp_str_eq(h.client_id, "rdkafka"));
    ck_assert_int_eq(kp_apiversions_request_decode(&r, 3, &req), 0);
    ck_assert(kp_str_eq(req.client_software_name, "librdkafka"));
    ck_assert(kp_str_eq(req.client_software_version, "2.0.2"));
}
END_TEST

START_TEST(kafka_python_v0_request_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_apiversions_request_t req;

    open_frame(&r, kafka_python_apiversions_v0, sizeof(kafka_python_apiversions_v0));
    decode_header(&r, &h, KP_APIVERSIONS_FLEX_FROM);
    ck_assert_int_eq(h.request_api_version, 0);
    ck_assert(kp_str_eq(h.client_id, "kafka-python-2.0.2"));
    ck_assert_int_eq(kp_apiversions_request_decode(&r, 0, &req), 0);
    ck_assert_int_eq(req.client_software_name.len, -1);
}
END_TEST

START_TEST(truncated_v3_request_is_rejected_at_every_length) {
    const uint8_t *body = librdkafka_apiversions_v3 + 22; /* after size and header */
    size_t body_len = sizeof(librdkafka_apiversions_v3) - 22;

    for (size_t n = 0; n < body_len; n++) {
        kp_reader_t r;
        kp_apiversions_request_t req;
        kp_reader_init(&r, body, n);
        ck_assert_int_ne(kp_apiversions_request_decode(&r, 3, &req), 0);
    }
}
END_TEST

START_TEST(v0_request_with_trailing_bytes_is_rejected) {
    static const uint8_t body[] = {0x00};
    kp_reader_t r;
    kp_apiversions_request_t req;

    kp_reader_init(&r, body, sizeof(body));
    ck_assert_int_eq(kp_apiversions_request_decode(&r, 0, &req), KP_BUF_TRAILING);
}
END_TEST

START_TEST(v3_request_skips_unknown_tags) {
    static const uint8_t body[] = {0x02, 'k', 0x02, '1', 0x01, 0x07, 0x01, 0xff};
    kp_reader_t r;
    kp_apiversions_request_t req;

    kp_reader_init(&r, body, sizeof(body));
    ck_assert_int_eq(kp_apiversions_request_decode(&r, 3, &req), 0);
    ck_assert(kp_str_eq(req.client_software_name, "k"));
}
END_TEST

START_TEST(v3_request_with_null_software_name_is_invalid) {
    static const uint8_t body[] = {0x00, 0x01, 0x00};
    kp_reader_t r;
    kp_apiversions_request_t req;

    kp_reader_init(&r, body, sizeof(body));
    ck_assert_int_eq(kp_apiversions_request_decode(&r, 3, &req), KP_BUF_INVALID);
}
END_TEST

START_TEST(unsupported_version_fallback_matches_spec_example) {
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x07, 0x00, 0x23,
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03};
    kp_apiversions_response_t resp;
    kp_apiversion_t entry;
    kp_writer_t w;
    size_t off;

    kp_writer_init(&w);
    off = kp_write_reserve_int32(&w);
    kp_response_header_encode(&w, kp_response_header_version(KP_API_API_VERSIONS, 4, 3), 7);
    kp_apiversions_response_unsupported(&resp, &entry, 3);
    ck_assert_int_eq(kp_apiversions_response_encode(&w, 0, &resp), 0);
    kp_write_patch_int32(&w, off, (int32_t)(w.len - off - 4));
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v0_response_has_no_throttle) {
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00,
                                   0x00, 0x06, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03};
    kp_apiversions_response_t resp = {0, 2, two_apis, 0};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_apiversions_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v2_response_ends_with_throttle) {
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x03, 0x00,
                                   0x00, 0x00, 0x06, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03,
                                   0x00, 0x00, 0x00, 0x05};
    kp_apiversions_response_t resp = {0, 2, two_apis, 5};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_apiversions_response_encode(&w, 2, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(v3_response_is_flexible_under_header_v0) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x1a,                   /* size 26 */
        0x00, 0x00, 0x00, 0x01,                   /* header v0: correlation id only */
        0x00, 0x00,                               /* error_code */
        0x03,                                     /* compact array: 2 entries */
        0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x00, /* Metadata 0-6 + tags */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00, /* ApiVersions 0-3 + tags */
        0x00, 0x00, 0x00, 0x00,                   /* throttle_time_ms */
        0x00,                                     /* body tags */
    };
    kp_apiversions_response_t resp = {0, 2, two_apis, 0};
    kp_writer_t w;
    size_t off;

    kp_writer_init(&w);
    off = kp_write_reserve_int32(&w);
    kp_response_header_encode(&w, kp_response_header_version(KP_API_API_VERSIONS, 3, 3), 1);
    ck_assert_int_eq(kp_apiversions_response_encode(&w, 3, &resp), 0);
    kp_write_patch_int32(&w, off, (int32_t)(w.len - off - 4));
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_out_of_range_is_refused) {
    kp_apiversions_response_t resp = {0, 2, two_apis, 0};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_apiversions_response_encode(&w, 4, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(header_versions_follow_flexible_versions) {
    ck_assert_int_eq(kp_request_header_version(KP_API_METADATA, 8, 9), 1);
    ck_assert_int_eq(kp_request_header_version(KP_API_METADATA, 9, 9), 2);
    ck_assert_int_eq(kp_response_header_version(KP_API_METADATA, 8, 9), 0);
    ck_assert_int_eq(kp_response_header_version(KP_API_METADATA, 9, 9), 1);
    ck_assert_int_eq(kp_request_header_version(KP_API_SASL_HANDSHAKE, 1, KP_FLEX_NEVER), 1);
    ck_assert_int_eq(kp_request_header_version(KP_API_CONTROLLED_SHUTDOWN, 0, 3), 0);
    ck_assert_int_eq(kp_request_header_version(KP_API_CONTROLLED_SHUTDOWN, 1, 3), 1);
}
END_TEST

START_TEST(apiversions_response_header_is_always_v0) {
    ck_assert_int_eq(kp_request_header_version(KP_API_API_VERSIONS, 3, 3), 2);
    ck_assert_int_eq(kp_response_header_version(KP_API_API_VERSIONS, 3, 3), 0);
    ck_assert_int_eq(kp_response_header_version(KP_API_API_VERSIONS, 7, 3), 0);
}
END_TEST

START_TEST(request_header_v2_skips_tags_and_keeps_classic_client_id) {
    static const uint8_t hdr[] = {0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x09, 0x00,
                                  0x01, 'x',  0x01, 0x00, 0x01, 0x2a, 0x55};
    kp_reader_t r;
    kp_request_header_t h;

    kp_reader_init(&r, hdr, sizeof(hdr));
    ck_assert_int_eq(kp_request_header_decode_ids(&r, &h), 0);
    ck_assert_int_eq(h.request_api_key, KP_API_INIT_PRODUCER_ID);
    ck_assert_int_eq(h.correlation_id, 9);
    ck_assert_int_eq(kp_request_header_decode_rest(&r, 2, &h), 0);
    ck_assert(kp_str_eq(h.client_id, "x"));
    ck_assert_uint_eq(kp_reader_left(&r), 1);
}
END_TEST

START_TEST(request_header_v1_null_client_id) {
    static const uint8_t hdr[] = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0xff, 0xff};
    kp_reader_t r;
    kp_request_header_t h;

    kp_reader_init(&r, hdr, sizeof(hdr));
    decode_header(&r, &h, 9);
    ck_assert_int_eq(h.client_id.len, -1);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
}
END_TEST

START_TEST(truncated_request_header_is_rejected) {
    kp_reader_t r;
    kp_request_header_t h;

    for (size_t n = 0; n < 8; n++) {
        kp_reader_init(&r, librdkafka_apiversions_v3 + 4, n);
        ck_assert_int_ne(kp_request_header_decode_ids(&r, &h), 0);
    }
    for (size_t n = 8; n < 18; n++) {
        kp_reader_init(&r, librdkafka_apiversions_v3 + 4, n);
        ck_assert_int_eq(kp_request_header_decode_ids(&r, &h), 0);
        ck_assert_int_ne(kp_request_header_decode_rest(&r, 2, &h), 0);
    }
}
END_TEST

START_TEST(response_header_v1_adds_empty_tags) {
    static const uint8_t want[] = {0x00, 0x00, 0x01, 0x00, 0x00};
    kp_writer_t w;

    kp_writer_init(&w);
    kp_response_header_encode(&w, 1, 256);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(api_key_names) {
    ck_assert_str_eq(kp_api_key_name(KP_API_API_VERSIONS), "ApiVersions");
    ck_assert_str_eq(kp_api_key_name(KP_API_METADATA), "Metadata");
    ck_assert_str_eq(kp_api_key_name(KP_API_DESCRIBE_CLUSTER), "DescribeCluster");
    ck_assert_ptr_null(kp_api_key_name(34));
    ck_assert_ptr_null(kp_api_key_name(61));
    ck_assert_ptr_null(kp_api_key_name(-1));
    ck_assert_ptr_null(kp_api_key_name(1000));
}
END_TEST

Suite *apiversions_suite(void) {
    Suite *s = suite_create("apiversions");
    TCase *hdr = tcase_create("header");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(hdr, header_versions_follow_flexible_versions);
    tcase_add_test(hdr, apiversions_response_header_is_always_v0);
    tcase_add_test(hdr, request_header_v2_skips_tags_and_keeps_classic_client_id);
    tcase_add_test(hdr, request_header_v1_null_client_id);
    tcase_add_test(hdr, truncated_request_header_is_rejected);
    tcase_add_test(hdr, response_header_v1_adds_empty_tags);
    tcase_add_test(hdr, api_key_names);
    tcase_add_test(req, librdkafka_v3_request_decodes);
    tcase_add_test(req, kafka_python_v0_request_decodes);
    tcase_add_test(req, truncated_v3_request_is_rejected_at_every_length);
    tcase_add_test(req, v0_request_with_trailing_bytes_is_rejected);
    tcase_add_test(req, v3_request_skips_unknown_tags);
    tcase_add_test(req, v3_request_with_null_software_name_is_invalid);
    tcase_add_test(resp, unsupported_version_fallback_matches_spec_example);
    tcase_add_test(resp, v0_response_has_no_throttle);
    tcase_add_test(resp, v2_response_ends_with_throttle);
    tcase_add_test(resp, v3_response_is_flexible_under_header_v0);
    tcase_add_test(resp, response_version_out_of_range_is_refused);
    suite_add_tcase(s, hdr);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
