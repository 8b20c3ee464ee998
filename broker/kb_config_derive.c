/*
 * kb_config_derive.c - the values Kafka derives from several keys, and the
 * rules that span keys (kb_config_finish): listeners from host.name/port
 * when listeners is unset, advertised listeners from listeners, each
 * listener's security protocol, the inter-broker listener, log.dirs (or
 * log.dir), retention from its ms/minutes/hours keys, and the cross-key
 * checks (broker.id against reserved.broker.max.id, replica waits,
 * kbroker.rpc.port against the listeners).  Every refusal names the key.
 */
#include "broker/kb_config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/kb_config_internal.h"

/* ------------------------------------------------------------------------
 * kb_config_finish: derived values and rules that span keys
 * ------------------------------------------------------------------------ */

static int invalid(char *err, size_t errlen, const char *key, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int invalid(char *err, size_t errlen, const char *key, const char *value, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "invalid value '%s' for %s: %s", value, key, reason);
    return KB_CONFIG_INVALID;
}

/* "host:port", with IPv6 hosts in brackets. */
static void format_host_port(char *buf, size_t n, const char *name, const char *host, int port) {
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, n, "%.63s://%s%.255s%s:%d", name, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* Gives each listener its security protocol; anything but PLAINTEXT is
 * refused, since kbroker would serve it in plaintext. */
static int resolve_protocols(kb_listener_t *l, int n, const kb_protocol_map_t *map, const char *key,
                             const char *text, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        const char *proto = kb_config_map_lookup(map, l[i].name);
        if (!proto)
            return invalid(err, errlen, key, text, "no security protocol for listener %s in "
                           "listener.security.protocol.map", l[i].name);
        if (strcmp(proto, "PLAINTEXT") != 0) {
            snprintf(err, errlen, "unsupported value '%s' for %s: listener %s uses security protocol %s "
                     "(listener.security.protocol.map), which kbroker does not implement", text, key, l[i].name, proto);
            return KB_CONFIG_INVALID;
        }
        snprintf(l[i].protocol, sizeof(l[i].protocol), "%s", proto);
    }
    return KB_CONFIG_OK;
}

static int derive_listeners(kb_config_t *cfg, const kb_protocol_map_t *map, char *err, size_t errlen) {
    char legacy[512], reason[256];
    const char *text = cfg->raw.listeners;
    if (!text) {
        format_host_port(legacy, sizeof(legacy), "PLAINTEXT", cfg->raw.host_name ? cfg->raw.host_name : "",
                         cfg->raw.port);
        text = legacy;
    }
    int n = kb_config_parse_listeners(text, cfg->listeners, reason, sizeof(reason));
    if (n < 0) return invalid(err, errlen, "listeners", text, "%s", reason);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (cfg->listeners[i].port && cfg->listeners[i].port == cfg->listeners[j].port)
                return invalid(err, errlen, "listeners", text, "port %d used twice", cfg->listeners[i].port);
    cfg->n_listeners = n;
    return resolve_protocols(cfg->listeners, n, map, "listeners", text, err, errlen);
}

static bool has_listener(const kb_config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_listeners; i++)
        if (!strcmp(cfg->listeners[i].name, name)) return true;
    return false;
}

static bool routable(const char *host) { return strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0; }

/* Advertising the listeners as they are: clients cannot connect to a
 * wildcard address, so one needs advertised.listeners (Kafka refuses too). */
static int advertise_listeners(kb_config_t *cfg, char *err, size_t errlen) {
    char text[512];
    for (int i = 0; i < cfg->n_listeners; i++) {
        const kb_listener_t *l = &cfg->listeners[i];
        format_host_port(text, sizeof(text), l->name, l->host, l->port);
        if (!routable(l->host))
            return invalid(err, errlen, "listeners", text, "%s is not a routable address to advertise; set "
                           "advertised.listeners (or leave the host empty to advertise this machine's name)", l->host);
    }
    memcpy(cfg->advertised, cfg->listeners, sizeof(cfg->advertised));
    cfg->n_advertised = cfg->n_listeners;
    return KB_CONFIG_OK;
}

static int derive_advertised(kb_config_t *cfg, const kb_protocol_map_t *map, char *err, size_t errlen) {
    char legacy[512], reason[256];
    const char *text = cfg->raw.advertised_listeners;
    if (!text && !cfg->raw.advertised_host_name && cfg->raw.advertised_port == KB_CONFIG_UNSET32)
        return advertise_listeners(cfg, err, errlen);
    if (!text) {
        const char *host = cfg->raw.advertised_host_name ? cfg->raw.advertised_host_name : cfg->raw.host_name;
        int port = cfg->raw.advertised_port != KB_CONFIG_UNSET32 ? cfg->raw.advertised_port : cfg->raw.port;
        format_host_port(legacy, sizeof(legacy), "PLAINTEXT", host ? host : "", port);
        text = legacy;
    }
    int n = kb_config_parse_listeners(text, cfg->advertised, reason, sizeof(reason));
    if (n < 0) return invalid(err, errlen, "advertised.listeners", text, "%s", reason);
    cfg->n_advertised = n;
    for (int i = 0; i < n; i++) {
        const kb_listener_t *a = &cfg->advertised[i];
        if (!has_listener(cfg, a->name))
            return invalid(err, errlen, "advertised.listeners", text, "listener %s is not in listeners", a->name);
        if (!routable(a->host))
            return invalid(err, errlen, "advertised.listeners", text, "%s is not a routable address", a->host);
    }
    return resolve_protocols(cfg->advertised, n, map, "advertised.listeners", text, err, errlen);
}

static int derive_inter_broker(kb_config_t *cfg, char *err, size_t errlen) {
    char name[64];
    snprintf(name, sizeof(name), "%s", cfg->raw.inter_broker_listener_name ? cfg->raw.inter_broker_listener_name
                                                                            : "PLAINTEXT");
    kb_config_upcase(name);
    if (!kb_config_advertised(cfg, name))
        return invalid(err, errlen, "inter.broker.listener.name", name, "not a listener in advertised.listeners%s",
                       cfg->raw.inter_broker_listener_name ? "" : " (the default follows security.inter.broker.protocol)");
    kb_config_set_str(&cfg->inter_broker_listener_name, name);
    return KB_CONFIG_OK;
}

static int derive_network(kb_config_t *cfg, char *err, size_t errlen) {
    kb_protocol_map_t map;
    char reason[256];
    const char *text = cfg->raw.listener_security_protocol_map ? cfg->raw.listener_security_protocol_map : "";
    if (kb_config_parse_protocol_map(text, &map, reason, sizeof(reason)) != 0)
        return invalid(err, errlen, "listener.security.protocol.map", text, "%s", reason);
    int rc = derive_listeners(cfg, &map, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_advertised(cfg, &map, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_inter_broker(cfg, err, errlen);
    return rc;
}

typedef struct {
    kb_config_t *cfg;
    const char *key, *text;
    char *err;
    size_t errlen;
} kb_dirs_ctx_t;

static int add_log_dir(const char *item, void *arg) {
    kb_dirs_ctx_t *d = arg;
    kb_config_t *cfg = d->cfg;
    for (int i = 0; i < cfg->n_log_dirs; i++)
        if (!strcmp(cfg->log_dirs[i], item))
            return invalid(d->err, d->errlen, d->key, d->text, "directory %s listed twice", item);
    if (cfg->n_log_dirs == KB_MAX_LOG_DIRS)
        return invalid(d->err, d->errlen, d->key, d->text, "more than %d directories", KB_MAX_LOG_DIRS);
    kb_config_set_str(&cfg->log_dirs[cfg->n_log_dirs++], item);
    return 0;
}

void kb_config_free_log_dirs(kb_config_t *cfg) {
    for (int i = 0; i < cfg->n_log_dirs; i++) kb_config_set_str(&cfg->log_dirs[i], NULL);
    cfg->n_log_dirs = 0;
}

/* log.dirs (a comma list) wins over log.dir. */
static int derive_log_dirs(kb_config_t *cfg, char *err, size_t errlen) {
    kb_dirs_ctx_t d = {cfg, cfg->raw.log_dirs ? "log.dirs" : "log.dir", cfg->raw.log_dirs, err, errlen};
    if (!d.text) d.text = cfg->raw.log_dir ? cfg->raw.log_dir : "";
    kb_config_free_log_dirs(cfg);
    if (kb_config_csv_each(d.text, add_log_dir, &d) != 0) return KB_CONFIG_INVALID;
    if (cfg->n_log_dirs == 0) return invalid(err, errlen, d.key, d.text, "no log directory");
    return KB_CONFIG_OK;
}

/* First set of ms, minutes, hours (Kafka's logRetentionTimeMillis). */
static int derive_retention(kb_config_t *cfg, char *err, size_t errlen) {
    const char *key = "log.retention.hours";
    int64_t ms, written = cfg->raw.log_retention_hours;
    if (cfg->raw.log_retention_ms != KB_CONFIG_UNSET64)
        key = "log.retention.ms", written = ms = cfg->raw.log_retention_ms;
    else if (cfg->raw.log_retention_minutes != KB_CONFIG_UNSET32)
        key = "log.retention.minutes", written = cfg->raw.log_retention_minutes, ms = written * 60000;
    else
        ms = written * 3600000;
    if (ms == 0) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)written);
        return invalid(err, errlen, key, text, "must be -1 (unlimited) or at least 1 ms");
    }
    cfg->log_retention_ms = ms < 0 ? -1 : ms;
    return KB_CONFIG_OK;
}

/* ms wins over hours; rolls need at least 1 ms, jitter at least 0. */
static int derive_one_ms(int64_t ms, int32_t hours, const char *key, int64_t min, int64_t *out, char *err,
                         size_t errlen) {
    int64_t v = ms != KB_CONFIG_UNSET64 ? ms : (int64_t)hours * 3600000;
    if (v < min) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)ms);
        return invalid(err, errlen, key, text, "must be at least %lld", (long long)min);
    }
    *out = v;
    return KB_CONFIG_OK;
}

static int derive_times(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = derive_retention(cfg, err, errlen);
    if (rc == KB_CONFIG_OK)
        rc = derive_one_ms(cfg->raw.log_roll_ms, cfg->raw.log_roll_hours, "log.roll.ms", 1, &cfg->log_roll_ms, err,
                           errlen);
    if (rc == KB_CONFIG_OK)
        rc = derive_one_ms(cfg->raw.log_roll_jitter_ms, cfg->raw.log_roll_jitter_hours, "log.roll.jitter.ms", 0,
                           &cfg->log_roll_jitter_ms, err, errlen);
    cfg->log_flush_interval_ms = cfg->raw.log_flush_interval_ms != KB_CONFIG_UNSET64
                                     ? cfg->raw.log_flush_interval_ms
                                     : cfg->log_flush_scheduler_interval_ms;
    cfg->zookeeper_connection_timeout_ms = cfg->raw.zookeeper_connection_timeout_ms != KB_CONFIG_UNSET32
                                               ? cfg->raw.zookeeper_connection_timeout_ms
                                               : cfg->zookeeper_session_timeout_ms;
    return rc;
}

/* Everything derived, recomputed from cfg->raw each time. */
/* kbroker.rpc.max.frame.bytes: a replica fetch response (its records up to
 * replica.fetch.response.max.bytes, plus one whole batch of up to
 * message.max.bytes, which a fetch returns even past the limit) must fit a
 * frame.  Unset: that plus 1 MiB of headroom for the envelope, at least
 * 16 MiB; a set value below the sum is refused. */
static int derive_rpc_frame(kb_config_t *cfg, char *err, size_t errlen) {
    char text[24];
    int64_t need = (int64_t)cfg->replica_fetch_response_max_bytes + cfg->message_max_bytes;
    int64_t v = cfg->raw.rpc_max_frame_bytes;
    if (v == KB_CONFIG_UNSET64) {
        v = need + 1024 * 1024;
        if (v < 16 * 1024 * 1024) v = 16 * 1024 * 1024;
    } else if (v < need) {
        snprintf(text, sizeof(text), "%lld", (long long)v);
        return invalid(err, errlen, "kbroker.rpc.max.frame.bytes", text,
                       "must be at least replica.fetch.response.max.bytes + message.max.bytes (%lld)", (long long)need);
    }
    if (v > INT32_MAX) v = INT32_MAX; /* the transport's frame sizes are signed 32-bit */
    cfg->rpc_max_frame_bytes = (int32_t)v;
    if (cfg->rpc_reconnect_backoff_max_ms < cfg->rpc_reconnect_backoff_ms) {
        snprintf(text, sizeof(text), "%d", (int)cfg->rpc_reconnect_backoff_max_ms);
        return invalid(err, errlen, "kbroker.rpc.reconnect.backoff.max.ms", text,
                       "must be at least kbroker.rpc.reconnect.backoff.ms (%d)", (int)cfg->rpc_reconnect_backoff_ms);
    }
    return KB_CONFIG_OK;
}

/* broker.rack: empty means none (a rack named "" is nobody's intent, and
 * the registrations' reader treats it so); longer than a Kafka string
 * (32767 bytes) could not be sent in any Metadata answer. */
static int derive_rack(kb_config_t *cfg, char *err, size_t errlen) {
    if (cfg->broker_rack && !cfg->broker_rack[0]) {
        free(cfg->broker_rack);
        cfg->broker_rack = NULL;
    }
    size_t len = cfg->broker_rack ? strlen(cfg->broker_rack) : 0;
    if (len > INT16_MAX) {
        char shown[48];
        snprintf(shown, sizeof(shown), "%.20s...", cfg->broker_rack);
        return invalid(err, errlen, "broker.rack", shown, "%zu bytes; at most 32767 (a Kafka string)", len);
    }
    return KB_CONFIG_OK;
}

int kb_config_derive(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = derive_rack(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_network(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_log_dirs(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_times(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = derive_rpc_frame(cfg, err, errlen);
    return rc;
}

static int check_broker_id(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->broker_id);
    if (!cfg->broker_id_generation_enable && cfg->broker_id < 0)
        return invalid(err, errlen, "broker.id", text, "must be at least 0 when broker.id.generation.enable is false");
    if (cfg->broker_id < -1 || cfg->broker_id > cfg->reserved_broker_max_id)
        return invalid(err, errlen, "broker.id", text, "must be between -1 and reserved.broker.max.id (%d)",
                       (int)cfg->reserved_broker_max_id);
    return KB_CONFIG_OK;
}

static int check_replica_waits(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->replica_fetch_wait_max_ms);
    if (cfg->replica_fetch_wait_max_ms > cfg->replica_socket_timeout_ms)
        return invalid(err, errlen, "replica.fetch.wait.max.ms", text, "must not exceed replica.socket.timeout.ms (%d)",
                       (int)cfg->replica_socket_timeout_ms);
    if (cfg->replica_fetch_wait_max_ms > cfg->replica_lag_time_max_ms)
        return invalid(err, errlen, "replica.fetch.wait.max.ms", text, "must not exceed replica.lag.time.max.ms (%d)",
                       (int)cfg->replica_lag_time_max_ms);
    return KB_CONFIG_OK;
}

static int check_offsets_acks(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    int acks = cfg->offsets_commit_required_acks;
    snprintf(text, sizeof(text), "%d", acks);
    if (acks < -1 || acks > cfg->offsets_topic_replication_factor)
        return invalid(err, errlen, "offsets.commit.required.acks", text,
                       "must be between -1 and offsets.topic.replication.factor (%d)",
                       (int)cfg->offsets_topic_replication_factor);
    return KB_CONFIG_OK;
}

static int check_rpc_port(const kb_config_t *cfg, char *err, size_t errlen) {
    char text[16];
    snprintf(text, sizeof(text), "%d", (int)cfg->rpc_port);
    for (int i = 0; cfg->rpc_port && i < cfg->n_listeners; i++)
        if (cfg->listeners[i].port == cfg->rpc_port)
            return invalid(err, errlen, "kbroker.rpc.port", text, "already used by listener %s", cfg->listeners[i].name);
    return KB_CONFIG_OK;
}

static int check_cross(const kb_config_t *cfg, char *err, size_t errlen) {
    if (!cfg->zookeeper_connect || !cfg->zookeeper_connect[0])
        return invalid(err, errlen, "zookeeper.connect", cfg->zookeeper_connect ? cfg->zookeeper_connect : "",
                       "required (host:port[,host:port...][/chroot])");
    int rc = check_broker_id(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_replica_waits(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_offsets_acks(cfg, err, errlen);
    if (rc == KB_CONFIG_OK) rc = check_rpc_port(cfg, err, errlen);
    return rc;
}

int kb_config_finish(kb_config_t *cfg, char *err, size_t errlen) {
    int rc = kb_config_derive(cfg, err, errlen);
    return rc != KB_CONFIG_OK ? rc : check_cross(cfg, err, errlen);
}

const kb_listener_t *kb_config_advertised(const kb_config_t *cfg, const char *name) {
    for (int i = 0; i < cfg->n_advertised; i++)
        if (!strcasecmp(cfg->advertised[i].name, name)) return &cfg->advertised[i];
    return NULL;
}

/* The listener of list named like the inter-broker listener, else the first. */
static const kb_listener_t *inter_broker_in(const kb_config_t *cfg, const kb_listener_t *list, int n) {
    for (int i = 0; cfg->inter_broker_listener_name && i < n; i++)
        if (!strcasecmp(list[i].name, cfg->inter_broker_listener_name)) return &list[i];
    return n > 0 ? &list[0] : NULL;
}

const char *kb_config_rpc_bind_host(const kb_config_t *cfg) {
    const kb_listener_t *l = inter_broker_in(cfg, cfg->listeners, cfg->n_listeners);
    return l ? l->host : NULL;
}

const char *kb_config_rpc_advertised_host(const kb_config_t *cfg) {
    const kb_listener_t *l = inter_broker_in(cfg, cfg->advertised, cfg->n_advertised);
    return l ? l->host : NULL;
}
