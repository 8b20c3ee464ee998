/*
 * test_reassign_json.c - the JSON of /admin/reassign_partitions and of
 * kafka-reassign-partitions.sh's plan files (coord/kc_reassign.h): what
 * Kafka writes decodes, what we write is what Kafka writes, and every
 * malformed request is refused with a reason.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_reassign.h"
#include "tests/unit/unit.h"

static int decode(const char *json, kc_reassign_entry_t **e, int *n, char *why, size_t whylen) {
    return kc_reassign_decode(json, strlen(json), e, n, why, whylen);
}

/* The spec's example (zk-and-replication.md 1.9), as Kafka 2.6's
 * ReassignPartitionsZNode.encode writes it. */
static const char spec_example[] =
    "{\"version\":1,\"partitions\":[{\"topic\":\"orders\",\"partition\":0,\"replicas\":[4,5,6]},"
    "{\"topic\":\"orders\",\"partition\":1,\"replicas\":[5,6,4]}]}";

START_TEST(decode_spec_example) {
    kc_reassign_entry_t *e;
    int n;
    char why[200];
    ck_assert_int_eq(decode(spec_example, &e, &n, why, sizeof(why)), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(e[0].topic, "orders");
    ck_assert_int_eq(e[0].partition, 0);
    ck_assert_int_eq(e[0].n_replicas, 3);
    ck_assert_int_eq(e[0].replicas[0], 4);
    ck_assert_int_eq(e[0].replicas[2], 6);
    ck_assert_int_eq(e[1].partition, 1);
    ck_assert_int_eq(e[1].replicas[0], 5);
    kc_reassign_entries_free(e, n);
}
END_TEST

START_TEST(encode_matches_kafka_and_round_trips) {
    int32_t r0[] = {4, 5, 6}, r1[] = {5, 6, 4};
    kc_reassign_entry_t in[] = {{"orders", 0, 3, r0}, {"orders", 1, 3, r1}};
    char *json = kc_reassign_encode(in, 2);
    ck_assert_str_eq(json, spec_example);
    kc_reassign_entry_t *e;
    int n;
    ck_assert_int_eq(kc_reassign_decode(json, strlen(json), &e, &n, NULL, 0), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(e[1].replicas[2], 4);
    kc_reassign_entries_free(e, n);
    free(json);
}
END_TEST

/* What kafka-reassign-partitions.sh --generate prints and --execute takes:
 * log_dirs "any" per replica; no version means version 1. */
START_TEST(decode_plan_file_with_log_dirs) {
    static const char plan[] = "{\"partitions\":[{\"topic\":\"t\",\"partition\":3,\"replicas\":[1,2],"
                               "\"log_dirs\":[\"any\",\"any\"]}]}";
    kc_reassign_entry_t *e;
    int n;
    ck_assert_int_eq(decode(plan, &e, &n, NULL, 0), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(e[0].partition, 3);
    kc_reassign_entries_free(e, n);
}
END_TEST

START_TEST(decode_empty_partitions_list) {
    kc_reassign_entry_t *e = (kc_reassign_entry_t *)1;
    int n = 7;
    ck_assert_int_eq(decode("{\"version\":1,\"partitions\":[]}", &e, &n, NULL, 0), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(e);
}
END_TEST

static const struct {
    const char *json;
    const char *why; /* a part of the reason */
} bad[] = {
    {"", "not a valid JSON"},
    {"[1]", "not a valid JSON"},
    {"{\"version\":1,\"partitions\":[", "not a valid JSON"},
    {"{\"version\":2,\"partitions\":[]}", "Not supported version field value 2"},
    {"{\"version\":\"1\",\"partitions\":[]}", "version"},
    {"{\"version\":1}", "partitions"},
    {"{\"version\":1,\"partitions\":{}}", "partitions"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[]}]}",
     "Partition replica list cannot be empty"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2,1]}]}",
     "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,-2]}]}", "Invalid broker id"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,\"2\"]}]}", "Invalid broker id"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[2147483648]}]}",
     "Invalid broker id"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}", "no replicas"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":-1,\"replicas\":[1]}]}", "invalid partition"},
    {"{\"version\":1,\"partitions\":[{\"topic\":1,\"partition\":0,\"replicas\":[1]}]}", "topic"},
    {"{\"version\":1,\"partitions\":[{\"partition\":0,\"replicas\":[1]}]}", "topic"},
    {"{\"version\":1,\"partitions\":[7]}", "topic"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1]},"
     "{\"topic\":\"u\",\"partition\":0,\"replicas\":[1]},{\"topic\":\"t\",\"partition\":0,\"replicas\":[2]}]}",
     "Partition reassignment contains duplicate topic partitions: t-0"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\"]}]}",
     "Size of replicas list"},
    {"{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1],\"log_dirs\":[\"/d\"]}]}",
     "log_dirs"},
    {"{\"version\":1,\"version\":1,\"partitions\":[]}", "not a valid JSON"}, /* duplicate key */
};

START_TEST(decode_refuses_malformed_with_a_reason) {
    kc_reassign_entry_t *e = (kc_reassign_entry_t *)1;
    int n = 7;
    char why[300] = "";
    ck_assert_msg(decode(bad[_i].json, &e, &n, why, sizeof(why)) == -1, "accepted: %s", bad[_i].json);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(strstr(why, bad[_i].why) != NULL, "%s: reason '%s' lacks '%s'", bad[_i].json, why, bad[_i].why);
}
END_TEST

/* Duplicates are found however far apart, without a quadratic search. */
START_TEST(decode_finds_a_duplicate_among_many) {
    size_t cap = 40000 * 64;
    char *json = malloc(cap), *p = json;
    p += sprintf(p, "{\"version\":1,\"partitions\":[");
    for (int i = 0; i < 40000; i++)
        p += sprintf(p, "%s{\"topic\":\"t\",\"partition\":%d,\"replicas\":[1]}", i ? "," : "", i == 39999 ? 17 : i);
    sprintf(p, "]}");
    kc_reassign_entry_t *e;
    int n;
    char why[300];
    ck_assert_int_eq(decode(json, &e, &n, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "t-17"));
    free(json);
}
END_TEST

Suite *reassign_json_suite(void) {
    Suite *s = suite_create("reassign_json");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, decode_spec_example);
    tcase_add_test(tc, encode_matches_kafka_and_round_trips);
    tcase_add_test(tc, decode_plan_file_with_log_dirs);
    tcase_add_test(tc, decode_empty_partitions_list);
    tcase_add_loop_test(tc, decode_refuses_malformed_with_a_reason, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, decode_finds_a_duplicate_among_many);
    suite_add_tcase(s, tc);
    return s;
}
