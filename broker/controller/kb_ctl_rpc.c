/*
 * kb_ctl_rpc.c - the controller's transport over broker/rpc (see
 * kb_ctl_rpc.h).
 *
 * The reconnect backoff is 100 ms doubling to 1 s (Kafka's
 * reconnect.backoff.ms and reconnect.backoff.max.ms defaults) unless the
 * caller passes the configured values; the lead wires those keys.  Each
 * call carries a small context translating broker/rpc's reply into the
 * queue's: one allocation per request, never per partition.  A queue's
 * reconnect after a timeout is close + connect: the broker/rpc client is
 * freed (which cancels what it still holds; the call that timed out is no
 * longer among it) and a new one made.  The queues' retry timers are
 * libevent timers on the same base.
 */
#include "broker/controller/kb_ctl_rpc.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "broker/rpc/kb_rpc.h"

#define DEFAULT_BACKOFF_MS 100
#define DEFAULT_BACKOFF_MAX_MS 1000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000

typedef struct rpc_transport {
    kb_ctl_transport_t t; /* first: the queue sees this */
    kb_ctl_rpc_opts_t o;
} rpc_transport_t;

typedef struct call_ctx {
    kb_ctl_reply_fn done;
    void *arg;
} call_ctx_t;

static kb_ctl_status_t status_of(kb_rpc_status_t st) {
    switch (st) {
    case KB_RPC_OK: return KB_CTL_OK;
    case KB_RPC_TIMEOUT: return KB_CTL_TIMEOUT;
    case KB_RPC_DISCONNECTED:
    case KB_RPC_UNREACHABLE: return KB_CTL_DISCONNECTED;
    case KB_RPC_BAD_RESPONSE: return KB_CTL_BAD_RESPONSE;
    case KB_RPC_CANCELLED: return KB_CTL_CANCELLED;
    }
    return KB_CTL_DISCONNECTED;
}

static void *rpc_connect(void *arg, const kb_ctl_peer_t *peer) {
    rpc_transport_t *rt = arg;
    char name[32];
    snprintf(name, sizeof(name), "controller->%d", (int)peer->broker_id);
    kb_rpc_client_opts_t o = {
        .name = name,
        .host = peer->host,
        .port = peer->port,
        .dns = rt->o.dns,
        .max_frame = rt->o.max_frame ? rt->o.max_frame : KB_CTL_RPC_MAX_FRAME,
        .connect_timeout_ms = rt->o.connect_timeout_ms > 0 ? rt->o.connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS,
        .backoff_ms = rt->o.backoff_ms > 0 ? rt->o.backoff_ms : DEFAULT_BACKOFF_MS,
        .backoff_max_ms = rt->o.backoff_max_ms > 0 ? rt->o.backoff_max_ms : DEFAULT_BACKOFF_MAX_MS,
        .self = {.broker_id = peer->self_id, .broker_epoch = peer->self_epoch},
        .expect_broker_id = peer->broker_id,
        .expect_broker_epoch = peer->broker_epoch,
    };
    return kb_rpc_client_new(rt->o.base, &o);
}

static void rpc_reply(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                      const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    call_ctx_t ctx = *(call_ctx_t *)arg;
    free(arg);
    ctx.done(status_of(st), error_code, body, ctx.arg);
}

static int rpc_call(void *conn, Kbroker__Rpc__Method method, const ProtobufCMessage *msg, int32_t timeout_ms,
                    kb_ctl_reply_fn done, void *done_arg) {
    call_ctx_t *ctx = malloc(sizeof(*ctx));
    if (!ctx) return -1;
    *ctx = (call_ctx_t){done, done_arg};
    if (kb_rpc_call(conn, method, msg, timeout_ms, rpc_reply, ctx) == 0) return 0;
    free(ctx);
    return -1;
}

static void rpc_close(void *conn) { kb_rpc_client_free(conn); }

typedef struct rpc_timer {
    struct event *ev;
    void (*fire)(void *arg);
    void *arg;
} rpc_timer_t;

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    rpc_timer_t *t = arg;
    t->fire(t->arg);
}

static void *rpc_timer_new(void *arg, void (*fire)(void *fire_arg), void *fire_arg) {
    rpc_transport_t *rt = arg;
    rpc_timer_t *t = malloc(sizeof(*t));
    if (!t) return NULL;
    *t = (rpc_timer_t){.fire = fire, .arg = fire_arg};
    if (!(t->ev = evtimer_new(rt->o.base, on_timer, t))) {
        free(t);
        return NULL;
    }
    return t;
}

static int rpc_timer_arm(void *timer, int32_t ms) {
    rpc_timer_t *t = timer;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return evtimer_add(t->ev, &tv) == 0 ? 0 : -1;
}

static void rpc_timer_free(void *timer) {
    rpc_timer_t *t = timer;
    event_free(t->ev); /* a pending event is deleted first */
    free(t);
}

kb_ctl_transport_t *kb_ctl_rpc_transport_new(const kb_ctl_rpc_opts_t *opts) {
    rpc_transport_t *rt = calloc(1, sizeof(*rt));
    if (!rt) return NULL;
    rt->o = *opts;
    rt->t = (kb_ctl_transport_t){.connect = rpc_connect, .call = rpc_call, .close = rpc_close,
                                 .timer_new = rpc_timer_new, .timer_arm = rpc_timer_arm,
                                 .timer_free = rpc_timer_free, .arg = rt};
    return &rt->t;
}

void kb_ctl_rpc_transport_free(kb_ctl_transport_t *t) { free(t); }
