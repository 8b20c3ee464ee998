/*
 * test_topic_deleter.c - the topic-deletion service of DeleteTopics
 * (broker/admin/kb_topic_deleter.c) over the hand-made cluster view
 * (viewfix.c) and a marker writer that records instead of writing: a name
 * the view does not hold is 3 without a write, a held one is marked and
 * answered 0 only once its topic znode leaves the view, an existing marker
 * counts as marked, a marker that cannot be written is answered at once,
 * timeout_ms 0 answers 7 at the next loop turn, and shutdown answers what
 * waits.
 */
#include <event2/event.h>
#include <string.h>

#include "broker/admin/kb_topic_deleter.h"
#include "coord/kc_zk.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

static struct event_base *base;
static int marks;
static int mark_rc; /* what the next marker writes complete with */

static void fake_mark(kc_session_t *zk, const char *topic, void (*done)(int rc, void *arg), void *arg) {
    (void)zk;
    (void)topic;
    marks++;
    done(mark_rc, arg);
}

typedef struct {
    int calls;
    int16_t errors[4];
} answer_t;

static void on_answer(const kb_admin_op_t *op, void *arg) {
    answer_t *a = arg;
    kp_str_t name;
    a->calls++;
    for (int32_t i = 0; i < kb_admin_op_count(op) && i < 4; i++) kb_admin_op_result(op, i, &name, &a->errors[i], &(const char *){NULL});
}

static void setup(void) {
    static const int32_t replicas[] = {1};
    base = event_base_new();
    viewfix_reset();
    viewfix_topic("doomed", 2, replicas, 1);
    marks = 0;
    mark_rc = KC_OK;
}

static void teardown(void) {
    viewfix_reset();
    event_base_free(base);
}

static kb_topic_deleter_t *deleter(void) {
    kb_topic_deleter_t *d = kb_topic_deleter_new(&(kb_topic_deleter_deps_t){base, NULL, viewfix_view(), fake_mark});
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Starts deleting the given names; the operation is the caller's. */
static kb_admin_op_t *start(kb_topic_deleter_t *d, const char **names, int n) {
    kp_str_t s[4];
    for (int i = 0; i < n; i++) s[i] = kp_str_c(names[i]);
    kp_deletetopics_request_t body = {n, s, 60000};
    kb_admin_op_t *op = kb_topic_deleter_start(d, &body);
    ck_assert_ptr_nonnull(op);
    return op;
}

START_TEST(an_unknown_name_is_answered_3_without_a_write) {
    kb_topic_deleter_t *d = deleter();
    kb_admin_op_t *op = start(d, (const char *[]){"never", "", "bad name!"}, 3);
    kp_str_t name;
    int16_t err;
    ck_assert(kb_admin_op_settled(op));
    for (int32_t i = 0; i < 3; i++) {
        kb_admin_op_result(op, i, &name, &err, &(const char *){NULL});
        ck_assert_int_eq(err, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    ck_assert_int_eq(marks, 0);
    kb_admin_op_release(op);
    kb_topic_deleter_free(d);
}
END_TEST

START_TEST(a_marked_topic_is_answered_once_its_znode_is_gone) {
    kb_topic_deleter_t *d = deleter();
    answer_t a = {0};
    kb_admin_op_t *op = start(d, (const char *[]){"doomed", "never"}, 2);
    ck_assert_int_eq(marks, 1);
    ck_assert(!kb_admin_op_settled(op));
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &a), 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    kb_topic_deleter_view_changed(d);
    ck_assert_int_eq(a.calls, 0); /* still in the view */
    viewfix_remove_topic("doomed");
    kb_topic_deleter_view_changed(d);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.errors[0], KP_ERR_NONE);
    ck_assert_int_eq(a.errors[1], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kb_topic_deleter_waiting(d), 0);
    kb_topic_deleter_free(d);
    ck_assert_int_eq(a.calls, 1);
}
END_TEST

START_TEST(a_marker_already_there_counts_and_a_failed_write_is_answered_at_once) {
    kb_topic_deleter_t *d = deleter();
    mark_rc = KC_EXISTS;
    kb_admin_op_t *op = start(d, (const char *[]){"doomed"}, 1);
    ck_assert(!kb_admin_op_settled(op)); /* waiting like the first request */
    kb_admin_op_release(op);
    mark_rc = KC_ERR;
    op = start(d, (const char *[]){"doomed"}, 1);
    kp_str_t name;
    int16_t err;
    ck_assert(kb_admin_op_settled(op));
    kb_admin_op_result(op, 0, &name, &err, &(const char *){NULL});
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_SERVER_ERROR);
    kb_admin_op_release(op);
    kb_topic_deleter_free(d);
}
END_TEST

START_TEST(timeout_zero_answers_7_and_shutdown_answers_what_waits) {
    kb_topic_deleter_t *d = deleter();
    answer_t now = {0}, parked = {0};
    kb_admin_op_t *op = start(d, (const char *[]){"doomed"}, 1);
    ck_assert_int_eq(kb_admin_op_wait(op, 0, on_answer, &now), 0);
    ck_assert_int_eq(now.calls, 0); /* never inside the call */
    event_base_loop(base, EVLOOP_ONCE);
    ck_assert_int_eq(now.calls, 1);
    ck_assert_int_eq(now.errors[0], KP_ERR_REQUEST_TIMED_OUT);
    op = start(d, (const char *[]){"doomed"}, 1);
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, &parked), 0);
    kb_topic_deleter_shutdown(d);
    ck_assert_int_eq(parked.calls, 1);
    ck_assert_int_eq(parked.errors[0], KP_ERR_REQUEST_TIMED_OUT);
    kb_topic_deleter_free(d);
    ck_assert_int_eq(parked.calls, 1);
}
END_TEST

Suite *topic_deleter_suite(void) {
    Suite *s = suite_create("topic_deleter");
    TCase *tc = tcase_create("service");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_unknown_name_is_answered_3_without_a_write);
    tcase_add_test(tc, a_marked_topic_is_answered_once_its_znode_is_gone);
    tcase_add_test(tc, a_marker_already_there_counts_and_a_failed_write_is_answered_at_once);
    tcase_add_test(tc, timeout_zero_answers_7_and_shutdown_answers_what_waits);
    suite_add_tcase(s, tc);
    return s;
}
