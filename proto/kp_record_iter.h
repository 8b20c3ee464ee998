/*
 * kp_record_iter.h - reads the records of one uncompressed RecordBatch v2
 * one at a time: offset, key and value (wire-protocol.md 5.1, 5.4), for
 * the group coordinator replaying __consumer_offsets (group-protocol.md
 * 3.4) and anything else that needs record contents rather than the
 * lengths kp_records_walk checks.
 *
 * Keys and values are slices borrowed from the batch; nothing is
 * allocated.  Every length is checked against the bytes left, first in the
 * batch and then inside its record, so a batch whose lengths or count lie
 * ends the iteration with KP_ITER_CORRUPT and is never read past its end.
 * A compressed batch is refused with its own answer so the caller can say
 * so and skip it.  The CRC is not checked here (the log checked it when
 * the batch was appended or recovered; kp_batch_crc_ok does it otherwise).
 */
#ifndef KP_RECORD_ITER_H
#define KP_RECORD_ITER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"

enum {
    KP_ITER_RECORD = 1,      /* next: *rec holds a record */
    KP_ITER_END = 0,         /* next: every record read, the batch consumed exactly; init: ready */
    KP_ITER_CORRUPT = -1,    /* a bad header, length, count or record */
    KP_ITER_COMPRESSED = -2, /* init: the batch is compressed, not read here */
};

typedef struct {
    int64_t offset;   /* base_offset + offset_delta */
    kp_bytes_t key;   /* len < 0: null key */
    kp_bytes_t value; /* len < 0: null value (a tombstone) */
} kp_record_t;

typedef struct {
    kp_batch_header_t header; /* the batch's, for attributes and producer fields */
    kp_reader_t records;      /* the bytes after the header not read yet */
    int32_t left;             /* records still to come */
    int state;                /* KP_ITER_END while records may follow, else the final answer */
} kp_record_iter_t;

/*
 * Starts on the batch at p: size bytes that hold at least the whole batch
 * (bytes after it are not read).  Returns KP_ITER_END (0) when records can
 * be read, KP_ITER_CORRUPT when the header cannot be a magic-2 batch that
 * fits (short, wrong magic, length, negative count), or
 * KP_ITER_COMPRESSED.  On failure kp_record_iter_next returns the same.
 */
int kp_record_iter_init(kp_record_iter_t *it, const uint8_t *p, size_t size);

/*
 * The next record: KP_ITER_RECORD with *rec filled, KP_ITER_END after the
 * last one once the records filled the batch exactly, or KP_ITER_CORRUPT
 * (for good: later calls say it again).  Records before a corrupt one
 * have already been returned; a caller that must not act on part of a
 * batch runs through it once before acting.
 */
int kp_record_iter_next(kp_record_iter_t *it, kp_record_t *rec);

#endif
