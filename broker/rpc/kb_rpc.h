/*
 * kb_rpc.h - the inter-broker protobuf-c channel (design.md, broker/rpc):
 * requests and responses framed as proto/kp_rpc.h describes, carried by the
 * shared transport of broker/net.  It knows methods, correlation ids,
 * timeouts and the Hello handshake; it knows nothing of partitions,
 * controllers or replication (its users register handlers and make calls).
 *
 * Handshake.  The first frame each way is Hello (protocol version, broker
 * id, broker epoch).  The client sends its Hello first; the server answers
 * with its own, then takes other requests.  A peer that speaks another
 * protocol version, whose Hello's envelope names another sender than its
 * body (server side), or that is not the broker id and epoch the client
 * expected (client side), is closed with a log line naming both sides; any
 * request before Hello, and a second Hello, are refused the same way.  The
 * Hello identifies; it does not authenticate (trusted networks only).  But
 * the server takes only a plausible identity: a Hello naming a broker id
 * below 0, or (through the owner's peer_known callback) an id and epoch
 * that are not a live registration this broker knows of, is closed with a
 * log line.  A broker that has just registered (or restarted), or a new
 * controller whose registration this broker has not read yet, can be
 * refused that way for a moment: its client redials with backoff, which
 * only a completed handshake resets, and kbroker.rpc.reconnect.backoff.max.ms
 * (default 1 s) bounds the wait, so it gets in within about a second of
 * this broker's view reading its registration.  A connection that
 * completes Hello is logged at INFO (at most one line per
 * KB_RPC_PEER_LOG_MS, counting those left out).
 * Until a connection's Hello exchange is done, each side takes frames of
 * at most KB_RPC_HELLO_MAX_FRAME (4 KiB, kb_rpc_internal.h) and closes the
 * connection, with a log line, on a larger size as soon as its 4 bytes are
 * in, before anything is allocated for it: a peer that has not said who
 * it is never gets a max_frame frame buffered and unpacked.  After Hello
 * the limit is max_frame.
 *
 * Framing errors (lengths that disagree, an envelope protobuf-c cannot
 * unpack, a body that is not its method's message, a frame above the
 * limit) close that one connection only, after a log line; nothing else
 * is affected.  Unpacking is bounded by proto/kp_rpc.h's allowance (a
 * fixed multiple of the bytes unpacked).
 *
 * Server limits, so that no stranger can keep a peer out:
 *   - a connection whose Hello has not been taken hello_timeout_ms after
 *     it was accepted (nothing sent, a partial frame, a trickle) is closed;
 *   - at most max_unidentified connections (KB_RPC_MAX_UNIDENTIFIED) wait
 *     for their Hello at once: a new connection then closes the one that
 *     has waited longest, rather than being refused, so a flood of silent
 *     connections cannot keep out a peer whose Hello follows its connect;
 *   - at most max_per_broker connections (KB_RPC_MAX_PER_BROKER) per
 *     claimed broker id from one peer address (its IP address, without
 *     the port): one more from that address closes the oldest of that id
 *     from that address, so a reconnecting peer replaces its dead (or
 *     forged) older connections, while a stranger elsewhere, who can read
 *     a broker's id and epoch in ZooKeeper and claim them, cannot close
 *     the real peer's connections by opening its own;
 *   - at most max_per_broker_total (KB_RPC_MAX_PER_BROKER_TOTAL) per
 *     claimed broker id over all addresses, a backstop: one more is
 *     refused itself (nothing open is closed), so no address can take the
 *     place of connections from another.  This policy is no
 *     authentication: a stranger on the real peer's host (or one that
 *     shares its address, behind a NAT) can still close its connections,
 *     and strangers on max_per_broker_total / max_per_broker addresses
 *     can fill an id's allowance and keep the real peer's NEW connections
 *     out (not those it has); only authenticating the Hello closes that;
 *   - max_connections in all, a backstop: while that many are open a new
 *     connection takes the place of the oldest one still waiting for its
 *     Hello, or, if none is, is closed as soon as accepted, unread.
 * Each closes with a log line; like every line a peer can cause (bad
 * frames included), at most one per KB_NET_REFUSED_LOG_MS (10 s) per kind
 * is a warning, counting those left out, which go out at DEBUG level.
 * Well-behaved peers are untouched: the controller keeps one connection
 * per broker and a follower's replica fetchers a few, and their Hello
 * follows the connect.
 *
 * Server: frames are delivered pipelined, so a request whose handler
 * answers later (a parked replica fetch) does not delay the requests after
 * it; responses carry the request's correlation id and may leave in any
 * order.  Client: calls are matched to responses by correlation id; each
 * call has its own timeout; a call made while the connection is down or
 * still in its handshake waits for it (its timeout running); when the
 * connection closes every call sent on it fails with KB_RPC_DISCONNECTED
 * and the client reconnects with backoff (calls not yet sent keep
 * waiting for the next connection).  Only a completed handshake resets
 * the backoff: a connection that fails its handshake (refused by either
 * side, or no Hello answer within connect_timeout_ms) counts as a failed
 * attempt, so a peer that keeps failing it is redialled after backoff_ms,
 * then 2x, 4x, ... up to backoff_max_ms, like a peer that is down.  A
 * connection the peer closes before answering Hello (a server that does
 * not know this broker yet, or refuses it) is logged at INFO, at most once
 * per KB_NET_REFUSED_LOG_MS per client; a completed handshake is logged at
 * INFO ("connected to broker N"), and the loss of a connection by the
 * transport ("... closed by peer; retrying in N ms"), each at most once
 * per KB_NET_REFUSED_LOG_MS per client, those left out at DEBUG: a
 * stranger who gets our connection closed on its server (see the server
 * limits) makes one cycle of each per reconnect.
 * Controller traffic and replica fetches use separate clients, hence
 * separate connections.
 *
 * Everything runs on one event_base's thread; nothing here is
 * thread-safe.
 */
#ifndef KB_RPC_H
#define KB_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kp_rpc.h"

struct event_base;
struct evdns_base;
struct evbuffer;

typedef struct kb_rpc_server kb_rpc_server_t;
typedef struct kb_rpc_client kb_rpc_client_t;
typedef struct kb_rpc_req kb_rpc_req_t;

/* Who this broker is, as Hello says it.  The epoch is the czxid of its
 * current registration, so it changes with each new ZooKeeper session:
 * the owner updates it with kb_rpc_server_set_identity() /
 * kb_rpc_client_set_identity(); -1 before the first registration. */
typedef struct kb_rpc_identity {
    int32_t broker_id;
    int64_t broker_epoch;
} kb_rpc_identity_t;

/* ------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------ */

/*
 * A request handler.  body is the request, unpacked as the method's
 * message (cast it to e.g. Kbroker__Rpc__LeaderAndIsrRequest *); body and
 * the trailer slices are valid during the call only.  The handler answers
 * now or later with kb_rpc_respond() exactly once; until then req stays
 * valid even if the connection closes (the response is then dropped).
 */
typedef void (*kb_rpc_handler_fn)(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                                  size_t n_slices, void *arg);

typedef struct kb_rpc_handler {
    Kbroker__Rpc__Method method;
    kb_rpc_handler_fn fn;
    void *arg;
} kb_rpc_handler_t;

/* The server's defaults for the limits above.  A broker opens one
 * connection to each peer as controller, and its replica fetchers one to
 * each leader (kb_fetcher.h): far below KB_RPC_MAX_PER_BROKER, which they
 * must stay under, or they would keep closing each other. */
#define KB_RPC_MAX_UNIDENTIFIED 64
#define KB_RPC_MAX_PER_BROKER 8        /* per claimed broker id and peer address */
#define KB_RPC_MAX_PER_BROKER_TOTAL 32 /* per claimed broker id over all addresses */
#define KB_RPC_PEER_LOG_MS 1000 /* at most one "is broker N" line per this interval */

typedef struct kb_rpc_server_opts {
    const char *host;          /* NULL or "": every interface */
    int port;                  /* 0: any free port (see kb_rpc_server_port) */
    uint32_t max_frame;        /* the largest frame_len accepted (kbroker.rpc.max.frame.bytes) */
    int32_t idle_ms;           /* connections.max.idle.ms; <= 0: never */
    int32_t hello_timeout_ms;  /* the Hello deadline from accept (main.c: controller.socket.timeout.ms,
                                * the controller's own limit for it); <= 0: none */
    int max_connections;       /* RPC connections open at once (main.c: KB_RPC_MAX_CONNECTIONS);
                                * <= 0: no cap */
    int max_unidentified;      /* connections waiting for their Hello at once; 0: KB_RPC_MAX_UNIDENTIFIED */
    int max_per_broker;        /* identified connections per claimed broker id and peer address;
                                * 0: KB_RPC_MAX_PER_BROKER */
    int max_per_broker_total;  /* ... per claimed broker id over all addresses; 0: KB_RPC_MAX_PER_BROKER_TOTAL */
    /* Whether broker_id with broker_epoch is a live registration this
     * broker knows of (main.c: the cluster view's /brokers/ids); a Hello
     * naming one that is not is refused.  NULL: any id >= 0 is taken. */
    bool (*peer_known)(void *arg, int32_t broker_id, int64_t broker_epoch);
    void *peer_known_arg;
    kb_rpc_identity_t self;
    const kb_rpc_handler_t *handlers; /* copied; a method without a handler is answered with
                                       * error code UNSUPPORTED_VERSION (35) and nothing else */
    size_t n_handlers;
} kb_rpc_server_opts_t;

/* Binds and listens (pipelined delivery: requests after a parked one are
 * dispatched at once); NULL with a message in err on failure. */
kb_rpc_server_t *kb_rpc_server_new(struct event_base *base, const kb_rpc_server_opts_t *opts, char *err,
                                   size_t errlen);
/* Closes the listener and every connection.  Requests still with their
 * handlers stay valid until answered (their responses are dropped). */
void kb_rpc_server_free(kb_rpc_server_t *s);
int kb_rpc_server_port(const kb_rpc_server_t *s); /* the bound port */
void kb_rpc_server_set_identity(kb_rpc_server_t *s, kb_rpc_identity_t self);

typedef struct kb_rpc_server_stats {
    uint64_t requests;             /* requests handed to handlers */
    uint64_t closed_protocol;      /* connections closed for a framing or handshake error */
    uint64_t closed_hello_timeout; /* connections closed for no Hello within hello_timeout_ms */
    uint64_t refused_connections;  /* connections refused at accept: max_connections were open */
    uint64_t closed_unknown_peer;  /* Hellos refused: an id below 0, or not a registration peer_known knows */
    uint64_t evicted_unidentified; /* closed waiting for their Hello, to make room for a new connection */
    uint64_t evicted_per_broker;   /* closed for a newer connection of the same broker id and address */
    uint64_t refused_per_broker;   /* Hellos refused: max_per_broker_total of their id were open */
    int connections;               /* open now */
} kb_rpc_server_stats_t;
void kb_rpc_server_stats(const kb_rpc_server_t *s, kb_rpc_server_stats_t *out);

/* Who sent req (from its connection's Hello). */
kb_rpc_identity_t kb_rpc_req_peer(const kb_rpc_req_t *req);
Kbroker__Rpc__Method kb_rpc_req_method(const kb_rpc_req_t *req);

/*
 * Answers req and frees it.  msg is the method's response message (NULL
 * sends an empty body); error_code goes in the envelope (0: none).
 * trailer (NULL: none) is moved out after the envelope, file segments
 * included, so a leader can sendfile records; slice_lengths lists its
 * slices' lengths, which must add up to its length.  The trailer is the
 * caller's evbuffer, emptied here (e.g. kb_sendfile_evbuffer()).
 */
void kb_rpc_respond(kb_rpc_req_t *req, int32_t error_code, const ProtobufCMessage *msg, struct evbuffer *trailer,
                    const uint64_t *slice_lengths, size_t n_slices);

/* ------------------------------------------------------------------------
 * Client: one connection to one peer, kept up until freed
 * ------------------------------------------------------------------------ */

/* Outcome of a call, beside the peer's own error code. */
typedef enum kb_rpc_status {
    KB_RPC_OK = 0,            /* answered: error_code and body are the peer's */
    KB_RPC_TIMEOUT,           /* no answer within the call's timeout */
    KB_RPC_DISCONNECTED,      /* the connection closed after the call was sent on it */
    KB_RPC_BAD_RESPONSE,      /* the answer's body did not unpack (the connection is closed) */
    KB_RPC_CANCELLED,         /* the client was freed */
    KB_RPC_UNREACHABLE,       /* fail_when_unreachable: a connect or handshake failed first */
} kb_rpc_status_t;

const char *kb_rpc_status_name(kb_rpc_status_t st);

/* The outcome of a call, run exactly once on the loop (never from inside
 * kb_rpc_call).  body (NULL unless KB_RPC_OK) and slices are valid during
 * the call only. */
typedef void (*kb_rpc_reply_fn)(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                                const kp_rpc_slice_t *slices, size_t n_slices, void *arg);

/* The connection finished its handshake (up) or closed (down). */
typedef void (*kb_rpc_link_fn)(kb_rpc_client_t *c, bool up, void *arg);

typedef struct kb_rpc_client_opts {
    const char *name;            /* names the connection in log lines ("controller->2", "fetch->1") */
    const char *host;
    int port;
    struct evdns_base *dns;      /* NULL: host must be numeric */
    uint32_t max_frame;
    int32_t connect_timeout_ms;  /* bounds the TCP connect, then the wait for the peer's Hello */
    int32_t backoff_ms;          /* reconnect backoff, doubling up to backoff_max_ms while the
                                  * connect or the handshake keeps failing */
    int32_t backoff_max_ms;
    kb_rpc_identity_t self;
    int32_t expect_broker_id;    /* the peer's Hello must name it; -1: any */
    int64_t expect_broker_epoch; /* ... and this epoch; -1: any */
    kb_rpc_link_fn on_link;      /* may be NULL */
    void *link_arg;
    /* A connect or handshake that fails fails every call still waiting
     * (KB_RPC_UNREACHABLE, at the next loop turn) instead of leaving it to
     * wait, its timeout running, for a later connection: for a one-shot
     * call whose caller would rather ask elsewhere (controlled shutdown
     * re-reads /controller, as Kafka's does when the connect fails). */
    bool fail_when_unreachable;
} kb_rpc_client_opts_t;

/* Starts connecting; copies opts (strings included).  NULL when out of
 * memory or opts are invalid. */
kb_rpc_client_t *kb_rpc_client_new(struct event_base *base, const kb_rpc_client_opts_t *opts);
/* Closes the connection; every call not yet answered gets KB_RPC_CANCELLED
 * before this returns.  May be called from any callback of c (a reply or
 * on_link): the memory then goes when that callback returns. */
void kb_rpc_client_free(kb_rpc_client_t *c);
/* Connected and past the handshake. */
bool kb_rpc_client_ready(const kb_rpc_client_t *c);
void kb_rpc_client_set_identity(kb_rpc_client_t *c, kb_rpc_identity_t self);

/*
 * Sends msg as a request of method (msg must be its request message) and
 * calls done with the outcome.  timeout_ms > 0 counts from now, waiting
 * for the connection included; <= 0: no timeout.  Returns 0, or -1 (done
 * is not called) when msg is not method's request message, its frame would
 * pass max_frame, method is METHOD_HELLO (the client's own), or c was
 * freed.
 */
int kb_rpc_call(kb_rpc_client_t *c, Kbroker__Rpc__Method method, const ProtobufCMessage *msg, int32_t timeout_ms,
                kb_rpc_reply_fn done, void *arg);

typedef struct kb_rpc_client_stats {
    uint64_t calls, answered, timeouts, disconnected;
    uint64_t connects;  /* handshakes completed */
    int in_flight;      /* calls not yet answered (sent or waiting) */
    int failures;       /* failures in a row (a connect or handshake that failed, a connection
                         * lost) since the last completed handshake: the backoff's count */
    int32_t backoff_ms; /* the wait before the redial now scheduled; 0: none */
} kb_rpc_client_stats_t;
void kb_rpc_client_stats(const kb_rpc_client_t *c, kb_rpc_client_stats_t *out);

#endif
