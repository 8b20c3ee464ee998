/*
 * kb_api_createtopics.c - the CreateTopics handler (wire-protocol.md 4.6).
 *
 * Only the active controller creates topics, as in ZooKeeper-era Kafka:
 * anywhere else every topic is answered 41 NOT_CONTROLLER and clients
 * retry at Metadata's controller_id.  On the controller the broker's
 * topic-creation service (broker/admin/kb_topic_creator.h) judges each
 * topic, writes the accepted ones and, when some were written, keeps the
 * operation waiting until their partitions have leaders or timeout_ms
 * passes; this handler only decodes, hands over and encodes.  A waiting
 * request is detached and answered from the service's callback, also at
 * shutdown (the service answers what is parked).
 */
#include <stdlib.h>

#include "broker/admin/kb_topic_creator.h"
#include "broker/api/kb_api_internal.h"
#include "proto/kp_createtopics.h"
#include "proto/kp_types.h"

/* Kafka's wording, which clients may show. */
#define NOT_CONTROLLER_MESSAGE "This is not the correct controller for this cluster."

/* Encodes the answer: from op, or when op is NULL every topic of body
 * refused with code and message. */
static int encode_answer(const kb_topic_op_t *op, const kp_createtopics_request_t *body, int16_t version,
                         int16_t code, const char *message, kp_writer_t *w) {
    int32_t n = op ? kb_topic_op_count(op) : body->n_topics;
    kp_createtopics_response_topic_t *topics = calloc((size_t)n + 1, sizeof(*topics));
    kp_createtopics_response_t resp = {0, n, topics};
    int rc;

    if (!topics) return KP_BUF_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kp_str_t name = op ? (kp_str_t){0, NULL} : body->topics[i].name;
        int16_t err = code;
        const char *why = message;
        if (op) kb_topic_op_result(op, i, &name, &err, &why);
        topics[i] = (kp_createtopics_response_topic_t){name, err, kp_str_c(why)};
    }
    rc = kp_createtopics_response_encode(w, version, &resp);
    free(topics);
    return rc;
}

/* The service's answer to a detached request: frame it, send it, free the
 * request. */
static void on_answered(const kb_topic_op_t *op, void *arg) {
    kb_request_t *req = arg;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (encode_answer(op, NULL, req->header.request_api_version, 0, NULL, &w) != 0 ||
        kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the CreateTopics response");
    kp_writer_free(&w);
    kb_api_request_free(req);
}

/* ZooKeeper-era Kafka creates topics on the active controller only. */
static bool controller_here(const kb_api_ctx_t *ctx) {
    return ctx && ctx->is_controller && ctx->is_controller(ctx->controller) && ctx->topic_creator;
}

/* Detaches the request and parks op with the service; false when that is
 * impossible (op is then still the caller's). */
static bool wait_for_leaders(kb_request_t *req, kb_topic_op_t *op, int32_t timeout_ms) {
    kb_request_t *heap = kb_api_request_detach(req);

    if (heap && kb_topic_op_wait(op, timeout_ms, on_answered, heap) == 0) return true;
    kb_api_request_free(heap); /* the frame stays the connection's; req is still usable */
    return false;
}

kb_api_status_t kb_api_createtopics(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_createtopics_request_t body = {0};
    kb_topic_op_t *op = NULL;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_createtopics_request_decode(&req->body, version, &body) != 0) {
        st = KB_API_MALFORMED;
    } else if (!controller_here(req->ctx)) {
        if (encode_answer(NULL, &body, version, KP_ERR_NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE, w) != 0)
            st = KB_API_FAILED;
    } else if (!(op = kb_topic_creator_start(req->ctx->topic_creator, &body))) {
        st = KB_API_FAILED;
    }
    int32_t timeout_ms = body.timeout_ms;
    kp_createtopics_request_clear(&body); /* the operation keeps only frame slices */
    if (!op) return st;
    if (!kb_topic_op_settled(op)) {
        if (wait_for_leaders(req, op, timeout_ms)) return KB_API_PENDING;
        kb_topic_op_give_up(op, "cannot wait for the topic's leaders (out of memory); its creation continues");
    }
    if (encode_answer(op, NULL, version, 0, NULL, w) != 0) st = KB_API_FAILED;
    kb_topic_op_release(op);
    return st;
}
