/*
 * kb_api_initproducerid.c - the InitProducerId handler (wire-protocol.md
 * 4.10, 7.1): producer ids for idempotent producers.
 *
 * Any broker answers a request without a transactional id: a fresh id from
 * the broker's producer-id service (broker/admin/kb_producer_ids.h) and epoch 0; the
 * transaction timeout is ignored.  When the block is used up the request
 * waits (detached, KB_API_PENDING) until the next block is claimed in
 * ZooKeeper, and is then answered from the allocator's callback; when no
 * block can be claimed it gets 15 COORDINATOR_NOT_AVAILABLE, which every
 * client retries.
 *
 * Refusals, in Kafka's order: 42 INVALID_REQUEST when exactly one of
 * producer_id/producer_epoch is -1 (v3+), 42 for an empty transactional id,
 * and 53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED for any other transactional
 * id: kbroker has no transaction coordinator, and 53 is the answer
 * librdkafka turns into a fatal error for a transactional producer, so its
 * init_transactions() fails at once instead of retrying until its timeout.
 */
#include "broker/admin/kb_producer_ids.h"
#include "broker/api/kb_api_internal.h"
#include "proto/kp_initproducerid.h"
#include "proto/kp_types.h"

static int16_t request_error(const kp_initproducerid_request_t *body) {
    bool no_id = body->producer_id == KP_NO_PRODUCER_ID, no_epoch = body->producer_epoch == KP_NO_PRODUCER_EPOCH;

    if (no_id != no_epoch) return KP_ERR_INVALID_REQUEST;
    if (body->transactional_id.len == 0) return KP_ERR_INVALID_REQUEST;
    if (body->transactional_id.len > 0) return KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return KP_ERR_NONE;
}

static void fill(kp_initproducerid_response_t *resp, int16_t error_code, int64_t producer_id) {
    *resp = (kp_initproducerid_response_t){0, error_code, -1, -1};
    if (error_code == KP_ERR_NONE) {
        resp->producer_id = producer_id;
        resp->producer_epoch = 0;
    }
}

/* The allocator's answer to a detached request: frame it, send it, free
 * the request. */
static void on_producer_id(bool ok, int64_t producer_id, void *arg) {
    kb_request_t *req = arg;
    kp_initproducerid_response_t resp;
    kp_writer_t w;
    size_t start;

    fill(&resp, ok ? KP_ERR_NONE : KP_ERR_COORDINATOR_NOT_AVAILABLE, producer_id);
    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (kp_initproducerid_response_encode(&w, req->header.request_api_version, &resp) != 0 ||
        kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the InitProducerId response");
    kp_writer_free(&w);
    kb_api_request_free(req);
}

/* No id left in the block: park the request until the next block.
 * Returns KB_API_PENDING, or an error code to answer with now. */
static int16_t wait_for_block(kb_request_t *req, kb_producer_ids_t *ids, kb_api_status_t *st) {
    kb_request_t *detached = kb_api_request_detach(req);

    if (!detached) {
        *st = KB_API_FAILED;
        return KP_ERR_NONE;
    }
    if (kb_producer_ids_wait(ids, on_producer_id, detached) == 0) {
        *st = KB_API_PENDING;
        return KP_ERR_NONE;
    }
    kb_api_request_free(detached); /* req itself stays valid: the frame is the connection's */
    *st = KB_API_REPLY;
    return KP_ERR_COORDINATOR_NOT_AVAILABLE;
}

kb_api_status_t kb_api_initproducerid(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_initproducerid_request_t body;
    kp_initproducerid_response_t resp;
    kb_producer_ids_t *ids = NULL;
    kb_api_status_t st = KB_API_REPLY;
    int16_t err;
    int64_t id = -1;

    if (kp_initproducerid_request_decode(&req->body, version, &body) != 0) return KB_API_MALFORMED;
    err = request_error(&body);
    if (!err && !(ids = req->ctx->producer_ids)) err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    if (!err && !kb_producer_ids_take(ids, &id)) {
        err = wait_for_block(req, ids, &st);
        if (st != KB_API_REPLY) return st;
    }
    fill(&resp, err, id);
    if (kp_initproducerid_response_encode(w, version, &resp) != 0) return KB_API_FAILED;
    return KB_API_REPLY;
}
