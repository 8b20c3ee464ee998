/*
 * kb_retention.c - deleting old segments: the periodic retention check
 * (zk-and-replication.md 4.7) and DeleteRecords (wire-protocol.md 4.9).
 *
 * Deciding is cheap and runs on the loop: every log.retention.check.interval.ms
 * (the first time after 30 s, as Kafka, or sooner when the interval is
 * shorter) each log is scanned oldest segment first, as Kafka's
 * deleteOldSegments does, in three passes: segments whose largest
 * timestamp (the file's mtime when it has none) is more than retention.ms
 * old, then the oldest segments while the partition would still hold at
 * least retention.bytes without them, then segments wholly below the log
 * start offset (DeleteRecords).  A pass stops at the first segment that
 * fails its test, and a segment qualifies only when the high watermark has
 * reached its upper bound (the next segment's base offset, or the log end
 * for the active one); an empty active segment never goes, and when every
 * segment would go a new empty one is rolled first.
 *
 * A retired segment leaves the log's list at once (the log start offset
 * moves to the first remaining base offset), so no new reader finds it.
 * Its files then live on in three steps:
 *   1. the deleter thread renames them to <name>.deleted (the open fds,
 *      and so a sendfile in flight, are unaffected);
 *   2. after file.delete.delay.ms a timer on the loop marks the segment
 *      deleted, points its last-reference hook at the deleter and drops
 *      the reference the log's list held;
 *   3. whoever drops the last reference (that timer, a connection whose
 *      sendfile finished, a flush job) queues it for the deleter, which
 *      closes and unlinks the files.
 * So a segment being sent or fsynced keeps its files until it is let go,
 * and neither a rename nor an unlink ever runs on an I/O loop.
 *
 * Why a thread of its own rather than the flusher: unlinking a large file
 * can take a while on some filesystems, and a produce waiting for a
 * flush.messages fsync must not queue behind it.
 *
 * Invariant: a base offset is never reused while files of the same name
 * wait for their rename (retention and DeleteRecords only roll at the log
 * end, which is past every retired segment).
 */
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"

#define FIRST_CHECK_MS 30000LL                  /* Kafka's InitialTaskDelayMs */
#define MAX_TIMER_MS (365LL * 24 * 3600 * 1000) /* longer waits are "never" in practice */
#define DELETE_TO_HIGH_WATERMARK (-1)           /* DeleteRecords' "up to the high watermark" */

typedef enum { TASK_RENAME, TASK_DESTROY } task_kind_t;

/* One unit of work for the deleter thread. */
typedef struct deleter_task {
    struct deleter_task *next;
    task_kind_t kind;
    kb_segment_t *seg; /* RENAME: a reference, dropped after; DESTROY: the segment, freed */
} deleter_task_t;

/* Segments retired together, waiting out file.delete.delay.ms. */
typedef struct retired {
    struct retired *prev, *next; /* the owner's pending list */
    kb_retention_t *owner;
    struct event *timer;
    size_t n;
    kb_segment_t *segs[]; /* one reference each: the one the log's list held */
} retired_t;

struct kb_retention {
    kb_logmgr_t *mgr;
    struct event_base *base;
    struct event *check_ev;
    int64_t check_ms;
    retired_t *pending; /* on the loop only */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    deleter_task_t *head, *tail; /* under lock */
    bool stopping;               /* under lock: finish the queue, then exit */
    bool exited;                 /* under lock: no task will run any more */
};

static struct timeval ms_to_tv(int64_t ms) {
    if (ms < 0) ms = 0;
    if (ms > MAX_TIMER_MS) ms = MAX_TIMER_MS;
    return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

/* -------------------------------------------------------- deleter thread */

/* False when the thread is gone (shutdown) or out of memory: the caller
 * then does the work itself. */
static bool deleter_push(kb_retention_t *r, task_kind_t kind, kb_segment_t *s) {
    deleter_task_t *t = malloc(sizeof(*t));
    bool queued = false;

    if (!t) return false;
    *t = (deleter_task_t){NULL, kind, s};
    pthread_mutex_lock(&r->lock);
    if (!r->exited) {
        if (r->tail) r->tail->next = t;
        else r->head = t;
        r->tail = t;
        pthread_cond_signal(&r->wake);
        queued = true;
    }
    pthread_mutex_unlock(&r->lock);
    if (!queued) free(t);
    return queued;
}

/* Runs without the lock: dropping a reference here may queue a task. */
static void run_task(deleter_task_t *t) {
    if (t->kind == TASK_DESTROY) {
        kb_segment_destroy(t->seg);
        return;
    }
    kb_segment_rename_deleted(t->seg);
    kb_segment_unref(t->seg);
}

static void *deleter_main(void *arg) {
    kb_retention_t *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        deleter_task_t *t = r->head;
        if (!t) {
            if (r->stopping) break;
            pthread_cond_wait(&r->wake, &r->lock);
            continue;
        }
        r->head = t->next;
        if (!r->head) r->tail = NULL;
        pthread_mutex_unlock(&r->lock);
        run_task(t);
        free(t);
        pthread_mutex_lock(&r->lock);
    }
    r->exited = true;
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* The last-reference hook of a segment whose delay is over; may run on
 * any thread that drops a reference. */
static void reap(kb_segment_t *s, void *arg) {
    if (!deleter_push(arg, TASK_DESTROY, s)) kb_segment_destroy(s);
}

/* ------------------------------------------------------ retired segments */

static void pending_unlink(retired_t *b) {
    if (b->prev) b->prev->next = b->next;
    else b->owner->pending = b->next;
    if (b->next) b->next->prev = b->prev;
}

/* Frees a batch that is not (or no longer) on the pending list. */
static void retired_free(retired_t *b) {
    event_free(b->timer);
    free(b);
}

/* file.delete.delay.ms is over: from now on the last reference deletes. */
static void on_delay_over(evutil_socket_t fd, short what, void *arg) {
    retired_t *b = arg;

    for (size_t i = 0; i < b->n; i++) {
        kb_segment_t *s = b->segs[i];
        s->deleted = true;
        s->on_last_ref_arg = b->owner;
        s->on_last_ref = reap; /* published to other threads by the unref below */
        kb_segment_unref(s);
    }
    pending_unlink(b);
    retired_free(b);
}

static retired_t *retired_new(kb_retention_t *r, size_t n) {
    retired_t *b = calloc(1, sizeof(*b) + n * sizeof(b->segs[0]));

    if (!b) return NULL;
    b->owner = r;
    b->n = n;
    b->timer = evtimer_new(r->base, on_delay_over, b);
    if (!b->timer) {
        free(b);
        return NULL;
    }
    return b;
}

/* Takes the batch's segments (already out of the log): queues their
 * renames and starts the delay. */
static void retired_schedule(kb_retention_t *r, retired_t *b, int64_t delay_ms) {
    struct timeval tv = ms_to_tv(delay_ms);

    for (size_t i = 0; i < b->n; i++) {
        if (b->segs[i]->renamed) continue; /* a truncation renamed it already */
        kb_segment_t *s = kb_segment_ref(b->segs[i]);
        if (!deleter_push(r, TASK_RENAME, s)) {
            kc_warn("log", "%s: cannot queue the rename (out of memory); deleted under its own name", s->path);
            kb_segment_unref(s);
        }
    }
    b->next = r->pending;
    if (b->next) b->next->prev = b;
    r->pending = b;
    evtimer_add(b->timer, &tv);
}

/*
 * Retires the n oldest segments of log (rolling first when that is all of
 * them): out of the list at once, the log start offset moved up to the
 * first remaining segment, the files handed on.  Returns 0, or -1 with the
 * log unchanged.
 */
static int retire_oldest(kb_log_t *log, size_t n, const char *reason) {
    kb_retention_t *r = kb_logmgr_retention(log->mgr);
    retired_t *b = retired_new(r, n);
    int64_t first = log->segs[0]->base_offset, end;

    if (!b || (n == log->n_segs && kb_log_roll_now(log) != 0)) {
        kc_error("log", "%s: cannot delete %zu segment(s) (%s): %s", log->name, n, reason,
                 b ? "the roll failed" : "out of memory");
        if (b) retired_free(b);
        return -1;
    }
    memcpy(b->segs, log->segs, n * sizeof(log->segs[0]));
    memmove(log->segs, log->segs + n, (log->n_segs - n) * sizeof(log->segs[0]));
    log->n_segs -= n;
    end = log->segs[0]->base_offset;
    if (end > log->log_start_offset) log->log_start_offset = end;
    kb_log_set_high_watermark(log, log->high_watermark); /* keeps HW >= log start */
    kb_log_epochs_log_start_moved(log);
    kc_info("log", "%s: deleting %zu segment(s) with offsets [%" PRId64 ", %" PRId64 ") (%s); log start %" PRId64,
            log->name, n, first, end, reason, log->log_start_offset);
    retired_schedule(r, b, log->cfg.file_delete_delay_ms);
    return 0;
}

void kb_retention_orphan(kb_retention_t *r, const char *dir) {
    size_t n = strlen(dir);
    for (retired_t *b = r ? r->pending : NULL; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            kb_segment_t *s = b->segs[i];
            if (strncmp(s->path, dir, n) != 0 || s->path[n] != '/') continue;
            /* Under the lock the deleter holds for a rename or the unlinks:
             * one under way finishes before, in the old dir. */
            pthread_mutex_lock(&s->fd_lock);
            s->orphaned = true;
            pthread_mutex_unlock(&s->fd_lock);
        }
}

int kb_retention_retire(kb_log_t *log, kb_segment_t **segs, size_t n) {
    kb_retention_t *r = kb_logmgr_retention(log->mgr);
    retired_t *b = r ? retired_new(r, n) : NULL;

    if (!b) {
        for (size_t i = 0; i < n; i++) kb_segment_delete(segs[i]);
        return -1;
    }
    memcpy(b->segs, segs, n * sizeof(segs[0]));
    retired_schedule(r, b, log->cfg.file_delete_delay_ms);
    return 0;
}

/* ------------------------------------------------------------- deciding */

/* What a pass carries from one segment to the next. */
typedef struct {
    int64_t now_ms;
    int64_t excess_bytes; /* size pass: bytes over retention.bytes not yet covered */
} pass_t;

/* Does s (followed by next, NULL for the active segment) breach the pass's
 * rule?  May update the pass (only called for segments otherwise
 * deletable, oldest first). */
typedef bool (*breach_fn)(const kb_log_t *log, const kb_segment_t *s, const kb_segment_t *next, pass_t *p);

/* Kafka's LogSegment.largestTimestamp: the largest record timestamp, or
 * the file's mtime when no batch carried one (by path: a sealed segment's
 * .log is not kept open; stat reads no disk once the inode is cached). */
static int64_t largest_timestamp(const kb_segment_t *s, int64_t now_ms) {
    char path[4096];
    struct stat st;

    if (s->max_timestamp >= 0) return s->max_timestamp;
    snprintf(path, sizeof(path), "%s.log", s->path);
    if (stat(path, &st) != 0) return now_ms; /* unknown age: keep it */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static bool past_retention_ms(const kb_log_t *log, const kb_segment_t *s, const kb_segment_t *next, pass_t *p) {
    (void)next;
    return p->now_ms - largest_timestamp(s, p->now_ms) > log->cfg.retention_ms;
}

static bool over_retention_bytes(const kb_log_t *log, const kb_segment_t *s, const kb_segment_t *next, pass_t *p) {
    (void)log;
    (void)next;
    if (p->excess_bytes - (int64_t)s->size < 0) return false;
    p->excess_bytes -= (int64_t)s->size;
    return true;
}

static bool below_log_start(const kb_log_t *log, const kb_segment_t *s, const kb_segment_t *next, pass_t *p) {
    (void)s;
    (void)p;
    return next && next->base_offset <= log->log_start_offset;
}

/* Kafka's deletableSegments: the length of the oldest run of segments
 * that are below the high watermark, breach the rule, and are not the
 * empty active segment. */
static size_t count_deletable(const kb_log_t *log, breach_fn breaches, pass_t *p) {
    size_t n = 0;

    for (; n < log->n_segs; n++) {
        const kb_segment_t *s = log->segs[n], *next = n + 1 < log->n_segs ? log->segs[n + 1] : NULL;
        int64_t upper = next ? next->base_offset : log->log_end_offset;
        if (log->high_watermark < upper || (!next && s->size == 0) || !breaches(log, s, next, p)) break;
    }
    return n;
}

static size_t delete_where(kb_log_t *log, breach_fn breaches, pass_t *p, const char *reason) {
    size_t n = count_deletable(log, breaches, p);

    if (n == 0 || retire_oldest(log, n, reason) != 0) return 0;
    return n;
}

static int64_t log_size(const kb_log_t *log) {
    int64_t total = 0;

    for (size_t i = 0; i < log->n_segs; i++) total += (int64_t)log->segs[i]->size;
    return total;
}

size_t kb_retention_check_log(kb_log_t *log, int64_t now_ms) {
    pass_t p = {now_ms, 0};
    size_t n = 0;

    if (log->cfg.retention_ms >= 0) n += delete_where(log, past_retention_ms, &p, "retention.ms");
    p.excess_bytes = log_size(log) - log->cfg.retention_bytes;
    if (log->cfg.retention_bytes >= 0 && p.excess_bytes >= 0)
        n += delete_where(log, over_retention_bytes, &p, "retention.bytes");
    n += delete_where(log, below_log_start, &p, "below the log start offset");
    return n;
}

int kb_log_delete_records(kb_log_t *log, int64_t offset, int64_t *low_watermark) {
    pass_t p = {0, 0};

    if (offset == DELETE_TO_HIGH_WATERMARK) offset = log->high_watermark;
    *low_watermark = log->log_start_offset;
    if (offset < 0 || offset > log->high_watermark) return 1;
    if (offset > log->log_start_offset) {
        kc_info("log", "%s: DeleteRecords raises the log start offset from %" PRId64 " to %" PRId64, log->name,
                log->log_start_offset, offset);
        log->log_start_offset = offset;
        kb_log_epochs_log_start_moved(log);
        delete_where(log, below_log_start, &p, "DeleteRecords");
        kb_logmgr_save_log_start(log->mgr, log->dir);
    }
    *low_watermark = log->log_start_offset;
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

static void on_check(evutil_socket_t fd, short what, void *arg) {
    kb_retention_t *r = arg;
    struct timeval tv = ms_to_tv(r->check_ms);

    kb_logmgr_enforce_retention(r->mgr);
    evtimer_add(r->check_ev, &tv);
}

kb_retention_t *kb_retention_start(struct event_base *base, kb_logmgr_t *m, int64_t check_ms) {
    kb_retention_t *r = calloc(1, sizeof(*r));
    struct timeval first = ms_to_tv(check_ms < FIRST_CHECK_MS ? check_ms : FIRST_CHECK_MS);

    if (!r) return NULL;
    r->mgr = m;
    r->base = base;
    r->check_ms = check_ms;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    r->check_ev = evtimer_new(base, on_check, r);
    if (!r->check_ev || evtimer_add(r->check_ev, &first) != 0 ||
        pthread_create(&r->thread, NULL, deleter_main, r) != 0) {
        if (r->check_ev) event_free(r->check_ev);
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void kb_retention_stop_checks(kb_retention_t *r) {
    if (!r || !r->check_ev) return;
    event_free(r->check_ev);
    r->check_ev = NULL;
}

void kb_retention_free(kb_retention_t *r) {
    if (!r) return;
    kb_retention_stop_checks(r);
    /* Not marked deleted: closing is all the last reference does now. */
    while (r->pending) {
        retired_t *b = r->pending;
        for (size_t i = 0; i < b->n; i++) kb_segment_unref(b->segs[i]);
        pending_unlink(b);
        retired_free(b);
    }
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
