/*
 * kb_partition.h - the partitions this broker hosts and its role in each.
 *
 * Roles arrive as data (kb_roles.h): a partition whose replicas list this
 * broker gets a local log; it is led here when its update names this
 * broker as leader.  The leader keeps the high watermark (with no
 * replication yet: HW = LEO when the ISR is just the leader, otherwise it
 * does not move) and the delayed operations that wait on it: acks=all
 * produces and long-polling fetches, woken by appends and HW changes,
 * never by a polling timer.
 *
 * The leader also keeps its ISR true (kb_partition_isr.c): followers that
 * have not caught up within replica.lag.time.max.ms leave it through a
 * conditional write of the state znode, announced to the controller by an
 * /isr_change_notification entry, as Kafka 2.6 leaders do.  Until followers
 * fetch, that shrinks every ISR to its leader, and the HW then moves.
 *
 * Partitions own their logs: the API handlers read, list offsets, delete
 * records and append through the kb_partition_* calls below, never through
 * the log itself.  Ranges read for a Fetch leave through kb_sendfile.h.
 */
#ifndef KB_PARTITION_H
#define KB_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/kb_config.h"
#include "broker/log/kb_log.h"
#include "broker/log/kb_sendfile.h"
#include "broker/replica/kb_roles.h"
#include "coord/kc_isr.h"
#include "coord/kc_zk.h"

struct event_base;
typedef struct kb_worker kb_worker_t;

typedef struct kb_replicas kb_replicas_t;
typedef struct kb_partition kb_partition_t;
typedef struct kb_waiter kb_waiter_t;

/* The leader's conditional write of its partition's state znode, with
 * kc_state_leader_write's contract (coord/kc_isr.h): zk is the deps' session. */
typedef void (*kb_isr_write_fn)(kc_session_t *zk, const char *topic, int32_t partition,
                                const kc_partition_state_t *state, kc_state_written_fn done, void *arg);

/* What the partitions need, and nothing more (so a unit suite builds them
 * without a broker).  All of it must outlive the replicas. */
typedef struct kb_replicas_deps {
    struct event_base *base;
    const kb_config_t *cfg; /* broker.id, replica.lag.time.max.ms, the broker's log and topic defaults,
                             * kbroker.batch.decompressed.max.bytes */
    kb_logmgr_t *logs;      /* opens and creates the partitions' logs */
    kb_worker_t *worker;    /* timestamp lookups (kb_partition_offset_for_timestamp); may be NULL */
    kc_session_t *zk;       /* the leader's ISR writes and their publication; NULL: none */
    /* The ISR writes (NULL: kc_state_leader_write).  With its own writer a
     * unit suite shrinks ISRs without a session: leaders then write while
     * zk is NULL or connected. */
    kb_isr_write_fn write_isr;
} kb_replicas_deps_t;

/* The settings a partition's log is made with, and acks=all's minimum ISR. */
typedef struct kb_topic_settings {
    kb_log_config_t log;
    int32_t min_insync;
} kb_topic_settings_t;

/* NULL when out of memory.  deps is copied. */
kb_replicas_t *kb_replicas_new(const kb_replicas_deps_t *deps);
/* The ZooKeeper session for ISR writes, when it is made after the replicas
 * (main.c starts the local parts first). */
void kb_replicas_set_session(kb_replicas_t *r, kc_session_t *zk);
/* The worker for timestamp lookups; NULL before the worker is stopped
 * (kb_worker_stop frees it): lookups then fail. */
void kb_replicas_set_worker(kb_replicas_t *r, kb_worker_t *worker);
/* Topic settings, given before the roles that need them: the logs of
 * topic's partitions [0, n_partitions) that exist here take them now, and
 * every log created for the topic later is made with the settings last
 * given (the broker defaults before any).  Giving the same settings again
 * costs one lookup. */
void kb_replicas_apply_topic_settings(kb_replicas_t *r, const char *topic, int32_t n_partitions,
                                      const kb_topic_settings_t *ts);
/* Shutdown: answers the produces still waiting with 6 NOT_LEADER_OR_FOLLOWER
 * and wakes every fetch waiter (synchronously: the loop no longer runs, and
 * kb_partition_wait then returns NULL), abandons the log creations in
 * flight (the log manager's close completes them), then frees everything.
 * Call it after the connections are closed and the worker stopped, while
 * the log manager still exists.  A produce whose fsync is still running is answered too; the
 * flusher's late completion is harmless. */
void kb_replicas_free(kb_replicas_t *r);
/* Shutdown has begun (the loop still runs): logs not created yet are not
 * created any more (kb_logmgr_stop_creating), and the partitions waiting
 * for one stay unhosted without an error, so that a SIGTERM during a burst
 * of creations does not wait for the burst. */
void kb_replicas_stop_creating(kb_replicas_t *r);

/* The hosted partition, or NULL (unknown topic/partition or not hosted here). */
kb_partition_t *kb_replicas_get(kb_replicas_t *r, const char *topic, int32_t partition);

bool kb_partition_is_leader(const kb_partition_t *p);
int32_t kb_partition_leader_epoch(const kb_partition_t *p);
int64_t kb_partition_high_watermark(const kb_partition_t *p);
int64_t kb_partition_log_start_offset(const kb_partition_t *p);
int64_t kb_partition_log_end_offset(const kb_partition_t *p);
/* The topic's max.message.bytes, as the log enforces it. */
int32_t kb_partition_max_message_bytes(const kb_partition_t *p);

/* A range of the log read for sending (kb_sendfile.h queues it); it holds
 * its segment until queued or released. */
typedef kb_log_range_t kb_partition_range_t;
/* Reads from offset up to (not including) upper within max_bytes, as
 * kb_log_read: 0, 1 when offset is outside [log start, log end], -1 on an
 * I/O error.  The range holds nothing when 0 bytes were read. */
int kb_partition_read(kb_partition_t *p, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                      kb_partition_range_t *out);
/* Releases what r holds, if anything, and empties it. */
void kb_partition_range_release(kb_partition_range_t *r);

/* ListOffsets by timestamp below upper, on the worker threads: returns and
 * calls back as kb_log_offset_for_timestamp (1: no such record, done not
 * called; 0: started; -1: cannot start). */
typedef void (*kb_partition_time_fn)(void *arg, int rc, int64_t offset, int64_t timestamp);
int kb_partition_offset_for_timestamp(kb_partition_t *p, int64_t ts, int64_t upper, kb_partition_time_fn done,
                                      void *arg);

/* DeleteRecords on the leader: raises the log start offset to `offset`
 * (-1: the high watermark).  0 with the new log start offset in
 * *low_watermark, or 1 (OFFSET_OUT_OF_RANGE) when offset is negative or
 * above the high watermark. */
int kb_partition_delete_records(kb_partition_t *p, int64_t offset, int64_t *low_watermark);

/*
 * Appends one validated batch on the leader and completes per acks:
 * 0 and 1 when appended (after the fsync when flush.messages makes one due),
 * -1 when the high watermark passes the batch, or with 7 REQUEST_TIMED_OUT
 * after timeout_ms (the data stays in the log).  Errors: 6
 * NOT_LEADER_OR_FOLLOWER, 56 KAFKA_STORAGE_ERROR.  done may run before this
 * function returns; res is valid only during the call.
 * Also (zk-and-replication.md 3.6), for acks=-1 only: 19 NOT_ENOUGH_REPLICAS
 * when the ISR is smaller than min.insync.replicas (nothing appended), 20
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrank below it by the time the
 * high watermark passed the batch; -1 UNKNOWN_SERVER_ERROR when a delayed
 * answer cannot be allocated (the batch is in the log).  res is never NULL:
 * its offsets are -1 when nothing was appended, and kept on 7, 19 and 20.
 * The acks=-1 timeout starts once the batch is appended (and fsynced, when
 * flush.messages makes that due).
 */
typedef void (*kb_produce_done_fn)(void *arg, int16_t error_code, const kb_append_result_t *res);
void kb_partition_produce(kb_partition_t *p, uint8_t *batch, const kp_batch_header_t *h, int16_t acks,
                          int32_t timeout_ms, kb_produce_done_fn done, void *arg);

/* Long-poll: wake(arg) runs once, on the loop, the next time the data a
 * consumer may read grows (HW moves) or the partition changes role.  The
 * waiter is freed after wake runs or by kb_waiter_cancel, whichever first.
 * Returns NULL when out of memory or shutting down.  A wake callback may
 * cancel other waiters, and cancelling its own waiter there is harmless. */
kb_waiter_t *kb_partition_wait(kb_partition_t *p, void (*wake)(void *arg), void *arg);
void kb_waiter_cancel(kb_waiter_t *w);

#endif
