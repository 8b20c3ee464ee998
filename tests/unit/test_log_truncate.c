/*
 * test_log_truncate.c - a log's leader-epoch cache and its truncation
 * (broker/log/kb_log_epochs.c, kb_log_truncate.c): epochs recorded by
 * appends (client and verbatim) and become-leader, leader-epoch-checkpoint
 * written coalesced and read back byte-exact, a torn or garbage file
 * rebuilt from the batches, recovery re-deriving entries; kb_log_truncate_to
 * mid-segment, at a batch boundary and across segments (indexes, reads,
 * appends and a reopen afterwards, producer state rebuilt, a range being
 * sent keeping its bytes), and kb_log_reset_to.
 *
 * Every test runs a real log manager on a fresh mkdtemp log dir
 * (tests/unit/logfix.h).  Batches hold three records each, so batch i
 * holds offsets 3i .. 3i+2.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "broker/log/kb_producer_state.h"
#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "epochs"
#define RECORDS 3
#define VALUE_LEN 300
#define WAIT_MS 10000
#define PID 4242

static char path[512];
static uint8_t buf[8192];

/* ------------------------------------------------------------- helpers */

static void setup(void) { logfix_setup("trunc"); }
static void teardown(void) { logfix_teardown(); }

static kb_log_t *log_of(kb_logmgr_t *m, int32_t partition) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, partition, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

static const char *in_part(const char *name) {
    snprintf(path, sizeof(path), "%s/" TOPIC "-0/%s", lf.dir, name);
    return path;
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static const char *read_text(const char *p) {
    static char text[1024];
    FILE *f = fopen(p, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    return text;
}

static void write_text(const char *p, const char *text) {
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A batch of producer pid (-1: none) with sequences seq.., stamped epoch. */
static size_t append_as(kb_log_t *log, int32_t epoch, int64_t pid, int32_t seq) {
    kp_batch_header_t h;
    kb_append_result_t res;
    /* Now: producers older than a week are expired when state reloads. */
    size_t size = logfix_batch(buf, RECORDS, VALUE_LEN, true, (int64_t)time(NULL) * 1000);

    if (pid >= 0) {
        kp_put_be(buf + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)pid, 8);
        kp_put_be(buf + KP_BATCH_OFF_PRODUCER_EPOCH, 0, 2);
        kp_put_be(buf + KP_BATCH_OFF_BASE_SEQUENCE, (uint64_t)seq, 4);
        kp_put_be(buf + KP_BATCH_OFF_CRC,
                  kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    }
    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, buf, &h, epoch, &res), 0);
    return size;
}

static size_t append(kb_log_t *log, int32_t epoch) { return append_as(log, epoch, -1, 0); }

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop turn's events, then waits for the flusher to be idle. */
static void settle(kb_logmgr_t *m) {
    int64_t deadline = mono_ms() + WAIT_MS;

    event_base_loop(lf.base, EVLOOP_NONBLOCK);
    while (kb_flusher_backlog(kb_logmgr_flusher(m)) != 0 && mono_ms() < deadline) usleep(1000);
    ck_assert_uint_eq(kb_flusher_backlog(kb_logmgr_flusher(m)), 0);
    event_base_loop(lf.base, EVLOOP_NONBLOCK);
}

/* The batches readable from offset: their count, each checked to follow
 * the previous one. */
static int batches_from(kb_log_t *log, int64_t offset) {
    static uint8_t data[1 << 16];
    kb_log_range_t r;
    kp_batch_header_t h;
    size_t pos = 0, size;
    int n = 0;

    for (;;) {
        ck_assert_int_eq(kb_log_read(log, offset, INT64_MAX, sizeof(data), true, &r), 0);
        if (r.len == 0) return n;
        ck_assert_int_eq(pread(r.fd, data, r.len, r.pos), (ssize_t)r.len);
        for (pos = 0; pos < r.len && kp_batch_scan(data + pos, r.len - pos, SIZE_MAX, &h, &size) == KP_SCAN_OK;
             pos += size, n++) {
            ck_assert_int_eq(h.base_offset, offset);
            offset += RECORDS;
        }
        kb_log_range_release(&r);
    }
}

static int32_t latest(kb_log_t *log) { return kb_log_latest_epoch(log); }

/* ------------------------------------------------------- epoch records */

START_TEST(appends_record_each_new_epoch) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    int32_t e;
    int64_t end;

    ck_assert_int_eq(latest(log), KB_LOG_NO_EPOCH);
    append(log, 5);
    append(log, 5);
    append(log, 7);
    ck_assert_int_eq(latest(log), 7);
    ck_assert_int_eq(kb_log_epoch_start(log, 5), 0);
    ck_assert_int_eq(kb_log_epoch_start(log, 7), 6);
    ck_assert_int_eq(kb_log_epoch_start(log, 6), -1);
    kb_log_end_offset_for_epoch(log, 5, &e, &end);
    ck_assert_int_eq(e, 5);
    ck_assert_int_eq(end, 6);
    kb_log_end_offset_for_epoch(log, 7, &e, &end);
    ck_assert_int_eq(end, 9);
    /* Become-leader records (epoch, log end) only for a newer epoch. */
    kb_log_begin_epoch(log, 9);
    kb_log_begin_epoch(log, 8);
    kb_log_begin_epoch(log, 9);
    ck_assert_int_eq(latest(log), 9);
    ck_assert_int_eq(kb_log_epoch_start(log, 9), 9);
    ck_assert_int_eq(kb_log_epoch_start(log, 8), -1);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(verbatim_appends_record_the_leaders_epochs) {
    static uint8_t data[1 << 16];
    kb_logmgr_t *m = logfix_open();
    kb_log_t *leader = log_of(m, 0), *follower = log_of(m, 1);
    kb_log_range_t r;
    int64_t off;

    append(leader, 2);
    append(leader, 2);
    append(leader, 4);
    ck_assert_int_eq(kb_log_read(leader, 0, 9, sizeof(data), true, &r), 0);
    ck_assert_int_eq(pread(r.fd, data, r.len, r.pos), (ssize_t)r.len);
    ck_assert_int_eq(kb_log_append_verbatim(follower, data, r.len), 0);
    kb_log_range_release(&r);
    ck_assert_int_eq(latest(follower), 4);
    ck_assert_int_eq(kb_log_epoch_start(follower, 2), 0);
    ck_assert_int_eq(kb_log_epoch_start(follower, 4), 6);
    /* The follower's truncation point against its leader's answer. */
    ck_assert(kb_log_truncation_point(follower, 4, 9, &off));
    ck_assert_int_eq(off, 9);
    ck_assert(!kb_log_truncation_point(follower, 3, 7, &off));
    ck_assert_int_eq(off, 6);
    kb_logmgr_close(m);
}
END_TEST

/* ------------------------------------------------- the checkpoint file */

START_TEST(checkpoint_is_written_byte_exact_and_read_back) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);

    /* Kafka 2.6 creates the file empty. */
    ck_assert_int_eq(file_size(in_part("leader-epoch-checkpoint")), 0);
    append(log, 5);
    append(log, 7);
    kb_log_begin_epoch(log, 8);
    settle(m);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n3\n5 0\n7 3\n8 6\n");
    append(log, 8);
    kb_log_begin_epoch(log, 9); /* no batch of epoch 9 reaches the log */
    kb_logmgr_close(m);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n4\n5 0\n7 3\n8 6\n9 9\n");
    m = logfix_open();
    log = log_of(m, 0);
    /* As Kafka's load (truncateFromEnd at the log end), an epoch begun
     * at the end with nothing written in it is not kept. */
    ck_assert_int_eq(latest(log), 8);
    ck_assert_int_eq(kb_log_epoch_start(log, 7), 3);
    kb_logmgr_close(m);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n3\n5 0\n7 3\n8 6\n");
}
END_TEST

/* A failover's burst: many become-leader calls in one loop turn write each
 * log's file once, and a clean close writes what is still pending. */
START_TEST(a_burst_of_changes_writes_each_file_once) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *logs[20];
    kb_log_stats_t before, after;

    for (int p = 0; p < 20; p++) logs[p] = log_of(m, p);
    kb_logmgr_stats(m, &before);
    for (int p = 0; p < 20; p++)
        for (int e = 1; e <= 5; e++) kb_log_begin_epoch(logs[p], e);
    settle(m);
    kb_logmgr_stats(m, &after);
    ck_assert_uint_eq(after.epoch_checkpoint_writes - before.epoch_checkpoint_writes, 20);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n1\n5 0\n");
    kb_log_begin_epoch(logs[0], 6); /* never reaches the loop's event */
    kb_logmgr_close(m);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n1\n6 0\n");
}
END_TEST

static const char *const unusable[] = {
    "0\n3\n5 0\n7 3\n",     /* count says 3, two entries (a torn write) */
    "garbage\x01\x02\n",    /* not a checkpoint */
    "1\n1\n5 0\n",          /* unknown version */
    "0\n2\n7 0\n5 3\n",     /* epochs going down */
    "0\n2\n5 0\n7 -3\n",    /* negative offset */
    "0\n2\n5 0\n7  3\n",    /* two spaces */
};

/* Each unusable file is logged and rebuilt from the batch headers. */
START_TEST(an_unusable_checkpoint_is_rebuilt_from_the_batches) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);

    append(log, 5);
    append(log, 5);
    append(log, 7);
    kb_logmgr_close(m);
    for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
        write_text(in_part("leader-epoch-checkpoint"), unusable[i]);
        m = logfix_open();
        log = log_of(m, 0);
        ck_assert_msg(latest(log) == 7 && kb_log_epoch_start(log, 5) == 0 && kb_log_epoch_start(log, 7) == 6,
                      "case %zu", i);
        ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n2\n5 0\n7 6\n");
        kb_logmgr_close(m);
    }
}
END_TEST

/* A crash before the file was written: recovery re-derives the entries
 * from the batches it rescans, and drops those past what survived. */
START_TEST(recovery_rederives_entries_and_drops_those_past_the_end) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    size_t size;

    append(log, 3);
    size = append(log, 6);
    kb_logmgr_abandon(m); /* the end-of-turn write never ran */
    ck_assert_int_eq(file_size(in_part("leader-epoch-checkpoint")), 0);
    m = logfix_open();
    log = log_of(m, 0);
    ck_assert_int_eq(latest(log), 6);
    ck_assert_int_eq(kb_log_epoch_start(log, 6), 3);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n2\n3 0\n6 3\n");
    kb_logmgr_abandon(m);
    /* The second batch is torn off by the crash: its entry goes. */
    ck_assert_int_eq(truncate(in_part("00000000000000000000.log"), (off_t)(2 * size - 10)), 0);
    m = logfix_open();
    log = log_of(m, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 3);
    ck_assert_int_eq(latest(log), 3);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n1\n3 0\n");
    kb_logmgr_close(m);
}
END_TEST

START_TEST(log_start_moving_rewrites_the_first_entry) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    int64_t low;

    append(log, 1);
    append(log, 2);
    append(log, 2);
    kb_log_set_high_watermark(log, 9);
    ck_assert_int_eq(kb_log_delete_records(log, 4, &low), 0);
    ck_assert_int_eq(kb_log_epoch_start(log, 1), -1);
    ck_assert_int_eq(kb_log_epoch_start(log, 2), 4);
    settle(m);
    ck_assert_str_eq(read_text(in_part("leader-epoch-checkpoint")), "0\n1\n2 4\n");
    kb_logmgr_close(m);
}
END_TEST

/* ----------------------------------------------------------- truncation */

START_TEST(truncate_mid_batch_removes_the_whole_batch) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    size_t size = 0;

    for (int i = 0; i < 5; i++) size = append(log, i < 2 ? 1 : 2); /* offsets 0..14; epoch 2 from 6 */
    kb_log_set_high_watermark(log, 15);
    ck_assert_int_eq(kb_log_truncate_to(log, 10), 0); /* inside batch 9..11 */
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    ck_assert_int_eq(kb_log_high_watermark(log), 9);
    ck_assert_int_le(kb_log_recovery_point(log), 9);
    ck_assert_int_eq(latest(log), 2);
    ck_assert_int_eq(file_size(in_part("00000000000000000000.log")), (off_t)(3 * size));
    ck_assert_int_eq(batches_from(log, 0), 3);
    /* At a batch boundary: exactly the batches from there. */
    ck_assert_int_eq(kb_log_truncate_to(log, 6), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 6);
    ck_assert_int_eq(latest(log), 1);
    ck_assert_int_eq(batches_from(log, 0), 2);
    /* No-op at or past the end. */
    ck_assert_int_eq(kb_log_truncate_to(log, 6), 0);
    ck_assert_int_eq(kb_log_truncate_to(log, 100), 0);
    ck_assert_int_eq(kb_log_end_offset(log), 6);
    /* Appends continue at the new end. */
    append(log, 3);
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    ck_assert_int_eq(kb_log_epoch_start(log, 3), 6);
    ck_assert_int_eq(batches_from(log, 0), 3);
    kb_logmgr_close(m);
}
END_TEST

/* Small segments (four batches each) and an index entry per batch: a cut
 * in the second of four segments retires the two after it, cuts the
 * indexes of the one it falls in, and everything reads, appends, rolls
 * (again at a retired segment's base offset) and reopens right. */
START_TEST(truncate_across_segments_trims_indexes_and_reads_back) {
    kb_logmgr_t *m;
    kb_log_t *log;

    logfix_set("log.segment.bytes", "4096");
    logfix_set("log.index.interval.bytes", "0");
    m = logfix_open();
    log = log_of(m, 0);
    for (int i = 0; i < 16; i++) append(log, 1); /* segments at 0, 12, 24, 36 */
    ck_assert_uint_eq(log->n_segs, 4);
    kb_log_set_high_watermark(log, 48);
    ck_assert_int_eq(kb_log_truncate_to(log, 19), 0); /* batch 18..20 of the segment at 12 */
    ck_assert_int_eq(kb_log_end_offset(log), 18);
    ck_assert_uint_eq(log->n_segs, 2);
    ck_assert_int_eq(log->segs[1]->base_offset, 12);
    ck_assert_int_eq(log->segs[1]->next_offset, 18);
    ck_assert_uint_eq(log->segs[1]->offset_index.entries, 1); /* batch 15 (a segment's first has none) */
    ck_assert_int_eq(file_size(in_part("00000000000000000024.log")), -1);
    ck_assert_int_gt(file_size(in_part("00000000000000000024.log.deleted")), 0); /* renamed at once */
    for (int64_t o = 0; o < 18; o += RECORDS) ck_assert_int_eq(batches_from(log, o), (int)(18 - o) / RECORDS);
    /* Appends fill the cut segment and roll at 24 again. */
    for (int i = 0; i < 4; i++) append(log, 2);
    ck_assert_uint_eq(log->n_segs, 3);
    ck_assert_int_eq(log->segs[2]->base_offset, 24);
    ck_assert_int_eq(batches_from(log, 0), 10);
    kb_logmgr_close(m);
    m = logfix_open();
    log = log_of(m, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 30);
    ck_assert_int_eq(batches_from(log, 0), 10);
    ck_assert_int_eq(latest(log), 2);
    ck_assert_int_eq(kb_log_epoch_start(log, 2), 18);
    kb_logmgr_close(m);
}
END_TEST

/* The producer's batches after the cut are forgotten: its last sequence is
 * the one of the last batch kept, from a snapshot at or below the new end
 * plus the batches after it. */
START_TEST(truncate_rebuilds_producer_state) {
    kb_logmgr_t *m;
    kb_log_t *log;
    int16_t epoch;
    kb_producer_batch_t last;

    logfix_set("log.segment.bytes", "4096");
    m = logfix_open();
    log = log_of(m, 0);
    for (int i = 0; i < 6; i++) append_as(log, 1, PID, i * RECORDS); /* a roll (and snapshot) at 12 */
    settle(m);
    ck_assert_int_eq(file_size(in_part("00000000000000000012.snapshot")) > 0, 1);
    ck_assert(kb_producers_last(kb_log_producers(log), PID, &epoch, &last));
    ck_assert_int_eq(last.last_seq, 17);
    ck_assert_int_eq(kb_log_truncate_to(log, 15), 0);
    ck_assert(kb_producers_last(kb_log_producers(log), PID, &epoch, &last));
    ck_assert_int_eq(last.last_seq, 14);
    ck_assert_int_eq(last.last_offset, 14);
    ck_assert_int_eq(kb_log_truncate_to(log, 9), 0); /* below the snapshot at 12 */
    settle(m);
    ck_assert_int_eq(file_size(in_part("00000000000000000012.snapshot")), -1);
    ck_assert(kb_producers_last(kb_log_producers(log), PID, &epoch, &last));
    ck_assert_int_eq(last.last_seq, 8);
    kb_logmgr_close(m);
}
END_TEST

/* A range handed to a sender keeps its bytes: the cut segment is replaced,
 * not shrunk, while the send is in flight. */
START_TEST(truncate_keeps_the_bytes_of_a_range_being_sent) {
    static uint8_t data[1 << 16];
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    kb_log_range_t r;
    size_t size = 0;

    for (int i = 0; i < 4; i++) size = append(log, 1);
    ck_assert_int_eq(kb_log_read(log, 0, 12, sizeof(data), true, &r), 0);
    ck_assert_uint_eq(r.len, 4 * size);
    ck_assert_int_eq(kb_log_truncate_to(log, 6), 0);
    ck_assert_int_eq(pread(r.fd, data, r.len, r.pos), (ssize_t)r.len);
    ck_assert_int_eq(file_size(in_part("00000000000000000000.log")), (off_t)(2 * size));
    ck_assert_int_eq(batches_from(log, 0), 2);
    kb_log_range_release(&r);
    append(log, 1);
    ck_assert_int_eq(batches_from(log, 0), 3);
    kb_logmgr_close(m);
    m = logfix_open();
    log = log_of(m, 0);
    ck_assert_int_eq(kb_log_end_offset(log), 9);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(truncate_cuts_in_place_under_a_range_that_ends_before_the_cut) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);
    kb_log_range_t r;
    struct stat st;
    size_t size = 0;

    for (int i = 0; i < 4; i++) size = append(log, 1);
    ck_assert_int_eq(kb_log_read(log, 0, 6, 1 << 16, true, &r), 0); /* the first two batches */
    ck_assert_uint_eq(r.len, 2 * size);
    ck_assert_int_eq(kb_log_truncate_to(log, 6), 0);
    /* The sender's file is the log's own, cut: nothing was copied. */
    ck_assert_int_eq(fstat(r.fd, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)(2 * size));
    kb_log_range_release(&r);
    ck_assert_int_eq(batches_from(log, 0), 2);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(reset_restarts_the_log_empty) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);

    for (int i = 0; i < 3; i++) append_as(log, 4, PID, i * RECORDS);
    ck_assert_int_eq(kb_log_reset_to(log, 100), 0);
    ck_assert_int_eq(kb_log_start_offset(log), 100);
    ck_assert_int_eq(kb_log_end_offset(log), 100);
    ck_assert_int_eq(kb_log_high_watermark(log), 100);
    ck_assert_int_eq(latest(log), KB_LOG_NO_EPOCH);
    ck_assert_uint_eq(kb_producers_count(kb_log_producers(log)), 0);
    ck_assert_uint_eq(log->n_segs, 1);
    append(log, 5);
    ck_assert_int_eq(kb_log_end_offset(log), 103);
    ck_assert_int_eq(batches_from(log, 100), 1);
    kb_logmgr_close(m);
    ck_assert_int_eq(file_size(in_part("00000000000000000000.log")), -1);
    m = logfix_open();
    log = log_of(m, 0);
    ck_assert_int_eq(kb_log_start_offset(log), 100);
    ck_assert_int_eq(kb_log_end_offset(log), 103);
    ck_assert_int_eq(kb_log_epoch_start(log, 5), 100);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(truncate_at_the_end_drops_an_epoch_begun_without_records) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = log_of(m, 0);

    append(log, 3);
    int64_t end = kb_log_end_offset(log);
    kb_log_begin_epoch(log, 6); /* led epoch 6, appended nothing */
    ck_assert_int_eq(latest(log), 6);
    ck_assert_int_eq(kb_log_truncate_to(log, end), 0);
    ck_assert_int_eq(latest(log), 3);
    ck_assert_int_eq(kb_log_end_offset(log), end);
    kb_logmgr_close(m);
}
END_TEST

Suite *log_truncate_suite(void) {
    Suite *s = suite_create("log_truncate");
    TCase *ep = tcase_create("epochs");
    TCase *tr = tcase_create("truncate");

    tcase_add_checked_fixture(ep, setup, teardown);
    tcase_add_test(ep, appends_record_each_new_epoch);
    tcase_add_test(ep, verbatim_appends_record_the_leaders_epochs);
    tcase_add_test(ep, checkpoint_is_written_byte_exact_and_read_back);
    tcase_add_test(ep, a_burst_of_changes_writes_each_file_once);
    tcase_add_test(ep, an_unusable_checkpoint_is_rebuilt_from_the_batches);
    tcase_add_test(ep, recovery_rederives_entries_and_drops_those_past_the_end);
    tcase_add_test(ep, log_start_moving_rewrites_the_first_entry);
    tcase_add_checked_fixture(tr, setup, teardown);
    tcase_add_test(tr, truncate_mid_batch_removes_the_whole_batch);
    tcase_add_test(tr, truncate_across_segments_trims_indexes_and_reads_back);
    tcase_add_test(tr, truncate_rebuilds_producer_state);
    tcase_add_test(tr, truncate_keeps_the_bytes_of_a_range_being_sent);
    tcase_add_test(tr, truncate_cuts_in_place_under_a_range_that_ends_before_the_cut);
    tcase_add_test(tr, reset_restarts_the_log_empty);
    tcase_add_test(tr, truncate_at_the_end_drops_an_epoch_begun_without_records);
    suite_add_tcase(s, ep);
    suite_add_tcase(s, tr);
    return s;
}
