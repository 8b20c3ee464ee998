/*
 * kc_topics.c - topic creation and the controller's partition state writes.
 *
 * Creation order is Kafka's: refuse an existing topic, write
 * /config/topics/T, then create /brokers/topics/T.  The controller watches
 * /brokers/topics only, so it never sees a topic whose config is missing.
 *
 * Controller writes go out as multis led by a check of /controller_epoch at
 * the version the controller won with: a broker that lost the controller
 * role without noticing yet cannot overwrite its successor's decisions.
 */
#include "coord/kc_topics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_assign.h"
#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_paths.h"

/* Kafka error codes reported by kc_topic_plan. */
#define KAFKA_INVALID_TOPIC_EXCEPTION 17
#define KAFKA_TOPIC_ALREADY_EXISTS 36
#define KAFKA_INVALID_PARTITIONS 37
#define KAFKA_INVALID_REPLICATION_FACTOR 38
#define KAFKA_INVALID_REPLICA_ASSIGNMENT 39

/* ---- planning ---- */

int kc_refuse(int16_t *kafka_error, int16_t code, char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    *kafka_error = code;
    return KC_INVALID;
}

static int check_assignment(const kc_topic_t *a, const int32_t *live, int n_live, int16_t *err, char *why,
                            size_t whylen) {
    if (a->n_partitions <= 0)
        return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen, "replica assignment lists no partitions");
    int rf = a->partitions[0].n_replicas;
    for (int p = 0; p < a->n_partitions; p++) {
        const kc_partition_t *part = &a->partitions[p];
        if (part->n_replicas <= 0)
            return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                             "partition %d is assigned to no broker", p);
        if (part->n_replicas != rf)
            return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                             "partition %d has %d replicas but partition 0 has %d", p, part->n_replicas, rf);
        for (int i = 0; i < part->n_replicas; i++) {
            int32_t b = part->replicas[i];
            if (kc_int32_contains(part->replicas, i, b))
                return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                                 "partition %d lists broker %d twice", p, (int)b);
            if (!kc_int32_contains(live, n_live, b))
                return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                                 "partition %d is assigned to unknown broker %d", p, (int)b);
        }
    }
    return KC_OK;
}

static int alloc_partitions(kc_topic_t *out, int n, int rf) {
    out->partitions = calloc((size_t)n, sizeof(*out->partitions));
    if (!out->partitions) return KC_ERR;
    out->n_partitions = n;
    for (int p = 0; p < n; p++) {
        out->partitions[p].replicas = calloc((size_t)rf, sizeof(int32_t));
        if (!out->partitions[p].replicas) return KC_ERR;
        out->partitions[p].n_replicas = rf;
    }
    return KC_OK;
}

static size_t decimal_len(int64_t v) {
    size_t n = v < 0 ? 2 : 1;
    for (uint64_t u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v; u >= 10; u /= 10) n++;
    return n;
}

/* Counted rather than encoded: encoding a 100,000-partition topic only to
 * measure it would hold the event loop for a large part of a second. */
/* ,"p":[a,b] for one list of partition p; `first` leaves the comma out. */
static size_t list_entry_len(int p, const int32_t *ids, int n, bool first) {
    size_t len = !first + 2 + decimal_len(p) + 1 + 2;
    for (int i = 0; i < n; i++) len += (i > 0) + decimal_len(ids[i]);
    return len;
}

size_t kc_topic_znode_size(const kc_topic_t *t) {
    size_t n = strlen("{\"version\":2,\"partitions\":{},\"adding_replicas\":{},\"removing_replicas\":{}}");
    int adding = 0, removing = 0;
    for (int p = 0; p < t->n_partitions; p++) {
        const kc_partition_t *part = &t->partitions[p];
        n += list_entry_len(p, part->replicas, part->n_replicas, p == 0);
        if (part->n_adding > 0) n += list_entry_len(p, part->adding, part->n_adding, adding++ == 0);
        if (part->n_removing > 0) n += list_entry_len(p, part->removing, part->n_removing, removing++ == 0);
    }
    return n;
}

/* The topic znode must fit in one ZooKeeper request: a larger one would
 * make the server drop the connection on every try. */
static int check_znode_size(kc_topic_t *t, int16_t *kafka_error, char *why, size_t whylen) {
    char path[512];
    kc_path_topic(path, sizeof(path), t->name);
    size_t size = kc_zk_create_request_size(path, kc_topic_znode_size(t));
    if (size <= KC_ZK_MAX_REQUEST_BYTES) return KC_OK;
    int partitions = t->n_partitions, rf = t->partitions[0].n_replicas;
    kc_topic_clear(t);
    return kc_refuse(kafka_error, KAFKA_INVALID_PARTITIONS, why, whylen,
                     "%d partitions with replication factor %d make the topic znode a %zu-byte ZooKeeper request; "
                     "ZooKeeper refuses requests over its 1 MiB limit (jute.maxbuffer, %d bytes): use fewer partitions",
                     partitions, rf, size, KC_ZK_MAX_REQUEST_BYTES);
}

int kc_topic_plan(const char *name, int32_t partitions, int32_t rf, const kc_topic_t *assignment,
                  const int32_t *live_brokers, const char *const *racks, int n_live, kc_topic_t *out,
                  int16_t *kafka_error, char *why, size_t whylen) {
    *out = (kc_topic_t){0};
    *kafka_error = 0;
    if (!kc_topic_name_valid(name, why, whylen)) {
        *kafka_error = KAFKA_INVALID_TOPIC_EXCEPTION;
        return KC_INVALID;
    }
    int rc;
    if (assignment) {
        rc = check_assignment(assignment, live_brokers, n_live, kafka_error, why, whylen);
        if (rc != KC_OK) return rc;
        partitions = assignment->n_partitions;
        rf = assignment->partitions[0].n_replicas;
    } else if (partitions <= 0) {
        return kc_refuse(kafka_error, KAFKA_INVALID_PARTITIONS, why, whylen, "number of partitions must be larger than 0");
    } else if (partitions > KC_TOPIC_MAX_PARTITIONS) {
        return kc_refuse(kafka_error, KAFKA_INVALID_PARTITIONS, why, whylen,
                         "%d partitions cannot fit in the topic znode: ZooKeeper refuses requests over its "
                         "1 MiB limit (jute.maxbuffer, %d bytes), which allows at most %d partitions even "
                         "with the shortest ids",
                         (int)partitions, KC_ZK_MAX_REQUEST_BYTES, KC_TOPIC_MAX_PARTITIONS);
    } else if (rf <= 0) {
        return kc_refuse(kafka_error, KAFKA_INVALID_REPLICATION_FACTOR, why, whylen,
                         "replication factor must be larger than 0");
    } else if (rf > n_live) {
        return kc_refuse(kafka_error, KAFKA_INVALID_REPLICATION_FACTOR, why, whylen,
                         "Replication factor: %d larger than available brokers: %d.", (int)rf, n_live);
    }
    out->name = strdup(name);
    if (!out->name || alloc_partitions(out, partitions, rf) != KC_OK) goto oom;
    for (int p = 0; p < partitions; p++) {
        if (assignment)
            memcpy(out->partitions[p].replicas, assignment->partitions[p].replicas, (size_t)rf * sizeof(int32_t));
    }
    if (!assignment) {
        int32_t *flat = calloc((size_t)partitions * (size_t)rf, sizeof(int32_t));
        if (!flat) goto oom;
        int placed = racks ? kc_assign_replicas_racked(live_brokers, racks, n_live, partitions, rf, -1, 0, flat)
                           : kc_assign_replicas(live_brokers, n_live, partitions, rf, -1, 0, flat);
        if (placed != 0) {
            free(flat);
            goto oom; /* the arguments were checked above */
        }
        for (int p = 0; p < partitions; p++)
            memcpy(out->partitions[p].replicas, flat + (size_t)p * (size_t)rf, (size_t)rf * sizeof(int32_t));
        free(flat);
    }
    return check_znode_size(out, kafka_error, why, whylen);
oom:
    kc_topic_clear(out);
    snprintf(why, whylen, "out of memory");
    return KC_ERR;
}

/* ---- checks against the existing topics and brokers ---- */

static int id_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int32_t *kc_topic_live_brokers(int n, kc_broker_id_at_fn id_at, const void *arg) {
    int32_t *ids = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(*ids)); /* + 1: never calloc(0) */

    if (!ids) return NULL;
    for (int i = 0; i < n; i++) ids[i] = id_at(i, arg);
    qsort(ids, (size_t)(n > 0 ? n : 0), sizeof(*ids), id_cmp);
    return ids;
}

int kc_topic_placement_racks(const int32_t *ids, int n, kc_broker_rack_fn rack_of, const void *arg,
                             kc_rack_mode_t mode, const char ***racks, bool *mixed) {
    const char **all = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(*all)); /* + 1: never calloc(0) */

    *racks = NULL;
    *mixed = false;
    if (!all) return -1;
    for (int i = 0; i < n; i++) all[i] = rack_of(ids[i], arg);
    if (kc_assign_racks_used(all, n, mode, mixed)) *racks = all;
    else free(all);
    return 0;
}

/* Binary search over names sorted by strcmp. */
static bool name_listed(const char *name, int n, kc_topic_name_at_fn name_at, const void *arg) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name_at(mid, arg), name);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return false;
}

int kc_topic_check_new(const char *name, int n_topics, kc_topic_name_at_fn name_at, const void *arg,
                       int16_t *kafka_error, char *why, size_t whylen) {
    *kafka_error = 0;
    if (name_listed(name, n_topics, name_at, arg)) {
        snprintf(why, whylen, "Topic '%s' already exists.", name);
        *kafka_error = KAFKA_TOPIC_ALREADY_EXISTS;
        return KC_EXISTS;
    }
    /* Only a name holding '.' or '_' can collide (Kafka skips the scan too). */
    if (!strpbrk(name, "._")) return KC_OK;
    /* AdminZkClient.validateTopicCreate's words: every colliding name,
     * ", " between them (cut at whylen). */
    size_t used = 0;
    for (int i = 0; i < n_topics; i++) {
        const char *other = name_at(i, arg);
        if (!kc_topic_names_collide(name, other)) continue;
        int w = used == 0 ? snprintf(why, whylen, "Topic '%s' collides with existing topics: %s", name, other)
                          : snprintf(why + used, whylen - used, ", %s", other);
        used = w < 0 ? whylen : used + (size_t)w;
        if (used >= whylen) break;
    }
    if (used == 0) return KC_OK;
    *kafka_error = KAFKA_INVALID_TOPIC_EXCEPTION;
    return KC_INVALID;
}

/* ---- creation ---- */

typedef struct create_op {
    kc_session_t *s;
    char marker_path[512];
    char topic_path[512];
    char config_path[512];
    char *topic_json;
    char *config_json;
    kc_done_fn done;
    void *arg;
} create_op_t;

static void create_finish(create_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op->topic_json);
    free(op->config_json);
    free(op);
}

static zhandle_t *create_zh(create_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    if (!zh) create_finish(op, KC_CONNLOSS);
    return zh;
}

static void topic_created(int rc, const char *value, const void *data) {
    create_finish((create_op_t *)data, kc_from_zrc(rc));
}

static void create_topic_znode(create_op_t *op) {
    zhandle_t *zh = create_zh(op);
    if (!zh) return;
    int rc = zoo_acreate(zh, op->topic_path, op->topic_json, (int)strlen(op->topic_json), &ZOO_OPEN_ACL_UNSAFE, 0,
                         topic_created, op);
    if (rc != ZOK) create_finish(op, kc_from_zrc(rc));
    kc_session_kick(op->s);
}

static void config_set(int rc, const struct Stat *st, const void *data) {
    create_op_t *op = (create_op_t *)data;
    if (rc == ZOK) create_topic_znode(op);
    else create_finish(op, kc_from_zrc(rc));
}

/* A config left behind by an earlier, half-finished creation is overwritten,
 * as Kafka's setOrCreateEntityConfigs does. */
static void config_created(int rc, const char *value, const void *data) {
    create_op_t *op = (create_op_t *)data;
    if (rc == ZOK) {
        create_topic_znode(op);
    } else if (rc == ZNODEEXISTS) {
        zhandle_t *zh = create_zh(op);
        if (!zh) return;
        int zrc = zoo_aset(zh, op->config_path, op->config_json, (int)strlen(op->config_json), -1, config_set, op);
        if (zrc != ZOK) create_finish(op, kc_from_zrc(zrc));
        kc_session_kick(op->s);
    } else {
        create_finish(op, kc_from_zrc(rc));
    }
}

static void parents_ready(int rc, const char *value, const void *data) {}

static void topic_checked(int rc, const struct Stat *st, const void *data) {
    create_op_t *op = (create_op_t *)data;
    if (rc == ZOK) {
        create_finish(op, KC_EXISTS);
        return;
    }
    if (rc != ZNONODE) {
        create_finish(op, kc_from_zrc(rc));
        return;
    }
    zhandle_t *zh = create_zh(op);
    if (!zh) return;
    /* The admin tool may run before any broker created the base paths. */
    static const char *parents[] = {"/config", KC_PATH_CONFIG_TOPICS, "/brokers", KC_PATH_BROKER_TOPICS};
    for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++)
        zoo_acreate(zh, parents[i], NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, parents_ready, op);
    int zrc = zoo_acreate(zh, op->config_path, op->config_json, (int)strlen(op->config_json), &ZOO_OPEN_ACL_UNSAFE, 0,
                          config_created, op);
    if (zrc != ZOK) create_finish(op, kc_from_zrc(zrc));
    kc_session_kick(op->s);
}

/* A topic whose deletion has not finished (its marker is deleted last)
 * is not created again yet: the deletion would remove the new topic's
 * config (it deletes /config/topics/T after the topic znode) and its
 * brokers would still be deleting the old logs. */
static void marker_checked(int rc, const struct Stat *st, const void *data) {
    create_op_t *op = (create_op_t *)data;
    if (rc != ZNONODE) {
        create_finish(op, rc == ZOK ? KC_MARKED : kc_from_zrc(rc));
        return;
    }
    zhandle_t *zh = create_zh(op);
    if (!zh) return;
    int zrc = zoo_aexists(zh, op->topic_path, 0, topic_checked, op);
    if (zrc != ZOK) create_finish(op, kc_from_zrc(zrc));
    kc_session_kick(op->s);
}

void kc_topic_create(kc_session_t *s, const kc_topic_t *topic, const kc_config_entry_t *configs, int n_configs,
                     kc_done_fn done, void *arg) {
    create_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        done(KC_ERR, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    kc_path_delete_topic(op->marker_path, sizeof(op->marker_path), topic->name);
    kc_path_topic(op->topic_path, sizeof(op->topic_path), topic->name);
    kc_path_topic_config(op->config_path, sizeof(op->config_path), topic->name);
    op->topic_json = kc_json_topic_encode(topic);
    op->config_json = kc_json_config_encode(configs, n_configs);
    if (!op->topic_json || !op->config_json) {
        create_finish(op, KC_ERR);
        return;
    }
    zhandle_t *zh = create_zh(op);
    if (!zh) return;
    int rc = zoo_aexists(zh, op->marker_path, 0, marker_checked, op);
    if (rc != ZOK) create_finish(op, kc_from_zrc(rc));
    kc_session_kick(s);
}

/* ---- controller writes: multi[check /controller_epoch, op] ---- */

typedef struct fenced_op {
    kc_session_t *s;
    int pending;
    int rc;        /* result of the last (state) step */
    bool fenced;
    char paths[3][512];
    char *json;
    zoo_op_t ops[3][2];
    zoo_op_result_t results[3][2];
    struct Stat stat;
    kc_done_fn done;
    void *arg;
} fenced_op_t;

static void fenced_step_done(fenced_op_t *op, int step, int last_step, int rc) {
    /* A failed check means another controller bumped the epoch. */
    if (rc != ZOK && (op->results[step][0].err == ZBADVERSION || op->results[step][0].err == ZNONODE))
        op->fenced = true;
    if (step == last_step) op->rc = kc_from_zrc(rc);
    if (--op->pending > 0) return;
    op->done(op->fenced ? KC_FENCED : op->rc, op->arg);
    free(op->json);
    free(op);
}

static void state_create_step(int rc, const void *data);

static void state_create_step0(int rc, const void *data) { fenced_step_done((fenced_op_t *)data, 0, 2, rc); }
static void state_create_step1(int rc, const void *data) { fenced_step_done((fenced_op_t *)data, 1, 2, rc); }
static void state_create_step(int rc, const void *data) { fenced_step_done((fenced_op_t *)data, 2, 2, rc); }

static fenced_op_t *fenced_op_new(kc_session_t *s, const kc_partition_state_t *state, kc_done_fn done, void *arg) {
    fenced_op_t *op = calloc(1, sizeof(*op));
    if (!op || !(op->json = kc_json_state_encode(state))) {
        free(op);
        done(KC_ERR, arg);
        return NULL;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    return op;
}

/* Kafka creates .../partitions and .../partitions/P (ignoring NodeExists) and
 * then the state, each wrapped in the epoch check; the three multis are
 * queued together and ZooKeeper applies them in order. */
void kc_state_create(kc_session_t *s, const char *topic, int32_t partition, const kc_partition_state_t *state,
                     int32_t epoch_zk_version, kc_done_fn done, void *arg) {
    static void_completion_t steps[3] = {state_create_step0, state_create_step1, state_create_step};
    zhandle_t *zh = kc_session_handle(s);
    if (!zh) {
        done(KC_CONNLOSS, arg);
        return;
    }
    fenced_op_t *op = fenced_op_new(s, state, done, arg);
    if (!op) return;
    kc_path_partitions(op->paths[0], sizeof(op->paths[0]), topic);
    kc_path_partition(op->paths[1], sizeof(op->paths[1]), topic, partition);
    kc_path_state(op->paths[2], sizeof(op->paths[2]), topic, partition);
    op->pending = 3;
    for (int i = 0; i < 3; i++) {
        bool is_state = i == 2;
        zoo_check_op_init(&op->ops[i][0], KC_PATH_CONTROLLER_EPOCH, epoch_zk_version);
        zoo_create_op_init(&op->ops[i][1], op->paths[i], is_state ? op->json : NULL,
                           is_state ? (int)strlen(op->json) : -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        int rc = zoo_amulti(zh, 2, op->ops[i], op->results[i], steps[i], op);
        if (rc != ZOK) steps[i](rc, op);
    }
    kc_session_kick(s);
}

static void state_update_done(int rc, const void *data) { fenced_step_done((fenced_op_t *)data, 0, 0, rc); }

void kc_state_update(kc_session_t *s, const char *topic, int32_t partition, const kc_partition_state_t *state,
                     int32_t epoch_zk_version, kc_done_fn done, void *arg) {
    zhandle_t *zh = kc_session_handle(s);
    if (!zh) {
        done(KC_CONNLOSS, arg);
        return;
    }
    fenced_op_t *op = fenced_op_new(s, state, done, arg);
    if (!op) return;
    kc_path_state(op->paths[0], sizeof(op->paths[0]), topic, partition);
    op->pending = 1;
    zoo_check_op_init(&op->ops[0][0], KC_PATH_CONTROLLER_EPOCH, epoch_zk_version);
    zoo_set_op_init(&op->ops[0][1], op->paths[0], op->json, (int)strlen(op->json), state->zk_version, &op->stat);
    int rc = zoo_amulti(zh, 2, op->ops[0], op->results[0], state_update_done, op);
    if (rc != ZOK) state_update_done(rc, op);
    kc_session_kick(s);
}
