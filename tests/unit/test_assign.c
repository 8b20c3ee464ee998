/*
 * test_assign.c - Kafka's replica assignment (coord/kc_assign.c) against the
 * worked examples of zk-and-replication.md section 5 and, with racks,
 * Kafka's own AdminRackAwareTest figures, plus the properties every random
 * layout must have.
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "coord/kc_assign.h"
#include "tests/unit/unit.h"

/* Compares a partition-major layout with the expected one, naming the first
 * partition that differs. */
static void assert_layout(const int32_t *got, const int32_t *want, int n_partitions, int rf) {
    for (int p = 0; p < n_partitions; p++)
        for (int j = 0; j < rf; j++)
            ck_assert_msg(got[p * rf + j] == want[p * rf + j],
                          "partition %d replica %d: got %d, want %d", p, j,
                          (int)got[p * rf + j], (int)want[p * rf + j]);
}

START_TEST(three_brokers_six_partitions_start_and_shift_zero) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 2, 1, 1, 0, 2, 2, 1, 0};
    int32_t got[18];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 6, 3, 0, 0, got), 0);
    assert_layout(got, want, 6, 3);
}
END_TEST

START_TEST(three_brokers_six_partitions_start_and_shift_one) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {1, 0, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 2, 0, 1, 0, 1, 2};
    int32_t got[18];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 6, 3, 1, 0, got), 0);
    assert_layout(got, want, 6, 3);
}
END_TEST

START_TEST(five_brokers_ten_partitions) {
    const int32_t brokers[] = {0, 1, 2, 3, 4};
    const int32_t want[] = {0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 0, 4, 0, 1,
                            0, 2, 3, 1, 3, 4, 2, 4, 0, 3, 0, 1, 4, 1, 2};
    int32_t got[30];
    ck_assert_int_eq(kc_assign_replicas(brokers, 5, 10, 3, 0, 0, got), 0);
    assert_layout(got, want, 10, 3);
}
END_TEST

START_TEST(create_topics_broker_order_is_used_unchanged) {
    const int32_t brokers[] = {0, 2, 1};
    const int32_t want[] = {0, 2, 1, 2, 1, 0, 1, 0, 2, 0, 1, 2, 2, 0, 1, 1, 2, 0};
    int32_t got[18];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 6, 3, 0, 0, got), 0);
    assert_layout(got, want, 6, 3);
}
END_TEST

START_TEST(adding_partitions_continues_from_start_partition_id) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {0, 2, 1, 1, 0, 2};
    int32_t got[6];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 2, 3, 0, 6, got), 0);
    assert_layout(got, want, 2, 3);
}
END_TEST

/* The spec's example: the 6-partition topic above (partition 0 = [0,1,2])
 * grown to 8: start and shift 0, the wrap at 6 moves the shift to 1. */
START_TEST(added_partitions_spec_example_six_to_eight) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {0, 2, 1, 1, 0, 2};
    int32_t got[6];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 0, 6, 2, 3, got), 0);
    assert_layout(got, want, 2, 3);
}
END_TEST

/* Partition 0 led by broker 2 of five: start and shift 2, and the new ids
 * 10..12 begin a new round (10 % 5 == 0), so the shift is 3. */
START_TEST(added_partitions_five_brokers_start_at_partition_zero_leader) {
    const int32_t brokers[] = {0, 1, 2, 3, 4};
    const int32_t want[] = {2, 1, 3, 3, 2, 4, 4, 3, 0};
    int32_t got[9];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 5, 2, 10, 3, 3, got), 0);
    assert_layout(got, want, 3, 3);
}
END_TEST

START_TEST(added_partitions_replication_factor_one) {
    const int32_t brokers[] = {1, 2, 3};
    const int32_t want[] = {2, 3, 1, 2};
    int32_t got[4];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 2, 3, 4, 1, got), 0);
    assert_layout(got, want, 4, 1);
}
END_TEST

START_TEST(added_partitions_replication_factor_equals_brokers) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {2, 1, 0, 0, 2, 1};
    int32_t got[6];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 1, 4, 2, 3, got), 0);
    assert_layout(got, want, 2, 3);
}
END_TEST

/* Partition 0's first replica may be a broker that is gone: the start is
 * the next id up, or the first broker when no id is as large. */
START_TEST(added_partitions_first_replica_not_registered) {
    const int32_t brokers[] = {0, 1, 2}, gapped[] = {10, 20, 30};
    const int32_t want[] = {0, 2, 1, 0, 2, 1}, want_gapped[] = {10, 30, 20, 30, 30, 10};
    int32_t got[6];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 5, 3, 3, 2, got), 0);
    assert_layout(got, want, 3, 2);
    ck_assert_int_eq(kc_assign_added_replicas(gapped, NULL, 3, 15, 2, 3, 2, got), 0);
    assert_layout(got, want_gapped, 3, 2);
}
END_TEST

/* The integration test's topic: 3 partitions, RF 2, grown to 12. */
START_TEST(added_partitions_three_to_twelve) {
    const int32_t brokers[] = {0, 1, 2};
    const int32_t want[] = {1, 2, 2, 0, 0, 1, 1, 0, 2, 1, 0, 2, 1, 2, 2, 0, 0, 1};
    int32_t got[18];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 1, 3, 9, 2, got), 0);
    assert_layout(got, want, 9, 2);
}
END_TEST

START_TEST(added_partitions_bad_arguments_are_rejected) {
    const int32_t brokers[] = {0, 1, 2};
    int32_t got[16];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 0, 0, 1, 1, got), -1);
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 0, 3, 0, 1, got), -1);
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 3, 0, 3, 1, 4, got), -1);
    ck_assert_int_eq(kc_assign_added_replicas(brokers, NULL, 0, 0, 3, 1, 1, got), -1);
}
END_TEST

START_TEST(broker_ids_need_not_be_contiguous) {
    const int32_t brokers[] = {10, 20, 30};
    const int32_t want[] = {10, 20, 20, 30, 30, 10, 10, 30};
    int32_t got[8];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 4, 2, 0, 0, got), 0);
    assert_layout(got, want, 4, 2);
}
END_TEST

START_TEST(single_broker_replication_factor_one) {
    const int32_t brokers[] = {4};
    int32_t got[3];
    ck_assert_int_eq(kc_assign_replicas(brokers, 1, 3, 1, -1, 0, got), 0);
    for (int p = 0; p < 3; p++) ck_assert_int_eq(got[p], 4);
}
END_TEST

START_TEST(replication_factor_larger_than_brokers_is_rejected) {
    const int32_t brokers[] = {0, 1, 2};
    int32_t got[16];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 1, 4, -1, 0, got), -1);
    ck_assert_int_eq(kc_assign_replicas(brokers, 0, 1, 1, -1, 0, got), -1);
}
END_TEST

START_TEST(replication_factor_below_one_is_rejected) {
    const int32_t brokers[] = {0, 1, 2};
    int32_t got[16];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 1, 0, -1, 0, got), -1);
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 1, -2, -1, 0, got), -1);
}
END_TEST

START_TEST(partitions_below_one_are_rejected) {
    const int32_t brokers[] = {0, 1, 2};
    int32_t got[16];
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, 0, 1, -1, 0, got), -1);
    ck_assert_int_eq(kc_assign_replicas(brokers, 3, -1, 1, -1, 0, got), -1);
}
END_TEST

/* With P a multiple of n, round-robin leaders give every broker P/n leaders,
 * whatever the random start. */
START_TEST(random_layout_spreads_leaders_evenly) {
    const int32_t brokers[] = {1, 2, 3, 4, 5};
    int32_t got[20 * 3];
    for (int round = 0; round < 200; round++) {
        int leaders[6] = {0};
        ck_assert_int_eq(kc_assign_replicas(brokers, 5, 20, 3, -1, 0, got), 0);
        for (int p = 0; p < 20; p++) leaders[got[p * 3]]++;
        for (int b = 1; b <= 5; b++) ck_assert_int_eq(leaders[b], 4);
    }
}
END_TEST

START_TEST(random_layout_replicas_are_distinct_known_brokers) {
    const int32_t brokers[] = {0, 3, 7, 9};
    int32_t got[13 * 4];
    for (int round = 0; round < 200; round++) {
        int rf = 1 + round % 4;
        ck_assert_int_eq(kc_assign_replicas(brokers, 4, 13, rf, -1, 0, got), 0);
        for (int p = 0; p < 13; p++) {
            bool seen[10] = {false};
            for (int j = 0; j < rf; j++) {
                int32_t b = got[p * rf + j];
                ck_assert(b == 0 || b == 3 || b == 7 || b == 9);
                ck_assert_msg(!seen[b], "partition %d holds broker %d twice", p, (int)b);
                seen[b] = true;
            }
        }
    }
}
END_TEST

/* Leaders are evenly spread over full rounds; followers should be too once
 * the shift has cycled: each broker holds P*RF/n replicas in total. */
START_TEST(random_layout_spreads_replicas_evenly) {
    const int32_t brokers[] = {0, 1, 2, 3};
    int32_t got[8 * 3];
    for (int round = 0; round < 200; round++) {
        int held[4] = {0};
        ck_assert_int_eq(kc_assign_replicas(brokers, 4, 8, 3, -1, 0, got), 0);
        for (int i = 0; i < 8 * 3; i++) held[got[i]]++;
        for (int b = 0; b < 4; b++) ck_assert_int_eq(held[b], 6);
    }
}
END_TEST

/* Two hundred draws over three brokers miss a start value with probability
 * below 1e-34: a failure means the draw is not random. */
START_TEST(random_start_takes_every_value) {
    const int32_t brokers[] = {0, 1, 2};
    bool started[3] = {false};
    int32_t got[1];
    for (int round = 0; round < 200; round++) {
        ck_assert_int_eq(kc_assign_replicas(brokers, 3, 1, 1, -1, 0, got), 0);
        started[got[0]] = true;
    }
    for (int b = 0; b < 3; b++) ck_assert(started[b]);
}
END_TEST

/* ---- racks (Kafka's AdminRackAwareTest: the same racks and figures) ---- */

START_TEST(racked_layout_is_kafkas_for_its_own_example) {
    /* Kafka arranges these brokers as 0, 3, 1, 5, 4, 2 (rack1, rack2,
     * rack3 in turn); 7 partitions, RF 3, start and shift 0. */
    const int32_t brokers[] = {0, 1, 2, 3, 4, 5};
    const char *racks[] = {"rack1", "rack3", "rack3", "rack2", "rack2", "rack1"};
    const int32_t want[] = {0, 3, 1, 3, 1, 5, 1, 5, 4, 5, 4, 2, 4, 2, 0, 2, 0, 3, 0, 4, 2};
    int32_t got[21];
    ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 6, 7, 3, 0, 0, got), 0);
    assert_layout(got, want, 7, 3);
}
END_TEST

/* A rack with fewer brokers runs out first and is skipped in the turns:
 * Kafka's 0, 3, 1, 4, 2 without broker 5; RF 1 shows the arrangement. */
START_TEST(racked_arrangement_skips_a_rack_that_ran_out) {
    const int32_t brokers[] = {4, 3, 2, 1, 0};
    const char *racks[] = {"rack2", "rack2", "rack3", "rack3", "rack1"};
    const int32_t want[] = {0, 3, 1, 4, 2};
    int32_t got[5];
    ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 5, 5, 1, 0, 0, got), 0);
    assert_layout(got, want, 5, 1);
}
END_TEST

/* Kafka's checkReplicaDistribution: every partition has rf distinct
 * brokers in min(rf, racks) racks; with racks of equal size and whole
 * rounds, leaders and replicas are spread evenly. */
static void assert_rack_spread(const int32_t *got, int n_partitions, int rf, const char *const *rack_of_id,
                               int n_racks, int n_ids, bool even) {
    int leaders[16] = {0}, held[16] = {0};
    for (int p = 0; p < n_partitions; p++) {
        const char *seen_racks[16];
        int n_seen = 0;
        bool seen[16] = {false};
        for (int j = 0; j < rf; j++) {
            int32_t b = got[p * rf + j];
            ck_assert_msg(b >= 0 && b < n_ids && rack_of_id[b], "partition %d: unknown broker %d", p, (int)b);
            ck_assert_msg(!seen[b], "partition %d holds broker %d twice", p, (int)b);
            seen[b] = true;
            held[b]++;
            bool known = false;
            for (int r = 0; r < n_seen; r++) known |= strcmp(seen_racks[r], rack_of_id[b]) == 0;
            if (!known) seen_racks[n_seen++] = rack_of_id[b];
        }
        leaders[got[p * rf]]++;
        ck_assert_msg(n_seen == (rf < n_racks ? rf : n_racks), "partition %d spans %d racks", p, n_seen);
    }
    for (int b = 0; even && b < n_ids; b++) {
        if (!rack_of_id[b]) continue;
        ck_assert_int_eq(leaders[b], leaders[got[0]]);
        ck_assert_int_eq(held[b], held[got[0]]);
    }
}

START_TEST(racked_random_layouts_span_every_rack_they_can) {
    const int32_t brokers[] = {0, 1, 2, 3, 4, 5};
    const char *racks[] = {"rack1", "rack2", "rack2", "rack3", "rack3", "rack1"};
    const char *uneven[] = {"rack1", "rack1", "rack2", "rack3", "rack3", "rack1"};
    int32_t got[13 * 3];
    for (int round = 0; round < 200; round++) {
        ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 6, 6, 3, -1, 0, got), 0);
        assert_rack_spread(got, 6, 3, racks, 3, 6, true);
        ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 6, 12, 2, -1, 0, got), 0);
        assert_rack_spread(got, 12, 2, racks, 3, 6, true);
        ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 6, 13, 3, -1, 0, got), 0);
        assert_rack_spread(got, 13, 3, racks, 3, 6, false);
        ck_assert_int_eq(kc_assign_replicas_racked(brokers, uneven, 6, 12, 3, -1, 0, got), 0);
        assert_rack_spread(got, 12, 3, uneven, 3, 6, false);
    }
}
END_TEST

/* More replicas than racks: the extra ones go to distinct brokers of racks
 * that already have one (Kafka's second rule); two racks, RF 4. */
START_TEST(racked_replication_factor_above_the_rack_count) {
    const int32_t brokers[] = {0, 1, 2, 3};
    const char *racks[] = {"a", "a", "b", "b"};
    int32_t got[8 * 4];
    ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 4, 8, 4, -1, 0, got), 0);
    assert_rack_spread(got, 8, 4, racks, 2, 4, true);
    ck_assert_int_eq(kc_assign_replicas_racked(brokers, racks, 4, 1, 5, 0, 0, got), -1);
}
END_TEST

/* Kafka's testRackAwareExpansion: ids 6-11, 12 partitions added after 12. */
START_TEST(racked_added_partitions_keep_the_rack_spread) {
    const int32_t brokers[] = {6, 7, 8, 9, 10, 11};
    const char *racks[] = {"rack1", "rack2", "rack2", "rack3", "rack3", "rack1"};
    const char *by_id[12] = {NULL, NULL, NULL, NULL, NULL, NULL, "rack1", "rack2", "rack2", "rack3", "rack3", "rack1"};
    int32_t got[12 * 2];
    ck_assert_int_eq(kc_assign_added_replicas(brokers, racks, 6, 9, 12, 12, 2, got), 0);
    assert_rack_spread(got, 12, 2, by_id, 3, 12, true);
    /* The start is found in the ascending list (9 is its index 3), then
     * used in the arranged one (6, 7, 9, 11, 8, 10): partition 12 (a new
     * round) starts at index 3, broker 11. */
    ck_assert_int_eq(got[0], 11);
}
END_TEST

START_TEST(racks_are_used_only_when_every_broker_has_one) {
    const char *all[] = {"a", "b", "a"}, *some[] = {"a", NULL, "b"}, *none[] = {NULL, NULL, NULL};
    bool mixed;
    ck_assert_ptr_eq(kc_assign_racks_used(all, 3, KC_RACKS_ENFORCED, &mixed), all);
    ck_assert(!mixed);
    ck_assert_ptr_eq(kc_assign_racks_used(all, 3, KC_RACKS_SAFE, &mixed), all);
    ck_assert_ptr_null(kc_assign_racks_used(all, 3, KC_RACKS_DISABLED, &mixed));
    ck_assert_ptr_null(kc_assign_racks_used(some, 3, KC_RACKS_ENFORCED, &mixed));
    ck_assert(mixed);
    ck_assert_ptr_null(kc_assign_racks_used(some, 3, KC_RACKS_SAFE, &mixed));
    ck_assert(!mixed);
    ck_assert_ptr_null(kc_assign_racks_used(some, 3, KC_RACKS_DISABLED, &mixed));
    ck_assert(!mixed);
    ck_assert_ptr_null(kc_assign_racks_used(none, 3, KC_RACKS_ENFORCED, &mixed));
    ck_assert(!mixed);
    ck_assert_ptr_null(kc_assign_racks_used(NULL, 3, KC_RACKS_ENFORCED, &mixed));
    ck_assert(!mixed);
}
END_TEST

Suite *assign_suite(void) {
    Suite *s = suite_create("assign");
    TCase *tc = tcase_create("worked_examples");
    tcase_add_test(tc, three_brokers_six_partitions_start_and_shift_zero);
    tcase_add_test(tc, three_brokers_six_partitions_start_and_shift_one);
    tcase_add_test(tc, five_brokers_ten_partitions);
    tcase_add_test(tc, create_topics_broker_order_is_used_unchanged);
    tcase_add_test(tc, adding_partitions_continues_from_start_partition_id);
    tcase_add_test(tc, broker_ids_need_not_be_contiguous);
    tcase_add_test(tc, added_partitions_spec_example_six_to_eight);
    tcase_add_test(tc, added_partitions_five_brokers_start_at_partition_zero_leader);
    tcase_add_test(tc, added_partitions_replication_factor_one);
    tcase_add_test(tc, added_partitions_replication_factor_equals_brokers);
    tcase_add_test(tc, added_partitions_first_replica_not_registered);
    tcase_add_test(tc, added_partitions_three_to_twelve);
    tcase_add_test(tc, added_partitions_bad_arguments_are_rejected);
    tcase_add_test(tc, single_broker_replication_factor_one);
    suite_add_tcase(s, tc);

    tc = tcase_create("rejections");
    tcase_add_test(tc, replication_factor_larger_than_brokers_is_rejected);
    tcase_add_test(tc, replication_factor_below_one_is_rejected);
    tcase_add_test(tc, partitions_below_one_are_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_test(tc, random_layout_spreads_leaders_evenly);
    tcase_add_test(tc, random_layout_replicas_are_distinct_known_brokers);
    tcase_add_test(tc, random_layout_spreads_replicas_evenly);
    tcase_add_test(tc, random_start_takes_every_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("racks");
    tcase_add_test(tc, racked_layout_is_kafkas_for_its_own_example);
    tcase_add_test(tc, racked_arrangement_skips_a_rack_that_ran_out);
    tcase_add_test(tc, racked_random_layouts_span_every_rack_they_can);
    tcase_add_test(tc, racked_replication_factor_above_the_rack_count);
    tcase_add_test(tc, racked_added_partitions_keep_the_rack_spread);
    tcase_add_test(tc, racks_are_used_only_when_every_broker_has_one);
    suite_add_tcase(s, tc);
    return s;
}
