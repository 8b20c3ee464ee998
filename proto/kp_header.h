/*
 * kp_header.h - Kafka request and response headers (wire-protocol.md 1.3).
 *
 * Which header version a message carries is a function of the API key, the
 * API version and the API's first flexible version: flexible requests use
 * header v2 (v1 + tag section) and flexible responses header v1, except the
 * ApiVersions response, which is always v0 so that a client can parse the
 * answer to a version it guessed.  In request header v2 the client_id stays
 * a classic int16-length nullable string.
 *
 * A request header is decoded in two steps because the second depends on
 * the first: the fixed ids (key, version, correlation id) tell the caller
 * which API table row applies, and that row's flex_from gives the header
 * version needed to read the rest.
 *
 * The client side (request header encode, response header decode) serves
 * the admin tool's Kafka client (client/), which picks the header versions
 * with the same two rules.
 */
#ifndef KP_HEADER_H
#define KP_HEADER_H

#include <stdint.h>

#include "proto/kp_buf.h"
#include "proto/kp_types.h"

typedef struct {
    int16_t request_api_key;
    int16_t request_api_version;
    int32_t correlation_id;
    kp_str_t client_id; /* borrowed from the frame; null for header v0 */
} kp_request_header_t;

/* 0 (ControlledShutdown v0 only), 1, or 2 (flexible versions). */
int kp_request_header_version(int16_t api_key, int16_t api_version, int16_t flex_from);
/* 0, or 1 for flexible versions other than ApiVersions. */
int kp_response_header_version(int16_t api_key, int16_t api_version, int16_t flex_from);

/* Step 1: request_api_key, request_api_version, correlation_id.  The rest of
 * h is reset.  Returns r->err. */
int kp_request_header_decode_ids(kp_reader_t *r, kp_request_header_t *h);
/* Step 2: what header version hv adds (client_id from v1, tags from v2).
 * Returns r->err. */
int kp_request_header_decode_rest(kp_reader_t *r, int hv, kp_request_header_t *h);

/* Writes a response header of version hv (0 or 1). */
void kp_response_header_encode(kp_writer_t *w, int hv, int32_t correlation_id);

/* Client side.  Writes a request header of version hv (0, 1 or 2): the ids,
 * then client_id from v1 (a null slice is written as null), then an empty
 * tag section in v2.  Returns w->err, or KP_BUF_INVALID for another hv. */
int kp_request_header_encode(kp_writer_t *w, int hv, const kp_request_header_t *h);
/* Client side.  Reads a response header of version hv (0 or 1) into
 * *correlation_id, skipping v1's tags.  Returns r->err (KP_BUF_INVALID for
 * another hv). */
int kp_response_header_decode(kp_reader_t *r, int hv, int32_t *correlation_id);

/* The Kafka name of an API key ("Metadata", "ApiVersions"), or NULL for a
 * key wire-protocol.md section 2 does not list. */
const char *kp_api_key_name(int16_t api_key);

#endif
