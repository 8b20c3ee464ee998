/*
 * test_sendfile.c - the sendfile output (broker/net/kb_sendfile.c) and a
 * partition's ranges queued into it (kb_partition_range_send):
 *   - bytes around a file range and the range itself leave a socket in
 *     order and intact, from a plain file and from a partition's log;
 *   - a range's release callback runs exactly once: after its bytes were
 *     sent, or when an output dropped unsent is cleared, or at once for an
 *     empty range, which adds nothing;
 *   - a log range sent through the partition call gives its segment back
 *     once sent (LeakSanitizer would report the reference otherwise, and
 *     closing the logs would find it held).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/log/kb_log.h"
#include "broker/net/kb_sendfile.h"
#include "broker/replica/kb_partition.h"
#include "proto/kp_batch.h"
#include "tests/unit/logfix.h"
#include "tests/unit/unit.h"

static const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static char path[64];
static int fd = -1;
static int released; /* release callbacks run */

static void on_release(void *arg) {
    ck_assert_ptr_eq(arg, &released);
    released++;
}

static void file_setup(void) {
    snprintf(path, sizeof(path), "/tmp/kb-test-sendfile-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, sizeof(content) - 1), (ssize_t)sizeof(content) - 1);
    released = 0;
}

static void file_teardown(void) {
    close(fd);
    unlink(path);
}

/* Writes eb out through a socketpair and reads back exactly n bytes. */
static void send_through_socket(struct evbuffer *eb, uint8_t *got, size_t n) {
    int sv[2];
    size_t at = 0;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    while (evbuffer_get_length(eb) > 0) ck_assert_int_gt(evbuffer_write(eb, sv[0]), 0);
    close(sv[0]);
    while (at < n) {
        ssize_t k = read(sv[1], got + at, n - at);
        ck_assert_int_gt(k, 0);
        at += (size_t)k;
    }
    ck_assert_int_eq(read(sv[1], got, 1), 0); /* nothing more */
    close(sv[1]);
}

START_TEST(bytes_and_file_leave_in_order) {
    kb_sendfile_t s;
    uint8_t got[64];

    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_sendfile_add_bytes(&s, "head", 4), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&s, fd, 10, 16, on_release, &released), 0);
    ck_assert_int_eq(kb_sendfile_add_bytes(&s, "tail", 4), 0);
    ck_assert_uint_eq(evbuffer_get_length(kb_sendfile_evbuffer(&s)), 24);
    send_through_socket(kb_sendfile_evbuffer(&s), got, 24);
    ck_assert_mem_eq(got, "head", 4);
    ck_assert_mem_eq(got + 4, content + 10, 16);
    ck_assert_mem_eq(got + 20, "tail", 4);
    kb_sendfile_clear(&s);
}
END_TEST

START_TEST(release_runs_once_after_sent) {
    kb_sendfile_t s;
    uint8_t got[64];

    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&s, fd, 0, 8, on_release, &released), 0);
    ck_assert_int_eq(kb_sendfile_add_bytes(&s, "tail", 4), 0);
    ck_assert_int_eq(released, 0); /* held while queued */
    send_through_socket(kb_sendfile_evbuffer(&s), got, 12);
    ck_assert_int_eq(released, 1);
    kb_sendfile_clear(&s);
    ck_assert_int_eq(released, 1);
}
END_TEST

START_TEST(empty_range_adds_nothing) {
    kb_sendfile_t s;
    kb_partition_range_t r = {0};

    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&s, fd, 4, 0, on_release, &released), 0);
    ck_assert_int_eq(released, 1); /* nothing to hold */
    ck_assert_int_eq(kb_partition_range_send(&s, &r), 0);
    ck_assert_uint_eq(evbuffer_get_length(kb_sendfile_evbuffer(&s)), 0);
    kb_sendfile_clear(&s);
    ck_assert_int_eq(released, 1);
}
END_TEST

START_TEST(cleared_output_releases_unsent_ranges) {
    kb_sendfile_t s;

    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&s, fd, 0, 8, on_release, &released), 0);
    ck_assert_int_eq(kb_sendfile_add_file(&s, fd, 8, 8, on_release, &released), 0);
    ck_assert_int_eq(released, 0);
    kb_sendfile_clear(&s); /* never sent */
    ck_assert_int_eq(released, 2);
    kb_sendfile_clear(&s); /* harmless twice */
    ck_assert_int_eq(released, 2);
}
END_TEST

/* ------------------------------------------------ a partition's log range */

static kb_logmgr_t *mgr;

static void log_setup(void) {
    logfix_setup("sendfile");
    mgr = logfix_open();
}

static void log_teardown(void) {
    kb_logmgr_close(mgr);
    logfix_teardown();
}

/* The partition's range over a log holding one batch (kb_partition_read
 * does this conversion; the suite has no hosted partition). */
static size_t read_one_batch(uint8_t *batch, kb_partition_range_t *out) {
    kb_log_t *log = kb_logmgr_get_or_create(mgr, "orders", 0, NULL);
    kp_batch_header_t h;
    kb_append_result_t res;
    kb_log_range_t r;
    size_t size = logfix_batch(batch, 3, 20, true, 1700000000000);

    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(kp_batch_validate_produce(batch, size, 7, 1 << 20, &h), 0);
    ck_assert_int_eq(kb_log_append(log, batch, &h, 0, &res), 0);
    ck_assert_int_eq(kb_log_read(log, 0, kb_log_end_offset(log), 1 << 20, true, &r), 0);
    ck_assert_uint_eq(r.len, size);
    *out = (kb_partition_range_t){.segment = r.segment, .fd = r.fd, .pos = (int64_t)r.pos, .len = r.len};
    return size;
}

START_TEST(log_range_leaves_in_order_and_lets_go) {
    uint8_t batch[4096], got[4096 + 8];
    kb_partition_range_t r;
    kb_sendfile_t s;
    size_t size = read_one_batch(batch, &r);

    ck_assert_uint_eq(kb_partition_range_len(&r), size);
    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_sendfile_add_bytes(&s, "head", 4), 0);
    ck_assert_int_eq(kb_partition_range_send(&s, &r), 0);
    ck_assert(kb_partition_range_empty(&r)); /* the reference moved into the output */
    ck_assert_int_eq(kb_sendfile_add_bytes(&s, "tail", 4), 0);
    send_through_socket(kb_sendfile_evbuffer(&s), got, size + 8);
    ck_assert_mem_eq(got, "head", 4);
    ck_assert_mem_eq(got + 4, batch, size);
    ck_assert_mem_eq(got + 4 + size, "tail", 4);
    kb_sendfile_clear(&s);
}
END_TEST

START_TEST(unsent_log_range_lets_go) {
    uint8_t batch[4096];
    kb_partition_range_t r;
    kb_sendfile_t s;

    read_one_batch(batch, &r);
    ck_assert_int_eq(kb_sendfile_init(&s), 0);
    ck_assert_int_eq(kb_partition_range_send(&s, &r), 0);
    kb_sendfile_clear(&s); /* never sent */
}
END_TEST

Suite *sendfile_suite(void) {
    Suite *s = suite_create("sendfile");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, file_setup, file_teardown);
    tcase_add_test(tc, bytes_and_file_leave_in_order);
    tcase_add_test(tc, release_runs_once_after_sent);
    tcase_add_test(tc, empty_range_adds_nothing);
    tcase_add_test(tc, cleared_output_releases_unsent_ranges);
    suite_add_tcase(s, tc);
    tc = tcase_create("log ranges");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, log_range_leaves_in_order_and_lets_go);
    tcase_add_test(tc, unsent_log_range_lets_go);
    suite_add_tcase(s, tc);
    return s;
}
