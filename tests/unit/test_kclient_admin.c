/*
 * test_kclient_admin.c - libkclient's topic and config session
 * (client/kcl_admin.h) against a scripted broker (fakebroker.h): the
 * version of each request comes from the broker's ApiVersions answer, and a
 * broker without an API is named without the request being sent; topic
 * changes go to the controller and follow it after NOT_CONTROLLER; a
 * refusal carries the broker's own message (else Kafka's standard text);
 * Metadata for every topic comes back sorted by name and partition.
 */
#include <stdio.h>
#include <string.h>

#include "client/kcl_admin.h"
#include "proto/kp_apiversions.h"
#include "proto/kp_createtopics.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"
#include "tests/unit/fakebroker.h"
#include "tests/unit/unit.h"

#define GENEROUS_MS 20000

typedef struct {
    int port;
    bool has_delete;           /* ApiVersions lists DeleteTopics 0-3 */
    int not_controller_first;  /* CreateTopics answers NOT_CONTROLLER this many times */
    int16_t create_error;      /* then this, with create_message */
    const char *create_message;
    int16_t delete_error;
} script_t;

static void answer_apiversions(script_t *s, kp_writer_t *w) {
    kp_apiversion_t keys[] = {{KP_API_METADATA, 0, 6},       {KP_API_CREATE_TOPICS, 0, 4},
                              {KP_API_DESCRIBE_CONFIGS, 1, 2}, {KP_API_ALTER_CONFIGS, 0, 1},
                              {KP_API_DELETE_TOPICS, 0, 3}};
    kp_apiversions_response_t resp = {0, s->has_delete ? 5 : 4, keys, 0};
    ck_assert_int_eq(kp_apiversions_response_encode(w, 0, &resp), 0);
}

/* Broker 1, the controller; with every topic asked: "zeta" and "alpha",
 * alpha's partitions in reverse order. */
static void answer_metadata(script_t *s, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    static const int32_t one[] = {1};
    kp_metadata_response_broker_t brokers[] = {{1, {9, "127.0.0.1"}, s->port, KP_STR_NULL}};
    const kp_metadata_response_partition_t parts[] = {{0, 1, 1, 1, one, 1, one, 0, NULL},
                                                      {0, 0, -1, 1, one, 0, NULL, 0, NULL}};
    kp_metadata_response_topic_t topics[] = {{0, {4, "zeta"}, false, 0, NULL}, {0, {5, "alpha"}, false, 2, parts}};
    kp_metadata_request_t req;

    ck_assert_int_eq(kp_metadata_request_decode(body, v, &req), 0);
    kp_metadata_response_t resp = {0, 1, brokers, {2, "fk"}, 1, req.n_topics < 0 ? 2 : 0, topics};
    kp_metadata_request_clear(&req);
    ck_assert_int_eq(kp_metadata_response_encode(w, v, &resp), 0);
}

static void answer_createtopics(script_t *s, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    kp_createtopics_request_t req;
    ck_assert_int_eq(v, 4);
    ck_assert_int_eq(kp_createtopics_request_decode(body, v, &req), 0);
    ck_assert(kp_str_eq(req.topics[0].name, "t"));
    ck_assert_int_eq(req.topics[0].num_partitions, -1);
    ck_assert(kp_str_eq(req.topics[0].configs[0].value, "128000"));
    kp_createtopics_response_topic_t t = {req.topics[0].name, s->create_error, kp_str_c(s->create_message)};
    if (s->not_controller_first > 0) {
        s->not_controller_first--;
        t.error_code = KP_ERR_NOT_CONTROLLER;
    }
    kp_createtopics_response_t resp = {0, 1, &t};
    ck_assert_int_eq(kp_createtopics_response_encode(w, v, &resp), 0);
    kp_createtopics_request_clear(&req);
}

/* DeleteTopics v3 by hand (kbroker has no broker-side codec; the fake
 * speaks classic headers only, so the broker here says 0-3). */
static void answer_deletetopics(script_t *s, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(kp_read_array_count(body, 2), 1);
    kp_str_t name = kp_read_string(body);
    ck_assert_int_eq(kp_read_int32(body), 30000);
    ck_assert_int_eq(kp_reader_expect_end(body), 0);
    kp_write_int32(w, 0);
    kp_write_array_count(w, 1);
    kp_write_str(w, name);
    kp_write_int16(w, s->delete_error);
}

static fb_action_t handle(void *arg, int16_t key, int16_t v, kp_reader_t *body, kp_writer_t *w) {
    script_t *s = arg;
    switch (key) {
    case KP_API_API_VERSIONS: answer_apiversions(s, w); break;
    case KP_API_METADATA: answer_metadata(s, body, v, w); break;
    case KP_API_CREATE_TOPICS: answer_createtopics(s, body, v, w); break;
    case KP_API_DELETE_TOPICS: answer_deletetopics(s, body, v, w); break;
    default: ck_abort_msg("unexpected API key %d", key);
    }
    return FB_ANSWER;
}

/* Opens a session on a fake broker running script s. */
static kcl_admin_t *open_on(fakebroker_t **fb, script_t *s) {
    char bootstrap[64];
    kcl_admin_t *a = NULL;
    kcl_error_t err = {0};

    *fb = fakebroker_start(handle, s);
    s->port = fakebroker_port(*fb);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", s->port);
    kcl_options_t o = {bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_admin_open(&o, &a, &err), KCL_OK);
    return a;
}

static const kcl_kv_t max_bytes = {"max.message.bytes", "128000"};

START_TEST(create_topic_follows_the_controller_after_not_controller) {
    script_t s = {.not_controller_first = 1};
    fakebroker_t *fb;
    kcl_admin_t *a = open_on(&fb, &s);
    kcl_new_topic_t t = {"t", -1, -1, 0, 0, NULL, 1, &max_bytes, false};
    kcl_error_t err = {0};

    ck_assert_int_eq(kcl_admin_create_topic(a, &t, &err), KCL_OK);
    ck_assert_int_eq(fakebroker_seen(fb, KP_API_CREATE_TOPICS), 2);
    ck_assert_int_eq(fakebroker_seen(fb, KP_API_API_VERSIONS), 1);
    ck_assert_int_ge(fakebroker_seen(fb, KP_API_METADATA), 3); /* open, controller, controller again */
    kcl_admin_close(a);
    fakebroker_stop(fb);
}
END_TEST

START_TEST(a_refusal_carries_the_brokers_message_or_kafkas_text) {
    script_t s = {.create_error = KP_ERR_TOPIC_ALREADY_EXISTS, .create_message = "Topic 't' already exists."};
    fakebroker_t *fb;
    kcl_admin_t *a = open_on(&fb, &s);
    kcl_new_topic_t t = {"t", -1, -1, 0, 0, NULL, 1, &max_bytes, false};
    kcl_error_t err = {0};

    ck_assert_int_eq(kcl_admin_create_topic(a, &t, &err), KCL_EBROKER);
    ck_assert_int_eq(err.kafka_error, KP_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert_str_eq(err.message, "Topic 't' already exists.");
    s.create_message = NULL;
    s.create_error = KP_ERR_INVALID_REPLICATION_FACTOR;
    ck_assert_int_eq(kcl_admin_create_topic(a, &t, &err), KCL_EBROKER);
    ck_assert_str_eq(err.message, "Replication factor is below 1 or larger than the number of available brokers.");
    kcl_admin_close(a);
    fakebroker_stop(fb);
}
END_TEST

START_TEST(a_broker_without_delete_topics_is_named_and_not_asked) {
    script_t s = {.has_delete = false};
    fakebroker_t *fb;
    kcl_admin_t *a = open_on(&fb, &s);
    char topic[] = "t", *names[] = {topic};
    kcl_error_t err = {0};

    ck_assert_int_eq(kcl_admin_delete_topics(a, names, 1, &err), KCL_EUNSUPPORTED);
    ck_assert_str_eq(err.message, "broker 1 does not support DeleteTopics (API key 20)");
    ck_assert_int_eq(fakebroker_seen(fb, KP_API_DELETE_TOPICS), 0);
    kcl_admin_close(a);
    fakebroker_stop(fb);
}
END_TEST

START_TEST(delete_topics_speaks_the_highest_common_version_and_names_a_refused_topic) {
    script_t s = {.has_delete = true};
    fakebroker_t *fb;
    kcl_admin_t *a = open_on(&fb, &s);
    char topic[] = "t", *names[] = {topic};
    kcl_error_t err = {0};

    ck_assert_int_eq(kcl_admin_delete_topics(a, names, 1, &err), KCL_OK);
    s.delete_error = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    ck_assert_int_eq(kcl_admin_delete_topics(a, names, 1, &err), KCL_EBROKER);
    ck_assert_str_eq(err.message, "Topic 't' does not exist");
    ck_assert_int_eq(err.kafka_error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kcl_admin_close(a);
    fakebroker_stop(fb);
}
END_TEST

START_TEST(describe_cluster_sorts_topics_and_partitions) {
    script_t s = {0};
    fakebroker_t *fb;
    kcl_admin_t *a = open_on(&fb, &s);
    kcl_cluster_info_t info;
    kcl_error_t err = {0};

    ck_assert_int_eq(kcl_admin_describe_cluster(a, &info, &err), KCL_OK);
    ck_assert_int_eq(info.controller, 1);
    ck_assert_int_eq(info.n_brokers, 1);
    ck_assert_int_eq(info.n_topics, 2);
    ck_assert_str_eq(info.topics[0].name, "alpha");
    ck_assert_int_eq(info.topics[0].partitions[0].partition, 0);
    ck_assert_int_eq(info.topics[0].partitions[0].leader, -1);
    ck_assert_int_eq(info.topics[0].partitions[0].n_isr, 0);
    ck_assert_int_eq(info.topics[0].partitions[1].leader, 1);
    ck_assert_str_eq(info.topics[1].name, "zeta");
    kcl_cluster_info_clear(&info);
    kcl_admin_close(a);
    fakebroker_stop(fb);
}
END_TEST

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

START_TEST(failures_are_worded_as_kafkas_admin_client_exceptions) {
    char buf[700];
    kcl_error_t e = {0};

    kcl_fail_kafka(&e, KP_ERR_INVALID_PARTITIONS, "x");
    snprintf(e.message, sizeof(e.message), "Topic currently has 3 partitions, which is higher than the requested 2.");
    ck_assert_str_eq(kcl_exception_text(&e, buf, sizeof(buf)),
                     "org.apache.kafka.common.errors.InvalidPartitionsException: Topic currently has 3 partitions, "
                     "which is higher than the requested 2.");
    e.kafka_error = KP_ERR_TOPIC_DELETION_DISABLED;
    snprintf(e.message, sizeof(e.message), "Topic deletion is disabled.");
    ck_assert_str_eq(kcl_exception_text(&e, buf, sizeof(buf)),
                     "org.apache.kafka.common.errors.TopicDeletionDisabledException: Topic deletion is disabled.");
    /* The one class outside the errors package, a name without the
     * suffix, the code a 2.6 client does not know, and -1. */
    e.kafka_error = KP_ERR_INVALID_RECORD;
    ck_assert_str_eq(kcl_exception_text(&e, buf, 54), "org.apache.kafka.common.InvalidRecordException: Topic");
    e.kafka_error = KP_ERR_OFFSET_METADATA_TOO_LARGE;
    ck_assert(starts_with(kcl_exception_text(&e, buf, sizeof(buf)),
                          "org.apache.kafka.common.errors.OffsetMetadataTooLarge: "));
    e.kafka_error = 89;
    ck_assert(starts_with(kcl_exception_text(&e, buf, sizeof(buf)),
                          "org.apache.kafka.common.errors.UnknownServerException: "));
    e.kafka_error = KP_ERR_UNKNOWN_SERVER_ERROR;
    ck_assert(starts_with(kcl_exception_text(&e, buf, sizeof(buf)),
                          "org.apache.kafka.common.errors.UnknownServerException: "));
    kcl_fail(&e, KCL_ETIMEOUT, "no answer from broker 1 within 30000 ms");
    ck_assert_str_eq(kcl_exception_text(&e, buf, sizeof(buf)),
                     "org.apache.kafka.common.errors.TimeoutException: no answer from broker 1 within 30000 ms");
    kcl_fail(&e, KCL_EPROTOCOL, "garbage");
    ck_assert_str_eq(kcl_exception_text(&e, buf, sizeof(buf)), "garbage");
}
END_TEST

Suite *kclient_admin_suite(void) {
    Suite *s = suite_create("kclient_admin");
    TCase *tc = tcase_create("admin");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, create_topic_follows_the_controller_after_not_controller);
    tcase_add_test(tc, a_refusal_carries_the_brokers_message_or_kafkas_text);
    tcase_add_test(tc, a_broker_without_delete_topics_is_named_and_not_asked);
    tcase_add_test(tc, delete_topics_speaks_the_highest_common_version_and_names_a_refused_topic);
    tcase_add_test(tc, describe_cluster_sorts_topics_and_partitions);
    tcase_add_test(tc, failures_are_worded_as_kafkas_admin_client_exceptions);
    suite_add_tcase(s, tc);
    return s;
}
