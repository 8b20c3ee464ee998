/*
 * kb_controlled_shutdown.c - the broker's side of controlled shutdown (see
 * kb_controlled_shutdown.h): attempts, each to the controller the view
 * names at that moment, with a backoff between them.
 *
 * A remote attempt gets a fresh RPC client, dialled with the controller's
 * registration (id and czxid, so that a stale connection to a former
 * controller is refused at its Hello), and the client is freed once the
 * attempt ends: a controller that stopped reading (paused, half-open TCP)
 * must not hold the next attempt behind a stuck connection.  A controller
 * that cannot be reached (it has just exited: brokers stopped together)
 * fails the attempt at once, as Kafka's does when its connect fails,
 * rather than after controller.socket.timeout.ms: the next attempt, after
 * the backoff, asks whoever /controller names by then.
 */
#include "broker/kb_controlled_shutdown.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/controller/kb_ctl_shutdown.h"
#include "broker/kb_registration.h"
#include "broker/rpc/kb_rpc.h"
#include "common/kc_log.h"

struct kb_controlled_shutdown {
    kb_broker_t *b;
    struct evdns_base *dns;
    kb_controlled_shutdown_done_fn done;
    void *arg;
    int attempts;             /* made so far */
    bool local;               /* the attempt in flight was asked of this broker's own controller */
    kb_rpc_client_t *client;  /* the remote attempt's connection */
    struct event *retry_ev;   /* the backoff before the next attempt */
    struct event *finish_ev;  /* done, at the next loop turn */
    bool moved;
};

static void attempt(kb_controlled_shutdown_t *s);

static int max_attempts(const kb_controlled_shutdown_t *s) { return s->b->cfg->controlled_shutdown_max_retries; }

static void finish(kb_controlled_shutdown_t *s, bool moved) {
    s->moved = moved;
    event_active(s->finish_ev, EV_TIMEOUT, 0);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    s->done(s->moved, s->arg);
}

static void drop_client(kb_controlled_shutdown_t *s) {
    if (s->client) kb_rpc_client_free(s->client);
    s->client = NULL;
}

/* The attempt failed (why says how): try again after the backoff, or give
 * up after the last one. */
static void failed(kb_controlled_shutdown_t *s, const char *why) {
    drop_client(s);
    if (s->attempts >= max_attempts(s)) {
        kc_warn("main", "controlled shutdown attempt %d of %d failed: %s; shutting down without it (the "
                "controller moves what this broker still leads once its registration is gone)", s->attempts,
                max_attempts(s), why);
        finish(s, false);
        return;
    }
    int64_t ms = s->b->cfg->controlled_shutdown_retry_backoff_ms;
    kc_warn("main", "controlled shutdown attempt %d of %d failed: %s; retrying in %lld ms", s->attempts,
            max_attempts(s), why, (long long)ms);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(s->retry_ev, &tv);
}

static void answered(kb_controlled_shutdown_t *s, const Kbroker__Rpc__ControlledShutdownResponse *resp) {
    char why[256];
    if (resp->error_code != 0) {
        snprintf(why, sizeof(why), "the controller answered error %d", (int)resp->error_code);
    } else if (resp->n_remaining_partitions > 0) {
        const Kbroker__Rpc__TopicPartition *tp = resp->remaining_partitions[0];
        snprintf(why, sizeof(why), "this broker still leads %zu partition(s), the first %.200s-%d",
                 resp->n_remaining_partitions, tp->topic_name ? tp->topic_name : "", (int)tp->partition_index);
    } else {
        drop_client(s);
        kc_info("main", "controlled shutdown succeeded: this broker leads no replicated partition any more");
        finish(s, true);
        return;
    }
    failed(s, why);
}

static void local_reply(const Kbroker__Rpc__ControlledShutdownResponse *resp, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    s->local = false;
    answered(s, resp);
}

static void rpc_reply(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                      const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    char why[128];
    if (st == KB_RPC_OK && body) {
        answered(s, (const Kbroker__Rpc__ControlledShutdownResponse *)body);
        return;
    }
    if (st == KB_RPC_OK) snprintf(why, sizeof(why), "the controller refused the request (error %d)", (int)error_code);
    else if (st == KB_RPC_UNREACHABLE)
        snprintf(why, sizeof(why), "cannot reach the controller (refused, or no longer it)");
    else snprintf(why, sizeof(why), "no answer from the controller (%s)", kb_rpc_status_name(st));
    failed(s, why);
}

/* A remote attempt to broker `ctl`, which the view says is the controller. */
static void ask_remote(kb_controlled_shutdown_t *s, int32_t ctl, int64_t my_epoch) {
    kb_broker_t *b = s->b;
    const kc_broker_info_t *info = kc_view_broker(b->view, ctl);
    int32_t port = -1;
    const char *host = info ? kc_broker_rpc_endpoint(info, &port) : NULL;
    char name[32];
    if (!host) {
        failed(s, "the controller publishes no kbroker RPC listener");
        return;
    }
    snprintf(name, sizeof(name), "shutdown->%d", (int)ctl);
    kb_rpc_client_opts_t o = {.name = name, .host = host, .port = port, .dns = s->dns,
                              .max_frame = (uint32_t)b->cfg->rpc_max_frame_bytes,
                              .connect_timeout_ms = b->cfg->controller_socket_timeout_ms,
                              .backoff_ms = b->cfg->rpc_reconnect_backoff_ms,
                              .backoff_max_ms = b->cfg->rpc_reconnect_backoff_max_ms,
                              .self = {b->cfg->broker_id, my_epoch},
                              .expect_broker_id = ctl, .expect_broker_epoch = info->czxid,
                              .fail_when_unreachable = true};
    Kbroker__Rpc__ControlledShutdownRequest req = KBROKER__RPC__CONTROLLED_SHUTDOWN_REQUEST__INIT;
    req.broker_id = b->cfg->broker_id;
    req.broker_epoch = my_epoch;
    s->client = kb_rpc_client_new(b->base, &o);
    if (!s->client || kb_rpc_call(s->client, KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN, &req.base,
                                  b->cfg->controller_socket_timeout_ms, rpc_reply, s) != 0)
        failed(s, "cannot send the request (out of memory)");
}

static void attempt(kb_controlled_shutdown_t *s) {
    kb_broker_t *b = s->b;
    int32_t ctl = kc_view_controller(b->view);
    int64_t epoch = kb_registration_epoch(b->registration);
    s->attempts++;
    if (ctl < 0) {
        failed(s, "no controller is known");
        return;
    }
    kc_info("main", "controlled shutdown: asking controller %d to move this broker's leaderships (attempt %d of %d)",
            (int)ctl, s->attempts, max_attempts(s));
    if (ctl != b->cfg->broker_id) {
        ask_remote(s, ctl, epoch);
    } else if (b->controller && kb_controller_active(b->controller) &&
               kb_controller_controlled_shutdown(b->controller, ctl, epoch, local_reply, s) == 0) {
        s->local = true;
    } else {
        failed(s, "this broker is named the controller but does not act as one yet");
    }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) { attempt(arg); }

kb_controlled_shutdown_t *kb_controlled_shutdown_start(kb_broker_t *b, struct evdns_base *dns,
                                                       kb_controlled_shutdown_done_fn done, void *arg) {
    kb_controlled_shutdown_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    *s = (kb_controlled_shutdown_t){.b = b, .dns = dns, .done = done, .arg = arg};
    s->retry_ev = evtimer_new(b->base, retry_cb, s);
    s->finish_ev = event_new(b->base, -1, 0, finish_cb, s);
    if (!s->retry_ev || !s->finish_ev) {
        kb_controlled_shutdown_free(s);
        return NULL;
    }
    if (max_attempts(s) <= 0) finish(s, false);
    else attempt(s);
    return s;
}

void kb_controlled_shutdown_free(kb_controlled_shutdown_t *s) {
    if (!s) return;
    if (s->local && s->b->controller) kb_controller_controlled_shutdown_cancel(s->b->controller, s);
    drop_client(s);
    if (s->retry_ev) event_free(s->retry_ev);
    if (s->finish_ev) event_free(s->finish_ev);
    free(s);
}
