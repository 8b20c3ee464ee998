/*
 * kp_group_records.h - the keys and values the group coordinator keeps in
 * __consumer_offsets (group-protocol.md section 7), and the group id hash
 * that picks a group's partition of that topic (section 3.1).
 *
 * A record's key tells its type by its int16 schema version: 0 or 1 is an
 * offset commit (group, topic, partition), 2 is a group's metadata (the
 * group id alone).  Values carry their own version: OffsetCommitValue 0-3,
 * GroupMetadataValue 0-3.  Every decoder reads all versions Kafka 2.x
 * wrote; the encoders write what Kafka 2.8 writes, so that logs written by
 * Kafka and by kbroker compact against each other and Kafka's tools read
 * ours: offset keys version 1, group keys version 2, OffsetCommitValue v3
 * (v1 when the commit carried an expire timestamp), GroupMetadataValue v3.
 *
 * Decoders borrow every string and blob from the reader's buffer; only the
 * member array of a GroupMetadataValue is allocated, after its count has
 * been checked against the bytes left.  All encodings are the classic
 * (non-flexible) ones.  Pure byte work, no I/O.
 */
#ifndef KP_GROUP_RECORDS_H
#define KP_GROUP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/kp_buf.h"

/* The key versions Kafka writes (0 is an older offset key, same layout). */
#define KP_OFFSET_COMMIT_KEY_VERSION 1
#define KP_GROUP_METADATA_KEY_VERSION 2

#define KP_OFFSET_COMMIT_VALUE_VERSION_MAX 3
#define KP_GROUP_METADATA_VALUE_VERSION_MAX 3

/* No leader epoch / no expire timestamp / unknown state time. */
#define KP_GROUP_RECORD_NONE (-1)

/* What a decoded key is. */
typedef enum {
    KP_GROUP_KEY_UNKNOWN = 0,        /* a key version this reader does not know */
    KP_GROUP_KEY_OFFSET_COMMIT = 1,  /* OffsetCommitKey, key version 0 or 1 */
    KP_GROUP_KEY_GROUP_METADATA = 2, /* GroupMetadataKey, key version 2 */
} kp_group_key_type_t;

typedef struct {
    kp_group_key_type_t type;
    int16_t version;
    kp_str_t group;
    kp_str_t topic;     /* offset keys only; null otherwise */
    int32_t partition;  /* offset keys only; -1 otherwise */
} kp_group_key_t;

/* kp_group_key_decode's answer for a key version other than 0, 1 and 2
 * (Kafka 3.7+ writes versions 3-8 for KIP-848 groups): k->version holds
 * it and nothing after the version has been read.  Not a KP_BUF_* error:
 * the key may be well-formed, just not ours to read. */
#define KP_GROUP_KEY_UNKNOWN_VERSION 1

typedef struct {
    int16_t version;           /* 0..3 as decoded; ignored by the encoder */
    int64_t offset;
    int32_t leader_epoch;      /* v3; -1 = none (and in every other version) */
    kp_str_t metadata;         /* non-null */
    int64_t commit_timestamp;
    int64_t expire_timestamp;  /* v1; -1 = none (and in every other version) */
} kp_offset_commit_value_t;

typedef struct {
    kp_str_t member_id;
    kp_str_t group_instance_id; /* v3, nullable; null before v3 */
    kp_str_t client_id;
    kp_str_t client_host;
    int32_t rebalance_timeout;  /* v1+; a v0 record gives session_timeout */
    int32_t session_timeout;
    kp_bytes_t subscription;    /* the member's metadata for the chosen protocol */
    kp_bytes_t assignment;
} kp_group_metadata_member_t;

typedef struct {
    int16_t version;                 /* 0..3 as decoded; ignored by the encoder */
    kp_str_t protocol_type;          /* "" when the group has none */
    int32_t generation;
    kp_str_t protocol;               /* nullable: null for an empty group */
    kp_str_t leader;                 /* nullable: null for an empty group */
    int64_t current_state_timestamp; /* v2+; -1 = unknown (and before v2) */
    int32_t n_members;
    /* Decoded: owned, released by kp_group_metadata_value_clear().  Encoded: the
     * caller's array, only read. */
    kp_group_metadata_member_t *members;
} kp_group_metadata_value_t;

/*
 * Decodes a record key that must fill r exactly.  Returns 0 with k->type
 * KP_GROUP_KEY_OFFSET_COMMIT or KP_GROUP_KEY_GROUP_METADATA,
 * KP_GROUP_KEY_UNKNOWN_VERSION (k->type KP_GROUP_KEY_UNKNOWN), or a
 * KP_BUF_* error (a key too short for its version, a null or malformed
 * string, trailing bytes).
 */
int kp_group_key_decode(kp_reader_t *r, kp_group_key_t *k);

/* Encode an OffsetCommitKey (version 1) / a GroupMetadataKey (version 2).
 * A null slice is written as "" (keys have no nullable field).  Return
 * w->err. */
int kp_offset_commit_key_encode(kp_writer_t *w, kp_str_t group, kp_str_t topic, int32_t partition);
int kp_group_metadata_key_encode(kp_writer_t *w, kp_str_t group);

/* Decodes an OffsetCommitValue of version 0..3 (its first two bytes) that
 * must fill r exactly; fields a version lacks get -1.  Returns 0 or a
 * KP_BUF_* error (KP_BUF_INVALID for any other version). */
int kp_offset_commit_value_decode(kp_reader_t *r, kp_offset_commit_value_t *v);

/* The version kp_offset_commit_value_encode writes for v: 1 when it carries an
 * expire timestamp (an OffsetCommit v2-4 with a retention time), else 3. */
int16_t kp_offset_commit_value_version(const kp_offset_commit_value_t *v);

/* Encodes v in the version above (v1 has no leader epoch: it is dropped,
 * as Kafka drops it).  A null metadata is written as "".  Returns w->err. */
int kp_offset_commit_value_encode(kp_writer_t *w, const kp_offset_commit_value_t *v);

/* Decodes a GroupMetadataValue of version 0..3 that must fill r exactly.
 * The member array is allocated after its count has been checked against
 * the bytes left; release it with kp_group_metadata_value_clear() whatever the
 * result.  Returns 0 or a KP_BUF_* error (KP_BUF_INVALID for any other
 * version, a negative member count, a null non-nullable string). */
int kp_group_metadata_value_decode(kp_reader_t *r, kp_group_metadata_value_t *v);
void kp_group_metadata_value_clear(kp_group_metadata_value_t *v);

/* Encodes v as a GroupMetadataValue v3.  Null protocol_type, member ids,
 * client ids and hosts are written as "", null subscriptions and
 * assignments as empty; protocol, leader and group_instance_id keep their
 * nulls.  Returns w->err. */
int kp_group_metadata_value_encode(kp_writer_t *w, const kp_group_metadata_value_t *v);

/*
 * Java's String.hashCode() of the group id given as len bytes of UTF-8:
 * the bytes are decoded to UTF-16 code units as Java's
 * new String(bytes, UTF_8) does (code points above U+FFFF become surrogate
 * pairs; each malformed sequence becomes one U+FFFD, the sequences cut as
 * OpenJDK's decoder cuts them), then h = 31 * h + unit with 32-bit
 * wrap-around.  Kafka decodes group ids exactly so on the wire.
 */
int32_t kp_group_hash(const char *group, size_t len);

/* The __consumer_offsets partition of a group among n_partitions (> 0):
 * Kafka's Utils.abs(hash) % n, where abs(INT32_MIN) is 0.  Returns -1 when
 * n_partitions <= 0. */
int32_t kp_group_partition(const char *group, size_t len, int32_t n_partitions);

#endif
