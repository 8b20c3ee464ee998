/*
 * kb_control_requests.c - the broker side of LeaderAndIsr, UpdateMetadata
 * and StopReplica (kb_control_requests.h): fencing by broker and
 * controller epoch, then role updates for the partitions (kb_roles.h) or
 * copies into the metadata cache (kb_metadata.h).
 *
 * Order inside a LeaderAndIsr: every partition is checked first (name,
 * index, assignment), then the settings of each topic named are given from
 * the view (so that a log created for it is made with them), then the
 * role updates go to the partitions in one batch, whose per-update
 * outcomes become the per-partition errors.  Nothing in a request is
 * applied before both epochs are admitted, so a refused request changes
 * nothing.
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

kb_control_t *kb_control_new(const kb_control_deps_t *deps) {
    kb_control_t *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->deps = *deps;
    c->controller_epoch = -1;
    return c;
}

void kb_control_free(kb_control_t *c) {
    if (!c) return;
    free(c->u);
    free(c->outcome);
    free(c->from);
    free(c);
}

void kb_control_stats(const kb_control_t *c, kb_control_stats_t *out) { *out = c->stats; }
int32_t kb_control_controller_epoch(const kb_control_t *c) { return c->controller_epoch; }

/* ---------------------------------------------------------------- fencing */

static int64_t my_epoch(const kb_control_t *c) {
    return c->deps.broker_epoch ? c->deps.broker_epoch(c->deps.epoch_arg) : -1;
}

/* The whole-request checks, in Kafka's order (the broker epoch first);
 * an admitted request raises the controller epoch remembered. */
static int16_t admit(kb_control_t *c, const char *what, int32_t controller_epoch, int64_t broker_epoch) {
    int64_t mine = my_epoch(c);
    if (broker_epoch != -1 && broker_epoch < mine) {
        c->stats.refused_stale_broker_epoch++;
        kc_warn("control", "%s refused: broker epoch %lld is older than ours (%lld)", what, (long long)broker_epoch,
                (long long)mine);
        return KP_ERR_STALE_BROKER_EPOCH;
    }
    if (controller_epoch < c->controller_epoch) {
        c->stats.refused_stale_controller_epoch++;
        kc_warn("control", "%s refused: controller epoch %d is older than %d", what, (int)controller_epoch,
                (int)c->controller_epoch);
        return KP_ERR_STALE_CONTROLLER_EPOCH;
    }
    c->controller_epoch = controller_epoch;
    return 0;
}

/* A partition a request names: 17 for a name Kafka would refuse, 3 for a
 * negative index, else 0. */
/* No topic can have KC_TOPIC_MAX_PARTITIONS partitions (its znode would
 * not fit in ZooKeeper), so an index at or above it is refused before it
 * can size anything: one UpdateMetadata state at index 2^31-1 would
 * otherwise grow its topic to two billion partitions. */
static bool index_possible(int32_t index) { return index >= 0 && index < KC_TOPIC_MAX_PARTITIONS; }

static int16_t partition_check(const char *topic, int32_t index) {
    char why[128];
    if (!topic || !kc_topic_name_valid(topic, why, sizeof(why))) return KP_ERR_INVALID_TOPIC_EXCEPTION;
    return index_possible(index) ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* Room for n role updates; -1 when out of memory. */
static int reserve(kb_control_t *c, size_t n) {
    if (n <= c->cap) return 0;
    kb_role_update_t *u = realloc(c->u, n * sizeof(*u));
    if (u) c->u = u;
    kb_role_outcome_t *o = realloc(c->outcome, n * sizeof(*o));
    if (o) c->outcome = o;
    size_t *f = realloc(c->from, n * sizeof(*f));
    if (f) c->from = f;
    if (!u || !o || !f) return -1;
    c->cap = n;
    return 0;
}

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

/* The start every per-partition request shares: room for n partition
 * errors and n role updates, then the epochs' admission.  0 with *errs
 * set (the caller's response owns it), or the request's error code with
 * nothing allocated. */
static int16_t begin(kb_control_t *c, const char *what, size_t n, int32_t controller_epoch, int64_t broker_epoch,
                     Kbroker__Rpc__PartitionError ***errs) {
    *errs = errors_new(n);
    int16_t err = (n > 0 && !*errs) || reserve(c, n) != 0 ? KP_ERR_UNKNOWN_SERVER_ERROR : 0;
    if (!err) err = admit(c, what, controller_epoch, broker_epoch);
    if (err) {
        free(*errs);
        *errs = NULL;
    }
    return err;
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

/* Checks every partition of req, collecting the valid ones in c->u. */
static size_t collect_roles(kb_control_t *c, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                            Kbroker__Rpc__PartitionError **errs) {
    size_t n = 0;
    for (size_t i = 0; i < req->n_partition_states; i++) {
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[i];
        int16_t code = partition_check(ps->topic_name, ps->partition_index);
        if (!code && !kc_int32_contains(ps->replicas, (int)ps->n_replicas, c->deps.cfg->broker_id))
            code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION; /* not a replica here: StopReplica's business */
        error_name(errs[i], ps->topic_name, ps->partition_index, code);
        if (code) continue;
        c->u[n] = update_of(ps);
        c->from[n++] = i;
    }
    return n;
}

int16_t kb_control_leader_and_isr(kb_control_t *c, const Kbroker__Rpc__LeaderAndIsrRequest *req,
                                  Kbroker__Rpc__LeaderAndIsrResponse *out) {
    size_t n = req->n_partition_states;
    kbroker__rpc__leader_and_isr_response__init(out);
    Kbroker__Rpc__PartitionError **errs;
    int16_t err = begin(c, "LeaderAndIsr", n, req->controller_epoch, req->broker_epoch, &errs);
    out->error_code = err;
    if (err) return err;
    out->partition_errors = errs;
    out->n_partition_errors = n;
    size_t k = collect_roles(c, req, errs);
    for (size_t i = 0; i < k; i++) give_settings(c, i);
    apply_updates(c, k, errs);
    c->stats.leader_and_isr++;
    return 0;
}

/* ---------------------------------------------------------- StopReplica */

int16_t kb_control_stop_replica(kb_control_t *c, const Kbroker__Rpc__StopReplicaRequest *req,
                                Kbroker__Rpc__StopReplicaResponse *out) {
    size_t n = req->n_partitions, k = 0;
    kbroker__rpc__stop_replica_response__init(out);
    Kbroker__Rpc__PartitionError **errs;
    int16_t err = begin(c, "StopReplica", n, req->controller_epoch, req->broker_epoch, &errs);
    out->error_code = err;
    if (err) return err;
    out->partition_errors = errs;
    out->n_partition_errors = n;
    for (size_t i = 0; i < n; i++) {
        const Kbroker__Rpc__StopReplicaPartition *sp = req->partitions[i];
        int16_t code = partition_check(sp->topic_name, sp->partition_index);
        error_name(errs[i], sp->topic_name, sp->partition_index, code);
        if (code) continue;
        /* Kafka's -1 (none) and -2 (topic deletion) stop at any epoch. */
        c->u[k] = (kb_role_update_t){.topic = sp->topic_name, .partition = sp->partition_index, .leader = -1,
                                     .leader_epoch = sp->leader_epoch < 0 ? KB_ROLE_NO_EPOCH : sp->leader_epoch,
                                     .controller_epoch = -1, .zk_version = -1, .stop = true,
                                     .deleted = sp->delete_partition};
        c->from[k++] = i;
    }
    apply_updates(c, k, errs);
    c->stats.stop_replica++;
    return 0;
}

/* -------------------------------------------------------- UpdateMetadata */

/* A live broker's id and its position in the request, sorted by both so
 * that the first entry of each id is found in O(n log n): a request may
 * list up to a frame's worth of brokers, and a scan per broker would hold
 * the loop for minutes. */
typedef struct id_pos {
    int32_t id;
    size_t pos;
} id_pos_t;

static int id_pos_cmp(const void *a, const void *b) {
    const id_pos_t *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* keep[i] is set for the first entry of each id in req's live brokers;
 * -1 when out of memory. */
static int first_of_each_id(const Kbroker__Rpc__UpdateMetadataRequest *req, bool *keep) {
    size_t n = req->n_live_brokers;
    id_pos_t *v = malloc((n + 1) * sizeof(*v));
    if (!v) return -1;
    for (size_t i = 0; i < n; i++) v[i] = (id_pos_t){req->live_brokers[i]->id, i};
    qsort(v, n, sizeof(*v), id_pos_cmp);
    for (size_t i = 0; i < n; i++) keep[v[i].pos] = i == 0 || v[i].id != v[i - 1].id;
    free(v);
    return 0;
}

/* The live brokers of req replace the cache's, one entry per id (a
 * repeated id keeps its first entry); the strings are borrowed. */
static int set_brokers(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req) {
    size_t total = 0;
    for (size_t i = 0; i < req->n_live_brokers; i++) total += req->live_brokers[i]->n_endpoints;
    kb_metadata_broker_t *b = calloc(req->n_live_brokers + 1, sizeof(*b));
    kb_metadata_endpoint_t *eps = calloc(total + 1, sizeof(*eps));
    bool *keep = calloc(req->n_live_brokers + 1, sizeof(*keep));
    int n = 0, rc = -1;
    bool ok = b && eps && keep && first_of_each_id(req, keep) == 0;
    for (size_t i = 0, e = 0; ok && i < req->n_live_brokers; i++) {
        const Kbroker__Rpc__LiveBroker *lb = req->live_brokers[i];
        if (!keep[i]) continue;
        b[n] = (kb_metadata_broker_t){.id = lb->id, .rack = lb->rack && lb->rack[0] ? lb->rack : NULL,
                                      .n_endpoints = (int)lb->n_endpoints, .endpoints = &eps[e]};
        for (size_t j = 0; j < lb->n_endpoints; j++, e++)
            eps[e] = (kb_metadata_endpoint_t){lb->endpoints[j]->listener, lb->endpoints[j]->host,
                                              lb->endpoints[j]->port};
        n++;
    }
    if (ok) rc = kb_metadata_set_brokers(c->deps.metadata, b, n);
    free(b);
    free(eps);
    free(keep);
    return rc;
}

/* The largest possible partition index of the run of states from i
 * naming topic (impossible ones are skipped, see index_possible). */
static int32_t run_max_index(const Kbroker__Rpc__UpdateMetadataRequest *req, size_t i, const char *topic) {
    int32_t max = -1;
    for (; i < req->n_partition_states && strcmp(req->partition_states[i]->topic_name, topic) == 0; i++) {
        int32_t index = req->partition_states[i]->partition_index;
        if (index_possible(index) && index > max) max = index;
    }
    return max;
}

/* Makes room for the run of topic's states from i in one step (a new
 * topic takes the view's config overrides, if the view has it). */
static int grow_topic(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, size_t i, const char *topic) {
    const kc_topic_t *t = c->deps.view ? kc_view_topic(c->deps.view, topic) : NULL;
    return kb_metadata_ensure_partitions(c->deps.metadata, topic, run_max_index(req, i, topic) + 1,
                                         t ? t->configs : NULL, t ? t->n_configs : 0);
}

/* One partition state into the cache; leader -2 (the topic is being
 * deleted) removes its whole topic, as the controller deletes topics. */
static int set_partition(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, size_t i) {
    const Kbroker__Rpc__PartitionState *ps = req->partition_states[i];
    if (partition_check(ps->topic_name, ps->partition_index) != 0) {
        kc_warn("control", "UpdateMetadata: partition %d of topic '%s' skipped (invalid)", (int)ps->partition_index,
                ps->topic_name ? ps->topic_name : "");
        return 0;
    }
    if (ps->leader == -2) {
        kb_metadata_remove_topic(c->deps.metadata, ps->topic_name);
        return 0;
    }
    bool first = i == 0 || strcmp(req->partition_states[i - 1]->topic_name, ps->topic_name) != 0;
    if ((first || !kb_metadata_topic(c->deps.metadata, ps->topic_name)) && grow_topic(c, req, i, ps->topic_name))
        return -1;
    kb_metadata_partition_t p = {.leader = ps->leader, .leader_epoch = ps->leader_epoch,
                                 .n_replicas = (int)ps->n_replicas, .n_isr = (int)ps->n_isr,
                                 .replicas = ps->replicas, .isr = ps->isr};
    return kb_metadata_set_partition(c->deps.metadata, ps->topic_name, ps->partition_index, &p);
}

int16_t kb_control_update_metadata(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req,
                                   Kbroker__Rpc__UpdateMetadataResponse *out) {
    int rc;
    kbroker__rpc__update_metadata_response__init(out);
    out->error_code = admit(c, "UpdateMetadata", req->controller_epoch, req->broker_epoch);
    if (out->error_code) return (int16_t)out->error_code;
    rc = set_brokers(c, req);
    kb_metadata_set_controller(c->deps.metadata, req->controller_id);
    for (size_t i = 0; i < req->n_partition_states; i++) rc |= set_partition(c, req, i);
    kb_metadata_set_loaded(c->deps.metadata, true);
    kb_metadata_notify(c->deps.metadata);
    c->stats.update_metadata++;
    if (rc != 0) {
        kc_error("control", "UpdateMetadata: out of memory; the metadata cache misses part of it");
        out->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    return (int16_t)out->error_code;
}
