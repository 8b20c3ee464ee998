/*
 * kb_partition_roles.c - roles applied as data (kb_roles.h) and the logs
 * they make partitions host.
 *
 * Each update is read relative to this broker (a kb_role_t), fenced by its
 * leader epoch, then applied: at once to a partition that has its log;
 * otherwise the partition keeps it as the role it wants, gets its log
 * (loaded at start-up, or created off the loop by the log manager's
 * creation worker) and takes the last role it was given once the log
 * exists.  Until then it is not hosted: clients are answered
 * NOT_LEADER_OR_FOLLOWER, as by a broker that has not yet applied its
 * LeaderAndIsr.  A creation that fails (disk full, no descriptor left) is
 * logged once (and, a burst failing together, at most one line every
 * 10 s) and retried: at once when the partition gets a new role,
 * otherwise on a timer that backs off from 1 s to 30 s while attempts keep
 * failing.  A log that would not fit the broker's partition budget is not
 * even tried (kb_roles.h "Budget"): the partition waits on the same timer
 * for room, and tries at once when the log manager says deleted logs
 * gave their slots back (kb_logmgr_on_room).  The first batch of updates
 * that leaves partitions waiting says so in one line at once; the
 * partitions that begin to wait after it are summed into one line at most
 * every 10 s.  A line counts only partitions that still wait when it goes
 * out (one whose topic was deleted, or that was stopped or moved away
 * meanwhile, no longer waits and is not counted), each once however many
 * updates the controller repeats, and ends with the whole number waiting.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/replica/kb_fetcher.h"
#include "broker/replica/kb_partition_internal.h"
#include "common/kc_log.h"
#include "coord/kc_model.h"
#include "proto/kp_types.h"

/* Failed log creations are tried again after a delay that doubles from the
 * first to the last value while they keep failing. */
#define CREATE_RETRY_FIRST_MS 1000
#define CREATE_RETRY_MAX_MS 30000
/* Lines a burst of partitions can cause: at most one per this interval. */
#define BURST_LOG_MS 10000

static void log_role_change(const kb_partition_t *p, const kb_role_t *to) {
    if (p->hosted && !to->hosted)
        kc_info("replica", "%s-%d: replica stopped on this broker%s; log kept", p->topic, (int)p->partition,
                p->leader ? ", leadership dropped" : "");
    else if (to->leader && !p->leader)
        kc_info("replica", "%s-%d: leader (epoch %d, ISR of %d)", p->topic, (int)p->partition, (int)to->leader_epoch,
                to->n_isr);
    else if (p->leader && !to->leader)
        kc_info("replica", "%s-%d: no longer leader (epoch %d)", p->topic, (int)p->partition, (int)to->leader_epoch);
    else if (to->hosted && (!p->hosted || to->leader_epoch != p->leader_epoch))
        kc_debug("replica", "%s-%d: %s (epoch %d)", p->topic, (int)p->partition, to->leader ? "leader" : "follower",
                 (int)to->leader_epoch);
}

/* A new leader epoch led here: the leader-epoch cache gets (epoch, LEO),
 * which is also where a follower must reach to join the ISR. */
static void begin_epoch(kb_partition_t *p) {
    p->epoch_start_offset = kb_log_end_offset(p->log);
    if (p->leader_epoch >= 0) kb_log_begin_epoch(p->log, p->leader_epoch);
}

/* A follower with a leader fetches from it, starting over (truncation
 * first) on each new leader or leader epoch; anything else does not. */
static void follow_role(kb_partition_t *p, bool restart) {
    bool follows = p->hosted && !p->leader && p->leader_id >= 0;
    if (!follows) kb_fetcher_unfollow(p);
    else if (restart || (!p->follow.fetcher && !p->follow.unresolved)) kb_fetcher_follow(p);
}

/* Moves p, which has its log, to role `to`: losing leadership fails the
 * waiting produces, a changed ISR may move the high watermark, and any
 * change of role or epoch wakes the fetch waiters.  The ISR goes first
 * (kb_partition_isr_apply compares `to` with the role p still holds). */
static void partition_set_role(kb_partition_t *p, const kb_role_t *to) {
    bool was_leader = p->leader;
    bool new_epoch = to->leader_epoch != p->leader_epoch;
    bool changed = to->hosted != p->hosted || to->leader != p->leader || new_epoch;
    bool new_leader = to->leader_id != p->leader_id;
    log_role_change(p, to);
    kb_partition_isr_apply(p, to, to->leader && !was_leader, new_epoch);
    p->hosted = to->hosted;
    p->leader = to->leader;
    p->leader_id = to->hosted ? to->leader_id : -1;
    p->leader_epoch = to->leader_epoch;
    if (to->leader && !was_leader) p->leadership++;
    if (to->leader && (new_epoch || !was_leader)) begin_epoch(p);
    follow_role(p, new_epoch || new_leader);
    if (changed) kb_partition_schedule_wake(p);
    /* Fields first: a produce callback below may re-enter this partition. */
    if (was_leader && !to->leader)
        kb_partition_fail_parked(p, p->deleted ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION : KP_ERR_NOT_LEADER_OR_FOLLOWER);
    kb_partition_update_hw(p);
    if (p->r->on_leadership && (was_leader != p->leader || (p->leader && new_epoch)))
        p->r->on_leadership(p->r->on_leadership_arg, p->topic, p->partition, p->leader, p->leader_epoch);
}

/* The role update u gives this broker (a deleted or stopped partition:
 * none; a deleted one: no epoch either). */
static void role_from_update(kb_role_t *to, const kb_role_update_t *u, int32_t me) {
    bool hosted = !u->deleted && !u->stop && kc_int32_contains(u->replicas, u->n_replicas, me);
    *to = (kb_role_t){.hosted = hosted, .leader_id = -1,
                      .leader_epoch = u->deleted ? KB_ROLE_NO_EPOCH : u->leader_epoch, .zk_version = -1,
                      .replicas = u->replicas, .n_replicas = u->deleted ? 0 : u->n_replicas};
    if (!hosted || u->leader_epoch == KB_ROLE_NO_EPOCH) return; /* no role here, or no state to take */
    to->has_state = true;
    to->leader = u->leader == me;
    to->leader_id = u->leader;
    to->controller_epoch = u->controller_epoch;
    to->zk_version = u->zk_version;
    to->isr = u->isr;
    to->n_isr = u->n_isr;
}

/* Fencing (kb_roles.h): whether `to` may be applied to p.  The epoch p
 * has seen fences it whether or not p is assigned here now; only a
 * deletion (not fenced: the caller skips this) forgets it. */
static kb_role_outcome_t role_admitted(kb_replicas_t *r, const kb_partition_t *p, const kb_role_t *to) {
    if (p->seen_epoch != KB_ROLE_NO_EPOCH && to->leader_epoch < p->seen_epoch) {
        r->roles_stats.refused_stale_epoch++;
        if (to->leader_epoch == KB_ROLE_NO_EPOCH)
            kc_debug("replica", "%s-%d: role update without a leader epoch refused: epoch %d was seen", p->topic,
                     (int)p->partition, (int)p->seen_epoch);
        else
            kc_warn("replica", "%s-%d: role update refused: leader epoch %d is older than %d", p->topic,
                    (int)p->partition, (int)to->leader_epoch, (int)p->seen_epoch);
        return KB_ROLE_REFUSED_STALE;
    }
    if (to->leader_epoch == p->seen_epoch && to->hosted == p->assigned && !p->resigned) {
        r->roles_stats.ignored_same_epoch++;
        return KB_ROLE_IGNORED_SAME;
    }
    return KB_ROLE_APPLIED;
}

/* Fencing of a stop (kb_roles.h): only an epoch older than the one p has
 * seen refuses it.  A stop without an epoch keeps fencing by the epoch p
 * has seen (a deletion forgets it in any case: role_from_update). */
static kb_role_outcome_t stop_admitted(kb_replicas_t *r, const kb_partition_t *p, const kb_role_update_t *u,
                                       kb_role_t *to) {
    if (u->leader_epoch == KB_ROLE_NO_EPOCH) {
        if (!u->deleted) to->leader_epoch = p->seen_epoch;
        return KB_ROLE_APPLIED;
    }
    if (p->seen_epoch == KB_ROLE_NO_EPOCH || u->leader_epoch >= p->seen_epoch) return KB_ROLE_APPLIED;
    r->roles_stats.refused_stale_epoch++;
    kc_warn("replica", "%s-%d: stop refused: leader epoch %d is older than %d", p->topic, (int)p->partition,
            (int)u->leader_epoch, (int)p->seen_epoch);
    return KB_ROLE_REFUSED_STALE;
}

/* Keeps a copy of `to` in p->want (its arrays in p->want_ids).  Out of
 * memory it keeps the role without its ISR: the partition is then hosted
 * with no state to shrink from until the next update. */
static void want_set(kb_partition_t *p, const kb_role_t *to) {
    size_t n = (size_t)to->n_isr + (size_t)to->n_replicas;
    int32_t *ids = n > 0 ? malloc(n * sizeof(*ids)) : NULL;
    free(p->want_ids);
    p->want = *to;
    p->want_ids = ids;
    p->has_want = true;
    if (n > 0 && !ids) {
        kc_error("replica", "%s-%d: out of memory for its role; hosting it without an ISR", p->topic, (int)p->partition);
        p->want.has_state = false;
        p->want.isr = p->want.replicas = NULL;
        p->want.n_isr = p->want.n_replicas = 0;
        return;
    }
    if (to->n_isr > 0) memcpy(ids, to->isr, (size_t)to->n_isr * sizeof(*ids));
    if (to->n_replicas > 0) memcpy(ids + to->n_isr, to->replicas, (size_t)to->n_replicas * sizeof(*ids));
    p->want.isr = ids;
    p->want.replicas = ids + to->n_isr;
}

void kb_partition_roles_free(kb_partition_t *p) {
    free(p->want_ids);
    p->want_ids = NULL;
    p->has_want = false;
}

/* p has its log: it takes the role it was waiting for, if any. */
static void take_wanted(kb_partition_t *p) {
    if (!p->has_want) return;
    kb_role_t to = p->want;
    partition_set_role(p, &to);
    kb_partition_roles_free(p);
}

static bool partition_open_log(kb_replicas_t *r, kb_partition_t *p);

/* p waits on r->retry for retry_ev. */
static void queue_retry(kb_partition_t *p) {
    kb_replicas_t *r = p->r;
    if (!p->retry_queued) {
        TAILQ_INSERT_TAIL(&r->retry, p, retry_link);
        p->retry_queued = true;
    }
    if (!r->closing && !evtimer_pending(r->retry_ev, NULL)) {
        struct timeval tv = {r->retry_delay_ms / 1000, (r->retry_delay_ms % 1000) * 1000};
        evtimer_add(r->retry_ev, &tv);
    }
}

/* Whether p waits for room in the budget; the gauge follows, and so do
 * the partitions the next line is to count (those that began to wait
 * since the last line and still do). */
static void set_no_room(kb_partition_t *p, bool no_room) {
    kb_replicas_t *r = p->r;
    if (p->no_room == no_room) return;
    p->no_room = no_room;
    if (no_room) {
        r->roles_stats.waiting_for_room++;
        p->no_room_told = false;
        r->no_room_unreported++;
        r->batch_no_room++;
    } else {
        r->roles_stats.waiting_for_room--;
        if (!p->no_room_told) r->no_room_unreported--;
    }
}

/* p no longer wants a log (deleted, stopped, moved away): it leaves the
 * retry queue and stops waiting for room. */
static void forget_wait(kb_replicas_t *r, kb_partition_t *p) {
    if (p->retry_queued) {
        TAILQ_REMOVE(&r->retry, p, retry_link);
        p->retry_queued = false;
    }
    p->log_failed = false;
    set_no_room(p, false);
}

/* A log that could not be created is reported once (until one is), and
 * the partition waits on r->retry for retry_ev. */
static void creation_failed(kb_partition_t *p, const char *why) {
    kb_replicas_t *r = p->r;
    if (r->creations_stopped) return; /* cut short by shutdown: not a failure */
    if (!p->log_failed)
        kc_log_limited(&r->create_failed_log, BURST_LOG_MS, KC_LOG_ERROR, "replica",
                       "%s-%d: cannot create its log (%s); not hosting it until a later attempt succeeds",
                       p->topic, (int)p->partition, why);
    p->log_failed = true;
    queue_retry(p);
}

/* No room for p's log in the budget: it waits for some (on r->retry,
 * where the line that counts it finds it: log_no_room). */
static void no_room(kb_partition_t *p) {
    if (p->r->creations_stopped) return;
    set_no_room(p, true);
    queue_retry(p);
}

/* The creation worker's completion, on the loop: p takes the last role it
 * was given, whatever changed while its log was being built, and the
 * topic's settings as they are now. */
static void log_created(void *arg, kb_log_t *log, const char *why) {
    kb_partition_t *p = arg;
    p->creating = NULL;
    if (!log) {
        creation_failed(p, why);
        return;
    }
    kb_log_set_config(log, &kb_replicas_topic_settings(p->r, p->topic)->log);
    p->log = log;
    p->log_failed = false;
    p->r->retry_delay_ms = CREATE_RETRY_FIRST_MS; /* the disk has room again, or never lacked it */
    take_wanted(p);
}

/* Gives p its log: one the manager has (loaded at start-up) at once; a new
 * one is built off the loop (kb_logmgr_create_async), and p takes its
 * role when that completes.  True when p has its log now. */
static bool partition_open_log(kb_replicas_t *r, kb_partition_t *p) {
    if (p->creating) return false;
    const kb_log_config_t *lc = &kb_replicas_topic_settings(r, p->topic)->log;
    kb_log_t *log = kb_logmgr_get(r->deps.logs, p->topic, p->partition);
    if (log) {
        kb_log_set_config(log, lc);
        p->log = log;
        p->log_failed = false;
        set_no_room(p, false);
        return true;
    }
    if (!kb_logmgr_has_room(r->deps.logs)) {
        no_room(p);
        return false;
    }
    set_no_room(p, false);
    p->creating = kb_logmgr_create_async(r->deps.logs, p->topic, p->partition, lc, log_created, p);
    if (!p->creating) creation_failed(p, strerror(errno));
    return false;
}

/* Applies one admitted role: at once when p has its log; otherwise p
 * keeps it and takes it once its log exists (an update that unassigns
 * it meanwhile cancels that). */
static void partition_take_role(kb_replicas_t *r, kb_partition_t *p, const kb_role_t *to) {
    p->assigned = to->hosted;
    p->resigned = false;
    if (to->hosted) p->deleted = false; /* a topic of that name created again */
    p->seen_epoch = to->leader_epoch;
    if (p->log) {
        partition_set_role(p, to);
        return;
    }
    if (!to->hosted) {
        forget_wait(r, p);
        kb_partition_roles_free(p);
        return;
    }
    want_set(p, to);
    if (partition_open_log(r, p)) take_wanted(p);
}

/* A new partition object, with its topic's minimum ISR. */
static kb_partition_t *partition_add(kb_replicas_t *r, const char *topic, int32_t partition) {
    kb_partition_t *p = kb_replicas_add(r, topic, partition);
    if (!p) {
        kc_error("replica", "%s-%d: out of memory", topic, (int)partition);
        return NULL;
    }
    p->min_insync = kb_replicas_topic_settings(r, topic)->min_insync;
    return p;
}

/* A log of a deleted partition that this broker never hosted since it
 * started (loaded from disk, its role not given again) goes too. */
static kb_role_outcome_t delete_leftover(kb_replicas_t *r, const kb_role_update_t *u) {
    int rc = r->deps.logs ? kb_logmgr_delete(r->deps.logs, u->topic, u->partition) : 1;
    if (rc == 0) kc_info("replica", "%s-%d: deleted the log left from before this broker started", u->topic,
                         (int)u->partition);
    return rc < 0 ? KB_ROLE_STORAGE_ERROR : KB_ROLE_NOT_HERE;
}

/* The partition's topic was deleted: p has just lost its role (answering
 * its parked produces 3, as p->deleted says), and now its log.  The
 * object stays, without a log, so that the waiters and produces still
 * pointing at it never dangle (kb_partition.c). */
static kb_role_outcome_t partition_delete(kb_replicas_t *r, kb_partition_t *p) {
    if (p->creating) {
        kb_logmgr_create_cancel(p->creating);
        p->creating = NULL;
    }
    forget_wait(r, p);
    kb_partition_roles_free(p);
    p->log = NULL; /* the manager deletes it: no pointer to it may stay */
    int rc = r->deps.logs ? kb_logmgr_delete(r->deps.logs, p->topic, p->partition) : 1;
    if (rc < 0) return KB_ROLE_STORAGE_ERROR;
    kc_info("replica", "%s-%d: deleted (its topic is being deleted)%s", p->topic, (int)p->partition,
            rc == 0 ? "; its log goes" : "");
    return KB_ROLE_APPLIED;
}

static kb_role_outcome_t apply_role(kb_replicas_t *r, const kb_role_update_t *u) {
    kb_partition_t *p = kb_replicas_find(r, u->topic, u->partition);
    kb_role_t to;
    kb_role_outcome_t verdict = KB_ROLE_APPLIED;
    role_from_update(&to, u, r->deps.cfg->broker_id);
    if (!p && !to.hosted) /* never hosted here: nothing to drop, no epoch to keep */
        return u->deleted ? delete_leftover(r, u) : KB_ROLE_NOT_HERE;
    if (!p && !(p = partition_add(r, u->topic, u->partition))) return KB_ROLE_NO_MEMORY;
    if (u->stop) verdict = stop_admitted(r, p, u, &to);
    else if (!u->deleted) verdict = role_admitted(r, p, &to);
    if (verdict != KB_ROLE_APPLIED) return verdict;
    /* A newer epoch for a partition that is not assigned here, before or
     * after, changes nothing here but the epoch it fences by. */
    if (p->assigned || to.hosted) r->roles_stats.applied++;
    if (u->deleted) p->deleted = true; /* before the role change: its produces hear 3 */
    partition_take_role(r, p, &to);
    if (u->deleted) return partition_delete(r, p);
    if (p->no_room && !p->log) {
        r->roles_stats.refused_no_room++;
        return KB_ROLE_NO_ROOM;
    }
    return KB_ROLE_APPLIED;
}

/* Marks every partition waiting for room as counted; returns how many
 * were not yet, and the first of those in *first.  Every waiting
 * partition is on r->retry (no_room queues it), except inside retry_cb,
 * which never logs before it has queued them back. */
static size_t take_unreported(kb_replicas_t *r, const kb_partition_t **first) {
    kb_partition_t *p;
    size_t n = 0;
    *first = NULL;
    TAILQ_FOREACH(p, &r->retry, retry_link) {
        if (!p->no_room || p->no_room_told) continue;
        if (n++ == 0) *first = p;
        p->no_room_told = true;
    }
    r->no_room_unreported = 0;
    return n;
}

/* The line for the partitions that began to wait for room since the last
 * one and still wait, naming the first of them. */
static void log_no_room(kb_replicas_t *r) {
    const kb_fd_budget_t *b = kb_logmgr_budget(r->deps.logs);
    const kb_partition_t *first;
    size_t n = take_unreported(r, &first), deleted = kb_logmgr_deleted_open(r->deps.logs);
    char why[256], held[96] = "";

    if (n == 0) return;
    if (deleted > 0) snprintf(held, sizeof(held), " (%zu of them deleted, their files not closed yet)", deleted);
    kc_error("replica",
             "%zu partition(s) assigned here, e.g. %s-%d, are not hosted (%llu wait in all): this broker holds %zu "
             "partition logs%s and its budget is %llu (%s); the controller hears KAFKA_STORAGE_ERROR for them; %s, "
             "or move partitions to other brokers",
             n, first->topic, (int)first->partition, (unsigned long long)r->roles_stats.waiting_for_room,
             kb_logmgr_log_count(r->deps.logs), held, (unsigned long long)b->partitions,
             kb_fd_budget_explain(b, why, sizeof(why)), kb_fd_budget_fix(b));
    r->no_room_logged_ms = kb_replicas_now_ms();
}

static void no_room_cb(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    (void)fd;
    (void)what;
    if (r->no_room_unreported > 0) log_no_room(r);
}

/* Partitions began to wait for room: said at once, or summed into the
 * line due BURST_LOG_MS after the last. */
static void report_no_room(kb_replicas_t *r) {
    int64_t due = r->no_room_logged_ms + BURST_LOG_MS, now = kb_replicas_now_ms();

    if (r->no_room_unreported == 0 || evtimer_pending(r->no_room_ev, NULL)) return;
    if (r->no_room_logged_ms == 0 || now >= due) {
        log_no_room(r);
        return;
    }
    struct timeval tv = {(due - now) / 1000, ((due - now) % 1000) * 1000};
    evtimer_add(r->no_room_ev, &tv);
}

void kb_replicas_apply_roles_outcomes(kb_replicas_t *r, const kb_role_update_t *u, size_t n,
                                      kb_role_outcome_t *out) {
    r->batch_no_room = 0;
    for (size_t i = 0; i < n; i++) {
        kb_role_outcome_t o = apply_role(r, &u[i]);
        if (out) out[i] = o;
    }
    if (r->batch_no_room > 0) report_no_room(r);
    r->batch_no_room = 0;
}

void kb_replicas_apply_roles(kb_replicas_t *r, const kb_role_update_t *u, size_t n) {
    kb_replicas_apply_roles_outcomes(r, u, n, NULL);
}

void kb_replicas_each_known(kb_replicas_t *r, void (*fn)(void *arg, const char *topic, int32_t partition),
                            void *arg) {
    for (size_t i = 0; i < r->n_buckets; i++)
        for (kb_partition_t *p = r->buckets[i]; p; p = p->hnext)
            if (p->assigned || p->seen_epoch != KB_ROLE_NO_EPOCH) fn(arg, p->topic, p->partition);
}

void kb_replicas_roles_stats(const kb_replicas_t *r, kb_roles_stats_t *out) { *out = r->roles_stats; }

void kb_replicas_observe_leadership(kb_replicas_t *r, kb_leadership_fn fn, void *arg) {
    r->on_leadership = fn;
    r->on_leadership_arg = arg;
}

/* p stops leading, keeping its epoch and hosting: no leader to follow, no
 * ISR (the controller's next update brings both). */
static void step_down(kb_partition_t *p) {
    kb_role_t to = {.hosted = true, .leader_id = -1, .leader_epoch = p->leader_epoch};
    partition_set_role(p, &to);
}

size_t kb_replicas_resign_leaderships(kb_replicas_t *r) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_buckets; i++)
        for (kb_partition_t *p = r->buckets[i]; p; p = p->hnext) {
            if (p->has_want && p->want.leader) {
                p->want.leader = false;
                p->want.leader_id = -1;
                p->resigned = true;
            }
            if (!p->log || !p->hosted || !p->leader) continue;
            step_down(p);
            p->resigned = true;
            n++;
        }
    if (n > 0)
        kc_warn("replica", "the broker's registration was lost: resigned the leadership of %zu partition(s) "
                "until the controller gives them again", n);
    return n;
}

/* Partitions whose log could not be created try again (those still
 * assigned here), on a timer rather than on every role update: a full
 * disk or a descriptor shortage fails a whole burst at once, and retrying
 * all of it on each of the burst's own updates would cost the loop the
 * square of its size.  A partition that gets a new role is tried at once. */
static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    kb_replicas_t *r = arg;
    struct partition_list due = TAILQ_HEAD_INITIALIZER(due);
    kb_partition_t *p;
    TAILQ_CONCAT(&due, &r->retry, retry_link);
    r->retry_delay_ms = r->retry_delay_ms * 2 > CREATE_RETRY_MAX_MS ? CREATE_RETRY_MAX_MS : r->retry_delay_ms * 2;
    while ((p = TAILQ_FIRST(&due))) {
        TAILQ_REMOVE(&due, p, retry_link);
        p->retry_queued = false;
        /* A new failure queues it on r->retry again. */
        if (!p->log && p->has_want && partition_open_log(r, p)) take_wanted(p);
    }
    /* Only partitions that waited for something else before (a failed
     * creation) begin to wait for room here. */
    if (r->batch_no_room > 0) report_no_room(r);
    r->batch_no_room = 0;
}

/* Deleted logs gave their slots back (kb_logmgr_on_room): what waits for
 * room tries now, not when the backed-off timer comes (up to 30 s). */
static void room_freed(void *arg) {
    kb_replicas_t *r = arg;
    if (r->closing || r->creations_stopped || r->roles_stats.waiting_for_room == 0) return;
    r->retry_delay_ms = CREATE_RETRY_FIRST_MS;
    evtimer_del(r->retry_ev);
    event_active(r->retry_ev, EV_TIMEOUT, 1);
}

void kb_replicas_stop_creating(kb_replicas_t *r) {
    r->creations_stopped = true;
    if (r->deps.logs) kb_logmgr_stop_creating(r->deps.logs);
}

int kb_replicas_roles_start(kb_replicas_t *r) {
    r->retry_delay_ms = CREATE_RETRY_FIRST_MS;
    r->retry_ev = evtimer_new(r->deps.base, retry_cb, r);
    r->no_room_ev = evtimer_new(r->deps.base, no_room_cb, r);
    if (!r->retry_ev || !r->no_room_ev) return -1;
    if (r->deps.logs) kb_logmgr_on_room(r->deps.logs, room_freed, r);
    return 0;
}
