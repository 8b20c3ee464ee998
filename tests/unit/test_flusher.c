/*
 * test_flusher.c - the flush work of broker/log (kb_flusher.c and the
 * flush half of kb_log.c): a sealed segment is fsynced once however many
 * rolls follow, a request for a log whose fsync has not started yet
 * extends it instead of queueing another, one log's backlog does not hold
 * up another log's flush, a failed fsync fails the requests that counted
 * on it and the next request queues the segments again, and a clean close
 * completes every request still waiting.
 *
 * Every test runs a real log manager on a fresh mkdtemp log dir.  Rolls
 * come from batches stamped eight days apart (log.roll.ms defaults to
 * seven days), as in issue 8.  kb_flusher_limit() makes the flusher thread
 * start only so many items, so what is queued can be inspected before it
 * runs; completions are collected by running the event loop with a
 * bounded wait.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define RECORDS 3
#define VALUE_LEN 50
#define DAY_MS (24LL * 3600 * 1000)
#define T0 1600000000000LL
#define WAIT_MS 10000

/* ------------------------------------------------------------- helpers */

static int64_t stamp; /* timestamp of the next batch */

/* Stamped with no leader epoch: the counts below are of the log's fsyncs
 * and snapshots, and a batch starting an epoch would add a write of
 * leader-epoch-checkpoint to the flusher's backlog. */
static void append_at(kb_log_t *log, int64_t ts) {
    static uint8_t buf[4096];
    kp_batch_header_t h;
    kb_append_result_t res;
    size_t size = logfix_batch(buf, RECORDS, VALUE_LEN, true, ts);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, buf, &h, KB_LOG_NO_EPOCH, &res), 0);
}

/* A batch in the same segment. */
static void append(kb_log_t *log) { append_at(log, stamp); }

/* A batch eight days after the previous one: it rolls a new segment. */
static void append_rolling(kb_log_t *log) {
    stamp += 8 * DAY_MS;
    append_at(log, stamp);
}

static void setup(void) {
    logfix_setup("flush");
    stamp = T0;
}

static void teardown(void) { logfix_teardown(); }

static kb_log_t *log_of(kb_logmgr_t *m, int32_t partition) {
    kb_log_t *log = kb_logmgr_get_or_create(m, "rolls", partition, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

static kb_log_stats_t stats_of(kb_logmgr_t *m) {
    kb_log_stats_t s;
    kb_logmgr_stats(m, &s);
    return s;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until *flag is set or WAIT_MS pass; returns *flag. */
static bool loop_until(const bool *flag) {
    int64_t deadline = mono_ms() + WAIT_MS;
    while (!*flag && mono_ms() < deadline) {
        event_base_loop(lf.base, EVLOOP_NONBLOCK);
        if (!*flag) usleep(1000);
    }
    return *flag;
}

/* Runs the loop until log's recovery point reaches offset (or WAIT_MS). */
static void loop_until_recovered(kb_log_t *log, int64_t offset) {
    int64_t deadline = mono_ms() + WAIT_MS;
    while (kb_log_recovery_point(log) < offset && mono_ms() < deadline) {
        event_base_loop(lf.base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    ck_assert_int_eq(kb_log_recovery_point(log), offset);
}

/* A flush request's completion. */
typedef struct {
    bool done;
    int rc;
    int calls;
} flushed_t;

static void on_flushed(void *arg, int rc) {
    flushed_t *f = arg;
    f->done = true;
    f->rc = rc;
    f->calls++;
}

static kb_flusher_t *flusher(kb_logmgr_t *m) { return kb_logmgr_flusher(m); }

/* The log.flush.interval.ms check, as if that interval had passed: a
 * request without a callback. */
static void idle_flush(kb_log_t *log) {
    kb_log_config_t c = *kb_log_get_config(log);
    c.flush_interval_ms = 0;
    kb_log_set_config(log, &c);
    kb_log_flush_if_idle(log, kb_log_mono_ms());
}

/* Polls until the flusher has nothing queued or running (or WAIT_MS). */
static void wait_backlog_empty(kb_logmgr_t *m) {
    int64_t deadline = mono_ms() + WAIT_MS;
    while (kb_flusher_backlog(flusher(m)) != 0 && mono_ms() < deadline) usleep(1000);
    ck_assert_uint_eq(kb_flusher_backlog(flusher(m)), 0);
}

/* --------------------------------------------------------------- tests */

/* Each roll queues the segment it sealed, once: with the flusher held
 * back, 50 rolls queue 50 fsyncs (the old flusher queued every segment
 * since the recovery point at each roll: 1 + 2 + ... + 50 = 1275). */
START_TEST(every_rolled_segment_is_fsynced_once) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    uint64_t before = stats_of(m).fsyncs;

    kb_flusher_limit(flusher(m), 0);
    append(log);
    for (int i = 0; i < 50; i++) append_rolling(log);
    /* 50 fsyncs and 50 snapshot writes (49 of them replaced by newer ones). */
    ck_assert_uint_eq(kb_flusher_backlog(flusher(m)), 100);
    kb_flusher_limit(flusher(m), -1);
    loop_until_recovered(log, 50 * RECORDS);
    ck_assert_uint_eq(stats_of(m).fsyncs - before, 50);
    /* The active segment once; asked again unchanged, nothing more. */
    flushed_t got = {0}, again = {0};
    kb_log_flush_async(log, on_flushed, &got);
    ck_assert(loop_until(&got.done));
    kb_log_flush_async(log, on_flushed, &again);
    ck_assert_uint_eq(kb_flusher_backlog(flusher(m)), 0);
    ck_assert(loop_until(&again.done));
    ck_assert_int_eq(again.rc, 0);
    ck_assert_int_eq(kb_log_recovery_point(log), 51 * RECORDS);
    ck_assert_uint_eq(stats_of(m).fsyncs - before, 51);
    kb_logmgr_close(m);
}
END_TEST

/* Two flush.messages requests and an idle flush while the fsync of the
 * active segment has not started: one fsync serves all three, and the
 * recovery point moves to the last one's target. */
START_TEST(a_request_while_one_is_pending_extends_it) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    flushed_t first = {0}, second = {0};
    uint64_t before = stats_of(m).fsyncs;

    kb_flusher_limit(flusher(m), 0);
    append(log);
    kb_log_flush_async(log, on_flushed, &first);
    append(log);
    kb_log_flush_async(log, on_flushed, &second);
    append(log);
    idle_flush(log);
    ck_assert_uint_eq(kb_flusher_backlog(flusher(m)), 1);
    kb_flusher_limit(flusher(m), -1);
    ck_assert(loop_until(&second.done));
    ck_assert(first.done);
    ck_assert_int_eq(first.rc, 0);
    ck_assert_int_eq(second.rc, 0);
    loop_until_recovered(log, 3 * RECORDS);
    ck_assert_uint_eq(stats_of(m).fsyncs - before, 1);
    kb_logmgr_close(m);
}
END_TEST

/* Log 0 has 40 rolled segments waiting, log 1 one flush.messages request:
 * the thread takes one item per log in turn, so three items are enough
 * for log 1's request (behind a FIFO it would need all 80 of log 0's). */
START_TEST(one_logs_backlog_does_not_hold_up_another_log) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *busy = log_of(m, 0), *other = log_of(m, 1);
    flushed_t got = {0};

    kb_flusher_limit(flusher(m), 0);
    append(busy);
    for (int i = 0; i < 40; i++) append_rolling(busy);
    append(other);
    kb_log_flush_async(other, on_flushed, &got);
    kb_flusher_limit(flusher(m), 3);
    ck_assert(loop_until(&got.done));
    ck_assert_int_eq(got.rc, 0);
    ck_assert_int_eq(kb_log_recovery_point(other), RECORDS);
    ck_assert_uint_ge(kb_flusher_backlog(flusher(m)), 77);
    ck_assert_int_lt(kb_log_recovery_point(busy), 40 * RECORDS);
    kb_logmgr_close(m);
}
END_TEST

/* Makes fdatasync of the segment's .log fail (EINVAL on a pipe) until
 * heal_fd() puts the file back. */
static int saved_fd = -1;

static void break_fd(int fd) {
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    saved_fd = dup(fd);
    ck_assert_int_ge(saved_fd, 0);
    ck_assert_int_eq(dup2(p[0], fd), fd);
    close(p[0]);
    close(p[1]);
}

static void heal_fd(int fd) {
    ck_assert_int_eq(dup2(saved_fd, fd), fd);
    close(saved_fd);
}

/* A failed fsync fails its request and one made before the loop learnt of
 * the failure (even though that one's own fsync worked: data written
 * before a failed fsync may be lost); the recovery point stays, and the
 * next request queues the segment again and succeeds. */
START_TEST(a_failed_fsync_fails_the_requests_that_relied_on_it) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    int fd = log->segs[log->n_segs - 1]->fd;
    flushed_t first = {0}, second = {0}, third = {0};

    uint64_t before = stats_of(m).fsyncs;

    kb_flusher_limit(flusher(m), 0);
    append(log);
    kb_log_flush_async(log, on_flushed, &first);
    break_fd(fd);
    kb_flusher_limit(flusher(m), 1);
    /* The fsync has run and failed; its completion has not reached the
     * loop when the second request is made. */
    wait_backlog_empty(m);
    heal_fd(fd);
    append(log);
    kb_log_flush_async(log, on_flushed, &second);
    kb_flusher_limit(flusher(m), -1);
    ck_assert(loop_until(&second.done));
    ck_assert_int_eq(first.rc, -1);
    ck_assert_int_eq(second.rc, -1);
    ck_assert_int_eq(kb_log_recovery_point(log), 0);
    ck_assert_uint_eq(stats_of(m).fsyncs - before, 1); /* the second one's */
    kb_log_flush_async(log, on_flushed, &third);
    ck_assert(loop_until(&third.done));
    ck_assert_int_eq(third.rc, 0);
    ck_assert_int_eq(kb_log_recovery_point(log), 2 * RECORDS);
    ck_assert_uint_eq(stats_of(m).fsyncs - before, 2);
    kb_logmgr_close(m);
}
END_TEST

/* Requests still queued at a clean close are completed exactly once, and
 * each unflushed segment is fsynced once (plus the active segment, sealed
 * at close). */
START_TEST(close_completes_waiting_requests_once) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    flushed_t first = {0}, second = {0};
    int64_t end;

    kb_flusher_limit(flusher(m), 0);
    append(log);
    for (int i = 0; i < 10; i++) append_rolling(log);
    kb_log_flush_async(log, on_flushed, &first);
    append(log);
    kb_log_flush_async(log, on_flushed, &second);
    end = kb_log_end_offset(log);
    ck_assert_int_eq(end, 12 * RECORDS);
    kb_logmgr_close(m);
    ck_assert_int_eq(first.calls, 1);
    ck_assert_int_eq(second.calls, 1);
    ck_assert_int_eq(first.rc, 0);
    ck_assert_int_eq(second.rc, 0);
}
END_TEST

Suite *flusher_suite(void) {
    Suite *s = suite_create("flusher");
    TCase *tc = tcase_create("coalescing");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30); /* above WAIT_MS: a missed completion fails an assertion */
    tcase_add_test(tc, every_rolled_segment_is_fsynced_once);
    tcase_add_test(tc, a_request_while_one_is_pending_extends_it);
    tcase_add_test(tc, one_logs_backlog_does_not_hold_up_another_log);
    tcase_add_test(tc, a_failed_fsync_fails_the_requests_that_relied_on_it);
    tcase_add_test(tc, close_completes_waiting_requests_once);
    suite_add_tcase(s, tc);
    return s;
}
