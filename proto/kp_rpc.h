/*
 * kp_rpc.h - frames of the inter-broker RPC (proto/kbroker_rpc.proto): pure
 * encode and decode, no sockets.
 *
 * A frame is
 *
 *     uint32 BE  frame_len     bytes that follow this field
 *     uint32 BE  envelope_len
 *     envelope   envelope_len bytes: a serialized kbroker.rpc.Envelope
 *     trailer    frame_len - 4 - envelope_len bytes: the raw slices whose
 *                lengths the envelope lists in slice_lengths, in order
 *
 * The trailer carries bulk bytes (a replica fetch's records) outside the
 * protobuf so a leader can sendfile them from its segments: kp_rpc_encode()
 * writes only the header (both lengths and the envelope) and the caller
 * sends the trailer after it.  kp_rpc_decode() checks every length against
 * the others before trusting any, and hands back each slice as a pointer
 * into the caller's frame.
 *
 * Bounded unpacking: protobuf-c 1.4's unpack allocates in proportion to its
 * input (each repeated element, string, submessage or kept unknown field
 * costs at least one input byte; a 2-byte empty submessage becomes its
 * whole C struct, so the ratio is a constant but not small), and keeps a
 * scan table of one entry per field it meets.  Every unpack here goes
 * through kp_rpc_alloc_t, which counts live bytes and refuses past
 * KP_RPC_ALLOC_PER_BYTE bytes per input byte plus KP_RPC_ALLOC_BASE, so a
 * hostile envelope or body cannot make the decoder allocate beyond a fixed
 * multiple of what it sent.  Measured with protobuf-c 1.4.1 (live bytes at
 * the peak, per input byte): 92 for a LeaderAndIsr of empty partition
 * states (2 bytes in, a PartitionState struct, its pointer and scan entry
 * out), 64 for empty live brokers, 44 for unknown 2-byte fields, 36 for
 * unpacked slice lengths; fuzz_rpc_frame checks the allowance is never
 * what refuses a frame.
 */
#ifndef KP_RPC_H
#define KP_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kbroker_rpc.pb-c.h"

/* Bumped on any incompatible change of the schema or framing; Hello carries it. */
#define KP_RPC_PROTOCOL_VERSION 1u

/* The two length fields before the envelope. */
#define KP_RPC_PREFIX_LEN 4u
#define KP_RPC_HEADER_FIXED 8u

/* The unpack allowance: live bytes per input byte, plus a floor. */
#define KP_RPC_ALLOC_PER_BYTE 128u
#define KP_RPC_ALLOC_BASE 4096u

/* Results of the functions below (0 or negative). */
enum {
    KP_RPC_OK = 0,
    KP_RPC_TRUNCATED = -1,       /* fewer bytes than the lengths announce (or < 4 / < 8) */
    KP_RPC_TOO_LARGE = -2,       /* frame_len above the caller's maximum, or not a uint32 */
    KP_RPC_BAD_ENVELOPE_LEN = -3, /* envelope_len larger than what follows it */
    KP_RPC_BAD_ENVELOPE = -4,    /* protobuf-c cannot unpack the envelope, or unknown kind/method */
    KP_RPC_SLICE_OVERFLOW = -5,  /* the slice lengths' sum does not fit a size_t */
    KP_RPC_TRAILER_MISMATCH = -6, /* the slice lengths' sum differs from the trailer's length */
    KP_RPC_TRAILING = -7,        /* bytes after the frame the first length announces */
    KP_RPC_BAD_BODY = -8,        /* protobuf-c cannot unpack the body as the method's message */
    KP_RPC_NOMEM = -9,           /* an allocation failed, or the unpack allowance ran out */
};

/* A short name of a KP_RPC_* result, for log lines. */
const char *kp_rpc_strerror(int rc);

/* The counting allocator every unpack here uses (see the top of the file).
 * pb is what protobuf-c is given; its allocator_data points back at this
 * struct, so an initialised kp_rpc_alloc_t must not be moved. */
typedef struct {
    ProtobufCAllocator pb;
    size_t live;     /* bytes currently allocated through it */
    size_t peak;     /* the most ever live at once */
    size_t limit;    /* an allocation that would pass this is refused */
    bool refused;    /* some allocation was refused for the limit */
} kp_rpc_alloc_t;

/* Sets a up with the allowance for unpacking input_len bytes. */
void kp_rpc_alloc_init(kp_rpc_alloc_t *a, size_t input_len);

/* One trailer slice: a pointer into the decoded frame. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} kp_rpc_slice_t;

/* A decoded frame.  env and slices are owned by the frame (allocated
 * through alloc); slices point into the caller's frame bytes, which must
 * outlive their use.  Free with kp_rpc_frame_free(). */
typedef struct {
    Kbroker__Rpc__Envelope *env;
    kp_rpc_slice_t *slices; /* env->n_slice_lengths of them */
    size_t n_slices;
    kp_rpc_alloc_t alloc;
} kp_rpc_frame_t;

/* The total size (prefix included) of the frame whose first 4 bytes are
 * prefix, for a reader deciding how much to wait for.  KP_RPC_TOO_LARGE when
 * its frame_len passes max_frame_len, KP_RPC_TRUNCATED when it cannot even
 * hold the envelope length. */
int kp_rpc_frame_size(const uint8_t prefix[4], uint32_t max_frame_len, size_t *total);

/* Packs env (slice_lengths already set, body already packed) into a new
 * heap buffer holding frame_len, envelope_len and the envelope: the frame
 * minus its trailer, which the caller sends right after.  *out is the
 * caller's to free.  Refuses (KP_RPC_TOO_LARGE) a frame whose frame_len
 * would pass max_frame_len, and KP_RPC_SLICE_OVERFLOW a sum that
 * overflows. */
int kp_rpc_encode(const Kbroker__Rpc__Envelope *env, uint32_t max_frame_len, uint8_t **out, size_t *out_len);

/* Decodes exactly one whole frame (prefix included) of len bytes.  On
 * KP_RPC_OK *out is a new frame; on any refusal *out is NULL and nothing
 * is left allocated. */
int kp_rpc_decode(const uint8_t *frame, size_t len, uint32_t max_frame_len, kp_rpc_frame_t **out);

/* The same for a frame whose 4-byte frame_len the transport has already
 * read, checked against its maximum and stripped (broker/net delivers
 * frames so): payload is the frame_len bytes after the prefix, starting
 * with envelope_len. */
int kp_rpc_decode_payload(const uint8_t *payload, size_t len, kp_rpc_frame_t **out);

void kp_rpc_frame_free(kp_rpc_frame_t *f);

/* The message a body of (method, kind) holds; NULL for an unknown method. */
const ProtobufCMessageDescriptor *kp_rpc_body_descriptor(Kbroker__Rpc__Method method, Kbroker__Rpc__Kind kind);

/* Packs msg as the body of env: sets env->method, env->kind and env->body
 * (a new heap buffer the caller frees with kp_rpc_body_release()).  Refuses
 * KP_RPC_BAD_BODY when msg is not the (method, kind) message. */
int kp_rpc_body_pack(Kbroker__Rpc__Envelope *env, Kbroker__Rpc__Method method, Kbroker__Rpc__Kind kind,
                     const ProtobufCMessage *msg);

/* Frees what kp_rpc_body_pack() put in env->body. */
void kp_rpc_body_release(Kbroker__Rpc__Envelope *env);

/* An unpacked body: msg is the (method, kind) message, allocated through
 * alloc, an allowance for the body's size. */
typedef struct {
    ProtobufCMessage *msg;
    kp_rpc_alloc_t alloc;
} kp_rpc_body_t;

/* Unpacks env's body as the message its method and kind name.  On
 * KP_RPC_OK *out is new, to free with kp_rpc_body_free(); otherwise NULL. */
int kp_rpc_body_unpack(const Kbroker__Rpc__Envelope *env, kp_rpc_body_t **out);

void kp_rpc_body_free(kp_rpc_body_t *b);

#endif
