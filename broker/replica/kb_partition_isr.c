/*
 * kb_partition_isr.c - a partition leader's ISR upkeep, Kafka 2.6's way
 * (zk-and-replication.md 3.4 and 3.5; the rules are in kb_isr.c).
 *
 * Expansion.  Each follower fetch (kb_fetch_serve.c) records the
 * follower's log end offset; an assigned follower outside the ISR that
 * has reached the HW and the start of this leader's epoch is added by the
 * same conditional write as a shrink.
 *
 * Shrink.  Every replica.lag.time.max.ms / 2 each partition this broker
 * leads drops the ISR followers that have not caught up within
 * replica.lag.time.max.ms.  The leader writes the state znode itself,
 * conditional on the zkVersion it last saw, with its leader epoch and the
 * controller epoch of that state unchanged, and adopts the smaller ISR only
 * once the write succeeded; then the high watermark may move.  A partition
 * has at most one write in flight.  A write that lost to the controller
 * (BADVERSION and different content) is abandoned: the controller's state
 * reaches this broker as a role update with a new leader epoch
 * (kb_roles.h), and the next check starts from it.  The leader learns its own ISR change from the write's success,
 * as Kafka does, not from the role update that echoes it (same leader
 * epoch: ignored, kb_roles.h).  A follower that stops fetching (stopped, cut off) leaves the
 * ISR between one and one and a half replica.lag.time.max.ms after it
 * last caught up.
 *
 * Publication.  Each successful write marks its partition; Kafka's timing
 * rule (kb_isr_publish_due, checked every 2.5 s) then publishes the marked
 * partitions as /isr_change_notification entries of at most PUBLISH_CHUNK
 * partitions each (far below ZooKeeper's 1 MB znode limit).  A failed
 * publication marks its partitions again for the next check.
 *
 * Both kinds of operation hold pointers to partitions, which live until
 * kb_replicas_free; kb_replicas_isr_stop detaches the ones still in flight
 * so that their completions, which the session runs when it closes, only
 * free them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/replica/kb_partition_internal.h"
#include "coord/kc_isr.h"
#include "common/kc_log.h"

#define PUBLISH_CHUNK 2000

/* A leader's state write in flight. */
typedef struct kb_isr_write {
    kb_partition_t *p;     /* NULL once detached */
    uint64_t leadership;   /* p->leadership when written */
    int32_t leader_epoch;
    int32_t base_version;  /* the zkVersion the write was conditional on */
    int n_isr;
    int32_t isr[];         /* the ISR written */
} kb_isr_write_t;

/* A publication in flight. */
typedef struct kb_isr_publish {
    TAILQ_ENTRY(kb_isr_publish) link; /* r->isr_publishing */
    kb_replicas_t *r;      /* NULL once detached */
    int n;
    kb_partition_t *parts[];
} kb_isr_publish_t;

static int32_t self_id(const kb_partition_t *p) { return p->r->deps.cfg->broker_id; }

/* "[0,1,2]" into buf, for log lines. */
static const char *ids_text(const int32_t *ids, int n, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%d", i ? "," : "", (int)ids[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

bool kb_partition_isr_is_self(const kb_partition_t *p) {
    return p->isr_known && p->n_isr == 1 && p->isr[0] == self_id(p);
}

/* ---- applying a role ---- */

static void isr_forget(kb_partition_t *p) {
    free(p->isr);
    p->isr = NULL;
    p->n_isr = 0;
    p->isr_known = false;
    p->zk_version = -1;
}

/* Copies the ISR of `to` (in place when its size is unchanged: a new leader
 * epoch often keeps the ISR).  Out of memory, the ISR is forgotten,
 * which stops shrinking (nothing to write a condition for) until the next
 * state. */
static void isr_copy(kb_partition_t *p, const kb_role_t *to) {
    int32_t *isr = NULL;
    if (p->isr_known && to->n_isr == p->n_isr && to->n_isr > 0) {
        memcpy(p->isr, to->isr, (size_t)to->n_isr * sizeof(*isr));
        p->zk_version = to->zk_version;
        p->controller_epoch = to->controller_epoch;
        return;
    }
    if (to->n_isr > 0 && !(isr = malloc((size_t)to->n_isr * sizeof(*isr)))) {
        kc_error("replica", "%s-%d: out of memory for its ISR", p->topic, (int)p->partition);
        isr_forget(p);
        return;
    }
    if (to->n_isr > 0) memcpy(isr, to->isr, (size_t)to->n_isr * sizeof(*isr));
    free(p->isr);
    p->isr = isr;
    p->n_isr = to->n_isr;
    p->isr_known = true;
    p->zk_version = to->zk_version;
    p->controller_epoch = to->controller_epoch;
}

/* Adds a record for broker `id` unless it is this broker or has one. */
static void follower_add(kb_partition_t *p, const kb_follower_t *old, int n_old, int32_t id, bool assigned) {
    if (id == self_id(p) || kb_follower_find(p->followers, p->n_followers, id)) return;
    const kb_follower_t *known = kb_follower_find(old, n_old, id);
    kb_follower_t *f = &p->followers[p->n_followers++];
    if (known) {
        *f = *known;
    } else {
        *f = (kb_follower_t){.broker_id = id};
        kb_follower_reset(f, false, true, KB_OFFSET_UNKNOWN, KB_ISR_NEVER);
    }
    f->assigned = assigned;
}

/* True when p has exactly one record per other replica of `to`. */
static bool followers_match(const kb_partition_t *p, const kb_role_t *to) {
    int wanted = 0;
    for (int i = 0; i < to->n_replicas + to->n_isr; i++) {
        bool from_isr = i >= to->n_replicas;
        int32_t id = from_isr ? to->isr[i - to->n_replicas] : to->replicas[i];
        if (id == self_id(p) || (from_isr && kc_int32_contains(to->replicas, to->n_replicas, id))) continue;
        if (!kb_follower_find(p->followers, p->n_followers, id)) return false;
        wanted++;
    }
    return wanted == p->n_followers;
}

/* One record per other replica, assigned or in the ISR (a hand-written
 * state may list a broker the assignment does not), keeping what is known
 * of those that stay. */
static void followers_rebuild(kb_partition_t *p, const kb_role_t *to) {
    if (followers_match(p, to)) return;
    size_t cap = (size_t)to->n_replicas + (size_t)to->n_isr;
    kb_follower_t *old = p->followers;
    int n_old = p->n_followers;
    p->followers = cap > 0 ? calloc(cap, sizeof(*p->followers)) : NULL;
    p->n_followers = 0;
    if (cap > 0 && !p->followers) {
        /* No records: every ISR follower counts as out of sync.  Drop the
         * ISR instead, so that nothing is written from this state. */
        kc_error("replica", "%s-%d: out of memory for its follower records", p->topic, (int)p->partition);
        isr_forget(p);
    }
    for (int i = 0; p->followers && i < to->n_replicas; i++) follower_add(p, old, n_old, to->replicas[i], true);
    for (int i = 0; p->followers && i < to->n_isr; i++) follower_add(p, old, n_old, to->isr[i], false);
    free(old);
}

/* A new leader epoch (or leadership) starts every follower's clock. */
static void followers_reset(kb_partition_t *p, bool new_leadership) {
    int64_t now = kb_replicas_now_ms();
    int64_t leo = p->log ? kb_log_end_offset(p->log) : 0;
    for (int i = 0; i < p->n_followers; i++) {
        kb_follower_t *f = &p->followers[i];
        bool in_isr = p->isr_known && kc_int32_contains(p->isr, p->n_isr, f->broker_id);
        kb_follower_reset(f, in_isr, new_leadership, leo, now);
    }
}

void kb_partition_isr_apply(kb_partition_t *p, const kb_role_t *to, bool new_leadership, bool new_epoch) {
    /* A state with the same leader epoch never gets here (kb_roles.h,
     * fencing): the leader's own writes are adopted in isr_written(). */
    if (to->has_state) isr_copy(p, to);
    else isr_forget(p);
    if (!to->leader) return;
    followers_rebuild(p, to);
    if (new_leadership || new_epoch) followers_reset(p, new_leadership);
}

void kb_partition_isr_free(kb_partition_t *p) {
    free(p->isr);
    free(p->followers);
    p->isr = NULL;
    p->followers = NULL;
}

/* ---- publication ---- */

static void mark_pending(kb_partition_t *p) {
    if (p->isr_change_pending) return;
    p->isr_change_pending = true;
    TAILQ_INSERT_TAIL(&p->r->isr_changes, p, isr_change_link);
}

/* A successful write: the controller must hear of it. */
static void record_change(kb_partition_t *p) {
    p->r->last_isr_change_ms = kb_replicas_now_ms();
    mark_pending(p);
}

static void published(int rc, void *arg) {
    kb_isr_publish_t *pub = arg;
    kb_replicas_t *r = pub->r;
    if (r) {
        TAILQ_REMOVE(&r->isr_publishing, pub, link);
        if (rc == KC_OK) {
            r->last_isr_publish_ms = kb_replicas_now_ms();
        } else {
            kc_warn("replica", "publishing the ISR change of %d partition(s) failed: %s; retrying", pub->n,
                    kc_strerror(rc));
            for (int i = 0; i < pub->n; i++) mark_pending(pub->parts[i]);
        }
    }
    free(pub);
}

/* Publishes up to PUBLISH_CHUNK of the pending changes as one entry;
 * false when out of memory (they stay pending). */
static bool publish_chunk(kb_replicas_t *r) {
    kc_isr_change_t changes[PUBLISH_CHUNK];
    kb_isr_publish_t *pub = malloc(sizeof(*pub) + PUBLISH_CHUNK * sizeof(pub->parts[0]));
    kb_partition_t *p;
    if (!pub) return false;
    pub->r = r;
    pub->n = 0;
    while (pub->n < PUBLISH_CHUNK && (p = TAILQ_FIRST(&r->isr_changes))) {
        TAILQ_REMOVE(&r->isr_changes, p, isr_change_link);
        p->isr_change_pending = false;
        changes[pub->n] = (kc_isr_change_t){.topic = p->topic, .partition = p->partition};
        pub->parts[pub->n++] = p;
    }
    TAILQ_INSERT_TAIL(&r->isr_publishing, pub, link);
    kc_isr_change_publish(r->deps.zk, changes, pub->n, published, pub);
    return true;
}

static void publish_check(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    bool pending = !TAILQ_EMPTY(&r->isr_changes);
    if (!kb_isr_publish_due(pending, r->last_isr_change_ms, r->last_isr_publish_ms, kb_replicas_now_ms())) return;
    if (!r->deps.zk || !kc_session_connected(r->deps.zk)) return;
    /* As many entries as the changes pending now need: a publication that
     * fails at once puts its changes back for the next check, not this one. */
    size_t n = 0;
    kb_partition_t *p;
    TAILQ_FOREACH(p, &r->isr_changes, isr_change_link) n++;
    for (size_t chunks = (n + PUBLISH_CHUNK - 1) / PUBLISH_CHUNK; chunks > 0 && publish_chunk(r); chunks--) continue;
}

/* ---- writing ---- */

/* Makes room for an ISR of n (an expansion grows it); false when out of
 * memory, and the write's ISR is then not adopted (the next state brings it). */
static bool isr_resize(kb_partition_t *p, int n) {
    if (n <= p->n_isr) return true;
    int32_t *isr = realloc(p->isr, (size_t)n * sizeof(*isr));
    if (!isr) return false;
    p->isr = isr;
    return true;
}

/* The write's outcome.  The new ISR is adopted only if p still holds the
 * state the write replaced (same leadership, epoch and zkVersion); any
 * successful write is published, whatever happened to p meanwhile. */
static void isr_written(int rc, int32_t version, void *arg) {
    kb_isr_write_t *w = arg;
    kb_partition_t *p = w->p;
    char ids[256];
    if (!p) {
        free(w);
        return;
    }
    p->isr_write = NULL;
    if (rc == KC_OK) {
        record_change(p);
        bool current = p->leader && p->leadership == w->leadership && p->leader_epoch == w->leader_epoch &&
                       p->isr_known && p->zk_version == w->base_version && isr_resize(p, w->n_isr);
        if (current) {
            memcpy(p->isr, w->isr, (size_t)w->n_isr * sizeof(*w->isr));
            p->n_isr = w->n_isr;
            p->zk_version = version;
            kc_info("replica", "%s-%d: ISR is now [%s] (zkVersion %d)", p->topic, (int)p->partition,
                    ids_text(p->isr, p->n_isr, ids, sizeof(ids)), (int)version);
            kb_partition_update_hw(p);
        }
    } else if (rc == KC_BADVERSION) {
        kc_info("replica", "%s-%d: ISR change abandoned: the state znode is no longer at zkVersion %d (the "
                "controller changed it); waiting for the new state", p->topic, (int)p->partition, (int)w->base_version);
    } else {
        kc_warn("replica", "%s-%d: ISR change not written: %s; retrying later", p->topic, (int)p->partition,
                kc_strerror(rc));
    }
    free(w);
}

static void isr_write(kb_partition_t *p, const int32_t *isr, int n_isr) {
    kb_isr_write_t *w = malloc(sizeof(*w) + (size_t)n_isr * sizeof(*isr));
    if (!w) return; /* the next check tries again */
    *w = (kb_isr_write_t){.p = p, .leadership = p->leadership, .leader_epoch = p->leader_epoch,
                          .base_version = p->zk_version, .n_isr = n_isr};
    memcpy(w->isr, isr, (size_t)n_isr * sizeof(*isr));
    kc_partition_state_t st = {.leader = self_id(p), .leader_epoch = p->leader_epoch,
                               .controller_epoch = p->controller_epoch, .n_isr = n_isr, .isr = w->isr,
                               .zk_version = p->zk_version};
    p->isr_write = w;
    p->r->deps.write_isr(p->r->deps.zk, p->topic, p->partition, &st, isr_written, w);
}

/* A session that is connected, or a writer of the suite's own. */
static bool isr_writes_possible(const kb_replicas_t *r) {
    if (r->deps.zk) return kc_session_connected(r->deps.zk);
    return r->deps.write_isr != kc_state_leader_write;
}

/* ---- expanding ---- */

/* Kafka 2.6 Partition.maybeExpandIsr: an assigned follower outside the ISR
 * that has reached the HW and the start of this leader's epoch joins it,
 * by the same conditional write as a shrink. */
static void maybe_expand(kb_partition_t *p, const kb_follower_t *f) {
    char from[256], to[256];
    if (!p->isr_known || p->isr_write || !f->assigned || kc_int32_contains(p->isr, p->n_isr, f->broker_id)) return;
    if (!kb_isr_may_join(f, kb_log_high_watermark(p->log), p->epoch_start_offset)) return;
    if (!isr_writes_possible(p->r) || p->r->closing) return;
    int32_t *isr = malloc(((size_t)p->n_isr + 1) * sizeof(*isr));
    if (!isr) return; /* its next fetch tries again */
    memcpy(isr, p->isr, (size_t)p->n_isr * sizeof(*isr));
    isr[p->n_isr] = f->broker_id;
    kc_info("replica", "%s-%d: expanding ISR from [%s] to [%s]: broker %d caught up (log end offset %lld)", p->topic,
            (int)p->partition, ids_text(p->isr, p->n_isr, from, sizeof(from)),
            ids_text(isr, p->n_isr + 1, to, sizeof(to)), (int)f->broker_id, (long long)f->leo);
    p->r->repl_stats.isr_expansions++;
    isr_write(p, isr, p->n_isr + 1);
    free(isr);
}

int kb_partition_follower_fetched(kb_partition_t *p, int32_t follower_id, int64_t fetch_offset) {
    kb_follower_t *f = NULL;
    for (int i = 0; i < p->n_followers && !f; i++)
        if (p->followers[i].broker_id == follower_id) f = &p->followers[i];
    if (!f) return -1;
    kb_follower_fetched(f, fetch_offset, kb_log_end_offset(p->log), kb_replicas_now_ms());
    maybe_expand(p, f);
    kb_partition_update_hw(p);
    return 0;
}

/* ---- shrinking ---- */

/* Kafka 2.6 Partition.maybeShrinkIsr for one partition. */
static void maybe_shrink(kb_partition_t *p, int64_t now, int64_t max_lag_ms) {
    char from[256], to[256];
    if (!p->hosted || !p->leader || !p->log || !p->isr_known || p->isr_write || p->n_isr <= 1) return;
    int32_t *isr = malloc((size_t)p->n_isr * sizeof(*isr));
    if (!isr) return; /* the next check tries again */
    int64_t leo = kb_log_end_offset(p->log);
    int n = kb_isr_shrink(p->isr, p->n_isr, self_id(p), p->followers, p->n_followers, leo, now, max_lag_ms, isr);
    if (n < 0 || n == p->n_isr) {
        free(isr);
        return;
    }
    kc_info("replica", "%s-%d: shrinking ISR from [%s] to [%s]: the others have not caught up with the leader "
            "(log end offset %lld) within replica.lag.time.max.ms=%lld", p->topic, (int)p->partition,
            ids_text(p->isr, p->n_isr, from, sizeof(from)), ids_text(isr, n, to, sizeof(to)), (long long)leo,
            (long long)max_lag_ms);
    p->r->repl_stats.isr_shrinks++;
    isr_write(p, isr, n);
    free(isr);
}

/* Led here with an assigned replica missing from the ISR. */
static bool under_replicated(const kb_partition_t *p) {
    if (!p->hosted || !p->leader || !p->isr_known) return false;
    for (int i = 0; i < p->n_followers; i++)
        if (p->followers[i].assigned && !kc_int32_contains(p->isr, p->n_isr, p->followers[i].broker_id)) return true;
    return false;
}

uint64_t kb_replicas_under_replicated(const kb_replicas_t *r) {
    uint64_t n = 0;
    for (size_t i = 0; i < r->n_buckets; i++)
        for (const kb_partition_t *p = r->buckets[i]; p; p = p->hnext) n += under_replicated(p);
    return n;
}


static void shrink_check(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    int64_t now = kb_replicas_now_ms(), max_lag_ms = r->deps.cfg->replica_lag_time_max_ms;
    if (!isr_writes_possible(r) || r->closing) return;
    for (size_t i = 0; i < r->n_buckets; i++)
        for (kb_partition_t *p = r->buckets[i]; p; p = p->hnext) maybe_shrink(p, now, max_lag_ms);
}

/* ---- life cycle ---- */

int kb_replicas_isr_start(kb_replicas_t *r) {
    int64_t check_ms = kb_isr_check_interval_ms(r->deps.cfg->replica_lag_time_max_ms);
    struct timeval check = {(time_t)(check_ms / 1000), (suseconds_t)(check_ms % 1000) * 1000};
    struct timeval publish = {KB_ISR_PUBLISH_CHECK_MS / 1000, (KB_ISR_PUBLISH_CHECK_MS % 1000) * 1000};
    TAILQ_INIT(&r->isr_changes);
    TAILQ_INIT(&r->isr_publishing);
    /* Kafka's publication clock starts with the broker. */
    r->last_isr_publish_ms = r->last_isr_change_ms = kb_replicas_now_ms();
    r->isr_check_ev = event_new(r->deps.base, -1, EV_PERSIST, shrink_check, r);
    r->isr_publish_ev = event_new(r->deps.base, -1, EV_PERSIST, publish_check, r);
    if (!r->isr_check_ev || !r->isr_publish_ev) return -1;
    event_add(r->isr_check_ev, &check);
    event_add(r->isr_publish_ev, &publish);
    return 0;
}

void kb_replicas_isr_stop(kb_replicas_t *r) {
    kb_isr_publish_t *pub;
    if (r->isr_check_ev) event_free(r->isr_check_ev);
    if (r->isr_publish_ev) event_free(r->isr_publish_ev);
    r->isr_check_ev = r->isr_publish_ev = NULL;
    while ((pub = TAILQ_FIRST(&r->isr_publishing))) {
        TAILQ_REMOVE(&r->isr_publishing, pub, link);
        pub->r = NULL;
    }
    for (size_t i = 0; r->buckets && i < r->n_buckets; i++)
        for (kb_partition_t *p = r->buckets[i]; p; p = p->hnext)
            if (p->isr_write) {
                p->isr_write->p = NULL;
                p->isr_write = NULL;
            }
}
