/*
 * kb_topic_config.h - topic-level configs as the broker sees them: checking
 * an override, the effective settings of a topic's logs, and the listing
 * DescribeConfigs answers for a topic.
 *
 * The key table (Kafka 2.6 TopicConfig names, types, ranges and broker
 * synonyms) is libkcoord's (coord/kc_configs.h), shared with kbroker-admin.
 * The effective value of a key is the topic's override
 * (/config/topics/T), else the broker setting it inherits from
 * (server.properties), else Kafka's default; kbroker applies no dynamic
 * broker configs, so there is no level in between.
 */
#ifndef KB_TOPIC_CONFIG_H
#define KB_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "coord/kc_model.h"

/* Filled by kb_topic_config_resolve; declared by the log (broker/log/kb_log.h),
 * which readers of this header that only check or describe configs (the
 * API handlers) need not include. */
typedef struct kb_log_config kb_log_config_t;

/* config_source values of DescribeConfigs (wire-protocol.md 4.12). */
enum {
    KB_CONFIG_SOURCE_TOPIC = 1,          /* TOPIC_CONFIG: a topic override */
    KB_CONFIG_SOURCE_STATIC_BROKER = 4,  /* STATIC_BROKER_CONFIG: server.properties */
    KB_CONFIG_SOURCE_DEFAULT = 5,        /* DEFAULT_CONFIG: Kafka's default */
};

/* True when key is a topic config and value is valid and supported by
 * kbroker; else false with a one-line reason in why (for 40 INVALID_CONFIG). */
bool kb_topic_config_validate(const char *key, const char *value, char *why, size_t whylen);

/* The settings of a log of a topic with these overrides (n may be 0):
 * broker values from server.properties, replaced by every valid override
 * that maps to a log setting.  Invalid overrides (written to ZooKeeper by
 * hand) are skipped; the cluster view reports them. */
void kb_topic_config_resolve(const kb_config_t *broker, const kc_config_entry_t *overrides, int n,
                             kb_log_config_t *out);

/* The topic's effective min.insync.replicas (not a log setting: acks=all
 * checks it against the ISR). */
int32_t kb_topic_config_min_insync(const kb_config_t *broker, const kc_config_entry_t *overrides, int n);

/* The topic's effective unclean.leader.election.enable (the controller's
 * election rule, not a log setting). */
bool kb_topic_config_unclean(const kb_config_t *broker, const kc_config_entry_t *overrides, int n);

/* One synonym of a described config: where a value could come from. */
typedef struct kb_config_synonym {
    const char *name;
    const char *value; /* NULL = null */
    int8_t source;
} kb_config_synonym_t;

/* Room for the override plus, per broker synonym, its static and default value. */
#define KB_TOPIC_CONFIG_MAX_SYNONYMS 7

/* One topic config as DescribeConfigs shows it.  The strings are valid only
 * during the callback that receives it. */
typedef struct kb_topic_config_desc {
    const char *name;
    const char *value; /* effective value; NULL = null */
    int8_t source;     /* KB_CONFIG_SOURCE_* */
    int n_synonyms;
    kb_config_synonym_t synonyms[KB_TOPIC_CONFIG_MAX_SYNONYMS]; /* most specific first */
} kb_topic_config_desc_t;

typedef void (*kb_topic_config_visit_fn)(const kb_topic_config_desc_t *d, void *arg);

/* Calls fn once for every topic config key, in name order. */
void kb_topic_config_describe(const kb_config_t *broker, const kc_config_entry_t *overrides, int n,
                              kb_topic_config_visit_fn fn, void *arg);

#endif
