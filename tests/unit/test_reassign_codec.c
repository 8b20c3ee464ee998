/*
 * test_reassign_codec.c - AlterPartitionReassignments (45) and
 * ListPartitionReassignments (46) v0 (proto/kp_reassign.c).
 *
 * Fixtures are what KafkaJS 2.2.4 (the client of the integration suite
 * that has both APIs) encodes: Alter moving "orders" 0 to [2,3] and 1 to
 * [3,2], List of "orders" 0 and 1, and List of everything (a null topic
 * array), each in a whole frame (request header v2, client "kafkajs").  A
 * cancellation (null replicas), which KafkaJS cannot send, is laid out by
 * hand from Kafka's schema.  Bad bodies: every truncation, trailing bytes,
 * negative and oversized counts, an unknown version.  Responses are
 * checked byte for byte.
 */
#include <string.h>

#include "proto/kp_reassign.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

#define KAFKAJS_HEADER(key, size) \
    0x00, 0x00, 0x00, (size), 0x00, (key), 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x07, \
        'k', 'a', 'f', 'k', 'a', 'j', 's', 0x00

/* The bodies, after the request header and its tag section. */
#define ALTER_BODY                                                                                  \
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */                           \
        0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's',   /* topics: 1, "orders" */                       \
        0x03,                                       /* partitions: 2 */                             \
        0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, /* 0: [2,3] */ \
        0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, /* 1: [3,2] */ \
        0x00,                                       /* topic tags */                                \
        0x00                                        /* body tags */
#define LIST_BODY                                                                                   \
    0x00, 0x00, 0x13, 0x88, 0x02, 0x07, 'o', 'r', 'd', 'e', 'r', 's', 0x03, 0x00, 0x00, 0x00, 0x00,  \
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00

static const uint8_t kafkajs_alter_frame[] = {KAFKAJS_HEADER(45, 61), ALTER_BODY};
static const uint8_t kafkajs_list_frame[] = {KAFKAJS_HEADER(46, 41), LIST_BODY};
static const uint8_t kafkajs_list_all_frame[] = {KAFKAJS_HEADER(46, 24), 0x00, 0x00, 0x13, 0x88, 0x00, 0x00};
static const uint8_t alter_body[] = {ALTER_BODY};
static const uint8_t list_body[] = {LIST_BODY};

/* Cancelling "t" 4: replicas null (compact length 0). */
static const uint8_t cancel_body[] = {0x00, 0x00, 0x75, 0x30, 0x02, 0x02, 't', 0x02, 0x00, 0x00, 0x00, 0x04,
                                      0x00, 0x00, 0x00, 0x00};

static int alter_verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_reader_t r;
    kp_alterreassign_request_t req;
    kp_reader_init(&r, body, len);
    int rc = kp_alterreassign_request_decode(&r, version, &req);
    kp_alterreassign_request_clear(&req);
    return rc;
}

static int list_verdict(const uint8_t *body, size_t len, int16_t version) {
    kp_reader_t r;
    kp_listreassign_request_t req;
    kp_reader_init(&r, body, len);
    int rc = kp_listreassign_request_decode(&r, version, &req);
    kp_listreassign_request_clear(&req);
    return rc;
}

START_TEST(kafkajs_alter_frame_decodes) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_alterreassign_request_t req;
    protofix_open_frame(&r, kafkajs_alter_frame, sizeof(kafkajs_alter_frame), KP_API_ALTER_PARTITION_REASSIGNMENTS,
                        2, &h);
    ck_assert(kp_str_eq(h.client_id, "kafkajs"));
    ck_assert_int_eq(kp_alterreassign_request_decode(&r, h.request_api_version, &req), 0);
    ck_assert_int_eq(req.timeout_ms, 5000);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "orders"));
    ck_assert_int_eq(req.topics[0].n_partitions, 2);
    const kp_alterreassign_request_partition_t *p = req.topics[0].partitions;
    ck_assert_int_eq(p[0].partition_index, 0);
    ck_assert_int_eq(p[0].n_replicas, 2);
    ck_assert_int_eq(p[0].replicas[0], 2);
    ck_assert_int_eq(p[0].replicas[1], 3);
    ck_assert_int_eq(p[1].partition_index, 1);
    ck_assert_int_eq(p[1].replicas[0], 3);
    kp_alterreassign_request_clear(&req);
}
END_TEST

START_TEST(null_replicas_cancel) {
    kp_reader_t r;
    kp_alterreassign_request_t req;
    kp_reader_init(&r, cancel_body, sizeof(cancel_body));
    ck_assert_int_eq(kp_alterreassign_request_decode(&r, 0, &req), 0);
    ck_assert_int_eq(req.timeout_ms, 30000);
    ck_assert_int_eq(req.topics[0].partitions[0].partition_index, 4);
    ck_assert_int_eq(req.topics[0].partitions[0].n_replicas, -1);
    ck_assert_ptr_null(req.topics[0].partitions[0].replicas);
    kp_alterreassign_request_clear(&req);
}
END_TEST

START_TEST(kafkajs_list_frames_decode) {
    kp_reader_t r;
    kp_request_header_t h;
    kp_listreassign_request_t req;
    protofix_open_frame(&r, kafkajs_list_frame, sizeof(kafkajs_list_frame), KP_API_LIST_PARTITION_REASSIGNMENTS, 2,
                        &h);
    ck_assert_int_eq(kp_listreassign_request_decode(&r, h.request_api_version, &req), 0);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "orders"));
    ck_assert_int_eq(req.topics[0].n_partition_indexes, 2);
    ck_assert_int_eq(req.topics[0].partition_indexes[1], 1);
    kp_listreassign_request_clear(&req);
    protofix_open_frame(&r, kafkajs_list_all_frame, sizeof(kafkajs_list_all_frame),
                        KP_API_LIST_PARTITION_REASSIGNMENTS, 2, &h);
    ck_assert_int_eq(kp_listreassign_request_decode(&r, 0, &req), 0);
    ck_assert_int_eq(req.n_topics, -1);
    ck_assert_ptr_null(req.topics);
    kp_listreassign_request_clear(&req);
}
END_TEST

START_TEST(truncations_and_trailing_bytes_are_refused) {
    protofix_truncations_fail(alter_verdict, alter_body, sizeof(alter_body), 0);
    protofix_trailing_fails(alter_verdict, alter_body, sizeof(alter_body), 0);
    protofix_truncations_fail(alter_verdict, cancel_body, sizeof(cancel_body), 0);
    protofix_truncations_fail(list_verdict, list_body, sizeof(list_body), 0);
    protofix_trailing_fails(list_verdict, list_body, sizeof(list_body), 0);
}
END_TEST

/* Counts are compact (length + 1): 0xff 0xff 0xff 0xff 0x0f is 2^32 - 1,
 * more elements than the bytes left could hold; 0 is null where null is
 * not allowed. */
START_TEST(oversized_and_null_counts_are_refused_without_allocating) {
    static const uint8_t topics_huge[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    static const uint8_t partitions_huge[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x80, 0x80, 0x04, 0x00, 0x00};
    static const uint8_t replicas_huge[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x02, 0x00, 0x00,
                                            0x00, 0x00, 0x90, 0x4e, 0x00, 0x00, 0x00};
    static const uint8_t topics_null[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t indexes_huge[] = {0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0xe9, 0x07, 0x00, 0x00};
    ck_assert_int_ne(alter_verdict(topics_huge, sizeof(topics_huge), 0), 0);
    ck_assert_int_eq(alter_verdict(partitions_huge, sizeof(partitions_huge), 0), KP_BUF_SHORT);
    ck_assert_int_eq(alter_verdict(replicas_huge, sizeof(replicas_huge), 0), KP_BUF_SHORT);
    ck_assert_int_eq(alter_verdict(topics_null, sizeof(topics_null), 0), KP_BUF_INVALID);
    ck_assert_int_eq(list_verdict(indexes_huge, sizeof(indexes_huge), 0), KP_BUF_SHORT);
}
END_TEST

START_TEST(unknown_versions_are_refused) {
    ck_assert_int_eq(alter_verdict(alter_body, sizeof(alter_body), 1), KP_BUF_INVALID);
    ck_assert_int_eq(list_verdict(list_body, sizeof(list_body), -1), KP_BUF_INVALID);
    kp_writer_t w;
    kp_writer_init(&w);
    kp_alterreassign_response_t a = {0};
    kp_listreassign_response_t l = {0};
    ck_assert_int_eq(kp_alterreassign_response_encode(&w, 1, &a), KP_BUF_INVALID);
    ck_assert_int_eq(kp_listreassign_response_encode(&w, 1, &l), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(alter_response_bytes_are_exact) {
    static const kp_alterreassign_response_partition_t parts[] = {
        {0, 0, {KP_NULL_LEN, NULL}},
        {9, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, {2, "no"}},
    };
    static const kp_alterreassign_response_topic_t topic = {{1, "t"}, 2, parts};
    static const kp_alterreassign_response_t resp = {0, 0, {KP_NULL_LEN, NULL}, 1, &topic};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     /* throttle, error 0, message null */
        0x02, 0x02, 't', 0x03,                        /* responses: 1, "t", partitions: 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0: error 0, null, tags */
        0x00, 0x00, 0x00, 0x09, 0x00, 0x03, 0x03, 'n', 'o', 0x00, /* 9: error 3, "no", tags */
        0x00, 0x00,                                   /* topic tags, body tags */
    };
    kp_writer_t w;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_alterreassign_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(list_response_bytes_are_exact) {
    static const int32_t replicas[] = {2, 3, 1}, adding[] = {3}, removing[] = {1};
    static const kp_listreassign_response_partition_t part = {5, 3, replicas, 1, adding, 1, removing};
    static const kp_listreassign_response_topic_t topic = {{1, "t"}, 1, &part};
    static const kp_listreassign_response_t resp = {0, KP_ERR_NOT_CONTROLLER, {2, "nc"}, 1, &topic};
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x03, 'n', 'c', /* throttle, error 41, "nc" */
        0x02, 0x02, 't', 0x02, 0x00, 0x00, 0x00, 0x05,     /* topics: 1, "t", partitions: 1, index 5 */
        0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, /* replicas */
        0x02, 0x00, 0x00, 0x00, 0x03,                   /* adding */
        0x02, 0x00, 0x00, 0x00, 0x01,                   /* removing */
        0x00, 0x00, 0x00,                               /* partition, topic, body tags */
    };
    kp_writer_t w;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_listreassign_response_encode(&w, 0, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

Suite *reassign_codec_suite(void) {
    Suite *s = suite_create("reassign_codec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, kafkajs_alter_frame_decodes);
    tcase_add_test(tc, null_replicas_cancel);
    tcase_add_test(tc, kafkajs_list_frames_decode);
    tcase_add_test(tc, truncations_and_trailing_bytes_are_refused);
    tcase_add_test(tc, oversized_and_null_counts_are_refused_without_allocating);
    tcase_add_test(tc, unknown_versions_are_refused);
    tcase_add_test(tc, alter_response_bytes_are_exact);
    tcase_add_test(tc, list_response_bytes_are_exact);
    suite_add_tcase(s, tc);
    return s;
}
