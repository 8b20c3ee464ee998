/*
 * kb_conn.c - one framed connection on libevent, accepted or outbound.
 *
 * One bufferevent_socket per connection, which only writes, so that a
 * response can queue file segments the kernel sends with sendfile; reads are
 * the connection's own (conn_read).  A connection reads 4-byte big-endian
 * sizes, refuses a size that is negative or above opts.max_frame as soon as
 * the 4 bytes are in (before waiting for, or allocating, the payload), and
 * hands complete frames to the callback: one at a time, as Kafka does by
 * muting a channel until its response is queued, or each as it arrives
 * (pipelined).
 *
 * Ownership (nginx style: who frees what, and when):
 *   - a connection is reference counted.  Its holders: its open socket
 *     (dropped when the connection closes), the current one-at-a-time
 *     request (dropped by kb_conn_reply/kb_conn_done/kb_conn_close), the
 *     frame loop while a callback runs, and kb_conn_hold's callers.  So a
 *     connection the peer closed while its request is with a handler stays
 *     allocated - socket gone, frame still valid - until the handler
 *     finishes the request; the late kb_conn_reply then just discards the
 *     response.
 *   - the connection reads the socket into its own input evbuffer, and the
 *     frame being handled is moved out of that into a second evbuffer,
 *     which is what keeps it valid after the socket is gone.
 *   - kb_conn_send moves the frame's bytes (and file segments) into the
 *     socket's output evbuffer; the caller keeps its (now empty) evbuffer.
 *
 * The callback is never re-entered from kb_conn_reply: the search for the
 * next buffered frame is deferred through an event_active'd event.
 *
 * A connection with a handshake phase (kb_net.h) checks sizes against
 * opts.handshake_max_frame until kb_conn_handshake_done, and has a timer,
 * armed when it starts, that closes it if the phase lasts handshake_ms.
 */
#include "broker/net/kb_net_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <time.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/kc_log.h"

#define MOD "net"
/* Largest SO_RCVLOWAT asked for: the kernel then wakes the loop once per
 * this many bytes of a large frame instead of once per arriving segment. */
#define KB_RCVLOWAT_MAX (64 * 1024)
#define KB_MAX_SINGLE_READ (256 * 1024) /* bytes asked of one recv */

static void conn_process(kb_conn_t *c);

/* ------------------------------------------------------------------------
 * Lifetime
 * ------------------------------------------------------------------------ */

static void conn_free(kb_conn_t *c) {
    evbuffer_free(c->in);
    evbuffer_free(c->req);
    free(c);
}

/* Drops one reference, freeing c with the last. */
static void conn_unref(kb_conn_t *c) {
    if (--c->refs == 0) conn_free(c);
}

/* "from 10.0.0.1:5000 on PLAINTEXT" for an accepted connection (on_what
 * "on listener" gives "on listener PLAINTEXT"), "to 10.0.0.2:9093 (rpc)" for
 * an outbound one. */
static const char *conn_where(const kb_conn_t *c, const char *on_what, char *buf, size_t n) {
    if (c->outbound) snprintf(buf, n, "to %s (%s)", c->peer, c->name);
    else snprintf(buf, n, "from %s %s %s", c->peer, on_what, c->name);
    return buf;
}

void kb_conn_shutdown(kb_conn_t *c, const char *reason) {
    char where[400];
    if (!c->bev) return;
    if (reason)
        kc_debug(MOD, "connection %llu %s closed: %s", (unsigned long long)c->id, conn_where(c, "on", where, sizeof(where)),
                 reason);
    event_free(c->rd);
    bufferevent_free(c->bev);
    event_free(c->resume);
    if (c->handshake_timer) event_free(c->handshake_timer);
    c->bev = NULL;
    c->rd = NULL;
    c->resume = NULL;
    c->handshake_timer = NULL;
    c->on_closed(c, c->owner, reason);
    if (c->opts.on_close) c->opts.on_close(c, c->opts.arg);
    c->owner = NULL;
    c->bad_frames = NULL;
    c->handshake_timeouts = NULL;
    c->warn_log = NULL;
    c->on_handshake = NULL;
    conn_unref(c);
}

void kb_conn_close(kb_conn_t *c, const char *reason) {
    if (c->pending) {
        c->pending = false;
        c->refs--; /* the request's; the socket's or a holder's remains if open */
    }
    if (c->bev) kb_conn_shutdown(c, reason);
    else if (c->refs == 0) conn_free(c);
}

void kb_conn_handshake_done(kb_conn_t *c) {
    if (!c->in_handshake) return;
    c->in_handshake = false;
    if (c->handshake_timer) evtimer_del(c->handshake_timer);
    if (c->bev && c->on_handshake) c->on_handshake(c, c->owner);
}

void kb_conn_hold(kb_conn_t *c) { c->refs++; }
void kb_conn_release(kb_conn_t *c) { conn_unref(c); }
bool kb_conn_is_open(const kb_conn_t *c) { return c->bev != NULL; }

/* ------------------------------------------------------------------------
 * Frames in
 * ------------------------------------------------------------------------ */

/*
 * Reads until the input holds at least n bytes.  The socket's SO_RCVLOWAT
 * asks the kernel to report it readable only once the rest of the frame (at
 * most KB_RCVLOWAT_MAX) has arrived, so a large Produce costs a few large
 * reads instead of one small read, ioctl and epoll_wait per TCP segment.
 * Invariant: the low-water mark never exceeds the bytes still missing, so
 * the last bytes of a frame always wake the loop; this is why it is
 * re-applied after every read.
 * (Linux also caps SO_RCVLOWAT at half the receive buffer.)
 */
static void conn_want(kb_conn_t *c, size_t n) {
    size_t have = evbuffer_get_length(c->in);
    size_t missing = n > have ? n - have : 1;
    c->want = n;
    int lowat = missing > KB_RCVLOWAT_MAX ? KB_RCVLOWAT_MAX : (int)missing;
    if (lowat != c->rcvlowat &&
        setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) == 0)
        c->rcvlowat = lowat;
    event_add(c->rd, c->idle.tv_sec || c->idle.tv_usec ? &c->idle : NULL);
}

/* Reads nothing more and closes c once the answers already queued are
 * sent: a client that pipelined good requests ahead of a bad frame gets
 * them, as Kafka, which handles one request at a time, answers them. */
static void conn_close_after_output(kb_conn_t *c) {
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        kb_conn_shutdown(c, NULL);
        return;
    }
    c->closing = true;
    event_del(c->rd);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0); /* on_write once it is all sent */
}

/* The largest size a frame may declare now. */
static int32_t conn_max_frame(const kb_conn_t *c) {
    return c->in_handshake ? c->opts.handshake_max_frame : c->opts.max_frame;
}

void kb_conn_warn(kb_conn_t *c, const char *module, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kc_vlog_limited(c->warn_log, KB_NET_REFUSED_LOG_MS, KC_LOG_WARN, module, fmt, ap);
    va_end(ap);
}

static void conn_reject(kb_conn_t *c, int32_t size) {
    char where[400], key[80] = "";
    if (c->in_handshake) snprintf(key, sizeof(key), " before its handshake");
    else if (c->opts.max_frame_key) snprintf(key, sizeof(key), " (%s)", c->opts.max_frame_key);
    kb_conn_warn(c, MOD, "closing connection %llu %s: %s size %d is outside 0..%d%s", (unsigned long long)c->id,
                 conn_where(c, "on listener", where, sizeof(where)), c->outbound ? "frame" : "request", (int)size,
                 (int)conn_max_frame(c), key);
    (*c->bad_frames)++;
    conn_close_after_output(c);
}

/* Moves the next complete frame into c->req: 1 (its size in *size), 0 when
 * more bytes are needed (reading is armed for them), -1 when its declared
 * size was refused (c reads no more and closes once its output is sent). */
static int conn_take_frame(kb_conn_t *c, size_t *size) {
    uint8_t hdr[4];
    size_t have = evbuffer_get_length(c->in);
    if (have < 4) {
        conn_want(c, 4);
        return 0;
    }
    evbuffer_copyout(c->in, hdr, 4);
    int32_t declared = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]);
    if (declared < 0 || declared > conn_max_frame(c)) {
        conn_reject(c, declared);
        return -1;
    }
    if (have < 4 + (size_t)declared) {
        conn_want(c, 4 + (size_t)declared);
        return 0;
    }
    evbuffer_drain(c->in, 4);
    evbuffer_remove_buffer(c->in, c->req, (size_t)declared);
    *size = (size_t)declared;
    return 1;
}

/* Hands the frame now in c->req to the callback.  One at a time: the
 * connection stops reading and the request holds a reference until it is
 * finished.  Pipelined: the frame is dropped when the callback returns. */
static void conn_dispatch(kb_conn_t *c, size_t size) {
    static const uint8_t empty[1];
    const uint8_t *frame = size ? evbuffer_pullup(c->req, -1) : empty;
    if (!frame) {
        kb_conn_close(c, "out of memory for a request");
        return;
    }
    if (c->opts.delivery == KB_DELIVER_ONE_AT_A_TIME) {
        event_del(c->rd);
        c->pending = true;
        c->refs++;
    }
    c->opts.on_frame(c, frame, size, c->opts.arg);
    if (c->opts.delivery == KB_DELIVER_PIPELINED) evbuffer_drain(c->req, evbuffer_get_length(c->req));
}

/* Back-pressure: no frame is taken, and nothing read, while the output is
 * above the high-water mark; on_write resumes below the low one. */
static bool conn_throttle_if_full(kb_conn_t *c) {
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) <= c->opts.out_high) return false;
    c->throttled = true;
    event_del(c->rd);
    return true;
}

/* How long the connections may take frames off their inputs in one turn
 * of the loop, together.  A client that pipelines thousands of requests
 * the handlers answer at once (acks=1 produces, each rolling a segment,
 * say) would otherwise hold the loop until its input is empty, and every
 * other connection, timer and the ZooKeeper session with it (the session
 * expired, test t).  Each connection takes at least one frame per turn; past
 * the budget it stops reading and takes the rest after a zero timeout,
 * which libevent runs only after the next poll for I/O (an event_active'd
 * one would run before it). */
#define CONN_TURN_BUDGET_NS (5 * 1000000LL)

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* When the frames of this turn of base's loop must stop.  The loop's cached
 * time changes from one turn to the next: a new value starts a new budget. */
static int64_t turn_deadline(struct event_base *base) {
    static struct timeval turn;
    static int64_t deadline;
    struct timeval now;
    if (event_base_gettimeofday_cached(base, &now) != 0 || now.tv_sec != turn.tv_sec || now.tv_usec != turn.tv_usec) {
        turn = now;
        deadline = monotonic_ns() + CONN_TURN_BUDGET_NS;
    }
    return deadline;
}

/* Past the turn's budget with frames left: stop reading (the input stays
 * bounded, and a peer's end of stream is read after its last frames) and
 * take them after the next poll. */
static void conn_yield(kb_conn_t *c) {
    static const struct timeval after_io = {0, 0};
    event_del(c->rd);
    event_add(c->resume, &after_io);
}

/* Takes complete frames off the input while the delivery mode, the
 * back-pressure and the turn's budget allow.  The reference held across
 * the loop keeps c allocated if a callback closes it. */
static void conn_process(kb_conn_t *c) {
    size_t size;
    if (!c->bev || !c->started || c->pending || c->throttled || c->closing) return;
    int64_t until = turn_deadline(bufferevent_get_base(c->bev));
    c->refs++;
    while (c->bev && !c->pending && !conn_throttle_if_full(c) && conn_take_frame(c, &size) == 1) {
        conn_dispatch(c, size);
        if (c->bev && !c->pending && !c->closing && monotonic_ns() > until) {
            conn_yield(c);
            break;
        }
    }
    conn_unref(c);
}

/* ------------------------------------------------------------------------
 * Frames out
 * ------------------------------------------------------------------------ */

static void conn_finish(kb_conn_t *c) {
    if (c->opts.delivery == KB_DELIVER_PIPELINED) return;
    if (!c->pending) {
        kc_error(MOD, "connection %llu: request finished twice", (unsigned long long)c->id);
        return;
    }
    c->pending = false;
    evbuffer_drain(c->req, evbuffer_get_length(c->req));
    if (c->bev) event_active(c->resume, EV_TIMEOUT, 0);
    conn_unref(c);
}

void kb_conn_send(kb_conn_t *c, struct evbuffer *frame) {
    if (c->bev) evbuffer_add_buffer(bufferevent_get_output(c->bev), frame);
    else evbuffer_drain(frame, evbuffer_get_length(frame));
}

void kb_conn_reply(kb_conn_t *c, struct evbuffer *resp) {
    if (c->pending || c->opts.delivery == KB_DELIVER_PIPELINED) kb_conn_send(c, resp);
    else evbuffer_drain(resp, evbuffer_get_length(resp));
    conn_finish(c);
}

void kb_conn_done(kb_conn_t *c) { conn_finish(c); }

const char *kb_conn_listener(const kb_conn_t *c) { return c->name; }
const char *kb_conn_peer(const kb_conn_t *c) { return c->peer; }
const char *kb_conn_peer_addr(const kb_conn_t *c) { return c->peer_addr; }
uint64_t kb_conn_id(const kb_conn_t *c) { return c->id; }
void kb_conn_set_user(kb_conn_t *c, void *user) { c->user = user; }
void *kb_conn_user(const kb_conn_t *c) { return c->user; }

/* ------------------------------------------------------------------------
 * Event callbacks
 * ------------------------------------------------------------------------ */

static void idle_reason(const kb_conn_t *c, char *buf, size_t n) {
    if (c->opts.idle_key) snprintf(buf, n, "idle for %s (%d ms)", c->opts.idle_key, (int)c->opts.idle_ms);
    else snprintf(buf, n, "idle for %d ms", (int)c->opts.idle_ms);
}

/*
 * The bufferevent only writes (so responses can go out by sendfile); reads
 * are ours, because libevent 2.1 reads at most 4096 bytes per call, which
 * made a 1 MB Produce cost 256 reads, FIONREAD ioctls and epoll wake-ups.
 * One recv takes up to KB_MAX_SINGLE_READ into the input buffer.
 */
static void conn_read(evutil_socket_t fd, short what, void *arg) {
    kb_conn_t *c = arg;
    struct evbuffer_iovec vec;
    char reason[160];
    if (what & EV_TIMEOUT) {
        idle_reason(c, reason, sizeof(reason));
        kb_conn_shutdown(c, reason);
        return;
    }
    /* Room for the rest of the frame (a small frame gets a small buffer,
     * not a 256 KiB one per request); pipelined frames may come along. */
    size_t have = evbuffer_get_length(c->in), ask = c->want > have ? c->want - have : 0;
    if (ask < 4096) ask = 4096;
    if (ask > KB_MAX_SINGLE_READ) ask = KB_MAX_SINGLE_READ;
    if (evbuffer_reserve_space(c->in, (ev_ssize_t)ask, &vec, 1) < 1) {
        kb_conn_close(c, "out of memory reading a request");
        return;
    }
    ssize_t n = recv(fd, vec.iov_base, vec.iov_len, 0);
    if (n > 0) {
        vec.iov_len = (size_t)n;
        evbuffer_commit_space(c->in, &vec, 1);
        conn_process(c);
    } else if (n == 0) {
        kb_conn_shutdown(c, "closed by peer");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        snprintf(reason, sizeof(reason), "%s", strerror(errno));
        kb_conn_shutdown(c, reason);
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg) { conn_process(arg); }

/* The handshake phase outlived handshake_ms: counted, and closed with a
 * warning (rate-limited by the owner, kb_conn_warn). */
static void on_handshake_deadline(evutil_socket_t fd, short what, void *arg) {
    kb_conn_t *c = arg;
    char where[400], key[80] = "";
    if (c->handshake_timeouts) (*c->handshake_timeouts)++;
    if (c->opts.handshake_key) snprintf(key, sizeof(key), " (%s)", c->opts.handshake_key);
    kb_conn_warn(c, MOD, "closing connection %llu %s: no handshake within %d ms%s", (unsigned long long)c->id,
                 conn_where(c, "on listener", where, sizeof(where)), (int)c->opts.handshake_ms, key);
    kb_conn_close(c, NULL);
}

/* Called when the output drains to opts.out_low (to 0 while closing). */
static void on_write(struct bufferevent *bev, void *arg) {
    kb_conn_t *c = arg;
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) kb_conn_shutdown(c, NULL);
        return;
    }
    if (!c->throttled || evbuffer_get_length(bufferevent_get_output(bev)) > c->opts.out_low) return;
    c->throttled = false;
    conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    kb_conn_t *c = arg;
    char reason[160];
    if (what & BEV_EVENT_TIMEOUT)
        idle_reason(c, reason, sizeof(reason));
    else if (what & BEV_EVENT_ERROR)
        snprintf(reason, sizeof(reason), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    else if (what & BEV_EVENT_EOF)
        snprintf(reason, sizeof(reason), "closed by peer");
    else
        return;
    kb_conn_shutdown(c, reason);
}

/* ------------------------------------------------------------------------
 * Creation
 * ------------------------------------------------------------------------ */

void kb_net_set_int_opt(evutil_socket_t fd, int level, int opt, int value) {
    setsockopt(fd, level, opt, &value, sizeof(value));
}

void kb_net_tune_socket(evutil_socket_t fd, const kb_conn_opts_t *opts) {
    kb_net_set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    kb_net_set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    if (opts->send_buffer != -1) kb_net_set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, opts->send_buffer);
    if (opts->receive_buffer != -1) kb_net_set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, opts->receive_buffer);
}

kb_conn_t *kb_conn_create(struct event_base *base, evutil_socket_t fd, const kb_conn_opts_t *opts,
                          const char *name, uint64_t id, bool outbound) {
    kb_conn_t *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return NULL;
    }
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->in = evbuffer_new();
    c->req = evbuffer_new();
    c->resume = event_new(base, -1, 0, on_resume, c);
    c->rd = event_new(base, fd, EV_READ | EV_PERSIST, conn_read, c);
    bool deadline = opts->handshake_max_frame > 0 && opts->handshake_ms > 0;
    if (deadline) c->handshake_timer = evtimer_new(base, on_handshake_deadline, c);
    if (!c->bev || !c->in || !c->req || !c->resume || !c->rd || (deadline && !c->handshake_timer)) {
        if (c->handshake_timer) event_free(c->handshake_timer);
        if (c->rd) event_free(c->rd);
        if (c->in) evbuffer_free(c->in);
        if (c->bev) bufferevent_free(c->bev);
        else evutil_closesocket(fd);
        if (c->req) evbuffer_free(c->req);
        if (c->resume) event_free(c->resume);
        free(c);
        return NULL;
    }
    c->opts = *opts;
    if (!c->opts.out_high) c->opts.out_high = KB_NET_OUT_HIGH;
    if (!c->opts.out_low) c->opts.out_low = KB_NET_OUT_LOW;
    if (c->opts.out_low > c->opts.out_high) c->opts.out_low = c->opts.out_high; /* else on_write never resumes */
    if (c->opts.handshake_max_frame > c->opts.max_frame) c->opts.handshake_max_frame = c->opts.max_frame;
    c->in_handshake = c->opts.handshake_max_frame > 0;
    c->refs = 1;
    c->rcvlowat = 1; /* the kernel's default */
    c->id = id;
    c->outbound = outbound;
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

/* Idle = nothing read for idle_ms (our read event's timeout) or output that
 * makes no progress for idle_ms (the bufferevent's write timeout). */
void kb_conn_start(kb_conn_t *c) {
    bufferevent_setcb(c->bev, NULL, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_WRITE);
    bufferevent_setwatermark(c->bev, EV_WRITE, c->opts.out_low, 0);
    if (c->opts.idle_ms > 0) {
        c->idle = (struct timeval){c->opts.idle_ms / 1000, (c->opts.idle_ms % 1000) * 1000};
        bufferevent_set_timeouts(c->bev, NULL, &c->idle);
    } else {
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    }
    if (c->handshake_timer && c->in_handshake) {
        struct timeval tv = {c->opts.handshake_ms / 1000, (c->opts.handshake_ms % 1000) * 1000};
        evtimer_add(c->handshake_timer, &tv);
    }
    c->started = true;
    conn_want(c, 4);
}
