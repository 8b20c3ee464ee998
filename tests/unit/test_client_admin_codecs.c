/*
 * test_client_admin_codecs.c - the client-side codecs behind
 * kafka-topics.sh and kafka-configs.sh --bootstrap-server
 * (kp_client_topics.c, kp_client_configs.c): CreateTopics, DeleteTopics,
 * CreatePartitions, DescribeConfigs, AlterConfigs and ApiVersions.
 *
 * Requests are checked byte for byte against fixtures written in the field
 * order of Kafka's message schemas (classic and flexible versions), and
 * where kbroker has the broker side, read back by its decoder.  Answers are
 * decoded from fixtures written the same way and from what the broker's
 * encoders write.  Then the hostile answers: every truncation, a trailing
 * byte, and counts larger than the bytes left, refused before anything is
 * allocated.
 */
#include <string.h>

#include "proto/kp_apiversions.h"
#include "proto/kp_client_configs.h"
#include "proto/kp_client_topics.h"
#include "proto/kp_configs.h"
#include "proto/kp_createtopics.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------------------- helpers */

static void expect_bytes(const kp_writer_t *w, const uint8_t *want, size_t n) {
    ck_assert_int_eq(w->err, 0);
    ck_assert_uint_eq(w->len, n);
    ck_assert_mem_eq(w->buf, want, n);
}

/* ------------------------------------------------------------ CreateTopics */

/* v4: one topic "t" with the broker's defaults (-1, -1), config a=b. */
static const uint8_t createtopics_request_v4[] = {
    0x00, 0x00, 0x00, 0x01,             /* topics */
    0x00, 0x01, 't',                    /* name */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* num_partitions -1, replication_factor -1 */
    0x00, 0x00, 0x00, 0x00,             /* assignments */
    0x00, 0x00, 0x00, 0x01,             /* configs */
    0x00, 0x01, 'a', 0x00, 0x01, 'b',   /* a=b */
    0x00, 0x00, 0x75, 0x30,             /* timeout_ms 30000 */
    0x00,                               /* validate_only */
};

/* v2: "t" refused with 36 and the broker's message. */
static const uint8_t createtopics_response_v2[] = {
    0x00, 0x00, 0x00, 0x00,                          /* throttle_time_ms */
    0x00, 0x00, 0x00, 0x01,                          /* topics */
    0x00, 0x01, 't', 0x00, 0x24,                     /* name, TOPIC_ALREADY_EXISTS */
    0x00, 0x06, 'e', 'x', 'i', 's', 't', 's',        /* error_message */
};

START_TEST(createtopics_request_bytes_follow_the_schema) {
    kp_createtopics_config_t cfg = {kp_str_c("a"), kp_str_c("b")};
    kp_createtopics_topic_t t = {kp_str_c("t"), -1, -1, 0, NULL, 1, &cfg};
    kp_createtopics_request_t req = {1, &t, 30000, false};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_createtopics_request_encode(&w, 4, &req), 0);
    expect_bytes(&w, createtopics_request_v4, sizeof(createtopics_request_v4));
    kp_writer_free(&w);
}
END_TEST

START_TEST(createtopics_request_is_what_the_broker_decodes) {
    int32_t row0[] = {1, 2}, row1[] = {2, 3};
    kp_createtopics_assignment_t as[] = {{0, 2, row0}, {1, 2, row1}};
    kp_createtopics_topic_t t = {kp_str_c("orders"), -1, -1, 2, as, 0, NULL};
    kp_createtopics_request_t req = {1, &t, 1000, true};

    for (int16_t v = 0; v <= KP_CLIENT_CREATETOPICS_VERSION_MAX; v++) {
        kp_writer_t w;
        kp_reader_t r;
        kp_createtopics_request_t got;
        kp_writer_init(&w);
        ck_assert_int_eq(kp_client_createtopics_request_encode(&w, v, &req), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_createtopics_request_decode(&r, v, &got), 0);
        ck_assert_int_eq(got.n_topics, 1);
        ck_assert(kp_str_eq(got.topics[0].name, "orders"));
        ck_assert_int_eq(got.topics[0].n_assignments, 2);
        ck_assert_int_eq(got.topics[0].assignments[1].broker_ids[1], 3);
        ck_assert_int_eq(got.timeout_ms, 1000);
        ck_assert(got.validate_only == (v >= 1));
        kp_createtopics_request_clear(&got);
        kp_writer_free(&w);
    }
}
END_TEST

static int createtopics_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_createtopics_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_createtopics_response_decode(&r, v, &resp);
    kp_client_createtopics_response_clear(&resp);
    return rc;
}

START_TEST(createtopics_response_decodes_the_fixture_and_the_broker_encoding) {
    kp_client_createtopics_response_t resp;
    kp_reader_t r;

    kp_reader_init(&r, createtopics_response_v2, sizeof(createtopics_response_v2));
    ck_assert_int_eq(kp_client_createtopics_response_decode(&r, 2, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 1);
    ck_assert(kp_str_eq(resp.topics[0].name, "t"));
    ck_assert_int_eq(resp.topics[0].error_code, KP_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert(kp_str_eq(resp.topics[0].error_message, "exists"));
    kp_client_createtopics_response_clear(&resp);
    protofix_truncations_fail(createtopics_verdict, createtopics_response_v2, sizeof(createtopics_response_v2), 2);
    protofix_trailing_fails(createtopics_verdict, createtopics_response_v2, sizeof(createtopics_response_v2), 2);

    kp_createtopics_response_topic_t topics[] = {{kp_str_c("a"), 0, KP_STR_NULL}, {kp_str_c("b"), 37, kp_str_c("no")}};
    kp_createtopics_response_t sent = {7, 2, topics};
    for (int16_t v = 0; v <= KP_CLIENT_CREATETOPICS_VERSION_MAX; v++) {
        kp_writer_t w;
        kp_writer_init(&w);
        ck_assert_int_eq(kp_createtopics_response_encode(&w, v, &sent), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_client_createtopics_response_decode(&r, v, &resp), 0);
        ck_assert_int_eq(resp.n_topics, 2);
        ck_assert_int_eq(resp.throttle_time_ms, v >= 2 ? 7 : 0);
        ck_assert_int_eq(resp.topics[1].error_code, 37);
        ck_assert(v == 0 ? resp.topics[1].error_message.len < 0 : kp_str_eq(resp.topics[1].error_message, "no"));
        kp_client_createtopics_response_clear(&resp);
        kp_writer_free(&w);
    }
}
END_TEST

/* ------------------------------------------------------------ DeleteTopics */

static const uint8_t deletetopics_request_v3[] = {
    0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 'a', 0x00, 0x02, 'b', 'b', /* topic_names */
    0x00, 0x00, 0x75, 0x30,                                         /* timeout_ms */
};
static const uint8_t deletetopics_request_v4[] = {
    0x03, 0x02, 'a', 0x03, 'b', 'b', /* compact topic_names */
    0x00, 0x00, 0x75, 0x30,          /* timeout_ms */
    0x00,                            /* tags */
};
static const uint8_t deletetopics_response_v1[] = {
    0x00, 0x00, 0x00, 0x05,                         /* throttle_time_ms */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x00, /* responses: a, no error */
};
static const uint8_t deletetopics_response_v4[] = {
    0x00, 0x00, 0x00, 0x00,                   /* throttle_time_ms */
    0x02, 0x02, 'a', 0x00, 0x49, 0x00,        /* responses: a, TOPIC_DELETION_DISABLED, tags */
    0x00,                                     /* tags */
};

START_TEST(deletetopics_request_bytes_follow_the_schema) {
    kp_str_t names[] = {kp_str_c("a"), kp_str_c("bb")};
    kp_client_deletetopics_request_t req = {2, names, 30000};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_deletetopics_request_encode(&w, 3, &req), 0);
    expect_bytes(&w, deletetopics_request_v3, sizeof(deletetopics_request_v3));
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_deletetopics_request_encode(&w, 4, &req), 0);
    expect_bytes(&w, deletetopics_request_v4, sizeof(deletetopics_request_v4));
    kp_writer_reset(&w);
    ck_assert_int_ne(kp_client_deletetopics_request_encode(&w, 5, &req), 0);
    kp_writer_free(&w);
}
END_TEST

static int deletetopics_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_deletetopics_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_deletetopics_response_decode(&r, v, &resp);
    kp_client_deletetopics_response_clear(&resp);
    return rc;
}

START_TEST(deletetopics_response_decodes_classic_and_flexible) {
    kp_client_deletetopics_response_t resp;
    kp_reader_t r;

    kp_reader_init(&r, deletetopics_response_v1, sizeof(deletetopics_response_v1));
    ck_assert_int_eq(kp_client_deletetopics_response_decode(&r, 1, &resp), 0);
    ck_assert_int_eq(resp.throttle_time_ms, 5);
    ck_assert_int_eq(resp.n_responses, 1);
    ck_assert(kp_str_eq(resp.responses[0].name, "a"));
    kp_client_deletetopics_response_clear(&resp);
    kp_reader_init(&r, deletetopics_response_v4, sizeof(deletetopics_response_v4));
    ck_assert_int_eq(kp_client_deletetopics_response_decode(&r, 4, &resp), 0);
    ck_assert_int_eq(resp.responses[0].error_code, KP_ERR_TOPIC_DELETION_DISABLED);
    kp_client_deletetopics_response_clear(&resp);
    protofix_truncations_fail(deletetopics_verdict, deletetopics_response_v1, sizeof(deletetopics_response_v1), 1);
    protofix_trailing_fails(deletetopics_verdict, deletetopics_response_v1, sizeof(deletetopics_response_v1), 1);
    protofix_truncations_fail(deletetopics_verdict, deletetopics_response_v4, sizeof(deletetopics_response_v4), 4);
    protofix_trailing_fails(deletetopics_verdict, deletetopics_response_v4, sizeof(deletetopics_response_v4), 4);
    /* v0 has no throttle time: the v1 fixture without it. */
    ck_assert_int_eq(deletetopics_verdict(deletetopics_response_v1 + 4, sizeof(deletetopics_response_v1) - 4, 0), 0);
}
END_TEST

START_TEST(deletetopics_response_refuses_counts_beyond_the_bytes) {
    static const uint8_t huge[] = {0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a', 0x00, 0x00};
    static const uint8_t negative[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xfe};
    static const uint8_t huge_flex[] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00};
    ck_assert_int_ne(deletetopics_verdict(huge, sizeof(huge), 1), 0);
    ck_assert_int_ne(deletetopics_verdict(negative, sizeof(negative), 1), 0);
    ck_assert_int_ne(deletetopics_verdict(huge_flex, sizeof(huge_flex), 4), 0);
}
END_TEST

/* -------------------------------------------------------- CreatePartitions */

static const uint8_t createpartitions_request_v1[] = {
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', /* topics: t */
    0x00, 0x00, 0x00, 0x04,                  /* count */
    0xff, 0xff, 0xff, 0xff,                  /* assignments: null */
    0x00, 0x00, 0x75, 0x30, 0x00,            /* timeout_ms, validate_only */
};
static const uint8_t createpartitions_request_v2[] = {
    0x02, 0x02, 't',                                                  /* topics: t */
    0x00, 0x00, 0x00, 0x04,                                           /* count */
    0x03,                                                             /* assignments: 2 */
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,       /* [1, 2], tags */
    0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00,       /* [2, 3], tags */
    0x00,                                                             /* topic tags */
    0x00, 0x00, 0x75, 0x30, 0x00, 0x00,                               /* timeout_ms, validate_only, tags */
};
static const uint8_t createpartitions_response_v1[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,   /* throttle_time_ms, results */
    0x00, 0x01, 't', 0x00, 0x25, 0x00, 0x03, 'b', 'a', 'd', /* t, INVALID_PARTITIONS, "bad" */
};
static const uint8_t createpartitions_response_v2[] = {
    0x00, 0x00, 0x00, 0x00, 0x02,         /* throttle_time_ms, results */
    0x02, 't', 0x00, 0x00, 0x00, 0x00,    /* t, no error, null message, tags */
    0x00,                                 /* tags */
};

START_TEST(createpartitions_request_bytes_follow_the_schema) {
    int32_t row0[] = {1, 2}, row1[] = {2, 3};
    kp_client_createpartitions_assignment_t as[] = {{2, row0}, {2, row1}};
    kp_client_createpartitions_topic_t placed = {kp_str_c("t"), 4, 2, as}, free_ = {kp_str_c("t"), 4, -1, NULL};
    kp_client_createpartitions_request_t req = {1, &free_, 30000, false};
    kp_writer_t w;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_createpartitions_request_encode(&w, 1, &req), 0);
    expect_bytes(&w, createpartitions_request_v1, sizeof(createpartitions_request_v1));
    kp_writer_reset(&w);
    req.topics = &placed;
    ck_assert_int_eq(kp_client_createpartitions_request_encode(&w, 2, &req), 0);
    expect_bytes(&w, createpartitions_request_v2, sizeof(createpartitions_request_v2));
    kp_writer_reset(&w);
    ck_assert_int_ne(kp_client_createpartitions_request_encode(&w, 3, &req), 0);
    kp_writer_free(&w);
}
END_TEST

static int createpartitions_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_createpartitions_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_createpartitions_response_decode(&r, v, &resp);
    kp_client_createpartitions_response_clear(&resp);
    return rc;
}

START_TEST(createpartitions_response_decodes_classic_and_flexible) {
    kp_client_createpartitions_response_t resp;
    kp_reader_t r;

    kp_reader_init(&r, createpartitions_response_v1, sizeof(createpartitions_response_v1));
    ck_assert_int_eq(kp_client_createpartitions_response_decode(&r, 1, &resp), 0);
    ck_assert_int_eq(resp.results[0].error_code, KP_ERR_INVALID_PARTITIONS);
    ck_assert(kp_str_eq(resp.results[0].error_message, "bad"));
    kp_client_createpartitions_response_clear(&resp);
    kp_reader_init(&r, createpartitions_response_v2, sizeof(createpartitions_response_v2));
    ck_assert_int_eq(kp_client_createpartitions_response_decode(&r, 2, &resp), 0);
    ck_assert(kp_str_eq(resp.results[0].name, "t"));
    ck_assert_int_lt(resp.results[0].error_message.len, 0);
    kp_client_createpartitions_response_clear(&resp);
    protofix_truncations_fail(createpartitions_verdict, createpartitions_response_v1,
                              sizeof(createpartitions_response_v1), 1);
    protofix_trailing_fails(createpartitions_verdict, createpartitions_response_v1, sizeof(createpartitions_response_v1),
                            1);
    protofix_truncations_fail(createpartitions_verdict, createpartitions_response_v2,
                              sizeof(createpartitions_response_v2), 2);
    protofix_trailing_fails(createpartitions_verdict, createpartitions_response_v2, sizeof(createpartitions_response_v2),
                            2);
}
END_TEST

/* ----------------------------------------------------------------- configs */

static const uint8_t describeconfigs_request_v1[] = {
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', /* resources: TOPIC t */
    0xff, 0xff, 0xff, 0xff,                        /* configuration_keys: null */
    0x01,                                          /* include_synonyms */
};
static const uint8_t describeconfigs_response_v1[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* throttle_time_ms, results */
    0x00, 0x00, 0xff, 0xff, 0x02, 0x00, 0x01, 't',  /* no error, null message, TOPIC t */
    0x00, 0x00, 0x00, 0x01,                         /* configs */
    0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x00, 0x01, 0x00, /* k=v, not read-only, DYNAMIC_TOPIC, not sensitive */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x01, /* synonyms: k=v DYNAMIC_TOPIC */
};
static const uint8_t alterconfigs_request_v0[] = {
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't',                   /* resources: TOPIC t */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x00, /* configs: k=v; validate_only */
};
static const uint8_t alterconfigs_response_v0[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* throttle_time_ms, responses */
    0x00, 0x28, 0x00, 0x01, 'x', 0x02, 0x00, 0x01, 't', /* INVALID_CONFIG "x", TOPIC t */
};

START_TEST(configs_requests_follow_the_schema_and_the_broker_reads_them) {
    kp_describeconfigs_resource_t dres = {KP_RESOURCE_TOPIC, kp_str_c("t"), -1, NULL};
    kp_describeconfigs_request_t dreq = {1, &dres, true};
    kp_alterconfigs_entry_t e = {kp_str_c("k"), kp_str_c("v")};
    kp_alterconfigs_resource_t ares = {KP_RESOURCE_TOPIC, kp_str_c("t"), 1, &e};
    kp_alterconfigs_request_t areq = {1, &ares, false};
    kp_alterconfigs_request_t got;
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_describeconfigs_request_encode(&w, 1, &dreq), 0);
    expect_bytes(&w, describeconfigs_request_v1, sizeof(describeconfigs_request_v1));
    kp_writer_reset(&w);
    ck_assert_int_ne(kp_client_describeconfigs_request_encode(&w, 0, &dreq), 0);
    kp_writer_reset(&w);
    ck_assert_int_eq(kp_client_alterconfigs_request_encode(&w, 0, &areq), 0);
    expect_bytes(&w, alterconfigs_request_v0, sizeof(alterconfigs_request_v0));
    kp_reader_init(&r, w.buf, w.len);
    ck_assert_int_eq(kp_alterconfigs_request_decode(&r, 0, &got), 0);
    ck_assert(kp_str_eq(got.resources[0].configs[0].value, "v"));
    kp_alterconfigs_request_clear(&got);
    kp_writer_free(&w);
}
END_TEST

static int describeconfigs_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_describeconfigs_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_describeconfigs_response_decode(&r, v, &resp);
    kp_client_describeconfigs_response_clear(&resp);
    return rc;
}

static int alterconfigs_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_alterconfigs_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_alterconfigs_response_decode(&r, v, &resp);
    kp_client_alterconfigs_response_clear(&resp);
    return rc;
}

START_TEST(describeconfigs_response_decodes_the_fixture_and_the_broker_encoding) {
    kp_client_describeconfigs_response_t resp;
    kp_reader_t r;

    kp_reader_init(&r, describeconfigs_response_v1, sizeof(describeconfigs_response_v1));
    ck_assert_int_eq(kp_client_describeconfigs_response_decode(&r, 1, &resp), 0);
    ck_assert_int_eq(resp.results[0].n_configs, 1);
    ck_assert(kp_str_eq(resp.results[0].configs[0].value, "v"));
    ck_assert_int_eq(resp.results[0].configs[0].config_source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    ck_assert_int_eq(resp.results[0].configs[0].synonyms[0].source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    ck_assert_str_eq(kp_config_source_name(resp.results[0].configs[0].synonyms[0].source), "DYNAMIC_TOPIC_CONFIG");
    kp_client_describeconfigs_response_clear(&resp);
    protofix_truncations_fail(describeconfigs_verdict, describeconfigs_response_v1,
                              sizeof(describeconfigs_response_v1), 1);
    protofix_trailing_fails(describeconfigs_verdict, describeconfigs_response_v1, sizeof(describeconfigs_response_v1), 2);

    kp_config_synonym_t syn = {"log.retention.hours", "100", KP_CONFIG_SOURCE_STATIC_BROKER};
    kp_describeconfigs_config_t cfg = {"retention.ms", NULL, false, false, KP_CONFIG_SOURCE_STATIC_BROKER, true, 1, &syn};
    kp_describeconfigs_result_t res = {0, NULL, KP_RESOURCE_TOPIC, kp_str_c("orders"), 1, &cfg};
    kp_describeconfigs_response_t sent = {0, 1, &res};
    kp_writer_t w;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_describeconfigs_response_encode(&w, 2, &sent), 0);
    kp_reader_init(&r, w.buf, w.len);
    ck_assert_int_eq(kp_client_describeconfigs_response_decode(&r, 2, &resp), 0);
    ck_assert_int_lt(resp.results[0].configs[0].value.len, 0);
    ck_assert(resp.results[0].configs[0].is_sensitive);
    ck_assert(kp_str_eq(resp.results[0].configs[0].synonyms[0].value, "100"));
    kp_client_describeconfigs_response_clear(&resp);
    kp_writer_free(&w);
    ck_assert_str_eq(kp_config_source_name(9), "UNKNOWN");
}
END_TEST

START_TEST(alterconfigs_response_decodes_and_refuses_hostile_answers) {
    static const uint8_t huge[] = {0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
    kp_client_alterconfigs_response_t resp;
    kp_reader_t r;

    kp_reader_init(&r, alterconfigs_response_v0, sizeof(alterconfigs_response_v0));
    ck_assert_int_eq(kp_client_alterconfigs_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.responses[0].error_code, KP_ERR_INVALID_CONFIG);
    ck_assert(kp_str_eq(resp.responses[0].error_message, "x"));
    kp_client_alterconfigs_response_clear(&resp);
    protofix_truncations_fail(alterconfigs_verdict, alterconfigs_response_v0, sizeof(alterconfigs_response_v0), 1);
    protofix_trailing_fails(alterconfigs_verdict, alterconfigs_response_v0, sizeof(alterconfigs_response_v0), 1);
    ck_assert_int_ne(alterconfigs_verdict(huge, sizeof(huge), 0), 0);
    ck_assert_int_ne(describeconfigs_verdict(huge, sizeof(huge), 1), 0);
}
END_TEST

/* ------------------------------------------------------------- ApiVersions */

static const uint8_t apiversions_response_v0[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x14, 0x00, 0x00, 0x00, 0x04, /* no error; DeleteTopics 0-4 */
};
static const uint8_t apiversions_response_v3[] = {
    0x00, 0x00, 0x02, 0x00, 0x25, 0x00, 0x00, 0x00, 0x02, 0x00, /* CreatePartitions 0-2, tags */
    0x00, 0x00, 0x00, 0x00, 0x00,                               /* throttle_time_ms, tags */
};

static int apiversions_verdict(const uint8_t *body, size_t len, int16_t v) {
    kp_reader_t r;
    kp_client_apiversions_response_t resp;
    kp_reader_init(&r, body, len);
    int rc = kp_client_apiversions_response_decode(&r, v, &resp);
    kp_client_apiversions_response_clear(&resp);
    return rc;
}

START_TEST(apiversions_response_decodes_fixtures_and_the_broker_encoding) {
    kp_client_apiversions_response_t resp;
    kp_reader_t r;
    kp_writer_t w;

    kp_reader_init(&r, apiversions_response_v0, sizeof(apiversions_response_v0));
    ck_assert_int_eq(kp_client_apiversions_response_decode(&r, 0, &resp), 0);
    ck_assert_int_eq(resp.n_api_keys, 1);
    ck_assert_int_eq(resp.api_keys[0].api_key, KP_API_DELETE_TOPICS);
    ck_assert_int_eq(resp.api_keys[0].max_version, 4);
    kp_client_apiversions_response_clear(&resp);
    kp_reader_init(&r, apiversions_response_v3, sizeof(apiversions_response_v3));
    ck_assert_int_eq(kp_client_apiversions_response_decode(&r, 3, &resp), 0);
    ck_assert_int_eq(resp.api_keys[0].api_key, KP_API_CREATE_PARTITIONS);
    kp_client_apiversions_response_clear(&resp);
    protofix_truncations_fail(apiversions_verdict, apiversions_response_v0, sizeof(apiversions_response_v0), 0);
    protofix_trailing_fails(apiversions_verdict, apiversions_response_v3, sizeof(apiversions_response_v3), 3);

    kp_apiversion_t keys[] = {{KP_API_METADATA, 0, 6}, {KP_API_CREATE_TOPICS, 0, 4}};
    kp_apiversions_response_t sent = {0, 2, keys, 0};
    for (int16_t v = 0; v <= KP_APIVERSIONS_VERSION_MAX; v++) {
        kp_writer_init(&w);
        ck_assert_int_eq(kp_apiversions_response_encode(&w, v, &sent), 0);
        kp_reader_init(&r, w.buf, w.len);
        ck_assert_int_eq(kp_client_apiversions_response_decode(&r, v, &resp), 0);
        ck_assert_int_eq(resp.api_keys[1].max_version, 4);
        kp_client_apiversions_response_clear(&resp);
        kp_writer_free(&w);
    }
    kp_writer_init(&w);
    ck_assert_int_eq(kp_client_apiversions_request_encode(&w, 0), 0);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_int_ne(kp_client_apiversions_request_encode(&w, 3), 0);
    kp_writer_free(&w);
}
END_TEST

Suite *client_admin_codecs_suite(void) {
    Suite *s = suite_create("client_admin_codecs");
    TCase *topics = tcase_create("topics"), *configs = tcase_create("configs"), *versions = tcase_create("versions");

    tcase_add_test(topics, createtopics_request_bytes_follow_the_schema);
    tcase_add_test(topics, createtopics_request_is_what_the_broker_decodes);
    tcase_add_test(topics, createtopics_response_decodes_the_fixture_and_the_broker_encoding);
    tcase_add_test(topics, deletetopics_request_bytes_follow_the_schema);
    tcase_add_test(topics, deletetopics_response_decodes_classic_and_flexible);
    tcase_add_test(topics, deletetopics_response_refuses_counts_beyond_the_bytes);
    tcase_add_test(topics, createpartitions_request_bytes_follow_the_schema);
    tcase_add_test(topics, createpartitions_response_decodes_classic_and_flexible);
    tcase_add_test(configs, configs_requests_follow_the_schema_and_the_broker_reads_them);
    tcase_add_test(configs, describeconfigs_response_decodes_the_fixture_and_the_broker_encoding);
    tcase_add_test(configs, alterconfigs_response_decodes_and_refuses_hostile_answers);
    tcase_add_test(versions, apiversions_response_decodes_fixtures_and_the_broker_encoding);
    suite_add_tcase(s, topics);
    suite_add_tcase(s, configs);
    suite_add_tcase(s, versions);
    return s;
}
