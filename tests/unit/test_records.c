/*
 * test_records.c - the records inside a batch, compressed or not
 * (proto/kp_records.c through kp_batch_validate_records and
 * kp_batch_find_timestamp): the count and length checks of produce
 * validation, the timestamp lookup that stops at its record, records cut
 * by the end of a decompressed piece, and the inflation cap.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/kp_batch.h"
#include "proto/kp_buf.h"
#include "proto/kp_codec.h"
#include "proto/kp_records.h"
#include "tests/unit/batchfix.h"
#include "tests/unit/unit.h"

#define TS 1600000000000LL
#define CAP (1u << 20)
#define N_CODECS 5

static const int codecs[N_CODECS] = {KP_CODEC_NONE, KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};

/* Every codec, and record sizes from 20 to 100 bytes of value: the ends of
 * the 64 KiB decompressed pieces fall inside record heads (the one- and
 * two-byte length varints and the fields after them) for many of them. */
START_TEST(every_record_is_found_across_piece_boundaries) {
    for (size_t value_len = 20; value_len <= 100; value_len += 3) {
        size_t size;
        int n = (int)((3 * KP_INFLATE_CHUNK) / (value_len + 8));
        uint8_t *b = batchfix_build(codecs[_i], n, value_len, TS, 10, &size);
        int64_t off = -1, ts = -1;
        ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 0);
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 10LL * (n - 1), CAP, &off, &ts, NULL), KP_FIND_FOUND);
        ck_assert_int_eq(off, n - 1);
        ck_assert_int_eq(ts, TS + 10LL * (n - 1));
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 10LL * (n / 2) - 5, CAP, &off, &ts, NULL),
                         KP_FIND_FOUND);
        ck_assert_int_eq(off, n / 2);
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 10LL * n, CAP, &off, &ts, NULL), KP_FIND_NONE);
        free(b);
    }
}
END_TEST

/* A batch whose second record inflates far beyond the cap: the lookup of
 * the first record never gets there, the lookup of the third one gives up
 * at the cap, and produce validation refuses it as too large. */
START_TEST(the_lookup_stops_at_its_record_and_the_cap_refuses_a_bomb) {
    size_t big = 32u << 20, plain_len, packed_len, size;
    uint8_t *plain = malloc(big + 3 * BATCHFIX_RECORD_OVERHEAD), *p = plain;
    int64_t off, ts;

    ck_assert_ptr_nonnull(plain);
    p = batchfix_record(p, 0, 0, 10);
    p = batchfix_record(p, 1, 1, big);
    p = batchfix_record(p, 2, 2, 10);
    plain_len = (size_t)(p - plain);
    for (int i = 1; i < N_CODECS; i++) {
        uint8_t *packed = batchfix_compress(codecs[i], plain, plain_len, &packed_len);
        uint8_t *b = batchfix_wrap(codecs[i], 3, TS, packed, packed_len, &size);
        /* A raw snappy block is one piece: its size alone is past the cap.
         * The others stop after the first piece. */
        size_t inflated;
        int first = kp_batch_find_timestamp(b, size, TS, CAP, &off, &ts, &inflated);
        ck_assert_int_eq(first, codecs[i] == KP_CODEC_SNAPPY ? KP_WALK_TOO_LARGE : KP_FIND_FOUND);
        if (first == KP_FIND_FOUND) ck_assert_int_eq(off, 0);
        ck_assert_uint_le(inflated, KP_INFLATE_CHUNK);
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 2, CAP, &off, &ts, &inflated), KP_WALK_TOO_LARGE);
        ck_assert_uint_le(inflated, CAP + KP_INFLATE_CHUNK);
        ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 10);
        ck_assert_int_eq(kp_batch_validate_records(b, size, 64u << 20, NULL), 0);
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 2, 64u << 20, &off, &ts, NULL), KP_FIND_FOUND);
        ck_assert_int_eq(off, 2);
        free(packed);
        free(b);
    }
    free(plain);
}
END_TEST

/* The declared records_count must match the records inside. */
START_TEST(a_wrong_count_inside_is_corrupt) {
    size_t plain_len, packed_len, size;
    uint8_t *plain = batchfix_records(4, 30, 1, &plain_len);
    uint8_t *packed = batchfix_compress(codecs[_i], plain, plain_len, &packed_len);

    for (int n = 3; n <= 5; n++) {
        uint8_t *b = batchfix_wrap(codecs[_i], n, TS, packed, packed_len, &size);
        ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), (n == 4 ? 0 : 2));
        free(b);
    }
    free(plain);
    free(packed);
}
END_TEST

/* Attributes say a codec, the payload is something else: the CRC is fine,
 * the records are not. */
START_TEST(a_payload_that_is_not_the_codec_is_corrupt) {
    size_t plain_len, size;
    uint8_t *plain = batchfix_records(4, 30, 1, &plain_len);
    int64_t off, ts;

    for (int i = 1; i < N_CODECS; i++) {
        uint8_t *b = batchfix_wrap(codecs[i], 4, TS, plain, plain_len, &size);
        ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 2);
        ck_assert_int_eq(kp_batch_find_timestamp(b, size, TS + 3, CAP, &off, &ts, NULL), KP_WALK_CORRUPT);
        free(b);
    }
    free(plain);
}
END_TEST

/* A compressed payload cut short (a truncated stream) and records whose
 * lengths overrun what the stream holds. */
START_TEST(truncated_payloads_and_overrunning_lengths_are_corrupt) {
    size_t plain_len, packed_len, size;
    uint8_t *plain = batchfix_records(50, 30, 1, &plain_len);
    uint8_t *packed = batchfix_compress(codecs[_i], plain, plain_len, &packed_len);
    uint8_t *b = batchfix_wrap(codecs[_i], 50, TS, packed, packed_len - 3, &size);

    ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 2);
    free(b);
    free(packed);
    plain[plain_len - plain_len / 50] = 0x7e; /* the last record's length: 63, where fewer bytes are left */
    packed = batchfix_compress(codecs[_i], plain, plain_len, &packed_len);
    b = batchfix_wrap(codecs[_i], 50, TS, packed, packed_len, &size);
    ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 2);
    free(b);
    free(packed);
    free(plain);
}
END_TEST

/* Zeros decode as empty records: far more of them than declared. */
START_TEST(zeros_are_more_records_than_declared) {
    size_t zeros_len = 512u << 10, packed_len, size;
    uint8_t *zeros = calloc(1, zeros_len), *packed, *b;

    ck_assert_ptr_nonnull(zeros);
    packed = batchfix_compress(codecs[_i], zeros, zeros_len, &packed_len);
    b = batchfix_wrap(codecs[_i], 1000, TS, packed, packed_len, &size);
    ck_assert_int_eq(kp_batch_validate_records(b, size, CAP, NULL), 2);
    ck_assert_int_eq(kp_records_walk(b, size, CAP, NULL, NULL, NULL), KP_WALK_CORRUPT);
    free(b);
    free(packed);
    free(zeros);
}
END_TEST

Suite *records_suite(void) {
    Suite *s = suite_create("records");
    TCase *tc = tcase_create("records");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, every_record_is_found_across_piece_boundaries, 0, N_CODECS);
    tcase_add_test(tc, the_lookup_stops_at_its_record_and_the_cap_refuses_a_bomb);
    tcase_add_loop_test(tc, a_wrong_count_inside_is_corrupt, 0, N_CODECS);
    tcase_add_test(tc, a_payload_that_is_not_the_codec_is_corrupt);
    tcase_add_loop_test(tc, truncated_payloads_and_overrunning_lengths_are_corrupt, 1, N_CODECS);
    tcase_add_loop_test(tc, zeros_are_more_records_than_declared, 0, N_CODECS);
    suite_add_tcase(s, tc);
    return s;
}
