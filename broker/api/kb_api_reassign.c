/*
 * kb_api_reassign.c - the AlterPartitionReassignments (key 45) and
 * ListPartitionReassignments (key 46) handlers.
 *
 * Only the active controller serves them, as in ZooKeeper-era Kafka:
 * anywhere else the answer is a top-level 41 NOT_CONTROLLER, and clients
 * retry at Metadata's controller_id.  The controller judges and carries
 * out each entry (kb_controller.h, through the context's function
 * pointers); these handlers decode, hand over and encode.  An Alter whose
 * entries wait for their topic znode writes is detached and answered from
 * the controller's callback (within the request's timeout_ms, or when the
 * role ends).  Names that cannot be topic names are handed over as "",
 * which the controller answers UNKNOWN_TOPIC_OR_PARTITION like any
 * partition it does not know.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "proto/kp_reassign.h"
#include "proto/kp_types.h"

/* Kafka's wording, which clients may show. */
#define NOT_CONTROLLER_MESSAGE "This is not the correct controller for this cluster."

static bool controller_here(const kb_api_ctx_t *ctx) {
    return ctx && ctx->is_controller && ctx->is_controller(ctx->controller);
}

/* A topic name of the request as a C string in the arena ("" when it
 * cannot be one); NULL when out of memory. */
static const char *name_cstr(kb_arena_t *a, kp_str_t name) {
    char *buf = kb_arena_alloc(a, KC_TOPIC_NAME_MAX + 1);
    if (buf && !kb_api_topic_cstr(name, buf)) buf[0] = '\0';
    return buf;
}

/* ---- AlterPartitionReassignments ---- */

/* Everything a detached Alter keeps until it is answered, in its arena. */
typedef struct alter_op {
    kb_request_t *req;
    kp_alterreassign_request_t body;
    kc_reassign_entry_t *items;
    kc_reassign_answer_t *answers;
    int n;
} alter_op_t;

/* The answer mirrors the request: its topics in order, each with its
 * partitions' answers (top-level error: every list empty). */
static int encode_alter(kp_writer_t *w, const alter_op_t *op, int16_t top_error) {
    const kp_alterreassign_request_t *b = &op->body;
    kp_alterreassign_response_topic_t *topics = calloc((size_t)b->n_topics + 1, sizeof(*topics));
    kp_alterreassign_response_partition_t *parts = calloc((size_t)op->n + 1, sizeof(*parts));
    int rc = KP_BUF_NOMEM;
    if (topics && parts) {
        int k = 0;
        for (int32_t i = 0; i < b->n_topics && !top_error; i++) {
            topics[i] = (kp_alterreassign_response_topic_t){b->topics[i].name, b->topics[i].n_partitions, parts + k};
            for (int32_t j = 0; j < b->topics[i].n_partitions; j++, k++) {
                const kc_reassign_answer_t *ans = &op->answers[k];
                parts[k] = (kp_alterreassign_response_partition_t){
                    b->topics[i].partitions[j].partition_index, ans->error,
                    ans->error ? kp_str_c(ans->message) : KP_STR_NULL};
            }
        }
        kp_alterreassign_response_t resp = {0, top_error, top_error ? kp_str_c(NOT_CONTROLLER_MESSAGE) : KP_STR_NULL,
                                            top_error ? 0 : b->n_topics, topics};
        rc = kp_alterreassign_response_encode(w, 0, &resp);
    }
    free(topics);
    free(parts);
    return rc;
}

/* The controller's answer to a detached request. */
static void alter_answered(void *arg) {
    alter_op_t *op = arg;
    kb_request_t *req = op->req;
    kp_writer_t w;
    kp_writer_init(&w);
    size_t start = kb_api_response_begin(&w, req);
    if (encode_alter(&w, op, 0) != 0 || kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the AlterPartitionReassignments response");
    kp_writer_free(&w);
    kp_alterreassign_request_clear(&op->body);
    kb_api_request_free(req);
}

/* The request's entries as the controller takes them. */
static int fill_items(alter_op_t *op, kb_arena_t *a) {
    const kp_alterreassign_request_t *b = &op->body;
    int64_t n = 0;
    for (int32_t i = 0; i < b->n_topics; i++) n += b->topics[i].n_partitions;
    op->items = kb_arena_calloc(a, (size_t)n + 1, sizeof(*op->items));
    op->answers = kb_arena_calloc(a, (size_t)n + 1, sizeof(*op->answers));
    if (!op->items || !op->answers) return -1;
    for (int32_t i = 0; i < b->n_topics; i++) {
        const char *name = name_cstr(a, b->topics[i].name);
        if (!name) return -1;
        for (int32_t j = 0; j < b->topics[i].n_partitions; j++) {
            const kp_alterreassign_request_partition_t *p = &b->topics[i].partitions[j];
            op->items[op->n++] = (kc_reassign_entry_t){(char *)name, p->partition_index, p->n_replicas, p->replicas};
        }
    }
    return 0;
}

kb_api_status_t kb_api_alterreassignments(kb_request_t *req, kp_writer_t *w) {
    const kb_api_ctx_t *ctx = req->ctx;
    alter_op_t local = {0};
    if (kp_alterreassign_request_decode(&req->body, req->header.request_api_version, &local.body) != 0) {
        kp_alterreassign_request_clear(&local.body);
        return KB_API_MALFORMED;
    }
    if (!controller_here(ctx) || !ctx->alter_reassignments) {
        int rc = encode_alter(w, &local, KP_ERR_NOT_CONTROLLER);
        kp_alterreassign_request_clear(&local.body);
        return rc == 0 ? KB_API_REPLY : KB_API_FAILED;
    }
    kb_request_t *heap = kb_api_request_detach(req);
    alter_op_t *op = heap ? kb_arena_alloc(&heap->arena, sizeof(*op)) : NULL;
    if (op) {
        *op = local; /* the decoded body moves with the detached request */
        op->req = heap;
    }
    if (!op || fill_items(op, &heap->arena) != 0) {
        kp_alterreassign_request_clear(&local.body);
        kb_api_request_free(heap);
        return KB_API_FAILED;
    }
    bool pending = false;
    int16_t top = ctx->alter_reassignments(ctx->controller, op->items, op->n, op->body.timeout_ms, op->answers,
                                           alter_answered, op, &pending);
    if (pending) return KB_API_PENDING;
    int rc = encode_alter(w, op, top);
    kp_alterreassign_request_clear(&op->body);
    kb_api_request_free(heap); /* req still names the connection and the header w is framed for */
    return rc == 0 ? KB_API_REPLY : KB_API_FAILED;
}

/* ---- ListPartitionReassignments ---- */

/* The ongoing reassignments the controller names, grouped by topic as
 * they come (it names a topic's partitions together). */
typedef struct list_out {
    kb_arena_t *a;
    kp_listreassign_response_topic_t *topics;
    kp_listreassign_response_partition_t *parts;
    int32_t n_topics, n_parts, cap;
    bool failed;
    const char *last_topic;
} list_out_t;

/* The lists are borrowed from the controller's view: the answer is
 * encoded before control returns to the loop. */
static void list_emit(void *arg, const char *topic, int32_t partition, const kc_partition_t *p) {
    list_out_t *o = arg;
    if (o->failed) return;
    if (o->n_parts == o->cap) {
        int32_t cap = o->cap ? o->cap * 2 : 64;
        kp_listreassign_response_partition_t *parts = realloc(o->parts, (size_t)cap * sizeof(*parts));
        kp_listreassign_response_topic_t *topics = parts ? realloc(o->topics, (size_t)cap * sizeof(*topics)) : NULL;
        if (parts) o->parts = parts;
        if (topics) o->topics = topics;
        if (!parts || !topics) {
            o->failed = true;
            return;
        }
        o->cap = cap;
    }
    if (!o->last_topic || strcmp(o->last_topic, topic) != 0) {
        o->topics[o->n_topics++] = (kp_listreassign_response_topic_t){kp_str_c(topic), 0, NULL};
        o->last_topic = topic;
    }
    o->parts[o->n_parts++] = (kp_listreassign_response_partition_t){
        partition, p->n_replicas, p->replicas, p->n_adding, p->adding, p->n_removing, p->removing};
    o->topics[o->n_topics - 1].n_partitions++;
}

/* The partitions a request names, NULL topics meaning all (n -1). */
static kc_reassign_entry_t *list_only(const kp_listreassign_request_t *b, kb_arena_t *a, int *n) {
    int64_t total = 0;
    *n = -1;
    if (b->n_topics < 0) return NULL;
    for (int32_t i = 0; i < b->n_topics; i++) total += b->topics[i].n_partition_indexes;
    kc_reassign_entry_t *only = kb_arena_calloc(a, (size_t)total + 1, sizeof(*only));
    if (!only) return NULL;
    *n = 0;
    for (int32_t i = 0; i < b->n_topics; i++) {
        const char *name = name_cstr(a, b->topics[i].name);
        if (!name) return NULL;
        for (int32_t j = 0; j < b->topics[i].n_partition_indexes; j++)
            only[(*n)++] = (kc_reassign_entry_t){(char *)name, b->topics[i].partition_indexes[j], 0, NULL};
    }
    return only;
}

static int encode_list(kp_writer_t *w, list_out_t *o, int16_t top_error) {
    for (int32_t i = 0, k = 0; i < o->n_topics; k += o->topics[i++].n_partitions) o->topics[i].partitions = o->parts + k;
    kp_listreassign_response_t resp = {0, top_error, top_error ? kp_str_c(NOT_CONTROLLER_MESSAGE) : KP_STR_NULL,
                                       top_error ? 0 : o->n_topics, o->topics};
    return kp_listreassign_response_encode(w, 0, &resp);
}

kb_api_status_t kb_api_listreassignments(kb_request_t *req, kp_writer_t *w) {
    const kb_api_ctx_t *ctx = req->ctx;
    kp_listreassign_request_t body;
    list_out_t out = {.a = &req->arena};
    kb_api_status_t st = KB_API_REPLY;
    int16_t top = KP_ERR_NOT_CONTROLLER;
    if (kp_listreassign_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_listreassign_request_clear(&body);
        return KB_API_MALFORMED;
    }
    if (controller_here(ctx) && ctx->list_reassignments) {
        int n_only;
        kc_reassign_entry_t *only = list_only(&body, &req->arena, &n_only);
        if (n_only >= 0 && !only) st = KB_API_FAILED;
        else top = ctx->list_reassignments(ctx->controller, only, n_only, list_emit, &out);
    }
    if (st == KB_API_REPLY && (out.failed || encode_list(w, &out, top) != 0)) st = KB_API_FAILED;
    free(out.topics);
    free(out.parts);
    kp_listreassign_request_clear(&body);
    return st;
}
