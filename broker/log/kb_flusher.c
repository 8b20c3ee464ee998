/*
 * kb_flusher.c - the thread that fsyncs, so the event loop never waits for
 * a disk (design.md "Threads": flushing runs off the I/O loops).
 *
 * Work is kept per log, in a lane: a FIFO of items (fsync one segment,
 * write one file) and the flush requests waiting for them.  Three rules
 * keep the work proportional to what was written, however far behind the
 * disk falls:
 *   - kb_log.c queues a segment only when it changed since its last fsync
 *     was queued, so a sealed segment is fsynced once;
 *   - an fsync of a segment that has not started yet covers everything
 *     written before it starts: asking for the same segment again while it
 *     is last in its lane adds nothing (kb_flusher_fsync);
 *   - a request without a callback (a roll, log.flush.interval.ms) extends
 *     the target of the lane's last waiting request when no item was queued
 *     in between (kb_flusher_wait).
 * Thousands of segment rolls thus cost one fsync each, where each roll
 * used to queue an fsync of every segment since the recovery point.
 *
 * Ordering and fairness.  Within a lane items run in submission order, and
 * a request completes once every item queued on its lane before it is
 * done: its completion means every byte below its target is on disk, and a
 * log's recovery point (moved by completions, on the loop) only goes
 * forward.  Across lanes the thread takes one item from each lane in turn,
 * so the fsync a flush.messages produce waits for runs after at most one
 * item of every other busy log, never after another log's whole backlog.
 * The manager's checkpoint files have a lane of their own.
 *
 * A failed fsync fails every request of its lane made before the loop
 * learnt of the failure (a lane counts its failures and the ones the loop
 * has seen); on the first such completion the log forgets what it had
 * queued (kb_log_flush_finished), so the next request queues every segment
 * from the recovery point again.
 *
 * Completions.  Finished items and requests go on lists that a libevent
 * event, made active from the thread, hands to the loop (libevent's
 * pthread locking: evthread_use_pthreads() before the event_base is
 * created).  There segment references are dropped, jobs freed, fsyncs
 * counted and requests completed, in order.  The periodic
 * log.flush.interval.ms check is a timer on the loop: it only compares
 * clocks and queues requests.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"

/* Intervals past this are Kafka's "never" (Long.MaxValue by default). */
#define FLUSH_CHECK_NEVER_MS (100LL * 365 * 24 * 3600 * 1000)

/* One unit of work: an fsync of seg (referenced), or a write of job. */
typedef struct flush_item {
    struct flush_item *next;
    kb_segment_t *seg;
    kb_flush_job_t *job;
} flush_item_t;

typedef struct kb_flush_lane kb_flush_lane_t;

/* A flush request: done once its lane has finished `need` items. */
typedef struct flush_waiter {
    struct flush_waiter *next;
    kb_flush_lane_t *lane;
    uint64_t need;
    uint64_t failures_seen; /* lane failures the loop had seen when it was made */
    int64_t target;
    void (*done)(void *arg, int rc);
    void *arg;
    int rc;
} flush_waiter_t;

/* Every field but log and next_lane is under the flusher's lock. */
struct kb_flush_lane {
    kb_log_t *log;                   /* NULL: the manager's checkpoint files */
    kb_flush_lane_t *next_lane;      /* every lane, for the final free (loop only) */
    kb_flush_lane_t *next_ready;     /* on the ready list */
    flush_item_t *items, *items_tail; /* not started yet, in order */
    flush_waiter_t *waiting, *waiting_tail;
    uint64_t queued, finished;       /* items ever queued / finished */
    uint64_t failures, failures_seen;
    bool ready; /* on the ready list */
    bool busy;  /* the thread is running one of its items */
};

struct kb_flusher {
    kb_logmgr_t *mgr;
    kb_log_stats_t *stats;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    kb_flush_lane_t *lanes;        /* loop only */
    kb_flush_lane_t *manager_lane; /* checkpoint files */
    /* Under lock: */
    kb_flush_lane_t *ready, *ready_tail; /* lanes with items to start, in turn */
    flush_item_t *spent;                 /* finished items for the loop to release */
    flush_waiter_t *done, *done_tail;    /* completed requests, in order */
    uint64_t backlog;                    /* items queued or running (also read without lock) */
    uint64_t fsyncs;                     /* finished since the loop last counted */
    int64_t budget;                      /* items the thread may still start; < 0: no limit */
    bool stopping;
    struct event *done_ev;
    struct event *check_ev;
};

/* ------------------------------------------------------ lists, under lock */

static void ready_push(kb_flusher_t *f, kb_flush_lane_t *lane) {
    lane->ready = true;
    lane->next_ready = NULL;
    if (f->ready_tail) f->ready_tail->next_ready = lane;
    else f->ready = lane;
    f->ready_tail = lane;
}

static kb_flush_lane_t *ready_pop(kb_flusher_t *f) {
    kb_flush_lane_t *lane = f->ready;

    f->ready = lane->next_ready;
    if (!f->ready) f->ready_tail = NULL;
    lane->ready = false;
    return lane;
}

static void item_push(kb_flusher_t *f, kb_flush_lane_t *lane, flush_item_t *item) {
    item->next = NULL;
    if (lane->items_tail) lane->items_tail->next = item;
    else lane->items = item;
    lane->items_tail = item;
    lane->queued++;
    __atomic_add_fetch(&f->backlog, 1, __ATOMIC_RELAXED);
    if (!lane->ready && !lane->busy) ready_push(f, lane);
    pthread_cond_signal(&f->wake);
}

static flush_item_t *item_pop(kb_flush_lane_t *lane) {
    flush_item_t *item = lane->items;

    lane->items = item->next;
    if (!lane->items) lane->items_tail = NULL;
    return item;
}

static void done_push(kb_flusher_t *f, flush_waiter_t *w) {
    w->next = NULL;
    if (f->done_tail) f->done_tail->next = w;
    else f->done = w;
    f->done_tail = w;
}

/* Moves the requests whose items are all finished to the done list. */
static void settle_waiters(kb_flusher_t *f, kb_flush_lane_t *lane) {
    flush_waiter_t *w;

    while ((w = lane->waiting) && w->need <= lane->finished) {
        lane->waiting = w->next;
        if (!lane->waiting) lane->waiting_tail = NULL;
        w->rc = lane->failures > w->failures_seen ? -1 : 0;
        done_push(f, w);
    }
}

/* ------------------------------------------------------- flusher thread */

/* 0, or -1 when an fsync failed (file write errors are only logged: they
 * say nothing about the log's data). */
/* An item of a deleted log is skipped: its dir has been renamed, so its
 * fsync would fail on the index paths and its file writes would miss (or,
 * were a log of that name created since, hit the new log's files). */
static bool of_deleted_log(const kb_flush_lane_t *lane, const kb_flush_job_t *job) {
    const kb_log_t *log = job && job->owner ? job->owner : lane->log;
    return log && atomic_load(&log->deleted);
}

static int run_item(const kb_flush_lane_t *lane, flush_item_t *item, uint64_t *fsyncs) {
    kb_flush_job_t *job = item->job;

    if (of_deleted_log(lane, job)) {
        if (job) job->rc = 0;
        return 0;
    }
    if (item->seg) {
        if (kb_segment_sync(item->seg) != 0) {
            static kc_ratelimit_t fsync_rl;
            kc_log_limited(&fsync_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "fsync of %s.log failed: %s",
                           item->seg->path, strerror(errno));
            return -1;
        }
        (*fsyncs)++;
    } else if (job && !job->text) {
        job->rc = unlink(job->path) != 0 && errno != ENOENT ? -1 : 0;
        if (job->rc != 0) kc_warn("log", "cannot delete %s: %s", job->path, strerror(errno));
    } else if (job) {
        job->rc = kb_checkpoint_write_text(job->path, job->text, job->text_len);
        /* A log deleted while this ran lost its dir under it: no error. */
        static kc_ratelimit_t write_rl;
        if (job->rc != 0 && !of_deleted_log(lane, job))
            kc_log_limited(&write_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "cannot write %s: %s", job->path,
                           strerror(errno));
    }
    return 0;
}

static void finish_item(kb_flusher_t *f, kb_flush_lane_t *lane, flush_item_t *item, int rc) {
    lane->busy = false;
    lane->finished++;
    if (rc != 0) lane->failures++;
    __atomic_sub_fetch(&f->backlog, 1, __ATOMIC_RELAXED);
    item->next = f->spent;
    f->spent = item;
    settle_waiters(f, lane);
    if (lane->items) ready_push(f, lane);
    if (f->done_ev) event_active(f->done_ev, EV_READ, 0);
}

static void *flusher_main(void *arg) {
    kb_flusher_t *f = arg;

    pthread_mutex_lock(&f->lock);
    for (;;) {
        if (!f->ready || f->budget == 0) {
            if (f->stopping && !f->ready) break;
            pthread_cond_wait(&f->wake, &f->lock);
            continue;
        }
        kb_flush_lane_t *lane = ready_pop(f);
        flush_item_t *item = item_pop(lane);
        uint64_t fsyncs = 0;
        lane->busy = true;
        if (f->budget > 0) f->budget--;
        pthread_mutex_unlock(&f->lock);
        int rc = run_item(lane, item, &fsyncs);
        pthread_mutex_lock(&f->lock);
        f->fsyncs += fsyncs;
        finish_item(f, lane, item, rc);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---------------------------------------------------------- on the loop */

static void job_free(kb_flush_job_t *job) {
    if (!job) return;
    free(job->path);
    free(job->text);
    free(job);
}

static void complete_waiter(kb_flusher_t *f, flush_waiter_t *w) {
    kb_flush_lane_t *lane = w->lane;

    if (lane->log) kb_log_flush_finished(lane->log, w->target, w->rc); /* not the manager's lane */
    if (w->rc != 0) {
        /* The log has forgotten what it queued: requests made from now on
         * queue their segments again and need not fail. */
        pthread_mutex_lock(&f->lock);
        lane->failures_seen = lane->failures;
        pthread_mutex_unlock(&f->lock);
    }
    if (w->done) w->done(w->arg, w->rc);
    free(w);
}

static void complete_all(kb_flusher_t *f) {
    flush_item_t *item;
    flush_waiter_t *w;
    uint64_t fsyncs;

    pthread_mutex_lock(&f->lock);
    item = f->spent;
    w = f->done;
    fsyncs = f->fsyncs;
    f->spent = NULL;
    f->done = f->done_tail = NULL;
    f->fsyncs = 0;
    pthread_mutex_unlock(&f->lock);
    f->stats->fsyncs += fsyncs;
    while (item) {
        flush_item_t *next = item->next;
        kb_segment_unref(item->seg);
        job_free(item->job);
        free(item);
        item = next;
    }
    while (w) {
        flush_waiter_t *next = w->next;
        complete_waiter(f, w);
        w = next;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg) { complete_all(arg); }

static void on_check(evutil_socket_t fd, short what, void *arg) {
    kb_flusher_t *f = arg;
    kb_logmgr_flush_idle_logs(f->mgr);
}

static kb_flush_lane_t *lane_new(kb_flusher_t *f, kb_log_t *log) {
    kb_flush_lane_t *lane = calloc(1, sizeof(*lane));

    if (!lane) return NULL;
    lane->log = log;
    lane->next_lane = f->lanes;
    f->lanes = lane;
    return lane;
}

/* The log's lane, created with its first request. */
static kb_flush_lane_t *lane_of(kb_flusher_t *f, kb_log_t *log) {
    if (!log) return f->manager_lane;
    if (!log->lane) log->lane = lane_new(f, log);
    return log->lane;
}

int kb_flusher_fsync(kb_flusher_t *f, kb_log_t *log, kb_segment_t *s) {
    kb_flush_lane_t *lane = lane_of(f, log);
    flush_item_t *item = calloc(1, sizeof(*item));

    if (!lane || !item) {
        free(item);
        return -1;
    }
    pthread_mutex_lock(&f->lock);
    if (lane->items_tail && lane->items_tail->seg == s) {
        pthread_mutex_unlock(&f->lock);
        free(item);
        return 0;
    }
    item->seg = kb_segment_ref(s);
    item_push(f, lane, item);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* Adds w to its lane, or to the done list when nothing it needs is left. */
static void waiter_add(kb_flusher_t *f, kb_flush_lane_t *lane, flush_waiter_t *w) {
    w->lane = lane;
    w->need = lane->queued;
    w->failures_seen = lane->failures_seen;
    if (lane->finished >= w->need) {
        w->rc = lane->failures > w->failures_seen ? -1 : 0;
        done_push(f, w);
        if (f->done_ev) event_active(f->done_ev, EV_READ, 0);
        return;
    }
    w->next = NULL;
    if (lane->waiting_tail) lane->waiting_tail->next = w;
    else lane->waiting = w;
    lane->waiting_tail = w;
}

int kb_flusher_wait(kb_flusher_t *f, kb_log_t *log, int64_t target, void (*done)(void *arg, int rc), void *arg) {
    kb_flush_lane_t *lane = lane_of(f, log);
    flush_waiter_t *w = calloc(1, sizeof(*w)), *last;

    if (!lane) {
        free(w);
        return -1;
    }
    pthread_mutex_lock(&f->lock);
    last = lane->waiting_tail;
    if (!done && last && last->need == lane->queued && last->failures_seen == lane->failures_seen) {
        if (target > last->target) last->target = target;
        pthread_mutex_unlock(&f->lock);
        free(w);
        return 0;
    }
    if (w) {
        *w = (flush_waiter_t){.target = target, .done = done, .arg = arg};
        waiter_add(f, lane, w);
    }
    pthread_mutex_unlock(&f->lock);
    return w ? 0 : -1;
}

void kb_flusher_submit(kb_flusher_t *f, kb_flush_job_t *job) {
    kb_flush_lane_t *lane = lane_of(f, job->log);
    flush_item_t *item = calloc(1, sizeof(*item));

    if (!lane || !item) {
        kc_error("log", "cannot write %s: out of memory", job->path);
        free(item);
        job_free(job);
        return;
    }
    item->job = job;
    /* Every roll's producer snapshot is written, as Kafka does: recovery
     * after a torn tail starts from the newest one at or below the log end,
     * which may be an older one. */
    pthread_mutex_lock(&f->lock);
    item_push(f, lane, item);
    pthread_mutex_unlock(&f->lock);
}

/* A gauge for metrics: read without the lock, so a scrape never waits. */
uint64_t kb_flusher_backlog(kb_flusher_t *f) { return __atomic_load_n(&f->backlog, __ATOMIC_RELAXED); }

void kb_flusher_limit(kb_flusher_t *f, int64_t n) {
    pthread_mutex_lock(&f->lock);
    f->budget = n;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

static int start_check_timer(kb_flusher_t *f, struct event_base *base, int64_t check_ms) {
    struct timeval tv = {(time_t)(check_ms / 1000), (suseconds_t)(check_ms % 1000) * 1000};

    if (check_ms <= 0 || check_ms >= FLUSH_CHECK_NEVER_MS) return 0;
    f->check_ev = event_new(base, -1, EV_PERSIST, on_check, f);
    return f->check_ev ? event_add(f->check_ev, &tv) : -1;
}

void kb_flusher_forget(kb_flusher_t *f, kb_log_t *log) {
    kb_flush_lane_t *lane = log->lane;
    if (!f || !lane) return;
    /* Nothing is queued on it (the caller's wait was its last request), so
     * the thread holds no pointer to it. */
    pthread_mutex_lock(&f->lock);
    for (kb_flush_lane_t **pp = &f->lanes; *pp; pp = &(*pp)->next_lane)
        if (*pp == lane) {
            *pp = lane->next_lane;
            break;
        }
    pthread_mutex_unlock(&f->lock);
    log->lane = NULL;
    free(lane);
}

/* After the thread is gone: every lane is empty (its items finished, its
 * requests completed), and the logs must no longer point at them. */
static void free_lanes(kb_flusher_t *f) {
    while (f->lanes) {
        kb_flush_lane_t *lane = f->lanes;
        f->lanes = lane->next_lane;
        if (lane->log) lane->log->lane = NULL;
        free(lane);
    }
}

static void flusher_free(kb_flusher_t *f) {
    if (f->done_ev) event_free(f->done_ev);
    if (f->check_ev) event_free(f->check_ev);
    free_lanes(f);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

kb_flusher_t *kb_flusher_start(struct event_base *base, kb_logmgr_t *m, kb_log_stats_t *stats, int64_t check_ms) {
    kb_flusher_t *f = calloc(1, sizeof(*f));

    if (!f) return NULL;
    f->mgr = m;
    f->stats = stats;
    f->budget = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    f->manager_lane = lane_new(f, NULL);
    f->done_ev = event_new(base, -1, 0, on_done, f);
    if (!f->manager_lane || !f->done_ev || start_check_timer(f, base, check_ms) != 0 ||
        pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        flusher_free(f);
        return NULL;
    }
    return f;
}

/* The completions run here must not queue new work: nothing would run it. */
void kb_flusher_stop(kb_flusher_t *f) {
    if (!f) return;
    if (f->check_ev) event_free(f->check_ev);
    f->check_ev = NULL;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    f->budget = -1;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    /* The thread is gone: no one activates done_ev any more. */
    event_free(f->done_ev);
    f->done_ev = NULL;
    complete_all(f);
    flusher_free(f);
}
