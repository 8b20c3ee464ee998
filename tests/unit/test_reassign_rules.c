/*
 * test_reassign_rules.c - the controller's reassignment rules
 * (broker/controller/kb_reassign.c), apart from the ZooKeeper writes that
 * carry them out: Kafka's reassignTo (target first, then the original
 * replicas leaving; adding and removing lists), the original and target
 * sets read back from a topic znode, the completion test (every target
 * replica in the ISR), and the state a partition must reach before its
 * replicas shrink (Reassign election, ISR cut to the replicas kept).
 */
#include <string.h>

#include "broker/controller/kb_reassign.h"
#include "tests/unit/unit.h"

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

static void assert_ids(const int32_t *got, int n_got, const int32_t *want, int n) {
    ck_assert_int_eq(n_got, n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(got[i], want[i]);
}

#define IDS(...) (const int32_t[]){__VA_ARGS__}, (int)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* The spec's example: ORS {1,2,3} to TRS {4,5,6}. */
START_TEST(reassign_to_lists_target_first_then_the_replicas_leaving) {
    int32_t r[6], a[6], rm[6];
    kb_reassign_lists_t out = {.replicas = r, .adding = a, .removing = rm};
    kb_reassign_to((int32_t[]){4, 5, 6}, 3, (int32_t[]){1, 2, 3}, 3, &out);
    assert_ids(out.replicas, out.n_replicas, IDS(4, 5, 6, 1, 2, 3));
    assert_ids(out.adding, out.n_adding, IDS(4, 5, 6));
    assert_ids(out.removing, out.n_removing, IDS(1, 2, 3));
}
END_TEST

/* Kafka's own comment: [1,2,3] to [3,4,2] is encoded [3,4,2,1]. */
START_TEST(reassign_to_with_overlap_keeps_the_target_order) {
    int32_t r[6], a[6], rm[6];
    kb_reassign_lists_t out = {.replicas = r, .adding = a, .removing = rm};
    kb_reassign_to((int32_t[]){3, 4, 2}, 3, (int32_t[]){1, 2, 3}, 3, &out);
    assert_ids(out.replicas, out.n_replicas, IDS(3, 4, 2, 1));
    assert_ids(out.adding, out.n_adding, IDS(4));
    assert_ids(out.removing, out.n_removing, IDS(1));
}
END_TEST

/* A new order of the same replicas adds and removes nothing: only the
 * preferred leader changes. */
START_TEST(reassign_to_a_permutation_adds_and_removes_nothing) {
    int32_t r[4], a[4], rm[4];
    kb_reassign_lists_t out = {.replicas = r, .adding = a, .removing = rm};
    kb_reassign_to((int32_t[]){1, 0}, 2, (int32_t[]){0, 1}, 2, &out);
    assert_ids(out.replicas, out.n_replicas, IDS(1, 0));
    ck_assert_int_eq(out.n_adding, 0);
    ck_assert_int_eq(out.n_removing, 0);
}
END_TEST

/* The test's move: {0,1} to {1,2}. */
START_TEST(origin_and_target_are_read_back_from_the_topic_znode) {
    int32_t replicas[] = {1, 2, 0}, adding[] = {2}, removing[] = {0}, out[3];
    kc_partition_t p = {.n_replicas = 3, .replicas = replicas, .n_adding = 1, .adding = adding, .n_removing = 1,
                        .removing = removing};
    assert_ids(out, kb_reassign_origin(&p, out), IDS(1, 0));
    assert_ids(out, kb_reassign_target(&p, out), IDS(1, 2));
}
END_TEST

START_TEST(caught_up_when_every_target_replica_is_in_the_isr) {
    int32_t replicas[] = {1, 2, 0}, adding[] = {2}, removing[] = {0}, isr[] = {0, 1};
    kc_partition_t p = {.n_replicas = 3, .replicas = replicas, .n_adding = 1, .adding = adding, .n_removing = 1,
                        .removing = removing, .has_state = true, .state = {.leader = 0, .n_isr = 2, .isr = isr}};
    ck_assert(!kb_reassign_caught_up(&p));
    int32_t isr2[] = {0, 1, 2};
    p.state.isr = isr2;
    p.state.n_isr = 3;
    ck_assert(kb_reassign_caught_up(&p));
    p.has_state = false;
    ck_assert(!kb_reassign_caught_up(&p));
}
END_TEST

static kc_partition_t with_state(int32_t *replicas, int n, int32_t leader, int32_t *isr, int n_isr) {
    return (kc_partition_t){.n_replicas = n, .replicas = replicas, .has_state = true,
                            .state = {.leader = leader, .leader_epoch = 7, .controller_epoch = 2, .n_isr = n_isr,
                                      .isr = isr, .zk_version = 3}};
}

/* The leader is kept and nothing outside the target is in the ISR. */
START_TEST(prepare_is_ready_when_the_state_already_fits) {
    int32_t replicas[] = {1, 2, 0}, isr[] = {1, 2}, next_isr[2];
    live_t live = {3, {0, 1, 2}};
    kc_partition_t p = with_state(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){1, 2}, 2, 5, is_live, &live, &next), KB_REASSIGN_READY);
}
END_TEST

/* The leader stays; the replica leaving is taken out of the ISR first. */
START_TEST(prepare_takes_the_replicas_leaving_out_of_the_isr) {
    int32_t replicas[] = {1, 2, 0}, isr[] = {0, 1, 2}, next_isr[3];
    live_t live = {3, {0, 1, 2}};
    kc_partition_t p = with_state(replicas, 3, 1, isr, 3);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){1, 2}, 2, 5, is_live, &live, &next), KB_REASSIGN_WRITE);
    ck_assert_int_eq(next.leader, 1);
    assert_ids(next.isr, next.n_isr, IDS(1, 2));
    ck_assert_int_eq(next.leader_epoch, 8);
    ck_assert_int_eq(next.controller_epoch, 5);
    ck_assert_int_eq(next.zk_version, 3);
}
END_TEST

/* Leader 0 leaves: the first target replica live and in the ISR leads
 * (2 is first in the target but dead). */
START_TEST(prepare_elects_the_first_live_target_replica_in_the_isr) {
    int32_t replicas[] = {2, 1, 0}, isr[] = {0, 1, 2}, next_isr[3];
    live_t live = {2, {0, 1}};
    kc_partition_t p = with_state(replicas, 3, 0, isr, 3);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){2, 1}, 2, 5, is_live, &live, &next), KB_REASSIGN_WRITE);
    ck_assert_int_eq(next.leader, 1);
    assert_ids(next.isr, next.n_isr, IDS(1, 2));
}
END_TEST

/* A leader in the target that is dead is replaced too. */
START_TEST(prepare_replaces_a_dead_leader_in_the_target) {
    int32_t replicas[] = {1, 2, 0}, isr[] = {1, 2}, next_isr[2];
    live_t live = {2, {0, 2}};
    kc_partition_t p = with_state(replicas, 3, 1, isr, 2);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){1, 2}, 2, 5, is_live, &live, &next), KB_REASSIGN_WRITE);
    ck_assert_int_eq(next.leader, 2);
}
END_TEST

/* No target replica both live and in the ISR: nothing is written. */
START_TEST(prepare_waits_when_no_target_replica_can_lead) {
    int32_t replicas[] = {2, 0}, isr[] = {0}, next_isr[1];
    live_t live = {2, {0, 2}};
    kc_partition_t p = with_state(replicas, 2, 0, isr, 1);
    kc_partition_state_t next = {.isr = next_isr};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){2}, 1, 5, is_live, &live, &next), KB_REASSIGN_STUCK);
    int32_t offline_isr[] = {2};
    kc_partition_t q = with_state(replicas, 2, -1, offline_isr, 1);
    live_t none = {1, {0}};
    ck_assert_int_eq(kb_reassign_prepare(&q, (int32_t[]){2}, 1, 5, is_live, &none, &next), KB_REASSIGN_STUCK);
}
END_TEST

START_TEST(prepare_without_a_state_is_ready) {
    int32_t replicas[] = {1, 0};
    live_t live = {0, {0}};
    kc_partition_t p = {.n_replicas = 2, .replicas = replicas};
    ck_assert_int_eq(kb_reassign_prepare(&p, (int32_t[]){1}, 1, 5, is_live, &live, NULL), KB_REASSIGN_READY);
}
END_TEST

START_TEST(bump_keeps_leader_and_isr_and_raises_the_epoch) {
    int32_t isr[] = {1, 2};
    kc_partition_state_t cur = {.leader = 1, .leader_epoch = 7, .controller_epoch = 2, .n_isr = 2, .isr = isr,
                                .zk_version = 9},
                         next;
    kb_reassign_bump(&cur, 5, &next);
    ck_assert_int_eq(next.leader, 1);
    ck_assert_int_eq(next.leader_epoch, 8);
    ck_assert_int_eq(next.controller_epoch, 5);
    ck_assert_int_eq(next.zk_version, 9);
    assert_ids(next.isr, next.n_isr, IDS(1, 2));
}
END_TEST

Suite *reassign_rules_suite(void) {
    Suite *s = suite_create("reassign_rules");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reassign_to_lists_target_first_then_the_replicas_leaving);
    tcase_add_test(tc, reassign_to_with_overlap_keeps_the_target_order);
    tcase_add_test(tc, reassign_to_a_permutation_adds_and_removes_nothing);
    tcase_add_test(tc, origin_and_target_are_read_back_from_the_topic_znode);
    tcase_add_test(tc, caught_up_when_every_target_replica_is_in_the_isr);
    tcase_add_test(tc, prepare_is_ready_when_the_state_already_fits);
    tcase_add_test(tc, prepare_takes_the_replicas_leaving_out_of_the_isr);
    tcase_add_test(tc, prepare_elects_the_first_live_target_replica_in_the_isr);
    tcase_add_test(tc, prepare_replaces_a_dead_leader_in_the_target);
    tcase_add_test(tc, prepare_waits_when_no_target_replica_can_lead);
    tcase_add_test(tc, prepare_without_a_state_is_ready);
    tcase_add_test(tc, bump_keeps_leader_and_isr_and_raises_the_epoch);
    suite_add_tcase(s, tc);
    return s;
}
