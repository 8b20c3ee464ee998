/*
 * kb_net.h - Kafka listeners and connections.
 *
 * The net module owns sockets: it binds every configured listener, accepts
 * connections, reads 4-byte big-endian length-prefixed frames, and refuses a
 * frame whose declared size is negative or above socket.request.max.bytes
 * before allocating anything for it (the connection is closed with a log
 * line).  It does not decode request bodies.
 *
 * Ordering (Kafka's model): a connection hands one complete frame at a time to
 * the request callback and reads no further frame until that request is
 * finished with kb_conn_reply() or kb_conn_done() (acks=0 Produce has no
 * response).  Frames that arrive meanwhile stay buffered, so pipelined
 * requests are answered one by one, in order.
 */
#ifndef KB_NET_H
#define KB_NET_H

#include <stddef.h>
#include <stdint.h>

#include "broker/kb_config.h"

struct event_base;
struct evbuffer;

typedef struct kb_server kb_server_t;
typedef struct kb_conn kb_conn_t;

/* frame points at the request header (the size prefix is stripped) and stays
 * valid until kb_conn_reply/kb_conn_done/kb_conn_close is called. */
typedef void (*kb_request_fn)(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg);

kb_server_t *kb_server_new(struct event_base *base, const kb_config_t *cfg, kb_request_fn on_request,
                           void *arg);
/* Binds every listener of cfg; a port of 0 is resolved to the bound port and
 * written back into cfg->listeners[i].port (and into an advertised listener of
 * the same name whose port is 0).  Returns 0, or -1 with a message in err. */
int kb_server_bind(kb_server_t *srv, kb_config_t *cfg, char *err, size_t errlen);
/* Closes listeners and every connection. */
void kb_server_free(kb_server_t *srv);
int kb_server_connection_count(const kb_server_t *srv);
/* Connections closed because a frame declared a size outside
 * 0..socket.request.max.bytes (the /metrics counter
 * kbroker_connections_closed_bad_frame). */
uint64_t kb_server_bad_frames(const kb_server_t *srv);

/* Sends a complete response frame (size prefix included) and finishes the
 * current request.  The contents of resp are moved out; resp stays owned by
 * the caller. */
void kb_conn_reply(kb_conn_t *c, struct evbuffer *resp);
/* Finishes the current request without a response. */
void kb_conn_done(kb_conn_t *c);
/* Closes the connection (after logging reason); the current request, if
 * any, is dropped. */
void kb_conn_close(kb_conn_t *c, const char *reason);

const char *kb_conn_listener(const kb_conn_t *c); /* listener name the connection arrived on */
const char *kb_conn_peer(const kb_conn_t *c);     /* "ip:port" */
uint64_t kb_conn_id(const kb_conn_t *c);

#endif
