/*
 * test_log.c - partition logs on disk (broker/log): appends and reads,
 * sparse indexes, segment rolls, clean reopen, crash recovery, checkpoint
 * files, meta.properties, the dir lock, flushing and what a clean close
 * fsyncs (timestamp lookups: test_log_timestamp.c).
 *
 * Every test works in a fresh mkdtemp directory used as log.dirs, with a
 * real event_base (the flusher hands completions back to it).  Batches are
 * built by build_batch() as a producer would send them: valid uncompressed
 * record batches with base offset 0 and a correct CRC-32C.  A crash is
 * kb_logmgr_abandon(): no flush, no index trim, no checkpoints, no
 * clean-shutdown marker; the test then damages the files as a crash might.
 */
#include <dirent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "orders"
#define BATCH_MAX 65536
#define RECORDS_PER_BATCH 3
#define SEG0 "00000000000000000000"

static char path[512];
/* ------------------------------------------------------------- helpers */

/* keys "k<i>", value_len bytes of 'v', timestamps ts, ts+1, ... */
static size_t build_batch(uint8_t *buf, int n, size_t value_len, int64_t ts) {
    return logfix_batch(buf, n, value_len, true, ts);
}

/* Appends one batch of RECORDS_PER_BATCH records; returns its size. */
static size_t append_one(kb_log_t *log, size_t value_len, int64_t ts, kb_append_result_t *res) {
    static uint8_t buf[BATCH_MAX];
    kp_batch_header_t h;
    kb_append_result_t r;
    size_t size = build_batch(buf, RECORDS_PER_BATCH, value_len, ts);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, buf, &h, 5, res ? res : &r), 0);
    return size;
}

static void set(const char *key, const char *value) { logfix_set(key, value); }
static void setup(void) { logfix_setup("log"); }
static void teardown(void) { logfix_teardown(); }
static kb_logmgr_t *open_mgr(void) { return logfix_open(); }

static kb_log_t *orders0(kb_logmgr_t *m) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

static const char *in_dir(const char *name) {
    snprintf(path, sizeof(path), "%s/%s", lf.dir, name);
    return path;
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static char *read_all(const char *p) {
    static char text[4096];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    return text;
}

static kb_log_stats_t stats_of(kb_logmgr_t *m) {
    kb_log_stats_t s;
    kb_logmgr_stats(m, &s);
    return s;
}

/* Reads the range into memory and checks it holds whole, valid batches
 * with consecutive offsets from first_offset; returns how many. */
static int check_range(const kb_log_range_t *r, int64_t first_offset) {
    static uint8_t data[1 << 20];
    kp_batch_header_t h;
    size_t pos = 0, size;
    int n = 0;

    ck_assert_uint_le(r->len, sizeof(data));
    ck_assert_int_eq(pread(r->fd, data, r->len, r->pos), (ssize_t)r->len);
    while (pos < r->len && kp_batch_scan(data + pos, r->len - pos, SIZE_MAX, &h, &size) == KP_SCAN_OK) {
        ck_assert_int_eq(h.base_offset, first_offset);
        ck_assert_int_eq(h.partition_leader_epoch, 5);
        first_offset += RECORDS_PER_BATCH;
        pos += size;
        n++;
    }
    return n;
}

/* Captures kc_log's stderr around a reopen. */
static kb_logmgr_t *open_mgr_capturing(char *out, size_t outlen) {
    char logfile[128];
    int saved = dup(2), fd;
    kb_logmgr_t *m;

    snprintf(logfile, sizeof(logfile), "%s.stderr", lf.dir);
    fd = open(logfile, O_RDWR | O_CREAT | O_TRUNC, 0600);
    fflush(stderr);
    dup2(fd, 2);
    kc_log_init("kbroker", -1, KC_LOG_WARN);
    m = open_mgr();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logfile);
    return m;
}

/* ------------------------------------------------------- append and read */

START_TEST(append_assigns_offsets_and_reads_back) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_append_result_t res;
    kb_log_range_t r;
    size_t sizes[10], total = 0;

    for (int i = 0; i < 10; i++) {
        sizes[i] = append_one(log, 100, 1000 + i, &res);
        total += sizes[i];
        ck_assert_int_eq(res.base_offset, i * RECORDS_PER_BATCH);
        ck_assert_int_eq(res.last_offset, i * RECORDS_PER_BATCH + 2);
        ck_assert_int_eq(res.log_append_time, -1);
    }
    ck_assert_int_eq(kb_log_end_offset(log), 30);
    ck_assert_int_eq(kb_log_read(log, 0, 30, 1 << 20, true, &r), 0);
    ck_assert_uint_eq(r.len, total);
    ck_assert_int_eq(r.first_offset, 0);
    ck_assert_int_eq(check_range(&r, 0), 10);
    kb_log_range_release(&r);
    /* From the middle of a batch: the range starts at that batch. */
    ck_assert_int_eq(kb_log_read(log, 4, 30, 1 << 20, true, &r), 0);
    ck_assert_int_eq(r.first_offset, 3);
    ck_assert_int_eq(r.pos, (off_t)sizes[0]);
    ck_assert_int_eq(check_range(&r, 3), 9);
    kb_log_range_release(&r);
    /* upper (the high watermark) ends the range before its batch. */
    ck_assert_int_eq(kb_log_read(log, 0, 9, 1 << 20, true, &r), 0);
    ck_assert_uint_eq(r.len, sizes[0] + sizes[1] + sizes[2]);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(read_limits_and_out_of_range) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_log_range_t r;
    size_t first = append_one(log, 100, 1000, NULL);

    append_one(log, 100, 1001, NULL);
    /* max_bytes cuts the last batch... */
    ck_assert_int_eq(kb_log_read(log, 0, 6, first + 10, true, &r), 0);
    ck_assert_uint_eq(r.len, first + 10);
    kb_log_range_release(&r);
    /* ...but a first batch larger than max_bytes is whole or nothing. */
    ck_assert_int_eq(kb_log_read(log, 0, 6, 10, true, &r), 0);
    ck_assert_uint_eq(r.len, first);
    kb_log_range_release(&r);
    ck_assert_int_eq(kb_log_read(log, 0, 6, 10, false, &r), 0);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_ptr_null(r.segment);
    /* At the log end: nothing to send; past it: out of range. */
    ck_assert_int_eq(kb_log_read(log, 6, 6, 1000, true, &r), 0);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_int_eq(kb_log_read(log, 7, 7, 1000, true, &r), 1);
    ck_assert_int_eq(kb_log_read(log, -1, 6, 1000, true, &r), 1);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_follower_read_ends_at_a_batch_boundary) {
    set("log.index.interval.bytes", "1"); /* an index entry at every batch but the first */
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    kb_log_range_t r;
    size_t sizes[4];

    for (int i = 0; i < 4; i++) sizes[i] = append_one(log, 100, 1000 + i, NULL);
    /* A limit inside the third batch: the first two, whole. */
    ck_assert_int_eq(kb_log_read_batches(log, 0, 12, sizes[0] + sizes[1] + 10, &r), 0);
    ck_assert_uint_eq(r.len, sizes[0] + sizes[1]);
    ck_assert_int_eq(check_range(&r, 0), 2);
    kb_log_range_release(&r);
    /* A limit inside the first batch: the first batch alone, whole. */
    ck_assert_int_eq(kb_log_read_batches(log, 0, 12, 10, &r), 0);
    ck_assert_uint_eq(r.len, sizes[0]);
    kb_log_range_release(&r);
    /* Room for everything: everything. */
    ck_assert_int_eq(kb_log_read_batches(log, 3, 12, 1 << 20, &r), 0);
    ck_assert_uint_eq(r.len, sizes[1] + sizes[2] + sizes[3]);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(index_entries_appear_every_interval) {
    kb_logmgr_t *m;
    kb_log_t *log;
    int64_t last_offsets[40];
    off_t positions[40];
    size_t since = 0, expected = 0;
    off_t pos = 0;
    uint8_t entry[8];

    set("log.index.interval.bytes", "4096");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 40; i++) {
        size_t size = append_one(log, 300, 1000 + i, NULL);
        /* Kafka's rule: an entry when more than the interval was appended
         * since the last one, not counting this append. */
        if (since > 4096) {
            last_offsets[expected] = i * RECORDS_PER_BATCH + 2;
            positions[expected++] = pos;
            since = 0;
        }
        since += size;
        pos += (off_t)size;
    }
    kb_logmgr_close(m); /* trims the index to its entries */
    ck_assert_uint_gt(expected, 2);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), (off_t)(expected * 8));
    int fd = open(path, O_RDONLY);
    for (size_t i = 0; i < expected; i++) {
        ck_assert_int_eq(pread(fd, entry, 8, (off_t)(i * 8)), 8);
        uint32_t rel = (uint32_t)entry[0] << 24 | entry[1] << 16 | entry[2] << 8 | entry[3];
        uint32_t at = (uint32_t)entry[4] << 24 | entry[5] << 16 | entry[6] << 8 | entry[7];
        ck_assert_int_eq(rel, last_offsets[i]);
        ck_assert_int_eq(at, positions[i]);
    }
    close(fd);
    /* The time index got entries too (12 bytes each, plus the one at close). */
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".timeindex")) % 12, 0);
    ck_assert_int_ge(file_size(path), (off_t)(expected * 12));
}
END_TEST

START_TEST(active_index_is_preallocated) {
    kb_logmgr_t *m;

    set("log.index.size.max.bytes", "100000");
    m = open_mgr();
    orders0(m);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 100000 / 8 * 8);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".timeindex")), 100000 / 12 * 12);
    kb_logmgr_close(m);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 0);
}
END_TEST

START_TEST(roll_by_segment_bytes_creates_a_second_segment) {
    kb_logmgr_t *m;
    kb_log_t *log;
    kb_log_range_t r;
    size_t size = 0;

    set("log.segment.bytes", "4096");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 5; i++) size = append_one(log, 300, 1000 + i, NULL);
    ck_assert_uint_gt(size * 4, 2048);
    ck_assert_uint_le(size * 4, 4096);
    ck_assert_uint_gt(size * 5, 4096);
    /* The fifth batch did not fit: a new segment starts at offset 12. */
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/00000000000000000012.log")), (off_t)size);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".log")), (off_t)(4 * size));
    /* The rolled segment's indexes are trimmed at once. */
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 0);
    /* A read stops at the segment end; the next one continues. */
    ck_assert_int_eq(kb_log_read(log, 0, 15, 1 << 20, true, &r), 0);
    ck_assert_uint_eq(r.len, 4 * size);
    kb_log_range_release(&r);
    ck_assert_int_eq(kb_log_read(log, 12, 15, 1 << 20, true, &r), 0);
    ck_assert_int_eq(r.first_offset, 12);
    ck_assert_int_eq(r.pos, 0);
    ck_assert_int_eq(check_range(&r, 12), 1);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(roll_when_the_index_is_full) {
    kb_logmgr_t *m;
    kb_log_t *log;

    /* Room for 3 offset entries and 2 time entries; with interval 0 every
     * batch but a segment's first gets one, so the fourth batch rolls. */
    set("log.index.interval.bytes", "0");
    set("log.index.size.max.bytes", "24");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 4; i++) append_one(log, 10, 1000 + 10 * i, NULL);
    off_t first_segment = file_size(in_dir(TOPIC "-0/" SEG0 ".log"));
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/00000000000000000009.log")), first_segment / 3);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 2 * 8);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".timeindex")), 2 * 12);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(roll_when_the_segment_is_older_than_roll_ms) {
    kb_logmgr_t *m;
    kb_log_t *log;

    set("log.roll.ms", "1000");
    m = open_mgr();
    log = orders0(m);
    append_one(log, 10, 10000, NULL);
    append_one(log, 10, 10500, NULL); /* 500 ms after the first batch: same segment */
    append_one(log, 10, 11200, NULL); /* 1200 ms after: a new segment */
    ck_assert_int_gt(file_size(in_dir(TOPIC "-0/00000000000000000006.log")), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(new_partitions_go_to_the_dir_with_the_fewest) {
    char dirs[160];
    kb_logmgr_t *m;

    snprintf(dirs, sizeof(dirs), "%s/a,%s/b", lf.dir, lf.dir);
    set("log.dirs", dirs);
    m = open_mgr();
    for (int p = 0; p < 3; p++) ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, "spread", p, NULL));
    ck_assert_int_eq(file_size(in_dir("a/spread-0/" SEG0 ".log")), 0);
    ck_assert_int_eq(file_size(in_dir("b/spread-1/" SEG0 ".log")), 0);
    ck_assert_int_eq(file_size(in_dir("a/spread-2/" SEG0 ".log")), 0);
    kb_logmgr_close(m);
    ck_assert_str_eq(read_all(in_dir("b/recovery-point-offset-checkpoint")), "0\n1\nspread 1 0\n");
    m = open_mgr();
    ck_assert_ptr_nonnull(kb_logmgr_get(m, "spread", 1));
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------------- reopen */

START_TEST(reopen_after_clean_close_keeps_everything) {
    kb_logmgr_t *m;
    kb_log_t *log;
    kb_log_range_t r;
    kb_append_result_t res;

    set("log.segment.bytes", "4096");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 8; i++) append_one(log, 300, 1000 + i, NULL);
    kb_log_set_high_watermark(log, 21);
    kb_logmgr_close(m);
    ck_assert_int_eq(file_size(in_dir(".kafka_cleanshutdown")), 0);

    m = open_mgr();
    ck_assert_int_eq(file_size(in_dir(".kafka_cleanshutdown")), -1);
    log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(kb_log_end_offset(log), 24);
    ck_assert_int_eq(kb_log_high_watermark(log), 21);
    ck_assert_int_eq(kb_log_start_offset(log), 0);
    ck_assert_int_eq(stats_of(m).segments_recovered, 0);
    ck_assert_int_eq(kb_log_read(log, 0, 24, 1 << 20, true, &r), 0);
    ck_assert_int_eq(check_range(&r, 0), 4);
    kb_log_range_release(&r);
    append_one(log, 300, 2000, &res);
    ck_assert_int_eq(res.base_offset, 24);
    kb_logmgr_close(m);
}
END_TEST

/* Crashes with 5 batches in one segment; returns the batch size. */
static size_t crash_with_five_batches(void) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    size_t size = 0;

    for (int i = 0; i < 5; i++) size = append_one(log, 200, 1000 + i, NULL);
    kb_logmgr_abandon(m);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".log")), (off_t)(5 * size));
    return size;
}

/* Reopens after the damage; checks that the first n batches survive whole
 * and that the truncation was counted and logged. */
static void expect_recovered_to(int n, size_t size, uint64_t cut) {
    char logged[4096], want[128];
    kb_logmgr_t *m = open_mgr_capturing(logged, sizeof(logged));
    kb_log_t *log = kb_logmgr_get(m, TOPIC, 0);
    kb_log_range_t r;
    kb_append_result_t res;

    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(kb_log_end_offset(log), n * RECORDS_PER_BATCH);
    ck_assert_int_eq(stats_of(m).recovery_truncated_bytes, cut);
    ck_assert_int_ge(stats_of(m).segments_recovered, 1);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".log")), (off_t)(n * size));
    snprintf(want, sizeof(want), "recovered " TOPIC "-0 segment " SEG0 ": truncated %" PRIu64 " bytes after offset %d",
             cut, n * RECORDS_PER_BATCH - 1);
    ck_assert_msg(strstr(logged, want) != NULL, "log was: %s", logged);
    ck_assert_int_eq(kb_log_read(log, 0, n * RECORDS_PER_BATCH, 1 << 20, true, &r), 0);
    ck_assert_int_eq(check_range(&r, 0), n);
    kb_log_range_release(&r);
    append_one(log, 200, 3000, &res);
    ck_assert_int_eq(res.base_offset, n * RECORDS_PER_BATCH);
    kb_logmgr_close(m);
}

START_TEST(unclean_stop_recovers_a_batch_cut_in_the_middle) {
    size_t size = crash_with_five_batches();
    ck_assert_int_eq(truncate(in_dir(TOPIC "-0/" SEG0 ".log"), (off_t)(5 * size - 10)), 0);
    expect_recovered_to(4, size, size - 10);
}
END_TEST

START_TEST(unclean_stop_recovers_a_flipped_byte_in_the_last_batch) {
    size_t size = crash_with_five_batches();
    int fd = open(in_dir(TOPIC "-0/" SEG0 ".log"), O_RDWR);
    uint8_t b;

    ck_assert_int_eq(pread(fd, &b, 1, (off_t)(4 * size + 100)), 1);
    b ^= 0x04;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)(4 * size + 100)), 1);
    close(fd);
    expect_recovered_to(4, size, size);
}
END_TEST

START_TEST(unclean_stop_recovers_garbage_appended) {
    size_t size = crash_with_five_batches();
    uint8_t junk[100];
    int fd = open(in_dir(TOPIC "-0/" SEG0 ".log"), O_WRONLY | O_APPEND);

    memset(junk, 0xab, sizeof(junk));
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    expect_recovered_to(5, size, sizeof(junk));
}
END_TEST

START_TEST(unclean_stop_without_damage_loses_nothing) {
    crash_with_five_batches();
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 15);
    ck_assert_int_eq(stats_of(m).recovery_truncated_bytes, 0);
    ck_assert_int_eq(stats_of(m).segments_recovered, 1);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(a_corrupt_segment_drops_the_later_ones) {
    kb_logmgr_t *m;
    kb_log_t *log;
    size_t size = 0;

    set("log.segment.bytes", "4096");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 9; i++) size = append_one(log, 300, 1000 + i, NULL);
    kb_logmgr_abandon(m);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/00000000000000000024.log")), (off_t)size);
    /* Cut the middle segment's last batch. */
    ck_assert_int_eq(truncate(in_dir(TOPIC "-0/00000000000000000012.log"), (off_t)(4 * size - 1)), 0);
    m = open_mgr();
    log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 21);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/00000000000000000024.log")), -1);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(topic_names_with_dashes_reload) {
    kb_logmgr_t *m = open_mgr();
    ck_assert_ptr_nonnull(kb_logmgr_get_or_create(m, "my-topic-x", 12, NULL));
    kb_logmgr_close(m);
    ck_assert_int_eq(file_size(in_dir("my-topic-x-12/" SEG0 ".log")), 0);
    m = open_mgr();
    ck_assert_ptr_nonnull(kb_logmgr_get(m, "my-topic-x", 12));
    ck_assert_ptr_null(kb_logmgr_get(m, "my-topic", 12));
    kb_logmgr_close(m);
}
END_TEST

START_TEST(unparsable_dir_refuses_to_start) {
    ck_assert_int_eq(mkdir(in_dir("lost+found"), 0755), 0);
    ck_assert_int_eq(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)), KB_CONFIG_OK);
    ck_assert_ptr_null(kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err)));
    ck_assert_msg(strstr(lf.err, "not in the form of topic-partition") != NULL, "%s", lf.err);
}
END_TEST

/* --------------------------------------------------------- checkpoints */

START_TEST(checkpoint_file_format_is_byte_exact) {
    kb_ckpt_entry_t e[] = {{"orders", 0, 368801}, {"orders", 1, 12}, {"__consumer_offsets", 17, 0}};
    ck_assert_int_eq(kb_checkpoint_write(in_dir("ckpt"), e, 3), 0);
    ck_assert_str_eq(read_all(path), "0\n3\norders 0 368801\norders 1 12\n__consumer_offsets 17 0\n");
    ck_assert_int_eq(file_size(in_dir("ckpt.tmp")), -1);
    ck_assert_int_eq(kb_checkpoint_write(in_dir("empty"), e, 0), 0);
    ck_assert_str_eq(read_all(path), "0\n0\n");
}
END_TEST

static int n_seen;
static void count_entry(void *arg, const char *topic, int32_t partition, int64_t offset) {
    int64_t *sum = arg;
    *sum += offset;
    n_seen++;
}

static int read_text(const char *text, int64_t *sum) {
    FILE *f = fopen(in_dir("ckpt"), "w");
    fputs(text, f);
    fclose(f);
    *sum = 0;
    n_seen = 0;
    return kb_checkpoint_read(path, count_entry, sum, lf.err, sizeof(lf.err));
}

START_TEST(checkpoint_reader_checks_version_and_count) {
    int64_t sum;
    ck_assert_int_eq(read_text("0\n2\na 0 5\nb-c 3 7\n", &sum), 0);
    ck_assert_int_eq(sum, 12);
    ck_assert_int_eq(n_seen, 2);
    ck_assert_int_eq(read_text("", &sum), 0); /* empty: no entries */
    ck_assert_int_eq(n_seen, 0);
    ck_assert_int_eq(read_text("1\n1\na 0 5\n", &sum), -1);
    ck_assert_int_eq(read_text("0\n3\na 0 5\nb 3 7\n", &sum), -1);
    ck_assert_int_eq(n_seen, 0); /* nothing handed out from a bad file */
    ck_assert_int_eq(read_text("0\n1\na 0\n", &sum), -1);
    ck_assert_int_eq(read_text("0\n1\na x 5\n", &sum), -1);
    ck_assert_int_eq(kb_checkpoint_read(in_dir("missing"), count_entry, &sum, lf.err, sizeof(lf.err)), 0);
}
END_TEST

START_TEST(close_writes_the_three_checkpoints) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    for (int i = 0; i < 3; i++) append_one(log, 10, 1000, NULL);
    kb_log_set_high_watermark(log, 6);
    kb_logmgr_close(m);
    ck_assert_str_eq(read_all(in_dir("recovery-point-offset-checkpoint")), "0\n1\norders 0 9\n");
    ck_assert_str_eq(read_all(in_dir("replication-offset-checkpoint")), "0\n1\norders 0 6\n");
    ck_assert_str_eq(read_all(in_dir("log-start-offset-checkpoint")), "0\n0\n");
}
END_TEST

/* ---------------------------------------------- identity and the lock */

START_TEST(meta_properties_is_written_and_checked) {
    kb_logmgr_t *m;
    char *text;

    set("broker.id", "1");
    m = open_mgr();
    ck_assert_int_eq(kb_logmgr_stored_broker_id(m), -1);
    ck_assert_int_eq(kb_logmgr_check_identity(m, 1, "wEeSo3WzQQ2cD0EDWsN4CA", lf.err, sizeof(lf.err)), 0);
    kb_logmgr_close(m);
    text = read_all(in_dir("meta.properties"));
    ck_assert_msg(strncmp(text, "#\n#", 3) == 0 && strstr(text, " UTC 20") != NULL, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "\nversion=0\nbroker.id=1\ncluster.id=wEeSo3WzQQ2cD0EDWsN4CA\n"));

    set("broker.id", "2");
    ck_assert_int_eq(kb_config_finish(&lf.cfg, lf.err, sizeof(lf.err)), KB_CONFIG_OK);
    ck_assert_ptr_null(kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err)));
    ck_assert_msg(strstr(lf.err, "InconsistentBrokerId") != NULL, "%s", lf.err);

    set("broker.id", "-1");
    m = open_mgr();
    ck_assert_int_eq(kb_logmgr_stored_broker_id(m), 1);
    ck_assert_int_eq(kb_logmgr_check_identity(m, 1, "another-cluster", lf.err, sizeof(lf.err)), -1);
    ck_assert_msg(strstr(lf.err, "InconsistentClusterId") != NULL, "%s", lf.err);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(second_open_of_a_locked_dir_is_refused) {
    kb_logmgr_t *m = open_mgr(), *m2;

    m2 = kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err));
    ck_assert_ptr_null(m2);
    ck_assert_msg(strstr(lf.err, "another broker is using it") != NULL, "%s", lf.err);
    kb_logmgr_close(m);
    m2 = kb_logmgr_open(lf.base, &lf.cfg, lf.err, sizeof(lf.err));
    ck_assert_msg(m2 != NULL, "%s", lf.err);
    kb_logmgr_close(m2);
}
END_TEST

START_TEST(log_append_time_rewrites_the_batch) {
    kb_logmgr_t *m;
    kb_log_t *log;
    kb_append_result_t res;
    kb_log_range_t r;
    uint8_t buf[512];
    kp_batch_header_t h;
    size_t size;

    set("log.message.timestamp.type", "LogAppendTime");
    m = open_mgr();
    log = orders0(m);
    append_one(log, 10, 1000, &res);
    ck_assert_int_gt(res.log_append_time, 1600000000000LL);
    ck_assert_int_eq(kb_log_read(log, 0, 3, sizeof(buf), true, &r), 0);
    ck_assert_int_eq(pread(r.fd, buf, r.len, r.pos), (ssize_t)r.len);
    ck_assert_int_eq(kp_batch_scan(buf, r.len, SIZE_MAX, &h, &size), KP_SCAN_OK);
    ck_assert(h.attributes & KP_ATTR_LOG_APPEND_TIME);
    ck_assert_int_eq(h.max_timestamp, res.log_append_time);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------------- flushing */

static int flush_rc = 99;
static void flushed(void *arg, int rc) { flush_rc = rc; }

START_TEST(no_fsync_per_append_by_default) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);

    for (int i = 0; i < 10; i++) append_one(log, 10, 1000, NULL);
    ck_assert(!kb_log_flush_due(log));
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    ck_assert_int_eq(stats_of(m).fsyncs, 0);
    ck_assert_int_eq(kb_log_recovery_point(log), 0);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(flush_messages_makes_a_flush_due_and_the_flusher_runs_it) {
    kb_logmgr_t *m;
    kb_log_t *log;

    set("log.flush.interval.messages", "5");
    m = open_mgr();
    log = orders0(m);
    append_one(log, 10, 1000, NULL);
    ck_assert(!kb_log_flush_due(log)); /* 3 unflushed */
    append_one(log, 10, 1000, NULL);
    ck_assert(kb_log_flush_due(log)); /* 6 */
    flush_rc = 99;
    kb_log_flush_async(log, flushed, NULL);
    ck_assert(!kb_log_flush_due(log)); /* covered by the queued flush */
    while (flush_rc == 99) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_int_eq(flush_rc, 0);
    ck_assert_int_eq(kb_log_recovery_point(log), 6);
    ck_assert_uint_ge(stats_of(m).fsyncs, 1);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(flush_interval_ms_flushes_idle_logs) {
    kb_logmgr_t *m;
    kb_log_t *log;

    set("log.flush.interval.ms", "20");
    m = open_mgr();
    log = orders0(m);
    append_one(log, 10, 1000, NULL);
    for (int i = 0; i < 500 && kb_log_recovery_point(log) < 3; i++) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_int_eq(kb_log_recovery_point(log), 3);
    ck_assert_uint_ge(stats_of(m).fsyncs, 1);
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------------------ shutdown */

#define SHUT_LOGS 20

static kb_log_t *orders(kb_logmgr_t *m, int32_t partition) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, partition, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

/* Shuts the manager down cleanly and frees it; returns the segment fsyncs
 * the shutdown made. */
static uint64_t fsyncs_at_close(kb_logmgr_t *m) {
    uint64_t before = stats_of(m).fsyncs, after;

    kb_logmgr_shutdown(m);
    after = stats_of(m).fsyncs;
    kb_logmgr_abandon(m);
    ck_assert_int_eq(file_size(in_dir(".kafka_cleanshutdown")), 0);
    return after - before;
}

/* A clean start: every log there, nothing recovered. */
static kb_logmgr_t *reopen_clean(void) {
    kb_logmgr_t *m = open_mgr();

    ck_assert_int_eq(stats_of(m).segments_recovered, 0);
    for (int32_t p = 0; p < SHUT_LOGS; p++) ck_assert_ptr_nonnull(kb_logmgr_get(m, TOPIC, p));
    return m;
}

START_TEST(clean_close_fsyncs_only_the_logs_written_since_their_last_fsync) {
    kb_logmgr_t *m = open_mgr();
    kb_log_range_t r;

    for (int32_t p = 0; p < SHUT_LOGS; p++) orders(m, p);
    append_one(orders(m, 7), 100, 1000, NULL);
    append_one(orders(m, 7), 100, 1001, NULL);
    /* orders-7 only: the other logs were made in this run but hold nothing. */
    ck_assert_int_eq(fsyncs_at_close(m), 1);

    m = reopen_clean();
    ck_assert_int_eq(kb_log_end_offset(orders(m, 7)), 6);
    append_one(orders(m, 3), 100, 2000, NULL);
    /* orders-3 only: orders-7 is as it was loaded. */
    ck_assert_int_eq(fsyncs_at_close(m), 1);

    m = reopen_clean();
    ck_assert_int_eq(kb_log_end_offset(orders(m, 3)), 3);
    ck_assert_int_eq(kb_log_end_offset(orders(m, 7)), 6);
    ck_assert_int_eq(fsyncs_at_close(m), 0);

    /* The files the fsync-less closes left are whole: indexes trimmed to
     * their entries (orders-7's final time index entry), batches there. */
    ck_assert_int_eq(file_size(in_dir(TOPIC "-7/" SEG0 ".index")), 0);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-7/" SEG0 ".timeindex")), 12);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".timeindex")), 0);
    m = reopen_clean();
    ck_assert_int_eq(kb_log_read(orders(m, 7), 0, 6, 1 << 20, true, &r), 0);
    ck_assert_int_eq(check_range(&r, 0), 2);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

/* A flush covers the batches and their index entries, but the seal at
 * close trims the index files after it: that must reach the disk too. */
START_TEST(clean_close_fsyncs_a_flushed_log_whose_indexes_it_trims) {
    kb_logmgr_t *m;
    kb_log_t *log;

    set("log.index.interval.bytes", "100");
    m = open_mgr();
    log = orders0(m);
    for (int i = 0; i < 4; i++) append_one(log, 100, 1000 + i, NULL);
    flush_rc = 99;
    kb_log_flush_async(log, flushed, NULL);
    while (flush_rc == 99) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_int_eq(flush_rc, 0);
    ck_assert_int_eq(kb_log_recovery_point(log), 12);
    ck_assert_int_eq(fsyncs_at_close(m), 1);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 3 * 8);

    m = open_mgr();
    ck_assert_int_eq(stats_of(m).segments_recovered, 0);
    ck_assert_int_eq(kb_log_end_offset(orders0(m)), 12);
    ck_assert_int_eq(fsyncs_at_close(m), 0);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".index")), 3 * 8);
}
END_TEST

static ino_t inode_of(const char *p) {
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_ino;
}

static int count_snapshots(const char *partition_dir) {
    DIR *d = opendir(in_dir(partition_dir));
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) n += strstr(e->d_name, ".snapshot") != NULL;
    closedir(d);
    return n;
}

#define SNAP3 TOPIC "-0/00000000000000000003.snapshot"

/* A snapshot is a tmp file, an fsync and a rename: written at close only
 * when the log end moved past the newest one. */
START_TEST(clean_close_writes_a_producer_snapshot_only_when_the_log_end_moved) {
    kb_logmgr_t *m = open_mgr();
    ino_t first;

    append_one(orders0(m), 10, 1000, NULL);
    orders(m, 1);
    kb_logmgr_close(m);
    first = inode_of(in_dir(SNAP3));
    ck_assert_int_eq(count_snapshots(TOPIC "-1"), 0); /* empty, no producers */

    m = open_mgr();
    kb_logmgr_close(m);
    ck_assert_int_eq(inode_of(in_dir(SNAP3)), first); /* not rewritten */
    ck_assert_int_eq(count_snapshots(TOPIC "-1"), 0);

    m = open_mgr();
    append_one(orders0(m), 10, 1000, NULL);
    kb_logmgr_close(m);
    ck_assert_int_ge(file_size(in_dir(TOPIC "-0/00000000000000000006.snapshot")), 0);
}
END_TEST

/* ------------------------------------------------------------ follower */

START_TEST(verbatim_append_copies_a_leaders_batches) {
    static uint8_t data[1 << 16];
    kb_logmgr_t *m = open_mgr();
    kb_log_t *leader = orders0(m), *follower = kb_logmgr_get_or_create(m, TOPIC, 1, NULL);
    kb_log_range_t r;
    size_t size = 0;

    for (int i = 0; i < 4; i++) size = append_one(leader, 50, 1000 + i, NULL);
    ck_assert_int_eq(kb_log_read(leader, 0, 12, sizeof(data), true, &r), 0);
    ck_assert_int_eq(pread(r.fd, data, r.len, r.pos), (ssize_t)r.len);
    /* A fetch cut inside the fourth batch: three are appended, the rest
     * waits for the next fetch. */
    ck_assert_int_eq(kb_log_append_verbatim(follower, data, 3 * size + 20), 0);
    ck_assert_int_eq(kb_log_end_offset(follower), 9);
    ck_assert_int_eq(kb_log_append_verbatim(follower, data + 3 * size, size), 0);
    ck_assert_int_eq(kb_log_end_offset(follower), 12);
    kb_log_range_release(&r);
    /* Data below the log end offset is refused. */
    ck_assert_int_eq(kb_log_append_verbatim(follower, data, size), -1);
    ck_assert_int_eq(kb_log_end_offset(follower), 12);
    ck_assert_int_eq(kb_log_read(follower, 0, 12, sizeof(data), true, &r), 0);
    ck_assert_int_eq(check_range(&r, 0), 4);
    kb_log_range_release(&r);
    kb_logmgr_close(m);
}
END_TEST

/* ----------------------------------------------------------- disk full */

START_TEST(failed_write_leaves_nothing_partial) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = orders0(m);
    static uint8_t buf[BATCH_MAX];
    kp_batch_header_t h;
    kb_append_result_t res;
    size_t first = append_one(log, 100, 1000, NULL), size = build_batch(buf, 3, 4000, 1000);
    struct rlimit saved, lim;

    /* A file size limit makes the write fail part-way, as a full disk does
     * (restored afterwards for runs with CK_FORK=no). */
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = (struct rlimit){(rlim_t)first + 1000, saved.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    int rc = kb_log_append(log, buf, &h, 5, &res);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(file_size(in_dir(TOPIC "-0/" SEG0 ".log")), (off_t)first);
    ck_assert_int_eq(kb_log_end_offset(log), 3);
    kb_logmgr_abandon(m);
}
END_TEST

Suite *log_suite(void) {
    Suite *s = suite_create("log");
    TCase *rw = tcase_create("append_read");
    TCase *rec = tcase_create("reopen_recovery");
    TCase *files = tcase_create("files");
    TCase *flush = tcase_create("flush");

    tcase_add_checked_fixture(rw, setup, teardown);
    tcase_add_test(rw, append_assigns_offsets_and_reads_back);
    tcase_add_test(rw, read_limits_and_out_of_range);
    tcase_add_test(rw, a_follower_read_ends_at_a_batch_boundary);
    tcase_add_test(rw, index_entries_appear_every_interval);
    tcase_add_test(rw, active_index_is_preallocated);
    tcase_add_test(rw, roll_by_segment_bytes_creates_a_second_segment);
    tcase_add_test(rw, roll_when_the_index_is_full);
    tcase_add_test(rw, roll_when_the_segment_is_older_than_roll_ms);
    tcase_add_test(rw, new_partitions_go_to_the_dir_with_the_fewest);
    tcase_add_test(rw, log_append_time_rewrites_the_batch);
    tcase_add_test(rw, failed_write_leaves_nothing_partial);
    tcase_add_test(rw, verbatim_append_copies_a_leaders_batches);
    tcase_add_checked_fixture(rec, setup, teardown);
    tcase_add_test(rec, reopen_after_clean_close_keeps_everything);
    tcase_add_test(rec, unclean_stop_recovers_a_batch_cut_in_the_middle);
    tcase_add_test(rec, unclean_stop_recovers_a_flipped_byte_in_the_last_batch);
    tcase_add_test(rec, unclean_stop_recovers_garbage_appended);
    tcase_add_test(rec, unclean_stop_without_damage_loses_nothing);
    tcase_add_test(rec, a_corrupt_segment_drops_the_later_ones);
    tcase_add_test(rec, topic_names_with_dashes_reload);
    tcase_add_test(rec, unparsable_dir_refuses_to_start);
    tcase_add_checked_fixture(files, setup, teardown);
    tcase_add_test(files, checkpoint_file_format_is_byte_exact);
    tcase_add_test(files, checkpoint_reader_checks_version_and_count);
    tcase_add_test(files, close_writes_the_three_checkpoints);
    tcase_add_test(files, meta_properties_is_written_and_checked);
    tcase_add_test(files, second_open_of_a_locked_dir_is_refused);
    tcase_add_checked_fixture(flush, setup, teardown);
    tcase_add_test(flush, no_fsync_per_append_by_default);
    tcase_add_test(flush, flush_messages_makes_a_flush_due_and_the_flusher_runs_it);
    tcase_add_test(flush, flush_interval_ms_flushes_idle_logs);
    tcase_add_test(flush, clean_close_fsyncs_only_the_logs_written_since_their_last_fsync);
    tcase_add_test(flush, clean_close_fsyncs_a_flushed_log_whose_indexes_it_trims);
    tcase_add_test(flush, clean_close_writes_a_producer_snapshot_only_when_the_log_end_moved);
    suite_add_tcase(s, rw);
    suite_add_tcase(s, rec);
    suite_add_tcase(s, files);
    suite_add_tcase(s, flush);
    return s;
}
