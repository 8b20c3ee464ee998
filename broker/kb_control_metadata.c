/*
 * kb_control_metadata.c - UpdateMetadata (kb_control_requests.h): once
 * the request is admitted, names only partitions the view holds (or
 * deletes topics) and is within the size bounds, its live brokers
 * replace the cache's, its controller becomes the cache's, and its
 * partition states go into the cache topic by topic.
 *
 * Cost.  A request may carry a frame's worth of partition states in any
 * order: a topic's states interleaved with another topic's, or with -2
 * entries that delete it.  Taken one by one in request order, each state
 * of such a request could grow its topic, remove it and grow it again, so
 * the work went with the square of the states.  Here nothing is done per
 * state before the states are grouped: the valid ones are sorted once by
 * (topic, position), which makes each topic one group in request order;
 * each group is then decided once (deleted, or grown to its largest index
 * in one step) and its states are set.  O(n log n) for n states, whatever
 * their order.
 *
 * Everything is checked before anything is applied, so a refused request
 * changes nothing (kb_control_internal.h for admission).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/kb_control_internal.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

/* ----------------------------------------------------------- live brokers */

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

/* ------------------------------------------------------------------ bounds */

static int16_t too_large(kb_control_t *c) {
    c->stats.refused_too_large++;
    return KP_ERR_INVALID_REQUEST;
}

/* The live-broker bounds (KB_CONTROL_MAX_LIVE_BROKERS, _ENDPOINTS): 0 or
 * 42.  The metadata cache lists every live broker in every Metadata
 * answer and scans a broker's endpoints per answer, so neither may grow
 * past what a cluster has. */
static int16_t check_brokers(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req) {
    if (req->n_live_brokers > KB_CONTROL_MAX_LIVE_BROKERS) {
        kb_control_log(c, CLOG_TOO_LARGE, KC_LOG_WARN, "UpdateMetadata refused: %zu live brokers, more than %d", req->n_live_brokers,
                KB_CONTROL_MAX_LIVE_BROKERS);
        return too_large(c);
    }
    for (size_t i = 0; i < req->n_live_brokers; i++) {
        const Kbroker__Rpc__LiveBroker *lb = req->live_brokers[i];
        if (lb->n_endpoints <= KB_CONTROL_MAX_ENDPOINTS) continue;
        kb_control_log(c, CLOG_TOO_LARGE, KC_LOG_WARN, "UpdateMetadata refused: live broker %d has %zu endpoints, more than %d", (int)lb->id,
                lb->n_endpoints, KB_CONTROL_MAX_ENDPOINTS);
        return too_large(c);
    }
    return 0;
}

/* lb as the view has its registration: the same rack and exactly the
 * registration's endpoints (the controller copies them from its view). */
static bool broker_as_registered(const kc_broker_info_t *r, const Kbroker__Rpc__LiveBroker *lb) {
    const char *rack = lb->rack && lb->rack[0] ? lb->rack : NULL;
    if ((rack == NULL) != (r->rack == NULL) || (rack && strcmp(rack, r->rack) != 0)) return false;
    if (lb->n_endpoints != (size_t)r->n_endpoints) return false;
    for (size_t j = 0; j < lb->n_endpoints; j++) {
        const Kbroker__Rpc__Endpoint *e = lb->endpoints[j];
        const kc_endpoint_t *known = e->listener ? kc_broker_endpoint(r, e->listener) : NULL;
        if (!known || !e->host || !known->host || strcmp(known->host, e->host) != 0 || known->port != e->port)
            return false;
    }
    return true;
}

/* The live brokers of req are the brokers registered as the view sees
 * them, all of them, each with its registration's rack and endpoints
 * (kb_control_requests.h, "What ZooKeeper holds"): 0, or 3 for the whole
 * request.  Otherwise a forged request could send every client of this
 * broker to another host, or to none.  A repeated id counts once (its
 * first entry is the one kept, set_brokers), so the number of distinct
 * ids listed must be the view's broker count. */
static int16_t brokers_known(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req) {
    size_t unknown = 0, distinct = 0;
    int32_t first = -1;
    bool *keep = calloc(req->n_live_brokers + 1, sizeof(*keep));
    if (!keep || first_of_each_id(req, keep) != 0) {
        free(keep);
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (size_t i = 0; i < req->n_live_brokers; i++) {
        const Kbroker__Rpc__LiveBroker *lb = req->live_brokers[i];
        const kc_broker_info_t *r = c->deps.view ? kc_view_broker(c->deps.view, lb->id) : NULL;
        distinct += keep[i];
        if (r && broker_as_registered(r, lb)) continue;
        if (unknown++ == 0) first = lb->id;
    }
    free(keep);
    int registered = c->deps.view ? kc_view_broker_count(c->deps.view) : 0;
    if (!unknown && distinct == (size_t)registered) return 0;
    c->stats.refused_unknown_here++;
    kb_control_log(c, CLOG_UNKNOWN_HERE, KC_LOG_INFO,
                   "UpdateMetadata refused: its %zu live broker(s) are not the %d registered in ZooKeeper as this "
                   "broker sees them (%zu not registered so, the first broker %d); the controller sends it again",
                   distinct, registered, unknown, (int)first);
    return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* --------------------------------------------------------- partition states */

/* A valid partition state: its topic and its position in the request. */
typedef struct state_ref {
    const char *topic;
    size_t pos;
} state_ref_t;

static int state_ref_cmp(const void *a, const void *b) {
    const state_ref_t *x = a, *y = b;
    int d = strcmp(x->topic, y->topic);
    if (d) return d;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* One topic's states: refs[from, to) of the plan, in request order. */
typedef struct group {
    size_t from, to;
    bool deleted;  /* one of them has leader -2: the topic goes (deletion wins) */
    int32_t size;  /* the partitions the states need: their largest index + 1 */
} group_t;

/* What a request's states will do to the cache, worked out before any of
 * it is done. */
typedef struct plan {
    state_ref_t *refs;
    size_t n_refs;
    group_t *groups;
    size_t n_groups;
} plan_t;

static void plan_free(plan_t *p) {
    free(p->refs);
    free(p->groups);
}

/* p->refs: the valid states of req, sorted by (topic, position); -1 when
 * out of memory. */
static int plan_refs(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, plan_t *p) {
    const Kbroker__Rpc__PartitionState *first_invalid = NULL;
    size_t invalid = 0;
    p->refs = malloc((req->n_partition_states + 1) * sizeof(*p->refs));
    if (!p->refs) return -1;
    for (size_t i = 0; i < req->n_partition_states; i++) {
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[i];
        if (kb_control_partition_check(ps->topic_name, ps->partition_index) == 0) {
            p->refs[p->n_refs++] = (state_ref_t){ps->topic_name, i};
        } else if (invalid++ == 0) {
            first_invalid = ps;
        }
    }
    if (invalid)
        kb_control_log_invalid(c, "UpdateMetadata", invalid, first_invalid->topic_name, first_invalid->partition_index);
    qsort(p->refs, p->n_refs, sizeof(*p->refs), state_ref_cmp);
    return 0;
}

/* p->groups: one per topic of p->refs; -1 when out of memory. */
static int plan_groups(const Kbroker__Rpc__UpdateMetadataRequest *req, plan_t *p) {
    p->groups = malloc((p->n_refs + 1) * sizeof(*p->groups));
    if (!p->groups) return -1;
    for (size_t i = 0; i < p->n_refs; i++) {
        if (i == 0 || strcmp(p->refs[i].topic, p->refs[i - 1].topic) != 0)
            p->groups[p->n_groups++] = (group_t){.from = i};
        group_t *g = &p->groups[p->n_groups - 1];
        const Kbroker__Rpc__PartitionState *ps = req->partition_states[p->refs[i].pos];
        if (ps->leader == -2) g->deleted = true;
        if (ps->partition_index + 1 > g->size) g->size = ps->partition_index + 1; /* a possible index */
        g->to = i + 1;
    }
    return 0;
}

/* The topic as the view holds it, or NULL. */
static const kc_topic_t *view_topic(const kb_control_t *c, const char *name) {
    return c->deps.view ? kc_view_topic(c->deps.view, name) : NULL;
}

/* ps as the view assigns its partition of t: the view's replicas in the
 * view's order, a leader among them (or none) and an ISR within them. */
static bool state_as_assigned(const kc_topic_t *t, const Kbroker__Rpc__PartitionState *ps) {
    if (ps->partition_index >= t->n_partitions) return false;
    const kc_partition_t *a = &t->partitions[ps->partition_index];
    if (ps->n_replicas != (size_t)a->n_replicas ||
        (a->n_replicas > 0 && memcmp(ps->replicas, a->replicas, (size_t)a->n_replicas * sizeof(int32_t)) != 0))
        return false;
    if (ps->leader != -1 && !kc_int32_contains(a->replicas, a->n_replicas, ps->leader)) return false;
    for (size_t i = 0; i < ps->n_isr; i++)
        if (!kc_int32_contains(a->replicas, a->n_replicas, ps->isr[i])) return false;
    return true;
}

/* Every state of a topic not being deleted names a partition the view
 * holds, as the view assigns it (state_as_assigned), and a topic deleted
 * (leader -2) is one the view no longer holds or lists under
 * /admin/delete_topics (kb_control_requests.h, "What ZooKeeper holds"): 0,
 * or 3 for the whole request.  One view lookup per topic. */
static int16_t plan_known(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, const plan_t *p) {
    const Kbroker__Rpc__PartitionState *first = NULL;
    size_t unknown = 0;
    for (size_t k = 0; k < p->n_groups; k++) {
        const group_t *g = &p->groups[k];
        const kc_topic_t *t = view_topic(c, p->refs[g->from].topic);
        if (g->deleted && (!t || kc_view_topic_marked(c->deps.view, t->name))) continue;
        for (size_t i = g->from; i < g->to; i++) {
            const Kbroker__Rpc__PartitionState *ps = req->partition_states[p->refs[i].pos];
            if (!g->deleted && t && state_as_assigned(t, ps)) continue;
            if (unknown++ == 0) first = ps;
        }
    }
    if (!unknown) return 0;
    return kb_control_refuse_unknown(c, "UpdateMetadata", unknown, first->topic_name, first->partition_index);
}

/* The partitions the plan would add to the cache without naming them
 * (a topic grown to index k gets k + 1 partitions), as a lower bound:
 * each state of a grown topic is counted as naming a new partition. */
static size_t plan_unnamed(const kb_control_t *c, const plan_t *p) {
    size_t unnamed = 0;
    for (size_t k = 0; k < p->n_groups; k++) {
        const group_t *g = &p->groups[k];
        const kb_metadata_topic_t *t = kb_metadata_topic(c->deps.metadata, p->refs[g->from].topic);
        size_t has = t ? (size_t)t->n_partitions : 0, named = g->to - g->from;
        size_t grows = !g->deleted && (size_t)g->size > has ? (size_t)g->size - has : 0;
        if (grows > named) unnamed += grows - named;
    }
    return unnamed;
}

/* Sorts and groups req's states into *p, refuses states the view does
 * not hold, then holds the growth to KB_CONTROL_MAX_UNNAMED: 0, 3, 42, or
 * UNKNOWN_SERVER_ERROR when out of memory. */
static int16_t plan_make(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, plan_t *p) {
    if (plan_refs(c, req, p) != 0 || plan_groups(req, p) != 0) {
        kc_error("control", "UpdateMetadata: out of memory sorting %zu partition states", req->n_partition_states);
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    int16_t err = plan_known(c, req, p);
    if (err) return err;
    size_t unnamed = plan_unnamed(c, p);
    if (unnamed <= KB_CONTROL_MAX_UNNAMED) return 0;
    kb_control_log(c, CLOG_TOO_LARGE, KC_LOG_WARN, "UpdateMetadata refused: its partition indexes would add %zu partitions it does not name to "
            "the metadata cache, more than %d", unnamed, KB_CONTROL_MAX_UNNAMED);
    return too_large(c);
}

/* One partition state into the cache, whose topic has room for it. */
static int set_partition(kb_control_t *c, const Kbroker__Rpc__PartitionState *ps) {
    kb_metadata_partition_t p = {.leader = ps->leader, .leader_epoch = ps->leader_epoch,
                                 .n_replicas = (int)ps->n_replicas, .n_isr = (int)ps->n_isr,
                                 .replicas = ps->replicas, .isr = ps->isr};
    return kb_metadata_set_partition(c->deps.metadata, ps->topic_name, ps->partition_index, &p);
}

/* A cached topic with more partitions than the view gives it (t) is an
 * older topic of that name, deleted and created again with fewer: its
 * partitions past t's are cut, so the cache converges to ZooKeeper's
 * topics (the others are named again by the controller's requests). */
static int trim_to_view(kb_control_t *c, const kc_topic_t *t) {
    const kb_metadata_topic_t *have = kb_metadata_topic(c->deps.metadata, t->name);
    if (!have || have->n_partitions <= t->n_partitions) return 0;
    kb_metadata_topic_t cut = *have; /* upsert copies before it frees the old */
    cut.n_partitions = t->n_partitions;
    return kb_metadata_upsert_topic(c->deps.metadata, &cut);
}

/* One topic's group: removed (leader -2 somewhere in it, whether or not
 * the view still holds the topic), or cut to the view's size, grown once
 * (a new topic takes the view's config overrides) and its states set in
 * request order, so a partition named twice keeps the later state.  The
 * view holds every partition of a group not deleted (plan_known).
 *
 * A topic always has the view's partition count, not that of the highest
 * index named so far: the controller tells a new topic's partitions as
 * their first states land, a few at a time, and a client shown a topic of
 * 1, then 2, ... partitions would hash its keys over the wrong count.  The
 * ones not named yet have no leader (LEADER_NOT_AVAILABLE), as in Kafka
 * while a topic is being created. */
static int apply_group(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, const plan_t *p,
                       const group_t *g) {
    const char *topic = p->refs[g->from].topic;
    if (g->deleted) {
        bool cached = kb_metadata_topic(c->deps.metadata, topic) != NULL;
        kb_metadata_remove_topic(c->deps.metadata, topic);
        if (cached && c->deps.topic_deleted) c->deps.topic_deleted(c->deps.topic_deleted_arg, topic);
        return 0;
    }
    const kc_topic_t *t = view_topic(c, topic);
    if (!t || trim_to_view(c, t) != 0) return -1;
    if (kb_metadata_ensure_partitions(c->deps.metadata, topic, t->n_partitions, t->configs, t->n_configs) != 0)
        return -1;
    int rc = 0;
    for (size_t i = g->from; i < g->to; i++) rc |= set_partition(c, req->partition_states[p->refs[i].pos]);
    return rc;
}

/* The admitted, planned request into the cache: 0, or UNKNOWN_SERVER_ERROR
 * when out of memory part way (the cache then misses part of it). */
static int16_t apply(kb_control_t *c, const Kbroker__Rpc__UpdateMetadataRequest *req, const plan_t *p) {
    int rc = set_brokers(c, req);
    kb_metadata_set_controller(c->deps.metadata, req->controller_id);
    for (size_t k = 0; k < p->n_groups; k++) rc |= apply_group(c, req, p, &p->groups[k]);
    kb_metadata_set_loaded(c->deps.metadata, true);
    kb_metadata_notify(c->deps.metadata);
    c->stats.update_metadata++;
    if (rc == 0) return 0;
    kc_error("control", "UpdateMetadata: out of memory; the metadata cache misses part of it");
    return KP_ERR_UNKNOWN_SERVER_ERROR;
}

int16_t kb_control_update_metadata(kb_control_t *c, int32_t sender, const Kbroker__Rpc__UpdateMetadataRequest *req,
                                   Kbroker__Rpc__UpdateMetadataResponse *out) {
    const kb_control_header_t h = {"UpdateMetadata", sender, req->controller_id, req->controller_epoch,
                                   req->broker_epoch};
    plan_t plan = {0};
    kbroker__rpc__update_metadata_response__init(out);
    int16_t err = kb_control_admit(c, &h);
    if (!err) err = check_brokers(c, req);
    if (!err) err = brokers_known(c, req);
    if (!err) err = plan_make(c, req, &plan);
    if (!err) {
        kb_control_accept(c, &h);
        err = apply(c, req, &plan);
    }
    plan_free(&plan);
    out->error_code = err;
    return err;
}
