/*
 * kb_partition.h - the partitions this broker hosts and its role in each.
 *
 * Roles arrive as data (kb_roles.h): a partition whose replicas list this
 * broker gets a local log; it is led here when its update names this
 * broker as leader.  The leader keeps the high watermark (spec 3.2:
 * the least log end offset of the ISR, learnt from the followers' fetches,
 * kb_fetch_serve.c) and the delayed operations that wait on it: acks=all
 * produces and long-polling fetches, woken by appends and HW changes,
 * never by a polling timer.  A follower fetches from its leader
 * (kb_fetcher.h) and keeps HW = min(leader's HW, own log end offset).
 *
 * The leader also keeps its ISR true (kb_partition_isr.c): followers that
 * have not caught up within replica.lag.time.max.ms leave it, and a
 * follower that has caught up joins it again, through a conditional write
 * of the state znode announced to the controller by an
 * /isr_change_notification entry, as Kafka 2.6 leaders do.
 *
 * Partitions own their logs: the API handlers read, list offsets, delete
 * records and append through the kb_partition_* calls below, never through
 * the log itself, and nothing in this header comes from broker/log: a
 * range read for a Fetch is the partition's own type, read through the
 * accessors below and queued into a sendfile output (broker/net) by
 * kb_partition_range_send, which keeps its log segment until it is sent.
 *
 * This header is what the API handlers see; making, feeding and freeing
 * the partitions (their dependencies, topic settings, shutdown) is
 * kb_replicas.h, and roles are kb_roles.h.
 */
#ifndef KB_PARTITION_H
#define KB_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "proto/kp_batch.h"

struct kb_segment;
typedef struct kb_sendfile kb_sendfile_t;

typedef struct kb_replicas kb_replicas_t;
typedef struct kb_partition kb_partition_t;
typedef struct kb_waiter kb_waiter_t;

/* The hosted partition, or NULL (unknown topic/partition or not hosted here). */
kb_partition_t *kb_replicas_get(kb_replicas_t *r, const char *topic, int32_t partition);

/* Whether this broker leads p and may answer clients as its leader now:
 * while its ZooKeeper session surely lives (kb_replicas_lease_held).  A
 * leader that cannot tell refuses produces, consumer fetches and offset
 * lookups with NOT_LEADER_OR_FOLLOWER (retriable), but keeps serving its
 * followers, so that a ZooKeeper outage shrinks no ISR. */
bool kb_partition_is_leader(const kb_partition_t *p);
/* h's batch was refused before its append with a retriable error (6, 19
 * or 56): noted in the producer table of p's log, if it has one
 * (kb_producers_note_refused). */
void kb_partition_note_refused(kb_partition_t *p, const kp_batch_header_t *h, int16_t error_code);
/* The session lease (kc_session_lease_held) of the ISR writes' session;
 * true without a session (unit suites). */
bool kb_replicas_lease_held(const kb_replicas_t *r);
int32_t kb_partition_leader_epoch(const kb_partition_t *p);
/* A partition a handler holds across a wait (a compressed batch's check, a
 * timestamp search) may lose its log meanwhile, its topic deleted: these
 * then answer -1, and kb_partition_is_deleted says why. */
int64_t kb_partition_high_watermark(const kb_partition_t *p);
int64_t kb_partition_log_start_offset(const kb_partition_t *p);
int64_t kb_partition_log_end_offset(const kb_partition_t *p);
/* Its topic was deleted (StopReplica with delete) and it has not been
 * hosted again since: UNKNOWN_TOPIC_OR_PARTITION is the answer. */
bool kb_partition_is_deleted(const kb_partition_t *p);
/* A leader whose high watermark is still below the log end offset it had
 * when it took its epoch: records acknowledged by the previous leader may
 * lie between the two, so the high watermark is not yet known and
 * ListOffsets must not answer it (Kafka's KIP-207 OFFSET_NOT_AVAILABLE). */
bool kb_partition_high_watermark_lags_epoch(const kb_partition_t *p);
/* The topic's max.message.bytes, as the log enforces it. */
int32_t kb_partition_max_message_bytes(const kb_partition_t *p);
/* The topic's compression.type: the KP_CODEC_* every produced batch is
 * rebuilt with, or KP_CODEC_PRODUCER (kp_compress.h) to keep each batch's. */
int kb_partition_compression_codec(const kb_partition_t *p);

/* A range of the log read for sending.  Its fields are the partition's:
 * handlers read it through kb_partition_range_len / _empty only.  A range
 * that is not empty holds a reference to its log segment (which keeps the
 * file's bytes in place: retention and truncation do not delete a segment
 * under it) until kb_partition_range_release, or until the bytes queued by
 * kb_partition_range_send are sent or dropped.  {0} holds nothing. */
typedef struct kb_partition_range {
    struct kb_segment *segment; /* NULL: holds nothing */
    int fd;
    int64_t pos;
    size_t len;
} kb_partition_range_t;
/* Reads from offset up to (not including) upper within max_bytes, as
 * kb_log_read: 0, 1 when offset is outside [log start, log end], -1 on an
 * I/O error.  The range holds nothing when 0 bytes were read. */
int kb_partition_read(kb_partition_t *p, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                      kb_partition_range_t *out);
/* The record bytes r covers (0 when it holds nothing). */
size_t kb_partition_range_len(const kb_partition_range_t *r);
bool kb_partition_range_empty(const kb_partition_range_t *r);
/* Releases what r holds, if anything, and empties it. */
void kb_partition_range_release(kb_partition_range_t *r);
/* Appends r's bytes to out as one file segment (sent with sendfile, never
 * copied) and moves r's segment reference into it: the segment is released
 * once the bytes are sent or dropped, also when this fails.  r is emptied;
 * an empty range adds nothing.  0 or -1. */
int kb_partition_range_send(kb_sendfile_t *out, kb_partition_range_t *r);

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
typedef struct kb_produce_result {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time; /* -1 for CreateTime */
    int64_t log_start_offset;
} kb_produce_result_t;
typedef void (*kb_produce_done_fn)(void *arg, int16_t error_code, const kb_produce_result_t *res);
void kb_partition_produce(kb_partition_t *p, uint8_t *batch, const kp_batch_header_t *h, int16_t acks,
                          int32_t timeout_ms, kb_produce_done_fn done, void *arg);

/*
 * Append order (kb_partition_turns.c).  Batches are appended in the order
 * they arrive, also when some need work on a worker thread first (their
 * compressed records checked, or the batch rebuilt with the topic's
 * codec): a batch produced after such a one, from any connection, must
 * not overtake it, or an idempotent producer's sequence would be judged
 * out of order and consumers would see records reordered.  So each
 * client batch takes a turn in its partition's queue when it arrives
 * (kb_partition_turn_take, on the loop), says when it is ready to be
 * appended (kb_partition_turn_ready), and its go() runs once it is ready
 * and every turn taken before it has run - at once, inside turn_ready,
 * when nothing is ahead.  go() usually calls kb_partition_produce, which
 * does the producer-state checks (sequence, duplicates) and the append
 * exactly as before; it may also just answer an error.  A turn is the
 * caller's memory; the queue forgets it before go() runs, so go() may
 * free it.
 *
 * Appends through kb_partition_produce without a turn (the group
 * coordinator's own writes to __consumer_offsets, which no client
 * produces to) happen at once, outside this order.
 *
 * A partition freed with turns still queued (shutdown runs every worker
 * job to its end first, so only a future removal of a live partition
 * could) hands each go() a NULL partition, at once for a ready turn, else
 * when it becomes ready: go() must then answer without appending.
 */
typedef void (*kb_turn_fn)(void *arg, kb_partition_t *p);
typedef struct kb_append_turn {
    TAILQ_ENTRY(kb_append_turn) link; /* on its partition's queue */
    kb_partition_t *p;                /* NULL once run, or once the partition is gone */
    bool ready;
    kb_turn_fn go;
    void *arg;
} kb_append_turn_t;
void kb_partition_turn_take(kb_partition_t *p, kb_append_turn_t *t, kb_turn_fn go, void *arg);
void kb_partition_turn_ready(kb_append_turn_t *t);

/* Long-poll: wake(arg) runs once, on the loop, the next time the data a
 * consumer may read grows (HW moves) or the partition changes role.  The
 * waiter is freed after wake runs or by kb_waiter_cancel, whichever first.
 * Returns NULL when out of memory or shutting down.  A wake callback may
 * cancel other waiters, and cancelling its own waiter there is harmless. */
kb_waiter_t *kb_partition_wait(kb_partition_t *p, void (*wake)(void *arg), void *arg);
void kb_waiter_cancel(kb_waiter_t *w);

#endif
