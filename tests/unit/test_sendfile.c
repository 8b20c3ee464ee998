/*
 * test_sendfile.c - log ranges queued for sendfile (broker/log/kb_sendfile.c):
 * the bytes around a range and the range itself leave a socket in order and
 * intact, a range moves its segment reference into the output (the caller's
 * range is emptied), an empty range adds nothing, and an output dropped
 * before it was sent releases its segments (LeakSanitizer would report the
 * reference otherwise, and closing the logs would find it held).
 */
#include <event2/buffer.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/log/kb_log.h"
#include "broker/log/kb_sendfile.h"
#include "proto/kp_batch.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

static kb_logmgr_t *mgr;
static uint8_t batch[4096];
static size_t batch_size;

static void setup(void) {
    logfix_setup("sendfile");
    mgr = logfix_open();
}

static void teardown(void) {
    kb_logmgr_close(mgr);
    logfix_teardown();
}

/* A log holding one batch, read whole into r. */
static void read_one_batch(kb_log_range_t *r) {
    kb_log_t *log = kb_logmgr_get_or_create(mgr, "orders", 0, NULL);
    kp_batch_header_t h;
    kb_append_result_t res;
    ck_assert_ptr_nonnull(log);
    batch_size = logfix_batch(batch, 3, 20, true, 1700000000000);
    ck_assert_int_eq(kp_batch_validate_produce(batch, batch_size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, batch, &h, 0, &res), 0);
    ck_assert_int_eq(kb_log_read(log, 0, kb_log_end_offset(log), 1 << 20, true, r), 0);
    ck_assert_uint_eq(r->len, batch_size);
}

START_TEST(bytes_and_range_leave_in_order) {
    kb_log_range_t r;
    read_one_batch(&r);
    kb_sendfile_t *s = kb_sendfile_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(kb_sendfile_add_bytes(s, "head", 4), 0);
    ck_assert_int_eq(kb_sendfile_add_range(s, &r), 0);
    ck_assert_ptr_null(r.segment); /* the reference moved into the output */
    ck_assert_int_eq(kb_sendfile_add_bytes(s, "tail", 4), 0);
    struct evbuffer *eb = kb_sendfile_evbuffer(s);
    ck_assert_uint_eq(evbuffer_get_length(eb), batch_size + 8);

    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    while (evbuffer_get_length(eb) > 0) ck_assert_int_gt(evbuffer_write(eb, sv[0]), 0);
    uint8_t got[sizeof(batch) + 8];
    size_t n = 0;
    while (n < batch_size + 8) {
        ssize_t k = read(sv[1], got + n, sizeof(got) - n);
        ck_assert_int_gt(k, 0);
        n += (size_t)k;
    }
    ck_assert_mem_eq(got, "head", 4);
    ck_assert_mem_eq(got + 4, batch, batch_size);
    ck_assert_mem_eq(got + 4 + batch_size, "tail", 4);
    close(sv[0]);
    close(sv[1]);
    kb_sendfile_free(s);
}
END_TEST

START_TEST(empty_range_adds_nothing) {
    kb_log_range_t r = {.fd = -1};
    kb_sendfile_t *s = kb_sendfile_new();
    ck_assert_int_eq(kb_sendfile_add_range(s, &r), 0);
    ck_assert_uint_eq(evbuffer_get_length(kb_sendfile_evbuffer(s)), 0);
    kb_sendfile_free(s);
}
END_TEST

START_TEST(dropped_output_releases_its_segments) {
    kb_log_range_t r;
    read_one_batch(&r);
    kb_sendfile_t *s = kb_sendfile_new();
    ck_assert_int_eq(kb_sendfile_add_range(s, &r), 0);
    kb_sendfile_free(s); /* never sent */
}
END_TEST

Suite *sendfile_suite(void) {
    Suite *s = suite_create("sendfile");
    TCase *tc = tcase_create("ranges");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bytes_and_range_leave_in_order);
    tcase_add_test(tc, empty_range_adds_nothing);
    tcase_add_test(tc, dropped_output_releases_its_segments);
    suite_add_tcase(s, tc);
    return s;
}
