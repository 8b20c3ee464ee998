/*
 * kb_control_requests.c - the admission of the controller's requests
 * (kb_control_requests.h: who sent them, for which incarnation, from
 * which controller), then LeaderAndIsr and StopReplica as role updates
 * for the partitions (kb_roles.h).  UpdateMetadata, which fills the
 * metadata cache instead, is kb_control_metadata.c.
 *
 * Order inside a LeaderAndIsr: every partition is checked first (name,
 * index, the view's assignment, then whether it lists this broker), then
 * the settings of each topic named are given from the view (so that a
 * log created for it is made with them), then the
 * role updates go to the partitions in one batch, whose per-update
 * outcomes become the per-partition errors.  Nothing in a request is
 * applied before it is admitted, so a refused request changes nothing.
 */
#include "broker/kb_control_requests.h"

#include <stdlib.h>
#include <string.h>

#include "broker/kb_control_internal.h"
#include "broker/replica/kb_settings_view.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_model.h"
#include "coord/kc_topics.h"
#include "proto/kp_types.h"

/* ------------------------------------------------------------- admission */

static int64_t my_epoch(const kb_control_t *c) {
    return c->deps.broker_epoch ? c->deps.broker_epoch(c->deps.epoch_arg) : -1;
}

/* Step 1: the controller a request names is its connection's peer. */
static int16_t check_sender(kb_control_t *c, const kb_control_header_t *h) {
    if (h->controller_id == h->sender) return 0;
    c->stats.refused_not_sender++;
    kb_control_log(c, CLOG_NOT_SENDER, KC_LOG_WARN, "%s refused: it names controller %d but its connection's Hello named broker %d", h->what,
            (int)h->controller_id, (int)h->sender);
    return KP_ERR_NOT_CONTROLLER;
}

/* Step 2: meant for this incarnation (or a newer one, KAFKA-9839). */
static int16_t check_broker_epoch(kb_control_t *c, const kb_control_header_t *h) {
    int64_t mine = my_epoch(c);
    if (mine != KB_CONTROL_UNREGISTERED && h->broker_epoch != -1 && h->broker_epoch >= mine) return 0;
    c->stats.refused_stale_broker_epoch++;
    if (mine == KB_CONTROL_UNREGISTERED)
        kb_control_log(c, CLOG_BROKER_EPOCH, KC_LOG_WARN,
                       "%s (broker epoch %lld) refused: this broker lost its registration (session expired, "
                       "znode deleted, or shutting down) and is not registered again",
                       h->what, (long long)h->broker_epoch);
    else if (h->broker_epoch == -1)
        kb_control_log(c, CLOG_BROKER_EPOCH, KC_LOG_WARN, "%s refused: it names no broker epoch (ours is %lld)", h->what, (long long)mine);
    else
        kb_control_log(c, CLOG_BROKER_EPOCH, KC_LOG_WARN, "%s refused: broker epoch %lld is older than ours (%lld)",
                       h->what,
                (long long)h->broker_epoch, (long long)mine);
    return KP_ERR_STALE_BROKER_EPOCH;
}

/* Step 3: no newer controller is known, from its requests or from
 * ZooKeeper (zk_epoch, -1 when unknown). */
static int16_t check_deposed(kb_control_t *c, const kb_control_header_t *h, int32_t zk_epoch) {
    int32_t newest = c->controller_epoch > zk_epoch ? c->controller_epoch : zk_epoch;
    if (h->controller_epoch >= newest) return 0;
    c->stats.refused_stale_controller_epoch++;
    kb_control_log(c, CLOG_DEPOSED, KC_LOG_WARN, "%s refused: controller epoch %d is older than %d (%s)", h->what, (int)h->controller_epoch,
            (int)newest, newest == zk_epoch ? "/controller_epoch" : "a request accepted before");
    return KP_ERR_STALE_CONTROLLER_EPOCH;
}

/* Step 4: the sender is the controller ZooKeeper names (zk_id) at an
 * epoch ZooKeeper holds (zk_epoch), as the view sees them. */
static int16_t check_zk_controller(kb_control_t *c, const kb_control_header_t *h, int32_t zk_id, int32_t zk_epoch) {
    if (h->controller_id != zk_id) {
        c->stats.refused_not_zk_controller++;
        kb_control_log(c, CLOG_NOT_ZK_CONTROLLER, KC_LOG_WARN, "%s refused: from controller %d, but /controller names %d as this broker sees it", h->what,
                (int)h->controller_id, (int)zk_id);
        return KP_ERR_NOT_CONTROLLER;
    }
    if (h->controller_epoch > zk_epoch) {
        /* One above, from the controller /controller names, is the normal
         * case right after an election (the new controller writes
         * /controller, then /controller_epoch, and sends at once; this
         * broker's watch on /controller_epoch fires a moment later, and
         * the controller sends again with backoff): not a warning.  Any
         * other jump is (a forged or confused epoch). */
        int level = h->controller_epoch == zk_epoch + 1 ? KC_LOG_INFO : KC_LOG_WARN;
        c->stats.refused_ahead_of_zk++;
        kb_control_log(c, CLOG_NOT_ZK_CONTROLLER, level, "%s refused: controller epoch %d is above /controller_epoch (%d) as this broker sees it%s",
                h->what, (int)h->controller_epoch, (int)zk_epoch,
                level == KC_LOG_INFO ? " (not read here yet: the controller sends it again)" : "");
        return KP_ERR_NOT_CONTROLLER;
    }
    return 0;
}

/* The steps in the order kb_control_requests.h gives: who sent it first
 * (Kafka authorises before anything else), then the broker epoch (Kafka's
 * first fencing check), then whether the sender is deposed before whether
 * it is the controller ZooKeeper names, so that a deposed controller
 * hears 11 rather than 41. */
int16_t kb_control_admit(kb_control_t *c, const kb_control_header_t *h) {
    const kc_view_t *v = c->deps.view;
    int32_t zk_id = v ? kc_view_controller(v) : -1, zk_epoch = v ? kc_view_controller_epoch(v) : -1;
    int16_t err = check_sender(c, h);
    if (!err) err = check_broker_epoch(c, h);
    if (!err) err = check_deposed(c, h, zk_epoch);
    if (!err) err = check_zk_controller(c, h, zk_id, zk_epoch);
    return err;
}

void kb_control_accept(kb_control_t *c, const kb_control_header_t *h) {
    if (h->controller_epoch > c->controller_epoch) c->controller_epoch = h->controller_epoch;
}

/* --------------------------------------------------------------- checks */

/* One UpdateMetadata state at index 2^31-1 would otherwise grow its topic
 * to two billion partitions. */
bool kb_control_index_possible(int32_t index) { return index >= 0 && index < KC_TOPIC_MAX_PARTITIONS; }

int16_t kb_control_partition_check(const char *topic, int32_t index) {
    char why[128];
    if (!topic || !kc_topic_name_valid(topic, why, sizeof(why))) return KP_ERR_INVALID_TOPIC_EXCEPTION;
    return kb_control_index_possible(index) ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* A name in a log line is cut to this many bytes: a crafted one may be
 * as long as a frame. */
#define LOG_NAME_MAX 200

void kb_control_log_invalid(kb_control_t *c, const char *what, size_t n, const char *topic, int32_t index) {
    if (n == 0) return;
    kb_control_log(c, CLOG_INVALID, KC_LOG_WARN, "%s: %zu partition(s) refused (invalid topic name or index), the first partition %d of "
            "topic '%.*s'", what, n, (int)index, LOG_NAME_MAX, topic ? topic : "");
}

const kc_topic_t *kb_control_view_partition(const kb_control_t *c, const char *topic, int32_t index) {
    const kc_topic_t *t = c->deps.view && topic ? kc_view_topic(c->deps.view, topic) : NULL;
    return t && index >= 0 && index < t->n_partitions ? t : NULL;
}

/* Info, not a warning: a new topic's first requests often arrive before
 * this broker's view has read its assignment, and the retry settles it. */
int16_t kb_control_refuse_unknown(kb_control_t *c, const char *what, size_t n, const char *topic, int32_t index) {
    c->stats.refused_unknown_here++;
    kb_control_log(c, CLOG_UNKNOWN_HERE, KC_LOG_INFO, "%s refused: %zu partition(s) not in ZooKeeper as this broker sees it (or assigned "
            "otherwise), the first partition %d of topic '%.*s'; the controller sends it again", what, n, (int)index,
            LOG_NAME_MAX, topic ? topic : "");
    return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* ------------------------------------------------------------- scratch */

/* The role-update arrays are kept between requests up to this many
 * entries (about 100 KB), which covers the usual request; a larger one's
 * are freed once it is answered, so that one huge request (a failover of
 * a big cluster, or a peer's garbage) does not keep its memory for the
 * life of the broker. */
#define SCRATCH_KEEP 1024

static void scratch_free(kb_control_t *c) {
    free(c->u);
    free(c->outcome);
    free(c->from);
    c->u = NULL;
    c->outcome = NULL;
    c->from = NULL;
    c->cap = 0;
}

/* Room for n role updates; -1 (and none kept) when out of memory. */
static int reserve(kb_control_t *c, size_t n) {
    if (n <= c->cap) return 0;
    kb_role_update_t *u = realloc(c->u, n * sizeof(*u));
    if (u) c->u = u;
    kb_role_outcome_t *o = realloc(c->outcome, n * sizeof(*o));
    if (o) c->outcome = o;
    size_t *f = realloc(c->from, n * sizeof(*f));
    if (f) c->from = f;
    if (!u || !o || !f) {
        scratch_free(c);
        return -1;
    }
    c->cap = n;
    return 0;
}

/* After each request, answered or refused: see SCRATCH_KEEP. */
static void scratch_trim(kb_control_t *c) {
    if (c->cap > SCRATCH_KEEP) scratch_free(c);
}

size_t kb_control_scratch_held(const kb_control_t *c) { return c->cap; }

/* ---------------------------------------------------------------- object */

kb_control_t *kb_control_new(const kb_control_deps_t *deps) {
    kb_control_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->deps = *deps;
    c->controller_epoch = -1;
    return c;
}

void kb_control_free(kb_control_t *c) {
    if (!c) return;
    scratch_free(c);
    free(c);
}

void kb_control_stats(const kb_control_t *c, kb_control_stats_t *out) { *out = c->stats; }
int32_t kb_control_controller_epoch(const kb_control_t *c) { return c->controller_epoch; }

/* ------------------------------------------------------------- responses */

/* n partition errors in one block (the pointers, then the structs), all
 * 0; the caller names them.  NULL when out of memory (n > 0). */
static Kbroker__Rpc__PartitionError **errors_new(size_t n) {
    if (n == 0) return NULL;
    Kbroker__Rpc__PartitionError **ptrs = calloc(1, n * (sizeof(*ptrs) + sizeof(**ptrs)));
    if (!ptrs) return NULL;
    Kbroker__Rpc__PartitionError *e = (Kbroker__Rpc__PartitionError *)(ptrs + n);
    for (size_t i = 0; i < n; i++) {
        kbroker__rpc__partition_error__init(&e[i]);
        ptrs[i] = &e[i];
    }
    return ptrs;
}

/* What every per-partition request does once admitted and checked: room
 * for n partition errors and n role updates.  0 with *errs set (the
 * caller's response owns it) and the request accepted, or the request's
 * error code with nothing allocated. */
static int16_t begin(kb_control_t *c, const kb_control_header_t *h, size_t n, Kbroker__Rpc__PartitionError ***errs) {
    *errs = errors_new(n);
    if ((n > 0 && !*errs) || reserve(c, n) != 0) {
        kc_error("control", "%s: out of memory for %zu partitions", h->what, n);
        free(*errs);
        *errs = NULL;
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    kb_control_accept(c, h);
    return 0;
}

static void error_name(Kbroker__Rpc__PartitionError *e, const char *topic, int32_t index, int16_t code) {
    e->topic_name = (char *)(topic ? topic : ""); /* borrowed from the request */
    e->partition_index = index;
    e->error_code = code;
}

void kb_control_response_clear(ProtobufCMessage *msg) {
    if (msg->descriptor == &kbroker__rpc__leader_and_isr_response__descriptor) {
        Kbroker__Rpc__LeaderAndIsrResponse *r = (Kbroker__Rpc__LeaderAndIsrResponse *)msg;
        free(r->partition_errors);
        r->partition_errors = NULL;
        r->n_partition_errors = 0;
    } else if (msg->descriptor == &kbroker__rpc__stop_replica_response__descriptor) {
        Kbroker__Rpc__StopReplicaResponse *r = (Kbroker__Rpc__StopReplicaResponse *)msg;
        free(r->partition_errors);
        r->partition_errors = NULL;
        r->n_partition_errors = 0;
    }
}

static int16_t outcome_error(kb_role_outcome_t o) {
    switch (o) {
    case KB_ROLE_REFUSED_STALE: return KP_ERR_FENCED_LEADER_EPOCH;
    case KB_ROLE_NO_MEMORY: return KP_ERR_UNKNOWN_SERVER_ERROR;
    case KB_ROLE_STORAGE_ERROR: return KP_ERR_KAFKA_STORAGE_ERROR;
    case KB_ROLE_NO_ROOM: return KP_ERR_KAFKA_STORAGE_ERROR; /* what Kafka answers for a replica it cannot host */
    default: return 0;
    }
}

/* Applies c->u[0..n) and writes each outcome into its partition's error. */
static void apply_updates(kb_control_t *c, size_t n, Kbroker__Rpc__PartitionError **errs) {
    kb_replicas_apply_roles_outcomes(c->deps.replicas, c->u, n, c->outcome);
    for (size_t k = 0; k < n; k++) {
        int16_t code = outcome_error(c->outcome[k]);
        if (code == KP_ERR_FENCED_LEADER_EPOCH) c->stats.partitions_fenced++;
        errs[c->from[k]]->error_code = code;
    }
}

/* ----------------------------------------------------------- LeaderAndIsr */

/* The role update a partition state says (its arrays borrowed). */
static kb_role_update_t update_of(const Kbroker__Rpc__PartitionState *ps) {
    return (kb_role_update_t){.topic = ps->topic_name, .partition = ps->partition_index, .leader = ps->leader,
                              .leader_epoch = ps->leader_epoch < 0 ? KB_ROLE_NO_EPOCH : ps->leader_epoch,
                              .controller_epoch = ps->controller_epoch, .zk_version = ps->zk_version,
                              .isr = ps->isr, .n_isr = (int)ps->n_isr, .replicas = ps->replicas,
                              .n_replicas = (int)ps->n_replicas};
}

/* The settings of the topic of update k, unless update k-1 named it too
 * (a request lists a topic's partitions together), when the view has it. */
static void give_settings(kb_control_t *c, size_t k) {
    if (!c->deps.view || (k > 0 && strcmp(c->u[k - 1].topic, c->u[k].topic) == 0)) return;
    const kc_topic_t *t = kc_view_topic(c->deps.view, c->u[k].topic);
    if (t) kb_settings_give(c->deps.replicas, c->deps.cfg, t);
}

/* ZooKeeper, as the view sees it, has partition ps and assigns it the
 * replicas ps names, in that order. */
static bool assignment_known(const kb_control_t *c, const Kbroker__Rpc__PartitionState *ps) {
    const kc_topic_t *t = kb_control_view_partition(c, ps->topic_name, ps->partition_index);
    if (!t) return false;
    const kc_partition_t *p = &t->partitions[ps->partition_index];
    return (size_t)p->n_replicas == ps->n_replicas &&
           (p->n_replicas == 0 || memcmp(p->replicas, ps->replicas, ps->n_replicas * sizeof(int32_t)) == 0);
}

/* Before anything is applied: every partition of req with a valid name
 * and index is assigned as the view says (kb_control_requests.h, "What
 * ZooKeeper holds"); 0, or 3 for the whole request.  One view lookup per
 * partition, O(log topics). */
static int16_t roles_known(kb_control_t *c, const Kbroker__Rpc__LeaderAndIsrRequest *req) {
    const Kbroker__Rpc__PartitionState *first = NULL;
    size_t unknown = 0;
    for (size_t i = 0; i < req->n_partition_states; i++) {
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[i];
        if (kb_control_partition_check(ps->topic_name, ps->partition_index) || assignment_known(c, ps)) continue;
        if (unknown++ == 0) first = ps;
    }
    if (!unknown) return 0;
    return kb_control_refuse_unknown(c, "LeaderAndIsr", unknown, first->topic_name, first->partition_index);
}

/* Checks every partition of req, collecting the valid ones in c->u. */
static size_t collect_roles(kb_control_t *c, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                            Kbroker__Rpc__PartitionError **errs) {
    size_t n = 0, invalid = 0, first_invalid = 0;
    for (size_t i = 0; i < req->n_partition_states; i++) {
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[i];
        int16_t code = kb_control_partition_check(ps->topic_name, ps->partition_index);
        if (code && invalid++ == 0) first_invalid = i;
        if (!code && !kc_int32_contains(ps->replicas, (int)ps->n_replicas, c->deps.cfg->broker_id))
            code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION; /* not a replica here: StopReplica's business */
        error_name(errs[i], ps->topic_name, ps->partition_index, code);
        if (code) continue;
        c->u[n] = update_of(ps);
        c->from[n++] = i;
    }
    if (invalid) {
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[first_invalid];
        kb_control_log_invalid(c, "LeaderAndIsr", invalid, ps->topic_name, ps->partition_index);
    }
    return n;
}

int16_t kb_control_leader_and_isr(kb_control_t *c, int32_t sender, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                                  Kbroker__Rpc__LeaderAndIsrResponse *out) {
    const kb_control_header_t h = {"LeaderAndIsr", sender, req->controller_id, req->controller_epoch,
                                   req->broker_epoch};
    size_t n = req->n_partition_states;
    kbroker__rpc__leader_and_isr_response__init(out);
    Kbroker__Rpc__PartitionError **errs = NULL;
    int16_t err = kb_control_admit(c, &h);
    if (!err) err = roles_known(c, req);
    if (!err) err = begin(c, &h, n, &errs);
    out->error_code = err;
    if (!err) {
        out->partition_errors = errs;
        out->n_partition_errors = n;
        size_t k = collect_roles(c, req, errs);
        for (size_t i = 0; i < k; i++) give_settings(c, i);
        apply_updates(c, k, errs);
        c->stats.leader_and_isr++;
    }
    scratch_trim(c);
    return err;
}

/* ---------------------------------------------------------- StopReplica */

/* Collects the partitions to stop in c->u, naming every one's error. */
static size_t collect_stops(kb_control_t *c, const Kbroker__Rpc__StopReplicaRequest *req,
                            Kbroker__Rpc__PartitionError **errs) {
    size_t k = 0, invalid = 0, first_invalid = 0;
    for (size_t i = 0; i < req->n_partitions; i++) {
        const Kbroker__Rpc__StopReplicaPartition *sp = req->partitions[i];
        int16_t code = kb_control_partition_check(sp->topic_name, sp->partition_index);
        error_name(errs[i], sp->topic_name, sp->partition_index, code);
        if (code && invalid++ == 0) first_invalid = i;
        if (code) continue;
        /* Kafka's -1 (none) and -2 (topic deletion) stop at any epoch. */
        c->u[k] = (kb_role_update_t){.topic = sp->topic_name, .partition = sp->partition_index, .leader = -1,
                                     .leader_epoch = sp->leader_epoch < 0 ? KB_ROLE_NO_EPOCH : sp->leader_epoch,
                                     .controller_epoch = -1, .zk_version = -1, .stop = true,
                                     .deleted = sp->delete_partition};
        c->from[k++] = i;
    }
    if (invalid)
        kb_control_log_invalid(c, "StopReplica", invalid, req->partitions[first_invalid]->topic_name,
                               req->partitions[first_invalid]->partition_index);
    return k;
}

/* A stop is applied whether or not the view holds its partition: it only
 * ever ends a role and frees (a partition never hosted here allocates
 * nothing, KB_ROLE_NOT_HERE), and the partitions of a topic whose znode is
 * gone must still stop.  One that found nothing here and that the view
 * does not hold either is answered UNKNOWN_TOPIC_OR_PARTITION, unless it
 * was a deletion: there is nothing left to delete, which is its success
 * (Kafka answers NONE), and the deletion waiting for it goes on. */
static void name_unknown_stops(kb_control_t *c, size_t k, Kbroker__Rpc__PartitionError **errs) {
    for (size_t i = 0; i < k; i++)
        if (c->outcome[i] == KB_ROLE_NOT_HERE && !c->u[i].deleted &&
            !kb_control_view_partition(c, c->u[i].topic, c->u[i].partition))
            errs[c->from[i]]->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* A log may be deleted only where ZooKeeper says it goes, as the view
 * sees it: its topic is gone or marked for deletion, or the partition no
 * longer exists or is no longer assigned here (a reassignment moved it). */
static bool deletion_known(const kb_control_t *c, const char *topic, int32_t index) {
    const kc_topic_t *t = c->deps.view ? kc_view_topic(c->deps.view, topic) : NULL;
    if (!t || kc_view_topic_marked(c->deps.view, topic) || index >= t->n_partitions) return true;
    const kc_partition_t *p = &t->partitions[index];
    return !kc_int32_contains(p->replicas, p->n_replicas, c->deps.cfg->broker_id);
}

/* Before anything is applied: every delete of req (with a valid name and
 * index) is one ZooKeeper holds (deletion_known); 0, or 3 for the whole
 * request, which the controller sends again once this view caught up
 * (kb_control_requests.h, "What ZooKeeper holds"). */
static int16_t deletions_known(kb_control_t *c, const Kbroker__Rpc__StopReplicaRequest *req) {
    const Kbroker__Rpc__StopReplicaPartition *first = NULL;
    size_t unknown = 0;
    for (size_t i = 0; i < req->n_partitions; i++) {
        const Kbroker__Rpc__StopReplicaPartition *sp = req->partitions[i];
        if (!sp->delete_partition || kb_control_partition_check(sp->topic_name, sp->partition_index) ||
            deletion_known(c, sp->topic_name, sp->partition_index))
            continue;
        if (unknown++ == 0) first = sp;
    }
    if (!unknown) return 0;
    return kb_control_refuse_unknown(c, "StopReplica with deletion", unknown, first->topic_name,
                                     first->partition_index);
}

int16_t kb_control_stop_replica(kb_control_t *c, int32_t sender, const Kbroker__Rpc__StopReplicaRequest *req,
                                Kbroker__Rpc__StopReplicaResponse *out) {
    const kb_control_header_t h = {"StopReplica", sender, req->controller_id, req->controller_epoch,
                                   req->broker_epoch};
    size_t n = req->n_partitions;
    kbroker__rpc__stop_replica_response__init(out);
    Kbroker__Rpc__PartitionError **errs = NULL;
    int16_t err = kb_control_admit(c, &h);
    if (!err) err = deletions_known(c, req);
    if (!err) err = begin(c, &h, n, &errs);
    out->error_code = err;
    if (!err) {
        out->partition_errors = errs;
        out->n_partition_errors = n;
        size_t k = collect_stops(c, req, errs);
        apply_updates(c, k, errs);
        name_unknown_stops(c, k, errs);
        c->stats.stop_replica++;
    }
    scratch_trim(c);
    return err;
}
