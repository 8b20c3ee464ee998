/*
 * kb_sendfile.c - log ranges queued for sendfile (see kb_sendfile.h).
 *
 * libevent decides per file segment, when it is added, between sendfile
 * and mmap+copy: only a buffer flagged as draining to a socket gets the
 * sendfile chain, which then moves intact into the connection's output.
 *
 * Bytes are never evbuffer_add()ed straight after a file segment: libevent
 * 2.1 sizes the chain it then allocates from the segment's end position in
 * its file (rounded up to a power of two), which is 128 MiB for a range
 * 100 MB into a segment.  They are filled into an empty scratch buffer and
 * that chain is moved over instead (issue 8).
 */
#include "broker/log/kb_sendfile.h"

#include <event2/buffer.h>
#include <stdlib.h>

struct kb_sendfile {
    struct evbuffer *out;
    struct evbuffer *scratch; /* empty between calls */
};

kb_sendfile_t *kb_sendfile_new(void) {
    kb_sendfile_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->out = evbuffer_new();
    s->scratch = evbuffer_new();
    if (!s->out || !s->scratch) {
        kb_sendfile_free(s);
        return NULL;
    }
    evbuffer_set_flags(s->out, EVBUFFER_FLAG_DRAINS_TO_FD);
    return s;
}

void kb_sendfile_free(kb_sendfile_t *s) {
    if (!s) return;
    if (s->out) evbuffer_free(s->out);
    if (s->scratch) evbuffer_free(s->scratch);
    free(s);
}

int kb_sendfile_add_bytes(kb_sendfile_t *s, const void *p, size_t n) {
    if (n == 0) return 0;
    return evbuffer_add(s->scratch, p, n) == 0 && evbuffer_add_buffer(s->out, s->scratch) == 0 ? 0 : -1;
}

static void segment_sent(struct evbuffer_file_segment const *seg, int flags, void *arg) {
    kb_log_range_t *held = arg;
    (void)seg;
    (void)flags;
    kb_log_range_release(held);
    free(held);
}

int kb_sendfile_add_range(kb_sendfile_t *s, kb_log_range_t *r) {
    if (!r->segment) return 0;
    kb_log_range_t *held = malloc(sizeof(*held));
    struct evbuffer_file_segment *seg = held ? evbuffer_file_segment_new(r->fd, r->pos, (ev_off_t)r->len, 0) : NULL;
    if (!seg) {
        free(held);
        kb_log_range_release(r);
        *r = (kb_log_range_t){.fd = -1};
        return -1;
    }
    *held = *r;
    *r = (kb_log_range_t){.fd = -1};
    /* From here the segment's cleanup owns the reference, whatever follows. */
    evbuffer_file_segment_add_cleanup_cb(seg, segment_sent, held);
    int rc = evbuffer_add_file_segment(s->out, seg, 0, (ev_off_t)held->len);
    evbuffer_file_segment_free(seg);
    return rc;
}

struct evbuffer *kb_sendfile_evbuffer(kb_sendfile_t *s) { return s->out; }
