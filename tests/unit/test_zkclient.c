/*
 * test_zkclient.c - libkcoord's side of the ZooKeeper C client: its log
 * lines parsed and rate-limited per call site (coord/kc_zk_log.c, with
 * kc_ratelimit_t from common/kc_log.c), the size of a create request as
 * ZooKeeper measures it, and topic plans refused when their znode would not
 * fit in one request (coord/kc_topics.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "coord/kc_topics.h"
#include "coord/kc_zk.h"
#include "coord/kc_zk_log.h"
#include "tests/unit/unit.h"

#define CLIENT_LINE(site, text) "2024-01-01 10:00:00,123:4242:ZOO_ERROR@" site ": " text

START_TEST(client_line_is_split_into_level_site_and_text) {
    char site[96];
    int level;
    const char *text = kc_zk_log_parse(CLIENT_LINE("handle_socket_error_msg@2185",
                                                   "Socket [127.0.0.1:1] zk retcode=-4, errno=111(Connection refused)"),
                                       &level, site, sizeof(site));
    ck_assert_int_eq(level, 0);
    ck_assert_str_eq(site, "handle_socket_error_msg@2185");
    ck_assert_str_eq(text, "Socket [127.0.0.1:1] zk retcode=-4, errno=111(Connection refused)");
    text = kc_zk_log_parse("2024-01-01 10:00:00,123:4242:ZOO_WARN@zookeeper_interest@2200: Exceeded deadline by 12ms",
                           &level, site, sizeof(site));
    ck_assert_int_eq(level, 1);
    ck_assert_str_eq(text, "Exceeded deadline by 12ms");
}
END_TEST

START_TEST(line_in_another_format_is_kept_whole) {
    char site[96];
    int level;
    const char *text = kc_zk_log_parse("something else: entirely", &level, site, sizeof(site));
    ck_assert_int_eq(level, -1);
    ck_assert_str_eq(text, "something else: entirely");
}
END_TEST

START_TEST(ratelimit_lets_one_line_through_and_counts_the_rest) {
    kc_ratelimit_t rl = {0};
    uint64_t dropped = 99;
    ck_assert(kc_ratelimit_allow(&rl, 60000, &dropped));
    ck_assert_uint_eq(dropped, 0);
    for (int i = 0; i < 5; i++) ck_assert(!kc_ratelimit_allow(&rl, 60000, &dropped));
    ck_assert_uint_eq(rl.suppressed, 5);
    rl.last_ms = 1; /* the interval has passed */
    ck_assert(kc_ratelimit_allow(&rl, 60000, &dropped));
    ck_assert_uint_eq(dropped, 5);
    ck_assert_uint_eq(rl.suppressed, 0);
}
END_TEST

/* Runs fn with stderr going to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void)) {
    char path[] = "/tmp/kb-unit-stderr-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)len + 1);
    ck_assert_int_eq(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return text;
}

static void hundred_refusals_then_flush(void) {
    kc_log_init("unit", 3, KC_LOG_INFO);
    for (int i = 0; i < 100; i++)
        kc_zk_log_callback(CLIENT_LINE("unit_site@1", "Socket [127.0.0.1:1] zk retcode=-4\n"));
    kc_zk_log_flush();
}

START_TEST(repeated_client_lines_come_out_once_in_our_format_with_a_count) {
    char *out = capture_stderr(hundred_refusals_then_flush);
    int lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++) lines++;
    ck_assert_msg(lines == 2, "expected the line and one summary, got:\n%s", out);
    ck_assert_ptr_nonnull(strstr(out, "ERROR unit[3] zkclient: unit_site@1: Socket [127.0.0.1:1] zk retcode=-4\n"));
    ck_assert_ptr_nonnull(strstr(out, "zkclient: unit_site@1: 99 similar lines suppressed"));
    ck_assert_ptr_null(strstr(out, "ZOO_ERROR@"));
    free(out);
}
END_TEST

/* Measured against ZooKeeper 3.8: with this path, 1048509 bytes of data
 * made a request of exactly 0xfffff bytes, which the server took; one byte
 * more and it dropped the connection. */
START_TEST(create_request_size_matches_what_zookeeper_measures) {
    ck_assert_uint_eq(kc_zk_create_request_size("/brokers/topics/abc", 1048509), KC_ZK_MAX_REQUEST_BYTES);
}
END_TEST

START_TEST(znode_size_is_the_length_of_the_encoded_topic) {
    static const int32_t ids[][3] = {{1, 2, 3}, {0, 10, 123456}, {-1, 7, 2147483647}, {2, -2147483647 - 1, 9}};
    for (int n = 0; n <= 12; n++) {
        kc_topic_t t = {.name = "t", .n_partitions = n};
        kc_partition_t parts[12];
        t.partitions = parts;
        for (int p = 0; p < n; p++) {
            parts[p] = (kc_partition_t){.replicas = (int32_t *)ids[p % 4], .n_replicas = p % 4};
            /* Some partitions being reassigned, so the two objects have 0, 1 and more entries. */
            if (p % 3 == 1) parts[p].adding = (int32_t *)ids[(p + 1) % 4], parts[p].n_adding = p % 4;
            if (p % 5 == 2) parts[p].removing = (int32_t *)ids[(p + 2) % 4], parts[p].n_removing = 1 + p % 3;
        }
        char *json = kc_json_topic_encode(&t);
        ck_assert_ptr_nonnull(json);
        ck_assert_msg(kc_topic_znode_size(&t) == strlen(json), "%zu != strlen(%s)", kc_topic_znode_size(&t), json);
        free(json);
    }
}
END_TEST

static int plan(int32_t partitions, int32_t rf, int16_t *err, char *why, size_t whylen) {
    int32_t live[] = {1, 2, 3};
    kc_topic_t out;
    int rc = kc_topic_plan("big", partitions, rf, NULL, live, NULL, 3, &out, err, why, whylen);
    kc_topic_clear(&out);
    return rc;
}

START_TEST(plan_whose_topic_znode_exceeds_the_request_limit_is_refused_naming_it) {
    char why[512];
    int16_t err = 0;
    ck_assert_int_eq(plan(100000, 1, &err, why, sizeof(why)), KC_INVALID);
    ck_assert_int_eq(err, 37);
    ck_assert_msg(strstr(why, "1 MiB") && strstr(why, "jute.maxbuffer") && strstr(why, "100000 partitions"), "%s",
                  why);
    ck_assert_int_eq(plan(80000, 3, &err, why, sizeof(why)), KC_INVALID);
    ck_assert_int_eq(err, 37);
}
END_TEST

START_TEST(plan_just_under_the_limit_is_accepted) {
    char why[512];
    int16_t err = 0;
    ck_assert_int_eq(plan(80000, 1, &err, why, sizeof(why)), KC_OK);
    ck_assert_int_eq(err, 0);
}
END_TEST

/* An explicit assignment whose partition lists no broker is refused as
 * such (39), not as a replica-count mismatch. */
START_TEST(assignment_with_an_empty_partition_is_refused_naming_it) {
    int32_t live[] = {1, 2, 3}, two[] = {1, 2};
    kc_partition_t parts[2] = {{.replicas = two, .n_replicas = 2}, {.replicas = two, .n_replicas = 0}};
    kc_topic_t assignment = {.name = "t", .n_partitions = 1, .partitions = &parts[1]}, out;
    char why[512];
    int16_t err = 0;
    ck_assert_int_eq(kc_topic_plan("t", 1, -1, &assignment, live, NULL, 3, &out, &err, why, sizeof(why)), KC_INVALID);
    kc_topic_clear(&out);
    ck_assert_int_eq(err, 39);
    ck_assert_str_eq(why, "partition 0 is assigned to no broker");
    assignment = (kc_topic_t){.name = "t", .n_partitions = 2, .partitions = parts};
    ck_assert_int_eq(kc_topic_plan("t", 2, -1, &assignment, live, NULL, 3, &out, &err, why, sizeof(why)), KC_INVALID);
    kc_topic_clear(&out);
    ck_assert_str_eq(why, "partition 1 is assigned to no broker");
}
END_TEST

START_TEST(count_that_can_never_fit_is_refused_before_planning) {
    char why[512];
    int16_t err = 0;
    ck_assert_int_eq(plan(KC_TOPIC_MAX_PARTITIONS + 1, 1, &err, why, sizeof(why)), KC_INVALID);
    ck_assert_int_eq(err, 37);
    ck_assert_ptr_nonnull(strstr(why, "1 MiB"));
    ck_assert_int_eq(plan(INT32_MAX, 1, &err, why, sizeof(why)), KC_INVALID);
}
END_TEST

/* kc_topic_check_new and kc_topic_live_brokers over a plain array, as the
 * broker's cache and kbroker-admin's view hand theirs in. */
static const char *const existing[] = {"a.b", "a_b.c", "a_b_c", "logs", "metrics"}; /* strcmp order */
static const char *existing_at(int i, const void *arg) { return ((const char *const *)arg)[i]; }
static int32_t id_at(int i, const void *arg) { return ((const int32_t *)arg)[i]; }

START_TEST(new_topic_check_finds_existing_and_colliding_names) {
    char why[512];
    int16_t err = 0;
    ck_assert_int_eq(kc_topic_check_new("logs", 5, existing_at, existing, &err, why, sizeof(why)), KC_EXISTS);
    ck_assert_int_eq(err, 36);
    ck_assert_str_eq(why, "Topic 'logs' already exists.");
    ck_assert_int_eq(kc_topic_check_new("metrics", 5, existing_at, existing, &err, why, sizeof(why)), KC_EXISTS);
    ck_assert_int_eq(kc_topic_check_new("a_b", 5, existing_at, existing, &err, why, sizeof(why)), KC_INVALID);
    ck_assert_int_eq(err, 17);
    /* AdminZkClient.validateTopicCreate's words, every colliding name. */
    ck_assert_str_eq(why, "Topic 'a_b' collides with existing topics: a.b");
    ck_assert_int_eq(kc_topic_check_new("a.b.c", 5, existing_at, existing, &err, why, sizeof(why)), KC_INVALID);
    ck_assert_str_eq(why, "Topic 'a.b.c' collides with existing topics: a_b.c, a_b_c");
    ck_assert_int_eq(kc_topic_check_new("a.b.c", 5, existing_at, existing, &err, why, 40), KC_INVALID);
    ck_assert_str_eq(why, "Topic 'a.b.c' collides with existing to");
    ck_assert_int_eq(kc_topic_check_new("fresh", 5, existing_at, existing, &err, why, sizeof(why)), KC_OK);
    ck_assert_int_eq(kc_topic_check_new("fresh", 0, existing_at, NULL, &err, why, sizeof(why)), KC_OK);
}
END_TEST

START_TEST(live_brokers_come_out_ascending) {
    const int32_t ids[] = {7, 2, 5};
    int32_t *live = kc_topic_live_brokers(3, id_at, ids);
    ck_assert_ptr_nonnull(live);
    ck_assert_int_eq(live[0], 2);
    ck_assert_int_eq(live[1], 5);
    ck_assert_int_eq(live[2], 7);
    free(live);
    live = kc_topic_live_brokers(0, id_at, NULL);
    ck_assert_ptr_nonnull(live);
    free(live);
}
END_TEST

Suite *zkclient_suite(void) {
    Suite *s = suite_create("zkclient");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, client_line_is_split_into_level_site_and_text);
    tcase_add_test(tc, line_in_another_format_is_kept_whole);
    tcase_add_test(tc, ratelimit_lets_one_line_through_and_counts_the_rest);
    tcase_add_test(tc, repeated_client_lines_come_out_once_in_our_format_with_a_count);
    tcase_add_test(tc, create_request_size_matches_what_zookeeper_measures);
    tcase_add_test(tc, znode_size_is_the_length_of_the_encoded_topic);
    tcase_add_test(tc, plan_whose_topic_znode_exceeds_the_request_limit_is_refused_naming_it);
    tcase_add_test(tc, plan_just_under_the_limit_is_accepted);
    tcase_add_test(tc, count_that_can_never_fit_is_refused_before_planning);
    tcase_add_test(tc, assignment_with_an_empty_partition_is_refused_naming_it);
    tcase_add_test(tc, new_topic_check_finds_existing_and_colliding_names);
    tcase_add_test(tc, live_brokers_come_out_ascending);
    suite_add_tcase(s, tc);
    return s;
}
