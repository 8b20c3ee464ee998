/*
 * kb_api_describeconfigs.c - the DescribeConfigs handler (wire-protocol.md
 * 4.12), versions 1-2 (0 decodes too).
 *
 * Every resource is answered on its own, in request order:
 *   - TOPIC (any broker answers): 17 for an illegal name, 3 for a topic
 *     the metadata cache does not know, else every topic config with its
 *     effective value: the override from /config/topics/T (source 1), or
 *     what it inherits from server.properties (4) or Kafka's default (5)
 *     (kb_topic_config.h), as the metadata cache holds them.  The cache is
 *     kept current (today from the config znodes' watches), so an
 *     AlterConfigs on any broker shows here without a restart.
 *   - BROKER: this broker's id lists every broker key with its value as
 *     written (4) or its default (5), all read-only since kbroker changes no
 *     broker config without a restart, passwords hidden; an empty name (the
 *     cluster-wide dynamic defaults) has none; any other id is 42, as Kafka
 *     answers, because only that broker knows its own configs.
 *   - BROKER_LOGGER: this broker's id has no per-logger levels (an empty
 *     list); any other name is 42.  Other types: 42.
 * configuration_keys, when given, keeps only those keys (unknown ones are
 * left out, as Kafka does); synonyms are sent only when asked for.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/kb_topic_config.h"
#include "broker/metadata/kb_metadata.h"
#include "common/kc_names.h"
#include "proto/kp_configs.h"
#include "proto/kp_types.h"

/* What one resource's answer is built from. */
typedef struct {
    kb_arena_t *arena;
    const kp_describeconfigs_resource_t *res;
    bool synonyms;                       /* include_synonyms, v1+ */
    kp_describeconfigs_config_t *configs; /* room for every key */
    int32_t n_configs;
    bool oom;
} describe_ctx_t;

/* ------------------------------------------------------------- helpers */

static const char *arena_strdup(kb_arena_t *a, const char *s, bool *oom) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *copy = kb_arena_alloc(a, n);
    if (!copy) {
        *oom = true;
        return NULL;
    }
    memcpy(copy, s, n);
    return copy;
}

/* A request string as a C string in the arena; NULL when it holds a NUL. */
static char *arena_cstr(kb_arena_t *a, kp_str_t s) {
    int32_t len = s.len < 0 ? 0 : s.len;
    if (s.len > 0 && memchr(s.ptr, '\0', (size_t)s.len)) return NULL;
    char *c = kb_arena_alloc(a, (size_t)len + 1);
    if (c && len > 0) memcpy(c, s.ptr, (size_t)len);
    return c;
}

static const char *arena_printf(kb_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *arena_printf(kb_arena_t *a, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    bool oom = false;
    return arena_strdup(a, buf, &oom);
}

/* True when the request asks for key (no list, or an empty one, = all). */
static bool wanted(const kp_describeconfigs_resource_t *res, const char *key) {
    if (res->n_configuration_keys <= 0) return true;
    for (int32_t i = 0; i < res->n_configuration_keys; i++)
        if (kp_str_eq(res->configuration_keys[i], key)) return true;
    return false;
}

static void fail(kp_describeconfigs_result_t *out, kb_arena_t *a, int16_t code, const char *message) {
    out->error_code = code;
    out->error_message = arena_printf(a, "%s", message);
    out->n_configs = 0;
}

/* Copies synonyms into the arena when they were asked for. */
static void put_synonyms(describe_ctx_t *c, kp_describeconfigs_config_t *out, const kb_config_synonym_t *syn, int n) {
    if (!c->synonyms || n == 0) return;
    kp_config_synonym_t *copy = kb_arena_calloc(c->arena, (size_t)n, sizeof(*copy));
    if (!copy) {
        c->oom = true;
        return;
    }
    for (int i = 0; i < n; i++)
        copy[i] = (kp_config_synonym_t){syn[i].name, arena_strdup(c->arena, syn[i].value, &c->oom), syn[i].source};
    out->synonyms = copy;
    out->n_synonyms = n;
}

/* ---------------------------------------------------------------- topics */

static void put_topic_config(const kb_topic_config_desc_t *d, void *arg) {
    describe_ctx_t *c = arg;
    if (!wanted(c->res, d->name)) return;
    kp_describeconfigs_config_t *out = &c->configs[c->n_configs++];
    *out = (kp_describeconfigs_config_t){
        .name = d->name,
        .value = arena_strdup(c->arena, d->value, &c->oom),
        .read_only = false,
        .is_default = d->source == KB_CONFIG_SOURCE_DEFAULT,
        .config_source = d->source,
    };
    put_synonyms(c, out, d->synonyms, d->n_synonyms);
}

/* Counts the configs a describe visits, to size the answer. */
static void count_config(const kb_topic_config_desc_t *d, void *arg) {
    (void)d;
    (*(int32_t *)arg)++;
}

static void describe_topic(const kb_request_t *req, describe_ctx_t *c, kp_describeconfigs_result_t *out) {
    const kb_api_ctx_t *b = req->ctx;
    char why[256];
    char *name = arena_cstr(c->arena, c->res->resource_name);
    if (!name || !kc_topic_name_valid(name, why, sizeof(why))) {
        fail(out, c->arena, KP_ERR_INVALID_TOPIC_EXCEPTION, name ? why : "topic name contains a NUL byte");
        return;
    }
    const kb_metadata_topic_t *t = b->metadata ? kb_metadata_topic(b->metadata, name) : NULL;
    if (!t) {
        out->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = arena_printf(c->arena, "Topic '%s' does not exist", name);
        return;
    }
    int32_t n_keys = 0;
    kb_topic_config_describe(b->cfg, t->configs, t->n_configs, count_config, &n_keys);
    c->configs = kb_arena_calloc(c->arena, (size_t)n_keys, sizeof(*c->configs));
    if (!c->configs) {
        c->oom = true;
        return;
    }
    kb_topic_config_describe(b->cfg, t->configs, t->n_configs, put_topic_config, c);
    out->configs = c->configs;
    out->n_configs = c->n_configs;
}

/* --------------------------------------------------------------- brokers */

/* Who a BROKER or BROKER_LOGGER resource name means. */
typedef enum { NAME_EMPTY, NAME_SELF, NAME_OTHER } broker_name_t;

static broker_name_t broker_name(kp_str_t name, int32_t self) {
    int64_t id = 0;
    if (name.len <= 0) return NAME_EMPTY;
    for (int32_t i = 0; i < name.len; i++) {
        if (!isdigit((unsigned char)name.ptr[i]) || id > INT32_MAX) return NAME_OTHER;
        id = id * 10 + (name.ptr[i] - '0');
    }
    return id == self ? NAME_SELF : NAME_OTHER;
}

static void put_broker_config(describe_ctx_t *c, const kb_config_item_t *item) {
    kb_config_synonym_t syn[2];
    int n = 0;
    if (!item->is_default) syn[n++] = (kb_config_synonym_t){item->name, item->value, KB_CONFIG_SOURCE_STATIC_BROKER};
    if (item->default_value)
        syn[n++] = (kb_config_synonym_t){item->name, item->default_value, KB_CONFIG_SOURCE_DEFAULT};
    kp_describeconfigs_config_t *out = &c->configs[c->n_configs++];
    *out = (kp_describeconfigs_config_t){
        .name = item->name,
        .value = item->value,
        .read_only = true,
        .is_default = item->is_default,
        .config_source = item->is_default ? KB_CONFIG_SOURCE_DEFAULT : KB_CONFIG_SOURCE_STATIC_BROKER,
        .is_sensitive = item->is_sensitive,
    };
    put_synonyms(c, out, syn, n);
}

static void unexpected_broker(kp_describeconfigs_result_t *out, describe_ctx_t *c, int32_t self) {
    out->error_code = KP_ERR_INVALID_REQUEST;
    out->error_message = arena_printf(c->arena, "Unexpected broker id, expected %d or empty string, but received %.*s",
                                      (int)self, (int)c->res->resource_name.len, c->res->resource_name.ptr);
}

static void describe_broker(const kb_request_t *req, describe_ctx_t *c, kp_describeconfigs_result_t *out) {
    const kb_config_t *cfg = req->ctx->cfg;
    broker_name_t who = broker_name(c->res->resource_name, cfg->broker_id);
    if (who == NAME_OTHER) {
        unexpected_broker(out, c, cfg->broker_id);
        return;
    }
    if (who == NAME_EMPTY) return; /* no dynamic cluster-wide defaults */
    c->configs = kb_arena_calloc(c->arena, (size_t)kb_config_item_count(), sizeof(*c->configs));
    if (!c->configs) {
        c->oom = true;
        return;
    }
    for (int i = 0; i < kb_config_item_count(); i++) {
        kb_config_item_t item;
        kb_config_item_at(cfg, i, &item);
        if (wanted(c->res, item.name)) put_broker_config(c, &item);
    }
    out->configs = c->configs;
    out->n_configs = c->n_configs;
}

/* This broker has one level for the whole process (kbroker.log.level) and
 * no named loggers to list: its answer is an empty list. */
static void describe_logger(const kb_request_t *req, describe_ctx_t *c, kp_describeconfigs_result_t *out) {
    int32_t self = req->ctx->cfg->broker_id;
    if (broker_name(c->res->resource_name, self) == NAME_SELF) return;
    out->error_code = KP_ERR_INVALID_REQUEST;
    out->error_message = arena_printf(c->arena, "Unexpected broker id, expected %d, but received '%.*s'", (int)self,
                                      (int)c->res->resource_name.len, c->res->resource_name.ptr);
}

/* -------------------------------------------------------------- handler */

/* Returns -1 when out of memory. */
static int describe_resource(const kb_request_t *req, kb_arena_t *arena, bool synonyms,
                             const kp_describeconfigs_resource_t *res, kp_describeconfigs_result_t *out) {
    describe_ctx_t c = {.arena = arena, .res = res, .synonyms = synonyms};
    *out = (kp_describeconfigs_result_t){.resource_type = res->resource_type, .resource_name = res->resource_name};
    switch (res->resource_type) {
    case KP_RESOURCE_TOPIC: describe_topic(req, &c, out); break;
    case KP_RESOURCE_BROKER: describe_broker(req, &c, out); break;
    case KP_RESOURCE_BROKER_LOGGER: describe_logger(req, &c, out); break;
    default:
        out->error_code = KP_ERR_INVALID_REQUEST;
        out->error_message = arena_printf(arena, "Unsupported resource type %d", (int)res->resource_type);
    }
    return c.oom ? -1 : 0;
}

kb_api_status_t kb_api_describeconfigs(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_describeconfigs_request_t body;
    kp_describeconfigs_response_t resp = {0};
    kb_api_status_t st = KB_API_REPLY;

    if (kp_describeconfigs_request_decode(&req->body, version, &body) != 0) {
        kp_describeconfigs_request_clear(&body);
        return KB_API_MALFORMED;
    }
    kp_describeconfigs_result_t *results = kb_arena_calloc(&req->arena, (size_t)body.n_resources, sizeof(*results));
    if (!results && body.n_resources > 0) st = KB_API_FAILED;
    for (int32_t i = 0; st == KB_API_REPLY && i < body.n_resources; i++)
        if (describe_resource(req, &req->arena, body.include_synonyms, &body.resources[i], &results[i]) != 0)
            st = KB_API_FAILED;
    resp.n_results = body.n_resources;
    resp.results = results;
    if (st == KB_API_REPLY && kp_describeconfigs_response_encode(w, version, &resp) != 0) st = KB_API_FAILED;
    kp_describeconfigs_request_clear(&body);
    return st;
}
