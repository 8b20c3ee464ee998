/*
 * kp_initproducerid.h - InitProducerId (key 22) request and response,
 * versions 0-4, flexible from v2 (wire-protocol.md 4.10, Kafka's
 * InitProducerIdRequest/InitProducerIdResponse schemas).
 *
 * v1 is v0 on the wire (it only changed throttling); v2 switches to the
 * compact encodings and tagged fields; v3 adds producer_id/producer_epoch
 * to the request (KIP-360 epoch bumps); v4 only allows PRODUCER_FENCED in
 * the answer.  librdkafka 2.0.2 sends v4 with request header v2.
 */
#ifndef KP_INITPRODUCERID_H
#define KP_INITPRODUCERID_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_INITPRODUCERID_VERSION_MAX 4
#define KP_INITPRODUCERID_FLEX_FROM 2

/* The "no producer" values of producer_id and producer_epoch. */
#define KP_NO_PRODUCER_ID (-1)
#define KP_NO_PRODUCER_EPOCH (-1)

typedef struct {
    kp_str_t transactional_id;      /* null for an idempotent-only producer; borrowed */
    int32_t transaction_timeout_ms; /* ignored without a transactional id */
    int64_t producer_id;            /* v3+; KP_NO_PRODUCER_ID before */
    int16_t producer_epoch;         /* v3+; KP_NO_PRODUCER_EPOCH before */
} kp_initproducerid_request_t;

typedef struct {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;    /* -1 on error */
    int16_t producer_epoch; /* -1 on error */
} kp_initproducerid_response_t;

/* Decodes a request body of `version` (0..4) that must fill r exactly.
 * Returns 0 or a KP_BUF_* error (KP_BUF_INVALID for another version). */
int kp_initproducerid_request_decode(kp_reader_t *r, int16_t version, kp_initproducerid_request_t *req);

/* Encodes a request body (for tests and tools).  Returns w->err. */
int kp_initproducerid_request_encode(kp_writer_t *w, int16_t version, const kp_initproducerid_request_t *req);

/* Encodes a response body of `version` (0..4).  Returns w->err, or
 * KP_BUF_INVALID for a version outside 0..4. */
int kp_initproducerid_response_encode(kp_writer_t *w, int16_t version, const kp_initproducerid_response_t *resp);

#endif
