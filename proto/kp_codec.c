/*
 * kp_codec.c - streaming batch payload decompression (see kp_codec.h).
 *
 * One state object per stream: the input (borrowed), a position in it, a
 * chunk-sized output buffer, the running total checked against the cap,
 * and the codec's own context.  Each codec has a `next` function that fills
 * the chunk (snappy: one whole block, which the cap has been checked
 * against) and reports whether the input is done.  A sticky `status`
 * keeps every call after the end or an error returning the same answer.
 */
#include "proto/kp_codec.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "proto/kp_batch.h"

/* The zstd window a frame may ask for: what the cap could ever need, but
 * at least 8 MiB (what zstd's levels up to 19 use, whatever the size) and
 * never above zstd's own default limit (2^27).  A frame asking for more is
 * refused as too large. */
#define ZSTD_WINDOW_LOG_MIN 23
#define ZSTD_WINDOW_LOG_MAX 27

#define XERIAL_HEADER_SIZE 16

struct kp_inflate {
    int codec;
    const uint8_t *in;
    size_t in_len, pos;
    uint8_t *buf;     /* output of the current piece */
    size_t buf_cap;   /* snappy grows it to its largest block */
    size_t total, max_out;
    int status;       /* KP_INFLATE_PIECE while more may come */
    bool ended;       /* the input is consumed and the last stream complete */
    bool gz_ready;    /* inflateInit2 succeeded (inflateEnd needed) */
    z_stream gz;
    LZ4F_dctx *lz4;
    ZSTD_DCtx *zstd;
};

/* ------------------------------------------------------------------ gzip */

static bool gzip_magic(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

/* Another gzip member may follow the end of one (RFC 1952 allows
 * concatenation and Java's reader accepts it); anything else is garbage. */
static int gzip_member_end(kp_inflate_t *z) {
    z_stream *s = &z->gz;

    if (s->avail_in == 0) {
        z->ended = true;
        return 0;
    }
    if (!gzip_magic(s->next_in, s->avail_in) || inflateReset(s) != Z_OK) return KP_INFLATE_CORRUPT;
    return 0;
}

static int gzip_next(kp_inflate_t *z, size_t *len) {
    z_stream *s = &z->gz;

    s->next_out = z->buf;
    s->avail_out = (uInt)z->buf_cap;
    while (s->avail_out > 0 && !z->ended) {
        int rc = inflate(s, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            if (gzip_member_end(z) != 0) return KP_INFLATE_CORRUPT;
            continue;
        }
        if (rc != Z_OK) return KP_INFLATE_CORRUPT; /* Z_BUF_ERROR here: the input ended mid-stream */
    }
    *len = z->buf_cap - s->avail_out;
    return 0;
}

static int gzip_init(kp_inflate_t *z) {
    memset(&z->gz, 0, sizeof(z->gz));
    if (inflateInit2(&z->gz, 16 + MAX_WBITS) != Z_OK) return KP_INFLATE_NOMEM; /* 16: a gzip header */
    z->gz_ready = true;
    z->gz.next_in = (Bytef *)(uintptr_t)z->in;
    /* A batch is below 2 GiB (its length is an int32), so uInt holds it. */
    z->gz.avail_in = (uInt)z->in_len;
    return 0;
}

/* ------------------------------------------------------------------- lz4 */

static int lz4_next(kp_inflate_t *z, size_t *len) {
    size_t produced = 0;

    while (produced < z->buf_cap && !z->ended) {
        size_t dst = z->buf_cap - produced, src = z->in_len - z->pos;
        size_t hint = LZ4F_decompress(z->lz4, z->buf + produced, &dst, z->in + z->pos, &src, NULL);
        if (LZ4F_isError(hint)) return KP_INFLATE_CORRUPT;
        z->pos += src;
        produced += dst;
        if (hint == 0 && z->pos == z->in_len) z->ended = true; /* the last frame is complete */
        else if (src == 0 && dst == 0) return KP_INFLATE_CORRUPT; /* no progress: truncated */
    }
    *len = produced;
    return 0;
}

static int lz4_init(kp_inflate_t *z) {
    return LZ4F_isError(LZ4F_createDecompressionContext(&z->lz4, LZ4F_VERSION)) ? KP_INFLATE_NOMEM : 0;
}

/* ------------------------------------------------------------------ zstd */

static int zstd_next(kp_inflate_t *z, size_t *len) {
    ZSTD_inBuffer ib = {z->in, z->in_len, z->pos};
    ZSTD_outBuffer ob = {z->buf, z->buf_cap, 0};

    while (ob.pos < ob.size && !z->ended) {
        size_t rc = ZSTD_decompressStream(z->zstd, &ob, &ib);
        if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) return KP_INFLATE_TOO_LARGE;
        if (ZSTD_isError(rc)) return KP_INFLATE_CORRUPT;
        if (rc == 0 && ib.pos == ib.size) z->ended = true; /* the last frame is complete */
        else if (ib.pos == ib.size && ob.pos < ob.size) return KP_INFLATE_CORRUPT; /* wants more: truncated */
    }
    z->pos = ib.pos;
    *len = ob.pos;
    return 0;
}

static int zstd_window_log(size_t max_out) {
    int log = ZSTD_WINDOW_LOG_MIN;

    while (log < ZSTD_WINDOW_LOG_MAX && ((size_t)1 << log) < max_out) log++;
    return log;
}

static int zstd_init(kp_inflate_t *z) {
    z->zstd = ZSTD_createDCtx();
    if (!z->zstd) return KP_INFLATE_NOMEM;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(z->zstd, ZSTD_d_windowLogMax, zstd_window_log(z->max_out))))
        return KP_INFLATE_NOMEM;
    return 0;
}

/* ---------------------------------------------------------------- snappy */

/* Decompresses one raw snappy block into buf (grown to fit): the declared
 * size is checked against what the cap leaves before any allocation. */
static int snappy_block(kp_inflate_t *z, const uint8_t *p, size_t n, size_t *len) {
    size_t need, got;

    if (snappy_uncompressed_length((const char *)p, n, &need) != SNAPPY_OK) return KP_INFLATE_CORRUPT;
    if (need > z->max_out - z->total) return KP_INFLATE_TOO_LARGE;
    if (need > z->buf_cap) {
        uint8_t *nb = realloc(z->buf, need);
        if (!nb) return KP_INFLATE_NOMEM;
        z->buf = nb;
        z->buf_cap = need;
    }
    got = need;
    if (snappy_uncompress((const char *)p, n, (char *)z->buf, &got) != SNAPPY_OK || got != need)
        return KP_INFLATE_CORRUPT;
    *len = got;
    return 0;
}

static bool xerial_framed(const uint8_t *p, size_t n) {
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    return n >= XERIAL_HEADER_SIZE && memcmp(p, magic, sizeof(magic)) == 0;
}

/* Java's snappy-java framing: a 16-byte header (magic, version, compatible
 * version), then blocks each preceded by a 4-byte big-endian length.  One
 * block per piece. */
static int snappy_next(kp_inflate_t *z, size_t *len) {
    const uint8_t *p = z->in + z->pos;
    size_t left = z->in_len - z->pos, n;

    if (!xerial_framed(z->in, z->in_len)) {
        z->pos = z->in_len;
        z->ended = true;
        return snappy_block(z, z->in, z->in_len, len);
    }
    if (z->pos == 0) {
        z->pos = XERIAL_HEADER_SIZE;
        return snappy_next(z, len);
    }
    if (left == 0) { /* the header alone: an empty stream, as a rebuilt empty payload is written */
        z->ended = true;
        *len = 0;
        return 0;
    }
    if (left < 4) return KP_INFLATE_CORRUPT;
    n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (n > left - 4) return KP_INFLATE_CORRUPT;
    z->pos += 4 + n;
    z->ended = z->pos == z->in_len;
    return snappy_block(z, p + 4, n, len);
}

/* ------------------------------------------------------------ the stream */

static int codec_init(kp_inflate_t *z) {
    switch (z->codec) {
    case KP_CODEC_NONE: return 0;
    case KP_CODEC_GZIP: return gzip_init(z);
    case KP_CODEC_SNAPPY: return 0;
    case KP_CODEC_LZ4: return lz4_init(z);
    case KP_CODEC_ZSTD: return zstd_init(z);
    default: return KP_INFLATE_CORRUPT;
    }
}

int kp_inflate_new(kp_inflate_t **out, int codec, const uint8_t *in, size_t in_len, size_t max_out) {
    kp_inflate_t *z = calloc(1, sizeof(*z));
    int rc;

    *out = NULL;
    if (!z) return KP_INFLATE_NOMEM;
    *z = (kp_inflate_t){.codec = codec, .in = in, .in_len = in_len, .max_out = max_out, .status = KP_INFLATE_PIECE};
    if (codec != KP_CODEC_NONE) {
        z->buf_cap = KP_INFLATE_CHUNK;
        z->buf = malloc(z->buf_cap);
        if (!z->buf) {
            kp_inflate_free(z);
            return KP_INFLATE_NOMEM;
        }
    }
    rc = codec_init(z);
    if (rc != 0) {
        kp_inflate_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

/* The input itself, once. */
static int none_next(kp_inflate_t *z, const uint8_t **piece, size_t *len) {
    z->ended = true;
    *piece = z->in;
    *len = z->in_len;
    z->total = z->in_len;
    return z->in_len > 0 ? KP_INFLATE_PIECE : KP_INFLATE_END;
}

static int codec_next(kp_inflate_t *z, size_t *len) {
    switch (z->codec) {
    case KP_CODEC_GZIP: return gzip_next(z, len);
    case KP_CODEC_SNAPPY: return snappy_next(z, len);
    case KP_CODEC_LZ4: return lz4_next(z, len);
    default: return zstd_next(z, len);
    }
}

int kp_inflate_next(kp_inflate_t *z, const uint8_t **piece, size_t *len) {
    size_t n = 0;
    int rc = 0;

    if (z->status != KP_INFLATE_PIECE) return z->status;
    if (z->codec == KP_CODEC_NONE && !z->ended) return none_next(z, piece, len);
    /* Empty blocks and frames produce nothing: go on to the next one. */
    while (rc == 0 && n == 0 && !z->ended) {
        rc = codec_next(z, &n);
        if (rc == 0 && n > z->max_out - z->total) rc = KP_INFLATE_TOO_LARGE;
    }
    if (rc != 0) return z->status = rc;
    if (n == 0) return z->status = KP_INFLATE_END;
    z->total += n;
    *piece = z->buf;
    *len = n;
    return KP_INFLATE_PIECE;
}

size_t kp_inflate_total(const kp_inflate_t *z) { return z->total; }

void kp_inflate_free(kp_inflate_t *z) {
    if (!z) return;
    if (z->gz_ready) inflateEnd(&z->gz);
    if (z->lz4) LZ4F_freeDecompressionContext(z->lz4);
    if (z->zstd) ZSTD_freeDCtx(z->zstd);
    free(z->buf);
    free(z);
}
