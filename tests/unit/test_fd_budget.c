/*
 * test_fd_budget.c - the partition-log budget arithmetic
 * (common/kb_fd_budget.h) that the start-up check, the run-time check and
 * the request-time check all use: the reserve, the cap from
 * max.broker.partitions, an unlimited RLIMIT_NOFILE, limits smaller than
 * the reserve, and the clauses messages are built from.
 */
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "common/kb_fd_budget.h"
#include "tests/unit/unit.h"

START_TEST(the_reserve_is_64_one_per_dir_and_a_tenth_of_the_limit) {
    ck_assert_uint_eq(kb_fd_reserve(1000, 1), 64 + 1 + 100);
    ck_assert_uint_eq(kb_fd_reserve(20000, 3), 64 + 3 + 2000);
    ck_assert_uint_eq(kb_fd_reserve(200, 1), 85);
    ck_assert_uint_eq(kb_fd_reserve(KB_FD_UNLIMITED, 4), 0);
}
END_TEST

/* The README quickstart's limit and the systemd unit's. */
START_TEST(the_budget_is_the_limit_less_the_reserve) {
    kb_fd_budget_t b;

    kb_fd_budget_init(&b, 20000, 1, INT32_MAX);
    ck_assert_uint_eq(b.reserve, 2065);
    ck_assert_uint_eq(b.by_descriptors, 17935);
    ck_assert_uint_eq(b.partitions, 17935);
    ck_assert_uint_eq(kb_fd_budget_need(&b, 17935), 20000); /* the last log that fits takes the last descriptor */
    kb_fd_budget_init(&b, 100000, 1, INT32_MAX);
    ck_assert_uint_eq(b.partitions, 100000 - 64 - 1 - 10000);
}
END_TEST

/* The hostile trial: 25,000 partitions of RF 3 on 3 brokers is 25,000
 * replicas each, far past what 20,000 descriptors hold. */
START_TEST(twenty_five_thousand_replicas_do_not_fit_twenty_thousand_descriptors) {
    kb_fd_budget_t b;

    kb_fd_budget_init(&b, 20000, 1, INT32_MAX);
    ck_assert(25000 > b.partitions);
    ck_assert(kb_fd_budget_need(&b, 25000) > 20000);
}
END_TEST

START_TEST(max_broker_partitions_caps_the_budget_only_below_the_descriptors) {
    kb_fd_budget_t b;

    kb_fd_budget_init(&b, 20000, 1, 1000);
    ck_assert_uint_eq(b.by_descriptors, 17935);
    ck_assert_uint_eq(b.partitions, 1000);
    kb_fd_budget_init(&b, 200, 1, 1000);
    ck_assert_uint_eq(b.partitions, 115);
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, 5000);
    ck_assert_uint_eq(b.partitions, 5000);
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, INT32_MAX);
    ck_assert_uint_eq(b.partitions, INT32_MAX); /* KIP-578's default is a cap too, just a high one */
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, 0);
    ck_assert(b.partitions == KB_FD_UNLIMITED);
}
END_TEST

START_TEST(a_limit_below_the_reserve_leaves_no_room_without_wrapping) {
    kb_fd_budget_t b;

    kb_fd_budget_init(&b, 50, 2, INT32_MAX);
    ck_assert_uint_eq(b.reserve, 64 + 2 + 5);
    ck_assert_uint_eq(b.by_descriptors, 0);
    ck_assert_uint_eq(b.partitions, 0);
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, 0);
    ck_assert(kb_fd_budget_need(&b, UINT64_MAX) == UINT64_MAX);
}
END_TEST

START_TEST(messages_name_the_limit_that_binds_and_its_fix) {
    kb_fd_budget_t b;
    char buf[256];

    kb_fd_budget_init(&b, 256, 1, INT32_MAX);
    ck_assert_str_eq(kb_fd_budget_explain(&b, buf, sizeof(buf)),
                     "the file descriptor limit (RLIMIT_NOFILE) is 256, less 90 kept for connections, ZooKeeper "
                     "and checkpoints");
    ck_assert(strstr(kb_fd_budget_fix(&b), "LimitNOFILE=") && strstr(kb_fd_budget_fix(&b), "ulimit -n"));
    kb_fd_budget_init(&b, 20000, 1, 1000);
    ck_assert_str_eq(kb_fd_budget_explain(&b, buf, sizeof(buf)), "max.broker.partitions is 1000");
    ck_assert_str_eq(kb_fd_budget_fix(&b), "raise max.broker.partitions on every broker");
}
END_TEST

/* The start-up line says what the budget is and which bound sets it
 * (it used to give the descriptors' room alone, whatever
 * max.broker.partitions said). */
START_TEST(the_description_gives_the_budget_and_the_bound_that_sets_it) {
    kb_fd_budget_t b;
    char buf[256];

    kb_fd_budget_init(&b, 20000, 1, 1000);
    ck_assert_str_eq(kb_fd_budget_describe(&b, buf, sizeof(buf)),
                     "the partition budget is 1000 logs, set by max.broker.partitions (the descriptors allow 17935)");
    kb_fd_budget_init(&b, 256, 1, INT32_MAX);
    ck_assert_str_eq(kb_fd_budget_describe(&b, buf, sizeof(buf)),
                     "the partition budget is 166 logs, set by the file descriptor limit (max.broker.partitions, "
                     "2147483647, is no lower)");
    kb_fd_budget_init(&b, 256, 1, 166); /* equal: the descriptors set it all the same */
    ck_assert(strstr(kb_fd_budget_describe(&b, buf, sizeof(buf)), "166 logs, set by the file descriptor limit"));
    kb_fd_budget_init(&b, 256, 1, 0);
    ck_assert_str_eq(kb_fd_budget_describe(&b, buf, sizeof(buf)),
                     "the partition budget is 166 logs, set by the file descriptor limit (max.broker.partitions is "
                     "not set)");
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, 5000);
    ck_assert_str_eq(kb_fd_budget_describe(&b, buf, sizeof(buf)),
                     "the partition budget is 5000 logs, set by max.broker.partitions (RLIMIT_NOFILE is unlimited)");
    kb_fd_budget_init(&b, KB_FD_UNLIMITED, 1, 0);
    ck_assert(strstr(kb_fd_budget_describe(&b, buf, sizeof(buf)), "there is no partition budget"));
}
END_TEST

START_TEST(the_process_limit_is_read_with_getrlimit) {
    struct rlimit rl;
    kb_fd_budget_t b;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    kb_fd_budget_read(&b, 1, INT32_MAX);
    if (rl.rlim_cur == RLIM_INFINITY) ck_assert(b.nofile == KB_FD_UNLIMITED);
    else ck_assert_uint_eq(b.nofile, rl.rlim_cur);
}
END_TEST

Suite *fd_budget_suite(void) {
    Suite *s = suite_create("fd_budget");
    TCase *tc = tcase_create("arithmetic");

    tcase_add_test(tc, the_reserve_is_64_one_per_dir_and_a_tenth_of_the_limit);
    tcase_add_test(tc, the_budget_is_the_limit_less_the_reserve);
    tcase_add_test(tc, twenty_five_thousand_replicas_do_not_fit_twenty_thousand_descriptors);
    tcase_add_test(tc, max_broker_partitions_caps_the_budget_only_below_the_descriptors);
    tcase_add_test(tc, a_limit_below_the_reserve_leaves_no_room_without_wrapping);
    tcase_add_test(tc, messages_name_the_limit_that_binds_and_its_fix);
    tcase_add_test(tc, the_description_gives_the_budget_and_the_bound_that_sets_it);
    tcase_add_test(tc, the_process_limit_is_read_with_getrlimit);
    suite_add_tcase(s, tc);
    return s;
}
