/*
 * test_electleaders.c - ElectLeaders requests and responses both ways
 * (proto/kp_electleaders.c, Kafka 2.6's ElectLeaders schemas, v0-2).
 *
 * No target client sends ElectLeaders (librdkafka 2.0.2 and kafka-python
 * 2.0.2 lack it), so the fixtures are laid out by hand from the schema:
 * a whole v2 frame as Kafka's AdminClient (kafka-leader-election.sh)
 * sends it, header v2 included, electing "orders" partitions 0 and 2
 * (PREFERRED, timeout 60000 ms), and the same body in v1 and v0.  Bad
 * bodies: every truncation, trailing bytes, negative and oversized counts,
 * an unknown version.  Responses are checked byte for byte and decoded
 * back.
 */
#include <string.h>

#include "proto/kp_electleaders.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

static const uint8_t adminclient_v2[] = {
    0x00, 0x00, 0x00, 0x2e,                         /* size 46 */
    0x00, 0x2b, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, /* key 43, v2, corr 7 */
    0x00, 0x0b, 'a', 'd', 'm', 'i', 'n', 'c', 'l', 'i', 'e', 'n', 't', /* client_id */
    0x00,                                           /* header tags */
    0x00,                                           /* election_type PREFERRED */
    0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's',       /* topics: 1, "orders" */
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* partitions: 0, 2 */
    0x00,                                           /* topic tags */
    0x00, 0x00, 0xea, 0x60,                         /* timeout_ms 60000 */
    0x00,                                           /* body tags */
};

static const uint8_t body_v1[] = {
    0x01,                                           /* election_type UNCLEAN */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 'o', 'r', 'd', 'e', 'r', 's',
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0xea, 0x60,
};

/* v0: no election type; a null topic list (every partition). */
static const uint8_t body_v0_all[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x13, 0x88};

static int decode(const uint8_t *body, size_t len, int16_t version, kp_electleaders_request_t *req) {
    kp_reader_t r;
    kp_reader_init(&r, body, len);
    return kp_electleaders_request_decode(&r, version, req);
}

static int verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_electleaders_request_t req;
    int rc = decode(body, len, version, &req);
    kp_electleaders_request_clear(&req);
    return rc;
}

static void check_orders(const kp_electleaders_request_t *req) {
    ck_assert_int_eq(req->n_topics, 1);
    ck_assert(kp_str_eq(req->topics[0].topic, "orders"));
    ck_assert_int_eq(req->topics[0].n_partitions, 2);
    ck_assert_int_eq(req->topics[0].partitions[0], 0);
    ck_assert_int_eq(req->topics[0].partitions[1], 2);
    ck_assert_int_eq(req->timeout_ms, 60000);
}

START_TEST(adminclient_v2_frame_decodes) {
    kp_request_header_t h;
    kp_electleaders_request_t req;
    kp_reader_t r;
    protofix_open_frame(&r, adminclient_v2, sizeof(adminclient_v2), KP_API_ELECT_LEADERS, 2, &h);
    ck_assert_int_eq(h.request_api_version, 2);
    ck_assert_int_eq(kp_electleaders_request_decode(&r, 2, &req), 0);
    ck_assert_int_eq(req.election_type, KP_ELECTION_PREFERRED);
    check_orders(&req);
    kp_electleaders_request_clear(&req);
}
END_TEST

START_TEST(v1_carries_the_election_type_and_v0_a_null_list_means_every_partition) {
    kp_electleaders_request_t req;
    ck_assert_int_eq(decode(body_v1, sizeof(body_v1), 1, &req), 0);
    ck_assert_int_eq(req.election_type, KP_ELECTION_UNCLEAN);
    check_orders(&req);
    kp_electleaders_request_clear(&req);
    ck_assert_int_eq(decode(body_v0_all, sizeof(body_v0_all), 0, &req), 0);
    ck_assert_int_eq(req.election_type, KP_ELECTION_PREFERRED);
    ck_assert_int_eq(req.n_topics, -1);
    ck_assert_ptr_null(req.topics);
    ck_assert_int_eq(req.timeout_ms, 5000);
    kp_electleaders_request_clear(&req);
}
END_TEST

START_TEST(requests_encode_to_the_fixtures) {
    int32_t parts[] = {0, 2};
    kp_electleaders_request_topic_t t = {kp_str_c("orders"), 2, parts};
    kp_electleaders_request_t req = {KP_ELECTION_PREFERRED, 1, &t, 60000};
    kp_writer_t w;
    size_t body = 4 + 8 + 2 + 11 + 1;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_electleaders_request_encode(&w, 2, &req), 0);
    protofix_bytes(&w, adminclient_v2 + body, sizeof(adminclient_v2) - body);
    kp_writer_reset(&w);
    req.election_type = KP_ELECTION_UNCLEAN;
    ck_assert_int_eq(kp_electleaders_request_encode(&w, 1, &req), 0);
    protofix_bytes(&w, body_v1, sizeof(body_v1));
    kp_writer_reset(&w);
    kp_electleaders_request_t all = {KP_ELECTION_UNCLEAN, -1, NULL, 5000};
    ck_assert_int_eq(kp_electleaders_request_encode(&w, 0, &all), 0);
    protofix_bytes(&w, body_v0_all, sizeof(body_v0_all));
    ck_assert_int_eq(kp_electleaders_request_encode(&w, 3, &all), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(truncated_and_trailing_requests_are_refused) {
    size_t body = 4 + 8 + 2 + 11 + 1;
    protofix_truncations_fail(verdict, adminclient_v2 + body, sizeof(adminclient_v2) - body, 2);
    protofix_truncations_fail(verdict, body_v1, sizeof(body_v1), 1);
    protofix_truncations_fail(verdict, body_v0_all, sizeof(body_v0_all), 0);
    protofix_trailing_fails(verdict, adminclient_v2 + body, sizeof(adminclient_v2) - body, 2);
    protofix_trailing_fails(verdict, body_v1, sizeof(body_v1), 1);
}
END_TEST

START_TEST(negative_and_oversized_counts_are_refused_before_allocating) {
    /* topics -2; one topic with -1 partitions; one topic claiming 2^24
     * partitions in a dozen bytes */
    static const uint8_t neg_topics[] = {0x00, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t neg_parts[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t big_parts[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    kp_electleaders_request_t req;
    ck_assert_int_eq(decode(neg_topics, sizeof(neg_topics), 1, &req), KP_BUF_INVALID);
    kp_electleaders_request_clear(&req);
    ck_assert_int_eq(decode(neg_parts, sizeof(neg_parts), 1, &req), KP_BUF_INVALID);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_electleaders_request_clear(&req);
    ck_assert_int_eq(decode(big_parts, sizeof(big_parts), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.topics[0].partitions);
    kp_electleaders_request_clear(&req);
    ck_assert_int_eq(verdict(body_v1, sizeof(body_v1), 3), KP_BUF_INVALID);
    ck_assert_int_eq(verdict(body_v1, sizeof(body_v1), -1), KP_BUF_INVALID);
}
END_TEST

/* ---- responses ---- */

static kp_electleaders_partition_result_t sample_results[] = {
    {0, KP_ERR_NONE, {KP_NULL_LEN, NULL}},
    {2, KP_ERR_ELECTION_NOT_NEEDED, {4, "none"}},
};
static kp_electleaders_topic_result_t sample_topic = {{6, "orders"}, 2, sample_results};
static const kp_electleaders_response_t sample = {0, KP_ERR_NONE, 1, &sample_topic};

static const uint8_t response_v1[] = {
    0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
    0x00, 0x00,                                     /* error_code */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 'o', 'r', 'd', 'e', 'r', 's',
    0x00, 0x00, 0x00, 0x02,                         /* results: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, /* 0: none, message null */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x54, 0x00, 0x04, 'n', 'o', 'n', 'e', /* 2: 84, "none" */
};

static const uint8_t response_v2[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* throttle_time_ms, error_code */
    0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's', 0x03, /* topics: 1, "orders", results: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0: none, null, tags */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x54, 0x05, 'n', 'o', 'n', 'e', 0x00,
    0x00,                                           /* topic tags */
    0x00,                                           /* body tags */
};

START_TEST(responses_are_exact_and_decode_back) {
    kp_writer_t w;
    kp_electleaders_response_t back;
    kp_reader_t r;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_electleaders_response_encode(&w, 1, &sample), 0);
    protofix_bytes(&w, response_v1, sizeof(response_v1));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_electleaders_response_encode(&w, 2, &sample), 0);
    protofix_bytes(&w, response_v2, sizeof(response_v2));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_electleaders_response_encode(&w, 0, &sample), 0);
    ck_assert_uint_eq(w.len, sizeof(response_v1) - 2); /* v0: no error_code */
    kp_writer_free(&w);
    kp_reader_init(&r, response_v2, sizeof(response_v2));
    ck_assert_int_eq(kp_electleaders_response_decode(&r, 2, &back), 0);
    ck_assert_int_eq(back.n_topics, 1);
    ck_assert(kp_str_eq(back.topics[0].topic, "orders"));
    ck_assert_int_eq(back.topics[0].n_partitions, 2);
    ck_assert_int_eq(back.topics[0].partitions[1].error_code, KP_ERR_ELECTION_NOT_NEEDED);
    ck_assert_int_lt(back.topics[0].partitions[0].error_message.len, 0);
    kp_electleaders_response_clear(&back);
}
END_TEST

static int response_verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_electleaders_response_t resp;
    kp_reader_t r;
    kp_reader_init(&r, body, len);
    int rc = kp_electleaders_response_decode(&r, version, &resp);
    kp_electleaders_response_clear(&resp);
    return rc;
}

START_TEST(truncated_and_trailing_responses_are_refused) {
    protofix_truncations_fail(response_verdict, response_v1, sizeof(response_v1), 1);
    protofix_truncations_fail(response_verdict, response_v2, sizeof(response_v2), 2);
    protofix_trailing_fails(response_verdict, response_v2, sizeof(response_v2), 2);
    ck_assert_int_eq(response_verdict(response_v2, sizeof(response_v2), 3), KP_BUF_INVALID);
}
END_TEST

Suite *electleaders_suite(void) {
    Suite *s = suite_create("electleaders");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, adminclient_v2_frame_decodes);
    tcase_add_test(tc, v1_carries_the_election_type_and_v0_a_null_list_means_every_partition);
    tcase_add_test(tc, requests_encode_to_the_fixtures);
    tcase_add_test(tc, truncated_and_trailing_requests_are_refused);
    tcase_add_test(tc, negative_and_oversized_counts_are_refused_before_allocating);
    tcase_add_test(tc, responses_are_exact_and_decode_back);
    tcase_add_test(tc, truncated_and_trailing_responses_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
