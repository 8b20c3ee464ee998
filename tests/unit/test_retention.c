/*
 * test_retention.c - deleting old segments (broker/log/kb_retention.c):
 * retention by size and by time, the high-watermark bound, the roll when
 * every segment expires, the .deleted rename and the delayed removal, a
 * segment kept while a range still references it, and DeleteRecords.
 *
 * Every test runs a real log manager on a fresh mkdtemp log dir with
 * log.segment.bytes=1024: each appended batch (3 records of 100-byte
 * values, about 400 bytes) fills half a segment, so ten batches make five
 * segments with base offsets 0, 6, 12, 18 and 24 and a log end of 30.
 * Retention passes are started by hand (kb_logmgr_enforce_retention); the
 * periodic check is set far in the future.  The deleter thread and the
 * delay timers work asynchronously, so file checks poll the event loop
 * with a bounded wait.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "orders"
#define VALUE_LEN 100
#define RECORDS 3
#define BATCHES 10
#define DAY_MS (24LL * 3600 * 1000)
#define WAIT_MS 5000

/* ------------------------------------------------------------- helpers */

/* RECORDS records without keys, timestamps ts, ts+1, ... */
static size_t build_batch(uint8_t *buf, int64_t ts) { return logfix_batch(buf, RECORDS, VALUE_LEN, false, ts); }

static void append_at(kb_log_t *log, int64_t ts) {
    static uint8_t buf[4096];
    kp_batch_header_t h;
    kb_append_result_t res;
    size_t size = build_batch(buf, ts);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, buf, &h, 0, &res), 0);
}

/* Appends n batches stamped ts and makes them all readable (HW = LEO). */
static void fill(kb_log_t *log, int n, int64_t ts) {
    for (int i = 0; i < n; i++) append_at(log, ts);
    kb_log_set_high_watermark(log, kb_log_end_offset(log));
}

static void set(const char *key, const char *value) { logfix_set(key, value); }

static void setup(void) {
    logfix_setup("ret");
    set("log.segment.bytes", "1024");
    set("log.segment.delete.delay.ms", "0");
    set("log.retention.check.interval.ms", "3600000");
}

static void teardown(void) { logfix_teardown(); }
static kb_logmgr_t *open_mgr(void) { return logfix_open(); }

static kb_log_t *orders0(kb_logmgr_t *m) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

/* Changes one log's settings the way a topic override does. */
static void set_retention(kb_log_t *log, int64_t ms, int64_t bytes, int64_t delete_delay_ms) {
    kb_log_config_t lc = log->cfg;

    lc.retention_ms = ms;
    lc.retention_bytes = bytes;
    lc.file_delete_delay_ms = delete_delay_ms;
    kb_log_set_config(log, &lc);
}

/* "<dir>/orders-0/<20-digit base><suffix>" */
static const char *segment_file(int64_t base_offset, const char *suffix) {
    static char path[512];
    snprintf(path, sizeof(path), "%s/" TOPIC "-0/%020" PRId64 "%s", lf.dir, base_offset, suffix);
    return path;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void run_loop_for(int ms) {
    for (int i = 0; i < ms / 5; i++) {
        event_base_loop(lf.base, EVLOOP_NONBLOCK);
        usleep(5000);
    }
}

/* Runs the loop until p exists (or not), at most WAIT_MS. */
static bool wait_file(const char *p, bool present) {
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        event_base_loop(lf.base, EVLOOP_NONBLOCK);
        if (exists(p) == present) return true;
        usleep(5000);
    }
    return exists(p) == present;
}

/* Waits for the rename (the .log name goes, atomically replaced by the
 * .deleted one), then for every file of the segment to be removed. */
static bool wait_removed(int64_t base_offset) {
    static const char *const left[] = {".log.deleted", ".index.deleted", ".timeindex.deleted", ".index", ".timeindex"};

    if (!wait_file(segment_file(base_offset, ".log"), false)) return false;
    for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
        if (!wait_file(segment_file(base_offset, left[i]), false)) return false;
    return true;
}

static int64_t total_size(const kb_log_t *log) {
    int64_t n = 0;
    for (size_t i = 0; i < log->n_segs; i++) n += (int64_t)log->segs[i]->size;
    return n;
}

static char *read_text(const char *p) {
    static char text[4096];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

    if (f) fclose(f);
    text[n] = '\0';
    return text;
}

/* ------------------------------------------------------------ by size */

START_TEST(size_retention_deletes_the_oldest_segments_over_retention_bytes) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    int64_t limit;

    fill(log, BATCHES, kb_log_now_ms());
    ck_assert_uint_eq(log->n_segs, 5);
    /* Over by a little more than two segments: two go, since without a
     * third the partition would hold less than the limit. */
    limit = total_size(log) - 2 * (int64_t)log->segs[0]->size - 1;
    set_retention(log, -1, limit, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_uint_eq(log->n_segs, 3);
    ck_assert_int_eq(kb_log_start_offset(log), 12);
    ck_assert_int_ge(total_size(log), limit);
    ck_assert_int_lt(total_size(log) - (int64_t)log->segs[0]->size, limit);
    ck_assert(wait_removed(0));
    ck_assert(wait_removed(6));
    ck_assert(exists(segment_file(12, ".log")));
    /* Nothing more to do on the next pass. */
    kb_logmgr_enforce_retention(m);
    ck_assert_int_eq(kb_log_start_offset(log), 12);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(log_start_survives_a_restart_after_retention) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    fill(log, BATCHES, kb_log_now_ms());
    set_retention(log, -1, 0, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_int_eq(kb_log_start_offset(log), 30); /* everything went; a fresh segment at 30 */
    ck_assert_uint_eq(log->n_segs, 1);
    kb_logmgr_close(m);
    m = open_mgr();
    log = orders0(m);
    ck_assert_int_eq(kb_log_start_offset(log), 30);
    ck_assert_int_eq(kb_log_end_offset(log), 30);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(nothing_above_the_high_watermark_is_deleted) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    for (int i = 0; i < BATCHES; i++) append_at(log, kb_log_now_ms());
    kb_log_set_high_watermark(log, 11); /* inside the second segment */
    set_retention(log, -1, 0, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_int_eq(kb_log_start_offset(log), 6); /* only [0, 6) lies wholly below it */
    ck_assert_uint_eq(log->n_segs, 4);
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------------ by time */

START_TEST(time_retention_stops_at_the_first_young_segment) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    int64_t now = kb_log_now_ms();

    fill(log, 4, now - 10 * DAY_MS); /* segments 0 and 6: ten days old */
    fill(log, 2, now);               /* segment 12: new */
    fill(log, 2, now - 10 * DAY_MS); /* segment 18: old again, but after a young one */
    fill(log, 1, now);
    set_retention(log, DAY_MS, -1, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_int_eq(kb_log_start_offset(log), 12);
    ck_assert_uint_eq(log->n_segs, 3);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(an_expired_active_segment_is_replaced_by_an_empty_one) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_log_range_t r;

    fill(log, 3, kb_log_now_ms() - 10 * DAY_MS);
    set_retention(log, DAY_MS, -1, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_uint_eq(log->n_segs, 1);
    ck_assert_int_eq(log->segs[0]->base_offset, 9);
    ck_assert_int_eq(kb_log_start_offset(log), 9);
    ck_assert_int_eq(kb_log_read(log, 0, 9, 1 << 20, true, &r), 1); /* OFFSET_OUT_OF_RANGE */
    /* The empty active segment stays, however often retention runs. */
    kb_logmgr_enforce_retention(m);
    ck_assert_uint_eq(log->n_segs, 1);
    fill(log, 1, kb_log_now_ms());
    ck_assert_int_eq(kb_log_end_offset(log), 12);
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------ files and delays */

START_TEST(deleted_segments_wait_as_dot_deleted_files_for_the_delay) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    fill(log, 4, kb_log_now_ms());
    set_retention(log, -1, 0, 3600000);
    kb_logmgr_enforce_retention(m);
    ck_assert(wait_file(segment_file(0, ".log"), false));
    ck_assert(exists(segment_file(0, ".log.deleted")));
    ck_assert(wait_file(segment_file(0, ".timeindex.deleted"), true));
    run_loop_for(200);
    ck_assert(exists(segment_file(0, ".log.deleted"))); /* an hour to go */
    /* A restart before the delay ends removes them, as Kafka does. */
    kb_logmgr_close(m);
    ck_assert(exists(segment_file(6, ".log.deleted")));
    m = open_mgr();
    ck_assert(!exists(segment_file(0, ".log.deleted")));
    ck_assert(!exists(segment_file(6, ".index.deleted")));
    ck_assert_int_eq(kb_log_start_offset(orders0(m)), 12);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(deleted_segments_are_removed_after_the_delay) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    fill(log, 4, kb_log_now_ms());
    set_retention(log, -1, 0, 50);
    kb_logmgr_enforce_retention(m);
    ck_assert(wait_removed(0));
    ck_assert(wait_removed(6));
    ck_assert(exists(segment_file(12, ".log")));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_referenced_segment_survives_until_released) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_log_range_t r;
    uint8_t head[KP_BATCH_HEADER_SIZE];
    kp_batch_header_t h;

    fill(log, 4, kb_log_now_ms());
    ck_assert_int_eq(kb_log_read(log, 0, kb_log_high_watermark(log), 1 << 20, true, &r), 0);
    ck_assert_uint_gt(r.len, 0);
    set_retention(log, -1, 0, 0);
    kb_logmgr_enforce_retention(m);
    ck_assert_int_eq(kb_log_start_offset(log), 12);
    ck_assert(wait_removed(6)); /* unreferenced: gone */
    ck_assert(wait_file(segment_file(0, ".log"), false));
    run_loop_for(100);
    ck_assert(exists(segment_file(0, ".log.deleted"))); /* still being "sent" */
    ck_assert_int_eq(pread(r.fd, head, sizeof(head), r.pos), (ssize_t)sizeof(head));
    kp_batch_header_decode(head, sizeof(head), &h);
    ck_assert_int_eq(h.base_offset, 0);
    kb_log_range_release(&r);
    ck_assert(wait_removed(0));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_smaller_segment_bytes_applies_from_the_next_roll) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_log_config_t lc;

    fill(log, 1, kb_log_now_ms());
    lc = log->cfg;
    lc.segment_bytes = 100; /* smaller than one batch: every append rolls */
    kb_log_set_config(log, &lc);
    fill(log, 3, kb_log_now_ms());
    ck_assert_uint_eq(log->n_segs, 4);
    kb_logmgr_close(m);
}
END_TEST

/* ----------------------------------------------------------- DeleteRecords */

START_TEST(delete_records_moves_the_log_start_and_checkpoints_it) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    char ckpt[256];
    kb_log_range_t r;
    int64_t lw = 0;

    fill(log, BATCHES, kb_log_now_ms());
    ck_assert_int_eq(kb_log_delete_records(log, 14, &lw), 0);
    ck_assert_int_eq(lw, 14);
    ck_assert_int_eq(kb_log_start_offset(log), 14);
    ck_assert_int_eq(log->segs[0]->base_offset, 12); /* 0 and 6 went; 12 holds 14 */
    ck_assert(wait_removed(0));
    ck_assert(wait_removed(6));
    snprintf(ckpt, sizeof(ckpt), "%s/log-start-offset-checkpoint", lf.dir);
    for (int i = 0; i < WAIT_MS / 5 && !strstr(read_text(ckpt), TOPIC " 0 14\n"); i++) run_loop_for(5);
    ck_assert_str_eq(read_text(ckpt), "0\n1\n" TOPIC " 0 14\n");
    ck_assert_int_eq(kb_log_read(log, 13, 30, 1 << 20, true, &r), 1);
    /* Never lowered; -1 means the high watermark; past it is refused. */
    ck_assert_int_eq(kb_log_delete_records(log, 3, &lw), 0);
    ck_assert_int_eq(lw, 14);
    ck_assert_int_eq(kb_log_delete_records(log, 31, &lw), 1);
    ck_assert_int_eq(kb_log_delete_records(log, -2, &lw), 1);
    ck_assert_int_eq(kb_log_start_offset(log), 14);
    kb_logmgr_close(m);
    m = open_mgr();
    log = orders0(m);
    ck_assert_int_eq(kb_log_start_offset(log), 14);
    ck_assert_int_eq(kb_log_delete_records(log, -1, &lw), 0);
    ck_assert_int_eq(lw, 30);
    ck_assert_uint_eq(log->n_segs, 1); /* the active segment stays, wholly below the log start */
    kb_logmgr_close(m);
}
END_TEST

/* One DeleteRecords request moving the log start of many partitions
 * queues one log-start checkpoint per dir, not one per partition (each
 * was a pass over every log on the loop, and a file write). */
START_TEST(delete_records_of_many_logs_write_one_checkpoint) {
    kb_logmgr_t *m = open_mgr();
    kb_log_stats_t before, after;
    char ckpt[256];
    int64_t lw;

    for (int32_t p = 0; p < 8; p++) fill(kb_logmgr_get_or_create(m, TOPIC, p, NULL), 3, kb_log_now_ms());
    kb_logmgr_stats(m, &before);
    for (int32_t p = 0; p < 8; p++)
        for (int64_t off = 1; off <= 3; off++) {
            ck_assert_int_eq(kb_log_delete_records(kb_logmgr_get(m, TOPIC, p), off, &lw), 0);
            ck_assert_int_eq(lw, off);
        }
    snprintf(ckpt, sizeof(ckpt), "%s/log-start-offset-checkpoint", lf.dir);
    for (int i = 0; i < WAIT_MS / 5 && !strstr(read_text(ckpt), TOPIC " 7 3\n"); i++) run_loop_for(5);
    kb_logmgr_stats(m, &after);
    ck_assert_uint_eq(after.checkpoint_writes - before.checkpoint_writes, 1);
    for (int32_t p = 0; p < 8; p++) {
        char line[64];
        snprintf(line, sizeof(line), TOPIC " %d 3\n", (int)p);
        ck_assert_ptr_nonnull(strstr(read_text(ckpt), line));
    }
    kb_logmgr_close(m);
}
END_TEST

Suite *retention_suite(void) {
    Suite *s = suite_create("retention");
    TCase *tc = tcase_create("retention");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, size_retention_deletes_the_oldest_segments_over_retention_bytes);
    tcase_add_test(tc, log_start_survives_a_restart_after_retention);
    tcase_add_test(tc, nothing_above_the_high_watermark_is_deleted);
    tcase_add_test(tc, time_retention_stops_at_the_first_young_segment);
    tcase_add_test(tc, an_expired_active_segment_is_replaced_by_an_empty_one);
    tcase_add_test(tc, deleted_segments_wait_as_dot_deleted_files_for_the_delay);
    tcase_add_test(tc, deleted_segments_are_removed_after_the_delay);
    tcase_add_test(tc, a_referenced_segment_survives_until_released);
    tcase_add_test(tc, a_smaller_segment_bytes_applies_from_the_next_roll);
    tcase_add_test(tc, delete_records_moves_the_log_start_and_checkpoints_it);
    tcase_add_test(tc, delete_records_of_many_logs_write_one_checkpoint);
    suite_add_tcase(s, tc);
    return s;
}
