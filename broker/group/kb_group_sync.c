/*
 * kb_group_sync.c - SyncGroup, Heartbeat and LeaveGroup (group-protocol.md
 * 4.6-4.9), and the group's state record.
 *
 * The leader's SyncGroup carries every member's assignment.  The
 * assignments are written to the group's offsets partition in one group
 * metadata record (acks=all) before anyone hears them: a follower's
 * SyncGroup waits parked until that write is acknowledged, so a new
 * coordinator after a failover loads the same assignment the members were
 * given.  A failed write clears the assignments, answers the parked
 * SyncGroups with the mapped error and starts a new rebalance.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group/kb_group_internal.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define MOD "group"

/* -------------------------------------------------- member-scoped checks */

/* Spec 4.9's order for member-scoped requests: static fencing, then
 * membership, then generation.  Returns the member or NULL with *err. */
static kb_member_t *member_check(kb_group_t *g, kp_str_t member_id, kp_str_t instance_id, int32_t generation,
                                 int16_t *err) {
    kb_member_t *st = kb_group_static_member(g, instance_id), *m;

    *err = KP_ERR_NONE;
    if (st && !kb_slice_eq(member_id, st->member_id)) {
        *err = KP_ERR_FENCED_INSTANCE_ID;
        return NULL;
    }
    if (!(m = kb_group_member(g, member_id)) || (instance_id.len >= 0 && !st)) {
        *err = KP_ERR_UNKNOWN_MEMBER_ID;
        return NULL;
    }
    if (generation != g->generation) {
        *err = KP_ERR_ILLEGAL_GENERATION;
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------ SyncGroup */

static void answer_sync(kb_member_t *m, int16_t error) {
    kb_sync_done_fn done = m->sync.done;
    if (!done) return;
    m->sync.done = NULL;
    if (error == KP_ERR_NONE) kb_member_heartbeat(m);
    done(m->sync.arg, error, error ? (kp_bytes_t){0, NULL} : (kp_bytes_t){m->assignment_len, m->assignment});
}

void kb_group_fail_syncs(kb_group_t *g, int16_t error) {
    kb_member_t *m;
    TAILQ_FOREACH(m, &g->members, link) answer_sync(m, error);
}

static void clear_assignments(kb_group_t *g) {
    kb_member_t *m;
    TAILQ_FOREACH(m, &g->members, link) {
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
    }
}

/* The leader's assignments onto the members (missing: empty; entries for
 * non-members ignored).  False when out of memory. */
static bool take_assignments(kb_group_t *g, const kb_sync_request_t *req) {
    clear_assignments(g);
    for (int32_t i = 0; i < req->n_assignments; i++) {
        kb_member_t *m = kb_group_member(g, req->assignments[i].member_id);
        int32_t len = req->assignments[i].assignment.len;
        if (!m || len <= 0) continue;
        free(m->assignment);
        if (!(m->assignment = malloc((size_t)len))) return false;
        memcpy(m->assignment, req->assignments[i].assignment.ptr, (size_t)len);
        m->assignment_len = len;
    }
    return true;
}

typedef struct {
    int32_t generation;
} assignment_write_t;

static void assignment_stored(kb_group_t *g, int16_t error, void *arg) {
    assignment_write_t *w = arg;
    int32_t generation = w->generation;

    free(w);
    if (g->storing_generation == generation) g->storing_generation = -1;
    /* A write of an older generation changes nothing: the group has moved on. */
    if (g->freed || g->state != KB_GROUP_COMPLETING || g->generation != generation) return;
    if (error) {
        kc_warn(MOD, "group '%s': storing generation %d's assignment failed (error %d); rebalancing", g->id,
                (int)generation, (int)error);
        clear_assignments(g);
        kb_group_fail_syncs(g, error);
        kb_group_prepare_rebalance(g, "its assignment could not be stored");
        return;
    }
    kb_group_set_state(g, KB_GROUP_STABLE);
    kb_group_fail_syncs(g, KP_ERR_NONE);
}

static void leader_sync(kb_group_t *g, const kb_sync_request_t *req) {
    assignment_write_t *w = malloc(sizeof(*w));

    if (!w || !take_assignments(g, req)) {
        free(w);
        clear_assignments(g);
        kb_group_fail_syncs(g, KP_ERR_UNKNOWN_SERVER_ERROR);
        kb_group_prepare_rebalance(g, "out of memory storing the assignment");
        return;
    }
    w->generation = g->generation;
    g->storing_generation = g->generation;
    kb_group_store_state(g, assignment_stored, w);
}

void kb_group_sync(kb_coordinator_t *c, const kb_sync_request_t *req, kb_sync_done_fn done, void *arg) {
    int32_t partition;
    int16_t err = kb_coordinator_check(c, req->group_id, false, &partition);
    kb_group_t *g = err ? NULL : kb_coordinator_find(c, req->group_id);
    kb_member_t *m = NULL;

    if (err == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS) err = KP_ERR_REBALANCE_IN_PROGRESS;
    if (!err && !g) err = KP_ERR_UNKNOWN_MEMBER_ID;
    if (!err) m = member_check(g, req->member_id, req->instance_id, req->generation_id, &err);
    if (!err && g->state == KB_GROUP_EMPTY) err = KP_ERR_UNKNOWN_MEMBER_ID;
    if (!err && g->state == KB_GROUP_PREPARING) err = KP_ERR_REBALANCE_IN_PROGRESS;
    if (err) {
        done(arg, err, (kp_bytes_t){0, NULL});
        return;
    }
    m->pending_sync = false;
    if (g->state == KB_GROUP_STABLE) {
        kb_member_heartbeat(m);
        done(arg, KP_ERR_NONE, (kp_bytes_t){m->assignment_len, m->assignment});
        return;
    }
    answer_sync(m, KP_ERR_REBALANCE_IN_PROGRESS); /* a SyncGroup it gave up on */
    m->sync = (kb_parked_sync_t){done, arg};
    /* The leader's assignment of this generation is written once (a second
     * SyncGroup of the leader's waits for that write), whatever older
     * generation's write may still be in flight. */
    if (g->leader && strcmp(g->leader, m->member_id) == 0 && g->storing_generation != g->generation)
        leader_sync(g, req);
}

/* ------------------------------------------------------------ Heartbeat */

int16_t kb_group_heartbeat(kb_coordinator_t *c, kp_str_t group_id, kp_str_t member_id, kp_str_t instance_id,
                           int32_t generation_id) {
    int32_t partition;
    int16_t err = kb_coordinator_check(c, group_id, false, &partition);
    kb_group_t *g;
    kb_member_t *m;

    if (err == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS) return KP_ERR_NONE; /* spec 4.9: clients keep going */
    if (err) return err;
    if (!(g = kb_coordinator_find(c, group_id))) return KP_ERR_UNKNOWN_MEMBER_ID;
    if (!(m = member_check(g, member_id, instance_id, generation_id, &err))) return err;
    if (g->state == KB_GROUP_EMPTY) return KP_ERR_UNKNOWN_MEMBER_ID;
    kb_member_heartbeat(m);
    return g->state == KB_GROUP_PREPARING ? KP_ERR_REBALANCE_IN_PROGRESS : KP_ERR_NONE;
}

/* ----------------------------------------------------------- LeaveGroup */

/* One entry: its error; *removed tells a member from a pending id, which
 * is only forgotten (it never was in a generation). */
static int16_t leave_one(kb_group_t *g, kp_str_t member_id, kp_str_t instance_id, bool *removed) {
    kb_member_t *st = kb_group_static_member(g, instance_id), *m;
    kb_pending_member_t *p;

    *removed = false;
    if (member_id.len > 0 && st && !kb_slice_eq(member_id, st->member_id)) return KP_ERR_FENCED_INSTANCE_ID;
    if ((p = kb_group_pending(g, member_id))) {
        kb_pending_free(p);
        return KP_ERR_NONE;
    }
    m = st ? st : kb_group_member(g, member_id);
    if (!m) return KP_ERR_UNKNOWN_MEMBER_ID;
    kc_info(MOD, "group '%s': member %s left", g->id, m->member_id);
    kb_member_remove(m, KP_ERR_REBALANCE_IN_PROGRESS);
    *removed = true;
    return KP_ERR_NONE;
}

int16_t kb_group_leave(kb_coordinator_t *c, kp_str_t group_id, int32_t n, const kp_str_t *member_ids,
                       const kp_str_t *instance_ids, int16_t *errors) {
    int32_t partition, left = 0, forgotten = 0;
    int16_t err = kb_coordinator_check(c, group_id, false, &partition);
    kb_group_t *g = err ? NULL : kb_coordinator_find(c, group_id);
    bool removed;

    for (int32_t i = 0; i < n; i++) errors[i] = err ? err : KP_ERR_UNKNOWN_MEMBER_ID;
    if (err || !g) return err;
    for (int32_t i = 0; i < n; i++) {
        errors[i] = leave_one(g, member_ids[i], instance_ids[i], &removed);
        left += removed;
        forgotten += errors[i] == KP_ERR_NONE && !removed;
    }
    /* A member leaving costs a generation; a forgotten pending id only
     * stops blocking the join phase it was holding up (spec 4.8). */
    if (left) kb_group_member_left(g, "a member left the group");
    else if (forgotten && g->state == KB_GROUP_PREPARING) kb_group_maybe_complete_join(g);
    return KP_ERR_NONE;
}

/* ------------------------------------------------------ the state record */

typedef struct {
    kb_group_t *g;
    kb_state_stored_fn done;
    void *arg;
} state_write_t;

static void state_written(void *arg, int16_t error) {
    state_write_t *w = arg;
    kb_group_t *g = w->g;
    if (w->done) w->done(g, kb_store_map_error(error, false), w->arg);
    free(w);
    kb_group_unref(g);
}

void kb_group_store_state(kb_group_t *g, kb_state_stored_fn done, void *arg) {
    state_write_t *w = malloc(sizeof(*w));
    kb_store_record_t rec;

    if (!w) {
        if (done) done(g, KP_ERR_UNKNOWN_SERVER_ERROR, arg);
        return;
    }
    *w = (state_write_t){g, done, arg};
    g->refs++;
    kb_store_record_init(&rec);
    kb_store_group_record(&rec, g);
    kb_store_append(g->c, g->partition, &rec, 1, false, state_written, w);
    kb_store_record_clear(&rec);
}
