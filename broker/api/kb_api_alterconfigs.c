/*
 * kb_api_alterconfigs.c - the AlterConfigs handler (wire-protocol.md 4.13),
 * versions 0-1.
 *
 * AlterConfigs replaces the whole override set of a resource: keys not
 * listed are removed, and a null value removes its key (Kafka drops
 * null-valued entries; a key listed twice keeps its last value).  Each
 * resource is judged on its own, in request order:
 *   - TOPIC (any broker answers): 17 for an illegal name, 3 for a topic the
 *     metadata cache does not know, 40 when a key is not a topic config or a
 *     value is invalid or unsupported by kbroker (kb_topic_config_validate);
 *     else the broker's config writer (broker/admin/kb_config_writer.h)
 *     writes the new set to /config/topics/T followed by a change
 *     notification.  Every broker watches that znode, re-applies the
 *     topic's log settings and updates its metadata cache.
 *   - BROKER: another broker's id is 42 (only that broker may answer for
 *     itself).  For this broker or the cluster default (empty name)
 *     kbroker applies no broker config at run time, so an empty set is a
 *     no-op success, a key kbroker does not know is 40, and any known key is
 *     42 "cannot update dynamically", instead of pretending to apply it.
 *   - anything else: 42.
 * validate_only runs every check and writes nothing.
 *
 * The ZooKeeper writes complete after the handler returns: the request is
 * detached and the last write's completion sends the answer.  A failed
 * write answers -1 with the ZooKeeper error in the message.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_config_writer.h"
#include "broker/api/kb_api_internal.h"
#include "broker/kb_topic_config.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "proto/kp_configs.h"
#include "proto/kp_types.h"

typedef struct alter_op alter_op_t;

/* One topic whose new override set is to be written. */
typedef struct {
    alter_op_t *op;
    int32_t index;            /* of the resource and its result */
    const char *topic;
    kc_config_entry_t *entries; /* in the arena */
    int n_entries;
} alter_write_t;

struct alter_op {
    kb_request_t *req;        /* the handler's request; the heap copy once detached */
    kp_alterconfigs_request_t body;
    kp_alterconfigs_result_t *results;
    alter_write_t *writes;    /* room for one per resource */
    int n_writes;
    int pending;              /* writes in flight, plus one while starting them */
};

/* ------------------------------------------------------------- helpers */

static const char *arena_printf(kb_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *arena_printf(kb_arena_t *a, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n;
    char *copy = kb_arena_alloc(a, len + 1);
    if (copy) memcpy(copy, buf, len + 1);
    return copy;
}

/* A request string as a C string in the arena; NULL when it holds a NUL or
 * memory ran out. */
static char *arena_cstr(kb_arena_t *a, kp_str_t s) {
    int32_t len = s.len < 0 ? 0 : s.len;
    if (s.len > 0 && memchr(s.ptr, '\0', (size_t)s.len)) return NULL;
    char *c = kb_arena_alloc(a, (size_t)len + 1);
    if (c && len > 0) memcpy(c, s.ptr, (size_t)len);
    return c;
}

static void refuse(alter_op_t *op, int32_t i, int16_t code, const char *message) {
    op->results[i].error_code = code;
    op->results[i].error_message = arena_printf(&op->req->arena, "%s", message);
}

/* A config entry and its position in the request. */
typedef struct {
    kc_config_entry_t entry;
    int32_t order;
} ordered_entry_t;

/* By key, then by position in the request. */
static int ordered_cmp(const void *a, const void *b) {
    const ordered_entry_t *x = a, *y = b;
    int c = strcmp(x->entry.key, y->entry.key);

    if (c == 0) c = x->order < y->order ? -1 : x->order > y->order;
    return c;
}

/* The non-null entries of a resource as a config set, by key, the last
 * value of a key listed twice winning.  Repeats are found by sorting: a
 * request of a few hundred kB with tens of thousands of keys held the loop
 * for seconds when each key was compared with every earlier one.  Returns
 * the count, or -1 with a message when a name or value is unusable. */
static int collect_entries(kb_arena_t *a, const kp_alterconfigs_resource_t *res, kc_config_entry_t **out,
                           const char **why) {
    size_t cap = res->n_configs > 0 ? (size_t)res->n_configs : 1;
    kc_config_entry_t *e = kb_arena_calloc(a, cap, sizeof(*e));
    ordered_entry_t *o = kb_arena_calloc(a, cap, sizeof(*o));
    int n = 0, kept = 0;
    *out = e;
    if (!e || !o) return *why = "out of memory", -1;
    for (int32_t i = 0; i < res->n_configs; i++) {
        const kp_alterconfigs_entry_t *c = &res->configs[i];
        if (c->value.len < 0) continue;
        char *key = arena_cstr(a, c->name), *value = arena_cstr(a, c->value);
        if (!key || !value) return *why = "config name or value contains a NUL byte", -1;
        o[n++] = (ordered_entry_t){{key, value}, i};
    }
    if (n > 1) qsort(o, (size_t)n, sizeof(*o), ordered_cmp);
    for (int i = 0; i < n; i++)
        if (i + 1 == n || strcmp(o[i].entry.key, o[i + 1].entry.key) != 0) e[kept++] = o[i].entry; /* its key's last */
    return kept;
}

/* ---------------------------------------------------------------- topics */

static void judge_topic(alter_op_t *op, int32_t i) {
    const kp_alterconfigs_resource_t *res = &op->body.resources[i];
    kb_arena_t *a = &op->req->arena;
    const kb_api_ctx_t *b = op->req->ctx;
    char why[320];
    const char *bad = NULL;
    char *name = arena_cstr(a, res->resource_name);
    if (!name || !kc_topic_name_valid(name, why, sizeof(why))) {
        refuse(op, i, KP_ERR_INVALID_TOPIC_EXCEPTION, name ? why : "topic name contains a NUL byte");
        return;
    }
    if (!b->metadata || !kb_metadata_topic(b->metadata, name)) {
        op->results[i].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        op->results[i].error_message = arena_printf(a, "Topic '%s' does not exist", name);
        return;
    }
    kc_config_entry_t *entries;
    int n = collect_entries(a, res, &entries, &bad);
    if (n < 0) {
        refuse(op, i, KP_ERR_INVALID_CONFIG, bad);
        return;
    }
    if (!kb_config_writer_topic_set_valid(entries, n, why, sizeof(why))) {
        refuse(op, i, KP_ERR_INVALID_CONFIG, why);
        return;
    }
    if (op->body.validate_only) return;
    op->writes[op->n_writes++] = (alter_write_t){op, i, name, entries, n};
}

/* --------------------------------------------------------------- brokers */

/* True when a BROKER resource name is empty (cluster default) or this
 * broker's id. */
static bool names_this_broker(kp_str_t name, int32_t self) {
    int64_t id = 0;
    if (name.len <= 0) return true;
    for (int32_t i = 0; i < name.len; i++) {
        if (!isdigit((unsigned char)name.ptr[i]) || id > INT32_MAX) return false;
        id = id * 10 + (name.ptr[i] - '0');
    }
    return id == self;
}

/* Lists the keys a refused broker change names, for the message. */
static void list_keys(const kc_config_entry_t *e, int n, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", e[i].key);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static void judge_broker(alter_op_t *op, int32_t i) {
    const kp_alterconfigs_resource_t *res = &op->body.resources[i];
    kb_arena_t *a = &op->req->arena;
    int32_t self = op->req->ctx->cfg->broker_id;
    const char *bad = NULL;
    char keys[300];
    if (!names_this_broker(res->resource_name, self)) {
        op->results[i].error_code = KP_ERR_INVALID_REQUEST;
        op->results[i].error_message = arena_printf(a, "Unexpected broker id, expected %d or empty string, but "
                                                    "received %.*s", (int)self, (int)res->resource_name.len,
                                                    res->resource_name.ptr);
        return;
    }
    kc_config_entry_t *entries;
    int n = collect_entries(a, res, &entries, &bad);
    if (n < 0) {
        refuse(op, i, KP_ERR_INVALID_CONFIG, bad);
        return;
    }
    for (int j = 0; j < n; j++) {
        kb_config_item_t item;
        if (kb_config_item(op->req->ctx->cfg, entries[j].key, &item)) continue;
        op->results[i].error_code = KP_ERR_INVALID_CONFIG;
        op->results[i].error_message = arena_printf(a, "Unknown broker config '%s'", entries[j].key);
        return;
    }
    if (n == 0) return; /* no dynamic broker configs to remove: nothing to do */
    list_keys(entries, n, keys, sizeof(keys));
    op->results[i].error_code = KP_ERR_INVALID_REQUEST;
    op->results[i].error_message = arena_printf(a, "Cannot update these configs dynamically: %s (kbroker reads "
                                                "broker configs only from server.properties at start-up)", keys);
}

/* -------------------------------------------------------------- answers */

static int encode(alter_op_t *op, kp_writer_t *w) {
    kp_alterconfigs_response_t resp = {0, op->body.n_resources, op->results};
    return kp_alterconfigs_response_encode(w, op->req->header.request_api_version, &resp);
}

/* Answers a detached request and releases it (op lives in its arena). */
static void reply_later(alter_op_t *op) {
    kb_request_t *req = op->req;
    kp_writer_t w;
    kp_writer_init(&w);
    size_t start = kb_api_response_begin(&w, req);
    if (encode(op, &w) != 0 || kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the response");
    kp_writer_free(&w);
    kp_alterconfigs_request_clear(&op->body);
    kb_api_request_free(req);
}

/* Settles one write (or the starting token); the last one answers.
 * Returns true when the request has been answered. */
static bool settle(alter_op_t *op) {
    if (--op->pending > 0) return false;
    reply_later(op);
    return true;
}

static void write_done(const char *error, void *arg) {
    alter_write_t *wr = arg;
    alter_op_t *op = wr->op;
    kp_alterconfigs_result_t *res = &op->results[wr->index];
    if (!error) {
        kc_info("api", "%s: topic %s now has %d config override%s", kb_conn_peer(op->req->conn), wr->topic,
                wr->n_entries, wr->n_entries == 1 ? "" : "s");
    } else {
        res->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        res->error_message = arena_printf(&op->req->arena, "could not write the config of topic %s to ZooKeeper: %s",
                                          wr->topic, error);
    }
    settle(op);
}

/* Detaches the request and starts every planned write. */
static kb_api_status_t start_writes(alter_op_t *op) {
    kb_config_writer_t *cw = op->req->ctx->config_writer;
    kb_request_t *heap = kb_api_request_detach(op->req);
    if (!heap) {
        kp_alterconfigs_request_clear(&op->body);
        return KB_API_FAILED;
    }
    op->req = heap;
    op->pending = 1;
    for (int i = 0; i < op->n_writes; i++) {
        alter_write_t *wr = &op->writes[i];
        op->pending++;
        kb_config_writer_topic(cw, wr->topic, wr->entries, wr->n_entries, write_done, wr);
    }
    return settle(op) ? KB_API_DONE : KB_API_PENDING;
}

/* -------------------------------------------------------------- handler */

static void judge(alter_op_t *op, int32_t i) {
    const kp_alterconfigs_resource_t *res = &op->body.resources[i];
    op->results[i] = (kp_alterconfigs_result_t){KP_ERR_NONE, NULL, res->resource_type, res->resource_name};
    switch (res->resource_type) {
    case KP_RESOURCE_TOPIC: judge_topic(op, i); break;
    case KP_RESOURCE_BROKER: judge_broker(op, i); break;
    default:
        op->results[i].error_code = KP_ERR_INVALID_REQUEST;
        op->results[i].error_message = arena_printf(&op->req->arena, "AlterConfigs supports only topics and brokers, "
                                                    "not resource type %d", (int)res->resource_type);
    }
}

static alter_op_t *op_new(kb_request_t *req, const kp_alterconfigs_request_t *body) {
    alter_op_t *op = kb_arena_alloc(&req->arena, sizeof(*op));
    if (!op) return NULL;
    op->req = req;
    op->body = *body;
    op->results = kb_arena_calloc(&req->arena, (size_t)body->n_resources, sizeof(*op->results));
    op->writes = kb_arena_calloc(&req->arena, (size_t)body->n_resources, sizeof(*op->writes));
    if (body->n_resources > 0 && (!op->results || !op->writes)) return NULL;
    return op;
}

kb_api_status_t kb_api_alterconfigs(kb_request_t *req, kp_writer_t *w) {
    kp_alterconfigs_request_t body;
    if (kp_alterconfigs_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_alterconfigs_request_clear(&body);
        return KB_API_MALFORMED;
    }
    alter_op_t *op = op_new(req, &body);
    if (!op) {
        kp_alterconfigs_request_clear(&body);
        return KB_API_FAILED;
    }
    for (int32_t i = 0; i < body.n_resources; i++) judge(op, i);
    if (op->n_writes > 0 && req->ctx->config_writer) return start_writes(op);
    for (int i = 0; i < op->n_writes; i++)
        refuse(op, op->writes[i].index, KP_ERR_UNKNOWN_SERVER_ERROR, "no ZooKeeper session");
    kb_api_status_t st = encode(op, w) == 0 ? KB_API_REPLY : KB_API_FAILED;
    kp_alterconfigs_request_clear(&op->body);
    return st;
}
