/*
 * kb_rpc_server.c - the serving side of the inter-broker RPC channel: a
 * broker/net listener with pipelined delivery, the Hello handshake, and
 * dispatch of requests to the handler table (kb_rpc.h says what the
 * channel promises).
 *
 * Per connection the server keeps a small record (kb_conn_set_user) of
 * whether the peer's Hello has been taken and who the peer said it is; it
 * is freed by the transport's on_close hook, whatever closes the
 * connection.  A request handed to a handler is a kb_rpc_req_t that holds
 * its connection (kb_conn_hold) and copies everything it needs to answer
 * (correlation id, method, identities, max_frame), so it never touches the
 * server: a handler may answer after the connection closed, or after
 * kb_rpc_server_free, and the answer is then dropped by the transport.
 *
 * Every frame is decoded from the transport's buffer without copying
 * (kp_rpc_decode_payload); the unpacked body and the trailer slices live
 * during the handler's call only.  The transport has already refused a
 * frame_len above the connection's limit before reading its payload:
 * KB_RPC_HELLO_MAX_FRAME until the peer's Hello is taken (the transport's
 * handshake phase, which also closes a connection whose Hello is not in
 * within hello_timeout_ms), max_frame after it.  The listener caps the
 * connections waiting for their Hello (max_unidentified: a new one closes
 * the oldest, the transport's max_handshaking) and all of them
 * (max_connections).  The server caps the connections per claimed broker
 * id: it lists the identified connections in the order their Hello was
 * taken; the Hello that would pass max_per_broker for its id from its
 * peer's address (kb_conn_peer_addr) closes the first of that id and
 * address in the list, and one that would pass max_per_broker_total for
 * its id over all addresses is refused itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker/net/kb_net.h"
#include "broker/rpc/kb_rpc_internal.h"
#include "common/kc_log.h"

#define MOD "rpc"
#define KB_RPC_LISTENER "rpc"
#define KB_RPC_UNSUPPORTED_VERSION 35 /* Kafka's UNSUPPORTED_VERSION */
#define KB_RPC_UNKNOWN_SERVER_ERROR (-1)

struct kb_rpc_server {
    struct event_base *base; /* borrowed */
    kb_server_t *net;
    int port;
    uint32_t max_frame;
    kb_rpc_identity_t self;
    kb_rpc_handler_t *handlers; /* a copy of the caller's table */
    size_t n_handlers;
    int max_per_broker;       /* per claimed id and peer address */
    int max_per_broker_total; /* per claimed id over every address */
    bool (*peer_known)(void *arg, int32_t broker_id, int64_t broker_epoch);
    void *peer_known_arg;
    struct rpc_sconn *head, *tail; /* identified connections, oldest Hello first */
    uint64_t requests;
    uint64_t closed_protocol; /* framing or handshake errors seen here (oversized frames: the transport's count) */
    uint64_t closed_unknown_peer;
    uint64_t evicted_per_broker;
    uint64_t refused_per_broker;
    kc_ratelimit_t unknown_log;  /* Hellos refused by peer_known */
    kc_ratelimit_t evicted_log;  /* connections closed for max_per_broker */
    kc_ratelimit_t refused_log;  /* Hellos refused for max_per_broker_total */
    kc_ratelimit_t peer_log;     /* the INFO line of an identified connection */
};

/* What the server keeps per connection. */
typedef struct rpc_sconn {
    bool hello_done;
    bool listed; /* in the server's list of identified connections */
    kb_rpc_identity_t peer;
    kb_conn_t *conn;
    struct rpc_sconn *prev, *next;
} rpc_sconn_t;

struct kb_rpc_req {
    kb_conn_t *conn; /* held until answered */
    uint32_t correlation_id;
    Kbroker__Rpc__Method method;
    kb_rpc_identity_t peer;
    kb_rpc_identity_t self; /* as at dispatch: the response's sender */
    uint32_t max_frame;
};

/* ------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------ */

/* Closes c after a log line naming both sides and why (rate-limited: rl,
 * or with NULL the listener's limit on its connections' warnings). */
static void close_logged(kb_rpc_server_t *s, kb_conn_t *c, const rpc_sconn_t *sc, kc_ratelimit_t *rl,
                         const char *why) {
    char peer[96], self[96];
    const char *fmt = "closing RPC connection %llu from %s (%s) to this broker (%s): %s";
    kb_rpc_who(sc ? sc->peer : (kb_rpc_identity_t){-1, -1}, sc && sc->hello_done, peer, sizeof(peer));
    kb_rpc_who(s->self, true, self, sizeof(self));
    if (rl)
        kc_log_limited(rl, KB_NET_REFUSED_LOG_MS, KC_LOG_WARN, MOD, fmt, (unsigned long long)kb_conn_id(c),
                       kb_conn_peer(c), peer, self, why);
    else
        kb_conn_warn(c, MOD, fmt, (unsigned long long)kb_conn_id(c), kb_conn_peer(c), peer, self, why);
    kb_conn_close(c, NULL);
}

/* A framing or handshake error: closed, logged and counted. */
static void protocol_close(kb_rpc_server_t *s, kb_conn_t *c, const rpc_sconn_t *sc, const char *why) {
    s->closed_protocol++;
    close_logged(s, c, sc, NULL, why);
}

/* ------------------------------------------------------------------------
 * Identified connections
 * ------------------------------------------------------------------------ */

static void sconn_unlist(kb_rpc_server_t *s, rpc_sconn_t *sc) {
    if (!sc->listed) return;
    if (sc->prev) sc->prev->next = sc->next;
    else s->head = sc->next;
    if (sc->next) sc->next->prev = sc->prev;
    else s->tail = sc->prev;
    sc->prev = sc->next = NULL;
    sc->listed = false;
}

static void sconn_list(kb_rpc_server_t *s, rpc_sconn_t *sc) {
    sc->prev = s->tail;
    sc->next = NULL;
    if (s->tail) s->tail->next = sc;
    else s->head = sc;
    s->tail = sc;
    sc->listed = true;
}

/* Makes room for sc, whose Hello names a broker id, on its connection
 * from its address: when max_per_broker connections of that id from that
 * address are identified, the oldest of them is closed (a peer that
 * reconnects replaces the connections it lost without knowing, and those
 * a stranger on its address opened in its name); a stranger elsewhere
 * cannot close them.  Otherwise, when max_per_broker_total of that id are
 * identified over all addresses, sc itself is refused: no address can
 * take the place of the connections already there.  False when sc was
 * closed.  The list is at most max_connections long, and walked once per
 * Hello. */
static bool make_room_for(kb_rpc_server_t *s, rpc_sconn_t *sc) {
    char why[200];
    int32_t id = sc->peer.broker_id;
    const char *addr = kb_conn_peer_addr(sc->conn);
    int n_addr = 0, n_all = 0;
    rpc_sconn_t *oldest = NULL;
    for (rpc_sconn_t *o = s->head; o; o = o->next) {
        if (o->peer.broker_id != id) continue;
        n_all++;
        if (strcmp(kb_conn_peer_addr(o->conn), addr) != 0) continue;
        if (!oldest) oldest = o;
        n_addr++;
    }
    if (n_addr >= s->max_per_broker) {
        snprintf(why, sizeof(why),
                 "broker %d has %d RPC connections open from %s, the limit; a newer one takes its place", (int)id,
                 n_addr, addr);
        s->evicted_per_broker++;
        close_logged(s, oldest->conn, oldest, &s->evicted_log, why); /* on_close unlists and frees it */
        return true;
    }
    if (n_all < s->max_per_broker_total) return true;
    snprintf(why, sizeof(why),
             "broker %d has %d RPC connections open over all addresses, the limit; this one is refused", (int)id,
             n_all);
    s->refused_per_broker++;
    close_logged(s, sc->conn, sc, &s->refused_log, why);
    return false;
}

/* Why the Hello's identity is not taken (into why), or NULL. */
static const char *implausible_peer(const kb_rpc_server_t *s, kb_rpc_identity_t p, char *why, size_t n) {
    if (p.broker_id < 0)
        snprintf(why, n, "its Hello names broker id %d: no broker has an id below 0", (int)p.broker_id);
    else if (s->peer_known && !s->peer_known(s->peer_known_arg, p.broker_id, p.broker_epoch))
        snprintf(why, n,
                 "broker %d epoch %lld is not a live registration this broker knows of (/brokers/ids/%d); a broker "
                 "that has just registered gets in on a later attempt",
                 (int)p.broker_id, (long long)p.broker_epoch, (int)p.broker_id);
    else
        return NULL;
    return why;
}

/* ------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------ */

/* Sends the header (and the trailer after it) on the request's connection. */
static void send_frame(kb_rpc_req_t *req, uint8_t *hdr, size_t hdr_len, struct evbuffer *trailer) {
    if (trailer) {
        /* The header goes in front of the caller's chains, file segments
         * untouched, and the whole lot moves to the socket. */
        if (evbuffer_prepend(trailer, hdr, hdr_len) == 0) kb_conn_send(req->conn, trailer);
        else kb_conn_close(req->conn, "out of memory for an RPC response");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (!out || evbuffer_add(out, hdr, hdr_len) != 0) kb_conn_close(req->conn, "out of memory for an RPC response");
    else kb_conn_send(req->conn, out);
    if (out) evbuffer_free(out);
}

/* A response that could not be built (a handler's mistake, or a frame
 * beyond max_frame) is replaced by an empty one with
 * UNKNOWN_SERVER_ERROR, so the caller learns at once rather than by its
 * timeout. */
static int build_response(kb_rpc_req_t *req, int32_t error_code, const ProtobufCMessage *msg, size_t trailer_len,
                          const uint64_t *slice_lengths, size_t n_slices, uint8_t **hdr, size_t *hdr_len) {
    kb_rpc_head_t h = {KBROKER__RPC__KIND__KIND_RESPONSE, req->method, req->correlation_id, error_code, req->self,
                       slice_lengths, n_slices};
    size_t sum = 0;
    for (size_t i = 0; i < n_slices; i++) sum += (size_t)slice_lengths[i];
    int rc = sum == trailer_len ? kb_rpc_build_header(&h, msg, req->max_frame, hdr, hdr_len) : KP_RPC_TRAILER_MISMATCH;
    if (rc == KP_RPC_OK) return 0;
    kc_error(MOD, "cannot answer %s request %u from %s: %s (%zu trailer bytes); answering UNKNOWN_SERVER_ERROR",
             kb_rpc_method_name(req->method),
             (unsigned)req->correlation_id, kb_conn_peer(req->conn), kp_rpc_strerror(rc), trailer_len);
    h.error_code = KB_RPC_UNKNOWN_SERVER_ERROR;
    h.slice_lengths = NULL;
    h.n_slices = 0;
    return kb_rpc_build_header(&h, NULL, req->max_frame, hdr, hdr_len) == KP_RPC_OK ? 1 : -1;
}

void kb_rpc_respond(kb_rpc_req_t *req, int32_t error_code, const ProtobufCMessage *msg, struct evbuffer *trailer,
                    const uint64_t *slice_lengths, size_t n_slices) {
    uint8_t *hdr = NULL;
    size_t hdr_len = 0;
    size_t trailer_len = trailer ? evbuffer_get_length(trailer) : 0;
    int built = build_response(req, error_code, msg, trailer_len, slice_lengths, n_slices, &hdr, &hdr_len);
    if (built == 0) {
        send_frame(req, hdr, hdr_len, trailer);
    } else {
        if (trailer) evbuffer_drain(trailer, trailer_len); /* releases its file segments */
        if (built == 1) send_frame(req, hdr, hdr_len, NULL);
        else kb_conn_close(req->conn, "out of memory for an RPC response");
    }
    free(hdr);
    kb_conn_release(req->conn);
    free(req);
}

kb_rpc_identity_t kb_rpc_req_peer(const kb_rpc_req_t *req) { return req->peer; }
Kbroker__Rpc__Method kb_rpc_req_method(const kb_rpc_req_t *req) { return req->method; }

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

static const kb_rpc_handler_t *find_handler(const kb_rpc_server_t *s, Kbroker__Rpc__Method m) {
    for (size_t i = 0; i < s->n_handlers; i++)
        if (s->handlers[i].method == m && s->handlers[i].fn) return &s->handlers[i];
    return NULL;
}

static kb_rpc_req_t *req_new(kb_rpc_server_t *s, kb_conn_t *c, const rpc_sconn_t *sc,
                             const Kbroker__Rpc__Envelope *env) {
    kb_rpc_req_t *req = calloc(1, sizeof(*req));
    if (!req) return NULL;
    kb_conn_hold(c);
    req->conn = c;
    req->correlation_id = env->correlation_id;
    req->method = env->method;
    req->peer = sc->peer;
    req->self = s->self;
    req->max_frame = s->max_frame;
    return req;
}

/* The peer's Hello: the protocol version must be ours and the identity
 * plausible; the answer is our own Hello. */
static void take_hello(kb_rpc_server_t *s, kb_conn_t *c, rpc_sconn_t *sc, const Kbroker__Rpc__Envelope *env,
                       const Kbroker__Rpc__HelloRequest *hello) {
    char why[320];
    sc->peer = (kb_rpc_identity_t){hello->broker_id, hello->broker_epoch};
    sc->hello_done = true; /* names the peer in a refusal's log line */
    if (hello->protocol_version != KP_RPC_PROTOCOL_VERSION) {
        snprintf(why, sizeof(why), "the peer speaks RPC protocol version %u, this broker %u",
                 (unsigned)hello->protocol_version, (unsigned)KP_RPC_PROTOCOL_VERSION);
        protocol_close(s, c, sc, why);
        return;
    }
    if (env->sender_broker_id != hello->broker_id || env->sender_broker_epoch != hello->broker_epoch) {
        snprintf(why, sizeof(why), "its Hello's envelope names broker %d epoch %lld", (int)env->sender_broker_id,
                 (long long)env->sender_broker_epoch);
        protocol_close(s, c, sc, why);
        return;
    }
    if (implausible_peer(s, sc->peer, why, sizeof(why))) {
        s->closed_unknown_peer++;
        close_logged(s, c, sc, &s->unknown_log, why);
        return;
    }
    if (!make_room_for(s, sc)) return;
    sconn_list(s, sc);
    kc_log_limited(&s->peer_log, KB_RPC_PEER_LOG_MS, KC_LOG_INFO, MOD,
                   "RPC connection %llu from %s is broker %d (epoch %lld)", (unsigned long long)kb_conn_id(c),
                   kb_conn_peer(c), (int)sc->peer.broker_id, (long long)sc->peer.broker_epoch);
    kb_conn_handshake_done(c); /* frames up to max_frame from now on */
    Kbroker__Rpc__HelloResponse resp = KBROKER__RPC__HELLO_RESPONSE__INIT;
    resp.protocol_version = KP_RPC_PROTOCOL_VERSION;
    resp.broker_id = s->self.broker_id;
    resp.broker_epoch = s->self.broker_epoch;
    kb_rpc_req_t *req = req_new(s, c, sc, env);
    if (!req) {
        kb_conn_close(c, "out of memory for an RPC Hello");
        return;
    }
    kb_rpc_respond(req, 0, &resp.base, NULL, NULL, 0);
}

/* A request after the handshake: to its handler, or refused with
 * UNSUPPORTED_VERSION when the table has none. */
static void dispatch(kb_rpc_server_t *s, kb_conn_t *c, rpc_sconn_t *sc, const kp_rpc_frame_t *f,
                     const ProtobufCMessage *body) {
    const kb_rpc_handler_t *h = find_handler(s, f->env->method);
    kb_rpc_req_t *req = req_new(s, c, sc, f->env);
    if (!req) {
        kb_conn_close(c, "out of memory for an RPC request");
        return;
    }
    if (!h) {
        kb_rpc_respond(req, KB_RPC_UNSUPPORTED_VERSION, NULL, NULL, NULL, 0);
        return;
    }
    s->requests++;
    h->fn(req, body, f->slices, f->n_slices, h->arg);
}

/* One decoded request frame: Hello first, then anything else. */
static void take_request(kb_rpc_server_t *s, kb_conn_t *c, rpc_sconn_t *sc, const kp_rpc_frame_t *f) {
    char why[160];
    const Kbroker__Rpc__Envelope *env = f->env;
    bool hello = env->method == KBROKER__RPC__METHOD__METHOD_HELLO;
    if (env->kind != KBROKER__RPC__KIND__KIND_REQUEST) {
        protocol_close(s, c, sc, "a response frame sent to the server");
        return;
    }
    if (hello == sc->hello_done) {
        protocol_close(s, c, sc, hello ? "a second Hello" : "a request before Hello");
        return;
    }
    kp_rpc_body_t *body;
    int rc = kp_rpc_body_unpack(env, &body);
    if (rc) {
        snprintf(why, sizeof(why), "the body of request %u is not a %s request (%s)", (unsigned)env->correlation_id,
                 kb_rpc_method_name(env->method),
                 kp_rpc_strerror(rc));
        protocol_close(s, c, sc, why);
        return;
    }
    if (hello) take_hello(s, c, sc, env, (const Kbroker__Rpc__HelloRequest *)body->msg);
    else dispatch(s, c, sc, f, body->msg);
    kp_rpc_body_free(body);
}

/* The transport's frame callback (pipelined: the payload is valid during
 * this call only, and the next frame may come before any answer). */
static void on_frame(kb_conn_t *c, const uint8_t *payload, size_t len, void *arg) {
    kb_rpc_server_t *s = arg;
    char why[160];
    rpc_sconn_t *sc = kb_conn_user(c);
    if (!kb_conn_is_open(c)) return; /* closed by an earlier frame's handler */
    if (!sc) {
        sc = calloc(1, sizeof(*sc));
        if (!sc) {
            kb_conn_close(c, "out of memory for an RPC connection");
            return;
        }
        sc->peer = (kb_rpc_identity_t){-1, -1};
        sc->conn = c;
        kb_conn_set_user(c, sc);
    }
    kp_rpc_frame_t *f;
    int rc = kp_rpc_decode_payload(payload, len, &f);
    if (rc) {
        snprintf(why, sizeof(why), "undecodable frame of %zu bytes: %s", len, kp_rpc_strerror(rc));
        protocol_close(s, c, sc, why);
        return;
    }
    take_request(s, c, sc, f);
    kp_rpc_frame_free(f);
}

static void on_close(kb_conn_t *c, void *arg) {
    rpc_sconn_t *sc = kb_conn_user(c);
    if (sc) sconn_unlist(arg, sc);
    free(sc);
    kb_conn_set_user(c, NULL);
}

/* ------------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------------ */

static int copy_handlers(kb_rpc_server_t *s, const kb_rpc_server_opts_t *opts) {
    if (!opts->n_handlers) return 0;
    s->handlers = calloc(opts->n_handlers, sizeof(*s->handlers));
    if (!s->handlers) return -1;
    memcpy(s->handlers, opts->handlers, opts->n_handlers * sizeof(*s->handlers));
    s->n_handlers = opts->n_handlers;
    return 0;
}

kb_rpc_server_t *kb_rpc_server_new(struct event_base *base, const kb_rpc_server_opts_t *opts, char *err,
                                   size_t errlen) {
    kb_rpc_server_t *s = calloc(1, sizeof(*s));
    if (!s || copy_handlers(s, opts) != 0 || !(s->net = kb_server_new(base))) {
        snprintf(err, errlen, "out of memory starting the RPC server");
        kb_rpc_server_free(s);
        return NULL;
    }
    s->base = base;
    s->max_frame = opts->max_frame;
    s->self = opts->self;
    s->max_per_broker = opts->max_per_broker > 0 ? opts->max_per_broker : KB_RPC_MAX_PER_BROKER;
    s->max_per_broker_total =
        opts->max_per_broker_total > 0 ? opts->max_per_broker_total : KB_RPC_MAX_PER_BROKER_TOTAL;
    s->peer_known = opts->peer_known;
    s->peer_known_arg = opts->peer_known_arg;
    kb_listen_spec_t spec = {
        .name = KB_RPC_LISTENER,
        .host = opts->host,
        .port = opts->port,
        .max_connections = opts->max_connections,
        .max_handshaking = opts->max_unidentified > 0 ? opts->max_unidentified : KB_RPC_MAX_UNIDENTIFIED,
        .conn = {.max_frame = kb_rpc_net_max_frame(opts->max_frame), .idle_ms = opts->idle_ms, .send_buffer = -1,
                 .receive_buffer = -1, .delivery = KB_DELIVER_PIPELINED, .on_frame = on_frame, .arg = s,
                 .max_frame_key = "kbroker.rpc.max.frame.bytes", .idle_key = "connections.max.idle.ms",
                 .handshake_max_frame = kb_rpc_net_hello_max_frame(opts->max_frame),
                 .handshake_ms = opts->hello_timeout_ms, .handshake_key = "controller.socket.timeout.ms",
                 .on_close = on_close},
    };
    if (kb_server_listen(s->net, &spec, err, errlen) != 0) {
        kb_rpc_server_free(s);
        return NULL;
    }
    s->port = spec.port;
    return s;
}

void kb_rpc_server_free(kb_rpc_server_t *s) {
    if (!s) return;
    if (s->net) kb_server_free(s->net);
    free(s->handlers);
    free(s);
}

int kb_rpc_server_port(const kb_rpc_server_t *s) { return s->port; }
void kb_rpc_server_set_identity(kb_rpc_server_t *s, kb_rpc_identity_t self) { s->self = self; }

void kb_rpc_server_stats(const kb_rpc_server_t *s, kb_rpc_server_stats_t *out) {
    out->requests = s->requests;
    out->closed_protocol = s->closed_protocol + kb_server_bad_frames(s->net);
    out->closed_hello_timeout = kb_server_handshake_timeouts(s->net);
    out->refused_connections = kb_server_refused_connections(s->net);
    out->closed_unknown_peer = s->closed_unknown_peer;
    out->evicted_unidentified = kb_server_evicted_connections(s->net);
    out->evicted_per_broker = s->evicted_per_broker;
    out->refused_per_broker = s->refused_per_broker;
    out->connections = kb_server_connection_count(s->net);
}
