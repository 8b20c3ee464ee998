/*
 * kb_fetcher.c - follower fetchers (see kb_fetcher.h).
 *
 * Each fetcher waits for one ReplicaFetch and one OffsetForLeaderEpoch
 * answer at a time (after a call timed out, the leader may still hold the
 * old one while the next is sent).  A call's context names the partitions
 * it carries with the leader epoch and offset they were sent at;
 * partitions live until kb_replicas_free, so the pointers stay valid, and
 * an answer for a partition that has moved on meanwhile (another fetcher,
 * epoch or log end offset) is dropped.  An answer must name the partitions
 * in the order asked, or it is dropped whole.  Partitions that join while a
 * fetch is parked at the leader go in the next one; a partition that got
 * records moves to the back of the list, so that when the leader's answer
 * fills up, the others go first next time (Kafka's updateAndMoveToEnd).
 *
 * Freeing a fetcher frees its client, which answers the calls in flight
 * with KB_RPC_CANCELLED before it returns: those answers free only their
 * context.
 */
#include "broker/replica/kb_fetcher.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "broker/log/kb_log.h"
#include "broker/replica/kb_partition_internal.h"
#include "common/kc_log.h"
#include "proto/kp_types.h"

typedef struct kb_fetcher {
    LIST_ENTRY(kb_fetcher) link;
    kb_fetchers_t *fs;
    int32_t leader_id;
    char *host;               /* the registration this fetcher dials */
    int port;
    int64_t leader_epoch;     /* its czxid, which the leader's Hello must carry */
    kb_rpc_client_t *client;
    TAILQ_HEAD(, kb_partition) parts;
    int n_parts;
    bool fetch_in_flight;
    bool epochs_in_flight;
    int64_t held_until_ms;    /* a failed call holds the fetcher back until then */
    struct event *timer;      /* runs the fetcher again after a hold */
} kb_fetcher_t;

struct kb_fetchers {
    kb_replicas_t *r;
    kb_fetchers_opts_t o;
    LIST_HEAD(, kb_fetcher) list;
    /* Followers whose leader's endpoint is not known yet (the view has not
     * read its registration): tried again by check_ev, which also redials
     * fetchers that cannot connect when their leader re-registered. */
    TAILQ_HEAD(, kb_partition) unresolved;
    struct event *check_ev;
};

/* One partition as a call carried it. */
typedef struct sent_part {
    kb_partition_t *p;
    int32_t leader_epoch;
    int32_t log_epoch; /* epochs: the latest epoch of the log, which was asked about */
    int64_t offset;    /* fetch: the fetch offset; epochs: the log end offset */
} sent_part_t;

typedef struct call_ctx {
    kb_fetcher_t *f;
    size_t n;
    sent_part_t parts[];
} call_ctx_t;

static void fetcher_run(kb_fetcher_t *f);

static const kb_config_t *cfg_of(const kb_fetcher_t *f) { return f->fs->r->deps.cfg; }

static void count_error(kb_fetcher_t *f) { f->fs->r->repl_stats.fetch_errors++; }

/* ---- holding back ---- */

static void arm_timer(kb_fetcher_t *f, int64_t at_ms) {
    int64_t ms = at_ms - kb_replicas_now_ms();
    if (ms < 1) ms = 1;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(f->timer, &tv);
}

static void hold_partition(kb_fetcher_t *f, kb_partition_t *p) {
    p->follow.retry_at_ms = kb_replicas_now_ms() + cfg_of(f)->replica_fetch_backoff_ms;
    count_error(f);
}

static void hold_fetcher(kb_fetcher_t *f) {
    f->held_until_ms = kb_replicas_now_ms() + cfg_of(f)->replica_fetch_backoff_ms;
    count_error(f);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) { fetcher_run(arg); }

/* ---- the partitions' logs ---- */

/* Still the partition a call carried, in the state it was sent in. */
static bool still_sent(const kb_fetcher_t *f, const sent_part_t *s, follow_state_t state) {
    const kb_partition_t *p = s->p;
    return p->follow.fetcher == f && p->follow.state == state && p->leader_epoch == s->leader_epoch && p->log &&
           kb_log_end_offset(p->log) == s->offset;
}

/* Truncates p's log at offset (at or past its end that only drops leader
 * epochs that start there, as Kafka does).  False, with the partition
 * held, when that failed: it must not fetch on top of a tail it was to
 * drop. */
static bool truncate_log(kb_fetcher_t *f, kb_partition_t *p, int64_t offset, const char *why) {
    if (offset < kb_log_end_offset(p->log)) {
        kc_info("replica", "%s-%d: truncating to offset %" PRId64 " (log end offset %" PRId64 ") %s", p->topic,
                (int)p->partition, offset, kb_log_end_offset(p->log), why);
        f->fs->r->repl_stats.truncations++;
    }
    if (kb_log_truncate_to(p->log, offset) == 0) return true;
    kc_error("replica", "%s-%d: cannot truncate its log to offset %" PRId64 "; not fetching until it can", p->topic,
             (int)p->partition, offset);
    hold_partition(f, p);
    return false;
}

/* The first base offset in bytes (a whole batch header or more), or -1. */
static int64_t first_base_offset(const uint8_t *b, size_t len) {
    if (len < 8) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
    return (int64_t)v;
}

/* Appends a leader's bytes for p: they must not start below p's log end
 * offset (above it is a gap in the leader's log, which Kafka accepts). */
static int append_fetched(kb_fetcher_t *f, kb_partition_t *p, const kp_rpc_slice_t *slice) {
    if (slice->len == 0) return 0;
    int64_t leo = kb_log_end_offset(p->log), first = first_base_offset(slice->ptr, slice->len);
    if (first < leo) {
        /* Only logs that disagree do this (the leader's batch boundaries
         * are not ours): find where they agree again. */
        kc_warn("replica", "%s-%d: the leader sent records from offset %" PRId64 " for fetch offset %" PRId64
                "; truncating by leader epoch again", p->topic, (int)p->partition, first, leo);
        p->follow.state = FOLLOW_TRUNCATING;
        return -1;
    }
    if (kb_log_append_verbatim(p->log, slice->ptr, slice->len) != 0) return -1;
    if (kb_log_end_offset(p->log) > leo) {
        f->fs->r->repl_stats.follower_bytes += slice->len;
        TAILQ_REMOVE(&f->parts, p, follow.link);
        TAILQ_INSERT_TAIL(&f->parts, p, follow.link);
    }
    return 0;
}

/* HW = min(leader HW, own LEO); log start = max(own, leader's) while that
 * is below the HW (spec 3.3). */
static void follow_offsets(kb_partition_t *p, int64_t leader_hw, int64_t leader_log_start) {
    int64_t leo = kb_log_end_offset(p->log), low;
    kb_log_set_high_watermark(p->log, leader_hw < leo ? leader_hw : leo);
    if (leader_log_start > kb_log_start_offset(p->log) && leader_log_start <= kb_log_high_watermark(p->log))
        kb_log_delete_records(p->log, leader_log_start, &low);
}

/* Spec 3.8, with the leader's log end offset from the answer. */
static void out_of_range(kb_fetcher_t *f, kb_partition_t *p, const Kbroker__Rpc__ReplicaFetchPartitionResponse *r) {
    int64_t leo = kb_log_end_offset(p->log);
    if (r->log_start_offset < 0 || r->log_end_offset < r->log_start_offset) {
        hold_partition(f, p); /* no sane offsets to act on */
    } else if (r->log_end_offset < leo) {
        truncate_log(f, p, r->log_end_offset, "to the leader's shorter log (OFFSET_OUT_OF_RANGE)");
    } else if (r->log_start_offset > leo) {
        kc_info("replica", "%s-%d: the leader's log starts at %" PRId64 ", past this log's end %" PRId64
                "; starting over there", p->topic, (int)p->partition, r->log_start_offset, leo);
        f->fs->r->repl_stats.truncations++;
        if (kb_log_reset_to(p->log, r->log_start_offset) != 0) hold_partition(f, p);
    } else {
        hold_partition(f, p);
    }
}

/* ---- ReplicaFetch ---- */

static void fetched_part(kb_fetcher_t *f, const sent_part_t *s, const Kbroker__Rpc__ReplicaFetchPartitionResponse *r,
                         const kp_rpc_slice_t *slice) {
    kb_partition_t *p = s->p;
    if (!still_sent(f, s, FOLLOW_FETCHING)) return;
    switch (r->error_code) {
    case KP_ERR_NONE:
        if (append_fetched(f, p, slice) != 0) {
            hold_partition(f, p);
            return;
        }
        follow_offsets(p, r->high_watermark, r->log_start_offset);
        return;
    case KP_ERR_OFFSET_OUT_OF_RANGE: out_of_range(f, p, r); return;
    default:
        kc_debug("replica", "%s-%d: fetch from broker %d answered error %d; retrying in %d ms", p->topic,
                 (int)p->partition, (int)f->leader_id, (int)r->error_code, (int)cfg_of(f)->replica_fetch_backoff_ms);
        hold_partition(f, p);
    }
}

/* Whether an answer names the partition asked in its place. */
static bool names_match(const sent_part_t *s, const char *topic, int32_t index) {
    return topic && strcmp(topic, s->p->topic) == 0 && index == s->p->partition;
}

static bool fetch_answer_matches(const call_ctx_t *c, const Kbroker__Rpc__ReplicaFetchResponse *resp) {
    for (size_t i = 0; i < c->n; i++)
        if (!names_match(&c->parts[i], resp->responses[i]->topic_name, resp->responses[i]->partition_index))
            return false;
    return true;
}

static bool epoch_answer_matches(const call_ctx_t *c, const Kbroker__Rpc__OffsetForLeaderEpochResponse *resp) {
    for (size_t i = 0; i < c->n; i++)
        if (!names_match(&c->parts[i], resp->partitions[i]->topic_name, resp->partitions[i]->partition_index))
            return false;
    return true;
}

/* Matches answer i to sent part i: the leader answers every partition in
 * the order asked, with trailer slice i holding partition i's bytes. */
static void fetch_answered(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                           const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    call_ctx_t *c = arg;
    kb_fetcher_t *f = c->f;
    const Kbroker__Rpc__ReplicaFetchResponse *resp = (const Kbroker__Rpc__ReplicaFetchResponse *)body;
    if (st == KB_RPC_CANCELLED) {
        free(c);
        return;
    }
    f->fetch_in_flight = false;
    if (st != KB_RPC_OK || error_code != 0 || resp->n_responses != c->n || n_slices != c->n ||
        !fetch_answer_matches(c, resp)) {
        kc_debug("replica", "fetch from broker %d failed (%s, error %d)", (int)f->leader_id, kb_rpc_status_name(st),
                 (int)error_code);
        hold_fetcher(f);
    } else {
        f->fs->r->repl_stats.fetches_sent++;
        for (size_t i = 0; i < c->n; i++) fetched_part(f, &c->parts[i], resp->responses[i], &slices[i]);
    }
    free(c);
    fetcher_run(f);
}

static bool due(const kb_partition_t *p, follow_state_t state, int64_t now) {
    return p->follow.state == state && p->follow.retry_at_ms <= now && p->log;
}

/* A call context for the partitions due in `state`, or NULL (none, or out
 * of memory). */
static call_ctx_t *collect(kb_fetcher_t *f, follow_state_t state) {
    int64_t now = kb_replicas_now_ms();
    size_t n = 0;
    kb_partition_t *p;
    TAILQ_FOREACH(p, &f->parts, follow.link) n += due(p, state, now);
    if (n == 0) return NULL;
    call_ctx_t *c = malloc(sizeof(*c) + n * sizeof(c->parts[0]));
    if (!c) return NULL;
    c->f = f;
    c->n = 0;
    TAILQ_FOREACH(p, &f->parts, follow.link)
        if (due(p, state, now))
            c->parts[c->n++] = (sent_part_t){p, p->leader_epoch, kb_log_latest_epoch(p->log), kb_log_end_offset(p->log)};
    return c;
}

static void send_fetch(kb_fetcher_t *f) {
    const kb_config_t *cfg = cfg_of(f);
    call_ctx_t *c = collect(f, FOLLOW_FETCHING);
    if (!c) return;
    Kbroker__Rpc__ReplicaFetchPartition *fp = calloc(c->n, sizeof(*fp));
    Kbroker__Rpc__ReplicaFetchPartition **fpp = calloc(c->n, sizeof(*fpp));
    Kbroker__Rpc__ReplicaFetchRequest req = KBROKER__RPC__REPLICA_FETCH_REQUEST__INIT;
    int rc = -1;
    if (fp && fpp) {
        for (size_t i = 0; i < c->n; i++) {
            const kb_partition_t *p = c->parts[i].p;
            kbroker__rpc__replica_fetch_partition__init(&fp[i]);
            fp[i].topic_name = (char *)p->topic;
            fp[i].partition_index = p->partition;
            fp[i].fetch_offset = c->parts[i].offset;
            fp[i].current_leader_epoch = c->parts[i].leader_epoch;
            fp[i].log_start_offset = kb_log_start_offset(p->log);
            fp[i].partition_max_bytes = cfg->replica_fetch_max_bytes;
            fpp[i] = &fp[i];
        }
        req.replica_id = cfg->broker_id;
        req.max_wait_ms = cfg->replica_fetch_wait_max_ms;
        req.min_bytes = cfg->replica_fetch_min_bytes;
        req.max_bytes = cfg->replica_fetch_response_max_bytes;
        req.n_partitions = c->n;
        req.partitions = fpp;
        rc = kb_rpc_call(f->client, KBROKER__RPC__METHOD__METHOD_REPLICA_FETCH, &req.base,
                         cfg->replica_fetch_wait_max_ms + cfg->replica_socket_timeout_ms, fetch_answered, c);
    }
    free(fp);
    free(fpp);
    if (rc == 0) {
        f->fetch_in_flight = true;
        return;
    }
    free(c);
    hold_fetcher(f);
}

/* ---- OffsetForLeaderEpoch ---- */

static void epoch_part(kb_fetcher_t *f, const sent_part_t *s, const Kbroker__Rpc__EpochEndOffset *r) {
    kb_partition_t *p = s->p;
    int64_t offset;
    if (!still_sent(f, s, FOLLOW_TRUNCATING)) return;
    if (r->error_code != KP_ERR_NONE) {
        kc_debug("replica", "%s-%d: OffsetForLeaderEpoch answered error %d by broker %d", p->topic, (int)p->partition,
                 (int)r->error_code, (int)f->leader_id);
        hold_partition(f, p);
        return;
    }
    bool done = kb_log_truncation_point(p->log, r->leader_epoch, r->end_offset, &offset);
    char why[96];
    snprintf(why, sizeof(why), "(leader %d: epoch %d ends at %" PRId64 ")", (int)f->leader_id, (int)r->leader_epoch,
             r->end_offset);
    if (!truncate_log(f, p, offset, why)) return;
    if (done) {
        p->follow.state = FOLLOW_FETCHING;
    } else if (kb_log_latest_epoch(p->log) >= s->log_epoch) {
        /* The next question would be this one again: never spin on it. */
        kc_warn("replica", "%s-%d: truncation by leader epoch makes no progress at epoch %d; retrying in %d ms",
                p->topic, (int)p->partition, (int)s->log_epoch, (int)cfg_of(f)->replica_fetch_backoff_ms);
        hold_partition(f, p);
    }
}

static void epochs_answered(kb_rpc_status_t st, int32_t error_code, const ProtobufCMessage *body,
                            const kp_rpc_slice_t *slices, size_t n_slices, void *arg) {
    call_ctx_t *c = arg;
    kb_fetcher_t *f = c->f;
    const Kbroker__Rpc__OffsetForLeaderEpochResponse *resp = (const Kbroker__Rpc__OffsetForLeaderEpochResponse *)body;
    if (st == KB_RPC_CANCELLED) {
        free(c);
        return;
    }
    f->epochs_in_flight = false;
    if (st != KB_RPC_OK || error_code != 0 || resp->n_partitions != c->n || !epoch_answer_matches(c, resp)) {
        kc_debug("replica", "OffsetForLeaderEpoch to broker %d failed (%s, error %d)", (int)f->leader_id,
                 kb_rpc_status_name(st), (int)error_code);
        hold_fetcher(f);
    } else {
        for (size_t i = 0; i < c->n; i++) epoch_part(f, &c->parts[i], resp->partitions[i]);
    }
    free(c);
    fetcher_run(f);
}

/* Partitions whose log has no leader epoch truncate to their HW without
 * asking (Kafka's fallback for logs without epochs). */
static void truncate_epochless(kb_fetcher_t *f) {
    kb_partition_t *p;
    TAILQ_FOREACH(p, &f->parts, follow.link) {
        if (p->follow.state != FOLLOW_TRUNCATING || !p->log || kb_log_latest_epoch(p->log) != KB_LOG_NO_EPOCH)
            continue;
        if (truncate_log(f, p, kb_log_high_watermark(p->log), "(high watermark: the log has no leader epoch)"))
            p->follow.state = FOLLOW_FETCHING;
    }
}

static void send_epochs(kb_fetcher_t *f) {
    truncate_epochless(f);
    call_ctx_t *c = collect(f, FOLLOW_TRUNCATING);
    if (!c) return;
    Kbroker__Rpc__OffsetForLeaderEpochPartition *ep = calloc(c->n, sizeof(*ep));
    Kbroker__Rpc__OffsetForLeaderEpochPartition **epp = calloc(c->n, sizeof(*epp));
    Kbroker__Rpc__OffsetForLeaderEpochRequest req = KBROKER__RPC__OFFSET_FOR_LEADER_EPOCH_REQUEST__INIT;
    int rc = -1;
    if (ep && epp) {
        for (size_t i = 0; i < c->n; i++) {
            const kb_partition_t *p = c->parts[i].p;
            kbroker__rpc__offset_for_leader_epoch_partition__init(&ep[i]);
            ep[i].topic_name = (char *)p->topic;
            ep[i].partition_index = p->partition;
            ep[i].current_leader_epoch = c->parts[i].leader_epoch;
            ep[i].leader_epoch = c->parts[i].log_epoch;
            epp[i] = &ep[i];
        }
        req.replica_id = cfg_of(f)->broker_id;
        req.n_partitions = c->n;
        req.partitions = epp;
        rc = kb_rpc_call(f->client, KBROKER__RPC__METHOD__METHOD_OFFSET_FOR_LEADER_EPOCH, &req.base,
                         cfg_of(f)->replica_socket_timeout_ms, epochs_answered, c);
    }
    free(ep);
    free(epp);
    if (rc == 0) {
        f->epochs_in_flight = true;
        return;
    }
    free(c);
    hold_fetcher(f);
}

/* ---- the fetcher ---- */

/* The earliest time a held partition may go again, or INT64_MAX. */
static int64_t next_retry(const kb_fetcher_t *f) {
    int64_t at = INT64_MAX, now = kb_replicas_now_ms();
    const kb_partition_t *p;
    TAILQ_FOREACH(p, &f->parts, follow.link)
        if (p->follow.retry_at_ms > now && p->follow.retry_at_ms < at) at = p->follow.retry_at_ms;
    return at;
}

/* Sends what is due: the epochs asked before the fetch, and each only
 * when its previous call was answered.  Held partitions and a held
 * fetcher wake it through the timer. */
static void fetcher_run(kb_fetcher_t *f) {
    if (!f->client || !kb_rpc_client_ready(f->client) || f->fs->r->closing) return;
    if (f->held_until_ms > kb_replicas_now_ms()) {
        arm_timer(f, f->held_until_ms);
        return;
    }
    if (!f->epochs_in_flight) send_epochs(f);
    if (!f->fetch_in_flight) send_fetch(f);
    int64_t at = f->held_until_ms > kb_replicas_now_ms() ? f->held_until_ms : next_retry(f);
    if (at != INT64_MAX && !evtimer_pending(f->timer, NULL)) arm_timer(f, at);
}

static void on_link(kb_rpc_client_t *c, bool up, void *arg) {
    kb_fetcher_t *f = arg;
    if (up) fetcher_run(f);
}

static kb_fetcher_t *fetcher_new(kb_fetchers_t *fs, int32_t leader_id, const char *host, int port, int64_t epoch) {
    const kb_config_t *cfg = fs->r->deps.cfg;
    kb_fetcher_t *f = calloc(1, sizeof(*f));
    char name[32];
    if (!f) return NULL;
    snprintf(name, sizeof(name), "fetch->%d", (int)leader_id);
    *f = (kb_fetcher_t){.fs = fs, .leader_id = leader_id, .host = strdup(host), .port = port, .leader_epoch = epoch};
    TAILQ_INIT(&f->parts);
    f->timer = evtimer_new(fs->r->deps.base, timer_cb, f);
    kb_rpc_client_opts_t o = {.name = name, .host = host, .port = port, .dns = fs->o.dns,
                              .max_frame = (uint32_t)cfg->rpc_max_frame_bytes,
                              .connect_timeout_ms = cfg->replica_socket_timeout_ms,
                              .backoff_ms = cfg->rpc_reconnect_backoff_ms,
                              .backoff_max_ms = cfg->rpc_reconnect_backoff_max_ms, .self = fs->o.self,
                              .expect_broker_id = leader_id, .expect_broker_epoch = epoch, .on_link = on_link,
                              .link_arg = f};
    if (f->host && f->timer) f->client = kb_rpc_client_new(fs->r->deps.base, &o);
    if (!f->client) {
        if (f->timer) event_free(f->timer);
        free(f->host);
        free(f);
        return NULL;
    }
    LIST_INSERT_HEAD(&fs->list, f, link);
    kc_info("replica", "fetching from broker %d at %s:%d", (int)leader_id, host, port);
    return f;
}

static void fetcher_free(kb_fetcher_t *f) {
    LIST_REMOVE(f, link);
    kb_rpc_client_free(f->client); /* its calls in flight are cancelled: they free only their context */
    event_free(f->timer);
    free(f->host);
    free(f);
}

static kb_fetcher_t *fetcher_find(kb_fetchers_t *fs, int32_t leader_id) {
    kb_fetcher_t *f;
    LIST_FOREACH(f, &fs->list, link)
        if (f->leader_id == leader_id) return f;
    return NULL;
}

/* The fetcher for leader_id's current registration: an existing one that
 * dials another registration is dropped (its partitions move over). */
static kb_fetcher_t *fetcher_for(kb_fetchers_t *fs, int32_t leader_id) {
    const char *host = NULL;
    int port = -1;
    int64_t epoch = -1;
    kb_fetcher_t *f = fetcher_find(fs, leader_id);
    if (!fs->o.resolve(fs->o.resolve_arg, leader_id, &host, &port, &epoch) || !host) return f;
    if (f && f->port == port && f->leader_epoch == epoch && strcmp(f->host, host) == 0) return f;
    kb_fetcher_t *nf = fetcher_new(fs, leader_id, host, port, epoch);
    if (!nf) return f;
    if (f) {
        kb_partition_t *p;
        while ((p = TAILQ_FIRST(&f->parts))) {
            TAILQ_REMOVE(&f->parts, p, follow.link);
            TAILQ_INSERT_TAIL(&nf->parts, p, follow.link);
            p->follow.fetcher = nf;
            nf->n_parts++;
        }
        fetcher_free(f);
    }
    return nf;
}

void kb_fetcher_unfollow(kb_partition_t *p) {
    kb_fetcher_t *f = p->follow.fetcher;
    if (p->follow.unresolved) {
        TAILQ_REMOVE(&p->r->fetchers->unresolved, p, follow.link);
        p->follow = (kb_follow_t){0};
    }
    if (!f) return;
    TAILQ_REMOVE(&f->parts, p, follow.link);
    p->follow = (kb_follow_t){0};
    if (--f->n_parts == 0) fetcher_free(f);
}

void kb_fetcher_follow(kb_partition_t *p) {
    kb_fetchers_t *fs = p->r->fetchers;
    kb_fetcher_unfollow(p);
    if (!fs || !p->log || p->leader || p->leader_id < 0) return;
    kb_fetcher_t *f = fetcher_for(fs, p->leader_id);
    if (!f) {
        kc_debug("replica", "%s-%d: broker %d's RPC endpoint is not known here yet; trying again shortly", p->topic,
                 (int)p->partition, (int)p->leader_id);
        p->follow = (kb_follow_t){.unresolved = true};
        TAILQ_INSERT_TAIL(&fs->unresolved, p, follow.link);
        return;
    }
    p->follow = (kb_follow_t){.fetcher = f, .state = FOLLOW_TRUNCATING};
    TAILQ_INSERT_TAIL(&f->parts, p, follow.link);
    f->n_parts++;
    fetcher_run(f);
}

/* ---- life cycle ---- */

/* Redials a fetcher that is not connected when its leader's registration
 * changed, and tries the unresolved followers again. */
static void check_cb(evutil_socket_t fd, short what, void *arg) {
    kb_fetchers_t *fs = arg;
    kb_fetcher_t *f, *next;
    TAILQ_HEAD(, kb_partition) again = TAILQ_HEAD_INITIALIZER(again);
    kb_partition_t *p;
    for (f = LIST_FIRST(&fs->list); f; f = next) {
        next = LIST_NEXT(f, link);
        if (!kb_rpc_client_ready(f->client)) fetcher_for(fs, f->leader_id);
    }
    TAILQ_CONCAT(&again, &fs->unresolved, follow.link);
    while ((p = TAILQ_FIRST(&again))) {
        TAILQ_REMOVE(&again, p, follow.link);
        p->follow = (kb_follow_t){0};
        kb_fetcher_follow(p);
    }
}

kb_fetchers_t *kb_fetchers_new(kb_replicas_t *r, const kb_fetchers_opts_t *o) {
    kb_fetchers_t *fs = calloc(1, sizeof(*fs));
    int32_t ms = r->deps.cfg->rpc_reconnect_backoff_max_ms > 0 ? r->deps.cfg->rpc_reconnect_backoff_max_ms : 1000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (!fs) return NULL;
    fs->r = r;
    fs->o = *o;
    LIST_INIT(&fs->list);
    TAILQ_INIT(&fs->unresolved);
    fs->check_ev = event_new(r->deps.base, -1, EV_PERSIST, check_cb, fs);
    if (!fs->check_ev) {
        free(fs);
        return NULL;
    }
    event_add(fs->check_ev, &tv);
    return fs;
}

void kb_fetchers_free(kb_fetchers_t *fs) {
    kb_fetcher_t *f;
    kb_partition_t *p;
    if (!fs) return;
    event_free(fs->check_ev);
    while ((p = TAILQ_FIRST(&fs->unresolved))) {
        TAILQ_REMOVE(&fs->unresolved, p, follow.link);
        p->follow = (kb_follow_t){0};
    }
    while ((f = LIST_FIRST(&fs->list))) {
        while ((p = TAILQ_FIRST(&f->parts))) {
            TAILQ_REMOVE(&f->parts, p, follow.link);
            p->follow = (kb_follow_t){0};
        }
        fetcher_free(f);
    }
    free(fs);
}

void kb_fetchers_set_identity(kb_fetchers_t *fs, kb_rpc_identity_t self) {
    kb_fetcher_t *f;
    fs->o.self = self;
    LIST_FOREACH(f, &fs->list, link) kb_rpc_client_set_identity(f->client, self);
}
