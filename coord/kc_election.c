/*
 * kc_election.c - one controller election attempt (Kafka 2.1+ algorithm,
 * zk-and-replication.md section 2.1):
 *
 *   get /controller ── exists ──> lost (or: it is our own dead incarnation:
 *        │                         delete it and start over)
 *     NONODE
 *        v
 *   get /controller_epoch (create "0" if missing) = e, version v
 *        v
 *   multi[create ephemeral /controller, setData /controller_epoch=e+1 @v]
 *        ├── ok ──> won, epoch e+1, epoch zkVersion from the setData stat
 *        └── NODEEXISTS / BADVERSION ──> get /controller, report who won
 */
#include "coord/kc_election.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "coord/kc_paths.h"

typedef struct elect_op {
    kc_session_t *s;
    int32_t self;
    kc_election_fn done;
    void *arg;
    int32_t epoch;
    char *json;
    char epoch_buf[16];
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    struct Stat set_stat;
    int attempts;
} elect_op_t;

static void elect_read_controller(elect_op_t *op);

/* ---- the decisions (pure) ---- */

kc_elect_seen_t kc_election_judge(int32_t controller_id, int32_t self_id, bool same_session) {
    if (controller_id != self_id) return KC_ELECT_LOST;
    /* Our own previous incarnation's node (restart after kill -9) can never
     * resign: it is removed instead of waiting for its session to expire. */
    return same_session ? KC_ELECT_OURS : KC_ELECT_STALE_SELF;
}

int kc_election_parse_epoch(const char *data, int len, int32_t *epoch) {
    char buf[32] = {0};
    if (data == NULL || len <= 0 || (size_t)len >= sizeof(buf)) return -1;
    memcpy(buf, data, (size_t)len);
    char *end;
    long v = strtol(buf, &end, 10);
    /* INT32_MAX itself cannot be bumped by the next controller. */
    if (end == buf || v < 0 || v >= INT32_MAX) return -1;
    *epoch = (int32_t)v;
    return 0;
}

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void elect_finish(elect_op_t *op, int rc, bool won, int32_t controller, int32_t epoch_version) {
    kc_election_result_t r = {.rc = rc, .won = won, .controller_id = controller, .epoch = op->epoch,
                              .epoch_zk_version = epoch_version};
    op->done(&r, op->arg);
    free(op->json);
    free(op);
}

static zhandle_t *elect_zh(elect_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    if (!zh) elect_finish(op, KC_CONNLOSS, false, -1, 0);
    return zh;
}

static void elect_created(int rc, const void *data) {
    elect_op_t *op = (elect_op_t *)data;
    if (rc == ZOK) {
        elect_finish(op, KC_OK, true, op->self, op->set_stat.version);
    } else if ((rc == ZNODEEXISTS || rc == ZBADVERSION) && ++op->attempts < 5) {
        elect_read_controller(op); /* someone else won: learn who */
    } else {
        elect_finish(op, kc_from_zrc(rc), false, -1, 0);
    }
}

static void elect_try(elect_op_t *op, int32_t epoch, int32_t epoch_version) {
    zhandle_t *zh = elect_zh(op);
    if (!zh) return;
    op->epoch = epoch + 1;
    snprintf(op->epoch_buf, sizeof(op->epoch_buf), "%d", (int)op->epoch);
    free(op->json);
    op->json = kc_json_controller_encode(op->self, now_ms());
    if (!op->json) {
        elect_finish(op, KC_ERR, false, -1, 0);
        return;
    }
    zoo_create_op_init(&op->ops[0], KC_PATH_CONTROLLER, op->json, (int)strlen(op->json), &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_EPHEMERAL, NULL, 0);
    zoo_set_op_init(&op->ops[1], KC_PATH_CONTROLLER_EPOCH, op->epoch_buf, (int)strlen(op->epoch_buf), epoch_version,
                    &op->set_stat);
    int rc = zoo_amulti(zh, 2, op->ops, op->results, elect_created, op);
    if (rc != ZOK) elect_finish(op, kc_from_zrc(rc), false, -1, 0);
    kc_session_kick(op->s);
}

static void epoch_got(int rc, const char *value, int len, const struct Stat *st, const void *data);


static void elect_read_epoch(elect_op_t *op) {
    zhandle_t *zh = elect_zh(op);
    if (!zh) return;
    int rc = zoo_aget(zh, KC_PATH_CONTROLLER_EPOCH, 0, epoch_got, op);
    if (rc != ZOK) elect_finish(op, kc_from_zrc(rc), false, -1, 0);
    kc_session_kick(op->s);
}

static void epoch_create_done(int rc, const char *value, const void *data) {
    elect_op_t *op = (elect_op_t *)data;
    if (rc == ZOK || rc == ZNODEEXISTS) elect_read_epoch(op);
    else elect_finish(op, kc_from_zrc(rc), false, -1, 0);
}

static void epoch_got(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    elect_op_t *op = (elect_op_t *)data;
    if (rc == ZNONODE) {
        zhandle_t *zh = elect_zh(op);
        if (!zh) return;
        int zrc = zoo_acreate(zh, KC_PATH_CONTROLLER_EPOCH, "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0, epoch_create_done, op);
        if (zrc != ZOK) elect_finish(op, kc_from_zrc(zrc), false, -1, 0);
        kc_session_kick(op->s);
        return;
    }
    if (rc != ZOK) {
        elect_finish(op, kc_from_zrc(rc), false, -1, 0);
        return;
    }
    int32_t epoch;
    if (kc_election_parse_epoch(value, len, &epoch) != 0) {
        kc_error("election", "%s holds '%.*s', not an epoch", KC_PATH_CONTROLLER_EPOCH,
                 len > 0 && len < 32 ? len : 0, value ? value : "");
        elect_finish(op, KC_ERR, false, -1, 0);
        return;
    }
    if (op->epoch == -2) {
        /* We already are the controller (an answer lost to a reconnect):
         * only the epoch and its version were missing. */
        op->epoch = epoch;
        elect_finish(op, KC_OK, true, op->self, st->version);
        return;
    }
    elect_try(op, epoch, st->version);
}

static void stale_controller_deleted(int rc, const void *data) {
    elect_op_t *op = (elect_op_t *)data;
    if (++op->attempts < 5) elect_read_controller(op);
    else elect_finish(op, kc_from_zrc(rc), false, -1, 0);
}

static void controller_got(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    elect_op_t *op = (elect_op_t *)data;
    int32_t id = -1;
    if (rc == ZNONODE) {
        elect_read_epoch(op);
        return;
    }
    if (rc != ZOK) {
        elect_finish(op, kc_from_zrc(rc), false, -1, 0);
        return;
    }
    if (kc_json_controller_decode(value, (size_t)len, &id) < 0) id = -1;
    kc_elect_seen_t seen = kc_election_judge(id, op->self, st->ephemeralOwner == kc_session_id(op->s));
    if (seen == KC_ELECT_OURS) {
        op->epoch = -2;
        elect_read_epoch(op);
        return;
    }
    if (seen == KC_ELECT_STALE_SELF) {
        kc_info("election", "removing /controller left by a previous incarnation of broker %d", (int)id);
        zhandle_t *zh = elect_zh(op);
        if (!zh) return;
        int zrc = zoo_adelete(zh, KC_PATH_CONTROLLER, st->version, stale_controller_deleted, op);
        if (zrc != ZOK) elect_finish(op, kc_from_zrc(zrc), false, -1, 0);
        kc_session_kick(op->s);
        return;
    }
    elect_finish(op, KC_OK, false, id, 0);
}

static void elect_read_controller(elect_op_t *op) {
    zhandle_t *zh = elect_zh(op);
    if (!zh) return;
    int rc = zoo_aget(zh, KC_PATH_CONTROLLER, 0, controller_got, op);
    if (rc != ZOK) elect_finish(op, kc_from_zrc(rc), false, -1, 0);
    kc_session_kick(op->s);
}

void kc_controller_elect(kc_session_t *s, int32_t self_id, kc_election_fn done, void *arg) {
    elect_op_t *op = calloc(1, sizeof(*op));
    if (!op) {
        kc_election_result_t r = {.rc = KC_ERR, .controller_id = -1};
        done(&r, arg);
        return;
    }
    op->s = s;
    op->self = self_id;
    op->done = done;
    op->arg = arg;
    elect_read_controller(op);
}

/* ---- resignation ---- */

typedef struct resign_op {
    kc_session_t *s;
    int32_t self;
    kc_done_fn done;
    void *arg;
} resign_op_t;

static void resign_finish(resign_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op);
}

static void resign_deleted(int rc, const void *data) { resign_finish((resign_op_t *)data, kc_from_zrc(rc)); }

static void resign_got(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    resign_op_t *op = (resign_op_t *)data;
    int32_t id = -1;
    if (rc != ZOK || kc_json_controller_decode(value, (size_t)len, &id) < 0 || id != op->self ||
        st->ephemeralOwner != kc_session_id(op->s)) {
        resign_finish(op, rc == ZOK || rc == ZNONODE ? KC_OK : kc_from_zrc(rc));
        return;
    }
    int zrc = zoo_adelete(kc_session_handle(op->s), KC_PATH_CONTROLLER, st->version, resign_deleted, op);
    if (zrc != ZOK) resign_finish(op, kc_from_zrc(zrc));
    kc_session_kick(op->s);
}

void kc_controller_resign(kc_session_t *s, int32_t self_id, kc_done_fn done, void *arg) {
    resign_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    *op = (resign_op_t){s, self_id, done, arg};
    int rc = zoo_aget(zh, KC_PATH_CONTROLLER, 0, resign_got, op);
    if (rc != ZOK) resign_finish(op, kc_from_zrc(rc));
    kc_session_kick(s);
}
