/*
 * test_partition_adder.c - the partition-adding service behind
 * CreatePartitions (broker/admin/kb_partition_adder.c) with a stand-in for
 * its ZooKeeper round (kc_topic_grow): duplicates answered without a
 * round, at most a window of rounds in flight however many topics a request
 * lists (and no recursion when rounds complete inside the call), an
 * operation answered once the cache shows the new partitions' leaders,
 * validate_only answered without waiting, timeout_ms and shutdown answering
 * what is left, and rounds completing after the answer went out.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_partition_adder.h"
#include "broker/metadata/kb_metadata.h"
#include "coord/kc_topic_grow.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define MANY 1000

static kb_metadata_t *md;

/* The rounds the service started and not completed yet, in order. */
typedef struct {
    char topic[256];
    int32_t count;
    int n_assigned;
    bool validate_only;
    kc_grow_done_fn done;
    void *arg;
} round_t;

static round_t rounds[MANY];
static int n_rounds, started, most_in_flight;
/* How deep fake_grow calls nest (a round completed inside a call that
 * started the next one inside it, and so on). */
static int depth, deepest;
/* >= KC_OK: complete every round inside the call with this code. */
static int complete_at_once = 1;

static void fake_grow(kc_session_t *zk, const kc_grow_request_t *req, kc_grow_done_fn done, void *arg) {
    (void)zk;
    started++;
    if (complete_at_once <= KC_OK) {
        kc_grow_result_t r = {.rc = complete_at_once, .kafka_error = 3, .why = "The topic does not exist."};
        if (++depth > deepest) deepest = depth;
        done(&r, arg);
        depth--;
        return;
    }
    ck_assert_int_lt(n_rounds, MANY);
    round_t *rd = &rounds[n_rounds++];
    *rd = (round_t){.count = req->count, .n_assigned = req->assignment ? req->assignment->n_partitions : -1,
                    .validate_only = req->validate_only, .done = done, .arg = arg};
    snprintf(rd->topic, sizeof(rd->topic), "%s", req->topic);
    if (n_rounds > most_in_flight) most_in_flight = n_rounds;
}

/* Completes the oldest round: rc KC_OK adds partitions old .. count-1. */
static void complete_first(int rc, int32_t old, int16_t kafka_error) {
    ck_assert_int_gt(n_rounds, 0);
    round_t rd = rounds[0];
    memmove(rounds, rounds + 1, (size_t)(n_rounds - 1) * sizeof(*rounds));
    n_rounds--;
    kc_grow_result_t r = {.rc = rc, .kafka_error = kafka_error, .old_count = old};
    snprintf(r.why, sizeof(r.why), "refused %s", rd.topic);
    rd.done(&r, rd.arg);
}

static void setup(void) {
    logfix_setup("adder");
    md = kb_metadata_new();
    ck_assert_ptr_nonnull(md);
    n_rounds = started = most_in_flight = depth = deepest = 0;
    complete_at_once = 1;
}

static void teardown(void) {
    kb_metadata_free(md);
    md = NULL;
    logfix_teardown();
}

static kb_partition_adder_t *adder(void) {
    kb_partition_adder_deps_t deps = {lf.base, NULL, md, fake_grow, NULL, NULL};
    kb_partition_adder_t *pa = kb_partition_adder_new(&deps);
    ck_assert_ptr_nonnull(pa);
    return pa;
}

/* n partitions, each led by broker 1 when `led`. */
static void cache_topic(const char *name, int n, bool led) {
    kb_metadata_partition_t parts[16];
    int32_t replica = 1;
    ck_assert_int_le(n, 16);
    for (int i = 0; i < n; i++) parts[i] = (kb_metadata_partition_t){led ? 1 : -1, 0, 1, 1, &replica, &replica};
    kb_metadata_topic_t t = {(char *)name, n, parts, 0, NULL};
    ck_assert_int_eq(kb_metadata_upsert_topic(md, &t), 0);
}

/* A request body over `names` (static storage: the frame stand-in). */
static kp_createpartitions_request_t body_of(const char *const *names, int n, int32_t count, bool validate_only) {
    kp_createpartitions_request_t b = {.timeout_ms = 60000, .validate_only = validate_only};
    b.topics = calloc((size_t)n, sizeof(*b.topics));
    ck_assert_ptr_nonnull(b.topics);
    b.n_topics = n;
    for (int i = 0; i < n; i++) b.topics[i] = (kp_createpartitions_topic_t){.name = kp_str_c(names[i]), .count = count};
    return b;
}

typedef struct {
    int calls;
    int n;
    int16_t codes[MANY];
} answer_t;

static void on_answer(const kb_admin_op_t *op, void *arg) {
    answer_t *a = arg;
    a->calls++;
    a->n = kb_admin_op_count(op);
    for (int32_t i = 0; i < a->n && i < MANY; i++) {
        kp_str_t name;
        const char *why;
        kb_admin_op_result(op, i, &name, &a->codes[i], &why);
        ck_assert_int_eq(why == NULL, a->codes[i] == KP_ERR_NONE);
    }
}

START_TEST(duplicates_are_refused_without_a_round) {
    kb_partition_adder_t *pa = adder();
    const char *names[] = {"a", "b", "a"};
    kp_createpartitions_request_t body = body_of(names, 3, 2, false);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    ck_assert_ptr_null(body.topics); /* taken over */
    ck_assert_int_eq(started, 1);
    ck_assert_str_eq(rounds[0].topic, "b");
    answer_t a = {0};
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    complete_first(KC_NONODE, 0, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.codes[0], KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(a.codes[1], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(a.codes[2], KP_ERR_INVALID_REQUEST);
    kb_partition_adder_free(pa);
}
END_TEST

/* The names "t0".."t{n-1}" in static storage. */
static const char *const *many_names(int n) {
    static char storage[MANY][8];
    static const char *names[MANY];
    for (int i = 0; i < n; i++) {
        snprintf(storage[i], sizeof(storage[i]), "t%d", i);
        names[i] = storage[i];
    }
    return names;
}

START_TEST(a_window_of_rounds_is_in_flight_at_once) {
    kb_partition_adder_t *pa = adder();
    kp_createpartitions_request_t body = body_of(many_names(40), 40, 2, false);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    answer_t a = {0};
    ck_assert_int_eq(started, 16);
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    while (n_rounds > 0) complete_first(KC_NONODE, 0, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(started, 40);
    ck_assert_int_eq(most_in_flight, 16);
    ck_assert_int_eq(a.calls, 1);
    for (int i = 0; i < 40; i++) ck_assert_int_eq(a.codes[i], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_partition_adder_free(pa);
}
END_TEST

/* Rounds that complete inside the call (no session) do not recurse once
 * per topic: a thousand topics are judged in one pass. */
START_TEST(rounds_completing_inside_the_call_do_not_recurse) {
    kb_partition_adder_t *pa = adder();
    kp_createpartitions_request_t body = body_of(many_names(MANY), MANY, 2, false);
    complete_at_once = KC_NONODE;
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    ck_assert_int_eq(started, MANY);
    ck_assert_int_eq(deepest, 1);
    ck_assert(kb_admin_op_settled(op));
    for (int32_t i = 0; i < MANY; i++) {
        kp_str_t name;
        int16_t code;
        const char *why;
        kb_admin_op_result(op, i, &name, &code, &why);
        ck_assert_int_eq(code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    kb_admin_op_release(op);
    kb_partition_adder_free(pa);
}
END_TEST

START_TEST(added_partitions_are_answered_once_the_cache_shows_their_leaders) {
    kb_partition_adder_t *pa = adder();
    const char *names[] = {"grow"};
    kp_createpartitions_request_t body = body_of(names, 1, 3, false);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    answer_t a = {0};
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    cache_topic("grow", 1, true);
    complete_first(KC_OK, 1, 0);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(a.calls, 0); /* the cache has one partition */
    cache_topic("grow", 3, false);
    kb_metadata_notify(md);
    ck_assert_int_eq(a.calls, 0); /* three, not led yet */
    cache_topic("grow", 3, true);
    kb_metadata_notify(md);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.codes[0], KP_ERR_NONE);
    ck_assert_int_eq(kb_partition_adder_waiting(pa), 0);
    kb_partition_adder_free(pa);
    ck_assert_int_eq(a.calls, 1);
}
END_TEST

START_TEST(validate_only_is_answered_without_waiting_for_leaders) {
    kb_partition_adder_t *pa = adder();
    const char *names[] = {"grow"};
    kp_createpartitions_request_t body = body_of(names, 1, 3, true);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    answer_t a = {0};
    ck_assert(rounds[0].validate_only);
    ck_assert_int_eq(rounds[0].n_assigned, -1);
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    complete_first(KC_OK, 1, 0);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.codes[0], KP_ERR_NONE);
    kb_partition_adder_free(pa);
}
END_TEST

/* timeout_ms 0: the next loop turn answers 7 for partitions added without
 * leaders; a round still out is answered when it completes. */
START_TEST(timeout_answers_added_partitions_without_leaders_7) {
    kb_partition_adder_t *pa = adder();
    const char *names[] = {"one", "two"};
    kp_createpartitions_request_t body = body_of(names, 2, 3, false);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    answer_t a = {0};
    ck_assert_int_eq(kb_admin_op_wait(op, 0, on_answer, &a), 0);
    complete_first(KC_OK, 1, 0);
    event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_int_eq(a.calls, 0); /* "two" is still with ZooKeeper */
    complete_first(KC_INVALID, 0, KP_ERR_INVALID_PARTITIONS);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.codes[0], KP_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(a.codes[1], KP_ERR_INVALID_PARTITIONS);
    kb_partition_adder_free(pa);
}
END_TEST

/* Shutdown answers everything: rounds out, queued topics, waiting ones;
 * rounds completing afterwards (inside the session's close at teardown)
 * change nothing and start nothing. */
START_TEST(shutdown_answers_and_late_rounds_change_nothing) {
    kb_partition_adder_t *pa = adder();
    kp_createpartitions_request_t body = body_of(many_names(20), 20, 3, false);
    kb_admin_op_t *op = kb_partition_adder_start(pa, &body);
    answer_t a = {0};
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    complete_first(KC_OK, 1, 0); /* t0 waits for leaders, t16 starts */
    kb_partition_adder_shutdown(pa);
    ck_assert_int_eq(a.calls, 1);
    for (int i = 0; i < 20; i++) ck_assert_int_eq(a.codes[i], KP_ERR_REQUEST_TIMED_OUT);
    kb_partition_adder_free(pa);
    int before = started;
    while (n_rounds > 0) complete_first(KC_OK, 1, 0);
    ck_assert_int_eq(started, before);
    ck_assert_int_eq(a.calls, 1);
}
END_TEST

Suite *partition_adder_suite(void) {
    Suite *s = suite_create("partition_adder");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, duplicates_are_refused_without_a_round);
    tcase_add_test(tc, a_window_of_rounds_is_in_flight_at_once);
    tcase_add_test(tc, rounds_completing_inside_the_call_do_not_recurse);
    tcase_add_test(tc, added_partitions_are_answered_once_the_cache_shows_their_leaders);
    tcase_add_test(tc, validate_only_is_answered_without_waiting_for_leaders);
    tcase_add_test(tc, timeout_answers_added_partitions_without_leaders_7);
    tcase_add_test(tc, shutdown_answers_and_late_rounds_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
