/*
 * kb_group_offsets.c - committed offsets (group-protocol.md 6): the
 * per-group table, OffsetCommit, OffsetFetch, DeleteGroups and the
 * retention pass.
 *
 * A commit is acknowledged only once its record is in the offsets
 * partition with acks=all; until then the partitions are "pending" (never
 * expired, and UNSTABLE_OFFSET_COMMIT to a RequireStable fetch) and the
 * table keeps the previous value.  All partitions of one OffsetCommit go
 * into one batch, so a commit is applied whole or not at all.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group/kb_group_internal.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

#define MOD "group"

/* ----------------------------------------------------------- the table */

void kb_offsets_init(kb_offset_table_t *t) { *t = (kb_offset_table_t){0}; }

static void offset_free(kb_offset_t *o) {
    free(o->topic);
    free(o->metadata);
    free(o);
}

void kb_offsets_clear(kb_offset_table_t *t) {
    for (size_t i = 0; i < t->n_buckets; i++)
        for (kb_offset_t *o = t->buckets[i], *next; o; o = next) {
            next = o->next;
            offset_free(o);
        }
    free(t->buckets);
    *t = (kb_offset_table_t){0};
}

static size_t offset_hash(const char *topic, size_t len, int32_t partition) {
    uint64_t h = 1469598103934665603ULL ^ (uint32_t)partition;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)topic[i]) * 1099511628211ULL;
    return (size_t)h;
}

kb_offset_t *kb_offsets_get(const kb_offset_table_t *t, const char *topic, size_t len, int32_t partition) {
    if (!t->n_buckets) return NULL;
    for (kb_offset_t *o = t->buckets[offset_hash(topic, len, partition) & (t->n_buckets - 1)]; o; o = o->next)
        if (o->partition == partition && strlen(o->topic) == len && memcmp(o->topic, topic, len) == 0) return o;
    return NULL;
}

static bool table_grow(kb_offset_table_t *t) {
    size_t n = t->n_buckets ? t->n_buckets * 2 : 16;
    kb_offset_t **b = calloc(n, sizeof(*b));
    if (!b) return t->n_buckets > 0;
    for (size_t i = 0; i < t->n_buckets; i++)
        for (kb_offset_t *o = t->buckets[i], *next; o; o = next) {
            next = o->next;
            kb_offset_t **slot = &b[offset_hash(o->topic, strlen(o->topic), o->partition) & (n - 1)];
            o->next = *slot;
            *slot = o;
        }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
    return true;
}

kb_offset_t *kb_offsets_put(kb_offset_table_t *t, const char *topic, size_t len, int32_t partition) {
    kb_offset_t *o = kb_offsets_get(t, topic, len, partition);
    if (o) return o;
    if (t->n >= t->n_buckets && !table_grow(t)) return NULL;
    if (!(o = calloc(1, sizeof(*o))) || !(o->topic = malloc(len + 1))) {
        free(o);
        return NULL;
    }
    memcpy(o->topic, topic, len);
    o->topic[len] = '\0';
    o->partition = partition;
    o->offset = -1;
    o->leader_epoch = -1;
    o->expire_ts = -1;
    kb_offset_t **slot = &t->buckets[offset_hash(topic, len, partition) & (t->n_buckets - 1)];
    o->next = *slot;
    *slot = o;
    t->n++;
    return o;
}

void kb_offsets_remove(kb_offset_table_t *t, const char *topic, int32_t partition) {
    if (!t->n_buckets) return;
    for (kb_offset_t **pp = &t->buckets[offset_hash(topic, strlen(topic), partition) & (t->n_buckets - 1)]; *pp;
         pp = &(*pp)->next)
        if ((*pp)->partition == partition && strcmp((*pp)->topic, topic) == 0) {
            kb_offset_t *o = *pp;
            *pp = o->next;
            offset_free(o);
            t->n--;
            return;
        }
}

/* --------------------------------------------------------- OffsetCommit */

/* One commit in flight: the values to apply once it is acknowledged. */
typedef struct {
    kb_group_t *g;
    kb_commit_request_t *req;
    kb_offset_t *staged; /* per partition written: the value to apply (topic borrowed from the entry) */
    kb_commit_done_fn done;
    void *arg;
} commit_op_t;

static void commit_finish(commit_op_t *op, int16_t error) {
    kb_group_t *g = op->g;
    kb_commit_request_t *req = op->req;

    for (int32_t i = 0; i < req->n; i++) {
        kb_commit_partition_t *cp = &req->partitions[i];
        kb_offset_t *st = &op->staged[i];
        if (cp->error_code || !st->topic) continue;
        cp->error_code = error;
        kb_offset_t *o = g->freed ? NULL : kb_offsets_get(&g->offsets, st->topic, strlen(st->topic), st->partition);
        if (!o) {
            free(st->metadata);
            continue;
        }
        o->pending--;
        if (error == KP_ERR_NONE) {
            free(o->metadata);
            o->metadata = st->metadata;
            o->metadata_len = st->metadata_len;
            o->offset = st->offset;
            o->leader_epoch = st->leader_epoch;
            o->commit_ts = st->commit_ts;
            o->expire_ts = st->expire_ts;
            o->committed = true;
            g->c->stats.commits++;
        } else {
            free(st->metadata);
            if (!o->committed && o->pending == 0) kb_offsets_remove(&g->offsets, st->topic, st->partition);
        }
    }
    free(op->staged);
    op->done(op->arg);
    kb_group_unref(g);
    free(op);
}

static void commit_written(void *arg, int16_t error) {
    commit_op_t *op = arg;
    commit_finish(op, kb_store_map_error(error, true));
}

/* Spec 6.1 step 4: the group rules.  May create the group. */
static int16_t commit_group_rules(kb_coordinator_t *c, const kb_commit_request_t *req, int32_t partition,
                                  kb_group_t **out) {
    kb_group_t *g = kb_coordinator_find(c, req->group_id);
    kb_member_t *st, *m;

    *out = NULL;
    if (!g) {
        if (req->generation_id >= 0) return KP_ERR_ILLEGAL_GENERATION;
        if (!(g = kb_coordinator_add(c, req->group_id, partition))) return KP_ERR_UNKNOWN_SERVER_ERROR;
        *out = g;
        return KP_ERR_NONE;
    }
    *out = g;
    st = kb_group_static_member(g, req->instance_id);
    if (st && !kb_slice_eq(req->member_id, st->member_id)) return KP_ERR_FENCED_INSTANCE_ID;
    if (req->generation_id < 0 && g->state == KB_GROUP_EMPTY) return KP_ERR_NONE;
    if (req->generation_id < 0 && req->member_id.len <= 0) return KP_ERR_UNKNOWN_MEMBER_ID;
    if (!(m = kb_group_member(g, req->member_id))) return KP_ERR_UNKNOWN_MEMBER_ID;
    if (req->generation_id != g->generation) return KP_ERR_ILLEGAL_GENERATION;
    if (g->state == KB_GROUP_COMPLETING) return KP_ERR_REBALANCE_IN_PROGRESS;
    kb_member_heartbeat(m);
    return KP_ERR_NONE;
}

static void commit_refuse(kb_commit_request_t *req, int16_t error, kb_commit_done_fn done, void *arg) {
    for (int32_t i = 0; i < req->n; i++)
        if (!req->partitions[i].error_code) req->partitions[i].error_code = error;
    done(arg);
}

/* The expire timestamp of an OffsetCommit v2-4 retention (-1: none), as
 * Kafka computes it, saturated: a client's retention cannot overflow. */
static int64_t expire_at(int64_t now, int64_t retention_ms) {
    int64_t at;
    if (retention_ms == -1) return -1;
    if (retention_ms < 0) return now; /* expires at the next pass, as Kafka's past timestamp would */
    return __builtin_add_overflow(now, retention_ms, &at) ? INT64_MAX : at;
}

/* Stages partition i's value and encodes its record; false when out of memory. */
static bool stage_one(commit_op_t *op, int32_t i, int64_t now, kb_store_record_t *rec) {
    const kb_commit_partition_t *cp = &op->req->partitions[i];
    kb_offset_t *o = kb_offsets_put(&op->g->offsets, cp->topic.ptr, (size_t)cp->topic.len, cp->partition);
    kb_offset_t *st = &op->staged[i];

    if (!o || !(st->metadata = kb_strdup_slice(cp->metadata))) return false;
    st->metadata_len = cp->metadata.len > 0 ? cp->metadata.len : 0;
    st->topic = o->topic;
    st->partition = cp->partition;
    st->offset = cp->offset;
    st->leader_epoch = cp->leader_epoch;
    st->commit_ts = cp->commit_timestamp >= 0 ? cp->commit_timestamp : now;
    st->expire_ts = expire_at(now, op->req->retention_ms);
    o->pending++;
    kb_store_offset_record(rec, op->g->id, st);
    return true;
}

static void commit_write(commit_op_t *op) {
    kb_commit_request_t *req = op->req;
    int64_t now = kb_group_now_ms();
    kb_store_record_t *recs = calloc((size_t)req->n, sizeof(*recs));
    int n = 0;

    for (int32_t i = 0; recs && i < req->n; i++) {
        if (req->partitions[i].error_code) continue;
        kb_store_record_init(&recs[n]);
        if (!stage_one(op, i, now, &recs[n])) {
            kb_store_record_clear(&recs[n]);
            req->partitions[i].error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        n++;
    }
    if (!recs || n == 0) {
        free(recs);
        for (int32_t i = 0; i < req->n; i++)
            if (!req->partitions[i].error_code && !op->staged[i].topic)
                req->partitions[i].error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        commit_finish(op, KP_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    kb_store_append(op->g->c, op->g->partition, recs, n, false, commit_written, op);
    for (int i = 0; i < n; i++) kb_store_record_clear(&recs[i]);
    free(recs);
}

/* Bytes one offset record takes in a batch, at most: key (version, group,
 * topic, partition), value v3 (version, offset, epoch, metadata, time),
 * and the record's own framing. */
#define COMMIT_RECORD_FIXED 64

/* Whether the commit's batch can fit the partition's max.message.bytes,
 * judged before anything is encoded: a request of a few hundred kB
 * naming one partition many times under a long group id must not make
 * the broker encode gigabytes to find out. */
static bool commit_fits(kb_coordinator_t *c, const kb_commit_request_t *req, int32_t partition) {
    int64_t bytes = 0, max = kb_store_max_batch_bytes(c, partition);
    for (int32_t i = 0; i < req->n && bytes <= max; i++) {
        const kb_commit_partition_t *cp = &req->partitions[i];
        if (cp->error_code) continue;
        bytes += COMMIT_RECORD_FIXED + req->group_id.len + cp->topic.len;
        bytes += cp->metadata.len > 0 ? cp->metadata.len : 0;
    }
    return bytes <= max;
}

/* Spec 6.1 step 5: oversized metadata; true when something is left to write. */
static bool check_metadata_sizes(kb_coordinator_t *c, kb_commit_request_t *req) {
    int32_t max = c->deps.cfg->offset_metadata_max_bytes, left = 0;
    for (int32_t i = 0; i < req->n; i++) {
        kb_commit_partition_t *cp = &req->partitions[i];
        if (cp->error_code) continue;
        if (cp->metadata.len > max) cp->error_code = KP_ERR_OFFSET_METADATA_TOO_LARGE;
        else left++;
    }
    return left > 0;
}

void kb_group_commit(kb_coordinator_t *c, kb_commit_request_t *req, kb_commit_done_fn done, void *arg) {
    int32_t partition, left = 0;
    int16_t err;
    kb_group_t *g = NULL;
    commit_op_t *op;

    for (int32_t i = 0; i < req->n; i++) left += req->partitions[i].error_code == KP_ERR_NONE;
    if (left == 0) {
        done(arg);
        return;
    }
    err = kb_coordinator_check(c, req->group_id, true, &partition);
    if (err) {
        commit_refuse(req, err, done, arg);
        return;
    }
    /* Before the group rules, which may make a group: a commit that writes
     * nothing makes none. */
    if (!check_metadata_sizes(c, req)) {
        done(arg);
        return;
    }
    if (!commit_fits(c, req, partition)) {
        commit_refuse(req, KP_ERR_INVALID_COMMIT_OFFSET_SIZE, done, arg); /* Kafka's answer to MESSAGE_TOO_LARGE */
        return;
    }
    if ((err = commit_group_rules(c, req, partition, &g))) {
        commit_refuse(req, err, done, arg);
        return;
    }
    if (!(op = calloc(1, sizeof(*op))) || !(op->staged = calloc((size_t)req->n, sizeof(*op->staged)))) {
        free(op);
        commit_refuse(req, KP_ERR_UNKNOWN_SERVER_ERROR, done, arg);
        return;
    }
    *op = (commit_op_t){g, req, op->staged, done, arg};
    g->refs++;
    commit_write(op);
}

/* ---------------------------------------------------------- OffsetFetch */

int16_t kb_group_fetch_check(kb_coordinator_t *c, kp_str_t group_id) {
    int32_t partition;
    return kb_coordinator_check(c, group_id, true, &partition);
}

static void answer_from(const kb_offset_t *o, bool require_stable, kb_offset_answer_t *out) {
    out->offset = -1;
    out->leader_epoch = -1;
    out->metadata = kp_str_c("");
    out->error_code = KP_ERR_NONE;
    if (!o) return;
    if (require_stable && o->pending > 0) {
        out->error_code = KP_ERR_UNSTABLE_OFFSET_COMMIT;
        return;
    }
    if (!o->committed) return;
    out->offset = o->offset;
    out->leader_epoch = o->leader_epoch;
    if (o->metadata) out->metadata = (kp_str_t){o->metadata_len, o->metadata};
}

void kb_group_fetch_many(kb_coordinator_t *c, kp_str_t group_id, int32_t n, const kb_tp_t *tps, bool require_stable,
                         kb_offset_answer_t *out) {
    kb_group_t *g = kb_coordinator_find(c, group_id); /* once per request: ids may be 32 kB long */

    for (int32_t i = 0; i < n; i++) {
        kp_str_t topic = tps[i].topic;
        const kb_offset_t *o = g && topic.len > 0 ? kb_offsets_get(&g->offsets, topic.ptr, (size_t)topic.len,
                                                                   tps[i].partition)
                                                  : NULL;
        out[i].topic = NULL;
        out[i].partition = tps[i].partition;
        answer_from(o, require_stable, &out[i]);
    }
}

static int offset_cmp(const void *a, const void *b) {
    const kb_offset_t *x = *(const kb_offset_t *const *)a, *y = *(const kb_offset_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void kb_group_fetch_all(kb_coordinator_t *c, kp_str_t group_id, void (*fn)(void *arg, const kb_offset_answer_t *a),
                        void *arg) {
    kb_group_t *g = kb_coordinator_find(c, group_id);
    const kb_offset_t **all;
    size_t n = 0;

    if (!g || !g->offsets.n || !(all = calloc(g->offsets.n, sizeof(*all)))) return;
    for (size_t b = 0; b < g->offsets.n_buckets; b++)
        for (const kb_offset_t *o = g->offsets.buckets[b]; o; o = o->next)
            if (o->committed) all[n++] = o;
    qsort(all, n, sizeof(*all), offset_cmp);
    for (size_t i = 0; i < n; i++) {
        kb_offset_answer_t a = {.topic = all[i]->topic, .partition = all[i]->partition};
        answer_from(all[i], false, &a);
        fn(arg, &a);
    }
    free(all);
}

/* ------------------------------------------------ tombstones, deletion */

static void tombstones_written(void *arg, int16_t error) {
    char *group = arg;
    if (error)
        kc_warn(MOD, "group '%s': tombstones not written (error %d); written again next pass", group, (int)error);
    free(group);
}

/* Writes tombstones for the given offsets (and the group record when
 * with_group), without waiting (spec 3.6: a lost one is written again). */
static void write_tombstones(kb_group_t *g, kb_offset_t **dead, size_t n, bool with_group) {
    kb_store_record_t *recs = calloc(n + 1, sizeof(*recs));
    int k = 0;
    char *name = strdup(g->id);

    if (!recs || !name) {
        free(recs);
        free(name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kb_store_record_init(&recs[k]);
        kb_store_offset_tombstone(&recs[k++], g->id, dead[i]->topic, dead[i]->partition);
    }
    if (with_group) {
        kb_store_record_init(&recs[k]);
        kb_store_group_tombstone(&recs[k++], g->id);
    }
    if (k) kb_store_append(g->c, g->partition, recs, k, true, tombstones_written, name);
    else free(name);
    for (int i = 0; i < k; i++) kb_store_record_clear(&recs[i]);
    free(recs);
}

/* Drops the listed offsets from g's table after tombstoning them. */
static void drop_offsets(kb_group_t *g, kb_offset_t **dead, size_t n, bool with_group) {
    write_tombstones(g, dead, n, with_group);
    for (size_t i = 0; i < n; i++) {
        char *topic = strdup(dead[i]->topic);
        if (topic) kb_offsets_remove(&g->offsets, topic, dead[i]->partition);
        free(topic);
    }
}

int16_t kb_group_delete(kb_coordinator_t *c, kp_str_t group_id) {
    int32_t partition;
    int16_t err = kb_coordinator_check(c, group_id, true, &partition);
    kb_group_t *g;
    kb_offset_t **all;
    size_t n = 0;

    if (err) return err;
    if (!(g = kb_coordinator_find(c, group_id))) return KP_ERR_GROUP_ID_NOT_FOUND;
    if (g->state != KB_GROUP_EMPTY) return KP_ERR_NON_EMPTY_GROUP;
    if (!(all = calloc(g->offsets.n + 1, sizeof(*all)))) return KP_ERR_UNKNOWN_SERVER_ERROR;
    for (size_t b = 0; b < g->offsets.n_buckets; b++)
        for (kb_offset_t *o = g->offsets.buckets[b]; o; o = o->next) all[n++] = o;
    write_tombstones(g, all, n, g->generation > 0);
    free(all);
    kc_info(MOD, "group '%s' deleted", g->id);
    kb_coordinator_drop(g, KP_ERR_NOT_COORDINATOR);
    return KP_ERR_NONE;
}

/* ------------------------------------------------------------- expiry */

/* Spec 6.3: whether offset o of g has expired at now.  The group decides
 * which clock applies, if any; an explicit expire timestamp (OffsetCommit
 * v2-4) replaces the retention rule only within that choice, so a live
 * group's offsets stay whatever their commit asked for. */
static bool expired(const kb_group_t *g, const kb_offset_t *o, int64_t now, int64_t retention) {
    int64_t since, age;
    if (!o->committed || o->pending) return false;
    if (!g->protocol_type || !*g->protocol_type) since = o->commit_ts;
    else if (g->state == KB_GROUP_EMPTY) since = g->state_ts >= 0 ? g->state_ts : o->commit_ts;
    else return false; /* Stable consumer groups: subscribed topics are not tracked yet, so never */
    if (o->expire_ts >= 0) return now >= o->expire_ts;
    /* since may be any client-given commit timestamp (OffsetCommit v1) */
    return __builtin_sub_overflow(now, since, &age) ? since < 0 : age >= retention;
}

static void expire_group(kb_group_t *g, int64_t now, int64_t retention) {
    kb_offset_t **dead = calloc(g->offsets.n + 1, sizeof(*dead));
    size_t n = 0;

    if (!dead) return;
    for (size_t b = 0; b < g->offsets.n_buckets; b++)
        for (kb_offset_t *o = g->offsets.buckets[b]; o; o = o->next)
            if (expired(g, o, now, retention)) dead[n++] = o;
    if (n) {
        kc_info(MOD, "group '%s': %zu committed offset(s) expired", g->id, n);
        g->c->stats.expired += n;
    }
    bool gone = g->state == KB_GROUP_EMPTY && g->offsets.n == n && LIST_EMPTY(&g->pending);
    if (n || gone) drop_offsets(g, dead, n, gone && g->generation > 0);
    free(dead);
    if (gone) kb_coordinator_drop(g, KP_ERR_NOT_COORDINATOR);
}

void kb_offsets_expire(kb_coordinator_t *c) {
    int64_t now = kb_group_now_ms(), retention = (int64_t)c->deps.cfg->offsets_retention_minutes * 60000;

    for (size_t i = 0; i < c->n_buckets; i++)
        for (kb_group_t *g = c->buckets[i], *next; g; g = next) {
            next = g->hnext;
            if (kb_coordinator_owns(c, g->partition)) expire_group(g, now, retention);
        }
}

/* ---------------------------------------------------- deleted topics */

/* The committed offsets of topic in g go, with their tombstones; an Empty
 * group left without any goes too, as an expiry would drop it. */
static size_t drop_topic(kb_group_t *g, const char *topic) {
    kb_offset_t **dead = calloc(g->offsets.n + 1, sizeof(*dead));
    size_t n = 0;

    if (!dead) return 0;
    for (size_t b = 0; b < g->offsets.n_buckets; b++)
        for (kb_offset_t *o = g->offsets.buckets[b]; o; o = o->next)
            if (o->committed && !o->pending && strcmp(o->topic, topic) == 0) dead[n++] = o;
    bool gone = n && g->state == KB_GROUP_EMPTY && g->offsets.n == n && LIST_EMPTY(&g->pending);
    if (n) drop_offsets(g, dead, n, gone && g->generation > 0);
    free(dead);
    if (gone) kb_coordinator_drop(g, KP_ERR_NOT_COORDINATOR);
    return n;
}

void kb_coordinator_topic_deleted(kb_coordinator_t *c, const char *topic) {
    size_t removed = 0;

    if (!c) return;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (kb_group_t *g = c->buckets[i], *next; g; g = next) {
            next = g->hnext; /* g may be dropped */
            if (kb_coordinator_owns(c, g->partition)) removed += drop_topic(g, topic);
        }
    if (removed)
        kc_info(MOD, "removed %zu committed offset(s) of the deleted topic %s", removed, topic);
}
