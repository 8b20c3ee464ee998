/*
 * kb_logdelete.c - deleting a whole partition log, for StopReplica with
 * delete_partition (zk-and-replication.md 4.10; Kafka 2.6's
 * LogManager.asyncDelete).
 *
 * On the loop, at once (kb_logmgr_delete): the partition dir is renamed to
 * Kafka's <topic>-<partition>.<32 hex digits>-delete (the topic cut so the
 * name stays within 255 bytes), the log leaves the manager's table (so the
 * next checkpoint of each file leaves it out, and one is queued now), and
 * a log of that name can be created again at once, in a fresh dir.  The
 * rename is one rename(2) on the loop, like a truncation's: done later, a
 * topic created again meanwhile could find the old dir and load it.  Then,
 * without blocking the loop:
 *   1. the log's flusher lane and the manager's drain (what they hold of
 *      the deleted log is skipped: its fsyncs, its producer snapshots and
 *      leader-epoch checkpoints, whose paths are gone: kb_flusher.c), and
 *      the log's lane goes; then its active segment stops being active,
 *      so its .log is closed at once unless a send or a search has it
 *      pinned (then when the last of them lets go);
 *   2. after file.delete.delay.ms, once no range handed to a sender holds
 *      one of its segments and no ListOffsets-by-timestamp search holds the
 *      log, the segments and the dir go on the manager's deleter worker:
 *      its thread closes the segments and removes the files and the dir;
 *   3. its completion frees the log on the loop.
 * So a consumer's sendfile in flight finishes from the file it started on
 * (its descriptor stays valid across the rename), and nothing blocking
 * happens on the loop but the rename.  Segments the log retired earlier
 * (retention, truncation) and that still wait for their own deletion are
 * "orphaned": retention's deleter no longer renames or unlinks them by
 * their old paths (a new log of that name could own those paths now); the
 * dir's removal takes their files.
 *
 * The partition budget (kb_fd_budget.h).  A deleted log keeps its slot
 * in the budget for as long as it may keep a descriptor open, not until
 * its files are removed and not only until it leaves the table: from the
 * rename until step 1 has closed its active segment and no send or search
 * holds any of its segments open (rechecked every second while one does;
 * a consumer's sendfile in flight keeps the descriptor it started on).
 * Freeing the slot at the rename let a topic deleted and created again
 * within file.delete.delay.ms take a broker past its descriptor limit:
 * both generations of logs were open at once.  Keeping it until the
 * files go would make every new partition wait out the delay for nothing:
 * once closed, a deleted log costs no descriptor however long its files
 * stay.  When a slot frees, the manager tells its room watcher
 * (kb_logmgr_on_room), which hosts the partitions waiting for room.
 *
 * A broker stopped meanwhile leaves the renamed dir; the next start removes
 * every *-delete dir before loading (kb_logmgr.c).
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"

#define DELETE_SUFFIX "-delete"
#define NAME_MAX_LEN 255
#define PATH_LEN 4096
/* How often a deletion whose delay is over looks again for senders and
 * searches that still hold the log, and how often one whose segments
 * are still open looks again whether they are closed. */
#define BUSY_RECHECK_MS 1000
#define MAX_TIMER_MS (365LL * 24 * 3600 * 1000)

struct kb_log_deletion {
    kb_log_deletion_t *next;
    kb_logmgr_t *m;
    kb_log_t *log;          /* out of the table; freed by the last step */
    kb_segment_t **segs;    /* the log's segment references, taken once its lane drained */
    size_t n_segs;
    bool lane_waited;       /* a flusher wait is queued on the log's lane ... */
    bool manager_waited;    /* ... and on the manager's */
    int draining;           /* those not completed yet */
    bool drained;           /* both completed: the log's lane is gone */
    struct event *timer;    /* file.delete.delay.ms, then the rechecks */
    /* Counted in the manager's budget (log_deletions_open) until no
     * segment of the log has its .log open any more (see the top). */
    bool holds_slot;
    struct event *closed_timer; /* rechecks that while a send or search holds one */
    kb_worker_job_t job;
    int rc;                 /* the worker's */
    char path[];            /* the renamed dir */
};

/* ---- the name ---- */

/* Kafka's Log.logDeleteDirName: "-<partition>.<uuid without dashes>-delete"
 * after the topic, cut so that the whole is at most 255 bytes.  The UUID
 * is a random (version 4) one, as Java's UUID.randomUUID. */
static int delete_dir_name(const kb_log_t *log, char *out, size_t len) {
    uint8_t u[16];
    char hex[33], suffix[96];
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) return -1;
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", u[i]);
    int n = snprintf(suffix, sizeof(suffix), "-%" PRId32 ".%s" DELETE_SUFFIX, log->partition, hex);
    size_t topic_len = strlen(log->topic), keep = NAME_MAX_LEN - (size_t)n;
    if (topic_len < keep) keep = topic_len;
    return (size_t)snprintf(out, len, "%s/%.*s%s", log->dir->path, (int)keep, log->topic, suffix) < len ? 0 : -1;
}

/* ---- the steps ---- */

static struct timeval ms_tv(int64_t ms) {
    if (ms < 0) ms = 0;
    if (ms > MAX_TIMER_MS) ms = MAX_TIMER_MS;
    return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

static void deletion_unlink(kb_log_deletion_t *d) {
    for (kb_log_deletion_t **pp = kb_logmgr_deletions(d->m); *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            return;
        }
}

/* The log gives its slot in the budget back; `tell`: the manager's room
 * watcher hears of it (not at close, when nobody is left to host). */
static void slot_release(kb_log_deletion_t *d, bool tell) {
    if (!d->holds_slot) return;
    d->holds_slot = false;
    kb_logmgr_stats_mut(d->m)->log_deletions_open--;
    if (tell) kb_logmgr_room_freed(d->m);
}

static void deletion_free(kb_log_deletion_t *d) {
    slot_release(d, false);
    for (size_t i = 0; i < d->n_segs; i++) kb_segment_unref(d->segs[i]);
    free(d->segs);
    if (d->log) kb_log_free(d->log);
    if (d->timer) event_free(d->timer);
    if (d->closed_timer) event_free(d->closed_timer);
    free(d);
}

/* ---- the descriptors ---- */

static bool any_segment_open(const kb_log_deletion_t *d) {
    for (size_t i = 0; i < d->n_segs; i++)
        if (kb_segment_has_fd(d->segs[i])) return true;
    return false;
}

/* Frees the slot once nothing of the log is open, else looks again in a
 * second: the last unpin (a send finishing on any I/O thread) closes the
 * file but cannot call into the loop. */
static void release_once_closed(kb_log_deletion_t *d) {
    struct timeval tv = {BUSY_RECHECK_MS / 1000, (BUSY_RECHECK_MS % 1000) * 1000};
    if (!any_segment_open(d)) slot_release(d, true);
    else evtimer_add(d->closed_timer, &tv);
}

static void on_closed_recheck(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    release_once_closed(arg);
}

/* After step 1 (nothing of the flusher uses the segments any more): no
 * segment is active, so each .log closes as soon as no pin holds it. */
static void close_segments(kb_log_deletion_t *d) {
    for (size_t i = 0; i < d->n_segs; i++) kb_segment_deactivate(d->segs[i]);
    release_once_closed(d);
}

/* Partition dirs are flat: their files, then the dir (on the worker). */
static int remove_dir(const char *path) {
    char file[PATH_LEN];
    DIR *dir = opendir(path);
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, e->d_name) < sizeof(file)) unlink(file);
    }
    if (dir) closedir(dir);
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Step 2, on the deleter thread: the last references of the segments
 * (closing their files and mappings), then the files and the dir. */
static void remove_run(void *arg) {
    kb_log_deletion_t *d = arg;
    for (size_t i = 0; i < d->n_segs; i++) kb_segment_unref(d->segs[i]);
    d->n_segs = 0;
    d->rc = remove_dir(d->path);
    if (d->rc != 0) d->rc = errno;
}

/* Step 3, on the loop. */
static void remove_done(void *arg, bool cancelled) {
    kb_log_deletion_t *d = arg;
    kb_log_stats_t *stats = kb_logmgr_stats_mut(d->m);
    if (cancelled) kc_info("log", "%s is left for the next start to remove", d->path);
    else if (d->rc) kc_warn("log", "cannot remove %s: %s", d->path, strerror(d->rc));
    else kc_info("log", "deleted %s", d->path);
    if (!cancelled && !d->rc) stats->logs_deleted++;
    stats->log_deletions_pending--;
    slot_release(d, !cancelled); /* the worker dropped the last references: closed */
    deletion_unlink(d);
    deletion_free(d);
}

/* A range handed to a sender, or a timestamp search, still holds it. */
static bool still_held(const kb_log_deletion_t *d) {
    if (d->log->searches > 0) return true;
    for (size_t i = 0; i < d->n_segs; i++)
        if (atomic_load(&d->segs[i]->refs) > 1) return true;
    return false;
}

static void wait_for_lanes(kb_log_deletion_t *d);

static void on_delay_over(evutil_socket_t fd, short what, void *arg) {
    kb_log_deletion_t *d = arg;
    struct timeval tv = ms_tv(BUSY_RECHECK_MS);
    kb_worker_t *w = kb_logmgr_deleter(d->m);
    if (!d->drained) {
        wait_for_lanes(d); /* the first try ran out of memory */
        return;
    }
    if (still_held(d)) {
        evtimer_add(d->timer, &tv);
        return;
    }
    d->job = (kb_worker_job_t){.run = remove_run, .done = remove_done, .arg = d};
    if (!w || kb_worker_submit(w, &d->job) != 0) {
        kc_warn("log", "%s: cannot start its removal; trying again", d->path);
        evtimer_add(d->timer, &tv);
    }
}

/* Step 1's end: everything queued for the log before its deletion is done
 * (the flusher calls this on the loop, or at shutdown on the thread
 * stopping it). */
static void lane_drained(void *arg, int rc) {
    kb_log_deletion_t *d = arg;
    kb_log_t *log = d->log;
    struct timeval tv = ms_tv(log->cfg.file_delete_delay_ms);
    if (--d->draining > 0 || !d->lane_waited || !d->manager_waited) return;
    kb_flusher_forget(kb_logmgr_flusher(d->m), log);
    d->segs = log->segs; /* the list's references move here */
    d->n_segs = log->n_segs;
    log->segs = NULL;
    log->n_segs = log->cap_segs = 0;
    d->drained = true;
    close_segments(d);
    evtimer_add(d->timer, &tv);
}

/* Waits for the log's lane (its fsyncs and producer snapshots) and the
 * manager's (its leader-epoch checkpoints, whose jobs point at the log);
 * out of memory, the timer tries again. */
static void wait_for_lanes(kb_log_deletion_t *d) {
    struct timeval tv = ms_tv(BUSY_RECHECK_MS);
    kb_flusher_t *f = kb_logmgr_flusher(d->m);
    if (!d->lane_waited && kb_flusher_wait(f, d->log, -1, lane_drained, d) == 0) {
        d->lane_waited = true;
        d->draining++;
    }
    if (!d->manager_waited && kb_flusher_wait(f, NULL, -1, lane_drained, d) == 0) {
        d->manager_waited = true;
        d->draining++;
    }
    if (d->lane_waited && d->manager_waited) return;
    kc_warn("log", "%s: out of memory waiting for its flushes; trying again", d->path);
    evtimer_add(d->timer, &tv);
}

/* ---- entry points ---- */

static kb_log_deletion_t *deletion_new(kb_logmgr_t *m, kb_log_t *log) {
    char path[PATH_LEN];
    if (delete_dir_name(log, path, sizeof(path)) != 0) return NULL;
    size_t n = strlen(path) + 1;
    kb_log_deletion_t *d = calloc(1, sizeof(*d) + n);
    if (!d) return NULL;
    d->m = m;
    memcpy(d->path, path, n);
    d->timer = evtimer_new(kb_logmgr_base(m), on_delay_over, d);
    d->closed_timer = evtimer_new(kb_logmgr_base(m), on_closed_recheck, d);
    if (!d->timer || !d->closed_timer) {
        deletion_free(d); /* without the log, which stays as it is */
        return NULL;
    }
    d->log = log;
    return d;
}

int kb_logmgr_delete(kb_logmgr_t *m, const char *topic, int32_t partition) {
    kb_log_t *log = kb_logmgr_get(m, topic, partition);
    kb_log_deletion_t *d;
    if (!log) return 1;
    if (!(d = deletion_new(m, log))) {
        kc_error("log", "cannot delete %s: out of memory (or no random bytes for its new name)", log->path);
        errno = ENOMEM;
        return -1;
    }
    /* Retired segments and the flusher stop using its paths before the
     * dir moves (a write the flusher has already begun may still miss). */
    kb_retention_orphan(kb_logmgr_retention(m), log->path);
    atomic_store(&log->deleted, true);
    if (rename(log->path, d->path) != 0) {
        int saved = errno;
        atomic_store(&log->deleted, false);
        kc_error("log", "cannot rename %s to %s for its deletion: %s", log->path, d->path, strerror(saved));
        d->log = NULL;
        deletion_free(d);
        errno = saved;
        return -1;
    }
    /* log->path keeps the old name (log->name points into it): nothing
     * opens a file of a deleted log by path any more. */
    kb_logmgr_unlink(m, log);
    d->next = *kb_logmgr_deletions(m);
    *kb_logmgr_deletions(m) = d;
    kb_logmgr_stats_mut(m)->log_deletions_pending++;
    /* Its active segment is still open: the slot the table gave up stays
     * taken (kb_logmgr_log_count) until close_segments finds it closed. */
    d->holds_slot = true;
    kb_logmgr_stats_mut(m)->log_deletions_open++;
    kc_info("log", "deleting %s-%" PRId32 ": its dir is now %s, removed in %" PRId64 " ms", topic, partition,
            d->path, log->cfg.file_delete_delay_ms);
    wait_for_lanes(d);
    return 0;
}

void kb_logdelete_free_all(kb_logmgr_t *m) {
    kb_log_deletion_t **head = kb_logmgr_deletions(m);
    while (*head) {
        kb_log_deletion_t *d = *head;
        *head = d->next;
        deletion_free(d);
    }
}
