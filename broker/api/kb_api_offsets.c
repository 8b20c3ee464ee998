/*
 * kb_api_offsets.c - OffsetCommit and OffsetFetch (group-protocol.md 2.6,
 * 2.7, 6.1, 6.2).
 *
 * Versions 0 of both keep offsets in ZooKeeper in Kafka; kbroker does not
 * yet, so both are advertised from v1 (safe for every client the spec
 * lists).  A commit is answered once its record is acknowledged, so the
 * request is detached and answered from the coordinator's callback.  The
 * answer lists exactly the requested partitions, in request order:
 * kafka-python fails on anything else.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/kb_api_internal.h"
#include "broker/group/kb_group.h"
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"

/* --------------------------------------------------------- OffsetCommit */

/* A commit being written: lives in the detached request's arena, except
 * the decoded body's arrays (freed with it). */
typedef struct {
    kb_request_t *req;
    kp_offsetcommit_request_t body;
    kb_commit_request_t commit;
} commit_call_t;

static int encode_commit(kp_writer_t *w, const commit_call_t *cc) {
    const kp_offsetcommit_request_t *b = &cc->body;
    kp_offsetcommit_response_topic_t *topics = kb_arena_calloc(&cc->req->arena, (size_t)b->n_topics + 1,
                                                               sizeof(*topics));
    int32_t k = 0;

    if (!topics) return -1;
    for (int32_t i = 0; i < b->n_topics; i++) {
        const kp_offsetcommit_request_topic_t *t = &b->topics[i];
        kp_offsetcommit_response_partition_t *ps =
            kb_arena_calloc(&cc->req->arena, (size_t)t->n_partitions + 1, sizeof(*ps));
        if (!ps) return -1;
        for (int32_t j = 0; j < t->n_partitions; j++, k++)
            ps[j] = (kp_offsetcommit_response_partition_t){t->partitions[j].partition_index,
                                                           cc->commit.partitions[k].error_code};
        topics[i] = (kp_offsetcommit_response_topic_t){t->name, t->n_partitions, ps};
    }
    kp_offsetcommit_response_t resp = {0, b->n_topics, topics};
    return kp_offsetcommit_response_encode(w, cc->req->header.request_api_version, &resp);
}

static void commit_answered(void *arg) {
    commit_call_t *cc = arg;
    kb_request_t *req = cc->req;
    kp_writer_t w;
    size_t start;

    kp_writer_init(&w);
    start = kb_api_response_begin(&w, req);
    if (encode_commit(&w, cc) != 0 || kb_api_response_send(req->conn, &w, start) != 0)
        kb_api_close(req, "could not encode or queue the OffsetCommit response");
    kp_writer_free(&w);
    kp_offsetcommit_request_clear(&cc->body);
    kb_api_request_free(req); /* cc lives in its arena */
}

/* The request's partitions, flattened in request order, into cc->commit. */
static bool flatten_commit(commit_call_t *cc) {
    const kp_offsetcommit_request_t *b = &cc->body;
    size_t n = 0;
    int32_t k = 0;

    for (int32_t i = 0; i < b->n_topics; i++) n += (size_t)b->topics[i].n_partitions;
    kb_commit_partition_t *ps = kb_arena_calloc(&cc->req->arena, n + 1, sizeof(*ps));
    if (!ps || n > INT32_MAX) return false;
    for (int32_t i = 0; i < b->n_topics; i++)
        for (int32_t j = 0; j < b->topics[i].n_partitions; j++, k++) {
            const kp_offsetcommit_request_partition_t *p = &b->topics[i].partitions[j];
            ps[k] = (kb_commit_partition_t){b->topics[i].name, p->partition_index, p->committed_offset,
                                            p->committed_leader_epoch, p->committed_metadata, p->commit_timestamp,
                                            KP_ERR_NONE};
            if (!kb_api_partition_known(cc->req, b->topics[i].name, p->partition_index))
                ps[k].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    cc->commit = (kb_commit_request_t){b->group_id, b->member_id, b->group_instance_id, b->generation_id,
                                       b->retention_time_ms, (int32_t)n, ps};
    return true;
}

kb_api_status_t kb_api_offsetcommit(kb_request_t *req, kp_writer_t *w) {
    kp_offsetcommit_request_t body = {0};
    kb_request_t *heap;
    commit_call_t *cc;
    (void)w;

    if (kp_offsetcommit_request_decode(&req->body, req->header.request_api_version, &body) != 0) {
        kp_offsetcommit_request_clear(&body);
        return KB_API_MALFORMED;
    }
    heap = req->ctx->coordinator ? kb_api_request_detach(req) : NULL;
    cc = heap ? kb_arena_alloc(&heap->arena, sizeof(*cc)) : NULL;
    if (!cc) {
        kb_api_request_free(heap);
        kp_offsetcommit_request_clear(&body);
        return KB_API_FAILED;
    }
    cc->req = heap;
    cc->body = body;
    if (!flatten_commit(cc)) {
        kp_offsetcommit_request_clear(&cc->body);
        kb_api_request_free(heap);
        return KB_API_FAILED;
    }
    kb_group_commit(req->ctx->coordinator, &cc->commit, commit_answered, cc);
    return KB_API_PENDING;
}

/* ---------------------------------------------------------- OffsetFetch */

/* Topics of a fetch-all answer, grouped as they come (sorted by topic). */
typedef struct {
    kb_arena_t *arena;
    kp_offsetfetch_response_topic_t *topics;
    int32_t n_topics, cap;
    bool failed;
} fetch_all_t;

static bool grow_topics(fetch_all_t *fa) {
    int32_t cap = fa->cap ? fa->cap * 2 : 8;
    kp_offsetfetch_response_topic_t *t = kb_arena_calloc(fa->arena, (size_t)cap, sizeof(*t));
    if (!t) return false;
    if (fa->n_topics) memcpy(t, fa->topics, (size_t)fa->n_topics * sizeof(*t));
    fa->topics = t;
    fa->cap = cap;
    return true;
}

static bool grow_partitions(fetch_all_t *fa, kp_offsetfetch_response_topic_t *t) {
    int32_t n = t->n_partitions;
    if (n && (n & (n - 1))) return true; /* room left: capacities are powers of two */
    kp_offsetfetch_response_partition_t *p = kb_arena_calloc(fa->arena, n ? (size_t)n * 2 : 1, sizeof(*p));
    if (!p) return false;
    if (n) memcpy(p, t->partitions, (size_t)n * sizeof(*p));
    t->partitions = p;
    return true;
}

static void fetch_all_one(void *arg, const kb_offset_answer_t *a) {
    fetch_all_t *fa = arg;
    kp_offsetfetch_response_topic_t *t = fa->n_topics ? &fa->topics[fa->n_topics - 1] : NULL;
    char *name;

    if (fa->failed) return;
    if (!t || !kp_str_eq(t->name, a->topic)) {
        size_t len = strlen(a->topic);
        if ((fa->n_topics == fa->cap && !grow_topics(fa)) || !(name = kb_arena_alloc(fa->arena, len + 1))) {
            fa->failed = true;
            return;
        }
        memcpy(name, a->topic, len + 1);
        t = &fa->topics[fa->n_topics++];
        *t = (kp_offsetfetch_response_topic_t){kp_str_c(name), 0, NULL};
    }
    if (!grow_partitions(fa, t)) {
        fa->failed = true;
        return;
    }
    /* metadata points into the group's table: valid until this handler returns */
    t->partitions[t->n_partitions++] = (kp_offsetfetch_response_partition_t){
        a->partition, a->offset, a->leader_epoch, a->metadata, a->error_code};
}

/* The request's partitions, flattened in request order, and which of them
 * repeat an earlier one: those are answered once, as Kafka answers from a
 * map (a partition named a million times must not cost a million copies
 * of its metadata).  NULL when out of memory. */
static bool *flatten_fetch(kb_request_t *req, const kp_offsetfetch_request_t *b, kb_tp_t **tps, int32_t *n) {
    size_t total = 0;
    int32_t k = 0;

    for (int32_t i = 0; i < b->n_topics; i++) total += (size_t)b->topics[i].n_partition_indexes;
    *tps = total <= INT32_MAX ? kb_arena_calloc(&req->arena, total + 1, sizeof(**tps)) : NULL;
    kb_api_tp_t *keys = kb_arena_calloc(&req->arena, total + 1, sizeof(*keys));
    if (!*tps || !keys) return NULL;
    for (int32_t i = 0; i < b->n_topics; i++)
        for (int32_t j = 0; j < b->topics[i].n_partition_indexes; j++, k++) {
            (*tps)[k] = (kb_tp_t){b->topics[i].name, b->topics[i].partition_indexes[j]};
            keys[k] = (kb_api_tp_t){b->topics[i].name, b->topics[i].partition_indexes[j], k};
        }
    *n = k;
    return kb_api_mark_repeated(&req->arena, keys, k, true);
}

/* The requested partitions' answers; a group-level error (v0-1) repeated
 * in each. */
static bool fetch_requested(kb_request_t *req, const kp_offsetfetch_request_t *b, int16_t group_error,
                            kp_offsetfetch_response_t *resp) {
    kb_tp_t *tps = NULL;
    int32_t n = 0, k = 0;
    bool *repeated = flatten_fetch(req, b, &tps, &n);
    kb_offset_answer_t *answers = kb_arena_calloc(&req->arena, (size_t)n + 1, sizeof(*answers));

    resp->topics = kb_arena_calloc(&req->arena, (size_t)b->n_topics + 1, sizeof(*resp->topics));
    if (!repeated || !answers || !resp->topics) return false;
    for (int32_t i = 0; i < n; i++)
        answers[i] = (kb_offset_answer_t){NULL, tps[i].partition, -1, -1, kp_str_c(""), group_error};
    if (!group_error) kb_group_fetch_many(req->ctx->coordinator, b->group_id, n, tps, false, answers);
    for (int32_t i = 0; i < b->n_topics; i++) {
        const kp_offsetfetch_request_topic_t *t = &b->topics[i];
        kp_offsetfetch_response_partition_t *ps =
            kb_arena_calloc(&req->arena, (size_t)t->n_partition_indexes + 1, sizeof(*ps));
        int32_t m = 0;
        if (!ps) return false;
        for (int32_t j = 0; j < t->n_partition_indexes; j++, k++) {
            const kb_offset_answer_t *a = &answers[k];
            if (repeated[k]) continue;
            ps[m++] = (kp_offsetfetch_response_partition_t){a->partition, a->offset, a->leader_epoch,
                                                            a->metadata, a->error_code};
        }
        resp->topics[i] = (kp_offsetfetch_response_topic_t){t->name, m, ps};
    }
    resp->n_topics = b->n_topics;
    return true;
}

kb_api_status_t kb_api_offsetfetch(kb_request_t *req, kp_writer_t *w) {
    int16_t version = req->header.request_api_version;
    kp_offsetfetch_request_t body = {0};
    kp_offsetfetch_response_t resp = {0};
    kb_api_status_t st = KB_API_FAILED;
    int16_t err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    bool ok;

    if (kp_offsetfetch_request_decode(&req->body, version, &body) != 0) {
        kp_offsetfetch_request_clear(&body);
        return KB_API_MALFORMED;
    }
    if (req->ctx->coordinator) err = kb_group_fetch_check(req->ctx->coordinator, body.group_id);
    if (err && version >= 2) {
        resp.error_code = err; /* v2+: the top-level field, no topics */
        ok = true;
    } else if (body.topics_null) {
        fetch_all_t fa = {.arena = &req->arena};
        kb_group_fetch_all(req->ctx->coordinator, body.group_id, fetch_all_one, &fa);
        resp.topics = fa.topics;
        resp.n_topics = fa.n_topics;
        ok = !fa.failed;
    } else {
        ok = fetch_requested(req, &body, err, &resp);
    }
    if (ok && kp_offsetfetch_response_encode(w, version, &resp) == 0) st = KB_API_REPLY;
    kp_offsetfetch_request_clear(&body);
    return st;
}
