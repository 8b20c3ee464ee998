/*
 * kb_api_listen.c - the Kafka listeners (see kb_api_listen.h).
 */
#include "broker/api/kb_api_listen.h"

#include <string.h>

kb_conn_opts_t kb_api_listen_opts(const kb_config_t *cfg, kb_frame_fn on_request, void *arg) {
    return (kb_conn_opts_t){
        .max_frame = cfg->socket_request_max_bytes,
        .idle_ms = cfg->connections_max_idle_ms, /* -1: never close idle connections */
        .send_buffer = cfg->socket_send_buffer_bytes,
        .receive_buffer = cfg->socket_receive_buffer_bytes,
        .delivery = KB_DELIVER_ONE_AT_A_TIME,
        .on_frame = on_request,
        .arg = arg,
        .max_frame_key = "socket.request.max.bytes",
        .idle_key = "connections.max.idle.ms",
    };
}

/* Port 0 was ephemeral: publish the real port to the listener and to the
 * advertised listener of the same name that asked for 0. */
static void write_back_port(kb_config_t *cfg, kb_listener_t *l, int port) {
    if (l->port != 0) return;
    l->port = port;
    for (int i = 0; i < cfg->n_advertised; i++)
        if (!strcmp(cfg->advertised[i].name, l->name) && cfg->advertised[i].port == 0) cfg->advertised[i].port = port;
}

int kb_api_listen(kb_server_t *srv, kb_config_t *cfg, kb_frame_fn on_request, void *arg, char *err, size_t errlen) {
    for (int i = 0; i < cfg->n_listeners; i++) {
        kb_listener_t *l = &cfg->listeners[i];
        kb_listen_spec_t spec = {.name = l->name, .host = l->host, .port = l->port,
                                 .conn = kb_api_listen_opts(cfg, on_request, arg)};
        if (kb_server_listen(srv, &spec, err, errlen) != 0) return -1;
        write_back_port(cfg, l, spec.port);
    }
    return 0;
}
