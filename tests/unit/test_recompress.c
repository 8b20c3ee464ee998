/*
 * test_recompress.c - batches rebuilt with the topic's codec
 * (proto/kp_recompress.c on proto/kp_compress.c): every pair of codecs
 * keeps the records byte for byte and the header's producer, sequence,
 * timestamp and flag fields, with a valid CRC and the new codec bits;
 * what each codec writes is what Kafka's readers expect (xerial snappy,
 * independent lz4 blocks); a bomb stops at the inflation cap, a corrupt
 * payload or a lying record count is refused, and a result above
 * max.message.bytes is refused without being held whole.
 */
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "proto/kp_codec.h"
#include "proto/kp_compress.h"
#include "proto/kp_records.h"
#include "proto/kp_recompress.h"
#include "tests/unit/batchfix.h"
#include "tests/unit/unit.h"

#define TS 1600000000000LL
#define INFLATE_CAP (8u << 20)
#define OUT_CAP (8u << 20)
#define N_CODECS 5

static const int codecs[N_CODECS] = {KP_CODEC_NONE, KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};

/* The uncompressed records of a batch (its payload decompressed), in a
 * malloc'd buffer of *len bytes. */
static uint8_t *records_of(const uint8_t *b, size_t size, size_t *len) {
    kp_batch_header_t h;
    kp_inflate_t *z;
    const uint8_t *piece;
    size_t n, cap = 1 << 16;
    uint8_t *out = malloc(cap);
    int rc;

    ck_assert_int_eq(kp_batch_header_decode(b, size, &h), 0);
    ck_assert_int_eq(kp_inflate_new(&z, kp_batch_codec(&h), b + KP_BATCH_HEADER_SIZE, size - KP_BATCH_HEADER_SIZE,
                                    INFLATE_CAP),
                     0);
    *len = 0;
    while ((rc = kp_inflate_next(z, &piece, &n)) == KP_INFLATE_PIECE) {
        while (*len + n > cap) out = realloc(out, cap *= 2);
        memcpy(out + *len, piece, n);
        *len += n;
    }
    ck_assert_int_eq(rc, KP_INFLATE_END);
    kp_inflate_free(z);
    return out;
}

/* Producer fields, transactional and LogAppendTime flags set, as a
 * transactional idempotent producer's batch whose topic appends with
 * LogAppendTime would carry them; CRC recomputed. */
static void dress(uint8_t *b, size_t size, int16_t flags) {
    int16_t attributes = (int16_t)kp_get_be(b + KP_BATCH_OFF_ATTRIBUTES, 2);

    kp_put_be(b + KP_BATCH_OFF_ATTRIBUTES, (uint16_t)(attributes | flags), 2);
    kp_put_be(b + KP_BATCH_OFF_LEADER_EPOCH, 0, 4);
    kp_put_be(b + KP_BATCH_OFF_PRODUCER_ID, 4242, 8);
    kp_put_be(b + KP_BATCH_OFF_PRODUCER_EPOCH, 7, 2);
    kp_put_be(b + KP_BATCH_OFF_BASE_SEQUENCE, 2147483600, 4);
    kp_put_be(b + KP_BATCH_OFF_CRC, kp_crc32c(0, b + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES), 4);
}

/* Everything but length, CRC and codec bits is the original's; the batch
 * scans as a stored batch would and passes the produce checks again. */
static void check_header_kept(const uint8_t *orig, size_t orig_size, const kp_rebuilt_t *r, int codec) {
    kp_batch_header_t a, b;
    size_t scanned;

    kp_batch_header_decode(orig, orig_size, &a);
    ck_assert_int_eq(kp_batch_scan(r->batch, r->size, r->size, &b, &scanned), KP_SCAN_OK);
    ck_assert_uint_eq(scanned, r->size);
    ck_assert_int_eq(kp_batch_codec(&b), codec);
    ck_assert_int_eq(a.attributes & ~KP_ATTR_CODEC_MASK, b.attributes & ~KP_ATTR_CODEC_MASK);
    ck_assert_int_eq(a.base_offset, b.base_offset);
    ck_assert_int_eq(a.partition_leader_epoch, b.partition_leader_epoch);
    ck_assert_int_eq(a.last_offset_delta, b.last_offset_delta);
    ck_assert_int_eq(a.base_timestamp, b.base_timestamp);
    ck_assert_int_eq(a.max_timestamp, b.max_timestamp);
    ck_assert_int_eq(a.producer_id, b.producer_id);
    ck_assert_int_eq(a.producer_epoch, b.producer_epoch);
    ck_assert_int_eq(a.base_sequence, b.base_sequence);
    ck_assert_int_eq(a.records_count, b.records_count);
    ck_assert_int_eq(kp_batch_validate_records(r->batch, r->size, INFLATE_CAP, NULL), 0);
}

static void check_records_kept(const uint8_t *orig, size_t orig_size, const kp_rebuilt_t *r) {
    size_t a_len, b_len;
    uint8_t *a = records_of(orig, orig_size, &a_len), *b = records_of(r->batch, r->size, &b_len);

    ck_assert_uint_eq(a_len, b_len);
    ck_assert(memcmp(a, b, a_len) == 0);
    free(a);
    free(b);
}

/* Every codec into every codec, for a batch of 64 KiB pieces' worth of
 * records, with producer fields and the transactional and LogAppendTime
 * flags, and for one with none of them. */
START_TEST(every_pair_of_codecs_keeps_records_and_header) {
    int from = codecs[_i / N_CODECS], to = codecs[_i % N_CODECS];

    for (int dressed = 0; dressed < 2; dressed++) {
        size_t size;
        uint8_t *b = batchfix_build(from, 3000, 57, TS, 3, &size);
        kp_rebuilt_t r;
        if (dressed) dress(b, size, KP_ATTR_TRANSACTIONAL | KP_ATTR_LOG_APPEND_TIME);
        ck_assert_int_eq(kp_batch_recompress(b, size, to, INFLATE_CAP, OUT_CAP, &r), 0);
        check_header_kept(b, size, &r, to);
        check_records_kept(b, size, &r);
        size_t plain_len;
        free(records_of(b, size, &plain_len));
        ck_assert_uint_eq(r.inflated, from == KP_CODEC_NONE ? 0 : plain_len);
        free(r.batch);
        free(b);
    }
}
END_TEST

/* A control batch (only the broker writes those; the flags must survive a
 * rebuild all the same) keeps both of its flags. */
START_TEST(control_and_transactional_flags_survive) {
    size_t size;
    uint8_t *b = batchfix_build(KP_CODEC_LZ4, 1, 6, TS, 0, &size);
    kp_rebuilt_t r;

    dress(b, size, KP_ATTR_TRANSACTIONAL | KP_ATTR_CONTROL);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_ZSTD, INFLATE_CAP, OUT_CAP, &r), 0);
    check_header_kept(b, size, &r, KP_CODEC_ZSTD);
    ck_assert_int_eq(r.batch[KP_BATCH_OFF_ATTRIBUTES + 1], KP_ATTR_TRANSACTIONAL | KP_ATTR_CONTROL | KP_CODEC_ZSTD);
    free(r.batch);
    free(b);
}
END_TEST

/* snappy goes out in the xerial framing Kafka's broker writes, lz4 as one
 * frame of independent 64 KiB blocks, gzip with its magic, zstd as a frame. */
START_TEST(each_codec_writes_what_kafka_readers_expect) {
    static const uint8_t xerial[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    size_t size, hdr = 20;
    uint8_t *b = batchfix_build(KP_CODEC_NONE, 5000, 40, TS, 1, &size);
    kp_rebuilt_t r;
    LZ4F_dctx *dctx;
    LZ4F_frameInfo_t info;

    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_SNAPPY, INFLATE_CAP, OUT_CAP, &r), 0);
    ck_assert(memcmp(r.batch + KP_BATCH_HEADER_SIZE, xerial, sizeof(xerial)) == 0);
    free(r.batch);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_LZ4, INFLATE_CAP, OUT_CAP, &r), 0);
    ck_assert(!LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)));
    ck_assert(!LZ4F_isError(LZ4F_getFrameInfo(dctx, &info, r.batch + KP_BATCH_HEADER_SIZE, &hdr)));
    ck_assert_int_eq(info.blockMode, LZ4F_blockIndependent);
    ck_assert_int_eq(info.blockSizeID, LZ4F_max64KB);
    LZ4F_freeDecompressionContext(dctx);
    free(r.batch);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_GZIP, INFLATE_CAP, OUT_CAP, &r), 0);
    ck_assert(r.batch[KP_BATCH_HEADER_SIZE] == 0x1f && r.batch[KP_BATCH_HEADER_SIZE + 1] == 0x8b);
    free(r.batch);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_ZSTD, INFLATE_CAP, OUT_CAP, &r), 0);
    ck_assert_uint_eq(kp_get_be(r.batch + KP_BATCH_HEADER_SIZE, 4), 0x28B52FFD); /* little-endian 0xFD2FB528 */
    ck_assert_uint_lt(r.size, size / 10);
    /* The size of an uncompressed original is known: it is in the frame
     * header, for readers that decompress in one call (kafka-python). */
    ck_assert_uint_eq(ZSTD_getFrameContentSize(r.batch + KP_BATCH_HEADER_SIZE, r.size - KP_BATCH_HEADER_SIZE),
                      size - KP_BATCH_HEADER_SIZE);
    free(r.batch);
    free(b);
}
END_TEST

/* One record inflating to 32 MiB, far past the cap: refused as too large
 * once the cap is crossed, whatever the target. */
START_TEST(a_bomb_stops_at_the_inflation_cap) {
    size_t big = 32u << 20, plain_len, packed_len, size;
    uint8_t *plain = malloc(big + 2 * BATCHFIX_RECORD_OVERHEAD), *p = plain;

    ck_assert_ptr_nonnull(plain);
    p = batchfix_record(p, 0, 0, 10);
    p = batchfix_record(p, 1, 0, big);
    plain_len = (size_t)(p - plain);
    for (int i = 1; i < N_CODECS; i++) {
        uint8_t *packed = batchfix_compress(codecs[i], plain, plain_len, &packed_len);
        uint8_t *b = batchfix_wrap(codecs[i], 2, TS, packed, packed_len, &size);
        for (int t = 0; t < N_CODECS; t++) {
            kp_rebuilt_t r;
            ck_assert_int_eq(kp_batch_recompress(b, size, codecs[t], 1u << 20, 64u << 20, &r), 10);
            ck_assert_ptr_null(r.batch);
            ck_assert_uint_le(r.inflated, 1u << 20);
        }
        free(b);
        free(packed);
    }
    free(plain);
}
END_TEST

/* A payload that is not what its codec says, and records whose count the
 * header overstates: CORRUPT_MESSAGE, nothing returned. */
START_TEST(corrupt_input_is_refused) {
    static const uint8_t junk[] = "this is not a compressed payload at all, just words";
    size_t size, plain_len;
    uint8_t *plain = batchfix_records(10, 20, 1, &plain_len);

    for (int i = 1; i < N_CODECS; i++) {
        uint8_t *b = batchfix_wrap(codecs[i], 3, TS, junk, sizeof(junk), &size);
        kp_rebuilt_t r;
        ck_assert_int_eq(kp_batch_recompress(b, size, codecs[(i + 1) % N_CODECS], INFLATE_CAP, OUT_CAP, &r), 2);
        ck_assert_ptr_null(r.batch);
        free(b);
    }
    for (int i = 0; i < N_CODECS; i++) {
        size_t packed_len;
        uint8_t *packed = batchfix_compress(codecs[i], plain, plain_len, &packed_len);
        uint8_t *b = batchfix_wrap(codecs[i], 11, TS, packed, packed_len, &size); /* 10 records inside */
        kp_rebuilt_t r;
        ck_assert_int_eq(kp_batch_recompress(b, size, codecs[(i + 1) % N_CODECS], INFLATE_CAP, OUT_CAP, &r), 2);
        ck_assert_ptr_null(r.batch);
        free(b);
        free(packed);
    }
    free(plain);
}
END_TEST

/* The rebuilt batch is held against max_out: records that do not shrink
 * (pseudo-random bytes) fail when written uncompressed or with snappy into
 * less room than they need, and fit with exactly enough. */
START_TEST(a_result_above_max_out_is_refused) {
    size_t n = 300000, packed_len, size, exact;
    uint8_t *plain = malloc(n + BATCHFIX_RECORD_OVERHEAD), *p = plain, *packed, *b;
    uint32_t x = 2463534242u;
    kp_rebuilt_t r;

    p = batchfix_record(p, 0, 0, n);
    for (uint8_t *v = p - n - 1; v < p - 1; v++) *v = (uint8_t)((x ^= x << 13, x ^= x >> 17, x ^= x << 5) >> 24);
    packed = batchfix_compress(KP_CODEC_GZIP, plain, (size_t)(p - plain), &packed_len);
    b = batchfix_wrap(KP_CODEC_GZIP, 1, TS, packed, packed_len, &size);
    exact = KP_BATCH_HEADER_SIZE + (size_t)(p - plain);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_NONE, INFLATE_CAP, exact - 1, &r), 10);
    ck_assert_ptr_null(r.batch);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_SNAPPY, INFLATE_CAP, exact / 2, &r), 10);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_NONE, INFLATE_CAP, exact, &r), 0);
    ck_assert_uint_eq(r.size, exact);
    check_records_kept(b, size, &r);
    free(r.batch);
    ck_assert_int_eq(kp_batch_recompress(b, size, KP_CODEC_LZ4, INFLATE_CAP, 10, &r), 10); /* not even a header */
    free(b);
    free(packed);
    free(plain);
}
END_TEST

START_TEST(compression_type_names) {
    ck_assert_int_eq(kp_codec_by_name("producer"), KP_CODEC_PRODUCER);
    ck_assert_int_eq(kp_codec_by_name("uncompressed"), KP_CODEC_NONE);
    ck_assert_int_eq(kp_codec_by_name("gzip"), KP_CODEC_GZIP);
    ck_assert_int_eq(kp_codec_by_name("snappy"), KP_CODEC_SNAPPY);
    ck_assert_int_eq(kp_codec_by_name("lz4"), KP_CODEC_LZ4);
    ck_assert_int_eq(kp_codec_by_name("zstd"), KP_CODEC_ZSTD);
    ck_assert_int_eq(kp_codec_by_name("none"), KP_CODEC_UNKNOWN); /* Kafka's name is uncompressed */
    ck_assert_int_eq(kp_codec_by_name("GZIP"), KP_CODEC_UNKNOWN);
    ck_assert_int_eq(kp_codec_by_name(NULL), KP_CODEC_UNKNOWN);
}
END_TEST

/* A stream of a codec that is not one is refused up front. */
START_TEST(an_unknown_codec_is_refused) {
    size_t size;
    uint8_t *b = batchfix_build(KP_CODEC_NONE, 3, 10, TS, 1, &size);
    kp_rebuilt_t r;
    kp_deflate_t *d;

    ck_assert_int_eq(kp_deflate_new(&d, 5, 0, 1000), KP_DEFLATE_BAD_CODEC);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(kp_batch_recompress(b, size, 6, INFLATE_CAP, OUT_CAP, &r), -1);
    free(b);
}
END_TEST

Suite *recompress_suite(void) {
    Suite *s = suite_create("recompress");
    TCase *tc = tcase_create("recompress");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, every_pair_of_codecs_keeps_records_and_header, 0, N_CODECS * N_CODECS);
    tcase_add_test(tc, control_and_transactional_flags_survive);
    tcase_add_test(tc, each_codec_writes_what_kafka_readers_expect);
    tcase_add_test(tc, a_bomb_stops_at_the_inflation_cap);
    tcase_add_test(tc, corrupt_input_is_refused);
    tcase_add_test(tc, a_result_above_max_out_is_refused);
    tcase_add_test(tc, compression_type_names);
    tcase_add_test(tc, an_unknown_codec_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
