/*
 * kc_registry.c - a broker's own znodes: base paths, cluster id and the
 * ephemeral registration.
 *
 * Every operation is a short chain of asynchronous ZooKeeper calls whose
 * state lives in one heap object, freed when the chain reports to its
 * caller.  ZooKeeper answers a session's requests in order, which lets
 * independent creates be queued together.
 */
#include "coord/kc_registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "coord/kc_paths.h"

#define KC_REGISTER_ATTEMPTS 5

/* ---- base paths ---- */

typedef struct batch_op {
    kc_session_t *s;
    int pending;
    int rc;
    kc_done_fn done;
    void *arg;
} batch_op_t;

static void batch_create_done(int rc, const char *value, const void *data) {
    batch_op_t *op = (batch_op_t *)data;
    if (rc != ZOK && rc != ZNODEEXISTS && op->rc == KC_OK) op->rc = kc_from_zrc(rc);
    if (--op->pending > 0) return;
    op->done(op->rc, op->arg);
    free(op);
}

/* Queues a create of every component of path ("/a", "/a/b", ...). */
static void queue_create_recursive(batch_op_t *op, zhandle_t *zh, const char *path) {
    char prefix[512];
    size_t n = strlen(path);
    if (n >= sizeof(prefix)) return;
    for (size_t i = 1; i <= n; i++) {
        if (i != n && path[i] != '/') continue;
        memcpy(prefix, path, i);
        prefix[i] = '\0';
        op->pending++;
        int rc = zoo_acreate(zh, prefix, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, batch_create_done, op);
        if (rc != ZOK) {
            op->pending--;
            if (op->rc == KC_OK) op->rc = kc_from_zrc(rc);
        }
    }
}

void kc_ensure_base_paths(kc_session_t *s, kc_done_fn done, void *arg) {
    static const char *paths[] = KC_BASE_PATHS;
    zhandle_t *zh = kc_session_handle(s);
    batch_op_t *op = calloc(1, sizeof(*op));
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    *op = (batch_op_t){.s = s, .pending = 1, .rc = KC_OK, .done = done, .arg = arg};
    for (int i = 0; paths[i]; i++) queue_create_recursive(op, zh, paths[i]);
    kc_session_kick(s);
    batch_create_done(ZOK, NULL, op); /* drops the guard count taken above */
}

/* ---- cluster id ---- */

typedef struct cid_op {
    kc_session_t *s;
    kc_cluster_id_fn done;
    void *arg;
    char id[64];
    int attempts;
} cid_op_t;

static void cid_read(cid_op_t *op);

static void cid_finish(cid_op_t *op, int rc) {
    op->done(rc, rc == KC_OK ? op->id : NULL, op->arg);
    free(op);
}

static void cid_created(int rc, const char *value, const void *data) {
    cid_op_t *op = (cid_op_t *)data;
    if (rc == ZOK) {
        kc_info("registry", "created cluster id %s", op->id);
        cid_finish(op, KC_OK);
    } else if (rc == ZNODEEXISTS && ++op->attempts < 3) {
        cid_read(op); /* another broker won the race: use its id */
    } else {
        cid_finish(op, kc_from_zrc(rc));
    }
}

static void cid_parent_created(int rc, const char *value, const void *data) {}

static void cid_got(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    cid_op_t *op = (cid_op_t *)data;
    if (rc == ZOK) {
        cid_finish(op, kc_json_cluster_id_decode(value, (size_t)len, op->id, sizeof(op->id)) == 0 ? KC_OK : KC_ERR);
        return;
    }
    if (rc != ZNONODE) {
        cid_finish(op, kc_from_zrc(rc));
        return;
    }
    char *json;
    kc_new_cluster_id(op->id);
    json = kc_json_cluster_id_encode(op->id);
    zhandle_t *zh = kc_session_handle(op->s);
    if (!json || !zh) {
        free(json);
        cid_finish(op, zh ? KC_ERR : KC_CONNLOSS);
        return;
    }
    zoo_acreate(zh, "/cluster", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, cid_parent_created, op);
    int zrc = zoo_acreate(zh, KC_PATH_CLUSTER_ID, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0, cid_created, op);
    free(json);
    if (zrc != ZOK) cid_finish(op, kc_from_zrc(zrc));
    kc_session_kick(op->s);
}

static void cid_read(cid_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int rc = zh ? zoo_aget(zh, KC_PATH_CLUSTER_ID, 0, cid_got, op) : ZCONNECTIONLOSS;
    if (rc != ZOK) cid_finish(op, kc_from_zrc(rc));
    kc_session_kick(op->s);
}

void kc_cluster_id_get_or_create(kc_session_t *s, kc_cluster_id_fn done, void *arg) {
    cid_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        done(KC_ERR, NULL, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    cid_read(op);
}

/* ---- broker registration ---- */

#define KC_MAX_OWN_SESSIONS 16

typedef struct reg_op {
    kc_session_t *s;
    kc_broker_info_t self;
    char path[64];
    char *json;
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    struct Stat set_stat;
    int64_t own[KC_MAX_OWN_SESSIONS];
    int n_own;
    char holder[512]; /* the live holder of the id, on KC_EXISTS */
    kc_register_fn done;
    void *arg;
    int attempts;
} reg_op_t;

static void reg_check_existing(reg_op_t *op);

static void reg_finish(reg_op_t *op, int rc, int64_t czxid) {
    op->done(rc, czxid, rc == KC_EXISTS && op->holder[0] ? op->holder : NULL, op->arg);
    kc_broker_info_clear(&op->self);
    free(op->json);
    free(op);
}

static void reg_created(int rc, const void *data) {
    reg_op_t *op = (reg_op_t *)data;
    if (rc == ZOK) {
        reg_finish(op, KC_OK, op->set_stat.czxid);
    } else if (rc == ZNODEEXISTS && ++op->attempts < KC_REGISTER_ATTEMPTS) {
        reg_check_existing(op);
    } else {
        reg_finish(op, kc_from_zrc(rc), 0);
    }
}

/* Kafka creates the ephemeral node with no data and sets the JSON in the same
 * multi, so the registration's data version is 1. */
static void reg_create(reg_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    if (!zh) {
        reg_finish(op, KC_CONNLOSS, 0);
        return;
    }
    zoo_create_op_init(&op->ops[0], op->path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    zoo_set_op_init(&op->ops[1], op->path, op->json, (int)strlen(op->json), 0, &op->set_stat);
    int rc = zoo_amulti(zh, 2, op->ops, op->results, reg_created, op);
    if (rc != ZOK) reg_finish(op, kc_from_zrc(rc), 0);
    kc_session_kick(op->s);
}

static void reg_stale_deleted(int rc, const void *data) {
    reg_op_t *op = (reg_op_t *)data;
    if (rc == ZOK || rc == ZNONODE || rc == ZBADVERSION) reg_create(op);
    else reg_finish(op, kc_from_zrc(rc), 0);
}

static bool reg_is_own_session(const reg_op_t *op, int64_t owner) {
    for (int i = 0; i < op->n_own; i++)
        if (op->own[i] == owner && owner != 0) return true;
    return false;
}

/* "session 0x..., endpoints PLAINTEXT://h:p,..." for the refusal message. */
static void reg_describe_holder(reg_op_t *op, const char *value, int len, int64_t owner) {
    kc_broker_info_t old = {0};
    size_t used = (size_t)snprintf(op->holder, sizeof(op->holder), "held by ZooKeeper session 0x%llx",
                                   (unsigned long long)owner);
    if (value && len > 0 && kc_json_broker_decode(value, (size_t)len, op->self.id, &old) == 0) {
        for (int i = 0; i < old.n_endpoints && used < sizeof(op->holder); i++)
            used += (size_t)snprintf(op->holder + used, sizeof(op->holder) - used, "%s%s://%s:%d",
                                     i == 0 ? " with endpoints " : ",", old.endpoints[i].listener,
                                     old.endpoints[i].host ? old.endpoints[i].host : "", (int)old.endpoints[i].port);
    }
    kc_broker_info_clear(&old);
}

static void reg_existing_got(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    reg_op_t *op = (reg_op_t *)data;
    if (rc == ZNONODE) {
        reg_create(op);
        return;
    }
    if (rc != ZOK) {
        reg_finish(op, kc_from_zrc(rc), 0);
        return;
    }
    if (st->ephemeralOwner == kc_session_id(op->s)) {
        reg_finish(op, KC_OK, st->czxid); /* ours already (an answer lost to a reconnect) */
        return;
    }
    if (!reg_is_own_session(op, st->ephemeralOwner)) {
        /* A live broker's, or one whose session we cannot tell apart from
         * a live one: never taken over (it goes when its session expires). */
        reg_describe_holder(op, value, len, st->ephemeralOwner);
        reg_finish(op, KC_EXISTS, 0);
        return;
    }
    kc_info("registry", "replacing the registration of a previous process of broker %d (ZooKeeper session 0x%llx, "
            "czxid %lld)", (int)op->self.id, (unsigned long long)st->ephemeralOwner, (long long)st->czxid);
    int zrc = zoo_adelete(kc_session_handle(op->s), op->path, st->version, reg_stale_deleted, op);
    if (zrc != ZOK) reg_finish(op, kc_from_zrc(zrc), 0);
    kc_session_kick(op->s);
}

static void reg_check_existing(reg_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int rc = zh ? zoo_aget(zh, op->path, 0, reg_existing_got, op) : ZCONNECTIONLOSS;
    if (rc != ZOK) reg_finish(op, kc_from_zrc(rc), 0);
    kc_session_kick(op->s);
}

void kc_broker_register(kc_session_t *s, const kc_broker_info_t *self, const int64_t *own_sessions,
                        int n_own_sessions, kc_register_fn done, void *arg) {
    reg_op_t *op = calloc(1, sizeof(*op));
    if (!op || kc_broker_info_copy(&op->self, self) < 0 || !(op->json = kc_json_broker_encode(self))) {
        if (op) kc_broker_info_clear(&op->self);
        free(op);
        done(KC_ERR, 0, NULL, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    for (int i = 0; i < n_own_sessions && op->n_own < KC_MAX_OWN_SESSIONS; i++) op->own[op->n_own++] = own_sessions[i];
    kc_path_broker(op->path, sizeof(op->path), self->id);
    reg_check_existing(op);
}

/* ---- watching our own registration ---- */

static void reg_watch_arm(kc_registration_watch_t *w);

static void reg_watch_fired(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    kc_registration_watch_t *w = ctx;
    /* The C client copies session events to every watcher; an expired
     * session drops its watches and its ephemeral znodes with it. */
    if (type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT) return;
    if (type == ZOO_DELETED_EVENT) w->gone(w->arg);
    else reg_watch_arm(w);
}

static void reg_watch_set(int rc, const struct Stat *st, const void *data) {
    kc_registration_watch_t *w = (kc_registration_watch_t *)data;
    /* ZNONODE also leaves an exists-watch, which a re-registration would
     * fire as ZOO_CREATED_EVENT; gone() re-registers, which re-arms. */
    if (rc == ZNONODE) w->gone(w->arg);
}

static void reg_watch_arm(kc_registration_watch_t *w) {
    zhandle_t *zh = kc_session_handle(w->s);
    if (!zh) return; /* a new session re-registers and re-arms */
    kc_path_broker(w->path, sizeof(w->path), w->id);
    zoo_awexists(zh, w->path, reg_watch_fired, w, reg_watch_set, w);
    kc_session_kick(w->s);
}

void kc_broker_watch_registration(kc_registration_watch_t *w) { reg_watch_arm(w); }

/* ---- deregistration ---- */

typedef struct dereg_op {
    kc_session_t *s;
    char path[64];
    kc_done_fn done;
    void *arg;
} dereg_op_t;

static void dereg_finish(dereg_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op);
}

static void dereg_deleted(int rc, const void *data) { dereg_finish((dereg_op_t *)data, kc_from_zrc(rc)); }

static void dereg_got(int rc, const struct Stat *st, const void *data) {
    dereg_op_t *op = (dereg_op_t *)data;
    if (rc != ZOK || st->ephemeralOwner != kc_session_id(op->s)) {
        dereg_finish(op, rc == ZOK ? KC_OK : kc_from_zrc(rc));
        return;
    }
    int zrc = zoo_adelete(kc_session_handle(op->s), op->path, st->version, dereg_deleted, op);
    if (zrc != ZOK) dereg_finish(op, kc_from_zrc(zrc));
    kc_session_kick(op->s);
}

void kc_broker_deregister(kc_session_t *s, int32_t id, kc_done_fn done, void *arg) {
    dereg_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    kc_path_broker(op->path, sizeof(op->path), id);
    int rc = zoo_aexists(zh, op->path, 0, dereg_got, op);
    if (rc != ZOK) dereg_finish(op, kc_from_zrc(rc));
    kc_session_kick(s);
}
