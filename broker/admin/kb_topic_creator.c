/*
 * kb_topic_creator.c - the topic-creation service (kb_topic_creator.h).
 *
 * An operation is one CreateTopics request: a slot per requested topic with
 * its answer.  Each topic is judged on its own, in the spec's order: listed
 * twice (42), illegal name (17), already exists (36) or collides with an
 * existing topic or an earlier one of the same request once '.' and '_' are
 * equated (17), a null config value (42), an explicit assignment together
 * with num_partitions or replication_factor other than -1 (42), then the
 * layout (37, 38, 39), the configs (40) and the brokers' capacity (44,
 * kb_capacity.h: no broker may get more partition replicas than it can
 * hold, validate_only included).  num_partitions or
 * replication_factor -1 stands for the broker's defaults in every version
 * (see plan_counted).  The layout is planned by the same libkcoord code
 * kbroker-admin create-topic uses (kc_topic_plan over the live brokers,
 * ascending, rack-aware when every one has broker.rack; CreateTopics
 * refuses a layout to plan when only some have one, automatic creation
 * then ignores racks, as Kafka 2.6 does) and written by kc_topic_create,
 * so the znodes are the same whoever created the topic.
 *
 * Waiting.  A topic whose znodes were written is answered 0 once every one
 * of its partitions has a leader in the metadata cache, or 7
 * REQUEST_TIMED_OUT when timeout_ms passes first (creation continues).
 * The waiting, parking and reference counting are kb_admin_op.h's (one
 * reference per write in flight); the cache's change notification walks
 * the park list, so nothing polls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_capacity.h"
#include "broker/admin/kb_topic_creator.h"
#include "broker/kb_topic_config.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_assign.h"
#include "coord/kc_topics.h"
#include "coord/kc_view.h"
#include "proto/kp_types.h"

#define MOD "createtopics"

#define WHY_LEN 512

/* Kafka's wording, which clients may show. */
#define DUPLICATE_MESSAGE "Found multiple entries for this topic."

/* The service's own slot state (kb_admin_op.h has final and waiting:
 * written, waiting for every partition to have a leader). */
enum { SLOT_WRITING = KB_SLOT_SERVICE }; /* znodes being written */

typedef kb_admin_slot_t ct_slot_t;

/* What a slot keeps besides kb_admin_slot_t (op->slot_ext). */
typedef struct {
    int32_t n_partitions;  /* planned, for the leader check */
    int32_t group;         /* names equal once '.' reads as '_' share a group */
} ct_extra_t;

struct kb_topic_creator {
    kb_topic_creator_deps_t deps;
    kb_admin_park_t park;  /* operations waiting for leaders */
};

static kb_topic_creator_t *op_tc(const kb_admin_op_t *op) { return op->park->service; }

static ct_extra_t *extra(const ct_slot_t *s) {
    return (ct_extra_t *)s->op->slot_ext + (s - s->op->slots);
}

static kb_admin_op_t *op_new(kb_topic_creator_t *tc, const kp_createtopics_request_t *body) {
    kb_admin_op_t *op = kb_admin_op_new(&tc->park, body->n_topics, 0, sizeof(ct_extra_t));

    for (int32_t i = 0; op && i < op->n_slots; i++) {
        op->slots[i].name = body->topics[i].name;
        op->slots[i].cname = kb_admin_name_dup(body->topics[i].name);
    }
    return op;
}

/* ------------------------------------------------------------- waiting */

/* True when the cache shows topic `name` with n partitions, each led. */
static bool leaders_known(const kb_metadata_t *md, const char *name, int32_t n) {
    const kb_metadata_topic_t *t = md ? kb_metadata_topic(md, name) : NULL;

    if (!t || t->n_partitions != n) return false;
    for (int i = 0; i < n; i++)
        if (t->partitions[i].leader < 0) return false;
    return true;
}

static bool slot_ready(kb_admin_op_t *op, int32_t i) {
    return leaders_known(op_tc(op)->deps.metadata, op->slots[i].cname, extra(&op->slots[i])->n_partitions);
}

/* An unsettled topic gets 7 with a reason naming it: the broker shut
 * down, or timeout_ms passed. */
static void slot_give_up(kb_admin_op_t *op, int32_t i, kb_admin_end_t end) {
    ct_slot_t *s = &op->slots[i];
    char why[WHY_LEN];

    if (end == KB_ADMIN_SHUTDOWN)
        snprintf(why, sizeof(why), "The broker shut down before topic '%s' was ready; %s", s->cname,
                 s->state == KB_SLOT_WAITING ? "its creation continues" : "it may or may not exist now");
    else
        snprintf(why, sizeof(why), "Topic '%s' was not ready within timeout_ms %d; its creation continues",
                 s->cname, (int)op->timeout_ms);
    kb_admin_slot_final(s, KP_ERR_REQUEST_TIMED_OUT, why);
}

static const kb_admin_hooks_t hooks = {slot_ready, slot_give_up, NULL};

void kb_topic_creator_shutdown(kb_topic_creator_t *tc) {
    if (tc) kb_admin_park_shutdown(&tc->park);
}

int kb_topic_creator_waiting(const kb_topic_creator_t *tc) { return tc->park.n_parked; }

/* The cache changed: operations whose topics all have leaders now are
 * answered. */
static void on_metadata_change(kb_metadata_t *md, void *arg) {
    kb_topic_creator_t *tc = arg;

    (void)md;
    kb_admin_park_recheck(&tc->park);
}

/* kc_topic_create's completion.  It may run synchronously, from the loop,
 * or inside kc_session_free() at teardown, and after the answer went out
 * (timeout_ms passed): then it only logs and drops its reference. */
static void on_written(int rc, void *arg) {
    ct_slot_t *s = arg;
    kb_admin_op_t *op = s->op;
    char why[WHY_LEN];

    if (rc == KC_OK) {
        kc_info(MOD, "created topic '%s' (%d partitions)", s->cname, (int)extra(s)->n_partitions);
    } else if (rc == KC_EXISTS) {
        snprintf(why, sizeof(why), "Topic '%s' already exists.", s->cname);
    } else if (rc == KC_MARKED) {
        snprintf(why, sizeof(why), "Topic '%s' is marked for deletion.", s->cname);
    } else {
        snprintf(why, sizeof(why), "cannot create topic '%s' in ZooKeeper: %s; it may or may not "
                 "exist now", s->cname, kc_strerror(rc));
        kc_warn(MOD, "%s", why);
    }
    if (!op->answered && s->state == SLOT_WRITING) {
        if (rc == KC_OK)
            s->state = KB_SLOT_WAITING;
        else if (rc == KC_EXISTS || rc == KC_MARKED)
            kb_admin_slot_final(s, KP_ERR_TOPIC_ALREADY_EXISTS, why);
        else
            kb_admin_slot_final(s, rc == KC_CONNLOSS ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_UNKNOWN_SERVER_ERROR, why);
        kb_admin_op_poke(op);
    }
    kb_admin_op_unref(op);
}

/* ------------------------------------------------------------ the cache */

/* The cache as kc_topics.h's checks read it (topics sorted by name). */
static const char *cache_topic_name(int i, const void *md) { return kb_metadata_topic_at(md, i)->name; }
static int32_t cache_broker_id(int i, const void *md) { return kb_metadata_broker_at(md, i)->id; }

/* Live broker ids in ascending order, malloc'd; NULL when out of memory. */
static int32_t *live_brokers(const kb_metadata_t *md, int *n) {
    *n = kb_metadata_broker_count(md);
    return kc_topic_live_brokers(*n, cache_broker_id, md);
}

/* kc_topic_placement_racks over the live brokers' racks in the cache. */
static int placement_racks(const kb_metadata_t *md, const int32_t *live, int n, kc_rack_mode_t mode,
                           const char ***racks, bool *mixed) {
    return kc_topic_placement_racks(live, n, kb_metadata_broker_rack, md, mode, racks, mixed);
}

/* KC_OK when `name` is free in the cache; else KC_EXISTS (*err 36) or
 * KC_INVALID (17, a '.'/'_' collision) with a reason in why.  A name
 * marked for deletion is refused first, in AdminZkClient's words (its
 * topic znode may still be there, or already gone). */
static int name_free(const kb_topic_creator_t *tc, const char *name, int16_t *err, char *why, size_t whylen) {
    const kb_metadata_t *md = tc->deps.metadata;
    if (tc->deps.view && kc_view_topic_marked(tc->deps.view, name)) {
        snprintf(why, whylen, "Topic '%s' is marked for deletion.", name);
        *err = KP_ERR_TOPIC_ALREADY_EXISTS;
        return KC_EXISTS;
    }
    return kc_topic_check_new(name, kb_metadata_topic_count(md), cache_topic_name, md, err, why, whylen);
}

/* ------------------------------------------------------------- judging */

/* What every topic of one request is judged against. */
typedef struct {
    const kb_topic_creator_t *tc;
    int32_t *live;  /* live broker ids, ascending (owned) */
    int n_live;
    int32_t *taken; /* per name group: the slot accepted in it, or -1 (owned) */
    kb_capacity_t capacity; /* replicas per broker, with the request's accepted topics */
    const char **racks; /* every live broker's rack, or NULL: rack-unaware (owned) */
    bool mixed_racks;   /* only some live brokers have broker.rack */
} ct_ctx_t;

/* A requested name as a sort key, optionally read with every '.' as '_'
 * (Kafka's metric-name collision rule).  Sorting keeps the duplicate and
 * collision checks O(n log n) however many topics one request lists. */
typedef struct {
    kp_str_t name;
    int32_t index;
    bool fold;
} ct_key_t;

static unsigned char key_char(const ct_key_t *k, int32_t i) {
    unsigned char c = (unsigned char)k->name.ptr[i];
    return k->fold && c == '.' ? '_' : c;
}

/* Orders by name only. */
static int key_name_cmp(const ct_key_t *a, const ct_key_t *b) {
    int32_t n = a->name.len < b->name.len ? a->name.len : b->name.len;

    for (int32_t i = 0; i < n; i++)
        if (key_char(a, i) != key_char(b, i)) return key_char(a, i) < key_char(b, i) ? -1 : 1;
    return (a->name.len > b->name.len) - (a->name.len < b->name.len);
}

/* Orders by name, then by request order. */
static int key_cmp(const void *pa, const void *pb) {
    const ct_key_t *a = pa, *b = pb;
    int c = key_name_cmp(a, b);

    return c ? c : (a->index > b->index) - (a->index < b->index);
}

static ct_key_t *sorted_keys(const kb_admin_op_t *op, bool fold) {
    ct_key_t *keys = calloc((size_t)op->n_slots + 1, sizeof(*keys));

    if (!keys) return NULL;
    for (int32_t i = 0; i < op->n_slots; i++) keys[i] = (ct_key_t){op->slots[i].name, i, fold};
    qsort(keys, (size_t)op->n_slots, sizeof(*keys), key_cmp);
    return keys;
}

/* Kafka answers every entry of a name listed more than once with 42. */
static int refuse_duplicates(kb_admin_op_t *op) {
    ct_key_t *keys = sorted_keys(op, false);

    if (!keys) return -1;
    for (int32_t i = 0; i + 1 < op->n_slots; i++) {
        if (key_name_cmp(&keys[i], &keys[i + 1]) != 0) continue;
        kb_admin_slot_final(&op->slots[keys[i].index], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
        kb_admin_slot_final(&op->slots[keys[i + 1].index], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
    }
    free(keys);
    return 0;
}

/* Numbers the groups of names that are equal once '.' reads as '_'. */
static int group_names(kb_admin_op_t *op) {
    ct_key_t *keys = sorted_keys(op, true);
    int32_t group = 0;

    if (!keys) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) {
        if (i > 0 && key_name_cmp(&keys[i - 1], &keys[i]) != 0) group++;
        extra(&op->slots[keys[i].index])->group = group;
    }
    free(keys);
    return 0;
}

/* 17 for an illegal name or a '.'/'_' collision with an existing topic or
 * with a topic accepted earlier in this request; 36 for an existing one. */
static bool judge_name(const ct_ctx_t *ctx, kb_admin_op_t *op, int32_t i, char *why) {
    ct_slot_t *s = &op->slots[i];
    int16_t err = KP_ERR_INVALID_TOPIC_EXCEPTION;

    if (!s->cname) {
        snprintf(why, WHY_LEN, "topic name is longer than %d characters or contains a NUL byte",
                 KC_TOPIC_NAME_MAX);
    } else if (kc_topic_name_valid(s->cname, why, WHY_LEN) &&
               name_free(ctx->tc, s->cname, &err, why, WHY_LEN) == KC_OK) {
        int32_t other = ctx->taken[extra(s)->group]; /* a different name: duplicates were refused */
        if (other < 0) return true;
        snprintf(why, WHY_LEN, "Topic '%s' collides with topic '%s' of the same request", s->cname,
                 op->slots[other].cname);
        kb_admin_slot_final(s, KP_ERR_INVALID_TOPIC_EXCEPTION, why);
        return false;
    }
    kb_admin_slot_final(s, err, why);
    return false;
}

/* 42 when any config value is null (Kafka lists their names). */
static bool judge_null_configs(const kp_createtopics_topic_t *t, ct_slot_t *s, char *why) {
    size_t used = 0;

    why[0] = '\0';
    for (int32_t i = 0; i < t->n_configs; i++) {
        const kp_createtopics_config_t *c = &t->configs[i];
        if (c->value.len >= 0 || used >= WHY_LEN) continue;
        int n = snprintf(why + used, WHY_LEN - used, "%s%.*s", used ? "," : "Null value not supported "
                         "for topic configs: ", (int)c->name.len, c->name.ptr);
        used += n > 0 ? (size_t)n : 0;
    }
    if (!why[0]) return true;
    kb_admin_slot_final(s, KP_ERR_INVALID_REQUEST, why);
    return false;
}

/* The request's explicit assignment as a kc_topic_t whose replica lists
 * borrow the request's arrays (free only ->partitions).  Partition ids must
 * be 0..n-1, each once: KC_INVALID otherwise (39), KC_ERR when out of
 * memory. */
static int borrow_assignment(const kp_createtopics_topic_t *t, kc_topic_t *out, char *why) {
    int32_t n = t->n_assignments;

    *out = (kc_topic_t){0};
    out->partitions = calloc((size_t)n, sizeof(*out->partitions));
    bool *seen = calloc((size_t)n, sizeof(*seen));
    int rc = out->partitions && seen ? KC_OK : KC_ERR;

    out->n_partitions = n;
    for (int32_t i = 0; rc == KC_OK && i < n; i++) {
        const kp_createtopics_assignment_t *a = &t->assignments[i];
        if (a->partition_index < 0 || a->partition_index >= n || seen[a->partition_index]) {
            snprintf(why, WHY_LEN, "partitions should be a consecutive 0-based integer sequence "
                     "(partition %d)", (int)a->partition_index);
            rc = KC_INVALID;
            break;
        }
        seen[a->partition_index] = true;
        out->partitions[a->partition_index].n_replicas = a->n_broker_ids;
        out->partitions[a->partition_index].replicas = a->broker_ids;
    }
    free(seen);
    return rc;
}

/* 37 above KC_TOPIC_MAX_PARTITIONS, before anything is allocated per
 * partition (kc_topic_plan then measures the znode of smaller counts). */
static bool too_many_partitions(int32_t partitions, ct_slot_t *s, char *why) {
    if (partitions <= KC_TOPIC_MAX_PARTITIONS) return false;
    snprintf(why, WHY_LEN, "%d partitions cannot fit in the topic znode: ZooKeeper refuses requests over its "
             "1 MiB limit (jute.maxbuffer, %d bytes), which allows at most %d partitions even with the shortest ids",
             (int)partitions, KC_ZK_MAX_REQUEST_BYTES, KC_TOPIC_MAX_PARTITIONS);
    kb_admin_slot_final(s, KP_ERR_INVALID_PARTITIONS, why);
    return true;
}

/* Explicit assignment: 42 when counts are given too, 39 when malformed. */
static int plan_explicit(const ct_ctx_t *ctx, const kp_createtopics_topic_t *t, ct_slot_t *s,
                         kc_topic_t *plan, char *why) {
    kc_topic_t assignment;
    int16_t err = KP_ERR_INVALID_REPLICA_ASSIGNMENT;
    int rc;

    if (t->num_partitions != KP_CREATETOPICS_UNSET || t->replication_factor != KP_CREATETOPICS_UNSET) {
        kb_admin_slot_final(s, KP_ERR_INVALID_REQUEST, "Both numPartitions or replicationFactor and "
                  "replicasAssignments were set. Both cannot be used at the same time.");
        return -1;
    }
    if (too_many_partitions(t->n_assignments, s, why)) return -1;
    rc = borrow_assignment(t, &assignment, why);
    if (rc == KC_OK)
        rc = kc_topic_plan(s->cname, 0, 0, &assignment, ctx->live, NULL, ctx->n_live, plan, &err, why, WHY_LEN);
    free(assignment.partitions);
    if (rc == KC_OK) return 0;
    if (rc == KC_INVALID)
        kb_admin_slot_final(s, err, why);
    else
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
    return -1;
}

/* Counts: -1 means the broker default.  Kafka's clients send -1 only from
 * v4 on, but Kafka's broker resolves it in every version, and KafkaJS
 * 2.2 relies on that: its CreateTopics v0-v3 default both fields to -1. */
static int plan_counted(const ct_ctx_t *ctx, const kp_createtopics_topic_t *t, ct_slot_t *s,
                        kc_topic_t *plan, char *why) {
    int32_t partitions = t->num_partitions, rf = t->replication_factor;
    int16_t err = KP_ERR_NONE;
    int rc;

    if (partitions == KP_CREATETOPICS_UNSET) partitions = ctx->tc->deps.default_partitions;
    if (rf == KP_CREATETOPICS_UNSET) rf = ctx->tc->deps.default_replication_factor;
    if (too_many_partitions(partitions, s, why)) return -1;
    if (ctx->mixed_racks) { /* AdminUtils.assignReplicasToBrokers' refusal */
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR,
                            "Not all brokers have rack information for replica rack aware assignment.");
        return -1;
    }
    rc = kc_topic_plan(s->cname, partitions, rf, NULL, ctx->live, ctx->racks, ctx->n_live, plan, &err, why,
                       WHY_LEN);
    if (rc == KC_OK) return 0;
    kb_admin_slot_final(s, rc == KC_INVALID ? err : KP_ERR_UNKNOWN_SERVER_ERROR, why);
    return -1;
}

static bool has_nul(kp_str_t s) { return s.len > 0 && memchr(s.ptr, '\0', (size_t)s.len) != NULL; }

/* An owned C copy of a slice known to hold no NUL byte. */
static char *str_dup(kp_str_t s) { return s.len > 0 ? strndup(s.ptr, (size_t)s.len) : strdup(""); }

/* Adds (or, for a key given again, replaces: Kafka keeps the last) one
 * config as owned C strings and returns its index; -1 when a string holds
 * a NUL byte, -2 when out of memory. */
static int add_config(kc_config_entry_t *out, int *n, const kp_createtopics_config_t *c) {
    char *key, *value;
    int i;

    if (has_nul(c->name) || has_nul(c->value)) return -1;
    key = str_dup(c->name);
    value = str_dup(c->value);
    if (!key || !value) {
        free(key);
        free(value);
        return -2;
    }
    for (i = 0; i < *n && strcmp(out[i].key, key) != 0; i++) continue;
    if (i < *n) {
        free(out[i].key);
        free(out[i].value);
    } else {
        (*n)++;
    }
    out[i] = (kc_config_entry_t){key, value};
    return i;
}

/* 40 for a config whose name or value kb_topic_config_validate() refuses;
 * on success *out holds the owned entries to write. */
static int judge_configs(const kp_createtopics_topic_t *t, ct_slot_t *s, kc_config_entry_t **out,
                         int *n_out, char *why) {
    kc_config_entry_t *cfg = calloc((size_t)t->n_configs + 1, sizeof(*cfg));
    int n = 0, rc = cfg ? 0 : -2;

    for (int32_t i = 0; rc == 0 && i < t->n_configs; i++) {
        int at = add_config(cfg, &n, &t->configs[i]);
        if (at == -1)
            snprintf(why, WHY_LEN, "topic config name or value contains a NUL byte");
        else if (at >= 0 && !kb_topic_config_validate(cfg[at].key, cfg[at].value, why, WHY_LEN))
            at = -1;
        rc = at < 0 ? at : 0;
    }
    if (rc == 0) {
        *out = cfg;
        *n_out = n;
        return 0;
    }
    kc_config_entries_free(cfg, n);
    kb_admin_slot_final(s, rc == -1 ? KP_ERR_INVALID_CONFIG : KP_ERR_UNKNOWN_SERVER_ERROR,
              rc == -1 ? why : "out of memory");
    return -1;
}

/* False when writes would go to libkcoord without a session (deps.zk NULL
 * and no substitute writer): every write then fails at once. */
static bool can_write(const kb_topic_creator_t *tc) {
    return tc->deps.zk || tc->deps.write_topic != kc_topic_create;
}

/* Writes an accepted topic's znodes; the slot waits for on_written. */
static void start_write(kb_admin_op_t *op, ct_slot_t *s, const kc_topic_t *plan,
                        const kc_config_entry_t *configs, int n_configs) {
    if (!can_write(op_tc(op))) {
        kb_admin_slot_final(s, KP_ERR_UNKNOWN_SERVER_ERROR, "no ZooKeeper session");
        return;
    }
    s->state = SLOT_WRITING;
    extra(s)->n_partitions = plan->n_partitions;
    kb_admin_op_ref(op);
    op_tc(op)->deps.write_topic(op_tc(op)->deps.zk, plan, configs, n_configs, on_written, s);
}

/* 44 when the plan would give some broker more partition replicas than
 * it can hold; else the plan's replicas are counted for the topics after
 * it (also when the request only validates: it is judged as a whole). */
static bool judge_capacity(ct_ctx_t *ctx, ct_slot_t *s, const kc_topic_t *plan, char *why) {
    int rc = kb_capacity_take(&ctx->capacity, s->cname, plan->partitions, plan->n_partitions, NULL, why, WHY_LEN);

    if (rc == 0) return true;
    kb_admin_slot_final(s, rc == -1 ? KP_ERR_POLICY_VIOLATION : KP_ERR_UNKNOWN_SERVER_ERROR,
                        rc == -1 ? why : "out of memory");
    return false;
}

/* Judges topic i (not already refused as a duplicate) and, unless the
 * request only validates, starts its creation. */
static void judge_topic(ct_ctx_t *ctx, kb_admin_op_t *op, const kp_createtopics_topic_t *t, int32_t i,
                        bool validate_only) {
    ct_slot_t *s = &op->slots[i];
    char why[WHY_LEN];
    kc_topic_t plan = {0};
    kc_config_entry_t *configs = NULL;
    int n_configs = 0, rc;

    if (!judge_name(ctx, op, i, why) || !judge_null_configs(t, s, why)) return;
    rc = t->n_assignments > 0 ? plan_explicit(ctx, t, s, &plan, why) : plan_counted(ctx, t, s, &plan, why);
    if (rc == 0 && judge_configs(t, s, &configs, &n_configs, why) == 0 && judge_capacity(ctx, s, &plan, why) &&
        !validate_only)
        start_write(op, s, &plan, configs, n_configs);
    kc_topic_clear(&plan);
    kc_config_entries_free(configs, n_configs);
}

static void refuse_all(kb_admin_op_t *op, int16_t code, const char *why) {
    for (int32_t i = 0; i < op->n_slots; i++) kb_admin_slot_final(&op->slots[i], code, why);
}

static void judge_all(kb_admin_op_t *op, const kp_createtopics_request_t *body) {
    ct_ctx_t ctx = {op_tc(op), NULL, 0, NULL, {0}, NULL, false};
    const kb_metadata_t *md = op_tc(op)->deps.metadata;

    ctx.live = live_brokers(md, &ctx.n_live);
    ctx.taken = calloc((size_t)op->n_slots + 1, sizeof(*ctx.taken));
    int counted = kb_capacity_init(&ctx.capacity, op_tc(op)->deps.view, md, op_tc(op)->deps.budget);
    int racked = ctx.live ? placement_racks(md, ctx.live, ctx.n_live, KC_RACKS_ENFORCED, &ctx.racks, &ctx.mixed_racks)
                          : -1;
    if (!ctx.live || !ctx.taken || counted != 0 || racked != 0 || refuse_duplicates(op) != 0 ||
        group_names(op) != 0) {
        refuse_all(op, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
    } else {
        for (int32_t g = 0; g < op->n_slots; g++) ctx.taken[g] = -1;
        for (int32_t i = 0; i < op->n_slots; i++) {
            ct_slot_t *s = &op->slots[i];
            if (s->error_code != KP_ERR_NONE) continue;
            judge_topic(&ctx, op, &body->topics[i], i, body->validate_only);
            if (s->error_code == KP_ERR_NONE) ctx.taken[extra(s)->group] = i;
        }
    }
    free(ctx.live);
    free(ctx.taken);
    free(ctx.racks);
    kb_capacity_clear(&ctx.capacity);
}


/* ------------------------------------------------------------- public */

kb_topic_creator_t *kb_topic_creator_new(const kb_topic_creator_deps_t *deps) {
    kb_topic_creator_t *tc = calloc(1, sizeof(*tc));

    if (!tc) return NULL;
    tc->deps = *deps;
    tc->park = (kb_admin_park_t){.base = deps->base, .hooks = &hooks, .service = tc};
    if (!tc->deps.write_topic) tc->deps.write_topic = kc_topic_create;
    if (kb_metadata_subscribe(deps->metadata, on_metadata_change, tc) != 0) {
        free(tc);
        return NULL;
    }
    return tc;
}

void kb_topic_creator_free(kb_topic_creator_t *tc) {
    if (!tc) return;
    kb_topic_creator_shutdown(tc);
    kb_metadata_unsubscribe(tc->deps.metadata, on_metadata_change, tc);
    free(tc);
}

kb_admin_op_t *kb_topic_creator_start(kb_topic_creator_t *tc, const kp_createtopics_request_t *body) {
    kb_admin_op_t *op = op_new(tc, body);

    if (op) judge_all(op, body);
    return op;
}

/* ---------------------------------------------------------- auto-creation */

static void auto_created(int rc, void *arg) {
    char *name = arg;

    if (rc == KC_OK)
        kc_info("metadata", "auto-created topic '%s'", name);
    else if (rc == KC_EXISTS) /* another broker, or an earlier request, was first */
        kc_debug("metadata", "topic '%s' already exists; not auto-created", name);
    else if (rc == KC_MARKED)
        kc_debug("metadata", "topic '%s' is being deleted; not auto-created until its deletion is complete", name);
    else
        kc_warn("metadata", "cannot auto-create topic '%s': %s", name, kc_strerror(rc));
    free(name);
}

/* Whether plan fits the brokers' capacity (kb_capacity.h); *err 44 with
 * the reason in why when not. */
static bool fits(const kb_topic_creator_t *tc, const kc_topic_t *plan, int16_t *err, char *why, size_t whylen) {
    kb_capacity_t c;
    int rc = kb_capacity_init(&c, tc->deps.view, tc->deps.metadata, tc->deps.budget);

    if (rc == 0) rc = kb_capacity_take(&c, plan->name, plan->partitions, plan->n_partitions, NULL, why, whylen);
    kb_capacity_clear(&c);
    if (rc == -1) *err = KP_ERR_POLICY_VIOLATION;
    return rc != -1; /* out of memory: the write is tried, the brokers still check for themselves */
}

/* Plans topic `name` over the live brokers and starts writing it; the
 * answer as kb_topic_creator_auto_create's.  why gets the planner's refusal. */
static int16_t create_planned(kb_topic_creator_t *tc, const char *name, int32_t partitions, int32_t rf,
                              const kc_config_entry_t *configs, int n_configs, char *why, size_t whylen) {
    const kb_metadata_t *md = tc->deps.metadata;
    kc_topic_t plan;
    int16_t err = KP_ERR_NONE;
    int n_live, rc = KC_ERR;
    int32_t *live;
    char *arg;

    snprintf(why, whylen, "out of memory");
    /* Planning needs every live broker, and a topic not known yet must not
     * look missing: until UpdateMetadata has filled the cache, the client
     * just retries. */
    if (!kb_metadata_loaded(md) || !can_write(tc)) {
        snprintf(why, whylen, "the broker's metadata is not loaded yet or it has no ZooKeeper session");
        return KP_ERR_LEADER_NOT_AVAILABLE;
    }
    live = live_brokers(md, &n_live);
    if (live) rc = name_free(tc, name, &err, why, whylen);
    /* Automatic creation places by racks only when every broker has one
     * (Kafka's RackAwareMode.Safe). */
    const char **racks = NULL;
    bool mixed;
    if (rc == KC_OK && placement_racks(md, live, n_live, KC_RACKS_SAFE, &racks, &mixed) != 0) rc = KC_ERR;
    if (rc == KC_OK) rc = kc_topic_plan(name, partitions, rf, NULL, live, racks, n_live, &plan, &err, why, whylen);
    free(racks);
    free(live);
    if (rc == KC_OK && !fits(tc, &plan, &err, why, whylen)) {
        kc_topic_clear(&plan);
        rc = KC_INVALID;
    }
    if (rc == KC_INVALID) return err;
    if (rc != KC_OK) return KP_ERR_LEADER_NOT_AVAILABLE; /* exists after all, or out of memory */
    arg = strdup(name);
    if (arg) tc->deps.write_topic(tc->deps.zk, &plan, configs, n_configs, auto_created, arg);
    kc_topic_clear(&plan);
    return KP_ERR_LEADER_NOT_AVAILABLE;
}

int16_t kb_topic_creator_auto_create(kb_topic_creator_t *tc, const char *name) {
    char why[WHY_LEN];
    int16_t err = create_planned(tc, name, tc->deps.default_partitions, tc->deps.default_replication_factor, NULL,
                                 0, why, sizeof(why));

    if (err != KP_ERR_LEADER_NOT_AVAILABLE) kc_warn("metadata", "not auto-creating topic '%s': %s", name, why);
    return err;
}

int16_t kb_topic_creator_create_internal(kb_topic_creator_t *tc, const char *name, int32_t partitions, int32_t rf,
                                         const kc_config_entry_t *configs, int n_configs, char *why,
                                         size_t whylen) {
    return create_planned(tc, name, partitions, rf, configs, n_configs, why, whylen);
}
