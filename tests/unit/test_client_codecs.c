/*
 * test_client_codecs.c - the client side of the proto/ codecs that the
 * admin tool's Kafka client (client/) speaks: request header encoding and
 * response header decoding (kp_header.c), FindCoordinator, Metadata and
 * ListOffsets request encoding and response decoding, and the names of the
 * wire error codes.
 *
 * Each side is held to the other: what the client encodes, the broker's
 * decoder reads back field for field, and what the broker's encoder writes,
 * the client's decoder reads back and re-encodes to the same bytes, for
 * every handled version.  A few requests are also checked byte for byte
 * against fixtures written from the spec tables (the FindCoordinator one is
 * librdkafka's captured body).  Then the hostile answers: every truncation,
 * trailing bytes, null where the schema has none, negative counts, and
 * counts larger than the bytes left, refused before anything is allocated.
 */
#include <string.h>

#include "proto/kp_findcoordinator.h"
#include "proto/kp_header.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* --------------------------------------------------------------- helpers */

/* ---------------------------------------------------------------- headers */

START_TEST(request_header_encode_is_what_the_broker_decodes) {
    kp_request_header_t h = {KP_API_METADATA, 5, 77, {13, "kbroker-admin"}};

    for (int hv = 0; hv <= 2; hv++) {
        kp_writer_t w;
        kp_reader_t r;
        kp_request_header_t got;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_request_header_encode(&w, hv, &h), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_request_header_decode_ids(&r, &got), 0);
        ck_assert_int_eq(kp_request_header_decode_rest(&r, hv, &got), 0);
        ck_assert_int_eq(kp_reader_expect_end(&r), 0);
        ck_assert_int_eq(got.request_api_key, KP_API_METADATA);
        ck_assert_int_eq(got.request_api_version, 5);
        ck_assert_int_eq(got.correlation_id, 77);
        if (hv >= 1) ck_assert(kp_str_eq(got.client_id, "kbroker-admin"));
        else ck_assert_int_eq(got.client_id.len, KP_NULL_LEN);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(request_header_v1_bytes_follow_the_spec_and_v3_is_refused) {
    /* Key 16, v2, correlation 2, client_id "rdkafka" (wire-protocol.md 1.3). */
    static const uint8_t want[] = {0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,
                                   0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a'};
    kp_request_header_t h = {KP_API_LIST_GROUPS, 2, 2, {7, "rdkafka"}};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_request_header_encode(&w, 1, &h), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_reset(&w);
    h.client_id = KP_STR_NULL;
    ck_assert_int_eq(kp_request_header_encode(&w, 1, &h), 0);
    ck_assert_uint_eq(w.len, 10);
    ck_assert_int_eq(w.buf[8], 0xff);
    ck_assert_int_eq(w.buf[9], 0xff);
    ck_assert_int_eq(kp_request_header_encode(&w, 3, &h), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_header_decode_reads_v0_and_skips_v1_tags) {
    static const uint8_t v0[] = {0x00, 0x00, 0x01, 0x02};
    static const uint8_t v1[] = {0x00, 0x00, 0x01, 0x02, 0x01, 0x05, 0x01, 0xaa};
    kp_reader_t r;
    int32_t corr;

    kp_reader_init(&r, v0, sizeof(v0));
    ck_assert_int_eq(kp_response_header_decode(&r, 0, &corr), 0);
    ck_assert_int_eq(corr, 0x102);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
    kp_reader_init(&r, v1, sizeof(v1));
    ck_assert_int_eq(kp_response_header_decode(&r, 1, &corr), 0);
    ck_assert_int_eq(corr, 0x102);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
    kp_reader_init(&r, v0, 3);
    ck_assert_int_eq(kp_response_header_decode(&r, 0, &corr), KP_BUF_SHORT);
    kp_reader_init(&r, v1, 5);
    ck_assert_int_ne(kp_response_header_decode(&r, 1, &corr), 0);
    kp_reader_init(&r, v0, sizeof(v0));
    ck_assert_int_eq(kp_response_header_decode(&r, 2, &corr), KP_BUF_INVALID);
}
END_TEST

/* -------------------------------------------------------- FindCoordinator */

START_TEST(findcoordinator_request_encode_is_what_the_broker_decodes) {
    /* librdkafka's v2 body for "my-group" (test_listoffsets.c's capture). */
    static const uint8_t librdkafka_v2_body[] = {0x00, 0x08, 'm', 'y', '-', 'g', 'r', 'o', 'u', 'p', 0x00};
    kp_findcoordinator_request_t in = {{8, "my-group"}, KP_COORDINATOR_GROUP};

    for (int16_t v = 0; v <= KP_FINDCOORDINATOR_VERSION_MAX; v++) {
        kp_writer_t w;
        kp_reader_t r;
        kp_findcoordinator_request_t got;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_findcoordinator_request_encode(&w, v, &in), 0);
        if (v == 2) protofix_bytes(&w, librdkafka_v2_body, sizeof(librdkafka_v2_body));
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_findcoordinator_request_decode(&r, v, &got), 0);
        ck_assert(kp_str_eq(got.key, "my-group"));
        ck_assert_int_eq(got.key_type, KP_COORDINATOR_GROUP);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(findcoordinator_request_refuses_what_a_version_cannot_say) {
    kp_findcoordinator_request_t txn = {{2, "tx"}, KP_COORDINATOR_TRANSACTION};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_findcoordinator_request_encode(&w, 0, &txn), KP_BUF_INVALID);
    ck_assert_int_eq(kp_findcoordinator_request_encode(&w, 3, &txn), KP_BUF_INVALID);
    ck_assert_int_eq(kp_findcoordinator_request_encode(&w, 1, &txn), 0);
    kp_writer_free(&w);
}
END_TEST

static int findcoordinator_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_findcoordinator_response_t resp;

    kp_reader_init(&r, b, n);
    return kp_findcoordinator_response_decode(&r, v, &resp);
}

START_TEST(findcoordinator_response_decode_reads_what_the_broker_encodes) {
    kp_findcoordinator_response_t found = {25, KP_ERR_NONE, {4, "NONE"}, 2, {9, "127.0.0.1"}, 9093};

    for (int16_t v = 0; v <= KP_FINDCOORDINATOR_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_findcoordinator_response_t got;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_findcoordinator_response_encode(&w, v, &found), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_findcoordinator_response_decode(&r, v, &got), 0);
        ck_assert_int_eq(got.throttle_time_ms, v >= 1 ? 25 : 0);
        ck_assert_int_eq(got.error_code, KP_ERR_NONE);
        if (v >= 1) ck_assert(kp_str_eq(got.error_message, "NONE"));
        else ck_assert_int_eq(got.error_message.len, KP_NULL_LEN);
        ck_assert_int_eq(got.node_id, 2);
        ck_assert(kp_str_eq(got.host, "127.0.0.1"));
        ck_assert_int_eq(got.port, 9093);
        ck_assert_int_eq(kp_findcoordinator_response_encode(&again, v, &got), 0);
        protofix_bytes(&again, w.buf, w.len);
        protofix_truncations_fail(findcoordinator_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(findcoordinator_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(findcoordinator_not_available_and_bad_answers) {
    /* The v0 COORDINATOR_NOT_AVAILABLE answer of group-protocol.md 2.1. */
    static const uint8_t not_available_v0[] = {0x00, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t null_host_v0[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x23, 0x84};
    kp_reader_t r;
    kp_findcoordinator_response_t got;

    kp_reader_init(&r, not_available_v0, sizeof(not_available_v0));
    ck_assert_int_eq(kp_findcoordinator_response_decode(&r, 0, &got), 0);
    ck_assert_int_eq(got.error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(got.node_id, -1);
    ck_assert_int_eq(got.port, -1);
    ck_assert_int_eq(got.host.len, 0);
    ck_assert_int_eq(findcoordinator_response_verdict(null_host_v0, sizeof(null_host_v0), 0), KP_BUF_INVALID);
    ck_assert_int_eq(findcoordinator_response_verdict(not_available_v0, sizeof(not_available_v0), 3),
                     KP_BUF_INVALID);
}
END_TEST

/* --------------------------------------------------------------- Metadata */

START_TEST(metadata_request_encode_is_what_the_broker_decodes) {
    kp_metadata_request_topic_t names[] = {{{6, "orders"}}, {{0, ""}}};
    kp_metadata_request_t asks[] = {{2, names, true}, {0, NULL, true}, {-1, NULL, true}, {2, names, false}};

    for (int16_t v = 0; v <= KP_METADATA_VERSION_MAX; v++)
        for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
            const kp_metadata_request_t *in = &asks[i];
            bool sayable = !(v == 0 && in->n_topics < 0) && (v >= 4 || in->allow_auto_topic_creation);
            kp_writer_t w;
            kp_reader_t r;
            kp_metadata_request_t got;

            kp_writer_init(&w);
            if (!sayable) {
                ck_assert_int_eq(kp_metadata_request_encode(&w, v, in), KP_BUF_INVALID);
                kp_writer_free(&w);
                continue;
            }
            ck_assert_int_eq(kp_metadata_request_encode(&w, v, in), 0);
            kp_reader_init(&r, w.buf, w.len);
            ck_assert_int_eq(kp_metadata_request_decode(&r, v, &got), 0);
            ck_assert_int_eq(got.n_topics, in->n_topics);
            for (int32_t t = 0; t < in->n_topics; t++) ck_assert(kp_str_eq(got.topics[t].name, names[t].name.ptr));
            ck_assert(got.allow_auto_topic_creation == in->allow_auto_topic_creation);
            kp_metadata_request_clear(&got);
            kp_writer_free(&w);
        }
}
END_TEST

START_TEST(metadata_v5_request_for_no_topic_without_creation_is_exact) {
    /* What client/ sends to learn the brokers: an empty array, false. */
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x00};
    kp_metadata_request_t none = {0, NULL, false};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_request_encode(&w, 5, &none), 0);
    protofix_bytes(&w, want, sizeof(want));
    ck_assert_int_eq(kp_metadata_request_encode(&w, 7, &none), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

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

static int metadata_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_metadata_response_t resp;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_metadata_response_decode(&r, v, &resp);
    kp_metadata_response_clear(&resp);
    return rc;
}

static void assert_ids(const int32_t *got, int32_t n_got, const int32_t *want, int32_t n_want) {
    ck_assert_int_eq(n_got, n_want);
    for (int32_t i = 0; i < n_want; i++) ck_assert_int_eq(got[i], want[i]);
}

static void assert_metadata_like_sample(const kp_metadata_response_t *got, int16_t v) {
    ck_assert_int_eq(got->n_brokers, 2);
    ck_assert(kp_str_eq(got->brokers[1].host, "h2"));
    ck_assert_int_eq(got->brokers[1].port, 9093);
    ck_assert_int_eq(got->brokers[1].rack.len, KP_NULL_LEN);
    if (v >= 1) ck_assert(kp_str_eq(got->brokers[0].rack, "rack-a"));
    if (v >= 2) ck_assert(kp_str_eq(got->cluster_id, "AbCdEfGhIjKlMnOpQrStUv"));
    else ck_assert_int_eq(got->cluster_id.len, KP_NULL_LEN);
    ck_assert_int_eq(got->controller_id, v >= 1 ? 1 : -1);
    ck_assert_int_eq(got->n_topics, 3);
    ck_assert(kp_str_eq(got->topics[0].name, "orders"));
    ck_assert_int_eq(got->topics[1].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert(got->topics[2].is_internal == (v >= 1));
    ck_assert_int_eq(got->topics[0].n_partitions, 2);
    const kp_metadata_response_partition_t *p = got->topics[0].partitions;
    ck_assert_int_eq(p[0].leader_id, 1);
    assert_ids(p[0].replica_nodes, p[0].n_replica_nodes, p0_replicas, 3);
    assert_ids(p[0].isr_nodes, p[0].n_isr_nodes, p0_isr, 2);
    assert_ids(p[0].offline_replicas, p[0].n_offline_replicas, p0_offline, v >= 5 ? 1 : 0);
    ck_assert_int_eq(p[1].error_code, KP_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(p[1].leader_id, -1);
    ck_assert_int_eq(p[1].n_isr_nodes, 0);
}

START_TEST(metadata_response_decode_reads_what_the_broker_encodes) {
    for (int16_t v = 0; v <= KP_METADATA_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_metadata_response_t got;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_metadata_response_encode(&w, v, &sample), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_metadata_response_decode(&r, v, &got), 0);
        assert_metadata_like_sample(&got, v);
        /* v0 has no rack or cluster id: re-encoding writes what v0 holds. */
        ck_assert_int_eq(kp_metadata_response_encode(&again, v, &got), 0);
        protofix_bytes(&again, w.buf, w.len);
        kp_metadata_response_clear(&got);
        ck_assert_int_eq(got.n_topics, 0);
        protofix_truncations_fail(metadata_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(metadata_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(metadata_response_hostile_counts_allocate_nothing) {
    /* v0: brokers 0x7fffffff with 2 bytes left. */
    static const uint8_t many_brokers[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    /* v0: no broker, one topic "t" with one partition (index 0, leader 1)
     * claiming 1000 replicas, then only an empty ISR. */
    static const uint8_t many_replicas[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                            0x00, 0x01, 't',  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03,
                                            0xe8, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t negative_topics[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe};
    /* v0: one broker whose host is null. */
    static const uint8_t null_host[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff,
                                        0x00, 0x00, 0x23, 0x84, 0x00, 0x00, 0x00, 0x00};
    kp_reader_t r;
    kp_metadata_response_t got;

    kp_reader_init(&r, many_brokers, sizeof(many_brokers));
    ck_assert_int_eq(kp_metadata_response_decode(&r, 0, &got), KP_BUF_SHORT);
    ck_assert_ptr_null(got.brokers);
    kp_metadata_response_clear(&got);
    kp_reader_init(&r, many_replicas, sizeof(many_replicas));
    ck_assert_int_eq(kp_metadata_response_decode(&r, 0, &got), KP_BUF_SHORT);
    ck_assert_ptr_null(got.topics[0].partitions[0].replica_nodes);
    kp_metadata_response_clear(&got);
    ck_assert_int_eq(metadata_response_verdict(negative_topics, sizeof(negative_topics), 0), KP_BUF_INVALID);
    ck_assert_int_eq(metadata_response_verdict(null_host, sizeof(null_host), 0), KP_BUF_INVALID);
    ck_assert_int_eq(metadata_response_verdict(null_host, sizeof(null_host), 7), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------------------- ListOffsets */

START_TEST(listoffsets_request_encode_is_what_the_broker_decodes) {
    kp_listoffsets_request_partition_t parts[] = {{0, -1, KP_LISTOFFSETS_LATEST, 1}, {2, -1, 1700000000000LL, 1}};
    kp_listoffsets_request_topic_t topics[] = {{{6, "orders"}, 2, parts}, {{1, "t"}, 0, NULL}};

    for (int16_t v = 0; v <= KP_LISTOFFSETS_VERSION_MAX; v++) {
        kp_listoffsets_request_t in = {-1, (int8_t)(v >= 2 ? 1 : 0), 2, topics};
        kp_writer_t w;
        kp_reader_t r;
        kp_listoffsets_request_t got;

        kp_writer_init(&w);
        ck_assert_int_eq(kp_listoffsets_request_encode(&w, v, &in), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_listoffsets_request_decode(&r, v, &got), 0);
        ck_assert_int_eq(got.replica_id, -1);
        ck_assert_int_eq(got.isolation_level, in.isolation_level);
        ck_assert_int_eq(got.n_topics, 2);
        ck_assert(kp_str_eq(got.topics[0].name, "orders"));
        ck_assert_int_eq(got.topics[0].n_partitions, 2);
        ck_assert_int_eq(got.topics[0].partitions[1].partition_index, 2);
        ck_assert(got.topics[0].partitions[1].timestamp == 1700000000000LL);
        ck_assert_int_eq(got.topics[0].partitions[0].max_num_offsets, 1);
        ck_assert_int_eq(got.topics[1].n_partitions, 0);
        kp_listoffsets_request_clear(&got);
        kp_writer_free(&w);
    }
}
END_TEST

START_TEST(listoffsets_v1_request_is_exact_and_cannot_ask_read_committed) {
    /* replica -1, one topic "t", partition 0 at LATEST (wire-protocol.md 4.5). */
    static const uint8_t want[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    kp_listoffsets_request_partition_t p = {0, -1, KP_LISTOFFSETS_LATEST, 1};
    kp_listoffsets_request_topic_t t = {{1, "t"}, 1, &p};
    kp_listoffsets_request_t in = {-1, 0, 1, &t};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_listoffsets_request_encode(&w, 1, &in), 0);
    protofix_bytes(&w, want, sizeof(want));
    in.isolation_level = 1;
    ck_assert_int_eq(kp_listoffsets_request_encode(&w, 1, &in), KP_BUF_INVALID);
    ck_assert_int_eq(kp_listoffsets_request_encode(&w, 4, &in), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

static const int64_t old_style[] = {42, 0};
static const kp_listoffsets_response_partition_t lo_parts[] = {
    {0, KP_ERR_NONE, 2, old_style, -1, 42},
    {1, KP_ERR_NOT_LEADER_OR_FOLLOWER, 0, NULL, -1, -1},
    {2, KP_ERR_NONE, 0, NULL, 1700000000000LL, 7},
};
static const kp_listoffsets_response_topic_t lo_topic = {{6, "orders"}, 3, lo_parts};
static const kp_listoffsets_response_t lo_sample = {0, 1, &lo_topic};

static int listoffsets_response_verdict(const uint8_t *b, size_t n, int16_t v) {
    kp_reader_t r;
    kp_listoffsets_response_t resp;
    int rc;

    kp_reader_init(&r, b, n);
    rc = kp_listoffsets_response_decode(&r, v, &resp);
    kp_listoffsets_response_clear(&resp);
    return rc;
}

START_TEST(listoffsets_response_decode_reads_what_the_broker_encodes) {
    for (int16_t v = 0; v <= KP_LISTOFFSETS_VERSION_MAX; v++) {
        kp_writer_t w, again;
        kp_reader_t r;
        kp_listoffsets_response_t got;

        kp_writer_init(&w);
        kp_writer_init(&again);
        ck_assert_int_eq(kp_listoffsets_response_encode(&w, v, &lo_sample), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_listoffsets_response_decode(&r, v, &got), 0);
        ck_assert_int_eq(got.n_topics, 1);
        ck_assert(kp_str_eq(got.topics[0].name, "orders"));
        ck_assert_int_eq(got.topics[0].n_partitions, 3);
        const kp_listoffsets_response_partition_t *p = got.topics[0].partitions;
        ck_assert_int_eq(p[1].error_code, KP_ERR_NOT_LEADER_OR_FOLLOWER);
        if (v == 0) {
            ck_assert_int_eq(p[0].n_old_style_offsets, 2);
            ck_assert(p[0].old_style_offsets[0] == 42);
            ck_assert(p[0].offset == -1);
        } else {
            ck_assert_int_eq(p[0].n_old_style_offsets, 0);
            ck_assert(p[0].offset == 42);
            ck_assert(p[2].timestamp == 1700000000000LL);
        }
        ck_assert_int_eq(kp_listoffsets_response_encode(&again, v, &got), 0);
        protofix_bytes(&again, w.buf, w.len);
        kp_listoffsets_response_clear(&got);
        protofix_truncations_fail(listoffsets_response_verdict, w.buf, w.len, v);
        protofix_trailing_fails(listoffsets_response_verdict, w.buf, w.len, v);
        kp_writer_free(&w);
        kp_writer_free(&again);
    }
}
END_TEST

START_TEST(listoffsets_response_hostile_counts_allocate_nothing) {
    /* v1: one topic "t" claiming 1000 partitions with 4 bytes left. */
    static const uint8_t many_parts[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x03, 0xe8,
                                         0x00, 0x00, 0x00, 0x00};
    /* v0: one partition claiming 100 old-style offsets. */
    static const uint8_t many_offsets[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
                                           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64};
    static const uint8_t negative[] = {0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
    kp_reader_t r;
    kp_listoffsets_response_t got;

    kp_reader_init(&r, many_parts, sizeof(many_parts));
    ck_assert_int_eq(kp_listoffsets_response_decode(&r, 1, &got), KP_BUF_SHORT);
    ck_assert_ptr_null(got.topics[0].partitions);
    kp_listoffsets_response_clear(&got);
    kp_reader_init(&r, many_offsets, sizeof(many_offsets));
    ck_assert_int_eq(kp_listoffsets_response_decode(&r, 0, &got), KP_BUF_SHORT);
    ck_assert_ptr_null(got.topics[0].partitions[0].old_style_offsets);
    kp_listoffsets_response_clear(&got);
    ck_assert_int_eq(listoffsets_response_verdict(negative, sizeof(negative), 2), KP_BUF_INVALID);
    ck_assert_int_eq(listoffsets_response_verdict(negative, sizeof(negative), 4), KP_BUF_INVALID);
}
END_TEST

/* ------------------------------------------------------------ error names */

START_TEST(every_error_code_has_its_kafka_name) {
    ck_assert_str_eq(kp_error_name(KP_ERR_COORDINATOR_NOT_AVAILABLE), "COORDINATOR_NOT_AVAILABLE");
    ck_assert_str_eq(kp_error_name(KP_ERR_NONE), "NONE");
    ck_assert_str_eq(kp_error_name(KP_ERR_UNKNOWN_SERVER_ERROR), "UNKNOWN_SERVER_ERROR");
    ck_assert_str_eq(kp_error_name(KP_ERR_GROUP_ID_NOT_FOUND), "GROUP_ID_NOT_FOUND");
    for (int16_t code = 0; code <= KP_ERR_TRANSACTION_ABORTABLE; code++) ck_assert_ptr_nonnull(kp_error_name(code));
    ck_assert_ptr_null(kp_error_name(KP_ERR_TRANSACTION_ABORTABLE + 1));
    ck_assert_ptr_null(kp_error_name(-2));
}
END_TEST

Suite *client_codecs_suite(void) {
    Suite *s = suite_create("client_codecs");
    TCase *hdr = tcase_create("headers");
    TCase *fc = tcase_create("findcoordinator");
    TCase *md = tcase_create("metadata");
    TCase *lo = tcase_create("listoffsets");
    TCase *names = tcase_create("error_names");

    tcase_add_test(hdr, request_header_encode_is_what_the_broker_decodes);
    tcase_add_test(hdr, request_header_v1_bytes_follow_the_spec_and_v3_is_refused);
    tcase_add_test(hdr, response_header_decode_reads_v0_and_skips_v1_tags);
    tcase_add_test(fc, findcoordinator_request_encode_is_what_the_broker_decodes);
    tcase_add_test(fc, findcoordinator_request_refuses_what_a_version_cannot_say);
    tcase_add_test(fc, findcoordinator_response_decode_reads_what_the_broker_encodes);
    tcase_add_test(fc, findcoordinator_not_available_and_bad_answers);
    tcase_add_test(md, metadata_request_encode_is_what_the_broker_decodes);
    tcase_add_test(md, metadata_v5_request_for_no_topic_without_creation_is_exact);
    tcase_add_test(md, metadata_response_decode_reads_what_the_broker_encodes);
    tcase_add_test(md, metadata_response_hostile_counts_allocate_nothing);
    tcase_add_test(lo, listoffsets_request_encode_is_what_the_broker_decodes);
    tcase_add_test(lo, listoffsets_v1_request_is_exact_and_cannot_ask_read_committed);
    tcase_add_test(lo, listoffsets_response_decode_reads_what_the_broker_encodes);
    tcase_add_test(lo, listoffsets_response_hostile_counts_allocate_nothing);
    tcase_add_test(names, every_error_code_has_its_kafka_name);
    suite_add_tcase(s, hdr);
    suite_add_tcase(s, fc);
    suite_add_tcase(s, md);
    suite_add_tcase(s, lo);
    suite_add_tcase(s, names);
    return s;
}
