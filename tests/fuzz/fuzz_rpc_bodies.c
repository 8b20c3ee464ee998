/*
 * fuzz_rpc_bodies.c - the body of every inter-broker RPC message, request
 * and response of each method (proto/kbroker_rpc.proto), unpacked through
 * proto/kp_rpc.c's bounded allocator as a broker unpacks what a peer sent
 * (kp_rpc_body_unpack).  The first input byte picks the message: method 1
 * + (byte / 2) % 7, request when even, response when odd; the rest is the
 * body.  So every decoder is fuzzed directly, without the frame around it
 * (fuzz_rpc_frame covers the frame and the envelope).
 *
 * Promises checked besides memory safety: a body is unpacked or refused as
 * malformed, and the unpack allowance (a fixed multiple of the body's size)
 * is never what refuses it, i.e. protobuf-c's allocation stays within it;
 * a refused body leaves nothing allocated; an unpacked one repacks (its
 * repacked bytes are unpacked again for the sanitizers, not required to
 * succeed: protobuf-c 1.4.1 keeps an unknown field of a submessage whose
 * tag is an overlong varint and repacks it into a tag it then refuses, the
 * quirk fuzz_rpc_frame.c describes; nothing here repacks what it
 * received).
 * Seeds: one empty body per message (an empty body is every message's
 * default value), in tests/fuzz/corpus/fuzz_rpc_bodies.
 */
#include "proto/kp_rpc.h"
#include "tests/fuzz/fuzz.h"

#define N_METHODS 7 /* METHOD_HELLO .. METHOD_OFFSET_FOR_LEADER_EPOCH */

static void check_repack(const kp_rpc_body_t *b) {
    size_t n = protobuf_c_message_get_packed_size(b->msg);
    uint8_t *buf = malloc(n + 1);
    FZ_CHECK(buf != NULL);
    protobuf_c_message_pack(b->msg, buf);
    ProtobufCMessage *m = protobuf_c_message_unpack(b->msg->descriptor, NULL, n, buf);
    if (m) protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.method = (Kbroker__Rpc__Method)(1 + (data[0] / 2) % N_METHODS);
    env.kind = data[0] % 2 ? KBROKER__RPC__KIND__KIND_RESPONSE : KBROKER__RPC__KIND__KIND_REQUEST;
    FZ_CHECK(kp_rpc_body_descriptor(env.method, env.kind) != NULL);
    /* A copy so ASan knows exactly where the body ends. */
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data + 1, size - 1);
    env.body.data = copy;
    env.body.len = size - 1;
    kp_rpc_body_t *b;
    int rc = kp_rpc_body_unpack(&env, &b);
    FZ_CHECK(rc == KP_RPC_OK || rc == KP_RPC_BAD_BODY);
    if (rc == KP_RPC_OK) {
        FZ_CHECK(b->msg->descriptor == kp_rpc_body_descriptor(env.method, env.kind));
        FZ_CHECK(b->alloc.live <= b->alloc.limit && b->alloc.peak <= b->alloc.limit);
        check_repack(b);
        kp_rpc_body_free(b);
    } else {
        FZ_CHECK(b == NULL);
    }
    free(copy);
    return 0;
}
