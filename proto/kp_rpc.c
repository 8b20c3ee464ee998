/*
 * kp_rpc.c - frames of the inter-broker RPC: the header encoder, the frame
 * decoder with its length checks, the body helpers by method, and the
 * counting allocator that bounds what protobuf-c may allocate while
 * unpacking (the layout and the reasons are in kp_rpc.h).
 */
#include "proto/kp_rpc.h"

#include <stdlib.h>
#include <string.h>

/* Every allocation carries its size in front, padded to max alignment so
 * the bytes handed out stay aligned for any struct. */
typedef union {
    size_t size;
    max_align_t align;
} alloc_head_t;

static void *counted_alloc(void *data, size_t size) {
    kp_rpc_alloc_t *a = data;
    /* live <= limit always; the second test keeps size + header from wrapping. */
    if (size > a->limit - a->live || size > SIZE_MAX - sizeof(alloc_head_t)) {
        a->refused = true;
        return NULL;
    }
    alloc_head_t *h = malloc(sizeof(*h) + size);
    if (!h) return NULL;
    h->size = size;
    a->live += size;
    if (a->live > a->peak) a->peak = a->live;
    return h + 1;
}

static void counted_free(void *data, void *ptr) {
    kp_rpc_alloc_t *a = data;
    if (!ptr) return;
    alloc_head_t *h = (alloc_head_t *)ptr - 1;
    a->live -= h->size;
    free(h);
}

void kp_rpc_alloc_init(kp_rpc_alloc_t *a, size_t input_len) {
    memset(a, 0, sizeof(*a));
    a->pb.alloc = counted_alloc;
    a->pb.free = counted_free;
    a->pb.allocator_data = a;
    /* Saturates rather than wraps for an absurd input_len. */
    a->limit = input_len > (SIZE_MAX - KP_RPC_ALLOC_BASE) / KP_RPC_ALLOC_PER_BYTE
                   ? SIZE_MAX
                   : input_len * KP_RPC_ALLOC_PER_BYTE + KP_RPC_ALLOC_BASE;
}

const char *kp_rpc_strerror(int rc) {
    switch (rc) {
    case KP_RPC_OK: return "ok";
    case KP_RPC_TRUNCATED: return "truncated frame";
    case KP_RPC_TOO_LARGE: return "frame too large";
    case KP_RPC_BAD_ENVELOPE_LEN: return "envelope length beyond the frame";
    case KP_RPC_BAD_ENVELOPE: return "malformed envelope";
    case KP_RPC_SLICE_OVERFLOW: return "slice lengths overflow";
    case KP_RPC_TRAILER_MISMATCH: return "slice lengths differ from the trailer";
    case KP_RPC_TRAILING: return "bytes after the frame";
    case KP_RPC_BAD_BODY: return "malformed body";
    case KP_RPC_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The sum of the slice lengths, refusing one that does not fit a size_t. */
static int sum_slices(const uint64_t *lens, size_t n, size_t *sum) {
    size_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > SIZE_MAX - s) return KP_RPC_SLICE_OVERFLOW;
        s += (size_t)lens[i];
    }
    *sum = s;
    return KP_RPC_OK;
}

int kp_rpc_frame_size(const uint8_t prefix[4], uint32_t max_frame_len, size_t *total) {
    uint32_t frame_len = get_be32(prefix);
    if (frame_len > max_frame_len) return KP_RPC_TOO_LARGE;
    if (frame_len < KP_RPC_HEADER_FIXED - KP_RPC_PREFIX_LEN) return KP_RPC_TRUNCATED;
    *total = (size_t)frame_len + KP_RPC_PREFIX_LEN;
    return KP_RPC_OK;
}

int kp_rpc_encode(const Kbroker__Rpc__Envelope *env, uint32_t max_frame_len, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t trailer;
    int rc = sum_slices(env->slice_lengths, env->n_slice_lengths, &trailer);
    if (rc) return rc;
    size_t env_len = protobuf_c_message_get_packed_size(&env->base);
    /* frame_len = 4 + env_len + trailer must fit the uint32 field and the cap. */
    if (env_len > UINT32_MAX || trailer > UINT32_MAX) return KP_RPC_TOO_LARGE;
    uint64_t frame_len = 4u + (uint64_t)env_len + trailer;
    if (frame_len > max_frame_len) return KP_RPC_TOO_LARGE;
    uint8_t *buf = malloc(KP_RPC_HEADER_FIXED + env_len);
    if (!buf) return KP_RPC_NOMEM;
    put_be32(buf, (uint32_t)frame_len);
    put_be32(buf + KP_RPC_PREFIX_LEN, (uint32_t)env_len);
    protobuf_c_message_pack(&env->base, buf + KP_RPC_HEADER_FIXED);
    *out = buf;
    *out_len = KP_RPC_HEADER_FIXED + env_len;
    return KP_RPC_OK;
}

/* The length checks that need no unpacking: sets the envelope and the
 * trailer ranges inside the frame. */
static int check_lengths(const uint8_t *frame, size_t len, uint32_t max_frame_len, size_t *env_len,
                         size_t *trailer_len) {
    if (len < KP_RPC_PREFIX_LEN) return KP_RPC_TRUNCATED;
    size_t total;
    int rc = kp_rpc_frame_size(frame, max_frame_len, &total);
    if (rc) return rc;
    if (len < total) return KP_RPC_TRUNCATED;
    if (len > total) return KP_RPC_TRAILING;
    uint32_t el = get_be32(frame + KP_RPC_PREFIX_LEN);
    if (el > total - KP_RPC_HEADER_FIXED) return KP_RPC_BAD_ENVELOPE_LEN;
    *env_len = el;
    *trailer_len = total - KP_RPC_HEADER_FIXED - el;
    return KP_RPC_OK;
}

static bool known_kind_and_method(const Kbroker__Rpc__Envelope *env) {
    return (env->kind == KBROKER__RPC__KIND__KIND_REQUEST || env->kind == KBROKER__RPC__KIND__KIND_RESPONSE) &&
           kp_rpc_body_descriptor(env->method, env->kind) != NULL;
}

/* Points f->slices at the trailer, once the sum has been checked. */
static int cut_slices(kp_rpc_frame_t *f, const uint8_t *trailer, size_t trailer_len) {
    size_t sum;
    int rc = sum_slices(f->env->slice_lengths, f->env->n_slice_lengths, &sum);
    if (rc) return rc;
    if (sum != trailer_len) return KP_RPC_TRAILER_MISMATCH;
    f->n_slices = f->env->n_slice_lengths;
    if (f->n_slices == 0) return KP_RPC_OK;
    f->slices = counted_alloc(&f->alloc, f->n_slices * sizeof(*f->slices));
    if (!f->slices) return KP_RPC_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < f->n_slices; i++) {
        f->slices[i].ptr = trailer + at;
        f->slices[i].len = (size_t)f->env->slice_lengths[i];
        at += f->slices[i].len;
    }
    return KP_RPC_OK;
}

/* Unpacks the envelope of env_len bytes at env and cuts the trailer that
 * follows it, once every length has been checked against the frame. */
static int decode_checked(const uint8_t *env, size_t env_len, size_t trailer_len, kp_rpc_frame_t **out) {
    kp_rpc_frame_t *f = calloc(1, sizeof(*f));
    if (!f) return KP_RPC_NOMEM;
    int rc;
    kp_rpc_alloc_init(&f->alloc, env_len);
    f->env = kbroker__rpc__envelope__unpack(&f->alloc.pb, env_len, env);
    if (!f->env) {
        rc = f->alloc.refused ? KP_RPC_NOMEM : KP_RPC_BAD_ENVELOPE;
    } else if (!known_kind_and_method(f->env)) {
        rc = KP_RPC_BAD_ENVELOPE;
    } else {
        rc = cut_slices(f, env + env_len, trailer_len);
    }
    if (rc) {
        kp_rpc_frame_free(f);
        return rc;
    }
    *out = f;
    return KP_RPC_OK;
}

int kp_rpc_decode(const uint8_t *frame, size_t len, uint32_t max_frame_len, kp_rpc_frame_t **out) {
    *out = NULL;
    size_t env_len, trailer_len;
    int rc = check_lengths(frame, len, max_frame_len, &env_len, &trailer_len);
    if (rc) return rc;
    return decode_checked(frame + KP_RPC_HEADER_FIXED, env_len, trailer_len, out);
}

int kp_rpc_decode_payload(const uint8_t *payload, size_t len, kp_rpc_frame_t **out) {
    *out = NULL;
    if (len < KP_RPC_HEADER_FIXED - KP_RPC_PREFIX_LEN) return KP_RPC_TRUNCATED;
    uint32_t el = get_be32(payload);
    if (el > len - (KP_RPC_HEADER_FIXED - KP_RPC_PREFIX_LEN)) return KP_RPC_BAD_ENVELOPE_LEN;
    size_t head = KP_RPC_HEADER_FIXED - KP_RPC_PREFIX_LEN;
    return decode_checked(payload + head, el, len - head - el, out);
}

void kp_rpc_frame_free(kp_rpc_frame_t *f) {
    if (!f) return;
    counted_free(&f->alloc, f->slices);
    if (f->env) kbroker__rpc__envelope__free_unpacked(f->env, &f->alloc.pb);
    free(f);
}

/* The request and response message of each method, indexed by method. */
static const ProtobufCMessageDescriptor *const bodies[][2] = {
    [KBROKER__RPC__METHOD__METHOD_HELLO] = {&kbroker__rpc__hello_request__descriptor,
                                            &kbroker__rpc__hello_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR] = {&kbroker__rpc__leader_and_isr_request__descriptor,
                                                     &kbroker__rpc__leader_and_isr_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA] = {&kbroker__rpc__update_metadata_request__descriptor,
                                                      &kbroker__rpc__update_metadata_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_STOP_REPLICA] = {&kbroker__rpc__stop_replica_request__descriptor,
                                                   &kbroker__rpc__stop_replica_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN] = {&kbroker__rpc__controlled_shutdown_request__descriptor,
                                                          &kbroker__rpc__controlled_shutdown_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH] = {&kbroker__rpc__replica_fetch_request__descriptor,
                                                    &kbroker__rpc__replica_fetch_response__descriptor},
    [KBROKER__RPC__METHOD__METHOD_OFFSET_FOR_LEADER_EPOCH] = {
        &kbroker__rpc__offset_for_leader_epoch_request__descriptor,
        &kbroker__rpc__offset_for_leader_epoch_response__descriptor},
};

const ProtobufCMessageDescriptor *kp_rpc_body_descriptor(Kbroker__Rpc__Method method, Kbroker__Rpc__Kind kind) {
    /* Enum values from the wire may be anything protobuf-c read. */
    if ((unsigned)method >= sizeof(bodies) / sizeof(bodies[0])) return NULL;
    if (kind != KBROKER__RPC__KIND__KIND_REQUEST && kind != KBROKER__RPC__KIND__KIND_RESPONSE) return NULL;
    return bodies[method][kind == KBROKER__RPC__KIND__KIND_RESPONSE];
}

int kp_rpc_body_pack(Kbroker__Rpc__Envelope *env, Kbroker__Rpc__Method method, Kbroker__Rpc__Kind kind,
                     const ProtobufCMessage *msg) {
    const ProtobufCMessageDescriptor *d = kp_rpc_body_descriptor(method, kind);
    if (!d || msg->descriptor != d) return KP_RPC_BAD_BODY;
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return KP_RPC_NOMEM;
    protobuf_c_message_pack(msg, buf);
    env->method = method;
    env->kind = kind;
    env->body.data = buf;
    env->body.len = n;
    return KP_RPC_OK;
}

void kp_rpc_body_release(Kbroker__Rpc__Envelope *env) {
    free(env->body.data);
    env->body.data = NULL;
    env->body.len = 0;
}

int kp_rpc_body_unpack(const Kbroker__Rpc__Envelope *env, kp_rpc_body_t **out) {
    *out = NULL;
    const ProtobufCMessageDescriptor *d = kp_rpc_body_descriptor(env->method, env->kind);
    if (!d) return KP_RPC_BAD_BODY;
    kp_rpc_body_t *b = calloc(1, sizeof(*b));
    if (!b) return KP_RPC_NOMEM;
    kp_rpc_alloc_init(&b->alloc, env->body.len);
    b->msg = protobuf_c_message_unpack(d, &b->alloc.pb, env->body.len, env->body.data);
    if (!b->msg) {
        int rc = b->alloc.refused ? KP_RPC_NOMEM : KP_RPC_BAD_BODY;
        free(b);
        return rc;
    }
    *out = b;
    return KP_RPC_OK;
}

void kp_rpc_body_free(kp_rpc_body_t *b) {
    if (!b) return;
    protobuf_c_message_free_unpacked(b->msg, &b->alloc.pb);
    free(b);
}
