/*
 * test_batch.c - RecordBatch v2 headers, CRC-32C, produce validation and the
 * leader's header rewrites (proto/kp_batch.c, wire-protocol.md section 5).
 *
 * The fixture is a real batch laid out byte by byte from the spec: three
 * uncompressed records with keys, values (one null key, one null value) and
 * headers.  Its CRC was computed independently of kbroker (a bitwise
 * CRC-32C, polynomial 0x82F63B78) so a wrong CRC implementation cannot
 * validate its own output.  Each error case mutates one field of a copy and,
 * where the field is inside the CRC, re-seals the CRC so that only the fault
 * under test is present.
 */
#include <string.h>

#include "proto/kp_batch.h"
#include "tests/unit/unit.h"

#define MAX_MESSAGE_BYTES 1048588
#define MAX_INFLATE (1u << 20)

static const uint8_t three_records[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* base_offset 0 */
    0x00, 0x00, 0x00, 0x5e,                         /* batch_length 94 */
    0xff, 0xff, 0xff, 0xff,                         /* partition_leader_epoch -1 (Java producer) */
    0x02,                                           /* magic */
    0x19, 0xb8, 0xad, 0xc5,                         /* crc */
    0x00, 0x00,                                     /* attributes: none, CreateTime */
    0x00, 0x00, 0x00, 0x02,                         /* last_offset_delta */
    0x00, 0x00, 0x01, 0x74, 0x87, 0x6e, 0x80, 0x00, /* base_timestamp 1600000000000 */
    0x00, 0x00, 0x01, 0x74, 0x87, 0x6e, 0x80, 0x02, /* max_timestamp +2 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */
    0xff, 0xff,                                     /* producer_epoch -1 */
    0xff, 0xff, 0xff, 0xff,                         /* base_sequence -1 */
    0x00, 0x00, 0x00, 0x03,                         /* records_count 3 */
    /* record 0: length 14, attrs, ts +0, offset +0, key "k0", value "v0", 1 header h=x */
    0x1c, 0x00, 0x00, 0x00, 0x04, 'k', '0', 0x04, 'v', '0', 0x02, 0x02, 'h', 0x02, 'x',
    /* record 1: length 13, ts +1, offset +1, null key, value "value-1", no headers */
    0x1a, 0x00, 0x02, 0x02, 0x01, 0x0e, 'v', 'a', 'l', 'u', 'e', '-', '1', 0x00,
    /* record 2: length 15, ts +2, offset +2, key "k2", null value, headers a=1, b=null */
    0x1e, 0x00, 0x04, 0x04, 0x04, 'k', '2', 0x01, 0x04, 0x02, 'a', 0x02, '1', 0x02, 'b', 0x01,
};

#define BATCH_SIZE sizeof(three_records)
#define FIRST_RECORD (KP_BATCH_HEADER_SIZE)

static uint8_t buf[2 * sizeof(three_records)];
static kp_batch_header_t hdr;

static void setup(void) {
    memset(buf, 0, sizeof(buf));
    memcpy(buf, three_records, BATCH_SIZE);
    memset(&hdr, 0, sizeof(hdr));
}

/* Re-seals the CRC after a change inside it. */
static void reseal(uint8_t *p, size_t size) {
    uint32_t crc = kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES);
    p[KP_BATCH_OFF_CRC] = (uint8_t)(crc >> 24);
    p[KP_BATCH_OFF_CRC + 1] = (uint8_t)(crc >> 16);
    p[KP_BATCH_OFF_CRC + 2] = (uint8_t)(crc >> 8);
    p[KP_BATCH_OFF_CRC + 3] = (uint8_t)crc;
}

static void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static int16_t validate(size_t len, int16_t version) {
    return kp_batch_validate_produce(buf, len, version, MAX_MESSAGE_BYTES, &hdr);
}

/* ---------------------------------------------------------------- CRC */

START_TEST(crc32c_check_value_of_123456789) {
    ck_assert_uint_eq(kp_crc32c(0, "123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(crc32c_continues_across_calls) {
    uint32_t part = kp_crc32c(0, "1234", 4);
    ck_assert_uint_eq(kp_crc32c(part, "56789", 5), 0xE3069283u);
    ck_assert_uint_eq(kp_crc32c(0, "", 0), 0);
}
END_TEST

/* ------------------------------------------------------------- header */

START_TEST(header_of_real_batch_decodes_field_by_field) {
    ck_assert_int_eq(kp_batch_header_decode(buf, BATCH_SIZE, &hdr), 0);
    ck_assert_int_eq(hdr.base_offset, 0);
    ck_assert_int_eq(hdr.batch_length, 94);
    ck_assert_uint_eq(kp_batch_size(&hdr), BATCH_SIZE);
    ck_assert_int_eq(hdr.partition_leader_epoch, -1);
    ck_assert_int_eq(hdr.magic, 2);
    ck_assert_uint_eq(hdr.crc, 0x19b8adc5u);
    ck_assert_int_eq(hdr.attributes, 0);
    ck_assert_int_eq(hdr.last_offset_delta, 2);
    ck_assert_int_eq(hdr.base_timestamp, 1600000000000LL);
    ck_assert_int_eq(hdr.max_timestamp, 1600000000002LL);
    ck_assert_int_eq(hdr.producer_id, -1);
    ck_assert_int_eq(hdr.producer_epoch, -1);
    ck_assert_int_eq(hdr.base_sequence, -1);
    ck_assert_int_eq(hdr.records_count, 3);
    ck_assert_int_eq(kp_batch_last_offset(&hdr), 2);
    ck_assert(kp_batch_crc_ok(buf, &hdr));
}
END_TEST

START_TEST(header_decode_needs_61_bytes) {
    ck_assert_int_eq(kp_batch_header_decode(buf, KP_BATCH_HEADER_SIZE - 1, &hdr), -1);
}
END_TEST

/* ------------------------------------------------------ produce validation */

START_TEST(real_batch_validates) {
    ck_assert_int_eq(validate(BATCH_SIZE, 3), 0);
    ck_assert_int_eq(hdr.records_count, 3);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 0);
}
END_TEST

START_TEST(empty_blob_is_invalid_record) { ck_assert_int_eq(validate(0, 7), 87); }
END_TEST

START_TEST(bad_magic_is_invalid_record) {
    buf[KP_BATCH_OFF_MAGIC] = 1;
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
}
END_TEST

START_TEST(wrong_crc_is_corrupt_message) {
    buf[KP_BATCH_OFF_CRC + 3] ^= 0x01;
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

START_TEST(flipped_record_byte_is_corrupt_message) {
    buf[BATCH_SIZE - 3] ^= 0x40;
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

START_TEST(length_past_the_blob_is_corrupt_message) {
    put_be32(buf + KP_BATCH_OFF_LENGTH, 95);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
    setup();
    ck_assert_int_eq(validate(BATCH_SIZE - 1, 7), 2);
}
END_TEST

START_TEST(length_below_the_header_is_corrupt_message) {
    put_be32(buf + KP_BATCH_OFF_LENGTH, KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD - 1);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
    ck_assert_int_eq(validate(KP_BATCH_HEADER_SIZE - 1, 7), 2);
}
END_TEST

START_TEST(two_batches_are_invalid_record) {
    memcpy(buf + BATCH_SIZE, three_records, BATCH_SIZE);
    ck_assert_int_eq(validate(2 * BATCH_SIZE, 7), 87);
}
END_TEST

START_TEST(trailing_bytes_are_invalid_record) { ck_assert_int_eq(validate(BATCH_SIZE + 5, 7), 87); }
END_TEST

START_TEST(nonzero_base_offset_is_invalid_record) {
    buf[KP_BATCH_OFF_BASE_OFFSET + 7] = 9;
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
}
END_TEST

START_TEST(records_count_mismatch_is_invalid_record) {
    put_be32(buf + KP_BATCH_OFF_RECORDS_COUNT, 2);
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
    put_be32(buf + KP_BATCH_OFF_RECORDS_COUNT, 0);
    put_be32(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)-1);
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
}
END_TEST

START_TEST(control_batch_is_invalid_record) {
    buf[KP_BATCH_OFF_ATTRIBUTES + 1] = KP_ATTR_TRANSACTIONAL | KP_ATTR_CONTROL;
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
}
END_TEST

START_TEST(producer_id_without_sequence_is_invalid_record) {
    memset(buf + KP_BATCH_OFF_PRODUCER_ID, 0, 8);
    buf[KP_BATCH_OFF_PRODUCER_ID + 7] = 42;
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 87);
    put_be32(buf + KP_BATCH_OFF_BASE_SEQUENCE, 0);
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 0);
}
END_TEST

/* The records of a compressed batch are one opaque blob: no length walk. */
START_TEST(zstd_needs_produce_v7) {
    buf[KP_BATCH_OFF_ATTRIBUTES + 1] = KP_CODEC_ZSTD;
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 6), 76);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 0);
}
END_TEST

START_TEST(unknown_codec_is_corrupt_message) {
    buf[KP_BATCH_OFF_ATTRIBUTES + 1] = 5;
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

START_TEST(too_large_is_message_too_large) {
    ck_assert_int_eq(kp_batch_validate_produce(buf, BATCH_SIZE, 7, BATCH_SIZE - 1, &hdr), 10);
    ck_assert_int_eq(kp_batch_validate_produce(buf, BATCH_SIZE, 7, BATCH_SIZE, &hdr), 0);
}
END_TEST

START_TEST(record_lengths_short_of_the_batch_are_corrupt) {
    buf[FIRST_RECORD] = 0x1a; /* record 0 claims 13 bytes instead of 14 */
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

START_TEST(record_length_past_the_batch_is_corrupt) {
    buf[FIRST_RECORD] = 0x7e; /* 63 bytes: runs past the end */
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

START_TEST(negative_record_length_is_corrupt) {
    buf[FIRST_RECORD] = 0x01; /* zigzag -1 */
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

/* Three records but the header says four (and last_offset_delta 3). */
START_TEST(fewer_records_than_counted_is_corrupt) {
    put_be32(buf + KP_BATCH_OFF_RECORDS_COUNT, 4);
    put_be32(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, 3);
    reseal(buf, BATCH_SIZE);
    ck_assert_int_eq(validate(BATCH_SIZE, 7), 2);
}
END_TEST

/* ------------------------------------------------------------------ scan */

START_TEST(scan_accepts_a_whole_batch) {
    size_t size = 0;
    ck_assert_int_eq(kp_batch_scan(buf, BATCH_SIZE, SIZE_MAX, &hdr, &size), KP_SCAN_OK);
    ck_assert_uint_eq(size, BATCH_SIZE);
    ck_assert_int_eq(hdr.records_count, 3);
}
END_TEST

START_TEST(scan_of_a_prefix_is_incomplete_at_every_length) {
    size_t size = 0;
    for (size_t len = 0; len < BATCH_SIZE; len++)
        ck_assert_msg(kp_batch_scan(buf, len, SIZE_MAX, &hdr, &size) == KP_SCAN_INCOMPLETE, "len %zu", len);
}
END_TEST

START_TEST(scan_stops_at_the_first_of_two_batches) {
    size_t size = 0;
    memcpy(buf + BATCH_SIZE, three_records, BATCH_SIZE);
    ck_assert_int_eq(kp_batch_scan(buf, 2 * BATCH_SIZE, SIZE_MAX, &hdr, &size), KP_SCAN_OK);
    ck_assert_uint_eq(size, BATCH_SIZE);
}
END_TEST

START_TEST(scan_rejects_garbage) {
    size_t size = 0;
    memset(buf, 0, sizeof(buf)); /* batch_length 0 */
    ck_assert_int_eq(kp_batch_scan(buf, sizeof(buf), SIZE_MAX, &hdr, &size), KP_SCAN_CORRUPT);
    memset(buf, 0xa5, sizeof(buf)); /* negative length */
    ck_assert_int_eq(kp_batch_scan(buf, sizeof(buf), SIZE_MAX, &hdr, &size), KP_SCAN_CORRUPT);
}
END_TEST

START_TEST(scan_rejects_a_flipped_byte_and_a_bad_magic) {
    size_t size = 0;
    buf[BATCH_SIZE - 1] ^= 0x10;
    ck_assert_int_eq(kp_batch_scan(buf, BATCH_SIZE, SIZE_MAX, &hdr, &size), KP_SCAN_CORRUPT);
    setup();
    buf[KP_BATCH_OFF_MAGIC] = 0;
    ck_assert_int_eq(kp_batch_scan(buf, BATCH_SIZE, SIZE_MAX, &hdr, &size), KP_SCAN_CORRUPT);
}
END_TEST

START_TEST(scan_rejects_a_length_above_max_size) {
    size_t size = 0;
    ck_assert_int_eq(kp_batch_scan(buf, BATCH_SIZE, BATCH_SIZE - 1, &hdr, &size), KP_SCAN_CORRUPT);
    /* The bound applies before the bytes are there: a huge declared length
     * is corrupt, not merely incomplete. */
    ck_assert_int_eq(kp_batch_scan(buf, 20, BATCH_SIZE - 1, &hdr, &size), KP_SCAN_CORRUPT);
}
END_TEST

/* -------------------------------------------------------------- rewrites */

START_TEST(offset_and_epoch_rewrites_leave_the_crc_alone) {
    kp_batch_set_base_offset(buf, 0x0102030405060708LL);
    kp_batch_set_leader_epoch(buf, 7);
    kp_batch_header_decode(buf, BATCH_SIZE, &hdr);
    ck_assert_int_eq(hdr.base_offset, 0x0102030405060708LL);
    ck_assert_int_eq(hdr.partition_leader_epoch, 7);
    ck_assert_uint_eq(hdr.crc, 0x19b8adc5u);
    ck_assert(kp_batch_crc_ok(buf, &hdr));
}
END_TEST

START_TEST(log_append_time_rewrite_keeps_the_crc_valid) {
    kp_batch_set_log_append_time(buf, BATCH_SIZE, 1700000000123LL);
    kp_batch_header_decode(buf, BATCH_SIZE, &hdr);
    ck_assert(hdr.attributes & KP_ATTR_LOG_APPEND_TIME);
    ck_assert_int_eq(hdr.attributes & KP_ATTR_CODEC_MASK, KP_CODEC_NONE);
    ck_assert_int_eq(hdr.max_timestamp, 1700000000123LL);
    ck_assert_int_eq(hdr.base_timestamp, 1600000000000LL);
    ck_assert_uint_ne(hdr.crc, 0x19b8adc5u);
    ck_assert(kp_batch_crc_ok(buf, &hdr));
    ck_assert_int_eq(memcmp(buf + FIRST_RECORD, three_records + FIRST_RECORD, BATCH_SIZE - FIRST_RECORD), 0);
}
END_TEST

/* ------------------------------------------------------------ timestamps */

START_TEST(find_timestamp_walks_the_records) {
    int64_t off = -1, ts = -1;
    kp_batch_set_base_offset(buf, 100);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 0, MAX_INFLATE, &off, &ts, NULL), 0);
    ck_assert_int_eq(off, 100);
    ck_assert_int_eq(ts, 1600000000000LL);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 1600000000001LL, MAX_INFLATE, &off, &ts, NULL), 0);
    ck_assert_int_eq(off, 101);
    ck_assert_int_eq(ts, 1600000000001LL);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 1600000000002LL, MAX_INFLATE, &off, &ts, NULL), 0);
    ck_assert_int_eq(off, 102);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 1600000000003LL, MAX_INFLATE, &off, &ts, NULL), 1);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE - 1, 0, MAX_INFLATE, &off, &ts, NULL), -1);
}
END_TEST

START_TEST(find_timestamp_of_log_append_time_is_the_first_record) {
    int64_t off = -1, ts = -1;
    kp_batch_set_log_append_time(buf, BATCH_SIZE, 1700000000000LL);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 1650000000000LL, MAX_INFLATE, &off, &ts, NULL), 0);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(ts, 1700000000000LL);
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 1700000000001LL, MAX_INFLATE, &off, &ts, NULL), 1);
}
END_TEST

START_TEST(find_timestamp_of_records_that_are_not_gzip_is_an_error) {
    int64_t off = -1, ts = -1;
    buf[KP_BATCH_OFF_ATTRIBUTES + 1] = KP_CODEC_GZIP;
    ck_assert_int_eq(kp_batch_find_timestamp(buf, BATCH_SIZE, 0, MAX_INFLATE, &off, &ts, NULL), -1);
}
END_TEST

Suite *batch_suite(void) {
    Suite *s = suite_create("batch");
    TCase *crc = tcase_create("crc");
    TCase *val = tcase_create("validate");
    TCase *scan = tcase_create("scan");
    TCase *rw = tcase_create("rewrite");

    tcase_add_test(crc, crc32c_check_value_of_123456789);
    tcase_add_test(crc, crc32c_continues_across_calls);
    tcase_add_checked_fixture(val, setup, NULL);
    tcase_add_test(val, header_of_real_batch_decodes_field_by_field);
    tcase_add_test(val, header_decode_needs_61_bytes);
    tcase_add_test(val, real_batch_validates);
    tcase_add_test(val, empty_blob_is_invalid_record);
    tcase_add_test(val, bad_magic_is_invalid_record);
    tcase_add_test(val, wrong_crc_is_corrupt_message);
    tcase_add_test(val, flipped_record_byte_is_corrupt_message);
    tcase_add_test(val, length_past_the_blob_is_corrupt_message);
    tcase_add_test(val, length_below_the_header_is_corrupt_message);
    tcase_add_test(val, two_batches_are_invalid_record);
    tcase_add_test(val, trailing_bytes_are_invalid_record);
    tcase_add_test(val, nonzero_base_offset_is_invalid_record);
    tcase_add_test(val, records_count_mismatch_is_invalid_record);
    tcase_add_test(val, control_batch_is_invalid_record);
    tcase_add_test(val, producer_id_without_sequence_is_invalid_record);
    tcase_add_test(val, zstd_needs_produce_v7);
    tcase_add_test(val, unknown_codec_is_corrupt_message);
    tcase_add_test(val, too_large_is_message_too_large);
    tcase_add_test(val, record_lengths_short_of_the_batch_are_corrupt);
    tcase_add_test(val, record_length_past_the_batch_is_corrupt);
    tcase_add_test(val, negative_record_length_is_corrupt);
    tcase_add_test(val, fewer_records_than_counted_is_corrupt);
    tcase_add_checked_fixture(scan, setup, NULL);
    tcase_add_test(scan, scan_accepts_a_whole_batch);
    tcase_add_test(scan, scan_of_a_prefix_is_incomplete_at_every_length);
    tcase_add_test(scan, scan_stops_at_the_first_of_two_batches);
    tcase_add_test(scan, scan_rejects_garbage);
    tcase_add_test(scan, scan_rejects_a_flipped_byte_and_a_bad_magic);
    tcase_add_test(scan, scan_rejects_a_length_above_max_size);
    tcase_add_checked_fixture(rw, setup, NULL);
    tcase_add_test(rw, offset_and_epoch_rewrites_leave_the_crc_alone);
    tcase_add_test(rw, log_append_time_rewrite_keeps_the_crc_valid);
    tcase_add_test(rw, find_timestamp_walks_the_records);
    tcase_add_test(rw, find_timestamp_of_log_append_time_is_the_first_record);
    tcase_add_test(rw, find_timestamp_of_records_that_are_not_gzip_is_an_error);
    suite_add_tcase(s, crc);
    suite_add_tcase(s, val);
    suite_add_tcase(s, scan);
    suite_add_tcase(s, rw);
    return s;
}
