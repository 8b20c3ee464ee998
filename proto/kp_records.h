/*
 * kp_records.h - walks the records inside one record batch (compressed or
 * not) in bounded memory, stopping as soon as the caller has what it needs
 * (wire-protocol.md 5.4, 5.6).
 *
 * A record is a zigzag varint length followed by that many bytes; the walk
 * reads each length and, when a callback is given, the fields that start
 * the record (attributes, timestamp delta, offset delta), and skips the
 * rest without copying it.  The payload of a compressed batch is
 * decompressed piece by piece (kp_codec.h) while it is walked, so
 * everything past the record that stops the walk is never decompressed,
 * and the inflated size is capped.
 */
#ifndef KP_RECORDS_H
#define KP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* The start of one record. */
typedef struct kp_record_info {
    int32_t length; /* bytes after the length varint */
    int64_t timestamp_delta;
    int32_t offset_delta;
} kp_record_info_t;

/* Returns 0 to go on, 1 to stop the walk there. */
typedef int (*kp_record_fn)(void *arg, const kp_record_info_t *r);

enum {
    KP_WALK_END = 0,         /* every record read: records_count of them, filling the payload exactly */
    KP_WALK_STOPPED = 1,     /* fn returned 1 */
    KP_WALK_CORRUPT = -1,    /* undecodable payload, a bad length, a wrong count, a record too short for fn */
    KP_WALK_TOO_LARGE = -2,  /* the payload inflates beyond max_inflate */
    KP_WALK_NOMEM = -3,
};

/*
 * Walks the records of the whole batch at p (size bytes, a valid header:
 * the caller has checked framing and CRC).  fn may be NULL: only lengths
 * and the count are checked.  max_inflate caps the decompressed payload of
 * a compressed batch; *inflated (when not NULL) gets the bytes
 * decompressed, 0 for an uncompressed batch.  Returns a KP_WALK_* value.
 */
int kp_records_walk(const uint8_t *p, size_t size, size_t max_inflate, kp_record_fn fn, void *arg,
                    size_t *inflated);

/* Sees each piece of the payload (decompressed), in order, once the walk
 * has checked the records in it: 0 to go on, or a negative KP_WALK_* value
 * that ends the walk with it. */
typedef int (*kp_piece_fn)(void *arg, const uint8_t *piece, size_t len);

/*
 * kp_records_walk without a record callback, handing every piece of the
 * payload to piece as well: what rebuilding a batch with another codec
 * needs (kp_recompress.h), the records checked and copied in one pass.
 * Returns KP_WALK_END, or a negative KP_WALK_* value (piece's own among
 * them).
 */
int kp_records_walk_pieces(const uint8_t *p, size_t size, size_t max_inflate, kp_piece_fn piece, void *arg,
                           size_t *inflated);

#endif
