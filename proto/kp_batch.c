/*
 * kp_batch.c - RecordBatch v2 headers, CRC-32C, produce-time validation and
 * the header rewrites of the leader (wire-protocol.md section 5).
 *
 * Everything the produce path does on the event loop works on the 61-byte
 * header plus one CRC pass over the batch.  The only per-record work there
 * is the length walk of uncompressed produced batches (section 5.10 item 5),
 * which reads one varint per record and allocates nothing; it catches a
 * client whose records do not fill the batch it declared.  The same check
 * for a compressed batch needs its records decompressed, which is
 * kp_batch_validate_records, run by the broker on a worker thread; so is
 * the record-level timestamp lookup (kp_records.h does both walks).
 *
 * CRC-32C comes from ISA-L (SSE4.2/PCLMUL code paths).  ISA-L's
 * crc32_iscsi() neither pre- nor post-inverts, so kp_crc32c() inverts the
 * seed and the result to get the standard (iSCSI/Kafka) CRC-32C, which also
 * makes calls chainable: kp_crc32c(kp_crc32c(0, a), b) == crc of a||b.
 */
#include "proto/kp_batch.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kp_buf.h"
#include "proto/kp_records.h"

/* Kafka error codes this file returns (wire-protocol.md section 6). */
#define KP_ERR_UNKNOWN_SERVER_ERROR (-1)
#define KP_ERR_CORRUPT_MESSAGE 2
#define KP_ERR_MESSAGE_TOO_LARGE 10
#define KP_ERR_UNSUPPORTED_COMPRESSION 76
#define KP_ERR_INVALID_RECORD 87

/* The first Produce version that may carry zstd batches. */
#define KP_PRODUCE_ZSTD_MIN_VERSION 7

/* -------------------------------------------------------------------- CRC */

uint32_t kp_crc32c(uint32_t crc, const void *buf, size_t len) {
    /* crc32_iscsi() takes an int length and a non-const pointer (it never
     * writes through it); feed huge buffers in INT_MAX-sized pieces. */
    unsigned char *p = (unsigned char *)(uintptr_t)buf;
    uint32_t c = ~crc;

    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        c = crc32_iscsi(p, n, c);
        p += n;
        len -= (size_t)n;
    }
    return ~c;
}

/* ----------------------------------------------------------------- header */

int kp_batch_header_decode(const uint8_t *p, size_t len, kp_batch_header_t *h) {
    if (len < KP_BATCH_HEADER_SIZE) return -1;
    h->base_offset = (int64_t)kp_get_be(p + KP_BATCH_OFF_BASE_OFFSET, 8);
    h->batch_length = (int32_t)kp_get_be(p + KP_BATCH_OFF_LENGTH, 4);
    h->partition_leader_epoch = (int32_t)kp_get_be(p + KP_BATCH_OFF_LEADER_EPOCH, 4);
    h->magic = (int8_t)p[KP_BATCH_OFF_MAGIC];
    h->crc = (uint32_t)kp_get_be(p + KP_BATCH_OFF_CRC, 4);
    h->attributes = (int16_t)kp_get_be(p + KP_BATCH_OFF_ATTRIBUTES, 2);
    h->last_offset_delta = (int32_t)kp_get_be(p + KP_BATCH_OFF_LAST_OFFSET_DELTA, 4);
    h->base_timestamp = (int64_t)kp_get_be(p + KP_BATCH_OFF_BASE_TIMESTAMP, 8);
    h->max_timestamp = (int64_t)kp_get_be(p + KP_BATCH_OFF_MAX_TIMESTAMP, 8);
    h->producer_id = (int64_t)kp_get_be(p + KP_BATCH_OFF_PRODUCER_ID, 8);
    h->producer_epoch = (int16_t)kp_get_be(p + KP_BATCH_OFF_PRODUCER_EPOCH, 2);
    h->base_sequence = (int32_t)kp_get_be(p + KP_BATCH_OFF_BASE_SEQUENCE, 4);
    h->records_count = (int32_t)kp_get_be(p + KP_BATCH_OFF_RECORDS_COUNT, 4);
    return 0;
}

bool kp_batch_crc_ok(const uint8_t *p, const kp_batch_header_t *h) {
    size_t size = kp_batch_size(h);

    return kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES) == h->crc;
}

/* A declared length that cannot even hold the fixed header is corrupt. */
static bool length_sane(int32_t batch_length) {
    return batch_length >= KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD;
}

int kp_batch_scan(const uint8_t *p, size_t len, size_t max_size, kp_batch_header_t *h, size_t *size) {
    int32_t batch_length;
    size_t total;

    if (len < KP_LOG_OVERHEAD) return KP_SCAN_INCOMPLETE;
    batch_length = (int32_t)kp_get_be(p + KP_BATCH_OFF_LENGTH, 4);
    if (!length_sane(batch_length)) return KP_SCAN_CORRUPT;
    total = (size_t)batch_length + KP_LOG_OVERHEAD;
    if (total > max_size) return KP_SCAN_CORRUPT;
    if (len <= KP_BATCH_OFF_MAGIC) return KP_SCAN_INCOMPLETE;
    if (p[KP_BATCH_OFF_MAGIC] != KP_BATCH_MAGIC) return KP_SCAN_CORRUPT;
    if (len < total) return KP_SCAN_INCOMPLETE;
    kp_batch_header_decode(p, len, h);
    if (!kp_batch_offsets_sane(h) || !kp_batch_crc_ok(p, h)) return KP_SCAN_CORRUPT;
    *size = total;
    return KP_SCAN_OK;
}

/* ------------------------------------------------------------- validation */

/*
 * Walks the records of an uncompressed batch by their length prefixes only:
 * each record is a zigzag varint length followed by that many bytes.  The
 * records must end exactly at the end of the batch and there must be exactly
 * records_count of them.
 */
static bool record_lengths_fill(const uint8_t *p, size_t size, int32_t records_count) {
    kp_reader_t r;
    int32_t count = 0;

    kp_reader_init(&r, p + KP_BATCH_HEADER_SIZE, size - KP_BATCH_HEADER_SIZE);
    while (kp_reader_left(&r) > 0) {
        int32_t len = kp_read_varint(&r);
        if (r.err || len < 0 || (size_t)len > kp_reader_left(&r)) return false;
        kp_read_skip(&r, (size_t)len);
        if (++count > records_count) return false;
    }
    return count == records_count;
}

/* The checks that need only the whole header (section 5.10 item 3). */
static int16_t check_header_fields(const kp_batch_header_t *h) {
    if (h->base_offset != 0) return KP_ERR_INVALID_RECORD;
    if (h->records_count <= 0 || h->last_offset_delta != h->records_count - 1) return KP_ERR_INVALID_RECORD;
    if (h->attributes & KP_ATTR_CONTROL) return KP_ERR_INVALID_RECORD;
    if (h->producer_id >= 0 && h->base_sequence < 0) return KP_ERR_INVALID_RECORD;
    return 0;
}

/* Framing: magic first (a legacy message set has its magic byte at the same
 * offset), then lengths that describe one whole batch inside the blob. */
static int16_t check_framing(const uint8_t *p, size_t len, size_t *size) {
    int32_t batch_length;

    if (len == 0) return KP_ERR_INVALID_RECORD;
    if (len > KP_BATCH_OFF_MAGIC && p[KP_BATCH_OFF_MAGIC] != KP_BATCH_MAGIC) return KP_ERR_INVALID_RECORD;
    if (len < KP_BATCH_HEADER_SIZE) return KP_ERR_CORRUPT_MESSAGE;
    batch_length = (int32_t)kp_get_be(p + KP_BATCH_OFF_LENGTH, 4);
    if (!length_sane(batch_length) || (size_t)batch_length + KP_LOG_OVERHEAD > len) return KP_ERR_CORRUPT_MESSAGE;
    *size = (size_t)batch_length + KP_LOG_OVERHEAD;
    return 0;
}

int16_t kp_batch_validate_produce(const uint8_t *p, size_t len, int16_t produce_version, int32_t max_message_bytes,
                                  kp_batch_header_t *h) {
    size_t size = 0;
    int16_t err = check_framing(p, len, &size);
    int codec;

    if (err) return err;
    kp_batch_header_decode(p, len, h);
    codec = h->attributes & KP_ATTR_CODEC_MASK;
    if (codec == KP_CODEC_ZSTD && produce_version < KP_PRODUCE_ZSTD_MIN_VERSION) return KP_ERR_UNSUPPORTED_COMPRESSION;
    if (size != len) return KP_ERR_INVALID_RECORD; /* bytes after the batch: not exactly one */
    err = check_header_fields(h);
    if (err) return err;
    if (max_message_bytes >= 0 && size > (size_t)max_message_bytes) return KP_ERR_MESSAGE_TOO_LARGE;
    if (!kp_batch_crc_ok(p, h)) return KP_ERR_CORRUPT_MESSAGE;
    if (codec > KP_CODEC_ZSTD) return KP_ERR_CORRUPT_MESSAGE;
    if (codec == KP_CODEC_NONE && !record_lengths_fill(p, size, h->records_count)) return KP_ERR_CORRUPT_MESSAGE;
    return 0;
}

/* ----------------------------------------------------- records inside */

int16_t kp_batch_validate_records(const uint8_t *p, size_t size, size_t max_inflate, size_t *inflated) {
    switch (kp_records_walk(p, size, max_inflate, NULL, NULL, inflated)) {
    case KP_WALK_END: return 0;
    case KP_WALK_TOO_LARGE: return KP_ERR_MESSAGE_TOO_LARGE;
    case KP_WALK_NOMEM: return KP_ERR_UNKNOWN_SERVER_ERROR;
    default: return KP_ERR_CORRUPT_MESSAGE;
    }
}

/* base + delta, saturated: both come from the client. */
static int64_t add_saturated(int64_t base, int64_t delta) {
    int64_t sum;

    if (!__builtin_add_overflow(base, delta, &sum)) return sum;
    return delta > 0 ? INT64_MAX : INT64_MIN;
}

typedef struct {
    const kp_batch_header_t *h;
    int64_t ts;
    int64_t *offset, *timestamp;
} find_ts_t;

/* Stops the walk at the first record whose timestamp is >= the target. */
static int at_or_after(void *arg, const kp_record_info_t *r) {
    find_ts_t *f = arg;
    int64_t t = add_saturated(f->h->base_timestamp, r->timestamp_delta);

    if (t < f->ts) return 0;
    *f->offset = add_saturated(f->h->base_offset, r->offset_delta);
    *f->timestamp = t;
    return 1;
}

int kp_batch_find_timestamp(const uint8_t *p, size_t size, int64_t ts, size_t max_inflate, int64_t *offset,
                            int64_t *timestamp, size_t *inflated) {
    kp_batch_header_t h;
    find_ts_t f = {&h, ts, offset, timestamp};
    int rc;

    if (inflated) *inflated = 0;
    if (kp_batch_header_decode(p, size, &h) != 0 || !length_sane(h.batch_length) || kp_batch_size(&h) > size)
        return KP_WALK_CORRUPT;
    if (h.attributes & KP_ATTR_LOG_APPEND_TIME) {
        *offset = h.base_offset;
        *timestamp = h.max_timestamp;
        return h.max_timestamp >= ts ? KP_FIND_FOUND : KP_FIND_NONE;
    }
    rc = kp_records_walk(p, size, max_inflate, at_or_after, &f, inflated);
    if (rc == KP_WALK_STOPPED) return KP_FIND_FOUND;
    return rc == KP_WALK_END ? KP_FIND_NONE : rc;
}

/* ------------------------------------------------------------- rewrites */

void kp_batch_set_base_offset(uint8_t *p, int64_t base_offset) {
    kp_put_be(p + KP_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset, 8);
}

void kp_batch_set_leader_epoch(uint8_t *p, int32_t leader_epoch) {
    kp_put_be(p + KP_BATCH_OFF_LEADER_EPOCH, (uint32_t)leader_epoch, 4);
}

/* Attributes and max_timestamp are inside the CRC, so it is recomputed.
 * Kafka's reader only looks at the low byte of the attributes (section 5.2),
 * which is where bit 3 lives. */
void kp_batch_set_log_append_time(uint8_t *p, size_t size, int64_t timestamp_ms) {
    p[KP_BATCH_OFF_ATTRIBUTES + 1] |= KP_ATTR_LOG_APPEND_TIME;
    kp_put_be(p + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)timestamp_ms, 8);
    kp_put_be(p + KP_BATCH_OFF_CRC, kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
}
