/*
 * test_rpc.c - the inter-broker RPC frames (proto/kp_rpc.c): every body
 * message and the envelope survive encode, decode and unpack; every
 * inconsistent length, an unpackable envelope or body, and a frame above
 * the cap are refused with their own code; the unpack allowance holds.
 *
 * With KB_RPC_SEED_DIR set, every valid frame the suite builds is also
 * written there: tests/fuzz/rpc_seeds.sh makes the fuzz_rpc_frame corpus so.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kp_rpc.h"
#include "tests/unit/unit.h"

#define MAX_FRAME (1u << 20)

/* A whole frame in one buffer: the encoded header, then the trailer. */
typedef struct {
    uint8_t *bytes;
    size_t len;
} frame_buf_t;

/* Writes f to $KB_RPC_SEED_DIR (if set), named by its header and size. */
static void maybe_write_seed(const Kbroker__Rpc__Envelope *env, const frame_buf_t *f) {
    const char *dir = getenv("KB_RPC_SEED_DIR");
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/m%d-k%d-e%d-%zu", dir, (int)env->method, (int)env->kind, (int)env->error_code,
             f->len);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(f->bytes, 1, f->len, fp), f->len);
    fclose(fp);
}

static frame_buf_t build_frame(Kbroker__Rpc__Envelope *env, const uint8_t *trailer, size_t trailer_len) {
    uint8_t *head;
    size_t head_len;
    ck_assert_int_eq(kp_rpc_encode(env, MAX_FRAME, &head, &head_len), KP_RPC_OK);
    frame_buf_t f = {malloc(head_len + trailer_len + 1), head_len + trailer_len};
    ck_assert_ptr_nonnull(f.bytes);
    memcpy(f.bytes, head, head_len);
    if (trailer_len) memcpy(f.bytes + head_len, trailer, trailer_len);
    free(head);
    maybe_write_seed(env, &f);
    return f;
}

/* Packs msg as the (method, kind) body with the given slices, decodes the
 * frame, checks the envelope, unpacks the body and checks it repacks to
 * the same bytes.  Returns the body; *frame_out keeps the decoded frame
 * and *buf its bytes (the slices point into them). */
static kp_rpc_body_t *round_trip(Kbroker__Rpc__Method m, Kbroker__Rpc__Kind k, const ProtobufCMessage *msg,
                                 uint64_t *lens, size_t n, const uint8_t *trailer, size_t trailer_len,
                                 kp_rpc_frame_t **frame_out, frame_buf_t *buf) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.correlation_id = 0xfedcba98u;
    env.error_code = 0;
    env.sender_broker_id = 7;
    env.sender_broker_epoch = 0x123456789aLL;
    env.slice_lengths = lens;
    env.n_slice_lengths = n;
    ck_assert_int_eq(kp_rpc_body_pack(&env, m, k, msg), KP_RPC_OK);
    *buf = build_frame(&env, trailer, trailer_len);
    kp_rpc_frame_t *f;
    ck_assert_int_eq(kp_rpc_decode(buf->bytes, buf->len, MAX_FRAME, &f), KP_RPC_OK);
    ck_assert_uint_eq(f->env->correlation_id, 0xfedcba98u);
    ck_assert_int_eq(f->env->method, m);
    ck_assert_int_eq(f->env->kind, k);
    ck_assert_int_eq(f->env->sender_broker_id, 7);
    ck_assert_int_eq(f->env->sender_broker_epoch, 0x123456789aLL);
    ck_assert_uint_eq(f->n_slices, n);
    ck_assert_uint_eq(f->env->body.len, env.body.len);
    kp_rpc_body_t *b;
    ck_assert_int_eq(kp_rpc_body_unpack(f->env, &b), KP_RPC_OK);
    ck_assert_ptr_eq(b->msg->descriptor, msg->descriptor);
    size_t n2 = protobuf_c_message_get_packed_size(b->msg);
    ck_assert_uint_eq(n2, env.body.len);
    uint8_t *again = malloc(n2 + 1);
    protobuf_c_message_pack(b->msg, again);
    ck_assert_mem_eq(again, env.body.data, n2);
    free(again);
    kp_rpc_body_release(&env);
    *frame_out = f;
    return b;
}

static void done(kp_rpc_body_t *b, kp_rpc_frame_t *f, frame_buf_t *buf) {
    kp_rpc_body_free(b);
    kp_rpc_frame_free(f);
    free(buf->bytes);
}

/* Packs and round-trips msg with no trailer, for the messages whose
 * fields the repack check covers. */
static void plain_round_trip(Kbroker__Rpc__Method m, Kbroker__Rpc__Kind k, const ProtobufCMessage *msg) {
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b = round_trip(m, k, msg, NULL, 0, NULL, 0, &f, &buf);
    done(b, f, &buf);
}

#define REQ KBROKER__RPC__KIND__KIND_REQUEST
#define RESP KBROKER__RPC__KIND__KIND_RESPONSE

START_TEST(hello_round_trip) {
    Kbroker__Rpc__HelloRequest h = KBROKER__RPC__HELLO_REQUEST__INIT;
    h.protocol_version = KP_RPC_PROTOCOL_VERSION;
    h.broker_id = 3;
    h.broker_epoch = 4294967296LL;
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b = round_trip(KBROKER__RPC__METHOD__METHOD_HELLO, REQ, &h.base, NULL, 0, NULL, 0, &f, &buf);
    Kbroker__Rpc__HelloRequest *got = (Kbroker__Rpc__HelloRequest *)b->msg;
    ck_assert_uint_eq(got->protocol_version, KP_RPC_PROTOCOL_VERSION);
    ck_assert_int_eq(got->broker_id, 3);
    ck_assert_int_eq(got->broker_epoch, 4294967296LL);
    done(b, f, &buf);
    Kbroker__Rpc__HelloResponse r = KBROKER__RPC__HELLO_RESPONSE__INIT;
    r.protocol_version = 1;
    r.broker_id = 1;
    r.broker_epoch = 99;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_HELLO, RESP, &r.base);
}
END_TEST

static int32_t isr[] = {1, 2, 3}, replicas[] = {1, 2, 3}, offline[] = {3};

static void fill_state(Kbroker__Rpc__PartitionState *ps, const char *topic, int32_t p) {
    kbroker__rpc__partition_state__init(ps);
    ps->topic_name = (char *)topic;
    ps->partition_index = p;
    ps->controller_epoch = 5;
    ps->leader = 1;
    ps->leader_epoch = 12;
    ps->isr = isr;
    ps->n_isr = 3;
    ps->zk_version = 40;
    ps->replicas = replicas;
    ps->n_replicas = 3;
    ps->is_new = true;
}

START_TEST(leader_and_isr_round_trip) {
    Kbroker__Rpc__PartitionState s0, s1, *states[] = {&s0, &s1};
    fill_state(&s0, "orders", 0);
    fill_state(&s1, "orders", 1);
    s1.leader = -1;
    Kbroker__Rpc__LiveLeader l = KBROKER__RPC__LIVE_LEADER__INIT, *leaders[] = {&l};
    l.broker_id = 1;
    l.host_name = "10.0.0.1";
    l.port = 9190;
    Kbroker__Rpc__LeaderAndIsrRequest q = KBROKER__RPC__LEADER_AND_ISR_REQUEST__INIT;
    q.controller_id = 2;
    q.controller_epoch = 5;
    q.broker_epoch = 77;
    q.partition_states = states;
    q.n_partition_states = 2;
    q.live_leaders = leaders;
    q.n_live_leaders = 1;
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b = round_trip(KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, REQ, &q.base, NULL, 0, NULL, 0, &f, &buf);
    Kbroker__Rpc__LeaderAndIsrRequest *got = (Kbroker__Rpc__LeaderAndIsrRequest *)b->msg;
    ck_assert_int_eq(got->controller_epoch, 5);
    ck_assert_int_eq(got->broker_epoch, 77);
    ck_assert_uint_eq(got->n_partition_states, 2);
    ck_assert_str_eq(got->partition_states[1]->topic_name, "orders");
    ck_assert_int_eq(got->partition_states[1]->leader, -1);
    ck_assert_int_eq(got->partition_states[0]->zk_version, 40);
    ck_assert_uint_eq(got->partition_states[0]->n_isr, 3);
    ck_assert(got->partition_states[0]->is_new);
    ck_assert_str_eq(got->live_leaders[0]->host_name, "10.0.0.1");
    done(b, f, &buf);

    Kbroker__Rpc__PartitionError e = KBROKER__RPC__PARTITION_ERROR__INIT, *errs[] = {&e};
    e.topic_name = "orders";
    e.partition_index = 1;
    e.error_code = 74;
    Kbroker__Rpc__LeaderAndIsrResponse r = KBROKER__RPC__LEADER_AND_ISR_RESPONSE__INIT;
    r.partition_errors = errs;
    r.n_partition_errors = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR, RESP, &r.base);
}
END_TEST

START_TEST(update_metadata_round_trip) {
    Kbroker__Rpc__PartitionState s0, *states[] = {&s0};
    fill_state(&s0, "t", 0);
    s0.is_new = false;
    s0.offline_replicas = offline;
    s0.n_offline_replicas = 1;
    Kbroker__Rpc__Endpoint ep = KBROKER__RPC__ENDPOINT__INIT, *eps[] = {&ep};
    ep.port = 9092;
    ep.host = "b1";
    ep.listener = "PLAINTEXT";
    ep.security_protocol = 0;
    Kbroker__Rpc__LiveBroker lb = KBROKER__RPC__LIVE_BROKER__INIT, *lbs[] = {&lb};
    lb.id = 1;
    lb.endpoints = eps;
    lb.n_endpoints = 1;
    lb.rack = "r1";
    Kbroker__Rpc__UpdateMetadataRequest q = KBROKER__RPC__UPDATE_METADATA_REQUEST__INIT;
    q.controller_id = 2;
    q.controller_epoch = 5;
    q.broker_epoch = 77;
    q.partition_states = states;
    q.n_partition_states = 1;
    q.live_brokers = lbs;
    q.n_live_brokers = 1;
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b =
        round_trip(KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA, REQ, &q.base, NULL, 0, NULL, 0, &f, &buf);
    Kbroker__Rpc__UpdateMetadataRequest *got = (Kbroker__Rpc__UpdateMetadataRequest *)b->msg;
    ck_assert_int_eq(got->partition_states[0]->offline_replicas[0], 3);
    ck_assert_str_eq(got->live_brokers[0]->endpoints[0]->listener, "PLAINTEXT");
    ck_assert_int_eq(got->live_brokers[0]->endpoints[0]->port, 9092);
    ck_assert_str_eq(got->live_brokers[0]->rack, "r1");
    done(b, f, &buf);
    Kbroker__Rpc__UpdateMetadataResponse r = KBROKER__RPC__UPDATE_METADATA_RESPONSE__INIT;
    r.error_code = 11;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_UPDATE_METADATA, RESP, &r.base);
}
END_TEST

START_TEST(stop_replica_and_shutdown_round_trip) {
    Kbroker__Rpc__StopReplicaPartition p = KBROKER__RPC__STOP_REPLICA_PARTITION__INIT, *ps[] = {&p};
    p.topic_name = "gone";
    p.partition_index = 4;
    p.leader_epoch = -2;
    p.delete_partition = true;
    Kbroker__Rpc__StopReplicaRequest q = KBROKER__RPC__STOP_REPLICA_REQUEST__INIT;
    q.controller_id = 1;
    q.controller_epoch = 9;
    q.broker_epoch = 3;
    q.partitions = ps;
    q.n_partitions = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, REQ, &q.base);
    Kbroker__Rpc__PartitionError e = KBROKER__RPC__PARTITION_ERROR__INIT, *errs[] = {&e};
    e.topic_name = "gone";
    e.error_code = 74;
    Kbroker__Rpc__StopReplicaResponse r = KBROKER__RPC__STOP_REPLICA_RESPONSE__INIT;
    r.partition_errors = errs;
    r.n_partition_errors = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, RESP, &r.base);

    Kbroker__Rpc__ControlledShutdownRequest cq = KBROKER__RPC__CONTROLLED_SHUTDOWN_REQUEST__INIT;
    cq.broker_id = 2;
    cq.broker_epoch = 55;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN, REQ, &cq.base);
    Kbroker__Rpc__TopicPartition tp = KBROKER__RPC__TOPIC_PARTITION__INIT, *tps[] = {&tp};
    tp.topic_name = "orders";
    tp.partition_index = 2;
    Kbroker__Rpc__ControlledShutdownResponse cr = KBROKER__RPC__CONTROLLED_SHUTDOWN_RESPONSE__INIT;
    cr.remaining_partitions = tps;
    cr.n_remaining_partitions = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_CONTROLLED_SHUTDOWN, RESP, &cr.base);
}
END_TEST

START_TEST(replica_fetch_round_trip_with_slices) {
    Kbroker__Rpc__ReplicaFetchPartition p = KBROKER__RPC__REPLICA_FETCH_PARTITION__INIT, *ps[] = {&p};
    p.topic_name = "orders";
    p.fetch_offset = 1000;
    p.current_leader_epoch = 12;
    p.log_start_offset = 10;
    p.partition_max_bytes = 1 << 20;
    Kbroker__Rpc__ReplicaFetchRequest q = KBROKER__RPC__REPLICA_FETCH_REQUEST__INIT;
    q.replica_id = 2;
    q.max_wait_ms = 500;
    q.min_bytes = 1;
    q.max_bytes = 10 << 20;
    q.partitions = ps;
    q.n_partitions = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, REQ, &q.base);

    /* Three partitions: records, none, records; the slices follow in order. */
    Kbroker__Rpc__ReplicaFetchPartitionResponse r[3], *rs[] = {&r[0], &r[1], &r[2]};
    for (int i = 0; i < 3; i++) {
        kbroker__rpc__replica_fetch_partition_response__init(&r[i]);
        r[i].topic_name = "orders";
        r[i].partition_index = i;
        r[i].high_watermark = 2000 + i;
        r[i].leader_epoch = 12;
    }
    r[1].error_code = 1;
    Kbroker__Rpc__ReplicaFetchResponse resp = KBROKER__RPC__REPLICA_FETCH_RESPONSE__INIT;
    resp.responses = rs;
    resp.n_responses = 3;
    const uint8_t trailer[] = "AAAAAcc";
    uint64_t lens[] = {5, 0, 2};
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b =
        round_trip(KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, RESP, &resp.base, lens, 3, trailer, 7, &f, &buf);
    ck_assert_uint_eq(f->slices[0].len, 5);
    ck_assert_mem_eq(f->slices[0].ptr, "AAAAA", 5);
    ck_assert_uint_eq(f->slices[1].len, 0);
    ck_assert_uint_eq(f->slices[2].len, 2);
    ck_assert_mem_eq(f->slices[2].ptr, "cc", 2);
    ck_assert_ptr_eq(f->slices[2].ptr + 2, buf.bytes + buf.len);
    Kbroker__Rpc__ReplicaFetchResponse *got = (Kbroker__Rpc__ReplicaFetchResponse *)b->msg;
    ck_assert_int_eq(got->responses[2]->high_watermark, 2002);
    ck_assert_int_eq(got->responses[1]->error_code, 1);
    done(b, f, &buf);
}
END_TEST

START_TEST(offset_for_leader_epoch_round_trip) {
    Kbroker__Rpc__OffsetForLeaderEpochPartition p = KBROKER__RPC__OFFSET_FOR_LEADER_EPOCH_PARTITION__INIT,
                                                *ps[] = {&p};
    p.topic_name = "orders";
    p.partition_index = 3;
    p.current_leader_epoch = 12;
    p.leader_epoch = 11;
    Kbroker__Rpc__OffsetForLeaderEpochRequest q = KBROKER__RPC__OFFSET_FOR_LEADER_EPOCH_REQUEST__INIT;
    q.replica_id = 2;
    q.partitions = ps;
    q.n_partitions = 1;
    plain_round_trip(KBROKER__RPC__METHOD__METHOD_OFFSET_FOR_LEADER_EPOCH, REQ, &q.base);
    Kbroker__Rpc__EpochEndOffset e = KBROKER__RPC__EPOCH_END_OFFSET__INIT, *es[] = {&e};
    e.topic_name = "orders";
    e.partition_index = 3;
    e.leader_epoch = 11;
    e.end_offset = 1234;
    Kbroker__Rpc__OffsetForLeaderEpochResponse r = KBROKER__RPC__OFFSET_FOR_LEADER_EPOCH_RESPONSE__INIT;
    r.partitions = es;
    r.n_partitions = 1;
    kp_rpc_frame_t *f;
    frame_buf_t buf;
    kp_rpc_body_t *b =
        round_trip(KBROKER__RPC__METHOD__METHOD_OFFSET_FOR_LEADER_EPOCH, RESP, &r.base, NULL, 0, NULL, 0, &f, &buf);
    ck_assert_int_eq(((Kbroker__Rpc__OffsetForLeaderEpochResponse *)b->msg)->partitions[0]->end_offset, 1234);
    done(b, f, &buf);
}
END_TEST

/* An envelope with a whole-call error and no body: the refusal shape. */
START_TEST(envelope_error_without_body) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.kind = RESP;
    env.method = KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR;
    env.correlation_id = 1;
    env.error_code = 11;
    frame_buf_t buf = build_frame(&env, NULL, 0);
    kp_rpc_frame_t *f;
    ck_assert_int_eq(kp_rpc_decode(buf.bytes, buf.len, MAX_FRAME, &f), KP_RPC_OK);
    ck_assert_int_eq(f->env->error_code, 11);
    ck_assert_uint_eq(f->env->body.len, 0);
    ck_assert_uint_eq(f->n_slices, 0);
    kp_rpc_frame_free(f);
    free(buf.bytes);
}
END_TEST

/* A valid three-slice frame for the refusal tests to damage. */
static frame_buf_t good_frame(void) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.kind = RESP;
    env.method = KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH;
    uint64_t lens[] = {3, 4};
    env.slice_lengths = lens;
    env.n_slice_lengths = 2;
    return build_frame(&env, (const uint8_t *)"abcdefg", 7);
}

static int decode_rc(const uint8_t *p, size_t n, uint32_t max) {
    kp_rpc_frame_t *f = (kp_rpc_frame_t *)1;
    int rc = kp_rpc_decode(p, n, max, &f);
    if (rc == KP_RPC_OK) kp_rpc_frame_free(f);
    else ck_assert_ptr_null(f);
    return rc;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

START_TEST(refuses_truncated) {
    frame_buf_t g = good_frame();
    ck_assert_int_eq(decode_rc(g.bytes, g.len, MAX_FRAME), KP_RPC_OK);
    for (size_t n = 0; n < g.len; n++) ck_assert_int_eq(decode_rc(g.bytes, n, MAX_FRAME), KP_RPC_TRUNCATED);
    /* A frame_len too small to hold the envelope length. */
    uint8_t tiny[6] = {0, 0, 0, 2, 0, 0};
    ck_assert_int_eq(decode_rc(tiny, sizeof(tiny), MAX_FRAME), KP_RPC_TRUNCATED);
    /* More bytes than frame_len announces. */
    g.bytes[g.len] = 0;
    ck_assert_int_eq(decode_rc(g.bytes, g.len + 1, MAX_FRAME), KP_RPC_TRAILING);
    free(g.bytes);
}
END_TEST

START_TEST(refuses_envelope_length_beyond_frame) {
    frame_buf_t g = good_frame();
    put32(g.bytes + 4, (uint32_t)(g.len - KP_RPC_HEADER_FIXED + 1));
    ck_assert_int_eq(decode_rc(g.bytes, g.len, MAX_FRAME), KP_RPC_BAD_ENVELOPE_LEN);
    put32(g.bytes + 4, UINT32_MAX);
    ck_assert_int_eq(decode_rc(g.bytes, g.len, MAX_FRAME), KP_RPC_BAD_ENVELOPE_LEN);
    free(g.bytes);
}
END_TEST

START_TEST(refuses_slice_sum_mismatch) {
    frame_buf_t g = good_frame();
    /* One trailer byte fewer than the slices announce: shrink frame_len. */
    put32(g.bytes, (uint32_t)(g.len - 5));
    ck_assert_int_eq(decode_rc(g.bytes, g.len - 1, MAX_FRAME), KP_RPC_TRAILER_MISMATCH);
    /* One more trailer byte than they announce. */
    uint8_t *longer = malloc(g.len + 1);
    memcpy(longer, g.bytes, g.len);
    longer[g.len] = 'h';
    put32(longer, (uint32_t)(g.len - 3));
    ck_assert_int_eq(decode_rc(longer, g.len + 1, MAX_FRAME), KP_RPC_TRAILER_MISMATCH);
    free(longer);
    free(g.bytes);
}
END_TEST

START_TEST(refuses_slice_overflow) {
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.kind = RESP;
    env.method = KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH;
    uint64_t lens[] = {UINT64_MAX, 2};
    env.slice_lengths = lens;
    env.n_slice_lengths = 2;
    uint8_t *head;
    size_t head_len;
    ck_assert_int_eq(kp_rpc_encode(&env, MAX_FRAME, &head, &head_len), KP_RPC_SLICE_OVERFLOW);
    ck_assert_ptr_null(head);
    /* The same envelope framed by hand, with a 2-byte trailer (the sum mod 2^64). */
    size_t el = protobuf_c_message_get_packed_size(&env.base);
    uint8_t *frame = malloc(KP_RPC_HEADER_FIXED + el + 2);
    put32(frame, (uint32_t)(4 + el + 1));
    put32(frame + 4, (uint32_t)el);
    protobuf_c_message_pack(&env.base, frame + KP_RPC_HEADER_FIXED);
    frame[KP_RPC_HEADER_FIXED + el] = 'x';
    ck_assert_int_eq(decode_rc(frame, KP_RPC_HEADER_FIXED + el + 1, MAX_FRAME), KP_RPC_SLICE_OVERFLOW);
    free(frame);
}
END_TEST

START_TEST(refuses_oversized) {
    frame_buf_t g = good_frame();
    uint32_t frame_len = (uint32_t)(g.len - 4);
    ck_assert_int_eq(decode_rc(g.bytes, g.len, frame_len), KP_RPC_OK);
    ck_assert_int_eq(decode_rc(g.bytes, g.len, frame_len - 1), KP_RPC_TOO_LARGE);
    /* Refused from the prefix alone, before the rest has arrived. */
    size_t total = 0;
    ck_assert_int_eq(kp_rpc_frame_size(g.bytes, frame_len - 1, &total), KP_RPC_TOO_LARGE);
    ck_assert_int_eq(kp_rpc_frame_size(g.bytes, frame_len, &total), KP_RPC_OK);
    ck_assert_uint_eq(total, g.len);
    /* The encoder holds the same cap. */
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    uint64_t lens[] = {100};
    env.slice_lengths = lens;
    env.n_slice_lengths = 1;
    uint8_t *head;
    size_t head_len;
    ck_assert_int_eq(kp_rpc_encode(&env, 100, &head, &head_len), KP_RPC_TOO_LARGE);
    free(g.bytes);
}
END_TEST

START_TEST(refuses_garbage_envelope) {
    /* A field tag 0x0f (field 1, wire type 7: invalid) then junk. */
    uint8_t frame[] = {0, 0, 0, 7, 0, 0, 0, 3, 0x0f, 0xff, 0xff};
    ck_assert_int_eq(decode_rc(frame, sizeof(frame), MAX_FRAME), KP_RPC_BAD_ENVELOPE);
    /* A length-delimited body running past the envelope. */
    uint8_t past[] = {0, 0, 0, 7, 0, 0, 0, 3, 0x3a, 0x05, 'a'};
    ck_assert_int_eq(decode_rc(past, sizeof(past), MAX_FRAME), KP_RPC_BAD_ENVELOPE);
    /* Well formed but naming a method that does not exist (method = 99). */
    uint8_t method[] = {0, 0, 0, 6, 0, 0, 0, 2, 0x18, 99};
    ck_assert_int_eq(decode_rc(method, sizeof(method), MAX_FRAME), KP_RPC_BAD_ENVELOPE);
    /* A body that is not its method's message. */
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.method = KBROKER__RPC__METHOD__METHOD_HELLO;
    uint8_t junk[] = {0x0f, 0x01};
    env.body.data = junk;
    env.body.len = sizeof(junk);
    kp_rpc_body_t *b = (kp_rpc_body_t *)1;
    ck_assert_int_eq(kp_rpc_body_unpack(&env, &b), KP_RPC_BAD_BODY);
    ck_assert_ptr_null(b);
    /* Packing a message as another method's body. */
    Kbroker__Rpc__HelloRequest h = KBROKER__RPC__HELLO_REQUEST__INIT;
    ck_assert_int_eq(kp_rpc_body_pack(&env, KBROKER__RPC__METHOD__METHOD_STOP_REPLICA, REQ, &h.base), KP_RPC_BAD_BODY);
}
END_TEST

/* The allowance: the costliest shape per input byte protobuf-c meets here
 * (empty PartitionState submessages, 2 bytes each) stays inside it, and a
 * tiny allowance makes the unpack refuse cleanly with KP_RPC_NOMEM. */
START_TEST(unpack_allowance_bounds_allocation) {
    enum { N = 4096 };
    uint8_t *body = malloc(2 * N);
    for (int i = 0; i < N; i++) {
        body[2 * i] = 0x22; /* field 4 (partition_states), length-delimited */
        body[2 * i + 1] = 0;
    }
    Kbroker__Rpc__Envelope env = KBROKER__RPC__ENVELOPE__INIT;
    env.method = KBROKER__RPC__METHOD__METHOD_LEADER_AND_ISR;
    env.body.data = body;
    env.body.len = 2 * N;
    kp_rpc_body_t *b;
    ck_assert_int_eq(kp_rpc_body_unpack(&env, &b), KP_RPC_OK);
    ck_assert_uint_eq(((Kbroker__Rpc__LeaderAndIsrRequest *)b->msg)->n_partition_states, N);
    ck_assert_uint_le(b->alloc.peak, b->alloc.limit);
    ck_assert_uint_ge(b->alloc.peak, (size_t)N * sizeof(Kbroker__Rpc__PartitionState));
    kp_rpc_body_free(b);

    kp_rpc_alloc_t a;
    kp_rpc_alloc_init(&a, 0);
    ck_assert_uint_eq(a.limit, KP_RPC_ALLOC_BASE);
    ProtobufCMessage *m = protobuf_c_message_unpack(&kbroker__rpc__leader_and_isr_request__descriptor, &a.pb,
                                                    2 * N, body);
    ck_assert_ptr_null(m);
    ck_assert(a.refused);
    ck_assert_uint_eq(a.live, 0);
    free(body);
}
END_TEST

Suite *rpc_suite(void) {
    Suite *s = suite_create("rpc");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, hello_round_trip);
    tcase_add_test(tc, leader_and_isr_round_trip);
    tcase_add_test(tc, update_metadata_round_trip);
    tcase_add_test(tc, stop_replica_and_shutdown_round_trip);
    tcase_add_test(tc, replica_fetch_round_trip_with_slices);
    tcase_add_test(tc, offset_for_leader_epoch_round_trip);
    tcase_add_test(tc, envelope_error_without_body);
    tcase_add_test(tc, refuses_truncated);
    tcase_add_test(tc, refuses_envelope_length_beyond_frame);
    tcase_add_test(tc, refuses_slice_sum_mismatch);
    tcase_add_test(tc, refuses_slice_overflow);
    tcase_add_test(tc, refuses_oversized);
    tcase_add_test(tc, refuses_garbage_envelope);
    tcase_add_test(tc, unpack_allowance_bounds_allocation);
    suite_add_tcase(s, tc);
    return s;
}
