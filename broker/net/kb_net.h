/*
 * kb_net.h - the framed-connection transport shared by the Kafka listener
 * and the inter-broker RPC channel.
 *
 * Every connection, accepted or outbound, carries 4-byte big-endian
 * length-prefixed frames.  A frame whose declared size is negative or above
 * the connection's max_frame is refused as soon as its 4 size bytes are in,
 * before anything is allocated for it: the connection is closed with a log
 * line and counted (kb_server_bad_frames, kb_outbound_stats).  The transport
 * never decodes what is inside a frame, and knows no configuration file:
 * its users turn their settings into the option structs below (for Kafka,
 * broker/api/kb_api_listen.c).
 *
 * Delivery, chosen per listener or outbound connection:
 *   - KB_DELIVER_ONE_AT_A_TIME (Kafka's model): a connection hands one
 *     frame to the callback and reads no further frame until that request is
 *     finished with kb_conn_reply() or kb_conn_done() (acks=0 Produce has no
 *     response).  Frames that arrive meanwhile stay buffered, so pipelined
 *     requests are answered one by one, in order, and the frame stays valid
 *     until the request is finished.
 *   - KB_DELIVER_PIPELINED: every complete frame goes to the callback as it
 *     arrives, in order, without waiting for anything; the frame is valid
 *     during the callback only.  This is what a client side wants (responses
 *     matched by correlation id), and a server whose handlers may answer out
 *     of order.
 * Either way a connection whose unsent output is above out_high takes no
 * further frame until it drains to out_low (back-pressure: a peer that does
 * not read stops being read).
 *
 * Handshake phase (optional, the RPC channel's Hello): a connection whose
 * options set handshake_max_frame starts in it.  Until its user calls
 * kb_conn_handshake_done(), a frame may declare at most
 * handshake_max_frame bytes (refused like any oversized frame, before
 * anything is allocated for it), and a connection still in the phase
 * handshake_ms after it connected is closed with a log line.  So a peer
 * that has not identified itself costs a few KiB and a bounded time; and a
 * listener may cap how many of its connections are in the phase at once
 * (max_handshaking), a new one then taking the place of the oldest, so
 * that silent connections cannot keep a real peer out.
 *
 * Log lines a peer can cause at will (a bad frame, a missed handshake
 * deadline, its user's kb_conn_warn for a frame it cannot decode) are
 * rate-limited per listener: at most one per KB_NET_REFUSED_LOG_MS, the
 * next one counting those left out (which go out at DEBUG level).
 *
 * Output: kb_conn_send()/kb_conn_reply() move an evbuffer's contents, file
 * segments included, to the socket, which sends file segments with
 * sendfile.
 *
 * Everything runs on one event_base's thread; nothing here is thread-safe.
 */
#ifndef KB_NET_H
#define KB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;
struct evbuffer;

typedef struct kb_server kb_server_t;
typedef struct kb_conn kb_conn_t;
typedef struct kb_outbound kb_outbound_t;

/* Back-pressure defaults (used when an option says 0). */
#define KB_NET_OUT_HIGH (4 * 1024 * 1024) /* unsent bytes above which a connection takes no frame */
#define KB_NET_OUT_LOW (1024 * 1024)      /* ... until drained to this */

/* frame points at the frame's payload (the size prefix is stripped); how
 * long it stays valid depends on the delivery mode (above). */
typedef void (*kb_frame_fn)(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg);

typedef enum kb_delivery {
    KB_DELIVER_ONE_AT_A_TIME = 0,
    KB_DELIVER_PIPELINED,
} kb_delivery_t;

/* How the connections of one listener (or one outbound connection) read,
 * write and time out. */
typedef struct kb_conn_opts {
    int32_t max_frame;      /* the largest size a frame may declare (0..max_frame is accepted) */
    int32_t idle_ms;        /* close after this long with nothing read and no output progress; <= 0: never */
    int32_t send_buffer;    /* SO_SNDBUF; -1: the system's default */
    int32_t receive_buffer; /* SO_RCVBUF; -1: the system's default */
    size_t out_high;        /* back-pressure marks; 0: KB_NET_OUT_HIGH */
    size_t out_low;         /* 0: KB_NET_OUT_LOW */
    kb_delivery_t delivery;
    kb_frame_fn on_frame;
    void *arg;
    /* The settings behind max_frame and idle_ms, named in the log line that
     * closes a connection for them (NULL: none named).  Borrowed: they must
     * outlive the connections (string literals, in practice). */
    const char *max_frame_key;
    const char *idle_key;
    /* The handshake phase (above): 0 (the Kafka listener): none, max_frame
     * from the start; else the limit before kb_conn_handshake_done (at most
     * max_frame; a larger value counts as max_frame).  handshake_ms <= 0: no
     * deadline.  handshake_key names the setting behind handshake_ms in the
     * deadline's log line (borrowed like the keys above; NULL: none). */
    int32_t handshake_max_frame;
    int32_t handshake_ms;
    const char *handshake_key;
    /* Runs once when a connection closes, whatever the cause (peer, idle,
     * bad frame, kb_conn_close, kb_server_free, kb_outbound_free), with
     * arg; the socket is already gone.  Lets a user free what it keeps per
     * connection with kb_conn_set_user.  It must not free the connection's
     * server or outbound.  NULL: none. */
    void (*on_close)(kb_conn_t *c, void *arg);
} kb_conn_opts_t;

/* ------------------------------------------------------------------------
 * Listening
 * ------------------------------------------------------------------------ */

typedef struct kb_listen_spec {
    const char *name; /* names the listener in log lines and kb_conn_listener() */
    const char *host; /* NULL or "": every interface (dual-stack where the system has IPv6) */
    int port;         /* 0: any free port; kb_server_listen writes the bound port back here */
    /* <= 0: no cap.  Otherwise, while this many connections of the
     * listener are open, a new one is closed as soon as accepted, before
     * anything is read or allocated for it, and counted
     * (kb_server_refused_connections); the log says so at most once per
     * KB_NET_REFUSED_LOG_MS, with the count of those refused meanwhile. */
    int max_connections;
    /* <= 0: no cap of its own.  Otherwise (with conn.handshake_max_frame
     * set), at most this many of the listener's connections are in their
     * handshake phase at once: when a new connection arrives with that many
     * in it, or with max_connections open and any in it, the one that has
     * been in it longest is closed (with a rate-limited log line, counted by
     * kb_server_evicted_connections) to make room, instead of the new one
     * being refused.  A connection leaves the phase with
     * kb_conn_handshake_done. */
    int max_handshaking;
    kb_conn_opts_t conn;
} kb_listen_spec_t;

#define KB_NET_REFUSED_LOG_MS 10000

/* A server borrows base, which must outlive it; it owns its listeners and
 * its open connections. */
kb_server_t *kb_server_new(struct event_base *base);
/* Binds and starts accepting on spec (copied: nothing of it is kept but the
 * borrowed key names), writing the bound port back into spec->port.  Returns
 * 0, or -1 with a message in err (other listeners stay open). */
int kb_server_listen(kb_server_t *srv, kb_listen_spec_t *spec, char *err, size_t errlen);
/* Closes listeners and every connection.  A connection whose request is
 * still with a handler stays allocated (socket closed) until the handler
 * finishes it. */
void kb_server_free(kb_server_t *srv);
int kb_server_connection_count(const kb_server_t *srv);
/* Connections closed because a frame declared a size outside
 * 0..max_frame (the /metrics counter kbroker_connections_closed_bad_frame). */
uint64_t kb_server_bad_frames(const kb_server_t *srv);
/* Connections closed for staying in their handshake past handshake_ms. */
uint64_t kb_server_handshake_timeouts(const kb_server_t *srv);
/* Connections refused at accept because max_connections were open. */
uint64_t kb_server_refused_connections(const kb_server_t *srv);
/* Connections closed in their handshake phase to make room (max_handshaking). */
uint64_t kb_server_evicted_connections(const kb_server_t *srv);

/* ------------------------------------------------------------------------
 * Outbound connections
 * ------------------------------------------------------------------------ */

/* connected: c has just connected (send on it from now on); otherwise c,
 * which was connected, has closed: it must not be sent on again, and
 * kb_outbound_conn() is NULL until the next connection.  Never called from
 * kb_outbound_free().  It is the last thing the outbound does in the event
 * that calls it, so a user may free the outbound from inside it (broker/rpc's
 * client does, when its own user frees it in a callback); nothing else may
 * be assumed of the outbound once freed. */
typedef void (*kb_link_fn)(kb_outbound_t *o, kb_conn_t *c, bool connected, void *arg);

/* An attempt failed before it connected (the lookup, the dial, a refused
 * or timed-out connect; why says which), and the next one is scheduled.
 * It may run while the attempt is still being started (a name answered at
 * once from evdns's cache or /etc/hosts), so the user must not free the
 * outbound from inside it: defer that to the loop. */
typedef void (*kb_attempt_failed_fn)(kb_outbound_t *o, const char *why, void *arg);

/*
 * An outbound connection keeps itself connected until freed: the first
 * attempt starts at once; after a failed attempt, or after an established
 * connection closes for any reason (peer, idle timeout, bad frame), it waits
 * and tries again.  Both count as failures, and success resets the count,
 * as Kafka's clients count failed attempts: the wait after the n-th
 * consecutive failure is backoff_ms * 2^(n-1), capped at backoff_max_ms,
 * then spread by up to +/- backoff_jitter_pct percent (Kafka's
 * reconnect.backoff.ms, reconnect.backoff.max.ms and its 20% jitter; see
 * kb_net_backoff_ms).  So a lost connection is redialled after backoff_ms,
 * then 2x, 4x, ... while the peer stays away.  Success is connecting, or,
 * when conn has a handshake phase (handshake_max_frame > 0), the
 * connection's kb_conn_handshake_done(): a peer that accepts connections
 * but never completes the handshake is redialled with growing waits too.
 *
 * host is resolved at each attempt without blocking the loop: a numeric
 * IPv4 or IPv6 address is only parsed; a name is looked up asynchronously
 * through dns (libevent's evdns, which reads /etc/hosts and resolv.conf
 * when its base is made with EVDNS_BASE_INITIALIZE_NAMESERVERS), and the
 * first IPv4 answer is dialled, else the first.  A name with dns NULL is
 * refused by kb_outbound_new: the system resolver would block the loop.
 */
typedef struct kb_outbound_spec {
    const char *name; /* names the connection in log lines and kb_conn_listener() */
    const char *host;
    int port;
    struct evdns_base *dns;     /* borrowed; resolves a host name; NULL: host must be numeric */
    int32_t backoff_ms;         /* > 0 */
    int32_t backoff_max_ms;     /* >= backoff_ms */
    int backoff_jitter_pct;     /* 0..100; 0: exact waits */
    int32_t connect_timeout_ms; /* an attempt not connected by then fails; <= 0: the system's limit */
    kb_conn_opts_t conn;        /* framing, idle, buffers, back-pressure; conn.arg goes to on_link too */
    kb_link_fn on_link;         /* may be NULL */
    kb_attempt_failed_fn on_attempt_failed; /* may be NULL; gets conn.arg */
} kb_outbound_spec_t;

typedef struct kb_outbound_stats {
    uint64_t attempts;   /* connection attempts started */
    uint64_t connects;   /* attempts that connected */
    uint64_t bad_frames; /* connections closed for a frame size out of range */
    int failures;        /* consecutive failures (see above) since the last success */
    int32_t backoff_ms;  /* the wait before the attempt now scheduled (0: none scheduled) */
} kb_outbound_stats_t;

/* Starts connecting (the outcome arrives through the loop, never from
 * inside this call).  Borrows base; copies spec (host and name included).
 * NULL when out of memory or the spec is invalid. */
kb_outbound_t *kb_outbound_new(struct event_base *base, const kb_outbound_spec_t *spec);
/* Closes the connection, cancels any attempt or wait, and frees o; no
 * callback runs.  A request still with a handler (one-at-a-time delivery)
 * keeps its connection allocated until finished, as for a server. */
void kb_outbound_free(kb_outbound_t *o);
/* The established connection, or NULL while connecting or waiting. */
kb_conn_t *kb_outbound_conn(const kb_outbound_t *o);
void kb_outbound_stats(const kb_outbound_t *o, kb_outbound_stats_t *out);

/* The wait before the attempt following `failures` consecutive failed ones
 * (failures >= 1): backoff_ms * 2^(failures-1) capped at max_ms, then moved
 * by (rnd % (2 * span + 1)) - span, span being jitter_pct percent of it. */
int32_t kb_net_backoff_ms(int32_t backoff_ms, int32_t max_ms, int failures, int jitter_pct, uint32_t rnd);

/* ------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------ */

/* Queues a complete frame (size prefix included) for sending.  The contents
 * of frame are moved out (file segments too); the evbuffer stays owned by the
 * caller.  On a closed connection the contents are discarded. */
void kb_conn_send(kb_conn_t *c, struct evbuffer *frame);
/* kb_conn_send, then kb_conn_done. */
void kb_conn_reply(kb_conn_t *c, struct evbuffer *resp);
/* Finishes the current request (one-at-a-time delivery), letting the next
 * frame in; a no-op with pipelined delivery. */
void kb_conn_done(kb_conn_t *c);
/* Ends c's handshake phase (a no-op without one, or if ended already): its
 * frames may declare up to max_frame from now on, the deadline no longer
 * runs, and an outbound connection's failure count resets.  Frames already
 * buffered behind the current one are checked against the new limit. */
void kb_conn_handshake_done(kb_conn_t *c);
/* Closes the connection (after logging reason); the current request, if
 * any, is dropped. */
void kb_conn_close(kb_conn_t *c, const char *reason);
/* A warning about c's peer (a frame its user cannot decode, say), under
 * the listener's rate limit shared with the transport's own such lines
 * (above); an outbound connection's go out unlimited. */
void kb_conn_warn(kb_conn_t *c, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* With pipelined delivery, a handler that keeps c past its callback (to
 * answer later) holds it, and releases it when done: c then stays allocated,
 * though perhaps closed, in between.  (One-at-a-time requests hold their
 * connection until finished without this.) */
void kb_conn_hold(kb_conn_t *c);
void kb_conn_release(kb_conn_t *c);
bool kb_conn_is_open(const kb_conn_t *c);

/* The name of the listener the connection arrived on (the Kafka handlers
 * pick advertised listeners by it), or of the outbound connection. */
const char *kb_conn_listener(const kb_conn_t *c);
const char *kb_conn_peer(const kb_conn_t *c); /* "ip:port" (an outbound's "host:port") */
/* The peer's address without the port: an accepted connection's IP
 * address as inet_ntop writes it (an IPv4-mapped IPv6 address as IPv4, so
 * one host has one spelling), an outbound's host as given. */
const char *kb_conn_peer_addr(const kb_conn_t *c);
uint64_t kb_conn_id(const kb_conn_t *c);        /* unique per server or outbound connection */

/* One pointer a user keeps on a connection (per-connection state; NULL
 * until set).  Free it from opts.on_close. */
void kb_conn_set_user(kb_conn_t *c, void *user);
void *kb_conn_user(const kb_conn_t *c);

#endif
