/*
 * kc_admin.c - the deletion marker and the removal of a deleted topic's
 * znodes (see kc_admin.h).
 *
 * The removal walks /brokers/topics/T as a tree of small contexts, one per
 * znode: each lists its children, starts one context per child, and
 * deletes its own znode (fenced) once the last child is gone, then tells
 * its parent.  The root's completion starts the next step (the config,
 * then the marker).  A failure anywhere is remembered in the operation and
 * keeps every ancestor: their deletes would fail as not empty anyway.
 */
#include "coord/kc_admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kc_log.h"
#include "coord/kc_json.h"
#include "coord/kc_paths.h"

#define PATH_LEN 512

/* ---- the marker ---- */

typedef struct mark_op {
    kc_session_t *s;
    bool parent_tried; /* the parent was created once already */
    char topic_path[PATH_LEN];
    char marker[PATH_LEN];
    kc_done_fn done;
    void *arg;
} mark_op_t;

static void mark_finish(mark_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op);
}

static void marker_create(mark_op_t *op);

static void ignore_created(int rc, const char *value, const void *data) {}

static void marker_created(int rc, const char *value, const void *data) {
    mark_op_t *op = (mark_op_t *)data;
    zhandle_t *zh = rc == ZNONODE && !op->parent_tried ? kc_session_handle(op->s) : NULL;
    if (!zh) {
        mark_finish(op, rc == ZNODEEXISTS ? KC_EXISTS : rc == ZNONODE ? KC_ERR : kc_from_zrc(rc));
        return;
    }
    /* Every broker creates the parent at start; a tool may run before any
     * did.  The requests of one session are applied in order, so the
     * retry below finds the parents made. */
    op->parent_tried = true;
    zoo_acreate(zh, "/admin", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, ignore_created, NULL);
    zoo_acreate(zh, KC_PATH_DELETE_TOPICS, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, ignore_created, NULL);
    marker_create(op);
}

static void marker_create(mark_op_t *op) {
    zhandle_t *zh = kc_session_handle(op->s);
    int rc = zh ? zoo_acreate(zh, op->marker, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, marker_created, op)
                : ZCONNECTIONLOSS;
    if (rc != ZOK) marker_created(rc, NULL, op);
    kc_session_kick(op->s);
}

static void topic_checked(int rc, const struct Stat *st, const void *data) {
    mark_op_t *op = (mark_op_t *)data;
    if (rc == ZOK) marker_create(op);
    else mark_finish(op, rc == ZNONODE ? KC_NONODE : kc_from_zrc(rc));
}

void kc_topic_mark_deletion(kc_session_t *s, const char *topic, kc_done_fn done, void *arg) {
    mark_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(op ? KC_CONNLOSS : KC_ERR, arg);
        return;
    }
    *op = (mark_op_t){.s = s, .done = done, .arg = arg};
    kc_path_topic(op->topic_path, sizeof(op->topic_path), topic);
    kc_path_delete_topic(op->marker, sizeof(op->marker), topic);
    int rc = zoo_aexists(zh, op->topic_path, 0, topic_checked, op);
    if (rc != ZOK) topic_checked(rc, NULL, op);
    kc_session_kick(s);
}

/* ---- where a deletion stands ---- */

typedef struct state_op {
    kc_session_t *s;
    char topic_path[PATH_LEN];
    kc_done_fn done;
    void *arg;
} state_op_t;

static void state_finish(state_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op);
}

static void topic_looked_up(int rc, const struct Stat *st, const void *data) {
    state_finish((state_op_t *)data, rc == ZOK ? KC_OK : kc_from_zrc(rc));
}

static void marker_looked_up(int rc, const struct Stat *st, const void *data) {
    state_op_t *op = (state_op_t *)data;
    zhandle_t *zh = rc == ZNONODE ? kc_session_handle(op->s) : NULL;
    if (!zh) {
        state_finish(op, rc == ZOK ? KC_MARKED : rc == ZNONODE ? KC_CONNLOSS : kc_from_zrc(rc));
        return;
    }
    int zrc = zoo_aexists(zh, op->topic_path, 0, topic_looked_up, op);
    if (zrc != ZOK) topic_looked_up(zrc, NULL, op);
    kc_session_kick(op->s);
}

void kc_topic_deletion_state(kc_session_t *s, const char *topic, kc_done_fn done, void *arg) {
    char marker[PATH_LEN];
    state_op_t *op = calloc(1, sizeof(*op));
    zhandle_t *zh = kc_session_handle(s);
    if (!op || !zh) {
        free(op);
        done(op ? KC_CONNLOSS : KC_ERR, arg);
        return;
    }
    *op = (state_op_t){.s = s, .done = done, .arg = arg};
    kc_path_topic(op->topic_path, sizeof(op->topic_path), topic);
    int rc = zoo_aexists(zh, kc_path_delete_topic(marker, sizeof(marker), topic), 0, marker_looked_up, op);
    if (rc != ZOK) marker_looked_up(rc, NULL, op);
    kc_session_kick(s);
}

/* ---- fenced deletes ---- */

typedef struct del_op del_op_t;

/* One znode being deleted: its children first. */
typedef struct del_node {
    del_op_t *op;
    struct del_node *parent; /* NULL: the step's root */
    int pending;             /* children not finished, plus one while listing */
    zoo_op_t ops[2];
    zoo_op_result_t results[2];
    char path[];
} del_node_t;

struct del_op {
    kc_session_t *s;
    int32_t epoch_zk_version;
    int step;    /* 0: the topic tree, 1: its config, 2: the marker */
    int rc;      /* the first failure of the step */
    bool fenced;
    kc_done_fn done;
    void *arg;
    char topic[];
};

static void step_done(del_op_t *op);
static void node_delete(del_node_t *n);

static del_node_t *node_new(del_op_t *op, del_node_t *parent, const char *path, const char *child) {
    size_t n = strlen(path) + (child ? strlen(child) + 1 : 0) + 1;
    del_node_t *node = calloc(1, sizeof(*node) + n);
    if (!node) return NULL;
    node->op = op;
    node->parent = parent;
    if (child) snprintf(node->path, n, "%s/%s", path, child);
    else memcpy(node->path, path, n);
    return node;
}

static void node_finish(del_node_t *n, int rc);

/* A child finished: after the last one the node deletes itself, unless
 * something failed (its delete would fail as not empty: it is kept). */
static void child_done(del_node_t *n) {
    if (--n->pending > 0) return;
    if (n->op->rc != KC_OK || n->op->fenced) node_finish(n, KC_OK);
    else node_delete(n);
}

static void node_finish(del_node_t *n, int rc) {
    del_op_t *op = n->op;
    del_node_t *parent = n->parent;
    if (rc != KC_OK && op->rc == KC_OK) op->rc = rc;
    free(n);
    if (parent) child_done(parent);
    else step_done(op);
}

static void node_deleted(int rc, const void *data) {
    del_node_t *n = (del_node_t *)data;
    int err0 = n->results[0].err;
    if (rc != ZOK && (err0 == ZBADVERSION || err0 == ZNONODE)) n->op->fenced = true;
    else if (rc != ZOK && n->results[1].err == ZNONODE) rc = ZOK; /* gone already */
    if (rc != ZOK && rc != ZCLOSING && !n->op->fenced) kc_warn("admin", "deleting %s: %s", n->path, zerror(rc));
    node_finish(n, n->op->fenced ? KC_FENCED : kc_from_zrc(rc));
}

static void node_delete(del_node_t *n) {
    zhandle_t *zh = kc_session_handle(n->op->s);
    zoo_check_op_init(&n->ops[0], KC_PATH_CONTROLLER_EPOCH, n->op->epoch_zk_version);
    zoo_delete_op_init(&n->ops[1], n->path, -1);
    int rc = zh ? zoo_amulti(zh, 2, n->ops, n->results, node_deleted, n) : ZCONNECTIONLOSS;
    if (rc != ZOK) node_deleted(rc, n);
    kc_session_kick(n->op->s);
}

static void node_list(del_node_t *n);

static void children_listed(int rc, const struct String_vector *names, const void *data) {
    del_node_t *n = (del_node_t *)data;
    if (rc != ZOK) {
        node_finish(n, rc == ZNONODE ? KC_OK : kc_from_zrc(rc)); /* gone already, or a failure */
        return;
    }
    n->pending = names->count + 1; /* the one is this listing's own hold */
    for (int i = 0; i < names->count; i++) {
        del_node_t *child = node_new(n->op, n, n->path, names->data[i]);
        if (child) {
            node_list(child);
            continue;
        }
        if (n->op->rc == KC_OK) n->op->rc = KC_ERR;
        n->pending--;
    }
    child_done(n);
}

static void node_list(del_node_t *n) {
    zhandle_t *zh = kc_session_handle(n->op->s);
    int rc = zh ? zoo_aget_children(zh, n->path, 0, children_listed, n) : ZCONNECTIONLOSS;
    if (rc != ZOK) children_listed(rc, NULL, n);
    kc_session_kick(n->op->s);
}

static void del_finish(del_op_t *op, int rc) {
    op->done(rc, op->arg);
    free(op);
}

/* Starts op's current step, whose root is path: a tree (listed first) or a
 * single znode without children. */
static void step_start(del_op_t *op, const char *path, bool tree) {
    del_node_t *root = node_new(op, NULL, path, NULL);
    if (!root) {
        del_finish(op, KC_ERR);
        return;
    }
    if (tree) node_list(root);
    else node_delete(root);
}

static void step_done(del_op_t *op) {
    char path[PATH_LEN];
    if (op->fenced || op->rc != KC_OK) {
        del_finish(op, op->fenced ? KC_FENCED : op->rc);
        return;
    }
    switch (++op->step) {
    case 1: step_start(op, kc_path_topic_config(path, sizeof(path), op->topic), false); break;
    case 2: step_start(op, kc_path_delete_topic(path, sizeof(path), op->topic), false); break;
    default: del_finish(op, KC_OK); break;
    }
}

static del_op_t *del_op_new(kc_session_t *s, const char *topic, int32_t epoch_zk_version, kc_done_fn done,
                            void *arg) {
    size_t n = strlen(topic) + 1;
    del_op_t *op = calloc(1, sizeof(*op) + n);
    if (!op) {
        done(KC_ERR, arg);
        return NULL;
    }
    op->s = s;
    op->epoch_zk_version = epoch_zk_version;
    op->done = done;
    op->arg = arg;
    memcpy(op->topic, topic, n);
    return op;
}

void kc_topic_delete_znodes(kc_session_t *s, const char *topic, int32_t epoch_zk_version, kc_done_fn done,
                            void *arg) {
    char path[PATH_LEN];
    del_op_t *op = del_op_new(s, topic, epoch_zk_version, done, arg);
    if (op) step_start(op, kc_path_topic(path, sizeof(path), topic), true);
}

static void unmark_start(del_op_t *op) {
    char path[PATH_LEN];
    op->step = 2; /* the marker alone */
    step_start(op, kc_path_delete_topic(path, sizeof(path), op->topic), false);
}

/* The topic znode as read: gone (the marker goes), readable (the view has
 * not read it yet: KC_EXISTS), or there but unreadable (KC_INVALID: no
 * broker's view holds it, so the caller may delete it outright). */
static void topic_read(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    del_op_t *op = (del_op_t *)data;
    kc_topic_t t = {0};
    if (rc == ZNONODE) {
        unmark_start(op);
        return;
    }
    if (rc == ZOK && (!value || len <= 0 || kc_json_topic_decode(value, (size_t)len, &t) < 0)) {
        del_finish(op, KC_INVALID);
        return;
    }
    kc_topic_clear(&t);
    del_finish(op, rc == ZOK ? KC_EXISTS : kc_from_zrc(rc));
}

void kc_topic_unmark_deletion(kc_session_t *s, const char *topic, int32_t epoch_zk_version, bool only_if_absent,
                              kc_done_fn done, void *arg) {
    char path[PATH_LEN];
    del_op_t *op = del_op_new(s, topic, epoch_zk_version, done, arg);
    if (!op) return;
    if (!only_if_absent) {
        unmark_start(op);
        return;
    }
    zhandle_t *zh = kc_session_handle(s);
    int rc = zh ? zoo_aget(zh, kc_path_topic(path, sizeof(path), topic), 0, topic_read, op) : ZCONNECTIONLOSS;
    if (rc != ZOK) topic_read(rc, NULL, 0, NULL, op);
    kc_session_kick(s);
}
