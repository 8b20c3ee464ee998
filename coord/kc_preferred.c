/*
 * kc_preferred.c - /admin/preferred_replica_election (see kc_preferred.h).
 */
#include "coord/kc_preferred.h"

#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "coord/kc_paths.h"

/* ---- the controller's read ---- */

typedef struct read_op {
    kc_session_t *s;
    kc_preferred_read_fn done;
    void *arg;
} read_op_t;

static void data_read(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    read_op_t *op = (read_op_t *)data;
    kc_isr_change_t *parts = NULL;
    int n = 0;
    if (rc == ZNONODE) {
        op->done(KC_OK, false, NULL, 0, op->arg); /* deleted between the exists and the read */
    } else if (rc != ZOK) {
        op->done(kc_from_zrc(rc), false, NULL, 0, op->arg);
    } else {
        if (kc_json_preferred_election_decode(value, value_len > 0 ? (size_t)value_len : 0, &parts, &n) < 0)
            kc_warn("preferred", "%s does not hold the JSON Kafka's tools write; electing nothing for it",
                    KC_PATH_PREFERRED_ELECTION);
        op->done(KC_OK, true, parts, n, op->arg);
        kc_isr_changes_free(parts, n);
    }
    free(op);
}

static void exists_done(int rc, const struct Stat *stat, const void *data) {
    read_op_t *op = (read_op_t *)data;
    zhandle_t *zh = rc == ZOK ? kc_session_handle(op->s) : NULL;
    if (!zh) {
        op->done(rc == ZNONODE ? KC_OK : rc == ZOK ? KC_CONNLOSS : kc_from_zrc(rc), false, NULL, 0, op->arg);
        free(op);
        return;
    }
    int zrc = zoo_aget(zh, KC_PATH_PREFERRED_ELECTION, 0, data_read, op);
    if (zrc != ZOK) data_read(zrc, NULL, 0, NULL, op);
    kc_session_kick(op->s);
}

void kc_preferred_election_read(kc_session_t *s, watcher_fn watcher, void *watcher_ctx, kc_preferred_read_fn done,
                                void *arg) {
    read_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, false, NULL, 0, arg);
        return;
    }
    *op = (read_op_t){.s = s, .done = done, .arg = arg};
    int rc = zoo_awexists(zh, KC_PATH_PREFERRED_ELECTION, watcher, watcher_ctx, exists_done, op);
    if (rc != ZOK) exists_done(rc, NULL, op);
    kc_session_kick(s);
}

/* ---- the controller's deletion ---- */

typedef struct delete_op {
    kc_done_fn done;
    void *arg;
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
} delete_op_t;

static void deleted(int rc, const void *data) {
    delete_op_t *op = (delete_op_t *)data;
    int err0 = op->results[0].err, err1 = op->results[1].err;
    int out = kc_from_zrc(rc);
    if (rc != ZOK && (err0 == ZBADVERSION || err0 == ZNONODE)) out = KC_FENCED;
    else if (rc != ZOK && err1 == ZNONODE) out = KC_OK; /* gone already */
    op->done(out, op->arg);
    free(op);
}

void kc_preferred_election_delete(kc_session_t *s, int32_t epoch_zk_version, kc_done_fn done, void *arg) {
    delete_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    op->done = done;
    op->arg = arg;
    zoo_check_op_init(&op->ops[0], KC_PATH_CONTROLLER_EPOCH, epoch_zk_version);
    zoo_delete_op_init(&op->ops[1], KC_PATH_PREFERRED_ELECTION, -1);
    int rc = zoo_amulti(zh, 2, op->ops, op->results, deleted, op);
    if (rc != ZOK) deleted(rc, op);
    kc_session_kick(s);
}

/* ---- an operator's request ---- */

typedef struct create_op {
    kc_done_fn done;
    void *arg;
    char *json;
} create_op_t;

static void created(int rc, const char *value, const void *data) {
    create_op_t *op = (create_op_t *)data;
    op->done(kc_from_zrc(rc), op->arg);
    free(op->json);
    free(op);
}

void kc_preferred_election_create(kc_session_t *s, const kc_isr_change_t *parts, int n, kc_done_fn done,
                                  void *arg) {
    create_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || n <= 0 || !(op->json = kc_json_preferred_election_encode(parts, n))) {
        free(op);
        done(n <= 0 ? KC_INVALID : KC_ERR, arg);
        return;
    }
    op->done = done;
    op->arg = arg;
    int rc = zh ? zoo_acreate(zh, KC_PATH_PREFERRED_ELECTION, op->json, (int)strlen(op->json), &ZOO_OPEN_ACL_UNSAFE,
                              0, created, op)
                : ZCONNECTIONLOSS;
    if (rc != ZOK) created(rc, NULL, op);
    kc_session_kick(s);
}
