/*
 * kp_recompress.h - rebuilds one produced batch with another compression
 * codec, as Kafka's leader does when the topic's compression.type names a
 * codec other than the batch's (wire-protocol.md 5.6; Kafka's
 * LogValidator).
 *
 * The records are kept byte for byte: keys, values, headers, offset and
 * timestamp deltas, record attributes.  So is the header, except the
 * codec bits of the attributes, batch_length and the CRC: producer id,
 * epoch and base sequence, last_offset_delta, records_count, both
 * timestamps and the timestamp-type, transactional and control bits stay
 * as they were (the leader's own rewrites, section 5.9, come later, on
 * append).  Records are checked while they are copied, exactly as
 * kp_batch_validate_records checks them, so a batch that is rebuilt needs
 * no other record check.
 *
 * Memory: the payload is decompressed and compressed again piece by piece
 * (kp_codec.h, kp_compress.h); only the new batch is held whole, and it
 * may not pass max_out bytes.  A decompression bomb stops at max_inflate
 * bytes decompressed.  Pure code, no I/O; costs a full decompression and
 * compression: not for the event loop.
 */
#ifndef KP_RECOMPRESS_H
#define KP_RECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct kp_rebuilt {
    uint8_t *batch;  /* malloc'd, the caller's: the whole new batch */
    size_t size;     /* its total size (batch_length + 12) */
    size_t inflated; /* bytes decompressed from the original (0 if it was uncompressed) */
} kp_rebuilt_t;

/*
 * Rebuilds the whole batch at p (size bytes, one that passed
 * kp_batch_validate_produce) with codec (KP_CODEC_*; KP_CODEC_NONE writes
 * the records uncompressed).  Returns 0 with *out filled, or a Kafka
 * error with *out empty: 2 CORRUPT_MESSAGE (a payload that is not what its
 * codec says, records whose lengths or count are wrong), 10
 * MESSAGE_TOO_LARGE (the records inflate beyond max_inflate, or the new
 * batch would pass max_out bytes: Kafka checks a rebuilt batch against
 * max.message.bytes too), -1 UNKNOWN_SERVER_ERROR (out of memory, or a
 * codec that is not one).  out->inflated is set either way.
 */
int16_t kp_batch_recompress(const uint8_t *p, size_t size, int codec, size_t max_inflate, size_t max_out,
                            kp_rebuilt_t *out);

#endif
