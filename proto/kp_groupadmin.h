/*
 * kp_groupadmin.h - the group administration APIs: ListGroups (key 16,
 * v0-2), DescribeGroups (key 15, v0-4) and DeleteGroups (key 42, v0-1), as
 * group-protocol.md 2.8-2.10 and 6.4 describe them.  Their first flexible
 * versions are 3, 5 and 2; the codecs go through the *_flex primitives
 * already, so those versions (the same fields as the one before) only have
 * to be let in.
 *
 * All three have the broker side (request decode, response encode);
 * ListGroups and DescribeGroups also the client side (request encode,
 * response decode) for the command-line admin tool.  Decoded messages own
 * their arrays (allocated only after the count was checked against the
 * bytes left) and borrow every string and byte blob from the buffer they
 * were read from; the *_clear() functions free the arrays.  Structs passed
 * to an encoder are only read.
 */
#ifndef KP_GROUPADMIN_H
#define KP_GROUPADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/kp_buf.h"

#define KP_LISTGROUPS_VERSION_MAX 2
#define KP_LISTGROUPS_FLEX_FROM 3
#define KP_DESCRIBEGROUPS_VERSION_MAX 4
#define KP_DESCRIBEGROUPS_FLEX_FROM 5
#define KP_DELETEGROUPS_VERSION_MAX 1
#define KP_DELETEGROUPS_FLEX_FROM 2

/* DescribeGroups authorized_operations when they were not asked for (and
 * what the decoder fills in below v3). */
#define KP_AUTHORIZED_OPERATIONS_OMITTED INT32_MIN

/* -------------------------------------------------------------- ListGroups */

/* The request has no fields in v0-2 (v4's states filter would bring a
 * struct), so its codec takes none. */

typedef struct {
    kp_str_t group_id;
    kp_str_t protocol_type; /* "" for a group that only stores offsets */
} kp_listgroups_response_group_t;

/* The broker fills it with borrowed pointers; kp_listgroups_response_decode
 * allocates the array (kp_listgroups_response_clear() frees it). */
typedef struct {
    int32_t throttle_time_ms; /* v1+; 0 before */
    int16_t error_code;
    int32_t n_groups;
    kp_listgroups_response_group_t *groups;
} kp_listgroups_response_t;

/* Broker side.  Checks that a request body of `version` (0..2) is empty.
 * Returns 0 or a KP_BUF_* error. */
int kp_listgroups_request_decode(kp_reader_t *r, int16_t version);
/* Encodes a response body of `version` (0..2).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..2). */
int kp_listgroups_response_encode(kp_writer_t *w, int16_t version, const kp_listgroups_response_t *resp);

/* Client side.  Encodes the (empty) request body.  Returns w->err or
 * KP_BUF_INVALID. */
int kp_listgroups_request_encode(kp_writer_t *w, int16_t version);
/* Decodes a response body of `version` (0..2) that must fill r exactly;
 * release resp with kp_listgroups_response_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_listgroups_response_decode(kp_reader_t *r, int16_t version, kp_listgroups_response_t *resp);
void kp_listgroups_response_clear(kp_listgroups_response_t *resp);

/* ---------------------------------------------------------- DescribeGroups */

typedef struct {
    int32_t n_groups;
    kp_str_t *groups;                   /* owned when decoded: kp_describegroups_request_clear() */
    bool include_authorized_operations; /* v3+; false before */
} kp_describegroups_request_t;

typedef struct {
    kp_str_t member_id;
    kp_str_t group_instance_id; /* v4+, nullable; null before */
    kp_str_t client_id;
    kp_str_t client_host;         /* "/" and the IP address, as Kafka writes it */
    kp_bytes_t member_metadata;   /* Stable groups only, else empty */
    kp_bytes_t member_assignment; /* Stable groups only, else empty */
} kp_describegroups_response_member_t;

typedef struct {
    int16_t error_code;
    kp_str_t group_id;
    kp_str_t group_state; /* "Empty", "Stable", ..., "Dead"; "" on coordinator errors */
    kp_str_t protocol_type;
    kp_str_t protocol_data; /* the selected protocol, Stable groups only */
    int32_t n_members;
    kp_describegroups_response_member_t *members; /* owned when decoded */
    int32_t authorized_operations;                /* v3+ */
} kp_describegroups_response_group_t;

/* The broker fills it with borrowed pointers; the client-side decoder
 * allocates the arrays (kp_describegroups_response_clear() frees them). */
typedef struct {
    int32_t throttle_time_ms; /* v1+; 0 before */
    int32_t n_groups;
    kp_describegroups_response_group_t *groups;
} kp_describegroups_response_t;

/* Broker side.  Decodes a request body of `version` (0..4) that must fill r
 * exactly; release req with kp_describegroups_request_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_describegroups_request_decode(kp_reader_t *r, int16_t version, kp_describegroups_request_t *req);
void kp_describegroups_request_clear(kp_describegroups_request_t *req);
/* Encodes a response body of `version` (0..4).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..4). */
int kp_describegroups_response_encode(kp_writer_t *w, int16_t version,
                                      const kp_describegroups_response_t *resp);

/* Client side.  Encodes a request body of `version` (0..4).  Returns w->err
 * or KP_BUF_INVALID. */
int kp_describegroups_request_encode(kp_writer_t *w, int16_t version, const kp_describegroups_request_t *req);
/* Decodes a response body of `version` (0..4) that must fill r exactly;
 * release resp with kp_describegroups_response_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_describegroups_response_decode(kp_reader_t *r, int16_t version, kp_describegroups_response_t *resp);
void kp_describegroups_response_clear(kp_describegroups_response_t *resp);

/* ------------------------------------------------------------ DeleteGroups */

typedef struct {
    int32_t n_groups_names;
    kp_str_t *groups_names; /* owned: kp_deletegroups_request_clear(); duplicates kept */
} kp_deletegroups_request_t;

typedef struct {
    kp_str_t group_id;
    int16_t error_code;
} kp_deletegroups_response_result_t;

/* Every pointer is borrowed; the struct owns nothing. */
typedef struct {
    int32_t throttle_time_ms; /* every version */
    int32_t n_results;
    const kp_deletegroups_response_result_t *results;
} kp_deletegroups_response_t;

/* Decodes a request body of `version` (0..1) that must fill r exactly;
 * release req with kp_deletegroups_request_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_deletegroups_request_decode(kp_reader_t *r, int16_t version, kp_deletegroups_request_t *req);
void kp_deletegroups_request_clear(kp_deletegroups_request_t *req);
/* Encodes a response body of `version` (0..1).  Returns w->err (or
 * KP_BUF_INVALID for a version outside 0..1). */
int kp_deletegroups_response_encode(kp_writer_t *w, int16_t version, const kp_deletegroups_response_t *resp);

#endif
