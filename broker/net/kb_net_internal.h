/*
 * kb_net_internal.h - what the three files of broker/net share: the
 * connection (kb_conn.c) and its two owners, the server that accepts
 * connections (kb_listen.c) and the outbound connection that dials one
 * (kb_outbound.c).
 *
 * A connection knows nothing of its owner but what it is handed: an opaque
 * pointer, a hook run when the connection closes, one run when its
 * handshake completes, and the owner's counters of bad frames and
 * handshake timeouts, and the owner's limit on the warnings its
 * connections write (kb_conn_warn).  All are used only while the
 * connection is open;
 * the owner closes its connections before it goes away, so a connection
 * that outlives its owner (a request still with a handler) never touches
 * it.
 */
#ifndef KB_NET_INTERNAL_H
#define KB_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <event2/util.h>

#include "broker/net/kb_net.h"
#include "common/kc_log.h"

struct bufferevent;
struct event;

/* Runs when c closes (its socket is already gone, c itself is still
 * allocated); reason is NULL when the close was logged as a warning. */
typedef void (*kb_conn_closed_fn)(kb_conn_t *c, void *owner, const char *reason);
/* Runs when c's handshake phase ends (kb_conn_handshake_done, c open). */
typedef void (*kb_conn_handshake_fn)(kb_conn_t *c, void *owner);

struct kb_conn {
    struct bufferevent *bev; /* NULL once closed; owns the socket */
    struct event *resume;    /* deferred search for the next frame */
    struct event *rd;        /* the socket is readable (our own reads: see conn_read) */
    struct event *handshake_timer; /* the handshake's deadline; NULL without one */
    struct timeval idle;     /* opts.idle_ms as a timeout; 0 = none */
    struct evbuffer *in;     /* bytes read and not yet taken as a frame */
    struct evbuffer *req;    /* the frame being handled */
    kb_conn_opts_t opts;
    void *owner;                 /* NULL once closed */
    kb_conn_closed_fn on_closed; /* the owner's hook */
    uint64_t *bad_frames;        /* the owner's counter */
    kb_conn_handshake_fn on_handshake; /* the owner's hook; NULL: none */
    uint64_t *handshake_timeouts;      /* the owner's counter; NULL: none */
    kc_ratelimit_t *warn_log;          /* the owner's limit on kb_conn_warn lines; NULL: none */
    kb_conn_t *prev, *next;      /* the owner's list, if it keeps one */
    kb_conn_t *hs_prev, *hs_next; /* a listener's queue of connections in their handshake */
    bool hs_queued;               /* ... and whether c is in it */
    void *user;                  /* kb_conn_set_user's */
    int refs;
    bool outbound;  /* dialled by us (log lines say "to", not "from") */
    bool started;   /* reading: accepted, or the outbound attempt connected */
    bool pending;   /* a one-at-a-time request is with the callback */
    bool throttled; /* output above opts.out_high: no new frame until drained */
    bool closing;   /* a refused frame: nothing more is read; closed once the output is sent */
    bool in_handshake; /* frames limited to opts.handshake_max_frame (kb_net.h) */
    int rcvlowat;   /* the socket's SO_RCVLOWAT as last set */
    size_t want;    /* input bytes the current frame needs (conn_want) */
    uint64_t id;
    char name[64];
    char peer[300];
    char peer_addr[256]; /* peer without the port: an IP address, or an outbound's host */
};

/* A connection on the connected (or connecting) socket fd, which it owns
 * from now on (closed here on failure).  The owner's hooks are set by the
 * caller.  NULL when out of memory. */
kb_conn_t *kb_conn_create(struct event_base *base, evutil_socket_t fd, const kb_conn_opts_t *opts,
                          const char *name, uint64_t id, bool outbound);
/* Starts reading frames and the idle timeout (the socket is connected). */
void kb_conn_start(kb_conn_t *c);
/* Closes the socket, runs the owner's hook and drops the socket's
 * reference; a pending request keeps c allocated.  reason NULL = already
 * logged. */
void kb_conn_shutdown(kb_conn_t *c, const char *reason);

/* The socket options of a connection: no Nagle, keepalive, and the
 * buffer sizes of opts unless -1. */
void kb_net_tune_socket(evutil_socket_t fd, const kb_conn_opts_t *opts);
void kb_net_set_int_opt(evutil_socket_t fd, int level, int opt, int value);

#endif
