/*
 * kp_batch.h - RecordBatch v2 (magic 2) headers, CRC-32C and the header
 * rewrites the leader performs on append (wire-protocol.md section 5).
 *
 * Batches are handled whole: the broker validates the 61-byte header, the
 * batch length and the CRC, and that the record lengths fill the batch
 * exactly and add up to records_count - directly for uncompressed batches,
 * after decompression (bounded, off the event loop) for compressed ones.
 * Stored batches are never rewritten beyond the header.  Pure code, no I/O.
 */
#ifndef KP_BATCH_H
#define KP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_BATCH_HEADER_SIZE 61
#define KP_LOG_OVERHEAD 12 /* base_offset + batch_length */
#define KP_BATCH_MAGIC 2

/* Byte offsets of the header fields. */
#define KP_BATCH_OFF_BASE_OFFSET 0
#define KP_BATCH_OFF_LENGTH 8
#define KP_BATCH_OFF_LEADER_EPOCH 12
#define KP_BATCH_OFF_MAGIC 16
#define KP_BATCH_OFF_CRC 17
#define KP_BATCH_OFF_ATTRIBUTES 21
#define KP_BATCH_OFF_LAST_OFFSET_DELTA 23
#define KP_BATCH_OFF_BASE_TIMESTAMP 27
#define KP_BATCH_OFF_MAX_TIMESTAMP 35
#define KP_BATCH_OFF_PRODUCER_ID 43
#define KP_BATCH_OFF_PRODUCER_EPOCH 51
#define KP_BATCH_OFF_BASE_SEQUENCE 53
#define KP_BATCH_OFF_RECORDS_COUNT 57

#define KP_ATTR_CODEC_MASK 0x07
#define KP_ATTR_LOG_APPEND_TIME 0x08
#define KP_ATTR_TRANSACTIONAL 0x10
#define KP_ATTR_CONTROL 0x20

enum { KP_CODEC_NONE = 0, KP_CODEC_GZIP = 1, KP_CODEC_SNAPPY = 2, KP_CODEC_LZ4 = 3, KP_CODEC_ZSTD = 4 };

typedef struct kp_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after this field: total size - 12 */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} kp_batch_header_t;

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start): the iSCSI
 * CRC, computed with ISA-L.  kp_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t kp_crc32c(uint32_t crc, const void *buf, size_t len);

/* Total size of a batch from its header: batch_length + 12. */
static inline size_t kp_batch_size(const kp_batch_header_t *h) { return (size_t)h->batch_length + KP_LOG_OVERHEAD; }

/* Offset of the last record: base_offset + last_offset_delta.  Only for a
 * header that passed kp_batch_offsets_sane (or one whose base offset the
 * broker assigned), where the sum cannot overflow. */
static inline int64_t kp_batch_last_offset(const kp_batch_header_t *h) { return h->base_offset + h->last_offset_delta; }

/* Offsets a stored batch may carry: none negative, and the offset after
 * the last record (last + 1, the log end once appended) representable. */
static inline bool kp_batch_offsets_sane(const kp_batch_header_t *h) {
    return h->base_offset >= 0 && h->last_offset_delta >= 0 && h->base_offset < INT64_MAX - h->last_offset_delta;
}

/* Decodes the 61-byte header at p (len >= 61 required); no validation. */
int kp_batch_header_decode(const uint8_t *p, size_t len, kp_batch_header_t *h);

/* True when the stored CRC matches the CRC-32C of bytes [21, size). */
bool kp_batch_crc_ok(const uint8_t *p, const kp_batch_header_t *h);

/*
 * Classifies the bytes at p as stored in a log (recovery, reads):
 *   KP_SCAN_OK         a whole batch with magic 2, sane length and offsets
 *                      (kp_batch_offsets_sane) and a valid CRC
 *                      (*size = its total size);
 *   KP_SCAN_INCOMPLETE fewer bytes than the header or the batch length needs;
 *   KP_SCAN_CORRUPT    anything else.
 * max_size bounds the batch length a well-formed batch may declare.
 */
enum { KP_SCAN_OK = 0, KP_SCAN_INCOMPLETE = 1, KP_SCAN_CORRUPT = 2 };
int kp_batch_scan(const uint8_t *p, size_t len, size_t max_size, kp_batch_header_t *h, size_t *size);

/*
 * Validates one produced records blob (Produce v3+: exactly one magic-2
 * batch) in Kafka's order (section 5.10) and returns a Kafka error code:
 * 0, 87 INVALID_RECORD (not exactly one batch, bad magic, records_count or
 * last_offset_delta inconsistent, control batch, producer id without
 * sequence), 76 UNSUPPORTED_COMPRESSION_TYPE (zstd before Produce v7),
 * 10 MESSAGE_TOO_LARGE (> max_message_bytes), 2 CORRUPT_MESSAGE (lengths,
 * CRC, or uncompressed record lengths that do not fill the batch exactly).
 * On success *h holds the decoded header; a compressed batch then still
 * needs kp_batch_validate_records.
 */
int16_t kp_batch_validate_produce(const uint8_t *p, size_t len, int16_t produce_version, int32_t max_message_bytes,
                                  kp_batch_header_t *h);

/* The compression codec of a batch (KP_CODEC_*). */
static inline int kp_batch_codec(const kp_batch_header_t *h) { return h->attributes & KP_ATTR_CODEC_MASK; }

/*
 * The record-level half of produce validation for one whole batch (size
 * bytes at p) that passed kp_batch_validate_produce: its records, after
 * decompression for a compressed batch, must be exactly records_count
 * length-prefixed records filling the payload.  Decompression stops at
 * max_inflate bytes; *inflated (may be NULL) gets the bytes decompressed.
 * Returns 0, 2 CORRUPT_MESSAGE (undecodable payload, lengths, count), 10
 * MESSAGE_TOO_LARGE (inflates beyond max_inflate), or -1
 * UNKNOWN_SERVER_ERROR (out of memory).  Costs a full decompression: not
 * for the event loop.
 */
int16_t kp_batch_validate_records(const uint8_t *p, size_t size, size_t max_inflate, size_t *inflated);

/*
 * ListOffsets by time inside one whole batch (size bytes at p): the first
 * record whose timestamp is >= ts.  LogAppendTime batches give every record
 * max_timestamp, so their first record answers; otherwise the records are
 * walked (base_timestamp + delta), a compressed payload decompressed only
 * as far as that record and never beyond max_inflate bytes (*inflated,
 * which may be NULL, gets how many were decompressed).  Returns
 * KP_FIND_FOUND with the record's offset and timestamp, KP_FIND_NONE when
 * no record qualifies, or a negative KP_WALK_* value (kp_records.h) when
 * the records cannot be read: corrupt, inflating beyond max_inflate, or
 * out of memory.
 */
enum { KP_FIND_FOUND = 0, KP_FIND_NONE = 1 };
int kp_batch_find_timestamp(const uint8_t *p, size_t size, int64_t ts, size_t max_inflate, int64_t *offset,
                            int64_t *timestamp, size_t *inflated);

/* Header rewrites on append (section 5.9).  The first two are outside the
 * CRC; kp_batch_set_log_append_time sets attribute bit 3 and max_timestamp
 * and recomputes the CRC. */
void kp_batch_set_base_offset(uint8_t *p, int64_t base_offset);
void kp_batch_set_leader_epoch(uint8_t *p, int32_t leader_epoch);
void kp_batch_set_log_append_time(uint8_t *p, size_t size, int64_t timestamp_ms);

#endif
