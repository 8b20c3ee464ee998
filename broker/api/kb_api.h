/*
 * kb_api.h - the Kafka API table and request dispatcher.
 *
 * One row per API key: {api_key, advertised min/max, handled min/max,
 * flexible-from version, handler}.  The same table builds the ApiVersions
 * answer, so what is advertised and what is dispatched cannot drift apart.
 * The dispatcher parses the request header, checks key and version in one
 * place, and then hands the decoded header and the body to the handler.
 * Unknown keys, unhandled versions and undecodable bodies close the
 * connection (Kafka's behaviour, wire-protocol.md 1.6); ApiVersions with a
 * too-new version is answered with the v0 fallback body.
 */
#ifndef KB_API_H
#define KB_API_H

#include <stddef.h>
#include <stdint.h>

#include "broker/kb_broker.h"
#include "broker/net/kb_net.h"

/* The request callback of the Kafka listeners (kb_api_listen); arg is the
 * kb_broker_t. */
void kb_api_on_request(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg);

#endif
