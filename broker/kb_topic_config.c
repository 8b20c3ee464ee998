/*
 * kb_topic_config.c - effective topic configs (see kb_topic_config.h).
 *
 * Two small tables tie libkcoord's topic key table to the broker:
 *   - log_settings: the keys that change how a log behaves, with the
 *     kb_log_config_t field each one sets;
 *   - derived: the keys whose inherited value is not one broker key as
 *     written but a value kb_config_finish computed (retention.ms from
 *     log.retention.ms/minutes/hours, ...), read from kb_config_t.
 * Every other key inherits the text of its first broker synonym.
 *
 * DescribeConfigs shows a topic key's synonyms as Kafka 2.6 does: the topic
 * override, then for each broker synonym in order its server.properties
 * value (STATIC_BROKER_CONFIG) and its default (DEFAULT_CONFIG) when it has
 * one.  The source of an inherited value is STATIC_BROKER_CONFIG when any
 * synonym is set in server.properties, else DEFAULT_CONFIG.
 */
#include "broker/kb_topic_config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/log/kb_log.h"
#include "coord/kc_configs.h"
#include "proto/kp_compress.h"

bool kb_topic_config_validate(const char *key, const char *value, char *why, size_t whylen) {
    return kc_topic_config_check(key, value, why, whylen);
}

/* ---- log settings ---- */

typedef enum { LC_I64, LC_I32, LC_APPEND_TIME, LC_CODEC } lc_kind_t;

typedef struct log_setting {
    const char *name;
    lc_kind_t kind;
    size_t offset; /* of the field in kb_log_config_t */
} log_setting_t;

#define LC(field) offsetof(kb_log_config_t, field)

static const log_setting_t log_settings[] = {
    {"compression.type", LC_CODEC, LC(compression_codec)},
    {"file.delete.delay.ms", LC_I64, LC(file_delete_delay_ms)},
    {"flush.messages", LC_I64, LC(flush_interval_messages)},
    {"flush.ms", LC_I64, LC(flush_interval_ms)},
    {"index.interval.bytes", LC_I32, LC(index_interval_bytes)},
    {"max.message.bytes", LC_I32, LC(max_message_bytes)},
    {"message.timestamp.type", LC_APPEND_TIME, LC(log_append_time)},
    {"retention.bytes", LC_I64, LC(retention_bytes)},
    {"retention.ms", LC_I64, LC(retention_ms)},
    {"segment.bytes", LC_I64, LC(segment_bytes)},
    {"segment.index.bytes", LC_I32, LC(index_size_max_bytes)},
    {"segment.ms", LC_I64, LC(roll_ms)},
};

#define N_LOG_SETTINGS (sizeof(log_settings) / sizeof(log_settings[0]))

/* value has passed kc_topic_config_check, so it parses. */
static void apply_setting(kb_log_config_t *lc, const log_setting_t *s, const char *value) {
    char *field = (char *)lc + s->offset;
    switch (s->kind) {
    case LC_I64: *(int64_t *)field = strtoll(value, NULL, 10); break;
    case LC_I32: *(int32_t *)field = (int32_t)strtol(value, NULL, 10); break;
    case LC_APPEND_TIME: *(bool *)field = strcmp(value, "LogAppendTime") == 0; break;
    case LC_CODEC: *(int *)field = kp_codec_by_name(value); break;
    }
}

static const log_setting_t *log_setting_find(const char *name) {
    for (size_t i = 0; i < N_LOG_SETTINGS; i++)
        if (strcmp(log_settings[i].name, name) == 0) return &log_settings[i];
    return NULL;
}

/* The internal topics are compacted in Kafka (the broker writes
 * cleanup.policy=compact into their znodes; clients cannot).  kbroker has
 * no cleaner yet, so such a log keeps everything: deleting its old
 * segments by time or size would lose committed offsets and group state
 * that compaction would have kept. */
static bool compacted(const kc_config_entry_t *overrides, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(overrides[i].key, "cleanup.policy") == 0 && strstr(overrides[i].value, "compact")) return true;
    return false;
}

void kb_topic_config_resolve(const kb_config_t *broker, const kc_config_entry_t *overrides, int n,
                             kb_log_config_t *out) {
    char why[256];
    memset(out, 0, sizeof(*out));
    kb_log_config_from_broker(out, broker);
    /* Broker values of the settings kb_log_config_from_broker may not fill. */
    out->retention_ms = broker->log_retention_ms;
    out->retention_bytes = broker->log_retention_bytes;
    out->file_delete_delay_ms = broker->log_segment_delete_delay_ms;
    for (int i = 0; i < n; i++) {
        const log_setting_t *s = log_setting_find(overrides[i].key);
        if (s && kc_topic_config_check(overrides[i].key, overrides[i].value, why, sizeof(why)))
            apply_setting(out, s, overrides[i].value);
    }
    if (compacted(overrides, n)) out->retention_ms = out->retention_bytes = -1;
}

static const char *override_of(const kc_config_entry_t *overrides, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(overrides[i].key, key) == 0) return overrides[i].value;
    return NULL;
}

int32_t kb_topic_config_min_insync(const kb_config_t *broker, const kc_config_entry_t *overrides, int n) {
    char why[256];
    const char *v = override_of(overrides, n, "min.insync.replicas");
    if (v && kc_topic_config_check("min.insync.replicas", v, why, sizeof(why))) return (int32_t)strtol(v, NULL, 10);
    return broker->min_insync_replicas;
}

bool kb_topic_config_unclean(const kb_config_t *broker, const kc_config_entry_t *overrides, int n) {
    char why[256];
    const char *v = override_of(overrides, n, "unclean.leader.election.enable");
    if (v && kc_topic_config_check("unclean.leader.election.enable", v, why, sizeof(why)))
        return strcasecmp(v, "true") == 0;
    return broker->unclean_leader_election_enable;
}

/* ---- describe ---- */

typedef struct derived {
    const char *name;
    size_t offset; /* of an int64_t in kb_config_t */
} derived_t;

static const derived_t derived[] = {
    {"flush.ms", offsetof(kb_config_t, log_flush_interval_ms)},
    {"retention.ms", offsetof(kb_config_t, log_retention_ms)},
    {"segment.jitter.ms", offsetof(kb_config_t, log_roll_jitter_ms)},
    {"segment.ms", offsetof(kb_config_t, log_roll_ms)},
};

/* Formats the derived broker value of key into buf; false if not derived. */
static bool derived_value(const kb_config_t *broker, const char *key, char *buf, size_t n) {
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
        if (strcmp(derived[i].name, key) != 0) continue;
        snprintf(buf, n, "%" PRId64, *(const int64_t *)((const char *)broker + derived[i].offset));
        return true;
    }
    return false;
}

static void add_synonym(kb_topic_config_desc_t *d, const char *name, const char *value, int8_t source) {
    if (d->n_synonyms < KB_TOPIC_CONFIG_MAX_SYNONYMS)
        d->synonyms[d->n_synonyms++] = (kb_config_synonym_t){name, value, source};
}

/* Appends the broker synonyms of k; returns whether any is set in
 * server.properties. */
static bool add_broker_synonyms(kb_topic_config_desc_t *d, const kb_config_t *broker, const kc_topic_config_key_t *k) {
    bool any_static = false;
    for (int i = 0; k->synonyms[i]; i++) {
        kb_config_item_t item;
        if (!kb_config_item(broker, k->synonyms[i], &item)) continue;
        if (!item.is_default) {
            add_synonym(d, item.name, item.value, KB_CONFIG_SOURCE_STATIC_BROKER);
            any_static = true;
        }
        if (item.default_value) add_synonym(d, item.name, item.default_value, KB_CONFIG_SOURCE_DEFAULT);
    }
    return any_static;
}

static void describe_key(const kb_config_t *broker, const kc_topic_config_key_t *k, const char *override,
                         kb_topic_config_visit_fn fn, void *arg) {
    kb_topic_config_desc_t d = {.name = k->name, .value = "", .source = KB_CONFIG_SOURCE_DEFAULT};
    char buf[32];
    if (override) add_synonym(&d, k->name, override, KB_CONFIG_SOURCE_TOPIC);
    int first_inherited = d.n_synonyms;
    bool any_static = add_broker_synonyms(&d, broker, k);
    if (override) {
        d.value = override;
        d.source = KB_CONFIG_SOURCE_TOPIC;
    } else if (derived_value(broker, k->name, buf, sizeof(buf))) {
        d.value = buf;
        d.source = any_static ? KB_CONFIG_SOURCE_STATIC_BROKER : KB_CONFIG_SOURCE_DEFAULT;
    } else if (d.n_synonyms > first_inherited) {
        d.value = d.synonyms[first_inherited].value;
        d.source = d.synonyms[first_inherited].source;
    }
    fn(&d, arg);
}

void kb_topic_config_describe(const kb_config_t *broker, const kc_config_entry_t *overrides, int n,
                              kb_topic_config_visit_fn fn, void *arg) {
    char why[256];
    for (int i = 0; i < kc_topic_config_count(); i++) {
        const kc_topic_config_key_t *k = kc_topic_config_at(i);
        const char *override = override_of(overrides, n, k->name);
        /* An override written to ZooKeeper by hand that kbroker does not
         * apply is not shown as the effective value. */
        if (override && !kc_topic_config_check(k->name, override, why, sizeof(why))) override = NULL;
        describe_key(broker, k, override, fn, arg);
    }
}
