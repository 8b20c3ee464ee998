/*
 * kp_batch_build.h - builds one uncompressed RecordBatch v2 from keys and
 * values (wire-protocol.md 5.1-5.4), for records the broker writes itself:
 * the group coordinator's offset commits, group metadata and tombstones in
 * __consumer_offsets (group-protocol.md 3.6, 7.1).
 *
 * The batch looks like what a Kafka broker appends for its own writes with
 * compression none: CreateTime at the given broker time for every record,
 * not transactional, no producer id, no headers.  Base offset 0 and leader
 * epoch -1 are placeholders the log overwrites on append (both lie outside
 * the CRC).  Pure code, no I/O.
 */
#ifndef KP_BATCH_BUILD_H
#define KP_BATCH_BUILD_H

#include <stdint.h>

#include "proto/kp_buf.h"

/* One record to write; both slices are only read. */
typedef struct {
    kp_bytes_t key;   /* len < 0: null key */
    kp_bytes_t value; /* len < 0: null value (a tombstone) */
} kp_batch_record_t;

/*
 * Appends to w one batch holding the n records in order (offset deltas
 * 0..n-1, timestamp deltas 0), with first and max timestamp timestamp_ms
 * and a CRC-32C over bytes [21, end).  w may already hold bytes: the batch
 * starts at the w->len it finds.  Returns w->err, or KP_BUF_INVALID (w
 * untouched) when n < 1 or the batch would exceed what batch_length can
 * declare.
 */
int kp_batch_build(kp_writer_t *w, const kp_batch_record_t *records, int32_t n, int64_t timestamp_ms);

#endif
