/*
 * kb_api_createtopics.c - the CreateTopics handler (wire-protocol.md 4.6).
 *
 * Only the active controller creates topics, as in ZooKeeper-era Kafka:
 * anywhere else every topic is answered 41 NOT_CONTROLLER and clients
 * retry at Metadata's controller_id.  On the controller the broker's
 * topic-creation service (broker/admin/kb_topic_creator.h) judges each
 * topic, writes the accepted ones and, when some were written, keeps the
 * operation waiting until their partitions have leaders or timeout_ms
 * passes; this handler only decodes, hands over and encodes, and
 * kb_api_topicop_finish waits or answers.
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
static int encode_answer(const kb_admin_op_t *op, const kp_createtopics_request_t *body, int16_t version,
                         int16_t code, const char *message, kp_writer_t *w) {
    int32_t n = op ? kb_admin_op_count(op) : body->n_topics;
    kp_createtopics_response_topic_t *topics = calloc((size_t)n + 1, sizeof(*topics));
    kp_createtopics_response_t resp = {0, n, topics};
    int rc;

    if (!topics) return KP_BUF_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kp_str_t name = op ? (kp_str_t){0, NULL} : body->topics[i].name;
        int16_t err = code;
        const char *why = message;
        if (op) kb_admin_op_result(op, i, &name, &err, &why);
        topics[i] = (kp_createtopics_response_topic_t){name, err, kp_str_c(why)};
    }
    rc = kp_createtopics_response_encode(w, version, &resp);
    free(topics);
    return rc;
}

static int encode_results(const kb_admin_op_t *op, int16_t version, kp_writer_t *w) {
    return encode_answer(op, NULL, version, 0, NULL, w);
}

static const kb_api_topicop_t topicop = {
    encode_results, "cannot wait for the topic's leaders (out of memory); its creation continues"};

kb_api_status_t kb_api_createtopics(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_createtopics_request_t body = {0};
    kb_admin_op_t *op = NULL;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_createtopics_request_decode(&req->body, version, &body) != 0) {
        st = KB_API_MALFORMED;
    } else if (!kb_api_is_controller(req->ctx) || !req->ctx->topic_creator) {
        /* ZooKeeper-era Kafka creates topics on the active controller only. */
        if (encode_answer(NULL, &body, version, KP_ERR_NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE, w) != 0)
            st = KB_API_FAILED;
    } else if (!(op = kb_topic_creator_start(req->ctx->topic_creator, &body))) {
        st = KB_API_FAILED;
    }
    int32_t timeout_ms = body.timeout_ms;
    kp_createtopics_request_clear(&body); /* the operation keeps only frame slices */
    return kb_api_topicop_finish(req, w, &topicop, op, timeout_ms, st);
}
