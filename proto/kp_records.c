/*
 * kp_records.c - the record walk of one batch (see kp_records.h).
 *
 * The payload arrives in pieces (the whole of it for an uncompressed batch,
 * KP_INFLATE_CHUNK at a time otherwise) and a record may straddle two
 * pieces, so the walker is a small state machine: either it is skipping
 * the body of the current record, or it is reading a record's "head" (its
 * length varint plus, with a callback, up to HEAD_PREFIX_MAX bytes of the
 * fields after it).  A head that lies whole inside the piece is decoded in
 * place; one cut by the end of a piece is copied into a buffer of at most
 * HEAD_MAX bytes and completed from the next piece.  Nothing is allocated
 * per record.
 */
#include "proto/kp_records.h"

#include <stdbool.h>
#include <string.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "proto/kp_codec.h"

#define HEAD_LENGTH_MAX 5  /* a varint32 */
#define HEAD_PREFIX_MAX 16 /* attributes int8 + timestamp delta varlong (10) + offset delta varint (5) */
#define HEAD_MAX (HEAD_LENGTH_MAX + HEAD_PREFIX_MAX)

typedef struct walker {
    int32_t expected, seen;
    kp_record_fn fn;
    void *arg;
    uint8_t head[HEAD_MAX]; /* a head cut by the end of a piece */
    size_t have;            /* bytes of it collected */
    uint64_t skip;          /* bytes of the current record still to pass over */
} walker_t;

enum { HEAD_INCOMPLETE = 0, HEAD_DONE = 1, HEAD_BAD = -1 };

/* Decodes a record head from buf[0, avail): HEAD_DONE with the bytes it
 * took in *used (of which *prefix are body bytes after the length) and the
 * record in *r, HEAD_INCOMPLETE when avail is too short to tell, HEAD_BAD
 * when it cannot be a record. */
static int parse_head(const walker_t *w, const uint8_t *buf, size_t avail, size_t *used, size_t *prefix,
                      kp_record_info_t *r) {
    kp_reader_t rd;
    size_t length_bytes;

    kp_reader_init(&rd, buf, avail < HEAD_MAX ? avail : HEAD_MAX);
    r->length = kp_read_varint(&rd);
    if (rd.err == KP_BUF_SHORT) return HEAD_INCOMPLETE;
    if (rd.err || r->length < 0) return HEAD_BAD;
    length_bytes = (size_t)(rd.p - buf);
    *prefix = w->fn ? ((size_t)r->length < HEAD_PREFIX_MAX ? (size_t)r->length : HEAD_PREFIX_MAX) : 0;
    if (avail - length_bytes < *prefix) return HEAD_INCOMPLETE;
    if (w->fn) {
        kp_reader_init(&rd, buf + length_bytes, *prefix);
        kp_read_int8(&rd);
        r->timestamp_delta = kp_read_varlong(&rd);
        r->offset_delta = kp_read_varint(&rd);
        if (rd.err) return HEAD_BAD;
    }
    *used = length_bytes + *prefix;
    return HEAD_DONE;
}

/* One more record: counted, shown to fn, its body to be skipped. */
static int take_record(walker_t *w, const kp_record_info_t *r, size_t prefix) {
    if (++w->seen > w->expected) return KP_WALK_CORRUPT;
    w->skip = (uint64_t)r->length - prefix;
    if (w->fn && w->fn(w->arg, r) != 0) return KP_WALK_STOPPED;
    return 0;
}

/* Reads a head from p[0, n), or goes on with one cut by the previous piece
 * (kept in w->head); *took says how many bytes of p it used.  A head cut
 * again is kept for the next piece. */
static int feed_head(walker_t *w, const uint8_t *p, size_t n, size_t *took) {
    size_t old = w->have, used, prefix, copy;
    kp_record_info_t r;
    int rc;

    if (old == 0) {
        rc = parse_head(w, p, n, &used, &prefix, &r);
        if (rc == HEAD_BAD) return KP_WALK_CORRUPT;
        if (rc == HEAD_DONE) {
            *took = used;
            return take_record(w, &r, prefix);
        }
    }
    copy = HEAD_MAX - old < n ? HEAD_MAX - old : n;
    memcpy(w->head + old, p, copy);
    w->have += copy;
    rc = parse_head(w, w->head, w->have, &used, &prefix, &r);
    if (rc == HEAD_BAD) return KP_WALK_CORRUPT;
    if (rc == HEAD_INCOMPLETE) {
        *took = copy;
        return 0;
    }
    *took = used - old;
    w->have = 0;
    return take_record(w, &r, prefix);
}

/* Feeds one piece of the payload; 0 to go on, else a KP_WALK_* value. */
static int walker_feed(walker_t *w, const uint8_t *p, size_t n) {
    while (n > 0) {
        size_t took;
        if (w->skip > 0) {
            took = w->skip < n ? (size_t)w->skip : n;
            w->skip -= took;
        } else {
            int rc = feed_head(w, p, n, &took);
            if (rc != 0) return rc;
        }
        p += took;
        n -= took;
    }
    return 0;
}

/* The payload ended: it must end at a record boundary after exactly the
 * declared number of records. */
static int walker_end(const walker_t *w) {
    return w->have == 0 && w->skip == 0 && w->seen == w->expected ? KP_WALK_END : KP_WALK_CORRUPT;
}

static int from_inflate(int rc) {
    switch (rc) {
    case KP_INFLATE_TOO_LARGE: return KP_WALK_TOO_LARGE;
    case KP_INFLATE_NOMEM: return KP_WALK_NOMEM;
    default: return KP_WALK_CORRUPT;
    }
}

/* The walk, with a record callback, a piece callback, both or neither. */
static int walk(const uint8_t *p, size_t size, size_t max_inflate, walker_t *w, kp_piece_fn piece, void *piece_arg,
                size_t *inflated) {
    kp_batch_header_t h;
    kp_inflate_t *z;
    const uint8_t *bytes;
    size_t len;
    int rc;

    if (inflated) *inflated = 0;
    if (kp_batch_header_decode(p, size, &h) != 0 || h.batch_length < KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD ||
        kp_batch_size(&h) > size)
        return KP_WALK_CORRUPT;
    w->expected = h.records_count;
    rc = kp_inflate_new(&z, h.attributes & KP_ATTR_CODEC_MASK, p + KP_BATCH_HEADER_SIZE,
                        kp_batch_size(&h) - KP_BATCH_HEADER_SIZE, max_inflate);
    if (rc != 0) return from_inflate(rc);
    for (;;) {
        int got = kp_inflate_next(z, &bytes, &len);
        if (got != KP_INFLATE_PIECE) {
            rc = got == KP_INFLATE_END ? walker_end(w) : from_inflate(got);
            break;
        }
        if ((rc = walker_feed(w, bytes, len)) != 0) break;
        if (piece && (rc = piece(piece_arg, bytes, len)) != 0) break;
    }
    if (inflated && kp_batch_codec(&h) != KP_CODEC_NONE) *inflated = kp_inflate_total(z);
    kp_inflate_free(z);
    return rc;
}

int kp_records_walk(const uint8_t *p, size_t size, size_t max_inflate, kp_record_fn fn, void *arg,
                    size_t *inflated) {
    walker_t w = {.fn = fn, .arg = arg};

    return walk(p, size, max_inflate, &w, NULL, NULL, inflated);
}

int kp_records_walk_pieces(const uint8_t *p, size_t size, size_t max_inflate, kp_piece_fn piece, void *arg,
                           size_t *inflated) {
    walker_t w = {0};

    return walk(p, size, max_inflate, &w, piece, arg, inflated);
}
