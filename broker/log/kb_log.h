/*
 * kb_log.h - partition logs in Kafka's on-disk layout
 * (zk-and-replication.md section 4).
 *
 * The log manager owns the log dirs: their .lock, meta.properties, the
 * checkpoint files, the clean-shutdown marker, and every partition log found
 * or created in them.  A partition log is a list of segments
 * (<base offset, 20 digits>.log/.index/.timeindex) in <dir>/<topic>-<partition>/.
 *
 * Threads: appends, reads and index lookups run on the broker's event loop.
 * fsync runs on the manager's flusher thread, logs created at run time are
 * built on its creation thread, and the scans and decompression of
 * ListOffsets by timestamp run on the broker's worker threads; their
 * completions are handed back to the loop.  A segment being sent
 * (sendfile) or flushed is referenced and never closed, truncated or
 * deleted under the sender.
 */
#ifndef KB_LOG_H
#define KB_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "broker/kb_config.h"
#include "common/kb_fd_budget.h"
#include "proto/kp_batch.h"

struct event_base;

typedef struct kb_logmgr kb_logmgr_t;
typedef struct kb_log kb_log_t;
typedef struct kb_segment kb_segment_t;
typedef struct kb_producers kb_producers_t; /* broker/log/kb_producer_state.h */

/* Per-log settings (broker defaults now; topic overrides later). */
typedef struct kb_log_config {
    int64_t segment_bytes;
    int64_t roll_ms;
    int32_t index_interval_bytes;
    int32_t index_size_max_bytes;
    int64_t flush_interval_messages; /* fsync when this many messages are unflushed */
    int64_t flush_interval_ms;       /* fsync a log idle this long since its last flush */
    bool log_append_time;            /* message.timestamp.type=LogAppendTime */
    int compression_codec;           /* compression.type: KP_CODEC_*, or KP_CODEC_PRODUCER (kp_compress.h) */
    int32_t max_message_bytes;
    int64_t retention_ms;            /* -1 = unlimited */
    int64_t retention_bytes;         /* per partition; -1 = unlimited */
    int64_t file_delete_delay_ms;    /* deleted segments are removed from disk after this */
} kb_log_config_t;

/* The broker-wide defaults from server.properties. */
void kb_log_config_from_broker(kb_log_config_t *lc, const kb_config_t *cfg);

/* Replaces a log's settings (a topic config override changed); the next
 * append, roll and retention check use them. */
void kb_log_set_config(kb_log_t *log, const kb_log_config_t *lc);
/* The settings in force (topic overrides resolved). */
const kb_log_config_t *kb_log_get_config(const kb_log_t *log);

/* ---- the manager ---- */

/*
 * Opens every log dir of cfg: creates it if missing, takes its .lock
 * (failing with a clear message if another process holds it), reads
 * meta.properties, and loads every partition directory found; after an
 * unclean shutdown (no .kafka_cleanshutdown) segments at or past the
 * recovery point are recovered (the tail after the last whole, CRC-valid
 * batch is truncated and logged with its byte count; indexes rebuilt).
 * A checkpoint file that cannot be read is logged and treated as empty.
 * Before loading, the partitions found are counted: when more of them are
 * found than RLIMIT_NOFILE has room for (kb_fd_budget.h: one descriptor
 * each, the reserve kept apart), it fails saying so.  The budget it reads
 * then (max.broker.partitions included) bounds the logs created later
 * (kb_logmgr_has_room).  Starts the flusher thread, whose
 * completions run on base.  Returns NULL with a one-line message in err.
 */
kb_logmgr_t *kb_logmgr_open(struct event_base *base, const kb_config_t *cfg, char *err, size_t errlen);

/* Checks meta.properties against this broker's id and the cluster id from
 * ZooKeeper, writing it where absent.  Returns 0, or -1 with a message
 * (InconsistentBrokerId / InconsistentClusterId) in err. */
int kb_logmgr_check_identity(kb_logmgr_t *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen);

/* The partition budget (kb_fd_budget.h), read when the manager opened. */
const kb_fd_budget_t *kb_logmgr_budget(const kb_logmgr_t *m);
/* What counts against it: the logs held, plus those being created, plus
 * the deleted ones whose files may still be open (kb_logdelete.c: a
 * deleted log's active segment is closed once the flusher is done with
 * it, a segment a send or search holds when that lets go). */
size_t kb_logmgr_log_count(const kb_logmgr_t *m);
/* ... of which deleted logs still open. */
size_t kb_logmgr_deleted_open(const kb_logmgr_t *m);
/* True while one more log fits.  Logs loaded at start-up all count, also
 * beyond max.broker.partitions (that key only stops new ones). */
bool kb_logmgr_has_room(const kb_logmgr_t *m);
/* fn(arg) runs on the loop, in a later turn, after deleted logs gave their
 * slots in the budget back (their descriptors all closed): what waits for
 * room may try again now rather than on its own timer.  One watcher; NULL
 * removes it (before arg goes away). */
void kb_logmgr_on_room(kb_logmgr_t *m, void (*fn)(void *arg), void *arg);

/* The log of topic-partition, or NULL if this broker has none. */
kb_log_t *kb_logmgr_get(kb_logmgr_t *m, const char *topic, int32_t partition);
/* Opens or creates it (new partitions go to the dir holding the fewest);
 * NULL, logged, when a new one would not fit the budget. */
kb_log_t *kb_logmgr_get_or_create(kb_logmgr_t *m, const char *topic, int32_t partition, const kb_log_config_t *lc);

/*
 * Creation off the event loop (kb_logcreate.c): the log of topic-partition
 * is built on the manager's creation thread (partition dir, first segment,
 * index blocks), then done(arg, log, why) runs on the loop, never inside
 * this call: log is the new log, already in the manager (kb_logmgr_get
 * finds it from then on, never before), or NULL with the reason in why
 * (e.g. disk full, too many open files; nothing of it is left on disk).
 * A partition dir that exists already is loaded on the loop instead, as
 * kb_logmgr_get_or_create would.  One creation per partition at a time,
 * and only for a partition the manager does not have.  Returns the
 * creation's handle, or NULL (errno set) when the topic or partition is
 * invalid (EINVAL), memory is short, the manager is closing (ESHUTDOWN) or
 * the log would not fit the budget (EMFILE: kb_logmgr_has_room is false);
 * done is then never called.  The handle is valid until done runs.
 *
 * Closing the manager cancels the creations still queued (done gets NULL)
 * and finishes the one being built, whose log is published and closed
 * like the others: nothing is leaked or left half made.
 */
typedef struct kb_log_creation kb_log_creation_t;
typedef void (*kb_log_created_fn)(void *arg, kb_log_t *log, const char *why);
kb_log_creation_t *kb_logmgr_create_async(kb_logmgr_t *m, const char *topic, int32_t partition,
                                          const kb_log_config_t *lc, kb_log_created_fn done, void *arg);
/* The caller no longer wants to hear of it (its arg is going away): done
 * is not called; the creation still completes and publishes its log. */
void kb_logmgr_create_abandon(kb_log_creation_t *c);
/* The same for a partition deleted meanwhile: the log it makes is deleted
 * (kb_logmgr_delete) as soon as it is published. */
void kb_logmgr_create_cancel(kb_log_creation_t *c);
/* Shutdown has begun: the creations still queued complete soon with no
 * log ("the log manager is closing"), the ones being built complete as
 * usual, and kb_logmgr_create_async fails from now on (ESHUTDOWN). */
void kb_logmgr_stop_creating(kb_logmgr_t *m);

/*
 * Deletes the log of topic-partition (StopReplica with delete_partition,
 * zk-and-replication.md 4.10), as Kafka's LogManager.asyncDelete: its dir
 * is renamed at once to <topic>-<partition>.<uuid>-delete (so a log of
 * that name may be created again right away), it leaves the manager and
 * its entries the checkpoint files, and its files are removed off the
 * loop after file.delete.delay.ms, once no send or search holds them
 * (kb_logdelete.c).  The caller must drop every pointer to the log first.
 * Returns 0, 1 when there is no such log, or -1 (errno set, logged) when
 * the dir could not be renamed: the log is then unchanged.
 */
int kb_logmgr_delete(kb_logmgr_t *m, const char *topic, int32_t partition);

/* Writes the recovery-point, replication (high watermark) and log-start
 * checkpoints now (also done periodically by the manager). */
void kb_logmgr_checkpoint(kb_logmgr_t *m);

/* Clean shutdown: finish the queued flushes, trim indexes, fsync what may
 * still not be on disk (batches past a log's recovery point, index files
 * changed since their last fsync: a log not written since it was loaded or
 * flushed costs none), write producer snapshots that moved and the
 * checkpoints, create .kafka_cleanshutdown in each dir (the next start then
 * trusts the files and recovers nothing), release the locks, free
 * everything. */
void kb_logmgr_close(kb_logmgr_t *m);
/* kb_logmgr_close up to the clean-shutdown marker, leaving the manager to
 * read (kb_logmgr_stats counts the fsyncs the shutdown made); then only
 * kb_logmgr_abandon, which frees it.  For tests. */
void kb_logmgr_shutdown(kb_logmgr_t *m);

/* What a crash leaves behind: stops the flusher (finishing queued jobs),
 * releases the locks and frees everything without flushing, trimming
 * indexes, writing checkpoints or the clean-shutdown marker.  For tests of
 * recovery, and for a broker that must stop after a log-dir failure. */
void kb_logmgr_abandon(kb_logmgr_t *m);

/* The broker.id stored in meta.properties, or -1 when no log dir has one
 * (a config with broker.id=-1 takes this one, as Kafka does). */
int32_t kb_logmgr_stored_broker_id(const kb_logmgr_t *m);

/* ---- one partition log ---- */

typedef struct kb_append_result {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time; /* -1 for CreateTime */
    int64_t log_start_offset;
} kb_append_result_t;

/*
 * Appends one validated batch (bytes are rewritten in place: base offset,
 * leader epoch, and LogAppendTime if configured) with a single write, adds
 * index entries every index_interval_bytes, and rolls the segment first when
 * size, age or a full index demand it.  Returns 0, or -1 on an I/O error
 * (disk full: nothing of the batch remains in the log).
 */
int kb_log_append(kb_log_t *log, uint8_t *batch, const kp_batch_header_t *h, int32_t leader_epoch,
                  kb_append_result_t *out);

/* Appends batches that already carry their offsets (a follower copying its
 * leader's bytes verbatim); the first must start at the log end offset. */
int kb_log_append_verbatim(kb_log_t *log, const uint8_t *batches, size_t len);

/* fsync everything appended so far off the loop; done(arg, 0 or -1) runs on
 * the loop afterwards.  Used for flush.messages and by the flusher. */
void kb_log_flush_async(kb_log_t *log, void (*done)(void *arg, int rc), void *arg);
/* True when flush.messages says the appends so far must be fsynced before
 * they are acknowledged. */
bool kb_log_flush_due(const kb_log_t *log);

int64_t kb_log_end_offset(const kb_log_t *log);
int64_t kb_log_start_offset(const kb_log_t *log);
int64_t kb_log_high_watermark(const kb_log_t *log);
/* Offsets below it are known to be fsynced. */
int64_t kb_log_recovery_point(const kb_log_t *log);
void kb_log_set_high_watermark(kb_log_t *log, int64_t hw); /* clamped to [log start, LEO] */
const char *kb_log_topic(const kb_log_t *log);
int32_t kb_log_partition(const kb_log_t *log);

/* The log's idempotent-producer table (wire-protocol.md 7.2): every append
 * records its batch there; at load it is rebuilt from the newest
 * <offset>.snapshot at or below the log end offset plus the headers of the
 * batches after it (also after an unclean stop, once recovery has cut the
 * log).  Snapshots are written at each roll (named after the new segment)
 * and at clean shutdown (named after the log end offset), fsynced. */
kb_producers_t *kb_log_producers(kb_log_t *log);

/*
 * DeleteRecords on this log (wire-protocol.md 4.9): offset -1 means the
 * high watermark.  Raises the log start offset to offset (never lowers
 * it), retires the segments wholly below it as retention does (files
 * renamed to .deleted off the loop, removed after file.delete.delay.ms),
 * and queues the log-start checkpoint.  Returns 0 with *low_watermark =
 * the resulting log start offset, or 1 (OFFSET_OUT_OF_RANGE) when offset
 * is negative or above the high watermark.
 */
int kb_log_delete_records(kb_log_t *log, int64_t offset, int64_t *low_watermark);

/* ---- leader epochs and truncation (zk-and-replication.md 3.7, 3.8) ----
 *
 * Every log keeps Kafka's leader-epoch cache: ordered (epoch, start offset)
 * entries, recorded when an appended batch (kb_log_append's leader_epoch,
 * or the PartitionLeaderEpoch of a batch kb_log_append_verbatim copies)
 * starts a new epoch, and at become-leader (kb_log_begin_epoch).  Entries
 * follow the log: truncation drops those at or past the cut, the log start
 * moving rewrites the first one.  The cache is persisted in
 * <partition dir>/leader-epoch-checkpoint, written off the loop and
 * coalesced per loop turn, and at clean shutdown. */

#define KB_LOG_NO_EPOCH (-1)

/* The latest leader epoch in the log's leader-epoch cache, or KB_LOG_NO_EPOCH. */
int32_t kb_log_latest_epoch(const kb_log_t *log);

/* Become-leader (spec 3.7 (a)): records (epoch, log end offset) unless the
 * cache's latest epoch is already >= epoch. */
void kb_log_begin_epoch(kb_log_t *log, int32_t epoch);

/* The start offset of exactly this epoch in the cache, or -1 when the cache
 * has no entry for it. */
int64_t kb_log_epoch_start(const kb_log_t *log, int32_t epoch);

/* The OffsetForLeaderEpoch answer (spec 3.7 "End offset for epoch E",
 * Kafka 2.6 LeaderEpochFileCache.endOffsetFor): E the latest epoch ->
 * (E, log end offset); E below every cached epoch -> (E, start of the first
 * cached epoch); otherwise (largest cached epoch <= E, start offset of the
 * first epoch > E); E undefined (-1), above every cached epoch, or the
 * cache empty -> (-1, -1). */
void kb_log_end_offset_for_epoch(const kb_log_t *log, int32_t epoch, int32_t *out_epoch, int64_t *out_end_offset);

/* Follower truncation (spec 3.7 "Follower truncation", Kafka 2.6
 * AbstractFetcherThread.getOffsetTruncationState): given the leader's
 * OffsetForLeaderEpoch answer (reply_epoch, reply_end_offset) to the
 * question asked with kb_log_latest_epoch(), sets *offset to where this
 * log must be truncated and returns true when truncation is complete,
 * false when the follower must truncate to *offset and then ask again
 * with the (new) kb_log_latest_epoch().  Rules: reply_end_offset == -1 ->
 * HW, done; reply_epoch == -1 -> min(reply_end, LEO), done; the follower's
 * own end-offset-for(reply_epoch) gives (fe, fend): fend == -1 (it tracks
 * no epoch <= reply_epoch) -> min(reply_end, LEO), done; fe != reply_epoch
 * -> min(fend, LEO), not done; fe == reply_epoch -> min(fend, reply_end,
 * LEO), done.  An empty cache (no epoch to ask with) is the caller's case:
 * it truncates to the HW without asking. */
bool kb_log_truncation_point(const kb_log_t *log, int32_t reply_epoch, int64_t reply_end_offset, int64_t *offset);

/* Removes every batch at or after offset (a batch that contains offset
 * goes whole): segments wholly above it retire (their files go as
 * retention's do: a segment being sent keeps its bytes until the send
 * ends), the segment holding it is cut (replaced by a copy of what it
 * keeps when a send of it is in flight) and becomes the active one again,
 * indexes trimmed, LEO = start of the first removed batch (offset itself
 * when it lies in a gap between batches), HW and recovery point lowered to
 * it (and the log start, should it be above), epoch-cache entries starting
 * at or after it dropped, producer state rebuilt (from the newest snapshot
 * at or below the new LEO plus the batches after it; snapshots above
 * removed).  Logs one INFO line with the discarded offsets [from, to) and
 * bytes.  At or past the LEO no record goes (but epoch-cache entries
 * starting at the LEO go, as in Kafka: an epoch begun as leader with nothing appended); an offset below the first segment
 * restarts the log empty there (as kb_log_reset_to).  0, or -1 on an I/O
 * error (or a negative offset). */
int kb_log_truncate_to(kb_log_t *log, int64_t offset);

/* Out-of-range follower (spec 3.8): discards the whole log and restarts it
 * empty at offset (log start = LEO = HW = offset, epoch cache emptied,
 * producer state emptied).  0 or -1. */
int kb_log_reset_to(kb_log_t *log, int64_t offset);

/* A byte range of one segment file, to be sent with sendfile.  The segment
 * is referenced until kb_log_range_release() (e.g. from the libevent file
 * segment's cleanup callback). */
typedef struct kb_log_range {
    int fd;
    off_t pos;
    size_t len;            /* 0 = nothing to send */
    int64_t first_offset;  /* base offset of the first batch in the range */
    kb_segment_t *segment; /* the reference to release; NULL when len == 0 */
} kb_log_range_t;

/*
 * Reads from `offset`: the range starts at the batch containing it and ends
 * before the batch at `upper` (the high watermark for consumers) or after
 * max_bytes, whichever is first; the last batch may be cut (clients accept
 * partial trailing batches), but a range never consists of a fragment only:
 * when the first batch is larger than max_bytes the range is that whole
 * batch if first_batch_whole, else empty.  Stays within one segment.
 * Returns 0, or 1 (OFFSET_OUT_OF_RANGE) when offset < log start or
 * > log end offset, or -1 on an I/O error.
 */
int kb_log_read(kb_log_t *log, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                kb_log_range_t *out);
/* kb_log_read for a follower: whole batches only.  A range cut by
 * max_bytes ends at the last batch start the offset index records below
 * the limit (so up to log.index.interval.bytes and a batch short of it),
 * or holds the first batch alone, whole, when there is none. */
int kb_log_read_batches(kb_log_t *log, int64_t offset, int64_t upper, size_t max_bytes, kb_log_range_t *out);
void kb_log_range_release(kb_log_range_t *r);

/*
 * ListOffsets by timestamp: the first record (in offset order, below
 * `upper`) whose timestamp is >= ts, as Kafka answers.  The indexes are
 * read here, on the loop; the batch headers and the records of the batch
 * that qualifies are read (decompressed, at most max_inflate bytes) by jobs
 * on worker w, segment by segment.  Returns 1 when the segments' largest
 * timestamps already show there is no such record (done is not called), 0
 * when the search has started: done(arg, rc, offset, timestamp) then runs
 * once on the loop with rc 0 and the record's offset and timestamp, or rc 1
 * when there is none (offset and timestamp -1), or rc -1 when the worker
 * was stopped first.  Returns -1 when the search cannot start (out of
 * memory, worker stopping).  The log must outlive the search (the worker is
 * stopped before the logs are closed).
 */
typedef struct kb_worker kb_worker_t;
typedef void (*kb_log_time_fn)(void *arg, int rc, int64_t offset, int64_t timestamp);
int kb_log_offset_for_timestamp(kb_log_t *log, kb_worker_t *w, int64_t ts, int64_t upper, size_t max_inflate,
                                kb_log_time_fn done, void *arg);

/* ---- counters (for metrics and tests) ---- */
typedef struct kb_log_stats {
    uint64_t fsyncs;            /* fsync calls completed on log segments */
    uint64_t bytes_appended;
    uint64_t batches_appended;
    uint64_t recovery_truncated_bytes;
    uint64_t segments_recovered; /* segments rescanned at start-up */
    uint64_t flush_backlog;      /* gauge: fsyncs and file writes queued or running */
    uint64_t timestamp_scans;              /* segment scans of ListOffsets by timestamp */
    uint64_t timestamp_decompressed_bytes; /* bytes those scans decompressed */
    uint64_t logs_created;          /* by kb_logmgr_create_async */
    uint64_t log_creation_failures; /* ... that failed (each attempt counts) */
    uint64_t log_creations_pending; /* gauge: queued or being built */
    uint64_t checkpoint_writes;     /* checkpoint files queued for writing */
    uint64_t epoch_checkpoint_writes; /* leader-epoch-checkpoint files queued for writing */
    uint64_t logs_deleted;          /* partition logs deleted (StopReplica with delete), files removed */
    uint64_t log_deletions_pending; /* gauge: deleted logs whose files are not removed yet */
    uint64_t log_deletions_open;    /* gauge: ... of them, those that may still hold a descriptor open
                                     * (counted against the partition budget: kb_logdelete.c) */
} kb_log_stats_t;
void kb_logmgr_stats(const kb_logmgr_t *m, kb_log_stats_t *out);

#endif
