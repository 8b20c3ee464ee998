/*
 * test_createtopics.c - CreateTopics request decoding and response encoding.
 *
 * The request fixtures are whole frames captured from real clients talking
 * to kbroker through a recording proxy: confluent-kafka-python 1.7.0 on
 * librdkafka 2.0.2 (CreateTopics v4: plain with a config, an explicit
 * assignment, validate_only), kafka-python 2.0.2's KafkaAdminClient (v3)
 * and KafkaJS 2.2.4's admin.createTopics (v3, leaving num_partitions and
 * replication_factor at their -1 defaults).  Responses are encoded for
 * every version and read back field by field.  The rest are truncated,
 * trailing, negative-count and oversized-count bodies.
 */
#include <string.h>

#include "proto/kp_createtopics.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* librdkafka: v4, corr 3, ck-topic, 2 partitions, RF 1, retention.ms. */
static const uint8_t librdkafka_v4_config[] = {
    0x00, 0x00, 0x00, 0x4a,                         /* size 74 */
    0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, /* key 19, v4, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'c', 'k', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x02,                         /* num_partitions 2 */
    0x00, 0x01,                                     /* replication_factor 1 */
    0x00, 0x00, 0x00, 0x00,                         /* no assignments */
    0x00, 0x00, 0x00, 0x01,                         /* one config */
    0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's',
    0x00, 0x08, '8', '6', '4', '0', '0', '0', '0', '0',
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* validate_only */
};

/* librdkafka: v4, corr 3, as3 with replica_assignment [[1], [1]]. */
static const uint8_t librdkafka_v4_assignment[] = {
    0x00, 0x00, 0x00, 0x45,                         /* size 69 */
    0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, /* key 19, v4, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x03, 'a', 's', '3',
    0xff, 0xff, 0xff, 0xff,                         /* num_partitions -1 */
    0xff, 0xff,                                     /* replication_factor -1 */
    0x00, 0x00, 0x00, 0x02,                         /* two assignments */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* 0: [1] */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* 1: [1] */
    0x00, 0x00, 0x00, 0x00,                         /* no configs */
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* validate_only */
};

/* librdkafka: v4, corr 4, vo (1 partition, RF 1), validate_only. */
static const uint8_t librdkafka_v4_validate_only[] = {
    0x00, 0x00, 0x00, 0x2c,                         /* size 44 */
    0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, /* key 19, v4, corr 4 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',  /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x02, 'v', 'o',
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01,             /* 1 partition, RF 1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* no assignments, no configs */
    0x00, 0x00, 0xea, 0x60,                         /* timeout_ms 60000 */
    0x01,                                           /* validate_only */
};

/* kafka-python: v3, corr 3, kp-topic, 1 partition, RF 1, retention.ms. */
static const uint8_t kafka_python_v3[] = {
    0x00, 0x00, 0x00, 0x54,                         /* size 84 */
    0x00, 0x13, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, /* key 19, v3, corr 3 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.',
    '2',                                            /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x08, 'k', 'p', '-', 't', 'o', 'p', 'i', 'c',
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01,             /* 1 partition, RF 1 */
    0x00, 0x00, 0x00, 0x00,                         /* no assignments */
    0x00, 0x00, 0x00, 0x01,                         /* one config */
    0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's',
    0x00, 0x07, '3', '6', '0', '0', '0', '0', '0',
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* validate_only */
};

/* KafkaJS 2.2.4: v3, corr 2, defaults -1/-1, cleanup.policy=delete. */
static const uint8_t kafkajs_v3_defaults[] = {
    0x00, 0x00, 0x00, 0x4e,                         /* size 78 */
    0x00, 0x13, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, /* key 19, v3, corr 2 */
    0x00, 0x06, 'm', 'y', '-', 'a', 'p', 'p',       /* client_id */
    0x00, 0x00, 0x00, 0x01,                         /* one topic */
    0x00, 0x0d, 'k', 'a', 'f', 'k', 'a', 'j', 's', '-', 't', 'o', 'p', 'i', 'c',
    0xff, 0xff, 0xff, 0xff,                         /* num_partitions -1 */
    0xff, 0xff,                                     /* replication_factor -1 */
    0x00, 0x00, 0x00, 0x00,                         /* no assignments */
    0x00, 0x00, 0x00, 0x01,                         /* one config */
    0x00, 0x0e, 'c', 'l', 'e', 'a', 'n', 'u', 'p', '.', 'p', 'o', 'l', 'i', 'c', 'y',
    0x00, 0x06, 'd', 'e', 'l', 'e', 't', 'e',
    0x00, 0x00, 0x13, 0x88,                         /* timeout_ms 5000 */
    0x00,                                           /* validate_only */
};

/* A v4 body: topic "t" with a null config value, then timeout and flag. */
static const uint8_t v4_null_config_value[] = {
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x01, 't',
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,
    0x00, 0x01, 'k', 0xff, 0xff,                    /* "k" = null */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
    0x00,
};

/* Decodes frame's header (checking its size prefix and key), then its body
 * as CreateTopics of the header's version. */
static int decode_frame(const uint8_t *frame, size_t len, kp_request_header_t *h,
                        kp_createtopics_request_t *req) {
    kp_reader_t r;

    protofix_open_frame(&r, frame, len, KP_API_CREATE_TOPICS, 1, h);
    return kp_createtopics_request_decode(&r, h->request_api_version, req);
}

#define DECODE_FRAME(frame, h, req) decode_frame((frame), sizeof(frame), (h), (req))

static int decode_body(const uint8_t *body, size_t len, int16_t version,
                       kp_createtopics_request_t *req) {
    kp_reader_t r;

    kp_reader_init(&r, body, len);
    return kp_createtopics_request_decode(&r, version, req);
}

/* The body of a whole fixture frame: past size, fixed ids and client_id. */
static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t client_id_len = (size_t)frame[12] << 8 | frame[13];
    size_t off = 4 + 8 + 2 + client_id_len;

    *body_len = len - off;
    return frame + off;
}

static void expect_config(const kp_createtopics_config_t *c, const char *name, const char *value) {
    ck_assert(kp_str_eq(c->name, name));
    ck_assert(kp_str_eq(c->value, value));
}

START_TEST(librdkafka_v4_topic_with_config_decodes) {
    kp_request_header_t h;
    kp_createtopics_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v4_config, &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 4);
    ck_assert(kp_str_eq(h.client_id, "rdkafka"));
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "ck-topic"));
    ck_assert_int_eq(req.topics[0].num_partitions, 2);
    ck_assert_int_eq(req.topics[0].replication_factor, 1);
    ck_assert_int_eq(req.topics[0].n_assignments, 0);
    ck_assert_int_eq(req.topics[0].n_configs, 1);
    expect_config(&req.topics[0].configs[0], "retention.ms", "86400000");
    ck_assert_int_eq(req.timeout_ms, 5000);
    ck_assert(!req.validate_only);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(librdkafka_v4_explicit_assignment_decodes_with_minus_one_counts) {
    kp_request_header_t h;
    kp_createtopics_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v4_assignment, &h, &req), 0);
    ck_assert(kp_str_eq(req.topics[0].name, "as3"));
    ck_assert_int_eq(req.topics[0].num_partitions, KP_CREATETOPICS_UNSET);
    ck_assert_int_eq(req.topics[0].replication_factor, KP_CREATETOPICS_UNSET);
    ck_assert_int_eq(req.topics[0].n_assignments, 2);
    for (int32_t i = 0; i < 2; i++) {
        const kp_createtopics_assignment_t *a = &req.topics[0].assignments[i];
        ck_assert_int_eq(a->partition_index, i);
        ck_assert_int_eq(a->n_broker_ids, 1);
        ck_assert_int_eq(a->broker_ids[0], 1);
    }
    ck_assert_int_eq(req.topics[0].n_configs, 0);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(librdkafka_v4_validate_only_decodes) {
    kp_request_header_t h;
    kp_createtopics_request_t req;

    ck_assert_int_eq(DECODE_FRAME(librdkafka_v4_validate_only, &h, &req), 0);
    ck_assert_int_eq(h.correlation_id, 4);
    ck_assert(kp_str_eq(req.topics[0].name, "vo"));
    ck_assert_int_eq(req.timeout_ms, 60000);
    ck_assert(req.validate_only);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_v3_decodes) {
    kp_request_header_t h;
    kp_createtopics_request_t req;

    ck_assert_int_eq(DECODE_FRAME(kafka_python_v3, &h, &req), 0);
    ck_assert_int_eq(h.request_api_version, 3);
    ck_assert(kp_str_eq(h.client_id, "kafka-python-2.0.2"));
    ck_assert(kp_str_eq(req.topics[0].name, "kp-topic"));
    ck_assert_int_eq(req.topics[0].num_partitions, 1);
    ck_assert_int_eq(req.topics[0].replication_factor, 1);
    expect_config(&req.topics[0].configs[0], "retention.ms", "3600000");
    ck_assert_int_eq(req.timeout_ms, 5000);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(kafkajs_v3_sends_minus_one_defaults) {
    kp_request_header_t h;
    kp_createtopics_request_t req;

    ck_assert_int_eq(DECODE_FRAME(kafkajs_v3_defaults, &h, &req), 0);
    ck_assert_int_eq(h.correlation_id, 2);
    ck_assert(kp_str_eq(h.client_id, "my-app"));
    ck_assert(kp_str_eq(req.topics[0].name, "kafkajs-topic"));
    ck_assert_int_eq(req.topics[0].num_partitions, -1);
    ck_assert_int_eq(req.topics[0].replication_factor, -1);
    expect_config(&req.topics[0].configs[0], "cleanup.policy", "delete");
    ck_assert(!req.validate_only);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(null_config_value_decodes_as_null) {
    kp_createtopics_request_t req;

    ck_assert_int_eq(decode_body(v4_null_config_value, sizeof(v4_null_config_value), 4, &req), 0);
    ck_assert(kp_str_eq(req.topics[0].configs[0].name, "k"));
    ck_assert_int_lt(req.topics[0].configs[0].value.len, 0);
    ck_assert_int_eq(req.timeout_ms, 30000);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(v0_has_no_validate_only_flag) {
    size_t len;
    const uint8_t *body = frame_body(librdkafka_v4_config, sizeof(librdkafka_v4_config), &len);
    kp_createtopics_request_t req;

    /* The v4 body minus its last byte (validate_only) is a valid v0 body. */
    ck_assert_int_eq(decode_body(body, len - 1, 0, &req), 0);
    ck_assert_int_eq(req.timeout_ms, 5000);
    ck_assert(!req.validate_only);
    kp_createtopics_request_clear(&req);
    ck_assert_int_eq(decode_body(body, len, 0, &req), KP_BUF_TRAILING);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(truncated_requests_are_rejected_at_every_length) {
    const uint8_t *frames[] = {librdkafka_v4_config, librdkafka_v4_assignment, kafka_python_v3,
                               kafkajs_v3_defaults};
    const size_t sizes[] = {sizeof(librdkafka_v4_config), sizeof(librdkafka_v4_assignment),
                            sizeof(kafka_python_v3), sizeof(kafkajs_v3_defaults)};

    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        size_t len;
        const uint8_t *body = frame_body(frames[f], sizes[f], &len);
        for (size_t n = 0; n < len; n++) {
            kp_createtopics_request_t req;
            ck_assert_int_eq(decode_body(body, n, 4, &req), KP_BUF_SHORT);
            kp_createtopics_request_clear(&req);
        }
    }
}
END_TEST

START_TEST(trailing_bytes_are_rejected) {
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x75, 0x30, 0x00, 0xaa};
    kp_createtopics_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_TRAILING);
    kp_createtopics_request_clear(&req);
    ck_assert_int_eq(decode_body(body, sizeof(body) - 1, 4, &req), 0);
    ck_assert_int_eq(req.n_topics, 0);
    kp_createtopics_request_clear(&req);
}
END_TEST

/* A one-topic v4 body whose counts are given; everything else empty. */
static size_t body_with_counts(uint8_t *buf, int32_t topics, int32_t assignments, int32_t ids,
                               int32_t configs) {
    kp_writer_t w;
    size_t len;

    kp_writer_init(&w);
    kp_write_int32(&w, topics);
    kp_write_string(&w, "t");
    kp_write_int32(&w, -1);
    kp_write_int16(&w, -1);
    kp_write_int32(&w, assignments);
    if (assignments == 1) {
        kp_write_int32(&w, 0);
        kp_write_int32(&w, ids);
    }
    kp_write_int32(&w, configs);
    kp_write_int32(&w, 30000);
    kp_write_bool(&w, false);
    len = w.len;
    memcpy(buf, w.buf, len);
    kp_writer_free(&w);
    return len;
}

START_TEST(negative_counts_are_rejected) {
    const int32_t cases[][4] = {
        {-1, 0, 0, 0}, {-2, 0, 0, 0}, {1, -1, 0, 0}, {1, 1, -1, 0}, {1, 0, 0, -1},
    };
    uint8_t buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kp_createtopics_request_t req;
        size_t len = body_with_counts(buf, cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
        ck_assert_int_eq(decode_body(buf, len, 4, &req), KP_BUF_INVALID);
        kp_createtopics_request_clear(&req);
    }
}
END_TEST

START_TEST(oversized_counts_are_rejected_before_allocating) {
    const int32_t cases[][4] = {
        {INT32_MAX, 0, 0, 0}, {1, INT32_MAX, 0, 0}, {1, 1, INT32_MAX, 0}, {1, 0, 0, 0x10000},
    };
    uint8_t buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kp_createtopics_request_t req;
        size_t len = body_with_counts(buf, cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
        ck_assert_int_eq(decode_body(buf, len, 4, &req), KP_BUF_SHORT);
        if (cases[i][0] == INT32_MAX) ck_assert_ptr_null(req.topics);
        kp_createtopics_request_clear(&req);
    }
}
END_TEST

START_TEST(null_topic_name_is_rejected) {
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
                                   0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x75, 0x30, 0x00};
    kp_createtopics_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 4, &req), KP_BUF_INVALID);
    kp_createtopics_request_clear(&req);
}
END_TEST

START_TEST(unsupported_request_version_is_refused) {
    static const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x75, 0x30, 0x00};
    kp_createtopics_request_t req;

    ck_assert_int_eq(decode_body(body, sizeof(body), 5, &req), KP_BUF_INVALID);
    kp_createtopics_request_clear(&req);
    ck_assert_int_eq(decode_body(body, sizeof(body), -1, &req), KP_BUF_INVALID);
    kp_createtopics_request_clear(&req);
}
END_TEST

/* ------------------------------------------------------------- responses */

static const kp_createtopics_response_topic_t sample_topics[] = {
    {{6, "orders"}, KP_ERR_NONE, {KP_NULL_LEN, NULL}},
    {{3, "bad"}, KP_ERR_TOPIC_ALREADY_EXISTS, {20, "Topic 'bad' exists.."}},
};

static const kp_createtopics_response_t sample = {0, 2, sample_topics};

static void expect_str(kp_reader_t *r, kp_str_t want) {
    kp_str_t s = kp_read_nullable_string(r);
    ck_assert_int_eq(r->err, KP_BUF_OK);
    ck_assert_int_eq(s.len, want.len);
    if (want.len > 0) ck_assert(memcmp(s.ptr, want.ptr, (size_t)want.len) == 0);
}

/* Reads an encoded body back field by field for version v. */
static void check_response(int16_t v) {
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_createtopics_response_encode(&w, v, &sample), 0);
    kp_reader_init(&r, w.buf, w.len);
    if (v >= 2) ck_assert_int_eq(kp_read_int32(&r), 0); /* throttle_time_ms */
    ck_assert_int_eq(kp_read_array_count(&r, 4), 2);
    for (int i = 0; i < 2; i++) {
        expect_str(&r, sample_topics[i].name);
        ck_assert_int_eq(kp_read_int16(&r), sample_topics[i].error_code);
        if (v >= 1) expect_str(&r, sample_topics[i].error_message);
    }
    ck_assert_int_eq(kp_reader_expect_end(&r), 0);
    kp_writer_free(&w);
}

START_TEST(response_layout_of_every_version) {
    for (int16_t v = 0; v <= KP_CREATETOPICS_VERSION_MAX; v++) check_response(v);
}
END_TEST

START_TEST(response_v0_is_exact_bytes) {
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'x', 0x00, 0x29};
    static const kp_createtopics_response_topic_t one = {{1, "x"}, KP_ERR_NOT_CONTROLLER,
                                                         {3, "why"}};
    kp_createtopics_response_t resp = {0, 1, &one};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_createtopics_response_encode(&w, 0, &resp), 0);
    ck_assert_uint_eq(w.len, sizeof(want));
    ck_assert(memcmp(w.buf, want, sizeof(want)) == 0);
    kp_writer_free(&w);
}
END_TEST

START_TEST(response_version_outside_range_is_refused) {
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_createtopics_response_encode(&w, 5, &sample), KP_BUF_INVALID);
    ck_assert_uint_eq(w.len, 0);
    kp_writer_free(&w);
}
END_TEST

Suite *createtopics_suite(void) {
    Suite *s = suite_create("createtopics");
    TCase *req = tcase_create("request");
    TCase *resp = tcase_create("response");

    tcase_add_test(req, librdkafka_v4_topic_with_config_decodes);
    tcase_add_test(req, librdkafka_v4_explicit_assignment_decodes_with_minus_one_counts);
    tcase_add_test(req, librdkafka_v4_validate_only_decodes);
    tcase_add_test(req, kafka_python_v3_decodes);
    tcase_add_test(req, kafkajs_v3_sends_minus_one_defaults);
    tcase_add_test(req, null_config_value_decodes_as_null);
    tcase_add_test(req, v0_has_no_validate_only_flag);
    tcase_add_test(req, truncated_requests_are_rejected_at_every_length);
    tcase_add_test(req, trailing_bytes_are_rejected);
    tcase_add_test(req, negative_counts_are_rejected);
    tcase_add_test(req, oversized_counts_are_rejected_before_allocating);
    tcase_add_test(req, null_topic_name_is_rejected);
    tcase_add_test(req, unsupported_request_version_is_refused);
    tcase_add_test(resp, response_layout_of_every_version);
    tcase_add_test(resp, response_v0_is_exact_bytes);
    tcase_add_test(resp, response_version_outside_range_is_refused);
    suite_add_tcase(s, req);
    suite_add_tcase(s, resp);
    return s;
}
