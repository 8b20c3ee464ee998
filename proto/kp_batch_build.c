/*
 * kp_batch_build.c - one uncompressed RecordBatch v2 built from keys and
 * values (see kp_batch_build.h).
 *
 * Sizes are computed first, in 64 bits, so that a batch too large for its
 * int32 length fields is refused before anything is written.  The header
 * goes out with batch_length and CRC as zeros; both are patched once the
 * records are written, the CRC last because it covers everything from the
 * attributes on.
 */
#include "proto/kp_batch_build.h"

#include "proto/kp_batch.h"

/* Placeholders the log rewrites on append, and the "no producer" values. */
#define PLACEHOLDER_BASE_OFFSET 0
#define PLACEHOLDER_LEADER_EPOCH (-1)
#define NO_PRODUCER_ID (-1)
#define NO_PRODUCER_EPOCH (-1)
#define NO_SEQUENCE (-1)

/* A key or value: varint length (-1 for null), then the bytes. */
static int64_t blob_size(kp_bytes_t b) {
    return b.len < 0 ? (int64_t)kp_varint_size(-1) : (int64_t)kp_varint_size(b.len) + b.len;
}

/* Bytes of record i after its length varint: attributes, a one-byte zero
 * timestamp delta, the offset delta, key, value and a zero header count. */
static int64_t record_body_size(const kp_batch_record_t *r, int32_t i) {
    return 1 + 1 + (int64_t)kp_varint_size(i) + blob_size(r->key) + blob_size(r->value) + 1;
}

/* The batch_length field of the whole batch, or -1 when it cannot be
 * declared (a record or the batch beyond INT32_MAX). */
static int64_t batch_length(const kp_batch_record_t *records, int32_t n) {
    int64_t total = KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD;

    for (int32_t i = 0; i < n; i++) {
        int64_t body = record_body_size(&records[i], i);
        if (body > INT32_MAX) return -1;
        total += (int64_t)kp_varint_size((int32_t)body) + body;
        if (total > INT32_MAX) return -1;
    }
    return total;
}

static void write_header(kp_writer_t *w, int32_t n, int64_t timestamp_ms) {
    kp_write_int64(w, PLACEHOLDER_BASE_OFFSET);
    kp_write_int32(w, 0); /* batch_length, patched */
    kp_write_int32(w, PLACEHOLDER_LEADER_EPOCH);
    kp_write_int8(w, KP_BATCH_MAGIC);
    kp_write_uint32(w, 0); /* crc, patched */
    kp_write_int16(w, 0);  /* attributes: no codec, CreateTime, not transactional */
    kp_write_int32(w, n - 1);
    kp_write_int64(w, timestamp_ms); /* base (first) timestamp */
    kp_write_int64(w, timestamp_ms); /* max timestamp */
    kp_write_int64(w, NO_PRODUCER_ID);
    kp_write_int16(w, NO_PRODUCER_EPOCH);
    kp_write_int32(w, NO_SEQUENCE);
    kp_write_int32(w, n);
}

static void write_blob(kp_writer_t *w, kp_bytes_t b) {
    if (b.len < 0) {
        kp_write_varint(w, -1);
        return;
    }
    kp_write_varint(w, b.len);
    kp_write_raw(w, b.ptr, (size_t)b.len);
}

static void write_record(kp_writer_t *w, const kp_batch_record_t *r, int32_t i) {
    kp_write_varint(w, (int32_t)record_body_size(r, i));
    kp_write_int8(w, 0);    /* attributes, unused */
    kp_write_varlong(w, 0); /* timestamp delta: every record at the batch time */
    kp_write_varint(w, i);  /* offset delta */
    write_blob(w, r->key);
    write_blob(w, r->value);
    kp_write_varint(w, 0); /* no headers */
}

int kp_batch_build(kp_writer_t *w, const kp_batch_record_t *records, int32_t n, int64_t timestamp_ms) {
    int64_t length = n >= 1 ? batch_length(records, n) : -1;
    size_t start = w->len;
    uint8_t *batch;

    if (length < 0) return KP_BUF_INVALID;
    write_header(w, n, timestamp_ms);
    for (int32_t i = 0; i < n; i++) write_record(w, &records[i], i);
    if (w->err) return w->err;
    batch = w->buf + start;
    kp_put_be(batch + KP_BATCH_OFF_LENGTH, (uint64_t)length, 4);
    kp_put_be(batch + KP_BATCH_OFF_CRC,
              kp_crc32c(0, batch + KP_BATCH_OFF_ATTRIBUTES, (size_t)length + KP_LOG_OVERHEAD - KP_BATCH_OFF_ATTRIBUTES),
              4);
    return 0;
}
