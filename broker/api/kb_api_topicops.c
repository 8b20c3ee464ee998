/*
 * kb_api_topicops.c - the part CreateTopics, CreatePartitions and
 * DeleteTopics share once their service started an operation over the
 * requested topics (broker/admin/kb_admin_op.h): answer at once when every
 * topic is settled, else detach the request and park the operation with
 * its service, which answers it through on_answered (also at shutdown).
 * Each handler keeps its decoding, its refusals and its response encoding.
 */
#include "broker/admin/kb_admin_op.h"
#include "broker/api/kb_api_internal.h"

/* A parked request and how to encode its answer, in the detached
 * request's arena (freed with it). */
typedef struct {
    kb_request_t *req;
    const kb_api_topicop_t *t;
} parked_t;

bool kb_api_is_controller(const kb_api_ctx_t *ctx) {
    return ctx && ctx->is_controller && ctx->is_controller(ctx->controller);
}

/* The service's answer to a detached request: frame it, send it, free the
 * request. */
static void on_answered(const kb_admin_op_t *op, void *arg) {
    parked_t *p = arg;
    kb_request_t *req = p->req;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (p->t->encode(op, req->header.request_api_version, &w) != 0 ||
        kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the %s response", req->api->name);
    kp_writer_free(&w);
    kb_api_request_free(req);
}

/* Detaches the request and parks op with its service; false when that is
 * impossible (op is then still the caller's). */
static bool park(kb_request_t *req, const kb_api_topicop_t *t, kb_admin_op_t *op, int32_t timeout_ms) {
    kb_request_t *heap = kb_api_request_detach(req);
    parked_t *p = heap ? kb_arena_alloc(&heap->arena, sizeof(*p)) : NULL;

    if (p) {
        *p = (parked_t){heap, t};
        if (kb_admin_op_wait(op, timeout_ms, on_answered, p) == 0) return true;
    }
    kb_api_request_free(heap); /* the frame stays the connection's; req is still usable */
    return false;
}

kb_api_status_t kb_api_topicop_finish(kb_request_t *req, kp_writer_t *w, const kb_api_topicop_t *t,
                                      kb_admin_op_t *op, int32_t timeout_ms, kb_api_status_t st) {
    if (!op) return st;
    if (!kb_admin_op_settled(op)) {
        if (park(req, t, op, timeout_ms)) return KB_API_PENDING;
        kb_admin_op_give_up(op, t->give_up_why);
    }
    if (t->encode(op, req->header.request_api_version, w) != 0) st = KB_API_FAILED;
    kb_admin_op_release(op);
    return st;
}
