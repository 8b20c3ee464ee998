/*
 * test_api.c - the request dispatcher (broker/api/kb_api.c) behind a real
 * listener (netfix): what wire-protocol.md 1.6 and 3.1 say a broker does
 * with an unknown API key, an unsupported version (ApiVersions answered
 * with the v0 "unsupported" body, anything else closed without an answer),
 * a malformed or truncated header, a truncated body or trailing bytes, and
 * flexible (v2) request headers with tagged fields.
 *
 * The broker has no ZooKeeper and an empty hand-made view (viewfix), so
 * only handlers that need neither answer: ApiVersions and Metadata.
 */
#include <arpa/inet.h>
#include <string.h>

#include "broker/api/kb_api.h"
#include "broker/metrics/kb_metrics.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "tests/unit/netfix.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

static kb_broker_t broker;
static kb_metrics_t metrics;

static void setup(void) {
    logfix_setup("api");
    viewfix_reset();
    memset(&metrics, 0, sizeof(metrics));
    broker = (kb_broker_t){.base = lf.base, .cfg = &lf.cfg, .view = viewfix_view(), .metrics = &metrics};
    netfix_start(kb_api_on_request, &broker, 0);
}

static void teardown(void) {
    netfix_stop();
    viewfix_reset();
    logfix_teardown();
}

/* A request header v1 (key, version, correlation id, client_id "t") in hdr;
 * returns its length. */
static size_t header_v1(uint8_t *hdr, int16_t key, int16_t version, int32_t corr) {
    uint8_t h[] = {(uint8_t)(key >> 8), (uint8_t)key, (uint8_t)(version >> 8), (uint8_t)version,
                   (uint8_t)(corr >> 24), (uint8_t)(corr >> 16), (uint8_t)(corr >> 8), (uint8_t)corr,
                   0, 1, 't'};
    memcpy(hdr, h, sizeof(h));
    return sizeof(h);
}

/* Sends a frame of a v1 header plus body. */
static void request(int16_t key, int16_t version, int32_t corr, const uint8_t *body, size_t body_len) {
    uint8_t frame[256];
    size_t n = header_v1(frame, key, version, corr);
    if (body_len) memcpy(frame + n, body, body_len);
    netfix_send_frame(frame, n + body_len);
}

static void assert_closed_without_answer(void) {
    size_t unread = 99;
    ck_assert(netfix_closed(&unread));
    ck_assert_uint_eq(unread, 0);
}

static int32_t be32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]); }
static int16_t be16(const uint8_t *p) { return (int16_t)(p[0] << 8 | p[1]); }

/* An ApiVersions v0 exchange on the same connection: it is still open and
 * in step. */
static void assert_still_serving(int32_t corr) {
    uint8_t buf[512];
    request(KP_API_API_VERSIONS, 0, corr, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_gt(n, 10);
    ck_assert_int_eq(be32(buf), corr);
    ck_assert_int_eq(be16(buf + 4), 0);
}

START_TEST(too_new_apiversions_gets_the_v0_unsupported_body) {
    uint8_t buf[64];
    request(KP_API_API_VERSIONS, 4, 7, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    /* wire-protocol.md 4.1's worked example, after the size 16. */
    static const uint8_t want[] = {0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3};
    ck_assert_int_eq(n, (ssize_t)sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    assert_still_serving(8);
}
END_TEST

START_TEST(apiversions_v0_lists_every_table_row) {
    uint8_t buf[512];
    request(KP_API_API_VERSIONS, 0, 42, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_eq(be32(buf), 42);
    ck_assert_int_eq(be16(buf + 4), 0);
    int32_t count = be32(buf + 6);
    ck_assert_int_eq(n, 10 + 6 * count);
    bool produce = false, fetch = false;
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *e = buf + 10 + 6 * i;
        ck_assert_int_le(be16(e + 2), be16(e + 4));
        if (be16(e) == KP_API_PRODUCE) produce = be16(e + 2) == 0 && be16(e + 4) == 7;
        if (be16(e) == KP_API_FETCH) fetch = be16(e + 2) == 4 && be16(e + 4) == 11;
    }
    ck_assert(produce && fetch);
    ck_assert_uint_eq(metrics.requests_total, 1);
}
END_TEST

START_TEST(flexible_apiversions_reads_header_tags_and_answers_header_v0) {
    uint8_t buf[512];
    /* Header v2: client_id stays an int16 string, then a tag section with
     * one unknown tag (0, 2 bytes) the broker must skip. */
    static const uint8_t frame[] = {0, 18, 0, 3, 0, 0, 0, 9, 0, 1, 'c', 1, 0, 2, 0xab, 0xcd,
                                    /* body: compact strings "k" and "1", no tags */
                                    2, 'k', 2, '1', 0};
    netfix_send_frame(frame, sizeof(frame));
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_gt(n, 8);
    ck_assert_int_eq(be32(buf), 9);
    ck_assert_int_eq(be16(buf + 4), 0); /* no tag byte between correlation id and error code */
    ck_assert_int_gt(buf[6], 1);        /* compact array: count + 1 */
}
END_TEST

START_TEST(unknown_api_key_closes_without_an_answer) {
    request(KP_API_OFFSET_COMMIT, 0, 1, NULL, 0);
    assert_closed_without_answer();
}
END_TEST

START_TEST(unsupported_version_closes_without_an_answer) {
    request(KP_API_METADATA, 7, 1, (const uint8_t[]){0, 0, 0, 0}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(version_below_the_handled_range_closes) {
    /* DescribeConfigs v0 has a codec, but the table handles 1-2. */
    request(KP_API_DESCRIBE_CONFIGS, 0, 1, (const uint8_t[]){0, 0, 0, 0}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(frame_shorter_than_a_header_closes) {
    netfix_send_frame((const uint8_t[]){0, 18, 0, 0, 0, 0}, 6);
    assert_closed_without_answer();
}
END_TEST

START_TEST(client_id_running_past_the_frame_closes) {
    netfix_send_frame((const uint8_t[]){0, 18, 0, 0, 0, 0, 0, 1, 0, 50, 'x'}, 11);
    assert_closed_without_answer();
}
END_TEST

START_TEST(broken_tag_section_in_a_flexible_header_closes) {
    /* One tag announced with 9 bytes of data, 1 present. */
    netfix_send_frame((const uint8_t[]){0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 0, 9, 0}, 14);
    assert_closed_without_answer();
}
END_TEST

START_TEST(truncated_body_closes) {
    /* Metadata v1: five topics announced, none present. */
    request(KP_API_METADATA, 1, 1, (const uint8_t[]){0, 0, 0, 5}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(trailing_bytes_after_the_body_close) {
    request(KP_API_API_VERSIONS, 0, 1, (const uint8_t[]){0}, 1);
    assert_closed_without_answer();
}
END_TEST

START_TEST(metadata_is_answered_in_order_with_its_correlation_id) {
    uint8_t buf[512];
    request(KP_API_METADATA, 1, 100, (const uint8_t[]){0xff, 0xff, 0xff, 0xff}, 4); /* all topics */
    request(KP_API_API_VERSIONS, 0, 101, NULL, 0);
    ck_assert_int_gt(netfix_read_frame(buf, sizeof(buf)), 4);
    ck_assert_int_eq(be32(buf), 100);
    ck_assert_int_eq(be32(buf + 4), 0); /* no brokers in an empty view */
    ck_assert_int_gt(netfix_read_frame(buf, sizeof(buf)), 4);
    ck_assert_int_eq(be32(buf), 101);
}
END_TEST

START_TEST(oversized_frame_is_refused_by_the_listener) {
    uint32_t be = htonl(200u << 20); /* above socket.request.max.bytes (100 MiB) */
    netfix_send(&be, 4);
    assert_closed_without_answer();
    ck_assert_uint_eq(metrics.requests_total, 0);
}
END_TEST

Suite *api_suite(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("dispatcher");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, too_new_apiversions_gets_the_v0_unsupported_body);
    tcase_add_test(tc, apiversions_v0_lists_every_table_row);
    tcase_add_test(tc, flexible_apiversions_reads_header_tags_and_answers_header_v0);
    tcase_add_test(tc, unknown_api_key_closes_without_an_answer);
    tcase_add_test(tc, unsupported_version_closes_without_an_answer);
    tcase_add_test(tc, version_below_the_handled_range_closes);
    tcase_add_test(tc, frame_shorter_than_a_header_closes);
    tcase_add_test(tc, client_id_running_past_the_frame_closes);
    tcase_add_test(tc, broken_tag_section_in_a_flexible_header_closes);
    tcase_add_test(tc, truncated_body_closes);
    tcase_add_test(tc, trailing_bytes_after_the_body_close);
    tcase_add_test(tc, metadata_is_answered_in_order_with_its_correlation_id);
    tcase_add_test(tc, oversized_frame_is_refused_by_the_listener);
    suite_add_tcase(s, tc);
    return s;
}
