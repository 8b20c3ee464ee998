/*
 * test_log_limits.c - broker/log at the edges of its resources and inputs:
 * file descriptors (one per partition, old segments opened only while
 * read, a start-up check against RLIMIT_NOFILE and a run-time budget of
 * logs from the same arithmetic, common/kb_fd_budget.h), a full disk (index space
 * allocated before entries reach it, so appends fail with ENOSPC instead
 * of the process dying of SIGBUS), client timestamps and offsets at the
 * ends of int64 (no signed overflow: this suite runs under UBSan, which
 * aborts on one), and checkpoint files that cannot be parsed (ignored with
 * a warning, never a refusal to start).
 *
 * The disk-full cases need a small filesystem that really fills up: a
 * tmpfs mounted by the tcase's unchecked fixture (in the runner process,
 * so that it is unmounted even when a test dies of a signal).  Without
 * the privilege to mount, those tests say so and pass vacuously.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "broker/log/kb_producer_state.h"
#include "common/kc_log.h"
#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "limits"
#define BATCH_MAX 65536
#define RECORDS 3
#define SEG0 "00000000000000000000"

/* ------------------------------------------------------------- helpers */

static void setup(void) { logfix_setup("limits"); }
static void teardown(void) { logfix_teardown(); }

static kb_log_t *limits0(kb_logmgr_t *m) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

/* Appends a batch of RECORDS records; returns kb_log_append's result. */
static int try_append(kb_log_t *log, size_t value_len, int64_t ts) {
    static uint8_t buf[BATCH_MAX];
    kp_batch_header_t h;
    kb_append_result_t res;
    size_t size = logfix_batch(buf, RECORDS, value_len, true, ts);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    return kb_log_append(log, buf, &h, 0, &res);
}

static void append_ok(kb_log_t *log, size_t value_len, int64_t ts) { ck_assert_int_eq(try_append(log, value_len, ts), 0); }

/* Descriptors open in this process. */
static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static void flushed(void *arg, int rc) {
    (void)rc;
    *(bool *)arg = true;
}

/* The flusher thread opens a sealed segment for the moment of its sync.
 * Queues a flush of everything appended to log and runs the loop until it
 * completes: the syncs the rolls queued before it are done by then (jobs
 * of one log finish in order), so no sync holds a descriptor any more. */
static void flush_and_wait(kb_log_t *log) {
    bool done = false;

    kb_log_flush_async(log, flushed, &done);
    for (int i = 0; i < 10000 && !done; i++) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert(done);
}

static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t k = strlen(suffix);
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > k && strcmp(e->d_name + len - k, suffix) == 0) n++;
    }
    closedir(d);
    return n;
}

/* Whole batches with consecutive offsets from `first` in the range. */
static int batches_in(const kb_log_range_t *r, int64_t first) {
    static uint8_t data[1 << 20];
    kp_batch_header_t h;
    size_t pos = 0, size;
    int n = 0;

    ck_assert_uint_le(r->len, sizeof(data));
    ck_assert_int_eq(pread(r->fd, data, r->len, r->pos), (ssize_t)r->len);
    while (pos < r->len && kp_batch_scan(data + pos, r->len - pos, SIZE_MAX, &h, &size) == KP_SCAN_OK) {
        ck_assert_int_eq(h.base_offset, first);
        first += h.last_offset_delta + 1;
        pos += size;
        n++;
    }
    return n;
}

/* Every batch from offset 0 to the log end, segment by segment. */
static int64_t readable_batches(kb_log_t *log) {
    int64_t offset = 0, n = 0;

    while (offset < kb_log_end_offset(log)) {
        kb_log_range_t r;
        ck_assert_int_eq(kb_log_read(log, offset, kb_log_end_offset(log), 1 << 20, true, &r), 0);
        ck_assert_uint_gt(r.len, 0);
        int got = batches_in(&r, offset);
        ck_assert_int_gt(got, 0);
        n += got;
        offset += (int64_t)got * RECORDS;
        kb_log_range_release(&r);
    }
    return n;
}

/* kb_logmgr_open with its log lines (warn and up) captured into out. */
static kb_logmgr_t *open_capturing(char *out, size_t outlen, kc_log_level_t level) {
    char file[128];
    int saved = dup(2), fd;
    kb_logmgr_t *m;

    snprintf(file, sizeof(file), "%s.stderr", lf.dir);
    fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fflush(stderr);
    dup2(fd, 2);
    kc_log_init("kbroker", -1, level);
    ck_assert_msg(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)) == KB_CONFIG_OK, "%s", lf.err);
    m = kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err));
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(file);
    return m;
}

static const char *in_dir(const char *name) {
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", lf.dir, name);
    return path;
}

/* ----------------------------------------------------------- descriptors */

START_TEST(many_rolled_segments_hold_one_descriptor) {
    kb_logmgr_t *m;
    kb_log_t *log;
    int before, with_log;

    logfix_set("log.segment.bytes", "4096");
    before = count_fds();
    m = logfix_open();
    log = limits0(m);
    with_log = count_fds();
    for (int i = 0; i < 200; i++) append_ok(log, 300, 1000 + i);
    ck_assert_int_ge(count_files(in_dir(TOPIC "-0"), ".log"), 40);
    /* The active segment's .log and nothing per sealed segment (it was
     * three descriptors per segment). */
    flush_and_wait(log);
    ck_assert_int_eq(count_fds(), with_log);
    kb_logmgr_close(m);
    ck_assert_int_eq(count_fds(), before);

    m = logfix_open(); /* reloading every segment leaves the same */
    ck_assert_int_eq(readable_batches(kb_logmgr_get(m, TOPIC, 0)), 200);
    ck_assert_int_eq(count_fds(), with_log);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(an_old_segment_is_open_only_while_a_range_holds_it) {
    kb_logmgr_t *m;
    kb_log_t *log;
    kb_log_range_t a, b;
    int idle;

    logfix_set("log.segment.bytes", "4096");
    m = logfix_open();
    log = limits0(m);
    idle = count_fds();
    for (int i = 0; i < 12; i++) append_ok(log, 300, 1000 + i);
    flush_and_wait(log); /* once the rolls' syncs are done */
    ck_assert_int_eq(count_fds(), idle);
    ck_assert_int_eq(kb_log_read(log, 0, kb_log_end_offset(log), 1 << 20, true, &a), 0);
    ck_assert_int_ge(a.fd, 0);
    ck_assert_int_eq(count_fds(), idle + 1);
    ck_assert_int_eq(kb_log_read(log, 3, kb_log_end_offset(log), 1 << 20, true, &b), 0);
    ck_assert_int_eq(b.fd, a.fd); /* two readers share the descriptor */
    ck_assert_int_eq(count_fds(), idle + 1);
    ck_assert_int_gt(batches_in(&a, 0), 0);
    kb_log_range_release(&a);
    ck_assert_int_eq(count_fds(), idle + 1);
    kb_log_range_release(&b);
    ck_assert_int_eq(count_fds(), idle);
    /* A sync of a sealed segment opens and closes it too. */
    ck_assert_int_eq(kb_segment_sync(log->segs[0]), 0);
    ck_assert_int_eq(count_fds(), idle);
    kb_logmgr_close(m);
}
END_TEST

/* Creates `partitions` logs, closes them, then reopens under a descriptor
 * limit; returns the manager (NULL when refused) and the log text. */
static kb_logmgr_t *reopen_under_limit(int partitions, rlim_t limit, char *logged, size_t len) {
    struct rlimit saved, low;
    kb_logmgr_t *m = logfix_open();

    for (int p = 0; p < partitions; p++) ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, TOPIC, p, NULL));
    kb_logmgr_close(m);
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = (struct rlimit){limit, saved.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    m = open_capturing(logged, len, KC_LOG_INFO);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    return m;
}

START_TEST(more_partitions_than_descriptors_refuses_to_open_naming_the_limit) {
    char logged[8192];
    kb_logmgr_t *m = reopen_under_limit(120, 200, logged, sizeof(logged));

    /* 120 partitions + 1 dir + 64 + 200 / 10 = 205 > 200: room for 115. */
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(lf.err, "too few file descriptors") && strstr(lf.err, "RLIMIT_NOFILE") &&
                      strstr(lf.err, "the 120 partition logs") && strstr(lf.err, "about 205") &&
                      strstr(lf.err, "is 200, room for 115") && strstr(lf.err, "LimitNOFILE="),
                  "error was: %s", lf.err);
    ck_assert_int_eq(count_files(in_dir(TOPIC "-0"), ".log"), 1); /* nothing was touched */
}
END_TEST

START_TEST(partitions_within_the_descriptor_limit_open_and_log_the_need) {
    char logged[8192];
    kb_logmgr_t *m = reopen_under_limit(115, 200, logged, sizeof(logged));

    ck_assert_msg(m != NULL, "%s", lf.err);
    ck_assert_msg(strstr(logged, "115 partition log(s) found need about 200") &&
                      strstr(logged, "RLIMIT_NOFILE) is 200, room for 115 partition logs; the partition budget is "
                                     "115 logs, set by the file descriptor limit"),
                  "log was: %s", logged);
    /* The run-time budget is the same number: full now. */
    ck_assert_uint_eq(kb_logmgr_budget(m)->partitions, 115);
    ck_assert_uint_eq(kb_logmgr_log_count(m), 115);
    ck_assert(!kb_logmgr_has_room(m));
    kb_logmgr_close(m);
}
END_TEST

static void run_until_room(kb_logmgr_t *m);

static void no_log(void *arg, kb_log_t *log, const char *why) {
    (void)arg;
    (void)log;
    (void)why;
}

/* The run-time check counts the logs being created too, so a burst of
 * creations cannot overshoot: the one past the budget is refused at once
 * (EMFILE) before any of the others completed, and the synchronous path
 * refuses as well. */
START_TEST(creations_past_the_budget_are_refused_counting_those_under_way) {
    logfix_set("max.broker.partitions", "3");
    kb_logmgr_t *m = logfix_open();
    kb_log_config_t lc;

    kb_log_config_from_broker(&lc, &lf.cfg);
    ck_assert_uint_eq(kb_logmgr_budget(m)->partitions, 3);
    ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, TOPIC, 0, NULL));
    for (int p = 1; p < 3; p++) ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, p, &lc, no_log, NULL));
    ck_assert_uint_eq(kb_logmgr_log_count(m), 3);
    errno = 0;
    ck_assert_ptr_null(kb_logmgr_create_async(m, TOPIC, 3, &lc, no_log, NULL));
    ck_assert_int_eq(errno, EMFILE);
    ck_assert_ptr_null(kb_logmgr_get_or_create(m, TOPIC, 4, NULL));
    /* Deleting one makes room for one, once its file is closed. */
    ck_assert_int_eq(kb_logmgr_delete(m, TOPIC, 0), 0);
    ck_assert(!kb_logmgr_has_room(m));
    run_until_room(m);
    ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, TOPIC, 4, NULL));
    ck_assert(!kb_logmgr_has_room(m));
    kb_logmgr_close(m);
}
END_TEST

/* ---- deleted logs (kb_logdelete.c "The partition budget") ---- */

static int room_calls;
static void on_room(void *arg) { (void)arg; room_calls++; }

/* Runs the loop until the manager has room (a deleted log's slot came
 * back), at most 20 s. */
static void run_until_room(kb_logmgr_t *m) {
    time_t deadline = time(NULL) + 20;
    while (!kb_logmgr_has_room(m) && time(NULL) < deadline) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert(kb_logmgr_has_room(m));
}

/* Dirs in the log dir whose name ends in -delete. */
static int deleted_dirs(void) {
    DIR *d = opendir(lf.dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 7 && strcmp(e->d_name + len - 7, "-delete") == 0) n++;
    }
    closedir(d);
    return n;
}

/* The hostile trial: a topic deleted and created again within
 * file.delete.delay.ms had both generations of logs open while the budget
 * counted one.  A deleted log now holds its slot until its descriptor is
 * closed, which happens as soon as the flusher is done with it, long
 * before its files go (the default delay of 60 s is kept here). */
START_TEST(a_deleted_log_holds_its_slot_until_its_descriptor_is_closed) {
    logfix_set("max.broker.partitions", "2");
    kb_logmgr_t *m = logfix_open();
    int before = count_fds();

    kb_logmgr_on_room(m, on_room, NULL);
    for (int p = 0; p < 2; p++) append_ok(kb_logmgr_get_or_create(m, TOPIC, p, NULL), 100, 1000);
    int full = count_fds();
    ck_assert_int_eq(full, before + 2);
    ck_assert_int_eq(kb_logmgr_delete(m, TOPIC, 0), 0);
    /* Out of the table, not out of the budget: its .log is open. */
    ck_assert_ptr_null(kb_logmgr_get(m, TOPIC, 0));
    ck_assert_uint_eq(kb_logmgr_log_count(m), 2);
    ck_assert_uint_eq(kb_logmgr_deleted_open(m), 1);
    ck_assert(!kb_logmgr_has_room(m));
    ck_assert_ptr_null(kb_logmgr_get_or_create(m, TOPIC, 2, NULL));
    run_until_room(m);
    /* Closed, its slot back, the watcher told; its files wait out the delay. */
    flush_and_wait(kb_logmgr_get(m, TOPIC, 1)); /* no checkpoint write holds a descriptor */
    ck_assert_int_eq(count_fds(), full - 1);
    ck_assert_uint_eq(kb_logmgr_deleted_open(m), 0);
    ck_assert_uint_eq(kb_logmgr_log_count(m), 1);
    ck_assert_int_eq(deleted_dirs(), 1);
    for (int i = 0; i < 100 && room_calls == 0; i++) event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(room_calls, 1);
    ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, TOPIC, 2, NULL));
    ck_assert_int_eq(count_fds(), full);
    kb_logmgr_close(m);
}
END_TEST

/* A consumer's sendfile in flight keeps the descriptor it started on
 * (design.md, Consume): the deleted log's slot stays taken until the range
 * is released, then comes back within the recheck (a second). */
START_TEST(a_send_in_flight_keeps_a_deleted_logs_slot_until_it_is_released) {
    logfix_set("max.broker.partitions", "1");
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    kb_log_range_t r;
    time_t deadline;

    kb_logmgr_on_room(m, on_room, NULL);
    for (int i = 0; i < 4; i++) append_ok(log, 100, 1000 + i);
    int idle = count_fds();
    ck_assert_int_eq(kb_log_read(log, 0, kb_log_end_offset(log), 1 << 20, true, &r), 0);
    ck_assert_int_eq(kb_logmgr_delete(m, TOPIC, 0), 0);
    /* Run the loop until the flusher is done with the log (its segments
     * move to the deletion): the active one is no longer active, but the
     * range still holds its .log. */
    deadline = time(NULL) + 20;
    while (log->n_segs > 0 && time(NULL) < deadline) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_uint_eq(log->n_segs, 0);
    for (int i = 0; i < 2; i++) event_base_loop(lf.base, EVLOOP_ONCE); /* a recheck or two */
    ck_assert(!kb_logmgr_has_room(m));
    ck_assert_uint_eq(kb_logmgr_deleted_open(m), 1);
    ck_assert_int_eq(room_calls, 0);
    ck_assert_int_eq(count_fds(), idle);
    ck_assert_int_eq(batches_in(&r, 0), 4); /* the sender still reads from it */
    kb_log_range_release(&r);
    ck_assert_int_eq(count_fds(), idle - 1); /* the last pin closed it */
    run_until_room(m);
    ck_assert_uint_eq(kb_logmgr_deleted_open(m), 0);
    for (int i = 0; i < 100 && room_calls == 0; i++) event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(room_calls, 1);
    kb_logmgr_close(m);
}
END_TEST

/* Lowering max.broker.partitions never unloads a log: every log found
 * loads, only new ones are refused; the start-up line gives the budget
 * that max.broker.partitions sets and says so. */
START_TEST(a_lowered_max_broker_partitions_loads_every_log_and_stops_new_ones) {
    kb_logmgr_t *m = logfix_open();
    char logged[8192];

    for (int p = 0; p < 5; p++) ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, TOPIC, p, NULL));
    kb_logmgr_close(m);
    logfix_set("max.broker.partitions", "2");
    m = open_capturing(logged, sizeof(logged), KC_LOG_INFO);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(strstr(logged, "the partition budget is 2 logs, set by max.broker.partitions (") &&
                      strstr(logged, "more logs than that were found: all of them load"),
                  "log was: %s", logged);
    ck_assert_uint_eq(kb_logmgr_log_count(m), 5);
    for (int p = 0; p < 5; p++) ck_assert_ptr_nonnull(kb_logmgr_get(m, TOPIC, p));
    ck_assert(!kb_logmgr_has_room(m));
    ck_assert_ptr_null(kb_logmgr_get_or_create(m, TOPIC, 5, NULL));
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------------- disk full */

static char disk[96]; /* the tmpfs mount point, "" when it could not be mounted */
static char disk_parent[64];

/* In the runner process, once for the tcase. */
static void mount_disk(void) {
    snprintf(disk_parent, sizeof(disk_parent), "/tmp/kb-test-disk-XXXXXX");
    disk[0] = '\0';
    if (!mkdtemp(disk_parent)) return;
    snprintf(disk, sizeof(disk), "%s/disk", disk_parent);
    if (mkdir(disk, 0755) != 0 || mount("tmpfs", disk, "tmpfs", 0, "size=512k") != 0) {
        fprintf(stderr, "disk-full tests: cannot mount a tmpfs (%s); they pass without running\n", strerror(errno));
        rmdir(disk);
        disk[0] = '\0';
    }
}

static void unmount_disk(void) {
    char path[96];

    snprintf(path, sizeof(path), "%s/disk", disk_parent);
    umount2(path, MNT_DETACH);
    rmdir(path);
    rmdir(disk_parent);
}

/* Writes a file in dir until the filesystem is full; returns its path. */
static const char *fill_disk(const char *dir) {
    static char path[128];
    static uint8_t block[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/filler", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 100000; i++)
        if (write(fd, block, sizeof(block)) < 0) break;
    while (write(fd, block, 1) == 1) continue;
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
    return path;
}

/* The log dir on the tmpfs, one per test. */
static void use_disk(const char *name) {
    char dir[128];

    snprintf(dir, sizeof(dir), "%s/filler", disk);
    unlink(dir); /* left by a test that died before freeing its space */
    snprintf(dir, sizeof(dir), "%s/%s", disk, name);
    logfix_set("log.dir", dir);
    logfix_set("log.index.interval.bytes", "1");
}

/* Fills the disk with one batch in the log, then appends until an append
 * fails: the process must survive (no SIGBUS), the failure be ENOSPC, and
 * every batch appended be readable; once space is freed appends work. */
static void appends_fail_cleanly_on_a_full_disk(const char *name) {
    kb_logmgr_t *m;
    kb_log_t *log;
    const char *filler;
    int64_t appended = 1, end;
    int rc = 0;

    use_disk(name);
    m = logfix_open();
    log = limits0(m);
    append_ok(log, 400, 1000);
    filler = fill_disk(disk);
    for (int i = 0; i < 1000 && rc == 0; i++) {
        rc = try_append(log, 400, 2000 + i);
        if (rc == 0) appended++;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(errno, ENOSPC);
    end = kb_log_end_offset(log);
    ck_assert_int_eq(end, appended * RECORDS);
    ck_assert_int_eq(readable_batches(log), appended);
    ck_assert_int_eq(unlink(filler), 0);
    append_ok(log, 400, 9000);
    ck_assert_int_eq(kb_log_end_offset(log), end + RECORDS);
    ck_assert_int_eq(readable_batches(log), appended + 1);
    kb_logmgr_close(m);
}

START_TEST(a_full_disk_fails_appends_within_a_segment_with_enospc) {
    if (!disk[0]) return;
    appends_fail_cleanly_on_a_full_disk("within");
}
END_TEST

START_TEST(a_full_disk_fails_the_roll_with_enospc) {
    if (!disk[0]) return;
    /* Every batch of ~1.3 KB rolls a segment of 1 KB: the roll's seal adds
     * a time index entry, and its new segment needs index space. */
    logfix_set("log.segment.bytes", "1024");
    appends_fail_cleanly_on_a_full_disk("rolling");
}
END_TEST

START_TEST(index_space_is_allocated_not_sparse) {
    struct stat st;
    char path[160];

    if (!disk[0]) return;
    use_disk("alloc");
    kb_logmgr_t *m = logfix_open();
    limits0(m);
    snprintf(path, sizeof(path), "%s/alloc/" TOPIC "-0/" SEG0 ".index", disk);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 10485760);          /* preallocated to the maximum, as Kafka */
    ck_assert_int_ge((int64_t)st.st_blocks * 512, 4096); /* and its first chunk has disk blocks */
    ck_assert_int_lt((int64_t)st.st_blocks * 512, 1 << 20);
    kb_logmgr_close(m);
}
END_TEST

typedef struct creation {
    bool done;
    kb_log_t *log;
    char why[256];
} creation_t;

static void created(void *arg, kb_log_t *log, const char *why) {
    creation_t *c = arg;
    c->done = true;
    c->log = log;
    snprintf(c->why, sizeof(c->why), "%s", why);
}

/* kb_logmgr_create_async, run to its completion (the worker's event). */
static creation_t create_and_wait(kb_logmgr_t *m, int32_t partition) {
    creation_t c = {0};
    kb_log_config_t lc;

    kb_log_config_from_broker(&lc, &lf.cfg);
    ck_assert_ptr_nonnull(kb_logmgr_create_async(m, TOPIC, partition, &lc, created, &c));
    for (int i = 0; i < 10000 && !c.done; i++) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert(c.done);
    return c;
}

START_TEST(a_log_created_on_a_full_disk_fails_and_leaves_nothing) {
    char dir[160];
    struct stat st;
    const char *filler;
    creation_t c;

    if (!disk[0]) return;
    use_disk("create");
    kb_logmgr_t *m = logfix_open();
    filler = fill_disk(disk);
    c = create_and_wait(m, 5);
    ck_assert_ptr_null(c.log);
    ck_assert_msg(strstr(c.why, strerror(ENOSPC)) != NULL, "why: %s", c.why);
    snprintf(dir, sizeof(dir), "%s/create/" TOPIC "-5", disk);
    ck_assert_int_eq(stat(dir, &st), -1); /* no partition dir, no file */
    ck_assert_ptr_null(kb_logmgr_get(m, TOPIC, 5));
    ck_assert_int_eq(unlink(filler), 0);
    c = create_and_wait(m, 5); /* space again: the next attempt works */
    ck_assert_ptr_nonnull(c.log);
    ck_assert_ptr_eq(kb_logmgr_get(m, TOPIC, 5), c.log);
    kb_logmgr_close(m);
}
END_TEST

/* -------------------------------------------------------- int64 extremes */

/* A batch whose records have the given timestamp deltas (any int64),
 * base_timestamp and max_timestamp as given, offsets 0..n-1. */
static size_t batch_with_deltas(uint8_t *buf, int n, const int64_t *deltas, int64_t base_ts, int64_t max_ts) {
    kp_writer_t w;
    size_t size;

    kp_writer_init(&w);
    for (int i = 0; i < KP_BATCH_HEADER_SIZE; i++) kp_write_int8(&w, 0);
    for (int i = 0; i < n; i++) {
        kp_writer_t r;
        kp_writer_init(&r);
        kp_write_int8(&r, 0);
        kp_write_varlong(&r, deltas[i]);
        kp_write_varint(&r, i);
        kp_write_varint(&r, -1); /* null key */
        kp_write_varint(&r, 1);
        kp_write_int8(&r, 'v');
        kp_write_varint(&r, 0); /* no headers */
        kp_write_varint(&w, (int32_t)r.len);
        kp_write_raw(&w, r.buf, r.len);
        kp_writer_free(&r);
    }
    ck_assert_int_eq(w.err, 0);
    size = w.len;
    memcpy(buf, w.buf, size);
    kp_writer_free(&w);
    kp_put_be(buf + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
    kp_put_be(buf + KP_BATCH_OFF_LEADER_EPOCH, (uint64_t)-1, 4);
    buf[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_put_be(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint64_t)(n - 1), 4);
    kp_put_be(buf + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts, 8);
    kp_put_be(buf + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts, 8);
    memset(buf + KP_BATCH_OFF_PRODUCER_ID, 0xff, 8 + 2 + 4);
    kp_put_be(buf + KP_BATCH_OFF_RECORDS_COUNT, (uint64_t)n, 4);
    kp_put_be(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    return size;
}

static int64_t append_crafted(kb_log_t *log, int n, const int64_t *deltas, int64_t base_ts, int64_t max_ts) {
    static uint8_t buf[4096];
    kp_batch_header_t h;
    kb_append_result_t res;
    size_t size = batch_with_deltas(buf, n, deltas, base_ts, max_ts);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, buf, &h, 0, &res), 0);
    return res.base_offset;
}

START_TEST(extreme_client_timestamps_do_not_overflow_the_roll_check) {
    static const int64_t zero[] = {0, 0};
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = limits0(m);

    append_crafted(log, 2, zero, 1, 1);                 /* the segment's first batch: timestamp 1 */
    append_crafted(log, 2, zero, INT64_MIN, INT64_MIN); /* INT64_MIN - 1 overflowed */
    ck_assert_int_eq(log->n_segs, 1);                   /* earlier than the first batch: no roll */
    append_crafted(log, 2, zero, INT64_MAX, INT64_MAX); /* far later: rolls */
    ck_assert_int_eq(log->n_segs, 2);
    append_crafted(log, 2, zero, INT64_MIN, INT64_MIN); /* INT64_MIN - INT64_MAX overflowed */
    ck_assert_int_eq(log->n_segs, 2);
    ck_assert_int_eq(kb_log_end_offset(log), 8);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(record_timestamps_that_overflow_are_not_summed) {
    /* base INT64_MAX - 1 plus delta 5 is past INT64_MAX: the sum saturates
     * (no signed overflow; UBSan would stop here otherwise), so that
     * record counts as the latest possible one and answers INT64_MAX. */
    static const int64_t deltas[] = {0, 5, 1};
    int64_t offset = -1, ts = -1;
    uint8_t buf[512];
    size_t size = batch_with_deltas(buf, 3, deltas, INT64_MAX - 1, INT64_MAX);

    ck_assert_int_eq(kp_batch_find_timestamp(buf, size, INT64_MAX, 1 << 20, &offset, &ts, NULL), KP_FIND_FOUND);
    ck_assert_int_eq(offset, 1);
    ck_assert_int_eq(ts, INT64_MAX);
}
END_TEST

START_TEST(batches_whose_last_offset_overflows_are_corrupt) {
    static const int64_t zero[] = {0, 0, 0};
    uint8_t buf[512];
    size_t size = batch_with_deltas(buf, 3, zero, 0, 0), got = 0;
    kp_batch_header_t h;
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = limits0(m);

    /* A leader's batch at base offset INT64_MAX - 1 with 3 records. */
    kp_batch_set_base_offset(buf, INT64_MAX - 1);
    ck_assert_int_eq(kp_batch_scan(buf, size, SIZE_MAX, &h, &got), KP_SCAN_CORRUPT);
    ck_assert_int_eq(kb_log_append_verbatim(log, buf, size), -1);
    kp_batch_set_base_offset(buf, -5);
    ck_assert_int_eq(kp_batch_scan(buf, size, SIZE_MAX, &h, &got), KP_SCAN_CORRUPT);
    ck_assert_int_eq(kb_log_end_offset(log), 0);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(producer_expiry_survives_extreme_timestamps) {
    kb_producers_t *ps = kb_producers_new();
    kp_batch_header_t h = {.producer_id = 7, .producer_epoch = 0, .base_sequence = 0, .max_timestamp = INT64_MIN};

    ck_assert_int_eq(kb_producers_record(ps, &h), 0);
    h.producer_id = 8;
    h.max_timestamp = INT64_MAX;
    ck_assert_int_eq(kb_producers_record(ps, &h), 0);
    kb_producers_expire(ps, 1700000000000, 7LL * 24 * 3600 * 1000); /* now - INT64_MIN overflowed */
    ck_assert_uint_eq(kb_producers_count(ps), 1);                  /* the one from the far future stays */
    kb_producers_free(ps);
}
END_TEST

/* ---------------------------------------------------------- checkpoints */

static const char *const ckpt_names[] = {"recovery-point-offset-checkpoint", "replication-offset-checkpoint",
                                         "log-start-offset-checkpoint"};

static void write_garbage(const char *name) {
    FILE *f = fopen(in_dir(name), "w");

    ck_assert_ptr_nonnull(f);
    fputs("0\n7\nthis is not a checkpoint\n\x01\x02\xff garbage\n", f);
    fclose(f);
}

static void expect_warned_about_each(const char *logged) {
    char want[128];

    for (size_t i = 0; i < sizeof(ckpt_names) / sizeof(ckpt_names[0]); i++) {
        snprintf(want, sizeof(want), "ignoring unusable %s", ckpt_names[i]);
        ck_assert_msg(strstr(logged, want) != NULL, "no warning about %s; log was: %s", ckpt_names[i], logged);
    }
}

START_TEST(garbage_checkpoints_after_a_clean_stop_are_ignored) {
    char logged[8192];
    kb_logmgr_t *m;
    kb_log_t *log;

    logfix_set("log.segment.bytes", "4096");
    m = logfix_open();
    log = limits0(m);
    for (int i = 0; i < 10; i++) append_ok(log, 300, 1000 + i);
    kb_log_set_high_watermark(log, 30);
    kb_logmgr_close(m);
    for (int i = 0; i < 3; i++) write_garbage(ckpt_names[i]);

    m = open_capturing(logged, sizeof(logged), KC_LOG_WARN);
    ck_assert_msg(m != NULL, "refused to start: %s", lf.err);
    expect_warned_about_each(logged);
    log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 30);
    ck_assert_int_eq(kb_log_start_offset(log), 0);
    ck_assert_int_eq(kb_log_high_watermark(log), 0); /* as if never checkpointed */
    ck_assert_int_eq(readable_batches(log), 10);
    kb_logmgr_close(m); /* and the next checkpoints replace the garbage */
    m = open_capturing(logged, sizeof(logged), KC_LOG_WARN);
    ck_assert_ptr_null(strstr(logged, "ignoring unusable"));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(garbage_recovery_point_after_a_crash_recovers_every_segment) {
    char logged[8192];
    kb_logmgr_t *m;
    kb_log_t *log;
    kb_log_stats_t st;
    int segments;

    logfix_set("log.segment.bytes", "4096");
    m = logfix_open();
    log = limits0(m);
    for (int i = 0; i < 10; i++) append_ok(log, 300, 1000 + i);
    kb_logmgr_checkpoint(m);
    kb_logmgr_abandon(m); /* a crash, after the checkpoints were written */
    segments = count_files(in_dir(TOPIC "-0"), ".log");
    for (int i = 0; i < 3; i++) write_garbage(ckpt_names[i]);

    m = open_capturing(logged, sizeof(logged), KC_LOG_WARN);
    ck_assert_msg(m != NULL, "refused to start: %s", lf.err);
    expect_warned_about_each(logged);
    kb_logmgr_stats(m, &st);
    ck_assert_int_eq(st.segments_recovered, (uint64_t)segments); /* from offset 0 */
    log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 30);
    ck_assert_int_eq(readable_batches(log), 10);
    kb_logmgr_close(m);
}
END_TEST

Suite *log_limits_suite(void) {
    Suite *s = suite_create("log_limits");
    TCase *fds = tcase_create("descriptors");
    TCase *full = tcase_create("disk_full");
    TCase *ext = tcase_create("int64_extremes");
    TCase *ckpt = tcase_create("checkpoints");

    /* Hundreds of appends and rolls under the sanitizers, and a flusher
     * that fsyncs every rolled segment: more than Check's default 4 s. */
    tcase_set_timeout(fds, 60);
    tcase_set_timeout(full, 60);
    tcase_add_checked_fixture(fds, setup, teardown);
    tcase_add_test(fds, many_rolled_segments_hold_one_descriptor);
    tcase_add_test(fds, an_old_segment_is_open_only_while_a_range_holds_it);
    tcase_add_test(fds, more_partitions_than_descriptors_refuses_to_open_naming_the_limit);
    tcase_add_test(fds, partitions_within_the_descriptor_limit_open_and_log_the_need);
    tcase_add_test(fds, creations_past_the_budget_are_refused_counting_those_under_way);
    tcase_add_test(fds, a_lowered_max_broker_partitions_loads_every_log_and_stops_new_ones);
    tcase_add_test(fds, a_deleted_log_holds_its_slot_until_its_descriptor_is_closed);
    tcase_add_test(fds, a_send_in_flight_keeps_a_deleted_logs_slot_until_it_is_released);
    tcase_add_unchecked_fixture(full, mount_disk, unmount_disk);
    tcase_add_checked_fixture(full, setup, teardown);
    tcase_add_test(full, index_space_is_allocated_not_sparse);
    tcase_add_test(full, a_full_disk_fails_appends_within_a_segment_with_enospc);
    tcase_add_test(full, a_full_disk_fails_the_roll_with_enospc);
    tcase_add_test(full, a_log_created_on_a_full_disk_fails_and_leaves_nothing);
    tcase_add_checked_fixture(ext, setup, teardown);
    tcase_add_test(ext, extreme_client_timestamps_do_not_overflow_the_roll_check);
    tcase_add_test(ext, record_timestamps_that_overflow_are_not_summed);
    tcase_add_test(ext, batches_whose_last_offset_overflows_are_corrupt);
    tcase_add_test(ext, producer_expiry_survives_extreme_timestamps);
    tcase_add_checked_fixture(ckpt, setup, teardown);
    tcase_add_test(ckpt, garbage_checkpoints_after_a_clean_stop_are_ignored);
    tcase_add_test(ckpt, garbage_recovery_point_after_a_crash_recovers_every_segment);
    suite_add_tcase(s, fds);
    suite_add_tcase(s, full);
    suite_add_tcase(s, ext);
    suite_add_tcase(s, ckpt);
    return s;
}
