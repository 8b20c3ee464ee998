/*
 * test_client_reassign_codec.c - the client side of
 * AlterPartitionReassignments (45) and ListPartitionReassignments (46) v0
 * (proto/kp_client_reassign.c), behind kafka-reassign-partitions.sh
 * --cancel and kafka-topics.sh --describe --bootstrap-server.
 *
 * Requests are checked byte for byte against the bodies KafkaJS 2.2.4
 * sends (the fixtures of test_reassign_codec.c) and a cancellation laid
 * out from Kafka's schema, and read back by the broker's decoder.
 * Answers are decoded from fixtures written in the schema's field order,
 * which are also what the broker's encoders write.  Then the hostile
 * answers: every truncation, a trailing byte, counts larger than the bytes
 * left, an unknown version.
 */
#include <string.h>

#include "proto/kp_client_reassign.h"
#include "proto/kp_reassign.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* KafkaJS's Alter body: "orders" 0 to [2,3] and 1 to [3,2], 5 s. */
static const uint8_t alter_body[] = {
    0x00, 0x00, 0x13, 0x88,                                                         /* timeout_ms 5000 */
    0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's',                                       /* topics: 1, "orders" */
    0x03,                                                                           /* partitions: 2 */
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, /* 0: [2,3] */
    0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, /* 1: [3,2] */
    0x00, 0x00,                                                                     /* topic, body tags */
};
/* Cancelling "t" 4 and 7: replicas null (compact length 0), 30 s. */
static const uint8_t cancel_body[] = {
    0x00, 0x00, 0x75, 0x30, 0x02, 0x02, 't', 0x03,   /* timeout, topics: 1, "t", partitions: 2 */
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00,              /* 4: null, tags */
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00,              /* 7: null, tags */
    0x00, 0x00,
};
/* KafkaJS's List bodies: "orders" 0 and 1; everything (null topics). */
static const uint8_t list_body[] = {0x00, 0x00, 0x13, 0x88, 0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's', 0x03,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
static const uint8_t list_all_body[] = {0x00, 0x00, 0x13, 0x88, 0x00, 0x00};

/* Alter answer: "t" 0 done, 9 refused with 3 "no". */
static const uint8_t alter_response[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                 /* throttle, error 0, message null */
    0x02, 0x02, 't', 0x03,                                    /* responses: 1, "t", partitions: 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,           /* 0: error 0, null, tags */
    0x00, 0x00, 0x00, 0x09, 0x00, 0x03, 0x03, 'n', 'o', 0x00, /* 9: error 3, "no", tags */
    0x00, 0x00,                                               /* topic tags, body tags */
};
/* List answer: "t" 5 replicas [2,3,1], adding [3], removing [1]. */
static const uint8_t list_response[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                                     /* throttle, error 0, null */
    0x02, 0x02, 't', 0x02, 0x00, 0x00, 0x00, 0x05,                                /* topics: 1, "t", 1, index 5 */
    0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, /* replicas */
    0x02, 0x00, 0x00, 0x00, 0x03,                                                 /* adding */
    0x02, 0x00, 0x00, 0x00, 0x01,                                                 /* removing */
    0x00, 0x00, 0x00,                                                             /* partition, topic, body tags */
};
/* NOT_CONTROLLER for the whole request, nothing else. */
static const uint8_t list_not_controller[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x03, 'n', 'c', 0x01, 0x00};

static int alter_verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_reader_t r;
    kp_client_alterreassign_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_alterreassign_response_decode(&r, version, &resp);
    kp_client_alterreassign_response_clear(&resp);
    return rc;
}

static int list_verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_reader_t r;
    kp_client_listreassign_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_listreassign_response_decode(&r, version, &resp);
    kp_client_listreassign_response_clear(&resp);
    return rc;
}

START_TEST(alter_requests_are_kafkajs_bytes_and_the_broker_reads_a_cancellation) {
    int32_t r0[] = {2, 3}, r1[] = {3, 2};
    kp_alterreassign_request_partition_t moves[] = {{0, 2, r0}, {1, 2, r1}};
    kp_alterreassign_request_topic_t orders = {kp_str_c("orders"), 2, moves};
    kp_alterreassign_request_t req = {5000, 1, &orders};
    kp_alterreassign_request_partition_t cancels[] = {{4, -1, NULL}, {7, -1, NULL}};
    kp_alterreassign_request_topic_t t = {kp_str_c("t"), 2, cancels};
    kp_alterreassign_request_t cancel = {30000, 1, &t};
    kp_alterreassign_request_t back;
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_alterreassign_request_encode(&w, 0, &req), 0);
    protofix_bytes(&w, alter_body, sizeof(alter_body));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_alterreassign_request_encode(&w, 0, &cancel), 0);
    protofix_bytes(&w, cancel_body, sizeof(cancel_body));
    kp_reader_init(&r, w.buf, w.len);
    ck_assert_int_eq(kp_alterreassign_request_decode(&r, 0, &back), 0);
    ck_assert_int_eq(back.topics[0].n_partitions, 2);
    ck_assert_int_eq(back.topics[0].partitions[1].partition_index, 7);
    ck_assert_int_eq(back.topics[0].partitions[1].n_replicas, -1);
    kp_alterreassign_request_clear(&back);
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_alterreassign_request_encode(&w, 1, &req), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(list_requests_are_kafkajs_bytes) {
    int32_t indexes[] = {0, 1};
    kp_listreassign_request_topic_t orders = {kp_str_c("orders"), 2, indexes};
    kp_listreassign_request_t some = {5000, 1, &orders}, all = {5000, -1, NULL};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_listreassign_request_encode(&w, 0, &some), 0);
    protofix_bytes(&w, list_body, sizeof(list_body));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_listreassign_request_encode(&w, 0, &all), 0);
    protofix_bytes(&w, list_all_body, sizeof(list_all_body));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_listreassign_request_encode(&w, -1, &all), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(alter_response_decodes_per_partition_outcomes) {
    kp_reader_t r;
    kp_client_alterreassign_response_t resp;

    kp_reader_init(&r, alter_response, sizeof(alter_response));
    ck_assert_int_eq(kp_client_alterreassign_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.error_code, 0);
    ck_assert_int_lt(resp.error_message.len, 0);
    ck_assert_int_eq(resp.n_responses, 1);
    ck_assert(kp_str_eq(resp.responses[0].name, "t"));
    ck_assert_int_eq(resp.responses[0].n_partitions, 2);
    ck_assert_int_eq(resp.responses[0].partitions[1].partition_index, 9);
    ck_assert_int_eq(resp.responses[0].partitions[1].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(kp_str_eq(resp.responses[0].partitions[1].error_message, "no"));
    kp_client_alterreassign_response_clear(&resp);
    protofix_truncations_fail(alter_verdict, alter_response, sizeof(alter_response), 0);
    protofix_trailing_fails(alter_verdict, alter_response, sizeof(alter_response), 0);
    ck_assert_int_eq(alter_verdict(alter_response, sizeof(alter_response), 1), KP_BUF_INVALID);
}
END_TEST

START_TEST(list_response_decodes_replicas_adding_and_removing) {
    kp_reader_t r;
    kp_client_listreassign_response_t resp;

    kp_reader_init(&r, list_response, sizeof(list_response));
    ck_assert_int_eq(kp_client_listreassign_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 1);
    const kp_client_listreassign_partition_t *p = &resp.topics[0].partitions[0];
    ck_assert_int_eq(p->partition_index, 5);
    ck_assert_int_eq(p->n_replicas, 3);
    ck_assert_int_eq(p->replicas[2], 1);
    ck_assert_int_eq(p->n_adding, 1);
    ck_assert_int_eq(p->adding[0], 3);
    ck_assert_int_eq(p->n_removing, 1);
    ck_assert_int_eq(p->removing[0], 1);
    kp_client_listreassign_response_clear(&resp);
    kp_reader_init(&r, list_not_controller, sizeof(list_not_controller));
    ck_assert_int_eq(kp_client_listreassign_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.error_code, KP_ERR_NOT_CONTROLLER);
    ck_assert(kp_str_eq(resp.error_message, "nc"));
    ck_assert_int_eq(resp.n_topics, 0);
    kp_client_listreassign_response_clear(&resp);
    protofix_truncations_fail(list_verdict, list_response, sizeof(list_response), 0);
    protofix_trailing_fails(list_verdict, list_response, sizeof(list_response), 0);
}
END_TEST

/* The broker's own encoders write what the client decodes. */
START_TEST(what_the_broker_encodes_the_client_decodes) {
    static const int32_t replicas[] = {2, 3, 1}, adding[] = {3}, removing[] = {1};
    static const kp_listreassign_response_partition_t part = {5, 3, replicas, 1, adding, 1, removing};
    static const kp_listreassign_response_topic_t topic = {{1, "t"}, 1, &part};
    static const kp_listreassign_response_t list = {0, 0, {KP_NULL_LEN, NULL}, 1, &topic};
    static const kp_alterreassign_response_partition_t parts[] = {{0, 0, {KP_NULL_LEN, NULL}},
                                                                  {9, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, {2, "no"}}};
    static const kp_alterreassign_response_topic_t alter_topic = {{1, "t"}, 2, parts};
    static const kp_alterreassign_response_t alter = {0, 0, {KP_NULL_LEN, NULL}, 1, &alter_topic};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listreassign_response_encode(&w, 0, &list), 0);
    protofix_bytes(&w, list_response, sizeof(list_response));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_alterreassign_response_encode(&w, 0, &alter), 0);
    protofix_bytes(&w, alter_response, sizeof(alter_response));
    kp_writer_free(&w);
}
END_TEST

/* Counts are compact (length + 1): more elements than the bytes left
 * could hold are refused before anything is allocated; null where the
 * schema has no null is invalid. */
START_TEST(hostile_counts_are_refused_without_allocating) {
    static const uint8_t topics_huge[] = {0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    static const uint8_t partitions_huge[] = {0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 't', 0x80, 0x80, 0x04, 0x00, 0x00};
    static const uint8_t replicas_huge[] = {0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 't', 0x02, 0x00, 0x00,
                                            0x00, 0x05, 0x90, 0x4e, 0x00, 0x00, 0x00};
    static const uint8_t replicas_null[] = {0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 't', 0x02, 0x00, 0x00,
                                            0x00, 0x05, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t topics_null[] = {0, 0, 0, 0, 0, 0, 0, 0x00, 0x00};
    ck_assert_int_ne(alter_verdict(topics_huge, sizeof(topics_huge), 0), 0);
    ck_assert_int_ne(list_verdict(topics_huge, sizeof(topics_huge), 0), 0);
    ck_assert_int_eq(alter_verdict(partitions_huge, sizeof(partitions_huge), 0), KP_BUF_SHORT);
    ck_assert_int_eq(list_verdict(partitions_huge, sizeof(partitions_huge), 0), KP_BUF_SHORT);
    ck_assert_int_eq(list_verdict(replicas_huge, sizeof(replicas_huge), 0), KP_BUF_SHORT);
    ck_assert_int_eq(list_verdict(replicas_null, sizeof(replicas_null), 0), KP_BUF_INVALID);
    ck_assert_int_eq(alter_verdict(topics_null, sizeof(topics_null), 0), KP_BUF_INVALID);
    ck_assert_int_eq(list_verdict(topics_null, sizeof(topics_null), 0), KP_BUF_INVALID);
}
END_TEST

Suite *client_reassign_codec_suite(void) {
    Suite *s = suite_create("client_reassign_codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alter_requests_are_kafkajs_bytes_and_the_broker_reads_a_cancellation);
    tcase_add_test(tc, list_requests_are_kafkajs_bytes);
    tcase_add_test(tc, alter_response_decodes_per_partition_outcomes);
    tcase_add_test(tc, list_response_decodes_replicas_adding_and_removing);
    tcase_add_test(tc, what_the_broker_encodes_the_client_decodes);
    tcase_add_test(tc, hostile_counts_are_refused_without_allocating);
    suite_add_tcase(s, tc);
    return s;
}
