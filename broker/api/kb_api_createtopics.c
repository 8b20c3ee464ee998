/*
 * kb_api_createtopics.c - the CreateTopics handler (wire-protocol.md 4.6).
 *
 * Only the active controller creates topics, as in ZooKeeper-era Kafka:
 * anywhere else every topic is answered 41 NOT_CONTROLLER and clients
 * retry at Metadata's controller_id.  On the controller each topic is
 * judged on its own, in the spec's order: listed twice (42), illegal name
 * (17), already exists (36) or collides with an existing topic or an
 * earlier one of the same request once '.' and '_' are equated (17), a
 * null config value (42), an explicit assignment together with
 * num_partitions or replication_factor other than -1 (42), then the layout
 * (37, 38, 39) and the configs (40).  num_partitions or replication_factor
 * -1 stands for the broker's num.partitions / default.replication.factor
 * in every version (see plan_counted).  The layout is planned by the same
 * libkcoord code kbroker-admin create-topic uses (kc_topic_plan over the
 * live brokers, ascending) and written by kc_topic_create, so the znodes
 * are the same whoever created the topic.  validate_only stops after the
 * checks.
 *
 * Waiting.  A topic whose znodes were written is answered 0 once every one
 * of its partitions has a leader in the broker's cluster view, or 7
 * REQUEST_TIMED_OUT when timeout_ms passes first (creation continues).  The
 * request is detached and the operation parked on a list that
 * kb_api_createtopics_on_view_change() walks whenever the view changes;
 * nothing polls.  A write completion only schedules a look at the view (an
 * event_active'd event) instead of looking itself: completions also run
 * inside kc_session_free() at teardown, after the view is gone.  An
 * operation outlives its answer while writes are still in flight: it is
 * reference counted, one reference per write plus one until answered.
 * Shutdown answers whatever is still parked (kb_api_createtopics_shutdown):
 * a parked operation holds its connection, which would otherwise never be
 * freed.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api.h"
#include "broker/api/kb_api_internal.h"
#include "broker/controller/kb_controller.h"
#include "broker/kb_topic_config.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_topics.h"
#include "coord/kc_view.h"
#include "proto/kp_createtopics.h"
#include "proto/kp_types.h"

#define MOD "createtopics"

#define WHY_LEN 512

/* Kafka's wording, which clients may show. */
#define DUPLICATE_MESSAGE "Found multiple entries for this topic."
#define NOT_CONTROLLER_MESSAGE "This is not the correct controller for this cluster."

typedef enum {
    SLOT_FINAL,   /* error_code is the answer */
    SLOT_WRITING, /* znodes being written */
    SLOT_WAITING, /* written; waiting for every partition to have a leader */
} slot_state_t;

typedef struct ct_op ct_op_t;

/* One requested topic and its answer. */
typedef struct {
    ct_op_t *op;
    kp_str_t name;         /* borrowed from the request (valid while unanswered) */
    char *cname;           /* owned C copy of a legal name, NULL otherwise */
    int32_t n_partitions;  /* planned, for the leader check */
    int32_t group;         /* names equal once '.' reads as '_' share a group */
    slot_state_t state;
    int16_t error_code;
    char *error_message;   /* owned; NULL = null (success) */
} ct_slot_t;

struct ct_op {
    kb_broker_t *b;
    kb_request_t *req;      /* the dispatcher's until parked; NULL once answered */
    int16_t version;
    int32_t timeout_ms;
    bool validate_only;
    int32_t n_slots;
    ct_slot_t *slots;
    struct event *timer;    /* timeout_ms */
    struct event *recheck;  /* a write finished: look at the view from the loop */
    int refs;               /* writes in flight, plus one until answered */
    ct_op_t *prev, *next;   /* on the parked list while waiting */
};

/* Operations waiting for leaders.  The view-change hook gets only the
 * broker, so the module keeps the list itself; entries are matched by
 * broker. */
static ct_op_t *parked;

/* ------------------------------------------------------------ lifetime */

static void slot_fail(ct_slot_t *s, int16_t code, const char *why) {
    s->state = SLOT_FINAL;
    s->error_code = code;
    free(s->error_message);
    s->error_message = why ? strdup(why) : NULL;
}

static void op_free(ct_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++) {
        free(op->slots[i].cname);
        free(op->slots[i].error_message);
    }
    free(op->slots);
    free(op);
}

static void op_unref(ct_op_t *op) {
    if (--op->refs == 0) op_free(op);
}

static void park_link(ct_op_t *op) {
    op->next = parked;
    if (parked) parked->prev = op;
    parked = op;
}

static void park_unlink(ct_op_t *op) {
    if (op->prev) op->prev->next = op->next;
    else if (parked == op) parked = op->next;
    if (op->next) op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

/* Copies a requested name into an owned C string when it can be a legal
 * topic name at all (no embedded NUL, not longer than the maximum). */
static char *name_dup(kp_str_t name) {
    if (name.len < 0 || name.len > KC_TOPIC_NAME_MAX) return NULL;
    if (name.len > 0 && memchr(name.ptr, '\0', (size_t)name.len)) return NULL;
    return name.len > 0 ? strndup(name.ptr, (size_t)name.len) : strdup("");
}

static ct_op_t *op_new(kb_request_t *req, const kp_createtopics_request_t *body) {
    ct_op_t *op = calloc(1, sizeof(*op));

    if (!op) return NULL;
    op->slots = calloc((size_t)body->n_topics + 1, sizeof(*op->slots));
    if (!op->slots) {
        free(op);
        return NULL;
    }
    op->b = req->broker;
    op->req = req;
    op->version = req->header.request_api_version;
    op->timeout_ms = body->timeout_ms;
    op->validate_only = body->validate_only;
    op->n_slots = body->n_topics;
    op->refs = 1;
    for (int32_t i = 0; i < op->n_slots; i++) {
        op->slots[i].op = op;
        op->slots[i].name = body->topics[i].name;
        op->slots[i].cname = name_dup(body->topics[i].name);
        op->slots[i].state = SLOT_FINAL;
    }
    return op;
}

/* ------------------------------------------------------------- answer */

static int encode_answer(const ct_op_t *op, kp_writer_t *w) {
    kp_createtopics_response_topic_t *topics = calloc((size_t)op->n_slots + 1, sizeof(*topics));
    kp_createtopics_response_t resp = {0, op->n_slots, topics};
    int rc;

    if (!topics) return KP_BUF_NOMEM;
    for (int32_t i = 0; i < op->n_slots; i++) {
        const ct_slot_t *s = &op->slots[i];
        topics[i] = (kp_createtopics_response_topic_t){s->name, s->error_code,
                                                       kp_str_c(s->error_message)};
    }
    rc = kp_createtopics_response_encode(w, op->version, &resp);
    free(topics);
    return rc;
}

/* Answers a parked operation, releases the request and its events, and
 * drops the answer's reference (writes still in flight keep op alive). */
static void op_answer(ct_op_t *op) {
    kb_request_t *req = op->req;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (encode_answer(op, &w) != 0 || kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the CreateTopics response");
    kp_writer_free(&w);
    kb_api_request_free(req);
    op->req = NULL;
    park_unlink(op);
    if (op->timer) event_free(op->timer);
    if (op->recheck) event_free(op->recheck);
    op->timer = op->recheck = NULL;
    op_unref(op);
}

/* ------------------------------------------------------------- waiting */

/* True when the view shows topic `name` with n partitions, each led. */
static bool leaders_known(const kc_view_t *v, const char *name, int32_t n) {
    const kc_topic_t *t = v ? kc_view_topic(v, name) : NULL;

    if (!t || t->n_partitions != n) return false;
    for (int i = 0; i < n; i++)
        if (!t->partitions[i].has_state || t->partitions[i].state.leader < 0) return false;
    return true;
}

/* Settles the waiting topics whose leaders are known; true when no topic
 * is unsettled any more. */
static bool op_settle(ct_op_t *op) {
    bool done = true;

    for (int32_t i = 0; i < op->n_slots; i++) {
        ct_slot_t *s = &op->slots[i];
        if (s->state == SLOT_WAITING && leaders_known(op->b->view, s->cname, s->n_partitions))
            slot_fail(s, KP_ERR_NONE, NULL);
        if (s->state != SLOT_FINAL) done = false;
    }
    return done;
}

static void on_recheck(evutil_socket_t fd, short what, void *arg) {
    ct_op_t *op = arg;

    (void)fd;
    (void)what;
    if (op_settle(op)) op_answer(op);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
    ct_op_t *op = arg;
    char why[WHY_LEN];

    (void)fd;
    (void)what;
    op_settle(op);
    for (int32_t i = 0; i < op->n_slots; i++) {
        ct_slot_t *s = &op->slots[i];
        if (s->state == SLOT_FINAL) continue;
        snprintf(why, sizeof(why), "Topic '%s' was not ready within timeout_ms %d; its creation "
                 "continues", s->cname, (int)op->timeout_ms);
        slot_fail(s, KP_ERR_REQUEST_TIMED_OUT, why);
    }
    op_answer(op);
}

void kb_api_createtopics_shutdown(kb_broker_t *b) {
    ct_op_t *op = parked;
    char why[WHY_LEN];

    while (op) {
        ct_op_t *next = op->next; /* op is answered and unlinked below */
        if (op->b != b) {
            op = next;
            continue;
        }
        for (int32_t i = 0; i < op->n_slots; i++) {
            ct_slot_t *s = &op->slots[i];
            if (s->state == SLOT_FINAL) continue;
            snprintf(why, sizeof(why), "The broker shut down before topic '%s' was ready; %s", s->cname,
                     s->state == SLOT_WAITING ? "its creation continues"
                                              : "it may or may not exist now");
            slot_fail(s, KP_ERR_REQUEST_TIMED_OUT, why);
        }
        op_answer(op);
        op = next;
    }
}

void kb_api_createtopics_on_view_change(kb_broker_t *b) {
    ct_op_t *op = parked;

    while (op) {
        ct_op_t *next = op->next; /* op may be answered and unlinked below */
        if (op->b == b && op_settle(op)) op_answer(op);
        op = next;
    }
}

/* kc_topic_create's completion.  It may run synchronously, from the loop,
 * or inside kc_session_free() at teardown, and after the answer went out
 * (timeout_ms passed): then it only logs and drops its reference. */
static void on_written(int rc, void *arg) {
    ct_slot_t *s = arg;
    ct_op_t *op = s->op;
    char why[WHY_LEN];

    if (rc == KC_OK) {
        kc_info(MOD, "created topic '%s' (%d partitions)", s->cname, (int)s->n_partitions);
    } else if (rc == KC_EXISTS) {
        snprintf(why, sizeof(why), "Topic '%s' already exists.", s->cname);
    } else {
        snprintf(why, sizeof(why), "cannot create topic '%s' in ZooKeeper: %s; it may or may not "
                 "exist now", s->cname, kc_strerror(rc));
        kc_warn(MOD, "%s", why);
    }
    if (op->req && s->state == SLOT_WRITING) {
        if (rc == KC_OK)
            s->state = SLOT_WAITING;
        else if (rc == KC_EXISTS)
            slot_fail(s, KP_ERR_TOPIC_ALREADY_EXISTS, why);
        else
            slot_fail(s, rc == KC_CONNLOSS ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_UNKNOWN_SERVER_ERROR, why);
        if (op->recheck) event_active(op->recheck, EV_TIMEOUT, 0);
    }
    op_unref(op);
}

/* ------------------------------------------------------------- judging */

/* What every topic of one request is judged against. */
typedef struct {
    const kb_broker_t *b;
    int32_t *live;  /* live broker ids, ascending (owned) */
    int n_live;
    int32_t *taken; /* per name group: the slot accepted in it, or -1 (owned) */
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

static ct_key_t *sorted_keys(const ct_op_t *op, bool fold) {
    ct_key_t *keys = calloc((size_t)op->n_slots + 1, sizeof(*keys));

    if (!keys) return NULL;
    for (int32_t i = 0; i < op->n_slots; i++) keys[i] = (ct_key_t){op->slots[i].name, i, fold};
    qsort(keys, (size_t)op->n_slots, sizeof(*keys), key_cmp);
    return keys;
}

/* Kafka answers every entry of a name listed more than once with 42. */
static int refuse_duplicates(ct_op_t *op) {
    ct_key_t *keys = sorted_keys(op, false);

    if (!keys) return -1;
    for (int32_t i = 0; i + 1 < op->n_slots; i++) {
        if (key_name_cmp(&keys[i], &keys[i + 1]) != 0) continue;
        slot_fail(&op->slots[keys[i].index], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
        slot_fail(&op->slots[keys[i + 1].index], KP_ERR_INVALID_REQUEST, DUPLICATE_MESSAGE);
    }
    free(keys);
    return 0;
}

/* Numbers the groups of names that are equal once '.' reads as '_'. */
static int group_names(ct_op_t *op) {
    ct_key_t *keys = sorted_keys(op, true);
    int32_t group = 0;

    if (!keys) return -1;
    for (int32_t i = 0; i < op->n_slots; i++) {
        if (i > 0 && key_name_cmp(&keys[i - 1], &keys[i]) != 0) group++;
        op->slots[keys[i].index].group = group;
    }
    free(keys);
    return 0;
}

/* 17 for an illegal name or a '.'/'_' collision with an existing topic or
 * with a topic accepted earlier in this request; 36 for an existing one. */
static bool judge_name(const ct_ctx_t *ctx, ct_op_t *op, int32_t i, char *why) {
    ct_slot_t *s = &op->slots[i];
    int16_t err = KP_ERR_INVALID_TOPIC_EXCEPTION;

    if (!s->cname) {
        snprintf(why, WHY_LEN, "topic name is longer than %d characters or contains a NUL byte",
                 KC_TOPIC_NAME_MAX);
    } else if (kc_topic_name_valid(s->cname, why, WHY_LEN) &&
               kc_topic_check_new(ctx->b->view, s->cname, &err, why, WHY_LEN) == KC_OK) {
        int32_t other = ctx->taken[s->group]; /* a different name: duplicates were refused */
        if (other < 0) return true;
        snprintf(why, WHY_LEN, "Topic '%s' collides with topic '%s' of the same request", s->cname,
                 op->slots[other].cname);
        slot_fail(s, KP_ERR_INVALID_TOPIC_EXCEPTION, why);
        return false;
    }
    slot_fail(s, err, why);
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
    slot_fail(s, KP_ERR_INVALID_REQUEST, why);
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
    slot_fail(s, KP_ERR_INVALID_PARTITIONS, why);
    return true;
}

/* Explicit assignment: 42 when counts are given too, 39 when malformed. */
static int plan_explicit(const ct_ctx_t *ctx, const kp_createtopics_topic_t *t, ct_slot_t *s,
                         kc_topic_t *plan, char *why) {
    kc_topic_t assignment;
    int16_t err = KP_ERR_INVALID_REPLICA_ASSIGNMENT;
    int rc;

    if (t->num_partitions != KP_CREATETOPICS_UNSET || t->replication_factor != KP_CREATETOPICS_UNSET) {
        slot_fail(s, KP_ERR_INVALID_REQUEST, "Both numPartitions or replicationFactor and "
                  "replicasAssignments were set. Both cannot be used at the same time.");
        return -1;
    }
    if (too_many_partitions(t->n_assignments, s, why)) return -1;
    rc = borrow_assignment(t, &assignment, why);
    if (rc == KC_OK)
        rc = kc_topic_plan(s->cname, 0, 0, &assignment, ctx->live, ctx->n_live, plan, &err, why, WHY_LEN);
    free(assignment.partitions);
    if (rc == KC_OK) return 0;
    if (rc == KC_INVALID)
        slot_fail(s, err, why);
    else
        slot_fail(s, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
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

    if (partitions == KP_CREATETOPICS_UNSET) partitions = ctx->b->cfg->num_partitions;
    if (rf == KP_CREATETOPICS_UNSET) rf = ctx->b->cfg->default_replication_factor;
    if (too_many_partitions(partitions, s, why)) return -1;
    rc = kc_topic_plan(s->cname, partitions, rf, NULL, ctx->live, ctx->n_live, plan, &err, why, WHY_LEN);
    if (rc == KC_OK) return 0;
    slot_fail(s, rc == KC_INVALID ? err : KP_ERR_UNKNOWN_SERVER_ERROR, why);
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
    slot_fail(s, rc == -1 ? KP_ERR_INVALID_CONFIG : KP_ERR_UNKNOWN_SERVER_ERROR,
              rc == -1 ? why : "out of memory");
    return -1;
}

/* Writes an accepted topic's znodes; the slot waits for on_written. */
static void start_write(ct_op_t *op, ct_slot_t *s, const kc_topic_t *plan,
                        const kc_config_entry_t *configs, int n_configs) {
    s->state = SLOT_WRITING;
    s->n_partitions = plan->n_partitions;
    op->refs++;
    kc_topic_create(op->b->zk, plan, configs, n_configs, on_written, s);
}

/* Judges topic i (not already refused as a duplicate) and, unless the
 * request only validates, starts its creation. */
static void judge_topic(const ct_ctx_t *ctx, ct_op_t *op, const kp_createtopics_topic_t *t, int32_t i) {
    ct_slot_t *s = &op->slots[i];
    char why[WHY_LEN];
    kc_topic_t plan = {0};
    kc_config_entry_t *configs = NULL;
    int n_configs = 0, rc;

    if (!judge_name(ctx, op, i, why) || !judge_null_configs(t, s, why)) return;
    rc = t->n_assignments > 0 ? plan_explicit(ctx, t, s, &plan, why) : plan_counted(ctx, t, s, &plan, why);
    if (rc == 0 && judge_configs(t, s, &configs, &n_configs, why) == 0 && !op->validate_only)
        start_write(op, s, &plan, configs, n_configs);
    kc_topic_clear(&plan);
    kc_config_entries_free(configs, n_configs);
}

static void refuse_all(ct_op_t *op, int16_t code, const char *why) {
    for (int32_t i = 0; i < op->n_slots; i++) slot_fail(&op->slots[i], code, why);
}

static void judge_all(ct_op_t *op, const kp_createtopics_request_t *body) {
    ct_ctx_t ctx = {op->b, NULL, 0, NULL};

    ctx.live = kc_topic_live_brokers(op->b->view, &ctx.n_live);
    ctx.taken = calloc((size_t)op->n_slots + 1, sizeof(*ctx.taken));
    if (!ctx.live || !ctx.taken || refuse_duplicates(op) != 0 || group_names(op) != 0) {
        refuse_all(op, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
    } else {
        for (int32_t g = 0; g < op->n_slots; g++) ctx.taken[g] = -1;
        for (int32_t i = 0; i < op->n_slots; i++) {
            ct_slot_t *s = &op->slots[i];
            if (s->error_code != KP_ERR_NONE) continue;
            judge_topic(&ctx, op, &body->topics[i], i);
            if (s->error_code == KP_ERR_NONE) ctx.taken[s->group] = i;
        }
    }
    free(ctx.live);
    free(ctx.taken);
}

/* ZooKeeper-era Kafka creates topics on the active controller only. */
static bool controller_here(const kb_broker_t *b) {
    return b && b->controller && kb_controller_active(b->controller) && b->view && b->zk && b->cfg &&
           b->base;
}

static bool any_unsettled(const ct_op_t *op) {
    for (int32_t i = 0; i < op->n_slots; i++)
        if (op->slots[i].state != SLOT_FINAL) return true;
    return false;
}

/* Moves the request to the heap and waits for leaders or timeout_ms (0
 * when timeout_ms <= 0: the answer is then 7 for every written topic).
 * -1 when that is impossible. */
static int park(ct_op_t *op) {
    struct event_base *base = op->b->base;
    int32_t ms = op->timeout_ms > 0 ? op->timeout_ms : 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    kb_request_t *heap;

    op->timer = evtimer_new(base, on_timeout, op);
    op->recheck = event_new(base, -1, 0, on_recheck, op);
    if (!op->timer || !op->recheck || evtimer_add(op->timer, &tv) != 0 ||
        !(heap = kb_api_request_detach(op->req))) {
        if (op->timer) event_free(op->timer);
        if (op->recheck) event_free(op->recheck);
        op->timer = op->recheck = NULL;
        return -1;
    }
    op->req = heap;
    park_link(op);
    return 0;
}

/* ---------------------------------------------------------------- handler */

kb_api_status_t kb_api_createtopics(kb_request_t *req, kp_writer_t *w) {
    kp_createtopics_request_t body;
    ct_op_t *op = NULL;
    kb_api_status_t st = KB_API_REPLY;

    if (kp_createtopics_request_decode(&req->body, req->header.request_api_version, &body) != 0)
        st = KB_API_MALFORMED;
    else if (!(op = op_new(req, &body)))
        st = KB_API_FAILED;
    else if (!controller_here(req->broker))
        refuse_all(op, KP_ERR_NOT_CONTROLLER, NOT_CONTROLLER_MESSAGE);
    else
        judge_all(op, &body);
    kp_createtopics_request_clear(&body); /* the slots keep only frame slices */
    if (op && any_unsettled(op)) {
        if (park(op) == 0) return KB_API_PENDING;
        for (int32_t i = 0; i < op->n_slots; i++)
            if (op->slots[i].state != SLOT_FINAL)
                slot_fail(&op->slots[i], KP_ERR_REQUEST_TIMED_OUT, "cannot wait for the topic's "
                          "leaders (out of memory); its creation continues");
    }
    if (op && encode_answer(op, w) != 0) st = KB_API_FAILED;
    if (op) {
        op->req = NULL; /* writes still in flight must not touch the request */
        op_unref(op);
    }
    return st;
}
