/*
 * kb_api.c - the API table, the request dispatcher and ApiVersions.
 *
 * Every request passes through kb_api_on_request(): it reads the header,
 * finds the table row, checks the version, and only then runs the handler,
 * so key/version policy lives in this one place (wire-protocol.md 1.6).
 * Requests Kafka would drop (unknown key, unhandled version, undecodable
 * header or body) close the connection with one log line naming the peer,
 * listener, API, version and correlation id.  ApiVersions is the exception:
 * a too-new version gets the v0 "unsupported" body so clients can retry
 * with a lower one.
 *
 * The ApiVersions answer is generated from the same table, so what is
 * advertised and what is dispatched cannot drift apart.  This file also
 * holds what the handlers share (kb_api_internal.h): the request arena,
 * detaching a request that completes asynchronously, the partition lookup
 * of the data-path APIs and the response framing helpers.
 */
#include <event2/buffer.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api.h"
#include "broker/api/kb_api_internal.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/metrics/kb_metrics.h"
#include "broker/replica/kb_partition.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "proto/kp_apiversions.h"
#include "proto/kp_types.h"

/* Sorted by key, which is the order ApiVersions lists them in.  Columns:
 * key, name, advertised min/max, handled min/max, flex_from, handler. */
static const kb_api_t api_table[] = {
    /* Produce v0-2 are advertised for librdkafka's compression check and
     * answered 35 per partition by the handler (wire-protocol.md 4.3). */
    {KP_API_PRODUCE, "Produce", 0, 7, 0, 7, 9, kb_api_produce},
    {KP_API_FETCH, "Fetch", 4, 11, 4, 11, 12, kb_api_fetch},
    {KP_API_LIST_OFFSETS, "ListOffsets", 0, 3, 0, 3, 6, kb_api_listoffsets},
    {KP_API_METADATA, "Metadata", 0, 6, 0, 6, 9, kb_api_metadata},
    /* OffsetCommit/OffsetFetch v0 keep offsets in ZooKeeper in Kafka;
     * not implemented, so both start at 1 (group-protocol.md 1.2). */
    {KP_API_OFFSET_COMMIT, "OffsetCommit", 1, 7, 1, 7, 8, kb_api_offsetcommit},
    {KP_API_OFFSET_FETCH, "OffsetFetch", 1, 5, 1, 5, 6, kb_api_offsetfetch},
    {KP_API_FIND_COORDINATOR, "FindCoordinator", 0, 2, 0, 2, 3, kb_api_findcoordinator},
    {KP_API_JOIN_GROUP, "JoinGroup", 0, 5, 0, 5, 6, kb_api_joingroup},
    {KP_API_HEARTBEAT, "Heartbeat", 0, 3, 0, 3, 4, kb_api_heartbeat},
    {KP_API_LEAVE_GROUP, "LeaveGroup", 0, 3, 0, 3, 4, kb_api_leavegroup},
    {KP_API_SYNC_GROUP, "SyncGroup", 0, 3, 0, 3, 4, kb_api_syncgroup},
    {KP_API_DESCRIBE_GROUPS, "DescribeGroups", 0, 4, 0, 4, 5, kb_api_describegroups},
    {KP_API_LIST_GROUPS, "ListGroups", 0, 2, 0, 2, 3, kb_api_listgroups},
    {KP_API_API_VERSIONS, "ApiVersions", 0, 3, 0, 3, 3, kb_api_apiversions},
    {KP_API_CREATE_TOPICS, "CreateTopics", 0, 4, 0, 4, 5, kb_api_createtopics},
    {KP_API_DELETE_TOPICS, "DeleteTopics", 0, 4, 0, 4, 4, kb_api_deletetopics},
    {KP_API_DELETE_RECORDS, "DeleteRecords", 0, 1, 0, 1, 2, kb_api_deleterecords},
    {KP_API_INIT_PRODUCER_ID, "InitProducerId", 0, 4, 0, 4, 2, kb_api_initproducerid},
    {KP_API_DESCRIBE_CONFIGS, "DescribeConfigs", 1, 2, 1, 2, 4, kb_api_describeconfigs},
    {KP_API_ALTER_CONFIGS, "AlterConfigs", 0, 1, 0, 1, 2, kb_api_alterconfigs},
    {KP_API_CREATE_PARTITIONS, "CreatePartitions", 0, 2, 0, 2, 2, kb_api_createpartitions},
    {KP_API_DELETE_GROUPS, "DeleteGroups", 0, 1, 0, 1, 2, kb_api_deletegroups},
    {KP_API_ALTER_PARTITION_REASSIGNMENTS, "AlterPartitionReassignments", 0, 0, 0, 0, 0, kb_api_alterreassignments},
    {KP_API_LIST_PARTITION_REASSIGNMENTS, "ListPartitionReassignments", 0, 0, 0, 0, 0, kb_api_listreassignments},
    {KP_API_ELECT_LEADERS, "ElectLeaders", 0, 2, 0, 2, 2, kb_api_electleaders},
};

#define API_TABLE_LEN ((int)(sizeof(api_table) / sizeof(api_table[0])))

static const kb_api_t *api_find(int16_t api_key) {
    for (int i = 0; i < API_TABLE_LEN; i++)
        if (api_table[i].api_key == api_key) return &api_table[i];
    return NULL;
}

/* ----------------------------------------------------------------- arena */

#define KB_ARENA_CHUNK_SIZE 16384

struct kb_arena_chunk {
    kb_arena_chunk_t *next;
    size_t used, cap;
    max_align_t data[];
};

void *kb_arena_alloc(kb_arena_t *a, size_t n) {
    const size_t align = _Alignof(max_align_t);
    kb_arena_chunk_t *c = a->head;
    char *p;

    if (n > SIZE_MAX / 2) return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (!c || c->cap - c->used < n) {
        size_t cap = n > KB_ARENA_CHUNK_SIZE ? n : KB_ARENA_CHUNK_SIZE;
        c = malloc(sizeof(*c) + cap);
        if (!c) return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void *kb_arena_calloc(kb_arena_t *a, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return kb_arena_alloc(a, n * size);
}

void kb_arena_free(kb_arena_t *a) {
    while (a->head) {
        kb_arena_chunk_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ------------------------------------------------------ detached requests */

kb_request_t *kb_api_request_detach(kb_request_t *req) {
    kb_request_t *heap = malloc(sizeof(*heap));

    if (!heap) return NULL;
    *heap = *req;
    req->arena.head = NULL;
    return heap;
}

void kb_api_request_free(kb_request_t *req) {
    if (!req) return;
    kb_arena_free(&req->arena);
    free(req);
}

/* ------------------------------------------------------ partition lookup */

/* Copies a requested name into buf as a C string; false when it cannot be
 * a topic name (too long, or an embedded NUL). */
bool kb_api_topic_cstr(kp_str_t name, char buf[KC_TOPIC_NAME_MAX + 1]) {
    if (name.len < 0 || name.len > KC_TOPIC_NAME_MAX) return false;
    if (memchr(name.ptr, '\0', (size_t)name.len)) return false;
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    return true;
}

static bool cache_has_partition(const kb_api_ctx_t *ctx, const char *topic, int32_t partition) {
    const kb_metadata_topic_t *t = ctx->metadata ? kb_metadata_topic(ctx->metadata, topic) : NULL;

    return t && partition >= 0 && partition < t->n_partitions;
}

bool kb_api_topic_is_internal(kp_str_t name) {
    char buf[KC_TOPIC_NAME_MAX + 1];
    return kb_api_topic_cstr(name, buf) && kc_topic_is_internal(buf);
}

bool kb_api_partition_known(const kb_request_t *req, kp_str_t topic, int32_t partition) {
    char name[KC_TOPIC_NAME_MAX + 1];
    return kb_api_topic_cstr(topic, name) && cache_has_partition(req->ctx, name, partition);
}

static int tp_cmp(const void *a, const void *b) {
    const kb_api_tp_t *x = a, *y = b;
    int32_t lx = x->topic.len > 0 ? x->topic.len : 0, ly = y->topic.len > 0 ? y->topic.len : 0;
    int c = lx == ly ? 0 : lx < ly ? -1 : 1; /* by length first: a long name is compared once */

    if (c == 0 && lx > 0) c = memcmp(x->topic.ptr, y->topic.ptr, (size_t)lx);
    if (c == 0 && x->partition != y->partition) c = x->partition < y->partition ? -1 : 1;
    return c;
}

bool *kb_api_mark_repeated(kb_arena_t *a, kb_api_tp_t *keys, int32_t n, bool spare_first) {
    bool *repeated = kb_arena_calloc(a, n > 0 ? (size_t)n : 1, sizeof(*repeated));

    if (!repeated || n < 2) return repeated;
    qsort(keys, (size_t)n, sizeof(*keys), tp_cmp);
    for (int32_t i = 0, end; i < n; i = end) {
        int32_t first = keys[i].index;
        for (end = i + 1; end < n && tp_cmp(&keys[i], &keys[end]) == 0; end++)
            if (keys[end].index < first) first = keys[end].index;
        if (end - i < 2) continue;
        for (int32_t j = i; j < end; j++) repeated[keys[j].index] = !(spare_first && keys[j].index == first);
    }
    return repeated;
}

kb_partition_t *kb_api_partition(const kb_request_t *req, kp_str_t topic, int32_t partition,
                                 bool leader_only, int16_t *error) {
    const kb_api_ctx_t *ctx = req->ctx;
    char name[KC_TOPIC_NAME_MAX + 1];
    kb_partition_t *p = NULL;

    *error = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!ctx || !kb_api_topic_cstr(topic, name)) return NULL;
    if (ctx->replicas) p = kb_replicas_get(ctx->replicas, name, partition);
    if (!p) {
        if (cache_has_partition(ctx, name, partition)) *error = KP_ERR_NOT_LEADER_OR_FOLLOWER;
        return NULL;
    }
    if (leader_only && !kb_partition_is_leader(p)) {
        *error = KP_ERR_NOT_LEADER_OR_FOLLOWER;
        return NULL;
    }
    *error = KP_ERR_NONE;
    return p;
}

/* ------------------------------------------------------ response framing */

size_t kb_api_response_begin(kp_writer_t *w, const kb_request_t *req) {
    const kp_request_header_t *h = &req->header;
    size_t start = kp_write_reserve_int32(w);
    int hv = kp_response_header_version(h->request_api_key, h->request_api_version,
                                        req->api->flex_from);

    kp_response_header_encode(w, hv, h->correlation_id);
    return start;
}

int kb_api_response_send(kb_conn_t *c, kp_writer_t *w, size_t frame_start) {
    struct evbuffer *eb;
    int rc = -1;

    if (w->err || w->len - frame_start - 4 > INT32_MAX) return -1;
    kp_write_patch_int32(w, frame_start, (int32_t)(w->len - frame_start - 4));
    eb = evbuffer_new();
    if (eb && evbuffer_add(eb, w->buf + frame_start, w->len - frame_start) == 0) {
        kb_conn_reply(c, eb);
        rc = 0;
    }
    if (eb) evbuffer_free(eb);
    return rc;
}

void kb_api_close(const kb_request_t *req, const char *fmt, ...) {
    const kp_request_header_t *h = &req->header;
    const char *name = req->api ? req->api->name : kp_api_key_name(h->request_api_key);
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    /* Rate-limited per listener: a client can send malformed requests at will. */
    kb_conn_warn(req->conn, "api", "%s on listener %s: %s (key %d) v%d, correlation id %d: %s; closing connection",
                 kb_conn_peer(req->conn), kb_conn_listener(req->conn), name ? name : "unknown API",
                 h->request_api_key, h->request_api_version, h->correlation_id, reason);
    kb_conn_close(req->conn, reason);
}

/* ------------------------------------------------------------ ApiVersions */

/* Fills keys (room for API_TABLE_LEN entries) from the table. */
static int32_t advertised_versions(kp_apiversion_t *keys) {
    int32_t n = 0;

    for (int i = 0; i < API_TABLE_LEN; i++) {
        const kb_api_t *a = &api_table[i];
        if (a->adv_min < 0 || a->adv_max < a->adv_min) continue;
        keys[n++] = (kp_apiversion_t){a->api_key, a->adv_min, a->adv_max};
    }
    return n;
}

kb_api_status_t kb_api_apiversions(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_apiversions_request_t body;
    kp_apiversion_t keys[API_TABLE_LEN];
    kp_apiversions_response_t resp = {0};

    if (kp_apiversions_request_decode(&req->body, version, &body) != 0) return KB_API_MALFORMED;
    if (body.client_software_name.len >= 0)
        kc_debug("api", "%s: client software %.*s %.*s", kb_conn_peer(req->conn),
                 (int)body.client_software_name.len, body.client_software_name.ptr,
                 (int)body.client_software_version.len, body.client_software_version.ptr);
    resp.error_code = KP_ERR_NONE;
    resp.n_api_keys = advertised_versions(keys);
    resp.api_keys = keys;
    resp.throttle_time_ms = 0;
    if (kp_apiversions_response_encode(w, version, &resp) != 0) return KB_API_FAILED;
    return KB_API_REPLY;
}

/* The answer to an ApiVersions request newer than any we know: a v0 body
 * with error 35 and our ApiVersions range, under response header v0. */
static void reply_apiversions_unsupported(kb_request_t *req) {
    kp_apiversions_response_t resp;
    kp_apiversion_t entry;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    kp_apiversions_response_unsupported(&resp, &entry, req->api->adv_max);
    kp_apiversions_response_encode(&w, 0, &resp);
    if (kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not send the unsupported-version answer");
    kp_writer_free(&w);
}

/* ------------------------------------------------------------- dispatcher */

static void run_handler(kb_request_t *req) {
    kp_writer_t w;
    size_t start;
    kb_api_status_t st;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    st = req->api->handler(req, &w);
    if (st == KB_API_MALFORMED)
        kb_api_close(req, "malformed request body (%s)",
                     req->body.err == KP_BUF_TRAILING ? "trailing bytes" : "truncated or invalid");
    else if (st == KB_API_FAILED)
        kb_api_close(req, "could not build the response");
    else if (st == KB_API_REPLY && kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the response");
    /* KB_API_DONE and KB_API_PENDING: the handler finishes the request. */
    kp_writer_free(&w);
}

/* Checks key and version and reads the rest of the header; returns false
 * after closing the connection (or answering) when the handler must not run. */
static bool admit(kb_request_t *req) {
    const kp_request_header_t *h = &req->header;
    int16_t v = h->request_api_version;
    int hv;

    req->api = api_find(h->request_api_key);
    if (!req->api) {
        kb_api_close(req, "unsupported API key");
        return false;
    }
    if (h->request_api_key == KP_API_API_VERSIONS && v > req->api->handled_max) {
        reply_apiversions_unsupported(req);
        return false;
    }
    if (v < req->api->handled_min || v > req->api->handled_max) {
        kb_api_close(req, "unsupported version (handled %d-%d)", req->api->handled_min,
                     req->api->handled_max);
        return false;
    }
    req->flexible = kp_is_flexible(v, req->api->flex_from);
    hv = kp_request_header_version(h->request_api_key, v, req->api->flex_from);
    if (kp_request_header_decode_rest(&req->body, hv, &req->header) != 0) {
        kb_api_close(req, "malformed request header v%d", hv);
        return false;
    }
    return true;
}

void kb_api_on_request(kb_conn_t *c, const uint8_t *frame, size_t len, void *arg) {
    kb_request_t req;

    memset(&req, 0, sizeof(req));
    req.conn = c;
    req.ctx = arg;
    if (req.ctx->metrics) req.ctx->metrics->requests_total++;
    kp_reader_init(&req.body, frame, len);
    if (kp_request_header_decode_ids(&req.body, &req.header) != 0)
        kb_api_close(&req, "request shorter than a header (%zu bytes)", len);
    else if (admit(&req))
        run_handler(&req);
    kb_arena_free(&req.arena);
}
