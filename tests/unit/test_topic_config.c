/*
 * test_topic_config.c - topic-level configs: the key table and its checks
 * (coord/kc_configs.c), the effective log settings and the DescribeConfigs
 * listing of a topic (broker/kb_topic_config.c), and the broker key listing
 * behind DescribeConfigs for a BROKER resource (kb_config_item).
 *
 * Broker configs are built the way kbroker builds them: defaults, then
 * kb_config_set for each "file line", then kb_config_finish.
 */
#include <stdio.h>
#include <string.h>

#include "broker/kb_config.h"
#include "broker/kb_topic_config.h"
#include "broker/log/kb_log.h"
#include "coord/kc_configs.h"
#include "common/kc_log.h"
#include "proto/kp_compress.h"
#include "tests/unit/unit.h"

/* A broker config with the given "key=value" lines (NULL-terminated). */
static void broker_config(kb_config_t *cfg, const char *const *lines) {
    char err[512];
    kc_log_init("kbroker", -1, KC_LOG_ERROR);
    kb_config_defaults(cfg);
    ck_assert_int_eq(kb_config_set(cfg, "zookeeper.connect", "127.0.0.1:2181", err, sizeof(err)), KB_CONFIG_OK);
    for (int i = 0; lines && lines[i]; i++) ck_assert_int_eq(kb_config_override(cfg, lines[i], err, sizeof(err)), KB_CONFIG_OK);
    ck_assert_msg(kb_config_finish(cfg, err, sizeof(err)) == KB_CONFIG_OK, "%s", err);
}

static bool valid(const char *key, const char *value) {
    char why[256];
    return kb_topic_config_validate(key, value, why, sizeof(why));
}

/* ---- the table ---- */

START_TEST(table_is_sorted_and_found_by_name) {
    ck_assert_int_eq(kc_topic_config_count(), 26);
    for (int i = 1; i < kc_topic_config_count(); i++)
        ck_assert_int_lt(strcmp(kc_topic_config_at(i - 1)->name, kc_topic_config_at(i)->name), 0);
    for (int i = 0; i < kc_topic_config_count(); i++)
        ck_assert_ptr_eq(kc_topic_config_find(kc_topic_config_at(i)->name), kc_topic_config_at(i));
    ck_assert_ptr_null(kc_topic_config_find("log.retention.ms"));
}
END_TEST

START_TEST(every_synonym_is_a_broker_key) {
    kb_config_t cfg;
    kb_config_item_t item;
    broker_config(&cfg, NULL);
    for (int i = 0; i < kc_topic_config_count(); i++) {
        const kc_topic_config_key_t *k = kc_topic_config_at(i);
        for (int j = 0; k->synonyms[j]; j++)
            ck_assert_msg(kb_config_item(&cfg, k->synonyms[j], &item), "%s: unknown synonym %s", k->name,
                          k->synonyms[j]);
    }
    kb_config_free(&cfg);
}
END_TEST

/* ---- checks ---- */

START_TEST(unknown_key_is_refused_naming_it) {
    char why[256];
    ck_assert(!kb_topic_config_validate("retention.weeks", "1", why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "retention.weeks"));
}
END_TEST

START_TEST(numbers_are_checked_for_type_and_range) {
    ck_assert(valid("retention.ms", "-1"));
    ck_assert(valid("retention.ms", "86400000"));
    ck_assert(!valid("retention.ms", "-2"));
    ck_assert(!valid("retention.ms", "abc"));
    ck_assert(!valid("retention.ms", " 5"));
    ck_assert(!valid("retention.ms", "99999999999999999999"));
    ck_assert(valid("segment.bytes", "14"));
    ck_assert(!valid("segment.bytes", "13"));
    ck_assert(!valid("segment.bytes", "2147483648")); /* INT */
    ck_assert(valid("retention.bytes", "-5"));
    ck_assert(!valid("min.insync.replicas", "0"));
    ck_assert(!valid("segment.ms", "0"));
}
END_TEST

START_TEST(invalid_value_reason_names_key_value_and_rule) {
    char why[256];
    ck_assert(!kb_topic_config_validate("segment.bytes", "13", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
}
END_TEST

/* Kafka's ConfigException wording (LogConfig's validators), which clients
 * show their users. */
START_TEST(invalid_values_are_refused_in_kafkas_words) {
    char why[256];
    ck_assert(!kb_topic_config_validate("compression.type", "bogus", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value bogus for configuration compression.type: String must be one of: "
                          "uncompressed, zstd, lz4, snappy, gzip, producer");
    ck_assert(!kb_topic_config_validate("message.timestamp.type", "WallClock", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value WallClock for configuration message.timestamp.type: String must be one "
                          "of: CreateTime, LogAppendTime");
    ck_assert(!kb_topic_config_validate("preallocate", "yes", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value yes for configuration preallocate: Expected value to be either true or "
                          "false");
    ck_assert(!kb_topic_config_validate("segment.bytes", "2147483648", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT");
    ck_assert(!kb_topic_config_validate("retention.ms", "soon", why, sizeof(why)));
    ck_assert_str_eq(why, "Invalid value soon for configuration retention.ms: Not a number of type LONG");
}
END_TEST

START_TEST(unsupported_values_are_refused_with_the_reason) {
    char why[256];
    ck_assert(valid("cleanup.policy", "delete"));
    ck_assert(!kb_topic_config_validate("cleanup.policy", "compact", why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "compaction is not implemented"));
    ck_assert(!valid("cleanup.policy", "delete,compact"));
    ck_assert(!valid("cleanup.policy", ""));
    ck_assert(!valid("compression.type", "brotli"));
}
END_TEST

/* Every value Kafka's broker takes; anything else is refused naming the
 * value, the key and the values allowed. */
START_TEST(every_kafka_compression_type_is_accepted) {
    static const char *const names[] = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};
    char why[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) ck_assert(valid("compression.type", names[i]));
    ck_assert(!kb_topic_config_validate("compression.type", "bogus", why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "Invalid value bogus "));
    ck_assert_ptr_nonnull(strstr(why, "compression.type"));
    ck_assert_ptr_nonnull(strstr(why, "uncompressed, zstd, lz4, snappy, gzip, producer"));
    ck_assert(!valid("compression.type", "none"));
    ck_assert(!valid("compression.type", "GZIP"));
}
END_TEST

START_TEST(strings_booleans_and_lists_are_checked) {
    ck_assert(valid("message.timestamp.type", "LogAppendTime"));
    ck_assert(!valid("message.timestamp.type", "logappendtime"));
    ck_assert(valid("unclean.leader.election.enable", "TRUE"));
    ck_assert(!valid("preallocate", "yes"));
    ck_assert(valid("min.cleanable.dirty.ratio", "0.25"));
    ck_assert(!valid("min.cleanable.dirty.ratio", "1.5"));
    ck_assert(valid("leader.replication.throttled.replicas", "*"));
    ck_assert(valid("leader.replication.throttled.replicas", "0:1, 1:2"));
    ck_assert(valid("follower.replication.throttled.replicas", ""));
    ck_assert(!valid("follower.replication.throttled.replicas", "0-1"));
    ck_assert(valid("message.format.version", "2.6-IV0"));
    ck_assert(valid("message.format.version", "0.10.2"));
    ck_assert(!valid("message.format.version", "two"));
    ck_assert(!valid("retention.ms", NULL));
}
END_TEST

START_TEST(a_set_refuses_duplicates_and_inverted_compaction_lags) {
    char why[256];
    kc_config_entry_t twice[] = {{"retention.ms", "1"}, {"retention.ms", "2"}};
    kc_config_entry_t lags[] = {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}};
    kc_config_entry_t fine[] = {{"retention.ms", "1000"}, {"segment.bytes", "1048576"}};
    ck_assert(!kc_topic_config_check_set(twice, 2, why, sizeof(why)));
    ck_assert_ptr_nonnull(strstr(why, "more than once"));
    ck_assert(!kc_topic_config_check_set(lags, 2, why, sizeof(why)));
    ck_assert(kc_topic_config_check_set(fine, 2, why, sizeof(why)));
    ck_assert(kc_topic_config_check_set(NULL, 0, why, sizeof(why)));
}
END_TEST

/* ---- effective log settings ---- */

START_TEST(without_overrides_a_log_gets_the_broker_settings) {
    kb_config_t cfg;
    kb_log_config_t lc, broker;
    const char *lines[] = {"log.retention.hours=2", "log.segment.bytes=1048576", NULL};
    broker_config(&cfg, lines);
    kb_topic_config_resolve(&cfg, NULL, 0, &lc);
    memset(&broker, 0, sizeof(broker));
    kb_log_config_from_broker(&broker, &cfg);
    ck_assert_int_eq(lc.segment_bytes, 1048576);
    ck_assert_int_eq(lc.segment_bytes, broker.segment_bytes);
    ck_assert_int_eq(lc.roll_ms, broker.roll_ms);
    ck_assert_int_eq(lc.max_message_bytes, 1048588);
    ck_assert_int_eq(lc.retention_ms, 2 * 3600000);
    ck_assert_int_eq(lc.retention_bytes, -1);
    ck_assert_int_eq(lc.file_delete_delay_ms, 60000);
    ck_assert(!lc.log_append_time);
    ck_assert_int_eq(lc.compression_codec, KP_CODEC_PRODUCER);
    kb_config_free(&cfg);
    const char *zstd[] = {"compression.type=zstd", NULL};
    broker_config(&cfg, zstd);
    kb_topic_config_resolve(&cfg, NULL, 0, &lc);
    ck_assert_int_eq(lc.compression_codec, KP_CODEC_ZSTD);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(overrides_replace_the_broker_settings) {
    kb_config_t cfg;
    kb_log_config_t lc;
    kc_config_entry_t o[] = {{"retention.ms", "1000"},         {"segment.bytes", "4096"},
                             {"message.timestamp.type", "LogAppendTime"}, {"max.message.bytes", "2000"},
                             {"retention.bytes", "50000"},     {"file.delete.delay.ms", "0"},
                             {"segment.ms", "60000"},          {"flush.messages", "1"},
                             {"index.interval.bytes", "100"},  {"segment.index.bytes", "8192"},
                             {"flush.ms", "10"},               {"min.insync.replicas", "2"},
                             {"compression.type", "uncompressed"}};
    broker_config(&cfg, NULL);
    kb_topic_config_resolve(&cfg, o, (int)(sizeof(o) / sizeof(o[0])), &lc);
    ck_assert_int_eq(lc.retention_ms, 1000);
    ck_assert_int_eq(lc.segment_bytes, 4096);
    ck_assert(lc.log_append_time);
    ck_assert_int_eq(lc.max_message_bytes, 2000);
    ck_assert_int_eq(lc.retention_bytes, 50000);
    ck_assert_int_eq(lc.file_delete_delay_ms, 0);
    ck_assert_int_eq(lc.roll_ms, 60000);
    ck_assert_int_eq(lc.flush_interval_messages, 1);
    ck_assert_int_eq(lc.index_interval_bytes, 100);
    ck_assert_int_eq(lc.index_size_max_bytes, 8192);
    ck_assert_int_eq(lc.flush_interval_ms, 10);
    ck_assert_int_eq(lc.compression_codec, KP_CODEC_NONE);
    ck_assert_int_eq(kb_topic_config_min_insync(&cfg, o, (int)(sizeof(o) / sizeof(o[0]))), 2);
    ck_assert_int_eq(kb_topic_config_min_insync(&cfg, NULL, 0), 1);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(invalid_overrides_are_ignored) {
    kb_config_t cfg;
    kb_log_config_t lc;
    kc_config_entry_t o[] = {{"retention.ms", "soon"}, {"segment.bytes", "1"}, {"no.such.key", "1"},
                             {"compression.type", "brotli"}};
    const char *gzip[] = {"compression.type=gzip", NULL};
    broker_config(&cfg, gzip);
    kb_topic_config_resolve(&cfg, o, 4, &lc);
    ck_assert_int_eq(lc.compression_codec, KP_CODEC_GZIP);
    ck_assert_int_eq(lc.retention_ms, cfg.log_retention_ms);
    ck_assert_int_eq(lc.segment_bytes, cfg.log_segment_bytes);
    kb_config_free(&cfg);
}
END_TEST

/* ---- DescribeConfigs listing of a topic ---- */

typedef struct {
    int n;
    char names[32][64];
    kb_topic_config_desc_t want; /* the one to capture */
    char value[64];
    char syn_values[KB_TOPIC_CONFIG_MAX_SYNONYMS][64];
} capture_t;

static void capture(const kb_topic_config_desc_t *d, void *arg) {
    capture_t *c = arg;
    snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", d->name);
    if (strcmp(d->name, c->want.name) != 0) return;
    c->want = *d;
    snprintf(c->value, sizeof(c->value), "%s", d->value ? d->value : "(null)");
    for (int i = 0; i < d->n_synonyms; i++)
        snprintf(c->syn_values[i], sizeof(c->syn_values[i]), "%s", d->synonyms[i].value ? d->synonyms[i].value : "(null)");
}

static void describe(const kb_config_t *cfg, const kc_config_entry_t *o, int n, const char *key, capture_t *c) {
    memset(c, 0, sizeof(*c));
    c->want.name = key;
    kb_topic_config_describe(cfg, o, n, capture, c);
}

START_TEST(describe_lists_every_topic_key_once_in_order) {
    kb_config_t cfg;
    capture_t c;
    broker_config(&cfg, NULL);
    describe(&cfg, NULL, 0, "retention.ms", &c);
    ck_assert_int_eq(c.n, kc_topic_config_count());
    for (int i = 0; i < c.n; i++) ck_assert_str_eq(c.names[i], kc_topic_config_at(i)->name);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(an_inherited_default_has_source_default_and_its_synonym) {
    kb_config_t cfg;
    capture_t c;
    broker_config(&cfg, NULL);
    describe(&cfg, NULL, 0, "retention.ms", &c);
    ck_assert_str_eq(c.value, "604800000");
    ck_assert_int_eq(c.want.source, KB_CONFIG_SOURCE_DEFAULT);
    ck_assert_int_eq(c.want.n_synonyms, 1);
    ck_assert_str_eq(c.want.synonyms[0].name, "log.retention.hours");
    ck_assert_str_eq(c.syn_values[0], "168");
    ck_assert_int_eq(c.want.synonyms[0].source, KB_CONFIG_SOURCE_DEFAULT);
    describe(&cfg, NULL, 0, "max.message.bytes", &c);
    ck_assert_str_eq(c.value, "1048588");
    describe(&cfg, NULL, 0, "leader.replication.throttled.replicas", &c);
    ck_assert_str_eq(c.value, "");
    ck_assert_int_eq(c.want.n_synonyms, 0);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(a_server_properties_value_has_source_static_broker) {
    kb_config_t cfg;
    capture_t c;
    const char *lines[] = {"log.retention.hours=1", "message.max.bytes=2000000", NULL};
    broker_config(&cfg, lines);
    describe(&cfg, NULL, 0, "retention.ms", &c);
    ck_assert_str_eq(c.value, "3600000");
    ck_assert_int_eq(c.want.source, KB_CONFIG_SOURCE_STATIC_BROKER);
    ck_assert_int_eq(c.want.n_synonyms, 2);
    ck_assert_str_eq(c.syn_values[0], "1");
    ck_assert_int_eq(c.want.synonyms[0].source, KB_CONFIG_SOURCE_STATIC_BROKER);
    ck_assert_str_eq(c.syn_values[1], "168");
    describe(&cfg, NULL, 0, "max.message.bytes", &c);
    ck_assert_str_eq(c.value, "2000000");
    ck_assert_int_eq(c.want.source, KB_CONFIG_SOURCE_STATIC_BROKER);
    kb_config_free(&cfg);
}
END_TEST

START_TEST(an_override_comes_first_with_source_topic) {
    kb_config_t cfg;
    capture_t c;
    kc_config_entry_t o[] = {{"retention.ms", "1000"}, {"segment.bytes", "oops"}};
    broker_config(&cfg, NULL);
    describe(&cfg, o, 2, "retention.ms", &c);
    ck_assert_str_eq(c.value, "1000");
    ck_assert_int_eq(c.want.source, KB_CONFIG_SOURCE_TOPIC);
    ck_assert_str_eq(c.want.synonyms[0].name, "retention.ms");
    ck_assert_int_eq(c.want.synonyms[0].source, KB_CONFIG_SOURCE_TOPIC);
    ck_assert_str_eq(c.want.synonyms[1].name, "log.retention.hours");
    /* An override kbroker cannot apply is not presented as effective. */
    describe(&cfg, o, 2, "segment.bytes", &c);
    ck_assert_str_eq(c.value, "1073741824");
    ck_assert_int_eq(c.want.source, KB_CONFIG_SOURCE_DEFAULT);
    kb_config_free(&cfg);
}
END_TEST

/* ---- broker keys for DescribeConfigs ---- */

START_TEST(broker_items_show_written_values_defaults_and_hide_passwords) {
    kb_config_t cfg;
    kb_config_item_t item;
    const char *lines[] = {"num.partitions=3", "ssl.key.password=secret", NULL};
    broker_config(&cfg, lines);
    ck_assert(kb_config_item(&cfg, "num.partitions", &item));
    ck_assert_str_eq(item.value, "3");
    ck_assert(!item.is_default);
    ck_assert_str_eq(item.default_value, "1");
    ck_assert(kb_config_item(&cfg, "log.retention.ms", &item));
    ck_assert_ptr_null(item.value);
    ck_assert(item.is_default);
    ck_assert(kb_config_item(&cfg, "ssl.key.password", &item));
    ck_assert(item.is_sensitive);
    ck_assert(!item.is_default);
    ck_assert_ptr_null(item.value);
    ck_assert(!kb_config_item(&cfg, "retention.ms", &item));
    int listed = 0;
    for (int i = 0; i < kb_config_item_count(); i++) {
        kb_config_item_at(&cfg, i, &item);
        listed += strcmp(item.name, "zookeeper.connect") == 0 && !item.is_default;
    }
    ck_assert_int_eq(listed, 1);
    kb_config_free(&cfg);
}
END_TEST

Suite *topic_config_suite(void) {
    Suite *s = suite_create("topic_config");
    TCase *tc = tcase_create("topic_config");
    tcase_add_test(tc, table_is_sorted_and_found_by_name);
    tcase_add_test(tc, every_synonym_is_a_broker_key);
    tcase_add_test(tc, unknown_key_is_refused_naming_it);
    tcase_add_test(tc, numbers_are_checked_for_type_and_range);
    tcase_add_test(tc, invalid_value_reason_names_key_value_and_rule);
    tcase_add_test(tc, invalid_values_are_refused_in_kafkas_words);
    tcase_add_test(tc, unsupported_values_are_refused_with_the_reason);
tcase_add_test(tc, every_kafka_compression_type_is_accepted);
    tcase_add_test(tc, strings_booleans_and_lists_are_checked);
    tcase_add_test(tc, a_set_refuses_duplicates_and_inverted_compaction_lags);
    tcase_add_test(tc, without_overrides_a_log_gets_the_broker_settings);
    tcase_add_test(tc, overrides_replace_the_broker_settings);
    tcase_add_test(tc, invalid_overrides_are_ignored);
    tcase_add_test(tc, describe_lists_every_topic_key_once_in_order);
    tcase_add_test(tc, an_inherited_default_has_source_default_and_its_synonym);
    tcase_add_test(tc, a_server_properties_value_has_source_static_broker);
    tcase_add_test(tc, an_override_comes_first_with_source_topic);
    tcase_add_test(tc, broker_items_show_written_values_defaults_and_hide_passwords);
    suite_add_tcase(s, tc);
    return s;
}
