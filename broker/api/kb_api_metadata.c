/*
 * kb_api_metadata.c - the Metadata handler (wire-protocol.md 4.2, 8 items
 * 5-7).
 *
 * Answers come only from the broker's metadata cache
 * (broker/metadata/kb_metadata.h), never from a ZooKeeper read, and
 * describe the cluster as seen through the listener the request arrived
 * on: a broker without an endpoint for that listener is left out, and a
 * partition led by one gets an error instead of a leader clients
 * cannot reach.  Healthy topics and partitions never carry an error code
 * (KafkaJS throws on any).  When the cache is still loading, the answer holds
 * whatever it has read so far; clients retry.
 *
 * Everything the response points at is either borrowed from the cache
 * (names, hosts, replica lists; valid until its next update, which cannot
 * happen while the handler runs) or allocated from the request arena.
 *
 * Auto-creation: a requested topic that does not exist is created when the
 * broker's auto.create.topics.enable and the request (v4+
 * allow_auto_topic_creation; always for v0-v3; never for "all topics")
 * allow it, with num.partitions and default.replication.factor, through
 * the broker's topic-creation service (broker/admin/kb_topic_creator.h),
 * as CreateTopics.  The handler stays synchronous: the service starts the writes and
 * answers 5 LEADER_NOT_AVAILABLE with no partitions at once; clients
 * retry until the controller has elected leaders.  Kafka's internal topics
 * are left to the coordinators that own them (their partition counts and
 * configs differ), so Metadata never creates them.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_topic_creator.h"
#include "broker/api/kb_api_internal.h"
#include "broker/group/kb_group.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "proto/kp_metadata.h"
#include "proto/kp_types.h"

typedef struct {
    const kb_api_ctx_t *api; /* what the handler may use */
    const kb_metadata_t *md; /* NULL before the broker has one */
    const char *listener;
    int16_t version;
    kb_arena_t *arena;
} md_ctx_t;

/* The endpoint clients on this listener would use to reach broker id, or
 * NULL when the broker is not live or has no such listener. */
static const kb_metadata_endpoint_t *reachable(const md_ctx_t *ctx, int32_t id) {
    const kb_metadata_broker_t *b = ctx->md && id >= 0 ? kb_metadata_broker(ctx->md, id) : NULL;

    return b ? kb_metadata_broker_endpoint(b, ctx->listener) : NULL;
}

static bool live(const md_ctx_t *ctx, int32_t id) {
    return ctx->md && id >= 0 && kb_metadata_broker(ctx->md, id) != NULL;
}

/* ---------------------------------------------------------------- brokers */

static int fill_brokers(const md_ctx_t *ctx, kp_metadata_response_t *resp) {
    int n = ctx->md ? kb_metadata_broker_count(ctx->md) : 0;
    kp_metadata_response_broker_t *out = kb_arena_calloc(ctx->arena, (size_t)n, sizeof(*out));
    int32_t k = 0;

    if (!out) return -1;
    for (int i = 0; i < n; i++) {
        const kb_metadata_broker_t *b = kb_metadata_broker_at(ctx->md, i);
        const kb_metadata_endpoint_t *ep = b ? kb_metadata_broker_endpoint(b, ctx->listener) : NULL;
        if (!ep) continue;
        out[k++] = (kp_metadata_response_broker_t){b->id, kp_str_c(ep->host), ep->port,
                                                    kp_str_c(b->rack)};
    }
    resp->n_brokers = k;
    resp->brokers = out;
    return 0;
}

/* The controller is named only if clients can reach it through this
 * listener: KafkaJS sends admin requests there and fails when the id is not
 * in the broker list. */
static int32_t controller_id(const md_ctx_t *ctx) {
    int32_t id = ctx->md ? kb_metadata_controller(ctx->md) : -1;

    return reachable(ctx, id) ? id : -1;
}

/* ------------------------------------------------------------- partitions */

/* v0 only: the brokers of ids[] clients can reach through this listener,
 * copied into the arena. */
static const int32_t *reachable_only(const md_ctx_t *ctx, const int32_t *ids, int n,
                                     int32_t *n_out) {
    int32_t *out = kb_arena_calloc(ctx->arena, (size_t)n, sizeof(*out));
    int32_t k = 0;

    if (!out) return NULL;
    for (int i = 0; i < n; i++)
        if (reachable(ctx, ids[i])) out[k++] = ids[i];
    *n_out = k;
    return out;
}

/* v5+: the replicas whose broker is not live. */
static const int32_t *offline_of(const md_ctx_t *ctx, const int32_t *ids, int n, int32_t *n_out) {
    int32_t *out = kb_arena_calloc(ctx->arena, (size_t)n, sizeof(*out));
    int32_t k = 0;

    if (!out) return NULL;
    for (int i = 0; i < n; i++)
        if (!live(ctx, ids[i])) out[k++] = ids[i];
    *n_out = k;
    return out;
}

/* Leader and error: no state, no leader or a dead leader is 5 with leader
 * -1; a live leader without this listener is 72 from v6 (5 before). */
static void set_leader(const md_ctx_t *ctx, const kb_metadata_partition_t *p,
                       kp_metadata_response_partition_t *out) {
    int32_t leader = p->leader;

    out->leader_id = -1;
    if (leader < 0 || !live(ctx, leader))
        out->error_code = KP_ERR_LEADER_NOT_AVAILABLE;
    else if (!reachable(ctx, leader))
        out->error_code =
            ctx->version >= 6 ? KP_ERR_LISTENER_NOT_FOUND : KP_ERR_LEADER_NOT_AVAILABLE;
    else
        out->leader_id = leader;
}

/* v0 leaves unreachable brokers out of replicas and isr, and flags a led
 * partition that lost any with 9 REPLICA_NOT_AVAILABLE (Kafka's rule; v1+
 * lists them and reports dead ones in offline_replicas instead). */
static int filter_v0(const md_ctx_t *ctx, kp_metadata_response_partition_t *out) {
    int32_t n_replicas = out->n_replica_nodes, n_isr = out->n_isr_nodes;

    out->replica_nodes = reachable_only(ctx, out->replica_nodes, n_replicas, &out->n_replica_nodes);
    out->isr_nodes = reachable_only(ctx, out->isr_nodes, n_isr, &out->n_isr_nodes);
    if (!out->replica_nodes || !out->isr_nodes) return -1;
    if (out->error_code == KP_ERR_NONE &&
        (out->n_replica_nodes < n_replicas || out->n_isr_nodes < n_isr))
        out->error_code = KP_ERR_REPLICA_NOT_AVAILABLE;
    return 0;
}

static int fill_partition(const md_ctx_t *ctx, int32_t index, const kb_metadata_partition_t *p,
                          kp_metadata_response_partition_t *out) {
    out->partition_index = index;
    out->replica_nodes = p->replicas;
    out->n_replica_nodes = p->n_replicas;
    out->isr_nodes = p->isr;
    out->n_isr_nodes = p->n_isr;
    set_leader(ctx, p, out);
    if (ctx->version == 0) return filter_v0(ctx, out);
    if (ctx->version >= 5) {
        out->offline_replicas =
            offline_of(ctx, p->replicas, p->n_replicas, &out->n_offline_replicas);
        if (!out->offline_replicas) return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------- topics */

static int fill_topic(const md_ctx_t *ctx, const kb_metadata_topic_t *t, kp_metadata_response_topic_t *out) {
    kp_metadata_response_partition_t *parts;

    parts = kb_arena_calloc(ctx->arena, (size_t)t->n_partitions, sizeof(*parts));
    if (!parts) return -1;
    out->error_code = KP_ERR_NONE;
    out->name = kp_str_c(t->name);
    out->is_internal = kc_topic_is_internal(t->name);
    out->n_partitions = t->n_partitions;
    out->partitions = parts;
    for (int i = 0; i < t->n_partitions; i++)
        if (fill_partition(ctx, i, &t->partitions[i], &parts[i]) != 0) return -1;
    return 0;
}

/* Copies a requested name into buf as a C string; false when it cannot be
 * a legal topic name (too long, or an embedded NUL). */
static bool name_cstr(kp_str_t name, char buf[KC_TOPIC_NAME_MAX + 1]) {
    if (name.len < 0 || name.len > KC_TOPIC_NAME_MAX) return false;
    if (memchr(name.ptr, '\0', (size_t)name.len)) return false;
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    return true;
}

/* ---------------------------------------------------------- auto-creation */

static bool auto_create_allowed(const md_ctx_t *ctx, const char *cname, bool allow_auto_create) {
    const kb_api_ctx_t *b = ctx->api;

    return allow_auto_create && b && b->cfg && b->cfg->auto_create_topics_enable && b->topic_creator &&
           ctx->md && !kc_topic_is_internal(cname);
}

/* __consumer_offsets named by a Metadata request that allows creation is
 * created as FindCoordinator creates it, with the internal settings
 * (group-protocol.md 3.3), never with the defaults for clients' topics. */
static bool offsets_topic_created(const md_ctx_t *ctx, const char *cname, bool allow_auto_create) {
    const kb_api_ctx_t *b = ctx->api;

    if (!allow_auto_create || !b || !b->coordinator || !b->cfg || !b->cfg->auto_create_topics_enable ||
        strcmp(cname, KB_OFFSETS_TOPIC) != 0)
        return false;
    kb_coordinator_ensure_topic(b->coordinator);
    return true;
}

/* The one place a requested topic that does not exist is answered: 17 for
 * an illegal name, the auto-creation outcome when it is allowed, else 3. */
static int16_t missing_topic_error(const md_ctx_t *ctx, const char *cname, bool allow_auto_create) {
    if (!cname || !kc_topic_name_valid(cname, NULL, 0)) return KP_ERR_INVALID_TOPIC_EXCEPTION;
    if (auto_create_allowed(ctx, cname, allow_auto_create))
        return kb_topic_creator_auto_create(ctx->api->topic_creator, cname);
    if (offsets_topic_created(ctx, cname, allow_auto_create)) return KP_ERR_LEADER_NOT_AVAILABLE;
    return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static int fill_requested_topic(const md_ctx_t *ctx, kp_str_t name, bool allow_auto_create,
                                kp_metadata_response_topic_t *out) {
    char buf[KC_TOPIC_NAME_MAX + 1];
    bool legal = name_cstr(name, buf);
    const kb_metadata_topic_t *t = legal && ctx->md ? kb_metadata_topic(ctx->md, buf) : NULL;

    if (t) return fill_topic(ctx, t, out);
    out->error_code = missing_topic_error(ctx, legal ? buf : NULL, allow_auto_create);
    out->name = name;
    out->is_internal = legal && kc_topic_is_internal(buf);
    return 0;
}

/* The request's topic names as keys, each name's later copies flagged:
 * a name is answered (and auto-created) once, as Kafka's set of names
 * does.  One answer per copy let a request of 600 kB naming a topic of
 * 10,000 partitions 100,000 times grow the broker past 20 GB. */
static bool *repeated_names(const md_ctx_t *ctx, const kp_metadata_request_t *req) {
    kb_api_tp_t *keys = kb_arena_calloc(ctx->arena, req->n_topics > 0 ? (size_t)req->n_topics : 1, sizeof(*keys));

    if (!keys) return NULL;
    for (int32_t i = 0; i < req->n_topics; i++) keys[i] = (kb_api_tp_t){req->topics[i].name, 0, i};
    return kb_api_mark_repeated(ctx->arena, keys, req->n_topics, true);
}

static int fill_topics(const md_ctx_t *ctx, const kp_metadata_request_t *req,
                       kp_metadata_response_t *resp) {
    bool all = kp_metadata_request_all_topics(req, ctx->version);
    int n = all ? (ctx->md ? kb_metadata_topic_count(ctx->md) : 0) : req->n_topics;
    kp_metadata_response_topic_t *out = kb_arena_calloc(ctx->arena, (size_t)(n > 0 ? n : 0),
                                                        sizeof(*out));
    bool *repeated = all ? NULL : repeated_names(ctx, req);
    int rc = 0, k = 0;

    if (!out || (!all && !repeated)) return -1;
    for (int i = 0; i < n && rc == 0; i++) {
        const kb_metadata_topic_t *t = all ? kb_metadata_topic_at(ctx->md, i) : NULL;
        if (all)
            rc = t ? fill_topic(ctx, t, &out[k++]) : -1;
        else if (!repeated[i])
            rc = fill_requested_topic(ctx, req->topics[i].name, req->allow_auto_topic_creation,
                                      &out[k++]);
    }
    resp->n_topics = k;
    resp->topics = out;
    return rc;
}

/* ---------------------------------------------------------------- handler */

static int build_response(const md_ctx_t *ctx, const kp_metadata_request_t *req,
                          kp_metadata_response_t *resp) {
    memset(resp, 0, sizeof(*resp));
    resp->throttle_time_ms = 0;
    resp->cluster_id = kp_str_c(ctx->md ? kb_metadata_cluster_id(ctx->md) : NULL);
    resp->controller_id = controller_id(ctx);
    if (fill_brokers(ctx, resp) != 0) return -1;
    return fill_topics(ctx, req, resp);
}

kb_api_status_t kb_api_metadata(kb_request_t *req, kp_writer_t *w) {
    md_ctx_t ctx = {req->ctx, req->ctx ? req->ctx->metadata : NULL, kb_conn_listener(req->conn),
                    req->header.request_api_version, &req->arena};
    kp_metadata_request_t body;
    kp_metadata_response_t resp;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_metadata_request_decode(&req->body, ctx.version, &body) != 0)
        st = KB_API_MALFORMED;
    else if (build_response(&ctx, &body, &resp) != 0)
        st = KB_API_FAILED;
    else if (kp_metadata_response_encode(w, ctx.version, &resp) != 0)
        st = KB_API_FAILED;
    kp_metadata_request_clear(&body);
    return st;
}
