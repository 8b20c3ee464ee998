/*
 * kb_api_deletetopics.c - the DeleteTopics handler (wire-protocol.md 4.7).
 *
 * As in ZooKeeper-era Kafka, only the active controller deletes topics:
 * anywhere else every topic is answered 41 NOT_CONTROLLER and clients
 * retry at Metadata's controller_id.  With delete.topic.enable=false the
 * controller refuses every topic without writing anything: 73
 * TOPIC_DELETION_DISABLED from v3, 42 INVALID_REQUEST before (Kafka 2.6's
 * KafkaApis.handleDeleteTopicsRequest).  Otherwise the deletion service
 * (broker/admin/kb_topic_deleter.h) marks each known topic and keeps the
 * request waiting until the topics are gone or timeout_ms passes; this
 * handler decodes, hands over and encodes, and kb_api_topicop_finish waits
 * or answers.  A name given twice is answered twice, in request order, as
 * Kafka 2.6's DeletableTopicResultCollection (a multi-collection) holds a
 * result per requested name; librdkafka, which matches results to names,
 * fails such a request against Kafka as well.  (Kafka answers the repeat
 * 0 at once even when the first times out; here both wait alike.)
 */
#include <stdlib.h>

#include "broker/admin/kb_topic_deleter.h"
#include "broker/api/kb_api_internal.h"
#include "proto/kp_deletetopics.h"
#include "proto/kp_types.h"

/* Encodes the answer: from op, or when op is NULL every topic of body
 * refused with code. */
static int encode_answer(const kb_admin_op_t *op, const kp_deletetopics_request_t *body, int16_t version,
                         int16_t code, kp_writer_t *w) {
    int32_t n = op ? kb_admin_op_count(op) : body->n_topic_names;
    const char *message; /* null for every topic */
    kp_deletetopics_result_t *results = calloc((size_t)n + 1, sizeof(*results));
    int rc;

    if (!results) return KP_BUF_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        results[i] = (kp_deletetopics_result_t){op ? (kp_str_t){0, NULL} : body->topic_names[i], code};
        if (op) kb_admin_op_result(op, i, &results[i].name, &results[i].error_code, &message);
    }
    rc = kp_deletetopics_response_encode(w, version, &(kp_deletetopics_response_t){0, n, results});
    free(results);
    return rc;
}

static int encode_results(const kb_admin_op_t *op, int16_t version, kp_writer_t *w) {
    return encode_answer(op, NULL, version, 0, w);
}

static const kb_api_topicop_t topicop = {encode_results, NULL};

static bool controller_here(const kb_api_ctx_t *ctx) { return kb_api_is_controller(ctx) && ctx->topic_deleter; }

/* The code every topic gets before the service is asked, or 0. */
static int16_t refusal(const kb_request_t *req) {
    if (!controller_here(req->ctx)) return KP_ERR_NOT_CONTROLLER;
    if (!req->ctx->cfg->delete_topic_enable)
        return req->header.request_api_version >= 3 ? KP_ERR_TOPIC_DELETION_DISABLED : KP_ERR_INVALID_REQUEST;
    return KP_ERR_NONE;
}

kb_api_status_t kb_api_deletetopics(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version, code;
    kp_deletetopics_request_t body;
    kb_admin_op_t *op = NULL;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_deletetopics_request_decode(&req->body, version, &body) != 0) {
        st = KB_API_MALFORMED;
    } else if ((code = refusal(req)) != KP_ERR_NONE) {
        if (encode_answer(NULL, &body, version, code, w) != 0) st = KB_API_FAILED;
    } else if (!(op = kb_topic_deleter_start(req->ctx->topic_deleter, &body))) {
        st = KB_API_FAILED;
    }
    int32_t timeout_ms = body.timeout_ms;
    kp_deletetopics_request_clear(&body); /* the operation keeps only frame slices */
    return kb_api_topicop_finish(req, w, &topicop, op, timeout_ms, st);
}
