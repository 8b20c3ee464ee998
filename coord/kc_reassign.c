/*
 * kc_reassign.c - /admin/reassign_partitions and the controller's topic
 * znode rewrite during a reassignment (see kc_reassign.h).
 *
 * The JSON is Kafka's ReassignPartitionsZNode (keys topic, partition,
 * replicas per entry), read by the controller from whatever a tool or a
 * person wrote, so the decoder checks everything it relies on and says
 * what was wrong in the words of Kafka's own tool.  The ZooKeeper
 * operations are small asynchronous state machines whose context is freed
 * right after its done callback; the client runs pending completions with
 * ZCLOSING when the session closes, so no context outlives the session.
 */
#include "coord/kc_reassign.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "coord/kc_json.h"
#include "coord/kc_paths.h"

/* A drop that keeps losing to concurrent writers of the znode gives up. */
#define DROP_ATTEMPTS 10

void kc_reassign_entries_free(kc_reassign_entry_t *e, int n) {
    for (int i = 0; e && i < n; i++) {
        free(e[i].topic);
        free(e[i].replicas);
    }
    free(e);
}

/* ---- encoding ---- */

static json_t *entry_object(const kc_reassign_entry_t *e) {
    json_t *o = json_object(), *ids = json_array();
    bool ok = o && ids;
    for (int i = 0; ok && i < e->n_replicas; i++) ok = json_array_append_new(ids, json_integer(e->replicas[i])) == 0;
    ok = ok && json_object_set_new(o, "topic", json_string(e->topic)) == 0;
    ok = ok && json_object_set_new(o, "partition", json_integer(e->partition)) == 0;
    if (ok) {
        ok = json_object_set_new(o, "replicas", ids) == 0;
        ids = NULL; /* owned by o now, whatever the outcome */
    }
    json_decref(ids);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *kc_reassign_encode(const kc_reassign_entry_t *e, int n) {
    json_t *root = json_object(), *arr = json_array();
    bool ok = root && arr;
    char *text = NULL;
    for (int i = 0; ok && i < n; i++) ok = json_array_append_new(arr, entry_object(&e[i])) == 0;
    ok = ok && json_object_set_new(root, "version", json_integer(1)) == 0;
    if (ok) {
        ok = json_object_set_new(root, "partitions", arr) == 0;
        arr = NULL;
    }
    json_decref(arr);
    if (ok) text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* ---- decoding ---- */

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (why && whylen) vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Kafka's tool names a partition "topic-partition"; the name is cut in
 * messages, since a hostile znode's may be long. */
#define NAME_IN_MESSAGE 200

/* "log_dirs", when given, must be one "any" per replica. */
static int check_log_dirs(const json_t *dirs, const kc_reassign_entry_t *e, char *why, size_t whylen) {
    if (!dirs || json_is_null(dirs)) return 0;
    if (!json_is_array(dirs) || json_array_size(dirs) != (size_t)e->n_replicas)
        return fail(why, whylen, "Size of replicas list is different from size of log dirs list for partition %.*s-%d",
                    NAME_IN_MESSAGE, e->topic, (int)e->partition);
    for (size_t i = 0; i < json_array_size(dirs); i++) {
        const json_t *d = json_array_get(dirs, i);
        if (!json_is_string(d) || strcmp(json_string_value(d), "any") != 0)
            return fail(why, whylen, "partition %.*s-%d: kbroker moves no replica between log directories (log_dirs "
                        "must be \"any\")", NAME_IN_MESSAGE, e->topic, (int)e->partition);
    }
    return 0;
}

static int decode_replicas(const json_t *arr, kc_reassign_entry_t *e, char *why, size_t whylen) {
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (!json_is_array(arr)) return fail(why, whylen, "partition %.*s-%d has no replicas array", NAME_IN_MESSAGE,
                                         e->topic, (int)e->partition);
    if (n == 0) return fail(why, whylen, "Partition replica list cannot be empty");
    if (n > INT32_MAX / sizeof(int32_t) || !(e->replicas = malloc(n * sizeof(int32_t)))) return fail(why, whylen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (x < 0 || x > INT32_MAX)
            return fail(why, whylen, "Invalid broker id in replica list of partition %.*s-%d", NAME_IN_MESSAGE,
                        e->topic, (int)e->partition);
        if (kc_int32_contains(e->replicas, (int)i, (int32_t)x))
            return fail(why, whylen, "Partition replica lists may not contain duplicate entries: %.*s-%d contains "
                        "multiple entries for %d", NAME_IN_MESSAGE, e->topic, (int)e->partition, (int)x);
        e->replicas[i] = (int32_t)x;
        e->n_replicas = (int)i + 1;
    }
    return 0;
}

static int decode_entry(const json_t *o, kc_reassign_entry_t *e, char *why, size_t whylen) {
    const json_t *topic = json_object_get(o, "topic"), *part = json_object_get(o, "partition");
    if (!json_is_object(o) || !json_is_string(topic) || !json_is_integer(part))
        return fail(why, whylen, "every partition needs a string \"topic\" and an integer \"partition\"");
    if (json_integer_value(part) < 0 || json_integer_value(part) > INT32_MAX)
        return fail(why, whylen, "invalid partition %lld", (long long)json_integer_value(part));
    if (!(e->topic = strdup(json_string_value(topic)))) return fail(why, whylen, "out of memory");
    e->partition = (int32_t)json_integer_value(part);
    if (decode_replicas(json_object_get(o, "replicas"), e, why, whylen) < 0) return -1;
    return check_log_dirs(json_object_get(o, "log_dirs"), e, why, whylen);
}

static int entry_cmp(const void *a, const void *b) {
    const kc_reassign_entry_t *x = *(const kc_reassign_entry_t *const *)a, *y = *(const kc_reassign_entry_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* A partition listed twice, found by sorting pointers (O(n log n) for a
 * hostile list of any length). */
static int check_unique(kc_reassign_entry_t *e, int n, char *why, size_t whylen) {
    if (n < 2) return 0;
    kc_reassign_entry_t **sorted = malloc((size_t)n * sizeof(*sorted));
    if (!sorted) return fail(why, whylen, "out of memory");
    for (int i = 0; i < n; i++) sorted[i] = &e[i];
    qsort(sorted, (size_t)n, sizeof(*sorted), entry_cmp);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++)
        if (entry_cmp(&sorted[i - 1], &sorted[i]) == 0)
            rc = fail(why, whylen, "Partition reassignment contains duplicate topic partitions: %.*s-%d",
                      NAME_IN_MESSAGE, sorted[i]->topic, (int)sorted[i]->partition);
    free(sorted);
    return rc;
}

static int decode_root(const json_t *root, kc_reassign_entry_t **out, int *n_out, char *why, size_t whylen) {
    const json_t *version = json_object_get(root, "version"), *arr = json_object_get(root, "partitions");
    if (version && !json_is_integer(version)) return fail(why, whylen, "\"version\" is not an integer");
    if (version && json_integer_value(version) != 1)
        return fail(why, whylen, "Not supported version field value %lld", (long long)json_integer_value(version));
    if (!json_is_array(arr)) return fail(why, whylen, "no \"partitions\" array");
    size_t n = json_array_size(arr);
    if (n == 0) return 0;
    if (n > INT32_MAX / sizeof(kc_reassign_entry_t) || !(*out = calloc(n, sizeof(**out))))
        return fail(why, whylen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        *n_out = (int)i + 1; /* so a failure frees this entry too */
        if (decode_entry(json_array_get(arr, i), &(*out)[i], why, whylen) < 0) return -1;
    }
    return check_unique(*out, *n_out, why, whylen);
}

int kc_reassign_decode(const char *data, size_t len, kc_reassign_entry_t **out, int *n_out, char *why,
                       size_t whylen) {
    json_error_t err;
    json_t *root = data && len ? json_loadb(data, len, JSON_REJECT_DUPLICATES, &err) : NULL;
    int rc = json_is_object(root) ? 0 : fail(why, whylen, "The input string is not a valid JSON");
    *out = NULL;
    *n_out = 0;
    if (rc == 0) rc = decode_root(root, out, n_out, why, whylen);
    json_decref(root);
    if (rc < 0) {
        kc_reassign_entries_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
    }
    return rc;
}

/* ---- a tool's request ---- */

typedef struct request_op {
    kc_done_fn done;
    void *arg;
    char *json;
} request_op_t;

static void admin_created(int rc, const char *value, const void *data) {}

static void request_finish(request_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op->json);
    free(op);
}

static void request_created(int rc, const char *value, const void *data) {
    request_finish((request_op_t *)data, kc_from_zrc(rc));
}

void kc_reassign_request(kc_session_t *s, const kc_reassign_entry_t *e, int n, kc_done_fn done, void *arg) {
    request_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !(op->json = kc_reassign_encode(e, n))) {
        free(op);
        done(KC_ERR, arg);
        return;
    }
    op->done = done;
    op->arg = arg;
    if (kc_zk_create_request_size(KC_PATH_REASSIGN_PARTITIONS, strlen(op->json)) > KC_ZK_MAX_REQUEST_BYTES) {
        request_finish(op, KC_INVALID);
        return;
    }
    if (!zh) {
        request_finish(op, KC_CONNLOSS);
        return;
    }
    /* The parent may be missing on a cluster no broker has started yet;
     * requests on one session are applied in order. */
    zoo_acreate(zh, "/admin", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, admin_created, NULL);
    int rc = zoo_acreate(zh, KC_PATH_REASSIGN_PARTITIONS, op->json, (int)strlen(op->json), &ZOO_OPEN_ACL_UNSAFE, 0,
                         request_created, op);
    if (rc != ZOK) request_created(rc, NULL, op);
    kc_session_kick(s);
}

/* ---- the controller's read ---- */

typedef struct read_op {
    kc_session_t *s;
    kc_reassign_read_fn done;
    void *arg;
} read_op_t;

static void read_got(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    read_op_t *op = (read_op_t *)data;
    kc_reassign_entry_t *e = NULL;
    int n = 0;
    char why[300] = "";
    if (rc != ZOK) {
        op->done(kc_from_zrc(rc), NULL, 0, -1, NULL, op->arg);
    } else if (kc_reassign_decode(value, value_len > 0 ? (size_t)value_len : 0, &e, &n, why, sizeof(why)) < 0) {
        op->done(KC_INVALID, NULL, 0, stat->version, why, op->arg);
    } else {
        op->done(KC_OK, e, n, stat->version, NULL, op->arg);
        kc_reassign_entries_free(e, n);
    }
    free(op);
}

static void read_exists(int rc, const struct Stat *stat, const void *data) {
    read_op_t *op = (read_op_t *)data;
    zhandle_t *zh = rc == ZOK ? kc_session_handle(op->s) : NULL;
    if (!zh) {
        read_got(rc == ZOK ? ZCONNECTIONLOSS : rc, NULL, 0, NULL, op);
        return;
    }
    int zrc = zoo_aget(zh, KC_PATH_REASSIGN_PARTITIONS, 0, read_got, op);
    if (zrc != ZOK) read_got(zrc, NULL, 0, NULL, op);
    kc_session_kick(op->s);
}

void kc_reassign_read(kc_session_t *s, watcher_fn watcher, void *watcher_ctx, kc_reassign_read_fn done, void *arg) {
    read_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op) {
        done(KC_ERR, NULL, 0, -1, NULL, arg);
        return;
    }
    *op = (read_op_t){.s = s, .done = done, .arg = arg};
    int rc = zh ? zoo_awexists(zh, KC_PATH_REASSIGN_PARTITIONS, watcher, watcher_ctx, read_exists, op)
                : ZCONNECTIONLOSS;
    if (rc != ZOK) read_exists(rc, NULL, op);
    kc_session_kick(s);
}

/* ---- the controller's removal of entries ---- */

typedef struct drop_op {
    kc_session_t *s;
    int32_t epoch_zk_version;
    kc_reassign_drop_fn drop;
    kc_done_fn done;
    void *arg;
    int attempts;
    char *json;
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    struct Stat stat;
} drop_op_t;

static void drop_read(drop_op_t *op);

static void drop_finish(drop_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op->json);
    free(op);
}

static void drop_written(int rc, const void *data) {
    drop_op_t *op = (drop_op_t *)data;
    free(op->json);
    op->json = NULL;
    if (rc == ZOK || op->results[1].err == ZNONODE) {
        drop_finish(op, KC_OK);
    } else if (op->results[0].err == ZBADVERSION || op->results[0].err == ZNONODE) {
        drop_finish(op, KC_FENCED);
    } else if (op->results[1].err == ZBADVERSION && ++op->attempts < DROP_ATTEMPTS) {
        drop_read(op); /* someone rewrote it meanwhile: decide again on what is there now */
    } else {
        drop_finish(op, kc_from_zrc(rc));
    }
}

/* Moves the entries drop keeps to the front, in order (how many in
 * *kept), freeing the others; *changed says whether drop took any. */
static void drop_filter(drop_op_t *op, kc_reassign_entry_t *e, int n, int *kept, bool *changed) {
    *kept = 0;
    *changed = false;
    for (int i = 0; i < n; i++) {
        if (op->drop(&e[i], op->arg)) {
            *changed = true;
            free(e[i].topic);
            free(e[i].replicas);
        } else {
            e[(*kept)++] = e[i];
        }
    }
}

static void drop_write(drop_op_t *op, kc_reassign_entry_t *e, int kept, int32_t version) {
    zhandle_t *zh = kc_session_handle(op->s);
    if (!zh) {
        drop_finish(op, KC_CONNLOSS);
        return;
    }
    zoo_check_op_init(&op->ops[0], KC_PATH_CONTROLLER_EPOCH, op->epoch_zk_version);
    if (kept == 0) {
        zoo_delete_op_init(&op->ops[1], KC_PATH_REASSIGN_PARTITIONS, version);
    } else if ((op->json = kc_reassign_encode(e, kept))) {
        zoo_set_op_init(&op->ops[1], KC_PATH_REASSIGN_PARTITIONS, op->json, (int)strlen(op->json), version,
                        &op->stat);
    } else {
        drop_finish(op, KC_ERR);
        return;
    }
    int rc = zoo_amulti(zh, 2, op->ops, op->results, drop_written, op);
    if (rc != ZOK) drop_written(rc, op);
    kc_session_kick(op->s);
}

static void drop_got(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    drop_op_t *op = (drop_op_t *)data;
    kc_reassign_entry_t *e = NULL;
    int n = 0, kept = 0;
    bool changed = false;
    if (rc != ZOK) {
        drop_finish(op, rc == ZNONODE ? KC_OK : kc_from_zrc(rc));
        return;
    }
    /* Unreadable data is dropped whole: nothing in it can be carried out. */
    bool readable = kc_reassign_decode(value, value_len > 0 ? (size_t)value_len : 0, &e, &n, NULL, 0) == 0;
    drop_filter(op, e, n, &kept, &changed);
    if (readable && !changed) drop_finish(op, KC_OK);
    else drop_write(op, e, kept, stat->version);
    kc_reassign_entries_free(e, kept);
}

static void drop_read(drop_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int rc = zh ? zoo_aget(zh, KC_PATH_REASSIGN_PARTITIONS, 0, drop_got, op) : ZCONNECTIONLOSS;
    if (rc != ZOK) drop_got(rc, NULL, 0, NULL, op);
    kc_session_kick(op->s);
}

void kc_reassign_drop(kc_session_t *s, int32_t epoch_zk_version, kc_reassign_drop_fn drop, kc_done_fn done,
                      void *arg) {
    drop_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        done(KC_ERR, arg);
        return;
    }
    op->s = s;
    op->epoch_zk_version = epoch_zk_version;
    op->drop = drop;
    op->done = done;
    op->arg = arg;
    drop_read(op);
}

/* ---- the controller's topic rewrite ---- */

typedef struct topic_write {
    kc_done_fn done;
    void *arg;
    int n_ops;
    char **json;    /* n_ops - 1 bodies: the topic's, then each state's */
    char (*paths)[512];
    zoo_op_t *ops;
    zoo_op_result_t *results;
    struct Stat *stats;
} topic_write_t;

static void topic_write_free(topic_write_t *w) {
    for (int i = 0; w->json && i < w->n_ops - 1; i++) free(w->json[i]);
    free(w->json);
    free(w->paths);
    free(w->ops);
    free(w->results);
    free(w->stats);
    free(w);
}

static void topic_written(int rc, const void *data) {
    topic_write_t *w = (topic_write_t *)data;
    bool fenced = rc != ZOK && (w->results[0].err == ZBADVERSION || w->results[0].err == ZNONODE);
    w->done(fenced ? KC_FENCED : kc_from_zrc(rc), w->arg);
    topic_write_free(w);
}

static topic_write_t *topic_write_new(int n_states) {
    topic_write_t *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->n_ops = 2 + n_states;
    size_t n = (size_t)w->n_ops;
    w->json = calloc(n, sizeof(*w->json));
    w->paths = calloc(n, sizeof(*w->paths));
    w->ops = calloc(n, sizeof(*w->ops));
    w->results = calloc(n, sizeof(*w->results));
    w->stats = calloc(n, sizeof(*w->stats));
    if (!w->json || !w->paths || !w->ops || !w->results || !w->stats) {
        topic_write_free(w);
        return NULL;
    }
    return w;
}

/* Fills op i + 1 (after the epoch check) with a conditional setData. */
static bool set_op(topic_write_t *w, int i, char *json, int32_t version) {
    w->json[i] = json;
    if (!json) return false;
    zoo_set_op_init(&w->ops[i + 1], w->paths[i], json, (int)strlen(json), version, &w->stats[i]);
    return true;
}

void kc_reassign_write_topic(kc_session_t *s, const kc_topic_t *topic, int32_t topic_version,
                             const kc_reassign_state_t *states, int n_states, int32_t epoch_zk_version,
                             kc_done_fn done, void *arg) {
    zhandle_t *zh = kc_session_handle(s);
    topic_write_t *w = zh ? topic_write_new(n_states) : NULL;
    if (!w) {
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    w->done = done;
    w->arg = arg;
    zoo_check_op_init(&w->ops[0], KC_PATH_CONTROLLER_EPOCH, epoch_zk_version);
    kc_path_topic(w->paths[0], sizeof(w->paths[0]), topic->name);
    bool ok = set_op(w, 0, kc_json_topic_encode(topic), topic_version);
    for (int i = 0; ok && i < n_states; i++) {
        kc_path_state(w->paths[i + 1], sizeof(w->paths[i + 1]), topic->name, states[i].partition);
        ok = set_op(w, i + 1, kc_json_state_encode(states[i].state), states[i].state->zk_version);
    }
    if (!ok) {
        done(KC_ERR, arg);
        topic_write_free(w);
        return;
    }
    int rc = zoo_amulti(zh, w->n_ops, w->ops, w->results, topic_written, w);
    if (rc != ZOK) topic_written(rc, w);
    kc_session_kick(s);
}
