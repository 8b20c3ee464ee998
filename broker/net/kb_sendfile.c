/*
 * kb_sendfile.c - bytes and file ranges queued for sendfile (see
 * kb_sendfile.h).
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
#include "broker/net/kb_sendfile.h"

#include <event2/buffer.h>
#include <stdlib.h>

/* What a file segment's cleanup calls: libevent keeps one pointer for it. */
typedef struct {
    kb_sendfile_release_fn release;
    void *arg;
} held_t;

int kb_sendfile_init(kb_sendfile_t *s) {
    s->out = evbuffer_new();
    s->scratch = evbuffer_new();
    if (!s->out || !s->scratch) {
        kb_sendfile_clear(s);
        return -1;
    }
    evbuffer_set_flags(s->out, EVBUFFER_FLAG_DRAINS_TO_FD);
    return 0;
}

void kb_sendfile_clear(kb_sendfile_t *s) {
    if (s->out) evbuffer_free(s->out);
    if (s->scratch) evbuffer_free(s->scratch);
    s->out = s->scratch = NULL;
}

int kb_sendfile_add_bytes(kb_sendfile_t *s, const void *p, size_t n) {
    if (n == 0) return 0;
    return evbuffer_add(s->scratch, p, n) == 0 && evbuffer_add_buffer(s->out, s->scratch) == 0 ? 0 : -1;
}

static void segment_done(struct evbuffer_file_segment const *seg, int flags, void *arg) {
    held_t held = *(held_t *)arg;
    (void)seg;
    (void)flags;
    free(arg);
    held.release(held.arg);
}

int kb_sendfile_add_file(kb_sendfile_t *s, int fd, int64_t offset, size_t len, kb_sendfile_release_fn release,
                         void *arg) {
    if (len == 0) {
        release(arg);
        return 0;
    }
    held_t *held = malloc(sizeof(*held));
    struct evbuffer_file_segment *seg = held ? evbuffer_file_segment_new(fd, offset, (ev_off_t)len, 0) : NULL;
    if (!seg) {
        free(held);
        release(arg);
        return -1;
    }
    *held = (held_t){release, arg};
    /* From here the segment's cleanup owns the release, whatever follows:
     * it runs when the last of seg's references (this one, the buffer's)
     * goes. */
    evbuffer_file_segment_add_cleanup_cb(seg, segment_done, held);
    int rc = evbuffer_add_file_segment(s->out, seg, 0, (ev_off_t)len);
    evbuffer_file_segment_free(seg);
    return rc;
}

struct evbuffer *kb_sendfile_evbuffer(kb_sendfile_t *s) { return s->out; }
