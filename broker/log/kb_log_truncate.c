/*
 * kb_log_truncate.c - cutting a log back (kb_log_truncate_to: a follower
 * whose tail diverged from its new leader's, zk-and-replication.md 3.7) and
 * restarting it empty elsewhere (kb_log_reset_to: a follower out of range,
 * 3.8), as Kafka's Log.truncateTo and truncateFullyAndStartAt do.
 *
 * Everything that describes the log's tail follows the cut: the segment
 * list, the cut segment's indexes and timestamps, the log end offset, high
 * watermark and recovery point, the leader-epoch cache, the producer table
 * and its snapshots, and the flush bookkeeping.
 *
 * Files.  Segments wholly above the cut leave the list and go the way
 * retention's do (a sender that holds one keeps reading it; the files are
 * removed after file.delete.delay.ms), except that their files are renamed
 * to <name>.deleted here, at once, rather than by the deleter thread: the
 * log may soon roll a new segment with the very same base offset, whose
 * files a late rename would carry away.  The segment holding the cut is
 * cut in place (truncate(2)) unless a send of it is in flight: a file that
 * shrinks under a queued sendfile ends that connection, so it is renamed
 * away like the others and the bytes it keeps are copied into a new
 * segment of the same name and reindexed.  That copy (and the fsync of its
 * rebuild) runs on the loop; it costs up to one segment, and happens only
 * when a former leader cuts a segment while a range it handed out past the
 * cut is still being sent (kb_segment_t.sent_upto): consumers read below
 * the high watermark, which a cut rarely passes, so it is mostly the last
 * answers to its former followers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/kb_log_internal.h"
#include "broker/log/kb_producer_state.h"
#include "common/kc_log.h"

/* --------------------------------------------------------- flush marker */

static void flush_marker_done(void *arg, int rc) {
    kb_log_t *log = arg;

    (void)rc;
    if (--log->flush_cap_markers == 0) log->flush_cap = INT64_MAX;
}

/* Flush requests queued before now may complete with targets past the new
 * end: their completions are capped (kb_log_flush_finished) until a request
 * queued now, behind them, completes. */
static void cap_older_flushes(kb_log_t *log, int64_t end) {
    kb_flusher_t *f = kb_logmgr_flusher(log->mgr);

    if (end < log->flush_cap) log->flush_cap = end;
    if (!f) return;
    log->flush_cap_markers++;
    if (kb_flusher_wait(f, log, end, flush_marker_done, log) != 0)
        kc_error("log", "%s: out of memory queueing a flush marker; the recovery point stays at %" PRId64, log->name,
                 end); /* the cap then stays: safe, only more to recover */
}

/* The offsets below end are as fsynced as before, the ones above are gone:
 * the segment holding the cut (index i) must be queued again. */
static void lower_flush_marks(kb_log_t *log, size_t i, int64_t end) {
    if (log->recovery_point > end) log->recovery_point = end;
    if (log->flush_target > end) log->flush_target = end;
    log->flush_queued_base = log->segs[i]->base_offset;
    log->flush_queued_size = -1;
    cap_older_flushes(log, end);
}

/* ------------------------------------------------------------- segments */

/* Takes segs[from..] out of the list: renamed away now (see the top),
 * then handed to retention.  The caller has sealed the active one, while
 * its index files still carried its name. */
static void retire_from(kb_log_t *log, size_t from) {
    size_t n = log->n_segs - from;
    kb_segment_t **out = n ? malloc(n * sizeof(*out)) : NULL;

    if (n == 0) return;
    for (size_t j = 0; j < n; j++) {
        kb_segment_t *s = log->segs[from + j];
        if (!s->renamed && kb_segment_rename_deleted(s) != 0)
            kc_warn("log", "%s: %s could not be renamed; deleted under its name", log->name, s->path);
        if (out) out[j] = s;
        else kb_segment_delete(s); /* out of memory: no delay, but a sender still keeps its fd */
    }
    log->n_segs = from;
    if (out) kb_retention_retire(log, out, n);
    free(out);
}

/* The segment at index i is being sent: a new segment of the same name
 * takes the first pos bytes, the old one is retired with its files
 * renamed away (its sender keeps them). */
static int replace_cut(kb_log_t *log, size_t i, off_t pos) {
    kb_segment_t *old = log->segs[i], *s;
    uint64_t truncated = 0;
    bool was_active = old->active;

    kb_segment_deactivate(old);
    if (kb_segment_rename_deleted(old) != 0) return -1;
    s = kb_segment_create(log->path, old->base_offset, &log->cfg);
    if (!s || kb_segment_copy_prefix(s, old, pos) != 0 ||
        kb_segment_recover(s, &log->cfg, log->name, &truncated) != 0) {
        kc_error("log", "%s: cannot copy %s.log for a truncation: %s", log->name, old->path, strerror(errno));
        if (s) kb_segment_delete(s);
        kb_segment_unrename(old);
        if (was_active) kb_segment_activate(old, &log->cfg);
        return -1;
    }
    log->segs[i] = s;
    if (kb_retention_retire(log, &old, 1) != 0) kc_warn("log", "%s: %s deleted at once", log->name, old->path);
    return 0;
}

/* Cuts segs[i] at pos (cut_offset: see kb_segment_truncate). */
static int cut_segment(kb_log_t *log, size_t i, off_t pos, int64_t cut_offset) {
    kb_segment_t *s = log->segs[i];
    int rc;

    if (pos < s->sent_upto && atomic_load(&s->sending) > 0) return replace_cut(log, i, pos);
    rc = kb_segment_truncate(s, pos, cut_offset, &log->cfg);
    if (rc != 0) kc_error("log", "%s: cannot truncate %s.log: %s", log->name, s->path, strerror(errno));
    return rc;
}

/* Bytes from position pos of segs[i] to the end of the log. */
static int64_t bytes_from(const kb_log_t *log, size_t i, off_t pos) {
    int64_t n = (int64_t)(log->segs[i]->size - pos);

    for (size_t j = i + 1; j < log->n_segs; j++) n += (int64_t)log->segs[j]->size;
    return n;
}

/* ------------------------------------------------------------ the state */

/* Producer snapshots past the new end describe batches that are gone:
 * those on disk are deleted by the reload, and those still queued for
 * writing (at a retired segment's base, or the newest one) are deleted on
 * the log's flusher lane after their write. */
static void forget_snapshots_after(kb_log_t *log, int64_t end, const int64_t *bases, size_t n) {
    for (size_t j = 0; j < n; j++)
        if (bases[j] > end) kb_log_unlink_snapshot_async(log, bases[j]);
    if (log->snapshot_offset > end) kb_log_unlink_snapshot_async(log, log->snapshot_offset);
    kb_log_reload_producers(log);
}

/* A log restarted empty has no producer state: every snapshot goes, the
 * ones on disk now, the ones still queued for writing after their write. */
static void drop_all_snapshots(kb_log_t *log, const int64_t *bases, size_t n) {
    int64_t *on_disk = NULL;
    size_t k = 0;

    for (size_t j = 0; j < n; j++) kb_log_unlink_snapshot_async(log, bases[j]);
    if (log->snapshot_offset >= 0) kb_log_unlink_snapshot_async(log, log->snapshot_offset);
    if (kb_log_list_snapshots(log, &on_disk, &k) == 0)
        for (size_t j = 0; j < k; j++) kb_log_delete_snapshot(log, on_disk[j]);
    free(on_disk);
    kb_producers_clear(log->producers);
    log->snapshot_offset = -1;
}

/* The offsets after the segment list changed: log end, log start (Kafka
 * lowers it too, should the cut be below it), high watermark, epochs. */
static void set_end(kb_log_t *log, int64_t end) {
    log->log_end_offset = end;
    if (log->log_start_offset > end) log->log_start_offset = end;
    kb_log_set_high_watermark(log, log->high_watermark);
    if (kb_epoch_cache_truncate_from_end(&log->epochs, end)) kb_log_epochs_changed(log);
}

/* The base offsets of segs[from..], for forget_snapshots_after (NULL with
 * *n 0 when there are none or memory is short: then only the newest). */
static int64_t *bases_from(const kb_log_t *log, size_t from, size_t *n) {
    int64_t *v = log->n_segs > from ? malloc((log->n_segs - from) * sizeof(*v)) : NULL;

    *n = 0;
    for (size_t j = from; v && j < log->n_segs; j++) v[(*n)++] = log->segs[j]->base_offset;
    return v;
}

/* ------------------------------------------------------------ reset */

static int64_t log_bytes(const kb_log_t *log) { return bytes_from(log, 0, 0); }

/* Every segment retires and a new empty one starts at offset.  When one
 * of them already has that base offset, its files are renamed away before
 * the new ones are created (and back should that fail). */
static int restart_empty(kb_log_t *log, int64_t offset) {
    size_t n_bases = 0, clash = log->n_segs;
    int64_t *bases = bases_from(log, 0, &n_bases);
    kb_segment_t *s;

    for (size_t j = 0; j < log->n_segs; j++)
        if (log->segs[j]->base_offset == offset) clash = j;
    kb_segment_seal(log->segs[log->n_segs - 1]); /* while its files have their names */
    if (clash < log->n_segs && kb_segment_rename_deleted(log->segs[clash]) != 0) clash = log->n_segs;
    s = kb_segment_create(log->path, offset, &log->cfg);
    if (!s) {
        kc_error("log", "%s: cannot start a new segment at %" PRId64 ": %s", log->name, offset, strerror(errno));
        if (clash < log->n_segs) kb_segment_unrename(log->segs[clash]);
        kb_segment_activate(log->segs[log->n_segs - 1], &log->cfg);
        free(bases);
        return -1;
    }
    retire_from(log, 0);
    kb_log_push_segment(log, s); /* cannot fail: the array had room for the old ones */
    log->log_start_offset = offset;
    set_end(log, offset);
    kb_epoch_cache_clear(&log->epochs);
    kb_log_epochs_changed(log);
    lower_flush_marks(log, 0, offset);
    log->recovery_point = log->flush_target = offset;
    drop_all_snapshots(log, bases, n_bases);
    free(bases);
    kb_log_save_epochs(log);
    return 0;
}

int kb_log_reset_to(kb_log_t *log, int64_t offset) {
    int64_t from = log->log_start_offset, to = log->log_end_offset, bytes = log_bytes(log);

    if (offset < 0) {
        errno = EINVAL;
        return -1;
    }
    if (restart_empty(log, offset) != 0) return -1;
    log->high_watermark = offset;
    kb_logmgr_save_recovery_point(log->mgr, log->dir);
    kc_info("log", "%s: restarted empty at offset %" PRId64 ": discarded offsets [%" PRId64 ", %" PRId64
                   ") and %" PRId64 " bytes",
            log->name, offset, from, to, bytes);
    return 0;
}

/* --------------------------------------------------------- truncate */

/* Where the cut goes: position pos in segs[i], the new log end in *end
 * (the first batch removed starts there, or offset is in a gap after the
 * last batch kept).  0 or -1. */
static int find_cut(kb_log_t *log, int64_t offset, size_t *i, off_t *pos, int64_t *end) {
    kp_batch_header_t h;
    int rc;

    *i = kb_log_floor_segment(log, offset);
    rc = kb_segment_locate(log->segs[*i], offset, 0, pos, &h);
    if (rc < 0) return -1;
    *end = rc == 0 && h.base_offset < offset ? h.base_offset : offset;
    return 0;
}

int kb_log_truncate_to(kb_log_t *log, int64_t offset) {
    int64_t to = log->log_end_offset, end, bytes, *bases;
    size_t i, n_bases = 0;
    off_t pos;

    if (offset < 0) {
        errno = EINVAL;
        return -1;
    }
    if (offset >= log->log_end_offset) {
        /* No record goes, but an epoch this broker began as leader without
         * appending to it (it starts at the log end offset) does, as in
         * Kafka: a follower keeping it would ask its leader about it again
         * and again. */
        if (kb_epoch_cache_truncate_from_end(&log->epochs, log->log_end_offset)) kb_log_epochs_changed(log);
        return 0;
    }
    if (offset < log->segs[0]->base_offset) return kb_log_reset_to(log, offset);
    if (find_cut(log, offset, &i, &pos, &end) != 0) return -1;
    bytes = bytes_from(log, i, pos);
    bases = bases_from(log, i + 1, &n_bases);
    if (i + 1 < log->n_segs) kb_segment_seal(log->segs[log->n_segs - 1]);
    if (cut_segment(log, i, pos, end) != 0) {
        if (i + 1 < log->n_segs) kb_segment_activate(log->segs[log->n_segs - 1], &log->cfg);
        free(bases);
        return -1;
    }
    retire_from(log, i + 1);
    set_end(log, end);
    lower_flush_marks(log, i, end);
    forget_snapshots_after(log, end, bases, n_bases);
    free(bases);
    kb_log_save_epochs(log); /* queued ahead of any checkpoint of the lowered recovery point */
    kb_logmgr_save_recovery_point(log->mgr, log->dir);
    kc_info("log", "%s: truncated to offset %" PRId64 ": discarded offsets [%" PRId64 ", %" PRId64 ") and %" PRId64
                   " bytes",
            log->name, end, end, to, bytes);
    return 0;
}
