/*
 * test_buf.c - the Kafka reader and writer: fixed-width integers, varints
 * at their edges, strings and byte slices in classic and compact forms,
 * array counts (null, negative, larger than the bytes left), tag sections,
 * the sticky error, and reserving/patching a frame size.
 */
#include <string.h>

#include "proto/kp_buf.h"
#include "tests/unit/unit.h"

#define READER(name, ...)                                  \
    static const uint8_t name##_bytes[] = {__VA_ARGS__};   \
    kp_reader_t name;                                      \
    kp_reader_init(&name, name##_bytes, sizeof(name##_bytes))

/* Asserts that the writer holds exactly the given bytes. */
static void assert_written(const kp_writer_t *w, const uint8_t *want, size_t n) {
    ck_assert_int_eq(w->err, KP_BUF_OK);
    ck_assert_uint_eq(w->len, n);
    ck_assert_mem_eq(w->buf, want, n);
}

#define ASSERT_WRITTEN(w, ...)                          \
    do {                                                \
        static const uint8_t want_[] = {__VA_ARGS__};   \
        assert_written((w), want_, sizeof(want_));      \
    } while (0)

START_TEST(fixed_width_integers_are_big_endian) {
    READER(r, 0xff, 0x01, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff,
           0xff, 0xff, 0xff, 0xff, 0xfe, 0x02);
    ck_assert_int_eq(kp_read_int8(&r), -1);
    ck_assert_int_eq(kp_read_int16(&r), 0x0102);
    ck_assert_int_eq(kp_read_int32(&r), INT32_MIN);
    ck_assert_int_eq(kp_read_int32(&r), 1);
    ck_assert(kp_read_int64(&r) == -2);
    ck_assert(kp_read_bool(&r));
    ck_assert_int_eq(r.err, KP_BUF_OK);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
}
END_TEST

START_TEST(short_read_sets_sticky_error_and_returns_zero) {
    READER(r, 0x00, 0x01, 0x02);
    ck_assert_int_eq(kp_read_int32(&r), 0);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
    ck_assert_uint_eq(kp_reader_left(&r), 3);
    /* Later reads that would fit still fail: the error is sticky. */
    ck_assert_int_eq(kp_read_int8(&r), 0);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
}
END_TEST

START_TEST(uvarint_edges) {
    READER(r, 0x00, 0x7f, 0x80, 0x01, 0xff, 0x7f, 0x80, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f);
    ck_assert_uint_eq(kp_read_uvarint(&r), 0);
    ck_assert_uint_eq(kp_read_uvarint(&r), 127);
    ck_assert_uint_eq(kp_read_uvarint(&r), 128);
    ck_assert_uint_eq(kp_read_uvarint(&r), 16383);
    ck_assert_uint_eq(kp_read_uvarint(&r), 16384);
    ck_assert_uint_eq(kp_read_uvarint(&r), UINT32_MAX);
    ck_assert_int_eq(r.err, KP_BUF_OK);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
}
END_TEST

START_TEST(uvarint_longer_than_five_bytes_is_invalid) {
    READER(r, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
    ck_assert_uint_eq(kp_read_uvarint(&r), 0);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
    ck_assert_uint_eq(kp_reader_left(&r), 6);
}
END_TEST

START_TEST(uvarint_with_bits_beyond_32_is_invalid) {
    READER(r, 0xff, 0xff, 0xff, 0xff, 0x1f);
    kp_read_uvarint(&r);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(uvarint_cut_short_is_short) {
    READER(r, 0x80, 0x80);
    kp_read_uvarint(&r);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
    ck_assert_uint_eq(kp_reader_left(&r), 2);
}
END_TEST

START_TEST(varint_zigzag_edges) {
    static const int32_t values[] = {0, -1, 1, -64, 63, 64, INT32_MAX, INT32_MIN};
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) kp_write_varint(&w, values[i]);
    kp_reader_init(&r, w.buf, w.len);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        ck_assert_int_eq(kp_read_varint(&r), values[i]);
    ck_assert_int_eq(r.err, KP_BUF_OK);
    ck_assert_uint_eq(kp_reader_left(&r), 0);
    kp_writer_free(&w);
}
END_TEST

START_TEST(varint_encodings_match_kafka) {
    kp_writer_t w;

    kp_writer_init(&w);
    kp_write_varint(&w, 0);
    kp_write_varint(&w, -1);
    kp_write_varint(&w, 1);
    kp_write_varint(&w, 64);
    kp_write_varint(&w, INT32_MIN);
    ASSERT_WRITTEN(&w, 0x00, 0x01, 0x02, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f);
    ck_assert_uint_eq(kp_varint_size(INT32_MIN), 5);
    ck_assert_uint_eq(kp_varint_size(-64), 1);
    ck_assert_uint_eq(kp_uvarint_size(127), 1);
    ck_assert_uint_eq(kp_uvarint_size(128), 2);
    kp_writer_free(&w);
}
END_TEST

START_TEST(varlong_edges) {
    static const int64_t values[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1LL << 40};
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) kp_write_varlong(&w, values[i]);
    kp_reader_init(&r, w.buf, w.len);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        ck_assert(kp_read_varlong(&r) == values[i]);
    ck_assert_int_eq(r.err, KP_BUF_OK);
    kp_writer_free(&w);
}
END_TEST

START_TEST(varlong_longer_than_ten_bytes_is_invalid) {
    READER(r, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
    kp_read_varlong(&r);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(strings_are_borrowed_slices) {
    READER(r, 0x00, 0x03, 'a', 'b', 'c', 0xff, 0xff, 0x00, 0x00);
    kp_str_t s = kp_read_string(&r);
    ck_assert_int_eq(s.len, 3);
    ck_assert_ptr_eq(s.ptr, (const char *)r_bytes + 2);
    ck_assert(kp_str_eq(s, "abc"));
    s = kp_read_nullable_string(&r);
    ck_assert_int_eq(s.len, -1);
    ck_assert_ptr_null(s.ptr);
    s = kp_read_string(&r);
    ck_assert_int_eq(s.len, 0);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(null_in_non_nullable_string_is_invalid) {
    READER(r, 0xff, 0xff);
    kp_str_t s = kp_read_string(&r);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
    ck_assert_int_eq(s.len, 0);
}
END_TEST

START_TEST(negative_string_length_is_invalid) {
    READER(r, 0xff, 0xfe, 'a');
    kp_read_nullable_string(&r);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(string_longer_than_buffer_is_short) {
    READER(r, 0x00, 0x05, 'a', 'b');
    kp_str_t s = kp_read_string(&r);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
    ck_assert_int_eq(s.len, 0);
}
END_TEST

START_TEST(compact_strings) {
    READER(r, 0x04, 'a', 'b', 'c', 0x00, 0x01);
    ck_assert(kp_str_eq(kp_read_compact_string(&r), "abc"));
    ck_assert_int_eq(kp_read_compact_nullable_string(&r).len, -1);
    ck_assert_int_eq(kp_read_compact_string(&r).len, 0);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(compact_null_in_non_nullable_string_is_invalid) {
    READER(r, 0x00);
    kp_read_compact_string(&r);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(bytes_classic_and_compact) {
    READER(r, 0x00, 0x00, 0x00, 0x02, 0xde, 0xad, 0xff, 0xff, 0xff, 0xff, 0x03, 0xbe, 0xef, 0x00);
    kp_bytes_t b = kp_read_bytes(&r);
    ck_assert_int_eq(b.len, 2);
    ck_assert_uint_eq(b.ptr[0], 0xde);
    ck_assert_int_eq(kp_read_nullable_bytes(&r).len, -1);
    b = kp_read_compact_bytes(&r);
    ck_assert_int_eq(b.len, 2);
    ck_assert_uint_eq(b.ptr[1], 0xef);
    ck_assert_int_eq(kp_read_compact_nullable_bytes(&r).len, -1);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(array_count_null_and_empty) {
    READER(r, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 4), -1);
    ck_assert_int_eq(kp_read_array_count(&r, 4), 0);
    ck_assert_int_eq(kp_read_compact_nullable_array_count(&r, 4), -1);
    ck_assert_int_eq(kp_read_compact_array_count(&r, 4), 0);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(null_array_where_not_nullable_is_invalid) {
    READER(r, 0xff, 0xff, 0xff, 0xff);
    ck_assert_int_eq(kp_read_array_count(&r, 1), 0);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(negative_array_count_is_invalid) {
    READER(r, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0);
    ck_assert_int_eq(kp_read_nullable_array_count(&r, 1), 0);
    ck_assert_int_eq(r.err, KP_BUF_INVALID);
}
END_TEST

START_TEST(array_count_larger_than_bytes_left_is_rejected) {
    /* Two int32 elements would need 8 bytes; only 7 follow. */
    READER(r, 0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7);
    ck_assert_int_eq(kp_read_array_count(&r, 4), 0);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
}
END_TEST

START_TEST(huge_array_count_is_rejected_before_allocation) {
    READER(r, 0x7f, 0xff, 0xff, 0xff, 0x00);
    ck_assert_int_eq(kp_read_array_count(&r, 1), 0);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
}
END_TEST

START_TEST(huge_compact_array_count_is_rejected) {
    READER(r, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00);
    ck_assert_int_eq(kp_read_compact_array_count(&r, 1), 0);
    ck_assert_int_ne(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(array_count_exactly_fitting_is_accepted) {
    READER(r, 0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8);
    ck_assert_int_eq(kp_read_array_count(&r, 4), 2);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(tag_section_is_skipped) {
    /* Two tags: tag 0 with 2 bytes, tag 5 with 0 bytes; then an int8. */
    READER(r, 0x02, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x2a);
    kp_skip_tags(&r);
    ck_assert_int_eq(kp_read_int8(&r), 42);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(tag_with_size_beyond_buffer_is_short) {
    READER(r, 0x01, 0x00, 0x05, 0xaa);
    kp_skip_tags(&r);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
}
END_TEST

START_TEST(tag_count_beyond_buffer_is_short) {
    READER(r, 0x7f, 0x00, 0x00);
    kp_skip_tags(&r);
    ck_assert_int_eq(r.err, KP_BUF_SHORT);
}
END_TEST

START_TEST(uuid_is_sixteen_raw_bytes) {
    READER(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    kp_uuid_t u = kp_read_uuid(&r);
    ck_assert_uint_eq(u.b[0], 1);
    ck_assert_uint_eq(u.b[15], 16);
    ck_assert_int_eq(r.err, KP_BUF_OK);
}
END_TEST

START_TEST(expect_end_flags_trailing_bytes) {
    READER(r, 0x00, 0x01, 0x02);
    kp_read_int16(&r);
    ck_assert_int_eq(kp_reader_expect_end(&r), KP_BUF_TRAILING);
}
END_TEST

START_TEST(writer_encodes_every_type) {
    kp_writer_t w;
    kp_uuid_t u = {{0}};

    u.b[15] = 1;
    kp_writer_init(&w);
    kp_write_int8(&w, -1);
    kp_write_int16(&w, 0x0102);
    kp_write_int32(&w, -2);
    kp_write_int64(&w, 3);
    kp_write_bool(&w, true);
    kp_write_uvarint(&w, 300);
    kp_write_uuid(&w, &u);
    ASSERT_WRITTEN(&w, 0xff, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 3, 0x01, 0xac,
                   0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    kp_writer_free(&w);
}
END_TEST

START_TEST(writer_strings_classic_and_compact) {
    kp_writer_t w;

    kp_writer_init(&w);
    kp_write_string(&w, "ab");
    kp_write_nullable_string(&w, NULL);
    kp_write_string(&w, NULL); /* non-nullable: written as "" */
    kp_write_compact_string(&w, "ab");
    kp_write_compact_nullable_string(&w, NULL);
    kp_write_string_flex(&w, true, "");
    kp_write_nullable_string_flex(&w, false, "c");
    ASSERT_WRITTEN(&w, 0x00, 0x02, 'a', 'b', 0xff, 0xff, 0x00, 0x00, 0x03, 'a', 'b', 0x00, 0x01,
                   0x00, 0x01, 'c');
    kp_writer_free(&w);
}
END_TEST

START_TEST(writer_bytes_arrays_and_tags) {
    static const int32_t ids[] = {1, 2};
    kp_writer_t w;

    kp_writer_init(&w);
    kp_write_bytes(&w, (kp_bytes_t){1, (const uint8_t *)"x"});
    kp_write_bytes(&w, (kp_bytes_t){-1, NULL});
    kp_write_compact_bytes(&w, (kp_bytes_t){0, (const uint8_t *)""});
    kp_write_array_count(&w, -1);
    kp_write_compact_array_count(&w, -1);
    kp_write_int32_array_flex(&w, true, ids, 2);
    kp_write_empty_tags_flex(&w, false);
    kp_write_empty_tags_flex(&w, true);
    ASSERT_WRITTEN(&w, 0, 0, 0, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0x00,
                   0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00);
    kp_writer_free(&w);
}
END_TEST

START_TEST(writer_rejects_string_longer_than_int16) {
    static char big[40000];
    kp_writer_t w;

    memset(big, 'a', sizeof(big) - 1);
    kp_writer_init(&w);
    kp_write_string(&w, big);
    ck_assert_int_eq(w.err, KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(writer_grows_past_initial_capacity) {
    kp_writer_t w;
    kp_reader_t r;

    kp_writer_init(&w);
    for (int32_t i = 0; i < 10000; i++) kp_write_int32(&w, i);
    ck_assert_int_eq(w.err, KP_BUF_OK);
    ck_assert_uint_eq(w.len, 40000);
    kp_reader_init(&r, w.buf, w.len);
    for (int32_t i = 0; i < 10000; i++) ck_assert_int_eq(kp_read_int32(&r), i);
    kp_writer_free(&w);
}
END_TEST

START_TEST(reserve_and_patch_frame_size) {
    kp_writer_t w;
    size_t off;

    kp_writer_init(&w);
    off = kp_write_reserve_int32(&w);
    kp_write_int32(&w, 7);
    kp_write_int16(&w, 0);
    kp_write_patch_int32(&w, off, (int32_t)(w.len - off - 4));
    ASSERT_WRITTEN(&w, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0);
    kp_write_patch_int32(&w, w.len - 2, 1);
    ck_assert_int_eq(w.err, KP_BUF_INVALID);
    kp_writer_free(&w);
}
END_TEST

START_TEST(writer_reset_keeps_buffer) {
    kp_writer_t w;
    uint8_t *buf;

    kp_writer_init(&w);
    kp_write_int64(&w, 1);
    buf = w.buf;
    kp_writer_reset(&w);
    ck_assert_uint_eq(w.len, 0);
    kp_write_int8(&w, 5);
    ck_assert_ptr_eq(w.buf, buf);
    ASSERT_WRITTEN(&w, 5);
    kp_writer_free(&w);
}
END_TEST

Suite *buf_suite(void) {
    Suite *s = suite_create("buf");
    TCase *rd = tcase_create("reader");
    TCase *wr = tcase_create("writer");

    tcase_add_test(rd, fixed_width_integers_are_big_endian);
    tcase_add_test(rd, short_read_sets_sticky_error_and_returns_zero);
    tcase_add_test(rd, uvarint_edges);
    tcase_add_test(rd, uvarint_longer_than_five_bytes_is_invalid);
    tcase_add_test(rd, uvarint_with_bits_beyond_32_is_invalid);
    tcase_add_test(rd, uvarint_cut_short_is_short);
    tcase_add_test(rd, varint_zigzag_edges);
    tcase_add_test(rd, varlong_edges);
    tcase_add_test(rd, varlong_longer_than_ten_bytes_is_invalid);
    tcase_add_test(rd, strings_are_borrowed_slices);
    tcase_add_test(rd, null_in_non_nullable_string_is_invalid);
    tcase_add_test(rd, negative_string_length_is_invalid);
    tcase_add_test(rd, string_longer_than_buffer_is_short);
    tcase_add_test(rd, compact_strings);
    tcase_add_test(rd, compact_null_in_non_nullable_string_is_invalid);
    tcase_add_test(rd, bytes_classic_and_compact);
    tcase_add_test(rd, array_count_null_and_empty);
    tcase_add_test(rd, null_array_where_not_nullable_is_invalid);
    tcase_add_test(rd, negative_array_count_is_invalid);
    tcase_add_test(rd, array_count_larger_than_bytes_left_is_rejected);
    tcase_add_test(rd, huge_array_count_is_rejected_before_allocation);
    tcase_add_test(rd, huge_compact_array_count_is_rejected);
    tcase_add_test(rd, array_count_exactly_fitting_is_accepted);
    tcase_add_test(rd, tag_section_is_skipped);
    tcase_add_test(rd, tag_with_size_beyond_buffer_is_short);
    tcase_add_test(rd, tag_count_beyond_buffer_is_short);
    tcase_add_test(rd, uuid_is_sixteen_raw_bytes);
    tcase_add_test(rd, expect_end_flags_trailing_bytes);
    tcase_add_test(wr, varint_encodings_match_kafka);
    tcase_add_test(wr, writer_encodes_every_type);
    tcase_add_test(wr, writer_strings_classic_and_compact);
    tcase_add_test(wr, writer_bytes_arrays_and_tags);
    tcase_add_test(wr, writer_rejects_string_longer_than_int16);
    tcase_add_test(wr, writer_grows_past_initial_capacity);
    tcase_add_test(wr, reserve_and_patch_frame_size);
    tcase_add_test(wr, writer_reset_keeps_buffer);
    suite_add_tcase(s, rd);
    suite_add_tcase(s, wr);
    return s;
}
