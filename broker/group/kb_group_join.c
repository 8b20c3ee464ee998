/*
 * kb_group_join.c - JoinGroup and the join phase (group-protocol.md 4.4,
 * 4.5, 4.7, 4.10, 4.11): members and their ids, the rebalance that
 * collects one JoinGroup per member, the initial delay of a group that
 * starts from Empty, the session and join deadlines, and the end of the
 * phase that announces a generation, its protocol and its leader.
 *
 * Invariants:
 *  - a member has at most one parked JoinGroup (m->join.done) and one
 *    parked SyncGroup (m->sync.done); whoever clears the field answers it
 *    exactly once.  A JoinGroup that replaces a parked one answers the
 *    older REBALANCE_IN_PROGRESS: its client already gave up on it, and an
 *    unanswered request would hold its connection forever.
 *  - the join phase completes only in PreparingRebalance, when every
 *    member has a parked JoinGroup and no MEMBER_ID_REQUIRED id is pending,
 *    or when g->join_timer fires.
 *  - member ids are `<client id or instance id>-<UUID>` as Kafka makes them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "broker/group/kb_group_internal.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define MOD "group"
#define NEW_MEMBER_JOIN_TIMEOUT_MS 300000
/* The most protocols one JoinGroup may offer (a deviation: Kafka has no
 * bound; every client offers one to three). */
#define KB_GROUP_MAX_PROTOCOLS 64

/* ------------------------------------------------------------- members */

kb_member_t *kb_group_member(const kb_group_t *g, kp_str_t member_id) {
    kb_id_entry_t *e = kb_ids_find(&g->member_ids, member_id);
    return e ? KB_CONTAINER_OF(e, kb_member_t, by_id) : NULL;
}

kb_member_t *kb_group_static_member(const kb_group_t *g, kp_str_t instance_id) {
    kb_id_entry_t *e = kb_ids_find(&g->instance_ids, instance_id);
    return e ? KB_CONTAINER_OF(e, kb_member_t, by_instance) : NULL;
}

void kb_group_link_member(kb_group_t *g, kb_member_t *m) {
    TAILQ_INSERT_TAIL(&g->members, m, link);
    g->n_members++;
    kb_ids_add(&g->member_ids, &m->by_id, m->member_id);
    if (m->instance_id) kb_ids_add(&g->instance_ids, &m->by_instance, m->instance_id);
}

void kb_group_unlink_member(kb_group_t *g, kb_member_t *m) {
    TAILQ_REMOVE(&g->members, m, link);
    g->n_members--;
    kb_ids_remove(&g->member_ids, &m->by_id);
    kb_ids_remove(&g->instance_ids, &m->by_instance);
}

/* m's member id becomes id (taking it); returns the old one, which the
 * caller frees. */
static char *member_rename(kb_member_t *m, char *id) {
    char *old = m->member_id;
    kb_ids_remove(&m->group->member_ids, &m->by_id);
    m->member_id = id;
    kb_ids_add(&m->group->member_ids, &m->by_id, id);
    return old;
}

static void protocols_free(kb_protocol_t *p, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].metadata);
    }
    free(p);
}

void kb_member_free(kb_member_t *m) {
    if (m->expiry) event_free(m->expiry);
    protocols_free(m->protocols, m->n_protocols);
    free(m->member_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

void kb_pending_free(kb_pending_member_t *p) {
    LIST_REMOVE(p, link);
    kb_ids_remove(&p->group->pending_ids, &p->by_id);
    if (p->expiry) event_free(p->expiry);
    free(p->member_id);
    free(p);
}

static int32_t session_of(const kb_member_t *m) { return m->session_timeout_ms; }

void kb_member_heartbeat(kb_member_t *m) {
    if (!m->is_new) kb_group_arm(m->expiry, session_of(m));
}

/* Copies the request's protocols; false when out of memory (m unchanged). */
static bool member_set_protocols(kb_member_t *m, const kb_join_request_t *req) {
    kb_protocol_t *p = calloc(req->n_protocols > 0 ? (size_t)req->n_protocols : 1, sizeof(*p));
    if (!p) return false;
    for (int32_t i = 0; i < req->n_protocols; i++) {
        const kb_join_protocol_t *q = &req->protocols[i];
        int32_t len = q->metadata.len > 0 ? q->metadata.len : 0;
        p[i].name = kb_strdup_slice(q->name);
        p[i].metadata = malloc(len ? (size_t)len : 1);
        p[i].len = len;
        if (!p[i].name || !p[i].metadata) {
            protocols_free(p, i + 1);
            return false;
        }
        if (len) memcpy(p[i].metadata, q->metadata.ptr, (size_t)len);
    }
    protocols_free(m->protocols, m->n_protocols);
    m->protocols = p;
    m->n_protocols = req->n_protocols;
    return true;
}

static bool same_protocols(const kb_member_t *m, const kb_join_request_t *req) {
    if (m->n_protocols != req->n_protocols) return false;
    for (int32_t i = 0; i < req->n_protocols; i++) {
        const kb_join_protocol_t *q = &req->protocols[i];
        int32_t len = q->metadata.len > 0 ? q->metadata.len : 0;
        if (!kb_slice_eq(q->name, m->protocols[i].name) || len != m->protocols[i].len ||
            (len && memcmp(q->metadata.ptr, m->protocols[i].metadata, (size_t)len) != 0))
            return false;
    }
    return true;
}

static const kb_protocol_t *member_protocol_slice(const kb_member_t *m, kp_str_t name) {
    for (int32_t i = 0; i < m->n_protocols; i++)
        if (kb_slice_eq(name, m->protocols[i].name)) return &m->protocols[i];
    return NULL;
}

static const kb_protocol_t *member_protocol(const kb_member_t *m, const char *name) {
    return name ? member_protocol_slice(m, kp_str_c(name)) : NULL;
}

/* Whether every member other than `except` supports protocol `name`.
 * O(members x protocols): a join costs that once per protocol offered. */
static bool all_support(const kb_group_t *g, const kb_member_t *except, kp_str_t name) {
    const kb_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    if (m != except && !member_protocol_slice(m, name)) return false;
    return true;
}

/* Spec 4.4 step 4, as Kafka counts it: an offered protocol must be one
 * every current member supports, the joiner included with what it offered
 * before (a lone member cannot switch to a protocol it never offered). */
static bool protocols_acceptable(const kb_group_t *g, const kb_join_request_t *req) {
    if (g->n_members == 0) return req->protocol_type.len > 0 && req->n_protocols > 0;
    if (!g->protocol_type || !kb_slice_eq(req->protocol_type, g->protocol_type)) return false;
    for (int32_t i = 0; i < req->n_protocols; i++)
        if (all_support(g, NULL, req->protocols[i].name)) return true;
    return false;
}

/* ------------------------------------------------------------ answers */

static void answer(kb_join_done_fn done, void *arg, int16_t error, const char *member_id) {
    kb_join_result_t res = {error, -1, "", "", member_id ? member_id : "", 0, NULL};
    done(arg, &res);
}

/* An error that says nothing about membership (the coordinator's, spec
 * 3.5) gives the request's member id back, as Kafka does: the client keeps
 * it for its next try. */
static void answer_keep_id(kb_join_done_fn done, void *arg, int16_t error, kp_str_t member_id) {
    char *id = kb_strdup_slice(member_id);
    answer(done, arg, error, id ? id : "");
    free(id);
}

void kb_group_answer_join(kb_member_t *m, int16_t error) {
    kb_join_done_fn done = m->join.done;
    if (!done) return;
    m->join.done = NULL;
    /* A removed member learns it is unknown and starts over with no id. */
    answer(done, m->join.arg, error, error == KP_ERR_UNKNOWN_MEMBER_ID ? "" : m->member_id);
}

/* The answer of a completed join phase for m (the leader gets the list). */
static void answer_generation(kb_group_t *g, kb_member_t *m, kb_join_done_fn done, void *arg) {
    bool leader = g->leader && strcmp(g->leader, m->member_id) == 0;
    kb_join_member_t *list = NULL;
    int32_t n = 0;

    if (leader && (list = calloc((size_t)g->n_members + 1, sizeof(*list)))) {
        kb_member_t *x;
        TAILQ_FOREACH(x, &g->members, link) {
            const kb_protocol_t *p = member_protocol(x, g->protocol);
            list[n++] = (kb_join_member_t){x->member_id, x->instance_id,
                                           {p ? p->len : 0, p ? p->metadata : NULL}};
        }
    }
    kb_join_result_t res = {KP_ERR_NONE, g->generation, g->protocol ? g->protocol : "", g->leader ? g->leader : "",
                            m->member_id, n, list};
    done(arg, &res);
    free(list);
}

/* ----------------------------------------------------- member removal */

void kb_member_remove(kb_member_t *m, int16_t sync_error) {
    kb_group_t *g = m->group;

    kb_group_answer_join(m, KP_ERR_UNKNOWN_MEMBER_ID);
    if (m->sync.done) {
        kb_sync_done_fn done = m->sync.done;
        m->sync.done = NULL;
        done(m->sync.arg, sync_error, (kp_bytes_t){0, NULL});
    }
    kb_group_unlink_member(g, m);
    if (g->leader && strcmp(g->leader, m->member_id) == 0) {
        kb_member_t *next = TAILQ_FIRST(&g->members);
        free(g->leader);
        g->leader = next ? strdup(next->member_id) : NULL;
    }
    kb_member_free(m);
}

/* After a member left: the group rebalances or re-checks its join phase. */
void kb_group_member_left(kb_group_t *g, const char *why) {
    if (g->state == KB_GROUP_STABLE || g->state == KB_GROUP_COMPLETING)
        kb_group_prepare_rebalance(g, why);
    else if (g->state == KB_GROUP_PREPARING)
        kb_group_maybe_complete_join(g);
}

static void on_member_expiry(evutil_socket_t fd, short what, void *arg) {
    kb_member_t *m = arg;
    kb_group_t *g = m->group;
    (void)fd, (void)what;

    /* A member waiting for an answer is alive (spec 4.7), unless it is
     * new and its join deadline passed. */
    if (!m->is_new && (m->join.done || m->sync.done)) {
        kb_member_heartbeat(m);
        return;
    }
    kc_info(MOD, "group '%s': member %s %s; removed", g->id, m->member_id,
            m->is_new ? "did not complete its first join in time" : "missed its session timeout");
    kb_member_remove(m, KP_ERR_REBALANCE_IN_PROGRESS);
    kb_group_member_left(g, "a member's session expired");
}

static void on_pending_expiry(evutil_socket_t fd, short what, void *arg) {
    kb_pending_member_t *p = arg;
    kb_group_t *g = p->group;
    (void)fd, (void)what;
    kb_pending_free(p);
    if (g->state == KB_GROUP_PREPARING) kb_group_maybe_complete_join(g);
}

/* ------------------------------------------------------------- ids */

/* A member id is `<prefix>-<36-character UUID>`, the prefix being the
 * client id (or instance id) cut to 255 bytes: ids are opaque to clients,
 * and each pending or stored id would otherwise cost a client's 32 kB
 * client id per JoinGroup (a deviation: Kafka keeps the whole id). */
#define MEMBER_ID_PREFIX_MAX 255

static char *new_member_id(kp_str_t prefix) {
    uint8_t u[16];
    char *id;
    int len = prefix.len > 0 ? (prefix.len < MEMBER_ID_PREFIX_MAX ? prefix.len : MEMBER_ID_PREFIX_MAX) : 0;

    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) return NULL;
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    id = malloc((size_t)len + 38);
    if (!id) return NULL;
    snprintf(id, (size_t)len + 38,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", len,
             prefix.ptr ? prefix.ptr : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15]);
    return id;
}

/* ------------------------------------------------------ the join phase */

static int32_t group_rebalance_timeout(const kb_group_t *g) {
    int32_t t = 0;
    const kb_member_t *m;
    TAILQ_FOREACH(m, &g->members, link)
    if (m->rebalance_timeout_ms > t) t = m->rebalance_timeout_ms;
    return t;
}

void kb_group_prepare_rebalance(kb_group_t *g, const char *why) {
    const kb_config_t *cfg = g->c->deps.cfg;
    bool from_empty = g->state == KB_GROUP_EMPTY;
    kb_member_t *m;

    if (g->state == KB_GROUP_COMPLETING) kb_group_fail_syncs(g, KP_ERR_REBALANCE_IN_PROGRESS);
    TAILQ_FOREACH(m, &g->members, link) m->pending_sync = false;
    if (g->sync_timer) evtimer_del(g->sync_timer);
    kc_info(MOD, "group '%s': rebalancing (generation %d, %d member(s)): %s", g->id, (int)g->generation,
            (int)g->n_members, why);
    kb_group_set_state(g, KB_GROUP_PREPARING);
    g->initial_delay = from_empty;
    g->new_member_added = false;
    if (from_empty) {
        int32_t delay = cfg->group_initial_rebalance_delay_ms, rt = group_rebalance_timeout(g);
        g->delay_remaining_ms = rt > delay ? rt - delay : 0;
        kb_group_arm(g->join_timer, delay);
    } else {
        kb_group_arm(g->join_timer, group_rebalance_timeout(g));
    }
}

/* Index in the first member's list of the candidate (a protocol every
 * member supports) named name, or -1. */
static int32_t candidate_index(const kb_member_t *first, const bool *candidate, const char *name) {
    for (int32_t i = 0; i < first->n_protocols; i++)
        if (candidate[i] && strcmp(first->protocols[i].name, name) == 0) return i;
    return -1;
}

/* Candidates are the protocols every member supports; each member votes
 * for the first candidate in its own order; the most votes win (ties: the
 * first member's order).  O(members x protocols^2). */
static const char *select_protocol(const kb_group_t *g) {
    const kb_member_t *first = TAILQ_FIRST(&g->members), *m;
    bool *candidate = first ? calloc((size_t)first->n_protocols + 1, sizeof(*candidate)) : NULL;
    int32_t *votes = first ? calloc((size_t)first->n_protocols + 1, sizeof(*votes)) : NULL;
    const char *best = NULL;

    for (int32_t i = 0; candidate && votes && i < first->n_protocols; i++)
        candidate[i] = all_support(g, NULL, kp_str_c(first->protocols[i].name));
    TAILQ_FOREACH(m, &g->members, link) {
        for (int32_t j = 0; candidate && votes && j < m->n_protocols; j++) {
            int32_t k = candidate_index(first, candidate, m->protocols[j].name);
            if (k < 0) continue;
            votes[k]++;
            break;
        }
    }
    for (int32_t i = 0, most = 0; candidate && votes && i < first->n_protocols; i++)
        if (candidate[i] && votes[i] > most) best = first->protocols[i].name, most = votes[i];
    free(candidate);
    free(votes);
    return best;
}

static void on_sync_deadline(evutil_socket_t fd, short what, void *arg);

static void empty_stored(kb_group_t *g, int16_t error, void *arg) {
    (void)arg;
    if (error) kc_warn(MOD, "group '%s': writing its empty state failed (error %d)", g->id, (int)error);
}

/* Spec 4.5 "On completion". */
static void complete_join(kb_group_t *g) {
    kb_member_t *m, *next;
    bool any_joined = false;

    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        if (!m->join.done && !m->instance_id) kb_member_remove(m, KP_ERR_REBALANCE_IN_PROGRESS);
    }
    TAILQ_FOREACH(m, &g->members, link) any_joined |= m->join.done != NULL;
    if (g->n_members > 0 && !any_joined) {
        kb_group_arm(g->join_timer, group_rebalance_timeout(g)); /* only static members, none back yet */
        return;
    }
    m = g->leader ? kb_group_member(g, kp_str_c(g->leader)) : NULL;
    if (!m || !m->join.done) {
        TAILQ_FOREACH(m, &g->members, link) if (m->join.done) break;
        free(g->leader);
        g->leader = m ? strdup(m->member_id) : NULL;
    }
    if (g->join_timer) evtimer_del(g->join_timer);
    /* A loaded record may carry any generation: wrap as Java's int does
     * rather than overflow, skipping the negatives clients read as none. */
    g->generation = g->generation >= INT32_MAX || g->generation < 0 ? 1 : g->generation + 1;
    g->c->stats.rebalances++;
    free(g->protocol);
    g->protocol = NULL;
    if (g->n_members == 0) {
        kb_group_set_state(g, KB_GROUP_EMPTY);
        kc_info(MOD, "group '%s': generation %d is empty", g->id, (int)g->generation);
        kb_group_store_state(g, empty_stored, NULL);
        return;
    }
    const char *p = select_protocol(g);
    g->protocol = p ? strdup(p) : NULL;
    kb_group_set_state(g, KB_GROUP_COMPLETING);
    kc_info(MOD, "group '%s': generation %d with %d member(s), protocol %s, leader %s", g->id, (int)g->generation,
            (int)g->n_members, g->protocol ? g->protocol : "(none)", g->leader ? g->leader : "(none)");
    TAILQ_FOREACH(m, &g->members, link) {
        kb_join_done_fn done = m->join.done;
        m->is_new = false;
        m->pending_sync = true;
        kb_member_heartbeat(m);
        if (!done) continue;
        m->join.done = NULL;
        answer_generation(g, m, done, m->join.arg);
    }
    kb_group_arm(g->sync_timer, group_rebalance_timeout(g));
}

void kb_group_maybe_complete_join(kb_group_t *g) {
    kb_member_t *m;
    if (g->state != KB_GROUP_PREPARING || g->initial_delay || !LIST_EMPTY(&g->pending)) return;
    TAILQ_FOREACH(m, &g->members, link) if (!m->join.done) return;
    complete_join(g);
}

static void on_join_timer(evutil_socket_t fd, short what, void *arg) {
    kb_group_t *g = arg;
    int32_t delay = g->c->deps.cfg->group_initial_rebalance_delay_ms;
    (void)fd, (void)what;

    if (g->state != KB_GROUP_PREPARING) return;
    if (g->initial_delay && g->new_member_added && g->generation == 0 && g->delay_remaining_ms > 0) {
        int32_t next = delay < g->delay_remaining_ms ? delay : g->delay_remaining_ms;
        g->delay_remaining_ms -= next;
        g->new_member_added = false;
        kb_group_arm(g->join_timer, next);
        return;
    }
    g->initial_delay = false;
    complete_join(g);
}

/* Members that never sent SyncGroup for this generation go (KAFKA-12890). */
static void on_sync_deadline(evutil_socket_t fd, short what, void *arg) {
    kb_group_t *g = arg;
    kb_member_t *m, *next;
    int removed = 0;
    (void)fd, (void)what;

    if (g->state != KB_GROUP_COMPLETING && g->state != KB_GROUP_STABLE) return;
    for (m = TAILQ_FIRST(&g->members); m; m = next) {
        next = TAILQ_NEXT(m, link);
        if (!m->pending_sync) continue;
        kb_member_remove(m, KP_ERR_REBALANCE_IN_PROGRESS);
        removed++;
    }
    if (removed) kb_group_prepare_rebalance(g, "members did not send SyncGroup in time");
}

/* The group's timers, made on its first join. */
static bool group_timers(kb_group_t *g) {
    struct event_base *base = g->c->deps.base;
    if (!g->join_timer) g->join_timer = evtimer_new(base, on_join_timer, g);
    if (!g->sync_timer) g->sync_timer = evtimer_new(base, on_sync_deadline, g);
    return g->join_timer && g->sync_timer;
}

/* ------------------------------------------------------------- joining */

static kb_member_t *member_new(kb_group_t *g, char *id, const kb_join_request_t *req) {
    kb_member_t *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->group = g;
    m->member_id = id;
    m->instance_id = req->instance_id.len >= 0 ? kb_strdup_slice(req->instance_id) : NULL;
    m->client_id = kb_strdup_slice(req->client_id);
    m->client_host = kb_strdup_slice(req->client_host);
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    m->expiry = evtimer_new(g->c->deps.base, on_member_expiry, m);
    if ((req->instance_id.len >= 0 && !m->instance_id) || !m->client_id || !m->client_host || !m->expiry ||
        !member_set_protocols(m, req)) {
        m->member_id = NULL; /* the caller still owns id */
        kb_member_free(m);
        return NULL;
    }
    return m;
}

/* Spec 4.4 step 7: adds a member with its JoinGroup parked. */
static void add_member(kb_group_t *g, char *id, const kb_join_request_t *req, kb_join_done_fn done, void *arg) {
    kb_member_t *m = member_new(g, id, req);

    if (!m) {
        free(id);
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    if (g->n_members == 0) {
        free(g->protocol_type);
        g->protocol_type = kb_strdup_slice(req->protocol_type);
    }
    kb_group_link_member(g, m);
    if (!g->leader) g->leader = strdup(m->member_id);
    m->is_new = true;
    m->join = (kb_parked_join_t){done, arg};
    kb_group_arm(m->expiry, NEW_MEMBER_JOIN_TIMEOUT_MS);
    g->new_member_added = true;
    if (g->state != KB_GROUP_PREPARING) kb_group_prepare_rebalance(g, "a new member joined");
    kb_group_maybe_complete_join(g);
}

/* Parks m's JoinGroup (answering a parked older one). */
static void park_join(kb_member_t *m, kb_join_done_fn done, void *arg) {
    if (m->join.done) kb_group_answer_join(m, KP_ERR_REBALANCE_IN_PROGRESS);
    m->join = (kb_parked_join_t){done, arg};
}

static void update_and_rebalance(kb_member_t *m, const kb_join_request_t *req, kb_join_done_fn done, void *arg,
                                 const char *why) {
    kb_group_t *g = m->group;
    if (!member_set_protocols(m, req)) {
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, m->member_id);
        return;
    }
    park_join(m, done, arg);
    if (g->state != KB_GROUP_PREPARING) kb_group_prepare_rebalance(g, why);
    kb_group_maybe_complete_join(g);
}

static bool max_size_reached(const kb_group_t *g, const kb_member_t *m) {
    int32_t max = g->c->deps.cfg->group_max_size, waiting = 0;
    const kb_member_t *x;
    if (g->state == KB_GROUP_EMPTY) return false;
    if (g->state == KB_GROUP_PREPARING) {
        if (m && m->join.done) return false;
        TAILQ_FOREACH(x, &g->members, link) waiting += x->join.done != NULL;
        return waiting >= max;
    }
    return !m && g->n_members >= max;
}

/* A static member's rejoin that keeps the group Stable: the replaced
 * member id is written with the group's state before it is answered with
 * the current generation and the old leader id (so that it does not act
 * as leader).  A failed write gives the old id back, and the caller the
 * mapped error with no member id (spec 4.10). */
typedef struct {
    kb_join_done_fn done;
    void *arg;
    char *member_id, *old_member_id, *leader;
    int32_t generation;
} static_rejoin_t;

static void static_rejoin_free(static_rejoin_t *r) {
    free(r->member_id);
    free(r->old_member_id);
    free(r->leader);
    free(r);
}

/* The replacement undone: the old id is the member (and leader) again. */
static void static_rejoin_undo(kb_group_t *g, static_rejoin_t *r) {
    kb_member_t *m = g->freed ? NULL : kb_group_member(g, kp_str_c(r->member_id));
    char *old = r->old_member_id;

    if (!m) return;
    if (g->leader && strcmp(g->leader, m->member_id) == 0) {
        free(g->leader);
        g->leader = strdup(old);
    }
    free(member_rename(m, old));
    r->old_member_id = NULL;
}

static void static_rejoin_stored(kb_group_t *g, int16_t error, void *arg) {
    static_rejoin_t *r = arg;
    bool current = !g->freed && g->generation == r->generation;
    kb_join_result_t res = {error, r->generation, current && g->protocol ? g->protocol : "", r->leader,
                            r->member_id, 0, NULL};

    if (error) {
        static_rejoin_undo(g, r);
        res.generation_id = -1;
        res.protocol_name = res.leader = res.member_id = "";
    }
    r->done(r->arg, &res);
    static_rejoin_free(r);
}

static void static_rejoin_store(kb_member_t *m, const char *old_member_id, const char *old_leader,
                                kb_join_done_fn done, void *arg) {
    static_rejoin_t *r = calloc(1, sizeof(*r));
    kb_group_t *g = m->group;

    if (!r || !(r->member_id = strdup(m->member_id)) || !(r->old_member_id = strdup(old_member_id)) ||
        !(r->leader = strdup(old_leader ? old_leader : ""))) {
        if (r) static_rejoin_free(r);
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    r->done = done;
    r->arg = arg;
    r->generation = g->generation;
    kb_member_heartbeat(m);
    kb_group_store_state(g, static_rejoin_stored, r);
}

/* Whether a Stable group keeps its selected protocol once m offers req's
 * protocols (which m then has). */
static bool keeps_protocol(kb_member_t *m, const kb_join_request_t *req) {
    const char *selected;
    if (!member_set_protocols(m, req)) return false;
    selected = select_protocol(m->group);
    return selected && m->group->protocol && strcmp(selected, m->group->protocol) == 0;
}

/* A known static instance rejoins with no member id (spec 4.10). */
static void static_rejoin(kb_member_t *m, const kb_join_request_t *req, kb_join_done_fn done, void *arg) {
    kb_group_t *g = m->group;
    char *id = new_member_id(req->instance_id);
    bool was_leader = g->leader && strcmp(g->leader, m->member_id) == 0;

    if (!id) {
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    kb_group_answer_join(m, KP_ERR_FENCED_INSTANCE_ID);
    if (m->sync.done) {
        kb_sync_done_fn sd = m->sync.done;
        m->sync.done = NULL;
        sd(m->sync.arg, KP_ERR_FENCED_INSTANCE_ID, (kp_bytes_t){0, NULL});
    }
    kc_info(MOD, "group '%s': static member %s rejoined as %s", g->id, m->instance_id, id);
    char *old_leader = g->leader ? strdup(g->leader) : NULL, *old_id = member_rename(m, id);
    if (was_leader) {
        free(g->leader);
        g->leader = strdup(id);
    }
    if (g->state == KB_GROUP_STABLE && keeps_protocol(m, req)) {
        static_rejoin_store(m, old_id, old_leader, done, arg);
        free(old_id);
        free(old_leader);
        return;
    }
    free(old_id);
    free(old_leader);
    if (g->state == KB_GROUP_PREPARING) {
        park_join(m, done, arg);
        if (!member_set_protocols(m, req)) kc_warn(MOD, "group '%s': out of memory", g->id);
        kb_group_maybe_complete_join(g);
        return;
    }
    update_and_rebalance(m, req, done, arg, "a static member rejoined with a new subscription");
}

static void join_new(kb_group_t *g, const kb_join_request_t *req, kb_join_done_fn done, void *arg) {
    kb_member_t *known = kb_group_static_member(g, req->instance_id);
    kb_pending_member_t *p;
    char *id;

    if (known) {
        static_rejoin(known, req, done, arg);
        return;
    }
    if (max_size_reached(g, NULL)) {
        answer(done, arg, KP_ERR_GROUP_MAX_SIZE_REACHED, "");
        return;
    }
    id = new_member_id(req->instance_id.len >= 0 ? req->instance_id : req->client_id);
    if (!id) {
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    if (req->version < 4 || req->instance_id.len >= 0) {
        add_member(g, id, req, done, arg);
        return;
    }
    /* MEMBER_ID_REQUIRED: the client must come back with this id. */
    if (!(p = calloc(1, sizeof(*p))) || !(p->expiry = evtimer_new(g->c->deps.base, on_pending_expiry, p))) {
        free(p);
        free(id);
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    p->group = g;
    p->member_id = id;
    LIST_INSERT_HEAD(&g->pending, p, link);
    kb_ids_add(&g->pending_ids, &p->by_id, id);
    kb_group_arm(p->expiry, req->session_timeout_ms);
    answer(done, arg, KP_ERR_MEMBER_ID_REQUIRED, id);
}

kb_pending_member_t *kb_group_pending(const kb_group_t *g, kp_str_t id) {
    kb_id_entry_t *e = kb_ids_find(&g->pending_ids, id);
    return e ? KB_CONTAINER_OF(e, kb_pending_member_t, by_id) : NULL;
}

static void join_known(kb_group_t *g, const kb_join_request_t *req, kb_join_done_fn done, void *arg) {
    kb_pending_member_t *p = kb_group_pending(g, req->member_id);
    kb_member_t *st = kb_group_static_member(g, req->instance_id), *m;

    if (p) {
        char *id = p->member_id;
        p->member_id = NULL;
        kb_pending_free(p);
        /* The group may have filled since the id was issued (spec 4.11). */
        if (max_size_reached(g, NULL)) {
            free(id);
            answer(done, arg, KP_ERR_GROUP_MAX_SIZE_REACHED, "");
            kb_group_maybe_complete_join(g);
            return;
        }
        add_member(g, id, req, done, arg);
        return;
    }
    if (st && !kb_slice_eq(req->member_id, st->member_id)) {
        answer(done, arg, KP_ERR_FENCED_INSTANCE_ID, "");
        return;
    }
    m = kb_group_member(g, req->member_id);
    if (!m || (req->instance_id.len >= 0 && !st) || g->state == KB_GROUP_EMPTY) {
        answer(done, arg, KP_ERR_UNKNOWN_MEMBER_ID, "");
        return;
    }
    if (max_size_reached(g, m)) {
        kb_member_remove(m, KP_ERR_REBALANCE_IN_PROGRESS);
        answer(done, arg, KP_ERR_GROUP_MAX_SIZE_REACHED, "");
        kb_group_member_left(g, "the group is over group.max.size");
        return;
    }
    bool leader = g->leader && strcmp(g->leader, m->member_id) == 0;
    if (g->state == KB_GROUP_PREPARING) {
        update_and_rebalance(m, req, done, arg, "");
    } else if (g->state == KB_GROUP_COMPLETING && same_protocols(m, req)) {
        kb_member_heartbeat(m);
        answer_generation(g, m, done, arg);
    } else if (g->state == KB_GROUP_STABLE && !leader && same_protocols(m, req)) {
        kb_member_heartbeat(m);
        kb_join_result_t res = {KP_ERR_NONE, g->generation, g->protocol ? g->protocol : "",
                                g->leader ? g->leader : "", m->member_id, 0, NULL};
        done(arg, &res);
    } else {
        update_and_rebalance(m, req, done, arg,
                             leader ? "the leader rejoined" : "a member rejoined with a new subscription");
    }
}

void kb_group_join(kb_coordinator_t *c, const kb_join_request_t *req, kb_join_done_fn done, void *arg) {
    const kb_config_t *cfg = c->deps.cfg;
    int32_t partition;
    int16_t err = kb_coordinator_check(c, req->group_id, false, &partition);
    kb_group_t *g;

    if (!err && (req->session_timeout_ms < cfg->group_min_session_timeout_ms ||
                 req->session_timeout_ms > cfg->group_max_session_timeout_ms))
        err = KP_ERR_INVALID_SESSION_TIMEOUT;
    if (err) {
        answer_keep_id(done, arg, err, req->member_id);
        return;
    }
    g = kb_coordinator_find(c, req->group_id);
    if (!g && req->member_id.len > 0) {
        answer(done, arg, KP_ERR_UNKNOWN_MEMBER_ID, "");
        return;
    }
    /* Clients offer one to three protocols; a hostile list of thousands
     * would cost (offered x every member's) comparisons on the loop. */
    if (req->n_protocols > KB_GROUP_MAX_PROTOCOLS) {
        answer_keep_id(done, arg, KP_ERR_INCONSISTENT_GROUP_PROTOCOL, req->member_id);
        return;
    }
    /* A refused first join makes no group (a group lives until the expiry
     * pass: refusals must not pile them up). */
    if (!g && (req->protocol_type.len <= 0 || req->n_protocols <= 0)) {
        answer(done, arg, KP_ERR_INCONSISTENT_GROUP_PROTOCOL, "");
        return;
    }
    if (!g && !(g = kb_coordinator_add(c, req->group_id, partition))) {
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    if (!group_timers(g)) {
        answer(done, arg, KP_ERR_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    if (!protocols_acceptable(g, req)) {
        answer(done, arg, KP_ERR_INCONSISTENT_GROUP_PROTOCOL, "");
        return;
    }
    if (req->member_id.len <= 0)
        join_new(g, req, done, arg);
    else
        join_known(g, req, done, arg);
}

/* ------------------------------------------------------------- loading */

kb_member_t *kb_member_from_record(kb_group_t *g, const kb_join_request_t *req) {
    char *id = kb_strdup_slice(req->member_id);
    kb_member_t *m = id && group_timers(g) ? member_new(g, id, req) : NULL;
    if (!m) free(id);
    return m;
}

void kb_group_loaded(kb_group_t *g) {
    kb_member_t *m;

    int64_t since = g->state_ts; /* the record's: Empty groups' offsets expire from it */

    kb_group_set_state(g, g->n_members > 0 ? KB_GROUP_STABLE : KB_GROUP_EMPTY);
    g->state_ts = since;
    TAILQ_FOREACH(m, &g->members, link) kb_member_heartbeat(m);
    if (g->n_members > g->c->deps.cfg->group_max_size)
        kb_group_prepare_rebalance(g, "the loaded group is over group.max.size");
}
