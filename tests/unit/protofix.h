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

#endif
