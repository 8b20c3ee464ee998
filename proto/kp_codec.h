/*
 * kp_codec.h - streaming decompression of record batch payloads (gzip,
 * snappy, lz4, zstd) with the codecs' own libraries, in bounded memory and
 * bounded output.
 *
 * Fetch never decompresses: batches are stored and sent as the producer
 * compressed them.  The records inside a compressed batch are read only to
 * validate a produced batch (their count and lengths) and to answer
 * ListOffsets by timestamp, both on worker threads.  Either may stop early
 * (a bad record, the record looked for), so the output comes in pieces of
 * at most KP_INFLATE_CHUNK bytes and nothing is decompressed past the point
 * where the caller stops asking.  The total output is capped: a batch that
 * inflates beyond max_out is refused as soon as the cap is crossed, which
 * is what bounds the CPU time a compressed bomb can cost.
 *
 * Memory: one chunk, the codec's state (zlib's 32 KiB window, an LZ4 block
 * of at most 4 MiB, a zstd window of at most the power of two at or above
 * max_out or 8 MiB, whichever is larger), and for snappy one decompressed block (a raw snappy block is
 * the whole batch; its declared size is checked against max_out before
 * anything is allocated).  Pure code, no I/O.
 */
#ifndef KP_CODEC_H
#define KP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define KP_INFLATE_CHUNK (64u << 10)

/* Results: a piece, the end, or why not. */
enum {
    KP_INFLATE_PIECE = 1,
    KP_INFLATE_END = 0,
    KP_INFLATE_CORRUPT = -1,   /* not a valid stream of that codec, truncated, or trailing garbage */
    KP_INFLATE_TOO_LARGE = -2, /* the output would exceed max_out */
    KP_INFLATE_NOMEM = -3,
};

typedef struct kp_inflate kp_inflate_t;

/*
 * Starts decompressing in[0, in_len) (the bytes after a batch's 61-byte
 * header), written with codec (KP_CODEC_* of kp_batch.h; KP_CODEC_NONE
 * yields the input itself as one piece, uncapped).  Snappy accepts a raw
 * block (librdkafka) and the xerial framing (Java); gzip accepts
 * concatenated members; lz4 and zstd accept consecutive frames.  `in` is
 * borrowed until kp_inflate_free.  Returns 0 with *out set, or
 * KP_INFLATE_CORRUPT (unknown codec) or KP_INFLATE_NOMEM.
 */
int kp_inflate_new(kp_inflate_t **out, int codec, const uint8_t *in, size_t in_len, size_t max_out);

/* The next piece of output: KP_INFLATE_PIECE with *piece and *len (len > 0,
 * valid until the next call), KP_INFLATE_END once the input has been
 * decompressed completely, or a negative KP_INFLATE_* that every later
 * call returns again. */
int kp_inflate_next(kp_inflate_t *z, const uint8_t **piece, size_t *len);

/* Total bytes produced so far. */
size_t kp_inflate_total(const kp_inflate_t *z);

void kp_inflate_free(kp_inflate_t *z);

#endif
