/*
 * batchfix.c - compressed producer batches for the unit tests (see
 * batchfix.h).
 */
#include "tests/unit/batchfix.h"

#include <check.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"

static uint8_t *put_varint(uint8_t *p, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    for (; u >= 0x80; u >>= 7) *p++ = (uint8_t)(u | 0x80);
    *p++ = (uint8_t)u;
    return p;
}

uint8_t *batchfix_record(uint8_t *p, int offset_delta, int64_t ts_delta, size_t value_len) {
    uint8_t head[32], *h = head;
    size_t head_len;

    *h++ = 0;                         /* attributes */
    h = put_varint(h, ts_delta);      /* timestamp delta */
    h = put_varint(h, offset_delta);  /* offset delta */
    h = put_varint(h, -1);            /* null key */
    h = put_varint(h, (int64_t)value_len);
    head_len = (size_t)(h - head);
    p = put_varint(p, (int64_t)(head_len + value_len + 1));
    memcpy(p, head, head_len);
    memset(p + head_len, 'v', value_len);
    p += head_len + value_len;
    return put_varint(p, 0); /* no headers */
}

uint8_t *batchfix_records(int n, size_t value_len, int64_t ts_step, size_t *size) {
    uint8_t *buf = malloc((size_t)n * (value_len + BATCHFIX_RECORD_OVERHEAD) + 1), *p = buf;

    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < n; i++) p = batchfix_record(p, i, (int64_t)i * ts_step, value_len);
    *size = (size_t)(p - buf);
    return buf;
}

static size_t gzip_into(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    z_stream z;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    deflateEnd(&z);
    return cap - z.avail_out;
}

uint8_t *batchfix_compress(int codec, const uint8_t *in, size_t n, size_t *out_len) {
    size_t cap = n + n / 2 + 1024;
    uint8_t *out = malloc(cap);

    ck_assert_ptr_nonnull(out);
    switch (codec) {
    case KP_CODEC_GZIP: *out_len = gzip_into(in, n, out, cap); break;
    case KP_CODEC_SNAPPY:
        *out_len = cap;
        ck_assert_int_eq(snappy_compress((const char *)in, n, (char *)out, out_len), SNAPPY_OK);
        break;
    case KP_CODEC_LZ4:
        *out_len = LZ4F_compressFrame(out, cap, in, n, NULL);
        ck_assert(!LZ4F_isError(*out_len));
        break;
    case KP_CODEC_ZSTD:
        *out_len = ZSTD_compress(out, cap, in, n, 3);
        ck_assert(!ZSTD_isError(*out_len));
        break;
    default:
        memcpy(out, in, n);
        *out_len = n;
    }
    return out;
}

uint8_t *batchfix_wrap(int codec, int n, int64_t ts, const uint8_t *payload, size_t len, size_t *size) {
    uint8_t *buf = malloc(KP_BATCH_HEADER_SIZE + len);

    ck_assert_ptr_nonnull(buf);
    *size = KP_BATCH_HEADER_SIZE + len;
    memset(buf, 0, KP_BATCH_HEADER_SIZE);
    memcpy(buf + KP_BATCH_HEADER_SIZE, payload, len);
    kp_put_be(buf + KP_BATCH_OFF_LENGTH, *size - KP_LOG_OVERHEAD, 4);
    kp_put_be(buf + KP_BATCH_OFF_LEADER_EPOCH, (uint64_t)-1, 4);
    buf[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_put_be(buf + KP_BATCH_OFF_ATTRIBUTES, (uint64_t)codec, 2);
    kp_put_be(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint64_t)(n - 1), 4);
    kp_put_be(buf + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)ts, 8);
    kp_put_be(buf + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts, 8);
    memset(buf + KP_BATCH_OFF_PRODUCER_ID, 0xff, 8 + 2 + 4);
    kp_put_be(buf + KP_BATCH_OFF_RECORDS_COUNT, (uint64_t)n, 4);
    kp_put_be(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, *size - KP_BATCH_OFF_ATTRIBUTES), 4);
    return buf;
}

uint8_t *batchfix_build(int codec, int n, size_t value_len, int64_t ts, int64_t ts_step, size_t *size) {
    size_t plain_len, packed_len;
    uint8_t *plain = batchfix_records(n, value_len, ts_step, &plain_len);
    uint8_t *packed = batchfix_compress(codec, plain, plain_len, &packed_len);
    uint8_t *batch = batchfix_wrap(codec, n, ts, packed, packed_len, size);

    /* max_timestamp: the last record's. */
    kp_put_be(batch + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)(ts + (int64_t)(n - 1) * ts_step), 8);
    kp_put_be(batch + KP_BATCH_OFF_CRC,
              kp_crc32c(0, batch + KP_BATCH_OFF_ATTRIBUTES, *size - KP_BATCH_OFF_ATTRIBUTES), 4);
    free(plain);
    free(packed);
    return batch;
}
