/*
 * kc_isr.c - leaders' ISR writes and the /isr_change_notification entries
 * (see kc_isr.h).
 *
 * Every operation here is one small asynchronous state machine whose
 * context is allocated at the start and freed right after its done
 * callback: when the session closes, the ZooKeeper client runs the pending
 * completions with ZCLOSING, so no context outlives the session.
 */
#include "coord/kc_isr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "coord/kc_paths.h"

#define PATH_MAX_LEN 512

/* ---- the leader's conditional state write ---- */

typedef struct leader_write {
    kc_session_t *s;
    char path[PATH_MAX_LEN];
    char *json;
    kc_partition_state_t wrote; /* what was written; isr points into isr_copy */
    kc_state_written_fn done;
    void *arg;
    int32_t isr_copy[];
} leader_write_t;

static void leader_write_finish(leader_write_t *w, int rc, int32_t version) {
    w->done(rc, rc == KC_OK ? version : -1, w->arg);
    free(w->json);
    free(w);
}

static void state_read_back(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    leader_write_t *w = (leader_write_t *)data;
    kc_partition_state_t stored;
    if (rc != ZOK) {
        leader_write_finish(w, kc_from_zrc(rc), -1);
        return;
    }
    bool same = kc_json_state_decode(value, value_len > 0 ? (size_t)value_len : 0, &stored) == 0 &&
                kc_partition_state_same(&stored, &w->wrote);
    kc_partition_state_clear(&stored);
    leader_write_finish(w, same ? KC_OK : KC_BADVERSION, stat->version);
}

static void state_set(int rc, const struct Stat *stat, const void *data) {
    leader_write_t *w = (leader_write_t *)data;
    if (rc == ZOK) {
        leader_write_finish(w, KC_OK, stat->version);
        return;
    }
    zhandle_t *zh = rc == ZBADVERSION ? kc_session_handle(w->s) : NULL;
    if (!zh) {
        leader_write_finish(w, kc_from_zrc(rc), -1);
        return;
    }
    int zrc = zoo_aget(zh, w->path, 0, state_read_back, w);
    if (zrc != ZOK) state_read_back(zrc, NULL, 0, NULL, w);
    kc_session_kick(w->s);
}

void kc_state_leader_write(kc_session_t *s, const char *topic, int32_t partition, const kc_partition_state_t *state,
                           kc_state_written_fn done, void *arg) {
    if (state->zk_version < 0 || state->n_isr <= 0) {
        done(KC_INVALID, -1, arg);
        return;
    }
    leader_write_t *w = calloc(1, sizeof(*w) + (size_t)state->n_isr * sizeof(int32_t));
    if (!w || !(w->json = kc_json_state_encode(state))) {
        free(w);
        done(KC_ERR, -1, arg);
        return;
    }
    w->s = s;
    w->done = done;
    w->arg = arg;
    w->wrote = *state;
    memcpy(w->isr_copy, state->isr, (size_t)state->n_isr * sizeof(int32_t));
    w->wrote.isr = w->isr_copy;
    kc_path_state(w->path, sizeof(w->path), topic, partition);
    zhandle_t *zh = kc_session_handle(s);
    int rc = zh ? zoo_aset(zh, w->path, w->json, (int)strlen(w->json), state->zk_version, state_set, w)
                : ZCONNECTIONLOSS;
    if (rc != ZOK) state_set(rc, NULL, w);
    kc_session_kick(s);
}

/* ---- publishing a notification ---- */

typedef struct publish_op {
    kc_session_t *s;
    bool parent_tried; /* the parent was re-created once already */
    char *json;
    kc_done_fn done;
    void *arg;
} publish_op_t;

static void publish_finish(publish_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op->json);
    free(op);
}

static void publish_create(publish_op_t *op);

static void parent_created(int rc, const char *value, const void *data) {
    publish_op_t *op = (publish_op_t *)data;
    if (rc == ZOK || rc == ZNODEEXISTS) publish_create(op);
    else publish_finish(op, kc_from_zrc(rc));
}

static void notification_created(int rc, const char *value, const void *data) {
    publish_op_t *op = (publish_op_t *)data;
    zhandle_t *zh = rc == ZNONODE && !op->parent_tried ? kc_session_handle(op->s) : NULL;
    if (rc == ZOK) kc_debug("isr", "published %s", value);
    if (!zh) {
        publish_finish(op, rc == ZNONODE ? KC_ERR : kc_from_zrc(rc));
        return;
    }
    /* Every broker creates the parent at start; someone removed it since. */
    op->parent_tried = true;
    int zrc = zoo_acreate(zh, KC_PATH_ISR_CHANGE, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, parent_created, op);
    if (zrc != ZOK) parent_created(zrc, NULL, op);
    kc_session_kick(op->s);
}

static void publish_create(publish_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int rc = zh ? zoo_acreate(zh, KC_PATH_ISR_CHANGE_PREFIX, op->json, (int)strlen(op->json), &ZOO_OPEN_ACL_UNSAFE,
                              ZOO_SEQUENCE, notification_created, op)
                : ZCONNECTIONLOSS;
    if (rc != ZOK) notification_created(rc, NULL, op);
    kc_session_kick(op->s);
}

void kc_isr_change_publish(kc_session_t *s, const kc_isr_change_t *parts, int n, kc_done_fn done, void *arg) {
    publish_op_t *op = calloc(1, sizeof(*op));
    if (!op || n <= 0 || !(op->json = kc_json_isr_change_encode(parts, n))) {
        free(op);
        done(KC_ERR, arg);
        return;
    }
    op->s = s;
    op->done = done;
    op->arg = arg;
    publish_create(op);
}

/* ---- the controller's pass ---- */

typedef struct consume_op {
    kc_session_t *s;
    int32_t epoch_zk_version;
    watcher_fn watcher;
    void *watcher_ctx;
    kc_isr_change_seen_fn seen;
    int pending; /* the listing plus one per child being handled */
    int rc;      /* first failure */
    bool fenced;
    kc_done_fn done;
    void *arg;
} consume_op_t;

/* One child: read (unless discarding), then deleted under the epoch check. */
typedef struct consume_item {
    consume_op_t *op;
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    const char *name; /* points into path */
    char path[];
} consume_item_t;

static void consume_settle(consume_op_t *op, int rc) {
    /* A child someone else deleted meanwhile is not a failure. */
    if (rc != KC_OK && rc != KC_NONODE && op->rc == KC_OK) op->rc = rc;
    if (--op->pending > 0) return;
    op->done(op->fenced ? KC_FENCED : op->rc, op->arg);
    free(op);
}

static void item_deleted(int rc, const void *data) {
    consume_item_t *it = (consume_item_t *)data;
    consume_op_t *op = it->op;
    int err0 = it->results[0].err;
    if (rc != ZOK && (err0 == ZBADVERSION || err0 == ZNONODE)) op->fenced = true;
    else if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING) kc_warn("isr", "deleting %s: %s", it->path, zerror(rc));
    free(it);
    consume_settle(op, kc_from_zrc(rc));
}

static void item_delete(consume_item_t *it) {
    consume_op_t *op = it->op;
    zhandle_t *zh = kc_session_handle(op->s);
    zoo_check_op_init(&it->ops[0], KC_PATH_CONTROLLER_EPOCH, op->epoch_zk_version);
    zoo_delete_op_init(&it->ops[1], it->path, -1);
    int rc = zh ? zoo_amulti(zh, 2, it->ops, it->results, item_deleted, it) : ZCONNECTIONLOSS;
    if (rc != ZOK) item_deleted(rc, it);
    kc_session_kick(op->s);
}

static void item_read(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    consume_item_t *it = (consume_item_t *)data;
    consume_op_t *op = it->op;
    if (rc != ZOK) {
        free(it);
        consume_settle(op, kc_from_zrc(rc));
        return;
    }
    kc_isr_change_t *parts = NULL;
    int n = 0;
    if (kc_json_isr_change_decode(value, value_len > 0 ? (size_t)value_len : 0, &parts, &n) < 0)
        kc_warn("isr", "%s is not an ISR change notification Kafka would write; deleting it", it->path);
    op->seen(it->name, parts, n, op->arg);
    kc_isr_changes_free(parts, n);
    item_delete(it);
}

static void consume_item(consume_op_t *op, zhandle_t *zh, const char *child) {
    size_t n = strlen(KC_PATH_ISR_CHANGE) + 1 + strlen(child) + 1;
    consume_item_t *it = calloc(1, sizeof(*it) + n);
    if (!it) {
        if (op->rc == KC_OK) op->rc = KC_ERR;
        return;
    }
    it->op = op;
    snprintf(it->path, n, "%s/%s", KC_PATH_ISR_CHANGE, child);
    it->name = it->path + strlen(KC_PATH_ISR_CHANGE) + 1;
    op->pending++;
    if (!op->seen) {
        item_delete(it);
        return;
    }
    int rc = zoo_aget(zh, it->path, 0, item_read, it);
    if (rc != ZOK) item_read(rc, NULL, 0, NULL, it);
}

static void parent_exists(int rc, const struct Stat *stat, const void *data) {
    consume_settle((consume_op_t *)data, rc == ZNONODE ? KC_OK : kc_from_zrc(rc));
}

static void children_listed(int rc, const struct String_vector *names, const void *data) {
    consume_op_t *op = (consume_op_t *)data;
    zhandle_t *zh = kc_session_handle(op->s);
    const char *prefix = strrchr(KC_PATH_ISR_CHANGE_PREFIX, '/') + 1;
    if (rc == ZNONODE && zh) {
        /* No parent (yet): watch for its creation instead. */
        int zrc = zoo_awexists(zh, KC_PATH_ISR_CHANGE, op->watcher, op->watcher_ctx, parent_exists, op);
        if (zrc != ZOK) parent_exists(zrc, NULL, op);
        kc_session_kick(op->s);
        return;
    }
    for (int i = 0; rc == ZOK && zh && i < names->count; i++)
        if (strncmp(names->data[i], prefix, strlen(prefix)) == 0) consume_item(op, zh, names->data[i]);
    if (zh) kc_session_kick(op->s);
    consume_settle(op, rc == ZOK ? KC_OK : kc_from_zrc(rc));
}

void kc_isr_changes_consume(kc_session_t *s, int32_t epoch_zk_version, watcher_fn watcher, void *watcher_ctx,
                            kc_isr_change_seen_fn seen, kc_done_fn done, void *arg) {
    consume_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(zh ? KC_ERR : KC_CONNLOSS, arg);
        return;
    }
    *op = (consume_op_t){.s = s, .epoch_zk_version = epoch_zk_version, .watcher = watcher,
                         .watcher_ctx = watcher_ctx, .seen = seen, .pending = 1, .done = done, .arg = arg};
    int rc = zoo_awget_children(zh, KC_PATH_ISR_CHANGE, watcher, watcher_ctx, children_listed, op);
    if (rc != ZOK) children_listed(rc, NULL, op);
    kc_session_kick(s);
}
