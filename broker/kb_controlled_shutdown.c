/*
 * kb_controlled_shutdown.c - the broker's side of controlled shutdown (see
 * kb_controlled_shutdown.h): attempts, each bounded by
 * controller.socket.timeout.ms, with a backoff between them.
 *
 * An attempt is made of asks, each to the broker /controller names at
 * that moment (as the view has it), until one answers or the attempt's
 * deadline passes.  An ask that cannot be made or cannot reach its
 * controller does not end the attempt: a controller that has just exited
 * or crashed refuses the connection at once, and /controller names it
 * until its ZooKeeper session ends, so the broker asks again, at most a
 * second later, whoever /controller names then (the one elected next,
 * which may be this broker).  An ask in flight is abandoned for the new
 * controller as soon as /controller names another broker (the one asked
 * froze and lost its session).  So a broker stopped right after its
 * controller died still hands its leaderships over, once a controller
 * exists again, within the same bound as before.
 *
 * A remote ask gets a fresh RPC client, dialled with the controller's
 * registration (id and czxid, so that a stale connection to a former
 * controller is refused at its Hello), and the client is freed once the
 * ask ends: a controller that stopped reading (paused, half-open TCP)
 * must not hold the next ask behind a stuck connection.
 */
#include "broker/kb_controlled_shutdown.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/controller/kb_ctl_shutdown.h"
#include "broker/kb_registration.h"
#include "broker/rpc/kb_rpc.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define REASK_FIRST_MS 100
#define REASK_MAX_MS 1000

struct kb_controlled_shutdown {
    kb_broker_t *b;
    struct evdns_base *dns;
    kb_controlled_shutdown_done_fn done;
    void *arg;
    int attempts;             /* made so far */
    bool local;               /* the ask in flight went to this broker's own controller */
    kb_rpc_client_t *client;  /* the remote ask's connection */
    int32_t asked;            /* the controller the remote ask in flight went to; -1: none */
    int32_t reask_ms;         /* the wait before the next ask of this attempt */
    bool unreachable_told;    /* this attempt logged an unreachable controller at INFO */
    struct event *ask_ev;     /* the wait before the next ask */
    struct event *deadline_ev; /* the attempt's end: controller.socket.timeout.ms */
    struct event *retry_ev;   /* the backoff before the next attempt */
    struct event *finish_ev;  /* done, at the next loop turn */
    bool moved;
};

static void attempt(kb_controlled_shutdown_t *s);
static void ask(kb_controlled_shutdown_t *s);

static int max_attempts(const kb_controlled_shutdown_t *s) { return s->b->cfg->controlled_shutdown_max_retries; }

static void arm_ms(struct event *ev, int64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

static void finish(kb_controlled_shutdown_t *s, bool moved) {
    s->moved = moved;
    event_active(s->finish_ev, EV_TIMEOUT, 0);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    s->done(s->moved, s->arg);
}

/* Abandons the ask in flight, local or remote.  Freeing the client
 * answers its call KB_RPC_CANCELLED there and then, which rpc_reply
 * ignores: the ask is detached first, so nothing of it runs again. */
static void drop_ask(kb_controlled_shutdown_t *s) {
    kb_rpc_client_t *c = s->client;
    if (s->local && s->b->controller) kb_controller_controlled_shutdown_cancel(s->b->controller, s);
    s->local = false;
    s->client = NULL;
    s->asked = -1;
    if (c) kb_rpc_client_free(c);
}

/* The attempt is over, failed (why says how): try again after the
 * backoff, or give up after the last one. */
static void failed(kb_controlled_shutdown_t *s, const char *why) {
    drop_ask(s);
    evtimer_del(s->ask_ev);
    evtimer_del(s->deadline_ev);
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
    arm_ms(s->retry_ev, ms);
}

static void answered(kb_controlled_shutdown_t *s, const Kbroker__Rpc__ControlledShutdownResponse *resp) {
    char why[256];
    if (resp->error_code != 0) {
        snprintf(why, sizeof(why), "the controller answered error %d (%s)", (int)resp->error_code,
                 kp_error_name((int16_t)resp->error_code));
    } else if (resp->n_remaining_partitions > 0) {
        const Kbroker__Rpc__TopicPartition *tp = resp->remaining_partitions[0];
        snprintf(why, sizeof(why), "this broker still leads %zu partition(s), the first %.200s-%d",
                 resp->n_remaining_partitions, tp->topic_name ? tp->topic_name : "", (int)tp->partition_index);
    } else {
        drop_ask(s);
        evtimer_del(s->deadline_ev);
        kc_info("main", "controlled shutdown succeeded: this broker leads no replicated partition any more");
        finish(s, true);
        return;
    }
    failed(s, why);
}

/* This ask could not be made or answered (why); the attempt goes on: the
 * next ask, a little later, looks /controller up again. */
static void ask_later(kb_controlled_shutdown_t *s, const char *why) {
    drop_ask(s);
    kc_log(s->unreachable_told ? KC_LOG_DEBUG : KC_LOG_INFO, "main",
           "controlled shutdown: %s; asking whoever /controller names in %d ms (this attempt ends %d ms after it "
           "began)", why, (int)s->reask_ms, (int)s->b->cfg->controller_socket_timeout_ms);
    s->unreachable_told = true;
    arm_ms(s->ask_ev, s->reask_ms);
    s->reask_ms = s->reask_ms * 2 > REASK_MAX_MS ? REASK_MAX_MS : s->reask_ms * 2;
}

static void local_reply(const Kbroker__Rpc__ControlledShutdownResponse *resp, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    s->local = false;
    answered(s, resp);
}

static void rpc_reply(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                      const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    char why[160];
    if (st == KB_RPC_CANCELLED) return; /* drop_ask's own doing */
    if (st == KB_RPC_OK && body) {
        answered(s, (const Kbroker__Rpc__ControlledShutdownResponse *)body);
    } else if (st == KB_RPC_OK) {
        snprintf(why, sizeof(why), "the controller refused the request (error %d, %s)", (int)error_code,
                 kp_error_name((int16_t)error_code));
        failed(s, why);
    } else if (st == KB_RPC_UNREACHABLE || st == KB_RPC_DISCONNECTED) {
        snprintf(why, sizeof(why), "controller %d cannot be reached (%s: gone, or no longer it)", (int)s->asked,
                 st == KB_RPC_UNREACHABLE ? "connection refused or closed at its handshake" : "connection lost");
        ask_later(s, why);
    } else {
        snprintf(why, sizeof(why), "no answer from the controller (%s)", kb_rpc_status_name(st));
        failed(s, why);
    }
}

/* A remote ask to broker `ctl`, which the view says is the controller.
 * No call timeout: the attempt's deadline bounds it. */
static void ask_remote(kb_controlled_shutdown_t *s, int32_t ctl, int64_t my_epoch) {
    kb_broker_t *b = s->b;
    const kc_broker_info_t *info = kc_view_broker(b->view, ctl);
    int32_t port = -1;
    const char *host = info ? kc_broker_rpc_endpoint(info, &port) : NULL;
    char name[32];
    if (!host) {
        ask_later(s, "the controller is not registered, or publishes no kbroker RPC listener");
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
    s->asked = ctl;
    if (!s->client || kb_rpc_call(s->client, KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN, &req.base, 0,
                                  rpc_reply, s) != 0)
        failed(s, "cannot send the request (out of memory)");
}

static void ask(kb_controlled_shutdown_t *s) {
    kb_broker_t *b = s->b;
    int32_t ctl = kc_view_controller(b->view);
    int64_t epoch = kb_registration_epoch(b->registration);
    if (ctl < 0) {
        ask_later(s, "no controller is known");
    } else if (ctl != b->cfg->broker_id) {
        ask_remote(s, ctl, epoch);
    } else if (b->controller && kb_controller_active(b->controller) &&
               kb_controller_controlled_shutdown(b->controller, ctl, epoch, local_reply, s) == 0) {
        s->local = true;
    } else {
        ask_later(s, "this broker is named the controller but does not act as one yet");
    }
}

static void attempt(kb_controlled_shutdown_t *s) {
    s->attempts++;
    s->reask_ms = REASK_FIRST_MS;
    s->unreachable_told = false;
    kc_info("main", "controlled shutdown: asking controller %d to move this broker's leaderships (attempt %d of %d)",
            (int)kc_view_controller(s->b->view), s->attempts, max_attempts(s));
    arm_ms(s->deadline_ev, s->b->cfg->controller_socket_timeout_ms);
    ask(s);
}

static void ask_cb(evutil_socket_t fd, short what, void *arg) { ask(arg); }
static void retry_cb(evutil_socket_t fd, short what, void *arg) { attempt(arg); }

static void deadline_cb(evutil_socket_t fd, short what, void *arg) {
    kb_controlled_shutdown_t *s = arg;
    char why[160];
    snprintf(why, sizeof(why), "no answer from a controller within controller.socket.timeout.ms (%d ms)",
             (int)s->b->cfg->controller_socket_timeout_ms);
    failed(s, why);
}

void kb_controlled_shutdown_controller_changed(kb_controlled_shutdown_t *s) {
    int32_t ctl = s ? kc_view_controller(s->b->view) : -1;
    if (ctl < 0) return;
    if (s->client && s->asked != ctl) {
        kc_info("main", "controlled shutdown: /controller names broker %d now; asking it instead of broker %d",
                (int)ctl, (int)s->asked);
        drop_ask(s);
        ask(s);
    } else if (evtimer_pending(s->ask_ev, NULL)) {
        evtimer_del(s->ask_ev);
        ask(s);
    }
}

kb_controlled_shutdown_t *kb_controlled_shutdown_start(kb_broker_t *b, struct evdns_base *dns,
                                                       kb_controlled_shutdown_done_fn done, void *arg) {
    kb_controlled_shutdown_t *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    *s = (kb_controlled_shutdown_t){.b = b, .dns = dns, .done = done, .arg = arg, .asked = -1};
    s->ask_ev = evtimer_new(b->base, ask_cb, s);
    s->deadline_ev = evtimer_new(b->base, deadline_cb, s);
    s->retry_ev = evtimer_new(b->base, retry_cb, s);
    s->finish_ev = event_new(b->base, -1, 0, finish_cb, s);
    if (!s->ask_ev || !s->deadline_ev || !s->retry_ev || !s->finish_ev) {
        kb_controlled_shutdown_free(s);
        return NULL;
    }
    if (max_attempts(s) <= 0) finish(s, false);
    else attempt(s);
    return s;
}

void kb_controlled_shutdown_free(kb_controlled_shutdown_t *s) {
    if (!s) return;
    drop_ask(s);
    if (s->ask_ev) event_free(s->ask_ev);
    if (s->deadline_ev) event_free(s->deadline_ev);
    if (s->retry_ev) event_free(s->retry_ev);
    if (s->finish_ev) event_free(s->finish_ev);
    free(s);
}
