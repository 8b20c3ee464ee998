/*
 * kb_ctl_shutdown.c - controlled shutdown on the controller (see
 * kb_ctl_shutdown.h): the shutting-down set, the requests waiting for
 * their answer, and the RPC handler.
 *
 * A request is worked on in passes: when it arrives (at the next loop
 * turn, so that its answer never comes from inside the call that made it)
 * and after every reconciliation pass (kb_controller.c calls
 * kb_ctl_shutdown_after_pass), which is when writes of ours land in the
 * view.  A pass admits it (once), starts the writes its broker's
 * partitions need and are free for, and answers it when none of them has
 * a write of ours pending any more.  Its timer answers it at the wait's
 * end whatever is left.  The set is small (the brokers stopping at once),
 * so it is an array searched linearly.
 */
#include "broker/controller/kb_ctl_shutdown.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/controller/kb_ctl_internal.h"
#include "broker/controller/kb_elect_moves.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define SHUTDOWN_LOG_MS 10000

typedef struct member {
    int32_t id;
    int64_t epoch; /* the czxid of the registration that asked */
} member_t;

typedef struct request {
    struct request *next;
    struct kb_ctl_shutdown *s;
    int32_t broker;
    int64_t epoch;
    bool admitted;       /* its broker joined the set */
    bool followers_done; /* the partitions it follows were asked to drop it from their ISR */
    struct event *deadline;
    kb_ctl_shutdown_reply_fn done;
    void *arg;
} request_t;

struct kb_ctl_shutdown {
    kb_controller_t *c;
    member_t *set;
    int n_set, cap_set;
    request_t *waiting;
    struct event *kick_ev; /* a pass at the next loop turn */
    kc_ratelimit_t log_limit;
};

/* ---- the set ---- */

static member_t *member_find(const struct kb_ctl_shutdown *s, int32_t id) {
    for (int i = 0; i < s->n_set; i++)
        if (s->set[i].id == id) return &s->set[i];
    return NULL;
}

bool kb_ctl_live(int32_t id, const void *controller) {
    const kb_controller_t *c = controller;
    return kc_view_broker_live(c->b->view, id);
}

/* A member counts only while the registration that asked is the one the
 * view holds: a broker that stopped, or came back, is not shutting down. */
bool kb_ctl_shutting(int32_t id, const void *controller) {
    const kb_controller_t *c = controller;
    const member_t *m = c->shutdown ? member_find(c->shutdown, id) : NULL;
    const kc_broker_info_t *info = m ? kc_view_broker(c->b->view, id) : NULL;
    return info && info->czxid == m->epoch;
}

bool kb_ctl_eligible(int32_t id, const void *controller) {
    return kb_ctl_live(id, controller) && !kb_ctl_shutting(id, controller);
}

static int member_add(struct kb_ctl_shutdown *s, int32_t id, int64_t epoch) {
    member_t *m = member_find(s, id);
    if (m) {
        m->epoch = epoch;
        return 0;
    }
    if (s->n_set == s->cap_set) {
        int cap = s->cap_set ? s->cap_set * 2 : 4;
        member_t *v = realloc(s->set, (size_t)cap * sizeof(*v));
        if (!v) return -1;
        s->set = v;
        s->cap_set = cap;
    }
    s->set[s->n_set++] = (member_t){id, epoch};
    return 0;
}

/* Members whose registration went away or changed leave the set. */
static void members_prune(struct kb_ctl_shutdown *s) {
    int kept = 0;
    for (int i = 0; i < s->n_set; i++) {
        const kc_broker_info_t *info = kc_view_broker(s->c->b->view, s->set[i].id);
        if (info && info->czxid == s->set[i].epoch) s->set[kept++] = s->set[i];
        else kc_info("controller", "broker %d (epoch %lld) is no longer shutting down: its registration %s",
                     (int)s->set[i].id, (long long)s->set[i].epoch, info ? "was replaced" : "is gone");
    }
    s->n_set = kept;
}

/* ---- answers ---- */

typedef struct remaining {
    const kb_controller_t *c;
    int32_t broker;
    Kbroker__Rpc__TopicPartition *tps;
    Kbroker__Rpc__TopicPartition **ptrs;
    size_t n, cap;
    bool failed;
} remaining_t;

static bool replicated(const kc_partition_t *part) { return part->n_replicas > 1 && part->has_state; }

/* The partition, unless its topic is queued for deletion (Kafka's
 * controlled shutdown leaves those alone: their replicas are stopping). */
static const kc_partition_t *view_partition(const kb_controller_t *c, const char *topic, int32_t partition) {
    const kc_topic_t *t = kc_view_topic(c->b->view, topic);
    if (!t || partition >= t->n_partitions || kb_ctl_delete_queued(c->deletion, topic)) return NULL;
    return &t->partitions[partition];
}

static void collect_led(const char *topic, int32_t partition, void *arg) {
    remaining_t *r = arg;
    const kc_partition_t *part = view_partition(r->c, topic, partition);
    if (!part || !replicated(part) || part->state.leader != r->broker || r->failed) return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        Kbroker__Rpc__TopicPartition *tps = realloc(r->tps, cap * sizeof(*tps));
        if (tps) r->tps = tps;
        if (!tps) {
            r->failed = true;
            return;
        }
        r->cap = cap;
    }
    kbroker__rpc__topic_partition__init(&r->tps[r->n]);
    r->tps[r->n].topic_name = (char *)topic; /* packed before the view changes */
    r->tps[r->n].partition_index = partition;
    r->n++;
}

static void request_free(request_t *q) {
    if (q->deadline) event_free(q->deadline);
    free(q);
}

static void unlink_request(struct kb_ctl_shutdown *s, request_t *q) {
    for (request_t **pp = &s->waiting; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            return;
        }
}

/* Answers q with err, or (err 0) with the replicated partitions its broker
 * still leads, and frees it. */
static void answer(request_t *q, int16_t err) {
    struct kb_ctl_shutdown *s = q->s;
    Kbroker__Rpc__ControlledShutdownResponse resp = KBROKER__RPC__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    remaining_t r = {.c = s->c, .broker = q->broker};
    if (err == 0 && kb_ctl_fanout_started(s->c->fanout))
        kb_ctl_fanout_each_hosted(s->c->fanout, q->broker, collect_led, &r);
    if (r.failed || (r.n > 0 && !(r.ptrs = malloc(r.n * sizeof(*r.ptrs))))) err = KP_ERR_UNKNOWN_SERVER_ERROR;
    if (err == 0) {
        for (size_t i = 0; i < r.n; i++) r.ptrs[i] = &r.tps[i];
        resp.n_remaining_partitions = r.n;
        resp.remaining_partitions = r.ptrs;
        if (r.n == 0)
            kc_info("controller", "controlled shutdown of broker %d: it leads no replicated partition any more",
                    (int)q->broker);
        else
            kc_info("controller", "controlled shutdown of broker %d: it still leads %zu replicated partition(s), "
                    "the first %s/%d", (int)q->broker, r.n, r.tps[0].topic_name, (int)r.tps[0].partition_index);
    } else {
        kc_log_limited(&s->log_limit, SHUTDOWN_LOG_MS, KC_LOG_WARN, "controller",
                       "controlled shutdown of broker %d refused: error %d", (int)q->broker, (int)err);
    }
    resp.error_code = err;
    unlink_request(s, q);
    q->done(&resp, q->arg);
    free(r.ptrs);
    free(r.tps);
    request_free(q);
}

/* ---- passes ---- */

typedef struct act {
    kb_controller_t *c;
    request_t *q;
    size_t busy; /* partitions with a write of ours pending */
} act_t;

/* One partition of the stopping broker: move its leadership away, or drop
 * it from the ISR (once per request). */
static void act_partition(const char *topic, int32_t partition, void *arg) {
    act_t *a = arg;
    kb_controller_t *c = a->c;
    const kc_partition_t *part = view_partition(c, topic, partition);
    if (!c->active || !part || !replicated(part)) return;
    part_ref_t ref = kb_ctl_part_ref(topic, partition);
    if (kb_ctl_state_busy(c, &ref)) {
        a->busy++;
        return;
    }
    int32_t isr[part->state.n_isr > 0 ? part->state.n_isr : 1];
    kc_partition_state_t next = {.isr = isr};
    kb_elect_outcome_t o;
    if (part->state.leader == a->q->broker)
        o = kb_elect_controlled_shutdown(part, c->epoch, kb_ctl_live, kb_ctl_shutting, c, &next);
    else if (!a->q->followers_done)
        o = kb_elect_leave_isr(part, c->epoch, a->q->broker, &next);
    else
        return;
    if (o != KB_ELECT_CHANGED || !kb_ctl_state_write(c, &ref, &next)) return;
    a->busy++;
    if (next.leader != part->state.leader)
        kc_info("controller", "partition %s/%d: leader %d -> %d for the controlled shutdown of broker %d (leader "
                "epoch %d)", topic, (int)partition, (int)part->state.leader, (int)next.leader, (int)a->q->broker,
                (int)next.leader_epoch);
}

/* One partition the stopping broker follows and whose ISR it has left:
 * its fetcher stops now (StopReplica without deletion, spec 2.7), so its
 * leader cannot take it back into the ISR before it stops.  Sent once the
 * ISR write is in the view, so the stop carries the leader epoch that
 * write bumped (an equal epoch is fenced). */
static void stop_follower(const char *topic, int32_t partition, void *arg) {
    act_t *a = arg;
    kb_controller_t *c = a->c;
    const kc_partition_t *part = view_partition(c, topic, partition);
    int32_t broker = a->q->broker;
    if (!part || !replicated(part) || part->state.leader == broker ||
        kc_int32_contains(part->state.isr, part->state.n_isr, broker))
        return;
    uint32_t tid = kb_ctl_fanout_topic(c->fanout, topic);
    int64_t epoch;
    if (tid != UINT32_MAX) kb_ctl_fanout_stop_replica(c->fanout, broker, kb_ctl_key(tid, partition), false, &epoch);
}

/* The request's broker, if the view holds the registration it named:
 * 0, or the error to answer; *wait when the view may not have read it
 * yet. */
static int16_t admit(request_t *q, bool *wait) {
    kb_controller_t *c = q->s->c;
    const kc_broker_info_t *info = kc_view_broker(c->b->view, q->broker);
    *wait = false;
    if (!c->active) return KP_ERR_NOT_CONTROLLER;
    if (!info) return KP_ERR_BROKER_NOT_AVAILABLE;
    if (q->epoch >= 0 && q->epoch < info->czxid) return KP_ERR_STALE_BROKER_EPOCH;
    if (q->epoch > info->czxid || !kc_view_states_loaded(c->b->view) || !kb_ctl_fanout_started(c->fanout))
        *wait = true; /* a registration the view has not read, or a controller still starting */
    else if (member_add(q->s, q->broker, info->czxid) < 0)
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    return 0;
}

/* One pass over a request; true when it was answered (and freed). */
static bool step(request_t *q) {
    kb_controller_t *c = q->s->c;
    if (!q->admitted) {
        bool wait;
        int16_t err = admit(q, &wait);
        if (err) {
            answer(q, err);
            return true;
        }
        if (wait) return false;
        q->admitted = true;
        kc_info("controller", "broker %d (epoch %lld) asks for a controlled shutdown: moving its leaderships away",
                (int)q->broker, (long long)q->epoch);
    }
    if (!c->active) {
        answer(q, KP_ERR_NOT_CONTROLLER);
        return true;
    }
    act_t a = {.c = c, .q = q};
    kb_ctl_fanout_each_hosted(c->fanout, q->broker, act_partition, &a);
    q->followers_done = true;
    if (!c->active) {
        answer(q, KP_ERR_NOT_CONTROLLER); /* a write fenced the role */
        return true;
    }
    if (a.busy > 0) return false;
    kb_ctl_fanout_each_hosted(c->fanout, q->broker, stop_follower, &a);
    kb_ctl_fanout_flush(c->fanout);
    answer(q, 0);
    return true;
}

/* An answer runs its requester's callback, which may change the list:
 * after one, the walk starts over (the others are only stepped again,
 * which starts nothing twice). */
static void run_passes(struct kb_ctl_shutdown *s) {
    request_t *q = s->waiting;
    while (q) {
        request_t *next = q->next;
        q = step(q) ? s->waiting : next;
    }
}

void kb_ctl_shutdown_after_pass(kb_controller_t *c) {
    struct kb_ctl_shutdown *s = c->shutdown;
    if (!s) return;
    members_prune(s);
    run_passes(s);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg) {
    struct kb_ctl_shutdown *s = arg;
    if (s->c->active && kc_view_states_loaded(s->c->b->view)) kb_ctl_fanout_flush(s->c->fanout);
    run_passes(s);
}

/* The wait is over: answer with whatever is left. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg) {
    request_t *q = arg;
    kb_controller_t *c = q->s->c;
    if (!c->active) answer(q, KP_ERR_NOT_CONTROLLER);
    else if (!q->admitted) answer(q, KP_ERR_BROKER_NOT_AVAILABLE);
    else answer(q, 0);
}

/* ---- lifetime ---- */

struct kb_ctl_shutdown *kb_ctl_shutdown_new(kb_controller_t *c) {
    struct kb_ctl_shutdown *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->c = c;
    s->kick_ev = event_new(c->b->base, -1, 0, kick_cb, s);
    if (!s->kick_ev) {
        free(s);
        return NULL;
    }
    return s;
}

void kb_ctl_shutdown_role_ended(kb_controller_t *c) {
    struct kb_ctl_shutdown *s = c->shutdown;
    if (!s) return;
    s->n_set = 0;
    while (s->waiting) answer(s->waiting, KP_ERR_NOT_CONTROLLER);
}

void kb_ctl_shutdown_free(struct kb_ctl_shutdown *s) {
    if (!s) return;
    while (s->waiting) answer(s->waiting, KP_ERR_NOT_CONTROLLER);
    event_free(s->kick_ev);
    free(s->set);
    free(s);
}

/* ---- requests ---- */

static int32_t wait_ms(const kb_controller_t *c) {
    int32_t half = c->b->cfg->controller_socket_timeout_ms / 2;
    return half > 0 && half < KB_CTL_SHUTDOWN_WAIT_MS ? half : KB_CTL_SHUTDOWN_WAIT_MS;
}

int kb_controller_controlled_shutdown(kb_controller_t *c, int32_t broker_id, int64_t broker_epoch,
                                      kb_ctl_shutdown_reply_fn done, void *arg) {
    struct kb_ctl_shutdown *s = c->shutdown;
    request_t *q = calloc(1, sizeof(*q));
    if (!q || !(q->deadline = evtimer_new(c->b->base, deadline_cb, q))) {
        free(q);
        return -1;
    }
    *q = (request_t){.next = s->waiting, .s = s, .broker = broker_id, .epoch = broker_epoch,
                     .deadline = q->deadline, .done = done, .arg = arg};
    int32_t ms = wait_ms(c);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(q->deadline, &tv);
    s->waiting = q;
    event_active(s->kick_ev, EV_TIMEOUT, 0);
    return 0;
}

void kb_controller_controlled_shutdown_cancel(kb_controller_t *c, void *arg) {
    struct kb_ctl_shutdown *s = c->shutdown;
    request_t **pp = &s->waiting;
    while (*pp) {
        request_t *q = *pp;
        if (q->arg == arg) {
            *pp = q->next;
            request_free(q);
        } else {
            pp = &q->next;
        }
    }
}

/* ---- RPC ---- */

static void rpc_reply(const Kbroker__Rpc__ControlledShutdownResponse *resp, void *arg) {
    kb_rpc_respond(arg, resp->error_code, &resp->base, NULL, NULL, 0);
}

static void rpc_refuse(kb_rpc_req_t *req, int16_t err) {
    Kbroker__Rpc__ControlledShutdownResponse resp = KBROKER__RPC__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    resp.error_code = err;
    kb_rpc_respond(req, err, &resp.base, NULL, NULL, 0);
}

/* Admission: a broker asks for itself only (the Hello names who it is). */
static void on_controlled_shutdown(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                                   size_t n_slices, void *arg) {
    kb_broker_t *b = arg;
    const Kbroker__Rpc__ControlledShutdownRequest *r = (const Kbroker__Rpc__ControlledShutdownRequest *)body;
    kb_rpc_identity_t peer = kb_rpc_req_peer(req);
    if (!b->controller || !kb_controller_active(b->controller)) {
        rpc_refuse(req, KP_ERR_NOT_CONTROLLER);
    } else if (r->broker_id != peer.broker_id) {
        kc_log_limited(&b->controller->shutdown->log_limit, SHUTDOWN_LOG_MS, KC_LOG_WARN, "controller",
                       "controlled shutdown request for broker %d refused: its connection's Hello named broker %d",
                       (int)r->broker_id, (int)peer.broker_id);
        rpc_refuse(req, KP_ERR_INVALID_REQUEST);
    } else if (kb_controller_controlled_shutdown(b->controller, r->broker_id, r->broker_epoch, rpc_reply, req) != 0) {
        rpc_refuse(req, KP_ERR_UNKNOWN_SERVER_ERROR);
    }
}

size_t kb_controller_rpc_handlers(kb_broker_t *b, kb_rpc_handler_t *out, size_t room) {
    if (room < 1) return 0;
    out[0] = (kb_rpc_handler_t){KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN, on_controlled_shutdown, b};
    return 1;
}
