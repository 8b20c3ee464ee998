/*
 * kp_consumer_protocol.h - the embedded consumer protocol (protocol type
 * "consumer", group-protocol.md 5.1-5.4): the subscription a member puts in
 * JoinGroup's protocol metadata and the assignment the leader hands out in
 * SyncGroup.  The coordinator stores both as opaque bytes; it decodes them
 * only to learn which topics a group subscribes to (offset expiry,
 * OffsetDelete), and admin tools decode assignments to show who owns a
 * partition.
 *
 * Every version starts with an int16 version and then the v0 fields, and
 * new versions only append, so the decoders read that prefix and ignore
 * whatever follows (user data, owned partitions, generation, rack), the way
 * Kafka reads a version newer than it knows.  Decoded structs own their
 * arrays and borrow the names from the bytes they were read from.
 */
#ifndef KP_CONSUMER_PROTOCOL_H
#define KP_CONSUMER_PROTOCOL_H

#include <stdint.h>

#include "proto/kp_buf.h"

/* A subscription: its version and the topic names (the v0 prefix). */
typedef struct {
    int16_t version;
    int32_t n_topics;
    kp_str_t *topics; /* owned: kp_consumer_subscription_clear() */
} kp_consumer_subscription_t;

typedef struct {
    kp_str_t topic;
    int32_t n_partitions;
    int32_t *partitions; /* owned when decoded */
} kp_consumer_assignment_topic_t;

typedef struct {
    int16_t version;
    int32_t n_assigned_partitions;
    kp_consumer_assignment_topic_t *assigned_partitions; /* owned when decoded */
    /* Written by the encoder (nullable); the decoder does not read it and
     * leaves it null. */
    kp_bytes_t user_data;
} kp_consumer_assignment_t;

/* Decodes a subscription's version and topics from b; later fields are
 * ignored.  A negative version or a short or malformed prefix is an error.
 * Release sub with kp_consumer_subscription_clear() whatever the result.
 * Returns 0 or a KP_BUF_* error. */
int kp_consumer_subscription_decode(kp_bytes_t b, kp_consumer_subscription_t *sub);
void kp_consumer_subscription_clear(kp_consumer_subscription_t *sub);

/* Decodes an assignment's version and assigned partitions from b; the user
 * data and anything after it are ignored.  Empty (or null) bytes, what
 * Kafka hands a member the leader left out, are version 0 with nothing
 * assigned.  Release a with kp_consumer_assignment_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error. */
int kp_consumer_assignment_decode(kp_bytes_t b, kp_consumer_assignment_t *a);
void kp_consumer_assignment_clear(kp_consumer_assignment_t *a);

/* Encodes an assignment in the v0 layout under a->version (every version
 * so far has that layout), user data included.  Returns w->err, or
 * KP_BUF_INVALID for a negative version. */
int kp_consumer_assignment_encode(kp_writer_t *w, const kp_consumer_assignment_t *a);

#endif
