/*
 * kb_api_createpartitions.c - the CreatePartitions handler
 * (wire-protocol.md 4.8).
 *
 * Only the active controller adds partitions, as in ZooKeeper-era Kafka:
 * anywhere else every topic is answered 41 NOT_CONTROLLER (with a null
 * message, as Kafka's) and clients retry at Metadata's controller_id.  On
 * the controller the partition-adding service
 * (broker/admin/kb_partition_adder.h) judges and writes each topic through
 * ZooKeeper and keeps the request waiting until the new partitions have
 * leaders or timeout_ms passes; this handler only decodes, hands over and
 * encodes, and kb_api_topicop_finish waits or answers.  Every accepted
 * request waits at least for ZooKeeper's answers.
 */
#include <stdlib.h>

#include "broker/admin/kb_partition_adder.h"
#include "broker/api/kb_api_internal.h"
#include "proto/kp_createpartitions.h"
#include "proto/kp_types.h"

/* Encodes the answer: from op, or when op is NULL every topic of body
 * refused with code (and a null message). */
static int encode_answer(const kb_admin_op_t *op, const kp_createpartitions_request_t *body, int16_t version,
                         int16_t code, kp_writer_t *w) {
    int32_t n = op ? kb_admin_op_count(op) : body->n_topics;
    kp_createpartitions_result_t *results = calloc((size_t)n + 1, sizeof(*results));
    kp_createpartitions_response_t resp = {0, n, results};
    int rc;

    if (!results) return KP_BUF_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        kp_str_t name = op ? (kp_str_t){0, NULL} : body->topics[i].name;
        int16_t err = code;
        const char *why = NULL;
        if (op) kb_admin_op_result(op, i, &name, &err, &why);
        results[i] = (kp_createpartitions_result_t){name, err, kp_str_c(why)};
    }
    rc = kp_createpartitions_response_encode(w, version, &resp);
    free(results);
    return rc;
}

static int encode_results(const kb_admin_op_t *op, int16_t version, kp_writer_t *w) {
    return encode_answer(op, NULL, version, 0, w);
}

static const kb_api_topicop_t topicop = {
    encode_results, "cannot wait for ZooKeeper's answer (out of memory); the partitions may or may not be added"};

kb_api_status_t kb_api_createpartitions(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_createpartitions_request_t body = {0};
    kb_admin_op_t *op = NULL;
    kb_api_status_t st = KB_API_REPLY;
    int rc = kp_createpartitions_request_decode(&req->body, version, &body);
    int32_t timeout_ms = body.timeout_ms; /* read before the operation takes body over */

    if (rc != 0) {
        st = KB_API_MALFORMED;
    } else if (!kb_api_is_controller(req->ctx) || !req->ctx->partition_adder) {
        if (encode_answer(NULL, &body, version, KP_ERR_NOT_CONTROLLER, w) != 0) st = KB_API_FAILED;
    } else if (!(op = kb_partition_adder_start(req->ctx->partition_adder, &body))) {
        st = KB_API_FAILED;
    }
    kp_createpartitions_request_clear(&body); /* empty when the operation took it over */
    return kb_api_topicop_finish(req, w, &topicop, op, timeout_ms, st);
}
