/*
 * kc_configs.h - dynamic config overrides: what /config/topics/T may hold,
 * and writing an entity's override set the way Kafka 2.6 writes it
 * (zk-and-replication.md 1.8).
 *
 * The topic-level key table lives here, in libkcoord, because it describes
 * the contents of a znode: the broker (AlterConfigs, CreateTopics, the
 * effective values of DescribeConfigs) and kbroker-admin (alter-config,
 * create-topic --config) check overrides against the same table, so neither
 * can write a value the other would refuse.  Each key carries Kafka 2.6's
 * TopicConfig name, type, range and the broker keys it inherits from
 * (its synonyms, most specific first).
 *
 * Writing replaces the whole override set of one entity: /config/<type>/<name>
 * is set (created, with its parents, when missing) and then a persistent
 * sequential /config/changes/config_change_NNNNNNNNNN is created with
 * {"version":2,"entity_path":"<type>/<name>"}, exactly Kafka's order, so a
 * Kafka-style listener that sees the notification reads the new config.
 * kbroker's own brokers follow /config/topics/T with data watches (kc_view.h).
 */
#ifndef KC_CONFIGS_H
#define KC_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/kc_model.h"
#include "coord/kc_zk.h"

/* Kafka deletes change notifications older than this (15 minutes). */
#define KC_CONFIG_CHANGE_MAX_AGE_MS (15 * 60 * 1000)

/* Value types, numbered as DescribeConfigs v3+ numbers them (config_type). */
typedef enum {
    KC_CONFIG_BOOLEAN = 1,
    KC_CONFIG_STRING = 2,
    KC_CONFIG_INT = 3,
    KC_CONFIG_LONG = 5,
    KC_CONFIG_DOUBLE = 6,
    KC_CONFIG_LIST = 7,
} kc_config_type_t;

/* A rule beyond type and range: true when value is acceptable, else false
 * with a one-line reason in why. */
typedef bool (*kc_config_check_fn)(const char *value, char *why, size_t whylen);

#define KC_CONFIG_MAX_SYNONYMS 3

typedef struct kc_topic_config_key {
    const char *name;                              /* TopicConfig name, e.g. "retention.ms" */
    kc_config_type_t type;
    int64_t min, max;                              /* INT and LONG only */
    kc_config_check_fn check;                      /* NULL = type and range only */
    const char *synonyms[KC_CONFIG_MAX_SYNONYMS + 1]; /* broker keys, NULL-terminated */
} kc_topic_config_key_t;

/* The table, sorted by name. */
int kc_topic_config_count(void);
const kc_topic_config_key_t *kc_topic_config_at(int i);
const kc_topic_config_key_t *kc_topic_config_find(const char *name);

/* Checks one override: the key must be a topic config and the value valid
 * for it and supported by kbroker (cleanup.policy compact is refused).
 * False with a one-line reason in why. */
bool kc_topic_config_check(const char *key, const char *value, char *why, size_t whylen);
/* Checks a whole override set: every entry, no key twice, and the rules
 * that span keys (min.compaction.lag.ms <= max.compaction.lag.ms). */
bool kc_topic_config_check_set(const kc_config_entry_t *entries, int n, char *why, size_t whylen);

/*
 * Replaces the override set of entity_type ("topics" or "brokers") /
 * entity_name (a topic, a broker id or "<default>") with entries, then
 * creates the change notification.  Nothing is validated here.  done gets
 * KC_OK, KC_CONNLOSS or KC_ERR; it runs once, possibly before this returns.
 * Afterwards notifications older than KC_CONFIG_CHANGE_MAX_AGE_MS are purged
 * in the background.
 */
void kc_config_write(kc_session_t *s, const char *entity_type, const char *entity_name,
                     const kc_config_entry_t *entries, int n, kc_done_fn done, void *arg);

/* Reads the override set of one entity.  done gets KC_OK with the entries
 * (owned by the callee: free them with kc_config_entries_free), where a
 * missing, null or empty znode is an empty set; or KC_INVALID for JSON it
 * cannot read, KC_CONNLOSS or KC_ERR, with no entries. */
typedef void (*kc_config_read_fn)(int rc, kc_config_entry_t *entries, int n, void *arg);
void kc_config_read(kc_session_t *s, const char *entity_type, const char *entity_name, kc_config_read_fn done,
                    void *arg);

/* Deletes /config/changes/config_change_* created more than max_age_ms ago
 * (their ctime, set by ZooKeeper, against this host's clock).  Best effort:
 * done (may be NULL) gets KC_OK, or the first failure other than a
 * notification deleted meanwhile. */
void kc_config_changes_purge(kc_session_t *s, int64_t max_age_ms, kc_done_fn done, void *arg);

/* True for a Kafka version string such as 0.10.2, 2.6 or 2.6-IV0
 * (message.format.version, inter.broker.protocol.version). */
bool kc_kafka_version_valid(const char *v);

#endif
