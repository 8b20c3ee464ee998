/*
 * protofix.h - the start of every request-fixture test: a captured frame's
 * size prefix and request header are checked, leaving the reader at the
 * first byte of the body.
 */
#ifndef KB_PROTOFIX_H
#define KB_PROTOFIX_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/kp_buf.h"
#include "proto/kp_header.h"

/* Asserts that frame's size prefix matches its length and that its header
 * (of header_version) names api_key; *h receives the header. */
static inline void protofix_open_frame(kp_reader_t *r, const uint8_t *frame, size_t len, int16_t api_key,
                                       int header_version, kp_request_header_t *h) {
    kp_reader_init(r, frame, len);
    ck_assert_int_eq(kp_read_int32(r), (int32_t)(len - 4));
    ck_assert_int_eq(kp_request_header_decode_ids(r, h), 0);
    ck_assert_int_eq(h->request_api_key, api_key);
    ck_assert_int_eq(kp_request_header_decode_rest(r, header_version, h), 0);
}

/* A decoder under test: 0 when the body of version decodes, else its error. */
typedef int (*protofix_verdict_fn)(const uint8_t *body, size_t len, int16_t version);

/* Every proper prefix of a valid body is refused. */
static inline void protofix_truncations_fail(protofix_verdict_fn verdict, const uint8_t *body, size_t len,
                                             int16_t version) {
    for (size_t n = 0; n < len; n++) ck_assert_int_ne(verdict(body, n, version), 0);
}

/* A valid body followed by one byte more is refused as trailing. */
static inline void protofix_trailing_fails(protofix_verdict_fn verdict, const uint8_t *body, size_t len,
                                           int16_t version) {
    uint8_t buf[1024];

    ck_assert_uint_lt(len, sizeof(buf));
    memcpy(buf, body, len);
    buf[len] = 0x00;
    ck_assert_int_eq(verdict(buf, len + 1, version), KP_BUF_TRAILING);
}

/* What w holds is exactly want. */
static inline void protofix_bytes(const kp_writer_t *w, const uint8_t *want, size_t len) {
    ck_assert_int_eq(w->err, KP_BUF_OK);
    ck_assert_uint_eq(w->len, len);
    ck_assert_mem_eq(w->buf, want, len);
}

#endif
