/*
 * kp_record_iter.c - the record iterator over one uncompressed batch (see
 * kp_record_iter.h).
 *
 * Each record is taken whole first: its length varint must fit in what is
 * left of the batch, and its fields are then read through a reader of
 * exactly that length, which every field must fill (Kafka's DefaultRecord
 * refuses a record whose fields do not use its declared size).  So no
 * field of one record can reach into the next, and none past the batch.
 * The varints are kp_buf's ZigZag readers, as kp_records_walk uses.
 */
#include "proto/kp_record_iter.h"

#include <stdbool.h>

/* The smallest batch_length: the header after base_offset and itself. */
#define BATCH_LENGTH_MIN (KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD)

static const kp_bytes_t null_bytes = {KP_NULL_LEN, NULL};

int kp_record_iter_init(kp_record_iter_t *it, const uint8_t *p, size_t size) {
    kp_batch_header_t *h = &it->header;
    int codec;

    *it = (kp_record_iter_t){.state = KP_ITER_CORRUPT};
    if (kp_batch_header_decode(p, size, h) != 0 || h->magic != KP_BATCH_MAGIC || h->batch_length < BATCH_LENGTH_MIN ||
        kp_batch_size(h) > size || h->records_count < 0)
        return it->state;
    codec = kp_batch_codec(h);
    if (codec > KP_CODEC_ZSTD) return it->state;
    if (codec != KP_CODEC_NONE) {
        it->state = KP_ITER_COMPRESSED;
        return it->state;
    }
    kp_reader_init(&it->records, p + KP_BATCH_HEADER_SIZE, kp_batch_size(h) - KP_BATCH_HEADER_SIZE);
    it->left = h->records_count;
    it->state = KP_ITER_END;
    return it->state;
}

/* A varint length and that many bytes; -1 is null where nullable. */
static kp_bytes_t read_blob(kp_reader_t *r, bool nullable) {
    int32_t len = kp_read_varint(r);
    const uint8_t *p;

    if (r->err) return null_bytes;
    if (len < 0) {
        if (len != KP_NULL_LEN || !nullable) kp_reader_fail(r, KP_BUF_INVALID);
        return null_bytes;
    }
    p = kp_read_raw(r, (size_t)len);
    return p ? (kp_bytes_t){len, p} : null_bytes;
}

/* Headers are read only to be passed over: key (never null), value. */
static void skip_headers(kp_reader_t *r) {
    int32_t n = kp_read_varint(r);

    if (n < 0) kp_reader_fail(r, KP_BUF_INVALID);
    for (int32_t i = 0; i < n && !r->err; i++) {
        read_blob(r, false);
        read_blob(r, true);
    }
}

/* Reads the record body at r (exactly its declared length) into *rec;
 * false when it is not a well-formed record. */
static bool read_body(kp_reader_t *r, int64_t base_offset, kp_record_t *rec) {
    int32_t offset_delta;

    kp_read_int8(r);    /* attributes, unused */
    kp_read_varlong(r); /* timestamp delta, not needed here */
    offset_delta = kp_read_varint(r);
    rec->key = read_blob(r, true);
    rec->value = read_blob(r, true);
    skip_headers(r);
    if (kp_reader_expect_end(r) != KP_BUF_OK) return false;
    /* Both come from the batch: an offset past INT64_MAX is corruption. */
    return !__builtin_add_overflow(base_offset, (int64_t)offset_delta, &rec->offset);
}

static bool read_record(kp_record_iter_t *it, kp_record_t *rec) {
    int32_t length = kp_read_varint(&it->records);
    const uint8_t *body;
    kp_reader_t r;

    if (it->records.err || length < 0) return false;
    body = kp_read_raw(&it->records, (size_t)length);
    if (!body) return false;
    kp_reader_init(&r, body, (size_t)length);
    return read_body(&r, it->header.base_offset, rec);
}

int kp_record_iter_next(kp_record_iter_t *it, kp_record_t *rec) {
    if (it->state != KP_ITER_END) return it->state;
    if (it->left == 0) {
        /* The declared count is done: the records must end with the batch. */
        if (kp_reader_left(&it->records) != 0) it->state = KP_ITER_CORRUPT;
        return it->state;
    }
    if (!read_record(it, rec)) {
        it->state = KP_ITER_CORRUPT;
        return it->state;
    }
    it->left--;
    return KP_ITER_RECORD;
}
