/*
 * test_isr.c - a partition leader's ISR rules (broker/replica/kb_isr.c),
 * against Kafka 2.6's (zk-and-replication.md 3.3-3.5): when a follower is
 * out of sync, what the shrunken ISR is, how fetches move a follower's
 * caught-up time, and when accumulated ISR changes are published.
 *
 * Times are plain numbers: the rules take the clock as an argument.
 */
#include <check.h>

#include "broker/replica/kb_isr.h"
#include "tests/unit/unit.h"

#define LAG 30000 /* replica.lag.time.max.ms, Kafka's default */
#define T0 1000000

/* A follower as a new leader (at T0, log end offset leo) sees it. */
static kb_follower_t follower(int32_t id, bool in_isr, int64_t leo) {
    kb_follower_t f = {.broker_id = id};
    kb_follower_reset(&f, in_isr, true, leo, T0);
    return f;
}

/* ---- the out-of-sync decision ---- */

START_TEST(an_isr_follower_counts_as_caught_up_when_its_leader_takes_over) {
    kb_follower_t f = follower(1, true, 10);
    ck_assert_int_eq(f.leo, KB_OFFSET_UNKNOWN);
    ck_assert(!kb_isr_out_of_sync(&f, 10, T0, LAG));
    ck_assert(!kb_isr_out_of_sync(&f, 10, T0 + LAG, LAG));
    ck_assert(kb_isr_out_of_sync(&f, 10, T0 + LAG + 1, LAG));
}
END_TEST

/* An unknown LEO never equals the leader's, not even an empty log's 0. */
START_TEST(a_follower_that_never_fetched_is_out_of_sync_after_the_lag_even_on_an_empty_log) {
    kb_follower_t f = follower(1, true, 0);
    ck_assert(!kb_isr_out_of_sync(&f, 0, T0 + LAG, LAG));
    ck_assert(kb_isr_out_of_sync(&f, 0, T0 + LAG + 1, LAG));
}
END_TEST

START_TEST(a_follower_at_the_leader_log_end_is_in_sync_however_long_ago_it_caught_up) {
    kb_follower_t f = follower(1, true, 0);
    kb_follower_fetched(&f, 0, 0, T0 + 1);
    ck_assert(!kb_isr_out_of_sync(&f, 0, T0 + 10 * LAG, LAG));
    /* ... until the leader appends and it does not follow. */
    ck_assert(kb_isr_out_of_sync(&f, 5, T0 + 10 * LAG, LAG));
}
END_TEST

/* Stuck: it fetches, but always the same old offset. */
START_TEST(a_stuck_follower_goes_once_the_lag_passes_since_it_last_caught_up) {
    kb_follower_t f = follower(1, true, 100);
    kb_follower_fetched(&f, 100, 100, T0 + 10); /* caught up at T0 + 10 */
    for (int64_t t = T0 + 1000; t <= T0 + 10 + LAG; t += 1000) kb_follower_fetched(&f, 100, 200, t);
    ck_assert(!kb_isr_out_of_sync(&f, 200, T0 + 10 + LAG, LAG));
    ck_assert(kb_isr_out_of_sync(&f, 200, T0 + 10 + LAG + 1, LAG));
}
END_TEST

/* Slow: each fetch reaches the leader end offset of the previous fetch,
 * which credits it as caught up at that previous fetch (spec 3.3). */
START_TEST(a_follower_reaching_the_previous_fetch_leader_end_is_caught_up_as_of_that_fetch) {
    kb_follower_t f = follower(1, true, 0);
    int64_t leader_leo = 0;
    for (int64_t t = T0 + 1000; t <= T0 + 5 * LAG; t += 1000) {
        kb_follower_fetched(&f, leader_leo, leader_leo + 10, t);
        leader_leo += 10;
    }
    ck_assert_int_eq(f.last_caught_up_ms, T0 + 5 * LAG - 1000);
    ck_assert(!kb_isr_out_of_sync(&f, leader_leo, T0 + 6 * LAG - 1000, LAG));
    ck_assert(kb_isr_out_of_sync(&f, leader_leo, T0 + 6 * LAG - 999, LAG));
}
END_TEST

START_TEST(a_replica_outside_the_isr_was_never_caught_up) {
    kb_follower_t f = follower(2, false, 0);
    ck_assert_int_eq(f.last_caught_up_ms, KB_ISR_NEVER);
    ck_assert(kb_isr_out_of_sync(&f, 0, T0, LAG));
}
END_TEST

/* A new leader epoch under the same leader restarts the clock but keeps
 * what the follower's last fetch said about its log. */
START_TEST(a_new_epoch_restarts_the_clock_and_keeps_the_known_leo) {
    kb_follower_t f = follower(1, true, 0);
    kb_follower_fetched(&f, 7, 7, T0 + 5);
    kb_follower_reset(&f, true, false, 9, T0 + 2 * LAG);
    ck_assert_int_eq(f.leo, 7);
    ck_assert_int_eq(f.last_caught_up_ms, T0 + 2 * LAG);
    ck_assert(!kb_isr_out_of_sync(&f, 9, T0 + 3 * LAG, LAG));
    ck_assert(kb_isr_out_of_sync(&f, 9, T0 + 3 * LAG + 1, LAG));
}
END_TEST

/* ---- the shrunken ISR ---- */

START_TEST(shrink_drops_the_followers_out_of_sync_and_keeps_the_order) {
    const int32_t isr[] = {2, 0, 1};
    kb_follower_t f[] = {follower(1, true, 50), follower(2, true, 50)};
    int32_t out[3];
    kb_follower_fetched(&f[1], 50, 50, T0 + LAG); /* broker 2 keeps up */
    ck_assert_int_eq(kb_isr_shrink(isr, 3, 0, f, 2, 50, T0 + LAG, LAG, out), 3);
    ck_assert_int_eq(kb_isr_shrink(isr, 3, 0, f, 2, 50, T0 + LAG + 1, LAG, out), 2);
    ck_assert_int_eq(out[0], 2);
    ck_assert_int_eq(out[1], 0);
}
END_TEST

START_TEST(shrink_never_drops_the_leader) {
    const int32_t alone[] = {0};
    const int32_t all[] = {1, 2, 0};
    kb_follower_t f[] = {follower(1, true, 0), follower(2, true, 0)};
    int32_t out[3];
    ck_assert_int_eq(kb_isr_shrink(alone, 1, 0, f, 2, 0, T0 + 10 * LAG, LAG, out), 1);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(kb_isr_shrink(all, 3, 0, f, 2, 0, T0 + 10 * LAG, LAG, out), 1);
    ck_assert_int_eq(out[0], 0);
}
END_TEST

START_TEST(shrink_refuses_an_isr_without_the_leader) {
    const int32_t isr[] = {1, 2};
    kb_follower_t f[] = {follower(1, true, 0), follower(2, true, 0)};
    int32_t out[2];
    ck_assert_int_eq(kb_isr_shrink(isr, 2, 0, f, 2, 0, T0 + 10 * LAG, LAG, out), -1);
}
END_TEST

START_TEST(shrink_drops_an_isr_member_the_leader_has_no_record_of) {
    const int32_t isr[] = {0, 1, 5};
    kb_follower_t f[] = {follower(1, true, 0)};
    int32_t out[3];
    kb_follower_fetched(&f[0], 0, 0, T0 + 1);
    ck_assert_int_eq(kb_isr_shrink(isr, 3, 0, f, 1, 0, T0 + 2, LAG, out), 2);
    ck_assert_int_eq(out[0], 0);
    ck_assert_int_eq(out[1], 1);
}
END_TEST

/* ---- publication and check timing ---- */

START_TEST(publication_waits_for_five_quiet_seconds) {
    int64_t start = T0, change = T0 + 100;
    ck_assert(!kb_isr_publish_due(false, change, start, change + 10 * KB_ISR_PUBLISH_QUIET_MS));
    ck_assert(!kb_isr_publish_due(true, change, start, change + KB_ISR_PUBLISH_QUIET_MS));
    ck_assert(kb_isr_publish_due(true, change, start, change + KB_ISR_PUBLISH_QUIET_MS + 1));
}
END_TEST

START_TEST(publication_of_a_stream_of_changes_happens_within_a_minute) {
    int64_t start = T0;
    for (int64_t now = T0 + 2500; now <= start + KB_ISR_PUBLISH_MAX_DELAY_MS; now += 2500)
        ck_assert(!kb_isr_publish_due(true, now - 1000, start, now));
    int64_t now = start + KB_ISR_PUBLISH_MAX_DELAY_MS + 1;
    ck_assert(kb_isr_publish_due(true, now - 1000, start, now));
}
END_TEST

START_TEST(the_shrink_check_runs_every_half_lag_and_at_least_every_millisecond) {
    ck_assert_int_eq(kb_isr_check_interval_ms(30000), 15000);
    ck_assert_int_eq(kb_isr_check_interval_ms(1500), 750);
    ck_assert_int_eq(kb_isr_check_interval_ms(1), 1);
    ck_assert_int_eq(kb_isr_check_interval_ms(0), 1);
}
END_TEST

/* ---- the high watermark and joining ---- */

START_TEST(hw_is_the_least_leo_of_the_isr) {
    int32_t isr[] = {0, 1, 2};
    kb_follower_t f[] = {follower(1, true, 0), follower(2, true, 0)};
    kb_follower_fetched(&f[0], 40, 50, T0 + 1);
    kb_follower_fetched(&f[1], 45, 50, T0 + 1);
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 3, 0, f, 2, 50, T0 + 2, LAG), 40);
}
END_TEST

START_TEST(hw_waits_for_an_isr_follower_whose_leo_is_unknown) {
    int32_t isr[] = {0, 1};
    kb_follower_t f[] = {follower(1, true, 0)};
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 2, 0, f, 1, 50, T0, LAG), KB_OFFSET_UNKNOWN);
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 2, 0, NULL, 0, 50, T0, LAG), KB_OFFSET_UNKNOWN);
}
END_TEST

START_TEST(hw_counts_a_recently_caught_up_follower_outside_the_isr_only_within_the_lag) {
    int32_t isr[] = {0};
    kb_follower_t f[] = {follower(1, false, 0)};
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 1, 0, f, 1, 50, T0, LAG), 50); /* never caught up */
    kb_follower_fetched(&f[0], 50, 50, T0 + 10);
    kb_follower_fetched(&f[0], 50, 60, T0 + 20);
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 1, 0, f, 1, 60, T0 + 20, LAG), 50);
    ck_assert_int_eq(kb_isr_hw_candidate(isr, 1, 0, f, 1, 60, T0 + 20 + LAG + 1, LAG), 60);
}
END_TEST

START_TEST(a_follower_joins_once_it_reaches_the_hw_and_the_epoch_start) {
    kb_follower_t f = follower(1, false, 0);
    ck_assert(!kb_isr_may_join(&f, 0, 0)); /* no fetch yet */
    kb_follower_fetched(&f, 30, 50, T0 + 1);
    ck_assert(kb_isr_may_join(&f, 30, 20));
    ck_assert(!kb_isr_may_join(&f, 31, 20));
    ck_assert(!kb_isr_may_join(&f, 30, 31));
}
END_TEST

Suite *isr_suite(void) {
    Suite *s = suite_create("isr");
    TCase *tc = tcase_create("out_of_sync");
    tcase_add_test(tc, an_isr_follower_counts_as_caught_up_when_its_leader_takes_over);
    tcase_add_test(tc, a_follower_that_never_fetched_is_out_of_sync_after_the_lag_even_on_an_empty_log);
    tcase_add_test(tc, a_follower_at_the_leader_log_end_is_in_sync_however_long_ago_it_caught_up);
    tcase_add_test(tc, a_stuck_follower_goes_once_the_lag_passes_since_it_last_caught_up);
    tcase_add_test(tc, a_follower_reaching_the_previous_fetch_leader_end_is_caught_up_as_of_that_fetch);
    tcase_add_test(tc, a_replica_outside_the_isr_was_never_caught_up);
    tcase_add_test(tc, a_new_epoch_restarts_the_clock_and_keeps_the_known_leo);
    suite_add_tcase(s, tc);

    tc = tcase_create("shrink");
    tcase_add_test(tc, shrink_drops_the_followers_out_of_sync_and_keeps_the_order);
    tcase_add_test(tc, shrink_never_drops_the_leader);
    tcase_add_test(tc, shrink_refuses_an_isr_without_the_leader);
    tcase_add_test(tc, shrink_drops_an_isr_member_the_leader_has_no_record_of);
    suite_add_tcase(s, tc);

    tc = tcase_create("high_watermark");
    tcase_add_test(tc, hw_is_the_least_leo_of_the_isr);
    tcase_add_test(tc, hw_waits_for_an_isr_follower_whose_leo_is_unknown);
    tcase_add_test(tc, hw_counts_a_recently_caught_up_follower_outside_the_isr_only_within_the_lag);
    tcase_add_test(tc, a_follower_joins_once_it_reaches_the_hw_and_the_epoch_start);
    suite_add_tcase(s, tc);

    tc = tcase_create("timing");
    tcase_add_test(tc, publication_waits_for_five_quiet_seconds);
    tcase_add_test(tc, publication_of_a_stream_of_changes_happens_within_a_minute);
    tcase_add_test(tc, the_shrink_check_runs_every_half_lag_and_at_least_every_millisecond);
    suite_add_tcase(s, tc);
    return s;
}
