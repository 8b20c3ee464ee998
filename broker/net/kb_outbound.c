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
 * States: waiting (timer armed, conn NULL), resolving (a DNS lookup in
 * flight on the spec's evdns base, conn NULL), connecting (conn set, !up),
 * connected (conn set, up).  Nothing here blocks the loop: a numeric
 * address is parsed without any lookup, and a name is resolved
 * asynchronously through the caller's evdns base (kb_outbound_new refuses
 * a name when there is none).  Every close of the connection, whatever its
 * cause, comes back through conn_closed (the connection's owner hook),
 * which is the one place that schedules the next attempt.  Failures are
 * counted there too, and reset by success: connecting, or the
 * connection's handshake when it has one (conn_handshake_done).
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
#include <event2/dns.h>
#include <event2/event.h>

#include "common/kc_log.h"

#define MOD "net"
/* A name lookup's deadline when the spec sets no connect timeout. */
#define KB_NET_LOOKUP_TIMEOUT_MS 10000

struct kb_outbound {
    struct event_base *base; /* borrowed */
    kb_outbound_spec_t spec; /* name and host point into the arrays below */
    char name[64];
    char host[256];
    kb_conn_t *conn;     /* the attempt in flight or the connection; NULL while waiting */
    bool up;             /* conn is connected */
    bool freeing;        /* kb_outbound_free is closing conn: no callback, no new attempt */
    struct event *timer; /* the wait before the next attempt */
    struct evdns_getaddrinfo_request *lookup; /* the DNS lookup in flight, or NULL */
    bool lookup_pending;                      /* between starting a lookup and its callback */
    uint64_t next_id;
    uint32_t rnd; /* jitter state (xorshift32) */
    kc_ratelimit_t outage_log; /* the INFO line of an outage's first failure */
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
        if (o->spec.on_attempt_failed) o->spec.on_attempt_failed(o, reason ? reason : "failed", o->spec.conn.arg);
    }
}

/* The connection's handshake hook: the attempt succeeded after all. */
static void conn_handshake_done(kb_conn_t *c, void *owner) {
    kb_outbound_t *o = owner;
    o->stats.failures = 0;
}

/* Connecting is success, unless the connection has a handshake to get
 * through first (conn_handshake_done then says so). */
static void connected(kb_outbound_t *o) {
    kb_conn_t *c = o->conn;
    o->up = true;
    if (!c->in_handshake) o->stats.failures = 0;
    o->stats.connects++;
    /* With a handshake, its user says when the connection is really up
     * (one line per redial of a peer that keeps refusing would be noise). */
    kc_log(c->in_handshake ? KC_LOG_DEBUG : KC_LOG_INFO, MOD, "connected to %s (%s), connection %llu", c->peer, c->name,
           (unsigned long long)c->id);
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

/* The address to dial among a lookup's answers: the first IPv4 one, else
 * the first. */
static const struct evutil_addrinfo *pick_address(const struct evutil_addrinfo *res) {
    for (const struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) return ai;
    return res;
}

static struct evutil_addrinfo lookup_hints(bool numeric_only) {
    struct evutil_addrinfo hints = {.ai_flags = EVUTIL_AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    if (numeric_only) hints.ai_flags |= EVUTIL_AI_NUMERICHOST;
    return hints;
}

/* Whether host is a numeric IPv4 or IPv6 address (parsed, never looked up). */
static bool host_is_numeric(const char *host) {
    struct evutil_addrinfo hints = lookup_hints(true), *res = NULL;
    if (evutil_getaddrinfo(host, "1", &hints, &res) != 0) return false;
    evutil_freeaddrinfo(res);
    return true;
}

/* Connects to addr: 0 once a connection exists (its connect in flight, or
 * already failed and gone through conn_closed), -1 (why says what failed)
 * when none could be made. */
static int dial(kb_outbound_t *o, const struct evutil_addrinfo *addr, char *why, size_t n) {
    evutil_socket_t fd = socket(addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", o->host);
    c->owner = o;
    c->on_closed = conn_closed;
    c->on_handshake = conn_handshake_done;
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
    if (bufferevent_socket_connect(c->bev, addr->ai_addr, (int)addr->ai_addrlen) != 0) {
        snprintf(why, n, "%s", strerror(errno));
        kb_conn_shutdown(c, why);
    }
    return 0;
}

/* How long a name lookup may take: the connect timeout, else a default. */
static int32_t lookup_timeout_ms(const kb_outbound_t *o) {
    return o->spec.connect_timeout_ms > 0 ? o->spec.connect_timeout_ms : KB_NET_LOOKUP_TIMEOUT_MS;
}

/* An attempt that could not start: count it and wait. */
static void attempt_failed(kb_outbound_t *o, const char *why) {
    o->stats.failures++;
    schedule_attempt(o, why);
    if (o->spec.on_attempt_failed) o->spec.on_attempt_failed(o, why, o->spec.conn.arg);
}

/* Dials the first usable answer of a lookup (or of parsing a numeric
 * address), or schedules the next attempt. */
static void dial_answer(kb_outbound_t *o, int rc, struct evutil_addrinfo *res) {
    char why[300];
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot resolve %s: %s", o->host, evutil_gai_strerror(rc));
        attempt_failed(o, why);
        return;
    }
    int dialled = dial(o, pick_address(res), why, sizeof(why));
    evutil_freeaddrinfo(res);
    if (dialled != 0) attempt_failed(o, why);
}

/* The evdns lookup's answer.  A cancelled lookup (kb_outbound_free, or
 * its deadline) only returns: whoever cancelled it goes on. */
static void on_resolved(int rc, struct evutil_addrinfo *res, void *arg) {
    kb_outbound_t *o = arg;
    if (rc == EVUTIL_EAI_CANCEL) {
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    if (o->lookup) evtimer_del(o->timer); /* the lookup's deadline */
    o->lookup = NULL;
    o->lookup_pending = false;
    dial_answer(o, rc, res);
}

/* The lookup's deadline passed (a resolver with no nameserver never
 * answers): give it up and count a failed attempt. */
static void lookup_timed_out(kb_outbound_t *o) {
    char why[300];
    struct evdns_getaddrinfo_request *req = o->lookup;
    o->lookup = NULL;
    o->lookup_pending = false;
    evdns_getaddrinfo_cancel(req);
    snprintf(why, sizeof(why), "no answer resolving %s within %d ms", o->host, (int)lookup_timeout_ms(o));
    attempt_failed(o, why);
}

/* Starts an attempt: a numeric address is dialled at once; a name is
 * looked up on the evdns base first (its answer may arrive inside
 * evdns_getaddrinfo, from its cache or /etc/hosts, or later). */
static void start_attempt(kb_outbound_t *o) {
    char service[8];
    struct evutil_addrinfo hints = lookup_hints(o->spec.dns == NULL), *res = NULL;
    snprintf(service, sizeof(service), "%d", o->spec.port);
    if (!o->spec.dns) {
        int rc = evutil_getaddrinfo(o->host, service, &hints, &res);
        dial_answer(o, rc, res);
        return;
    }
    o->lookup_pending = true;
    struct evdns_getaddrinfo_request *req = evdns_getaddrinfo(o->spec.dns, o->host, service, &hints, on_resolved, o);
    if (!o->lookup_pending || !req) return; /* answered already (on_resolved ran) */
    o->lookup = req; /* in flight: the timer is its deadline until it answers */
    int32_t ms = lookup_timeout_ms(o);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(o->timer, &tv);
}

/* The timer: the wait before an attempt is over, or a lookup's deadline
 * passed. */
static void on_timer(evutil_socket_t fd, short what, void *arg) {
    kb_outbound_t *o = arg;
    if (o->lookup) {
        lookup_timed_out(o);
        return;
    }
    o->stats.attempts++;
    o->stats.backoff_ms = 0;
    kc_debug(MOD, "connecting to %s:%d (%s), attempt %llu", o->host, o->spec.port, o->name,
             (unsigned long long)o->stats.attempts);
    start_attempt(o);
}

/* Arms the wait before the next attempt (failures already counted). */
static void schedule_attempt(kb_outbound_t *o, const char *why) {
    int32_t ms = kb_net_backoff_ms(o->spec.backoff_ms, o->spec.backoff_max_ms, o->stats.failures,
                                   o->spec.backoff_jitter_pct, next_random(o));
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    o->stats.backoff_ms = ms;
    /* One line per outage, not one per attempt; and at most one per
     * KB_NET_REFUSED_LOG_MS, since a peer that lets us connect (and
     * complete a handshake) then closes makes an outage of each cycle. */
    if (o->stats.failures == 1)
        kc_log_limited(&o->outage_log, KB_NET_REFUSED_LOG_MS, KC_LOG_INFO, MOD,
                       "connection to %s:%d (%s): %s; retrying in %d ms (backing off up to %d ms)", o->host,
                       o->spec.port, o->name, why, (int)ms, (int)o->spec.backoff_max_ms);
    else
        kc_debug(MOD, "connection to %s:%d (%s): %s; retrying in %d ms", o->host, o->spec.port, o->name, why, (int)ms);
    evtimer_add(o->timer, &tv);
}

/* ------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------ */

/* A name without an evdns base to resolve it is refused: looking it up
 * with the system resolver would block the loop. */
static bool spec_valid(const kb_outbound_spec_t *s) {
    return s->name && s->host && s->host[0] && strlen(s->host) < 256 && s->port > 0 && s->port < 65536 &&
           s->backoff_ms > 0 && s->backoff_max_ms >= s->backoff_ms && s->backoff_jitter_pct >= 0 &&
           s->backoff_jitter_pct <= 100 && s->conn.max_frame >= 0 && s->conn.on_frame &&
           (s->dns || host_is_numeric(s->host));
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
    if (o->lookup) evdns_getaddrinfo_cancel(o->lookup); /* its callback only returns */
    if (o->conn) kb_conn_shutdown(o->conn, "outbound connection closed");
    free(o);
}

kb_conn_t *kb_outbound_conn(const kb_outbound_t *o) { return o->up ? o->conn : NULL; }

void kb_outbound_stats(const kb_outbound_t *o, kb_outbound_stats_t *out) { *out = o->stats; }
