/*
 * kb_api_listen.h - the Kafka listeners: the broker's listeners= setting
 * turned into broker/net listener specs that carry the request dispatcher.
 *
 * This is where Kafka's socket settings meet the transport, which knows no
 * configuration: socket.request.max.bytes becomes the frame limit,
 * connections.max.idle.ms the idle timeout, socket.send/receive.buffer.bytes
 * the buffer sizes, and requests are handed over one at a time (Kafka's
 * ordering guarantee per connection).
 */
#ifndef KB_API_LISTEN_H
#define KB_API_LISTEN_H

#include <stddef.h>

#include "broker/kb_config.h"
#include "broker/net/kb_net.h"

/* The connection options of a Kafka listener of cfg, with on_request(arg)
 * as the frame callback. */
kb_conn_opts_t kb_api_listen_opts(const kb_config_t *cfg, kb_frame_fn on_request, void *arg);

/* Binds every listener of cfg on srv.  A port of 0 is resolved to the bound
 * port and written back into cfg->listeners[i].port, and into the
 * advertised listener of the same name whose port is 0.  Returns 0, or -1
 * with a message in err. */
int kb_api_listen(kb_server_t *srv, kb_config_t *cfg, kb_frame_fn on_request, void *arg, char *err, size_t errlen);

#endif
