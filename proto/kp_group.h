/*
 * kp_group.h - the group-membership APIs, broker side: JoinGroup (key 11)
 * v0-5, Heartbeat (12) v0-3, LeaveGroup (13) v0-3 and SyncGroup (14) v0-3
 * (group-protocol.md 1.1 and 2.2-2.5; Kafka's JoinGroup*, Heartbeat*,
 * LeaveGroup* and SyncGroup* message schemas).  These are the highest
 * non-flexible versions, the range every supported client fits in; the
 * flexible ones (JoinGroup 6, the others 4) are refused like any version
 * above the maximum.
 *
 * Requests are decoded into structs whose arrays are owned (release them
 * with the _clear function) and whose strings and byte blobs are borrowed
 * slices of the frame.  Response structs borrow everything.  What the
 * fields mean (the group state machine) is the coordinator's business.
 */
#ifndef KP_GROUP_H
#define KP_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_JOINGROUP_VERSION_MAX 5
#define KP_JOINGROUP_FLEX_FROM 6
#define KP_SYNCGROUP_VERSION_MAX 3
#define KP_SYNCGROUP_FLEX_FROM 4
#define KP_HEARTBEAT_VERSION_MAX 3
#define KP_HEARTBEAT_FLEX_FROM 4
#define KP_LEAVEGROUP_VERSION_MAX 3
#define KP_LEAVEGROUP_FLEX_FROM 4

/* ------------------------------------------------------------- JoinGroup */

typedef struct {
    kp_str_t name;       /* an assignor name such as "range" */
    kp_bytes_t metadata; /* opaque to the codec (ConsumerProtocolSubscription for "consumer") */
} kp_joingroup_protocol_t;

typedef struct {
    kp_str_t group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+; a v0 request's session_timeout_ms */
    kp_str_t member_id;           /* "" on a first join */
    kp_str_t group_instance_id;   /* v5+, nullable; null before v5 */
    kp_str_t protocol_type;       /* "consumer" for consumers */
    int32_t n_protocols;
    kp_joingroup_protocol_t *protocols; /* owned: kp_joingroup_request_clear(); preference order */
} kp_joingroup_request_t;

typedef struct {
    kp_str_t member_id;         /* a null slice is written as "" */
    kp_str_t group_instance_id; /* v5+, nullable */
    kp_bytes_t metadata;        /* a null slice is written as empty bytes */
} kp_joingroup_member_t;

/* Every pointer is borrowed.  The three strings are non-nullable at these
 * versions and a null slice goes out as "": librdkafka reads every field
 * of an error answer (it needs member_id from MEMBER_ID_REQUIRED). */
typedef struct {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id; /* -1 on error */
    kp_str_t protocol_name;
    kp_str_t leader;
    kp_str_t member_id;
    int32_t n_members; /* non-zero only in the leader's answer */
    const kp_joingroup_member_t *members;
} kp_joingroup_response_t;

/* Decodes a request body of `version` (0..5) that must fill r exactly.
 * The protocol count is checked against the bytes left before anything is
 * allocated.  Release req with kp_joingroup_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_joingroup_request_decode(kp_reader_t *r, int16_t version, kp_joingroup_request_t *req);
void kp_joingroup_request_clear(kp_joingroup_request_t *req);

/* Encodes a response body of `version` (0..5).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..5). */
int kp_joingroup_response_encode(kp_writer_t *w, int16_t version, const kp_joingroup_response_t *resp);

/* ------------------------------------------------------------- SyncGroup */

typedef struct {
    kp_str_t member_id;
    kp_bytes_t assignment; /* opaque (ConsumerProtocolAssignment for "consumer") */
} kp_syncgroup_assignment_t;

typedef struct {
    kp_str_t group_id;
    int32_t generation_id;
    kp_str_t member_id;
    kp_str_t group_instance_id; /* v3+, nullable; null before v3 */
    int32_t n_assignments;      /* only the leader sends entries */
    kp_syncgroup_assignment_t *assignments; /* owned: kp_syncgroup_request_clear() */
} kp_syncgroup_request_t;

/* Borrows assignment; a null slice is written as empty bytes. */
typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kp_bytes_t assignment; /* the caller's; empty on error */
} kp_syncgroup_response_t;

/* Decodes a request body of `version` (0..3); the same contract as
 * kp_joingroup_request_decode(). */
int kp_syncgroup_request_decode(kp_reader_t *r, int16_t version, kp_syncgroup_request_t *req);
void kp_syncgroup_request_clear(kp_syncgroup_request_t *req);

/* Encodes a response body of `version` (0..3).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..3). */
int kp_syncgroup_response_encode(kp_writer_t *w, int16_t version, const kp_syncgroup_response_t *resp);

/* ------------------------------------------------------------- Heartbeat */

/* Owns nothing, so there is no _clear function. */
typedef struct {
    kp_str_t group_id;
    int32_t generation_id;
    kp_str_t member_id;
    kp_str_t group_instance_id; /* v3+, nullable; null before v3 */
} kp_heartbeat_request_t;

typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
} kp_heartbeat_response_t;

/* Decodes a request body of `version` (0..3) that must fill r exactly.
 * Returns 0 or a KP_BUF_* error. */
int kp_heartbeat_request_decode(kp_reader_t *r, int16_t version, kp_heartbeat_request_t *req);

/* Encodes a response body of `version` (0..3).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..3). */
int kp_heartbeat_response_encode(kp_writer_t *w, int16_t version, const kp_heartbeat_response_t *resp);

/* ------------------------------------------------------------ LeaveGroup */

typedef struct {
    kp_str_t member_id;
    kp_str_t group_instance_id; /* nullable; always null in the v0-2 form */
} kp_leavegroup_member_t;

/* v0-2 name one member (member_id only); v3 a batch of members.  Both
 * decode to the batch form, and single_member says which one arrived,
 * because the v0-2 answer has no per-member results to report. */
typedef struct {
    kp_str_t group_id;
    int32_t n_members;
    kp_leavegroup_member_t *members; /* owned: kp_leavegroup_request_clear() */
    bool single_member;              /* the v0-2 form: exactly one member */
} kp_leavegroup_request_t;

typedef struct {
    kp_str_t member_id;         /* a null slice is written as "" */
    kp_str_t group_instance_id; /* nullable */
    int16_t error_code;
} kp_leavegroup_member_response_t;

/* Every pointer is borrowed.  Before v3 only throttle_time_ms (v1+) and
 * error_code go out: Kafka puts the group-level error there or, when that
 * is NONE, the first member error; choosing it is the handler's job. */
typedef struct {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    int32_t n_members; /* v3+ */
    const kp_leavegroup_member_response_t *members;
} kp_leavegroup_response_t;

/* Decodes a request body of `version` (0..3); the same contract as
 * kp_joingroup_request_decode(). */
int kp_leavegroup_request_decode(kp_reader_t *r, int16_t version, kp_leavegroup_request_t *req);
void kp_leavegroup_request_clear(kp_leavegroup_request_t *req);

/* Encodes a response body of `version` (0..3).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..3). */
int kp_leavegroup_response_encode(kp_writer_t *w, int16_t version, const kp_leavegroup_response_t *resp);

#endif
