/*
 * kb_rpc_internal.h - what the server and the client of broker/rpc share:
 * building a frame's header (envelope with its packed body), the
 * transport's frame limits for an RPC max_frame, before and after Hello.
 */
#ifndef KB_RPC_INTERNAL_H
#define KB_RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "broker/rpc/kb_rpc.h"

/* What goes in one envelope besides the body. */
typedef struct kb_rpc_head {
    Kbroker__Rpc__Kind kind;
    Kbroker__Rpc__Method method;
    uint32_t correlation_id;
    int32_t error_code;
    kb_rpc_identity_t sender;
    const uint64_t *slice_lengths; /* the trailer's slices, sent after the header by the caller */
    size_t n_slices;
} kb_rpc_head_t;

/*
 * Packs msg (NULL: an empty body) as the body of the envelope h describes
 * and encodes the frame's header: both lengths and the envelope, which the
 * trailer (if any) follows.  *out is new (free() it).  KP_RPC_OK, or
 * KP_RPC_BAD_BODY (msg is not the method's message of that kind),
 * KP_RPC_TOO_LARGE (the frame, trailer included, would pass max_frame),
 * KP_RPC_SLICE_OVERFLOW or KP_RPC_NOMEM.
 */
int kb_rpc_build_header(const kb_rpc_head_t *h, const ProtobufCMessage *msg, uint32_t max_frame, uint8_t **out,
                        size_t *out_len);

/*
 * The largest frame either side takes before the Hello exchange is done
 * (the transport's handshake phase, broker/net/kb_net.h).  A Hello frame is
 * under 100 bytes (an envelope of six scalars and a body of three; a
 * varint is at most 10 bytes), so 4 KiB leaves room for fields a later
 * protocol version may add, while a peer that has not said who it is can
 * make us buffer and unpack no more than that (protobuf-c's unpack costs
 * up to ~100 bytes per input byte, see proto/kp_rpc.h): without this, the
 * first frame could be a max_frame one (16 MiB by default) decoded before
 * the peer is known.
 */
#define KB_RPC_HELLO_MAX_FRAME 4096

/* The transport's limit (a frame_len, signed 32-bit there) for max_frame. */
int32_t kb_rpc_net_max_frame(uint32_t max_frame);
/* ... and before Hello: KB_RPC_HELLO_MAX_FRAME, or max_frame if smaller. */
int32_t kb_rpc_net_hello_max_frame(uint32_t max_frame);

/* "METHOD_LEADER_AND_ISR" (or "METHOD_?" for a value the schema lacks). */
const char *kb_rpc_method_name(Kbroker__Rpc__Method m);

/* "broker 3 epoch 4294967302" or "unidentified peer" for log lines. */
const char *kb_rpc_who(kb_rpc_identity_t id, bool known, char *buf, size_t n);

#endif
