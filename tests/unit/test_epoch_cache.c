/*
 * test_epoch_cache.c - the leader-epoch cache's rules (broker/log/
 * kb_epoch_cache.c) held against tables: Kafka 2.6's assign,
 * truncateFromEnd, truncateFromStart and endOffsetFor, and the follower
 * truncation rule of AbstractFetcherThread.getOffsetTruncationState
 * (zk-and-replication.md 3.7).  Pure memory: no files, no loop.
 */
#include <stdint.h>

#include "broker/log/kb_epoch_cache.h"
#include "tests/unit/unit.h"

#define MAX_ENTRIES 8
#define END (-9) /* ends an entry list */

typedef struct {
    int32_t epoch;
    int64_t start;
} entry_t;

/* A cache holding the listed entries (ended by END), built with assign. */
static void fill(kb_epoch_cache_t *c, const entry_t *e) {
    kb_epoch_cache_init(c);
    for (int i = 0; i < MAX_ENTRIES && e[i].epoch != END; i++)
        ck_assert_int_eq(kb_epoch_cache_assign(c, e[i].epoch, e[i].start), 1);
}

static void expect(const kb_epoch_cache_t *c, const entry_t *e, int row) {
    size_t n = 0;

    while (n < MAX_ENTRIES && e[n].epoch != END) n++;
    ck_assert_msg(c->n == n, "row %d: %zu entries, expected %zu", row, c->n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(c->v[i].epoch == e[i].epoch && c->v[i].start_offset == e[i].start,
                      "row %d entry %zu: (%d, %lld), expected (%d, %lld)", row, i, c->v[i].epoch,
                      (long long)c->v[i].start_offset, e[i].epoch, (long long)e[i].start);
}

/* The cache most rows use: epochs 1, 3, 6 starting at 10, 20, 40. */
static const entry_t three[] = {{1, 10}, {3, 20}, {6, 40}, {END, 0}};

/* ------------------------------------------------------ end offset for */

/* Log end offset 55 throughout. */
static const struct {
    int32_t asked;
    int32_t epoch;
    int64_t end;
} end_rows[] = {
    {6, 6, 55},   /* the latest epoch: the log end */
    {3, 3, 40},   /* a cached epoch: the start of the next one */
    {4, 3, 40},   /* between cached epochs: the largest below, the next start */
    {5, 3, 40},
    {1, 1, 20},
    {2, 1, 20},
    {0, 0, 10},   /* below every cached epoch: itself, the first start */
    {7, -1, -1},  /* above every cached epoch */
    {-1, -1, -1}, /* undefined */
};

START_TEST(end_offset_for_follows_kafkas_table) {
    kb_epoch_cache_t c;
    int32_t e;
    int64_t off;

    fill(&c, three);
    for (size_t i = 0; i < sizeof(end_rows) / sizeof(end_rows[0]); i++) {
        kb_epoch_cache_end_offset_for(&c, 55, end_rows[i].asked, &e, &off);
        ck_assert_msg(e == end_rows[i].epoch && off == end_rows[i].end, "row %zu: asked %d: (%d, %lld)", i,
                      end_rows[i].asked, e, (long long)off);
    }
    kb_epoch_cache_free(&c);
    kb_epoch_cache_end_offset_for(&c, 55, 3, &e, &off); /* empty */
    ck_assert_int_eq(e, -1);
    ck_assert_int_eq(off, -1);
}
END_TEST

/* ------------------------------------------------- truncation rule table */

/* The follower holds `three` with log end 55 and high watermark 15, and
 * asked with its latest epoch (6). */
static const struct {
    int32_t reply_epoch;
    int64_t reply_end;
    int64_t offset;
    bool done;
    const char *why;
} trunc_rows[] = {
    {-1, -1, 15, true, "no answer (end -1): the high watermark"},
    {3, -1, 15, true, "end -1 whatever the epoch: the high watermark"},
    {-1, 30, 30, true, "old leader without epochs: its end"},
    {-1, 90, 55, true, "old leader's end past ours: our end"},
    {6, 50, 50, true, "same epoch: the leader's end"},
    {6, 70, 55, true, "same epoch, leader longer: our end"},
    {3, 35, 35, true, "known epoch, leader shorter"},
    {3, 45, 40, true, "known epoch, our epoch 3 ends first (at 40)"},
    {4, 48, 40, false, "unknown epoch 4: to the end of our 3 (40), ask again"},
    {5, 30, 40, false, "unknown epoch 5: to the end of our 3, ask again"},
    {2, 12, 20, false, "unknown epoch 2: to the end of our 1 (20), ask again"},
    {1, 18, 18, true, "known epoch 1, leader shorter"},
    {0, 8, 8, true, "below every epoch we track: the leader's end"},
    {0, 12, 10, true, "below every epoch: no further than our first start"},
    {9, 12, 12, true, "above every epoch we track: the leader's end"},
};

START_TEST(truncation_rule_follows_kafkas_table) {
    kb_epoch_cache_t c;

    fill(&c, three);
    for (size_t i = 0; i < sizeof(trunc_rows) / sizeof(trunc_rows[0]); i++) {
        int64_t off = -7;
        bool done = kb_epoch_cache_truncation_point(&c, 55, 15, trunc_rows[i].reply_epoch, trunc_rows[i].reply_end,
                                                    &off);
        ck_assert_msg(off == trunc_rows[i].offset && done == trunc_rows[i].done, "row %zu (%s): %lld %s", i,
                      trunc_rows[i].why, (long long)off, done ? "done" : "again");
    }
    kb_epoch_cache_free(&c);
}
END_TEST

/* An empty cache (a follower that never tracked epochs) takes the leader's
 * end, capped at its own. */
START_TEST(truncation_with_an_empty_cache_takes_the_leaders_end) {
    kb_epoch_cache_t c;
    int64_t off;

    kb_epoch_cache_init(&c);
    ck_assert(kb_epoch_cache_truncation_point(&c, 55, 15, 4, 30, &off));
    ck_assert_int_eq(off, 30);
    ck_assert(kb_epoch_cache_truncation_point(&c, 55, 15, 4, 80, &off));
    ck_assert_int_eq(off, 55);
}
END_TEST

/* The loop a fetcher runs: truncate, ask again with the new latest epoch,
 * until done.  Leader: epochs 1@10, 4@30, and 7 begun at its end 60;
 * follower: 1@10, 3@20, 6@40 (end 55): the follower asks with 6, gets
 * (4, 60): it has no 4, so it cuts to the end of its 3 (40), drops 6, asks
 * with 3, gets (1, 30): cuts to min(20, 30) = 20, done. */
START_TEST(truncation_converges_in_two_questions) {
    kb_epoch_cache_t leader, follower;
    static const entry_t leader_entries[] = {{1, 10}, {4, 30}, {7, 60}, {END, 0}};
    int64_t leo = 55, off;
    int32_t e;
    bool done = false;
    int questions = 0;

    fill(&leader, leader_entries);
    fill(&follower, three);
    while (!done && questions < 5) {
        kb_epoch_cache_end_offset_for(&leader, 60, kb_epoch_cache_latest(&follower), &e, &off);
        done = kb_epoch_cache_truncation_point(&follower, leo, 15, e, off, &off);
        kb_epoch_cache_truncate_from_end(&follower, off);
        leo = off;
        questions++;
    }
    ck_assert(done);
    ck_assert_int_eq(questions, 2);
    ck_assert_int_eq(leo, 20);
    static const entry_t left[] = {{1, 10}, {END, 0}};
    expect(&follower, left, 0);
    kb_epoch_cache_free(&leader);
    kb_epoch_cache_free(&follower);
}
END_TEST

/* --------------------------------------------------------------- assign */

static const struct {
    int32_t epoch;
    int64_t start;
    int changed;
    entry_t after[MAX_ENTRIES];
} assign_rows[] = {
    {6, 50, 0, {{1, 10}, {3, 20}, {6, 40}, {END, 0}}},          /* same epoch, later start: nothing */
    {6, 40, 0, {{1, 10}, {3, 20}, {6, 40}, {END, 0}}},          /* the same entry */
    {6, 30, 1, {{1, 10}, {3, 20}, {6, 30}, {END, 0}}},          /* same epoch, smaller start */
    {7, 50, 1, {{1, 10}, {3, 20}, {6, 40}, {7, 50}, {END, 0}}}, /* a new epoch */
    {7, 40, 1, {{1, 10}, {3, 20}, {7, 40}, {END, 0}}},          /* start taken: the old one goes */
    {4, 45, 1, {{1, 10}, {3, 20}, {4, 45}, {END, 0}}},          /* lower epoch: later epochs go */
    {2, 5, 1, {{2, 5}, {END, 0}}},                              /* below everything: all go */
    {-1, 60, 0, {{1, 10}, {3, 20}, {6, 40}, {END, 0}}},         /* no epoch stamped: ignored */
};

START_TEST(assign_keeps_epochs_and_starts_increasing) {
    for (size_t i = 0; i < sizeof(assign_rows) / sizeof(assign_rows[0]); i++) {
        kb_epoch_cache_t c;
        fill(&c, three);
        ck_assert_int_eq(kb_epoch_cache_assign(&c, assign_rows[i].epoch, assign_rows[i].start), assign_rows[i].changed);
        expect(&c, assign_rows[i].after, (int)i);
        kb_epoch_cache_free(&c);
    }
}
END_TEST

/* ------------------------------------------------------------ truncation */

START_TEST(truncate_from_end_drops_entries_at_or_past_the_end) {
    static const entry_t two[] = {{1, 10}, {3, 20}, {END, 0}}, one[] = {{1, 10}, {END, 0}}, none[] = {{END, 0}};
    kb_epoch_cache_t c;

    fill(&c, three);
    ck_assert(!kb_epoch_cache_truncate_from_end(&c, 41));
    expect(&c, three, 0);
    ck_assert(kb_epoch_cache_truncate_from_end(&c, 40));
    expect(&c, two, 1);
    ck_assert(kb_epoch_cache_truncate_from_end(&c, 11));
    expect(&c, one, 2);
    ck_assert(kb_epoch_cache_truncate_from_end(&c, 10));
    expect(&c, none, 3);
    kb_epoch_cache_free(&c);
}
END_TEST

START_TEST(truncate_from_start_moves_the_first_entry_up) {
    static const entry_t at25[] = {{3, 25}, {6, 40}, {END, 0}}, at40[] = {{6, 40}, {END, 0}},
                         at50[] = {{6, 50}, {END, 0}};
    kb_epoch_cache_t c;

    fill(&c, three);
    ck_assert(!kb_epoch_cache_truncate_from_start(&c, 5)); /* below every start */
    ck_assert(!kb_epoch_cache_truncate_from_start(&c, 10));
    expect(&c, three, 0);
    ck_assert(kb_epoch_cache_truncate_from_start(&c, 25));
    expect(&c, at25, 1);
    ck_assert(kb_epoch_cache_truncate_from_start(&c, 40));
    expect(&c, at40, 2);
    ck_assert(kb_epoch_cache_truncate_from_start(&c, 50));
    expect(&c, at50, 3);
    ck_assert_int_eq(kb_epoch_cache_start_of(&c, 6), 50);
    ck_assert_int_eq(kb_epoch_cache_start_of(&c, 3), -1);
    kb_epoch_cache_free(&c);
}
END_TEST

Suite *epoch_cache_suite(void) {
    Suite *s = suite_create("epoch_cache");
    TCase *t = tcase_create("rules");

    tcase_add_test(t, end_offset_for_follows_kafkas_table);
    tcase_add_test(t, truncation_rule_follows_kafkas_table);
    tcase_add_test(t, truncation_with_an_empty_cache_takes_the_leaders_end);
    tcase_add_test(t, truncation_converges_in_two_questions);
    tcase_add_test(t, assign_keeps_epochs_and_starts_increasing);
    tcase_add_test(t, truncate_from_end_drops_entries_at_or_past_the_end);
    tcase_add_test(t, truncate_from_start_moves_the_first_entry_up);
    suite_add_tcase(s, t);
    return s;
}
