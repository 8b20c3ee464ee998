/*
 * kc_json.h - encoders and decoders for every znode body kbroker reads or
 * writes, byte-compatible with what Apache Kafka 2.6 writes
 * (../shared/specs/zk-and-replication.md section 1).
 *
 * Encoders return compact JSON in a malloc'd NUL-terminated string (the
 * caller frees it), or NULL on allocation failure.  Decoders take the raw
 * znode bytes (not NUL-terminated), ignore unknown keys, tolerate missing
 * optional keys, fill *out (which the caller clears with the matching
 * kc_*_clear()), and return 0, or -1 on malformed input with *out cleared.
 */
#ifndef KC_JSON_H
#define KC_JSON_H

#include "coord/kc_model.h"

/* /brokers/ids/N, registration version 4: host/port of the first PLAINTEXT
 * endpoint (null/-1 if none), jmx_port, timestamp as a string, endpoints,
 * listener_security_protocol_map, rack only when set.  Decoding accepts v1-v5. */
char *kc_json_broker_encode(const kc_broker_info_t *b);
int kc_json_broker_decode(const char *data, size_t len, int32_t id, kc_broker_info_t *out);

/* /brokers/topics/T, version 2, with the adding_replicas and removing_replicas
 * of partitions being reassigned (an empty object when none).  Decoding
 * accepts v1-v3, checks partitions 0..n-1 are all present with no duplicate
 * broker in a list, that each adding/removing list names an existing
 * partition and distinct brokers among its replicas, the two lists
 * disjoint (missing lists are empty), and leaves out->name NULL (the name
 * is the znode's). */
char *kc_json_topic_encode(const kc_topic_t *t);
int kc_json_topic_decode(const char *data, size_t len, kc_topic_t *out);

/* The topic znode `data` (as read) with partitions first .. first + n - 1
 * added (replica lists from added[0..n-1]) and nothing else changed:
 * adding_replicas, removing_replicas, topic_id and unknown keys are kept; a
 * version below 2 becomes 2, as Kafka 2.6 rewrites it (with empty
 * adding/removing objects when missing).  NULL when data is not a topic
 * znode whose "partitions" object holds exactly `first` entries, or when
 * out of memory. */
char *kc_json_topic_add_partitions(const char *data, size_t len, const kc_partition_t *added, int n, int first);

/* True when the topic znode records a reassignment in progress: some
 * partition listed with brokers in adding_replicas or removing_replicas
 * (Kafka's isBeingReassigned).  False for malformed data. */
bool kc_json_topic_reassigning(const char *data, size_t len);

/* True when /admin/reassign_partitions ({"version":1,"partitions":[{"topic":
 * T,"partition":P,"replicas":[...]},...]}) names `topic` in some entry;
 * false when it does not or is malformed. */
bool kc_json_reassignment_names_topic(const char *data, size_t len, const char *topic);

/* /brokers/topics/T/partitions/P/state, version 1.  zk_version is not part of
 * the JSON: the decoder leaves it 0 and the caller sets it from the Stat. */
char *kc_json_state_encode(const kc_partition_state_t *s);
int kc_json_state_decode(const char *data, size_t len, kc_partition_state_t *out);

/* /controller: {"version":1,"brokerid":N,"timestamp":"ms"}. */
char *kc_json_controller_encode(int32_t broker_id, int64_t timestamp_ms);
int kc_json_controller_decode(const char *data, size_t len, int32_t *broker_id);

/* /cluster/id: {"version":"1","id":"..."}.  out must hold at least 64 bytes. */
char *kc_json_cluster_id_encode(const char *id);
int kc_json_cluster_id_decode(const char *data, size_t len, char *out, size_t outlen);

/* /config/topics/T and /config/brokers/N: {"version":1,"config":{k:v,...}}
 * with every value a string.  Decoding returns a malloc'd array in *out. */
char *kc_json_config_encode(const kc_config_entry_t *entries, int n);
int kc_json_config_decode(const char *data, size_t len, kc_config_entry_t **out, int *n_out);

/* /config/changes/config_change_N: {"version":2,"entity_path":"topics/T"}. */
char *kc_json_config_change_encode(const char *entity_path);

/* A new cluster id: URL-safe base64 without padding of 16 random bytes
 * (22 characters) written NUL-terminated into out[23]. */
void kc_new_cluster_id(char out[23]);

/* /latest_producer_id_block: the last block of producer ids a broker
 * reserved, {"version":1,"broker":N,"block_start":"S","block_end":"E"} with
 * both ids as decimal strings (numbers are accepted when decoding).
 * Decoding requires 0 <= block_start <= block_end. */
typedef struct kc_producer_id_block {
    int32_t broker;
    int64_t block_start;
    int64_t block_end;
} kc_producer_id_block_t;

char *kc_json_producer_id_block_encode(const kc_producer_id_block_t *b);
int kc_json_producer_id_block_decode(const char *data, size_t len, kc_producer_id_block_t *out);

/* /isr_change_notification/isr_change_N, written by a partition leader
 * after it changed an ISR (Kafka 2.6, zk-and-replication.md 1.10):
 * {"version":1,"partitions":[{"topic":"T","partition":P},...]}.  Decoding,
 * as Kafka reads it, needs the partitions array only (each entry with a
 * string topic and a partition of at least 0) and returns a malloc'd array
 * (and topics) in *out that kc_isr_changes_free releases; an empty array
 * gives NULL and 0. */
typedef struct kc_isr_change {
    char *topic;
    int32_t partition;
} kc_isr_change_t;

char *kc_json_isr_change_encode(const kc_isr_change_t *parts, int n);
int kc_json_isr_change_decode(const char *data, size_t len, kc_isr_change_t **out, int *n_out);
void kc_isr_changes_free(kc_isr_change_t *parts, int n);

/* /admin/preferred_replica_election (zk-and-replication.md 1.9), written by
 * kafka-preferred-replica-election.sh and kbroker-admin elect-leaders:
 * {"version":1,"partitions":[{"topic":"T","partition":P},...]}, the layout
 * of an ISR change notification, decoded by the same rules into the same
 * pairs (freed with kc_isr_changes_free).  Kafka's controller reads the
 * partitions as a set: a pair listed twice is one election. */
char *kc_json_preferred_election_encode(const kc_isr_change_t *parts, int n);
int kc_json_preferred_election_decode(const char *data, size_t len, kc_isr_change_t **out, int *n_out);

#endif
