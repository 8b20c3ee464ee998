/*
 * kc_configs.c - the topic-level config table, override checks, and the
 * writes of /config/<type>/<name> plus its change notification (see
 * kc_configs.h).
 *
 * The table follows Kafka 2.6's LogConfig: names, types and ranges, and
 * TopicConfigSynonyms for the broker keys each one inherits from.  One
 * value Kafka accepts is refused because kbroker would silently not do
 * what it asks: cleanup.policy=compact (no log cleaner).
 *
 * The writes are chains of asynchronous ZooKeeper calls on the session's
 * loop.  Parents that may be missing (a tool run before any broker created
 * the base paths) are created in the same queue just before the znode that
 * needs them; ZooKeeper applies one session's requests in order, so their
 * completions need no checking.
 */
#include "coord/kc_configs.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "coord/kc_paths.h"

/* ------------------------------------------------------------------ */
/* Value checks                                                        */
/* ------------------------------------------------------------------ */

static bool say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the reason and returns false, so a check can `return say(...)`. */
static bool say(char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

/* A whole decimal integer: optional '-', digits, nothing else (no blanks);
 * false too when it does not fit 64 bits. */
static bool parse_long(const char *s, int64_t *out) {
    char *end;
    if (!(*s == '-' || isdigit((unsigned char)*s))) return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) return false;
    *out = v;
    return true;
}

static bool check_number(const kc_topic_config_key_t *k, const char *v, char *why, size_t whylen) {
    int64_t n;
    int64_t lo = k->type == KC_CONFIG_INT ? INT32_MIN : INT64_MIN;
    int64_t hi = k->type == KC_CONFIG_INT ? INT32_MAX : INT64_MAX;
    const char *type = k->type == KC_CONFIG_INT ? "INT" : "LONG";
    /* Kafka's words (ConfigDef.parseType, Range). */
    if (!parse_long(v, &n) || n < lo || n > hi) return say(why, whylen, "Not a number of type %s", type);
    if (n < k->min) return say(why, whylen, "Value must be at least %lld", (long long)k->min);
    if (n > k->max) return say(why, whylen, "Value must be no more than %lld", (long long)k->max);
    return true;
}

static bool check_type(const kc_topic_config_key_t *k, const char *v, char *why, size_t whylen) {
    switch (k->type) {
    case KC_CONFIG_BOOLEAN:
        if (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0) return true;
        return say(why, whylen, "Expected value to be either true or false");
    case KC_CONFIG_INT:
    case KC_CONFIG_LONG: return check_number(k, v, why, whylen);
    default: return true;
    }
}

static bool one_of(const char *v, const char *const *allowed, char *why, size_t whylen) {
    char list[256] = "";
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(v, allowed[i]) == 0) return true;
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
    }
    return say(why, whylen, "String must be one of: %s", list);
}

/* Copies the next comma-separated item of *p, trimmed, into item (Kafka
 * trims list items); returns false at the end of the list. */
static bool next_item(const char **p, char *item, size_t n) {
    if (*p == NULL) return false;
    const char *comma = strchr(*p, ',');
    size_t len = comma ? (size_t)(comma - *p) : strlen(*p);
    const char *s = *p;
    *p = comma ? comma + 1 : NULL;
    while (len && isspace((unsigned char)*s)) s++, len--;
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len >= n) len = n - 1;
    memcpy(item, s, len);
    item[len] = '\0';
    return true;
}

static bool check_cleanup_policy(const char *v, char *why, size_t whylen) {
    char item[64];
    int n = 0;
    for (const char *p = v; next_item(&p, item, sizeof(item));) {
        if (strcmp(item, "compact") == 0)
            return say(why, whylen, "log compaction is not implemented by kbroker; only delete is supported");
        if (strcmp(item, "delete") != 0) return say(why, whylen, "must be delete (or compact, which kbroker refuses)");
        n++;
    }
    return n > 0 ? true : say(why, whylen, "must be delete");
}

/* Kafka's BrokerCompressionCodec names; the leader recompresses to any but
 * producer (kbroker's produce path, proto/kp_recompress.h). */
static bool check_compression(const char *v, char *why, size_t whylen) {
    static const char *const known[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", NULL};
    return one_of(v, known, why, whylen);
}

static bool check_timestamp_type(const char *v, char *why, size_t whylen) {
    static const char *const allowed[] = {"CreateTime", "LogAppendTime", NULL};
    return one_of(v, allowed, why, whylen);
}

static const char *skip_digits(const char *p) {
    while (isdigit((unsigned char)*p)) p++;
    return p;
}

/* Kafka versions such as 0.10.2, 2.6 or 2.6-IV0 (ApiVersionValidator). */
bool kc_kafka_version_valid(const char *v) {
    const char *p = v;
    int parts = 0;
    for (;;) {
        const char *q = skip_digits(p);
        if (q == p) break;
        parts++;
        p = q;
        if (*p != '.') break;
        p++;
    }
    if (parts < 2 || parts > 4 || p == v || !isdigit((unsigned char)p[-1])) return false;
    if (strncmp(p, "-IV", 3) == 0 && isdigit((unsigned char)p[3])) p = skip_digits(p + 3);
    return *p == '\0';
}

static bool check_format_version(const char *v, char *why, size_t whylen) {
    return kc_kafka_version_valid(v) || say(why, whylen, "not a Kafka version such as 2.6 or 2.6-IV0");
}

static bool check_ratio(const char *v, char *why, size_t whylen) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*v == '\0' || isspace((unsigned char)*v) || *end != '\0' || errno == ERANGE || !isfinite(d))
        return say(why, whylen, "not a number");
    if (d < 0.0 || d > 1.0) return say(why, whylen, "must be between 0 and 1");
    return true;
}

/* "partition:broker" pairs, or "*" for all replicas (Kafka's
 * ThrottledReplicaListValidator); empty means none. */
static bool check_throttled(const char *v, char *why, size_t whylen) {
    char item[64];
    if (strcmp(v, "*") == 0 || *v == '\0') return true;
    for (const char *p = v; next_item(&p, item, sizeof(item));) {
        const char *colon = strchr(item, ':');
        if (colon == NULL || colon == item || *skip_digits(item) != ':' || colon[1] == '\0' ||
            *skip_digits(colon + 1) != '\0')
            return say(why, whylen, "must be * or a list of partition:broker pairs such as 0:1,1:2");
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* The table (Kafka 2.6 LogConfig, sorted by name)                     */
/* ------------------------------------------------------------------ */

#define NO_RANGE 0, 0
#define AT_LEAST(n) (n), INT64_MAX
#define ANY INT64_MIN, INT64_MAX

static const kc_topic_config_key_t topic_keys[] = {
    {"cleanup.policy", KC_CONFIG_LIST, NO_RANGE, check_cleanup_policy, {"log.cleanup.policy"}},
    {"compression.type", KC_CONFIG_STRING, NO_RANGE, check_compression, {"compression.type"}},
    {"delete.retention.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.cleaner.delete.retention.ms"}},
    {"file.delete.delay.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.segment.delete.delay.ms"}},
    {"flush.messages", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.flush.interval.messages"}},
    {"flush.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.flush.interval.ms"}},
    {"follower.replication.throttled.replicas", KC_CONFIG_LIST, NO_RANGE, check_throttled, {NULL}},
    {"index.interval.bytes", KC_CONFIG_INT, AT_LEAST(0), NULL, {"log.index.interval.bytes"}},
    {"leader.replication.throttled.replicas", KC_CONFIG_LIST, NO_RANGE, check_throttled, {NULL}},
    {"max.compaction.lag.ms", KC_CONFIG_LONG, AT_LEAST(1), NULL, {"log.cleaner.max.compaction.lag.ms"}},
    {"max.message.bytes", KC_CONFIG_INT, AT_LEAST(0), NULL, {"message.max.bytes"}},
    {"message.downconversion.enable", KC_CONFIG_BOOLEAN, NO_RANGE, NULL, {"log.message.downconversion.enable"}},
    {"message.format.version", KC_CONFIG_STRING, NO_RANGE, check_format_version, {"log.message.format.version"}},
    {"message.timestamp.difference.max.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL,
     {"log.message.timestamp.difference.max.ms"}},
    {"message.timestamp.type", KC_CONFIG_STRING, NO_RANGE, check_timestamp_type, {"log.message.timestamp.type"}},
    {"min.cleanable.dirty.ratio", KC_CONFIG_DOUBLE, NO_RANGE, check_ratio, {"log.cleaner.min.cleanable.ratio"}},
    {"min.compaction.lag.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.cleaner.min.compaction.lag.ms"}},
    {"min.insync.replicas", KC_CONFIG_INT, AT_LEAST(1), NULL, {"min.insync.replicas"}},
    {"preallocate", KC_CONFIG_BOOLEAN, NO_RANGE, NULL, {"log.preallocate"}},
    {"retention.bytes", KC_CONFIG_LONG, ANY, NULL, {"log.retention.bytes"}},
    {"retention.ms", KC_CONFIG_LONG, AT_LEAST(-1), NULL, {"log.retention.ms", "log.retention.minutes", "log.retention.hours"}},
    /* 14 = the smallest legacy record (LegacyRecord.RECORD_OVERHEAD_V0). */
    {"segment.bytes", KC_CONFIG_INT, AT_LEAST(14), NULL, {"log.segment.bytes"}},
    /* Kafka allows 0; kbroker keeps log.index.size.max.bytes's minimum so
     * a topic cannot make every append roll a segment. */
    {"segment.index.bytes", KC_CONFIG_INT, AT_LEAST(4), NULL, {"log.index.size.max.bytes"}},
    {"segment.jitter.ms", KC_CONFIG_LONG, AT_LEAST(0), NULL, {"log.roll.jitter.ms", "log.roll.jitter.hours"}},
    {"segment.ms", KC_CONFIG_LONG, AT_LEAST(1), NULL, {"log.roll.ms", "log.roll.hours"}},
    {"unclean.leader.election.enable", KC_CONFIG_BOOLEAN, NO_RANGE, NULL, {"unclean.leader.election.enable"}},
};

#define N_TOPIC_KEYS ((int)(sizeof(topic_keys) / sizeof(topic_keys[0])))

int kc_topic_config_count(void) { return N_TOPIC_KEYS; }
const kc_topic_config_key_t *kc_topic_config_at(int i) { return &topic_keys[i]; }

const kc_topic_config_key_t *kc_topic_config_find(const char *name) {
    int lo = 0, hi = N_TOPIC_KEYS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(topic_keys[mid].name, name);
        if (c == 0) return &topic_keys[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bool kc_topic_config_check(const char *key, const char *value, char *why, size_t whylen) {
    const kc_topic_config_key_t *k = kc_topic_config_find(key);
    char reason[256] = "";
    if (k == NULL) return say(why, whylen, "unknown topic config '%s'", key);
    if (value == NULL) return say(why, whylen, "config %s has no value", key);
    if (check_type(k, value, reason, sizeof(reason)) && (k->check == NULL || k->check(value, reason, sizeof(reason))))
        return true;
    return say(why, whylen, "Invalid value %s for configuration %s: %s", value, key, reason);
}

static const char *value_of(const kc_config_entry_t *e, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0) return e[i].value;
    return NULL;
}

bool kc_topic_config_check_set(const kc_config_entry_t *entries, int n, char *why, size_t whylen) {
    for (int i = 0; i < n; i++) {
        if (!kc_topic_config_check(entries[i].key, entries[i].value, why, whylen)) return false;
        if (value_of(entries, i, entries[i].key))
            return say(why, whylen, "config %s given more than once", entries[i].key);
    }
    const char *min_lag = value_of(entries, n, "min.compaction.lag.ms");
    const char *max_lag = value_of(entries, n, "max.compaction.lag.ms");
    if (min_lag && max_lag && strtoll(min_lag, NULL, 10) > strtoll(max_lag, NULL, 10))
        return say(why, whylen, "min.compaction.lag.ms (%s) must not exceed max.compaction.lag.ms (%s)", min_lag,
                   max_lag);
    return true;
}

/* ------------------------------------------------------------------ */
/* Writing an entity's overrides                                       */
/* ------------------------------------------------------------------ */

typedef struct write_op {
    kc_session_t *s;
    char type_path[256];   /* /config/<type> */
    char path[768];        /* /config/<type>/<name> */
    char *json;            /* the entity config */
    char *change_json;     /* the notification */
    kc_done_fn done;
    void *arg;
} write_op_t;

static void write_finish(write_op_t *op, int rc) {
    kc_session_t *s = op->s;
    op->done(rc, op->arg);
    free(op->json);
    free(op->change_json);
    free(op);
    if (rc == KC_OK) kc_config_changes_purge(s, KC_CONFIG_CHANGE_MAX_AGE_MS, NULL, NULL);
}

/* Completion of a parent create queued ahead of the znode that needs it. */
static void parent_created(int rc, const char *value, const void *data) {}

static zhandle_t *write_zh(write_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    if (!zh) write_finish(op, KC_CONNLOSS);
    return zh;
}

static void change_created(int rc, const char *value, const void *data) {
    write_op_t *op = (write_op_t *)data;
    if (rc == ZOK) kc_debug("configs", "%s updated, notification %s", op->path, value ? value : "?");
    write_finish(op, kc_from_zrc(rc));
}

static void create_change(write_op_t *op) {
    zhandle_t *zh = write_zh(op);
    if (!zh) return;
    zoo_acreate(zh, KC_PATH_CONFIG_CHANGES, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, parent_created, op);
    int rc = zoo_acreate(zh, KC_PATH_CONFIG_CHANGE_PREFIX, op->change_json, (int)strlen(op->change_json),
                         &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, change_created, op);
    if (rc != ZOK) write_finish(op, kc_from_zrc(rc));
    kc_session_kick(op->s);
}

static void entity_set(int rc, const struct Stat *st, const void *data);

/* Lost a race with another creator: its config is overwritten by ours. */
static void entity_created(int rc, const char *value, const void *data) {
    write_op_t *op = (write_op_t *)data;
    if (rc == ZOK) {
        create_change(op);
    } else if (rc == ZNODEEXISTS) {
        zhandle_t *zh = write_zh(op);
        if (!zh) return;
        int zrc = zoo_aset(zh, op->path, op->json, (int)strlen(op->json), -1, entity_set, op);
        if (zrc != ZOK) write_finish(op, kc_from_zrc(zrc));
        kc_session_kick(op->s);
    } else {
        write_finish(op, kc_from_zrc(rc));
    }
}

static void create_entity(write_op_t *op) {
    zhandle_t *zh = write_zh(op);
    if (!zh) return;
    zoo_acreate(zh, "/config", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, parent_created, op);
    zoo_acreate(zh, op->type_path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, parent_created, op);
    int rc = zoo_acreate(zh, op->path, op->json, (int)strlen(op->json), &ZOO_OPEN_ACL_UNSAFE, 0, entity_created, op);
    if (rc != ZOK) write_finish(op, kc_from_zrc(rc));
    kc_session_kick(op->s);
}

/* Kafka sets the entity config first and creates it only when missing. */
static void entity_set(int rc, const struct Stat *st, const void *data) {
    write_op_t *op = (write_op_t *)data;
    if (rc == ZOK) create_change(op);
    else if (rc == ZNONODE) create_entity(op);
    else write_finish(op, kc_from_zrc(rc));
}

static write_op_t *write_op_new(kc_session_t *s, const char *type, const char *name, const kc_config_entry_t *entries,
                                int n) {
    char entity_path[512];
    write_op_t *op = calloc(1, sizeof(*op));
    if (!op) return NULL;
    op->s = s;
    snprintf(op->type_path, sizeof(op->type_path), "/config/%s", type);
    snprintf(op->path, sizeof(op->path), "/config/%s/%s", type, name);
    snprintf(entity_path, sizeof(entity_path), "%s/%s", type, name);
    op->json = kc_json_config_encode(entries, n);
    op->change_json = kc_json_config_change_encode(entity_path);
    if (!op->json || !op->change_json) {
        free(op->json);
        free(op->change_json);
        free(op);
        return NULL;
    }
    return op;
}

void kc_config_write(kc_session_t *s, const char *entity_type, const char *entity_name,
                     const kc_config_entry_t *entries, int n, kc_done_fn done, void *arg) {
    write_op_t *op = write_op_new(s, entity_type, entity_name, entries, n);
    if (!op) {
        done(KC_ERR, arg);
        return;
    }
    op->done = done;
    op->arg = arg;
    zhandle_t *zh = write_zh(op);
    if (!zh) return;
    int rc = zoo_aset(zh, op->path, op->json, (int)strlen(op->json), -1, entity_set, op);
    if (rc != ZOK) write_finish(op, kc_from_zrc(rc));
    kc_session_kick(s);
}

/* ------------------------------------------------------------------ */
/* Reading an entity's overrides                                       */
/* ------------------------------------------------------------------ */

typedef struct read_op {
    kc_config_read_fn done;
    void *arg;
} read_op_t;

static void entity_read(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    read_op_t op = *(const read_op_t *)data;
    kc_config_entry_t *entries = NULL;
    int n = 0;
    free((void *)data);
    if (rc == ZOK && value && len > 0 && kc_json_config_decode(value, (size_t)len, &entries, &n) < 0) {
        op.done(KC_INVALID, NULL, 0, op.arg);
        return;
    }
    if (rc == ZNONODE) rc = ZOK;
    op.done(kc_from_zrc(rc), entries, n, op.arg);
}

void kc_config_read(kc_session_t *s, const char *entity_type, const char *entity_name, kc_config_read_fn done,
                    void *arg) {
    char path[768];
    read_op_t *op = malloc(sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, NULL, 0, arg);
        return;
    }
    *op = (read_op_t){done, arg};
    snprintf(path, sizeof(path), "/config/%s/%s", entity_type, entity_name);
    int rc = zoo_aget(zh, path, 0, entity_read, op);
    if (rc != ZOK) entity_read(rc, NULL, 0, NULL, op);
    kc_session_kick(s);
}

/* ------------------------------------------------------------------ */
/* Purging old notifications                                           */
/* ------------------------------------------------------------------ */

typedef struct purge_op {
    kc_session_t *s;
    int64_t cutoff_ms; /* notifications created before this go */
    int pending;       /* the listing plus one per notification being handled */
    int rc;            /* first failure */
    int deleted;
    kc_done_fn done;
    void *arg;
} purge_op_t;

/* One notification: its stat is read, then it may be deleted. */
typedef struct purge_item {
    purge_op_t *op;
    char path[];
} purge_item_t;

static void purge_settle(purge_op_t *op, int rc) {
    /* A notification someone else deleted meanwhile is not a failure. */
    if (rc != KC_OK && rc != KC_NONODE && op->rc == KC_OK) op->rc = rc;
    if (--op->pending > 0) return;
    if (op->deleted > 0) kc_debug("configs", "purged %d config change notification(s)", op->deleted);
    if (op->done) op->done(op->rc, op->arg);
    free(op);
}

static void item_deleted(int rc, const void *data) {
    purge_item_t *it = (purge_item_t *)data;
    purge_op_t *op = it->op;
    if (rc == ZOK) op->deleted++;
    free(it);
    purge_settle(op, kc_from_zrc(rc));
}

static void item_stat(int rc, const struct Stat *st, const void *data) {
    purge_item_t *it = (purge_item_t *)data;
    purge_op_t *op = it->op;
    zhandle_t *zh = rc == ZOK && st->ctime < op->cutoff_ms ? kc_session_handle(op->s) : NULL;
    if (zh) {
        int zrc = zoo_adelete(zh, it->path, -1, item_deleted, it);
        if (zrc != ZOK) item_deleted(zrc, it);
        kc_session_kick(op->s);
        return;
    }
    free(it);
    purge_settle(op, rc == ZOK ? KC_OK : kc_from_zrc(rc));
}

static void purge_item(purge_op_t *op, zhandle_t *zh, const char *child) {
    size_t n = strlen(KC_PATH_CONFIG_CHANGES) + 1 + strlen(child) + 1;
    purge_item_t *it = malloc(sizeof(*it) + n);
    if (!it) {
        if (op->rc == KC_OK) op->rc = KC_ERR;
        return;
    }
    it->op = op;
    snprintf(it->path, n, "%s/%s", KC_PATH_CONFIG_CHANGES, child);
    op->pending++;
    int rc = zoo_aexists(zh, it->path, 0, item_stat, it);
    if (rc != ZOK) item_stat(rc, NULL, it);
}

static void changes_listed(int rc, const struct String_vector *names, const void *data) {
    purge_op_t *op = (purge_op_t *)data;
    zhandle_t *zh = rc == ZOK ? kc_session_handle(op->s) : NULL;
    const char *prefix = strrchr(KC_PATH_CONFIG_CHANGE_PREFIX, '/') + 1;
    for (int i = 0; zh && i < names->count; i++)
        if (strncmp(names->data[i], prefix, strlen(prefix)) == 0) purge_item(op, zh, names->data[i]);
    if (zh) kc_session_kick(op->s);
    purge_settle(op, rc == ZOK ? KC_OK : kc_from_zrc(rc));
}

static int64_t wall_clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kc_config_changes_purge(kc_session_t *s, int64_t max_age_ms, kc_done_fn done, void *arg) {
    purge_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        if (done) done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    *op = (purge_op_t){.s = s, .cutoff_ms = wall_clock_ms() - max_age_ms, .pending = 1, .done = done, .arg = arg};
    int rc = zoo_aget_children(zh, KC_PATH_CONFIG_CHANGES, 0, changes_listed, op);
    if (rc != ZOK) changes_listed(rc, NULL, op);
    kc_session_kick(s);
}
