/*
 * kp_findcoordinator.h - FindCoordinator (key 10) request and response,
 * versions 0-2 (group-protocol.md 2.1).  Flexible versions start at 3.
 *
 * v0 carries only the key and the node; v1 adds key_type to the request and
 * throttle_time_ms and error_message to the response; v2 is identical to
 * v1 on the wire.
 *
 * Both sides: the broker's (request decode, response encode) and the
 * client's (request encode, response decode) for the admin tool's Kafka
 * client.  A decoded response borrows its strings from the buffer.
 */
#ifndef KP_FINDCOORDINATOR_H
#define KP_FINDCOORDINATOR_H

#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_FINDCOORDINATOR_VERSION_MAX 2
#define KP_FINDCOORDINATOR_FLEX_FROM 3

/* key_type values. */
#define KP_COORDINATOR_GROUP 0
#define KP_COORDINATOR_TRANSACTION 1

typedef struct {
    kp_str_t key;     /* group id or transactional id; borrowed */
    int8_t key_type;  /* v1+; KP_COORDINATOR_GROUP before */
} kp_findcoordinator_request_t;

/* Every pointer is borrowed. */
typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kp_str_t error_message; /* v1+; nullable */
    int32_t node_id;        /* -1 on error */
    kp_str_t host;          /* "" on error */
    int32_t port;           /* -1 on error */
} kp_findcoordinator_response_t;

/* Decodes a request body of `version` (0..2) that must fill r exactly.
 * Returns 0 or a KP_BUF_* error. */
int kp_findcoordinator_request_decode(kp_reader_t *r, int16_t version,
                                      kp_findcoordinator_request_t *req);

/* Encodes a response body of `version` (0..2).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..2). */
int kp_findcoordinator_response_encode(kp_writer_t *w, int16_t version,
                                       const kp_findcoordinator_response_t *resp);

/* Client side.  Encodes a request body of `version` (0..2); v0 cannot carry
 * key_type, so a v0 request for anything but a group is KP_BUF_INVALID.
 * Returns w->err otherwise. */
int kp_findcoordinator_request_encode(kp_writer_t *w, int16_t version,
                                      const kp_findcoordinator_request_t *req);
/* Client side.  Decodes a response body of `version` (0..2) that must fill
 * r exactly; fields a version lacks read as 0 / null.  Returns 0 or a
 * KP_BUF_* error. */
int kp_findcoordinator_response_decode(kp_reader_t *r, int16_t version,
                                       kp_findcoordinator_response_t *resp);

#endif
