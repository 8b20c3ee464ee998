/*
 * kb_rpc_common.c - the pieces of broker/rpc both sides use: the frame
 * header builder (the envelope and its body packed through proto/kp_rpc)
 * and names for log lines.
 */
#include "broker/rpc/kb_rpc_internal.h"

#include <stdio.h>

int kb_rpc_build_header(const kb_rpc_head_t *h, const ProtobufCMessage *msg, uint32_t max_frame, uint8_t **out,
                        size_t *out_len) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    *out = NULL;
    *out_len = 0;
    env.kind = h->kind;
    env.method = h->method;
    env.correlation_id = h->correlation_id;
    env.error_code = h->error_code;
    env.sender_broker_id = h->sender.broker_id;
    env.sender_broker_epoch = h->sender.broker_epoch;
    /* protobuf-c only reads the array while packing. */
    env.slice_lengths = (uint64_t *)h->slice_lengths;
    env.n_slice_lengths = h->n_slices;
    if (msg) {
        int rc = kp_rpc_body_pack(&env, h->method, h->kind, msg);
        if (rc) return rc;
    }
    int rc = kp_rpc_encode(&env, max_frame, out, out_len);
    if (msg) kp_rpc_body_release(&env);
    return rc;
}

int32_t kb_rpc_net_max_frame(uint32_t max_frame) { return max_frame > INT32_MAX ? INT32_MAX : (int32_t)max_frame; }

int32_t kb_rpc_net_hello_max_frame(uint32_t max_frame) {
    return max_frame < KB_RPC_HELLO_MAX_FRAME ? (int32_t)max_frame : KB_RPC_HELLO_MAX_FRAME;
}

const char *kb_rpc_who(kb_rpc_identity_t id, bool known, char *buf, size_t n) {
    if (!known) snprintf(buf, n, "unidentified peer");
    else snprintf(buf, n, "broker %d epoch %lld", (int)id.broker_id, (long long)id.broker_epoch);
    return buf;
}

const char *kb_rpc_method_name(Kbroker__Rpc__Method m) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&kbroker__rpc__method__descriptor, (int)m);
    return v ? v->name : "METHOD_?";
}
