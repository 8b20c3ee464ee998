/*
 * kp_codec.c - batch payload decompression (see kp_codec.h).
 *
 * Every decoder writes into one growing buffer capped at max_out; none keeps
 * state between calls.
 */
#include "proto/kp_codec.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/kp_batch.h"

/* A growable output buffer bounded by a cap. */
typedef struct outbuf {
    uint8_t *buf;
    size_t len, cap, max;
} outbuf_t;

/* Makes room for at least `want` more bytes; -1 past the cap. */
static int out_reserve(outbuf_t *o, size_t want) {
    if (o->len + want <= o->cap) return 0;
    if (o->len + want > o->max) return -1;
    size_t cap = o->cap ? o->cap * 2 : 4096;
    while (cap < o->len + want) cap *= 2;
    if (cap > o->max) cap = o->max;
    uint8_t *nb = realloc(o->buf, cap);
    if (!nb) return -1;
    o->buf = nb;
    o->cap = cap;
    return 0;
}

static int gzip_decompress(const uint8_t *in, size_t n, outbuf_t *o) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1; /* 16: expect a gzip header */
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (out_reserve(o, 16384) != 0) break;
        z.next_out = o->buf + o->len;
        z.avail_out = (uInt)(o->cap - o->len);
        rc = inflate(&z, Z_NO_FLUSH);
        o->len = o->cap - z.avail_out;
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}

static int snappy_block(const uint8_t *in, size_t n, outbuf_t *o) {
    size_t need;
    if (snappy_uncompressed_length((const char *)in, n, &need) != SNAPPY_OK) return -1;
    /* At least one byte, so an empty block still gets a buffer to point at. */
    if (out_reserve(o, need ? need : 1) != 0) return -1;
    size_t got = need;
    if (snappy_uncompress((const char *)in, n, (char *)o->buf + o->len, &got) != SNAPPY_OK) return -1;
    o->len += got;
    return 0;
}

/* Java's snappy-java framing: a 16-byte header (magic, version, compatible
 * version), then blocks each preceded by a 4-byte big-endian length. */
static int snappy_decompress(const uint8_t *in, size_t n, outbuf_t *o) {
    static const uint8_t xerial[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    if (n < 16 || memcmp(in, xerial, sizeof(xerial)) != 0) return snappy_block(in, n, o);
    size_t pos = 16;
    while (pos < n) {
        if (n - pos < 4) return -1;
        size_t len = (size_t)in[pos] << 24 | (size_t)in[pos + 1] << 16 | (size_t)in[pos + 2] << 8 | in[pos + 3];
        pos += 4;
        if (len > n - pos || snappy_block(in + pos, len, o) != 0) return -1;
        pos += len;
    }
    return 0;
}

static int lz4_decompress(const uint8_t *in, size_t n, outbuf_t *o) {
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return -1;
    size_t pos = 0, hint = 1;
    while (hint != 0) {
        if (out_reserve(o, 65536) != 0) break;
        size_t dst = o->cap - o->len, src = n - pos;
        hint = LZ4F_decompress(ctx, o->buf + o->len, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(hint)) break;
        o->len += dst;
        pos += src;
        if (src == 0 && dst == 0 && pos == n) break; /* truncated frame */
    }
    LZ4F_freeDecompressionContext(ctx);
    return hint == 0 ? 0 : -1;
}

/* Loops until the input is consumed and the last frame is complete; a
 * call that makes no progress with room left means truncated input. */
static int zstd_decompress(const uint8_t *in, size_t n, outbuf_t *o) {
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds) return -1;
    ZSTD_inBuffer ib = {in, n, 0};
    int result = -1;
    size_t rc = ZSTD_initDStream(ds);
    while (!ZSTD_isError(rc) && out_reserve(o, 65536) == 0) {
        ZSTD_outBuffer ob = {o->buf, o->cap, o->len};
        rc = ZSTD_decompressStream(ds, &ob, &ib);
        o->len = ob.pos;
        if (ZSTD_isError(rc)) break;
        if (rc == 0 && ib.pos == ib.size) {
            result = 0;
            break;
        }
        if (ib.pos == ib.size && ob.pos < ob.size) break; /* truncated frame */
    }
    ZSTD_freeDStream(ds);
    return result;
}

int kp_codec_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
                        size_t *out_len) {
    outbuf_t o = {.max = max_out};
    int rc;
    switch (codec) {
    case KP_CODEC_GZIP: rc = gzip_decompress(in, in_len, &o); break;
    case KP_CODEC_SNAPPY: rc = snappy_decompress(in, in_len, &o); break;
    case KP_CODEC_LZ4: rc = lz4_decompress(in, in_len, &o); break;
    case KP_CODEC_ZSTD: rc = zstd_decompress(in, in_len, &o); break;
    default: rc = -1;
    }
    if (rc != 0) {
        free(o.buf);
        return -1;
    }
    *out = o.buf;
    *out_len = o.len;
    return 0;
}
