/*
 * kp_compress.h - streaming compression of record batch payloads (gzip,
 * snappy, lz4, zstd) into one buffer of bounded size, in the formats a
 * Kafka broker writes when it recompresses a batch to its topic's
 * compression.type (wire-protocol.md 5.6).
 *
 * The leader recompresses a produced batch piece by piece as kp_inflate
 * (kp_codec.h) hands it the decompressed records, so the whole
 * decompressed payload is never held, only the compressed result.  The
 * output is capped: once it passes max_out the stream fails with
 * KP_DEFLATE_TOO_LARGE, so a batch that does not shrink (or a target of
 * "uncompressed") costs at most max_out bytes plus a small constant.
 *
 * Formats, as Kafka's own writers make them, so every consumer reads them:
 *   gzip    one gzip member (RFC 1952), zlib's default level (Java's 6);
 *   snappy  the snappy-java ("xerial") framing Kafka's broker writes: the
 *           16-byte header, then blocks each preceded by their 4-byte
 *           big-endian length (librdkafka, kafka-python and Java read it);
 *   lz4     one LZ4 frame with independent 64 KiB blocks and no checksums
 *           (Kafka's Java reader decompresses every block on its own);
 *   zstd    one zstd frame at level 3 (Kafka 2.x's level).
 * Pure code, no I/O.
 */
#ifndef KP_COMPRESS_H
#define KP_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* compression.type=producer: keep each batch's own codec.  Kafka's other
 * names map to KP_CODEC_* (kp_batch.h), "uncompressed" to KP_CODEC_NONE. */
#define KP_CODEC_PRODUCER (-1)
/* Not a compression.type Kafka knows. */
#define KP_CODEC_UNKNOWN (-2)

/* The codec a topic or broker compression.type names: KP_CODEC_* for
 * uncompressed, gzip, snappy, lz4 and zstd, KP_CODEC_PRODUCER for
 * producer, KP_CODEC_UNKNOWN for anything else (NULL too). */
int kp_codec_by_name(const char *name);

/* Results; sticky: after a failure every call returns it again. */
enum {
    KP_DEFLATE_OK = 0,
    KP_DEFLATE_BAD_CODEC = -1, /* not a KP_CODEC_* value */
    KP_DEFLATE_TOO_LARGE = -2, /* the output would pass max_out */
    KP_DEFLATE_NOMEM = -3,
};

typedef struct kp_deflate kp_deflate_t;

/*
 * Starts a stream of codec (KP_CODEC_NONE copies).  The output buffer
 * begins with `reserve` bytes left for the caller (a batch header, filled
 * after kp_deflate_finish), then the compressed stream; reserve plus the
 * stream may take at most max_out bytes.  Returns 0 with *out set, or a
 * negative KP_DEFLATE_* value.
 */
int kp_deflate_new(kp_deflate_t **out, int codec, size_t reserve, size_t max_out);

/* Announces the total input before the first write, when it is known:
 * zstd then records it in its frame header, which readers that decompress
 * a frame in one call need to size their output (kafka-python 2.0.2 gives
 * up beyond 1 MiB without it).  The writes must then add up to exactly
 * total.  Other codecs ignore it. */
int kp_deflate_pledge(kp_deflate_t *d, uint64_t total);

/* Compresses n more bytes of input. */
int kp_deflate_write(kp_deflate_t *d, const uint8_t *p, size_t n);

/* Ends the stream and hands the buffer over: *buf (malloc'd, the
 * caller's to free) holds *len bytes, the reserve first.  Afterwards d
 * may only be freed; it no longer owns the buffer. */
int kp_deflate_finish(kp_deflate_t *d, uint8_t **buf, size_t *len);

void kp_deflate_free(kp_deflate_t *d);

#endif
