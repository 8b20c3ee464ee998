/*
 * test_topic_grow.c - adding partitions (coord/kc_topic_grow.c): the
 * judgement and plan against Kafka 2.6's refusals and messages, and the
 * topic znode rewrite (coord/kc_json.c), which appends the new partitions
 * and keeps everything else.  The ZooKeeper round trip itself runs in
 * tests/integration/test_zo_grow_topics.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_json.h"
#include "coord/kc_topic_grow.h"
#include "coord/kc_zk.h"
#include "tests/unit/unit.h"

static const int32_t three[] = {0, 1, 2};

/* A topic of n partitions, replication factor rf, laid out like the
 * spec's 6-partition example (partition p led by broker p % 3). */
static void make_topic(kc_topic_t *t, int n, int rf) {
    memset(t, 0, sizeof(*t));
    t->partitions = calloc((size_t)n, sizeof(*t->partitions));
    t->n_partitions = n;
    for (int p = 0; p < n; p++) {
        t->partitions[p].n_replicas = rf;
        t->partitions[p].replicas = calloc((size_t)rf, sizeof(int32_t));
        for (int j = 0; j < rf; j++) t->partitions[p].replicas[j] = (p + j) % 3;
    }
}

/* An assignment parsed from "0:1,1:2" (test input only, well-formed). */
static void make_assignment(kc_topic_t *a, const char *text) {
    memset(a, 0, sizeof(*a));
    a->n_partitions = 1;
    for (const char *s = text; *s; s++) a->n_partitions += *s == ',';
    a->partitions = calloc((size_t)a->n_partitions, sizeof(*a->partitions));
    const char *s = text;
    for (int p = 0; p < a->n_partitions; p++) {
        a->partitions[p].replicas = calloc(16, sizeof(int32_t));
        while (*s && *s != ',') {
            char *end;
            long id = strtol(s, &end, 10);
            if (end == s) {
                s++; /* the ':' between ids */
                continue;
            }
            a->partitions[p].replicas[a->partitions[p].n_replicas++] = (int32_t)id;
            s = end;
        }
        if (*s == ',') s++;
    }
}

typedef struct {
    int rc;
    int16_t err;
    char why[512];
    kc_topic_t added;
} plan_t;

static void plan(plan_t *out, const kc_topic_t *cur, const char *name, int32_t count, const char *assignment,
                 bool lists_all, const int32_t *brokers, int n_brokers) {
    kc_topic_t a;
    if (assignment) make_assignment(&a, assignment);
    out->why[0] = '\0';
    out->rc = kc_topic_plan_growth(cur, name, count, assignment ? &a : NULL, lists_all, brokers, NULL, n_brokers,
                                   &out->added, &out->err, out->why, sizeof(out->why));
    if (assignment) kc_topic_clear(&a);
}

static void assert_refused(const plan_t *p, int16_t err, const char *why) {
    ck_assert_int_eq(p->rc, KC_INVALID);
    ck_assert_int_eq(p->err, err);
    ck_assert_str_eq(p->why, why);
    ck_assert_int_eq(p->added.n_partitions, 0);
}

static void assert_lists(const kc_topic_t *t, int rf, const int32_t *want) {
    for (int p = 0; p < t->n_partitions; p++) {
        ck_assert_int_eq(t->partitions[p].n_replicas, rf);
        for (int j = 0; j < rf; j++) ck_assert_int_eq(t->partitions[p].replicas[j], want[p * rf + j]);
    }
}

START_TEST(growth_uses_kafka_placement) {
    kc_topic_t cur;
    plan_t p;
    const int32_t want[] = {0, 2, 1, 1, 0, 2};
    make_topic(&cur, 6, 3);
    plan(&p, &cur, "orders", 8, NULL, false, three, 3);
    ck_assert_int_eq(p.rc, KC_OK);
    ck_assert_int_eq(p.added.n_partitions, 2);
    assert_lists(&p.added, 3, want);
    kc_topic_clear(&p.added);
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(shrinking_and_same_count_are_refused) {
    kc_topic_t cur;
    plan_t p;
    make_topic(&cur, 6, 3);
    plan(&p, &cur, "orders", 4, NULL, false, three, 3);
    assert_refused(&p, 37, "Topic currently has 6 partitions, which is higher than the requested 4.");
    plan(&p, &cur, "orders", 6, NULL, false, three, 3);
    assert_refused(&p, 37, "Topic already has 6 partitions.");
    plan(&p, &cur, "orders", -1, NULL, false, three, 3);
    assert_refused(&p, 37, "Topic currently has 6 partitions, which is higher than the requested -1.");
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(too_many_partitions_are_refused_before_allocating) {
    kc_topic_t cur;
    plan_t p;
    make_topic(&cur, 1, 1);
    plan(&p, &cur, "orders", INT32_MAX, NULL, false, three, 3);
    ck_assert_int_eq(p.rc, KC_INVALID);
    ck_assert_int_eq(p.err, 37);
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(internal_topics_are_refused) {
    kc_topic_t cur;
    plan_t p;
    make_topic(&cur, 3, 1);
    plan(&p, &cur, "__consumer_offsets", 60, NULL, false, three, 3);
    ck_assert_int_eq(p.rc, KC_INVALID);
    ck_assert_int_eq(p.err, 37);
    ck_assert_ptr_nonnull(strstr(p.why, "internal topic __consumer_offsets cannot be changed"));
    plan(&p, &cur, "__transaction_state", 60, NULL, false, three, 3);
    ck_assert_int_eq(p.err, 37);
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(replication_factor_above_brokers_is_refused) {
    kc_topic_t cur;
    plan_t p;
    make_topic(&cur, 3, 3);
    plan(&p, &cur, "orders", 4, NULL, false, three, 2);
    assert_refused(&p, 38, "Replication factor: 3 larger than available brokers: 2.");
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(explicit_assignment_is_taken) {
    kc_topic_t cur;
    plan_t p;
    const int32_t want[] = {2, 0, 0, 1};
    make_topic(&cur, 3, 2);
    plan(&p, &cur, "orders", 5, "2:0,0:1", false, three, 3);
    ck_assert_int_eq(p.rc, KC_OK);
    ck_assert_int_eq(p.added.n_partitions, 2);
    assert_lists(&p.added, 2, want);
    kc_topic_clear(&p.added);
    kc_topic_clear(&cur);
}
END_TEST

/* kafka-topics.sh --alter takes a list for every partition and ignores
 * the existing ones' entries; the new-only form stays accepted. */
START_TEST(tool_assignment_may_list_every_partition) {
    kc_topic_t cur;
    plan_t p;
    const int32_t want[] = {2, 0, 0, 1};
    make_topic(&cur, 3, 2);
    plan(&p, &cur, "orders", 5, "9:8,9:8,9:8,2:0,0:1", true, three, 3);
    ck_assert_int_eq(p.rc, KC_OK);
    assert_lists(&p.added, 2, want);
    kc_topic_clear(&p.added);
    plan(&p, &cur, "orders", 5, "2:0,0:1", true, three, 3);
    ck_assert_int_eq(p.rc, KC_OK);
    assert_lists(&p.added, 2, want);
    kc_topic_clear(&p.added);
    plan(&p, &cur, "orders", 5, "9:8,9:8,9:8,2:0,0:1", false, three, 3);
    assert_refused(&p, 39, "Unknown broker(s) in replica assignment: 9, 8.");
    kc_topic_clear(&cur);
}
END_TEST

START_TEST(malformed_assignments_are_refused_with_kafka_messages) {
    kc_topic_t cur;
    plan_t p;
    make_topic(&cur, 3, 2);
    plan(&p, &cur, "orders", 5, "2:0", false, three, 3);
    assert_refused(&p, 39, "Increasing the number of partitions by 2 but 1 assignments provided.");
    plan(&p, &cur, "orders", 5, "2:0,0:1,1:2", false, three, 3);
    assert_refused(&p, 39, "Increasing the number of partitions by 2 but 3 assignments provided.");
    plan(&p, &cur, "orders", 5, "2:7,0:5:7", false, three, 3);
    assert_refused(&p, 39, "Unknown broker(s) in replica assignment: 7, 5.");
    plan(&p, &cur, "orders", 5, "2:2,0:1", false, three, 3);
    assert_refused(&p, 39, "Duplicate brokers not allowed in replica assignment: 2, 2 for partition id 3.");
    plan(&p, &cur, "orders", 5, "2:0,,", false, three, 3);
    assert_refused(&p, 39, "Increasing the number of partitions by 2 but 3 assignments provided.");
    plan(&p, &cur, "orders", 6, "2:0,,1:2", false, three, 3);
    assert_refused(&p, 39, "Cannot have replication factor of 0 for partition id 4.");
    plan(&p, &cur, "orders", 6, "2:0,1,0:1:2", false, three, 3);
    assert_refused(&p, 39, "Inconsistent replication factor between partitions, partition 0 has 2 while "
                           "partitions [4, 5] have replication factors [1, 3], respectively.");
    kc_topic_clear(&cur);
}
END_TEST

/* ---- the topic znode rewrite ---- */

static char *add_two(const char *json) {
    int32_t a[] = {0, 2, 1}, b[] = {1, 0, 2};
    kc_partition_t added[2] = {{.n_replicas = 3, .replicas = a}, {.n_replicas = 3, .replicas = b}};
    return kc_json_topic_add_partitions(json, strlen(json), added, 2, 6);
}

static const char six_v2[] =
    "{\"version\":2,\"partitions\":{\"0\":[0,1,2],\"1\":[1,2,0],\"2\":[2,0,1],\"3\":[0,2,1],"
    "\"4\":[1,0,2],\"5\":[2,1,0]},\"adding_replicas\":{},\"removing_replicas\":{}}";

START_TEST(rewrite_appends_partitions) {
    char *json = add_two(six_v2);
    ck_assert_str_eq(json, "{\"version\":2,\"partitions\":{\"0\":[0,1,2],\"1\":[1,2,0],\"2\":[2,0,1],"
                           "\"3\":[0,2,1],\"4\":[1,0,2],\"5\":[2,1,0],\"6\":[0,2,1],\"7\":[1,0,2]},"
                           "\"adding_replicas\":{},\"removing_replicas\":{}}");
    kc_topic_t t;
    ck_assert_int_eq(kc_json_topic_decode(json, strlen(json), &t), 0);
    ck_assert_int_eq(t.n_partitions, 8);
    kc_topic_clear(&t);
    free(json);
}
END_TEST

START_TEST(rewrite_keeps_other_keys_and_raises_v1) {
    const char v3[] = "{\"version\":3,\"topic_id\":\"vD1Ii3HqQVmEzbQ2s8pF7w\",\"partitions\":{\"0\":[0],\"1\":[1],"
                      "\"2\":[2],\"3\":[0],\"4\":[1],\"5\":[2]},\"adding_replicas\":{},\"removing_replicas\":{},"
                      "\"future\":[1]}";
    char *json = add_two(v3);
    ck_assert_ptr_nonnull(strstr(json, "\"version\":3,\"topic_id\":\"vD1Ii3HqQVmEzbQ2s8pF7w\""));
    ck_assert_ptr_nonnull(strstr(json, "\"5\":[2],\"6\":[0,2,1],\"7\":[1,0,2]}"));
    ck_assert_ptr_nonnull(strstr(json, "\"future\":[1]"));
    free(json);
    const char v1[] = "{\"version\":1,\"partitions\":{\"0\":[0],\"1\":[1],\"2\":[2],\"3\":[0],\"4\":[1],\"5\":[2]}}";
    json = add_two(v1);
    ck_assert_str_eq(json, "{\"version\":2,\"partitions\":{\"0\":[0],\"1\":[1],\"2\":[2],\"3\":[0],\"4\":[1],"
                           "\"5\":[2],\"6\":[0,2,1],\"7\":[1,0,2]},\"adding_replicas\":{},\"removing_replicas\":{}}");
    free(json);
}
END_TEST

START_TEST(rewrite_refuses_an_unexpected_partition_count) {
    const char five[] = "{\"version\":2,\"partitions\":{\"0\":[0],\"1\":[1],\"2\":[2],\"3\":[0],\"4\":[1]}}";
    ck_assert_ptr_null(add_two(five));
    ck_assert_ptr_null(add_two("{\"version\":2}"));
    ck_assert_ptr_null(add_two("[1]"));
    ck_assert_ptr_null(add_two("{\"partitions\":{}}"));
}
END_TEST

START_TEST(reassignment_markers_are_seen) {
    const char moving[] = "{\"version\":2,\"partitions\":{\"0\":[4,5,6,1,2,3]},\"adding_replicas\":{\"0\":[4,5,6]},"
                          "\"removing_replicas\":{\"0\":[1,2,3]}}";
    const char adding_only[] = "{\"version\":2,\"partitions\":{\"0\":[4,1]},\"adding_replicas\":{\"0\":[4]}}";
    ck_assert(kc_json_topic_reassigning(moving, strlen(moving)));
    ck_assert(kc_json_topic_reassigning(adding_only, strlen(adding_only)));
    ck_assert(!kc_json_topic_reassigning(six_v2, strlen(six_v2)));
    ck_assert(!kc_json_topic_reassigning("x", 1));

    const char plan_json[] = "{\"version\":1,\"partitions\":[{\"topic\":\"a\",\"partition\":0,\"replicas\":[1]},"
                             "{\"topic\":\"orders\",\"partition\":3,\"replicas\":[2]}]}";
    ck_assert(kc_json_reassignment_names_topic(plan_json, strlen(plan_json), "orders"));
    ck_assert(!kc_json_reassignment_names_topic(plan_json, strlen(plan_json), "order"));
    ck_assert(!kc_json_reassignment_names_topic("{\"partitions\":7}", 16, "orders"));
}
END_TEST

Suite *topic_grow_suite(void) {
    Suite *s = suite_create("topic_grow");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, growth_uses_kafka_placement);
    tcase_add_test(tc, shrinking_and_same_count_are_refused);
    tcase_add_test(tc, too_many_partitions_are_refused_before_allocating);
    tcase_add_test(tc, internal_topics_are_refused);
    tcase_add_test(tc, replication_factor_above_brokers_is_refused);
    tcase_add_test(tc, explicit_assignment_is_taken);
    tcase_add_test(tc, tool_assignment_may_list_every_partition);
    tcase_add_test(tc, malformed_assignments_are_refused_with_kafka_messages);
    tcase_add_test(tc, rewrite_appends_partitions);
    tcase_add_test(tc, rewrite_keeps_other_keys_and_raises_v1);
    tcase_add_test(tc, rewrite_refuses_an_unexpected_partition_count);
    tcase_add_test(tc, reassignment_markers_are_seen);
    suite_add_tcase(s, tc);
    return s;
}
