/*
 * kb_sendfile.h - read ranges for sendfile: an output being built from
 * encoded bytes and log ranges, in order, that leaves through sendfile.
 *
 * A log range (kb_log_read) is a byte range of a segment file holding a
 * reference to its segment.  Queued here it becomes a libevent file segment
 * that keeps the reference until libevent has sent it (or dropped it), so
 * record bytes are never copied into memory.  The bytes around the ranges
 * (a response's encoded fields) go into chains of their own: see
 * kb_sendfile_add_bytes.  Nothing here knows what the bytes mean, so Kafka's
 * Fetch and the replica fetch over RPC share it.
 *
 * Use: kb_sendfile_new, then kb_sendfile_add_bytes / kb_sendfile_add_range
 * in output order, then hand kb_sendfile_evbuffer() to the connection
 * (which moves its content out), then kb_sendfile_free.
 */
#ifndef KB_SENDFILE_H
#define KB_SENDFILE_H

#include <stddef.h>

#include "broker/log/kb_log.h"

struct evbuffer;
typedef struct kb_sendfile kb_sendfile_t;

/* NULL when out of memory. */
kb_sendfile_t *kb_sendfile_new(void);
/* Frees the output; whatever is still queued is dropped and its segments
 * released. */
void kb_sendfile_free(kb_sendfile_t *s);

/* Appends n bytes (copied); 0 or -1. */
int kb_sendfile_add_bytes(kb_sendfile_t *s, const void *p, size_t n);
/* Appends r as a file segment.  Takes r's reference whatever the outcome
 * (released by the segment's cleanup on failure) and empties *r; a range
 * holding nothing is skipped.  0 or -1. */
int kb_sendfile_add_range(kb_sendfile_t *s, kb_log_range_t *r);

/* The buffer to hand to the connection.  It is flagged as draining to a
 * socket, which is what makes libevent choose sendfile for its segments. */
struct evbuffer *kb_sendfile_evbuffer(kb_sendfile_t *s);

#endif
