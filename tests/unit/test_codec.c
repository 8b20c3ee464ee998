/*
 * test_codec.c - streaming batch payload decompression with each codec's
 * library: round trips of data compressed here by the same libraries the
 * clients use, snappy's two framings, concatenated streams, truncated input
 * and garbage, and the output cap that stops a bomb.
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
#include "tests/unit/batchfix.h"
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

/* Decompresses everything with cap max_out into out (at most out_cap
 * bytes kept); returns the final kp_inflate_next result. */
static int inflate_all(int codec, const uint8_t *in, size_t n, size_t max_out, uint8_t *out, size_t out_cap,
                       size_t *out_len) {
    kp_inflate_t *z;
    const uint8_t *piece;
    size_t len;
    int rc = kp_inflate_new(&z, codec, in, n, max_out);

    *out_len = 0;
    if (rc != 0) return rc;
    while ((rc = kp_inflate_next(z, &piece, &len)) == KP_INFLATE_PIECE) {
        ck_assert_uint_gt(len, 0);
        if (codec != KP_CODEC_SNAPPY && codec != KP_CODEC_NONE) ck_assert_uint_le(len, KP_INFLATE_CHUNK);
        if (*out_len + len <= out_cap) memcpy(out + *out_len, piece, len);
        *out_len += len;
    }
    ck_assert_uint_eq(kp_inflate_total(z), *out_len);
    ck_assert_int_eq(kp_inflate_next(z, &piece, &len), rc); /* sticky */
    kp_inflate_free(z);
    return rc;
}

static void check_round_trip(int codec, const uint8_t *in, size_t n) {
    static uint8_t out[PLAIN_LEN];
    size_t out_len;

    ck_assert_int_eq(inflate_all(codec, in, n, 1 << 20, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, PLAIN_LEN);
    ck_assert(memcmp(out, plain, PLAIN_LEN) == 0);
}

static void check_refused(int codec, const uint8_t *in, size_t n, size_t cap, int why) {
    static uint8_t out[PLAIN_LEN];
    size_t out_len;

    ck_assert_int_eq(inflate_all(codec, in, n, cap, out, sizeof(out), &out_len), why);
    ck_assert_uint_le(out_len, cap);
}

START_TEST(gzip_round_trip_and_truncation) {
    static uint8_t buf[PLAIN_LEN + 1024];
    size_t n = gzip_compress(buf, sizeof(buf));
    check_round_trip(KP_CODEC_GZIP, buf, n);
    check_refused(KP_CODEC_GZIP, buf, n / 2, 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_GZIP, buf, n, PLAIN_LEN / 2, KP_INFLATE_TOO_LARGE);
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
    check_refused(KP_CODEC_SNAPPY, framed, n + 10, 1 << 20, KP_INFLATE_CORRUPT);
    /* The header alone is an empty stream (a rebuilt empty payload); a
     * length cut short after it is not. */
    static uint8_t out[16];
    size_t out_len;
    ck_assert_int_eq(inflate_all(KP_CODEC_SNAPPY, framed, 16, 1 << 20, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, 0);
    check_refused(KP_CODEC_SNAPPY, framed, 18, 1 << 20, KP_INFLATE_CORRUPT);
    /* The declared size is checked before anything is allocated. */
    check_refused(KP_CODEC_SNAPPY, buf, n, PLAIN_LEN - 1, KP_INFLATE_TOO_LARGE);
    check_refused(KP_CODEC_SNAPPY, framed, n + 20, PLAIN_LEN - 1, KP_INFLATE_TOO_LARGE);
}
END_TEST

START_TEST(lz4_frame_round_trip) {
    static uint8_t buf[PLAIN_LEN * 2];
    size_t n = LZ4F_compressFrame(buf, sizeof(buf), plain, PLAIN_LEN, NULL);
    ck_assert(!LZ4F_isError(n));
    check_round_trip(KP_CODEC_LZ4, buf, n);
    check_refused(KP_CODEC_LZ4, buf, n - 8, 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_LZ4, buf, n, PLAIN_LEN / 2, KP_INFLATE_TOO_LARGE);
}
END_TEST

START_TEST(zstd_frame_round_trip_and_output_cap) {
    static uint8_t buf[PLAIN_LEN * 2];
    size_t n = ZSTD_compress(buf, sizeof(buf), plain, PLAIN_LEN, 3);
    ck_assert(!ZSTD_isError(n));
    check_round_trip(KP_CODEC_ZSTD, buf, n);
    check_refused(KP_CODEC_ZSTD, buf, n - 4, 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_ZSTD, buf, n, PLAIN_LEN / 2, KP_INFLATE_TOO_LARGE); /* more output than allowed */
}
END_TEST

START_TEST(unknown_codec_and_garbage_are_refused) {
    static const uint8_t junk[64] = {1, 2, 3, 4, 5};
    check_refused(5, junk, sizeof(junk), 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_GZIP, junk, sizeof(junk), 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_SNAPPY, junk, sizeof(junk), 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_LZ4, junk, sizeof(junk), 1 << 20, KP_INFLATE_CORRUPT);
    check_refused(KP_CODEC_ZSTD, junk, sizeof(junk), 1 << 20, KP_INFLATE_CORRUPT);
}
END_TEST

/* A bomb: 64 MiB of zeros compress to a few tens of KB; with a 1 MiB cap
 * each codec gives up once the cap is crossed, having produced at most one
 * chunk more than it. */
START_TEST(a_bomb_stops_at_the_cap) {
    size_t zeros_len = 64u << 20, packed_len, out_len;
    uint8_t *zeros = calloc(1, zeros_len);
    static uint8_t out[1];
    int codecs[] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};

    ck_assert_ptr_nonnull(zeros);
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        uint8_t *packed = batchfix_compress(codecs[i], zeros, codecs[i] == KP_CODEC_SNAPPY ? 8u << 20 : zeros_len,
                                            &packed_len);
        ck_assert_uint_lt(packed_len, 1u << 20);
        ck_assert_int_eq(inflate_all(codecs[i], packed, packed_len, 1u << 20, out, 0, &out_len),
                         KP_INFLATE_TOO_LARGE);
        ck_assert_uint_le(out_len, (1u << 20) + KP_INFLATE_CHUNK);
        free(packed);
    }
    free(zeros);
}
END_TEST

/* Gzip members may be concatenated (RFC 1952; Java reads them all), zstd
 * frames too; anything after the last one is garbage. */
START_TEST(concatenated_streams_and_trailing_garbage) {
    static uint8_t two[2 * (PLAIN_LEN + 1024)], out[2 * PLAIN_LEN];
    size_t n = gzip_compress(two, sizeof(two) / 2), out_len;

    memcpy(two + n, two, n);
    ck_assert_int_eq(inflate_all(KP_CODEC_GZIP, two, 2 * n, 1 << 20, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, 2 * PLAIN_LEN);
    ck_assert(memcmp(out + PLAIN_LEN, plain, PLAIN_LEN) == 0);
    two[n] = 'x';
    ck_assert_int_eq(inflate_all(KP_CODEC_GZIP, two, n + 10, 1 << 20, out, sizeof(out), &out_len),
                     KP_INFLATE_CORRUPT);
    n = ZSTD_compress(two, sizeof(two) / 2, plain, PLAIN_LEN, 3);
    memcpy(two + n, two, n);
    ck_assert_int_eq(inflate_all(KP_CODEC_ZSTD, two, 2 * n, 1 << 20, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, 2 * PLAIN_LEN);
    two[n] = 'x';
    ck_assert_int_eq(inflate_all(KP_CODEC_ZSTD, two, 2 * n, 1 << 20, out, sizeof(out), &out_len),
                     KP_INFLATE_CORRUPT);
}
END_TEST

/* A zstd frame that asks for a window far larger than the cap could ever
 * need (here 128 MiB, written by a streaming compressor that did not know
 * the size) is refused instead of allocating it. */
START_TEST(zstd_window_is_bounded_by_the_cap) {
    static uint8_t packed[PLAIN_LEN * 2], out[PLAIN_LEN];
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_inBuffer ib = {plain, PLAIN_LEN, 0};
    ZSTD_outBuffer ob = {packed, sizeof(packed), 0};
    size_t out_len;

    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27)));
    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
    ck_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
    ib = (ZSTD_inBuffer){NULL, 0, 0};
    ck_assert_uint_eq(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cc);
    ck_assert_int_eq(inflate_all(KP_CODEC_ZSTD, packed, ob.pos, 1 << 20, out, sizeof(out), &out_len),
                     KP_INFLATE_TOO_LARGE);
    ck_assert_int_eq(inflate_all(KP_CODEC_ZSTD, packed, ob.pos, 1 << 27, out, sizeof(out), &out_len),
                     KP_INFLATE_END);
}
END_TEST

START_TEST(none_is_the_input_itself) {
    static uint8_t out[PLAIN_LEN];
    size_t out_len;

    ck_assert_int_eq(inflate_all(KP_CODEC_NONE, plain, PLAIN_LEN, 10, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, PLAIN_LEN);
    ck_assert_int_eq(inflate_all(KP_CODEC_NONE, plain, 0, 10, out, sizeof(out), &out_len), KP_INFLATE_END);
    ck_assert_uint_eq(out_len, 0);
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
    tcase_add_test(tc, a_bomb_stops_at_the_cap);
    tcase_add_test(tc, concatenated_streams_and_trailing_garbage);
    tcase_add_test(tc, zstd_window_is_bounded_by_the_cap);
    tcase_add_test(tc, none_is_the_input_itself);
    suite_add_tcase(s, tc);
    return s;
}
