/*
 * kb_control_rpc.c - the RPC handlers of the controller's requests: each
 * hands the unpacked body, with the broker id its connection's Hello named
 * (admission step 1), to its core (kb_control_requests.c,
 * kb_control_metadata.c) and sends what it filled.  The channel packs the
 * response before kb_rpc_respond returns, so the response (whose topic
 * names point into the request) is freed right after.  Also the broker epoch as main.c reads it from the
 * registration (the unit suite links neither).
 */
#include "broker/kb_control_internal.h"
#include "broker/kb_registration.h"

static void on_leader_and_isr(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                              size_t n_slices, void *arg) {
    Kbroker__Rpc__LeaderAndIsrResponse out;
    int32_t sender = kb_rpc_req_peer(req).broker_id;
    int16_t err = kb_control_leader_and_isr(arg, sender, (const Kbroker__Rpc__LeaderAndIsrRequest *)body, &out);
    kb_rpc_respond(req, err, &out.base, NULL, NULL, 0);
    kb_control_response_clear(&out.base);
}

static void on_update_metadata(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                               size_t n_slices, void *arg) {
    Kbroker__Rpc__UpdateMetadataResponse out;
    int32_t sender = kb_rpc_req_peer(req).broker_id;
    int16_t err = kb_control_update_metadata(arg, sender, (const Kbroker__Rpc__UpdateMetadataRequest *)body, &out);
    kb_rpc_respond(req, err, &out.base, NULL, NULL, 0);
    kb_control_response_clear(&out.base);
}

static void on_stop_replica(kb_rpc_req_t *req, const ProtobufCMessage *body, const kp_rpc_slice_t *slices,
                            size_t n_slices, void *arg) {
    Kbroker__Rpc__StopReplicaResponse out;
    int32_t sender = kb_rpc_req_peer(req).broker_id;
    int16_t err = kb_control_stop_replica(arg, sender, (const Kbroker__Rpc__StopReplicaRequest *)body, &out);
    kb_rpc_respond(req, err, &out.base, NULL, NULL, 0);
    kb_control_response_clear(&out.base);
}

const kb_rpc_handler_t *kb_control_handlers(kb_control_t *c, size_t *n) {
    c->handlers[0] = (kb_rpc_handler_t){KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, on_leader_and_isr, c};
    c->handlers[1] = (kb_rpc_handler_t){KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA, on_update_metadata, c};
    c->handlers[2] = (kb_rpc_handler_t){KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, on_stop_replica, c};
    *n = sizeof(c->handlers) / sizeof(c->handlers[0]);
    return c->handlers;
}

int64_t kb_control_registration_epoch(void *registration) {
    const kb_registration_t *r = registration;
    return r ? kb_control_epoch_for(kb_registration_registered(r), kb_registration_epoch(r)) : -1;
}

int64_t kb_control_epoch_for(bool registered, int64_t czxid) {
    if (registered) return czxid;
    return czxid > 0 ? KB_CONTROL_UNREGISTERED : -1;
}
