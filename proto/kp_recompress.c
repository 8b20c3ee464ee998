/*
 * kp_recompress.c - a batch rebuilt with another codec (see
 * kp_recompress.h).
 *
 * One pass: the record walk (kp_records.h) decompresses the payload piece
 * by piece and checks the records' lengths and count; each piece it has
 * checked goes on to the compressor (kp_compress.h), whose buffer starts
 * with room for the 61-byte header.  Once the walk ends cleanly and the
 * stream is finished, the header is copied from the original with the new
 * codec and length, and the CRC is computed over the new bytes.
 */
#include "proto/kp_recompress.h"

#include <stdlib.h>
#include <string.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "proto/kp_compress.h"
#include "proto/kp_records.h"

/* Kafka error codes this file returns (wire-protocol.md section 6). */
#define KP_ERR_UNKNOWN_SERVER_ERROR (-1)
#define KP_ERR_CORRUPT_MESSAGE 2
#define KP_ERR_MESSAGE_TOO_LARGE 10

/* A checked piece of records into the new payload. */
static int copy_piece(void *arg, const uint8_t *piece, size_t len) {
    switch (kp_deflate_write(arg, piece, len)) {
    case KP_DEFLATE_OK: return 0;
    case KP_DEFLATE_TOO_LARGE: return KP_WALK_TOO_LARGE;
    default: return KP_WALK_NOMEM;
    }
}

static int16_t walk_error(int rc) {
    switch (rc) {
    case KP_WALK_TOO_LARGE: return KP_ERR_MESSAGE_TOO_LARGE;
    case KP_WALK_NOMEM: return KP_ERR_UNKNOWN_SERVER_ERROR;
    default: return KP_ERR_CORRUPT_MESSAGE;
    }
}

static int16_t deflate_error(int rc) {
    return rc == KP_DEFLATE_TOO_LARGE ? KP_ERR_MESSAGE_TOO_LARGE : KP_ERR_UNKNOWN_SERVER_ERROR;
}

/* The original's header with the new codec and length, and the new CRC. */
static void write_header(uint8_t *out, size_t size, const uint8_t *orig, int codec) {
    int16_t attributes = (int16_t)kp_get_be(orig + KP_BATCH_OFF_ATTRIBUTES, 2);

    memcpy(out, orig, KP_BATCH_HEADER_SIZE);
    kp_put_be(out + KP_BATCH_OFF_LENGTH, size - KP_LOG_OVERHEAD, 4);
    attributes = (int16_t)((attributes & ~KP_ATTR_CODEC_MASK) | codec);
    kp_put_be(out + KP_BATCH_OFF_ATTRIBUTES, (uint16_t)attributes, 2);
    kp_put_be(out + KP_BATCH_OFF_CRC, kp_crc32c(0, out + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
}

int16_t kp_batch_recompress(const uint8_t *p, size_t size, int codec, size_t max_inflate, size_t max_out,
                            kp_rebuilt_t *out) {
    kp_batch_header_t h;
    kp_deflate_t *d;
    int rc;

    *out = (kp_rebuilt_t){0};
    if (kp_batch_header_decode(p, size, &h) != 0 || h.batch_length < KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD ||
        kp_batch_size(&h) > size)
        return KP_ERR_CORRUPT_MESSAGE;
    rc = kp_deflate_new(&d, codec, KP_BATCH_HEADER_SIZE, max_out);
    /* An uncompressed original's payload is exactly what will be compressed. */
    if (rc == 0 && kp_batch_codec(&h) == KP_CODEC_NONE)
        rc = kp_deflate_pledge(d, kp_batch_size(&h) - KP_BATCH_HEADER_SIZE);
    if (rc != 0) {
        kp_deflate_free(d);
        return deflate_error(rc);
    }
    rc = kp_records_walk_pieces(p, size, max_inflate, copy_piece, d, &out->inflated);
    if (rc != KP_WALK_END) {
        kp_deflate_free(d);
        return walk_error(rc);
    }
    rc = kp_deflate_finish(d, &out->batch, &out->size);
    kp_deflate_free(d);
    if (rc != 0) return deflate_error(rc);
    write_header(out->batch, out->size, p, codec);
    return 0;
}
