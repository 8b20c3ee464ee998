/*
 * kb_ctl_rpc.h - the production transport of the controller's request
 * queues (kb_ctl_queue.h): one broker/rpc client per broker, named
 * "controller->N", which checks that the peer's Hello names the broker id
 * and epoch the controller knows.
 *
 * It is a file of its own so that everything else in broker/controller
 * links without broker/rpc (the unit tests use a fake transport).
 */
#ifndef KB_CTL_RPC_H
#define KB_CTL_RPC_H

#include "broker/controller/kb_ctl_queue.h"

struct event_base;
struct evdns_base;

typedef struct kb_ctl_rpc_opts {
    struct event_base *base;
    struct evdns_base *dns;   /* NULL: brokers publish numeric RPC hosts */
    uint32_t max_frame;       /* 0: KB_CTL_RPC_MAX_FRAME */
    int32_t connect_timeout_ms;
    int32_t backoff_ms;       /* reconnect backoff; <= 0: 100 */
    int32_t backoff_max_ms;   /* <= 0: 1000 */
} kb_ctl_rpc_opts_t;

/* The largest frame either way when the caller names none.  A controller
 * request carries at most kb_ctl_queue's max_batch partitions (a few MB at
 * worst); answers are smaller still. */
#define KB_CTL_RPC_MAX_FRAME (64u * 1024u * 1024u)

/* A transport over broker/rpc; free it with kb_ctl_rpc_transport_free()
 * after every queue using it.  NULL when out of memory. */
kb_ctl_transport_t *kb_ctl_rpc_transport_new(const kb_ctl_rpc_opts_t *opts);
void kb_ctl_rpc_transport_free(kb_ctl_transport_t *t);

#endif
