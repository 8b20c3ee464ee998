/*
 * test_json.c - the znode JSON codecs (coord/kc_json.c) against the literal
 * examples of zk-and-replication.md section 1.
 *
 * Encoders are checked byte for byte, because Kafka tools read what we write;
 * decoders are checked on every example version Kafka has written and on
 * malformed input, which must fail cleanly (-1, output cleared), never crash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_json.h"
#include "tests/unit/unit.h"

/* Decoding helpers that take a NUL-terminated literal. */
static int broker_from(const char *json, kc_broker_info_t *b) {
    return kc_json_broker_decode(json, strlen(json), 7, b);
}
static int topic_from(const char *json, kc_topic_t *t) {
    return kc_json_topic_decode(json, strlen(json), t);
}
static int state_from(const char *json, kc_partition_state_t *s) {
    return kc_json_state_decode(json, strlen(json), s);
}

static void assert_ids(const int32_t *got, int n_got, const int32_t *want, int n_want) {
    ck_assert_int_eq(n_got, n_want);
    for (int i = 0; i < n_want; i++) ck_assert_int_eq(got[i], want[i]);
}
#define ASSERT_IDS(got, n_got, ...)                                                             \
    do {                                                                                        \
        const int32_t want_[] = {__VA_ARGS__};                                                  \
        assert_ids(got, n_got, want_, (int)(sizeof(want_) / sizeof(want_[0])));                 \
    } while (0)

static void assert_endpoint(const kc_endpoint_t *e, const char *listener, const char *host,
                            int port, const char *protocol) {
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->listener, listener);
    ck_assert_str_eq(e->host, host);
    ck_assert_int_eq(e->port, port);
    ck_assert_str_eq(e->security_protocol, protocol);
}

static void assert_encoded(char *json, const char *want) {
    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json, want);
    free(json);
}

/* ---- /brokers/ids/N: encoding ---- */

static kc_endpoint_t endpoint(const char *listener, const char *host, int port, const char *proto) {
    kc_endpoint_t e = {(char *)listener, (char *)host, port, (char *)proto};
    return e;
}

START_TEST(broker_encode_matches_kafka_v4) {
    kc_endpoint_t eps[] = {endpoint("PLAINTEXT", "kafka1", 9092, "PLAINTEXT"),
                           endpoint("REPL", "10.0.0.1", 9094, "PLAINTEXT")};
    kc_broker_info_t b = {.id = 1, .jmx_port = -1, .timestamp_ms = 1600000000000LL,
                          .rack = "dc1-a", .n_endpoints = 2, .endpoints = eps};
    assert_encoded(kc_json_broker_encode(&b),
                   "{\"version\":4,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":-1,"
                   "\"timestamp\":\"1600000000000\","
                   "\"endpoints\":[\"PLAINTEXT://kafka1:9092\",\"REPL://10.0.0.1:9094\"],"
                   "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\","
                   "\"REPL\":\"PLAINTEXT\"},\"rack\":\"dc1-a\"}");
}
END_TEST

START_TEST(broker_encode_omits_rack_when_unset) {
    kc_endpoint_t eps[] = {endpoint("PLAINTEXT", "h", 9092, "PLAINTEXT")};
    kc_broker_info_t b = {.jmx_port = 9999, .timestamp_ms = 5, .n_endpoints = 1, .endpoints = eps};
    assert_encoded(kc_json_broker_encode(&b),
                   "{\"version\":4,\"host\":\"h\",\"port\":9092,\"jmx_port\":9999,"
                   "\"timestamp\":\"5\",\"endpoints\":[\"PLAINTEXT://h:9092\"],"
                   "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}");
}
END_TEST

START_TEST(broker_encode_without_plaintext_writes_null_host) {
    kc_endpoint_t eps[] = {endpoint("SASL_SSL", "kafka1", 9093, "SASL_SSL")};
    kc_broker_info_t b = {.jmx_port = -1, .timestamp_ms = 1700000000000LL, .n_endpoints = 1,
                          .endpoints = eps};
    assert_encoded(kc_json_broker_encode(&b),
                   "{\"version\":4,\"host\":null,\"port\":-1,\"jmx_port\":-1,"
                   "\"timestamp\":\"1700000000000\",\"endpoints\":[\"SASL_SSL://kafka1:9093\"],"
                   "\"listener_security_protocol_map\":{\"SASL_SSL\":\"SASL_SSL\"}}");
}
END_TEST

START_TEST(broker_encode_takes_host_from_first_plaintext_protocol) {
    kc_endpoint_t eps[] = {endpoint("SECURE", "a", 9093, "SSL"),
                           endpoint("INTERNAL", "b", 9094, "PLAINTEXT"),
                           endpoint("PLAINTEXT", "c", 9092, "PLAINTEXT")};
    kc_broker_info_t b = {.jmx_port = -1, .n_endpoints = 3, .endpoints = eps};
    char *json = kc_json_broker_encode(&b);
    ck_assert_ptr_nonnull(strstr(json, "\"host\":\"b\",\"port\":9094"));
    free(json);
}
END_TEST

START_TEST(broker_encode_brackets_ipv6_hosts) {
    kc_endpoint_t eps[] = {endpoint("PLAINTEXT", "fe80::1", 9092, "PLAINTEXT")};
    kc_broker_info_t b = {.jmx_port = -1, .n_endpoints = 1, .endpoints = eps};
    char *json = kc_json_broker_encode(&b);
    ck_assert_ptr_nonnull(strstr(json, "\"endpoints\":[\"PLAINTEXT://[fe80::1]:9092\"]"));
    ck_assert_ptr_nonnull(strstr(json, "\"host\":\"fe80::1\""));
    free(json);
}
END_TEST

START_TEST(broker_round_trip_keeps_every_field) {
    kc_endpoint_t eps[] = {endpoint("PLAINTEXT", "kafka1", 9092, "PLAINTEXT"),
                           endpoint("SSL", "::1", 9093, "SSL")};
    kc_broker_info_t in = {.jmx_port = 7071, .timestamp_ms = 1234567890123LL, .rack = "r1",
                           .n_endpoints = 2, .endpoints = eps};
    kc_broker_info_t out;
    char *json = kc_json_broker_encode(&in);

    ck_assert_int_eq(kc_json_broker_decode(json, strlen(json), 3, &out), 0);
    ck_assert_int_eq(out.id, 3);
    ck_assert_str_eq(out.host, "kafka1");
    ck_assert_int_eq(out.port, 9092);
    ck_assert_int_eq(out.jmx_port, 7071);
    ck_assert(out.timestamp_ms == 1234567890123LL);
    ck_assert_str_eq(out.rack, "r1");
    ck_assert(kc_broker_same_endpoints(&in, &out));
    kc_broker_info_clear(&out);
    free(json);
}
END_TEST

/* ---- /brokers/ids/N: kbroker's RPC endpoint ---- */

START_TEST(broker_encode_publishes_the_rpc_endpoint_last) {
    kc_endpoint_t eps[] = {endpoint("PLAINTEXT", "h", 9092, "PLAINTEXT")};
    kc_broker_info_t b = {.jmx_port = -1, .timestamp_ms = 5, .n_endpoints = 1, .endpoints = eps,
                          .rpc_host = "10.0.0.1", .rpc_port = 9095};
    char *json = kc_json_broker_encode(&b);
    kc_broker_info_t out;
    ck_assert_int_eq(kc_json_broker_decode(json, strlen(json), 3, &out), 0);
    ck_assert_str_eq(out.rpc_host, "10.0.0.1");
    ck_assert_int_eq(out.rpc_port, 9095);
    kc_broker_info_clear(&out);
    assert_encoded(json, "{\"version\":4,\"host\":\"h\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"5\","
                         "\"endpoints\":[\"PLAINTEXT://h:9092\"],"
                         "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},"
                         "\"kbroker_rpc\":{\"host\":\"10.0.0.1\",\"port\":9095}}");
}
END_TEST

START_TEST(broker_decode_without_rpc_endpoint_says_none) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":4,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":-1,"
                                 "\"timestamp\":\"1\",\"endpoints\":[\"PLAINTEXT://kafka1:9092\"]}",
                                 &b),
                     0);
    ck_assert_ptr_null(b.rpc_host);
    ck_assert_int_eq(b.rpc_port, -1);
    kc_broker_info_clear(&b);
}
END_TEST

/* A broken kbroker_rpc is ignored; the rest of the registration reads. */
START_TEST(broker_decode_ignores_a_malformed_rpc_endpoint) {
    static const char *const bad[] = {
        "5", "null", "[]", "{}", "{\"host\":\"h\"}", "{\"port\":9095}", "{\"host\":1,\"port\":9095}",
        "{\"host\":\"\",\"port\":9095}", "{\"host\":\"h\",\"port\":0}", "{\"host\":\"h\",\"port\":70000}",
        "{\"host\":\"h\",\"port\":\"9095\"}", "{\"host\":\"h\",\"port\":9.5}",
    };
    char json[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        kc_broker_info_t b;
        snprintf(json, sizeof(json),
                 "{\"version\":4,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"1\","
                 "\"endpoints\":[\"PLAINTEXT://kafka1:9092\"],\"kbroker_rpc\":%s}",
                 bad[i]);
        ck_assert_msg(broker_from(json, &b) == 0, "%s", bad[i]);
        ck_assert_ptr_null(b.rpc_host);
        ck_assert_int_eq(b.rpc_port, -1);
        ck_assert_int_eq(b.port, 9092);
        ck_assert_int_eq(b.n_endpoints, 1);
        kc_broker_info_clear(&b);
    }
}
END_TEST

/* ---- /brokers/ids/N: decoding the spec's examples ---- */

START_TEST(broker_decode_v1) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":1,\"host\":\"kafka1.example.com\",\"port\":9092,"
                                 "\"jmx_port\":-1,\"timestamp\":\"1420070400000\"}", &b), 0);
    ck_assert_int_eq(b.id, 7);
    ck_assert_str_eq(b.host, "kafka1.example.com");
    ck_assert_int_eq(b.port, 9092);
    ck_assert(b.timestamp_ms == 1420070400000LL);
    ck_assert_ptr_null(b.rack);
    ck_assert_int_eq(b.n_endpoints, 1);
    assert_endpoint(&b.endpoints[0], "PLAINTEXT", "kafka1.example.com", 9092, "PLAINTEXT");
    kc_broker_info_clear(&b);
}
END_TEST

START_TEST(broker_decode_v2) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":2,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":9999,"
                                 "\"timestamp\":\"1420070400000\",\"endpoints\":"
                                 "[\"PLAINTEXT://kafka1:9092\",\"SSL://kafka1:9093\"]}", &b), 0);
    ck_assert_int_eq(b.jmx_port, 9999);
    ck_assert_int_eq(b.n_endpoints, 2);
    assert_endpoint(&b.endpoints[0], "PLAINTEXT", "kafka1", 9092, "PLAINTEXT");
    assert_endpoint(&b.endpoints[1], "SSL", "kafka1", 9093, "SSL");
    kc_broker_info_clear(&b);
}
END_TEST

START_TEST(broker_decode_v4_with_rack_and_listener_map) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":4,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":-1,"
                                 "\"timestamp\":\"1600000000000\",\"endpoints\":"
                                 "[\"PLAINTEXT://kafka1:9092\",\"REPL://10.0.0.1:9094\"],"
                                 "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\","
                                 "\"REPL\":\"PLAINTEXT\"},\"rack\":\"dc1-a\"}", &b), 0);
    ck_assert_str_eq(b.rack, "dc1-a");
    ck_assert_int_eq(b.n_endpoints, 2);
    assert_endpoint(kc_broker_endpoint(&b, "REPL"), "REPL", "10.0.0.1", 9094, "PLAINTEXT");
    ck_assert_ptr_null(kc_broker_endpoint(&b, "SSL"));
    kc_broker_info_clear(&b);
}
END_TEST

/* A rack of "" is none (broker.rack= means unset, and UpdateMetadata's
 * check compares racks with the RPC's, where "" is unset); one longer than
 * a Kafka string (32767 bytes) fits in no Metadata answer: unreadable. */
START_TEST(broker_decode_rack_empty_is_none_and_over_a_kafka_string_is_refused) {
    const char *head = "{\"version\":4,\"host\":\"k\",\"port\":9092,\"jmx_port\":-1,\"timestamp\":\"1\","
                       "\"endpoints\":[\"PLAINTEXT://k:9092\"],\"rack\":\"";
    size_t room = strlen(head) + 32768 + 3;
    char *json = malloc(room);
    kc_broker_info_t b;
    ck_assert_ptr_nonnull(json);
    snprintf(json, room, "%s\"}", head);
    ck_assert_int_eq(broker_from(json, &b), 0);
    ck_assert_ptr_null(b.rack);
    kc_broker_info_clear(&b);
    for (size_t len = 32767; len <= 32768; len++) {
        int n = snprintf(json, room, "%s", head);
        memset(json + n, 'z', len);
        snprintf(json + n + len, room - (size_t)n - len, "\"}");
        ck_assert_int_eq(broker_from(json, &b), len <= 32767 ? 0 : -1);
        if (len <= 32767) ck_assert_uint_eq(strlen(b.rack), len);
        kc_broker_info_clear(&b);
    }
    free(json);
}
END_TEST

START_TEST(broker_decode_v5_ignores_features) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":5,\"host\":\"kafka1\",\"port\":9092,\"jmx_port\":-1,"
                                 "\"timestamp\":\"1600000000000\",\"endpoints\":"
                                 "[\"PLAINTEXT://kafka1:9092\"],\"listener_security_protocol_map\":"
                                 "{\"PLAINTEXT\":\"PLAINTEXT\"},\"features\":{}}", &b), 0);
    ck_assert_int_eq(b.n_endpoints, 1);
    ck_assert_ptr_null(b.rack);
    kc_broker_info_clear(&b);
}
END_TEST

START_TEST(broker_decode_v5_with_null_host) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":5,\"host\":null,\"port\":-1,\"jmx_port\":-1,"
                                 "\"timestamp\":\"1700000000000\",\"endpoints\":"
                                 "[\"SASL_SSL://kafka1:9093\"],\"listener_security_protocol_map\":"
                                 "{\"SASL_SSL\":\"SASL_SSL\"},\"features\":{\"metadata.version\":"
                                 "{\"min_version\":1,\"max_version\":14}}}", &b), 0);
    ck_assert_ptr_null(b.host);
    ck_assert_int_eq(b.port, -1);
    assert_endpoint(&b.endpoints[0], "SASL_SSL", "kafka1", 9093, "SASL_SSL");
    kc_broker_info_clear(&b);
}
END_TEST

START_TEST(broker_decode_unbrackets_ipv6_endpoint) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":4,\"host\":\"::1\",\"port\":9092,\"timestamp\":\"1\","
                                 "\"endpoints\":[\"PLAINTEXT://[::1]:9092\"],"
                                 "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}",
                                 &b), 0);
    assert_endpoint(&b.endpoints[0], "PLAINTEXT", "::1", 9092, "PLAINTEXT");
    ck_assert_int_eq(b.jmx_port, -1);
    kc_broker_info_clear(&b);
}
END_TEST

START_TEST(broker_decode_ignores_unknown_keys) {
    kc_broker_info_t b;
    ck_assert_int_eq(broker_from("{\"version\":4,\"future\":[1,{\"x\":null}],\"host\":\"h\","
                                 "\"port\":1,\"timestamp\":\"2\",\"endpoints\":[],"
                                 "\"listener_security_protocol_map\":{}}", &b), 0);
    ck_assert_int_eq(b.n_endpoints, 0);
    kc_broker_info_clear(&b);
}
END_TEST

static const char *const bad_brokers[] = {
    "",
    "{",
    "[]",
    "null",
    "{\"version\":4,\"host\":\"h\",\"port\":9092,\"timestamp\":\"1\",\"endpoints\":[\"PLAINTEXT://h:9092\"],"
    "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}",
    "{\"host\":\"h\",\"port\":9092,\"endpoints\":[]}",
    "{\"version\":\"4\",\"endpoints\":[]}",
    "{\"version\":0,\"endpoints\":[]}",
    "{\"version\":4,\"host\":\"h\",\"port\":\"9092\",\"endpoints\":[]}",
    "{\"version\":4,\"host\":5,\"endpoints\":[]}",
    "{\"version\":4,\"port\":70000,\"endpoints\":[]}",
    "{\"version\":4,\"timestamp\":\"12x\",\"endpoints\":[]}",
    "{\"version\":4,\"timestamp\":true,\"endpoints\":[]}",
    "{\"version\":4,\"rack\":3,\"endpoints\":[]}",
    "{\"version\":4}",
    "{\"version\":4,\"endpoints\":\"PLAINTEXT://h:1\"}",
    "{\"version\":4,\"endpoints\":[7]}",
    "{\"version\":2,\"endpoints\":[\"h:9092\"]}",
    "{\"version\":2,\"endpoints\":[\"://h:9092\"]}",
    "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h\"]}",
    "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h:port\"]}",
    "{\"version\":2,\"endpoints\":[\"PLAINTEXT://h:99999\"]}",
    "{\"version\":2,\"endpoints\":[\"PLAINTEXT://[::1:9092\"]}",
    "{\"version\":2,\"endpoints\":[\"CUSTOM://h:9092\"]}",
    "{\"version\":4,\"endpoints\":[\"REPL://h:9094\"],"
    "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}",
    "{\"version\":4,\"endpoints\":[\"REPL://h:9094\"],\"listener_security_protocol_map\":{\"REPL\":1}}",
    "{\"version\":4,\"endpoints\":[\"REPL://h:9094\"],\"listener_security_protocol_map\":{\"REPL\":\"TLS\"}}",
    "{\"version\":4,\"endpoints\":[],\"listener_security_protocol_map\":[]}",
    NULL,
};

START_TEST(broker_decode_rejects_malformed) {
    kc_broker_info_t b;
    const char *json = bad_brokers[_i];
    ck_assert_msg(broker_from(json, &b) == -1, "accepted: %s", json);
    ck_assert_ptr_null(b.endpoints);
    ck_assert_ptr_null(b.host);
    ck_assert_int_eq(b.n_endpoints, 0);
}
END_TEST

START_TEST(broker_decode_rejects_null_data) {
    kc_broker_info_t b;
    ck_assert_int_eq(kc_json_broker_decode(NULL, 0, 1, &b), -1);
}
END_TEST

/* ---- /brokers/topics/T ---- */

static const char six_partitions_v2[] =
    "{\"version\":2,\"partitions\":{\"0\":[0,1,2],\"1\":[1,2,0],\"2\":[2,0,1],\"3\":[0,2,1],"
    "\"4\":[1,0,2],\"5\":[2,1,0]},\"adding_replicas\":{},\"removing_replicas\":{}}";

START_TEST(topic_encode_matches_kafka_v2) {
    int32_t lists[6][3] = {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {1, 0, 2}, {2, 1, 0}};
    kc_partition_t parts[6];
    memset(parts, 0, sizeof(parts));
    for (int i = 0; i < 6; i++) {
        parts[i].n_replicas = 3;
        parts[i].replicas = lists[i];
    }
    kc_topic_t t = {.name = "orders", .n_partitions = 6, .partitions = parts};
    assert_encoded(kc_json_topic_encode(&t), six_partitions_v2);
}
END_TEST

START_TEST(topic_round_trip) {
    kc_topic_t t, again;
    ck_assert_int_eq(topic_from(six_partitions_v2, &t), 0);
    char *json = kc_json_topic_encode(&t);
    ck_assert_str_eq(json, six_partitions_v2);
    ck_assert_int_eq(topic_from(json, &again), 0);
    ck_assert_int_eq(again.n_partitions, 6);
    ASSERT_IDS(again.partitions[5].replicas, again.partitions[5].n_replicas, 2, 1, 0);
    free(json);
    kc_topic_clear(&t);
    kc_topic_clear(&again);
}
END_TEST

START_TEST(topic_decode_v1) {
    kc_topic_t t;
    ck_assert_int_eq(topic_from("{\"version\":1,\"partitions\":{\"0\":[0,1,2],\"1\":[1,2,0]}}", &t), 0);
    ck_assert_ptr_null(t.name);
    ck_assert_int_eq(t.n_partitions, 2);
    ASSERT_IDS(t.partitions[0].replicas, t.partitions[0].n_replicas, 0, 1, 2);
    ASSERT_IDS(t.partitions[1].replicas, t.partitions[1].n_replicas, 1, 2, 0);
    ck_assert(!t.partitions[0].has_state);
    kc_topic_clear(&t);
}
END_TEST

START_TEST(topic_decode_v2) {
    kc_topic_t t;
    ck_assert_int_eq(topic_from("{\"version\":2,\"partitions\":{\"0\":[0,1,2],\"1\":[1,2,0]},"
                                "\"adding_replicas\":{},\"removing_replicas\":{}}", &t), 0);
    ck_assert_int_eq(t.n_partitions, 2);
    kc_topic_clear(&t);
}
END_TEST

START_TEST(topic_decode_v3_ignores_topic_id) {
    kc_topic_t t;
    ck_assert_int_eq(topic_from("{\"version\":3,\"topic_id\":\"vD1Ii3HqQVmEzbQ2s8pF7w\",\"partitions\":"
                                "{\"0\":[0,1,2],\"1\":[1,2,0]},\"adding_replicas\":{},"
                                "\"removing_replicas\":{}}", &t), 0);
    ck_assert_int_eq(t.n_partitions, 2);
    kc_topic_clear(&t);
}
END_TEST

START_TEST(topic_decode_v3_during_reassignment) {
    kc_topic_t t;
    ck_assert_int_eq(topic_from("{\"version\":3,\"topic_id\":\"vD1Ii3HqQVmEzbQ2s8pF7w\",\"partitions\":"
                                "{\"0\":[4,5,6,1,2,3],\"1\":[1,2,0]},\"adding_replicas\":{\"0\":"
                                "[4,5,6]},\"removing_replicas\":{\"0\":[1,2,3]}}", &t), 0);
    ASSERT_IDS(t.partitions[0].replicas, t.partitions[0].n_replicas, 4, 5, 6, 1, 2, 3);
    ASSERT_IDS(t.partitions[0].adding, t.partitions[0].n_adding, 4, 5, 6);
    ASSERT_IDS(t.partitions[0].removing, t.partitions[0].n_removing, 1, 2, 3);
    ck_assert(kc_partition_reassigning(&t.partitions[0]));
    ASSERT_IDS(t.partitions[1].replicas, t.partitions[1].n_replicas, 1, 2, 0);
    ck_assert_int_eq(t.partitions[1].n_adding, 0);
    ck_assert_ptr_null(t.partitions[1].adding);
    ck_assert_int_eq(t.partitions[1].n_removing, 0);
    ck_assert(!kc_partition_reassigning(&t.partitions[1]));
    kc_topic_clear(&t);
}
END_TEST

/* What Kafka 2.6 writes while moving partition 1 of three from [0,1] to
 * [1,2] and partition 2 from [2,0] to [0]: target first, then the original
 * replicas not in the target; only the partitions being reassigned appear
 * in the two objects. */
static const char reassigning_v2[] =
    "{\"version\":2,\"partitions\":{\"0\":[0,1],\"1\":[1,2,0],\"2\":[0,2]},"
    "\"adding_replicas\":{\"1\":[2]},\"removing_replicas\":{\"1\":[0],\"2\":[2]}}";

START_TEST(topic_reassignment_round_trip) {
    kc_topic_t t, again;
    ck_assert_int_eq(topic_from(reassigning_v2, &t), 0);
    ASSERT_IDS(t.partitions[1].adding, t.partitions[1].n_adding, 2);
    ASSERT_IDS(t.partitions[1].removing, t.partitions[1].n_removing, 0);
    ck_assert_int_eq(t.partitions[2].n_adding, 0);
    ASSERT_IDS(t.partitions[2].removing, t.partitions[2].n_removing, 2);
    ck_assert(!kc_partition_reassigning(&t.partitions[0]));
    char *json = kc_json_topic_encode(&t);
    ck_assert_str_eq(json, reassigning_v2);
    ck_assert_int_eq(topic_from(json, &again), 0);
    ASSERT_IDS(again.partitions[1].replicas, again.partitions[1].n_replicas, 1, 2, 0);
    ASSERT_IDS(again.partitions[1].adding, again.partitions[1].n_adding, 2);
    ASSERT_IDS(again.partitions[2].removing, again.partitions[2].n_removing, 2);
    free(json);
    kc_topic_clear(&t);
    kc_topic_clear(&again);
}
END_TEST

/* Missing or null lists, and an empty list for a partition, mean none. */
START_TEST(topic_decode_tolerates_absent_or_empty_reassignment_lists) {
    static const char *const ok[] = {
        "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":null}",
        "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"0\":[]},\"removing_replicas\":{}}",
        "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"removing_replicas\":{\"0\":[]}}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        kc_topic_t t;
        ck_assert_msg(topic_from(ok[i], &t) == 0, "refused: %s", ok[i]);
        ck_assert(!kc_partition_reassigning(&t.partitions[0]));
        kc_topic_clear(&t);
    }
}
END_TEST

START_TEST(topic_decode_orders_partitions_by_id) {
    kc_topic_t t;
    ck_assert_int_eq(topic_from("{\"version\":2,\"partitions\":{\"2\":[2],\"0\":[0],\"1\":[1]}}", &t),
                     0);
    for (int i = 0; i < 3; i++) ASSERT_IDS(t.partitions[i].replicas, t.partitions[i].n_replicas, i);
    kc_topic_clear(&t);
}
END_TEST

static const char *const bad_topics[] = {
    "",
    "{\"version\":2,\"partitions\":{\"0\":[0,1,2]",
    "{\"version\":2,\"partitions\":{\"0\":[0,1,2],\"2\":[1,2,0]}}",   /* gap */
    "{\"version\":2,\"partitions\":{\"1\":[0]}}",                     /* no partition 0 */
    "{\"version\":2,\"partitions\":{\"0\":[0,-1,2]}}",                /* negative broker */
    "{\"version\":2,\"partitions\":{\"0\":[0,1,0]}}",                 /* duplicate broker */
    "{\"version\":2,\"partitions\":{\"a\":[0]}}",                     /* non-integer key */
    "{\"version\":2,\"partitions\":{\"-1\":[0]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0],\"01\":[1]}}",
    "{\"version\":2,\"partitions\":{\"+0\":[0]}}",
    "{\"version\":2,\"partitions\":{\"0 \":[0]}}",
    "{\"version\":2,\"partitions\":{\"99999999999999999999\":[0]}}",
    "{\"version\":2,\"partitions\":{\"0\":[]}}",
    "{\"version\":2,\"partitions\":{\"0\":\"0,1\"}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1.5]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,\"1\"]}}",
    "{\"version\":2,\"partitions\":{\"0\":[2147483648]}}",
    "{\"version\":2,\"partitions\":{}}",
    "{\"version\":2,\"partitions\":[[0,1,2]]}",
    "{\"version\":2}",
    "{\"partitions\":{\"0\":[0]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0]},\"adding_replicas\":[]}",
    "{\"version\":2,\"partitions\":{\"0\":[0]},\"removing_replicas\":\"0\"}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"1\":[0]}}",    /* no partition 1 */
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"0\":[2]}}",    /* not a replica */
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"removing_replicas\":{\"0\":[1,1]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"removing_replicas\":{\"0\":[-1]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"00\":[0]}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"0\":0}}",
    "{\"version\":2,\"partitions\":{\"0\":[0,1]},\"adding_replicas\":{\"0\":[0]},"
    "\"removing_replicas\":{\"0\":[0]}}",                                             /* both */
    "[{\"version\":2}]",
    NULL,
};

START_TEST(topic_decode_rejects_malformed) {
    kc_topic_t t;
    const char *json = bad_topics[_i];
    ck_assert_msg(topic_from(json, &t) == -1, "accepted: %s", json);
    ck_assert_ptr_null(t.partitions);
    ck_assert_int_eq(t.n_partitions, 0);
}
END_TEST

/* ---- /brokers/topics/T/partitions/P/state ---- */

START_TEST(state_encode_matches_kafka_v1) {
    int32_t isr[] = {1, 2, 0};
    kc_partition_state_t s = {.leader = 1, .leader_epoch = 12, .controller_epoch = 7, .n_isr = 3,
                              .isr = isr, .zk_version = 4};
    assert_encoded(kc_json_state_encode(&s), "{\"controller_epoch\":7,\"leader\":1,\"version\":1,"
                                             "\"leader_epoch\":12,\"isr\":[1,2,0]}");
}
END_TEST

START_TEST(state_decode_with_leader) {
    kc_partition_state_t s;
    ck_assert_int_eq(state_from("{\"controller_epoch\":7,\"leader\":1,\"version\":1,"
                                "\"leader_epoch\":12,\"isr\":[1,2,0]}", &s), 0);
    ck_assert_int_eq(s.controller_epoch, 7);
    ck_assert_int_eq(s.leader, 1);
    ck_assert_int_eq(s.leader_epoch, 12);
    ck_assert_int_eq(s.zk_version, 0);
    ASSERT_IDS(s.isr, s.n_isr, 1, 2, 0);
    kc_partition_state_clear(&s);
}
END_TEST

START_TEST(state_decode_without_leader) {
    kc_partition_state_t s;
    ck_assert_int_eq(state_from("{\"controller_epoch\":7,\"leader\":-1,\"version\":1,"
                                "\"leader_epoch\":13,\"isr\":[2]}", &s), 0);
    ck_assert_int_eq(s.leader, -1);
    ASSERT_IDS(s.isr, s.n_isr, 2);
    kc_partition_state_clear(&s);
}
END_TEST

START_TEST(state_decode_with_leader_recovery_state) {
    kc_partition_state_t s;
    ck_assert_int_eq(state_from("{\"controller_epoch\":9,\"leader\":3,\"version\":1,"
                                "\"leader_epoch\":14,\"isr\":[3],\"leader_recovery_state\":1}", &s),
                     0);
    ck_assert_int_eq(s.controller_epoch, 9);
    ck_assert_int_eq(s.leader, 3);
    ASSERT_IDS(s.isr, s.n_isr, 3);
    kc_partition_state_clear(&s);
}
END_TEST

START_TEST(state_round_trip) {
    int32_t isr[] = {5, 3};
    kc_partition_state_t in = {.leader = 5, .leader_epoch = 2, .controller_epoch = 1, .n_isr = 2,
                               .isr = isr};
    kc_partition_state_t out;
    char *json = kc_json_state_encode(&in);
    ck_assert_int_eq(state_from(json, &out), 0);
    ck_assert_int_eq(out.leader, 5);
    ck_assert_int_eq(out.leader_epoch, 2);
    ck_assert_int_eq(out.controller_epoch, 1);
    ASSERT_IDS(out.isr, out.n_isr, 5, 3);
    kc_partition_state_clear(&out);
    free(json);
}
END_TEST

static const char *const bad_states[] = {
    "",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[1,2,0]",
    "{\"controller_epoch\":7,\"leader\":-2,\"version\":1,\"leader_epoch\":12,\"isr\":[1]}",
    "{\"controller_epoch\":7,\"leader\":\"1\",\"version\":1,\"leader_epoch\":12,\"isr\":[1]}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"isr\":[1]}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":-1,\"isr\":[1]}",
    "{\"controller_epoch\":-1,\"leader\":1,\"version\":1,\"leader_epoch\":1,\"isr\":[1]}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[1,1]}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[-1]}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":{}}",
    "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12}",
    "{\"controller_epoch\":7,\"leader\":1,\"leader_epoch\":12,\"isr\":[1]}",
    "{\"controller_epoch\":7,\"leader\":1e3,\"version\":1,\"leader_epoch\":12,\"isr\":[1]}",
    "\"state\"",
    NULL,
};

START_TEST(state_decode_rejects_malformed) {
    kc_partition_state_t s;
    const char *json = bad_states[_i];
    ck_assert_msg(state_from(json, &s) == -1, "accepted: %s", json);
    ck_assert_ptr_null(s.isr);
    ck_assert_int_eq(s.n_isr, 0);
}
END_TEST

/* ---- /controller ---- */

START_TEST(controller_encode_matches_kafka) {
    assert_encoded(kc_json_controller_encode(2, 1600000000000LL),
                   "{\"version\":1,\"brokerid\":2,\"timestamp\":\"1600000000000\"}");
}
END_TEST

START_TEST(controller_decode_v1_and_v2) {
    const char *v1 = "{\"version\":1,\"brokerid\":2,\"timestamp\":\"1600000000000\"}";
    const char *v2 = "{\"version\":2,\"brokerid\":3,\"timestamp\":\"1700000000000\","
                     "\"kraftControllerEpoch\":-1}";
    int32_t id = -1;
    ck_assert_int_eq(kc_json_controller_decode(v1, strlen(v1), &id), 0);
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(kc_json_controller_decode(v2, strlen(v2), &id), 0);
    ck_assert_int_eq(id, 3);
}
END_TEST

START_TEST(controller_decode_rejects_malformed) {
    const char *bad[] = {"", "{\"version\":1,\"brokerid\":", "{\"version\":1}",
                         "{\"brokerid\":-1}", "{\"brokerid\":\"2\"}", "2", NULL};
    for (int i = 0; bad[i]; i++) {
        int32_t id = 42;
        ck_assert_msg(kc_json_controller_decode(bad[i], strlen(bad[i]), &id) == -1, "accepted: %s",
                      bad[i]);
        ck_assert_int_eq(id, 42);
    }
}
END_TEST

/* ---- /cluster/id ---- */

START_TEST(cluster_id_encode_has_string_version) {
    assert_encoded(kc_json_cluster_id_encode("wEeSo3WzQQ2cD0EDWsN4CA"),
                   "{\"version\":\"1\",\"id\":\"wEeSo3WzQQ2cD0EDWsN4CA\"}");
}
END_TEST

START_TEST(cluster_id_decode) {
    const char *json = "{\"version\":\"1\",\"id\":\"wEeSo3WzQQ2cD0EDWsN4CA\"}";
    char id[64];
    ck_assert_int_eq(kc_json_cluster_id_decode(json, strlen(json), id, sizeof(id)), 0);
    ck_assert_str_eq(id, "wEeSo3WzQQ2cD0EDWsN4CA");
}
END_TEST

START_TEST(cluster_id_decode_rejects_malformed) {
    const char *bad[] = {"", "{\"version\":\"1\",\"id\":\"abc", "{\"version\":\"1\"}",
                         "{\"version\":\"1\",\"id\":7}", "{\"version\":\"1\",\"id\":\"\"}",
                         "{\"version\":\"1\",\"id\":null}", "[\"id\"]", NULL};
    char id[64];
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(kc_json_cluster_id_decode(bad[i], strlen(bad[i]), id, sizeof(id)) == -1,
                      "accepted: %s", bad[i]);
}
END_TEST

START_TEST(cluster_id_decode_rejects_id_longer_than_buffer) {
    const char *json = "{\"version\":\"1\",\"id\":\"wEeSo3WzQQ2cD0EDWsN4CA\"}";
    char id[22];
    ck_assert_int_eq(kc_json_cluster_id_decode(json, strlen(json), id, sizeof(id)), -1);
}
END_TEST

START_TEST(new_cluster_id_is_22_url_safe_chars) {
    char a[23], b[23];
    kc_new_cluster_id(a);
    kc_new_cluster_id(b);
    ck_assert_uint_eq(strlen(a), 22);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                      22);
    ck_assert_str_ne(a, b);
}
END_TEST

/* ---- /config ---- */

START_TEST(config_encode_matches_kafka) {
    kc_config_entry_t e[] = {{"retention.ms", "86400000"}, {"cleanup.policy", "compact"},
                             {"min.insync.replicas", "2"}};
    assert_encoded(kc_json_config_encode(e, 3),
                   "{\"version\":1,\"config\":{\"retention.ms\":\"86400000\","
                   "\"cleanup.policy\":\"compact\",\"min.insync.replicas\":\"2\"}}");
}
END_TEST

START_TEST(config_encode_empty) {
    assert_encoded(kc_json_config_encode(NULL, 0), "{\"version\":1,\"config\":{}}");
}
END_TEST

START_TEST(config_decode) {
    const char *json = "{\"version\":1,\"config\":{\"retention.ms\":\"86400000\","
                       "\"cleanup.policy\":\"compact\"}}";
    kc_config_entry_t *e;
    int n;
    ck_assert_int_eq(kc_json_config_decode(json, strlen(json), &e, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(e[0].key, "retention.ms");
    ck_assert_str_eq(e[0].value, "86400000");
    ck_assert_str_eq(e[1].key, "cleanup.policy");
    ck_assert_str_eq(e[1].value, "compact");
    kc_config_entries_free(e, n);
}
END_TEST

START_TEST(config_decode_empty) {
    const char *json = "{\"version\":1,\"config\":{}}";
    kc_config_entry_t *e;
    int n = -1;
    ck_assert_int_eq(kc_json_config_decode(json, strlen(json), &e, &n), 0);
    ck_assert_int_eq(n, 0);
    kc_config_entries_free(e, n);
}
END_TEST

START_TEST(config_decode_rejects_malformed) {
    const char *bad[] = {"", "{\"version\":1,\"config\":{\"a\":\"1\"}",
                         "{\"version\":1,\"config\":{\"retention.ms\":86400000}}",
                         "{\"version\":1,\"config\":[]}", "{\"version\":1,\"config\":null}", "[]",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        kc_config_entry_t *e = (kc_config_entry_t *)1;
        int n = 5;
        ck_assert_msg(kc_json_config_decode(bad[i], strlen(bad[i]), &e, &n) == -1, "accepted: %s",
                      bad[i]);
        ck_assert_ptr_null(e);
        ck_assert_int_eq(n, 0);
    }
}
END_TEST

START_TEST(config_change_encode_matches_kafka_v2) {
    assert_encoded(kc_json_config_change_encode("topics/orders"),
                   "{\"version\":2,\"entity_path\":\"topics/orders\"}");
}
END_TEST

/* ---- garbage ---- */

/* Every strict prefix of a valid body is truncated JSON and must fail. */
START_TEST(decoders_reject_every_truncation) {
    const char *broker = "{\"version\":4,\"host\":\"h\",\"port\":1,\"timestamp\":\"1\","
                         "\"endpoints\":[\"PLAINTEXT://h:1\"],"
                         "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}}";
    const char *state = "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,"
                        "\"isr\":[1,2,0]}";
    kc_broker_info_t b;
    kc_topic_t t;
    kc_partition_state_t s;

    for (size_t n = 0; n < strlen(broker); n++)
        ck_assert_int_eq(kc_json_broker_decode(broker, n, 0, &b), -1);
    for (size_t n = 0; n < strlen(six_partitions_v2); n++)
        ck_assert_int_eq(kc_json_topic_decode(six_partitions_v2, n, &t), -1);
    for (size_t n = 0; n < strlen(state); n++)
        ck_assert_int_eq(kc_json_state_decode(state, n, &s), -1);
    const char *change = "{\"version\":1,\"partitions\":[{\"topic\":\"orders\",\"partition\":0}]}";
    kc_isr_change_t *parts;
    int n_parts;
    for (size_t n = 0; n < strlen(change); n++)
        ck_assert_int_eq(kc_json_isr_change_decode(change, n, &parts, &n_parts), -1);
}
END_TEST

/* Random bytes and random mutations of valid bodies: any answer is fine as
 * long as nothing crashes and a failure leaves the output cleared. */
START_TEST(decoders_survive_random_garbage) {
    char buf[256];
    unsigned seed = 12345;

    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
        if (round % 2 == 0) {
            for (size_t i = 0; i < n; i++) buf[i] = (char)rand_r(&seed);
        } else {
            n = strlen(six_partitions_v2);
            memcpy(buf, six_partitions_v2, n);
            buf[rand_r(&seed) % n] = "{}[]\",:-019a "[rand_r(&seed) % 14];
        }
        kc_broker_info_t b;
        kc_topic_t t;
        kc_partition_state_t s;
        if (kc_json_broker_decode(buf, n, 0, &b) == 0) kc_broker_info_clear(&b);
        if (kc_json_topic_decode(buf, n, &t) == 0) kc_topic_clear(&t);
        else ck_assert_ptr_null(t.partitions);
        if (kc_json_state_decode(buf, n, &s) == 0) kc_partition_state_clear(&s);
        kc_isr_change_t *parts;
        int n_parts;
        if (kc_json_isr_change_decode(buf, n, &parts, &n_parts) == 0) kc_isr_changes_free(parts, n_parts);
        else ck_assert_ptr_null(parts);
    }
}
END_TEST

/* A leader whose conditional write met BADVERSION reads the state back and
 * counts it as written only when this holds (Kafka's read-back check). */
START_TEST(state_read_back_matches_only_the_state_written) {
    kc_partition_state_t wrote, stored;
    ck_assert_int_eq(state_from("{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,"
                                "\"isr\":[1,2]}", &wrote), 0);
    const char *same[] = {"{\"isr\":[1,2],\"leader_epoch\":12,\"version\":1,\"leader\":1,\"controller_epoch\":7}"};
    const char *other[] = {
        "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[2,1]}",
        "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[1]}",
        "{\"controller_epoch\":7,\"leader\":1,\"version\":1,\"leader_epoch\":13,\"isr\":[1,2]}",
        "{\"controller_epoch\":8,\"leader\":1,\"version\":1,\"leader_epoch\":12,\"isr\":[1,2]}",
        "{\"controller_epoch\":7,\"leader\":2,\"version\":1,\"leader_epoch\":12,\"isr\":[1,2]}",
    };
    ck_assert_int_eq(state_from(same[0], &stored), 0);
    stored.zk_version = 5; /* not compared */
    ck_assert(kc_partition_state_same(&stored, &wrote));
    kc_partition_state_clear(&stored);
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        ck_assert_int_eq(state_from(other[i], &stored), 0);
        ck_assert_msg(!kc_partition_state_same(&stored, &wrote), "same: %s", other[i]);
        kc_partition_state_clear(&stored);
    }
    kc_partition_state_clear(&wrote);
}
END_TEST

/* ---- /isr_change_notification/isr_change_N ---- */

START_TEST(isr_change_encode_matches_kafka) {
    kc_isr_change_t parts[] = {{.topic = "orders", .partition = 0}, {.topic = "orders", .partition = 3}};
    assert_encoded(kc_json_isr_change_encode(parts, 2),
                   "{\"version\":1,\"partitions\":[{\"topic\":\"orders\",\"partition\":0},"
                   "{\"topic\":\"orders\",\"partition\":3}]}");
}
END_TEST

START_TEST(isr_change_decode_ignores_version_and_unknown_keys) {
    const char *json = "{\"partitions\":[{\"partition\":3,\"topic\":\"orders\",\"x\":1},"
                       "{\"topic\":\"b\",\"partition\":0}],\"version\":7}";
    kc_isr_change_t *parts;
    int n;
    ck_assert_int_eq(kc_json_isr_change_decode(json, strlen(json), &parts, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(parts[0].topic, "orders");
    ck_assert_int_eq(parts[0].partition, 3);
    ck_assert_str_eq(parts[1].topic, "b");
    ck_assert_int_eq(parts[1].partition, 0);
    kc_isr_changes_free(parts, n);
}
END_TEST

/* ---- /admin/preferred_replica_election ---- */

START_TEST(preferred_election_reads_the_spec_example_and_kafkas_file_without_version) {
    const char *znode = "{\"version\":1,\"partitions\":[{\"topic\":\"orders\",\"partition\":0},"
                        "{\"topic\":\"orders\",\"partition\":1}]}";
    const char *file = "{\"partitions\":\n\t[{\"topic\": \"foo\", \"partition\": 1}]}";
    kc_isr_change_t *parts;
    int n;
    ck_assert_int_eq(kc_json_preferred_election_decode(znode, strlen(znode), &parts, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(parts[1].topic, "orders");
    ck_assert_int_eq(parts[1].partition, 1);
    assert_encoded(kc_json_preferred_election_encode(parts, n), znode);
    kc_isr_changes_free(parts, n);
    ck_assert_int_eq(kc_json_preferred_election_decode(file, strlen(file), &parts, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(parts[0].topic, "foo");
    kc_isr_changes_free(parts, n);
    ck_assert_int_eq(kc_json_preferred_election_decode("[]", 2, &parts, &n), -1);
}
END_TEST

static const char *const bad_isr_changes[] = {
    "{\"version\":1}",
    "{\"version\":1,\"partitions\":{}}",
    "{\"version\":1,\"partitions\":[{\"topic\":\"t\"}]}",
    "{\"version\":1,\"partitions\":[{\"partition\":0}]}",
    "{\"version\":1,\"partitions\":[{\"topic\":1,\"partition\":0}]}",
    "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":-1}]}",
    "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0},7]}",
    "[]",
    NULL,
};

START_TEST(isr_change_decode_rejects_malformed) {
    const char *json = bad_isr_changes[_i];
    kc_isr_change_t *parts = (kc_isr_change_t *)1;
    int n = 5;
    ck_assert_int_eq(kc_json_isr_change_decode(json, strlen(json), &parts, &n), -1);
    ck_assert_ptr_null(parts);
    ck_assert_int_eq(n, 0);
}
END_TEST

static int count(const char *const *v) {
    int n = 0;
    while (v[n] != NULL) n++;
    return n;
}

Suite *json_suite(void) {
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("broker");
    tcase_add_test(tc, broker_encode_matches_kafka_v4);
    tcase_add_test(tc, broker_encode_omits_rack_when_unset);
    tcase_add_test(tc, broker_encode_without_plaintext_writes_null_host);
    tcase_add_test(tc, broker_encode_takes_host_from_first_plaintext_protocol);
    tcase_add_test(tc, broker_encode_brackets_ipv6_hosts);
    tcase_add_test(tc, broker_round_trip_keeps_every_field);
    tcase_add_test(tc, broker_decode_v1);
    tcase_add_test(tc, broker_decode_v2);
    tcase_add_test(tc, broker_decode_v4_with_rack_and_listener_map);
    tcase_add_test(tc, broker_decode_rack_empty_is_none_and_over_a_kafka_string_is_refused);
    tcase_add_test(tc, broker_decode_v5_ignores_features);
    tcase_add_test(tc, broker_decode_v5_with_null_host);
    tcase_add_test(tc, broker_decode_unbrackets_ipv6_endpoint);
    tcase_add_test(tc, broker_decode_ignores_unknown_keys);
    tcase_add_test(tc, broker_encode_publishes_the_rpc_endpoint_last);
    tcase_add_test(tc, broker_decode_without_rpc_endpoint_says_none);
    tcase_add_test(tc, broker_decode_ignores_a_malformed_rpc_endpoint);
    tcase_add_loop_test(tc, broker_decode_rejects_malformed, 0, count(bad_brokers));
    tcase_add_test(tc, broker_decode_rejects_null_data);
    suite_add_tcase(s, tc);

    tc = tcase_create("topic");
    tcase_add_test(tc, topic_encode_matches_kafka_v2);
    tcase_add_test(tc, topic_round_trip);
    tcase_add_test(tc, topic_decode_v1);
    tcase_add_test(tc, topic_decode_v2);
    tcase_add_test(tc, topic_decode_v3_ignores_topic_id);
    tcase_add_test(tc, topic_decode_v3_during_reassignment);
    tcase_add_test(tc, topic_reassignment_round_trip);
    tcase_add_test(tc, topic_decode_tolerates_absent_or_empty_reassignment_lists);
    tcase_add_test(tc, topic_decode_orders_partitions_by_id);
    tcase_add_loop_test(tc, topic_decode_rejects_malformed, 0, count(bad_topics));
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, state_encode_matches_kafka_v1);
    tcase_add_test(tc, state_decode_with_leader);
    tcase_add_test(tc, state_decode_without_leader);
    tcase_add_test(tc, state_decode_with_leader_recovery_state);
    tcase_add_test(tc, state_round_trip);
    tcase_add_loop_test(tc, state_decode_rejects_malformed, 0, count(bad_states));
    suite_add_tcase(s, tc);

    tc = tcase_create("controller_cluster_config");
    tcase_add_test(tc, controller_encode_matches_kafka);
    tcase_add_test(tc, controller_decode_v1_and_v2);
    tcase_add_test(tc, controller_decode_rejects_malformed);
    tcase_add_test(tc, cluster_id_encode_has_string_version);
    tcase_add_test(tc, cluster_id_decode);
    tcase_add_test(tc, cluster_id_decode_rejects_malformed);
    tcase_add_test(tc, cluster_id_decode_rejects_id_longer_than_buffer);
    tcase_add_test(tc, new_cluster_id_is_22_url_safe_chars);
    tcase_add_test(tc, config_encode_matches_kafka);
    tcase_add_test(tc, config_encode_empty);
    tcase_add_test(tc, config_decode);
    tcase_add_test(tc, config_decode_empty);
    tcase_add_test(tc, config_decode_rejects_malformed);
    tcase_add_test(tc, config_change_encode_matches_kafka_v2);
    suite_add_tcase(s, tc);

    tc = tcase_create("isr_change");
    tcase_add_test(tc, state_read_back_matches_only_the_state_written);
    tcase_add_test(tc, isr_change_encode_matches_kafka);
    tcase_add_test(tc, isr_change_decode_ignores_version_and_unknown_keys);
    tcase_add_test(tc, preferred_election_reads_the_spec_example_and_kafkas_file_without_version);
    tcase_add_loop_test(tc, isr_change_decode_rejects_malformed, 0, count(bad_isr_changes));
    suite_add_tcase(s, tc);

    tc = tcase_create("garbage");
    tcase_add_test(tc, decoders_reject_every_truncation);
    tcase_add_test(tc, decoders_survive_random_garbage);
    suite_add_tcase(s, tc);
    return s;
}
