/*
 * kcl_conn.h - one blocking TCP connection to a Kafka broker, every step of
 * it bounded by a deadline: resolving the host, connecting, sending a
 * request and receiving its answer.
 *
 * The admin tool runs a handful of requests and exits, so it needs no event
 * loop: it sends one request at a time and waits for the answer with
 * poll(), never past the deadline the command was given.  What comes back
 * is checked before it is trusted: the frame size against a limit before
 * anything is allocated for it, and the correlation id against the one
 * sent.  After any failure other than a broker's error code the stream's
 * position is unknown, so the connection is closed and every later call on
 * it fails at once; the owner opens a new one if it wants to go on.
 *
 * Deadlines are absolute milliseconds of CLOCK_MONOTONIC (kcl_now_ms()).
 */
#ifndef KCL_CONN_H
#define KCL_CONN_H

#include <stdint.h>

#include "client/kcl_error.h"
#include "proto/kp_buf.h"

/* The largest answer accepted: Kafka's socket.request.max.bytes default,
 * the bound brokers put on what they read.  A Metadata answer for tens of
 * thousands of partitions is a few MiB. */
#define KCL_MAX_FRAME_BYTES 104857600

typedef struct kcl_conn kcl_conn_t;

/* A received answer: the whole frame (owned) and a reader over the
 * response body (after the response header). */
typedef struct {
    uint8_t *frame;
    kp_reader_t body;
} kcl_answer_t;

int64_t kcl_now_ms(void);

/* Opens a connection to host:port (a name, an IPv4 or an IPv6 address;
 * every address the name resolves to is tried in turn) before deadline_ms.
 * client_id goes into every request header.  Returns NULL with err filled
 * (KCL_EUNREACHABLE, KCL_ENOMEM) on failure. */
kcl_conn_t *kcl_conn_open(const char *host, int32_t port, const char *client_id, int64_t deadline_ms,
                          kcl_error_t *err);
void kcl_conn_close(kcl_conn_t *c);

/* "host:port" as given to kcl_conn_open, for messages. */
const char *kcl_conn_peer(const kcl_conn_t *c);

/* Sends one request (the encoded body of api_key at version, whose first
 * flexible version is flex_from: that picks both header versions) and
 * waits until deadline_ms for its answer.  On success (0) *answer holds it;
 * release it with kcl_answer_free().  On failure returns KCL_ETIMEOUT,
 * KCL_EPROTOCOL or KCL_ENOMEM with err filled, and the connection is
 * closed. */
int kcl_conn_call(kcl_conn_t *c, int16_t api_key, int16_t version, int16_t flex_from, const kp_writer_t *body,
                  int64_t deadline_ms, kcl_answer_t *answer, kcl_error_t *err);
void kcl_answer_free(kcl_answer_t *answer);

#endif
