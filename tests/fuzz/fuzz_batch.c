/*
 * fuzz_batch.c - the RecordBatch v2 parser and validator (proto/kp_batch.c)
 * through its public functions: the log scan used by recovery and reads,
 * produce-time validation, ListOffsets' search by timestamp (which
 * decompresses compressed batches) and the leader's header rewrites.
 *
 * Random bytes almost never carry a valid CRC-32C, so each input is tried
 * twice: as it is, then with batch_length set to its size and the CRC
 * recomputed, which lets the fuzzer reach the record walk and the codecs.
 *
 * Decompression is bounded: neither the timestamp search nor the record
 * check of compressed batches inflates past the cap.
 */
#include "proto/kp_batch.h"
#include "proto/kp_codec.h"
#include "proto/kp_types.h"
#include "tests/fuzz/fuzz.h"

#define MAX_MESSAGE_BYTES 1000012
#define MAX_INFLATE (4u << 20)

/* Nothing is inflated past the cap, whatever the answer. */
static int find_timestamp(const uint8_t *p, size_t n, int64_t ts, int64_t *off, int64_t *found) {
    size_t inflated = 0;
    int rc = kp_batch_find_timestamp(p, n, ts, MAX_INFLATE, off, found, &inflated);
    FZ_CHECK(inflated <= MAX_INFLATE);
    return rc;
}
#define FIND_TIMESTAMP find_timestamp
/* A batch whose header produce accepts has its records checked too. */
static void validate_records(const uint8_t *p, size_t n) {
    size_t inflated = 0;
    int16_t err = kp_batch_validate_records(p, n, MAX_INFLATE, &inflated);
    FZ_CHECK(err == 0 || err == 2 || err == 10 || err == -1);
    FZ_CHECK(inflated <= MAX_INFLATE);
}

static void as_given(const uint8_t *p, size_t n) {
    kp_batch_header_t h;
    size_t size = 0;
    if (kp_batch_scan(p, n, n, &h, &size) == KP_SCAN_OK) {
        FZ_CHECK(size >= KP_BATCH_HEADER_SIZE && size <= n);
        FZ_CHECK(kp_batch_crc_ok(p, &h));
    }
    if (kp_batch_validate_produce(p, n, 7, MAX_MESSAGE_BYTES, &h) == KP_ERR_NONE)
        FZ_CHECK(kp_batch_size(&h) == n);
}

/* batch_length := n - 12 and a correct CRC, in place. */
static void fix_up(uint8_t *p, size_t n) {
    kp_put_be(p + KP_BATCH_OFF_LENGTH, n - KP_LOG_OVERHEAD, 4);
    kp_put_be(p + KP_BATCH_OFF_CRC, kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, n - KP_BATCH_OFF_ATTRIBUTES), 4);
}

static void fixed(uint8_t *p, size_t n) {
    kp_batch_header_t h, scanned;
    size_t size = 0;
    int64_t offset, ts;
    fix_up(p, n);
    int scan = kp_batch_scan(p, n, n, &scanned, &size);
    for (int16_t v = 3; v <= 7; v += 4) {
        if (kp_batch_validate_produce(p, n, v, MAX_MESSAGE_BYTES, &h) != KP_ERR_NONE) continue;
        /* What produce accepts, recovery must accept too. */
        FZ_CHECK(scan == KP_SCAN_OK && size == n);
        validate_records(p, n);
    }
    kp_batch_header_decode(p, n, &h);
    int rc = FIND_TIMESTAMP(p, n, h.base_timestamp, &offset, &ts);
    FZ_CHECK(rc <= 1);
    if (scan != KP_SCAN_OK) return;
    /* The leader's rewrites keep the batch valid. */
    kp_batch_set_base_offset(p, 1000);
    kp_batch_set_leader_epoch(p, 7);
    kp_batch_set_log_append_time(p, n, 1700000000000);
    FZ_CHECK(kp_batch_scan(p, n, n, &scanned, &size) == KP_SCAN_OK);
    FZ_CHECK(FIND_TIMESTAMP(p, n, 0, &offset, &ts) == 0 && offset == 1000 && ts == 1700000000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *p = malloc(size ? size : 1);
    if (!p) return 0;
    memcpy(p, data, size);
    as_given(p, size);
    if (size >= KP_BATCH_HEADER_SIZE && size - KP_LOG_OVERHEAD <= INT32_MAX) fixed(p, size);
    free(p);
    return 0;
}
