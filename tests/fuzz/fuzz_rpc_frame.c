/*
 * fuzz_rpc_frame.c - inter-broker RPC frames (proto/kp_rpc.c) as a broker
 * reads them off a connection: the whole frame, 4-byte prefix included.
 * Promises checked besides memory safety: a refused frame leaves nothing
 * allocated; a decoded one has its slices tile the trailer exactly, inside
 * the input; the unpack allowance (a fixed multiple of the input) is never
 * what refuses, i.e. protobuf-c's allocation stays within it; a decoded
 * envelope re-encodes, and decodes again with the same trailer unless it
 * kept unknown fields; a body that unpacks repacks.
 *
 * Why the exception: protobuf-c 1.4.1 keeps an unknown field whose tag is
 * field 0 written as an overlong varint (80 00), repacks that tag as the
 * single byte 00, and then refuses its own output.  Nothing here repacks a
 * received message, so the quirk costs nothing.  Neither is the re-encoded
 * envelope bounded by the frame's own size: an int32 sent as a short varint
 * that reads as negative repacks as 10 bytes.
 * Seeds: tests/fuzz/rpc_seeds.sh.
 */
#include "proto/kp_rpc.h"
#include "tests/fuzz/fuzz.h"

#define MAX_FRAME (1u << 20)

static void check_slices(const kp_rpc_frame_t *f, const fz_input_t *in) {
    FZ_CHECK(f->n_slices == f->env->n_slice_lengths);
    const uint8_t *end = in->p + in->n;
    for (size_t i = f->n_slices; i-- > 0;) {
        FZ_CHECK(f->slices[i].len == f->env->slice_lengths[i]);
        FZ_CHECK(f->slices[i].ptr + f->slices[i].len == end);
        fz_slice(in, f->slices[i].ptr, (int64_t)f->slices[i].len);
        end = f->slices[i].ptr;
    }
}

/* Re-encodes the envelope and decodes it with the original trailer. */
static void check_reencode(const kp_rpc_frame_t *f, const fz_input_t *in) {
    uint8_t *head;
    size_t head_len;
    size_t trailer = f->n_slices ? (size_t)(in->p + in->n - f->slices[0].ptr) : 0;
    int rc = kp_rpc_encode(f->env, 2 * MAX_FRAME, &head, &head_len);
    FZ_CHECK(rc == KP_RPC_OK);
    uint8_t *again = malloc(head_len + trailer + 1);
    FZ_CHECK(again != NULL);
    memcpy(again, head, head_len);
    if (trailer) memcpy(again + head_len, in->p + in->n - trailer, trailer);
    kp_rpc_frame_t *g;
    rc = kp_rpc_decode(again, head_len + trailer, MAX_FRAME, &g);
    if (f->env->base.n_unknown_fields == 0) {
        FZ_CHECK(rc == KP_RPC_OK);
        FZ_CHECK(g->n_slices == f->n_slices && g->env->method == f->env->method);
    }
    kp_rpc_frame_free(g);
    free(again);
    free(head);
}

static void check_body(const kp_rpc_frame_t *f) {
    kp_rpc_body_t *b;
    int rc = kp_rpc_body_unpack(f->env, &b);
    FZ_CHECK(rc == KP_RPC_OK || rc == KP_RPC_BAD_BODY);
    if (rc) {
        FZ_CHECK(b == NULL);
        return;
    }
    size_t n = protobuf_c_message_get_packed_size(b->msg);
    uint8_t *buf = malloc(n + 1);
    FZ_CHECK(buf != NULL);
    protobuf_c_message_pack(b->msg, buf);
    ProtobufCMessage *m = protobuf_c_message_unpack(b->msg->descriptor, NULL, n, buf);
    if (m) protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
    kp_rpc_body_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A copy so ASan knows exactly where the frame ends. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fz_input_t in = {copy, size};
    kp_rpc_frame_t *f;
    int rc = kp_rpc_decode(copy, size, MAX_FRAME, &f);
    FZ_CHECK(rc != KP_RPC_NOMEM);
    if (rc == KP_RPC_OK) {
        FZ_CHECK(f->alloc.live <= f->alloc.limit);
        check_slices(f, &in);
        check_reencode(f, &in);
        check_body(f);
        kp_rpc_frame_free(f);
    } else {
        FZ_CHECK(f == NULL);
        (void)kp_rpc_strerror(rc);
    }
    free(copy);
    return 0;
}
