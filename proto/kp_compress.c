/*
 * kp_compress.c - streaming batch payload compression (see kp_compress.h).
 *
 * One state object per stream: the output buffer with its length, its
 * capacity and two bounds, and the codec's context.  Input is handed to
 * the codec in pieces of at most CHUNK bytes; after each piece the output
 * is checked against max_out.  Because of that check, the output never
 * holds more than max_out bytes when a piece starts, and a piece cannot
 * add more than SLACK (the largest bound of one CHUNK in any codec), so
 * the buffer is never grown past max_out + SLACK: growing is a plain
 * doubling clipped to that limit.  A sticky `status` keeps every call
 * after a failure returning it.
 */
#include "proto/kp_compress.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"

#define CHUNK (64u << 10)  /* input bytes handed to a codec at a time */
#define SLACK (256u << 10) /* >= what one CHUNK can add in any codec (lz4's bound is ~129 KiB) */
#define STEP (16u << 10)   /* room asked for by the streaming codecs (gzip, zstd) */
#define ZSTD_LEVEL 3
#define XERIAL_HEADER_SIZE 16

struct kp_deflate {
    int codec;
    int status;           /* KP_DEFLATE_OK until a failure */
    uint8_t *buf;
    size_t len, cap;
    size_t max_out, limit; /* limit = max_out + SLACK: the most cap may ever be */
    bool gz_ready;        /* deflateInit2 succeeded (deflateEnd needed) */
    z_stream gz;
    LZ4F_cctx *lz4;
    LZ4F_preferences_t lz4_prefs;
    ZSTD_CCtx *zstd;
};

int kp_codec_by_name(const char *name) {
    static const struct {
        const char *name;
        int codec;
    } names[] = {{"producer", KP_CODEC_PRODUCER}, {"uncompressed", KP_CODEC_NONE}, {"gzip", KP_CODEC_GZIP},
                 {"snappy", KP_CODEC_SNAPPY},     {"lz4", KP_CODEC_LZ4},            {"zstd", KP_CODEC_ZSTD}};

    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0) return names[i].codec;
    return KP_CODEC_UNKNOWN;
}

/* ------------------------------------------------------------ the buffer */

/* Makes room for need more bytes.  Within the bounds described at the top
 * this never reaches the limit; the check is the backstop. */
static int reserve(kp_deflate_t *d, size_t need) {
    size_t cap;

    if (d->cap - d->len >= need) return 0;
    if (need > d->limit - d->len) return KP_DEFLATE_TOO_LARGE;
    cap = d->cap > d->limit / 2 ? d->limit : d->cap * 2;
    if (cap < d->len + need) cap = d->len + need;
    uint8_t *nb = realloc(d->buf, cap);
    if (!nb) return KP_DEFLATE_NOMEM;
    d->buf = nb;
    d->cap = cap;
    return 0;
}

/* Room for a streaming codec: STEP bytes, or what is left below the limit. */
static int reserve_some(kp_deflate_t *d) {
    size_t left = d->limit - d->len;

    return reserve(d, left < STEP ? (left ? left : 1) : STEP);
}

/* The room a streaming codec may write into (its counts are 32-bit). */
static size_t room(const kp_deflate_t *d) {
    size_t r = d->cap - d->len;

    return r > UINT_MAX ? UINT_MAX : r;
}

/* ------------------------------------------------------------------ gzip */

static int gzip_run(kp_deflate_t *d, const uint8_t *p, size_t n, int flush) {
    z_stream *s = &d->gz;

    s->next_in = (Bytef *)(uintptr_t)p;
    s->avail_in = (uInt)n; /* n <= CHUNK */
    for (;;) {
        int rc = reserve_some(d);
        if (rc != 0) return rc;
        size_t r = room(d);
        s->next_out = d->buf + d->len;
        s->avail_out = (uInt)r;
        rc = deflate(s, flush);
        d->len += r - s->avail_out;
        if (rc == Z_STREAM_ERROR) return KP_DEFLATE_NOMEM;
        if (flush == Z_FINISH ? rc == Z_STREAM_END : s->avail_in == 0 && s->avail_out > 0) return 0;
        if (d->len > d->max_out) return KP_DEFLATE_TOO_LARGE;
    }
}

static int gzip_init(kp_deflate_t *d) {
    /* 16 + MAX_WBITS: a gzip header and trailer around the deflate stream. */
    if (deflateInit2(&d->gz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return KP_DEFLATE_NOMEM;
    d->gz_ready = true;
    return 0;
}

/* ------------------------------------------------------------------ zstd */

static int zstd_run(kp_deflate_t *d, const uint8_t *p, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in = {p, n, 0};

    for (;;) {
        int rc = reserve_some(d);
        if (rc != 0) return rc;
        ZSTD_outBuffer out = {d->buf + d->len, d->cap - d->len, 0};
        size_t left = ZSTD_compressStream2(d->zstd, &out, &in, mode);
        d->len += out.pos;
        if (ZSTD_isError(left)) return KP_DEFLATE_NOMEM;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return 0;
        if (d->len > d->max_out) return KP_DEFLATE_TOO_LARGE;
    }
}

static int zstd_init(kp_deflate_t *d) {
    d->zstd = ZSTD_createCCtx();
    if (!d->zstd || ZSTD_isError(ZSTD_CCtx_setParameter(d->zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL)))
        return KP_DEFLATE_NOMEM;
    return 0;
}

/* ------------------------------------------------------------------- lz4 */

static int lz4_write(kp_deflate_t *d, const uint8_t *p, size_t n) {
    int rc = reserve(d, LZ4F_compressBound(n, &d->lz4_prefs));
    size_t got;

    if (rc != 0) return rc;
    got = LZ4F_compressUpdate(d->lz4, d->buf + d->len, d->cap - d->len, p, n, NULL);
    if (LZ4F_isError(got)) return KP_DEFLATE_NOMEM;
    d->len += got;
    return 0;
}

static int lz4_end(kp_deflate_t *d) {
    int rc = reserve(d, LZ4F_compressBound(0, &d->lz4_prefs));
    size_t got;

    if (rc != 0) return rc;
    got = LZ4F_compressEnd(d->lz4, d->buf + d->len, d->cap - d->len, NULL);
    if (LZ4F_isError(got)) return KP_DEFLATE_NOMEM;
    d->len += got;
    return 0;
}

/* Independent 64 KiB blocks, no checksums: what Kafka's Java reader, which
 * decompresses each block on its own, can read. */
static int lz4_init(kp_deflate_t *d) {
    size_t got;
    int rc;

    if (LZ4F_isError(LZ4F_createCompressionContext(&d->lz4, LZ4F_VERSION))) return KP_DEFLATE_NOMEM;
    memset(&d->lz4_prefs, 0, sizeof(d->lz4_prefs));
    d->lz4_prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    d->lz4_prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    if ((rc = reserve(d, LZ4F_HEADER_SIZE_MAX)) != 0) return rc;
    got = LZ4F_compressBegin(d->lz4, d->buf + d->len, d->cap - d->len, &d->lz4_prefs);
    if (LZ4F_isError(got)) return KP_DEFLATE_NOMEM;
    d->len += got;
    return 0;
}

/* ---------------------------------------------------------------- snappy */

/* One block of the xerial framing: its length (4 bytes, big-endian), then
 * the raw snappy block. */
static int snappy_write(kp_deflate_t *d, const uint8_t *p, size_t n) {
    size_t out = snappy_max_compressed_length(n);
    int rc = reserve(d, 4 + out);

    if (rc != 0) return rc;
    if (snappy_compress((const char *)p, n, (char *)d->buf + d->len + 4, &out) != SNAPPY_OK) return KP_DEFLATE_NOMEM;
    kp_put_be(d->buf + d->len, out, 4);
    d->len += 4 + out;
    return 0;
}

/* snappy-java's header: its magic, then version 1 and compatible version 1. */
static int snappy_init(kp_deflate_t *d) {
    static const uint8_t header[XERIAL_HEADER_SIZE] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    int rc = reserve(d, sizeof(header));

    if (rc != 0) return rc;
    memcpy(d->buf + d->len, header, sizeof(header));
    d->len += sizeof(header);
    return 0;
}

/* ------------------------------------------------------------ the stream */

static int codec_init(kp_deflate_t *d) {
    switch (d->codec) {
    case KP_CODEC_NONE: return 0;
    case KP_CODEC_GZIP: return gzip_init(d);
    case KP_CODEC_SNAPPY: return snappy_init(d);
    case KP_CODEC_LZ4: return lz4_init(d);
    case KP_CODEC_ZSTD: return zstd_init(d);
    default: return KP_DEFLATE_BAD_CODEC;
    }
}

int kp_deflate_new(kp_deflate_t **out, int codec, size_t reserve_bytes, size_t max_out) {
    kp_deflate_t *d = calloc(1, sizeof(*d));
    int rc;

    *out = NULL;
    if (!d) return KP_DEFLATE_NOMEM;
    d->codec = codec;
    d->max_out = max_out;
    d->limit = max_out > SIZE_MAX - SLACK ? SIZE_MAX : max_out + SLACK;
    rc = reserve_bytes > max_out ? KP_DEFLATE_TOO_LARGE : reserve(d, reserve_bytes + CHUNK);
    if (rc == 0) {
        d->len = reserve_bytes;
        rc = codec_init(d);
    }
    if (rc != 0) {
        kp_deflate_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int codec_write(kp_deflate_t *d, const uint8_t *p, size_t n) {
    int rc;

    switch (d->codec) {
    case KP_CODEC_GZIP: return gzip_run(d, p, n, Z_NO_FLUSH);
    case KP_CODEC_SNAPPY: return snappy_write(d, p, n);
    case KP_CODEC_LZ4: return lz4_write(d, p, n);
    case KP_CODEC_ZSTD: return zstd_run(d, p, n, ZSTD_e_continue);
    default:
        if ((rc = reserve(d, n)) != 0) return rc;
        memcpy(d->buf + d->len, p, n);
        d->len += n;
        return 0;
    }
}

int kp_deflate_pledge(kp_deflate_t *d, uint64_t total) {
    if (d->status == KP_DEFLATE_OK && d->zstd && ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(d->zstd, total)))
        d->status = KP_DEFLATE_NOMEM;
    return d->status;
}

int kp_deflate_write(kp_deflate_t *d, const uint8_t *p, size_t n) {
    while (d->status == KP_DEFLATE_OK && n > 0) {
        size_t k = n < CHUNK ? n : CHUNK;
        d->status = codec_write(d, p, k);
        if (d->status == KP_DEFLATE_OK && d->len > d->max_out) d->status = KP_DEFLATE_TOO_LARGE;
        p += k;
        n -= k;
    }
    return d->status;
}

static int codec_end(kp_deflate_t *d) {
    switch (d->codec) {
    case KP_CODEC_GZIP: return gzip_run(d, NULL, 0, Z_FINISH);
    case KP_CODEC_LZ4: return lz4_end(d);
    case KP_CODEC_ZSTD: return zstd_run(d, NULL, 0, ZSTD_e_end);
    default: return 0; /* none, and snappy's blocks are complete */
    }
}

int kp_deflate_finish(kp_deflate_t *d, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    if (d->status == KP_DEFLATE_OK) d->status = codec_end(d);
    if (d->status == KP_DEFLATE_OK && d->len > d->max_out) d->status = KP_DEFLATE_TOO_LARGE;
    if (d->status != KP_DEFLATE_OK) return d->status;
    *buf = d->buf;
    *len = d->len;
    d->buf = NULL;
    d->len = d->cap = 0;
    return KP_DEFLATE_OK;
}

void kp_deflate_free(kp_deflate_t *d) {
    if (!d) return;
    if (d->gz_ready) deflateEnd(&d->gz);
    if (d->lz4) LZ4F_freeCompressionContext(d->lz4);
    ZSTD_freeCCtx(d->zstd);
    free(d->buf);
    free(d);
}
