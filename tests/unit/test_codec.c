/*
 * test_codec.c - batch payload decompression with each codec's library:
 * round trips of data compressed here by the same libraries the clients use,
 * snappy's two framings, truncated input and the output cap.
 */
#include <check.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/kp_batch.h"
#include "proto/kp_codec.h"
#include "tests/unit/unit.h"

#define PLAIN_LEN 50000

static uint8_t plain[PLAIN_LEN];

static void fill_plain(void) {
    for (size_t i = 0; i < PLAIN_LEN; i++) plain[i] = (uint8_t)("kbroker record payload "[i % 23] + (i / 997) % 3);
}

static size_t gzip_compress(uint8_t *out, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = plain;
    z.avail_in = PLAIN_LEN;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void check_round_trip(int codec, const uint8_t *in, size_t n) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    ck_assert_int_eq(kp_codec_decompress(codec, in, n, 1 << 20, &out, &out_len), 0);
    ck_assert_uint_eq(out_len, PLAIN_LEN);
    ck_assert(memcmp(out, plain, PLAIN_LEN) == 0);
    free(out);
}

static void check_refused(int codec, const uint8_t *in, size_t n, size_t cap) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    ck_assert_int_eq(kp_codec_decompress(codec, in, n, cap, &out, &out_len), -1);
    ck_assert_ptr_null(out);
}

START_TEST(gzip_round_trip_and_truncation) {
    static uint8_t buf[PLAIN_LEN + 1024];
    size_t n = gzip_compress(buf, sizeof(buf));
    check_round_trip(KP_CODEC_GZIP, buf, n);
    check_refused(KP_CODEC_GZIP, buf, n / 2, 1 << 20);
}
END_TEST

START_TEST(snappy_raw_block_and_xerial_framing) {
    static uint8_t buf[PLAIN_LEN * 2], framed[PLAIN_LEN * 2];
    size_t n = sizeof(buf);
    ck_assert_int_eq(snappy_compress((const char *)plain, PLAIN_LEN, (char *)buf, &n), SNAPPY_OK);
    check_round_trip(KP_CODEC_SNAPPY, buf, n);
    /* Java's framing: magic, version 1, compatible 1, then length-prefixed blocks. */
    static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(framed, header, 16);
    framed[16] = (uint8_t)(n >> 24);
    framed[17] = (uint8_t)(n >> 16);
    framed[18] = (uint8_t)(n >> 8);
    framed[19] = (uint8_t)n;
    memcpy(framed + 20, buf, n);
    check_round_trip(KP_CODEC_SNAPPY, framed, n + 20);
    check_refused(KP_CODEC_SNAPPY, framed, n + 10, 1 << 20);
}
END_TEST

START_TEST(lz4_frame_round_trip) {
    static uint8_t buf[PLAIN_LEN * 2];
    size_t n = LZ4F_compressFrame(buf, sizeof(buf), plain, PLAIN_LEN, NULL);
    ck_assert(!LZ4F_isError(n));
    check_round_trip(KP_CODEC_LZ4, buf, n);
    check_refused(KP_CODEC_LZ4, buf, n - 8, 1 << 20);
}
END_TEST

START_TEST(zstd_frame_round_trip_and_output_cap) {
    static uint8_t buf[PLAIN_LEN * 2];
    size_t n = ZSTD_compress(buf, sizeof(buf), plain, PLAIN_LEN, 3);
    ck_assert(!ZSTD_isError(n));
    check_round_trip(KP_CODEC_ZSTD, buf, n);
    check_refused(KP_CODEC_ZSTD, buf, n - 4, 1 << 20);
    check_refused(KP_CODEC_ZSTD, buf, n, PLAIN_LEN / 2); /* more output than allowed */
}
END_TEST

START_TEST(unknown_codec_and_garbage_are_refused) {
    static const uint8_t junk[64] = {1, 2, 3, 4, 5};
    check_refused(5, junk, sizeof(junk), 1 << 20);
    check_refused(KP_CODEC_GZIP, junk, sizeof(junk), 1 << 20);
    check_refused(KP_CODEC_LZ4, junk, sizeof(junk), 1 << 20);
    check_refused(KP_CODEC_ZSTD, junk, sizeof(junk), 1 << 20);
}
END_TEST

Suite *codec_suite(void) {
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("decompress");
    fill_plain();
    tcase_add_test(tc, gzip_round_trip_and_truncation);
    tcase_add_test(tc, snappy_raw_block_and_xerial_framing);
    tcase_add_test(tc, lz4_frame_round_trip);
    tcase_add_test(tc, zstd_frame_round_trip_and_output_cap);
    tcase_add_test(tc, unknown_codec_and_garbage_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
