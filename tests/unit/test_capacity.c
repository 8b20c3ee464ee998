/*
 * test_capacity.c - the request-time check that no broker gets more
 * partition replicas than its partition budget (broker/admin/kb_capacity.c)
 * and its use by CreateTopics (kb_topic_creator.c, validate_only and
 * auto-creation included) and CreatePartitions (kb_partition_adder.c,
 * through kc_topic_grow's accept hook, stood in for here): counts from the
 * cache, POLICY_VIOLATION with a message naming the broker, the counts,
 * the limit and the fix, and the topics of one request counted together.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_capacity.h"
#include "broker/admin/kb_partition_adder.h"
#include "broker/admin/kb_topic_creator.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kb_fd_budget.h"
#include "coord/kc_topic_grow.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

static kb_metadata_t *md;
/* RLIMIT_NOFILE 200 with one log dir: room for 115 logs per broker. */
static kb_fd_budget_t budget;
static int writes;

static void setup(void) {
    logfix_setup("capacity");
    md = kb_metadata_new();
    ck_assert_ptr_nonnull(md);
    kb_fd_budget_init(&budget, 200, 1, INT32_MAX);
    ck_assert_uint_eq(budget.partitions, 115);
    writes = 0;
}

static void teardown(void) {
    kb_metadata_free(md);
    md = NULL;
    logfix_teardown();
}

/* Brokers 1..n, live. */
static void cache_brokers(int n) {
    kb_metadata_endpoint_t ep[4];
    kb_metadata_broker_t b[4];
    for (int i = 0; i < n; i++) {
        ep[i] = (kb_metadata_endpoint_t){"PLAINTEXT", "127.0.0.1", 9000 + i};
        b[i] = (kb_metadata_broker_t){i + 1, NULL, 1, &ep[i]};
    }
    ck_assert_int_eq(kb_metadata_set_brokers(md, b, n), 0);
    kb_metadata_set_loaded(md, true);
}

/* Topic `name` of n partitions, each on `rf` brokers 1..rf. */
static void cache_topic(const char *name, int n, int rf) {
    kb_metadata_partition_t *parts = calloc((size_t)n, sizeof(*parts));
    int32_t replicas[] = {1, 2, 3};
    ck_assert_ptr_nonnull(parts);
    for (int i = 0; i < n; i++) parts[i] = (kb_metadata_partition_t){1, 0, rf, rf, replicas, replicas};
    kb_metadata_topic_t t = {(char *)name, n, parts, 0, NULL};
    ck_assert_int_eq(kb_metadata_upsert_topic(md, &t), 0);
    free(parts);
}

/* n partitions each on brokers `a` and `b` (one list shared). */
static kc_partition_t *lists(int n, int32_t *ids) {
    kc_partition_t *p = calloc((size_t)n, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < n; i++) p[i] = (kc_partition_t){.n_replicas = 2, .replicas = ids};
    return p;
}

/* ------------------------------------------------------------ counting */

START_TEST(replicas_are_counted_per_broker_from_the_cache) {
    kb_capacity_t c;
    cache_topic("a", 10, 3);
    cache_topic("b", 5, 1);
    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, &budget), 0);
    ck_assert_uint_eq(kb_capacity_count(&c, 1), 15);
    ck_assert_uint_eq(kb_capacity_count(&c, 2), 10);
    ck_assert_uint_eq(kb_capacity_count(&c, 3), 10);
    ck_assert_uint_eq(kb_capacity_count(&c, 4), 0);
    kb_capacity_clear(&c);
}
END_TEST

START_TEST(a_change_past_the_budget_is_refused_naming_broker_counts_limit_and_fix) {
    kb_capacity_t c;
    char why[512];
    int32_t ids[] = {2, 3};
    kc_partition_t *p = lists(110, ids);

    cache_topic("a", 10, 3); /* 10 on each of 1, 2, 3 */
    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, &budget), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "big", p, 106, NULL, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "Topic 'big'") && strstr(why, "broker 2 would hold 116 partition replicas (10 now, "
                                                             "106 more)") &&
                      strstr(why, "a broker can hold 115 here") && strstr(why, "RLIMIT_NOFILE) is 200, less 85") &&
                      strstr(why, "LimitNOFILE="),
                  "%s", why);
    ck_assert_uint_eq(kb_capacity_count(&c, 2), 10); /* a refusal counts nothing */
    ck_assert_int_eq(kb_capacity_take(&c, "big", p, 105, NULL, why, sizeof(why)), 0);
    ck_assert_uint_eq(kb_capacity_count(&c, 2), 115);
    ck_assert_uint_eq(kb_capacity_count(&c, 3), 115);
    ck_assert_int_eq(kb_capacity_take(&c, "one-more", p, 1, NULL, why, sizeof(why)), -1);
    kb_capacity_clear(&c);
    free(p);
}
END_TEST

START_TEST(a_ticket_gives_back_what_it_took) {
    kb_capacity_t c;
    kb_capacity_ticket_t t;
    char why[512];
    int32_t ids[] = {1, 2};
    kc_partition_t *p = lists(100, ids);

    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, &budget), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "x", p, 100, &t, why, sizeof(why)), 0);
    ck_assert_uint_eq(t.n, 2); /* 100 each on brokers 1 and 2 */
    ck_assert_uint_eq(kb_capacity_count(&c, 1), 100);
    ck_assert_int_eq(kb_capacity_take(&c, "y", p, 100, NULL, why, sizeof(why)), -1);
    kb_capacity_give_back(&c, &t);
    ck_assert_uint_eq(t.n, 0);
    ck_assert_uint_eq(kb_capacity_count(&c, 1), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "y", p, 100, NULL, why, sizeof(why)), 0);
    kb_capacity_clear(&c);
    free(p);
}
END_TEST

START_TEST(max_broker_partitions_is_named_when_it_binds) {
    kb_capacity_t c;
    char why[512];
    int32_t ids[] = {1, 2};
    kc_partition_t *p = lists(11, ids);

    kb_fd_budget_init(&budget, 20000, 1, 10);
    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, &budget), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "t", p, 11, NULL, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "can hold 10 here, because max.broker.partitions is 10") &&
                      strstr(why, "raise max.broker.partitions on every broker"),
                  "%s", why);
    kb_capacity_clear(&c);
    free(p);
}
END_TEST

START_TEST(without_a_budget_everything_fits) {
    kb_capacity_t c;
    char why[512];
    int32_t ids[] = {1, 2};
    kc_partition_t *p = lists(1000, ids);

    kb_fd_budget_init(&budget, KB_FD_UNLIMITED, 1, 0);
    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, &budget), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "t", p, 1000, NULL, why, sizeof(why)), 0);
    kb_capacity_clear(&c);
    ck_assert_int_eq(kb_capacity_init(&c, NULL, md, NULL), 0);
    ck_assert_int_eq(kb_capacity_take(&c, "t", p, 1000, NULL, why, sizeof(why)), 0);
    kb_capacity_clear(&c);
    free(p);
}
END_TEST

/* ------------------------------------------------------------ CreateTopics */

static void fake_write(kc_session_t *zk, const kc_topic_t *plan, const kc_config_entry_t *configs, int n_configs,
                       void (*done)(int rc, void *arg), void *arg) {
    (void)zk;
    (void)plan;
    (void)configs;
    (void)n_configs;
    writes++;
    done(0, arg);
}

static kb_topic_creator_t *creator(void) {
    kb_topic_creator_deps_t deps = {lf.base, NULL, md, 1, 1, fake_write, &budget, NULL};
    cache_brokers(3);
    kb_topic_creator_t *tc = kb_topic_creator_new(&deps);
    ck_assert_ptr_nonnull(tc);
    return tc;
}

/* CreateTopics of topics[0..n) (counted), answered at once; codes[i] and
 * the first message get the answers. */
static void create_now(kb_topic_creator_t *tc, kp_createtopics_topic_t *topics, int n, bool validate_only,
                       int16_t *codes, char *message, size_t len) {
    kp_createtopics_request_t body = {n, topics, 1000, validate_only};
    kb_admin_op_t *op = kb_topic_creator_start(tc, &body);
    ck_assert_ptr_nonnull(op);
    message[0] = '\0';
    for (int i = 0; i < n; i++) {
        kp_str_t got;
        const char *m;
        kb_admin_op_result(op, i, &got, &codes[i], &m);
        if (m && !message[0]) snprintf(message, len, "%s", m);
    }
    kb_admin_op_release(op);
}

static kp_createtopics_topic_t counted(const char *name, int32_t partitions, int16_t rf) {
    return (kp_createtopics_topic_t){.name = kp_str_c(name), .num_partitions = partitions, .replication_factor = rf};
}

START_TEST(create_topics_past_the_budget_is_refused_validate_only_too) {
    kb_topic_creator_t *tc = creator();
    kp_createtopics_topic_t t[] = {counted("big", 300, 3)};
    int16_t codes[1];
    char why[512];

    create_now(tc, t, 1, true, codes, why, sizeof(why));
    ck_assert_int_eq(codes[0], KP_ERR_POLICY_VIOLATION);
    ck_assert_msg(strstr(why, "would hold 300 partition replicas") && strstr(why, "can hold 115"), "%s", why);
    create_now(tc, t, 1, false, codes, why, sizeof(why));
    ck_assert_int_eq(codes[0], KP_ERR_POLICY_VIOLATION);
    ck_assert_int_eq(writes, 0);
    t[0] = counted("fits", 115, 3);
    create_now(tc, t, 1, false, codes, why, sizeof(why));
    ck_assert_int_eq(codes[0], KP_ERR_NONE);
    ck_assert_int_eq(writes, 1);
    kb_topic_creator_free(tc);
}
END_TEST

/* One request listing many topics is judged as a whole: each accepted
 * topic counts for the next. */
START_TEST(the_topics_of_one_request_are_counted_together) {
    kb_topic_creator_t *tc = creator();
    kp_createtopics_topic_t t[] = {counted("one", 60, 3), counted("two", 60, 3), counted("three", 50, 3)};
    int16_t codes[3];
    char why[512];

    cache_topic("old", 5, 3);
    create_now(tc, t, 3, true, codes, why, sizeof(why));
    ck_assert_int_eq(codes[0], KP_ERR_NONE);
    ck_assert_int_eq(codes[1], KP_ERR_POLICY_VIOLATION); /* 5 + 60 + 60 > 115 */
    ck_assert_int_eq(codes[2], KP_ERR_NONE);             /* 5 + 60 + 50 = 115 */
    ck_assert_msg(strstr(why, "Topic 'two'") && strstr(why, "(65 now, 60 more)"), "%s", why);
    kb_topic_creator_free(tc);
}
END_TEST

START_TEST(auto_creation_past_the_budget_is_refused) {
    kb_fd_budget_init(&budget, 200, 1, 2);
    kb_topic_creator_t *tc = creator();
    kb_topic_creator_deps_t deps = {lf.base, NULL, md, 7, 1, fake_write, &budget, NULL};
    kb_topic_creator_t *auto3 = kb_topic_creator_new(&deps); /* num.partitions=7: 3 on some broker */

    ck_assert_ptr_nonnull(auto3);
    ck_assert_int_eq(kb_topic_creator_auto_create(auto3, "auto"), KP_ERR_POLICY_VIOLATION);
    ck_assert_int_eq(writes, 0);
    ck_assert_int_eq(kb_topic_creator_auto_create(tc, "auto"), KP_ERR_LEADER_NOT_AVAILABLE); /* 1 partition */
    ck_assert_int_eq(writes, 1);
    kb_topic_creator_free(auto3);
    kb_topic_creator_free(tc);
}
END_TEST

/* ------------------------------------------------------- CreatePartitions */

static int grow_writes;

/* Stands in for kc_topic_grow: plans count - 1 new partitions (the topic
 * has one) on brokers 1 and 2, asks the caller's hook, and completes. */
static void fake_grow(kc_session_t *zk, const kc_grow_request_t *req, kc_grow_done_fn done, void *arg) {
    int32_t ids[] = {1, 2};
    int n = req->count - 1;
    kc_partition_t *p = lists(n, ids);
    kc_grow_result_t r = {.rc = KC_OK, .old_count = 1, .added = {.n_partitions = n, .partitions = p}};

    (void)zk;
    ck_assert_ptr_nonnull(req->accept);
    if (!req->accept(&r.added, req->accept_arg, &r.kafka_error, r.why, sizeof(r.why))) r.rc = KC_INVALID;
    else if (!req->validate_only) grow_writes++;
    r.added = (kc_topic_t){0};
    done(&r, arg);
    free(p);
}

static int16_t grow_now(kb_partition_adder_t *pa, const char *topic, int32_t count, bool validate_only,
                        char *why, size_t len) {
    kp_createpartitions_request_t b = {.timeout_ms = 0, .validate_only = validate_only};
    int16_t code;
    const char *m;
    kp_str_t name;

    b.topics = calloc(1, sizeof(*b.topics));
    ck_assert_ptr_nonnull(b.topics);
    b.n_topics = 1;
    b.topics[0] = (kp_createpartitions_topic_t){.name = kp_str_c(topic), .count = count};
    kb_admin_op_t *op = kb_partition_adder_start(pa, &b);
    ck_assert_ptr_nonnull(op);
    kb_admin_op_result(op, 0, &name, &code, &m);
    snprintf(why, len, "%s", m ? m : "");
    kb_admin_op_release(op);
    return code;
}

START_TEST(create_partitions_past_the_budget_is_refused_validate_only_too) {
    kb_partition_adder_deps_t deps = {lf.base, NULL, md, fake_grow, &budget, NULL};
    kb_partition_adder_t *pa = kb_partition_adder_new(&deps);
    char why[512];

    ck_assert_ptr_nonnull(pa);
    grow_writes = 0;
    cache_topic("t", 1, 1);
    ck_assert_int_eq(grow_now(pa, "t", 200, true, why, sizeof(why)), KP_ERR_POLICY_VIOLATION);
    ck_assert_msg(strstr(why, "broker 1 would hold 200 partition replicas (1 now, 199 more)"), "%s", why);
    ck_assert_int_eq(grow_now(pa, "t", 200, false, why, sizeof(why)), KP_ERR_POLICY_VIOLATION);
    ck_assert_int_eq(grow_writes, 0);
    ck_assert_int_eq(grow_now(pa, "t", 115, true, why, sizeof(why)), KP_ERR_NONE);
    ck_assert_int_eq(grow_writes, 0);
    kb_partition_adder_free(pa);
}
END_TEST

Suite *capacity_suite(void) {
    Suite *s = suite_create("capacity");
    TCase *tc = tcase_create("capacity");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, replicas_are_counted_per_broker_from_the_cache);
    tcase_add_test(tc, a_change_past_the_budget_is_refused_naming_broker_counts_limit_and_fix);
    tcase_add_test(tc, a_ticket_gives_back_what_it_took);
    tcase_add_test(tc, max_broker_partitions_is_named_when_it_binds);
    tcase_add_test(tc, without_a_budget_everything_fits);
    tcase_add_test(tc, create_topics_past_the_budget_is_refused_validate_only_too);
    tcase_add_test(tc, the_topics_of_one_request_are_counted_together);
    tcase_add_test(tc, auto_creation_past_the_budget_is_refused);
    tcase_add_test(tc, create_partitions_past_the_budget_is_refused_validate_only_too);
    suite_add_tcase(s, tc);
    return s;
}
