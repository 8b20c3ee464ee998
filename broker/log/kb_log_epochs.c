/*
 * kb_log_epochs.c - a log's leader-epoch cache (zk-and-replication.md 3.7)
 * kept in step with its batches and persisted as
 * <partition dir>/leader-epoch-checkpoint (4.5):
 *
 *     0              format version
 *     2              number of entries
 *     0 0            epoch SP start offset
 *     3 368769
 *
 * The rules themselves are pure (kb_epoch_cache.c); this file applies them
 * where the log changes: appends (kb_log.c), the log start moving
 * (retention, DeleteRecords), truncation (kb_log_truncate.c), load and
 * recovery, and answers the questions the replica layer asks.  It knows
 * nothing of replication beyond the numbers it is handed.
 *
 * Persistence.  Kafka writes the file (tmp, fsync, rename) on every change,
 * on the request thread.  Here a change only marks the log dirty and links
 * it on the manager's list; an event at the end of the loop turn queues one
 * write per dirty log on the flusher, so the 3,000 become-leader calls of a
 * failover cost the loop 3,000 small formats and no fsync.  The writes go
 * to the manager's lane, where the recovery-point checkpoint is written
 * too, and a flush request queues a dirty cache's write before its own
 * fsyncs: a recovery point can only pass an entry after that entry's
 * write was queued, so every recovery-point-offset-checkpoint, queued
 * later on the same in-order lane, lands after it.  After a crash the
 * segments below the checkpointed recovery point are trusted, and the
 * file covers their epochs; the rest is rescanned, and recovery re-derives
 * the entries of every batch it rescans.  A clean shutdown writes what is
 * still dirty once the flusher has stopped, before the clean marker.
 * Keeping these writes off the logs' lanes also keeps them out of the way
 * of the fsyncs a flush.messages produce waits for.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/kb_log_internal.h"
#include "common/kc_log.h"

#define EPOCH_FILE "leader-epoch-checkpoint"
#define EPOCH_PATH_LEN 4096

static void epoch_path(const kb_log_t *log, char *buf, size_t len) { snprintf(buf, len, "%s/" EPOCH_FILE, log->path); }

/* Kafka's text, in a new heap buffer (NULL when out of memory). */
static char *format_epochs(const kb_epoch_cache_t *c, size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    if (!f) return NULL;
    fprintf(f, "0\n%zu\n", c->n);
    for (size_t i = 0; i < c->n; i++) fprintf(f, "%" PRId32 " %" PRId64 "\n", c->v[i].epoch, c->v[i].start_offset);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static int write_epochs_now(const kb_log_t *log) {
    char path[EPOCH_PATH_LEN];
    size_t len = 0;
    char *text = format_epochs(&log->epochs, &len);
    int rc = -1;

    epoch_path(log, path, sizeof(path));
    if (text) rc = kb_checkpoint_write_text(path, text, len);
    static kc_ratelimit_t write_rl;
    if (rc != 0)
        kc_log_limited(&write_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "cannot write %s: %s", path,
                       text ? strerror(errno) : "out of memory");
    free(text);
    return rc;
}

/* ------------------------------------------------------------ loading */

/* What the reader builds: entries must increase strictly in both fields
 * (as assign keeps them); anything else makes the file unusable. */
typedef struct epoch_reader {
    kb_epoch_cache_t *cache;
    bool bad;
} epoch_reader_t;

static void read_entry(void *arg, int32_t epoch, int64_t start) {
    epoch_reader_t *r = arg;
    const kb_epoch_cache_t *c = r->cache;

    if (r->bad) return;
    if (c->n && (epoch <= c->v[c->n - 1].epoch || start <= c->v[c->n - 1].start_offset)) r->bad = true;
    else if (kb_epoch_cache_assign(r->cache, epoch, start) != 1) r->bad = true;
}

/* Kafka's segment recovery rule: a rescanned batch adds its epoch when it
 * is above the latest one. */
static int rescan_batch(void *arg, const kp_batch_header_t *h) {
    kb_epoch_cache_t *c = arg;

    if (h->partition_leader_epoch >= 0 && h->partition_leader_epoch > kb_epoch_cache_latest(c) &&
        kb_epoch_cache_assign(c, h->partition_leader_epoch, h->base_offset) < 0)
        return -1;
    return 0;
}

/* True when an entry was added. */
static bool rescan(kb_log_t *log, int64_t from) {
    size_t before = log->epochs.n;
    int32_t latest = kb_epoch_cache_latest(&log->epochs);
    int rc = 0;

    for (size_t i = kb_log_floor_segment(log, from); rc == 0 && i < log->n_segs; i++)
        rc = kb_segment_scan_headers(log->segs[i], from, rescan_batch, &log->epochs);
    if (rc != 0) kc_error("log", "%s: leader epochs: the batch header scan stopped early", log->name);
    return log->epochs.n != before || kb_epoch_cache_latest(&log->epochs) != latest;
}

/* Reads the file into the cache: 0, 1 when it was missing, -1 (logged,
 * cache empty) when it is unusable. */
static int read_epochs(kb_log_t *log, const char *path) {
    epoch_reader_t r = {&log->epochs, false};
    char why[EPOCH_PATH_LEN + 256];
    bool missing = false;
    int rc = kb_checkpoint_read_epochs(path, read_entry, &r, &missing, why, sizeof(why));

    if (rc == 0 && r.bad) {
        snprintf(why, sizeof(why), "%s: entries not strictly increasing", path);
        rc = -1;
    }
    if (rc == 0) return missing ? 1 : 0;
    kb_epoch_cache_clear(&log->epochs);
    kc_warn("log", "%s: unusable %s (%s): rebuilding it from the batch headers", log->name, EPOCH_FILE, why);
    return -1;
}

void kb_log_load_epochs(kb_log_t *log, int64_t rescan_from) {
    char path[EPOCH_PATH_LEN];
    bool changed = false;
    int rc;

    epoch_path(log, path, sizeof(path));
    rc = read_epochs(log, path);
    if (rc < 0) {
        rescan_from = log->log_start_offset;
        changed = true;
    }
    /* Kafka 2.6 creates the file empty when its owner starts. */
    if (rc == 1 && kb_checkpoint_touch(path) != 0) kc_warn("log", "cannot create %s: %s", path, strerror(errno));
    /* Entries past what survived recovery go before the rescan re-derives
     * them from the batches that are really there. */
    changed |= kb_epoch_cache_truncate_from_end(&log->epochs, log->log_end_offset);
    if (rescan_from >= 0) changed |= rescan(log, rescan_from);
    changed |= kb_epoch_cache_truncate_from_start(&log->epochs, log->log_start_offset);
    if (changed) write_epochs_now(log);
}

/* ------------------------------------------------------- persistence */

void kb_log_epochs_changed(kb_log_t *log) {
    if (log->epochs_dirty) return;
    log->epochs_dirty = true;
    if (!kb_logmgr_epochs_dirty(log->mgr, log)) kb_log_save_epochs_now(log);
}

static void mark_clean(kb_log_t *log) {
    kb_logmgr_epochs_clean(log->mgr, log);
    log->epochs_dirty = false;
}

void kb_log_save_epochs_now(kb_log_t *log) {
    if (!log->epochs_dirty) return;
    mark_clean(log);
    write_epochs_now(log);
}

void kb_log_save_epochs(kb_log_t *log) {
    kb_flusher_t *f = kb_logmgr_flusher(log->mgr);
    kb_flush_job_t *job;
    char path[EPOCH_PATH_LEN];

    if (!log->epochs_dirty) return;
    if (!f) {
        kb_log_save_epochs_now(log);
        return;
    }
    mark_clean(log);
    epoch_path(log, path, sizeof(path));
    size_t len = 0;
    char *text = format_epochs(&log->epochs, &len);
    /* Lane NULL: the manager's lane (see the top of the file). */
    if (!(job = kb_flush_job_new(log, NULL, path, text, len))) return;
    kb_logmgr_stats_mut(log->mgr)->epoch_checkpoint_writes++;
    kb_flusher_submit(f, job);
}

/* ------------------------------------------------------------ changes */

void kb_log_note_epoch(kb_log_t *log, int32_t epoch, int64_t base_offset) {
    int rc = kb_epoch_cache_assign(&log->epochs, epoch, base_offset);

    if (rc < 0) kc_error("log", "%s: out of memory recording leader epoch %" PRId32, log->name, epoch);
    if (rc > 0) kb_log_epochs_changed(log);
}

void kb_log_epochs_log_start_moved(kb_log_t *log) {
    if (kb_epoch_cache_truncate_from_start(&log->epochs, log->log_start_offset)) kb_log_epochs_changed(log);
}

/* ------------------------------------------------------- public API */

int32_t kb_log_latest_epoch(const kb_log_t *log) { return kb_epoch_cache_latest(&log->epochs); }

void kb_log_begin_epoch(kb_log_t *log, int32_t epoch) {
    if (epoch < 0 || kb_epoch_cache_latest(&log->epochs) >= epoch) return;
    kb_log_note_epoch(log, epoch, log->log_end_offset);
}

int64_t kb_log_epoch_start(const kb_log_t *log, int32_t epoch) { return kb_epoch_cache_start_of(&log->epochs, epoch); }

void kb_log_end_offset_for_epoch(const kb_log_t *log, int32_t epoch, int32_t *out_epoch, int64_t *out_end_offset) {
    kb_epoch_cache_end_offset_for(&log->epochs, log->log_end_offset, epoch, out_epoch, out_end_offset);
}

bool kb_log_truncation_point(const kb_log_t *log, int32_t reply_epoch, int64_t reply_end_offset, int64_t *offset) {
    return kb_epoch_cache_truncation_point(&log->epochs, log->log_end_offset, log->high_watermark, reply_epoch,
                                           reply_end_offset, offset);
}
