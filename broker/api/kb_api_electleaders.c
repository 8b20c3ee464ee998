/*
 * kb_api_electleaders.c - the ElectLeaders handler (key 43, v0-2, Kafka
 * 2.6's KafkaApis.handleElectReplicaLeader; zk-and-replication.md 2.7).
 *
 * The election itself is the controller's (kb_leader_election.h); this
 * handler decodes, hands the partitions over, waits, and encodes.  As in
 * Kafka:
 *   - a null topic list means every partition the metadata cache holds,
 *     and the answer then leaves out the partitions that needed no
 *     election (ELECTION_NOT_NEEDED);
 *   - a partition named twice is answered once;
 *   - on a broker that is not the active controller every partition is
 *     answered NOT_CONTROLLER (41), the top-level error code staying 0;
 *   - the answer waits until every write the controller started has
 *     landed, or timeout_ms (Kafka's delayed ElectLeaders): what has not
 *     landed by then is REQUEST_TIMED_OUT (7);
 *   - an election type other than PREFERRED (0) and UNCLEAN (1) is
 *     refused whole: INVALID_REQUEST (42) at the top level (v1+) and for
 *     every partition.
 * Not as in Kafka: a request naming more partitions than twice the
 * cluster's count plus MAX_SLACK (no real request does: the cluster has
 * no more to elect) is refused whole with INVALID_REQUEST and no
 * per-partition results, so that a frame of millions of partition ids
 * costs neither a sort of them on the loop nor an arena of gigabytes.
 * Per-partition messages are Kafka's default messages of the codes.  The
 * request waits detached (kb_api_internal.h); its items live in its arena.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/metadata/kb_metadata.h"
#include "proto/kp_electleaders.h"
#include "proto/kp_types.h"

#define MAX_SLACK 1024

/* A request's partitions on their way to the controller and back. */
typedef struct election {
    kb_request_t *req;
    int16_t version;
    bool all;          /* null topic list */
    int16_t top_error; /* v1+ */
    kb_election_item_t *items;
    kp_str_t *names;   /* items[i]'s topic as the answer names it */
    size_t n;
} election_t;

static kp_str_t message_of(int16_t code) {
    switch (code) {
    case KP_ERR_NONE: return (kp_str_t){KP_NULL_LEN, NULL};
    case KP_ERR_ELECTION_NOT_NEEDED: return kp_str_c("Leader election not needed for topic partition.");
    case KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE: return kp_str_c("The preferred leader was not available.");
    case KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE:
        return kp_str_c("Eligible topic partition leaders are not available.");
    case KP_ERR_UNKNOWN_TOPIC_OR_PARTITION: return kp_str_c("The partition does not exist.");
    case KP_ERR_NOT_CONTROLLER: return kp_str_c("This is not the correct controller for this cluster.");
    case KP_ERR_REQUEST_TIMED_OUT: return kp_str_c("The request timed out.");
    case KP_ERR_INVALID_REQUEST: return kp_str_c("Unknown election type.");
    default: return kp_str_c("The server experienced an unexpected error when processing the request.");
    }
}

static bool answered(const election_t *e, size_t i) {
    return !(e->all && e->items[i].error == KP_ERR_ELECTION_NOT_NEEDED);
}

/* Consecutive items of one topic make one topic entry. */
static int encode(const election_t *e, kb_arena_t *a, kp_writer_t *w) {
    kp_electleaders_topic_result_t *topics = kb_arena_calloc(a, e->n ? e->n : 1, sizeof(*topics));
    kp_electleaders_partition_result_t *parts = kb_arena_calloc(a, e->n ? e->n : 1, sizeof(*parts));
    kp_electleaders_response_t resp = {0, e->top_error, 0, topics};
    if (!topics || !parts) return KP_BUF_NOMEM;
    for (size_t i = 0, k = 0; i < e->n; i++) {
        if (!answered(e, i)) continue;
        kp_electleaders_topic_result_t *t = resp.n_topics ? &topics[resp.n_topics - 1] : NULL;
        if (!t || t->topic.len != e->names[i].len || memcmp(t->topic.ptr, e->names[i].ptr, (size_t)t->topic.len)) {
            t = &topics[resp.n_topics++];
            *t = (kp_electleaders_topic_result_t){e->names[i], 0, &parts[k]};
        }
        parts[k++] = (kp_electleaders_partition_result_t){e->items[i].partition, e->items[i].error,
                                                          message_of(e->items[i].error)};
        t->n_partitions++;
    }
    return kp_electleaders_response_encode(w, e->version, &resp);
}

/* The controller finished: frame, send, free the detached request. */
static void on_elected(void *arg) {
    election_t *e = arg;
    kb_request_t *req = e->req;
    kp_writer_t w;
    kp_writer_init(&w);
    size_t start = kb_api_response_begin(&w, req);
    if (encode(e, &req->arena, &w) != 0 || kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the ElectLeaders response");
    kp_writer_free(&w);
    kb_api_request_free(req);
}

/* One item; a name that cannot be a topic is looked for as "", which no
 * topic is (the controller answers UNKNOWN_TOPIC_OR_PARTITION). */
static int add_item(election_t *e, kb_arena_t *a, kp_str_t name, int32_t partition) {
    char buf[KC_TOPIC_NAME_MAX + 1];
    const char *topic = kb_api_topic_cstr(name, buf) ? buf : "";
    size_t len = strlen(topic);
    char *copy = kb_arena_alloc(a, len + 1);
    if (!copy) return -1;
    memcpy(copy, topic, len + 1);
    e->names[e->n] = kp_str_nonnull(name);
    e->items[e->n++] = (kb_election_item_t){copy, partition, 0};
    return 0;
}

static size_t cache_partitions(const kb_metadata_t *md) {
    size_t total = 0;
    for (int t = 0; md && t < kb_metadata_topic_count(md); t++) total += (size_t)kb_metadata_topic_at(md, t)->n_partitions;
    return total;
}

/* The request's partitions, each once; 1 (nothing allocated) when it names
 * more than the cluster could hold (see the top). */
static int items_of_request(election_t *e, kb_arena_t *a, const kp_electleaders_request_t *body,
                            const kb_metadata_t *md) {
    size_t total = 0;
    for (int32_t t = 0; t < body->n_topics; t++) total += (size_t)body->topics[t].n_partitions;
    if (total > 2 * cache_partitions(md) + MAX_SLACK) return 1;
    kb_api_tp_t *keys = kb_arena_calloc(a, total ? total : 1, sizeof(*keys));
    e->items = kb_arena_calloc(a, total ? total : 1, sizeof(*e->items));
    e->names = kb_arena_calloc(a, total ? total : 1, sizeof(*e->names));
    if (!keys || !e->items || !e->names) return -1;
    int32_t k = 0;
    for (int32_t t = 0; t < body->n_topics; t++)
        for (int32_t p = 0; p < body->topics[t].n_partitions; p++, k++)
            keys[k] = (kb_api_tp_t){body->topics[t].topic, body->topics[t].partitions[p], k};
    bool *repeated = kb_api_mark_repeated(a, keys, k, true);
    if (!repeated) return -1;
    k = 0;
    for (int32_t t = 0; t < body->n_topics; t++)
        for (int32_t p = 0; p < body->topics[t].n_partitions; p++, k++)
            if (!repeated[k] && add_item(e, a, body->topics[t].topic, body->topics[t].partitions[p]) != 0) return -1;
    return 0;
}

/* Every partition the metadata cache holds (names copied: the cache may
 * change while the request waits). */
static int items_of_cache(election_t *e, kb_arena_t *a, const kb_metadata_t *md) {
    size_t total = cache_partitions(md);
    e->items = kb_arena_calloc(a, total ? total : 1, sizeof(*e->items));
    e->names = kb_arena_calloc(a, total ? total : 1, sizeof(*e->names));
    if (!e->items || !e->names) return -1;
    for (int t = 0; md && t < kb_metadata_topic_count(md); t++) {
        const kb_metadata_topic_t *topic = kb_metadata_topic_at(md, t);
        for (int p = 0; p < topic->n_partitions; p++)
            if (add_item(e, a, kp_str_c(topic->name), p) != 0) return -1;
    }
    for (size_t i = 0; i < e->n; i++) e->names[i] = kp_str_c(e->items[i].topic); /* the arena's copies */
    return 0;
}

static void fill_errors(election_t *e, int16_t code) {
    for (size_t i = 0; i < e->n; i++) e->items[i].error = code;
}

static bool controller_here(const kb_api_ctx_t *ctx) {
    return ctx && ctx->is_controller && ctx->elect_leaders && ctx->is_controller(ctx->controller);
}

/* Detaches the request and hands the items to the controller; false when
 * that is impossible (the request is then still the caller's). */
static bool elect(election_t *e, kb_election_type_t type, int32_t timeout_ms) {
    kb_request_t *heap = kb_api_request_detach(e->req);
    if (!heap) return false;
    e->req = heap;
    if (heap->ctx->elect_leaders(heap->ctx->controller, type, e->items, e->n, timeout_ms, on_elected, e) == 0)
        return true;
    kb_api_request_free(heap);
    return false;
}

kb_api_status_t kb_api_electleaders(kb_request_t *req, kp_writer_t *w) {
    kp_electleaders_request_t body;
    election_t *e = kb_arena_alloc(&req->arena, sizeof(*e));
    kb_api_status_t st = KB_API_REPLY;
    int16_t version = req->header.request_api_version;
    if (kp_electleaders_request_decode(&req->body, version, &body) != 0) st = KB_API_MALFORMED;
    else if (!e) st = KB_API_FAILED;
    if (st == KB_API_REPLY) {
        const kb_metadata_t *md = req->ctx ? req->ctx->metadata : NULL;
        *e = (election_t){.req = req, .version = version, .all = body.n_topics < 0};
        int rc = e->all ? items_of_cache(e, &req->arena, md) : items_of_request(e, &req->arena, &body, md);
        if (rc < 0) st = KB_API_FAILED;
        else if (rc > 0) e->top_error = KP_ERR_INVALID_REQUEST; /* e->n stays 0 */
    }
    int8_t type = body.election_type;
    int32_t timeout_ms = body.timeout_ms;
    kp_electleaders_request_clear(&body); /* the items keep only frame slices and arena copies */
    if (st != KB_API_REPLY) return st;
    if (e->top_error) { /* too many partitions: the top-level error alone */
        return encode(e, &req->arena, w) == 0 ? KB_API_REPLY : KB_API_FAILED;
    }
    if (type != KP_ELECTION_PREFERRED && type != KP_ELECTION_UNCLEAN) {
        e->top_error = KP_ERR_INVALID_REQUEST;
        fill_errors(e, KP_ERR_INVALID_REQUEST);
    } else if (!controller_here(req->ctx)) {
        fill_errors(e, KP_ERR_NOT_CONTROLLER);
    } else if (e->n > 0 && elect(e, type == KP_ELECTION_UNCLEAN ? KB_ELECTION_UNCLEAN : KB_ELECTION_PREFERRED,
                                 timeout_ms)) {
        return KB_API_PENDING;
    } else if (e->n > 0) {
        return KB_API_FAILED; /* out of memory */
    }
    return encode(e, &req->arena, w) == 0 ? KB_API_REPLY : KB_API_FAILED;
}
