/*
 * kb_outbound.c - an outbound framed connection that keeps itself
 * connected: dial, and after a failed attempt or a lost connection wait
 * (exponential backoff, optional jitter) and dial again, until freed.
 *
 * Once connected, the connection is an ordinary kb_conn (kb_conn.c): the
 * same framing, frame-size check, idle timeout, back-pressure and sendfile
 * output as an accepted one.  Before that, while the non-blocking connect
 * is in flight, its bufferevent reports to on_connect_event here, and the
 * connect timeout is the bufferevent's write timeout.
 *
 * States: waiting (timer armed, conn NULL), connecting (conn set, !up),
 * connected (conn set, up).  Every close of the connection, whatever its
 * cause, comes back through conn_closed (the connection's owner hook),
 * which is the one place that schedules the next attempt.
 *
 * Ownership: the outbound borrows the event_base and owns its timer and its
 * connection; kb_outbound_free closes the connection without running the
 * user's callback.
 */
#include "broker/net/kb_net_internal.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/kc_log.h"

#define MOD "net"

struct kb_outbound {
    struct event_base *base; /* borrowed */
    kb_outbound_spec_t spec; /* name and host point into the arrays below */
    char name[64];
    char host[256];
    kb_conn_t *conn;     /* the attempt in flight or the connection; NULL while waiting */
    bool up;             /* conn is connected */
    bool freeing;        /* kb_outbound_free is closing conn: no callback, no new attempt */
    struct event *timer; /* the wait before the next attempt */
    uint64_t next_id;
    uint32_t rnd; /* jitter state (xorshift32) */
    kb_outbound_stats_t stats;
};

static void schedule_attempt(kb_outbound_t *o, const char *why);

int32_t kb_net_backoff_ms(int32_t backoff_ms, int32_t max_ms, int failures, int jitter_pct, uint32_t rnd) {
    int64_t wait = backoff_ms;
    for (int i = 1; i < failures && wait < max_ms; i++) wait *= 2;
    if (wait > max_ms) wait = max_ms;
    int64_t span = wait * jitter_pct / 100;
    if (span > 0) wait += (int64_t)(rnd % (uint32_t)(2 * span + 1)) - span;
    return wait < 0 ? 0 : (int32_t)wait;
}

static uint32_t next_random(kb_outbound_t *o) {
    o->rnd ^= o->rnd << 13;
    o->rnd ^= o->rnd >> 17;
    o->rnd ^= o->rnd << 5;
    return o->rnd;
}

/* ------------------------------------------------------------------------
 * The connection's life, as seen from here
 * ------------------------------------------------------------------------ */

/* The connection's owner hook: the attempt failed, or the connection
 * closed.  Either way, wait and try again (unless being freed). */
static void conn_closed(kb_conn_t *c, void *owner, const char *reason) {
    kb_outbound_t *o = owner;
    bool was_up = o->up;
    o->conn = NULL;
    o->up = false;
    if (o->freeing) return;
    o->stats.failures++;
    if (was_up) {
        schedule_attempt(o, reason ? reason : "closed");
        if (o->spec.on_link) o->spec.on_link(o, c, false, o->spec.conn.arg);
    } else {
        schedule_attempt(o, reason ? reason : "failed");
    }
}

static void connected(kb_outbound_t *o) {
    kb_conn_t *c = o->conn;
    o->up = true;
    o->stats.failures = 0;
    o->stats.connects++;
    kc_info(MOD, "connected to %s (%s), connection %llu", c->peer, c->name, (unsigned long long)c->id);
    kb_conn_start(c);
    if (o->spec.on_link) o->spec.on_link(o, c, true, o->spec.conn.arg);
}

/* The bufferevent's events while the connect is in flight. */
static void on_connect_event(struct bufferevent *bev, short what, void *arg) {
    kb_outbound_t *o = arg;
    char reason[160];
    if (what & BEV_EVENT_CONNECTED) {
        connected(o);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        snprintf(reason, sizeof(reason), "not connected after %d ms", (int)o->spec.connect_timeout_ms);
    else
        snprintf(reason, sizeof(reason), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    kb_conn_shutdown(o->conn, reason);
}

/* ------------------------------------------------------------------------
 * Dialling
 * ------------------------------------------------------------------------ */

/* The address to dial: the host's first IPv4 address, else its first. */
static int resolve(const kb_outbound_t *o, struct sockaddr_storage *ss, socklen_t *len, char *why, size_t n) {
    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *res, *pick = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%d", o->spec.port);
    int rc = getaddrinfo(o->host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, n, "cannot resolve %s: %s", o->host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai && !pick; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) pick = ai;
    if (!pick) pick = res;
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Starts an attempt: 0 once a connection exists (its connect in flight, or
 * already failed and gone through conn_closed), -1 (why says what failed)
 * when none could be made. */
static int dial(kb_outbound_t *o, char *why, size_t n) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(o, &ss, &len, why, n) != 0) return -1;
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, n, "%s", strerror(errno));
        return -1;
    }
    kb_net_tune_socket(fd, &o->spec.conn); /* before connect: the window scale follows SO_RCVBUF */
    kb_conn_t *c = kb_conn_create(o->base, fd, &o->spec.conn, o->name, ++o->next_id, true);
    if (!c) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    snprintf(c->peer, sizeof(c->peer), strchr(o->host, ':') ? "[%s]:%d" : "%s:%d", o->host, o->spec.port);
    c->owner = o;
    c->on_closed = conn_closed;
    c->bad_frames = &o->stats.bad_frames;
    o->conn = c;
    bufferevent_setcb(c->bev, NULL, NULL, on_connect_event, o);
    if (o->spec.connect_timeout_ms > 0) {
        struct timeval tv = {o->spec.connect_timeout_ms / 1000, (o->spec.connect_timeout_ms % 1000) * 1000};
        bufferevent_set_timeouts(c->bev, NULL, &tv);
    }
    /* An immediate refusal (ECONNREFUSED on loopback) is still reported
     * through on_connect_event, from the loop; other immediate failures
     * close the connection here, which schedules the next attempt. */
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)len) != 0) {
        snprintf(why, n, "%s", strerror(errno));
        kb_conn_shutdown(c, why);
    }
    return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    kb_outbound_t *o = arg;
    char why[300];
    o->stats.attempts++;
    o->stats.backoff_ms = 0;
    kc_debug(MOD, "connecting to %s:%d (%s), attempt %llu", o->host, o->spec.port, o->name,
             (unsigned long long)o->stats.attempts);
    if (dial(o, why, sizeof(why)) == 0) return;
    o->stats.failures++;
    schedule_attempt(o, why);
}

/* Arms the wait before the next attempt (failures already counted). */
static void schedule_attempt(kb_outbound_t *o, const char *why) {
    int32_t ms = kb_net_backoff_ms(o->spec.backoff_ms, o->spec.backoff_max_ms, o->stats.failures,
                                   o->spec.backoff_jitter_pct, next_random(o));
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    o->stats.backoff_ms = ms;
    /* One line per outage, not one per attempt. */
    if (o->stats.failures == 1)
        kc_info(MOD, "connection to %s:%d (%s): %s; retrying in %d ms (backing off up to %d ms)", o->host, o->spec.port,
                o->name, why, (int)ms, (int)o->spec.backoff_max_ms);
    else
        kc_debug(MOD, "connection to %s:%d (%s): %s; retrying in %d ms", o->host, o->spec.port, o->name, why, (int)ms);
    evtimer_add(o->timer, &tv);
}

/* ------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------ */

static bool spec_valid(const kb_outbound_spec_t *s) {
    return s->name && s->host && s->host[0] && strlen(s->host) < 256 && s->port > 0 && s->port < 65536 &&
           s->backoff_ms > 0 && s->backoff_max_ms >= s->backoff_ms && s->backoff_jitter_pct >= 0 &&
           s->backoff_jitter_pct <= 100 && s->conn.max_frame >= 0 && s->conn.on_frame;
}

kb_outbound_t *kb_outbound_new(struct event_base *base, const kb_outbound_spec_t *spec) {
    if (!spec_valid(spec)) return NULL;
    kb_outbound_t *o = calloc(1, sizeof(*o));
    if (!o) return NULL;
    o->base = base;
    o->spec = *spec;
    snprintf(o->name, sizeof(o->name), "%s", spec->name);
    snprintf(o->host, sizeof(o->host), "%s", spec->host);
    o->spec.name = o->name;
    o->spec.host = o->host;
    o->rnd = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)o;
    if (!o->rnd) o->rnd = 1;
    o->timer = evtimer_new(base, on_timer, o);
    if (!o->timer) {
        free(o);
        return NULL;
    }
    struct timeval now = {0, 0};
    evtimer_add(o->timer, &now); /* the first attempt, from the loop */
    return o;
}

void kb_outbound_free(kb_outbound_t *o) {
    if (!o) return;
    o->freeing = true;
    event_free(o->timer);
    if (o->conn) kb_conn_shutdown(o->conn, "outbound connection closed");
    free(o);
}

kb_conn_t *kb_outbound_conn(const kb_outbound_t *o) { return o->up ? o->conn : NULL; }

void kb_outbound_stats(const kb_outbound_t *o, kb_outbound_stats_t *out) { *out = o->stats; }
