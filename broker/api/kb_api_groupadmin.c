/*
 * kb_api_groupadmin.c - ListGroups, DescribeGroups and DeleteGroups
 * (group-protocol.md 2.8-2.10, 6.4): what admin tools and dashboards ask
 * each broker about the groups it coordinates.  Every answer is built
 * before the handler returns.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/group/kb_group.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_types.h"

/* ----------------------------------------------------------- ListGroups */

typedef struct {
    kb_arena_t *arena;
    kp_listgroups_response_group_t *groups;
    int32_t n, cap;
    bool failed;
} list_t;

static kp_str_t arena_str(kb_arena_t *a, const char *s) {
    size_t len = strlen(s);
    char *copy = kb_arena_alloc(a, len + 1);
    if (!copy) return KP_STR_NULL;
    memcpy(copy, s, len + 1);
    return kp_str_c(copy);
}

static void list_one(void *arg, const kb_group_summary_t *g) {
    list_t *l = arg;
    if (l->failed) return;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        kp_listgroups_response_group_t *a = kb_arena_calloc(l->arena, (size_t)cap, sizeof(*a));
        if (!a) {
            l->failed = true;
            return;
        }
        if (l->n) memcpy(a, l->groups, (size_t)l->n * sizeof(*a));
        l->groups = a;
        l->cap = cap;
    }
    /* the strings are the coordinator's: valid until this handler returns */
    l->groups[l->n++] = (kp_listgroups_response_group_t){kp_str_c(g->group_id), kp_str_c(g->protocol_type)};
}

kb_api_status_t kb_api_listgroups(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    list_t l = {.arena = &req->arena};
    kp_listgroups_response_t resp = {0, KP_ERR_COORDINATOR_NOT_AVAILABLE, 0, NULL};

    if (kp_listgroups_request_decode(&req->body, version) != 0) return KB_API_MALFORMED;
    if (req->ctx->coordinator) resp.error_code = kb_group_list(req->ctx->coordinator, list_one, &l);
    if (l.failed) return KB_API_FAILED;
    resp.n_groups = l.n;
    resp.groups = l.groups;
    return kp_listgroups_response_encode(w, version, &resp) ? KB_API_FAILED : KB_API_REPLY;
}

/* ------------------------------------------------------- DescribeGroups */

typedef struct {
    kb_arena_t *arena;
    kp_describegroups_response_group_t *out;
    bool failed;
} describe_t;

/* Copies the coordinator's answer into the arena (it is valid only during
 * the callback). */
static void describe_one(void *arg, const kb_group_description_t *d) {
    describe_t *x = arg;
    kp_describegroups_response_group_t *g = x->out;
    kp_describegroups_response_member_t *ms = kb_arena_calloc(x->arena, (size_t)d->n_members + 1, sizeof(*ms));
    kb_arena_t *a = x->arena;

    if (!ms) {
        x->failed = true;
        return;
    }
    g->error_code = d->error_code;
    g->group_state = arena_str(a, d->state);
    g->protocol_type = arena_str(a, d->protocol_type);
    g->protocol_data = arena_str(a, d->protocol);
    for (int32_t i = 0; i < d->n_members; i++) {
        const kb_group_description_member_t *m = &d->members[i];
        uint8_t *meta = kb_arena_alloc(a, (size_t)m->metadata.len + 1);
        uint8_t *asg = kb_arena_alloc(a, (size_t)m->assignment.len + 1);
        if (!meta || !asg) {
            x->failed = true;
            return;
        }
        if (m->metadata.len > 0) memcpy(meta, m->metadata.ptr, (size_t)m->metadata.len);
        if (m->assignment.len > 0) memcpy(asg, m->assignment.ptr, (size_t)m->assignment.len);
        ms[i] = (kp_describegroups_response_member_t){
            arena_str(a, m->member_id), m->instance_id ? arena_str(a, m->instance_id) : KP_STR_NULL,
            arena_str(a, m->client_id), arena_str(a, m->client_host),
            {m->metadata.len > 0 ? m->metadata.len : 0, meta}, {m->assignment.len > 0 ? m->assignment.len : 0, asg}};
    }
    g->n_members = d->n_members;
    g->members = ms;
}

/* Bytes entry g takes in the answer, about. */
static size_t entry_size(const kp_describegroups_response_group_t *g) {
    size_t n = 64 + (size_t)(g->group_id.len > 0 ? g->group_id.len : 0);
    for (int32_t i = 0; i < g->n_members; i++) {
        const kp_describegroups_response_member_t *m = &g->members[i];
        n += 32 + (size_t)m->member_id.len + (size_t)(m->group_instance_id.len > 0 ? m->group_instance_id.len : 0) +
             (size_t)m->client_id.len + (size_t)m->client_host.len + (size_t)m->member_metadata.len +
             (size_t)m->member_assignment.len;
    }
    return n;
}

static bool same_name(kp_str_t a, kp_str_t b) {
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* A name the request repeats is described once and its later copies share
 * that description (keys are sorted by kb_api_mark_repeated: equal names
 * are neighbours, the unflagged one is the first copy). */
static void share_repeats(kp_describegroups_response_group_t *groups, const kb_api_tp_t *keys, const bool *repeated,
                          int32_t n) {
    for (int32_t i = 0, end; i < n; i = end) {
        int32_t first = -1;
        for (end = i; end < n && same_name(keys[end].topic, keys[i].topic); end++)
            if (!repeated[keys[end].index]) first = keys[end].index;
        for (int32_t j = i; first >= 0 && j < end; j++)
            if (keys[j].index != first) groups[keys[j].index] = groups[first];
    }
}

/* Entries past max_bytes of answer are refused (UNKNOWN_SERVER_ERROR, no
 * members): a request of a few kB naming a group with large metadata many
 * times must not make an answer of gigabytes.  Kafka has no such bound. */
static void cap_answer(kp_describegroups_response_group_t *groups, int32_t n, size_t max_bytes) {
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t size = entry_size(&groups[i]);
        if (total + size > max_bytes)
            groups[i] = (kp_describegroups_response_group_t){KP_ERR_UNKNOWN_SERVER_ERROR, groups[i].group_id,
                                                             kp_str_c(""), kp_str_c(""), kp_str_c(""), 0, NULL,
                                                             KP_AUTHORIZED_OPERATIONS_OMITTED};
        total += entry_size(&groups[i]);
    }
}

kb_api_status_t kb_api_describegroups(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_describegroups_request_t body = {0};
    kp_describegroups_response_group_t *groups;
    kb_api_status_t st = KB_API_FAILED;
    describe_t x = {.arena = &req->arena};
    kb_api_tp_t *keys;
    bool *repeated = NULL;

    if (kp_describegroups_request_decode(&req->body, version, &body) != 0) {
        kp_describegroups_request_clear(&body);
        return KB_API_MALFORMED;
    }
    groups = kb_arena_calloc(&req->arena, (size_t)body.n_groups + 1, sizeof(*groups));
    keys = kb_arena_calloc(&req->arena, (size_t)body.n_groups + 1, sizeof(*keys));
    for (int32_t i = 0; keys && i < body.n_groups; i++) keys[i] = (kb_api_tp_t){body.groups[i], 0, i};
    if (keys) repeated = kb_api_mark_repeated(&req->arena, keys, body.n_groups, true);
    for (int32_t i = 0; groups && repeated && !x.failed && i < body.n_groups; i++) {
        groups[i] = (kp_describegroups_response_group_t){KP_ERR_COORDINATOR_NOT_AVAILABLE, body.groups[i],
                                                         kp_str_c(""), kp_str_c(""), kp_str_c(""), 0, NULL,
                                                         KP_AUTHORIZED_OPERATIONS_OMITTED};
        x.out = &groups[i];
        if (req->ctx->coordinator && !repeated[i])
            kb_group_describe(req->ctx->coordinator, body.groups[i], describe_one, &x);
    }
    if (groups && repeated && !x.failed) {
        share_repeats(groups, keys, repeated, body.n_groups);
        cap_answer(groups, body.n_groups, req->ctx->cfg ? (size_t)req->ctx->cfg->socket_request_max_bytes : SIZE_MAX);
        kp_describegroups_response_t resp = {0, body.n_groups, groups};
        if (kp_describegroups_response_encode(w, version, &resp) == 0) st = KB_API_REPLY;
    }
    kp_describegroups_request_clear(&body);
    return st;
}

/* --------------------------------------------------------- DeleteGroups */

kb_api_status_t kb_api_deletegroups(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_deletegroups_request_t body = {0};
    kp_deletegroups_response_result_t *results;
    kb_api_status_t st = KB_API_FAILED;
    int32_t n = 0;

    if (kp_deletegroups_request_decode(&req->body, version, &body) != 0) {
        kp_deletegroups_request_clear(&body);
        return KB_API_MALFORMED;
    }
    results = kb_arena_calloc(&req->arena, (size_t)body.n_groups_names + 1, sizeof(*results));
    /* Duplicates are answered once; found by sorting, never pairwise. */
    kb_api_tp_t *keys = kb_arena_calloc(&req->arena, (size_t)body.n_groups_names + 1, sizeof(*keys));
    for (int32_t i = 0; keys && i < body.n_groups_names; i++) keys[i] = (kb_api_tp_t){body.groups_names[i], 0, i};
    bool *repeated = keys ? kb_api_mark_repeated(&req->arena, keys, body.n_groups_names, true) : NULL;
    for (int32_t i = 0; results && repeated && i < body.n_groups_names; i++) {
        kp_str_t id = body.groups_names[i];
        if (repeated[i]) continue;
        int16_t err = req->ctx->coordinator ? kb_group_delete(req->ctx->coordinator, id)
                                            : KP_ERR_COORDINATOR_NOT_AVAILABLE;
        results[n++] = (kp_deletegroups_response_result_t){id, err};
    }
    if (!repeated) results = NULL;
    kp_deletegroups_response_t resp = {0, n, results};
    if (results && kp_deletegroups_response_encode(w, version, &resp) == 0) st = KB_API_REPLY;
    kp_deletegroups_request_clear(&body);
    return st;
}
