/*
 * test_configs.c - DescribeConfigs and AlterConfigs request decoding and
 * response encoding (proto/kp_configs.c).
 *
 * The request fixtures are whole frames captured from real clients through
 * a TCP proxy in front of kbroker: librdkafka 2.0.2 (confluent-kafka 1.7.0)
 * DescribeConfigs v1 for a topic and a broker and AlterConfigs v0, and
 * kafka-python 2.0.2 DescribeConfigs v2 with configuration_keys and
 * AlterConfigs v1.  Responses are checked byte by byte in v0 (is_default)
 * and v1 (config_source and synonyms).  Broken bodies (truncated, trailing
 * bytes, counts larger than the bytes left, a null resource name) must
 * fail without allocating for the bogus counts.
 */
#include <string.h>

#include "proto/kp_configs.h"
#include "proto/kp_header.h"
#include "proto/kp_types.h"
#include "tests/unit/protofix.h"
#include "tests/unit/unit.h"

/* librdkafka: DescribeConfigs v1, correlation id 3: TOPIC "test" and
 * BROKER "1", all keys (null), include_synonyms true. */
static const uint8_t rdkafka_describe_v1[] = {
    0x00, 0x00, 0x00, 0x29, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, /* size 41, key 32, v1, corr 3 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',                           /* client_id */
    0x00, 0x00, 0x00, 0x02,                                                 /* resources: 2 */
    0x02, 0x00, 0x04, 't', 'e', 's', 't', 0xff, 0xff, 0xff, 0xff,           /* TOPIC test, keys null */
    0x04, 0x00, 0x01, '1', 0xff, 0xff, 0xff, 0xff,                          /* BROKER 1, keys null */
    0x01,                                                                   /* include_synonyms */
};

/* librdkafka: AlterConfigs v0, correlation id 4: TOPIC "test",
 * retention.ms=3600000, validate_only false. */
static const uint8_t rdkafka_alter_v0[] = {
    0x00, 0x00, 0x00, 0x38, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, /* size 56, key 33, v0, corr 4 */
    0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',                           /* client_id */
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x04, 't', 'e', 's', 't',           /* 1 resource: TOPIC test */
    0x00, 0x00, 0x00, 0x01,                                                 /* configs: 1 */
    0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's', /* retention.ms */
    0x00, 0x07, '3', '6', '0', '0', '0', '0', '0',                           /* 3600000 */
    0x00,                                                                   /* validate_only */
};

/* kafka-python: DescribeConfigs v2, correlation id 3: TOPIC "test", keys
 * ["retention.ms"], include_synonyms false. */
static const uint8_t kafka_python_describe_v2[] = {
    0x00, 0x00, 0x00, 0x3a, 0x00, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, /* size 58, key 32, v2, corr 3 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.', '2',
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x04, 't', 'e', 's', 't',           /* 1 resource: TOPIC test */
    0x00, 0x00, 0x00, 0x01,                                                 /* keys: 1 */
    0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's', /* retention.ms */
    0x00,                                                                   /* include_synonyms */
};

/* kafka-python: AlterConfigs v1, correlation id 4: TOPIC "test",
 * retention.ms=7200000 and cleanup.policy=delete. */
static const uint8_t kafka_python_alter_v1[] = {
    0x00, 0x00, 0x00, 0x5b, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, /* size 91, key 33, v1, corr 4 */
    0x00, 0x12, 'k', 'a', 'f', 'k', 'a', '-', 'p', 'y', 't', 'h', 'o', 'n', '-', '2', '.', '0', '.', '2',
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x04, 't', 'e', 's', 't',           /* 1 resource: TOPIC test */
    0x00, 0x00, 0x00, 0x02,                                                 /* configs: 2 */
    0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's', /* retention.ms */
    0x00, 0x07, '7', '2', '0', '0', '0', '0', '0',                           /* 7200000 */
    0x00, 0x0e, 'c', 'l', 'e', 'a', 'n', 'u', 'p', '.', 'p', 'o', 'l', 'i', 'c', 'y',
    0x00, 0x06, 'd', 'e', 'l', 'e', 't', 'e',                               /* cleanup.policy=delete */
    0x00,                                                                   /* validate_only */
};

/* Positions r at the body of a captured frame (request header v1). */
static int16_t open_frame(kp_reader_t *r, const uint8_t *frame, size_t len, int16_t key) {
    kp_request_header_t h;
    kp_reader_init(r, frame, len);
    ck_assert_int_eq(kp_read_int32(r), (int32_t)(len - 4));
    ck_assert_int_eq(kp_request_header_decode_ids(r, &h), 0);
    ck_assert_int_eq(h.request_api_key, key);
    ck_assert_int_eq(kp_request_header_decode_rest(r, 1, &h), 0);
    return h.request_api_version;
}

/* The body bytes of a captured frame, for the truncation tests. */
static const uint8_t *frame_body(const uint8_t *frame, size_t len, size_t *body_len) {
    size_t skip = 4 + 8 + 2 + ((size_t)frame[12] << 8 | frame[13]);
    *body_len = len - skip;
    return frame + skip;
}

static int decode_describe(const uint8_t *body, size_t len, int16_t version, kp_describeconfigs_request_t *req) {
    kp_reader_t r;
    kp_reader_init(&r, body, len);
    return kp_describeconfigs_request_decode(&r, version, req);
}

static int decode_alter(const uint8_t *body, size_t len, int16_t version, kp_alterconfigs_request_t *req) {
    kp_reader_t r;
    kp_reader_init(&r, body, len);
    return kp_alterconfigs_request_decode(&r, version, req);
}

/* ---- DescribeConfigs requests ---- */

START_TEST(librdkafka_describe_v1_decodes) {
    kp_reader_t r;
    kp_describeconfigs_request_t req;
    int16_t v = open_frame(&r, rdkafka_describe_v1, sizeof(rdkafka_describe_v1), KP_API_DESCRIBE_CONFIGS);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(kp_describeconfigs_request_decode(&r, v, &req), 0);
    ck_assert_int_eq(req.n_resources, 2);
    ck_assert_int_eq(req.resources[0].resource_type, KP_RESOURCE_TOPIC);
    ck_assert(kp_str_eq(req.resources[0].resource_name, "test"));
    ck_assert_int_eq(req.resources[0].n_configuration_keys, -1);
    ck_assert_int_eq(req.resources[1].resource_type, KP_RESOURCE_BROKER);
    ck_assert(kp_str_eq(req.resources[1].resource_name, "1"));
    ck_assert(req.include_synonyms);
    kp_describeconfigs_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_describe_v2_decodes_its_keys) {
    kp_reader_t r;
    kp_describeconfigs_request_t req;
    int16_t v = open_frame(&r, kafka_python_describe_v2, sizeof(kafka_python_describe_v2), KP_API_DESCRIBE_CONFIGS);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(kp_describeconfigs_request_decode(&r, v, &req), 0);
    ck_assert_int_eq(req.n_resources, 1);
    ck_assert_int_eq(req.resources[0].n_configuration_keys, 1);
    ck_assert(kp_str_eq(req.resources[0].configuration_keys[0], "retention.ms"));
    ck_assert(!req.include_synonyms);
    kp_describeconfigs_request_clear(&req);
}
END_TEST

START_TEST(describe_v0_has_no_include_synonyms) {
    size_t len;
    const uint8_t *body = frame_body(rdkafka_describe_v1, sizeof(rdkafka_describe_v1), &len);
    kp_describeconfigs_request_t req;
    /* The v1 body minus its last byte is a valid v0 body. */
    ck_assert_int_eq(decode_describe(body, len - 1, 0, &req), 0);
    ck_assert_int_eq(req.n_resources, 2);
    ck_assert(!req.include_synonyms);
    kp_describeconfigs_request_clear(&req);
    ck_assert_int_eq(decode_describe(body, len, 0, &req), KP_BUF_TRAILING);
    kp_describeconfigs_request_clear(&req);
}
END_TEST

START_TEST(every_truncation_of_a_describe_request_fails) {
    size_t len;
    const uint8_t *body = frame_body(rdkafka_describe_v1, sizeof(rdkafka_describe_v1), &len);
    for (size_t cut = 0; cut < len; cut++) {
        kp_describeconfigs_request_t req;
        ck_assert_int_ne(decode_describe(body, cut, 1, &req), 0);
        kp_describeconfigs_request_clear(&req);
    }
}
END_TEST

START_TEST(describe_counts_beyond_the_bytes_left_are_refused) {
    static const uint8_t huge_resources[] = {0x7f, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t huge_keys[] = {0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', 0x10, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t null_name[] = {0x00, 0x00, 0x00, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t null_resources[] = {0xff, 0xff, 0xff, 0xff, 0x01};
    kp_describeconfigs_request_t req;
    ck_assert_int_eq(decode_describe(huge_resources, sizeof(huge_resources), 1, &req), KP_BUF_SHORT);
    ck_assert_ptr_null(req.resources);
    kp_describeconfigs_request_clear(&req);
    ck_assert_int_eq(decode_describe(huge_keys, sizeof(huge_keys), 1, &req), KP_BUF_SHORT);
    kp_describeconfigs_request_clear(&req);
    ck_assert_int_ne(decode_describe(null_name, sizeof(null_name), 1, &req), 0);
    kp_describeconfigs_request_clear(&req);
    ck_assert_int_eq(decode_describe(null_resources, sizeof(null_resources), 1, &req), KP_BUF_INVALID);
    kp_describeconfigs_request_clear(&req);
    ck_assert_int_eq(decode_describe(null_resources, sizeof(null_resources), 3, &req), KP_BUF_INVALID);
    kp_describeconfigs_request_clear(&req);
}
END_TEST

/* ---- DescribeConfigs responses ---- */

static const kp_config_synonym_t retention_synonyms[] = {
    {"retention.ms", "1000", 1},
    {"log.retention.hours", "168", 5},
};

static const kp_describeconfigs_config_t retention = {
    .name = "retention.ms", .value = "1000", .read_only = false, .is_default = false,
    .config_source = 1, .is_sensitive = false, .n_synonyms = 2, .synonyms = retention_synonyms,
};

static const kp_describeconfigs_config_t password = {
    .name = "ssl.key.password", .value = NULL, .read_only = true, .is_default = true,
    .config_source = 5, .is_sensitive = true,
};

static void encode_describe(int16_t version, const kp_describeconfigs_result_t *results, int32_t n, kp_writer_t *w) {
    kp_describeconfigs_response_t resp = {0, n, results};
    kp_writer_init(w);
    ck_assert_int_eq(kp_describeconfigs_response_encode(w, version, &resp), 0);
}

START_TEST(describe_v1_response_carries_sources_and_synonyms) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00,                           /* throttle_time_ms */
        0x00, 0x00, 0x00, 0x01,                           /* results: 1 */
        0x00, 0x00, 0xff, 0xff,                           /* error 0, message null */
        0x02, 0x00, 0x01, 't',                            /* TOPIC "t" */
        0x00, 0x00, 0x00, 0x01,                           /* configs: 1 */
        0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's',
        0x00, 0x04, '1', '0', '0', '0',                   /* value */
        0x00, 0x01, 0x00,                                 /* read_only, source 1, sensitive */
        0x00, 0x00, 0x00, 0x02,                           /* synonyms: 2 */
        0x00, 0x0c, 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's',
        0x00, 0x04, '1', '0', '0', '0', 0x01,
        0x00, 0x13, 'l', 'o', 'g', '.', 'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'h', 'o', 'u', 'r', 's',
        0x00, 0x03, '1', '6', '8', 0x05,
    };
    kp_describeconfigs_result_t res = {0, NULL, KP_RESOURCE_TOPIC, kp_str_c("t"), 1, &retention};
    kp_writer_t w;
    encode_describe(1, &res, 1, &w);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(describe_v0_response_has_is_default_and_no_synonyms) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* throttle, results: 1 */
        0x00, 0x00, 0xff, 0xff, 0x04, 0x00, 0x01, '1',  /* ok, BROKER "1" */
        0x00, 0x00, 0x00, 0x01,                         /* configs: 1 */
        0x00, 0x10, 's', 's', 'l', '.', 'k', 'e', 'y', '.', 'p', 'a', 's', 's', 'w', 'o', 'r', 'd',
        0xff, 0xff,                                     /* value null */
        0x01, 0x01, 0x01,                               /* read_only, is_default, is_sensitive */
    };
    kp_describeconfigs_result_t res = {0, NULL, KP_RESOURCE_BROKER, kp_str_c("1"), 1, &password};
    kp_writer_t w;
    encode_describe(0, &res, 1, &w);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

START_TEST(describe_error_result_has_its_message_and_no_configs) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* throttle, results: 1 */
        0x00, 0x2a, 0x00, 0x03, 'b', 'a', 'd',          /* 42, "bad" */
        0x04, 0x00, 0x01, '2', 0x00, 0x00, 0x00, 0x00,  /* BROKER "2", configs: 0 */
    };
    kp_describeconfigs_result_t res = {KP_ERR_INVALID_REQUEST, "bad", KP_RESOURCE_BROKER, kp_str_c("2"), 0, NULL};
    kp_writer_t w;
    encode_describe(2, &res, 1, &w);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
    kp_writer_init(&w);
    kp_describeconfigs_response_t resp = {0, 1, &res};
    ck_assert_int_eq(kp_describeconfigs_response_encode(&w, 3, &resp), KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

/* ---- AlterConfigs ---- */

START_TEST(librdkafka_alter_v0_decodes) {
    kp_reader_t r;
    kp_alterconfigs_request_t req;
    int16_t v = open_frame(&r, rdkafka_alter_v0, sizeof(rdkafka_alter_v0), KP_API_ALTER_CONFIGS);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(kp_alterconfigs_request_decode(&r, v, &req), 0);
    ck_assert_int_eq(req.n_resources, 1);
    ck_assert_int_eq(req.resources[0].resource_type, KP_RESOURCE_TOPIC);
    ck_assert(kp_str_eq(req.resources[0].resource_name, "test"));
    ck_assert_int_eq(req.resources[0].n_configs, 1);
    ck_assert(kp_str_eq(req.resources[0].configs[0].name, "retention.ms"));
    ck_assert(kp_str_eq(req.resources[0].configs[0].value, "3600000"));
    ck_assert(!req.validate_only);
    kp_alterconfigs_request_clear(&req);
}
END_TEST

START_TEST(kafka_python_alter_v1_decodes_both_configs) {
    kp_reader_t r;
    kp_alterconfigs_request_t req;
    int16_t v = open_frame(&r, kafka_python_alter_v1, sizeof(kafka_python_alter_v1), KP_API_ALTER_CONFIGS);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(kp_alterconfigs_request_decode(&r, v, &req), 0);
    ck_assert_int_eq(req.resources[0].n_configs, 2);
    ck_assert(kp_str_eq(req.resources[0].configs[1].name, "cleanup.policy"));
    ck_assert(kp_str_eq(req.resources[0].configs[1].value, "delete"));
    kp_alterconfigs_request_clear(&req);
}
END_TEST

START_TEST(alter_null_value_decodes_as_null) {
    static const uint8_t body[] = {
        0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', /* TOPIC "t" */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0xff, 0xff, /* k = null */
        0x01,                                          /* validate_only */
    };
    kp_alterconfigs_request_t req;
    ck_assert_int_eq(decode_alter(body, sizeof(body), 0, &req), 0);
    ck_assert_int_lt(req.resources[0].configs[0].value.len, 0);
    ck_assert(req.validate_only);
    kp_alterconfigs_request_clear(&req);
}
END_TEST

START_TEST(broken_alter_requests_fail) {
    size_t len;
    const uint8_t *body = frame_body(kafka_python_alter_v1, sizeof(kafka_python_alter_v1), &len);
    static const uint8_t huge_configs[] = {0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', 0x00, 0x10, 0x00, 0x00, 0x00};
    kp_alterconfigs_request_t req;
    for (size_t cut = 0; cut < len; cut++) {
        ck_assert_int_ne(decode_alter(body, cut, 1, &req), 0);
        kp_alterconfigs_request_clear(&req);
    }
    ck_assert_int_eq(decode_alter(body, len, 2, &req), KP_BUF_INVALID);
    kp_alterconfigs_request_clear(&req);
    ck_assert_int_eq(decode_alter(huge_configs, sizeof(huge_configs), 0, &req), KP_BUF_SHORT);
    kp_alterconfigs_request_clear(&req);
}
END_TEST

START_TEST(alter_response_lists_each_resource) {
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* throttle, responses: 2 */
        0x00, 0x00, 0xff, 0xff, 0x02, 0x00, 0x01, 't',  /* ok, TOPIC "t" */
        0x00, 0x28, 0x00, 0x02, 'n', 'o', 0x02, 0x00, 0x01, 'u', /* 40 "no", TOPIC "u" */
    };
    kp_alterconfigs_result_t res[] = {
        {0, NULL, KP_RESOURCE_TOPIC, kp_str_c("t")},
        {KP_ERR_INVALID_CONFIG, "no", KP_RESOURCE_TOPIC, kp_str_c("u")},
    };
    kp_alterconfigs_response_t resp = {0, 2, res};
    kp_writer_t w;
    kp_writer_init(&w);
    ck_assert_int_eq(kp_alterconfigs_response_encode(&w, 1, &resp), 0);
    protofix_bytes(&w, want, sizeof(want));
    kp_writer_free(&w);
}
END_TEST

Suite *configs_suite(void) {
    Suite *s = suite_create("configs");
    TCase *tc = tcase_create("configs");
    tcase_add_test(tc, librdkafka_describe_v1_decodes);
    tcase_add_test(tc, kafka_python_describe_v2_decodes_its_keys);
    tcase_add_test(tc, describe_v0_has_no_include_synonyms);
    tcase_add_test(tc, every_truncation_of_a_describe_request_fails);
    tcase_add_test(tc, describe_counts_beyond_the_bytes_left_are_refused);
    tcase_add_test(tc, describe_v1_response_carries_sources_and_synonyms);
    tcase_add_test(tc, describe_v0_response_has_is_default_and_no_synonyms);
    tcase_add_test(tc, describe_error_result_has_its_message_and_no_configs);
    tcase_add_test(tc, librdkafka_alter_v0_decodes);
    tcase_add_test(tc, kafka_python_alter_v1_decodes_both_configs);
    tcase_add_test(tc, alter_null_value_decodes_as_null);
    tcase_add_test(tc, broken_alter_requests_fail);
    tcase_add_test(tc, alter_response_lists_each_resource);
    suite_add_tcase(s, tc);
    return s;
}
