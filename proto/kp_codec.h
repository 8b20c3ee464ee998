/*
 * kp_codec.h - decompression of record batch payloads (gzip, snappy, lz4,
 * zstd) with the codecs' real libraries.
 *
 * The produce and fetch paths never decompress: batches are stored and sent
 * as the producer compressed them.  Only record-level lookups that Kafka
 * answers per record inside a compressed batch (ListOffsets by timestamp)
 * need the records, so this sits off the hot path.  Pure code, no I/O.
 */
#ifndef KP_CODEC_H
#define KP_CODEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decompresses `in` (the bytes after a batch's 61-byte header) written with
 * `codec` (KP_CODEC_* from kp_batch.h).  Snappy accepts both a raw block
 * (librdkafka) and the xerial framing (Java).  The output is limited to
 * max_out bytes so a hostile batch cannot exhaust memory.  On success *out
 * is a malloc'd buffer the caller frees.  Returns 0, or -1 (unknown codec,
 * corrupt input, or output above max_out).
 */
int kp_codec_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
                        size_t *out_len);

#endif
