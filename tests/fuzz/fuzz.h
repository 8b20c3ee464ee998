/*
 * fuzz.h - what every libFuzzer target in tests/fuzz shares.
 *
 * Each target feeds one decoder the bytes libFuzzer hands it and checks
 * what a decoder promises besides "no memory error" (AddressSanitizer and
 * UBSan report those): every slice it returns lies inside the input, every
 * count matches its array, and a request is either decoded or refused, never
 * half-filled.  A broken promise aborts, which libFuzzer reports as a crash
 * with the input that caused it.
 *
 * Request targets take a frame without its 4-byte size (request header,
 * then body), as kb_api_on_request receives it, so the seeds are captured
 * client frames.  The API key in the input is ignored (each target knows
 * its API); the version is folded into the range the dispatcher accepts,
 * because the dispatcher never hands a decoder any other.
 */
#ifndef KB_FUZZ_H
#define KB_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kp_buf.h"
#include "proto/kp_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message libFuzzer prints above the reproducer. */
#define FZ_CHECK(cond)                                                                      \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* The input a slice may point into. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_input_t;

/* Where the checks below fold the bytes they read, so no read is optimised away. */
static volatile uint8_t fz_sink __attribute__((unused));

/* A slice of len bytes at ptr (len < 0: null, then ptr must be NULL) lies
 * inside the input; every byte is read so AddressSanitizer sees a stray
 * one even when the bounds arithmetic is what is wrong. */
static inline void fz_slice(const fz_input_t *in, const void *ptr, int64_t len) {
    const uint8_t *p = ptr;
    if (len < 0) {
        FZ_CHECK(len == KP_NULL_LEN && p == NULL);
        return;
    }
    if (len == 0) return;
    FZ_CHECK(p >= in->p && (size_t)len <= in->n && (size_t)(p - in->p) <= in->n - (size_t)len);
    for (int64_t i = 0; i < len; i++) fz_sink ^= p[i];
}

static inline void fz_str(const fz_input_t *in, kp_str_t s) { fz_slice(in, s.ptr, s.len); }

/* Reads every element of an array a decoder allocated for a count it
 * reported, so a count larger than the allocation is an ASan error. */
static inline void fz_array(const void *a, int32_t n, size_t elem) {
    FZ_CHECK(n >= 0 || n == -1);
    if (n <= 0) return;
    FZ_CHECK(a != NULL);
    const uint8_t *b = a;
    for (size_t i = 0; i < (size_t)n * elem; i += elem) fz_sink ^= b[i] ^ b[i + elem - 1];
}

/* The frame as kb_api_on_request sees it, copied so the decoder may keep
 * mutable pointers into it (Produce records) and so ASan knows its end. */
typedef struct {
    fz_input_t in;
    uint8_t *buf;
    kp_reader_t body;
    kp_request_header_t header;
    int16_t version;
} fz_request_t;

/*
 * Decodes the request header as the dispatcher does for an API whose
 * handled versions are [vmin, vmax] and first flexible version flex_from.
 * Returns 0 with r->body at the first byte of the body, or -1 when the
 * header is refused (nothing to free).  fz_request_end() frees the copy.
 */
static inline int fz_request_begin(fz_request_t *r, const uint8_t *data, size_t size, int16_t api_key,
                                   int16_t vmin, int16_t vmax, int16_t flex_from) {
    memset(r, 0, sizeof(*r));
    r->buf = malloc(size ? size : 1);
    if (!r->buf) return -1;
    memcpy(r->buf, data, size);
    r->in = (fz_input_t){r->buf, size};
    kp_reader_init(&r->body, r->buf, size);
    if (kp_request_header_decode_ids(&r->body, &r->header) != 0) return -1;
    int16_t v = r->header.request_api_version;
    if (v < vmin || v > vmax) v = (int16_t)(vmin + (uint16_t)v % (uint16_t)(vmax - vmin + 1));
    r->version = v;
    int hv = kp_request_header_version(api_key, v, flex_from);
    if (kp_request_header_decode_rest(&r->body, hv, &r->header) != 0) return -1;
    fz_str(&r->in, r->header.client_id);
    return 0;
}

/* A decoder's verdict must agree with its reader: 0 exactly when the
 * reader has no error (every byte consumed, since bodies fill the frame). */
static inline void fz_request_verdict(fz_request_t *r, int rc) {
    FZ_CHECK((rc == 0) == (r->body.err == KP_BUF_OK));
    if (rc == 0) FZ_CHECK(kp_reader_left(&r->body) == 0);
}

static inline void fz_request_end(fz_request_t *r) { free(r->buf); }

#endif
