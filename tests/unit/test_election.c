/*
 * test_election.c - the controller's decisions, apart from the ZooKeeper
 * writes that carry them out: the leader-election rule of
 * broker/controller/kb_elect.c (first live replica in assignment order that
 * is in the ISR; the ISR keeps its last member when none lives; leader
 * epoch bumped on every change, controller epoch stamped) and what one
 * controller election attempt (coord/kc_election.c) makes of /controller
 * and /controller_epoch.
 */
#include <string.h>

#include "broker/controller/kb_elect.h"
#include "coord/kc_election.h"
#include "tests/unit/unit.h"

/* The live brokers of a test. */
typedef struct {
    int n;
    int32_t ids[8];
} live_t;

static bool is_live(int32_t id, const void *arg) {
    const live_t *l = arg;
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] == id) return true;
    return false;
}

/* A partition assigned `replicas` whose state has leader, epoch 7, zkVersion 3, ISR isr. */
static kc_partition_t partition(int32_t *replicas, int n_replicas, int32_t leader, int32_t *isr, int n_isr) {
    return (kc_partition_t){.n_replicas = n_replicas, .replicas = replicas, .has_state = true,
                            .state = {.leader = leader, .leader_epoch = 7, .controller_epoch = 2, .n_isr = n_isr,
                                      .isr = isr, .zk_version = 3}};
}

static void assert_isr(const kc_partition_state_t *s, const int32_t *want, int n) {
    ck_assert_int_eq(s->n_isr, n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(s->isr[i], want[i]);
}

START_TEST(first_state_takes_the_first_live_replica_and_every_live_one_as_isr) {
    int32_t replicas[] = {3, 1, 2}, isr[3];
    live_t live = {2, {1, 2}};
    kc_partition_t part = {.n_replicas = 3, .replicas = replicas};
    kc_partition_state_t next = {.isr = isr};
    ck_assert(kb_elect_first_state(&part, 5, is_live, &live, &next));
    ck_assert_int_eq(next.leader, 1);
    ck_assert_int_eq(next.leader_epoch, 0);
    ck_assert_int_eq(next.controller_epoch, 5);
    assert_isr(&next, (int32_t[]){1, 2}, 2);
}
END_TEST

START_TEST(first_state_waits_while_no_replica_lives) {
    int32_t replicas[] = {3, 4}, isr[2];
    live_t live = {1, {1}};
    kc_partition_t part = {.n_replicas = 2, .replicas = replicas};
    kc_partition_state_t next = {.isr = isr};
    ck_assert(!kb_elect_first_state(&part, 5, is_live, &live, &next));
}
END_TEST

START_TEST(dead_leader_is_replaced_by_the_first_live_isr_member_in_assignment_order) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 3, 2}, next_isr[3];
    live_t live = {2, {2, 3}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, false, &next));
    ck_assert_int_eq(next.leader, 2); /* assignment order, not ISR order */
    assert_isr(&next, (int32_t[]){3, 2}, 2);
    ck_assert_int_eq(next.leader_epoch, 8);
    ck_assert_int_eq(next.controller_epoch, 9);
    ck_assert_int_eq(next.zk_version, 3);
}
END_TEST

START_TEST(a_live_replica_outside_the_isr_is_never_elected) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 3}, next_isr[2];
    live_t live = {2, {2, 3}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, false, &next));
    ck_assert_int_eq(next.leader, 3);
    assert_isr(&next, (int32_t[]){3}, 1);
}
END_TEST

START_TEST(no_live_isr_member_leaves_the_partition_offline_with_its_last_member) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {2, 1}, next_isr[2];
    live_t live = {1, {3}};
    kc_partition_t part = partition(replicas, 3, 2, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, false, &next));
    ck_assert_int_eq(next.leader, -1);
    assert_isr(&next, (int32_t[]){1}, 1);
    ck_assert_int_eq(next.leader_epoch, 8);
}
END_TEST

START_TEST(a_live_leader_stays_and_only_the_isr_shrinks) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {3, 1, 2}, next_isr[3];
    live_t live = {2, {2, 3}};
    kc_partition_t part = partition(replicas, 3, 3, isr, 3);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, false, &next));
    ck_assert_int_eq(next.leader, 3); /* not 2, though 2 comes first in the assignment */
    assert_isr(&next, (int32_t[]){3, 2}, 2);
    ck_assert_int_eq(next.leader_epoch, 8);
}
END_TEST

START_TEST(nothing_changes_while_every_isr_member_lives) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2}, next_isr[2];
    live_t live = {2, {1, 2}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(!kb_elect_offline(&part, 9, is_live, &live, false, &next));
}
END_TEST

START_TEST(an_offline_partition_comes_back_when_its_last_member_returns) {
    int32_t replicas[] = {1, 2}, isr[] = {2}, next_isr[1];
    live_t live = {1, {2}};
    kc_partition_t part = partition(replicas, 2, -1, isr, 1);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, false, &next));
    ck_assert_int_eq(next.leader, 2);
    assert_isr(&next, (int32_t[]){2}, 1);
    ck_assert_int_eq(next.leader_epoch, 8);
}
END_TEST

START_TEST(an_offline_partition_stays_so_while_its_last_member_is_dead) {
    int32_t replicas[] = {1, 2}, isr[] = {2}, next_isr[1];
    live_t live = {1, {1}};
    kc_partition_t part = partition(replicas, 2, -1, isr, 1);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(!kb_elect_offline(&part, 9, is_live, &live, false, &next));
}
END_TEST

START_TEST(unclean_election_takes_the_first_live_replica_outside_the_isr) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1}, next_isr[1];
    live_t live = {2, {3, 2}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 1);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, true, &next));
    ck_assert_int_eq(next.leader, 2); /* assignment order */
    assert_isr(&next, (int32_t[]){2}, 1);
    ck_assert_int_eq(next.leader_epoch, 8);
    ck_assert_int_eq(next.zk_version, 3);
}
END_TEST

START_TEST(unclean_election_prefers_a_live_isr_member) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 3}, next_isr[2];
    live_t live = {2, {2, 3}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, true, &next));
    ck_assert_int_eq(next.leader, 3);
    assert_isr(&next, (int32_t[]){3}, 1);
}
END_TEST

START_TEST(unclean_election_with_no_live_replica_stays_offline) {
    int32_t replicas[] = {1, 2}, isr[] = {1}, next_isr[1];
    live_t live = {1, {5}};
    kc_partition_t part = partition(replicas, 2, 1, isr, 1);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert(kb_elect_offline(&part, 9, is_live, &live, true, &next));
    ck_assert_int_eq(next.leader, -1);
    assert_isr(&next, (int32_t[]){1}, 1);
}
END_TEST

/* ---- the controller election attempt ---- */

START_TEST(controller_named_elsewhere_is_a_lost_election) {
    ck_assert_int_eq(kc_election_judge(2, 1, false), KC_ELECT_LOST);
    ck_assert_int_eq(kc_election_judge(2, 1, true), KC_ELECT_LOST);
    ck_assert_int_eq(kc_election_judge(-1, 1, true), KC_ELECT_LOST); /* unreadable */
}
END_TEST

START_TEST(our_own_controller_node_is_kept_or_removed_by_session) {
    ck_assert_int_eq(kc_election_judge(1, 1, true), KC_ELECT_OURS);
    ck_assert_int_eq(kc_election_judge(1, 1, false), KC_ELECT_STALE_SELF);
}
END_TEST

START_TEST(controller_epoch_parses_only_bumpable_decimal_values) {
    int32_t e = -7;
    ck_assert_int_eq(kc_election_parse_epoch("0", 1, &e), 0);
    ck_assert_int_eq(e, 0);
    ck_assert_int_eq(kc_election_parse_epoch("41xyz", 2, &e), 0); /* len bounds the read */
    ck_assert_int_eq(e, 41);
    ck_assert_int_eq(kc_election_parse_epoch("2147483646", 10, &e), 0);
    ck_assert_int_eq(e, 2147483646);
    e = -7;
    ck_assert_int_eq(kc_election_parse_epoch("2147483647", 10, &e), -1); /* could not be bumped */
    ck_assert_int_eq(kc_election_parse_epoch("-1", 2, &e), -1);
    ck_assert_int_eq(kc_election_parse_epoch("abc", 3, &e), -1);
    ck_assert_int_eq(kc_election_parse_epoch("", 0, &e), -1);
    ck_assert_int_eq(kc_election_parse_epoch(NULL, -1, &e), -1);
    char long_one[40];
    memset(long_one, '1', sizeof(long_one));
    ck_assert_int_eq(kc_election_parse_epoch(long_one, (int)sizeof(long_one), &e), -1);
    ck_assert_int_eq(e, -7);
}
END_TEST

Suite *election_suite(void) {
    Suite *s = suite_create("election");
    TCase *tc = tcase_create("leader rule");
    tcase_add_test(tc, first_state_takes_the_first_live_replica_and_every_live_one_as_isr);
    tcase_add_test(tc, first_state_waits_while_no_replica_lives);
    tcase_add_test(tc, dead_leader_is_replaced_by_the_first_live_isr_member_in_assignment_order);
    tcase_add_test(tc, a_live_replica_outside_the_isr_is_never_elected);
    tcase_add_test(tc, no_live_isr_member_leaves_the_partition_offline_with_its_last_member);
    tcase_add_test(tc, a_live_leader_stays_and_only_the_isr_shrinks);
    tcase_add_test(tc, nothing_changes_while_every_isr_member_lives);
    tcase_add_test(tc, an_offline_partition_comes_back_when_its_last_member_returns);
    tcase_add_test(tc, an_offline_partition_stays_so_while_its_last_member_is_dead);
    tcase_add_test(tc, unclean_election_takes_the_first_live_replica_outside_the_isr);
    tcase_add_test(tc, unclean_election_prefers_a_live_isr_member);
    tcase_add_test(tc, unclean_election_with_no_live_replica_stays_offline);
    suite_add_tcase(s, tc);
    tc = tcase_create("controller election");
    tcase_add_test(tc, controller_named_elsewhere_is_a_lost_election);
    tcase_add_test(tc, our_own_controller_node_is_kept_or_removed_by_session);
    tcase_add_test(tc, controller_epoch_parses_only_bumpable_decimal_values);
    suite_add_tcase(s, tc);
    return s;
}
