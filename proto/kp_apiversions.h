/*
 * kp_apiversions.h - ApiVersions (key 18) request and response, versions
 * 0-3, flexible from 3 (wire-protocol.md 3.1, 4.1).
 *
 * The response always travels under response header v0, whatever its
 * version; v3 bodies are otherwise flexible.  A request of a version the
 * broker does not know is answered with the v0 "unsupported" body that
 * kp_apiversions_response_unsupported() fills in.
 */
#ifndef KP_APIVERSIONS_H
#define KP_APIVERSIONS_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_APIVERSIONS_VERSION_MAX 3
#define KP_APIVERSIONS_FLEX_FROM 3

typedef struct {
    kp_str_t client_software_name;    /* v3+; borrowed; null before v3 */
    kp_str_t client_software_version; /* v3+ */
} kp_apiversions_request_t;

typedef struct {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kp_apiversion_t;

typedef struct {
    int16_t error_code;
    int32_t n_api_keys;
    const kp_apiversion_t *api_keys; /* borrowed */
    int32_t throttle_time_ms;        /* v1+ */
} kp_apiversions_response_t;

/* Decodes a request body of `version` (0..3) that must fill r exactly.
 * Returns 0, or a KP_BUF_* error. */
int kp_apiversions_request_decode(kp_reader_t *r, int16_t version, kp_apiversions_request_t *req);

/* Encodes a response body of `version` (0..3).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..3). */
int kp_apiversions_response_encode(kp_writer_t *w, int16_t version,
                                   const kp_apiversions_response_t *resp);

/* The answer to a too-new request: error 35 UNSUPPORTED_VERSION with the
 * single entry {18, 0, max_version}, to be encoded as version 0.  entry is
 * the caller's storage that resp->api_keys points at. */
void kp_apiversions_response_unsupported(kp_apiversions_response_t *resp, kp_apiversion_t *entry,
                                         int16_t max_version);

#endif
