/*
 * test_replica.c - hosted partitions (broker/replica/kb_partition.c), built
 * without a broker from their explicit dependencies: roles applied as data
 * (kb_replicas_apply_roles): hosting from the replicas list, leader or
 * follower, fencing by leader epoch (older refused, also once moved away;
 * equal ignored, newer applied; a deletion starts over); the leader's own
 * ISR write (through a fake writer in the replicas' dependencies); the
 * high watermark; the partition budget (partitions past it refused and
 * hosted once room frees); acks=all produces parked until it passes
 * their batch (or answered with 7, 19, 20 or 6); the append order of
 * batches that wait for a worker (turns); long-poll fetch waiters;
 * the shutdown that answers everything still waiting.  (Roles reach the
 * partitions from LeaderAndIsr, kb_control_requests.c, tested in
 * test_control.c.)
 *
 * Real logs in a temporary dir and a real event_base (logfix).  This broker is id
 * 1.  Nothing waits on the clock except the acks=all timeout, the ISR
 * check that writes a shrink, and creations_done(), which waits for the
 * logs being created off the loop: each runs the loop until what it waits
 * for has happened, with a generous bound.  The ISR cases read the
 * partition's ISR and zkVersion from kb_partition_internal.h.
 */
#include <dirent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "broker/log/kb_log.h"
#include "broker/replica/kb_replicas.h"
#include "broker/replica/kb_partition_internal.h"
#include "proto/kp_batch.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "tests/unit/stderrfix.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

#define ME 1
#define T "orders"

static kb_logmgr_t *logs;
static kb_replicas_t *replicas;
static kb_isr_write_fn isr_writer; /* the replicas' ISR writer: NULL for the default */

/* The ISR writes the leader made through fake_write_isr: the last one, and
 * its completion until the test calls it (teardown answers it otherwise). */
typedef struct {
    int calls;
    char topic[32];
    int32_t partition;
    kc_partition_state_t st;
    int32_t isr[8];
    kc_state_written_fn done;
    void *arg;
} isr_writes_t;

static isr_writes_t writes;

static void fake_write_isr(kc_session_t *zk, const char *topic, int32_t partition, const kc_partition_state_t *st,
                           kc_state_written_fn done, void *arg) {
    ck_assert_ptr_null(zk);
    ck_assert_ptr_null(writes.done); /* at most one write in flight */
    ck_assert_int_le(st->n_isr, 8);
    writes.calls++;
    snprintf(writes.topic, sizeof(writes.topic), "%s", topic);
    writes.partition = partition;
    writes.st = *st;
    memcpy(writes.isr, st->isr, (size_t)st->n_isr * sizeof(*st->isr));
    writes.st.isr = writes.isr;
    writes.done = done;
    writes.arg = arg;
}

/* Completes the write in flight as ZooKeeper would. */
static void write_answered(int rc, int32_t version) {
    kc_state_written_fn done = writes.done;
    ck_assert_ptr_nonnull(done);
    writes.done = NULL;
    done(rc, version, writes.arg);
}

static const int32_t me_only[] = {ME};
static const int32_t me_and_2[] = {ME, 2};
static const int32_t two_and_me[] = {2, ME};
static const int32_t only_2[] = {2};

/* One produce's answer. */
typedef struct {
    int calls;
    int16_t error;
    kb_produce_result_t res;
} answer_t;

static void on_produced(void *arg, int16_t error_code, const kb_produce_result_t *res) {
    answer_t *a = arg;
    a->calls++;
    a->error = error_code;
    a->res = *res;
}

static void setup(void) {
    logfix_setup("replica");
    logfix_set("broker.id", "1");
    viewfix_reset();
}

/* Opens the logs and the partitions once the test has set its keys: only
 * what the partitions need, no broker. */
static void start(void) {
    logs = logfix_open();
    replicas = kb_replicas_new(
        &(kb_replicas_deps_t){.base = lf.base, .cfg = &lf.cfg, .logs = logs, .write_isr = isr_writer});
    ck_assert_ptr_nonnull(replicas);
}

static void teardown(void) {
    if (replicas) kb_replicas_free(replicas);
    replicas = NULL;
    if (writes.done) write_answered(KC_CONNLOSS, -1); /* detached: it only frees itself */
    writes = (isr_writes_t){0};
    isr_writer = NULL;
    if (logs) kb_logmgr_close(logs);
    logs = NULL;
    viewfix_reset();
    logfix_teardown();
}

/* Runs the loop until the logs being created (off the loop,
 * kb_logcreate.c) exist and their partitions took their roles, at most
 * 20 s. */
static void creations_done(void) {
    kb_log_stats_t st;
    time_t deadline = time(NULL) + 20;
    for (kb_logmgr_stats(logs, &st); st.log_creations_pending > 0 && time(NULL) < deadline; kb_logmgr_stats(logs, &st))
        event_base_loop(lf.base, EVLOOP_ONCE);
}

/* The role update of T-0: replicas `assigned`, led by `leader`. */
static kb_role_update_t update(const int32_t *assigned, int n, int32_t leader, int32_t epoch, const int32_t *isr,
                               int n_isr) {
    return (kb_role_update_t){.topic = T, .partition = 0, .leader = leader, .leader_epoch = epoch,
                              .zk_version = epoch, .isr = isr, .n_isr = n_isr, .replicas = assigned,
                              .n_replicas = n};
}

static void apply(kb_role_update_t u) {
    kb_replicas_apply_roles(replicas, &u, 1);
    creations_done();
}

/* T-0 assigned to `assigned`, led by `leader`: the hosted partition or NULL. */
static kb_partition_t *hosted(const int32_t *assigned, int n, int32_t leader, int32_t epoch, const int32_t *isr,
                              int n_isr) {
    apply(update(assigned, n, leader, epoch, isr, n_isr));
    return kb_replicas_get(replicas, T, 0);
}

/* A new role for T-0, assigned to this broker and 2. */
static void set_state(int32_t leader, int32_t epoch, const int32_t *isr, int n_isr) {
    apply(update(me_and_2, 2, leader, epoch, isr, n_isr));
}

static kb_roles_stats_t roles_stats(void) {
    kb_roles_stats_t st;
    kb_replicas_roles_stats(replicas, &st);
    return st;
}

/* Produces a fresh batch of n records, from idempotent producer pid
 * (epoch 0) at sequence seq when pid >= 0: only the decoded header carries
 * them, which is all the partition reads. */
static void produce_as(kb_partition_t *p, int64_t pid, int32_t seq, int n, int16_t acks, int32_t timeout_ms,
                       answer_t *a) {
    static uint8_t buf[8][4096];
    static int next;
    uint8_t *batch = buf[next++ % 8];
    size_t size = logfix_batch(batch, n, 10, true, 1700000000000);
    kp_batch_header_t h;
    ck_assert_int_eq(kp_batch_header_decode(batch, size, &h), 0);
    if (pid >= 0) {
        h.producer_id = pid;
        h.producer_epoch = 0;
        h.base_sequence = seq;
    }
    kb_partition_produce(p, batch, &h, acks, timeout_ms, on_produced, a);
}

static void produce(kb_partition_t *p, int n, int16_t acks, int32_t timeout_ms, answer_t *a) {
    produce_as(p, -1, 0, n, acks, timeout_ms, a);
}

static void produce_idempotent(kb_partition_t *p, int64_t pid, int32_t seq, int n, int16_t acks, answer_t *a) {
    produce_as(p, pid, seq, n, acks, 60000, a);
}

/* Runs the loop once without blocking: what is already due runs. */
static void loop_once(void) { event_base_loop(lf.base, EVLOOP_NONBLOCK); }

/* Runs the loop until *calls > 0 or 20 s have passed. */
static void loop_until(const int *calls) {
    time_t deadline = time(NULL) + 20;
    while (*calls == 0 && time(NULL) < deadline) event_base_loop(lf.base, EVLOOP_ONCE);
}

static bool dir_exists(const char *name) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", lf.dir, name);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- roles and hosting ---- */

START_TEST(hosts_only_partitions_whose_replicas_list_it) {
    start();
    kb_role_update_t u[] = {update(me_and_2, 2, ME, 0, me_and_2, 2), update(only_2, 1, 2, 0, only_2, 1)};
    u[1].topic = "others";
    kb_replicas_apply_roles(replicas, u, 2);
    creations_done();
    ck_assert_ptr_nonnull(kb_replicas_get(replicas, T, 0));
    ck_assert_ptr_null(kb_replicas_get(replicas, "others", 0));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 1));
    ck_assert(dir_exists(T "-0"));
    ck_assert(!dir_exists("others-0"));
}
END_TEST

START_TEST(leader_or_follower_as_the_update_says) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 3, me_and_2, 2);
    ck_assert_ptr_nonnull(p);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 3);
    set_state(2, 4, two_and_me, 2);
    ck_assert(!kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 4);
    ck_assert_ptr_eq(kb_replicas_get(replicas, T, 0), p); /* a follower is still hosted */
    set_state(ME, 5, me_only, 1);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 5);
}
END_TEST

START_TEST(unassigning_update_drops_the_role_but_keeps_the_log) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 0, me_only, 1);
    ck_assert_ptr_nonnull(p);
    apply(update(only_2, 1, 2, 1, only_2, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    ck_assert(!kb_partition_is_leader(p));
    ck_assert(dir_exists(T "-0"));
    apply(update(me_only, 1, ME, 2, me_only, 1)); /* assigned here again */
    ck_assert_ptr_eq(kb_replicas_get(replicas, T, 0), p);
    ck_assert(kb_partition_is_leader(p));
}
END_TEST

START_TEST(no_epoch_means_hosted_but_not_leading) {
    start();
    kb_partition_t *p = hosted(me_only, 1, -1, KB_ROLE_NO_EPOCH, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(!kb_partition_is_leader(p));
    answer_t a = {0};
    produce(p, 1, 1, 1000, &a);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
}
END_TEST

/* Updates that arrive while the log is being created: the partition takes
 * the last one once its log exists. */
START_TEST(takes_the_last_role_given_while_its_log_was_created) {
    start();
    kb_role_update_t u[] = {update(me_and_2, 2, 2, 0, two_and_me, 2), update(me_and_2, 2, ME, 1, me_only, 1)};
    kb_replicas_apply_roles(replicas, u, 2);
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0)); /* no log yet: not hosted */
    creations_done();
    kb_partition_t *p = kb_replicas_get(replicas, T, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 1);
}
END_TEST

/* ---- fencing by leader epoch ---- */

START_TEST(older_epoch_is_refused_and_counted) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 5, me_and_2, 2);
    set_state(2, 4, two_and_me, 2);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 5);
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 1);
    apply(update(only_2, 1, 2, 3, only_2, 1)); /* nor may an older one unassign it */
    ck_assert_ptr_eq(kb_replicas_get(replicas, T, 0), p);
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 2);
}
END_TEST

START_TEST(same_epoch_is_ignored) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 2, me_and_2, 2);
    answer_t a = {0};
    produce(p, 2, 1, 1000, &a);
    set_state(ME, 2, me_only, 1); /* the ISR shrinks without a new epoch: not applied */
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
    set_state(2, 2, two_and_me, 2);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_uint_eq(roles_stats().ignored_same_epoch, 2);
    ck_assert_uint_eq(roles_stats().applied, 1);
}
END_TEST

START_TEST(newer_epoch_is_applied) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 2, me_and_2, 2);
    answer_t a = {0};
    produce(p, 2, 1, 1000, &a);
    set_state(ME, 3, me_only, 1);
    ck_assert_int_eq(kb_partition_leader_epoch(p), 3);
    ck_assert_int_eq(kb_partition_high_watermark(p), 2);
    ck_assert_uint_eq(roles_stats().applied, 2);
}
END_TEST

/* The same epoch that changes whether the partition is hosted here is a
 * new decision (a reassignment keeps the epoch), so it is applied. */
START_TEST(same_epoch_that_unassigns_is_applied) {
    start();
    hosted(me_only, 1, ME, 4, me_only, 1);
    apply(update(only_2, 1, ME, 4, me_only, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
}
END_TEST


/* A partition moved away keeps the epoch it saw: an older update may not
 * assign it here again (LeaderAndIsr, next, calls the same entry point). */
START_TEST(moved_away_partition_refuses_an_older_epoch) {
    start();
    hosted(me_only, 1, ME, 6, me_only, 1);
    apply(update(only_2, 1, 2, 7, only_2, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    apply(update(me_only, 1, ME, 5, me_only, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 1);
    apply(update(me_only, 1, ME, KB_ROLE_NO_EPOCH, NULL, 0)); /* nor may one without an epoch */
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 2);
    apply(update(me_only, 1, ME, 8, me_only, 1));
    ck_assert_ptr_nonnull(kb_replicas_get(replicas, T, 0));
}
END_TEST

/* Only a deletion forgets the epoch: the topic created again starts at 0. */
START_TEST(deleted_partition_starts_over_at_epoch_zero) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 7, me_only, 1);
    apply((kb_role_update_t){.topic = T, .partition = 0, .leader = -1, .leader_epoch = KB_ROLE_NO_EPOCH,
                             .deleted = true});
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    ck_assert_ptr_eq(hosted(me_only, 1, ME, 0, me_only, 1), p);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_int_eq(kb_partition_leader_epoch(p), 0);
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 0);
}
END_TEST

/* ---- topic deletion (StopReplica with delete) ---- */

/* The dirs in the log dir whose names start with prefix: how many are
 * there, and whether one of them ends in -delete. */
static int dirs_named(const char *prefix, bool *renamed) {
    DIR *d = opendir(lf.dir);
    struct dirent *e;
    int n = 0;
    *renamed = false;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        n++;
        size_t len = strlen(e->d_name);
        if (len > 7 && !strcmp(e->d_name + len - 7, "-delete")) *renamed = true;
    }
    closedir(d);
    return n;
}

/* Runs the loop until no dir starting with prefix is left, at most 20 s. */
static void loop_until_no_dir(const char *prefix) {
    time_t deadline = time(NULL) + 20;
    bool renamed;
    while (dirs_named(prefix, &renamed) > 0 && time(NULL) < deadline) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_int_eq(dirs_named(prefix, &renamed), 0);
}

static kb_role_update_t deletion(int32_t partition) {
    return (kb_role_update_t){.topic = T, .partition = partition, .leader = -1, .leader_epoch = KB_ROLE_NO_EPOCH,
                              .stop = true, .deleted = true};
}

START_TEST(deleting_a_partition_answers_its_produces_unknown_topic_and_removes_its_log) {
    logfix_set("log.segment.delete.delay.ms", "0");
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 3, me_and_2, 2);
    answer_t parked = {0}, late = {0};
    produce(p, 2, -1, 60000, &parked);
    loop_once();
    ck_assert_int_eq(parked.calls, 0);
    kb_role_outcome_t out;
    kb_role_update_t u = deletion(0);
    kb_replicas_apply_roles_outcomes(replicas, &u, 1, &out);
    ck_assert_int_eq(out, KB_ROLE_APPLIED);
    ck_assert_int_eq(parked.calls, 1);
    ck_assert_int_eq(parked.error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 0));
    ck_assert_ptr_null(kb_logmgr_get(logs, T, 0));
    ck_assert(kb_partition_is_deleted(p));
    ck_assert_int_eq(kb_partition_high_watermark(p), -1);
    /* Its dir is renamed at once (orders-0.<32 hex digits>-delete) ... */
    bool renamed;
    ck_assert_int_eq(dirs_named(T "-0", &renamed), 1);
    ck_assert(renamed);
    /* ... a handler still holding the partition hears 3 ... */
    produce(p, 1, 1, 60000, &late);
    ck_assert_int_eq(late.error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* ... and the files go after file.delete.delay.ms, off the loop. */
    loop_until_no_dir(T "-0");
    kb_log_stats_t st;
    kb_logmgr_stats(logs, &st);
    ck_assert_uint_eq(st.logs_deleted, 1);
    ck_assert_uint_eq(st.log_deletions_pending, 0);
}
END_TEST

START_TEST(a_topic_created_again_after_its_deletion_starts_empty) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 5, me_only, 1);
    answer_t a = {0};
    produce(p, 3, 1, 60000, &a);
    ck_assert_int_eq(kb_partition_log_end_offset(p), 3);
    kb_role_update_t u = deletion(0);
    kb_replicas_apply_roles(replicas, &u, 1);
    ck_assert_ptr_eq(hosted(me_only, 1, ME, 0, me_only, 1), p); /* the same name again, at epoch 0 */
    ck_assert(!kb_partition_is_deleted(p));
    ck_assert_int_eq(kb_partition_log_end_offset(p), 0);
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
    bool renamed;
    ck_assert_int_eq(dirs_named(T "-0", &renamed), 2); /* the new dir, and the old one waiting for its delay */
}
END_TEST

/* A log loaded at start-up whose partition was never given a role again
 * goes too, and the checkpoint files leave it out. */
START_TEST(deleting_a_partition_never_hosted_deletes_the_log_left_from_before) {
    char path[128], text[4096];
    start();
    ck_assert_ptr_nonnull(kb_logmgr_get_or_create(logs, T, 1, NULL));
    kb_role_outcome_t out;
    kb_role_update_t u = deletion(1);
    kb_replicas_apply_roles_outcomes(replicas, &u, 1, &out);
    ck_assert_int_eq(out, KB_ROLE_NOT_HERE);
    ck_assert_ptr_null(kb_logmgr_get(logs, T, 1));
    bool renamed;
    ck_assert_int_eq(dirs_named(T "-1", &renamed), 1);
    ck_assert(renamed);
    kb_replicas_free(replicas);
    replicas = NULL;
    kb_logmgr_close(logs);
    logs = NULL;
    snprintf(path, sizeof(path), "%s/recovery-point-offset-checkpoint", lf.dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    ck_assert_str_eq(text, "0\n0\n");
}
END_TEST

/* The partition budget (kb_roles.h "Budget"): with room for two logs, a
 * batch of four partitions hosts two, answers the other two
 * KB_ROLE_NO_ROOM with one log line for the batch, keeps their roles, and
 * hosts one of them once a deletion makes room. */
START_TEST(partitions_past_the_budget_are_refused_and_hosted_once_room_frees) {
    logfix_set("max.broker.partitions", "2");
    logfix_set("log.segment.delete.delay.ms", "0");
    start();
    kb_role_update_t u[4];
    kb_role_outcome_t out[4];
    for (int i = 0; i < 4; i++) {
        u[i] = update(me_only, 1, ME, 0, me_only, 1);
        u[i].partition = i;
    }
    stderrfix_capture();
    kb_replicas_apply_roles_outcomes(replicas, u, 4, out);
    ck_assert_int_eq(stderrfix_lines_with("2 partition(s) assigned here, e.g. " T "-2, are not hosted",
                                          "max.broker.partitions is 2"),
                     1);
    creations_done();
    ck_assert_int_eq(out[0], KB_ROLE_APPLIED);
    ck_assert_int_eq(out[1], KB_ROLE_APPLIED);
    ck_assert_int_eq(out[2], KB_ROLE_NO_ROOM);
    ck_assert_int_eq(out[3], KB_ROLE_NO_ROOM);
    ck_assert_ptr_nonnull(kb_replicas_get(replicas, T, 1));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 2));
    ck_assert(!dir_exists(T "-2"));
    ck_assert_uint_eq(roles_stats().waiting_for_room, 2);
    ck_assert_uint_eq(roles_stats().refused_no_room, 2);
    /* The hosted ones are untouched: a produce to T-0 is appended. */
    answer_t a = {0};
    produce(kb_replicas_get(replicas, T, 0), 2, 1, 60000, &a);
    ck_assert_int_eq(a.error, KP_ERR_NONE);
    /* A deletion makes room for one once the deleted log's file is closed:
     * the log manager says so and T-2 is hosted with its role at once, not
     * when the retry timer comes (put off by an hour here). */
    struct timeval hour = {3600, 0};
    event_del(replicas->retry_ev);
    evtimer_add(replicas->retry_ev, &hour);
    kb_role_update_t del = deletion(0);
    kb_replicas_apply_roles(replicas, &del, 1);
    time_t deadline = time(NULL) + 20;
    while (!kb_replicas_get(replicas, T, 2) && time(NULL) < deadline) event_base_loop(lf.base, EVLOOP_ONCE);
    ck_assert_ptr_nonnull(kb_replicas_get(replicas, T, 2));
    ck_assert(kb_partition_is_leader(kb_replicas_get(replicas, T, 2)));
    ck_assert_ptr_null(kb_replicas_get(replicas, T, 3));
    ck_assert_uint_eq(roles_stats().waiting_for_room, 1);
    /* Unassigning the one still waiting stops its wait. */
    kb_role_update_t away = update(only_2, 1, 2, 1, only_2, 1);
    away.partition = 3;
    kb_replicas_apply_roles(replicas, &away, 1);
    ck_assert_uint_eq(roles_stats().waiting_for_room, 0);
}
END_TEST

/* Roles for partitions first..first+n-1 of topic, led here at epoch, in
 * one batch. */
static void lead_here(const char *topic, int first, int n, int32_t epoch) {
    kb_role_update_t u[8];
    ck_assert_int_le(n, 8);
    for (int i = 0; i < n; i++) {
        u[i] = update(me_only, 1, ME, epoch, me_only, 1);
        u[i].topic = topic;
        u[i].partition = first + i;
    }
    kb_replicas_apply_roles(replicas, u, (size_t)n);
}

/* The summing timer of the "not hosted" line goes off now (it is due
 * 10 s after the last line). */
static void no_room_line_due(void) {
    ck_assert(evtimer_pending(replicas->no_room_ev, NULL));
    event_del(replicas->no_room_ev);
    event_active(replicas->no_room_ev, EV_TIMEOUT, 1);
    loop_once();
}

/* The hostile trial's misleading line, "34 partition(s) ..., e.g.
 * zkbig-299, are not hosted (0 wait in all)": partitions refused for room
 * were summed into the next line even after their topic was deleted, and
 * a partition refused again by each repeated update was counted each
 * time.  A line now counts the partitions that began to wait since the
 * last one and still wait, each once. */
START_TEST(the_not_hosted_line_counts_only_partitions_that_still_wait) {
    logfix_set("max.broker.partitions", "1");
    start();
    stderrfix_capture();
    lead_here(T, 0, 3, 0); /* T-0 hosted; T-1 and T-2 wait: said at once */
    creations_done();
    ck_assert_int_eq(stderrfix_lines_with("2 partition(s) assigned here, e.g. " T "-1, are not hosted (2 wait in all)",
                                          "this broker holds 1 partition logs and its budget is 1"),
                     1);
    ck_assert_uint_eq(roles_stats().waiting_for_room, 2);
    /* Within 10 s: three more wait (summed into the next line), then their
     * topic is deleted, and the controller repeats T-1 and T-2. */
    stderrfix_capture();
    lead_here("doomed", 0, 3, 0);
    ck_assert_uint_eq(roles_stats().waiting_for_room, 5);
    for (int i = 0; i < 3; i++) {
        kb_role_update_t del = deletion(i);
        del.topic = "doomed";
        kb_replicas_apply_roles(replicas, &del, 1);
    }
    lead_here(T, 1, 2, 1);
    ck_assert_uint_eq(roles_stats().waiting_for_room, 2);
    no_room_line_due();
    ck_assert_int_eq(stderrfix_lines_with("are not hosted", ""), 0);
    /* One more begins to wait: the line names it alone, with the whole count. */
    stderrfix_capture();
    lead_here("fresh", 0, 1, 0);
    no_room_line_due();
    ck_assert_int_eq(stderrfix_lines_with("1 partition(s) assigned here, e.g. fresh-0, are not hosted (3 wait in all)",
                                          ""),
                     1);
    /* A stop (no deletion) ends a wait as well, and leaves the retry queue. */
    kb_role_update_t stop = update(me_only, 1, ME, 1, me_only, 1);
    stop.topic = "fresh";
    stop.stop = true;
    kb_replicas_apply_roles(replicas, &stop, 1);
    ck_assert_uint_eq(roles_stats().waiting_for_room, 2);
    ck_assert(!kb_replicas_find(replicas, "fresh", 0)->retry_queued);
}
END_TEST

/* applied counts updates that changed something here; a newer epoch of a
 * partition that stays elsewhere, or a repeated role without an epoch,
 * does not. */
START_TEST(applied_counts_only_what_changed_here) {
    start();
    hosted(me_only, 1, ME, 0, me_only, 1);
    apply(update(only_2, 1, 2, 1, only_2, 1));
    ck_assert_uint_eq(roles_stats().applied, 2);
    apply(update(only_2, 1, 2, 2, only_2, 1));
    apply(update(only_2, 1, 3, 3, only_2, 1));
    ck_assert_uint_eq(roles_stats().applied, 2);
    apply(update(me_only, 1, ME, 1, me_only, 1)); /* the epochs seen still fence it */
    ck_assert_uint_eq(roles_stats().refused_stale_epoch, 1);
    kb_role_update_t u = update(me_only, 1, -1, KB_ROLE_NO_EPOCH, NULL, 0);
    u.topic = "fresh";
    apply(u);
    apply(u);
    ck_assert_uint_eq(roles_stats().applied, 3);
    ck_assert_uint_eq(roles_stats().ignored_same_epoch, 1);
}
END_TEST

/* ---- the leader's own ISR write ---- */

/* T-0 led here at epoch 3 (zkVersion 3, controller epoch 9) with ISR
 * [1,2], two records appended, and the loop run until the leader, whose
 * follower never fetches, wrote the shrink to [1]. */
static kb_partition_t *shrink_written(void) {
    isr_writer = fake_write_isr;
    logfix_set("replica.lag.time.max.ms", "100");
    logfix_set("replica.fetch.wait.max.ms", "10");
    start();
    kb_role_update_t u = update(me_and_2, 2, ME, 3, me_and_2, 2);
    u.controller_epoch = 9;
    apply(u);
    kb_partition_t *p = kb_replicas_get(replicas, T, 0);
    ck_assert_ptr_nonnull(p);
    answer_t a = {0};
    produce(p, 2, 1, 1000, &a);
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
    loop_until(&writes.calls);
    ck_assert_int_eq(writes.calls, 1);
    return p;
}

START_TEST(isr_shrink_is_written_with_the_same_epoch_and_adopted) {
    kb_partition_t *p = shrink_written();
    ck_assert_str_eq(writes.topic, T);
    ck_assert_int_eq(writes.partition, 0);
    ck_assert_int_eq(writes.st.leader, ME);
    ck_assert_int_eq(writes.st.leader_epoch, 3);
    ck_assert_int_eq(writes.st.controller_epoch, 9);
    ck_assert_int_eq(writes.st.zk_version, 3);
    ck_assert_int_eq(writes.st.n_isr, 1);
    ck_assert_int_eq(writes.st.isr[0], ME);
    ck_assert_int_eq(p->n_isr, 2); /* nothing adopted before the write succeeds */
    write_answered(KC_OK, 4);
    ck_assert_int_eq(p->n_isr, 1);
    ck_assert_int_eq(p->isr[0], ME);
    ck_assert_int_eq(p->zk_version, 4);
    ck_assert_int_eq(kb_partition_high_watermark(p), 2);
    /* The same-epoch update that echoes the write back carries nothing new. */
    uint64_t applied = roles_stats().applied;
    kb_role_update_t echo = update(me_and_2, 2, ME, 3, me_only, 1);
    echo.zk_version = 4;
    apply(echo);
    ck_assert_uint_eq(roles_stats().applied, applied);
    ck_assert_uint_eq(roles_stats().ignored_same_epoch, 1);
    ck_assert_int_eq(p->zk_version, 4);
}
END_TEST

START_TEST(failed_isr_write_is_not_adopted) {
    kb_partition_t *p = shrink_written();
    write_answered(KC_BADVERSION, -1);
    ck_assert_int_eq(p->n_isr, 2);
    ck_assert_int_eq(p->zk_version, 3);
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
}
END_TEST

/* A write that succeeds after a new role replaced the state it was
 * conditional on is not adopted: the new role's state stands. */
START_TEST(isr_write_overtaken_by_a_new_role_is_not_adopted) {
    kb_partition_t *p = shrink_written();
    kb_role_update_t u = update(me_and_2, 2, ME, 4, me_and_2, 2);
    u.zk_version = 10;
    apply(u);
    write_answered(KC_OK, 11);
    ck_assert_int_eq(p->n_isr, 2);
    ck_assert_int_eq(p->zk_version, 10);
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
}
END_TEST

/* ---- the high watermark ---- */

START_TEST(high_watermark_follows_leo_when_isr_is_self) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 0, me_only, 1);
    answer_t a = {0};
    produce(p, 3, 1, 1000, &a);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, 0);
    ck_assert_int_eq(a.res.base_offset, 0);
    ck_assert_int_eq(a.res.last_offset, 2);
    ck_assert_int_eq(kb_partition_high_watermark(p), 3);
}
END_TEST

START_TEST(high_watermark_waits_for_a_larger_isr_then_moves_when_it_shrinks) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0};
    produce(p, 2, 1, 1000, &a);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, 0);
    ck_assert_int_eq(kb_partition_log_end_offset(p), 2);
    ck_assert_int_eq(kb_partition_high_watermark(p), 0);
    set_state(ME, 1, me_only, 1);
    ck_assert_int_eq(kb_partition_high_watermark(p), 2);
}
END_TEST

/* ---- acks=all ---- */

START_TEST(acks_all_parks_until_the_high_watermark_passes) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0}, b = {0};
    produce(p, 2, -1, 60000, &a);
    produce(p, 1, -1, 60000, &b);
    loop_once();
    ck_assert_int_eq(a.calls + b.calls, 0);
    set_state(ME, 1, me_only, 1);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(a.error, 0);
    ck_assert_int_eq(b.error, 0);
    ck_assert_int_eq(a.res.base_offset, 0);
    ck_assert_int_eq(b.res.base_offset, 2);
}
END_TEST

START_TEST(acks_all_answers_at_once_when_isr_is_self) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 0, me_only, 1);
    answer_t a = {0};
    produce(p, 1, -1, 60000, &a);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, 0);
}
END_TEST

START_TEST(acks_all_times_out_with_request_timed_out) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0};
    produce(p, 4, -1, 50, &a);
    ck_assert_int_eq(a.calls, 0);
    loop_until(&a.calls);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(a.res.base_offset, 0); /* the data stays in the log */
    ck_assert_int_eq(a.res.last_offset, 3);
    ck_assert_int_eq(kb_partition_log_end_offset(p), 4);
}
END_TEST

START_TEST(acks_all_below_min_insync_is_refused_before_appending) {
    logfix_set("min.insync.replicas", "2");
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_only, 1);
    answer_t a = {0}, b = {0};
    produce(p, 1, -1, 60000, &a);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(a.res.base_offset, -1);
    ck_assert_int_eq(kb_partition_log_end_offset(p), 0);
    produce(p, 1, 1, 60000, &b); /* acks=1 does not care */
    ck_assert_int_eq(b.error, 0);
}
END_TEST

/* kb_partition_produce: the batch an idempotent producer pipelined behind
 * a refused one arrives with a sequence gap, and gets the refusal's error
 * even once the partition would take it, not 45. */
START_TEST(batch_pipelined_behind_a_refusal_gets_the_refusal_not_out_of_order) {
    logfix_set("min.insync.replicas", "2");
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_only, 1);
    answer_t first[2] = {{0}}, refused[2] = {{0}}, behind[2] = {{0}}, retried = {0}, next = {0}, gap = {0};
    answer_t stray = {0}, stray_again = {0};
    produce_idempotent(p, 9, 0, 2, 1, &first[0]);
    produce_idempotent(p, 10, 0, 1, 1, &first[1]);
    ck_assert_int_eq(first[0].error + first[1].error, KP_ERR_NONE);
    produce_idempotent(p, 9, 2, 2, -1, &refused[0]);
    produce_idempotent(p, 10, 1, 1, -1, &refused[1]); /* each producer remembers its own */
    ck_assert_int_eq(refused[0].error, KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(refused[1].error, KP_ERR_NOT_ENOUGH_REPLICAS);
    produce_idempotent(p, 9, 9, 1, -1, &stray); /* a gap itself: refused, but not remembered */
    ck_assert_int_eq(stray.error, KP_ERR_NOT_ENOUGH_REPLICAS);
    set_state(ME, 1, me_and_2, 2); /* the ISR is back */
    produce_idempotent(p, 9, 4, 2, -1, &behind[0]);
    produce_idempotent(p, 10, 2, 1, 1, &behind[1]);
    ck_assert_int_eq(behind[0].calls, 1);
    ck_assert_int_eq(behind[0].error, KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(behind[1].error, KP_ERR_NOT_ENOUGH_REPLICAS);
    produce_idempotent(p, 9, 2, 2, 1, &retried);
    ck_assert_int_eq(retried.error, KP_ERR_NONE);
    produce_idempotent(p, 9, 4, 2, 1, &next);
    ck_assert_int_eq(next.error, KP_ERR_NONE);
    ck_assert_int_eq(next.res.base_offset, 5);
    produce_idempotent(p, 9, 10, 1, 1, &gap); /* its refused batch is appended: a gap is out of order again */
    ck_assert_int_eq(gap.error, KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    produce_idempotent(p, 9, 9, 1, 1, &stray_again);
    ck_assert_int_eq(stray_again.error, KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
}
END_TEST

START_TEST(isr_shrinking_below_min_insync_answers_not_enough_after_append) {
    logfix_set("min.insync.replicas", "2");
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0};
    produce(p, 1, -1, 60000, &a);
    ck_assert_int_eq(a.calls, 0);
    set_state(ME, 1, me_only, 1);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    ck_assert_int_eq(a.res.base_offset, 0);
}
END_TEST

START_TEST(losing_leadership_answers_parked_produces_not_leader) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0}, b = {0};
    produce(p, 1, -1, 60000, &a);
    ck_assert_int_eq(a.calls, 0);
    set_state(2, 1, two_and_me, 2);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    produce(p, 1, 1, 60000, &b); /* and a follower refuses new ones */
    ck_assert_int_eq(b.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
}
END_TEST

/* kb_roles.h, "Resigning": the session's expiry takes the leadership
 * back at once, and the controller's next update gives it again even at
 * the same leader epoch. */
START_TEST(expired_session_resigns_until_the_same_epoch_is_given_again) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 4, me_and_2, 2);
    answer_t parked = {0}, refused = {0}, again = {0};
    produce(p, 1, -1, 60000, &parked);
    ck_assert_int_eq(parked.calls, 0);
    ck_assert_uint_eq(kb_replicas_resign_leaderships(replicas), 1);
    ck_assert(!kb_partition_is_leader(p));
    ck_assert_int_eq(parked.calls, 1);
    ck_assert_int_eq(parked.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    produce(p, 1, 1, 60000, &refused);
    ck_assert_int_eq(refused.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_uint_eq(kb_replicas_resign_leaderships(replicas), 0); /* nothing led any more */
    set_state(ME, 4, me_only, 1);
    ck_assert(kb_partition_is_leader(p));
    ck_assert_uint_eq(roles_stats().ignored_same_epoch, 0);
    produce(p, 1, 1, 60000, &again);
    ck_assert_int_eq(again.error, KP_ERR_NONE);
    ck_assert_int_eq(again.res.base_offset, 1);
    set_state(ME, 4, me_only, 1); /* once given, the same epoch is ignored again */
    ck_assert_uint_eq(roles_stats().ignored_same_epoch, 1);
}
END_TEST

/* ---- fetch waiters ---- */

static void on_wake(void *arg) { (*(int *)arg)++; }

START_TEST(waiters_wake_on_the_loop_when_the_high_watermark_moves) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 0, me_only, 1);
    int woken = 0;
    ck_assert_ptr_nonnull(kb_partition_wait(p, on_wake, &woken));
    answer_t a = {0};
    produce(p, 1, 1, 1000, &a);
    ck_assert_int_eq(woken, 0); /* never inside the append */
    loop_once();
    ck_assert_int_eq(woken, 1);
    produce(p, 1, 1, 1000, &a);
    loop_once();
    ck_assert_int_eq(woken, 1); /* once: the waiter is gone */
}
END_TEST

START_TEST(waiters_sleep_while_the_high_watermark_stays) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    int woken = 0;
    kb_partition_wait(p, on_wake, &woken);
    answer_t a = {0};
    produce(p, 1, 1, 1000, &a);
    loop_once();
    ck_assert_int_eq(woken, 0);
    set_state(ME, 0, me_only, 1); /* same epoch: ignored, nothing moves */
    loop_once();
    ck_assert_int_eq(woken, 0);
    set_state(ME, 1, me_only, 1); /* the HW moves (and the epoch changed) */
    loop_once();
    ck_assert_int_eq(woken, 1);
}
END_TEST

START_TEST(waiters_wake_on_role_change) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    int woken = 0;
    kb_partition_wait(p, on_wake, &woken);
    set_state(2, 1, two_and_me, 2);
    loop_once();
    ck_assert_int_eq(woken, 1);
}
END_TEST

START_TEST(cancelled_waiter_is_never_called) {
    start();
    kb_partition_t *p = hosted(me_only, 1, ME, 0, me_only, 1);
    int woken = 0, other = 0;
    kb_waiter_t *w = kb_partition_wait(p, on_wake, &woken);
    kb_partition_wait(p, on_wake, &other);
    kb_waiter_cancel(w);
    answer_t a = {0};
    produce(p, 1, 1, 1000, &a);
    loop_once();
    ck_assert_int_eq(woken, 0);
    ck_assert_int_eq(other, 1);
}
END_TEST

/* A fetch on two partitions drops its other waiter when one wakes. */
typedef struct {
    kb_waiter_t *other;
    int woken;
} pair_t;

static void on_wake_cancel_other(void *arg) {
    pair_t *pair = arg;
    pair->woken++;
    kb_waiter_cancel(pair->other);
}

START_TEST(a_wake_may_cancel_a_waiter_already_queued) {
    start();
    kb_role_update_t u[2] = {update(me_only, 1, ME, 0, me_only, 1), update(me_only, 1, ME, 0, me_only, 1)};
    u[1].partition = 1;
    kb_replicas_apply_roles(replicas, u, 2);
    creations_done();
    kb_partition_t *p0 = kb_replicas_get(replicas, T, 0), *p1 = kb_replicas_get(replicas, T, 1);
    pair_t first = {0}, second = {0};
    kb_waiter_t *w0 = kb_partition_wait(p0, on_wake_cancel_other, &first);
    kb_waiter_t *w1 = kb_partition_wait(p1, on_wake_cancel_other, &second);
    first.other = w1;
    second.other = w0;
    answer_t a = {0};
    produce(p0, 1, 1, 1000, &a);
    produce(p1, 1, 1, 1000, &a);
    loop_once();
    ck_assert_int_eq(first.woken + second.woken, 1);
}
END_TEST

/* ---- shutdown ---- */

START_TEST(free_answers_parked_produces_and_wakes_waiters) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    answer_t a = {0};
    int woken = 0;
    produce(p, 1, -1, 60000, &a);
    kb_partition_wait(p, on_wake, &woken);
    kb_replicas_free(replicas);
    replicas = NULL;
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(woken, 1);
}
END_TEST

/* A produce answered during shutdown that produces again is refused at
 * once, and nothing new may wait. */
typedef struct {
    kb_partition_t *p;
    answer_t first, again;
    kb_waiter_t *late;
} reenter_t;

static void on_produced_reenter(void *arg, int16_t error_code, const kb_produce_result_t *res) {
    reenter_t *r = arg;
    on_produced(&r->first, error_code, res);
    produce(r->p, 1, -1, 60000, &r->again);
    r->late = kb_partition_wait(r->p, on_wake, &r->first.calls);
}

START_TEST(free_refuses_what_its_answers_start) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_and_2, 2);
    reenter_t r = {.p = p};
    uint8_t batch[4096];
    size_t size = logfix_batch(batch, 1, 10, true, 1700000000000);
    kp_batch_header_t h;
    kp_batch_header_decode(batch, size, &h);
    kb_partition_produce(p, batch, &h, -1, 60000, on_produced_reenter, &r);
    kb_replicas_free(replicas);
    replicas = NULL;
    ck_assert_int_eq(r.first.calls, 1);
    ck_assert_int_eq(r.again.calls, 1);
    ck_assert_int_eq(r.again.error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_ptr_null(r.late);
}
END_TEST

/* ---- append order (turns) ---- */

/* One client batch waiting for its turn: an idempotent producer's batch
 * of one record at seq; go() appends it, or notes the partition is gone. */
typedef struct {
    kb_append_turn_t turn;
    int32_t seq;
    int *order, *ran;   /* the running count of turns taken, and this one's place */
    answer_t answer;
    bool gone;
} turn_case_t;

static void turn_go(void *arg, kb_partition_t *p) {
    turn_case_t *c = arg;
    *c->ran = ++*c->order;
    if (!p) {
        c->gone = true;
        return;
    }
    produce_idempotent(p, 5, c->seq, 1, 1, &c->answer);
}

/* A batch still with the worker holds back every batch behind it, ready
 * or not; once it is ready all run, in arrival order, so the producer's
 * sequence is judged in the order it sent: none is out of order. */
START_TEST(turns_run_in_arrival_order) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_only, 1);
    int order = 0, ran[3] = {0};
    turn_case_t c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (turn_case_t){.seq = i, .order = &order, .ran = &ran[i]};
        kb_partition_turn_take(p, &c[i].turn, turn_go, &c[i]);
    }
    kb_partition_turn_ready(&c[1].turn);
    kb_partition_turn_ready(&c[2].turn);
    ck_assert_int_eq(order, 0);
    kb_partition_turn_ready(&c[0].turn);
    ck_assert_int_eq(order, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ran[i], i + 1);
        ck_assert_int_eq(c[i].answer.error, KP_ERR_NONE);
        ck_assert_int_eq(c[i].answer.res.base_offset, i);
    }
    ck_assert_ptr_null(TAILQ_FIRST(&p->turns));
    turn_case_t alone = {.seq = 3, .order = &order, .ran = &ran[0]};
    kb_partition_turn_take(p, &alone.turn, turn_go, &alone);
    kb_partition_turn_ready(&alone.turn); /* nothing ahead: at once */
    ck_assert_int_eq(alone.answer.calls, 1);
    ck_assert_int_eq(alone.answer.res.base_offset, 3);
}
END_TEST

/* A partition freed with turns queued: the ready one hears at once that
 * its partition is gone, the other when it becomes ready; nothing runs
 * on freed memory. */
START_TEST(freeing_a_partition_tells_its_queued_turns) {
    start();
    kb_partition_t *p = hosted(me_and_2, 2, ME, 0, me_only, 1);
    int order = 0, ran[2] = {0};
    turn_case_t c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = (turn_case_t){.seq = i, .order = &order, .ran = &ran[i]};
        kb_partition_turn_take(p, &c[i].turn, turn_go, &c[i]);
    }
    kb_partition_turn_ready(&c[1].turn);
    kb_replicas_free(replicas);
    replicas = NULL;
    ck_assert(c[1].gone && !c[0].gone);
    kb_partition_turn_ready(&c[0].turn);
    ck_assert(c[0].gone);
    ck_assert_int_eq(c[0].answer.calls + c[1].answer.calls, 0);
}
END_TEST

Suite *replica_suite(void) {
    Suite *s = suite_create("replica");
    TCase *tc = tcase_create("partitions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hosts_only_partitions_whose_replicas_list_it);
    tcase_add_test(tc, leader_or_follower_as_the_update_says);
    tcase_add_test(tc, unassigning_update_drops_the_role_but_keeps_the_log);
    tcase_add_test(tc, no_epoch_means_hosted_but_not_leading);
    tcase_add_test(tc, takes_the_last_role_given_while_its_log_was_created);
    tcase_add_test(tc, older_epoch_is_refused_and_counted);
    tcase_add_test(tc, same_epoch_is_ignored);
    tcase_add_test(tc, newer_epoch_is_applied);
    tcase_add_test(tc, same_epoch_that_unassigns_is_applied);
    tcase_add_test(tc, moved_away_partition_refuses_an_older_epoch);
    tcase_add_test(tc, deleted_partition_starts_over_at_epoch_zero);
    tcase_add_test(tc, deleting_a_partition_answers_its_produces_unknown_topic_and_removes_its_log);
    tcase_add_test(tc, a_topic_created_again_after_its_deletion_starts_empty);
    tcase_add_test(tc, deleting_a_partition_never_hosted_deletes_the_log_left_from_before);
    tcase_add_test(tc, applied_counts_only_what_changed_here);
    tcase_add_test(tc, partitions_past_the_budget_are_refused_and_hosted_once_room_frees);
    tcase_add_test(tc, the_not_hosted_line_counts_only_partitions_that_still_wait);
    tcase_add_test(tc, isr_shrink_is_written_with_the_same_epoch_and_adopted);
    tcase_add_test(tc, failed_isr_write_is_not_adopted);
    tcase_add_test(tc, isr_write_overtaken_by_a_new_role_is_not_adopted);
    tcase_add_test(tc, high_watermark_follows_leo_when_isr_is_self);
    tcase_add_test(tc, high_watermark_waits_for_a_larger_isr_then_moves_when_it_shrinks);
    tcase_add_test(tc, acks_all_parks_until_the_high_watermark_passes);
    tcase_add_test(tc, acks_all_answers_at_once_when_isr_is_self);
    tcase_add_test(tc, acks_all_times_out_with_request_timed_out);
    tcase_add_test(tc, acks_all_below_min_insync_is_refused_before_appending);
    tcase_add_test(tc, batch_pipelined_behind_a_refusal_gets_the_refusal_not_out_of_order);
    tcase_add_test(tc, turns_run_in_arrival_order);
    tcase_add_test(tc, freeing_a_partition_tells_its_queued_turns);
    tcase_add_test(tc, isr_shrinking_below_min_insync_answers_not_enough_after_append);
    tcase_add_test(tc, losing_leadership_answers_parked_produces_not_leader);
    tcase_add_test(tc, expired_session_resigns_until_the_same_epoch_is_given_again);
    tcase_add_test(tc, waiters_wake_on_the_loop_when_the_high_watermark_moves);
    tcase_add_test(tc, waiters_sleep_while_the_high_watermark_stays);
    tcase_add_test(tc, waiters_wake_on_role_change);
    tcase_add_test(tc, cancelled_waiter_is_never_called);
    tcase_add_test(tc, a_wake_may_cancel_a_waiter_already_queued);
    tcase_add_test(tc, free_answers_parked_produces_and_wakes_waiters);
    tcase_add_test(tc, free_refuses_what_its_answers_start);
    suite_add_tcase(s, tc);
    return s;
}
