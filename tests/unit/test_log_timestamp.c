/*
 * test_log_timestamp.c - ListOffsets by timestamp in a partition log
 * (broker/log/kb_log_timestamp.c): Kafka's answer (the first record in
 * offset order at or after the target), records inside compressed batches,
 * a batch inflating past the cap, a producer's max_timestamp that lies,
 * segments retired while a search holds them, and searches still queued
 * when the worker stops.
 *
 * Each search runs on a real worker thread and completes on the fixture's
 * event loop, which the helpers run until the answer is in (bounded).
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "tests/unit/batchfix.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

#define TOPIC "orders"
#define RECORDS_PER_BATCH 3
#define CAP (1u << 20)
#define WAIT_ROUNDS 3000 /* 10 ms each */

static kb_worker_t *worker;

typedef struct answer {
    int calls, rc;
    int64_t offset, timestamp;
} answer_t;

static void on_answer(void *arg, int rc, int64_t offset, int64_t timestamp) {
    answer_t *a = arg;
    a->calls++;
    a->rc = rc;
    a->offset = offset;
    a->timestamp = timestamp;
}

/* Runs the loop until a has its answer, with a bound. */
static void wait_answer(answer_t *a) {
    struct timeval tick = {0, 10000};
    for (int i = 0; a->calls == 0 && i < WAIT_ROUNDS; i++) {
        event_base_loopexit(lf.base, &tick);
        event_base_dispatch(lf.base);
    }
    ck_assert_int_eq(a->calls, 1);
}

/* The lookup as the ListOffsets handler makes it: 0 with the answer, 1
 * when there is none. */
static int find(kb_log_t *log, int64_t ts, int64_t upper, int64_t *offset, int64_t *timestamp) {
    answer_t a = {0};
    int rc = kb_log_offset_for_timestamp(log, worker, ts, upper, CAP, on_answer, &a);

    ck_assert_int_ge(rc, 0);
    if (rc == 1) return 1;
    wait_answer(&a);
    *offset = a.offset;
    *timestamp = a.timestamp;
    return a.rc;
}

static void append(kb_log_t *log, uint8_t *batch, size_t size) {
    kp_batch_header_t h;
    kb_append_result_t res;

    ck_assert_int_eq(kp_batch_header_decode(batch, size, &h), 0);
    ck_assert_int_eq(kb_log_append(log, batch, &h, 5, &res), 0);
}

/* One uncompressed batch of RECORDS_PER_BATCH records, timestamps ts, ts+1, ... */
static void append_one(kb_log_t *log, size_t value_len, int64_t ts) {
    static uint8_t buf[65536];
    append(log, buf, logfix_batch(buf, RECORDS_PER_BATCH, value_len, true, ts));
}

static void append_built(kb_log_t *log, int codec, int n, size_t value_len, int64_t ts, int64_t ts_step) {
    size_t size;
    uint8_t *b = batchfix_build(codec, n, value_len, ts, ts_step, &size);
    append(log, b, size);
    free(b);
}

static void setup(void) {
    logfix_setup("ts");
    worker = kb_worker_new(lf.base, 2, "kb-test", 0);
    ck_assert_ptr_nonnull(worker);
}

static void teardown(void) {
    kb_worker_stop(worker);
    logfix_teardown();
}

static kb_log_t *orders0(kb_logmgr_t *m) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

/* Kafka's ListOffsets by time: the first record in offset order whose
 * timestamp is at or after the target. */
START_TEST(offset_for_timestamp_finds_the_first_record_at_or_after) {
    kb_logmgr_t *m;
    kb_log_t *log;
    int64_t off = -1, ts = -1;

    logfix_set("log.index.interval.bytes", "100");
    logfix_set("log.segment.bytes", "3000");
    m = logfix_open();
    log = orders0(m);
    /* Batch i holds offsets 3i..3i+2 with timestamps 1000(i+1)+0..2. */
    for (int i = 0; i < 20; i++) append_one(log, 200, 1000 * (i + 1));
    ck_assert_int_eq(find(log, 0, 60, &off, &ts), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ts, 1000);
    ck_assert_int_eq(find(log, 7500, 60, &off, &ts), 0);
    ck_assert_int_eq(off, 7 * RECORDS_PER_BATCH);
    ck_assert_int_eq(ts, 8000);
    ck_assert_int_eq(find(log, 15002, 60, &off, &ts), 0);
    ck_assert_int_eq(off, 14 * RECORDS_PER_BATCH + 2);
    ck_assert_int_eq(ts, 15002);
    ck_assert_int_eq(find(log, 20003, 60, &off, &ts), 1);
    /* Below upper only. */
    ck_assert_int_eq(find(log, 15002, 44, &off, &ts), 1);
    kb_logmgr_close(m);
    /* The same answers from the indexes reloaded after a clean close. */
    m = logfix_open();
    log = kb_logmgr_get(m, TOPIC, 0);
    ck_assert_int_eq(find(log, 7500, 60, &off, &ts), 0);
    ck_assert_int_eq(off, 7 * RECORDS_PER_BATCH);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(offset_for_timestamp_with_timestamps_out_of_order) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = orders0(m);
    int64_t off = -1, ts = -1;

    append_one(log, 20, 5000); /* offsets 0-2: 5000-5002 */
    append_one(log, 20, 1000); /* offsets 3-5: 1000-1002 */
    append_one(log, 20, 3000); /* offsets 6-8: 3000-3002 */
    ck_assert_int_eq(find(log, 2000, 9, &off, &ts), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ts, 5000);
    ck_assert_int_eq(find(log, 5001, 9, &off, &ts), 0);
    ck_assert_int_eq(off, 1);
    ck_assert_int_eq(find(log, 5003, 9, &off, &ts), 1);
    kb_logmgr_close(m);
}
END_TEST

/* Inside compressed batches the record itself answers, for every codec. */
START_TEST(records_inside_compressed_batches) {
    static const int codecs[] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = orders0(m);
    int64_t off = -1, ts = -1;

    for (int i = 0; i < 4; i++) append_built(log, codecs[i], 1000, 50, 100000 * (i + 1), 10);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(find(log, 100000 * (i + 1) + 7775, 4000, &off, &ts), 0);
        ck_assert_int_eq(off, 1000 * i + 778);
        ck_assert_int_eq(ts, 100000 * (i + 1) + 7780);
    }
    kb_logmgr_close(m);
}
END_TEST

/* A batch that inflates past the cap (stored before validation existed,
 * or replicated): a record before the cap is found exactly, one past it
 * is answered by the batch's first offset, which loses nothing. */
START_TEST(a_batch_past_the_cap_stands_in_for_its_records) {
    size_t plain_len, packed_len, size;
    uint8_t *plain = malloc(2 * CAP + 3 * BATCHFIX_RECORD_OVERHEAD), *p = plain, *packed, *b;
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = orders0(m);
    int64_t off = -1, ts = -1;

    append_one(log, 10, 1000); /* offsets 0-2 */
    p = batchfix_record(p, 0, 0, 10);
    p = batchfix_record(p, 1, 1, 2 * CAP);
    p = batchfix_record(p, 2, 2, 10);
    plain_len = (size_t)(p - plain);
    packed = batchfix_compress(KP_CODEC_GZIP, plain, plain_len, &packed_len);
    b = batchfix_wrap(KP_CODEC_GZIP, 3, 5000, packed, packed_len, &size);
    kp_put_be(b + KP_BATCH_OFF_MAX_TIMESTAMP, 5002, 8);
    kp_put_be(b + KP_BATCH_OFF_CRC, kp_crc32c(0, b + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    append(log, b, size); /* offsets 3-5 */
    ck_assert_int_eq(find(log, 5000, 6, &off, &ts), 0);
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(ts, 5000);
    ck_assert_int_eq(find(log, 5002, 6, &off, &ts), 0);
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(ts, 5002);
    free(plain);
    free(packed);
    free(b);
    kb_logmgr_close(m);
}
END_TEST

/* A batch whose header claims a larger max_timestamp than its records
 * have: its segment holds no answer, and the search moves on to the next
 * segment. */
START_TEST(a_lying_max_timestamp_moves_the_search_on) {
    static uint8_t buf[65536];
    kb_logmgr_t *m;
    kb_log_t *log;
    size_t size;
    int64_t off = -1, ts = -1;

    logfix_set("log.segment.bytes", "200");
    m = logfix_open();
    log = orders0(m);
    size = logfix_batch(buf, RECORDS_PER_BATCH, 20, true, 1000);
    kp_put_be(buf + KP_BATCH_OFF_MAX_TIMESTAMP, 9000, 8);
    kp_put_be(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    append(log, buf, size);    /* offsets 0-2 at 1000-1002, claiming 9000 */
    append_one(log, 20, 5000); /* offsets 3-5, in a second segment */
    ck_assert_uint_ge(log->n_segs, 2);
    ck_assert_int_eq(find(log, 4000, 6, &off, &ts), 0);
    ck_assert_int_eq(off, 3);
    ck_assert_int_eq(ts, 5000);
    kb_logmgr_close(m);
}
END_TEST

/* DeleteRecords retires the segment a queued search holds: the search
 * still reads it (its reference keeps the file open), and the answer is
 * raised to the new log start offset. */
START_TEST(a_segment_retired_under_a_search_stays_readable) {
    kb_logmgr_t *m;
    kb_log_t *log;
    answer_t a = {0};
    int64_t lw;

    logfix_set("log.segment.bytes", "200");
    logfix_set("log.segment.delete.delay.ms", "0");
    m = logfix_open();
    log = orders0(m);
    for (int i = 0; i < 6; i++) append_one(log, 20, 1000 * (i + 1));
    kb_log_set_high_watermark(log, kb_log_end_offset(log));
    ck_assert_int_eq(kb_log_offset_for_timestamp(log, worker, 1001, 18, CAP, on_answer, &a), 0);
    ck_assert_int_eq(kb_log_delete_records(log, 7, &lw), 0);
    ck_assert_int_eq(lw, 7);
    wait_answer(&a);
    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(a.offset, 7);
    ck_assert_int_eq(a.timestamp, 1001);
    kb_logmgr_close(m);
}
END_TEST

/* Searches still queued when the worker stops complete as cancelled, and
 * drop their segment references (LeakSanitizer checks the rest). */
START_TEST(stop_cancels_queued_searches) {
    kb_logmgr_t *m = logfix_open();
    kb_log_t *log = orders0(m);
    answer_t a[16] = {{0}};

    append_built(log, KP_CODEC_ZSTD, 8000, 100, 1000, 1);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(kb_log_offset_for_timestamp(log, worker, 8998, 8000, CAP, on_answer, &a[i]), 0);
    kb_worker_stop(worker);
    worker = NULL;
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(a[i].calls, 1);
        ck_assert(a[i].rc == 0 || a[i].rc == -1);
        if (a[i].rc == 0) ck_assert_int_eq(a[i].offset, 7998);
    }
    kb_logmgr_close(m);
}
END_TEST

Suite *log_timestamp_suite(void) {
    Suite *s = suite_create("log_timestamp");
    TCase *tc = tcase_create("timestamp");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, offset_for_timestamp_finds_the_first_record_at_or_after);
    tcase_add_test(tc, offset_for_timestamp_with_timestamps_out_of_order);
    tcase_add_test(tc, records_inside_compressed_batches);
    tcase_add_test(tc, a_batch_past_the_cap_stands_in_for_its_records);
    tcase_add_test(tc, a_lying_max_timestamp_moves_the_search_on);
    tcase_add_test(tc, a_segment_retired_under_a_search_stays_readable);
    tcase_add_test(tc, stop_cancels_queued_searches);
    suite_add_tcase(s, tc);
    return s;
}
