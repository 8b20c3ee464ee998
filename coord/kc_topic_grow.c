/*
 * kc_topic_grow.c - adding partitions to a topic (see kc_topic_grow.h).
 *
 * One round reads, all four requests queued together so they cost one
 * round trip: /brokers/topics/T (data and version), the existence of
 * /admin/delete_topics/T, /admin/reassign_partitions and the children of
 * /brokers/ids.  It then judges and plans (kc_topic_plan_growth) and
 * rewrites the topic znode with setData at the version read.  A rewrite
 * refused for its version means someone changed the topic in between
 * (another alter, a reassignment starting, the controller restoring the
 * znode of a topic being deleted): the round runs again, since the judgement
 * may differ now.
 *
 * Kafka 2.6 refuses, in this order: a topic being deleted (KafkaApis),
 * being reassigned, unknown, a count not above the current one, then an
 * explicit assignment naming unknown brokers, of the wrong length, with an
 * empty or duplicated list or a replication factor other than partition
 * 0's (AdminManager, AdminZkClient).  kbroker checks existence before the
 * deletion marker (a marker can outlive its topic) and adds two refusals
 * of its own: internal topics, whose partition count decides where each
 * group's or transaction's state lives (kafka-topics.sh refuses them too;
 * Kafka's API does not, and its coordinators go on hashing over the count
 * read at start-up until a restart moves every group), and a topic
 * /admin/reassign_partitions names before the controller has marked it.
 */
#include "coord/kc_topic_grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_assign.h"
#include "coord/kc_json.h"
#include "coord/kc_paths.h"
#include "coord/kc_topics.h"

#define KAFKA_UNKNOWN_SERVER_ERROR (-1)
#define KAFKA_UNKNOWN_TOPIC_OR_PARTITION 3
#define KAFKA_INVALID_TOPIC_EXCEPTION 17
#define KAFKA_INVALID_PARTITIONS 37
#define KAFKA_INVALID_REPLICATION_FACTOR 38
#define KAFKA_INVALID_REPLICA_ASSIGNMENT 39
#define KAFKA_REASSIGNMENT_IN_PROGRESS 60

#define PATH_REASSIGN "/admin/reassign_partitions"

/* ---- judging and planning ---- */

/* Appends ", id" (or "id" first) to buf as long as it fits. */
static void append_id(char *buf, size_t size, size_t *used, int32_t id) {
    int w = snprintf(buf + *used, size - *used, "%s%d", *used ? ", " : "", (int)id);
    if (w > 0 && (size_t)w < size - *used) *used += (size_t)w;
}

/* Kafka's first check of an explicit assignment: every broker it names is
 * registered.  Each unknown id is listed once. */
static int check_brokers_known(const kc_partition_t *lists, int n, const int32_t *brokers, int n_brokers,
                               int16_t *err, char *why, size_t whylen) {
    char ids[256] = "";
    size_t used = 0;
    bool any = false;

    for (int p = 0; p < n; p++)
        for (int i = 0; i < lists[p].n_replicas; i++) {
            int32_t b = lists[p].replicas[i];
            if (kc_int32_contains(brokers, n_brokers, b)) continue;
            bool listed = kc_int32_contains(lists[p].replicas, i, b);
            for (int q = 0; q < p && !listed; q++) listed = kc_int32_contains(lists[q].replicas, lists[q].n_replicas, b);
            if (!listed) append_id(ids, sizeof(ids), &used, b);
            any = true;
        }
    if (!any) return KC_OK;
    return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen, "Unknown broker(s) in replica assignment: %s.",
                  ids);
}

/* The per-partition checks of AdminZkClient.validateReplicaAssignment;
 * `first` is the id of lists[0]. */
static int check_lists(const kc_partition_t *lists, int n, int first, int rf, int16_t *err, char *why, size_t whylen) {
    char parts[256] = "", rfs[256] = "";
    size_t pu = 0, ru = 0;

    for (int p = 0; p < n; p++) {
        const kc_partition_t *l = &lists[p];
        if (l->n_replicas == 0)
            return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                          "Cannot have replication factor of 0 for partition id %d.", first + p);
        for (int i = 1; i < l->n_replicas; i++) {
            if (!kc_int32_contains(l->replicas, i, l->replicas[i])) continue;
            char ids[256] = "";
            size_t used = 0;
            for (int j = 0; j < l->n_replicas; j++) append_id(ids, sizeof(ids), &used, l->replicas[j]);
            return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                          "Duplicate brokers not allowed in replica assignment: %s for partition id %d.", ids,
                          first + p);
        }
    }
    for (int p = 0; p < n; p++) {
        if (lists[p].n_replicas == rf) continue;
        append_id(parts, sizeof(parts), &pu, first + p);
        append_id(rfs, sizeof(rfs), &ru, lists[p].n_replicas);
    }
    if (!pu) return KC_OK;
    return kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
                  "Inconsistent replication factor between partitions, partition 0 has %d while partitions [%s] have "
                  "replication factors [%s], respectively.", rf, parts, rfs);
}

/* The new partitions' lists out of an explicit assignment: all of it, or
 * with lists_all and one list per partition, the part past the existing
 * ones.  NULL (a refusal in why) when the length fits neither. */
static const kc_partition_t *new_lists(const kc_topic_t *a, bool lists_all, int32_t old, int32_t count,
                                       const int32_t *brokers, int n_brokers, int16_t *err, char *why,
                                       size_t whylen) {
    int32_t increment = count - old;
    const kc_partition_t *lists = a->partitions;
    int n = a->n_partitions;

    if (lists_all && n == count) {
        lists += old;
        n = increment;
    }
    if (check_brokers_known(lists, n, brokers, n_brokers, err, why, whylen) != KC_OK) return NULL;
    if (n != increment) {
        kc_refuse(err, KAFKA_INVALID_REPLICA_ASSIGNMENT, why, whylen,
               "Increasing the number of partitions by %d but %d assignments provided.", (int)increment, n);
        return NULL;
    }
    return lists;
}

static int copy_lists(kc_topic_t *out, const kc_partition_t *lists, int n) {
    out->partitions = calloc((size_t)n + 1, sizeof(*out->partitions)); /* + 1: never calloc(0) */
    if (!out->partitions) return KC_ERR;
    out->n_partitions = n;
    for (int p = 0; p < n; p++) {
        out->partitions[p].replicas = malloc((size_t)lists[p].n_replicas * sizeof(int32_t) + 1);
        if (!out->partitions[p].replicas) return KC_ERR;
        memcpy(out->partitions[p].replicas, lists[p].replicas, (size_t)lists[p].n_replicas * sizeof(int32_t));
        out->partitions[p].n_replicas = lists[p].n_replicas;
    }
    return KC_OK;
}

/* Kafka's placement over the registered brokers (by racks when not NULL)
 * with the current replication factor. */
static int place(const kc_topic_t *cur, int32_t count, const int32_t *brokers, const char *const *racks,
                 int n_brokers, kc_topic_t *out, int16_t *err, char *why, size_t whylen) {
    const kc_partition_t *p0 = &cur->partitions[0];
    int rf = p0->n_replicas, n = count - cur->n_partitions;

    if (rf > n_brokers)
        return kc_refuse(err, KAFKA_INVALID_REPLICATION_FACTOR, why, whylen,
                      "Replication factor: %d larger than available brokers: %d.", rf, n_brokers);
    int32_t *flat = calloc((size_t)n * (size_t)rf, sizeof(*flat));
    kc_partition_t *lists = calloc((size_t)n, sizeof(*lists));
    int rc = flat && lists ? KC_OK : KC_ERR;
    if (rc == KC_OK &&
        kc_assign_added_replicas(brokers, racks, n_brokers, p0->replicas[0], cur->n_partitions, n, rf, flat) != 0)
        rc = KC_ERR;
    for (int p = 0; rc == KC_OK && p < n; p++) lists[p] = (kc_partition_t){.n_replicas = rf, .replicas = flat + p * rf};
    if (rc == KC_OK) rc = copy_lists(out, lists, n);
    free(flat);
    free(lists);
    return rc;
}

int kc_topic_plan_growth(const kc_topic_t *cur, const char *name, int32_t count, const kc_topic_t *assignment,
                         bool lists_all, const int32_t *brokers, const char *const *racks, int n_brokers,
                         kc_topic_t *added, int16_t *err, char *why, size_t whylen) {
    int32_t old = cur->n_partitions;
    int rc;

    *added = (kc_topic_t){0};
    *err = 0;
    if (old < 1 || cur->partitions[0].n_replicas < 1) {
        snprintf(why, whylen, "the topic znode of '%s' has no partition 0", name);
        return KC_ERR;
    }
    if (kc_topic_is_internal(name))
        return kc_refuse(err, KAFKA_INVALID_PARTITIONS, why, whylen,
                      "The number of partitions for the internal topic %s cannot be changed: it decides which "
                      "partition holds each group's or transaction's state.", name);
    if (count < old)
        return kc_refuse(err, KAFKA_INVALID_PARTITIONS, why, whylen,
                      "Topic currently has %d partitions, which is higher than the requested %d.", (int)old, (int)count);
    if (count == old)
        return kc_refuse(err, KAFKA_INVALID_PARTITIONS, why, whylen, "Topic already has %d partitions.", (int)old);
    if (count > KC_TOPIC_MAX_PARTITIONS)
        return kc_refuse(err, KAFKA_INVALID_PARTITIONS, why, whylen,
                      "%d partitions cannot fit in the topic znode: ZooKeeper refuses requests over its 1 MiB limit "
                      "(jute.maxbuffer), which allows at most %d partitions even with the shortest ids",
                      (int)count, KC_TOPIC_MAX_PARTITIONS);
    if (assignment) {
        const kc_partition_t *lists = new_lists(assignment, lists_all, old, count, brokers, n_brokers, err, why, whylen);
        if (!lists) return KC_INVALID;
        rc = check_lists(lists, count - old, old, cur->partitions[0].n_replicas, err, why, whylen);
        if (rc == KC_OK) rc = copy_lists(added, lists, count - old);
    } else {
        rc = place(cur, count, brokers, racks, n_brokers, added, err, why, whylen);
    }
    if (rc == KC_ERR) snprintf(why, whylen, "out of memory");
    if (rc != KC_OK) kc_topic_clear(added);
    return rc;
}

/* ---- the round trip ---- */

typedef struct grow_op {
    kc_session_t *s;
    kc_grow_done_fn done;
    void *arg;
    char *topic;
    char topic_path[512];
    char delete_path[512];
    int32_t count;
    bool has_assignment, lists_all, validate_only, zk_words;
    kc_topic_t assignment;  /* owned copy */
    kc_grow_accept_fn accept;
    void *accept_arg;
    kc_broker_rack_fn rack_of;
    const void *rack_arg;
    int attempts;
    int pending;            /* reads of this round still out */
    /* What the round read: ZooKeeper return codes and data. */
    int topic_zrc, delete_zrc, reassign_zrc, brokers_zrc;
    char *topic_data, *reassign_data;
    int topic_len, reassign_len;
    int32_t topic_version;
    int32_t *brokers;
    int n_brokers;
    char *json;             /* the rewritten topic znode */
    kc_grow_result_t result;
} grow_op_t;

static void round_reset(grow_op_t *op) {
    free(op->topic_data);
    free(op->reassign_data);
    free(op->brokers);
    free(op->json);
    op->topic_data = op->reassign_data = op->json = NULL;
    op->brokers = NULL;
    op->n_brokers = 0;
    kc_topic_clear(&op->result.added);
}

static void grow_finish(grow_op_t *op, int rc) {
    op->result.rc = rc;
    if (rc != KC_OK) kc_topic_clear(&op->result.added);
    op->done(&op->result, op->arg);
    round_reset(op);
    kc_topic_clear(&op->assignment);
    free(op->topic);
    free(op);
}

/* A refusal with Kafka's code and message. */
static void grow_refuse(grow_op_t *op, int rc, int16_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void grow_refuse(grow_op_t *op, int rc, int16_t code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->result.why, sizeof(op->result.why), fmt, ap);
    va_end(ap);
    op->result.kafka_error = code;
    grow_finish(op, rc);
}

static void grow_zk_failed(grow_op_t *op, int zrc, const char *doing) {
    int rc = kc_from_zrc(zrc);
    snprintf(op->result.why, sizeof(op->result.why), "ZooKeeper failed %s: %s", doing, kc_strerror(rc));
    grow_finish(op, rc == KC_OK ? KC_ERR : rc);
}

static void round_start(grow_op_t *op);

static void written(int rc, const struct Stat *st, const void *data) {
    grow_op_t *op = (grow_op_t *)data;
    if (rc == ZOK) {
        grow_finish(op, KC_OK);
    } else if (rc == ZBADVERSION && op->attempts < KC_GROW_ATTEMPTS) {
        kc_debug("topics", "topic '%s' changed while partitions were being added to it; judging it again "
                 "(attempt %d of %d)", op->topic, op->attempts + 1, KC_GROW_ATTEMPTS);
        round_start(op);
    } else if (rc == ZBADVERSION) {
        grow_refuse(op, KC_BADVERSION, 0, "topic '%s' kept changing while its partitions were being added; "
                    "nothing was written: try again", op->topic);
    } else if (rc == ZNONODE) {
        grow_refuse(op, KC_NONODE, KAFKA_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", op->topic);
    } else {
        grow_zk_failed(op, rc, "rewriting the topic znode; the partitions may or may not have been added");
    }
}

/* The rewritten znode must fit in one ZooKeeper request (a create of the
 * same size bounds the setData). */
static bool fits(const grow_op_t *op) {
    return kc_zk_create_request_size(op->topic_path, strlen(op->json)) <= KC_ZK_MAX_REQUEST_BYTES;
}

static void write_topic(grow_op_t *op) {
    op->json = kc_json_topic_add_partitions(op->topic_data, (size_t)op->topic_len, op->result.added.partitions,
                                            op->result.added.n_partitions, op->result.old_count);
    if (!op->json) {
        grow_refuse(op, KC_ERR, 0, "the topic znode of '%s' could not be rewritten (malformed, or out of memory)",
                    op->topic);
        return;
    }
    if (!fits(op)) {
        grow_refuse(op, KC_INVALID, KAFKA_INVALID_PARTITIONS, "the topic znode of '%s' with these partitions exceeds "
                    "ZooKeeper's 1 MiB request limit (jute.maxbuffer): add fewer partitions", op->topic);
        return;
    }
    if (op->accept && !op->accept(&op->result.added, op->accept_arg, &op->result.kafka_error, op->result.why,
                                  sizeof(op->result.why))) {
        grow_finish(op, KC_INVALID);
        return;
    }
    if (op->validate_only) {
        grow_finish(op, KC_OK);
        return;
    }
    zhandle_t *zh = kc_session_handle(op->s);
    int zrc = zh ? zoo_aset(zh, op->topic_path, op->json, (int)strlen(op->json), op->topic_version, written, op)
                 : ZCONNECTIONLOSS;
    if (zrc != ZOK) grow_zk_failed(op, zrc, "rewriting the topic znode");
    else kc_session_kick(op->s);
}

/* The registered broker ids, ascending; -1 when a child is not an id. */
static int brokers_from(grow_op_t *op, const struct String_vector *children) {
    int n = children ? children->count : 0;
    op->brokers = calloc((size_t)n + 1, sizeof(*op->brokers));
    if (!op->brokers) return -1;
    for (int i = 0; i < n; i++) {
        char *end;
        long id = strtol(children->data[i], &end, 10);
        if (*end != '\0' || id < 0 || id > INT32_MAX) continue; /* not a broker id: ignored, as Kafka does */
        op->brokers[op->n_brokers++] = (int32_t)id;
    }
    for (int i = 1; i < op->n_brokers; i++) /* insertion sort: a handful of brokers */
        for (int j = i; j > 0 && op->brokers[j - 1] > op->brokers[j]; j--) {
            int32_t t = op->brokers[j];
            op->brokers[j] = op->brokers[j - 1];
            op->brokers[j - 1] = t;
        }
    return 0;
}

/* The first refusal the reads show, in Kafka's order (see the top), or
 * false when the topic may grow. */
static bool refused_by_reads(grow_op_t *op) {
    if (op->topic_zrc == ZNONODE)
        grow_refuse(op, KC_NONODE, KAFKA_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", op->topic);
    else if (op->topic_zrc != ZOK)
        grow_zk_failed(op, op->topic_zrc, "reading the topic znode");
    else if (op->delete_zrc == ZOK)
        grow_refuse(op, KC_INVALID, KAFKA_INVALID_TOPIC_EXCEPTION, "The topic is queued for deletion.");
    else if (op->delete_zrc != ZNONODE)
        grow_zk_failed(op, op->delete_zrc, "checking the deletion marker");
    else if (op->reassign_zrc != ZOK && op->reassign_zrc != ZNONODE)
        grow_zk_failed(op, op->reassign_zrc, "reading " PATH_REASSIGN);
    else if (op->brokers_zrc != ZOK)
        grow_zk_failed(op, op->brokers_zrc, "listing the registered brokers");
    else if (kc_json_topic_reassigning(op->topic_data, (size_t)op->topic_len) ||
             (op->reassign_data &&
              kc_json_reassignment_names_topic(op->reassign_data, (size_t)op->reassign_len, op->topic)))
        grow_refuse(op, KC_INVALID, KAFKA_REASSIGNMENT_IN_PROGRESS,
                    "A partition reassignment is in progress for the topic '%s'.", op->topic);
    else
        return false;
    return true;
}

/* The racks Kafka's placement uses for the round's brokers: 0 with *racks
 * NULL (rack-unaware, or an explicit assignment) or an array the caller
 * frees; -1 after refusing the round (a mixed set, or out of memory). */
static int placement_racks(grow_op_t *op, const char ***racks) {
    bool mixed = false;
    *racks = NULL;
    if (op->has_assignment || !op->rack_of) return 0;
    if (kc_topic_placement_racks(op->brokers, op->n_brokers, op->rack_of, op->rack_arg, KC_RACKS_ENFORCED, racks,
                                 &mixed) != 0) {
        grow_refuse(op, KC_ERR, 0, "out of memory");
        return -1;
    }
    if (!mixed) return 0;
    grow_refuse(op, KC_INVALID, KAFKA_UNKNOWN_SERVER_ERROR, "Not all brokers have rack information. Add "
                "--disable-rack-aware in command line to make replica assignment without rack information.");
    return -1;
}

/* The reads are in: judge, plan, write. */
static void judge(grow_op_t *op) {
    kc_topic_t cur;
    const char **racks;

    if (refused_by_reads(op) || placement_racks(op, &racks) != 0) return;
    if (kc_json_topic_decode(op->topic_data, (size_t)op->topic_len, &cur) != 0) {
        free(racks);
        grow_refuse(op, KC_ERR, 0, "the topic znode of '%s' is malformed", op->topic);
        return;
    }
    op->result.old_count = cur.n_partitions;
    if (op->zk_words && op->count <= cur.n_partitions && !kc_topic_is_internal(op->topic)) {
        grow_refuse(op, KC_INVALID, KAFKA_INVALID_PARTITIONS, "The number of partitions for a topic can only be "
                    "increased. Topic %s currently has %d partitions, %d would not be an increase.", op->topic,
                    (int)cur.n_partitions, (int)op->count);
        kc_topic_clear(&cur);
        free(racks);
        return;
    }
    int rc = kc_topic_plan_growth(&cur, op->topic, op->count, op->has_assignment ? &op->assignment : NULL,
                                  op->lists_all, op->brokers, racks, op->n_brokers, &op->result.added,
                                  &op->result.kafka_error, op->result.why, sizeof(op->result.why));
    kc_topic_clear(&cur);
    free(racks);
    if (rc != KC_OK) grow_finish(op, rc);
    else write_topic(op);
}

static void read_done(grow_op_t *op) {
    if (--op->pending == 0) judge(op);
}

/* Keeps a copy of what a read returned in *out (NULL and 0 for no data);
 * false when out of memory. */
static bool copy_data(const char *value, int len, char **out, int *out_len) {
    *out = NULL;
    *out_len = 0;
    if (!value || len <= 0) return true;
    if (!(*out = malloc((size_t)len))) return false;
    memcpy(*out, value, (size_t)len);
    *out_len = len;
    return true;
}

static void topic_read(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    grow_op_t *op = (grow_op_t *)data;
    op->topic_zrc = rc;
    if (rc == ZOK) {
        if (!copy_data(value, len, &op->topic_data, &op->topic_len)) op->topic_zrc = ZSYSTEMERROR;
        op->topic_version = st->version;
    }
    read_done(op);
}

static void marker_checked(int rc, const struct Stat *st, const void *data) {
    grow_op_t *op = (grow_op_t *)data;
    op->delete_zrc = rc;
    read_done(op);
}

static void reassign_read(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    grow_op_t *op = (grow_op_t *)data;
    op->reassign_zrc = rc;
    if (rc == ZOK && !copy_data(value, len, &op->reassign_data, &op->reassign_len)) op->reassign_zrc = ZSYSTEMERROR;
    read_done(op);
}

static void brokers_listed(int rc, const struct String_vector *children, const void *data) {
    grow_op_t *op = (grow_op_t *)data;
    op->brokers_zrc = rc == ZOK && brokers_from(op, children) != 0 ? ZSYSTEMERROR : rc;
    read_done(op);
}

/* Queues the round's four reads; one that cannot be sent completes at
 * once with its error. */
static void round_start(grow_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int zrc[4];

    round_reset(op);
    op->attempts++;
    op->pending = 4;
    zrc[0] = zh ? zoo_aget(zh, op->topic_path, 0, topic_read, op) : ZCONNECTIONLOSS;
    zrc[1] = zh ? zoo_aexists(zh, op->delete_path, 0, marker_checked, op) : ZCONNECTIONLOSS;
    zrc[2] = zh ? zoo_aget(zh, PATH_REASSIGN, 0, reassign_read, op) : ZCONNECTIONLOSS;
    zrc[3] = zh ? zoo_aget_children(zh, KC_PATH_BROKER_IDS, 0, brokers_listed, op) : ZCONNECTIONLOSS;
    if (zh) kc_session_kick(op->s);
    if (zrc[0] != ZOK) topic_read(zrc[0], NULL, 0, NULL, op);
    if (zrc[1] != ZOK) marker_checked(zrc[1], NULL, op);
    if (zrc[2] != ZOK) reassign_read(zrc[2], NULL, 0, NULL, op);
    if (zrc[3] != ZOK) brokers_listed(zrc[3], NULL, op);
}

/* An owned copy of the caller's assignment. */
static int copy_assignment(grow_op_t *op, const kc_topic_t *a) {
    op->has_assignment = true;
    return copy_lists(&op->assignment, a->partitions, a->n_partitions);
}

void kc_topic_grow(kc_session_t *s, const kc_grow_request_t *req, kc_grow_done_fn done, void *arg) {
    grow_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        kc_grow_result_t r = {.rc = KC_ERR, .why = "out of memory"};
        done(&r, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    op->count = req->count;
    op->lists_all = req->lists_all;
    op->validate_only = req->validate_only;
    op->zk_words = req->zk_words;
    op->accept = req->accept;
    op->accept_arg = req->accept_arg;
    op->rack_of = req->rack_of;
    op->rack_arg = req->rack_arg;
    op->topic = strdup(req->topic);
    if (!op->topic || (req->assignment && copy_assignment(op, req->assignment) != KC_OK)) {
        grow_refuse(op, KC_ERR, 0, "out of memory");
        return;
    }
    /* A name Kafka could not have created names no topic. */
    if (!kc_topic_name_valid(op->topic, op->result.why, sizeof(op->result.why))) {
        grow_refuse(op, KC_NONODE, KAFKA_UNKNOWN_TOPIC_OR_PARTITION, "The topic '%s' does not exist.", op->topic);
        return;
    }
    kc_path_topic(op->topic_path, sizeof(op->topic_path), op->topic);
    snprintf(op->delete_path, sizeof(op->delete_path), "%s/%s", KC_PATH_DELETE_TOPICS, op->topic);
    round_start(op);
}
