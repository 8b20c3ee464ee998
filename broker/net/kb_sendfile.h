/*
 * kb_sendfile.h - an output that leaves through sendfile: encoded bytes
 * and byte ranges of files, in order.
 *
 * A file range is added as a libevent file segment, so its bytes are never
 * copied into memory; whoever holds the file open for it (a log segment,
 * for a partition's records) gives a release callback that runs exactly
 * once, when libevent has sent the range or dropped it.  The bytes around
 * the ranges (a response's encoded fields) go into chains of their own:
 * see kb_sendfile_add_bytes.  Nothing here knows what the bytes or the
 * files are, so Kafka's Fetch and the replica fetch over RPC share it;
 * ranges are added whole, with no work per record.
 *
 * Use: kb_sendfile_init on the caller's own storage (the stack, or an
 * object it already has: the builder costs no allocation of its own), then
 * kb_sendfile_add_bytes / kb_sendfile_add_file in output order, then hand
 * kb_sendfile_evbuffer() to the connection (which moves its content out),
 * then kb_sendfile_clear.
 */
#ifndef KB_SENDFILE_H
#define KB_SENDFILE_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

typedef struct kb_sendfile {
    struct evbuffer *out;
    struct evbuffer *scratch; /* empty between calls */
} kb_sendfile_t;

/* Runs once, with the arg given to kb_sendfile_add_file, when the range is
 * sent or dropped.  It may run on the loop long after the builder is gone. */
typedef void (*kb_sendfile_release_fn)(void *arg);

/* 0, or -1 when out of memory (s is then cleared: kb_sendfile_clear is
 * harmless on it). */
int kb_sendfile_init(kb_sendfile_t *s);
/* Drops whatever is still queued, running the release callbacks of its
 * ranges, and frees the buffers; s may be initialised again. */
void kb_sendfile_clear(kb_sendfile_t *s);

/* Appends n bytes (copied); 0 or -1. */
int kb_sendfile_add_bytes(kb_sendfile_t *s, const void *p, size_t n);
/* Appends len bytes of fd from offset as a file segment.  fd must stay open
 * until release(arg) runs, which happens exactly once whatever the outcome
 * (before this returns on failure).  len 0 adds nothing and releases at
 * once.  0 or -1. */
int kb_sendfile_add_file(kb_sendfile_t *s, int fd, int64_t offset, size_t len, kb_sendfile_release_fn release,
                         void *arg);

/* The buffer to hand to the connection.  It is flagged as draining to a
 * socket, which is what makes libevent choose sendfile for its segments. */
struct evbuffer *kb_sendfile_evbuffer(kb_sendfile_t *s);

#endif
