/*
 * kb_net.c - Kafka listeners and connections on libevent.
 *
 * One evconnlistener per configured listener; one bufferevent_socket per
 * connection, so that later a Fetch response can queue file segments the
 * kernel sends with sendfile.  A connection reads 4-byte big-endian sizes,
 * refuses a size that is negative or above socket.request.max.bytes as soon
 * as the 4 bytes are in (before waiting for, or allocating, the payload), and
 * hands complete frames to the request callback one at a time, as Kafka does
 * by muting a channel until its response is queued.
 *
 * Ownership (nginx style: who frees what, and when):
 *   - the server borrows the event_base and the kb_config_t; both must
 *     outlive it.  It owns its listeners and its open connections.
 *   - a connection is reference counted, with at most three holders: its
 *     open socket (dropped when the connection closes), the current request
 *     (dropped by kb_conn_reply/kb_conn_done/kb_conn_close), and the frame
 *     dispatch while the request callback runs.  So a connection the peer
 *     closed while its request is with a handler stays allocated - socket
 *     gone, frame still valid - until the handler finishes the request; the
 *     late kb_conn_reply then just discards the response and frees it.
 *   - the connection reads the socket itself into its own input evbuffer
 *     (the bufferevent only writes), and the current frame is moved out of
 *     that into a second evbuffer, which is what keeps it valid after the
 *     socket is gone.
 *   - kb_conn_reply moves the response's bytes (and file segments) into the
 *     socket's output evbuffer; the caller keeps its (now empty) evbuffer.
 *
 * Everything runs on the event_base's thread; none of this is thread-safe.
 * The callback is never re-entered from kb_conn_reply: the search for the
 * next buffered frame is deferred through an event_active'd event.
 */
#include "broker/net/kb_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/kc_log.h"

#define MOD "net"
#define KB_OUT_HIGH (4 * 1024 * 1024) /* unsent bytes above which a connection stops reading */
#define KB_OUT_LOW (1024 * 1024)      /* ... and resumes once drained to this */
#define KB_BACKLOG 511
/* Largest SO_RCVLOWAT asked for: the kernel then wakes the loop once per
 * this many bytes of a large frame instead of once per arriving segment. */
#define KB_RCVLOWAT_MAX (64 * 1024)
#define KB_MAX_SINGLE_READ (256 * 1024) /* bytes asked of one recv */
#define KB_ACCEPT_RETRY_MS 1000

typedef struct kb_listen {
    kb_server_t *srv;
    struct evconnlistener *lev;
    struct event *retry; /* re-enables accepting after running out of descriptors */
    char name[64];
} kb_listen_t;

struct kb_server {
    struct event_base *base; /* borrowed */
    const kb_config_t *cfg;  /* borrowed */
    kb_request_fn on_request;
    void *arg;
    kb_listen_t listens[KB_MAX_LISTENERS];
    int n_listens;
    kb_conn_t *conns; /* open connections */
    int n_conns;
    uint64_t next_id;
    uint64_t bad_frames; /* connections closed for a frame size out of range */
};

struct kb_conn {
    kb_server_t *srv;        /* NULL once closed */
    struct bufferevent *bev; /* NULL once closed; owns the socket */
    struct event *resume;    /* deferred search for the next frame */
    struct event *rd;        /* the socket is readable (our own reads: see conn_read) */
    struct timeval idle;     /* connections.max.idle.ms as a timeout; 0 = none */
    struct evbuffer *in;     /* bytes read and not yet taken as a frame */
    struct evbuffer *req;    /* the current request's frame */
    kb_conn_t *prev, *next;  /* in srv->conns while open */
    int refs;
    bool pending;   /* a request is with the callback */
    bool throttled; /* output above KB_OUT_HIGH: no new request until drained */
    int rcvlowat;   /* the socket's SO_RCVLOWAT as last set */
    size_t want;    /* input bytes the current frame needs (conn_want) */
    uint64_t id;
    char listener[64];
    char peer[64];
};

static void conn_process(kb_conn_t *c);

/* ------------------------------------------------------------------------
 * Connection lifetime
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

static void conn_unlink(kb_conn_t *c) {
    kb_server_t *srv = c->srv;
    if (c->prev) c->prev->next = c->next;
    else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->n_conns--;
}

/* Closes the socket and drops the socket's reference; a pending request
 * keeps c allocated.  reason NULL = already logged. */
static void conn_shutdown(kb_conn_t *c, const char *reason) {
    if (!c->bev) return;
    if (reason)
        kc_debug(MOD, "connection %llu from %s on %s closed: %s", (unsigned long long)c->id, c->peer, c->listener,
                 reason);
    conn_unlink(c);
    event_free(c->rd);
    bufferevent_free(c->bev);
    event_free(c->resume);
    c->bev = NULL;
    c->rd = NULL;
    c->resume = NULL;
    c->srv = NULL;
    conn_unref(c);
}

void kb_conn_close(kb_conn_t *c, const char *reason) {
    if (c->pending) {
        c->pending = false;
        c->refs--; /* the request's reference; freed below if it was the last */
    }
    if (c->bev) conn_shutdown(c, reason);
    else if (c->refs == 0) conn_free(c);
}

/* ------------------------------------------------------------------------
 * Frames in, responses out
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

static void conn_reject(kb_conn_t *c, int32_t size) {
    kc_warn(MOD, "closing connection %llu from %s on listener %s: request size %d is outside 0..%d "
            "(socket.request.max.bytes)", (unsigned long long)c->id, c->peer, c->listener, (int)size,
            (int)c->srv->cfg->socket_request_max_bytes);
    c->srv->bad_frames++;
    conn_shutdown(c, NULL);
}

/* Hands the frame now in c->req to the callback. */
static void conn_dispatch(kb_conn_t *c, size_t size) {
    static const uint8_t empty[1];
    const uint8_t *frame = size ? evbuffer_pullup(c->req, -1) : empty;
    if (!frame) {
        kb_conn_close(c, "out of memory for a request");
        return;
    }
    event_del(c->rd);
    c->pending = true;
    c->refs += 2; /* the request's, and ours while the callback runs */
    c->srv->on_request(c, frame, size, c->srv->arg);
    conn_unref(c);
}

/* Takes the next complete frame off the input, if reading is allowed. */
static void conn_process(kb_conn_t *c) {
    uint8_t hdr[4];
    if (!c->bev || c->pending || c->throttled) return;
    struct evbuffer *in = c->in;
    size_t have = evbuffer_get_length(in);
    if (have < 4) {
        conn_want(c, 4);
        return;
    }
    evbuffer_copyout(in, hdr, 4);
    int32_t size = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]);
    if (size < 0 || size > c->srv->cfg->socket_request_max_bytes) {
        conn_reject(c, size);
        return;
    }
    if (have < 4 + (size_t)size) {
        conn_want(c, 4 + (size_t)size);
        return;
    }
    evbuffer_drain(in, 4);
    evbuffer_remove_buffer(in, c->req, (size_t)size);
    conn_dispatch(c, (size_t)size);
}

/* After a request: pause while the output is large, else look for the next
 * frame from the event loop (never from inside the caller). */
static void conn_schedule(kb_conn_t *c) {
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > KB_OUT_HIGH) c->throttled = true;
    else event_active(c->resume, EV_TIMEOUT, 0);
}

static void conn_finish(kb_conn_t *c) {
    if (!c->pending) {
        kc_error(MOD, "connection %llu: request finished twice", (unsigned long long)c->id);
        return;
    }
    c->pending = false;
    evbuffer_drain(c->req, evbuffer_get_length(c->req));
    if (c->bev) conn_schedule(c);
    conn_unref(c);
}

void kb_conn_reply(kb_conn_t *c, struct evbuffer *resp) {
    if (c->bev && c->pending) evbuffer_add_buffer(bufferevent_get_output(c->bev), resp);
    else evbuffer_drain(resp, evbuffer_get_length(resp));
    conn_finish(c);
}

void kb_conn_done(kb_conn_t *c) { conn_finish(c); }

const char *kb_conn_listener(const kb_conn_t *c) { return c->listener; }
const char *kb_conn_peer(const kb_conn_t *c) { return c->peer; }
uint64_t kb_conn_id(const kb_conn_t *c) { return c->id; }

/* ------------------------------------------------------------------------
 * bufferevent callbacks
 * ------------------------------------------------------------------------ */

/*
 * The bufferevent only writes (so Fetch responses can go out by sendfile);
 * reads are ours, because libevent 2.1 reads at most 4096 bytes per call,
 * which made a 1 MB Produce cost 256 reads, FIONREAD ioctls and epoll
 * wake-ups.  One recv takes up to KB_MAX_SINGLE_READ into the input buffer.
 */
static void conn_read(evutil_socket_t fd, short what, void *arg) {
    kb_conn_t *c = arg;
    struct evbuffer_iovec vec;
    char reason[160];
    if (what & EV_TIMEOUT) {
        snprintf(reason, sizeof(reason), "idle for connections.max.idle.ms (%d ms)",
                 (int)c->srv->cfg->connections_max_idle_ms);
        conn_shutdown(c, reason);
        return;
    }
    struct evbuffer *in = c->in;
    /* Room for the rest of the frame (a small frame gets a small buffer,
     * not a 256 KiB one per request); pipelined frames may come along. */
    size_t have = evbuffer_get_length(in), ask = c->want > have ? c->want - have : 0;
    if (ask < 4096) ask = 4096;
    if (ask > KB_MAX_SINGLE_READ) ask = KB_MAX_SINGLE_READ;
    if (evbuffer_reserve_space(in, (ev_ssize_t)ask, &vec, 1) < 1) {
        kb_conn_close(c, "out of memory reading a request");
        return;
    }
    ssize_t n = recv(fd, vec.iov_base, vec.iov_len, 0);
    if (n > 0) {
        vec.iov_len = (size_t)n;
        evbuffer_commit_space(in, &vec, 1);
        conn_process(c);
    } else if (n == 0) {
        conn_shutdown(c, "closed by peer");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        snprintf(reason, sizeof(reason), "%s", strerror(errno));
        conn_shutdown(c, reason);
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg) { conn_process(arg); }

/* Called when the output drains to KB_OUT_LOW. */
static void on_write(struct bufferevent *bev, void *arg) {
    kb_conn_t *c = arg;
    if (!c->throttled || evbuffer_get_length(bufferevent_get_output(bev)) > KB_OUT_LOW) return;
    c->throttled = false;
    conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    kb_conn_t *c = arg;
    char reason[160];
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(reason, sizeof(reason), "idle for connections.max.idle.ms (%d ms)",
                 (int)c->srv->cfg->connections_max_idle_ms);
    else if (what & BEV_EVENT_ERROR)
        snprintf(reason, sizeof(reason), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    else if (what & BEV_EVENT_EOF)
        snprintf(reason, sizeof(reason), "closed by peer");
    else
        return;
    conn_shutdown(c, reason);
}

/* ------------------------------------------------------------------------
 * Accepting
 * ------------------------------------------------------------------------ */

static void format_peer(const struct sockaddr *sa, char *buf, size_t n) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, n, "%s:%d", ip, ntohs(in->sin_port));
        return;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
        snprintf(buf, n, "%s:%d", ip, ntohs(in6->sin6_port));
        return;
    }
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    snprintf(buf, n, "[%s]:%d", ip, ntohs(in6->sin6_port));
}

static void set_int_opt(evutil_socket_t fd, int level, int opt, int value) {
    setsockopt(fd, level, opt, &value, sizeof(value));
}

/* Kafka's accepted-socket options: no Nagle, keepalive, buffer sizes
 * unless -1 (the OS default). */
static void tune_socket(evutil_socket_t fd, const kb_config_t *cfg) {
    set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    if (cfg->socket_send_buffer_bytes != -1) set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, cfg->socket_send_buffer_bytes);
    if (cfg->socket_receive_buffer_bytes != -1)
        set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, cfg->socket_receive_buffer_bytes);
}

/* Idle = nothing read for ms (our read event's timeout) or a response that
 * makes no progress for ms (the bufferevent's write timeout). */
static void set_idle_timeout(kb_conn_t *c, int32_t ms) {
    if (ms <= 0) return; /* -1: never close idle connections */
    c->idle = (struct timeval){ms / 1000, (ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, NULL, &c->idle);
}

static kb_conn_t *conn_new(kb_server_t *srv, evutil_socket_t fd, const char *listener) {
    kb_conn_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->in = evbuffer_new();
    c->req = evbuffer_new();
    c->resume = event_new(srv->base, -1, 0, on_resume, c);
    c->rd = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read, c);
    if (!c->bev || !c->in || !c->req || !c->resume || !c->rd) {
        if (c->rd) event_free(c->rd);
        if (c->in) evbuffer_free(c->in);
        if (c->bev) bufferevent_free(c->bev);
        else evutil_closesocket(fd);
        if (c->req) evbuffer_free(c->req);
        if (c->resume) event_free(c->resume);
        free(c);
        return NULL;
    }
    c->srv = srv;
    c->refs = 1;
    c->rcvlowat = 1; /* the kernel's default */
    c->id = ++srv->next_id;
    snprintf(c->listener, sizeof(c->listener), "%s", listener);
    return c;
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
    kb_listen_t *l = arg;
    kb_server_t *srv = l->srv;
    kb_conn_t *c = conn_new(srv, fd, l->name);
    if (!c) {
        kc_error(MOD, "out of memory accepting a connection on listener %s", l->name);
        return;
    }
    format_peer(sa, c->peer, sizeof(c->peer));
    tune_socket(fd, srv->cfg);
    bufferevent_setcb(c->bev, NULL, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_WRITE);
    bufferevent_setwatermark(c->bev, EV_WRITE, KB_OUT_LOW, 0);
    set_idle_timeout(c, srv->cfg->connections_max_idle_ms);
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    kc_debug(MOD, "connection %llu from %s on %s", (unsigned long long)c->id, c->peer, c->listener);
    conn_want(c, 4);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg) {
    kb_listen_t *l = arg;
    evconnlistener_enable(l->lev);
}

/* Out of descriptors or memory: the listening socket stays readable, so
 * stop accepting for a moment instead of spinning. */
static void on_accept_error(struct evconnlistener *lev, void *arg) {
    kb_listen_t *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {KB_ACCEPT_RETRY_MS / 1000, (KB_ACCEPT_RETRY_MS % 1000) * 1000};
    kc_error(MOD, "accept on listener %s failed: %s; retrying in %d ms", l->name, evutil_socket_error_to_string(err),
             KB_ACCEPT_RETRY_MS);
    evconnlistener_disable(lev);
    evtimer_add(l->retry, &tv);
}

/* ------------------------------------------------------------------------
 * Binding
 * ------------------------------------------------------------------------ */

/* A listening socket on sa; -1 with errno set on failure. */
static evutil_socket_t open_listen_socket(const struct sockaddr *sa, socklen_t salen, bool dual_stack,
                                          const kb_config_t *cfg) {
    evutil_socket_t fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (sa->sa_family == AF_INET6) set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? 0 : 1);
    if (cfg->socket_receive_buffer_bytes != -1)
        set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, cfg->socket_receive_buffer_bytes);
    if (bind(fd, sa, salen) == 0 && listen(fd, KB_BACKLOG) == 0) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Empty host: every interface, IPv6 and IPv4 on one dual-stack socket
 * where the system has IPv6, IPv4 only otherwise. */
static evutil_socket_t listen_any(int port, const kb_config_t *cfg) {
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
    evutil_socket_t fd = open_listen_socket((struct sockaddr *)&in6, sizeof(in6), true, cfg);
    if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)) return fd;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
    return open_listen_socket((struct sockaddr *)&in, sizeof(in), false, cfg);
}

/* A named host: its addresses, IPv4 first (as Java resolves them), and the
 * first that binds. */
static evutil_socket_t listen_host(const char *host, int port, const kb_config_t *cfg, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *res;
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s", gai_strerror(rc));
        return -1;
    }
    evutil_socket_t fd = -1;
    errno = EADDRNOTAVAIL;
    for (int family = AF_INET; fd < 0 && family; family = family == AF_INET ? AF_INET6 : 0)
        for (struct addrinfo *ai = res; fd < 0 && ai; ai = ai->ai_next)
            if (ai->ai_family == family) fd = open_listen_socket(ai->ai_addr, ai->ai_addrlen, false, cfg);
    if (fd < 0) snprintf(err, errlen, "%s", strerror(errno));
    freeaddrinfo(res);
    return fd;
}

static int bound_port(evutil_socket_t fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Port 0 was ephemeral: publish the real port to the listener and to the
 * advertised listener of the same name that asked for 0. */
static void write_back_port(kb_config_t *cfg, kb_listener_t *l, int port) {
    if (l->port != 0) return;
    l->port = port;
    for (int i = 0; i < cfg->n_advertised; i++)
        if (!strcmp(cfg->advertised[i].name, l->name) && cfg->advertised[i].port == 0) cfg->advertised[i].port = port;
}

static int listen_one(kb_server_t *srv, kb_config_t *cfg, kb_listener_t *l, char *err, size_t errlen) {
    char why[256] = "";
    evutil_socket_t fd = l->host[0] ? listen_host(l->host, l->port, cfg, why, sizeof(why)) : listen_any(l->port, cfg);
    if (fd < 0) {
        if (!why[0]) snprintf(why, sizeof(why), "%s", strerror(errno));
        snprintf(err, errlen, "cannot listen on %s://%s:%d: %s", l->name, l->host, l->port, why);
        return -1;
    }
    kb_listen_t *ls = &srv->listens[srv->n_listens];
    ls->srv = srv;
    snprintf(ls->name, sizeof(ls->name), "%s", l->name);
    ls->retry = evtimer_new(srv->base, on_accept_retry, ls);
    ls->lev = evconnlistener_new(srv->base, on_accept, ls, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!ls->lev || !ls->retry) {
        if (ls->lev) evconnlistener_free(ls->lev);
        else close(fd);
        if (ls->retry) event_free(ls->retry);
        snprintf(err, errlen, "cannot listen on %s://%s:%d: out of memory", l->name, l->host, l->port);
        return -1;
    }
    evconnlistener_set_error_cb(ls->lev, on_accept_error);
    srv->n_listens++;
    write_back_port(cfg, l, bound_port(fd));
    kc_info(MOD, "listening on %s://%s:%d", l->name, l->host[0] ? l->host : "*", l->port);
    return 0;
}

static void close_listens(kb_server_t *srv) {
    for (int i = 0; i < srv->n_listens; i++) {
        evconnlistener_free(srv->listens[i].lev);
        event_free(srv->listens[i].retry);
    }
    srv->n_listens = 0;
}

int kb_server_bind(kb_server_t *srv, kb_config_t *cfg, char *err, size_t errlen) {
    if (srv->n_listens) {
        snprintf(err, errlen, "listeners already bound");
        return -1;
    }
    for (int i = 0; i < cfg->n_listeners; i++) {
        if (listen_one(srv, cfg, &cfg->listeners[i], err, errlen) != 0) {
            close_listens(srv);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------------ */

kb_server_t *kb_server_new(struct event_base *base, const kb_config_t *cfg, kb_request_fn on_request, void *arg) {
    kb_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) return NULL;
    srv->base = base;
    srv->cfg = cfg;
    srv->on_request = on_request;
    srv->arg = arg;
    return srv;
}

/* Connections whose request is still with a handler outlive the server
 * (socket closed); the handler's kb_conn_reply/kb_conn_done frees them. */
void kb_server_free(kb_server_t *srv) {
    if (!srv) return;
    close_listens(srv);
    while (srv->conns) conn_shutdown(srv->conns, "server shutting down");
    free(srv);
}

int kb_server_connection_count(const kb_server_t *srv) { return srv->n_conns; }
uint64_t kb_server_bad_frames(const kb_server_t *srv) { return srv->bad_frames; }
