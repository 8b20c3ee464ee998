/*
 * test_producer_state.c - the idempotent-producer table
 * (wire-protocol.md 7.2 and 7.3): every rule of the sequence checks in
 * Kafka's order, the five-batch memory, sequence wrap-around, expiry, and
 * the version-1 snapshot format byte by byte (including a refused CRC).
 * Then the same table inside a real log: snapshots at roll and clean close,
 * rebuilt at reopen, after a crash, past a cut tail and from a corrupt
 * snapshot.  Also the /latest_producer_id_block codec of kc_json.h
 * (zk-and-replication.md 1.11), which the producer-id allocator writes.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/log/kb_producer_state.h"
#include "common/kc_log.h"
#include "coord/kc_json.h"
#include "proto/kp_batch.h"
#include "proto/kp_types.h"
#include "tests/unit/unit.h"

#define NOW 1700000000000LL
#define PID 4000

/* A produced batch of `count` records as the partition sees it. */
static kp_batch_header_t batch(int64_t pid, int16_t epoch, int32_t base_seq, int32_t count) {
    kp_batch_header_t h;

    memset(&h, 0, sizeof(h));
    h.magic = KP_BATCH_MAGIC;
    h.batch_length = KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD;
    h.last_offset_delta = count - 1;
    h.records_count = count;
    h.base_timestamp = h.max_timestamp = NOW;
    h.producer_id = pid;
    h.producer_epoch = epoch;
    h.base_sequence = base_seq;
    return h;
}

static int16_t verdict_error(const kb_producers_t *ps, const kp_batch_header_t *h, bool *duplicate) {
    kb_producer_verdict_t v;

    kb_producers_check(ps, h, &v);
    if (duplicate) *duplicate = v.duplicate;
    return v.error_code;
}

/* Checks, then "appends" at *leo and records, as the partition does.
 * Returns the base offset given. */
static int64_t append(kb_producers_t *ps, kp_batch_header_t h, int64_t *leo) {
    bool dup = true;

    ck_assert_int_eq(verdict_error(ps, &h, &dup), 0);
    ck_assert(!dup);
    h.base_offset = *leo;
    *leo += h.last_offset_delta + 1;
    ck_assert_int_eq(kb_producers_record(ps, &h), 0);
    return h.base_offset;
}

START_TEST(batch_without_producer_id_always_passes) {
    kb_producers_t *ps = kb_producers_new();
    kp_batch_header_t h = batch(-1, -1, -1, 3);
    bool dup;

    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(verdict_error(ps, &h, &dup), 0);
        ck_assert(!dup);
        ck_assert_int_eq(kb_producers_record(ps, &h), 0);
    }
    ck_assert_uint_eq(kb_producers_count(ps), 0);
    kb_producers_free(ps);
}
END_TEST

START_TEST(unknown_producer_may_start_at_any_sequence) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t h = batch(PID, 3, 777, 2);

    append(ps, h, &leo);
    h = batch(PID, 3, 779, 1);
    ck_assert_int_eq(verdict_error(ps, &h, NULL), 0);
    kb_producers_free(ps);
}
END_TEST

START_TEST(same_epoch_must_continue_at_last_sequence_plus_one) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t gap = batch(PID, 0, 4, 1), overlap = batch(PID, 0, 2, 2), next = batch(PID, 0, 3, 5);

    append(ps, batch(PID, 0, 0, 3), &leo); /* sequences 0..2 */
    ck_assert_int_eq(verdict_error(ps, &gap, NULL), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(verdict_error(ps, &overlap, NULL), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(append(ps, next, &leo), 3);
    ck_assert_int_eq(leo, 8);
    kb_producers_free(ps);
}
END_TEST

START_TEST(duplicate_is_answered_with_the_cached_offsets) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 100;
    kp_batch_header_t retry = batch(PID, 0, 3, 4);
    kb_producer_verdict_t v;

    append(ps, batch(PID, 0, 0, 3), &leo);            /* offsets 100..102, seq 0..2 */
    append(ps, batch(PID, 0, 3, 4), &leo);            /* offsets 103..106, seq 3..6 */
    append(ps, batch(PID, 0, 7, 1), &leo);            /* offset 107, seq 7 */
    kb_producers_check(ps, &retry, &v);
    ck_assert_int_eq(v.error_code, 0);
    ck_assert(v.duplicate);
    ck_assert_int_eq(v.cached.last_offset - v.cached.offset_delta, 103);
    ck_assert_int_eq(v.cached.last_offset, 106);
    ck_assert_int_eq(v.cached.first_seq, 3);
    ck_assert_int_eq(v.cached.last_seq, 6);
    ck_assert(v.cached.timestamp == NOW);
    /* Same first sequence, different last: not the same batch. */
    retry = batch(PID, 0, 3, 3);
    ck_assert_int_eq(verdict_error(ps, &retry, NULL), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    kb_producers_free(ps);
}
END_TEST

START_TEST(only_the_last_five_batches_are_remembered) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t first = batch(PID, 0, 0, 1), second = batch(PID, 0, 1, 1);
    bool dup;

    for (int32_t seq = 0; seq < 6; seq++) append(ps, batch(PID, 0, seq, 1), &leo);
    ck_assert_int_eq(verdict_error(ps, &first, &dup), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert(!dup);
    ck_assert_int_eq(verdict_error(ps, &second, &dup), 0);
    ck_assert(dup);
    kb_producers_free(ps);
}
END_TEST

START_TEST(older_epoch_is_refused) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t stale = batch(PID, 1, 3, 1), stale_retry = batch(PID, 1, 0, 3);

    append(ps, batch(PID, 2, 0, 3), &leo);
    ck_assert_int_eq(verdict_error(ps, &stale, NULL), KP_ERR_INVALID_PRODUCER_EPOCH);
    /* A duplicate needs the same epoch: the old epoch's retry is fenced too. */
    ck_assert_int_eq(verdict_error(ps, &stale_retry, NULL), KP_ERR_INVALID_PRODUCER_EPOCH);
    kb_producers_free(ps);
}
END_TEST

START_TEST(new_epoch_must_start_at_sequence_zero) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t bumped_late = batch(PID, 1, 3, 1), old_retry = batch(PID, 0, 0, 3);
    bool dup;

    append(ps, batch(PID, 0, 0, 3), &leo);
    ck_assert_int_eq(verdict_error(ps, &bumped_late, NULL), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(ps, batch(PID, 1, 0, 2), &leo);
    /* The new epoch emptied the cache and fences the old one. */
    ck_assert_int_eq(verdict_error(ps, &old_retry, &dup), KP_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert(!dup);
    old_retry = batch(PID, 1, 0, 2);
    ck_assert_int_eq(verdict_error(ps, &old_retry, &dup), 0);
    ck_assert(dup);
    kb_producers_free(ps);
}
END_TEST

START_TEST(sequences_wrap_past_int32_max) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    int16_t epoch;
    kb_producer_batch_t last;
    kp_batch_header_t across = batch(PID, 0, INT32_MAX - 1, 3), next = batch(PID, 0, 2, 1),
                      to_max = batch(PID + 1, 0, INT32_MAX - 1, 2), after_max = batch(PID + 1, 0, 0, 1);
    bool dup;

    append(ps, across, &leo); /* INT32_MAX-1, INT32_MAX, 0 */
    ck_assert(kb_producers_last(ps, PID, &epoch, &last));
    ck_assert_int_eq(last.first_seq, INT32_MAX - 1);
    ck_assert_int_eq(last.last_seq, 0);
    ck_assert_int_eq(verdict_error(ps, &across, &dup), 0);
    ck_assert(dup);
    ck_assert_int_eq(append(ps, batch(PID, 0, 1, 1), &leo), 3);
    ck_assert_int_eq(verdict_error(ps, &next, NULL), 0);
    append(ps, to_max, &leo); /* ends exactly at INT32_MAX */
    ck_assert_int_eq(verdict_error(ps, &after_max, NULL), 0);
    after_max.base_sequence = INT32_MAX;
    ck_assert_int_eq(verdict_error(ps, &after_max, NULL), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    kb_producers_free(ps);
}
END_TEST

START_TEST(control_batch_moves_only_the_epoch) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    int16_t epoch;
    kb_producer_batch_t last;
    kp_batch_header_t marker = batch(PID, 4, -1, 1);

    append(ps, batch(PID, 3, 0, 2), &leo);
    marker.attributes = KP_ATTR_CONTROL | KP_ATTR_TRANSACTIONAL;
    marker.base_offset = leo++;
    ck_assert_int_eq(kb_producers_record(ps, &marker), 0);
    ck_assert(kb_producers_last(ps, PID, &epoch, &last));
    ck_assert_int_eq(epoch, 4);
    ck_assert_int_eq(last.last_seq, -1);
    ck_assert_int_eq(last.last_offset, -1);
    kb_producers_free(ps);
}
END_TEST

START_TEST(idle_producers_expire) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    kp_batch_header_t old = batch(PID, 0, 0, 1), young = batch(PID + 1, 0, 0, 1);
    int16_t epoch;
    kb_producer_batch_t last;

    old.max_timestamp = NOW - KB_PRODUCER_EXPIRATION_MS - 1;
    append(ps, old, &leo);
    append(ps, young, &leo);
    kb_producers_expire(ps, NOW, KB_PRODUCER_EXPIRATION_MS);
    ck_assert_uint_eq(kb_producers_count(ps), 1);
    ck_assert(!kb_producers_last(ps, PID, &epoch, &last));
    ck_assert(kb_producers_last(ps, PID + 1, &epoch, &last));
    kb_producers_free(ps);
}
END_TEST

START_TEST(many_producers_stay_findable) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 0;
    int16_t epoch;
    kb_producer_batch_t last;

    for (int64_t pid = 0; pid < 5000; pid++) append(ps, batch(pid * 1000, (int16_t)(pid % 7), 0, 1), &leo);
    ck_assert_uint_eq(kb_producers_count(ps), 5000);
    for (int64_t pid = 0; pid < 5000; pid++) {
        ck_assert(kb_producers_last(ps, pid * 1000, &epoch, &last));
        ck_assert_int_eq(epoch, pid % 7);
        ck_assert_int_eq(last.last_offset, pid);
    }
    kb_producers_free(ps);
}
END_TEST

/* ------------------------------------------------------------ snapshots */

static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return p + bytes;
}

/* One entry in the layout of wire-protocol.md 7.3. */
static uint8_t *put_entry(uint8_t *p, int64_t pid, int16_t epoch, int32_t last_seq, int64_t last_offset,
                          int32_t offset_delta, int64_t timestamp) {
    p = put_be(p, (uint64_t)pid, 8);
    p = put_be(p, (uint64_t)(uint16_t)epoch, 2);
    p = put_be(p, (uint32_t)last_seq, 4);
    p = put_be(p, (uint64_t)last_offset, 8);
    p = put_be(p, (uint32_t)offset_delta, 4);
    p = put_be(p, (uint64_t)timestamp, 8);
    p = put_be(p, 0xffffffffu, 4);        /* coordinator_epoch -1 */
    return put_be(p, UINT64_MAX, 8);      /* current_txn_first_offset -1 */
}

/* Two producers recorded in descending id order: the snapshot lists them
 * ascending, each with its last batch only. */
static kb_producers_t *two_producers(void) {
    kb_producers_t *ps = kb_producers_new();
    int64_t leo = 10;

    append(ps, batch(9000, 2, 0, 3), &leo);  /* 10..12 */
    append(ps, batch(1000, 0, 5, 2), &leo);  /* 13..14 */
    append(ps, batch(9000, 2, 3, 4), &leo);  /* 15..18, seq 3..6 */
    return ps;
}

START_TEST(snapshot_matches_the_layout_byte_for_byte) {
    kb_producers_t *ps = two_producers();
    uint8_t want[KB_PRODUCER_SNAPSHOT_HEADER_SIZE + 2 * KB_PRODUCER_SNAPSHOT_ENTRY_SIZE], *p = want;
    size_t len = 0;
    uint8_t *got = kb_producers_snapshot_encode(ps, &len);

    p = put_be(p, 1, 2);     /* version */
    p = put_be(p, 0, 4);     /* crc, filled below */
    p = put_be(p, 2, 4);     /* entries */
    p = put_entry(p, 1000, 0, 6, 14, 1, NOW);
    p = put_entry(p, 9000, 2, 6, 18, 3, NOW);
    ck_assert_uint_eq((size_t)(p - want), sizeof(want));
    put_be(want + 2, kp_crc32c(0, want + 6, sizeof(want) - 6), 4);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(got, want, sizeof(want));
    free(got);
    kb_producers_free(ps);
}
END_TEST

START_TEST(snapshot_round_trip_keeps_the_checks) {
    kb_producers_t *ps = two_producers(), *back = kb_producers_new();
    size_t len = 0, len2 = 0;
    uint8_t *bytes = kb_producers_snapshot_encode(ps, &len), *again;
    char err[128];
    kp_batch_header_t retry = batch(9000, 2, 3, 4), next = batch(9000, 2, 7, 1), stale = batch(1000, 0, 5, 2);
    kb_producer_verdict_t v;

    ck_assert_int_eq(kb_producers_snapshot_decode(back, bytes, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(kb_producers_count(back), 2);
    kb_producers_check(back, &retry, &v);
    ck_assert(v.duplicate);
    ck_assert_int_eq(v.cached.last_offset - v.cached.offset_delta, 15);
    ck_assert_int_eq(verdict_error(back, &next, NULL), 0);
    kb_producers_check(back, &stale, &v);
    ck_assert(v.duplicate);
    ck_assert_int_eq(v.cached.last_offset, 14);
    again = kb_producers_snapshot_encode(back, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(again, bytes, len);
    free(again);
    free(bytes);
    kb_producers_free(back);
    kb_producers_free(ps);
}
END_TEST

START_TEST(empty_snapshot_is_ten_bytes) {
    kb_producers_t *ps = kb_producers_new();
    size_t len = 0;
    uint8_t *bytes = kb_producers_snapshot_encode(ps, &len);
    uint8_t want[10] = {0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    char err[128];

    put_be(want + 2, kp_crc32c(0, want + 6, 4), 4);
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(bytes, want, sizeof(want));
    ck_assert_int_eq(kb_producers_snapshot_decode(ps, bytes, len, err, sizeof(err)), 0);
    ck_assert_uint_eq(kb_producers_count(ps), 0);
    free(bytes);
    kb_producers_free(ps);
}
END_TEST

START_TEST(snapshot_with_a_bad_crc_is_refused) {
    kb_producers_t *ps = two_producers(), *back = two_producers();
    size_t len = 0;
    uint8_t *bytes = kb_producers_snapshot_encode(ps, &len);
    char err[128];

    bytes[len - 20] ^= 0x01; /* inside the second entry's timestamp */
    ck_assert_int_eq(kb_producers_snapshot_decode(back, bytes, len, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "CRC"));
    ck_assert_uint_eq(kb_producers_count(back), 0);
    bytes[len - 20] ^= 0x01;
    bytes[3] ^= 0x80; /* the stored CRC itself */
    ck_assert_int_eq(kb_producers_snapshot_decode(back, bytes, len, err, sizeof(err)), -1);
    free(bytes);
    kb_producers_free(back);
    kb_producers_free(ps);
}
END_TEST

START_TEST(malformed_snapshots_are_refused) {
    kb_producers_t *ps = two_producers();
    size_t len = 0;
    uint8_t *bytes = kb_producers_snapshot_encode(ps, &len), *copy = malloc(len);
    char err[128];

    for (size_t n = 0; n < len; n++) /* every truncation */
        ck_assert_int_eq(kb_producers_snapshot_decode(ps, bytes, n, err, sizeof(err)), -1);
    memcpy(copy, bytes, len);
    copy[1] = 2; /* version 2 */
    ck_assert_int_eq(kb_producers_snapshot_decode(ps, copy, len, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "version"));
    memcpy(copy, bytes, len);
    copy[9] = 3; /* three entries announced, two present (CRC fixed up) */
    put_be(copy + 2, kp_crc32c(0, copy + 6, len - 6), 4);
    ck_assert_int_eq(kb_producers_snapshot_decode(ps, copy, len, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "count"));
    free(copy);
    free(bytes);
    kb_producers_free(ps);
}
END_TEST

/* ------------------------------------- the log's snapshots and replay */

/* These run a real log manager in a fresh directory: appends record the
 * producer state, a clean close leaves <log end>.snapshot, a roll leaves
 * <new segment>.snapshot, and a reopen (clean or after a crash, i.e.
 * kb_logmgr_abandon) rebuilds the table from the newest usable snapshot
 * plus the batch headers after it. */

#define TOPIC "idem"
#define BATCH_MAX 4096

static char tmpdir[64];
static struct event_base *base;
static kb_config_t cfg;
static char err[512];

static void log_setup(void) {
    kc_log_init("kbroker", -1, KC_LOG_ERROR);
    evthread_use_pthreads();
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/kb-test-pstate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    kb_config_defaults(&cfg);
    ck_assert_int_eq(kb_config_set(&cfg, "zookeeper.connect", "localhost:2181", err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_int_eq(kb_config_set(&cfg, "log.dir", tmpdir, err, sizeof(err)), KB_CONFIG_OK);
}

static void log_teardown(void) {
    char cmd[128];

    kb_config_free(&cfg);
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static kb_logmgr_t *open_mgr(void) {
    kb_logmgr_t *m;

    ck_assert_msg(kb_config_finish(&cfg, err, sizeof(err)) == KB_CONFIG_OK, "%s", err);
    m = kb_logmgr_open(base, &cfg, err, sizeof(err));
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

static kb_log_t *idem0(kb_logmgr_t *m) {
    kb_log_t *log = kb_logmgr_get_or_create(m, TOPIC, 0, NULL);
    ck_assert_ptr_nonnull(log);
    return log;
}

static const char *partition_file(int64_t offset, const char *suffix) {
    static char p[256];
    snprintf(p, sizeof(p), "%s/" TOPIC "-0/%020lld%s", tmpdir, (long long)offset, suffix);
    return p;
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

/* Batches in a log carry the current time: the table forgets producers
 * whose last batch is more than KB_PRODUCER_EXPIRATION_MS old. */
static int64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A valid idempotent batch of `count` one-byte records (count < 64). */
static size_t build_idempotent(uint8_t *buf, int64_t pid, int16_t epoch, int32_t seq, int count) {
    uint8_t *p = buf + KP_BATCH_HEADER_SIZE;
    size_t size;

    for (int i = 0; i < count; i++) {
        *p++ = 14;                  /* record length 7, ZigZag */
        *p++ = 0;                   /* attributes */
        *p++ = 0;                   /* timestamp delta */
        *p++ = (uint8_t)(i << 1);   /* offset delta i */
        *p++ = 1;                   /* key length -1: null */
        *p++ = 2;                   /* value length 1 */
        *p++ = (uint8_t)('a' + i % 26);
        *p++ = 0;                   /* no headers */
    }
    size = (size_t)(p - buf);
    memset(buf, 0, KP_BATCH_HEADER_SIZE);
    put_be(buf + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
    buf[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    put_be(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint64_t)(count - 1), 4);
    put_be(buf + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)now_ms(), 8);
    put_be(buf + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms(), 8);
    put_be(buf + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)pid, 8);
    put_be(buf + KP_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch, 2);
    put_be(buf + KP_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq, 4);
    put_be(buf + KP_BATCH_OFF_RECORDS_COUNT, (uint64_t)count, 4);
    put_be(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
    return size;
}

/* Judges and appends one batch as the partition does; returns the base
 * offset it got, or the cached one of a duplicate (*duplicate set). */
static int64_t produce(kb_log_t *log, int64_t pid, int32_t seq, int count, bool *duplicate) {
    static uint8_t buf[BATCH_MAX];
    kp_batch_header_t h;
    kb_producer_verdict_t v;
    kb_append_result_t res;
    size_t size = build_idempotent(buf, pid, 0, seq, count);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    kb_producers_check(kb_log_producers(log), &h, &v);
    ck_assert_int_eq(v.error_code, 0);
    *duplicate = v.duplicate;
    if (v.duplicate) return v.cached.last_offset - v.cached.offset_delta;
    ck_assert_int_eq(kb_log_append(log, buf, &h, 0, &res), 0);
    return res.base_offset;
}

static int16_t produce_error(kb_log_t *log, int64_t pid, int32_t seq, int count) {
    static uint8_t buf[BATCH_MAX];
    kp_batch_header_t h;
    size_t size = build_idempotent(buf, pid, 0, seq, count);

    ck_assert_int_eq(kp_batch_validate_produce(buf, size, 7, 1 << 20, &h), 0);
    return verdict_error(kb_log_producers(log), &h, NULL);
}

/* The producer's last batch as a snapshot file records it. */
static kb_producer_batch_t snapshot_last(const char *file, int64_t pid) {
    kb_producers_t *ps = kb_producers_new();
    kb_producer_batch_t last = {0};
    int16_t epoch;
    uint8_t buf[4096];
    FILE *f = fopen(file, "rb");
    size_t n;

    ck_assert_msg(f != NULL, "%s is missing", file);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ck_assert_int_eq(kb_producers_snapshot_decode(ps, buf, n, err, sizeof(err)), 0);
    ck_assert(kb_producers_last(ps, pid, &epoch, &last));
    kb_producers_free(ps);
    return last;
}

START_TEST(clean_close_snapshot_restores_the_producer) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = idem0(m);
    bool dup;

    for (int32_t seq = 0; seq < 8; seq += 2) ck_assert_int_eq(produce(log, PID, seq, 2, &dup), seq);
    kb_logmgr_close(m);
    ck_assert_int_eq(snapshot_last(partition_file(8, ".snapshot"), PID).last_offset, 7);
    m = open_mgr();
    log = idem0(m);
    ck_assert_int_eq(produce(log, PID, 6, 2, &dup), 6);
    ck_assert(dup);
    /* A snapshot keeps only the last batch of each producer (as Kafka's). */
    ck_assert_int_eq(produce_error(log, PID, 4, 2), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(log, PID, 8, 1, &dup), 8);
    ck_assert(!dup);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(crash_rebuilds_the_last_five_batches_from_the_log) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = idem0(m);
    bool dup;

    for (int32_t seq = 0; seq < 7; seq++) produce(log, PID, seq, 1, &dup);
    kb_logmgr_abandon(m);
    ck_assert(!exists(partition_file(7, ".snapshot")));
    m = open_mgr();
    log = idem0(m);
    for (int32_t seq = 2; seq < 7; seq++) {
        ck_assert_int_eq(produce(log, PID, seq, 1, &dup), seq);
        ck_assert(dup);
    }
    ck_assert_int_eq(produce_error(log, PID, 1, 1), KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_int_eq(produce(log, PID, 7, 1, &dup), 7);
    ck_assert(!dup);
    kb_logmgr_close(m);
}
END_TEST

static void write_text(const char *file, const char *text) {
    FILE *f = fopen(file, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(rolls_snapshot_below_each_new_segment_and_old_ones_go) {
    kb_logmgr_t *m;
    kb_log_t *log;
    char file[256];
    bool dup;

    ck_assert_int_eq(kb_config_set(&cfg, "log.segment.bytes", "200", err, sizeof(err)), KB_CONFIG_OK);
    m = open_mgr();
    log = idem0(m);
    /* 77-byte batches of 2 records: segments start at 0, 4 and 8. */
    for (int32_t seq = 0; seq < 12; seq += 2) produce(log, PID, seq, 2, &dup);
    kb_logmgr_close(m); /* also finishes the flusher's queued snapshot writes */
    ck_assert(exists(partition_file(4, ".log")) && exists(partition_file(8, ".log")));
    ck_assert_int_eq(snapshot_last(partition_file(4, ".snapshot"), PID).last_offset, 3);
    ck_assert_int_eq(snapshot_last(partition_file(8, ".snapshot"), PID).last_offset, 7);
    ck_assert_int_eq(snapshot_last(partition_file(12, ".snapshot"), PID).last_offset, 11);
    /* The log start moves past 4 (as DeleteRecords would): 4.snapshot goes. */
    snprintf(file, sizeof(file), "%s/log-start-offset-checkpoint", tmpdir);
    write_text(file, "0\n1\n" TOPIC " 0 5\n");
    m = open_mgr();
    log = idem0(m);
    ck_assert_int_eq(kb_log_start_offset(log), 5);
    ck_assert(!exists(partition_file(4, ".snapshot")));
    ck_assert(exists(partition_file(8, ".snapshot")) && exists(partition_file(12, ".snapshot")));
    ck_assert_int_eq(produce(log, PID, 10, 2, &dup), 10);
    ck_assert(dup);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(snapshot_past_the_recovered_log_end_is_dropped) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = idem0(m);
    char file[256];
    bool dup;

    for (int32_t seq = 0; seq < 6; seq += 2) produce(log, PID, seq, 2, &dup);
    kb_logmgr_close(m);
    ck_assert(exists(partition_file(6, ".snapshot")));
    /* A crash that lost the tail: the last batch is torn, no clean marker. */
    ck_assert_int_eq(truncate(partition_file(0, ".log"), 3 * 77 - 5), 0);
    snprintf(file, sizeof(file), "%s/.kafka_cleanshutdown", tmpdir);
    ck_assert_int_eq(unlink(file), 0);
    m = open_mgr();
    log = idem0(m);
    ck_assert_int_eq(kb_log_end_offset(log), 4);
    ck_assert(!exists(partition_file(6, ".snapshot")));
    /* The producer's retry of the lost batch is appended again. */
    ck_assert_int_eq(produce(log, PID, 4, 2, &dup), 4);
    ck_assert(!dup);
    ck_assert_int_eq(produce(log, PID, 2, 2, &dup), 2);
    ck_assert(dup);
    kb_logmgr_close(m);
}
END_TEST

START_TEST(corrupt_snapshot_is_deleted_and_the_log_replayed) {
    kb_logmgr_t *m = open_mgr();
    kb_log_t *log = idem0(m);
    FILE *f;
    bool dup;

    for (int32_t seq = 0; seq < 4; seq += 2) produce(log, PID, seq, 2, &dup);
    kb_logmgr_close(m);
    f = fopen(partition_file(4, ".snapshot"), "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 12, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    m = open_mgr();
    log = idem0(m);
    ck_assert(!exists(partition_file(4, ".snapshot")));
    ck_assert_int_eq(produce(log, PID, 0, 2, &dup), 0);
    ck_assert(dup);
    kb_logmgr_close(m);
    ck_assert_int_eq(snapshot_last(partition_file(4, ".snapshot"), PID).last_offset, 3);
}
END_TEST

/* -------------------------------------------- /latest_producer_id_block */

START_TEST(producer_id_block_json_is_kafkas) {
    kc_producer_id_block_t b;
    char *json = kc_json_producer_id_block_encode(&(kc_producer_id_block_t){2, 3000, 3999});

    ck_assert_ptr_nonnull(json);
    ck_assert_str_eq(json, "{\"version\":1,\"broker\":2,\"block_start\":\"3000\",\"block_end\":\"3999\"}");
    ck_assert_int_eq(kc_json_producer_id_block_decode(json, strlen(json), &b), 0);
    ck_assert_int_eq(b.broker, 2);
    ck_assert(b.block_start == 3000 && b.block_end == 3999);
    free(json);
}
END_TEST

START_TEST(producer_id_block_json_decoding_is_strict) {
    static const char *bad[] = {
        "{\"version\":1,\"broker\":0,\"block_start\":\"0\"}",
        "{\"version\":1,\"broker\":0,\"block_start\":\"0\",\"block_end\":\"x9\"}",
        "{\"version\":1,\"broker\":0,\"block_start\":\"10\",\"block_end\":\"9\"}",
        "{\"version\":1,\"broker\":0,\"block_start\":\"-5\",\"block_end\":\"9\"}",
        "[1,2]",
        "",
    };
    kc_producer_id_block_t b;
    const char *numbers = "{\"version\":1,\"broker\":7,\"block_start\":1000,\"block_end\":1999,\"extra\":true}";

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(kc_json_producer_id_block_decode(bad[i], strlen(bad[i]), &b), -1);
    /* Numbers instead of strings and unknown keys are tolerated. */
    ck_assert_int_eq(kc_json_producer_id_block_decode(numbers, strlen(numbers), &b), 0);
    ck_assert(b.block_start == 1000 && b.block_end == 1999 && b.broker == 7);
}
END_TEST

Suite *producer_state_suite(void) {
    Suite *s = suite_create("producer_state");
    TCase *checks = tcase_create("checks");
    TCase *snap = tcase_create("snapshots");
    TCase *log = tcase_create("log");
    TCase *json = tcase_create("producer_id_block");

    tcase_add_test(checks, batch_without_producer_id_always_passes);
    tcase_add_test(checks, unknown_producer_may_start_at_any_sequence);
    tcase_add_test(checks, same_epoch_must_continue_at_last_sequence_plus_one);
    tcase_add_test(checks, duplicate_is_answered_with_the_cached_offsets);
    tcase_add_test(checks, only_the_last_five_batches_are_remembered);
    tcase_add_test(checks, older_epoch_is_refused);
    tcase_add_test(checks, new_epoch_must_start_at_sequence_zero);
    tcase_add_test(checks, sequences_wrap_past_int32_max);
    tcase_add_test(checks, control_batch_moves_only_the_epoch);
    tcase_add_test(checks, idle_producers_expire);
    tcase_add_test(checks, many_producers_stay_findable);
    tcase_add_test(snap, snapshot_matches_the_layout_byte_for_byte);
    tcase_add_test(snap, snapshot_round_trip_keeps_the_checks);
    tcase_add_test(snap, empty_snapshot_is_ten_bytes);
    tcase_add_test(snap, snapshot_with_a_bad_crc_is_refused);
    tcase_add_test(snap, malformed_snapshots_are_refused);
    tcase_add_checked_fixture(log, log_setup, log_teardown);
    tcase_add_test(log, clean_close_snapshot_restores_the_producer);
    tcase_add_test(log, crash_rebuilds_the_last_five_batches_from_the_log);
    tcase_add_test(log, rolls_snapshot_below_each_new_segment_and_old_ones_go);
    tcase_add_test(log, snapshot_past_the_recovered_log_end_is_dropped);
    tcase_add_test(log, corrupt_snapshot_is_deleted_and_the_log_replayed);
    tcase_add_test(json, producer_id_block_json_is_kafkas);
    tcase_add_test(json, producer_id_block_json_decoding_is_strict);
    suite_add_tcase(s, checks);
    suite_add_tcase(s, snap);
    suite_add_tcase(s, log);
    suite_add_tcase(s, json);
    return s;
}
