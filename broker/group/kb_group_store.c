/*
 * kb_group_store.c - the coordinator's records in __consumer_offsets
 * (group-protocol.md 3.4, 3.6, 7): writing them as one batch through the
 * partition's normal replicated append, and loading a partition when this
 * broker starts to lead it.
 *
 * Writing: the records of one operation (an OffsetCommit's partitions, a
 * group's state) become one uncompressed batch with CreateTime = now, so
 * the operation lands whole or not at all; it is appended with
 * offsets.commit.required.acks and offsets.commit.timeout.ms, exactly as a
 * client's acks=all produce, and refused with NOT_LEADER_OR_FOLLOWER once
 * the partition is no longer led here at the epoch it was loaded for.
 *
 * Loading: the log is read from its start to its end in chunks of
 * offsets.load.buffer.size.  The bytes are read on a worker thread (the
 * loop never waits for a disk), then replayed on the loop in log order:
 * the last record per key wins and a null value removes (spec 7.6).  The
 * replay builds the groups of the partition directly in the coordinator's
 * table, where nobody sees them until the partition is owned (every API
 * answers COORDINATOR_LOAD_IN_PROGRESS meanwhile).  Compressed and
 * transactional batches are skipped with a warning: kbroker never writes
 * them here and clients cannot produce to this topic.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group/kb_group_internal.h"
#include "broker/replica/kb_partition.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"
#include "proto/kp_batch.h"
#include "proto/kp_batch_build.h"
#include "proto/kp_group_records.h"
#include "proto/kp_record_iter.h"
#include "proto/kp_types.h"

#define MOD "group"

/* ------------------------------------------------------------- records */

void kb_store_record_init(kb_store_record_t *r) {
    kp_writer_init(&r->key);
    kp_writer_init(&r->value);
    r->tombstone = false;
}

void kb_store_record_clear(kb_store_record_t *r) {
    kp_writer_free(&r->key);
    kp_writer_free(&r->value);
}

void kb_store_offset_record(kb_store_record_t *r, const char *group, const kb_offset_t *o) {
    kp_offset_commit_value_t v = {.offset = o->offset,
                                  .leader_epoch = o->leader_epoch,
                                  .metadata = o->metadata ? (kp_str_t){o->metadata_len, o->metadata} : kp_str_c(""),
                                  .commit_timestamp = o->commit_ts,
                                  .expire_timestamp = o->expire_ts};
    kp_offset_commit_key_encode(&r->key, kp_str_c(group), kp_str_c(o->topic), o->partition);
    kp_offset_commit_value_encode(&r->value, &v);
}

void kb_store_offset_tombstone(kb_store_record_t *r, const char *group, const char *topic, int32_t partition) {
    kp_offset_commit_key_encode(&r->key, kp_str_c(group), kp_str_c(topic), partition);
    r->tombstone = true;
}

static kp_str_t str_or_null(const char *s) { return s ? kp_str_c(s) : KP_STR_NULL; }

void kb_store_group_record(kb_store_record_t *r, const kb_group_t *g) {
    kp_group_metadata_member_t *members = calloc((size_t)g->n_members + 1, sizeof(*members));
    kp_group_metadata_value_t v = {.protocol_type = kp_str_c(g->protocol_type ? g->protocol_type : ""),
                                   .generation = g->generation,
                                   .protocol = str_or_null(g->protocol),
                                   .leader = str_or_null(g->leader),
                                   .current_state_timestamp = g->state_ts,
                                   .members = members};
    const kb_member_t *m;

    kp_group_metadata_key_encode(&r->key, kp_str_c(g->id));
    if (!members) {
        r->value.err = KP_BUF_NOMEM;
        return;
    }
    TAILQ_FOREACH(m, &g->members, link) {
        const kb_protocol_t *p = NULL;
        for (int32_t i = 0; g->protocol && i < m->n_protocols; i++)
            if (strcmp(m->protocols[i].name, g->protocol) == 0) p = &m->protocols[i];
        members[v.n_members++] = (kp_group_metadata_member_t){
            .member_id = kp_str_c(m->member_id),
            .group_instance_id = str_or_null(m->instance_id),
            .client_id = kp_str_c(m->client_id),
            .client_host = kp_str_c(m->client_host),
            .rebalance_timeout = m->rebalance_timeout_ms,
            .session_timeout = m->session_timeout_ms,
            .subscription = {p ? p->len : 0, p ? p->metadata : NULL},
            .assignment = {m->assignment_len, m->assignment}};
    }
    kp_group_metadata_value_encode(&r->value, &v);
    free(members);
}

void kb_store_group_tombstone(kb_store_record_t *r, const char *group) {
    kp_group_metadata_key_encode(&r->key, kp_str_c(group));
    r->tombstone = true;
}

/* ------------------------------------------------------------- writing */

int16_t kb_store_map_error(int16_t e, bool commit) {
    switch (e) {
    case KP_ERR_UNKNOWN_TOPIC_OR_PARTITION:
    case KP_ERR_NOT_ENOUGH_REPLICAS:
    case KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    case KP_ERR_NOT_LEADER_OR_FOLLOWER:
    case KP_ERR_KAFKA_STORAGE_ERROR:
        return KP_ERR_NOT_COORDINATOR;
    case KP_ERR_REQUEST_TIMED_OUT:
        /* A member whose assignment was not stored must rejoin. */
        return commit ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_REBALANCE_IN_PROGRESS;
    case KP_ERR_MESSAGE_TOO_LARGE:
    case KP_ERR_RECORD_LIST_TOO_LARGE:
    case KP_ERR_INVALID_FETCH_SIZE:
        return commit ? KP_ERR_INVALID_COMMIT_OFFSET_SIZE : KP_ERR_UNKNOWN_SERVER_ERROR;
    default:
        return e;
    }
}

typedef struct {
    kb_store_done_fn done;
    void *arg;
} append_op_t;

static void appended(void *arg, int16_t error, const kb_produce_result_t *res) {
    append_op_t *op = arg;
    (void)res;
    op->done(op->arg, error);
    free(op);
}

/* The records as one batch in w; false when one failed to encode. */
static bool build_batch(kp_writer_t *w, const kb_store_record_t *records, int n) {
    kp_batch_record_t *recs = calloc((size_t)n, sizeof(*recs));
    bool ok = recs != NULL;

    for (int i = 0; ok && i < n; i++) {
        const kb_store_record_t *r = &records[i];
        /* A length past int32 would wrap, and a negative value length is
         * a tombstone: refuse rather than write the wrong record. */
        ok = !r->key.err && !r->value.err && r->key.len <= INT32_MAX && r->value.len <= INT32_MAX;
        recs[i].key = (kp_bytes_t){(int32_t)r->key.len, r->key.buf};
        recs[i].value = r->tombstone ? (kp_bytes_t){KP_NULL_LEN, NULL}
                                     : (kp_bytes_t){(int32_t)r->value.len, r->value.buf};
    }
    ok = ok && kp_batch_build(w, recs, n, kb_group_now_ms()) == 0;
    free(recs);
    return ok;
}

int64_t kb_store_max_batch_bytes(kb_coordinator_t *c, int32_t partition) {
    kb_partition_t *p = c->deps.replicas ? kb_replicas_get(c->deps.replicas, KB_OFFSETS_TOPIC, partition) : NULL;
    return p ? kb_partition_max_message_bytes(p) : INT64_MAX;
}

void kb_store_append(kb_coordinator_t *c, int32_t partition, kb_store_record_t *records, int n,
                     bool fire_and_forget, kb_store_done_fn done, void *arg) {
    kb_partition_t *p = c->deps.replicas ? kb_replicas_get(c->deps.replicas, KB_OFFSETS_TOPIC, partition) : NULL;
    const kb_config_t *cfg = c->deps.cfg;
    kp_batch_header_t h;
    append_op_t *op;
    kp_writer_t w;

    if (!p || !kb_partition_is_leader(p) || kb_partition_leader_epoch(p) != kb_coordinator_epoch(c, partition)) {
        done(arg, KP_ERR_NOT_LEADER_OR_FOLLOWER);
        return;
    }
    kp_writer_init(&w);
    if (!build_batch(&w, records, n) || kp_batch_header_decode(w.buf, w.len, &h) != 0) {
        kp_writer_free(&w);
        done(arg, KP_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    if (w.len > (size_t)kb_partition_max_message_bytes(p)) {
        kp_writer_free(&w);
        done(arg, KP_ERR_MESSAGE_TOO_LARGE);
        return;
    }
    if (!(op = malloc(sizeof(*op)))) {
        kp_writer_free(&w);
        done(arg, KP_ERR_UNKNOWN_SERVER_ERROR);
        return;
    }
    *op = (append_op_t){done, arg};
    kb_partition_produce(p, w.buf, &h, fire_and_forget ? 1 : (int16_t)cfg->offsets_commit_required_acks,
                         cfg->offsets_commit_timeout_ms, appended, op);
    kp_writer_free(&w);
}

/* ------------------------------------------------------------- loading */

struct kb_load {
    kb_coordinator_t *c;
    int32_t partition, epoch;
    int64_t next, end;           /* the next offset to read, the log end offset at the start */
    kb_partition_range_t range;  /* the chunk being read */
    uint8_t *buf;
    size_t len;                  /* bytes read into buf */
    int read_errno;
    kb_worker_job_t job;
    bool cancelled;
    size_t groups, skipped, damaged;
};

static void load_next(kb_load_t *l);

static kb_group_t *load_group(kb_load_t *l, kp_str_t id) {
    kb_group_t *g = kb_coordinator_find(l->c, id);
    return g ? g : kb_coordinator_add(l->c, id, l->partition);
}

static void apply_offset(kb_load_t *l, const kp_group_key_t *k, const kp_record_t *rec) {
    kb_group_t *g;
    kb_offset_t *o;
    kp_offset_commit_value_t v;
    kp_reader_t r;

    if (rec->value.len < 0) {
        if ((g = kb_coordinator_find(l->c, k->group)) && k->topic.len > 0) {
            char *topic = kb_strdup_slice(k->topic);
            if (topic) kb_offsets_remove(&g->offsets, topic, k->partition);
            free(topic);
        }
        return;
    }
    kp_reader_init(&r, rec->value.ptr, (size_t)rec->value.len);
    if (kp_offset_commit_value_decode(&r, &v) != 0 || k->topic.len <= 0) {
        l->skipped++;
        return;
    }
    if (!(g = load_group(l, k->group)) ||
        !(o = kb_offsets_put(&g->offsets, k->topic.ptr, (size_t)k->topic.len, k->partition)))
        return;
    free(o->metadata);
    o->metadata = kb_strdup_slice(v.metadata);
    o->metadata_len = o->metadata && v.metadata.len > 0 ? v.metadata.len : 0;
    o->offset = v.offset;
    o->leader_epoch = v.leader_epoch;
    o->commit_ts = v.commit_timestamp;
    o->expire_ts = v.expire_timestamp;
    o->committed = true;
}

/* A member of a loaded group record; NULL when out of memory. */
static kb_member_t *loaded_member(kb_group_t *g, const kp_group_metadata_member_t *lm, kp_str_t protocol) {
    kb_join_protocol_t proto = {protocol, lm->subscription};
    kb_join_request_t req = {.member_id = lm->member_id, .instance_id = lm->group_instance_id,
                             .client_id = lm->client_id, .client_host = lm->client_host,
                             .session_timeout_ms = lm->session_timeout, .rebalance_timeout_ms = lm->rebalance_timeout,
                             .n_protocols = protocol.len >= 0 ? 1 : 0, .protocols = &proto};
    kb_member_t *m = kb_member_from_record(g, &req);
    int32_t len = lm->assignment.len;

    if (m && len > 0 && (m->assignment = malloc((size_t)len))) {
        memcpy(m->assignment, lm->assignment.ptr, (size_t)len);
        m->assignment_len = len;
    }
    return m;
}

/* Replaces g's stored state by v (members, protocol, generation). */
static void set_group_state(kb_group_t *g, const kp_group_metadata_value_t *v) {
    kb_member_t *m;
    while ((m = TAILQ_FIRST(&g->members))) {
        kb_group_unlink_member(g, m);
        kb_member_free(m);
    }
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    g->protocol_type = kb_strdup_slice(v->protocol_type);
    g->protocol = v->protocol.len >= 0 ? kb_strdup_slice(v->protocol) : NULL;
    g->leader = v->leader.len >= 0 ? kb_strdup_slice(v->leader) : NULL;
    g->generation = v->generation;
    g->state_ts = v->current_state_timestamp;
    g->has_record = true;
    for (int32_t i = 0; i < v->n_members; i++) {
        /* A record naming one member twice (kbroker writes none) keeps the first. */
        if (kb_group_member(g, v->members[i].member_id) || !(m = loaded_member(g, &v->members[i], v->protocol)))
            continue;
        kb_group_link_member(g, m);
    }
}

static void apply_group(kb_load_t *l, const kp_group_key_t *k, const kp_record_t *rec) {
    kp_group_metadata_value_t v = {0};
    kb_group_t *g;
    kp_reader_t r;

    if (rec->value.len < 0) {
        if ((g = kb_coordinator_find(l->c, k->group))) {
            kp_group_metadata_value_t empty = {.protocol = KP_STR_NULL, .leader = KP_STR_NULL,
                                               .protocol_type = kp_str_c(""), .current_state_timestamp = -1};
            set_group_state(g, &empty);
            g->has_record = false;
        }
        return;
    }
    kp_reader_init(&r, rec->value.ptr, (size_t)rec->value.len);
    if (kp_group_metadata_value_decode(&r, &v) != 0) {
        l->skipped++;
    } else if ((g = load_group(l, k->group))) {
        set_group_state(g, &v);
    }
    kp_group_metadata_value_clear(&v);
}

static void apply_record(kb_load_t *l, const kp_record_t *rec) {
    kp_group_key_t k;
    kp_reader_t r;

    if (rec->key.len < 0) {
        l->skipped++;
        return;
    }
    kp_reader_init(&r, rec->key.ptr, (size_t)rec->key.len);
    if (kp_group_key_decode(&r, &k) != 0) {
        l->skipped++;
        return;
    }
    /* Only this partition's own groups: a record naming a group of another
     * partition (kbroker never writes one; a client with Kafka's admin id
     * may produce anything here) must not touch a live group loaded
     * elsewhere, nor make a group its commits would be written away from. */
    if (k.type == KP_GROUP_KEY_UNKNOWN || !kb_coordinator_group_id_ok(k.group) ||
        kb_coordinator_partition_of(l->c, k.group) != l->partition) {
        l->skipped++;
        return;
    }
    if (k.type == KP_GROUP_KEY_OFFSET_COMMIT) apply_offset(l, &k, rec);
    else apply_group(l, &k, rec);
}

static void apply_batch(kb_load_t *l, const uint8_t *p, size_t size, const kp_batch_header_t *h) {
    kp_record_iter_t it;
    kp_record_t rec;
    int rc = kp_record_iter_init(&it, p, size);

    if (rc == KP_ITER_COMPRESSED || (h->attributes & (KP_ATTR_TRANSACTIONAL | KP_ATTR_CONTROL))) {
        kc_warn(MOD, "%s-%d: skipping the %s batch at offset %lld while loading", KB_OFFSETS_TOPIC,
                (int)l->partition, rc == KP_ITER_COMPRESSED ? "compressed" : "transactional",
                (long long)h->base_offset);
        return;
    }
    while (rc >= 0 && (rc = kp_record_iter_next(&it, &rec)) == KP_ITER_RECORD) apply_record(l, &rec);
    if (rc == KP_ITER_CORRUPT) l->skipped++;
}

/* The size of the damaged batch at p (len bytes left), when its length
 * field still frames it, else 0: a batch whose CRC or contents are bad is
 * skipped, so one damaged batch does not hide every later commit. */
static size_t damaged_batch_size(const uint8_t *p, size_t len) {
    int64_t size;
    if (len < KP_BATCH_HEADER_SIZE) return 0;
    size = (int64_t)(int32_t)kp_get_be(p + KP_LOG_OVERHEAD - 4, 4) + KP_LOG_OVERHEAD;
    return size >= KP_BATCH_HEADER_SIZE && size <= (int64_t)len ? (size_t)size : 0;
}

/* Replays the whole batches of the chunk; returns the offset after the
 * last one read (damaged ones skipped and counted). */
static int64_t apply_chunk(kb_load_t *l) {
    size_t pos = 0, size;
    kp_batch_header_t h;
    int64_t next = l->next;

    while (pos < l->len) {
        int rc = kp_batch_scan(l->buf + pos, l->len - pos, l->len - pos, &h, &size);
        if (rc == KP_SCAN_INCOMPLETE) break;
        if (rc == KP_SCAN_CORRUPT) {
            if (!(size = damaged_batch_size(l->buf + pos, l->len - pos))) break;
            kc_error(MOD, "%s-%d: a damaged batch at offset %lld (%zu bytes) skipped while loading",
                     KB_OFFSETS_TOPIC, (int)l->partition, (long long)kp_get_be(l->buf + pos, 8), size);
            l->damaged++;
            pos += size;
            continue;
        }
        if (kp_batch_last_offset(&h) >= l->next) apply_batch(l, l->buf + pos, size, &h);
        next = kp_batch_last_offset(&h) + 1;
        pos += size;
    }
    return next;
}

static void load_free(kb_load_t *l) {
    kb_partition_range_release(&l->range);
    free(l->buf);
    free(l);
}

/* Spec 3.4 "After replay": states, timers, and the partition owned. */
static void load_finish(kb_load_t *l) {
    kb_coordinator_t *c = l->c;
    size_t n = 0;

    for (size_t i = 0; i < c->n_buckets; i++)
        for (kb_group_t *g = c->buckets[i], *next; g; g = next) {
            next = g->hnext;
            if (g->partition != l->partition) continue;
            if (!g->has_record && g->offsets.n == 0) {
                kb_coordinator_drop(g, KP_ERR_NOT_COORDINATOR);
                continue;
            }
            kb_group_loaded(g);
            n++;
        }
    if (l->skipped || l->damaged)
        kc_warn(MOD, "%s-%d: loading skipped %zu record(s) it could not apply and %zu damaged batch(es)",
                KB_OFFSETS_TOPIC, (int)l->partition, l->skipped, l->damaged);
    kb_coordinator_loaded(c, l->partition, l, n);
    load_free(l);
}

static void read_run(void *arg) {
    kb_load_t *l = arg;
    size_t got = 0;

    while (got < l->range.len) {
        ssize_t n = pread(l->range.fd, l->buf + got, l->range.len - got, (off_t)(l->range.pos + (int64_t)got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            l->read_errno = n < 0 ? errno : EIO;
            break;
        }
        got += (size_t)n;
    }
    l->len = got;
}

static void read_done(void *arg, bool cancelled) {
    kb_load_t *l = arg;

    kb_partition_range_release(&l->range);
    if (!l->cancelled && cancelled) kb_coordinator_load_gone(l->c, l->partition, l); /* the worker stopped */
    if (l->cancelled || cancelled) {
        load_free(l);
        return;
    }
    int64_t next = apply_chunk(l);
    l->next = next > l->next ? next : l->end; /* no whole batch in a chunk: stop rather than spin */
    if (l->read_errno) {
        kc_error(MOD, "%s-%d: reading the log failed (%s); its groups are loaded from what was read",
                 KB_OFFSETS_TOPIC, (int)l->partition, strerror(l->read_errno));
        l->next = l->end;
    }
    load_next(l);
}

static void load_next(kb_load_t *l) {
    kb_partition_t *p = kb_replicas_get(l->c->deps.replicas, KB_OFFSETS_TOPIC, l->partition);
    size_t chunk = (size_t)l->c->deps.cfg->offsets_load_buffer_size;
    uint8_t *buf;

    if (!p || l->next >= l->end || kb_partition_read(p, l->next, l->end, chunk, true, &l->range) != 0 ||
        kb_partition_range_empty(&l->range)) {
        load_finish(l);
        return;
    }
    if (!(buf = realloc(l->buf, l->range.len))) {
        kc_warn(MOD, "%s-%d: out of memory while loading", KB_OFFSETS_TOPIC, (int)l->partition);
        load_finish(l);
        return;
    }
    l->buf = buf;
    l->len = 0;
    l->read_errno = 0;
    l->job = (kb_worker_job_t){.run = read_run, .done = read_done, .arg = l};
    if (!l->c->deps.worker || kb_worker_submit(l->c->deps.worker, &l->job) != 0) {
        read_run(l);
        read_done(l, false);
    }
}

bool kb_store_load_start(kb_coordinator_t *c, int32_t partition, int32_t epoch) {
    kb_partition_t *p = c->deps.replicas ? kb_replicas_get(c->deps.replicas, KB_OFFSETS_TOPIC, partition) : NULL;
    kb_load_t *l = calloc(1, sizeof(*l));

    if (!l) {
        kc_error(MOD, "%s-%d: out of memory; its groups are not coordinated here", KB_OFFSETS_TOPIC, (int)partition);
        return false;
    }
    *l = (kb_load_t){.c = c, .partition = partition, .epoch = epoch};
    if (p) {
        l->next = kb_partition_log_start_offset(p);
        l->end = kb_partition_log_end_offset(p);
    }
    kb_coordinator_set_load(c, partition, l);
    kc_info(MOD, "%s-%d: loading offsets %lld..%lld (leader epoch %d)", KB_OFFSETS_TOPIC, (int)partition,
            (long long)l->next, (long long)l->end, (int)epoch);
    load_next(l);
    return true;
}

void kb_store_load_cancel(kb_coordinator_t *c, int32_t partition) {
    kb_load_t *l = kb_coordinator_set_load(c, partition, NULL);
    if (l) l->cancelled = true; /* its read completes and frees it */
}
