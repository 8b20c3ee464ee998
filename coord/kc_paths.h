/*
 * kc_paths.h - every znode path kbroker reads or writes (Kafka 2.6 layout,
 * ../shared/specs/zk-and-replication.md section 1).  Paths are relative to the
 * chroot of zookeeper.connect; the ZooKeeper client adds the chroot.
 */
#ifndef KC_PATHS_H
#define KC_PATHS_H

#include <stddef.h>
#include <stdint.h>

#define KC_PATH_BROKERS "/brokers"
#define KC_PATH_BROKER_IDS "/brokers/ids"
#define KC_PATH_BROKER_TOPICS "/brokers/topics"
#define KC_PATH_BROKER_SEQID "/brokers/seqid"
#define KC_PATH_CONTROLLER "/controller"
#define KC_PATH_CONTROLLER_EPOCH "/controller_epoch"
#define KC_PATH_CLUSTER_ID "/cluster/id"
#define KC_PATH_CONFIG_TOPICS "/config/topics"
#define KC_PATH_CONFIG_BROKERS "/config/brokers"
#define KC_PATH_CONFIG_CHANGES "/config/changes"
#define KC_PATH_CONFIG_CHANGE_PREFIX "/config/changes/config_change_"
#define KC_PATH_DELETE_TOPICS "/admin/delete_topics"
#define KC_PATH_REASSIGN_PARTITIONS "/admin/reassign_partitions"
#define KC_PATH_PREFERRED_ELECTION "/admin/preferred_replica_election"
#define KC_PATH_ISR_CHANGE "/isr_change_notification"
#define KC_PATH_ISR_CHANGE_PREFIX "/isr_change_notification/isr_change_"
#define KC_PATH_PRODUCER_ID_BLOCK "/latest_producer_id_block"

/* Persistent, empty znodes every broker creates at start if missing. */
#define KC_BASE_PATHS                                                                           \
    {"/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",     \
     "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",          \
     "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",      \
     "/config/brokers", NULL}

/* Formatters write into buf (size n) and return buf. */
char *kc_path_broker(char *buf, size_t n, int32_t id);
char *kc_path_topic(char *buf, size_t n, const char *topic);
char *kc_path_topic_config(char *buf, size_t n, const char *topic);
char *kc_path_partitions(char *buf, size_t n, const char *topic);
char *kc_path_partition(char *buf, size_t n, const char *topic, int32_t partition);
char *kc_path_state(char *buf, size_t n, const char *topic, int32_t partition);
char *kc_path_delete_topic(char *buf, size_t n, const char *topic);

#endif
