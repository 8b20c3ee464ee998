/*
 * test_ctl_queue.c - the controller's requests to brokers
 * (broker/controller/kb_ctl_queue.c, kb_ctl_fanout.c, kb_ctl_requests.c)
 * over a fake transport that records every connection, call and retry
 * timer and answers (or fires) only when a test says so: LeaderAndIsr
 * before UpdateMetadata, one request in flight, retry after a lost
 * connection (with what was queued since merged in), after a timeout on a
 * new connection, after a refusal (an answer with an error code) or a
 * build out of memory with a growing backoff, a burst of 10,000
 * changes leaving as a few requests, a queue dropped when its broker's
 * epoch changes or the broker leaves (the new incarnation getting the full
 * state), the partitions examined after a broker change being only its
 * own, and the contents of both requests for a small cluster, checked after
 * a protobuf pack and unpack.  StopReplica (a topic's deletion): after
 * LeaderAndIsr and UpdateMetadata, a stop and a delete merged, Kafka's
 * leader epochs (-2 for a topic being deleted), leader -2 in
 * UpdateMetadata and no LeaderAndIsr for such a topic, each partition of
 * an answer reported, and a failed or unanswered delete sent again after
 * its retry delay without holding up the queue.  The cluster is
 * tests/unit/viewfix.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/controller/kb_ctl_fanout.h"
#include "broker/controller/kb_ctl_queue.h"
#include "tests/unit/stderrfix.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

/* ---- the fake transport ---- */

#define MAX_CONNS 32
#define MAX_CALLS 256

typedef struct fake_conn {
    kb_ctl_peer_t peer;
    bool open;
} fake_conn_t;

typedef struct fake_call {
    fake_conn_t *conn;
    int32_t broker;
    Kbroker__Rpc__Method method;
    int32_t timeout_ms;
    kb_ctl_reply_fn done;
    void *arg;
    bool pending;
    ProtobufCMessage *msg; /* the request as the broker would unpack it */
} fake_call_t;

/* A retry timer; allocated, so one a queue forgets is a leak ASan reports. */
typedef struct fake_timer {
    void (*fire)(void *arg);
    void *arg;
    bool armed;
    int32_t ms;
} fake_timer_t;

static struct {
    fake_conn_t conns[MAX_CONNS];
    int n_conns, n_closed, connects_failed;
    fake_call_t calls[MAX_CALLS];
    int n_calls;
    fake_timer_t *timers[MAX_CONNS];
    int n_timers;
    bool fail_connect;       /* connect returns NULL */
    bool timeout_keeps_call; /* a timed-out call is still held, so a close cancels it again */
    int build_oom;           /* the next builds that run out of memory */
    bool build_nothing;      /* LeaderAndIsr batches have nothing worth sending */
} fx;

static void *fake_connect(void *arg, const kb_ctl_peer_t *peer) {
    if (fx.fail_connect) {
        fx.connects_failed++;
        return NULL;
    }
    ck_assert_int_lt(fx.n_conns, MAX_CONNS);
    fake_conn_t *c = &fx.conns[fx.n_conns++];
    *c = (fake_conn_t){.peer = *peer, .open = true};
    c->peer.host = NULL; /* the queue's copy dies with it */
    return c;
}

/* Packs msg and unpacks it as the broker would, so every request checked is
 * also a valid message. */
static ProtobufCMessage *round_trip(Kbroker__Rpc__Method m, const ProtobufCMessage *msg) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(protobuf_c_message_pack(msg, buf), n);
    const ProtobufCMessageDescriptor *d = m == KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR
                                              ? &kbroker__rpc__leader_and_isr_request__descriptor
                                          : m == KBROKER__RPC__METHOD__METHOD_STOP_REPLICA
                                              ? &kbroker__rpc__stop_replica_request__descriptor
                                              : &kbroker__rpc__update_metadata_request__descriptor;
    ProtobufCMessage *out = protobuf_c_message_unpack(d, NULL, n, buf);
    free(buf);
    ck_assert_ptr_nonnull(out);
    return out;
}

static int fake_call(void *conn, Kbroker__Rpc__Method method, const ProtobufCMessage *msg, int32_t timeout_ms,
                     kb_ctl_reply_fn done, void *done_arg) {
    fake_conn_t *c = conn;
    ck_assert(c->open);
    ck_assert_int_lt(fx.n_calls, MAX_CALLS);
    fx.calls[fx.n_calls++] = (fake_call_t){.conn = c, .broker = c->peer.broker_id, .method = method,
                                           .timeout_ms = timeout_ms, .done = done, .arg = done_arg,
                                           .pending = true, .msg = round_trip(method, msg)};
    return 0;
}

static void fake_close(void *conn) {
    fake_conn_t *c = conn;
    c->open = false;
    fx.n_closed++;
    for (int i = 0; i < fx.n_calls; i++)
        if (fx.calls[i].pending && fx.calls[i].conn == c) {
            fx.calls[i].pending = false;
            fx.calls[i].done(KB_CTL_CANCELLED, 0, NULL, fx.calls[i].arg);
        }
}

static void *fake_timer_new(void *arg, void (*fire)(void *fire_arg), void *fire_arg) {
    ck_assert_int_lt(fx.n_timers, MAX_CONNS);
    fake_timer_t *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    *t = (fake_timer_t){.fire = fire, .arg = fire_arg};
    fx.timers[fx.n_timers++] = t;
    return t;
}

static int fake_timer_arm(void *timer, int32_t ms) {
    fake_timer_t *t = timer;
    t->armed = true;
    t->ms = ms;
    return 0;
}

static void fake_timer_free(void *timer) {
    for (int i = 0; i < fx.n_timers; i++)
        if (fx.timers[i] == timer) {
            fx.timers[i] = fx.timers[--fx.n_timers];
            free(timer);
            return;
        }
    ck_abort_msg("freeing a timer that is not ours");
}

static const kb_ctl_transport_t fake = {.connect = fake_connect, .call = fake_call, .close = fake_close,
                                        .timer_new = fake_timer_new, .timer_arm = fake_timer_arm,
                                        .timer_free = fake_timer_free};

/* Answers call i (a timeout leaves it held when fx.timeout_keeps_call). */
static void reply(int i, kb_ctl_status_t st, int32_t error_code) {
    ck_assert_int_lt(i, fx.n_calls);
    ck_assert(fx.calls[i].pending);
    fx.calls[i].pending = st == KB_CTL_TIMEOUT && fx.timeout_keeps_call;
    fx.calls[i].done(st, error_code, NULL, fx.calls[i].arg);
}

/* The delay of the one armed timer, or -1 when none is. */
static int32_t armed_ms(void) {
    int32_t ms = -1;
    for (int i = 0; i < fx.n_timers; i++)
        if (fx.timers[i]->armed) {
            ck_assert_int_eq(ms, -1);
            ms = fx.timers[i]->ms;
        }
    return ms;
}

/* Fires the one armed timer, as the loop would once its delay passed. */
static void fire_timer(void) {
    for (int i = 0; i < fx.n_timers; i++)
        if (fx.timers[i]->armed) {
            fx.timers[i]->armed = false;
            fx.timers[i]->fire(fx.timers[i]->arg);
            return;
        }
    ck_abort_msg("no timer armed");
}

static int pending_calls(void) {
    int n = 0;
    for (int i = 0; i < fx.n_calls; i++) n += fx.calls[i].pending;
    return n;
}

static void fx_reset(void) {
    ck_assert_int_eq(fx.n_timers, 0); /* every queue freed its timer */
    for (int i = 0; i < fx.n_calls; i++) protobuf_c_message_free_unpacked(fx.calls[i].msg, NULL);
    memset(&fx, 0, sizeof(fx));
}

static bool is_lai(const fake_call_t *c) { return c->method == KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR; }

static const Kbroker__Rpc__LeaderAndIsrRequest *lai(int i) {
    ck_assert(is_lai(&fx.calls[i]));
    return (const Kbroker__Rpc__LeaderAndIsrRequest *)fx.calls[i].msg;
}

static const Kbroker__Rpc__UpdateMetadataRequest *um(int i) {
    ck_assert(!is_lai(&fx.calls[i]));
    return (const Kbroker__Rpc__UpdateMetadataRequest *)fx.calls[i].msg;
}

/* The partition indexes a call carries, sorted, in out; returns the count. */
static int call_partitions(int i, int32_t *out, int max) {
    Kbroker__Rpc__PartitionState **ps = is_lai(&fx.calls[i]) ? lai(i)->partition_states : um(i)->partition_states;
    int n = (int)(is_lai(&fx.calls[i]) ? lai(i)->n_partition_states : um(i)->n_partition_states);
    ck_assert_int_le(n, max);
    for (int k = 0; k < n; k++) {
        int32_t v = ps[k]->partition_index;
        int j = k;
        for (; j > 0 && out[j - 1] > v; j--) out[j] = out[j - 1];
        out[j] = v;
    }
    return n;
}

static void assert_partitions(int call, const int32_t *want, int n) {
    int32_t got[64];
    ck_assert_int_eq(call_partitions(call, got, 64), n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(got[i], want[i]);
}

/* ---- a queue with a builder of its own: topic "t", partition = key ---- */

static int fake_build(const kb_ctl_batch_t *b, kb_ctl_arena_t *a, void *arg, const ProtobufCMessage **out) {
    *out = NULL;
    if (fx.build_oom > 0) {
        fx.build_oom--;
        return -1;
    }
    if (fx.build_nothing && b->kind == KB_CTL_LEADER_AND_ISR) return 0;
    Kbroker__Rpc__PartitionState **ps = kb_ctl_arena_alloc(a, (b->n + 1) * sizeof(*ps));
    ck_assert_ptr_nonnull(ps);
    for (size_t i = 0; i < b->n; i++) {
        ps[i] = kb_ctl_arena_alloc(a, sizeof(**ps));
        kbroker__rpc__partition_state__init(ps[i]);
        ps[i]->topic_name = "t";
        ps[i]->partition_index = kb_ctl_key_partition(b->keys[i]);
        ps[i]->is_new = (b->flags[i] & KB_CTL_F_NEW) != 0;
    }
    if (b->kind == KB_CTL_LEADER_AND_ISR) {
        Kbroker__Rpc__LeaderAndIsrRequest *r = kb_ctl_arena_alloc(a, sizeof(*r));
        kbroker__rpc__leader_and_isr_request__init(r);
        r->broker_epoch = b->broker_epoch;
        r->partition_states = ps;
        r->n_partition_states = b->n;
        *out = &r->base;
        return 0;
    }
    Kbroker__Rpc__UpdateMetadataRequest *r = kb_ctl_arena_alloc(a, sizeof(*r));
    kbroker__rpc__update_metadata_request__init(r);
    r->broker_epoch = b->broker_epoch;
    r->partition_states = ps;
    r->n_partition_states = b->n;
    *out = &r->base;
    return 0;
}

static kb_ctl_queue_t *new_queue(size_t max_batch) {
    kb_ctl_queue_opts_t o = {.peer = {.self_id = 1, .self_epoch = 10, .broker_id = 2, .broker_epoch = 20,
                                      .host = "127.0.0.1", .port = 9999},
                             .transport = &fake, .build = fake_build, .timeout_ms = 1234, .max_batch = max_batch};
    kb_ctl_queue_t *q = kb_ctl_queue_new(&o);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(fx.n_conns, 1);
    ck_assert_int_eq(fx.conns[0].peer.broker_id, 2);
    ck_assert_int_eq(fx.conns[0].peer.broker_epoch, 20);
    ck_assert_int_eq(fx.conns[0].peer.self_epoch, 10);
    return q;
}

static kb_ctl_key_t k(int32_t p) { return kb_ctl_key(0, p); }

START_TEST(leader_and_isr_leaves_before_update_metadata) {
    kb_ctl_queue_t *q = new_queue(0);
    ck_assert_int_eq(kb_ctl_queue_update_metadata(q, k(1)), 0);
    ck_assert_int_eq(kb_ctl_queue_leader_and_isr(q, k(2), true), 0);
    ck_assert_int_eq(fx.n_calls, 0); /* nothing leaves before a flush */
    kb_ctl_queue_flush(q);
    ck_assert_int_eq(fx.n_calls, 1);
    assert_partitions(0, (int32_t[]){2}, 1);
    ck_assert(lai(0)->partition_states[0]->is_new);
    ck_assert_int_eq(lai(0)->broker_epoch, 20);
    ck_assert_int_eq(fx.calls[0].timeout_ms, 1234);
    reply(0, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 2);
    assert_partitions(1, (int32_t[]){1}, 1);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 2);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(one_request_in_flight_at_a_time) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_flush(q);
    kb_ctl_queue_leader_and_isr(q, k(2), false);
    kb_ctl_queue_leader_and_isr(q, k(3), false);
    kb_ctl_queue_update_brokers(q);
    kb_ctl_queue_flush(q);
    kb_ctl_queue_flush(q);
    ck_assert_int_eq(fx.n_calls, 1);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert(st.in_flight);
    ck_assert_uint_eq(st.pending_leader_and_isr, 2);
    reply(0, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 2);
    assert_partitions(1, (int32_t[]){2, 3}, 2);
    ck_assert_int_eq(pending_calls(), 1);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3); /* the broker list, with no partition */
    assert_partitions(2, NULL, 0);
    reply(2, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(a_timed_out_request_is_sent_again_on_a_new_connection) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), true);
    kb_ctl_queue_flush(q);
    reply(0, KB_CTL_TIMEOUT, 0);
    /* The old connection may be stuck behind a peer that stopped reading:
     * it is closed and the retry leaves on a new one. */
    ck_assert_int_eq(fx.n_closed, 1);
    ck_assert(!fx.conns[0].open);
    ck_assert_int_eq(fx.n_conns, 2);
    ck_assert_int_eq(fx.conns[1].peer.broker_epoch, 20);
    ck_assert_int_eq(fx.n_calls, 2);
    ck_assert_ptr_eq(fx.calls[1].conn, &fx.conns[1]);
    assert_partitions(1, (int32_t[]){1}, 1);
    ck_assert(lai(1)->partition_states[0]->is_new); /* the flag survives the retry */
    reply(1, KB_CTL_BAD_RESPONSE, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    ck_assert_int_eq(fx.n_conns, 2); /* broker/rpc has dropped that connection itself */
    reply(2, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.retried, 2);
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_uint_eq(st.answered, 1);
    ck_assert_int_eq(armed_ms(), -1); /* no backoff after a timeout: it took long enough */
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* A transport that reported the timeout but still held the call cancels it
 * again when the queue closes the connection: the partitions go back once
 * and one retry leaves, on the new connection. */
START_TEST(a_timed_out_call_cancelled_by_the_reconnect_is_not_put_back_twice) {
    kb_ctl_queue_t *q = new_queue(0);
    fx.timeout_keeps_call = true;
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_leader_and_isr(q, k(2), false);
    kb_ctl_queue_update_metadata(q, k(3));
    kb_ctl_queue_flush(q);
    reply(0, KB_CTL_TIMEOUT, 0);
    ck_assert(!fx.calls[0].pending); /* cancelled by the close */
    ck_assert_int_eq(fx.n_calls, 2);
    ck_assert_int_eq(pending_calls(), 1);
    ck_assert_ptr_eq(fx.calls[1].conn, &fx.conns[1]);
    assert_partitions(1, (int32_t[]){1, 2}, 2);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.retried, 1);
    ck_assert(st.in_flight);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    assert_partitions(2, (int32_t[]){3}, 1);
    reply(2, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(a_reconnect_that_fails_is_tried_again_after_a_backoff) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_flush(q);
    fx.fail_connect = true;
    reply(0, KB_CTL_TIMEOUT, 0);
    ck_assert_int_eq(fx.connects_failed, 1);
    ck_assert_int_eq(fx.n_calls, 1);
    ck_assert_int_eq(armed_ms(), 50);
    kb_ctl_queue_flush(q); /* backing off: nothing */
    ck_assert_int_eq(fx.connects_failed, 1);
    fx.fail_connect = false;
    fire_timer();
    ck_assert_int_eq(fx.n_conns, 2);
    ck_assert_int_eq(fx.n_calls, 2);
    ck_assert_ptr_eq(fx.calls[1].conn, &fx.conns[1]);
    assert_partitions(1, (int32_t[]){1}, 1);
    reply(1, KB_CTL_OK, 0);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(a_disconnected_request_is_merged_with_what_was_queued_since) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_update_metadata(q, k(1));
    kb_ctl_queue_flush(q);
    kb_ctl_queue_update_metadata(q, k(2));
    kb_ctl_queue_update_metadata(q, k(1));
    kb_ctl_queue_leader_and_isr(q, k(5), false);
    reply(0, KB_CTL_DISCONNECTED, 0);
    ck_assert_int_eq(fx.n_conns, 1); /* broker/rpc reconnects by itself */
    /* Roles first, then the metadata of 1 and 2 in one request. */
    ck_assert_int_eq(fx.n_calls, 2);
    assert_partitions(1, (int32_t[]){5}, 1);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    assert_partitions(2, (int32_t[]){1, 2}, 2);
    reply(2, KB_CTL_OK, 0);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* The broker refused the whole request (its view of the election lags
 * ours, it ran out of memory, ...): sent again, merged with what was queued
 * since, after a backoff that doubles until an answer with error code 0. */
START_TEST(a_refused_request_is_sent_again_after_a_growing_backoff) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), true);
    kb_ctl_queue_flush(q);
    reply(0, KB_CTL_OK, 11 /* STALE_CONTROLLER_EPOCH */);
    ck_assert_int_eq(fx.n_calls, 1);
    ck_assert_int_eq(armed_ms(), 50);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.errors, 1);
    ck_assert_uint_eq(st.retried, 1);
    ck_assert(!st.in_flight);
    ck_assert(st.backing_off);
    ck_assert_uint_eq(st.pending_leader_and_isr, 1);
    kb_ctl_queue_leader_and_isr(q, k(2), false);
    kb_ctl_queue_flush(q); /* nothing leaves before the backoff */
    ck_assert_int_eq(fx.n_calls, 1);
    fire_timer();
    ck_assert_int_eq(fx.n_calls, 2);
    assert_partitions(1, (int32_t[]){1, 2}, 2);
    for (int i = 0; i < 2; i++) /* the flag survives the refusal */
        ck_assert(lai(1)->partition_states[i]->is_new == (lai(1)->partition_states[i]->partition_index == 1));
    const int32_t codes[] = {-1 /* UNKNOWN_SERVER_ERROR */, 77 /* STALE_BROKER_EPOCH */, 35};
    int32_t want_ms = 100;
    for (int i = 0; i < 3; i++, want_ms *= 2) {
        reply(fx.n_calls - 1, KB_CTL_OK, codes[i]);
        ck_assert_int_eq(armed_ms(), want_ms);
        fire_timer();
        assert_partitions(fx.n_calls - 1, (int32_t[]){1, 2}, 2);
    }
    reply(fx.n_calls - 1, KB_CTL_OK, 0);
    ck_assert_int_eq(armed_ms(), -1);
    ck_assert_int_eq(fx.n_calls, 5);
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.errors, 4);
    ck_assert_uint_eq(st.retried, 4);
    ck_assert_uint_eq(st.answered, 5);
    ck_assert_uint_eq(st.leader_and_isr_sent, 5);
    ck_assert_uint_eq(st.pending_leader_and_isr, 0);
    ck_assert(!st.backing_off);
    /* An accepted answer starts the backoff over. */
    kb_ctl_queue_leader_and_isr(q, k(3), false);
    kb_ctl_queue_flush(q);
    reply(5, KB_CTL_OK, 11);
    ck_assert_int_eq(armed_ms(), 50);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(the_backoff_stops_doubling_at_its_cap) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_update_brokers(q);
    kb_ctl_queue_flush(q);
    int32_t last = 0;
    for (int i = 0; i < 12; i++) {
        reply(fx.n_calls - 1, KB_CTL_OK, 11);
        int32_t ms = armed_ms();
        ck_assert_int_ge(ms, last);
        ck_assert_int_le(ms, 5000); /* RETRY_BACKOFF_MAX_MS */
        last = ms;
        fire_timer();
    }
    ck_assert_int_eq(last, 5000);
    reply(fx.n_calls - 1, KB_CTL_OK, 0);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* A refused UpdateMetadata with no partition still owes the broker list. */
START_TEST(a_refused_update_metadata_still_carries_the_broker_list) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_update_brokers(q);
    kb_ctl_queue_flush(q);
    reply(0, KB_CTL_OK, 11);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.pending_update_metadata, 1);
    /* Roles queued meanwhile still go first. */
    kb_ctl_queue_leader_and_isr(q, k(4), false);
    fire_timer();
    ck_assert_int_eq(fx.n_calls, 2);
    assert_partitions(1, (int32_t[]){4}, 1);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    assert_partitions(2, NULL, 0);
    reply(2, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 3);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* Freed (its broker left, or the role was lost) with a retry armed: the
 * timer goes with it (fx_reset checks, ASan would report the leak) and
 * nothing is sent. */
START_TEST(freeing_a_queue_with_a_retry_waiting_frees_its_timer) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_flush(q);
    reply(0, KB_CTL_OK, 11);
    ck_assert_int_eq(armed_ms(), 50);
    kb_ctl_queue_free(q);
    ck_assert_int_eq(fx.n_timers, 0);
    ck_assert_int_eq(fx.n_calls, 1);
    fx_reset();
}
END_TEST

/* Runs flush with stderr going to a file; returns how many lines the queue
 * logged about running out of memory building. */
static int oom_lines_logged(kb_ctl_queue_t *q, void (*step)(kb_ctl_queue_t *q)) {
    stderrfix_capture();
    step(q);
    return stderrfix_lines_with("out of memory building", "");
}

static void flush_then_fire_twice(kb_ctl_queue_t *q) {
    kb_ctl_queue_flush(q);
    ck_assert_int_eq(armed_ms(), 50);
    fire_timer();
    ck_assert_int_eq(armed_ms(), 100);
    fire_timer();
}

START_TEST(a_request_that_cannot_be_built_for_want_of_memory_stays_pending) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), true);
    kb_ctl_queue_update_metadata(q, k(2));
    fx.build_oom = 3;
    /* Three builds fail, each after a longer backoff, logged once. */
    ck_assert_int_eq(oom_lines_logged(q, flush_then_fire_twice), 1);
    ck_assert_int_eq(fx.n_calls, 0);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.pending_leader_and_isr, 1);
    ck_assert_uint_eq(st.pending_update_metadata, 1);
    ck_assert_uint_eq(st.retried, 3);
    ck_assert_int_eq(armed_ms(), 200);
    fire_timer();
    ck_assert_int_eq(fx.n_calls, 1);
    assert_partitions(0, (int32_t[]){1}, 1);
    ck_assert(lai(0)->partition_states[0]->is_new);
    reply(0, KB_CTL_OK, 0);
    assert_partitions(1, (int32_t[]){2}, 1);
    reply(1, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 2);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* A batch with nothing worth sending (its partitions moved away) is dropped
 * at once, with no backoff. */
START_TEST(a_batch_with_nothing_to_send_is_dropped) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_update_metadata(q, k(2));
    fx.build_nothing = true;
    kb_ctl_queue_flush(q);
    ck_assert_int_eq(fx.n_calls, 1);
    assert_partitions(0, (int32_t[]){2}, 1);
    ck_assert_int_eq(armed_ms(), -1);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(q, &st);
    ck_assert_uint_eq(st.pending_leader_and_isr, 0);
    ck_assert_uint_eq(st.retried, 0);
    reply(0, KB_CTL_OK, 0);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

/* 10,000 partitions changed twice each while one request is out leave as
 * two LeaderAndIsr and two UpdateMetadata of 5,000, not 20,000 requests. */
START_TEST(a_burst_is_coalesced_into_a_few_requests) {
    kb_ctl_queue_t *q = new_queue(5000);
    kb_ctl_queue_leader_and_isr(q, k(0), false);
    kb_ctl_queue_flush(q);
    for (int round = 0; round < 2; round++)
        for (int32_t p = 0; p < 10000; p++) {
            ck_assert_int_eq(kb_ctl_queue_leader_and_isr(q, k(p), false), 0);
            ck_assert_int_eq(kb_ctl_queue_update_metadata(q, k(p)), 0);
            kb_ctl_queue_flush(q);
        }
    ck_assert_int_eq(fx.n_calls, 1);
    for (int i = 0; i < 4; i++) reply(i, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 5);
    ck_assert_uint_eq(lai(1)->n_partition_states, 5000);
    ck_assert_uint_eq(lai(2)->n_partition_states, 5000);
    ck_assert_uint_eq(um(3)->n_partition_states, 5000);
    ck_assert_uint_eq(um(4)->n_partition_states, 5000);
    /* Every partition once per kind. */
    static bool seen[10000];
    memset(seen, 0, sizeof(seen));
    for (int i = 1; i <= 2; i++)
        for (size_t j = 0; j < 5000; j++) {
            int32_t p = lai(i)->partition_states[j]->partition_index;
            ck_assert(!seen[p]);
            seen[p] = true;
        }
    reply(4, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 5);
    kb_ctl_queue_free(q);
    fx_reset();
}
END_TEST

START_TEST(freeing_a_queue_cancels_its_request_without_a_retry) {
    kb_ctl_queue_t *q = new_queue(0);
    kb_ctl_queue_leader_and_isr(q, k(1), false);
    kb_ctl_queue_update_metadata(q, k(1));
    kb_ctl_queue_flush(q);
    kb_ctl_queue_free(q);
    ck_assert_int_eq(fx.n_closed, 1);
    ck_assert_int_eq(fx.n_calls, 1);
    ck_assert_int_eq(pending_calls(), 0);
    fx_reset();
}
END_TEST

/* ---- the fan-out over a small cluster ---- */

/*
 * Brokers 1, 2, 3 (epochs 101..103, RPC ports 9101..9103, PLAINTEXT
 * endpoints 9091..9093, broker 3 in rack "r3").  Topic "a": 2 partitions on
 * [1, 2], "b": 1 partition on [2, 3]; all with states.
 */
static void small_cluster(void) {
    viewfix_reset();
    for (int32_t id = 1; id <= 3; id++) {
        char host[32];
        snprintf(host, sizeof(host), "h%d", (int)id);
        viewfix_add_broker(id);
        viewfix_broker_details(id, 100 + id, host, 9100 + id, "PLAINTEXT", "PLAINTEXT", host, 9090 + id,
                               id == 3 ? "r3" : NULL);
    }
    viewfix_topic("a", 2, (int32_t[]){1, 2}, 2);
    viewfix_topic("b", 1, (int32_t[]){2, 3}, 2);
    viewfix_state("a", 0, 1, 4, (int32_t[]){1, 2}, 2);
    viewfix_state("a", 1, 2, 0, (int32_t[]){2}, 1);
    viewfix_state("b", 0, 3, 7, (int32_t[]){3, 2}, 2);
}

static kb_ctl_fanout_t *new_fanout(void) {
    kb_ctl_fanout_opts_t o = {.view = viewfix_view(), .transport = &fake, .controller_id = 1, .timeout_ms = 500};
    kb_ctl_fanout_t *f = kb_ctl_fanout_new(&o);
    ck_assert_ptr_nonnull(f);
    /* What the controller's first pass does: index every partition. */
    for (int t = 0; t < kc_view_topic_count(viewfix_view()); t++) {
        const kc_topic_t *topic = kc_view_topic_at(viewfix_view(), t);
        uint32_t tid = kb_ctl_fanout_topic(f, topic->name);
        for (int p = 0; p < topic->n_partitions; p++)
            kb_ctl_fanout_index(f, kb_ctl_key(tid, p), &topic->partitions[p]);
    }
    return f;
}

/* The call of broker id among calls [from, fx.n_calls) with method m, or -1. */
static int find_call(int from, int32_t id, bool want_lai) {
    for (int i = from; i < fx.n_calls; i++)
        if (fx.calls[i].broker == id && is_lai(&fx.calls[i]) == want_lai) return i;
    return -1;
}

static void answer_all(void) {
    for (int round = 0; round < 64 && pending_calls(); round++)
        for (int i = 0; i < fx.n_calls; i++)
            if (fx.calls[i].pending) reply(i, KB_CTL_OK, 0);
    ck_assert_int_eq(pending_calls(), 0);
}

static const Kbroker__Rpc__PartitionState *find_state(Kbroker__Rpc__PartitionState **ps, size_t n, const char *topic,
                                                      int32_t p) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ps[i]->topic_name, topic) && ps[i]->partition_index == p) return ps[i];
    return NULL;
}

static void assert_ints(const int32_t *got, size_t n, const int32_t *want, size_t n_want) {
    ck_assert_uint_eq(n, n_want);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(got[i], want[i]);
}

/* Start: each broker's LeaderAndIsr, the first request it gets. */
static void assert_start_roles(void) {
    /* Broker 2 hosts everything. */
    const Kbroker__Rpc__LeaderAndIsrRequest *r = lai(find_call(0, 2, true));
    ck_assert_int_eq(r->controller_id, 1);
    ck_assert_int_eq(r->controller_epoch, 9);
    ck_assert_int_eq(r->broker_epoch, 102);
    ck_assert_uint_eq(r->n_partition_states, 3);
    const Kbroker__Rpc__PartitionState *b0 = find_state(r->partition_states, 3, "b", 0);
    ck_assert_ptr_nonnull(b0);
    ck_assert_int_eq(b0->leader, 3);
    ck_assert_int_eq(b0->leader_epoch, 7);
    ck_assert_int_eq(b0->controller_epoch, 6);
    ck_assert_int_eq(b0->zk_version, 0);
    ck_assert(!b0->is_new);
    assert_ints(b0->isr, b0->n_isr, (int32_t[]){3, 2}, 2);
    assert_ints(b0->replicas, b0->n_replicas, (int32_t[]){2, 3}, 2);
    /* Leaders 1, 2 and 3, each once, at their RPC listeners. */
    ck_assert_uint_eq(r->n_live_leaders, 3);
    for (size_t i = 0; i < 3; i++) {
        int32_t id = r->live_leaders[i]->broker_id;
        ck_assert_int_eq(r->live_leaders[i]->port, 9100 + id);
        char host[32];
        snprintf(host, sizeof(host), "h%d", (int)id);
        ck_assert_str_eq(r->live_leaders[i]->host_name, host);
    }
    /* Broker 1 hosts only a's partitions; broker 3 only b's. */
    assert_partitions(find_call(0, 1, true), (int32_t[]){0, 1}, 2);
    ck_assert_uint_eq(lai(find_call(0, 3, true))->n_partition_states, 1);
    ck_assert_str_eq(lai(find_call(0, 3, true))->partition_states[0]->topic_name, "b");

}

/* Start: the UpdateMetadata each broker gets after its LeaderAndIsr. */
static void assert_start_metadata(int before) {
    const Kbroker__Rpc__UpdateMetadataRequest *m = um(find_call(before, 3, false));
    ck_assert_int_eq(m->broker_epoch, 103);
    ck_assert_int_eq(m->controller_epoch, 9);
    ck_assert_uint_eq(m->n_partition_states, 3);
    ck_assert_uint_eq(m->n_live_brokers, 3);
    for (size_t i = 0; i < 3; i++) {
        const Kbroker__Rpc__LiveBroker *lb = m->live_brokers[i];
        ck_assert_int_eq(lb->id, (int32_t)i + 1);
        ck_assert_uint_eq(lb->n_endpoints, 1);
        ck_assert_str_eq(lb->endpoints[0]->listener, "PLAINTEXT");
        ck_assert_int_eq(lb->endpoints[0]->port, 9091 + (int32_t)i);
        ck_assert_int_eq(lb->endpoints[0]->security_protocol, 0);
        ck_assert_str_eq(lb->rack, i == 2 ? "r3" : "");
    }
}

START_TEST(start_sends_each_broker_its_roles_then_everything) {
    small_cluster();
    /* The controller epoch a state was written with is the view's. */
    ((kc_topic_t *)kc_view_topic(viewfix_view(), "b"))->partitions[0].state.controller_epoch = 6;
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    ck_assert(kb_ctl_fanout_started(f));
    ck_assert_int_eq(fx.n_conns, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fx.conns[i].peer.broker_epoch, 101 + i);
        ck_assert_int_eq(fx.conns[i].peer.port, 9101 + i);
        ck_assert_int_eq(fx.conns[i].peer.self_id, 1);
        ck_assert_int_eq(fx.conns[i].peer.self_epoch, 101);
    }
    kb_ctl_fanout_flush(f);
    ck_assert_int_eq(fx.n_calls, 3); /* one in flight each: LeaderAndIsr first */
    for (int i = 0; i < 3; i++) ck_assert(is_lai(&fx.calls[i]));
    assert_start_roles();
    int before = fx.n_calls;
    for (int i = 0; i < before; i++) reply(i, KB_CTL_OK, 0);
    ck_assert_int_eq(fx.n_calls, 6);
    assert_start_metadata(before);
    answer_all();
    kb_ctl_fanout_free(f);
    ck_assert_int_eq(fx.n_closed, 3);
    fx_reset();
    viewfix_reset();
}
END_TEST

START_TEST(a_written_state_goes_to_its_replicas_and_its_metadata_to_all) {
    small_cluster();
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    answer_all();
    int from = fx.n_calls;
    /* The controller wrote b/0's state: leader 2, epoch 8, ISR [2]. */
    viewfix_state("b", 0, 2, 8, (int32_t[]){2}, 1);
    const kc_partition_t *part = &kc_view_topic(viewfix_view(), "b")->partitions[0];
    kb_ctl_key_t key = kb_ctl_key(kb_ctl_fanout_topic(f, "b"), 0);
    kb_ctl_fanout_state_written(f, key, part, false);
    kb_ctl_fanout_flush(f);
    ck_assert_int_eq(find_call(from, 1, true), -1); /* broker 1 hosts no replica of b */
    int to2 = find_call(from, 2, true), to3 = find_call(from, 3, true);
    ck_assert_int_ge(to2, 0);
    ck_assert_int_ge(to3, 0);
    ck_assert_int_eq(lai(to2)->partition_states[0]->leader, 2);
    ck_assert_int_eq(lai(to2)->partition_states[0]->leader_epoch, 8);
    ck_assert_int_eq(lai(to2)->partition_states[0]->zk_version, 1);
    ck_assert_uint_eq(lai(to2)->n_live_leaders, 1);
    ck_assert_int_eq(lai(to2)->live_leaders[0]->broker_id, 2);
    int um1 = find_call(from, 1, false);
    ck_assert_int_ge(um1, 0);
    ck_assert_uint_eq(um(um1)->n_partition_states, 1);
    ck_assert_int_eq(um(um1)->partition_states[0]->leader, 2);
    answer_all();
    ck_assert_int_ge(find_call(from, 2, false), 0);
    ck_assert_int_ge(find_call(from, 3, false), 0);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

/* The examine callback's record. */
typedef struct examined {
    int n;
    char topic[16][8];
    int32_t partition[16];
} examined_t;

static void examine(const char *topic, int32_t partition, void *arg) {
    examined_t *e = arg;
    ck_assert_int_lt(e->n, 16);
    snprintf(e->topic[e->n], sizeof(e->topic[0]), "%s", topic);
    e->partition[e->n++] = partition;
}

START_TEST(a_departed_broker_loses_its_queue_and_only_its_partitions_are_examined) {
    small_cluster();
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    int to3 = find_call(0, 3, true);
    viewfix_remove_broker(3);
    examined_t e = {0};
    kb_ctl_fanout_brokers_changed(f, examine, &e);
    /* Its request in flight was cancelled, not retried; nothing more goes to it. */
    ck_assert(!fx.calls[to3].pending);
    ck_assert(!fx.conns[2].open);
    ck_assert_ptr_null(kb_ctl_fanout_queue(f, 3));
    ck_assert_int_eq(e.n, 1);
    ck_assert_str_eq(e.topic[0], "b");
    ck_assert_int_eq(e.partition[0], 0);
    int from = fx.n_calls;
    answer_all();
    ck_assert_int_eq(find_call(from, 3, true), -1);
    ck_assert_int_eq(find_call(from, 3, false), -1);
    /* The others hear of the broker list: 1, 2 only. */
    int um1 = find_call(from, 1, false);
    ck_assert_int_ge(um1, 0);
    int last1 = um1;
    for (int i = um1 + 1; i < fx.n_calls; i++)
        if (fx.calls[i].broker == 1) last1 = i;
    ck_assert_uint_eq(um(last1)->n_live_brokers, 2);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

START_TEST(a_new_broker_epoch_drops_the_queue_and_the_new_incarnation_gets_everything) {
    small_cluster();
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    answer_all();
    /* A write for a/1 queued to broker 2 but not yet sent ... */
    kb_ctl_key_t key = kb_ctl_key(kb_ctl_fanout_topic(f, "a"), 1);
    kb_ctl_fanout_state_written(f, key, &kc_view_topic(viewfix_view(), "a")->partitions[1], false);
    /* ... and broker 2 restarts (a larger czxid) before the flush. */
    viewfix_broker_details(2, 202, "h2", 9102, "PLAINTEXT", "PLAINTEXT", "h2", 9092, NULL);
    examined_t e = {0};
    int closed = fx.n_closed, conns = fx.n_conns, from = fx.n_calls;
    kb_ctl_fanout_brokers_changed(f, examine, &e);
    ck_assert_int_eq(fx.n_closed, closed + 1);
    ck_assert_int_eq(fx.n_conns, conns + 1);
    ck_assert_int_eq(fx.conns[conns].peer.broker_epoch, 202);
    ck_assert_int_eq(e.n, 3); /* a/0, a/1, b/0: each once although it left and joined */
    kb_ctl_fanout_flush(f);
    int first = find_call(from, 2, true);
    ck_assert_int_ge(first, 0);
    ck_assert_int_eq(lai(first)->broker_epoch, 202);
    ck_assert_uint_eq(lai(first)->n_partition_states, 3); /* the full state, not the one queued */
    answer_all();
    int m = find_call(from, 2, false);
    ck_assert_int_ge(m, 0);
    ck_assert_uint_eq(um(m)->n_partition_states, 3);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

START_TEST(losing_the_role_frees_every_queue) {
    small_cluster();
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    kb_ctl_fanout_stop(f);
    ck_assert(!kb_ctl_fanout_started(f));
    ck_assert_int_eq(fx.n_closed, 3);
    ck_assert_int_eq(pending_calls(), 0);
    ck_assert_int_eq(fx.n_calls, 3);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

START_TEST(a_new_partition_is_new_to_its_replicas) {
    small_cluster();
    kb_ctl_fanout_t *f = new_fanout();
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    answer_all();
    viewfix_topic("c", 1, (int32_t[]){3, 1}, 2);
    viewfix_state("c", 0, 3, 0, (int32_t[]){3, 1}, 2);
    const kc_partition_t *part = &kc_view_topic(viewfix_view(), "c")->partitions[0];
    kb_ctl_key_t key = kb_ctl_key(kb_ctl_fanout_topic(f, "c"), 0);
    kb_ctl_fanout_index(f, key, part);
    kb_ctl_fanout_state_written(f, key, part, true);
    int from = fx.n_calls;
    kb_ctl_fanout_flush(f);
    ck_assert_int_eq(find_call(from, 2, true), -1);
    ck_assert(lai(find_call(from, 1, true))->partition_states[0]->is_new);
    ck_assert(lai(find_call(from, 3, true))->partition_states[0]->is_new);
    answer_all();
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

/* The builders tell nothing to send (0 and no request) from out of memory
 * (-1), which the queue treats differently. */
START_TEST(a_leader_and_isr_for_a_broker_hosting_none_of_its_partitions_is_nothing_to_send) {
    small_cluster();
    kb_ctl_names_t *names = kb_ctl_names_new();
    ck_assert_ptr_nonnull(names);
    kb_ctl_key_t key = kb_ctl_key(kb_ctl_names_intern(names, "b"), 0);
    uint8_t flags = 0;
    kb_ctl_source_t src = {.view = viewfix_view(), .names = names, .controller_id = 1, .controller_epoch = 9};
    kb_ctl_batch_t b = {.kind = KB_CTL_LEADER_AND_ISR, .broker_id = 1, .broker_epoch = 101, .keys = &key,
                        .flags = &flags, .n = 1};
    kb_ctl_arena_t a = {0};
    Kbroker__Rpc__LeaderAndIsrRequest *r = NULL;
    ck_assert_int_eq(kb_ctl_build_leader_and_isr(&src, &b, &a, &r), 0); /* b/0 is on 2 and 3 */
    ck_assert_ptr_null(r);
    b.broker_id = 2;
    ck_assert_int_eq(kb_ctl_build_leader_and_isr(&src, &b, &a, &r), 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->n_partition_states, 1);
    Kbroker__Rpc__UpdateMetadataRequest *m = NULL;
    b.kind = KB_CTL_UPDATE_METADATA;
    b.n = 0;
    ck_assert_int_eq(kb_ctl_build_update_metadata(&src, &b, &a, &m), 0); /* the broker list alone */
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_live_brokers, 3);
    kb_ctl_arena_clear(&a);
    kb_ctl_names_free(names);
    viewfix_reset();
}
END_TEST

/* ---- StopReplica ---- */

static bool is_method(const fake_call_t *c, Kbroker__Rpc__Method m) { return c->method == m; }

static const Kbroker__Rpc__StopReplicaRequest *sr(int i) {
    ck_assert(is_method(&fx.calls[i], KBROKER__RPC__METHOD__METHOD_STOP_REPLICA));
    return (const Kbroker__Rpc__StopReplicaRequest *)fx.calls[i].msg;
}

/* The call of broker id among calls [from, fx.n_calls) with method m, or -1. */
static int find_method(int from, int32_t id, Kbroker__Rpc__Method m) {
    for (int i = from; i < fx.n_calls; i++)
        if (fx.calls[i].broker == id && is_method(&fx.calls[i], m)) return i;
    return -1;
}

static const Kbroker__Rpc__StopReplicaPartition *find_stop(int call, const char *topic, int32_t p) {
    const Kbroker__Rpc__StopReplicaRequest *r = sr(call);
    for (size_t i = 0; i < r->n_partitions; i++)
        if (!strcmp(r->partitions[i]->topic_name, topic) && r->partitions[i]->partition_index == p)
            return r->partitions[i];
    return NULL;
}

/* Answers call i (StopReplica, or LeaderAndIsr when lai) with the given
 * per-partition errors (in (topic, partition, error) order; n may leave
 * partitions out). */
static void reply_errors(int i, bool lai, const char **topics, const int32_t *parts, const int32_t *errors, size_t n) {
    Kbroker__Rpc__PartitionError e[8], *ep[8];
    Kbroker__Rpc__StopReplicaResponse r = KBROKER__RPC__STOP_REPLICA_RESPONSE__INIT;
    Kbroker__Rpc__LeaderAndIsrResponse l = KBROKER__RPC__LEADER_AND_ISR_RESPONSE__INIT;
    ck_assert_uint_le(n, 8);
    for (size_t k = 0; k < n; k++) {
        kbroker__rpc__partition_error__init(&e[k]);
        e[k].topic_name = (char *)topics[k];
        e[k].partition_index = parts[k];
        e[k].error_code = errors[k];
        ep[k] = &e[k];
    }
    r.partition_errors = l.partition_errors = ep;
    r.n_partition_errors = l.n_partition_errors = n;
    ck_assert(fx.calls[i].pending);
    fx.calls[i].pending = false;
    fx.calls[i].done(KB_CTL_OK, 0, lai ? &l.base : &r.base, fx.calls[i].arg);
}

static void reply_stops(int i, const char **topics, const int32_t *parts, const int32_t *errors, size_t n) {
    reply_errors(i, false, topics, parts, errors, n);
}

/* What the fan-out's callbacks saw: topic "b" is being deleted. */
static struct {
    int n;
    kb_ctl_stopped_t seen[16];
    int n_refused;
    kb_ctl_refused_t refused[16];
    char refused_topic[16][8];
} stops;

static bool b_deleting(const char *topic, void *arg) { return !strcmp(topic, "b"); }

static void record_stop(const kb_ctl_stopped_t *s, void *arg) {
    ck_assert_int_lt(stops.n, 16);
    stops.seen[stops.n++] = *s;
}

static void record_refusal(const kb_ctl_refused_t *r, void *arg) {
    ck_assert_int_lt(stops.n_refused, 16);
    snprintf(stops.refused_topic[stops.n_refused], sizeof(stops.refused_topic[0]), "%s", r->topic);
    stops.refused[stops.n_refused] = *r;
    stops.refused[stops.n_refused].topic = stops.refused_topic[stops.n_refused]; /* r->topic lives in the call */
    stops.n_refused++;
}

static kb_ctl_fanout_t *deleting_fanout(void) {
    kb_ctl_fanout_opts_t o = {.view = viewfix_view(), .transport = &fake, .controller_id = 1, .timeout_ms = 500,
                              .deleting = b_deleting, .stopped = record_stop, .refused = record_refusal};
    kb_ctl_fanout_t *f = kb_ctl_fanout_new(&o);
    ck_assert_ptr_nonnull(f);
    memset(&stops, 0, sizeof(stops));
    for (int t = 0; t < kc_view_topic_count(viewfix_view()); t++) {
        const kc_topic_t *topic = kc_view_topic_at(viewfix_view(), t);
        uint32_t tid = kb_ctl_fanout_topic(f, topic->name);
        for (int p = 0; p < topic->n_partitions; p++)
            kb_ctl_fanout_index(f, kb_ctl_key(tid, p), &topic->partitions[p]);
    }
    kb_ctl_fanout_start(f, 9);
    kb_ctl_fanout_flush(f);
    answer_all();
    return f;
}

START_TEST(stop_replica_leaves_last_with_kafkas_epochs_and_a_stop_merged_into_the_delete) {
    small_cluster();
    kb_ctl_fanout_t *f = deleting_fanout();
    uint32_t a = kb_ctl_fanout_topic(f, "a"), b = kb_ctl_fanout_topic(f, "b");
    int64_t epoch = 0;
    int from = fx.n_calls;
    ck_assert(kb_ctl_fanout_stop_replica(f, 2, kb_ctl_key(a, 0), false, &epoch));
    ck_assert_int_eq(epoch, 102);
    ck_assert(kb_ctl_fanout_stop_replica(f, 2, kb_ctl_key(b, 0), false, &epoch));
    ck_assert(kb_ctl_fanout_stop_replica(f, 2, kb_ctl_key(b, 0), true, &epoch));
    kb_ctl_fanout_state_written(f, kb_ctl_key(a, 1), &kc_view_topic(viewfix_view(), "a")->partitions[1], false);
    ck_assert(!kb_ctl_fanout_stop_replica(f, 7, kb_ctl_key(a, 0), true, &epoch)); /* no such broker */
    kb_ctl_fanout_flush(f);
    int first = find_call(from, 2, true);
    ck_assert_int_ge(first, 0); /* LeaderAndIsr first, then UpdateMetadata, then the stops */
    reply(first, KB_CTL_OK, 0);
    int m = find_method(from, 2, KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA);
    ck_assert_int_gt(m, first);
    reply(m, KB_CTL_OK, 0);
    int s = find_method(from, 2, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA);
    ck_assert_int_gt(s, m);
    ck_assert_int_eq(sr(s)->controller_epoch, 9);
    ck_assert_int_eq(sr(s)->broker_epoch, 102);
    ck_assert_uint_eq(sr(s)->n_partitions, 2);
    const Kbroker__Rpc__StopReplicaPartition *a0 = find_stop(s, "a", 0), *b0 = find_stop(s, "b", 0);
    ck_assert(a0 && !a0->delete_partition && a0->leader_epoch == 4); /* its current leader epoch */
    ck_assert(b0 && b0->delete_partition && b0->leader_epoch == -2); /* being deleted */
    reply_stops(s, (const char *[]){"a", "b"}, (int32_t[]){0, 0}, (int32_t[]){0, 0}, 2);
    ck_assert_int_eq(stops.n, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(stops.seen[i].broker_id, 2);
        ck_assert_int_eq(stops.seen[i].broker_epoch, 102);
        ck_assert_int_eq(stops.seen[i].error, 0);
        ck_assert(stops.seen[i].deleted == (stops.seen[i].key == kb_ctl_key(b, 0)));
    }
    answer_all(); /* the other brokers' requests for a/1 */
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

/* A topic being deleted: no LeaderAndIsr for its partitions, leader -2 in
 * every UpdateMetadata (Kafka's LeaderDuringDelete). */
START_TEST(a_topic_being_deleted_gets_no_roles_and_leader_minus_2_in_metadata) {
    small_cluster();
    kb_ctl_fanout_t *f = deleting_fanout();
    /* The start sent broker 3, which hosts only b, no LeaderAndIsr at all. */
    ck_assert_int_eq(find_call(0, 3, true), -1);
    const Kbroker__Rpc__LeaderAndIsrRequest *r = lai(find_call(0, 2, true));
    ck_assert_uint_eq(r->n_partition_states, 2);
    ck_assert_ptr_null(find_state(r->partition_states, r->n_partition_states, "b", 0));
    const Kbroker__Rpc__UpdateMetadataRequest *m = um(find_method(0, 1, KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA));
    ck_assert_int_eq(find_state(m->partition_states, m->n_partition_states, "b", 0)->leader, -2);
    ck_assert_int_eq(find_state(m->partition_states, m->n_partition_states, "a", 0)->leader, 1);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

START_TEST(a_failed_or_unanswered_delete_is_sent_again_without_holding_up_the_queue) {
    small_cluster();
    kb_ctl_fanout_t *f = deleting_fanout();
    uint32_t b = kb_ctl_fanout_topic(f, "b"), a = kb_ctl_fanout_topic(f, "a");
    int64_t epoch;
    int from = fx.n_calls;
    kb_ctl_fanout_stop_replica(f, 2, kb_ctl_key(b, 0), true, &epoch);
    kb_ctl_fanout_stop_replica(f, 2, kb_ctl_key(a, 1), true, &epoch);
    kb_ctl_fanout_flush(f);
    int s = find_method(from, 2, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA);
    ck_assert_uint_eq(sr(s)->n_partitions, 2);
    /* b/0 fails (a storage error), a/1 is left out of the answer. */
    reply_stops(s, (const char *[]){"b"}, (int32_t[]){0}, (int32_t[]){56}, 1);
    ck_assert_int_eq(stops.n, 2);
    ck_assert(stops.seen[0].error == 56 && stops.seen[1].error == -1);
    kb_ctl_queue_stats_t st;
    kb_ctl_queue_stats(kb_ctl_fanout_queue(f, 2), &st);
    ck_assert_uint_eq(st.deletes_retried, 2);
    ck_assert_uint_eq(st.pending_stop_replica, 2);
    ck_assert_int_eq(armed_ms(), 1000);
    /* Meanwhile the queue's other requests are not held up. */
    int before = fx.n_calls;
    kb_ctl_fanout_metadata_changed(f, kb_ctl_key(a, 0));
    kb_ctl_fanout_flush(f);
    int m = find_method(before, 2, KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA);
    ck_assert_int_ge(m, 0);
    reply(m, KB_CTL_OK, 0);
    answer_all();
    ck_assert_int_eq(find_method(before, 2, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA), -1);
    fire_timer();
    int again = find_method(before, 2, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA);
    ck_assert_int_ge(again, 0);
    ck_assert_uint_eq(sr(again)->n_partitions, 2);
    ck_assert(find_stop(again, "b", 0)->delete_partition && find_stop(again, "a", 1)->delete_partition);
    reply_stops(again, (const char *[]){"a", "b"}, (int32_t[]){1, 0}, (int32_t[]){0, 0}, 2);
    ck_assert_int_eq(stops.n, 4);
    ck_assert(stops.seen[2].error == 0 && stops.seen[3].error == 0);
    kb_ctl_queue_stats(kb_ctl_fanout_queue(f, 2), &st);
    ck_assert_uint_eq(st.pending_stop_replica, 0);
    ck_assert_int_eq(armed_ms(), -1);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

/* A LeaderAndIsr answer's KAFKA_STORAGE_ERRORs are reported, with the
 * registration that answered; other errors and unknown names are not. */
START_TEST(leader_and_isr_storage_errors_are_reported_per_partition) {
    small_cluster();
    kb_ctl_fanout_t *f = deleting_fanout();
    uint32_t a = kb_ctl_fanout_topic(f, "a");
    int from = fx.n_calls;
    kb_ctl_fanout_state_written(f, kb_ctl_key(a, 0), &kc_view_topic(viewfix_view(), "a")->partitions[0], false);
    kb_ctl_fanout_state_written(f, kb_ctl_key(a, 1), &kc_view_topic(viewfix_view(), "a")->partitions[1], false);
    kb_ctl_fanout_flush(f);
    int l = find_call(from, 2, true);
    ck_assert_int_ge(l, 0);
    reply_errors(l, true, (const char *[]){"a", "a", "nosuch"}, (int32_t[]){0, 1, 0}, (int32_t[]){56, 6, 56}, 3);
    ck_assert_int_eq(stops.n_refused, 1);
    ck_assert_int_eq(stops.refused[0].broker_id, 2);
    ck_assert_int_eq(stops.refused[0].broker_epoch, 102);
    ck_assert_str_eq(stops.refused[0].topic, "a");
    ck_assert_int_eq(stops.refused[0].partition, 0);
    ck_assert_int_eq(stops.n, 0); /* not a StopReplica's outcome */
    answer_all();
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

/* A stop without delete that fails is reported, not retried. */
START_TEST(a_failed_stop_without_delete_is_reported_only) {
    small_cluster();
    kb_ctl_fanout_t *f = deleting_fanout();
    int64_t epoch;
    int from = fx.n_calls;
    kb_ctl_fanout_stop_replica(f, 1, kb_ctl_key(kb_ctl_fanout_topic(f, "a"), 0), false, &epoch);
    kb_ctl_fanout_flush(f);
    reply_stops(find_method(from, 1, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA), (const char *[]){"a", "zzz"},
                (int32_t[]){0, 0}, (int32_t[]){74, 0}, 2); /* a name it never sent is ignored */
    ck_assert_int_eq(stops.n, 1);
    ck_assert_int_eq(stops.seen[0].error, 74);
    ck_assert(!stops.seen[0].deleted);
    ck_assert_int_eq(armed_ms(), -1);
    ck_assert_int_eq(pending_calls(), 0);
    kb_ctl_fanout_free(f);
    fx_reset();
    viewfix_reset();
}
END_TEST

Suite *ctl_queue_suite(void) {
    Suite *s = suite_create("ctl_queue");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, leader_and_isr_leaves_before_update_metadata);
    tcase_add_test(tc, one_request_in_flight_at_a_time);
    tcase_add_test(tc, a_timed_out_request_is_sent_again_on_a_new_connection);
    tcase_add_test(tc, a_timed_out_call_cancelled_by_the_reconnect_is_not_put_back_twice);
    tcase_add_test(tc, a_reconnect_that_fails_is_tried_again_after_a_backoff);
    tcase_add_test(tc, a_disconnected_request_is_merged_with_what_was_queued_since);
    tcase_add_test(tc, a_refused_request_is_sent_again_after_a_growing_backoff);
    tcase_add_test(tc, the_backoff_stops_doubling_at_its_cap);
    tcase_add_test(tc, a_refused_update_metadata_still_carries_the_broker_list);
    tcase_add_test(tc, freeing_a_queue_with_a_retry_waiting_frees_its_timer);
    tcase_add_test(tc, a_request_that_cannot_be_built_for_want_of_memory_stays_pending);
    tcase_add_test(tc, a_batch_with_nothing_to_send_is_dropped);
    tcase_add_test(tc, a_burst_is_coalesced_into_a_few_requests);
    tcase_add_test(tc, freeing_a_queue_cancels_its_request_without_a_retry);
    suite_add_tcase(s, tc);
    tc = tcase_create("fanout");
    tcase_add_test(tc, start_sends_each_broker_its_roles_then_everything);
    tcase_add_test(tc, a_written_state_goes_to_its_replicas_and_its_metadata_to_all);
    tcase_add_test(tc, a_departed_broker_loses_its_queue_and_only_its_partitions_are_examined);
    tcase_add_test(tc, a_new_broker_epoch_drops_the_queue_and_the_new_incarnation_gets_everything);
    tcase_add_test(tc, losing_the_role_frees_every_queue);
    tcase_add_test(tc, a_new_partition_is_new_to_its_replicas);
    tcase_add_test(tc, a_leader_and_isr_for_a_broker_hosting_none_of_its_partitions_is_nothing_to_send);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_replica");
    tcase_add_test(tc, stop_replica_leaves_last_with_kafkas_epochs_and_a_stop_merged_into_the_delete);
    tcase_add_test(tc, a_topic_being_deleted_gets_no_roles_and_leader_minus_2_in_metadata);
    tcase_add_test(tc, a_failed_or_unanswered_delete_is_sent_again_without_holding_up_the_queue);
    tcase_add_test(tc, a_failed_stop_without_delete_is_reported_only);
    tcase_add_test(tc, leader_and_isr_storage_errors_are_reported_per_partition);
    suite_add_tcase(s, tc);
    return s;
}
