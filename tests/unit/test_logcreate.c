/*
 * test_logcreate.c - partition logs created off the event loop
 * (kb_logmgr_create_async, broker/log/kb_logcreate.c).
 *
 * A creation is built on the log manager's creation thread and published
 * by its completion on the loop: before that the manager does not know the
 * log, and the completion never runs inside the call that submitted it.
 * A burst of creations spreads over log.dirs as single creations do.
 * Closing the manager with creations queued completes every one exactly
 * once (cancelled, or finished and published) and leaves no partition dir
 * half made: a reopen loads exactly the logs that were reported created;
 * a job holding the creation thread makes the all-cancelled case certain.
 * An abandoned creation still publishes its log, silently; one that fails
 * says why and leaves nothing on disk.  (A full disk is in
 * test_log_limits.c, which has the tmpfs.)
 *
 * Every test runs a real event_base in a fresh log dir (logfix.h).
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "fresh"
#define SEG0 "00000000000000000000"
#define BURST 300
#define MAX_LOOP_TURNS 20000 /* of at most 10 ms each */

/* What the completions of a group of creations reported. */
typedef struct outcome {
    int calls, created, failed;
    kb_log_t *last;
    char why[256];
} outcome_t;

static void record(void *arg, kb_log_t *log, const char *why) {
    outcome_t *o = arg;
    o->calls++;
    o->last = log;
    if (log) {
        o->created++;
    } else {
        o->failed++;
        snprintf(o->why, sizeof(o->why), "%s", why);
    }
}

static void tick(evutil_socket_t fd, short what, void *arg) {}

/* One turn of the loop, waiting 10 ms at most for the worker's completion
 * event (a tick bounds it). */
static void turn(void) {
    struct event *t = evtimer_new(lf.base, tick, NULL);
    struct timeval ten_ms = {0, 10000};

    evtimer_add(t, &ten_ms);
    event_base_loop(lf.base, EVLOOP_ONCE);
    event_free(t);
}

/* Runs the loop until *counter reaches n (bounded). */
static void run_until(const int *counter, int n) {
    for (int i = 0; i < MAX_LOOP_TURNS && *counter < n; i++) turn();
    ck_assert_int_eq(*counter, n);
}

static uint64_t logs_created(kb_logmgr_t *m) {
    kb_log_stats_t st;
    kb_logmgr_stats(m, &st);
    return st.logs_created;
}

static kb_log_config_t defaults(void) {
    kb_log_config_t lc;
    kb_log_config_from_broker(&lc, &lf.cfg);
    return lc;
}

static bool exists(const char *fmt, const char *a, const char *b) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), fmt, a, b);
    return stat(path, &st) == 0;
}

/* Partition dirs of TOPIC in dir; each must hold its first segment. */
static int complete_dirs(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, TOPIC "-", strlen(TOPIC) + 1) != 0) continue;
        ck_assert_msg(exists("%s/%s/" SEG0 ".log", dir, e->d_name) && exists("%s/%s/" SEG0 ".index", dir, e->d_name) &&
                          exists("%s/%s/" SEG0 ".timeindex", dir, e->d_name),
                      "%s/%s is half made", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void setup(void) { logfix_setup("logcreate"); }
static void teardown(void) { logfix_teardown(); }

START_TEST(a_log_created_off_the_loop_appears_only_when_its_completion_runs) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    kb_log_stats_t st;
    outcome_t o = {0};

    lc.segment_bytes = 4096;
    ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, 7, &lc, record, &o));
    ck_assert_int_eq(o.calls, 0);                  /* never inside the call */
    ck_assert_ptr_null(kb_logmgr_get(m, TOPIC, 7)); /* the loop has not published it */
    kb_logmgr_stats(m, &st);
    ck_assert_uint_eq(st.log_creations_pending, 1);
    run_until(&o.calls, 1);
    ck_assert_ptr_nonnull(o.last);
    ck_assert_ptr_eq(kb_logmgr_get(m, TOPIC, 7), o.last);
    ck_assert_int_eq(kb_log_get_config(o.last)->segment_bytes, 4096);
    ck_assert_int_eq(kb_log_end_offset(o.last), 0);
    ck_assert_int_eq(complete_dirs(lf.dir), 1);
    kb_logmgr_stats(m, &st);
    ck_assert_uint_eq(st.logs_created, 1);
    ck_assert_uint_eq(st.log_creations_pending, 0);
    kb_logmgr_close(m);
    m = logfix_open(); /* and it is a log like any other */
    ck_assert_ptr_nonnull(kb_logmgr_get(m, TOPIC, 7));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_burst_spreads_over_the_log_dirs) {
    char dirs[160], a[160], b[160];
    kb_log_config_t lc = defaults();
    outcome_t o = {0};

    snprintf(dirs, sizeof(dirs), "%s/a,%s/b", lf.dir, lf.dir);
    logfix_set("log.dirs", dirs);
    kb_logmgr_t *m = logfix_open();
    for (int p = 0; p < 10; p++) ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, p, &lc, record, &o));
    run_until(&o.calls, 10);
    ck_assert_int_eq(o.created, 10);
    snprintf(a, sizeof(a), "%s/a", lf.dir);
    snprintf(b, sizeof(b), "%s/b", lf.dir);
    ck_assert_int_eq(complete_dirs(a), 5);
    ck_assert_int_eq(complete_dirs(b), 5);
    kb_logmgr_close(m);
}
END_TEST

/* Holds the creation thread until the BURST creations queued behind it
 * have been submitted and then cancelled by kb_worker_stop (the queue is
 * empty again); each wait is bounded to 10 s. */
static void hold_until_cancelled(void *arg) {
    for (int i = 0; i < 10000 && kb_worker_queued(arg) < BURST; i++) usleep(1000);
    for (int i = 0; i < 10000 && kb_worker_queued(arg) > 0; i++) usleep(1000);
}

static void held_done(void *arg, bool cancelled) {}

START_TEST(closing_with_creations_queued_cancels_them_and_leaves_nothing) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    kb_worker_job_t hold = {.run = hold_until_cancelled, .done = held_done, .arg = kb_logmgr_creator(m)};
    outcome_t o = {0};

    ck_assert_int_eq(KB_LOG_CREATE_THREADS, 1); /* the hold keeps the only thread */
    ck_assert_int_eq(kb_worker_submit(kb_logmgr_creator(m), &hold), 0);
    for (int p = 0; p < BURST; p++) ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, p, &lc, record, &o));
    kb_logmgr_close(m);
    ck_assert_int_eq(o.calls, BURST); /* each completed, once */
    ck_assert_int_eq(o.failed, BURST);
    ck_assert_str_eq(o.why, "the log manager is closing");
    ck_assert_int_eq(complete_dirs(lf.dir), 0);
}
END_TEST

START_TEST(closing_amid_a_burst_completes_each_once_and_leaves_nothing_half_made) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    outcome_t o = {0};

    for (int p = 0; p < BURST; p++) ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, p, &lc, record, &o));
    for (int i = 0; i < 3; i++) turn(); /* some complete on the loop, some while closing */
    kb_logmgr_close(m);
    ck_assert_int_eq(o.calls, BURST);
    ck_assert_int_eq(o.created + o.failed, BURST);
    /* Whatever was built is complete and loads again; nothing else is there. */
    ck_assert_int_eq(complete_dirs(lf.dir), o.created);
    m = logfix_open();
    int loaded = 0;
    for (int p = 0; p < BURST; p++) loaded += kb_logmgr_get(m, TOPIC, p) != NULL;
    ck_assert_int_eq(loaded, o.created);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(an_abandoned_creation_still_publishes_its_log_silently) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    outcome_t o = {0};

    for (int p = 0; p < 5; p++) kb_logmgr_create_abandon(kb_logmgr_create_async(m, TOPIC, p, &lc, record, &o));
    for (int i = 0; i < MAX_LOOP_TURNS && logs_created(m) < 5; i++) turn();
    ck_assert_uint_eq(logs_created(m), 5);
    ck_assert_int_eq(o.calls, 0);
    for (int p = 0; p < 5; p++) ck_assert_ptr_nonnull(kb_logmgr_get(m, TOPIC, p));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_creation_that_fails_says_why_and_is_counted) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    kb_log_stats_t st;
    outcome_t o = {0};
    char blocker[256];
    FILE *f;

    /* A file where the partition dir would go. */
    snprintf(blocker, sizeof(blocker), "%s/" TOPIC "-3", lf.dir);
    ck_assert_ptr_nonnull(f = fopen(blocker, "w"));
    fclose(f);
    ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, 3, &lc, record, &o));
    run_until(&o.calls, 1);
    ck_assert_int_eq(o.failed, 1);
    ck_assert_msg(strstr(o.why, TOPIC "-3") != NULL, "why: %s", o.why);
    ck_assert_ptr_null(kb_logmgr_get(m, TOPIC, 3));
    kb_logmgr_stats(m, &st);
    ck_assert_uint_eq(st.log_creation_failures, 1);
    ck_assert_uint_eq(st.log_creations_pending, 0);
    /* Once the obstacle is gone, the next attempt works. */
    ck_assert_int_eq(unlink(blocker), 0);
    ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, 3, &lc, record, &o));
    run_until(&o.calls, 2);
    ck_assert_int_eq(o.created, 1);
    ck_assert_ptr_eq(kb_logmgr_get(m, TOPIC, 3), o.last);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(invalid_names_are_refused_at_once) {
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc = defaults();
    outcome_t o = {0};

    errno = 0;
    ck_assert_ptr_null(kb_logmgr_create_async(m, "../escape", 0, &lc, record, &o));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(kb_logmgr_create_async(m, TOPIC, -1, &lc, record, &o));
    ck_assert_int_eq(o.calls, 0);
    kb_logmgr_close(m);
    ck_assert_int_eq(o.calls, 0);
}
END_TEST

Suite *logcreate_suite(void) {
    Suite *s = suite_create("logcreate");
    TCase *tc = tcase_create("async");

    tcase_set_timeout(tc, 60); /* hundreds of creations under the sanitizers */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_log_created_off_the_loop_appears_only_when_its_completion_runs);
    tcase_add_test(tc, a_burst_spreads_over_the_log_dirs);
    tcase_add_test(tc, closing_with_creations_queued_cancels_them_and_leaves_nothing);
    tcase_add_test(tc, closing_amid_a_burst_completes_each_once_and_leaves_nothing_half_made);
    tcase_add_test(tc, an_abandoned_creation_still_publishes_its_log_silently);
    tcase_add_test(tc, a_creation_that_fails_says_why_and_is_counted);
    tcase_add_test(tc, invalid_names_are_refused_at_once);
    suite_add_tcase(s, tc);
    return s;
}
