/*
 * test_elect_moves.c - the election rules that move a living leader
 * (broker/controller/kb_elect_moves.c: preferred replica, controlled
 * shutdown, a stopping follower leaving the ISR) and the offline rule with
 * brokers in controlled shutdown excluded from leadership
 * (kb_elect_offline_excluding), each decided from plain values.
 */
#include "broker/controller/kb_elect_moves.h"
#include "tests/unit/unit.h"

/* The live brokers of a test, and those of them shutting down. */
typedef struct {
    int n, n_shutting;
    int32_t ids[8], shutting[8];
} brokers_t;

static bool in(const int32_t *v, int n, int32_t id) {
    for (int i = 0; i < n; i++)
        if (v[i] == id) return true;
    return false;
}

static bool is_live(int32_t id, const void *arg) {
    const brokers_t *b = arg;
    return in(b->ids, b->n, id);
}

static bool is_shutting(int32_t id, const void *arg) {
    const brokers_t *b = arg;
    return in(b->shutting, b->n_shutting, id);
}

/* Assigned `replicas`; state: leader, leader epoch 7, zkVersion 3, ISR isr. */
static kc_partition_t partition(int32_t *replicas, int n_replicas, int32_t leader, int32_t *isr, int n_isr) {
    return (kc_partition_t){.n_replicas = n_replicas, .replicas = replicas, .has_state = true,
                            .state = {.leader = leader, .leader_epoch = 7, .controller_epoch = 2, .n_isr = n_isr,
                                      .isr = isr, .zk_version = 3}};
}

static void assert_state(const kc_partition_state_t *s, int32_t leader, const int32_t *isr, int n) {
    ck_assert_int_eq(s->leader, leader);
    ck_assert_int_eq(s->leader_epoch, 8);
    ck_assert_int_eq(s->controller_epoch, 9);
    ck_assert_int_eq(s->zk_version, 3);
    ck_assert_int_eq(s->n_isr, n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(s->isr[i], isr[i]);
}

/* ---- preferred ---- */

START_TEST(preferred_replica_takes_the_lead_and_the_isr_is_unchanged) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {2, 3, 1}, out[3];
    brokers_t b = {.n = 3, .ids = {1, 2, 3}};
    kc_partition_t part = partition(replicas, 3, 2, isr, 3);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_CHANGED);
    assert_state(&next, 1, (int32_t[]){2, 3, 1}, 3);
}
END_TEST

START_TEST(preferred_election_is_not_needed_when_the_preferred_replica_leads) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2}, out[2];
    brokers_t b = {.n = 3, .ids = {1, 2, 3}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, NULL, &b, &next), KB_ELECT_NOT_NEEDED);
}
END_TEST

START_TEST(preferred_replica_outside_the_isr_dead_or_stopping_cannot_lead) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {2, 3}, isr_all[] = {2, 3, 1}, out[3];
    kc_partition_state_t next = {.isr = out};
    brokers_t b = {.n = 3, .ids = {1, 2, 3}};
    kc_partition_t part = partition(replicas, 3, 2, isr, 2);
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_NOT_AVAILABLE);
    part = partition(replicas, 3, 2, isr_all, 3);
    brokers_t dead = {.n = 2, .ids = {2, 3}};
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, is_shutting, &dead, &next), KB_ELECT_NOT_AVAILABLE);
    brokers_t stopping = {.n = 3, .ids = {1, 2, 3}, .n_shutting = 1, .shutting = {1}};
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, is_shutting, &stopping, &next), KB_ELECT_NOT_AVAILABLE);
}
END_TEST

START_TEST(preferred_replica_only_never_the_second_one) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {3, 2}, out[2];
    brokers_t b = {.n = 2, .ids = {2, 3}};
    kc_partition_t part = partition(replicas, 3, 3, isr, 2);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_preferred(&part, 9, is_live, NULL, &b, &next), KB_ELECT_NOT_AVAILABLE);
}
END_TEST

/* ---- controlled shutdown ---- */

START_TEST(stopping_leader_hands_over_to_the_first_eligible_isr_member_and_leaves_the_isr) {
    int32_t replicas[] = {1, 3, 2}, isr[] = {1, 2, 3}, out[3];
    brokers_t b = {.n = 3, .ids = {1, 2, 3}, .n_shutting = 1, .shutting = {1}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_CHANGED);
    assert_state(&next, 3, (int32_t[]){2, 3}, 2); /* assignment order picks 3; ISR order kept */
}
END_TEST

START_TEST(controlled_shutdown_skips_replicas_that_are_dead_stopping_or_out_of_the_isr) {
    int32_t replicas[] = {1, 2, 3, 4, 5}, isr[] = {1, 2, 3, 5}, out[4];
    /* 2 is dead, 3 is stopping too, 4 is not in the ISR: 5 leads. */
    brokers_t b = {.n = 4, .ids = {1, 3, 4, 5}, .n_shutting = 2, .shutting = {1, 3}};
    kc_partition_t part = partition(replicas, 5, 1, isr, 4);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_CHANGED);
    assert_state(&next, 5, (int32_t[]){2, 5}, 2); /* only the stopping members leave */
}
END_TEST

START_TEST(controlled_shutdown_keeps_the_leader_when_nobody_can_take_over) {
    int32_t replicas[] = {1, 2}, isr[] = {1}, single[] = {1}, out[1];
    brokers_t b = {.n = 2, .ids = {1, 2}, .n_shutting = 1, .shutting = {1}};
    kc_partition_t part = partition(replicas, 2, 1, isr, 1);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_NOT_AVAILABLE);
    part = partition(single, 1, 1, isr, 1); /* a single replica: nobody else exists */
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_NOT_AVAILABLE);
}
END_TEST

START_TEST(controlled_shutdown_is_not_needed_when_the_leader_is_not_stopping) {
    int32_t replicas[] = {1, 2}, isr[] = {1, 2}, out[2];
    brokers_t b = {.n = 2, .ids = {1, 2}, .n_shutting = 1, .shutting = {2}};
    kc_partition_t part = partition(replicas, 2, 1, isr, 2);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_NOT_NEEDED);
    part = partition(replicas, 2, -1, isr, 2);
    ck_assert_int_eq(kb_elect_controlled_shutdown(&part, 9, is_live, is_shutting, &b, &next), KB_ELECT_NOT_NEEDED);
}
END_TEST

/* ---- a stopping follower ---- */

START_TEST(stopping_follower_leaves_the_isr_and_the_leader_stays) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2, 3}, out[3];
    kc_partition_t part = partition(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = out};
    ck_assert_int_eq(kb_elect_leave_isr(&part, 9, 2, &next), KB_ELECT_CHANGED);
    assert_state(&next, 1, (int32_t[]){1, 3}, 2);
}
END_TEST

START_TEST(leaving_the_isr_is_not_needed_for_the_leader_a_non_member_or_the_last_member) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 3}, last[] = {2}, out[2];
    kc_partition_state_t next = {.isr = out};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    ck_assert_int_eq(kb_elect_leave_isr(&part, 9, 1, &next), KB_ELECT_NOT_NEEDED);
    ck_assert_int_eq(kb_elect_leave_isr(&part, 9, 2, &next), KB_ELECT_NOT_NEEDED);
    part = partition(replicas, 3, -1, last, 1);
    ck_assert_int_eq(kb_elect_leave_isr(&part, 9, 2, &next), KB_ELECT_NOT_NEEDED);
}
END_TEST

/* ---- offline election with brokers stopping ---- */

START_TEST(offline_election_never_elects_a_stopping_broker) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2, 3}, out[3];
    brokers_t b = {.n = 2, .ids = {2, 3}, .n_shutting = 1, .shutting = {2}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = out};
    ck_assert(kb_elect_offline_excluding(&part, 9, is_live, is_shutting, &b, false, &next));
    assert_state(&next, 3, (int32_t[]){3}, 1); /* the new ISR also loses the stopping member */
}
END_TEST

START_TEST(offline_election_with_only_stopping_members_leaves_the_partition_offline_with_them) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2}, out[2];
    brokers_t b = {.n = 2, .ids = {2, 3}, .n_shutting = 1, .shutting = {2}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = out};
    ck_assert(kb_elect_offline_excluding(&part, 9, is_live, is_shutting, &b, false, &next));
    assert_state(&next, -1, (int32_t[]){2}, 1);
    /* unclean: the first live replica that is not stopping leads alone */
    ck_assert(kb_elect_offline_excluding(&part, 9, is_live, is_shutting, &b, true, &next));
    assert_state(&next, 3, (int32_t[]){3}, 1);
}
END_TEST

START_TEST(offline_election_keeps_a_living_stopping_leader_and_its_stopping_members) {
    int32_t replicas[] = {1, 2, 3}, isr[] = {1, 2, 3}, out[3];
    brokers_t b = {.n = 2, .ids = {1, 2}, .n_shutting = 2, .shutting = {1, 2}};
    kc_partition_t part = partition(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = out};
    ck_assert(kb_elect_offline_excluding(&part, 9, is_live, is_shutting, &b, false, &next));
    assert_state(&next, 1, (int32_t[]){1, 2}, 2); /* only the dead member leaves */
    brokers_t all = {.n = 3, .ids = {1, 2, 3}, .n_shutting = 1, .shutting = {1}};
    ck_assert(!kb_elect_offline_excluding(&part, 9, is_live, is_shutting, &all, false, &next));
}
END_TEST

Suite *elect_moves_suite(void) {
    Suite *s = suite_create("elect_moves");
    TCase *tc = tcase_create("preferred");
    tcase_add_test(tc, preferred_replica_takes_the_lead_and_the_isr_is_unchanged);
    tcase_add_test(tc, preferred_election_is_not_needed_when_the_preferred_replica_leads);
    tcase_add_test(tc, preferred_replica_outside_the_isr_dead_or_stopping_cannot_lead);
    tcase_add_test(tc, preferred_replica_only_never_the_second_one);
    suite_add_tcase(s, tc);
    tc = tcase_create("controlled_shutdown");
    tcase_add_test(tc, stopping_leader_hands_over_to_the_first_eligible_isr_member_and_leaves_the_isr);
    tcase_add_test(tc, controlled_shutdown_skips_replicas_that_are_dead_stopping_or_out_of_the_isr);
    tcase_add_test(tc, controlled_shutdown_keeps_the_leader_when_nobody_can_take_over);
    tcase_add_test(tc, controlled_shutdown_is_not_needed_when_the_leader_is_not_stopping);
    tcase_add_test(tc, stopping_follower_leaves_the_isr_and_the_leader_stays);
    tcase_add_test(tc, leaving_the_isr_is_not_needed_for_the_leader_a_non_member_or_the_last_member);
    suite_add_tcase(s, tc);
    tc = tcase_create("offline_excluding");
    tcase_add_test(tc, offline_election_never_elects_a_stopping_broker);
    tcase_add_test(tc, offline_election_with_only_stopping_members_leaves_the_partition_offline_with_them);
    tcase_add_test(tc, offline_election_keeps_a_living_stopping_leader_and_its_stopping_members);
    suite_add_tcase(s, tc);
    return s;
}
