/*
 * kb_api_findcoordinator.c - the FindCoordinator handler
 * (group-protocol.md 2.1, 3.2).
 *
 * A group's coordinator is the leader of its __consumer_offsets partition
 * (broker/group picks the partition and creates the topic on first use).
 * The answer comes from the metadata cache only, with the broker's
 * endpoint for the listener the request arrived on, exactly as Metadata
 * reports it: KafkaJS looks the node id up in its Metadata-derived pool,
 * librdkafka rewrites its broker's address from it.  Until the topic and
 * that partition's leader are known the answer is 15
 * COORDINATOR_NOT_AVAILABLE with node -1, host "" and port -1, which all
 * clients retry.  A transaction lookup (key type 1) is 53, since
 * transactions are not implemented; any other key type is 42
 * INVALID_REQUEST.  FindCoordinator is advertised from v0 because
 * librdkafka derives features from that range (wire-protocol.md 2.1).
 */
#include "broker/api/kb_api_internal.h"
#include "broker/group/kb_group.h"
#include "broker/metadata/kb_metadata.h"
#include "proto/kp_findcoordinator.h"
#include "proto/kp_types.h"

/* The leader of group's offsets partition, as reachable on this listener. */
static void group_coordinator(const kb_request_t *req, kp_str_t group, kp_findcoordinator_response_t *resp) {
    const kb_metadata_t *md = req->ctx->metadata;
    const kb_metadata_topic_t *t;
    const kb_metadata_broker_t *b = NULL;
    const kb_metadata_endpoint_t *ep = NULL;
    int16_t err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    int32_t p = req->ctx->coordinator ? kb_coordinator_partition_for(req->ctx->coordinator, group, &err) : -1;

    t = p >= 0 && md ? kb_metadata_topic(md, KB_OFFSETS_TOPIC) : NULL;
    if (t && p < t->n_partitions && t->partitions[p].leader >= 0)
        b = kb_metadata_broker(md, t->partitions[p].leader);
    if (b) ep = kb_metadata_broker_endpoint(b, kb_conn_listener(req->conn));
    if (!ep) {
        resp->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        resp->error_message = kp_str_c("The coordinator is not available.");
        return;
    }
    resp->node_id = b->id;
    resp->host = kp_str_c(ep->host);
    resp->port = ep->port;
}

static void coordinator(const kb_request_t *req, const kp_findcoordinator_request_t *body,
                        kp_findcoordinator_response_t *resp) {
    bool known_type =
        body->key_type == KP_COORDINATOR_GROUP || body->key_type == KP_COORDINATOR_TRANSACTION;

    *resp = (kp_findcoordinator_response_t){0, KP_ERR_NONE, KP_STR_NULL, -1, kp_str_c(""), -1};
    if (!known_type) {
        resp->error_code = KP_ERR_INVALID_REQUEST;
        resp->error_message = kp_str_c("Unknown coordinator key type");
    } else if (body->key_type == KP_COORDINATOR_TRANSACTION) {
        /* No transactions: librdkafka turns 53 on a transaction coordinator
         * lookup into a fatal init_transactions() error, where 15 would
         * make it retry until its timeout. */
        resp->error_code = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        resp->error_message = kp_str_c("Transactions are not supported by this broker.");
    } else {
        group_coordinator(req, body->key, resp);
    }
}

kb_api_status_t kb_api_findcoordinator(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_findcoordinator_request_t body;
    kp_findcoordinator_response_t resp;

    if (kp_findcoordinator_request_decode(&req->body, version, &body) != 0)
        return KB_API_MALFORMED;
    coordinator(req, &body, &resp);
    if (kp_findcoordinator_response_encode(w, version, &resp) != 0) return KB_API_FAILED;
    return KB_API_REPLY;
}
