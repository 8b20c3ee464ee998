/*
 * kb_log_internal.h - the structures the files of broker/log share, and the
 * functions they call in each other.  Nothing outside broker/log includes
 * this (the unit tests excepted).
 *
 * Who owns what:
 *   - the manager (kb_logmgr.c) owns the log dirs, their lock fds and every
 *     kb_log_t, kept in a hash table by topic-partition;
 *   - a log (kb_log.c) owns its array of segments, sorted by base offset;
 *     the last one is the active segment, the only one appended to;
 *   - a segment (kb_segment.c) is reference counted: the log's array holds
 *     one reference, every range handed to a sender and every queued fsync
 *     job one more, so its files and mappings stay until the last user lets
 *     go; its one descriptor (the .log) is open while the segment is active
 *     or pinned (a range holds a pin as well as a reference);
 *   - a log created at run time (kb_logcreate.c) belongs to its creation
 *     job until the job's completion, on the loop, inserts it in the table;
 *   - the flusher (kb_flusher.c) owns its queued work: per log a queue of
 *     items (an fsync holds a segment reference, a file write its job)
 *     and the requests waiting for them;
 *   - retention (kb_retention.c) owns the segments it took out of a log
 *     (the log's reference moves to it) until their deletion delay is over.
 *
 * Threads: everything runs on the manager's event loop except the body of
 * a flush item (fdatasync, checkpoint write), which runs on the flusher
 * thread and touches only fds and the item's own memory, the building of a
 * log created at run time (mkdir, files, index blocks), which runs on the
 * creation worker and touches only the log it builds, the body of a
 * timestamp search (kb_log_timestamp.c), which preads a referenced
 * segment's fd on a worker thread, and retention's
 * renames and unlinks of deleted segments, which run on its deleter thread
 * (kb_retention.c) on segments already out of every log.  Segment reference
 * counts are atomic because the last reference of a range may be dropped by
 * a connection on another I/O loop.
 */
#ifndef KB_LOG_INTERNAL_H
#define KB_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/log/kb_epoch_cache.h"
#include "broker/log/kb_log.h"

#define KB_OFFSET_ENTRY_SIZE 8 /* relative offset int32 + position int32 */
#define KB_TIME_ENTRY_SIZE 12  /* timestamp int64 + relative offset int32 */
#define KB_SEGMENT_NAME_DIGITS 20
#define KB_NO_TIMESTAMP (-1)

/* ------------------------------------------------------------ segments */

/* One memory-mapped sparse index file (.index or .timeindex).  The mapping
 * covers the whole file: the preallocated size for the active segment, the
 * used size once trimmed.  Only the first `entries` entries are valid.  No
 * descriptor stays open: the file is opened by path to resize, allocate or
 * sync it and closed again (Kafka keeps only the mapping too).
 *
 * The active segment's file is extended sparsely, and disk blocks are
 * allocated (posix_fallocate) in chunks before entries reach them:
 * `allocated` bytes from the start are known to have blocks, and no entry
 * is ever written past it, since a store into a hole of a full filesystem
 * through the mapping is a SIGBUS, not an error. */
typedef struct kb_index {
    uint8_t *map; /* NULL when map_bytes == 0 */
    size_t map_bytes;
    size_t allocated;
    size_t entries;
    size_t entry_size;
    const char *suffix; /* ".index" or ".timeindex" */
} kb_index_t;

struct kb_segment {
    int64_t base_offset;
    int64_t next_offset; /* one past the last offset stored (base when empty) */
    /* The .log, open only while needed: always for the active segment,
     * otherwise while pinned (kb_segment_pin) by a read, a range handed to
     * a sender or a sync, so a broker holds one descriptor per partition
     * rather than three per segment.  fd, fd_users and active are guarded
     * by fd_lock (ranges are released on any I/O thread, syncs run on the
     * flusher); a holder of a pin may read fd without it. */
    int fd;
    int fd_users;
    bool active;
    pthread_mutex_t fd_lock;
    off_t size;          /* bytes of whole batches; appends go here */
    kb_index_t offset_index;
    kb_index_t time_index;
    int64_t max_timestamp;           /* largest batch max_timestamp, or -1 */
    int64_t offset_of_max_timestamp; /* last offset of the batch that set it */
    int64_t rolling_timestamp;       /* max_timestamp of the first batch, or -1 */
    int64_t created_ms;              /* wall clock, for log.roll.ms without timestamps */
    size_t bytes_since_index;        /* bytes appended since the last offset index entry */
    char *path;                      /* "<partition dir>/<20-digit base>", no suffix */
    bool index_warned;               /* an index entry was skipped (disk full), logged once */
    /* The index files are not as a previous clean shutdown left them: the
     * segment was created or rebuilt, or an entry was added, since it was
     * opened.  Trimmed, they then differ from what was last fsynced, so a
     * clean shutdown that seals the segment must fsync it (kb_log.c);
     * never cleared.  Written with the indexes (on the loop, or by the
     * thread building a new log before the loop sees it). */
    bool indexes_changed;
    atomic_int refs;
    /* Ranges handed to senders and not yet released (kb_log_read): while
     * it is above 0 the .log must not shrink under them, so a truncation
     * replaces the file instead of cutting it (kb_log_truncate.c). */
    atomic_int sending;
    /* The furthest byte any range handed out reached (never lowered; the
     * loop's alone): a cut at or past it shrinks no range being sent, even
     * while `sending` is above 0, so the file is cut in place. */
    off_t sent_upto;
    bool deleted; /* unlink the files when the last reference goes */
    bool renamed; /* retention renamed the files to <name>.deleted (deleter thread) */
    /* Its log was deleted (kb_logdelete.c) while retention still held it:
     * its paths are no longer its own, so it is neither renamed nor
     * unlinked by them (the log's dir removal takes its files).  Under
     * fd_lock, which the rename and the unlinks hold. */
    bool orphaned;
    /* Set on a retired segment once its deletion delay has passed (on the
     * loop, before the retirer drops its reference): the last reference
     * then calls it instead of freeing the segment inline, so that the
     * close and unlink happen on retention's deleter thread
     * (kb_retention.c). */
    void (*on_last_ref)(kb_segment_t *s, void *arg);
    void *on_last_ref_arg;
};

/* A new, empty segment with preallocated indexes (the active one): its
 * .log stays open.  NULL (files removed again, errno set, nothing logged:
 * the caller says what failed) when a file cannot be created or the first
 * chunk of index space cannot be allocated (ENOSPC on a full disk). */
kb_segment_t *kb_segment_create(const char *dir, int64_t base_offset, const kb_log_config_t *lc);
/* Opens an existing segment.  Unless *needs_recovery is already set, its
 * indexes are checked and its next offset found from the last index entry;
 * an index that fails the check sets *needs_recovery (rebuild by scan).
 * The .log comes back open and pinned once for the caller, who unpins it
 * when done loading (after kb_segment_activate for the last segment). */
kb_segment_t *kb_segment_open(const char *dir, int64_t base_offset, bool *needs_recovery);
/* Rescans the .log: every whole, CRC-valid batch in offset order is kept
 * and indexed again; the file is cut at the first byte that is not, the cut
 * logged under `name` (topic-partition) and its byte count stored in
 * *truncated.  The segment is fsynced afterwards.  Returns 0 or -1 (I/O). */
int kb_segment_recover(kb_segment_t *s, const kb_log_config_t *lc, const char *name, uint64_t *truncated);
/* Makes the segment appendable again (indexes extended to their maximum,
 * sparsely; the .log kept open) or read-only (final time index entry,
 * indexes trimmed to the used size, the .log closed once no pin holds it).
 * Neither needs free disk space. */
int kb_segment_activate(kb_segment_t *s, const kb_log_config_t *lc);
void kb_segment_seal(kb_segment_t *s);

/* Keeps the .log open (opening it by path, or by its .deleted name once
 * retention renamed it) until the matching unpin; any thread.  0, or -1
 * with errno when it cannot be opened. */
int kb_segment_pin(kb_segment_t *s);
void kb_segment_unpin(kb_segment_t *s);
/* Whether the .log is open now (active, or pinned by someone); any thread. */
bool kb_segment_has_fd(kb_segment_t *s);

/* True when either index has no room for another entry (forces a roll). */
bool kb_segment_index_full(const kb_segment_t *s);
/* Writes one batch (h describes it, offsets already assigned) with a
 * single pwrite at the end of the file and indexes it.  Index space the
 * entries may need is allocated first.  On failure (errno ENOSPC on a full
 * disk) the file is cut back to its previous size and -1 returned. */
int kb_segment_append(kb_segment_t *s, const uint8_t *batch, size_t size, const kp_batch_header_t *h,
                      int32_t index_interval_bytes);

/* The readers below pin the .log for their duration (a caller that reads
 * several times pins it once around them all, which saves the opens). */

/* Finds the first batch whose last offset >= offset, starting at or after
 * byte `from`: 0 with its position and header, 1 when there is none before
 * the end of the segment (*pos = size), -1 on an I/O error. */
int kb_segment_locate(kb_segment_t *s, int64_t offset, off_t from, off_t *pos, kp_batch_header_t *h);
/* The greatest batch start in (start, limit] that the offset index
 * records (its entries point at batch starts), or start when it records
 * none there.  Reads the index only. */
off_t kb_segment_batch_start_at_most(const kb_segment_t *s, off_t start, off_t limit);
/* Where the forward scan for the first record with timestamp >= ts may
 * start (Kafka's ListOffsets by time): the position of the batch that the
 * greatest time index entry at or below ts points to through the offset
 * index, else 0.  Batches before it all have smaller timestamps.  Reads
 * the indexes only (on the loop); kb_log_timestamp.c scans from there. */
off_t kb_segment_timestamp_position(const kb_segment_t *s, int64_t ts);

/* fdatasync of the .log and both indexes (flusher thread; the indexes
 * through a descriptor opened for it).  0 or -1. */
int kb_segment_sync(kb_segment_t *s);

/* Calls fn with the header of every batch whose last offset >= from, in
 * file order, reading 61-byte headers only (no record bytes, nothing
 * decompressed): how producer state is replayed.  0, or -1 when a header
 * cannot be read or fn fails. */
int kb_segment_scan_headers(kb_segment_t *s, int64_t from, int (*fn)(void *arg, const kp_batch_header_t *h),
                            void *arg);

kb_segment_t *kb_segment_ref(kb_segment_t *s);
/* Drops a reference; the last one closes (and, if deleted, unlinks) it,
 * or hands it to s->on_last_ref when that is set. */
void kb_segment_unref(kb_segment_t *s);
/* Marks the files for removal and drops the caller's reference. */
void kb_segment_delete(kb_segment_t *s);
/* Closes the files, unlinks them if s->deleted (under their .deleted names
 * if s->renamed) and frees s.  Only for the holder of the last reference. */
void kb_segment_destroy(kb_segment_t *s);
/* Renames <base>.log/.index/.timeindex to <name>.deleted (a missing index
 * is no error) and sets s->renamed once the .log is renamed.  An open fd
 * and the index mappings stay valid.  Blocking: retention's deleter thread, and truncation on the loop
 * (three renames, kb_log_truncate.c).  0 or -1. */
int kb_segment_rename_deleted(kb_segment_t *s);

/* Cuts the .log at pos (a batch boundary; the first batch cut off starts
 * at cut_offset, or cut_offset is the segment's next offset when nothing
 * is), drops the index entries of the bytes cut off, recomputes the next
 * offset and timestamps from what is kept (reading the headers after the
 * last index entry kept) and makes the segment active.  Only for a segment
 * no sender holds (s->sending == 0): the file shrinks.  0 or -1. */
int kb_segment_truncate(kb_segment_t *s, off_t pos, int64_t cut_offset, const kb_log_config_t *lc);
/* No longer the active segment, its files left exactly as they are (a
 * segment renamed away: kb_segment_seal would resize the index files that
 * now carry its name).  The .log closes once no pin holds it. */
void kb_segment_deactivate(kb_segment_t *s);
/* Undoes kb_segment_rename_deleted.  0 or -1. */
int kb_segment_unrename(kb_segment_t *s);
/* Copies the first len bytes of from's .log to the end of to's (both
 * pinned or active; copy_file_range).  0 or -1. */
int kb_segment_copy_prefix(kb_segment_t *to, kb_segment_t *from, off_t len);

/* ---------------------------------------------------------------- logs */

/* One entry of log.dirs (kb_logmgr.c). */
typedef struct kb_logdir {
    char *path;
    int lock_fd;           /* holds the flock on <path>/.lock */
    int n_partitions;      /* logs placed here: new ones go to the emptiest dir */
    bool clean_shutdown;   /* .kafka_cleanshutdown was found at start-up */
    bool log_start_unsaved; /* a log start moved: checkpoint due this loop turn */
    bool recovery_unsaved;  /* a truncation lowered a recovery point: checkpoint due this loop turn */
    bool has_meta;         /* meta.properties exists */
    int32_t meta_broker_id;
    char *meta_cluster_id; /* NULL when meta.properties has none */
} kb_logdir_t;

struct kb_log {
    kb_logmgr_t *mgr;
    kb_logdir_t *dir;
    char *topic;
    int32_t partition;
    char *path;       /* <log dir>/<topic>-<partition> */
    const char *name; /* "<topic>-<partition>", the tail of path */
    kb_log_config_t cfg;
    kb_segment_t **segs; /* sorted by base offset; segs[n_segs - 1] is active */
    size_t n_segs, cap_segs;
    int64_t log_end_offset;
    int64_t log_start_offset;
    int64_t high_watermark;
    int64_t recovery_point; /* everything below is fsynced */
    int64_t flush_target;   /* highest offset a queued flush covers (>= recovery point) */
    /* What the flusher was asked to fsync (kb_log.c log_flush_to): every
     * segment below the one based at flush_queued_base, and that one as it
     * was when its fsync was queued (flush_queued_size bytes, sealed or
     * not).  A segment is queued again only when it changed since. */
    int64_t flush_queued_base;
    off_t flush_queued_size;
    bool flush_queued_sealed;
    struct kb_flush_lane *lane; /* the flusher's queue for this log (kb_flusher.c) */
    int64_t last_flush_ms;  /* monotonic clock, for log.flush.interval.ms */
    kb_producers_t *producers; /* idempotent-producer state, kept by every append */
    int64_t snapshot_offset;   /* of the newest producer snapshot loaded, queued or written; -1: none */
    /* Flush requests queued before a truncation may complete after it,
     * with targets that covered bytes since cut off and perhaps written
     * again: until the marker request queued by the last truncation
     * completes (flush_cap_markers back at 0), a completion moves the
     * recovery point no higher than flush_cap, the lowest end a
     * truncation left meanwhile (kb_log_truncate.c). */
    int64_t flush_cap;
    int flush_cap_markers;
    /* The leader-epoch cache (kb_log_epochs.c) and its persistence: a
     * change marks it dirty and links the log on the manager's list, whose
     * event queues one write of leader-epoch-checkpoint per log at the end
     * of the loop turn; a flush request queues it first (so the recovery
     * point never passes an entry the file lacks), a clean shutdown last. */
    kb_epoch_cache_t epochs;
    bool epochs_dirty;
    kb_log_t *epochs_prev, *epochs_next; /* the manager's dirty list */
    kb_log_t *bucket_next;  /* manager's hash chain */
    /* Deleted (kb_logdelete.c): out of the table, its dir renamed; the
     * flusher thread reads it to skip the log's file writes. */
    atomic_bool deleted;
    int searches;           /* ListOffsets-by-timestamp searches holding the log (loop only) */
};

/* Checkpointed values found at start-up; -1 where a file has no entry. */
typedef struct kb_log_saved {
    int64_t recovery_point;
    int64_t high_watermark;
    int64_t log_start_offset;
} kb_log_saved_t;

/* Loads (recovering after an unclean shutdown) or creates the log in
 * dir/<topic>-<partition>.  Returns NULL with a message in err. */
kb_log_t *kb_log_load(kb_logmgr_t *m, kb_logdir_t *dir, const char *topic, int32_t partition,
                      const kb_log_config_t *lc, bool clean_shutdown, const kb_log_saved_t *saved, char *err,
                      size_t errlen);
/* Clean shutdown of one log, before its checkpoints are written: seals the
 * active segment, fsyncs the segments that may hold bytes not on disk (the
 * recovery point becomes the log end offset) and writes a producer
 * snapshot unless the newest one is at the log end.  Returns -1 if an
 * fsync failed. */
int kb_log_shutdown(kb_log_t *log);
/* Frees the log and drops its segment references (files stay as they are). */
void kb_log_free(kb_log_t *log);

/* The offset at or below which the oldest segment starts (for the log-start
 * checkpoint, written only when the log start is past it). */
int64_t kb_log_first_segment_base(const kb_log_t *log);
/* Queues a flush when log.flush.interval.ms has passed since the last one
 * and something is unflushed (the flusher's periodic check). */
void kb_log_flush_if_idle(kb_log_t *log, int64_t now_mono_ms);
/* Rolls a new, empty active segment at the log end offset (retention does
 * so before deleting every segment).  0 or -1. */
int kb_log_roll_now(kb_log_t *log);
/* Deletes the producer-state snapshots (<offset>.snapshot) below the log
 * start offset; rolls do it too, retention may call it after deleting
 * segments. */
void kb_log_prune_snapshots(kb_log_t *log);

/* Shared by kb_log.c and the files that change a log's segment list
 * (kb_log_truncate.c): the index of the last segment whose base offset is
 * <= offset (0 if none); appending a segment reference (taken over) to
 * the list; the producer table rebuilt as a load does it (snapshots
 * outside [log start, log end] deleted, the newest usable one read, the
 * batches after it replayed); the flush bookkeeping that says segment i
 * was queued as it is now. */
size_t kb_log_floor_segment(const kb_log_t *log, int64_t offset);
int kb_log_push_segment(kb_log_t *log, kb_segment_t *s);
void kb_log_reload_producers(kb_log_t *log);
void kb_log_mark_flush_queued(kb_log_t *log, size_t i);
/* The offsets of the <offset>.snapshot files of the log, ascending (the
 * caller frees them).  0 or -1. */
int kb_log_list_snapshots(const kb_log_t *log, int64_t **offsets, size_t *n);
/* Deletes the snapshot file at offset now. */
void kb_log_delete_snapshot(const kb_log_t *log, int64_t offset);
/* Queues an unlink of the snapshot at offset on the log's flusher lane,
 * behind any write of it still queued there. */
void kb_log_unlink_snapshot_async(kb_log_t *log, int64_t offset);

/* -------------------------------------------------- leader-epoch cache */

/* kb_log_epochs.c.  At the end of a load (any thread: touches only the
 * log and its dir): reads <partition dir>/leader-epoch-checkpoint, creating
 * it empty when missing; an unreadable one is logged and rebuilt from the
 * batch headers.  `rescan_from` >= 0: recovery rescanned the batches from
 * there, so their epochs are assigned as Kafka's segment recovery does.
 * Then entries at or past the log end go and the first is moved up to the
 * log start; a change is written at once (a load may block). */
void kb_log_load_epochs(kb_log_t *log, int64_t rescan_from);
/* Records (epoch, base offset) of an appended batch when it starts a new
 * epoch (kb_epoch_cache_assign's rule). */
void kb_log_note_epoch(kb_log_t *log, int32_t epoch, int64_t base_offset);
/* The log start moved: the cache follows (truncate from start). */
void kb_log_epochs_log_start_moved(kb_log_t *log);
/* The cache changed: persist it (coalesced; see struct kb_log). */
void kb_log_epochs_changed(kb_log_t *log);
/* Queues the write of a dirty cache on the log's flusher lane now. */
void kb_log_save_epochs(kb_log_t *log);
/* Writes a dirty cache synchronously (clean shutdown, flusher stopped). */
void kb_log_save_epochs_now(kb_log_t *log);

/* The manager's dirty list (kb_logmgr.c): link (and schedule the
 * end-of-turn write; false when the manager cannot, e.g. not started or
 * closing: the caller writes at once) and unlink. */
bool kb_logmgr_epochs_dirty(kb_logmgr_t *m, kb_log_t *log);
void kb_logmgr_epochs_clean(kb_logmgr_t *m, kb_log_t *log);

/* ---------------------------------------------------------------- misc */

/* Clocks: wall time in ms (timestamps) and monotonic ms (intervals). */
int64_t kb_log_now_ms(void);
int64_t kb_log_mono_ms(void);

/* ------------------------------------------------------- checkpoint files */

typedef struct kb_ckpt_entry {
    const char *topic; /* borrowed */
    int32_t partition;
    int64_t offset;
} kb_ckpt_entry_t;

/* Kafka's text form "0\n<n>\n<topic> <partition> <offset>\n..." in a new
 * heap buffer (the caller frees it), or NULL when out of memory. */
char *kb_checkpoint_format(const kb_ckpt_entry_t *e, size_t n, size_t *len);
/* Writes text to path.tmp, fsyncs it and renames it over path.  0 or -1. */
int kb_checkpoint_write_text(const char *path, const char *text, size_t len);
int kb_checkpoint_write(const char *path, const kb_ckpt_entry_t *e, size_t n);
/* Reads a checkpoint file, checking the version line and that the entry
 * count matches, then calls fn for each entry.  A missing or empty file has
 * no entries.  Returns 0, or -1 with a message in err (nothing is emitted
 * for a malformed file). */
typedef void (*kb_ckpt_fn)(void *arg, const char *topic, int32_t partition, int64_t offset);
int kb_checkpoint_read(const char *path, kb_ckpt_fn fn, void *arg, char *err, size_t errlen);
/* The same for a partition's leader-epoch-checkpoint, whose entries are
 * "epoch startOffset" (epoch in [0, INT32_MAX], offset >= 0).  *missing is
 * set when the file does not exist (no entries, 0 returned). */
typedef void (*kb_epoch_ckpt_fn)(void *arg, int32_t epoch, int64_t start_offset);
int kb_checkpoint_read_epochs(const char *path, kb_epoch_ckpt_fn fn, void *arg, bool *missing, char *err,
                              size_t errlen);
/* Creates path as an empty file if it does not exist (Kafka 2.6 does so
 * for every checkpoint file when its owner starts).  0 or -1. */
int kb_checkpoint_touch(const char *path);

/* ------------------------------------------------------------- flushing */

typedef struct kb_flusher kb_flusher_t;

/* A file for the flusher to write (tmp file, fsync, rename): one of the
 * manager's checkpoint files (log NULL), or a producer snapshot of log,
 * written after every fsync queued for that log before it.  The submitter
 * fills it; the flusher owns it from submission. */
typedef struct kb_flush_job {
    kb_log_t *log;
    /* The log whose file it writes (NULL: the manager's checkpoints): a
     * job of a log deleted since is skipped (kb_logdelete.c keeps the log
     * until both its lane and the manager's have drained). */
    kb_log_t *owner;
    /* Owned, freed with the job.  text NULL: unlink path instead (a
     * snapshot a truncation made stale, deleted after any queued write). */
    char *path, *text;
    size_t text_len;
    int rc;
} kb_flush_job_t;

/* A job writing text (owned from here, freed on failure) to path on the
 * flusher lane of `lane` (NULL: the manager's), or NULL, logged with
 * log's name, when out of memory or text is NULL. */
kb_flush_job_t *kb_flush_job_new(kb_log_t *log, kb_log_t *lane, const char *path, char *text, size_t text_len);

/* Starts the thread.  Completions run on base; every check_ms (0 = never)
 * the manager's logs are checked against log.flush.interval.ms. */
kb_flusher_t *kb_flusher_start(struct event_base *base, kb_logmgr_t *m, kb_log_stats_t *stats, int64_t check_ms);
/* Takes ownership of job.  A snapshot job replaces the log's previous
 * snapshot job if that one has not started yet (a newer snapshot makes it
 * redundant: loading only ever replays from the newest). */
void kb_flusher_submit(kb_flusher_t *f, kb_flush_job_t *job);
/* Queues an fsync of s (referenced until it is done) for log, unless the
 * last item queued for log is an fsync of s that has not started yet: that
 * one will cover whatever was written before it starts.  0, or -1 when out
 * of memory (nothing queued). */
int kb_flusher_fsync(kb_flusher_t *f, kb_log_t *log, kb_segment_t *s);
/* Once every item queued for log so far is done (at once if they are),
 * kb_log_flush_finished(log, target, rc) and then done(arg, rc) run on the
 * loop; rc is -1 if an fsync that may have held data below target failed.
 * A request without done extends the target of the log's last waiting
 * request when no item was queued in between.  0, or -1 when out of memory
 * (done is not called). */
int kb_flusher_wait(kb_flusher_t *f, kb_log_t *log, int64_t target, void (*done)(void *arg, int rc), void *arg);
/* Items (fsyncs and file writes) queued or running: the flush backlog. */
uint64_t kb_flusher_backlog(kb_flusher_t *f);
/* For tests: the thread starts at most n more items, then waits (n < 0:
 * no limit, the default; kb_flusher_stop lifts any limit). */
void kb_flusher_limit(kb_flusher_t *f, int64_t n);
/* Finishes every queued item, joins the thread, runs the completions on
 * the calling thread, and frees the flusher. */
void kb_flusher_stop(kb_flusher_t *f);

/* The manager's side of the flusher and the logs. */
kb_flusher_t *kb_logmgr_flusher(kb_logmgr_t *m);
kb_log_stats_t *kb_logmgr_stats_mut(kb_logmgr_t *m);
void kb_logmgr_flush_idle_logs(kb_logmgr_t *m);
/* Called on the loop when a flush request completes (kb_flusher_wait). */
void kb_log_flush_finished(kb_log_t *log, int64_t target, int rc);

/* -------------------------------------------------------- log creation */

/* kb_logcreate.c builds the logs created at run time on this many threads
 * of the manager's creation worker (ext4 creates serialise in its journal
 * anyway, and one thread leaves the other core to the loop). */
#define KB_LOG_CREATE_THREADS 1

/* An I/O failure that can repeat for every log or every request (out of
 * descriptors, disk full) is logged at most once per this interval and
 * kind, with the count of those left out (kc_log_limited; its limiters
 * are static, shared by the threads that hit them). */
#define KB_LOG_REPEAT_MS 10000
/* ... at the loop's own priority (unlike the broker's CPU workers, niced
 * by 5): a creation is filesystem work that hardly competes for the CPU,
 * and a partition waits for its log to be served at all. */
#define KB_LOG_CREATE_NICE 0

struct kb_worker;
/* The manager's side of creation, all on the loop: its worker; a dir
 * chosen for a new log and counted in its n_partitions at once (so that a
 * burst of creations spreads over the dirs as single ones do); and the
 * insertion into the table of a log built in a dir placed that way (0, or
 * -1 when out of memory; the caller then frees the log and uncounts it). */
struct kb_worker *kb_logmgr_creator(kb_logmgr_t *m);
kb_logdir_t *kb_logmgr_place(kb_logmgr_t *m);
int kb_logmgr_publish(kb_logmgr_t *m, kb_log_t *log);

/* ------------------------------------------------------- log deletion */

/* kb_logdelete.c, with the manager's side below.  One deletion per log
 * whose files are not removed yet, on the manager's list. */
typedef struct kb_log_deletion kb_log_deletion_t;
kb_log_deletion_t **kb_logmgr_deletions(kb_logmgr_t *m);
/* The thread that removes deleted logs' files, started on first use; NULL
 * when it cannot start or the manager is closing. */
struct kb_worker *kb_logmgr_deleter(kb_logmgr_t *m);
struct event_base *kb_logmgr_base(kb_logmgr_t *m);
/* Takes log out of the table (its dir uncounts it, its dirty epoch cache
 * is forgotten) and queues its dir's three checkpoints, which leave it out
 * from now on. */
void kb_logmgr_unlink(kb_logmgr_t *m, kb_log_t *log);
/* A deleted log gave its slot in the budget back: the room watcher
 * (kb_logmgr_on_room) runs in a later loop turn. */
void kb_logmgr_room_freed(kb_logmgr_t *m);
/* At close, after the flusher stopped: frees what the deletions still
 * hold (their renamed dirs stay for the next start). */
void kb_logdelete_free_all(kb_logmgr_t *m);
/* The log's lane is drained and goes (the log is being deleted). */
void kb_flusher_forget(kb_flusher_t *f, kb_log_t *log);

/* ------------------------------------------------------------ retention */

/* kb_retention.c: the periodic check (a timer on the loop), the retired
 * segments waiting out file.delete.delay.ms, and the deleter thread that
 * renames, closes and unlinks their files. */
typedef struct kb_retention kb_retention_t;

/* First check after min(30 s, check_ms), then every check_ms.  NULL when
 * out of memory or the thread cannot start. */
kb_retention_t *kb_retention_start(struct event_base *base, kb_logmgr_t *m, int64_t check_ms);
/* No more periodic checks.  Call before the flusher stops (its last
 * completions may drop the last reference of a retired segment, which the
 * deleter must still be there to take). */
void kb_retention_stop_checks(kb_retention_t *r);
/* After the flusher has stopped: abandons the deletions still waiting for
 * their delay (their files stay as <name>.deleted; start-up removes them),
 * lets the deleter finish its queue, joins it and frees r.  Every range
 * handed out must have been released before. */
void kb_retention_free(kb_retention_t *r);
/* One pass over a log, as Kafka's deleteOldSegments: segments past
 * retention.ms, then those over retention.bytes, then those wholly below
 * the log start offset.  Returns how many segments were retired. */
size_t kb_retention_check_log(kb_log_t *log, int64_t now_ms);

/* Hands segments already out of the log (the caller's references move to
 * retention) to the same deletion path as retired ones: renamed to
 * .deleted unless s->renamed already, removed after file.delete.delay.ms
 * once no sender holds them.  0, or -1 when out of memory (the segments
 * are then deleted when their last reference goes). */
int kb_retention_retire(kb_log_t *log, kb_segment_t **segs, size_t n);

/* The retired segments waiting for their deletion whose files are in
 * dir (a log being deleted): orphaned (see kb_segment_t.orphaned). */
void kb_retention_orphan(kb_retention_t *r, const char *dir);

/* The manager's side of retention. */
kb_retention_t *kb_logmgr_retention(kb_logmgr_t *m);
/* Runs kb_retention_check_log on every log and queues the log-start
 * checkpoint of each dir where a log start moved. */
void kb_logmgr_enforce_retention(kb_logmgr_t *m);
/* Queues a write of d's log-start-offset-checkpoint on the flusher, once
 * at the end of the loop turn however often it is called in that turn. */
void kb_logmgr_save_log_start(kb_logmgr_t *m, kb_logdir_t *d);
void kb_logmgr_save_recovery_point(kb_logmgr_t *m, kb_logdir_t *d);

#endif
