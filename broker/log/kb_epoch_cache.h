/*
 * kb_epoch_cache.h - a partition's leader-epoch cache as plain memory: the
 * ordered (epoch, start offset) entries of zk-and-replication.md 3.7, with
 * Kafka 2.6's LeaderEpochFileCache rules (assign, truncateFromEnd,
 * truncateFromStart, endOffsetFor) and the follower's truncation rule
 * (AbstractFetcherThread.getOffsetTruncationState) as a pure function.
 *
 * No I/O and no clock: the log (kb_log_epochs.c) decides when to load and
 * persist it as leader-epoch-checkpoint, so every rule here can be tested
 * from a table.  Single-threaded: the partition's event loop.
 *
 * Invariant: entries are strictly increasing in both epoch and start
 * offset, and every epoch is >= 0.
 */
#ifndef KB_EPOCH_CACHE_H
#define KB_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_EPOCH_UNDEFINED (-1)        /* Kafka's UNDEFINED_EPOCH */
#define KB_EPOCH_UNDEFINED_OFFSET (-1) /* Kafka's UNDEFINED_EPOCH_OFFSET */

typedef struct kb_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} kb_epoch_entry_t;

typedef struct kb_epoch_cache {
    kb_epoch_entry_t *v;
    size_t n, cap;
} kb_epoch_cache_t;

void kb_epoch_cache_init(kb_epoch_cache_t *c);
void kb_epoch_cache_free(kb_epoch_cache_t *c);
void kb_epoch_cache_clear(kb_epoch_cache_t *c);

/* The latest epoch, or KB_EPOCH_UNDEFINED when the cache is empty. */
int32_t kb_epoch_cache_latest(const kb_epoch_cache_t *c);
/* The start offset of exactly this epoch, or -1 when it has no entry. */
int64_t kb_epoch_cache_start_of(const kb_epoch_cache_t *c, int32_t epoch);

/*
 * Kafka's assign: when the cache is empty, or epoch differs from the latest
 * one, or equals it with a smaller start offset, every entry whose epoch
 * or start offset is >= the new one's is dropped and (epoch, start) is
 * appended.  A negative epoch or offset is ignored (a batch no leader
 * stamped).  Returns 1 when the cache changed, 0 when not, -1 when out of
 * memory (unchanged).
 */
int kb_epoch_cache_assign(kb_epoch_cache_t *c, int32_t epoch, int64_t start_offset);

/* Truncation of the log to end_offset: entries starting at or after it go.
 * True when the cache changed. */
bool kb_epoch_cache_truncate_from_end(kb_epoch_cache_t *c, int64_t end_offset);

/* The log start moved to start_offset: the last entry starting at or below
 * it is rewritten to start there and the older ones dropped (nothing
 * happens when every entry starts above it).  True when the cache changed. */
bool kb_epoch_cache_truncate_from_start(kb_epoch_cache_t *c, int64_t start_offset);

/*
 * Kafka's endOffsetFor (the OffsetForLeaderEpoch answer) for a log whose
 * end offset is leo:
 *   epoch undefined (-1), or the cache empty or above every cached epoch
 *                                          -> (-1, -1);
 *   epoch is the latest                    -> (epoch, leo);
 *   below every cached epoch               -> (epoch, start of the first);
 *   otherwise -> (largest cached epoch <= epoch, start of the first > epoch).
 */
void kb_epoch_cache_end_offset_for(const kb_epoch_cache_t *c, int64_t leo, int32_t epoch, int32_t *out_epoch,
                                   int64_t *out_end_offset);

/*
 * The follower's truncation rule, given the leader's answer (reply_epoch,
 * reply_end) to the question asked with this cache's latest epoch, for a
 * log with end offset leo and high watermark hw.  Sets *offset and returns
 * true when truncation is complete, false when the follower must truncate
 * to *offset and ask again with its (new) latest epoch:
 *   reply_end == -1                      -> hw, done;
 *   reply_epoch == -1                    -> min(reply_end, leo), done;
 *   own endOffsetFor(reply_epoch) = (fe, fend):
 *     fend == -1 (no epoch <= reply_epoch tracked)
 *                                        -> min(reply_end, leo), done;
 *     fe != reply_epoch                  -> min(fend, leo), not done;
 *     fe == reply_epoch                  -> min(fend, reply_end, leo), done.
 */
bool kb_epoch_cache_truncation_point(const kb_epoch_cache_t *c, int64_t leo, int64_t hw, int32_t reply_epoch,
                                     int64_t reply_end, int64_t *offset);

#endif
