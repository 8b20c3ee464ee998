/*
 * kb_api_findcoordinator.c - the FindCoordinator handler, for now without a
 * coordinator (group-protocol.md 2.1, 3.2).
 *
 * FindCoordinator is advertised from v0 before consumer groups exist
 * because librdkafka derives two features from that range: it uses lz4 only
 * when FindCoordinator v0 is advertised, and asks only such brokers for a
 * coordinator (wire-protocol.md 2.1).  Until the group coordinator lands
 * every valid request is answered 15 COORDINATOR_NOT_AVAILABLE with node
 * -1, host "" and port -1, which all clients retry; a transaction lookup
 * (key type 1) is 53, since transactions are not implemented; any other
 * key type is 42 INVALID_REQUEST.  When groups arrive
 * the lookup of group-protocol.md 3.2 replaces coordinator().
 */
#include "broker/api/kb_api_internal.h"
#include "proto/kp_findcoordinator.h"
#include "proto/kp_types.h"

static void coordinator(const kp_findcoordinator_request_t *body,
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
        resp->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        resp->error_message = kp_str_c("The coordinator is not available.");
    }
}

kb_api_status_t kb_api_findcoordinator(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_findcoordinator_request_t body;
    kp_findcoordinator_response_t resp;

    if (kp_findcoordinator_request_decode(&req->body, version, &body) != 0)
        return KB_API_MALFORMED;
    coordinator(&body, &resp);
    if (kp_findcoordinator_response_encode(w, version, &resp) != 0) return KB_API_FAILED;
    return KB_API_REPLY;
}
