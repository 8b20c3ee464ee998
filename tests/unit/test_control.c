/*
 * test_control.c - the broker side of the controller's requests
 * (broker/kb_control_requests.c), its cores called directly with
 * protobuf-c requests built by hand: LeaderAndIsr gives roles (leader,
 * follower, hosting) and fences per partition (older leader epoch 74 for
 * that partition only, equal ignored), invalid names 17, bad indexes and
 * partitions not assigned here 3; admission refuses whole requests, which
 * then change nothing: from another sender than the controller they name
 * (41), for an older broker epoch or none (77), from an older controller
 * epoch than accepted or than ZooKeeper's (11), from another controller
 * than ZooKeeper's or above its epoch (41, so that no peer can wedge the
 * broker with a huge epoch); UpdateMetadata fills brokers, controller and
 * partitions, a later one replaces the broker list, leader -2 deletes a
 * topic whatever else the request says of it, interleaved states cost
 * n log n, and sizes beyond the bounds are refused (42); requests naming
 * what the view (ZooKeeper) does not hold are refused whole (3: a phantom
 * topic, an index past its count, replicas other than its assignment) and
 * applied once the view has it (the race with a new topic), and a topic
 * created again smaller is cut; StopReplica unhosts, fences and deletes,
 * also a topic the view no longer holds; a huge request's scratch is not
 * kept.
 *
 * Real logs in a temporary dir (logfix) and a view made by hand (viewfix)
 * for the topic settings, the assignments (topic T with 8 partitions on
 * {1, 2} unless a test says otherwise) and ZooKeeper's controller (broker
 * 2 at epoch 1 unless a test says otherwise).  This broker is id 1, its broker epoch
 * 100; requests come from broker 2 (`sender`) unless a test says
 * otherwise.
 * creations_done() runs the loop, bounded, until the logs created off the
 * loop exist.
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/kb_control_requests.h"
#include "broker/log/kb_log.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/metadata/kb_metadata_view.h"
#include "broker/replica/kb_replicas.h"
#include "broker/replica/kb_settings_view.h"
#include "coord/kc_topics.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "common/kc_log.h"
#include "tests/unit/stderrfix.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

#define ME 1
#define T "orders"

static kb_logmgr_t *logs;
static kb_replicas_t *replicas;
static kb_metadata_t *md;
static kb_control_t *ctl;
static int64_t my_epoch = 100;
static int32_t sender = 2; /* the broker id the request's connection's Hello named */

static int32_t me_and_2[] = {ME, 2};
static int32_t two_and_me[] = {2, ME};
static int32_t only_2[] = {2};

static int64_t epoch_of(void *arg) { return *(int64_t *)arg; }

static void setup(void) {
    logfix_setup("control");
    logfix_set("broker.id", "1");
    viewfix_reset();
    viewfix_controller(2, 1);
    viewfix_topic(T, 8, me_and_2, 2);
    sender = 2;
    logs = logfix_open();
    replicas = kb_replicas_new(&(kb_replicas_deps_t){.base = lf.base, .cfg = &lf.cfg, .logs = logs});
    md = kb_metadata_new();
    my_epoch = 100;
    ctl = kb_control_new(&(kb_control_deps_t){.replicas = replicas, .metadata = md, .cfg = &lf.cfg,
                                              .broker_epoch = epoch_of, .epoch_arg = &my_epoch,
                                              .view = viewfix_view()});
    ck_assert_ptr_nonnull(replicas);
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(ctl);
}

static void teardown(void) {
    kb_control_free(ctl);
    kb_metadata_free(md);
    kb_replicas_free(replicas);
    kb_logmgr_close(logs);
    viewfix_reset();
    logfix_teardown();
}

static void creations_done(void) {
    kb_log_stats_t st;
    time_t deadline = time(NULL) + 20;
    for (kb_logmgr_stats(logs, &st); st.log_creations_pending > 0 && time(NULL) < deadline; kb_logmgr_stats(logs, &st))
        event_base_loop(lf.base, EVLOOP_ONCE);
}

/* ---- building requests ---- */

static Kbroker__Rpc__PartitionState state(const char *topic, int32_t pid, int32_t leader, int32_t epoch,
                                          int32_t *replicas_, size_t n) {
    Kbroker__Rpc__PartitionState ps = KBROKER__RPC__PARTITION_STATE__INIT;
    ps.topic_name = (char *)topic;
    ps.partition_index = pid;
    ps.controller_epoch = 1;
    ps.leader = leader;
    ps.leader_epoch = epoch;
    ps.isr = replicas_;
    ps.n_isr = n;
    ps.zk_version = epoch;
    ps.replicas = replicas_;
    ps.n_replicas = n;
    return ps;
}

/* LeaderAndIsr of n states from controller epoch cepoch for broker epoch
 * bepoch; answers into *out (cleared by the caller). */
static int16_t lai(int32_t cepoch, int64_t bepoch, Kbroker__Rpc__PartitionState *st, size_t n,
                   Kbroker__Rpc__LeaderAndIsrResponse *out) {
    Kbroker__Rpc__PartitionState *ptrs[8];
    Kbroker__Rpc__LeaderAndIsrRequest req = KBROKER__RPC__LEADER_AND_ISR_REQUEST__INIT;
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) ptrs[i] = &st[i];
    req.controller_id = 2;
    req.controller_epoch = cepoch;
    req.broker_epoch = bepoch;
    req.partition_states = ptrs;
    req.n_partition_states = n;
    int16_t err = kb_control_leader_and_isr(ctl, sender, &req, out);
    creations_done();
    return err;
}

/* One LeaderAndIsr partition, accepted; its partition error. */
static int16_t lai_one(Kbroker__Rpc__PartitionState st) {
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, my_epoch, &st, 1, &out), 0);
    ck_assert_uint_eq(out.n_partition_errors, 1);
    int16_t code = (int16_t)out.partition_errors[0]->error_code;
    kb_control_response_clear(&out.base);
    return code;
}

static kb_partition_t *hosted(void) { return kb_replicas_get(replicas, T, 0); }

/* ---- LeaderAndIsr ---- */

START_TEST(leader_and_isr_gives_roles) {
    viewfix_assign(T, 1, two_and_me, 2);
    viewfix_topic("elsewhere", 1, only_2, 1);
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 3, me_and_2, 2), state(T, 1, 2, 3, two_and_me, 2),
                                         state("elsewhere", 0, 2, 0, only_2, 1)};
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, my_epoch, st, 3, &out), 0);
    ck_assert_int_eq(out.error_code, 0);
    ck_assert_uint_eq(out.n_partition_errors, 3);
    ck_assert_int_eq(out.partition_errors[0]->error_code, 0);
    ck_assert_int_eq(out.partition_errors[1]->error_code, 0);
    ck_assert_str_eq(out.partition_errors[2]->topic_name, "elsewhere");
    ck_assert_int_eq(out.partition_errors[2]->error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    kb_partition_t *p0 = hosted(), *p1 = kb_replicas_get(replicas, T, 1);
    ck_assert_ptr_nonnull(p0);
    ck_assert_ptr_nonnull(p1);
    ck_assert(kb_partition_is_leader(p0));
    ck_assert_int_eq(kb_partition_leader_epoch(p0), 3);
    ck_assert(!kb_partition_is_leader(p1));
    ck_assert_ptr_null(kb_replicas_get(replicas, "elsewhere", 0));
    ck_assert_int_eq(kb_control_controller_epoch(ctl), 1);
}
END_TEST

START_TEST(leader_and_isr_uses_topic_settings_from_the_view) {
    viewfix_topic(T, 1, me_and_2, 2);
    viewfix_topic_config(T, "max.message.bytes", "12345");
    ck_assert_int_eq(lai_one(state(T, 0, ME, 0, me_and_2, 2)), 0);
    ck_assert_ptr_nonnull(hosted());
    ck_assert_int_eq(kb_partition_max_message_bytes(hosted()), 12345);
}
END_TEST

START_TEST(stale_controller_epoch_changes_nothing) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    viewfix_controller(2, 5);
    ck_assert_int_eq(lai(5, my_epoch, &st, 1, &out), 0);
    kb_control_response_clear(&out.base);
    st = state(T, 0, 2, 4, me_and_2, 2); /* a newer leader epoch, from a deposed controller */
    ck_assert_int_eq(lai(4, my_epoch, &st, 1, &out), KP_ERR_STALE_CONTROLLER_EPOCH);
    ck_assert_int_eq(out.error_code, KP_ERR_STALE_CONTROLLER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert(kb_partition_is_leader(hosted()));
    ck_assert_int_eq(kb_partition_leader_epoch(hosted()), 3);
    ck_assert_int_eq(kb_control_controller_epoch(ctl), 5);
    /* The highest accepted fences even if the view reads an older
     * /controller_epoch (a ZooKeeper restored from a backup). */
    viewfix_controller(2, 3);
    ck_assert_int_eq(lai(4, my_epoch, &st, 1, &out), KP_ERR_STALE_CONTROLLER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(kb_partition_leader_epoch(hosted()), 3);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_stale_controller_epoch, 2);
    ck_assert_uint_eq(s.leader_and_isr, 1);
}
END_TEST

/* A controller below the epoch ZooKeeper holds is deposed, even before
 * the new one's first request arrived here. */
START_TEST(controller_epoch_below_zookeepers_is_stale) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    viewfix_controller(2, 5);
    ck_assert_int_eq(lai(4, my_epoch, &st, 1, &out), KP_ERR_STALE_CONTROLLER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert_ptr_null(hosted());
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_stale_controller_epoch, 1);
}
END_TEST

START_TEST(stale_broker_epoch_changes_nothing) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, 99, &st, 1, &out), KP_ERR_STALE_BROKER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(lai(1, -1, &st, 1, &out), KP_ERR_STALE_BROKER_EPOCH); /* -1 names no incarnation */
    kb_control_response_clear(&out.base);
    ck_assert_ptr_null(hosted());
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
    /* Newer than ours: the controller saw the registration first (Kafka
     * 2.6, KAFKA-9839). */
    ck_assert_int_eq(lai(1, my_epoch + 1, &st, 1, &out), 0);
    kb_control_response_clear(&out.base);
    ck_assert_ptr_nonnull(hosted());
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_stale_broker_epoch, 2);
}
END_TEST

/* kb_roles.h, "Resigning": a broker whose session expired took back its
 * roles; no request may give them back before it is registered again. */
START_TEST(lost_registration_refuses_every_broker_epoch_until_registered_again) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(kb_control_epoch_for(false, 0), -1); /* before the first registration */
    ck_assert_int_eq(kb_control_epoch_for(true, 100), 100);
    my_epoch = kb_control_epoch_for(false, 100);
    ck_assert_int_eq(lai(1, 100, &st, 1, &out), KP_ERR_STALE_BROKER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(lai(1, 101, &st, 1, &out), KP_ERR_STALE_BROKER_EPOCH);
    kb_control_response_clear(&out.base);
    ck_assert_ptr_null(hosted());
    my_epoch = kb_control_epoch_for(true, 101);
    ck_assert_int_eq(lai(1, 101, &st, 1, &out), 0);
    kb_control_response_clear(&out.base);
    ck_assert_ptr_nonnull(hosted());
}
END_TEST

START_TEST(older_leader_epoch_is_fenced_for_that_partition_only) {
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 5, me_and_2, 2), state(T, 1, ME, 5, me_and_2, 2)};
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), 0);
    kb_control_response_clear(&out.base);
    st[0] = state(T, 0, 2, 4, me_and_2, 2);
    st[1] = state(T, 1, 2, 6, me_and_2, 2);
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), 0);
    ck_assert_int_eq(out.partition_errors[0]->error_code, KP_ERR_FENCED_LEADER_EPOCH);
    ck_assert_int_eq(out.partition_errors[1]->error_code, 0);
    kb_control_response_clear(&out.base);
    ck_assert(kb_partition_is_leader(hosted()));
    ck_assert_int_eq(kb_partition_leader_epoch(hosted()), 5);
    ck_assert(!kb_partition_is_leader(kb_replicas_get(replicas, T, 1)));
    ck_assert_int_eq(kb_partition_leader_epoch(kb_replicas_get(replicas, T, 1)), 6);
}
END_TEST

START_TEST(equal_leader_epoch_is_ignored) {
    ck_assert_int_eq(lai_one(state(T, 0, ME, 5, me_and_2, 2)), 0);
    ck_assert_int_eq(lai_one(state(T, 0, 2, 5, me_and_2, 2)), 0);
    ck_assert(kb_partition_is_leader(hosted()));
    kb_roles_stats_t rs;
    kb_replicas_roles_stats(replicas, &rs);
    ck_assert_uint_eq(rs.ignored_same_epoch, 1);
}
END_TEST

START_TEST(invalid_names_and_indexes_are_refused) {
    ck_assert_int_eq(lai_one(state("bad name", 0, ME, 0, me_and_2, 2)), KP_ERR_INVALID_TOPIC_EXCEPTION);
    ck_assert_int_eq(lai_one(state("", 0, ME, 0, me_and_2, 2)), KP_ERR_INVALID_TOPIC_EXCEPTION);
    ck_assert_int_eq(lai_one(state(T, -1, ME, 0, me_and_2, 2)), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(lai_one(state(T, KC_TOPIC_MAX_PARTITIONS, ME, 0, me_and_2, 2)), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_null(kb_replicas_get(replicas, "bad name", 0));
}
END_TEST


/* ---- UpdateMetadata ---- */

typedef struct {
    Kbroker__Rpc__Endpoint ep;
    Kbroker__Rpc__Endpoint *eps[1];
    Kbroker__Rpc__LiveBroker b;
} live_t;

/* Registers broker id in the view with one PLAINTEXT endpoint, as live()
 * describes it. */
static void registered(int32_t id, const char *host, int32_t port) {
    viewfix_add_broker(id);
    viewfix_broker_details(id, 100 + id, "127.0.0.1", 9999, "PLAINTEXT", "PLAINTEXT", host, port, NULL);
}

static void live(live_t *l, int32_t id, const char *host, int32_t port) {
    kbroker__rpc__endpoint__init(&l->ep);
    l->ep.host = (char *)host;
    l->ep.port = port;
    l->ep.listener = "PLAINTEXT";
    l->eps[0] = &l->ep;
    kbroker__rpc__live_broker__init(&l->b);
    l->b.id = id;
    l->b.endpoints = l->eps;
    l->b.n_endpoints = 1;
    l->b.rack = "";
}

/* An UpdateMetadata from controller 2 at controller epoch cepoch, for
 * this broker's epoch, with the given brokers and states; the response's
 * code is the one returned. */
static int16_t um_send(int32_t cepoch, Kbroker__Rpc__LiveBroker **bp, size_t nb, Kbroker__Rpc__PartitionState **sp,
                       size_t n) {
    Kbroker__Rpc__UpdateMetadataRequest req = KBROKER__RPC__UPDATE_METADATA_REQUEST__INIT;
    Kbroker__Rpc__UpdateMetadataResponse out;
    req.controller_id = 2;
    req.controller_epoch = cepoch;
    req.broker_epoch = my_epoch;
    req.live_brokers = bp;
    req.n_live_brokers = nb;
    req.partition_states = sp;
    req.n_partition_states = n;
    int16_t err = kb_control_update_metadata(ctl, sender, &req, &out);
    ck_assert_int_eq(out.error_code, err);
    kb_control_response_clear(&out.base);
    return err;
}

/* The same from small arrays of brokers and states. */
static int16_t um(int32_t cepoch, live_t *brokers, size_t nb, Kbroker__Rpc__PartitionState *st, size_t n) {
    Kbroker__Rpc__LiveBroker *bp[4];
    Kbroker__Rpc__PartitionState *sp[8];
    ck_assert_uint_le(nb, 4);
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < nb; i++) bp[i] = &brokers[i].b;
    for (size_t i = 0; i < n; i++) sp[i] = &st[i];
    return um_send(cepoch, bp, nb, sp, n);
}

START_TEST(update_metadata_fills_the_cache) {
    live_t b[3];
    registered(1, "h1", 9092);
    registered(2, "h2", 9093);
    live(&b[0], 1, "h1", 9092);
    live(&b[1], 2, "h2", 9093);
    live(&b[2], 2, "h2", 9093); /* a repeated id keeps its first entry */
    viewfix_topic(T, 5, me_and_2, 2);
    viewfix_assign(T, 2, two_and_me, 2);
    viewfix_topic_config(T, "retention.ms", "1000");
    Kbroker__Rpc__PartitionState st[] = {state(T, 2, 2, 7, two_and_me, 2), state(T, 0, ME, 4, me_and_2, 2)};
    ck_assert(!kb_metadata_loaded(md));
    ck_assert_int_eq(um(1, b, 3, st, 2), 0);
    ck_assert(kb_metadata_loaded(md));
    ck_assert_int_eq(kb_metadata_controller(md), 2);
    ck_assert_int_eq(kb_metadata_broker_count(md), 2);
    ck_assert_str_eq(kb_metadata_broker(md, 2)->endpoints[0].host, "h2");
    ck_assert_ptr_null(kb_metadata_broker(md, 1)->rack);
    const kb_metadata_topic_t *t = kb_metadata_topic(md, T);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->n_partitions, 5); /* the view's count from the first state on, not 3 */
    ck_assert_int_eq(t->partitions[2].leader, 2);
    ck_assert_int_eq(t->partitions[2].leader_epoch, 7);
    ck_assert_int_eq(t->partitions[2].n_isr, 2);
    ck_assert_int_eq(t->partitions[0].leader, ME);
    ck_assert_int_eq(t->partitions[1].leader, -1); /* not named yet */
    ck_assert_int_eq(t->partitions[4].leader, -1);
    ck_assert_int_eq(t->n_configs, 1);             /* the view's overrides */
    ck_assert_str_eq(t->configs[0].key, "retention.ms");
    /* The next one replaces the broker list: broker 2 left. */
    viewfix_remove_broker(2);
    Kbroker__Rpc__PartitionState st2 = state(T, 4, ME, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, b, 1, &st2, 1), 0);
    ck_assert_int_eq(kb_metadata_broker_count(md), 1);
    ck_assert_ptr_null(kb_metadata_broker(md, 2));
    t = kb_metadata_topic(md, T);
    ck_assert_int_eq(t->n_partitions, 5);
    ck_assert_int_eq(t->partitions[2].leader_epoch, 7); /* untouched: not in the update */
    ck_assert_int_eq(t->n_configs, 1);
}
END_TEST

/* An index no topic can have sizes nothing (INT32_MAX + 1 would
 * overflow): the topic has the view's size. */
START_TEST(update_metadata_skips_impossible_indexes) {
    live_t b[1];
    registered(1, "h1", 9092);
    live(&b[0], 1, "h1", 9092);
    Kbroker__Rpc__PartitionState st[] = {state(T, INT32_MAX, ME, 0, me_and_2, 2), state(T, 1, ME, 0, me_and_2, 2),
                                         state(T, KC_TOPIC_MAX_PARTITIONS, ME, 0, me_and_2, 2)};
    ck_assert_int_eq(um(1, b, 1, st, 3), 0);
    const kb_metadata_topic_t *t = kb_metadata_topic(md, T);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->n_partitions, 8);
    ck_assert_int_eq(t->partitions[1].leader, ME);
}
END_TEST

START_TEST(update_metadata_is_fenced_and_deletes_topics) {
    live_t b[1];
    viewfix_controller(2, 3);
    registered(1, "h1", 9092);
    live(&b[0], 1, "h1", 9092);
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 4, me_and_2, 2);
    ck_assert_int_eq(um(3, b, 1, &st, 1), 0);
    st = state("other", 0, ME, 0, me_and_2, 2);
    ck_assert_int_eq(um(2, NULL, 0, &st, 1), KP_ERR_STALE_CONTROLLER_EPOCH);
    ck_assert_ptr_null(kb_metadata_topic(md, "other"));
    ck_assert_int_eq(kb_metadata_broker_count(md), 1);
    viewfix_remove_topic(T); /* its znode is gone ... */
    st = state(T, 0, -2, 4, me_and_2, 2); /* ... and the controller deletes it */
    ck_assert_int_eq(um(3, b, 1, &st, 1), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
}
END_TEST

/* Leader -2 deletes its topic, and deletion wins over every other state
 * of that topic in the same request, before it or after it. */
START_TEST(update_metadata_deletion_wins_within_a_request) {
    viewfix_topic("other", 1, me_and_2, 2);
    viewfix_remove_topic(T);
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 4, me_and_2, 2), state(T, 1, -2, 4, me_and_2, 2),
                                         state("other", 0, ME, 0, me_and_2, 2), state(T, 2, ME, 4, me_and_2, 2)};
    ck_assert_int_eq(um(1, NULL, 0, st, 4), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    ck_assert_ptr_nonnull(kb_metadata_topic(md, "other"));
    viewfix_topic(T, 8, me_and_2, 2);
    st[0] = state(T, 0, ME, 5, me_and_2, 2); /* created again, in a later request */
    ck_assert_int_eq(um(1, NULL, 0, st, 1), 0);
    ck_assert_int_eq(kb_metadata_topic(md, T)->n_partitions, 8); /* the view's */
    viewfix_remove_topic(T);
    st[0] = state(T, 0, -2, 5, me_and_2, 2);
    st[1] = state(T, 3, ME, 5, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, st, 2), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    ck_assert_ptr_nonnull(kb_metadata_topic(md, "other"));
}
END_TEST

/* Interleaved states: topic A's live states alternating with its -2
 * entries, then topics B and C alternating, each named at growing
 * indexes.  Taken one by one, every A state removed A and grew it again
 * to the largest index left (a scan and an allocation the size of the
 * request per state), and every B or C state regrew its topic by one: a
 * request this size took far longer than the test case's timeout.  It
 * must finish, and give what the grouping says. */
#define HALF 50000
START_TEST(update_metadata_cost_does_not_depend_on_state_order) {
    size_t n = 4 * HALF;
    Kbroker__Rpc__PartitionState *st = calloc(n, sizeof(*st));
    Kbroker__Rpc__PartitionState **sp = calloc(n, sizeof(*sp));
    ck_assert_ptr_nonnull(st);
    ck_assert_ptr_nonnull(sp);
    for (int32_t k = 0; k < HALF; k++) {
        st[2 * k] = state("A", k, ME, 1, me_and_2, 2);
        st[2 * k + 1] = state("A", k, -2, 1, me_and_2, 2);
        st[2 * HALF + 2 * k] = state("B", k, k % 2 ? ME : 2, 1, me_and_2, 2);
        st[2 * HALF + 2 * k + 1] = state("C", k, 2, k, me_and_2, 2);
    }
    for (size_t i = 0; i < n; i++) sp[i] = &st[i];
    viewfix_topic("B", HALF, me_and_2, 2);
    viewfix_topic("C", HALF, me_and_2, 2);
    ck_assert_int_eq(um_send(1, NULL, 0, sp, n), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, "A"));
    const kb_metadata_topic_t *b = kb_metadata_topic(md, "B"), *c = kb_metadata_topic(md, "C");
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(b->n_partitions, HALF);
    ck_assert_int_eq(c->n_partitions, HALF);
    ck_assert_int_eq(b->partitions[HALF - 1].leader, (HALF - 1) % 2 ? ME : 2);
    ck_assert_int_eq(c->partitions[HALF - 1].leader_epoch, HALF - 1);
    free(sp);
    free(st);
}
END_TEST

/* n live brokers from id 1, each with one endpoint, in arrays the caller
 * frees (*bp holds them). */
static live_t *many_brokers(size_t n, Kbroker__Rpc__LiveBroker ***bp) {
    live_t *b = calloc(n, sizeof(*b));
    *bp = calloc(n, sizeof(**bp));
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(*bp);
    for (size_t i = 0; i < n; i++) {
        live(&b[i], (int32_t)i + 1, "h", 9092);
        (*bp)[i] = &b[i].b;
    }
    return b;
}

/* Refused whole: live brokers or endpoints beyond the bounds, and a
 * request that would grow the cache by more partitions than it names. */
START_TEST(update_metadata_beyond_the_size_bounds_is_refused) {
    Kbroker__Rpc__LiveBroker **bp;
    live_t *b = many_brokers(KB_CONTROL_MAX_LIVE_BROKERS + 1, &bp);
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 0, me_and_2, 2), *sp = &st;
    ck_assert_int_eq(um_send(1, bp, KB_CONTROL_MAX_LIVE_BROKERS + 1, &sp, 1), KP_ERR_INVALID_REQUEST);
    Kbroker__Rpc__Endpoint *eps[KB_CONTROL_MAX_ENDPOINTS + 1];
    for (size_t i = 0; i <= KB_CONTROL_MAX_ENDPOINTS; i++) eps[i] = &b[0].ep;
    b[0].b.endpoints = eps;
    b[0].b.n_endpoints = KB_CONTROL_MAX_ENDPOINTS + 1;
    ck_assert_int_eq(um_send(1, bp, 1, &sp, 1), KP_ERR_INVALID_REQUEST);
    /* Two topics (of the largest size ZooKeeper can hold) named only at
     * the largest possible index: two topics' worth of partitions not
     * named. */
    viewfix_topic(T, KC_TOPIC_MAX_PARTITIONS, me_and_2, 2);
    viewfix_topic("other", KC_TOPIC_MAX_PARTITIONS, me_and_2, 2);
    Kbroker__Rpc__PartitionState far[] = {state(T, KC_TOPIC_MAX_PARTITIONS - 1, ME, 0, me_and_2, 2),
                                          state("other", KC_TOPIC_MAX_PARTITIONS - 1, ME, 0, me_and_2, 2)};
    ck_assert_int_eq(um(1, NULL, 0, far, 2), KP_ERR_INVALID_REQUEST);
    ck_assert(!kb_metadata_loaded(md));
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_too_large, 3);
    /* At the bounds: no longer 42; the brokers must still be registered
     * (3 for those that are not, accepted for one that is). */
    b[0].b.n_endpoints = KB_CONTROL_MAX_ENDPOINTS;
    ck_assert_int_eq(um_send(1, bp, KB_CONTROL_MAX_LIVE_BROKERS, &sp, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    registered(1, "h", 9092);
    b[0].b.n_endpoints = 1;
    ck_assert_int_eq(um_send(1, bp, 1, &sp, 1), 0);
    ck_assert_int_eq(kb_metadata_broker_count(md), 1);
    ck_assert_int_eq(um(1, b, 1, far, 1), 0);
    ck_assert_int_eq(kb_metadata_topic(md, T)->n_partitions, KC_TOPIC_MAX_PARTITIONS);
    free(bp);
    free(b);
}
END_TEST

/* ---- what ZooKeeper holds (the view) ---- */

/* The forgery of the review: the real controller's id and epoch, states
 * of a topic ZooKeeper does not have.  Refused whole, retriable (3), and
 * nothing of it reaches the cache, not even its known topic's state or
 * its brokers. */
START_TEST(update_metadata_of_a_topic_zookeeper_lacks_is_refused) {
    live_t b[1];
    live(&b[0], 1, "evil", 6666);
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 1, me_and_2, 2), state("ghost", 0, ME, 0, me_and_2, 2),
                                         state("ghost", 1, ME, 0, me_and_2, 2)};
    ck_assert_int_eq(um(1, b, 1, st, 3), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_null(kb_metadata_topic(md, "ghost"));
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    ck_assert_int_eq(kb_metadata_broker_count(md), 0);
    ck_assert(!kb_metadata_loaded(md));
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 1);
    ck_assert_uint_eq(s.update_metadata, 0);
}
END_TEST

/* The forgeries of the second review: live brokers that are not
 * registered so (another host or port, an unknown id, another rack), and
 * leader -2 for a topic ZooKeeper still holds.  Each refused whole (3). */
START_TEST(update_metadata_brokers_and_deletions_must_be_as_zookeeper_holds) {
    registered(1, "h1", 9092);
    live_t b[1];
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 1, me_and_2, 2);
    live(&b[0], 1, "evil.example.com", 6666);
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    live(&b[0], 1, "h1", 9093);
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    live(&b[0], 3, "h1", 9092);
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    live(&b[0], 1, "h1", 9092);
    b[0].b.rack = "r9";
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kb_metadata_broker_count(md), 0);
    b[0].b.rack = "";
    ck_assert_int_eq(um(1, b, 1, &st, 1), 0);
    ck_assert_ptr_nonnull(kb_metadata_topic(md, T));
    st = state(T, 0, -2, 1, me_and_2, 2); /* T is still in ZooKeeper */
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_nonnull(kb_metadata_topic(md, T));
    viewfix_remove_topic(T);
    ck_assert_int_eq(um(1, b, 1, &st, 1), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 5);
}
END_TEST

/* The forgeries of the third review: no live broker at all, a broker
 * without its endpoints, and a state whose replicas, leader or ISR are
 * not the assignment's.  Each refused whole (3); the cache keeps what it
 * had. */
START_TEST(update_metadata_must_list_every_broker_and_the_assignment) {
    registered(1, "h1", 9092);
    registered(2, "h2", 9093);
    live_t b[2];
    live(&b[0], 1, "h1", 9092);
    live(&b[1], 2, "h2", 9093);
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, b, 2, &st, 1), 0);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(um(1, b, 1, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    b[1].b.n_endpoints = 0;
    ck_assert_int_eq(um(1, b, 2, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    b[1].b.n_endpoints = 1;
    int32_t nine[] = {9};
    Kbroker__Rpc__PartitionState bad[] = {state(T, 0, 9, 2, nine, 1), state(T, 0, 3, 2, me_and_2, 2),
                                          state(T, 0, ME, 2, nine, 1)};
    bad[2].replicas = me_and_2;
    bad[2].n_replicas = 2;
    for (size_t i = 0; i < 3; i++) ck_assert_int_eq(um(1, b, 2, &bad[i], 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(kb_metadata_broker_count(md), 2);
    ck_assert_int_eq(kb_metadata_topic(md, T)->partitions[0].leader, ME);
    ck_assert_int_eq(kb_metadata_topic(md, T)->partitions[0].leader_epoch, 1);
}
END_TEST

/* A peer can send refused requests as fast as it likes: each kind of
 * refusal is logged once per KB_CONTROL_LOG_MS, however many (the third
 * review wrote 25,000 lines in 5 s), and counted every time. */
START_TEST(a_thousand_refusals_of_each_kind_write_a_line_each) {
    Kbroker__Rpc__PartitionState st = state("ghost", 0, ME, 1, me_and_2, 2);
    kc_log_init("kbroker", -1, KC_LOG_INFO); /* logfix_setup keeps errors only */
    stderrfix_capture();
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(um(1, NULL, 0, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        sender = 3;
        ck_assert_int_eq(um(1, NULL, 0, &st, 1), KP_ERR_NOT_CONTROLLER);
        sender = 2;
    }
    ck_assert_int_eq(stderrfix_lines_with("refused", ""), 2); /* one of each kind */
    kc_log_init("kbroker", -1, KC_LOG_ERROR);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 1000);
    ck_assert_uint_eq(s.refused_not_sender, 1000);
}
END_TEST

START_TEST(update_metadata_index_beyond_the_views_count_is_refused) {
    Kbroker__Rpc__PartitionState st = state(T, 8, ME, 1, me_and_2, 2); /* the view has 0..7 */
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    st = state(T, 7, ME, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    ck_assert_int_eq(kb_metadata_topic(md, T)->n_partitions, 8);
    ck_assert_int_eq(kb_metadata_topic(md, T)->partitions[7].leader, ME);
}
END_TEST

/* Leader -2 of a topic ZooKeeper no longer holds (its znode went after
 * the deletion) still removes it from the cache; of one it never held,
 * it is no error and adds nothing. */
START_TEST(update_metadata_deletes_a_topic_zookeeper_no_longer_holds) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    viewfix_remove_topic(T);
    st = state(T, 0, -2, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    st = state("ghost", 0, -2, 1, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    ck_assert_int_eq(kb_metadata_topic_count(md), 0);
}
END_TEST

/* A topic deleted and created again with fewer partitions: the next
 * request naming it cuts the cache's copy to the view's size. */
START_TEST(update_metadata_cuts_a_topic_created_again_smaller) {
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 1, me_and_2, 2), state(T, 7, ME, 1, me_and_2, 2)};
    ck_assert_int_eq(um(1, NULL, 0, st, 2), 0);
    ck_assert_int_eq(kb_metadata_topic(md, T)->n_partitions, 8);
    viewfix_remove_topic(T);
    viewfix_topic(T, 2, two_and_me, 2);
    st[0] = state(T, 1, 2, 0, two_and_me, 2);
    ck_assert_int_eq(um(1, NULL, 0, st, 1), 0);
    const kb_metadata_topic_t *t = kb_metadata_topic(md, T);
    ck_assert_int_eq(t->n_partitions, 2);
    ck_assert_int_eq(t->partitions[1].leader, 2);
}
END_TEST

/* A phantom partition gets no log: a topic ZooKeeper lacks, an index past
 * its count, or replicas other than its assignment refuse the whole
 * request (3), and nothing is hosted. */
START_TEST(leader_and_isr_for_an_assignment_zookeeper_lacks_is_refused) {
    Kbroker__Rpc__PartitionState st[] = {state(T, 0, ME, 1, me_and_2, 2), state("ghost", 0, ME, 1, me_and_2, 2)};
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(out.error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    st[1] = state(T, 8, ME, 1, me_and_2, 2);
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    st[1] = state(T, 1, ME, 1, two_and_me, 2); /* the view assigns {1, 2}: the order differs */
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    int32_t me_2_3[] = {ME, 2, 3};
    st[1] = state(T, 1, ME, 1, me_2_3, 3);
    ck_assert_int_eq(lai(1, my_epoch, st, 2, &out), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    ck_assert_ptr_null(hosted());
    ck_assert_ptr_null(kb_replicas_get(replicas, "ghost", 0));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 8));
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 4);
    ck_assert_uint_eq(s.leader_and_isr, 0);
}
END_TEST

/* The race the retriable code is for: a new topic's requests arrive
 * before this broker's view has read its assignment; the controller sends
 * them again, and once the view has it they are applied. */
START_TEST(a_new_topics_requests_are_applied_once_the_view_has_it) {
    Kbroker__Rpc__PartitionState st = state("fresh", 0, ME, 0, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    ck_assert_int_eq(lai(1, my_epoch, &st, 1, &out), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    viewfix_topic("fresh", 1, me_and_2, 2); /* the view caught up */
    ck_assert_int_eq(lai(1, my_epoch, &st, 1, &out), 0);
    ck_assert_int_eq(out.partition_errors[0]->error_code, 0);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    ck_assert_ptr_nonnull(kb_replicas_get(replicas, "fresh", 0));
    ck_assert(kb_partition_is_leader(kb_replicas_get(replicas, "fresh", 0)));
    ck_assert_int_eq(kb_metadata_topic(md, "fresh")->partitions[0].leader, ME);
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 2);
}
END_TEST

/* ---- StopReplica ---- */

static int16_t stop(int32_t cepoch, const char *topic, int32_t pid, int32_t epoch, bool delete_, int16_t *perr) {
    Kbroker__Rpc__StopReplicaPartition sp = KBROKER__RPC__STOP_REPLICA_PARTITION__INIT, *spp = &sp;
    Kbroker__Rpc__StopReplicaRequest req = KBROKER__RPC__STOP_REPLICA_REQUEST__INIT;
    Kbroker__Rpc__StopReplicaResponse out;
    sp.topic_name = (char *)topic;
    sp.partition_index = pid;
    sp.leader_epoch = epoch;
    sp.delete_partition = delete_;
    req.controller_id = 2;
    req.controller_epoch = cepoch;
    req.broker_epoch = my_epoch;
    req.partitions = &spp;
    req.n_partitions = 1;
    int16_t err = kb_control_stop_replica(ctl, sender, &req, &out);
    *perr = err ? -100 : (int16_t)out.partition_errors[0]->error_code;
    kb_control_response_clear(&out.base);
    return err;
}

START_TEST(stop_replica_unhosts_fences_and_deletes) {
    int16_t perr;
    ck_assert_int_eq(lai_one(state(T, 0, ME, 5, me_and_2, 2)), 0);
    ck_assert_int_eq(stop(1, T, 0, 4, false, &perr), 0);
    ck_assert_int_eq(perr, KP_ERR_FENCED_LEADER_EPOCH);
    ck_assert_ptr_nonnull(hosted());
    ck_assert_int_eq(stop(0, T, 0, 6, false, &perr), KP_ERR_STALE_CONTROLLER_EPOCH);
    ck_assert_ptr_nonnull(hosted());
    ck_assert_int_eq(stop(1, T, 0, 5, false, &perr), 0); /* the epoch it was given */
    ck_assert_int_eq(perr, 0);
    ck_assert_ptr_null(hosted());
    /* Not deleted: an older epoch still cannot take it back. */
    ck_assert_int_eq(lai_one(state(T, 0, ME, 4, me_and_2, 2)), KP_ERR_FENCED_LEADER_EPOCH);
    ck_assert_ptr_null(hosted());
    /* A deletion ZooKeeper does not show yet (the marker not read) is
     * refused whole, 3, and sent again by the controller; then, deleted
     * (-2: topic deletion), the epochs are forgotten. */
    ck_assert_int_eq(stop(1, T, 0, -2, true, &perr), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    viewfix_mark(T, true);
    ck_assert_int_eq(stop(1, T, 0, -2, true, &perr), 0);
    ck_assert_int_eq(perr, 0);
    viewfix_mark(T, false); /* created again */
    ck_assert_int_eq(lai_one(state(T, 0, ME, 0, me_and_2, 2)), 0);
    ck_assert_ptr_nonnull(hosted());
    ck_assert_int_eq(kb_partition_leader_epoch(hosted()), 0);
    /* Partitions not hosted here are no error; partitions ZooKeeper does
     * not hold either, and invalid ones, are. */
    viewfix_mark(T, true);
    ck_assert_int_eq(stop(1, T, 3, -1, true, &perr), 0);
    ck_assert_int_eq(perr, 0);
    ck_assert_int_eq(stop(1, "never", 3, -1, false, &perr), 0);
    ck_assert_int_eq(perr, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(stop(1, "never", 3, -1, true, &perr), 0); /* nothing left to delete: done */
    ck_assert_int_eq(perr, 0);
    ck_assert_int_eq(stop(1, T, -1, -1, false, &perr), 0);
    ck_assert_int_eq(perr, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}
END_TEST

/* A deleted topic's znode may be gone before its partitions are stopped
 * here: a stop only ends roles, so it still applies. */
START_TEST(stop_replica_of_a_topic_zookeeper_no_longer_holds_applies) {
    int16_t perr;
    ck_assert_int_eq(lai_one(state(T, 0, ME, 5, me_and_2, 2)), 0);
    ck_assert_ptr_nonnull(hosted());
    viewfix_remove_topic(T);
    ck_assert_int_eq(stop(1, T, 0, -2, true, &perr), 0);
    ck_assert_int_eq(perr, 0);
    ck_assert_ptr_null(hosted());
}
END_TEST

/* A log goes only where ZooKeeper says it goes (kb_control_requests.h):
 * its topic gone or marked, or its partition no longer assigned here. */
START_TEST(stop_replica_deletes_only_what_zookeeper_lets_go) {
    int16_t perr;
    kb_control_stats_t s;
    ck_assert_int_eq(lai_one(state(T, 0, ME, 5, me_and_2, 2)), 0);
    ck_assert_int_eq(stop(1, T, 0, -1, true, &perr), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_nonnull(hosted()); /* refused whole: nothing changed */
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_unknown_here, 1);
    viewfix_assign(T, 0, only_2, 1); /* reassigned away from this broker */
    ck_assert_int_eq(stop(1, T, 0, -1, true, &perr), 0);
    ck_assert_int_eq(perr, 0);
    ck_assert_ptr_null(hosted());
    ck_assert_ptr_null(kb_logmgr_get(logs, T, 0));
}
END_TEST

/* ---- the scratch between requests ---- */

/* A huge request's room for role updates is freed once it is answered;
 * a small one's is kept. */
START_TEST(a_huge_request_does_not_keep_its_scratch) {
    size_t n = 5000;
    viewfix_topic("elsewhere", (int)n, only_2, 1);
    Kbroker__Rpc__PartitionState *st = calloc(n, sizeof(*st));
    Kbroker__Rpc__PartitionState **sp = calloc(n, sizeof(*sp));
    ck_assert_ptr_nonnull(st);
    ck_assert_ptr_nonnull(sp);
    for (size_t i = 0; i < n; i++) {
        st[i] = state("elsewhere", (int32_t)i, 2, 0, only_2, 1); /* not hosted here: nothing to create */
        sp[i] = &st[i];
    }
    Kbroker__Rpc__LeaderAndIsrRequest req = KBROKER__RPC__LEADER_AND_ISR_REQUEST__INIT;
    Kbroker__Rpc__LeaderAndIsrResponse out;
    req.controller_id = 2;
    req.controller_epoch = 1;
    req.broker_epoch = my_epoch;
    req.partition_states = sp;
    req.n_partition_states = n;
    ck_assert_int_eq(kb_control_leader_and_isr(ctl, sender, &req, &out), 0);
    ck_assert_uint_eq(out.n_partition_errors, n);
    kb_control_response_clear(&out.base);
    ck_assert_uint_eq(kb_control_scratch_held(ctl), 0);
    req.n_partition_states = 3;
    ck_assert_int_eq(kb_control_leader_and_isr(ctl, sender, &req, &out), 0);
    kb_control_response_clear(&out.base);
    ck_assert_uint_eq(kb_control_scratch_held(ctl), 3);
    free(sp);
    free(st);
}
END_TEST

/* ---- admission: who may send ---- */

/* One request of each kind at controller epoch cepoch, each expected to
 * be answered `want`. */
static void each_kind(int32_t cepoch, int16_t want) {
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    Kbroker__Rpc__LeaderAndIsrResponse out;
    int16_t perr;
    ck_assert_int_eq(lai(cepoch, my_epoch, &st, 1, &out), want);
    kb_control_response_clear(&out.base);
    ck_assert_int_eq(um(cepoch, NULL, 0, &st, 1), want);
    ck_assert_int_eq(stop(cepoch, T, 0, -1, false, &perr), want);
}

/* Nothing of a refused request reached the partitions or the cache. */
static void nothing_changed(void) {
    ck_assert_ptr_null(hosted());
    ck_assert(!kb_metadata_loaded(md));
    ck_assert_ptr_null(kb_metadata_topic(md, T));
    ck_assert_int_eq(kb_control_controller_epoch(ctl), -1);
}

START_TEST(requests_naming_another_controller_than_their_sender_are_refused) {
    sender = 3; /* the Hello said 3; the requests say 2, the controller */
    each_kind(1, KP_ERR_NOT_CONTROLLER);
    nothing_changed();
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_not_sender, 3);
}
END_TEST

START_TEST(only_the_controller_zookeeper_names_is_obeyed) {
    viewfix_controller(3, 1);
    each_kind(1, KP_ERR_NOT_CONTROLLER);
    nothing_changed();
    viewfix_controller(-1, 1); /* /controller vanished */
    each_kind(1, KP_ERR_NOT_CONTROLLER);
    nothing_changed();
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_not_zk_controller, 6);
    viewfix_controller(2, 1); /* the view caught up with the election */
    each_kind(1, 0);
}
END_TEST

/* The wedge: a peer naming itself the controller with the largest epoch
 * is refused, and its epoch is not remembered, so the real controller is
 * still obeyed afterwards. */
START_TEST(a_controller_epoch_above_zookeepers_is_refused_and_not_remembered) {
    viewfix_controller(2, 7);
    each_kind(INT32_MAX, KP_ERR_NOT_CONTROLLER);
    each_kind(8, KP_ERR_NOT_CONTROLLER);
    nothing_changed();
    kb_control_stats_t s;
    kb_control_stats(ctl, &s);
    ck_assert_uint_eq(s.refused_ahead_of_zk, 6);
    each_kind(7, 0);
    ck_assert_int_eq(kb_control_controller_epoch(ctl), 7);
    /* While /controller_epoch is unknown nothing is admitted. */
    viewfix_controller(2, -1);
    each_kind(7, KP_ERR_NOT_CONTROLLER);
    ck_assert_int_eq(kb_control_controller_epoch(ctl), 7);
}
END_TEST

/* Without a view no controller is known: everything is refused. */
START_TEST(without_a_view_nothing_is_admitted) {
    kb_control_free(ctl);
    ctl = kb_control_new(&(kb_control_deps_t){.replicas = replicas, .metadata = md, .cfg = &lf.cfg,
                                              .broker_epoch = epoch_of, .epoch_arg = &my_epoch});
    ck_assert_ptr_nonnull(ctl);
    each_kind(1, KP_ERR_NOT_CONTROLLER);
    nothing_changed();
}
END_TEST

/* ---- the view feeds: settings and config overrides, never roles ---- */

START_TEST(view_feeds_give_settings_and_configs_but_no_roles) {
    kb_settings_feed_t *sf = kb_settings_feed_new(replicas, viewfix_view(), &lf.cfg);
    kb_metadata_config_feed_t *mf = kb_metadata_config_feed_new(md, viewfix_view());
    ck_assert_ptr_nonnull(sf);
    ck_assert_ptr_nonnull(mf);
    int32_t leader_isr[] = {ME};
    viewfix_topic(T, 1, me_and_2, 2);
    viewfix_state(T, 0, ME, 3, leader_isr, 1);
    kb_settings_feed_apply(sf);
    ck_assert_int_eq(kb_metadata_config_feed_apply(mf), 0);
    creations_done();
    ck_assert_ptr_null(hosted());                     /* no role from the view */
    ck_assert_ptr_null(kb_metadata_topic(md, T));     /* nor a topic in the cache */
    ck_assert(!kb_metadata_loaded(md));
    ck_assert_int_eq(lai_one(state(T, 0, ME, 3, me_and_2, 2)), 0);
    ck_assert_ptr_nonnull(hosted());
    Kbroker__Rpc__PartitionState st = state(T, 0, ME, 3, me_and_2, 2);
    ck_assert_int_eq(um(1, NULL, 0, &st, 1), 0);
    /* Overrides that change later reach the hosted log and the cache. */
    viewfix_topic_config(T, "max.message.bytes", "23456");
    kb_settings_feed_apply(sf);
    ck_assert_int_eq(kb_metadata_config_feed_apply(mf), 0);
    ck_assert_int_eq(kb_partition_max_message_bytes(hosted()), 23456);
    ck_assert_int_eq(kb_metadata_topic(md, T)->n_configs, 1);
    ck_assert_int_eq(kb_metadata_broker_count(md), 0); /* brokers are UpdateMetadata's */
    kb_settings_feed_free(sf);
    kb_metadata_config_feed_free(mf);
}
END_TEST

Suite *control_suite(void) {
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, leader_and_isr_gives_roles);
    tcase_add_test(tc, leader_and_isr_uses_topic_settings_from_the_view);
    tcase_add_test(tc, stale_controller_epoch_changes_nothing);
    tcase_add_test(tc, controller_epoch_below_zookeepers_is_stale);
    tcase_add_test(tc, stale_broker_epoch_changes_nothing);
    tcase_add_test(tc, lost_registration_refuses_every_broker_epoch_until_registered_again);
    tcase_add_test(tc, older_leader_epoch_is_fenced_for_that_partition_only);
    tcase_add_test(tc, equal_leader_epoch_is_ignored);
    tcase_add_test(tc, invalid_names_and_indexes_are_refused);
    tcase_add_test(tc, update_metadata_fills_the_cache);
    tcase_add_test(tc, update_metadata_skips_impossible_indexes);
    tcase_add_test(tc, update_metadata_is_fenced_and_deletes_topics);
    tcase_add_test(tc, update_metadata_deletion_wins_within_a_request);
    tcase_add_test(tc, update_metadata_cost_does_not_depend_on_state_order);
    tcase_add_test(tc, update_metadata_beyond_the_size_bounds_is_refused);
    tcase_add_test(tc, update_metadata_of_a_topic_zookeeper_lacks_is_refused);
    tcase_add_test(tc, update_metadata_index_beyond_the_views_count_is_refused);
    tcase_add_test(tc, update_metadata_brokers_and_deletions_must_be_as_zookeeper_holds);
    tcase_add_test(tc, update_metadata_must_list_every_broker_and_the_assignment);
    tcase_add_test(tc, a_thousand_refusals_of_each_kind_write_a_line_each);
    tcase_add_test(tc, update_metadata_deletes_a_topic_zookeeper_no_longer_holds);
    tcase_add_test(tc, update_metadata_cuts_a_topic_created_again_smaller);
    tcase_add_test(tc, leader_and_isr_for_an_assignment_zookeeper_lacks_is_refused);
    tcase_add_test(tc, a_new_topics_requests_are_applied_once_the_view_has_it);
    tcase_add_test(tc, stop_replica_unhosts_fences_and_deletes);
    tcase_add_test(tc, stop_replica_deletes_only_what_zookeeper_lets_go);
    tcase_add_test(tc, stop_replica_of_a_topic_zookeeper_no_longer_holds_applies);
    tcase_add_test(tc, a_huge_request_does_not_keep_its_scratch);
    tcase_add_test(tc, requests_naming_another_controller_than_their_sender_are_refused);
    tcase_add_test(tc, only_the_controller_zookeeper_names_is_obeyed);
    tcase_add_test(tc, a_controller_epoch_above_zookeepers_is_refused_and_not_remembered);
    tcase_add_test(tc, without_a_view_nothing_is_admitted);
    tcase_add_test(tc, view_feeds_give_settings_and_configs_but_no_roles);
    suite_add_tcase(s, tc);
    return s;
}
