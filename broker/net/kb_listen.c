/*
 * kb_listen.c - the server side of broker/net: listening sockets and the
 * connections accepted on them.
 *
 * One evconnlistener per listener spec, each with its own connection
 * options (frame limit, idle timeout, buffers, callback), so the Kafka
 * listeners and the RPC listener can share one server or use two.
 *
 * Ownership: the server borrows the event_base; it owns its listeners and
 * its open connections (a list, so that freeing the server closes them).
 * A connection's owner is the listener it arrived on, which counts its
 * open connections for max_connections; it leaves the server's list and
 * its listener's count when it closes, through the hook the connection
 * runs (conn_closed).  So the connections close before the listeners are
 * freed.
 *
 * A listener with a handshake phase also queues its connections still in
 * it, oldest first (hs_head), so that making room for a new connection
 * (max_handshaking, kb_net.h) closes the oldest in O(1); a connection
 * leaves the queue when its handshake completes (conn_handshaken) or it
 * closes.  Each listener has its own rate limits on the lines peers can
 * cause: refusals, evictions, and its connections' warnings
 * (kb_conn_warn).
 */
#include "broker/net/kb_net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/kc_log.h"

#define MOD "net"
#define KB_BACKLOG 511
#define KB_ACCEPT_RETRY_MS 1000

typedef struct kb_listen {
    kb_server_t *srv;
    struct evconnlistener *lev;
    struct event *retry; /* re-enables accepting after running out of descriptors */
    kb_conn_opts_t opts;
    int max_conns; /* <= 0: no cap */
    int n_conns;   /* open connections accepted here */
    int max_handshaking; /* <= 0: no cap */
    int n_handshaking;   /* connections in hs_head's queue */
    kb_conn_t *hs_head, *hs_tail; /* connections in their handshake, oldest first */
    kc_ratelimit_t refused_log;
    kc_ratelimit_t evicted_log;
    kc_ratelimit_t warn_log; /* the connections' kb_conn_warn lines */
    kc_ratelimit_t accept_log; /* accept() failures: out of descriptors, one a second while it lasts */
    char name[64];
    struct kb_listen *next;
} kb_listen_t;

struct kb_server {
    struct event_base *base; /* borrowed */
    kb_listen_t *listens;
    kb_conn_t *conns; /* open connections */
    int n_conns;
    uint64_t next_id;
    uint64_t bad_frames; /* connections closed for a frame size out of range */
    uint64_t handshake_timeouts;
    uint64_t refused;    /* connections refused at accept for max_connections */
    uint64_t evicted;    /* connections closed in their handshake to make room */
};

/* ------------------------------------------------------------------------
 * Accepting
 * ------------------------------------------------------------------------ */

/* The peer's IP address into ip (an IPv4-mapped IPv6 one as IPv4);
 * returns its port, and whether it is IPv6 in *v6. */
static int peer_ip(const struct sockaddr *sa, char *ip, size_t n, bool *v6) {
    snprintf(ip, n, "?");
    *v6 = false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)n);
        return ntohs(in->sin_port);
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, (socklen_t)n);
    } else {
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)n);
        *v6 = true;
    }
    return ntohs(in6->sin6_port);
}

/* "ip:port" ("[ip]:port" for IPv6) into buf; the address alone into ip. */
static void format_peer(const struct sockaddr *sa, char *buf, size_t n, char *ip, size_t ip_n) {
    bool v6;
    int port = peer_ip(sa, ip, ip_n, &v6);
    snprintf(buf, n, v6 ? "[%s]:%d" : "%s:%d", ip, port);
}

/* ------------------------------------------------------------------------
 * The queue of connections in their handshake
 * ------------------------------------------------------------------------ */

static void hs_enqueue(kb_listen_t *l, kb_conn_t *c) {
    c->hs_prev = l->hs_tail;
    c->hs_next = NULL;
    if (l->hs_tail) l->hs_tail->hs_next = c;
    else l->hs_head = c;
    l->hs_tail = c;
    c->hs_queued = true;
    l->n_handshaking++;
}

static void hs_dequeue(kb_listen_t *l, kb_conn_t *c) {
    if (!c->hs_queued) return;
    if (c->hs_prev) c->hs_prev->hs_next = c->hs_next;
    else l->hs_head = c->hs_next;
    if (c->hs_next) c->hs_next->hs_prev = c->hs_prev;
    else l->hs_tail = c->hs_prev;
    c->hs_prev = c->hs_next = NULL;
    c->hs_queued = false;
    l->n_handshaking--;
}

/* The connection's handshake hook: it has identified itself, and no
 * longer counts against max_handshaking. */
static void conn_handshaken(kb_conn_t *c, void *owner) { hs_dequeue(owner, c); }

/* The connection's hook: it has closed, so it leaves the server's list
 * and its listener's count. */
static void conn_closed(kb_conn_t *c, void *owner, const char *reason) {
    kb_listen_t *l = owner;
    kb_server_t *srv = l->srv;
    hs_dequeue(l, c);
    if (c->prev) c->prev->next = c->next;
    else srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->n_conns--;
    l->n_conns--;
}

/* The listener is full: fd is closed unread, and the refusal counted and
 * logged (rate-limited: a flood of connections must not flood the log). */
static void refuse(kb_listen_t *l, evutil_socket_t fd, const struct sockaddr *sa) {
    char peer[300], ip[INET6_ADDRSTRLEN];
    evutil_closesocket(fd);
    l->srv->refused++;
    format_peer(sa, peer, sizeof(peer), ip, sizeof(ip));
    kc_log_limited(&l->refused_log, KB_NET_REFUSED_LOG_MS, KC_LOG_WARN, MOD,
                   "refusing a connection from %s on listener %s: %d connections are open, its limit", peer, l->name,
                   l->n_conns);
}

/* Whether a new connection needs another's place: the handshake cap is
 * reached, or the listener's own. */
static bool listener_full(const kb_listen_t *l) {
    return (l->max_handshaking > 0 && l->n_handshaking >= l->max_handshaking) ||
           (l->max_conns > 0 && l->n_conns >= l->max_conns);
}

/* Closes the connection that has been in its handshake longest, to make
 * room for a new one: a peer that is about to identify itself gets in
 * however many silent connections are open.  Counted and logged
 * (rate-limited). */
static void evict_oldest_handshaking(kb_listen_t *l) {
    kb_conn_t *c = l->hs_head;
    char full[96];
    if (l->max_handshaking > 0 && l->n_handshaking >= l->max_handshaking)
        snprintf(full, sizeof(full), "%d connections are in their handshake, the limit", l->n_handshaking);
    else
        snprintf(full, sizeof(full), "%d connections are open, the limit", l->n_conns);
    l->srv->evicted++;
    kc_log_limited(&l->evicted_log, KB_NET_REFUSED_LOG_MS, KC_LOG_WARN, MOD,
                   "closing connection %llu from %s on listener %s, the oldest still in its handshake: %s, and a "
                   "new connection takes its place",
                   (unsigned long long)c->id, c->peer, l->name, full);
    kb_conn_close(c, NULL);
}

/* Links a new connection to its listener and the server. */
static void adopt(kb_listen_t *l, kb_conn_t *c) {
    kb_server_t *srv = l->srv;
    c->owner = l;
    c->on_closed = conn_closed;
    c->on_handshake = conn_handshaken;
    c->bad_frames = &srv->bad_frames;
    c->handshake_timeouts = &srv->handshake_timeouts;
    c->warn_log = &l->warn_log;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    l->n_conns++;
    if (c->in_handshake) hs_enqueue(l, c);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
    kb_listen_t *l = arg;
    kb_server_t *srv = l->srv;
    if (listener_full(l)) {
        if (!l->hs_head) {
            refuse(l, fd, sa);
            return;
        }
        evict_oldest_handshaking(l);
    }
    kb_conn_t *c = kb_conn_create(srv->base, fd, &l->opts, l->name, ++srv->next_id, false);
    if (!c) {
        kc_error(MOD, "out of memory accepting a connection on listener %s", l->name);
        return;
    }
    format_peer(sa, c->peer, sizeof(c->peer), c->peer_addr, sizeof(c->peer_addr));
    kb_net_tune_socket(fd, &l->opts);
    adopt(l, c);
    kc_debug(MOD, "connection %llu from %s on %s", (unsigned long long)c->id, c->peer, c->name);
    kb_conn_start(c);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg) {
    kb_listen_t *l = arg;
    evconnlistener_enable(l->lev);
}

/* Out of descriptors or memory: the listening socket stays readable, so
 * stop accepting for a moment instead of spinning.  While it lasts the
 * failure repeats every KB_ACCEPT_RETRY_MS: one line per
 * KB_NET_REFUSED_LOG_MS says so, with the count of those left out. */
static void on_accept_error(struct evconnlistener *lev, void *arg) {
    kb_listen_t *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {KB_ACCEPT_RETRY_MS / 1000, (KB_ACCEPT_RETRY_MS % 1000) * 1000};
    kc_log_limited(&l->accept_log, KB_NET_REFUSED_LOG_MS, KC_LOG_ERROR, MOD,
                   "accept on listener %s failed: %s; not accepting for %d ms at a time while it lasts", l->name,
                   evutil_socket_error_to_string(err), KB_ACCEPT_RETRY_MS);
    evconnlistener_disable(lev);
    evtimer_add(l->retry, &tv);
}

/* ------------------------------------------------------------------------
 * Binding
 * ------------------------------------------------------------------------ */

/* A listening socket on sa; -1 with errno set on failure.  The receive
 * buffer is set before listen() so accepted sockets inherit the window
 * scale it needs. */
static evutil_socket_t open_listen_socket(const struct sockaddr *sa, socklen_t salen, bool dual_stack,
                                          const kb_conn_opts_t *opts) {
    evutil_socket_t fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    kb_net_set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (sa->sa_family == AF_INET6) kb_net_set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? 0 : 1);
    if (opts->receive_buffer != -1) kb_net_set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, opts->receive_buffer);
    if (bind(fd, sa, salen) == 0 && listen(fd, KB_BACKLOG) == 0) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Empty host: every interface, IPv6 and IPv4 on one dual-stack socket
 * where the system has IPv6, IPv4 only otherwise. */
static evutil_socket_t listen_any(int port, const kb_conn_opts_t *opts) {
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
    evutil_socket_t fd = open_listen_socket((struct sockaddr *)&in6, sizeof(in6), true, opts);
    if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)) return fd;
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
    return open_listen_socket((struct sockaddr *)&in, sizeof(in), false, opts);
}

/* A named host: its addresses, IPv4 first (as Java resolves them), and the
 * first that binds. */
static evutil_socket_t listen_host(const char *host, int port, const kb_conn_opts_t *opts, char *err,
                                   size_t errlen) {
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
            if (ai->ai_family == family) fd = open_listen_socket(ai->ai_addr, ai->ai_addrlen, false, opts);
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

/* A listener on fd (taken over, closed on failure); NULL when out of memory. */
static kb_listen_t *listen_new(kb_server_t *srv, const kb_listen_spec_t *spec, evutil_socket_t fd) {
    kb_listen_t *l = calloc(1, sizeof(*l));
    if (!l) {
        close(fd);
        return NULL;
    }
    l->srv = srv;
    l->opts = spec->conn;
    l->max_conns = spec->max_connections;
    l->max_handshaking = spec->conn.handshake_max_frame > 0 ? spec->max_handshaking : 0;
    snprintf(l->name, sizeof(l->name), "%s", spec->name);
    l->retry = evtimer_new(srv->base, on_accept_retry, l);
    l->lev = evconnlistener_new(srv->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!l->lev || !l->retry) {
        if (l->lev) evconnlistener_free(l->lev);
        else close(fd);
        if (l->retry) event_free(l->retry);
        free(l);
        return NULL;
    }
    evconnlistener_set_error_cb(l->lev, on_accept_error);
    return l;
}

int kb_server_listen(kb_server_t *srv, kb_listen_spec_t *spec, char *err, size_t errlen) {
    char why[256] = "";
    const char *host = spec->host ? spec->host : "";
    evutil_socket_t fd = host[0] ? listen_host(host, spec->port, &spec->conn, why, sizeof(why))
                                 : listen_any(spec->port, &spec->conn);
    if (fd < 0) {
        if (!why[0]) snprintf(why, sizeof(why), "%s", strerror(errno));
        snprintf(err, errlen, "cannot listen on %s://%s:%d: %s", spec->name, host, spec->port, why);
        return -1;
    }
    int port = bound_port(fd);
    kb_listen_t *l = listen_new(srv, spec, fd);
    if (!l) {
        snprintf(err, errlen, "cannot listen on %s://%s:%d: out of memory", spec->name, host, spec->port);
        return -1;
    }
    l->next = srv->listens;
    srv->listens = l;
    spec->port = port;
    kc_info(MOD, "listening on %s://%s:%d", spec->name, host[0] ? host : "*", port);
    return 0;
}

/* ------------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------------ */

kb_server_t *kb_server_new(struct event_base *base) {
    kb_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) return NULL;
    srv->base = base;
    return srv;
}

/* The connections first: each one's hook counts it off its listener. */
void kb_server_free(kb_server_t *srv) {
    if (!srv) return;
    while (srv->conns) kb_conn_shutdown(srv->conns, "server shutting down");
    while (srv->listens) {
        kb_listen_t *l = srv->listens;
        srv->listens = l->next;
        evconnlistener_free(l->lev);
        event_free(l->retry);
        free(l);
    }
    free(srv);
}

int kb_server_connection_count(const kb_server_t *srv) { return srv->n_conns; }
uint64_t kb_server_bad_frames(const kb_server_t *srv) { return srv->bad_frames; }
uint64_t kb_server_handshake_timeouts(const kb_server_t *srv) { return srv->handshake_timeouts; }
uint64_t kb_server_refused_connections(const kb_server_t *srv) { return srv->refused; }
uint64_t kb_server_evicted_connections(const kb_server_t *srv) { return srv->evicted; }
