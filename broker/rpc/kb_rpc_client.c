/*
 * kb_rpc_client.c - the calling side of the inter-broker RPC channel: one
 * broker/net outbound connection to one peer, kept up (reconnect and
 * backoff are the outbound's), the Hello handshake on each new connection,
 * and calls matched to responses by correlation id (kb_rpc.h says what the
 * channel promises).
 *
 * Each connection starts in the transport's handshake phase: the server's
 * Hello may not pass KB_RPC_HELLO_MAX_FRAME, and only an accepted Hello
 * (kb_conn_handshake_done) lets frames up to max_frame in and counts as a
 * success for the outbound's backoff, so a peer that keeps failing the
 * handshake is redialled with the same growing waits as one that is down.
 *
 * A call is encoded whole when it is made (so a call that could never be
 * sent is refused at once) and kept in the client's list, in order, until
 * its outcome: it is sent as soon as the connection is past its handshake,
 * and stays in the list, marked sent, until answered, timed out, or its
 * connection closes.  Responses are found by a scan of that list: calls in
 * flight on one client are few (the controller keeps one request in
 * flight per broker, a follower one fetch), so a scan beats a table.
 *
 * Outcomes are delivered from the loop's callbacks (a frame, a timer, the
 * connection closing), never from inside kb_rpc_call; kb_rpc_client_free
 * delivers KB_RPC_CANCELLED to what is left before it returns.  A user
 * callback may free the client: while a callback of ours is on the stack
 * (depth > 0) the client is only marked dead, every call is cancelled, and
 * the memory goes from a zero-delay event once the stack has unwound; the
 * callbacks that may still arrive in between see the mark and return.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "broker/net/kb_net.h"
#include "broker/rpc/kb_rpc_internal.h"
#include "common/kc_log.h"

#define MOD "rpc"
#define KB_RPC_JITTER_PCT 20 /* Kafka's reconnect jitter */

typedef struct rpc_call {
    struct rpc_call *prev, *next;
    kb_rpc_client_t *client;
    uint32_t correlation_id;
    Kbroker__Rpc__Method method;
    bool sent;
    uint8_t *frame; /* the encoded request until sent */
    size_t frame_len;
    struct event *timer; /* NULL without a timeout */
    kb_rpc_reply_fn done;
    void *arg;
} rpc_call_t;

struct kb_rpc_client {
    struct event_base *base; /* borrowed */
    kb_rpc_client_opts_t opts; /* name and host point into the arrays below */
    char name[64];
    char host[256];
    kb_outbound_t *ob;
    kb_conn_t *conn;      /* connected (handshake or not), else NULL */
    bool ready;           /* conn's Hello answered and accepted */
    uint32_t hello_corr;  /* the correlation id of conn's Hello */
    uint32_t next_corr;
    struct event *hello_timer; /* the Hello's deadline (connect_timeout_ms) */
    struct event *unreachable_ev; /* fail_when_unreachable: fails the waiting calls, from the loop */
    struct evbuffer *out; /* scratch: emptied by every kb_conn_send */
    rpc_call_t *head, *tail; /* calls not yet answered, in the order made */
    kb_rpc_identity_t peer;
    int depth;            /* our callbacks on the stack */
    unsigned refusals;    /* connections closed by us since the last handshake */
    bool refusing;        /* protocol_close is closing the connection (not the peer) */
    kc_ratelimit_t peer_closed_log; /* "closed by the peer during the handshake" */
    kc_ratelimit_t connected_log;   /* "connected to broker N": a peer (or a stranger evicting our
                                     * connection from its server) can make us reconnect at will */
    bool dead;            /* freed by the user inside a callback */
    kb_rpc_client_stats_t stats;
};

static void client_destroy(kb_rpc_client_t *c);

const char *kb_rpc_status_name(kb_rpc_status_t st) {
    switch (st) {
    case KB_RPC_OK: return "ok";
    case KB_RPC_TIMEOUT: return "timed out";
    case KB_RPC_DISCONNECTED: return "disconnected";
    case KB_RPC_BAD_RESPONSE: return "bad response";
    case KB_RPC_CANCELLED: return "cancelled";
    case KB_RPC_UNREACHABLE: return "unreachable";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------------ */

static void call_unlink(kb_rpc_client_t *c, rpc_call_t *call) {
    if (call->prev) call->prev->next = call->next;
    else c->head = call->next;
    if (call->next) call->next->prev = call->prev;
    else c->tail = call->prev;
    call->prev = call->next = NULL;
}

/* Delivers the outcome of a call already unlinked, and frees it. */
static void call_finish(rpc_call_t *call, kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                        const kp_rpc_slice_t *slices, size_t n_slices) {
    kb_rpc_reply_fn done = call->done;
    void *arg = call->arg;
    kb_rpc_client_t *c = call->client;
    if (call->timer) event_free(call->timer);
    free(call->frame);
    free(call);
    c->stats.in_flight--;
    if (st == KB_RPC_OK) c->stats.answered++;
    else if (st == KB_RPC_TIMEOUT) c->stats.timeouts++;
    else if (st == KB_RPC_DISCONNECTED) c->stats.disconnected++;
    done(st, error_code, st == KB_RPC_OK ? body : NULL, slices, n_slices, arg);
}

/* Fails every call in the list matching (all, or only those sent) with st;
 * the calls are moved off the list first, so callbacks may make new calls
 * (or free the client) meanwhile. */
static void fail_calls(kb_rpc_client_t *c, bool only_sent, kb_rpc_status_t st) {
    rpc_call_t *failing = NULL, **tailp = &failing;
    for (rpc_call_t *call = c->head, *next; call; call = next) {
        next = call->next;
        if (only_sent && !call->sent) continue;
        call_unlink(c, call);
        *tailp = call;
        tailp = &call->next;
    }
    while (failing) {
        rpc_call_t *call = failing;
        failing = call->next;
        call_finish(call, st, 0, NULL, NULL, 0);
    }
}

static void enter(kb_rpc_client_t *c) { c->depth++; }

/* Leaves one of our callbacks; the last one out frees a client the user
 * freed meanwhile. */
static void leave(kb_rpc_client_t *c) {
    if (--c->depth == 0 && c->dead) client_destroy(c);
}

static void on_call_timeout(evutil_socket_t fd, short what, void *arg) {
    rpc_call_t *call = arg;
    kb_rpc_client_t *c = call->client;
    enter(c);
    call_unlink(c, call);
    kc_debug(MOD, "%s: %s call %u timed out", c->name, kb_rpc_method_name(call->method),
             (unsigned)call->correlation_id);
    call_finish(call, KB_RPC_TIMEOUT, 0, NULL, NULL, 0);
    leave(c);
}

/* Sends bytes on the connection (the scratch buffer is emptied by the send). */
static void send_bytes(kb_rpc_client_t *c, const uint8_t *p, size_t n) {
    if (evbuffer_add(c->out, p, n) != 0) {
        kb_conn_close(c->conn, "out of memory sending an RPC request");
        return;
    }
    kb_conn_send(c->conn, c->out);
}

static void send_call(kb_rpc_client_t *c, rpc_call_t *call) {
    call->sent = true;
    uint8_t *frame = call->frame;
    call->frame = NULL;
    send_bytes(c, frame, call->frame_len);
    free(frame);
}

/* Sends the calls that waited for the handshake, in the order made.  A
 * send that fails closes the connection, which ends the loop. */
static void flush_waiting(kb_rpc_client_t *c) {
    /* next is read before a send that may close the connection (which frees
     * the sent calls) and used only if the connection is still ready. */
    for (rpc_call_t *call = c->head, *next; call && c->ready && !c->dead; call = next) {
        next = call->next;
        if (!call->sent) send_call(c, call);
    }
}

int kb_rpc_call(kb_rpc_client_t *c, Kbroker__Rpc__Method method, const ProtobufCMessage *msg, int32_t timeout_ms,
                kb_rpc_reply_fn done, void *arg) {
    if (c->dead || !done || method == KBROKER__RPC__METHOD__METHOD_HELLO) return -1;
    rpc_call_t *call = calloc(1, sizeof(*call));
    if (!call) return -1;
    kb_rpc_head_t h = {KBROKER__RPC__KIND__KIND_REQUEST, method, c->next_corr, 0, c->opts.self, NULL, 0};
    int rc = kb_rpc_build_header(&h, msg, c->opts.max_frame, &call->frame, &call->frame_len);
    if (rc == KP_RPC_OK && timeout_ms > 0) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        call->timer = evtimer_new(c->base, on_call_timeout, call);
        if (!call->timer || evtimer_add(call->timer, &tv) != 0) rc = KP_RPC_NOMEM;
    }
    if (rc != KP_RPC_OK) {
        kc_error(MOD, "%s: cannot make a %s call: %s", c->name, kb_rpc_method_name(method), kp_rpc_strerror(rc));
        if (call->timer) event_free(call->timer);
        free(call->frame);
        free(call);
        return -1;
    }
    call->client = c;
    call->correlation_id = c->next_corr++;
    call->method = method;
    call->done = done;
    call->arg = arg;
    call->prev = c->tail;
    if (c->tail) c->tail->next = call;
    else c->head = call;
    c->tail = call;
    c->stats.calls++;
    c->stats.in_flight++;
    if (c->ready) send_call(c, call);
    return 0;
}

/* ------------------------------------------------------------------------
 * The handshake
 * ------------------------------------------------------------------------ */

static void protocol_close(kb_rpc_client_t *c, const char *why) {
    char peer[96], self[96];
    kc_log_level_t level = c->refusals++ == 0 ? KC_LOG_WARN : KC_LOG_DEBUG;
    kc_log(level, MOD, "closing RPC connection %s to %s (%s) from this broker (%s): %s", c->name, kb_conn_peer(c->conn),
            kb_rpc_who(c->peer, c->peer.broker_id >= 0 || c->ready, peer, sizeof(peer)),
            kb_rpc_who(c->opts.self, true, self, sizeof(self)), why);
    c->refusing = true;
    kb_conn_close(c->conn, why); /* on_link runs now: the calls sent fail */
    c->refusing = false;
}

static void send_hello(kb_rpc_client_t *c) {
    Kbroker__Rpc__HelloRequest hello = KBROKER__RPC__HELLO_REQUEST__INIT;
    hello.protocol_version = KP_RPC_PROTOCOL_VERSION;
    hello.broker_id = c->opts.self.broker_id;
    hello.broker_epoch = c->opts.self.broker_epoch;
    c->hello_corr = c->next_corr++;
    kb_rpc_head_t h = {KBROKER__RPC__KIND__KIND_REQUEST, KBROKER__RPC__METHOD__METHOD_HELLO, c->hello_corr, 0,
                       c->opts.self, NULL, 0};
    uint8_t *frame;
    size_t len;
    if (kb_rpc_build_header(&h, &hello.base, c->opts.max_frame, &frame, &len) != KP_RPC_OK) {
        kb_conn_close(c->conn, "cannot encode the RPC Hello");
        return;
    }
    send_bytes(c, frame, len);
    free(frame);
    if (c->opts.connect_timeout_ms > 0 && c->conn) {
        struct timeval tv = {c->opts.connect_timeout_ms / 1000, (c->opts.connect_timeout_ms % 1000) * 1000};
        evtimer_add(c->hello_timer, &tv);
    }
}

static void on_hello_timeout(evutil_socket_t fd, short what, void *arg) {
    kb_rpc_client_t *c = arg;
    char why[96];
    if (c->dead || !c->conn || c->ready) return;
    enter(c);
    snprintf(why, sizeof(why), "no Hello answer within %d ms", (int)c->opts.connect_timeout_ms);
    protocol_close(c, why);
    leave(c);
}

/* Why the peer's Hello is refused (into why), or NULL: it must speak our
 * version and be the broker, and epoch, expected. */
static const char *hello_refusal(const kb_rpc_client_t *c, const Kbroker__Rpc__HelloResponse *h, char *why,
                                 size_t n) {
    if (h->protocol_version != KP_RPC_PROTOCOL_VERSION)
        snprintf(why, n, "the peer speaks RPC protocol version %u, this broker %u", (unsigned)h->protocol_version,
                 (unsigned)KP_RPC_PROTOCOL_VERSION);
    else if (c->opts.expect_broker_id >= 0 && h->broker_id != c->opts.expect_broker_id)
        snprintf(why, n, "expected broker %d", (int)c->opts.expect_broker_id);
    else if (c->opts.expect_broker_epoch >= 0 && h->broker_epoch != c->opts.expect_broker_epoch)
        snprintf(why, n, "expected broker epoch %lld", (long long)c->opts.expect_broker_epoch);
    else
        return NULL;
    return why;
}

/* The answer to our Hello: accepted, the connection is ready and the calls
 * that waited go out. */
static void take_hello(kb_rpc_client_t *c, const kp_rpc_frame_t *f) {
    char why[160];
    kp_rpc_body_t *body = NULL;
    const Kbroker__Rpc__Envelope *env = f->env;
    if (env->method != KBROKER__RPC__METHOD__METHOD_HELLO || env->correlation_id != c->hello_corr ||
        env->error_code != 0 || kp_rpc_body_unpack(env, &body) != KP_RPC_OK) {
        snprintf(why, sizeof(why), "the answer to Hello is a %s (correlation id %u, error %d)",
                 kb_rpc_method_name(env->method), (unsigned)env->correlation_id, (int)env->error_code);
        protocol_close(c, why);
        return;
    }
    const Kbroker__Rpc__HelloResponse *h = (const Kbroker__Rpc__HelloResponse *)body->msg;
    c->peer = (kb_rpc_identity_t){h->broker_id, h->broker_epoch};
    if (hello_refusal(c, h, why, sizeof(why))) {
        kp_rpc_body_free(body);
        protocol_close(c, why);
        return;
    }
    kp_rpc_body_free(body);
    evtimer_del(c->hello_timer);
    kb_conn_handshake_done(c->conn); /* responses up to max_frame; the backoff resets */
    c->ready = true;
    c->stats.connects++;
    kc_log_limited(&c->connected_log, KB_NET_REFUSED_LOG_MS, KC_LOG_INFO, MOD,
                   "%s: connected to broker %d epoch %lld at %s", c->name, (int)c->peer.broker_id,
                   (long long)c->peer.broker_epoch, kb_conn_peer(c->conn));
    c->refusals = 0;
    /* The waiting calls go first, so a call made by on_link follows them. */
    flush_waiting(c);
    if (c->ready && !c->dead && c->opts.on_link) c->opts.on_link(c, true, c->opts.link_arg);
}

/* ------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------ */

static rpc_call_t *find_sent(const kb_rpc_client_t *c, uint32_t corr) {
    for (rpc_call_t *call = c->head; call; call = call->next)
        if (call->sent && call->correlation_id == corr) return call;
    return NULL;
}

/* A response after the handshake: its call gets the body, or
 * BAD_RESPONSE (and the connection closes) when it does not unpack. */
static void take_response(kb_rpc_client_t *c, const kp_rpc_frame_t *f) {
    char why[160];
    const Kbroker__Rpc__Envelope *env = f->env;
    rpc_call_t *call = find_sent(c, env->correlation_id);
    if (!call) { /* its call timed out already */
        kc_debug(MOD, "%s: dropping the late answer %u", c->name, (unsigned)env->correlation_id);
        return;
    }
    call_unlink(c, call);
    kp_rpc_body_t *body = NULL;
    int rc = env->method == call->method ? kp_rpc_body_unpack(env, &body) : KP_RPC_BAD_BODY;
    if (rc != KP_RPC_OK) {
        snprintf(why, sizeof(why), "the answer %u to a %s call is a %s that does not unpack (%s)",
                 (unsigned)env->correlation_id, kb_rpc_method_name(call->method), kb_rpc_method_name(env->method),
                 kp_rpc_strerror(rc));
        call_finish(call, KB_RPC_BAD_RESPONSE, env->error_code, NULL, NULL, 0);
        if (!c->dead && c->conn) protocol_close(c, why);
        return;
    }
    call_finish(call, KB_RPC_OK, env->error_code, body->msg, f->slices, f->n_slices);
    kp_rpc_body_free(body);
}

static void on_frame(kb_conn_t *conn, const uint8_t *payload, size_t len, void *arg) {
    kb_rpc_client_t *c = arg;
    char why[160];
    if (c->dead || conn != c->conn) return;
    enter(c);
    kp_rpc_frame_t *f;
    int rc = kp_rpc_decode_payload(payload, len, &f);
    if (rc) {
        snprintf(why, sizeof(why), "undecodable frame of %zu bytes: %s", len, kp_rpc_strerror(rc));
        protocol_close(c, why);
    } else if (f->env->kind != KBROKER__RPC__KIND__KIND_RESPONSE) {
        protocol_close(c, "a request frame sent to the client");
    } else if (!c->ready) {
        take_hello(c, f);
    } else {
        take_response(c, f);
    }
    kp_rpc_frame_free(f);
    leave(c);
}

/* The peer (or the network) closed the connection before answering our
 * Hello: a server that does not know this broker yet (its view has not
 * read our registration) or refused it, or one full of connections, does
 * that.  Said at INFO, at most once per KB_NET_REFUSED_LOG_MS: the redials
 * go on with backoff. */
static void log_closed_in_handshake(kb_rpc_client_t *c, kb_conn_t *conn) {
    char self[96];
    kc_log_limited(&c->peer_closed_log, KB_NET_REFUSED_LOG_MS, KC_LOG_INFO, MOD,
                   "%s: RPC connection to %s closed by the peer during the handshake, before its Hello answer "
                   "(it may not know this broker, %s, yet, or be refusing connections; see its log); "
                   "redialling with backoff",
                   c->name, kb_conn_peer(conn), kb_rpc_who(c->opts.self, true, self, sizeof(self)));
}

/* The outbound connected (the handshake starts) or its connection closed
 * (the calls sent on it fail; those waiting keep waiting). */
static void on_link(kb_outbound_t *o, kb_conn_t *conn, bool connected, void *arg) {
    kb_rpc_client_t *c = arg;
    if (c->dead) return;
    enter(c);
    if (connected) {
        c->conn = conn;
        c->ready = false;
        c->peer = (kb_rpc_identity_t){-1, -1};
        send_hello(c);
    } else {
        bool was_ready = c->ready;
        if (!was_ready && !c->refusing) log_closed_in_handshake(c, conn);
        c->conn = NULL;
        c->ready = false;
        evtimer_del(c->hello_timer);
        fail_calls(c, true, KB_RPC_DISCONNECTED);
        if (!was_ready && c->opts.fail_when_unreachable) fail_calls(c, false, KB_RPC_UNREACHABLE);
        if (was_ready && !c->dead && c->opts.on_link) c->opts.on_link(c, false, c->opts.link_arg);
    }
    leave(c);
}

/* An attempt failed before connecting.  This may run inside the
 * outbound's own start of that attempt, where freeing it (which a reply
 * callback may do, through kb_rpc_client_free) would pull it from under
 * its feet: the calls fail from the loop instead (on_unreachable). */
static void on_attempt_failed(kb_outbound_t *o, const char *why, void *arg) {
    kb_rpc_client_t *c = arg;
    if (!c->dead && c->opts.fail_when_unreachable && c->head) event_active(c->unreachable_ev, EV_TIMEOUT, 0);
}

static void on_unreachable(evutil_socket_t fd, short what, void *arg) {
    kb_rpc_client_t *c = arg;
    if (c->dead || c->conn) return; /* a new connection is under way: the calls wait for it */
    enter(c);
    fail_calls(c, false, KB_RPC_UNREACHABLE);
    leave(c);
}

/* ------------------------------------------------------------------------
 * The client
 * ------------------------------------------------------------------------ */

static bool opts_valid(const kb_rpc_client_opts_t *o) {
    return o->name && o->host && o->host[0] && strlen(o->host) < 256 && o->port > 0 && o->port < 65536 &&
           o->backoff_ms > 0 && o->backoff_max_ms >= o->backoff_ms && o->max_frame >= KP_RPC_HEADER_FIXED;
}

static int start_outbound(kb_rpc_client_t *c) {
    kb_outbound_spec_t spec = {
        .name = c->name,
        .host = c->host,
        .port = c->opts.port,
        .dns = c->opts.dns,
        .backoff_ms = c->opts.backoff_ms,
        .backoff_max_ms = c->opts.backoff_max_ms,
        .backoff_jitter_pct = KB_RPC_JITTER_PCT,
        .connect_timeout_ms = c->opts.connect_timeout_ms,
        /* No transport deadline for the handshake: the Hello timer
         * (connect_timeout_ms) is ours, and names both sides when it fires. */
        .conn = {.max_frame = kb_rpc_net_max_frame(c->opts.max_frame), .idle_ms = 0, .send_buffer = -1,
                 .receive_buffer = -1, .delivery = KB_DELIVER_PIPELINED, .on_frame = on_frame, .arg = c,
                 .max_frame_key = "kbroker.rpc.max.frame.bytes",
                 .handshake_max_frame = kb_rpc_net_hello_max_frame(c->opts.max_frame)},
        .on_link = on_link,
        .on_attempt_failed = on_attempt_failed,
    };
    c->ob = kb_outbound_new(c->base, &spec);
    return c->ob ? 0 : -1;
}

kb_rpc_client_t *kb_rpc_client_new(struct event_base *base, const kb_rpc_client_opts_t *opts) {
    if (!opts_valid(opts)) return NULL;
    kb_rpc_client_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->base = base;
    c->opts = *opts;
    snprintf(c->name, sizeof(c->name), "%s", opts->name);
    snprintf(c->host, sizeof(c->host), "%s", opts->host);
    c->opts.name = c->name;
    c->opts.host = c->host;
    c->peer = (kb_rpc_identity_t){-1, -1};
    c->next_corr = 1;
    c->out = evbuffer_new();
    c->hello_timer = evtimer_new(base, on_hello_timeout, c);
    c->unreachable_ev = event_new(base, -1, 0, on_unreachable, c);
    if (!c->out || !c->hello_timer || !c->unreachable_ev || start_outbound(c) != 0) {
        client_destroy(c);
        return NULL;
    }
    return c;
}

/* Frees everything; no call is left (the caller cancelled them). */
static void client_destroy(kb_rpc_client_t *c) {
    if (c->ob) kb_outbound_free(c->ob); /* closes the connection without a callback */
    if (c->hello_timer) event_free(c->hello_timer);
    if (c->unreachable_ev) event_free(c->unreachable_ev);
    if (c->out) evbuffer_free(c->out);
    free(c);
}

void kb_rpc_client_free(kb_rpc_client_t *c) {
    if (!c || c->dead) return;
    c->dead = true; /* no new call, no callback from the connection */
    fail_calls(c, false, KB_RPC_CANCELLED);
    if (c->depth == 0) client_destroy(c); /* else the last of our callbacks to return does it */
}

bool kb_rpc_client_ready(const kb_rpc_client_t *c) { return c->ready && !c->dead; }
void kb_rpc_client_set_identity(kb_rpc_client_t *c, kb_rpc_identity_t self) { c->opts.self = self; }

void kb_rpc_client_stats(const kb_rpc_client_t *c, kb_rpc_client_stats_t *out) {
    kb_outbound_stats_t os;
    kb_outbound_stats(c->ob, &os);
    *out = c->stats;
    out->failures = os.failures;
    out->backoff_ms = os.backoff_ms;
}
