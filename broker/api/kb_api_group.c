/*
 * kb_api_group.c - the group membership handlers: JoinGroup, SyncGroup,
 * Heartbeat and LeaveGroup (group-protocol.md 2.2-2.5, 4).
 *
 * Decoding and encoding only: the coordinator (broker/group) decides.
 * JoinGroup and SyncGroup may be parked by the coordinator for as long as
 * a rebalance takes, so their requests are detached first and answered
 * from the coordinator's callback (perhaps before the call returns).
 * Until then the connection reads nothing more, which is Kafka's order of
 * answers per connection.
 */
#include <stdio.h>
#include <stdlib.h>

#include "broker/api/kb_api_internal.h"
#include "broker/group/kb_group.h"
#include "proto/kp_group.h"
#include "proto/kp_types.h"

/* Kafka shows a member's host as "/" and its address. */
static void client_host(const kb_request_t *req, char *buf, size_t len) {
    const char *addr = kb_conn_peer_addr(req->conn);
    snprintf(buf, len, "/%s", addr ? addr : "");
}

/* Sends the answer a detached request's encoder wrote into w, then frees
 * the request. */
static void finish(kb_request_t *req, kp_writer_t *w, size_t start, int rc) {
    if (rc != 0 || kb_api_response_send(req->conn, w, start) != 0)
        kb_api_close(req, "could not encode or queue the response");
    kp_writer_free(w);
    kb_api_request_free(req);
}

/* ------------------------------------------------------------ JoinGroup */

static void join_answered(void *arg, const kb_join_result_t *res) {
    kb_request_t *req = arg;
    kp_joingroup_member_t *members = calloc((size_t)res->n_members + 1, sizeof(*members));
    kp_writer_t w;
    size_t start;
    int rc = members ? 0 : -1;

    for (int32_t i = 0; members && i < res->n_members; i++) {
        const kb_join_member_t *m = &res->members[i];
        members[i] = (kp_joingroup_member_t){kp_str_c(m->member_id),
                                             m->instance_id ? kp_str_c(m->instance_id) : KP_STR_NULL, m->metadata};
    }
    kp_joingroup_response_t resp = {0, res->error_code, res->generation_id, kp_str_c(res->protocol_name),
                                    kp_str_c(res->leader), kp_str_c(res->member_id), res->n_members, members};
    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (rc == 0) rc = kp_joingroup_response_encode(&w, req->header.request_api_version, &resp);
    finish(req, &w, start, rc);
    free(members);
}

kb_api_status_t kb_api_joingroup(kb_request_t *req, kp_writer_t *w) {
    kp_joingroup_request_t body = {0};
    kb_join_protocol_t *protocols;
    kb_request_t *heap;
    char host[64];
    (void)w;

    if (kp_joingroup_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_joingroup_request_clear(&body);
        return KB_API_MALFORMED;
    }
    protocols = calloc((size_t)body.n_protocols + 1, sizeof(*protocols));
    heap = protocols && req->ctx->coordinator ? kb_api_request_detach(req) : NULL;
    if (!heap) {
        free(protocols);
        kp_joingroup_request_clear(&body);
        return KB_API_FAILED;
    }
    for (int32_t i = 0; i < body.n_protocols; i++)
        protocols[i] = (kb_join_protocol_t){body.protocols[i].name, body.protocols[i].metadata};
    client_host(heap, host, sizeof(host));
    kb_join_request_t jr = {heap->header.request_api_version, body.group_id, body.member_id, body.group_instance_id,
                            body.protocol_type, heap->header.client_id, kp_str_c(host), body.session_timeout_ms,
                            body.rebalance_timeout_ms, body.n_protocols, protocols};
    kb_group_join(req->ctx->coordinator, &jr, join_answered, heap);
    free(protocols);
    kp_joingroup_request_clear(&body);
    return KB_API_PENDING;
}

/* ------------------------------------------------------------ SyncGroup */

static void sync_answered(void *arg, int16_t error_code, kp_bytes_t assignment) {
    kb_request_t *req = arg;
    kp_syncgroup_response_t resp = {0, error_code, assignment};
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    finish(req, &w, start, kp_syncgroup_response_encode(&w, req->header.request_api_version, &resp));
}

kb_api_status_t kb_api_syncgroup(kb_request_t *req, kp_writer_t *w) {
    kp_syncgroup_request_t body = {0};
    kb_sync_assignment_t *assignments;
    kb_request_t *heap;
    (void)w;

    if (kp_syncgroup_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_syncgroup_request_clear(&body);
        return KB_API_MALFORMED;
    }
    assignments = calloc((size_t)body.n_assignments + 1, sizeof(*assignments));
    heap = assignments && req->ctx->coordinator ? kb_api_request_detach(req) : NULL;
    if (!heap) {
        free(assignments);
        kp_syncgroup_request_clear(&body);
        return KB_API_FAILED;
    }
    for (int32_t i = 0; i < body.n_assignments; i++)
        assignments[i] = (kb_sync_assignment_t){body.assignments[i].member_id, body.assignments[i].assignment};
    kb_sync_request_t sr = {body.group_id, body.member_id, body.group_instance_id, body.generation_id,
                            body.n_assignments, assignments};
    kb_group_sync(req->ctx->coordinator, &sr, sync_answered, heap);
    free(assignments);
    kp_syncgroup_request_clear(&body);
    return KB_API_PENDING;
}

/* ------------------------------------------------------------ Heartbeat */

kb_api_status_t kb_api_heartbeat(kb_request_t *req, kp_writer_t *w) {
    kp_heartbeat_request_t body;
    kp_heartbeat_response_t resp = {0, KP_ERR_COORDINATOR_NOT_AVAILABLE};

    if (kp_heartbeat_request_decode(&req->body, req->header.request_api_version, &body) != 0)
        return KB_API_MALFORMED;
    if (req->ctx->coordinator)
        resp.error_code = kb_group_heartbeat(req->ctx->coordinator, body.group_id, body.member_id,
                                             body.group_instance_id, body.generation_id);
    return kp_heartbeat_response_encode(w, req->header.request_api_version, &resp) ? KB_API_FAILED : KB_API_REPLY;
}

/* ----------------------------------------------------------- LeaveGroup */

/* v0-2 answer in one error code: the group's, or else the first member's
 * (Kafka's LeaveGroupResponse for old versions). */
static int16_t single_error(int16_t group_error, const int16_t *errors, int32_t n) {
    for (int32_t i = 0; group_error == KP_ERR_NONE && i < n; i++)
        if (errors[i]) return errors[i];
    return group_error;
}

kb_api_status_t kb_api_leavegroup(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_leavegroup_request_t body = {0};
    kb_api_status_t st = KB_API_FAILED;
    int32_t n;

    if (kp_leavegroup_request_decode(&req->body, version, &body) != 0) {
        kp_leavegroup_request_clear(&body);
        return KB_API_MALFORMED;
    }
    n = body.n_members;
    kp_str_t *ids = kb_arena_calloc(&req->arena, (size_t)n + 1, sizeof(*ids));
    kp_str_t *instances = kb_arena_calloc(&req->arena, (size_t)n + 1, sizeof(*instances));
    int16_t *errors = kb_arena_calloc(&req->arena, (size_t)n + 1, sizeof(*errors));
    kp_leavegroup_member_response_t *out = kb_arena_calloc(&req->arena, (size_t)n + 1, sizeof(*out));
    if (ids && instances && errors && out) {
        int16_t group_error = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        for (int32_t i = 0; i < n; i++) {
            ids[i] = body.members[i].member_id;
            instances[i] = body.members[i].group_instance_id;
            errors[i] = group_error;
        }
        if (req->ctx->coordinator)
            group_error = kb_group_leave(req->ctx->coordinator, body.group_id, n, ids, instances, errors);
        for (int32_t i = 0; i < n; i++) out[i] = (kp_leavegroup_member_response_t){ids[i], instances[i], errors[i]};
        bool group_level = group_error != KP_ERR_NONE;
        kp_leavegroup_response_t resp = {0, version >= 3 ? group_error : single_error(group_error, errors, n),
                                         group_level ? 0 : n, out};
        if (kp_leavegroup_response_encode(w, version, &resp) == 0) st = KB_API_REPLY;
    }
    kp_leavegroup_request_clear(&body);
    return st;
}
