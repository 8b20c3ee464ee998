/*
 * kb_producer_state.h - one partition's idempotent-producer table
 * (wire-protocol.md 7.2, 7.3): per producer id its epoch and the last five
 * batches it appended, the checks a produced batch must pass before it is
 * appended, and the .snapshot file format that carries the table across
 * restarts.
 *
 * The table is kept by whoever appends: every batch that goes into the log,
 * from a client or copied from a leader, is recorded after the append
 * (kb_producers_record), and a log loaded at start-up replays the headers
 * of the batches after its newest snapshot through the same function.  A
 * client batch is judged first (kb_producers_check), in Kafka's order:
 * duplicate of a cached batch, then epoch, then sequence.
 *
 * Pure memory and bytes: no I/O here; the log decides when snapshots are
 * written and where.  Single-threaded: the partition's event loop.
 */
#ifndef KB_PRODUCER_STATE_H
#define KB_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/kp_batch.h"

/* Batches remembered per producer: the most a producer may have in flight
 * per partition (librdkafka and Java cap max.in.flight at 5). */
#define KB_PRODUCER_CACHED_BATCHES 5

/* Snapshot file layout, version 1 (big-endian): version int16, crc uint32
 * (CRC-32C of every byte after it), entry count int32, then the entries. */
#define KB_PRODUCER_SNAPSHOT_VERSION 1
#define KB_PRODUCER_SNAPSHOT_HEADER_SIZE 10
#define KB_PRODUCER_SNAPSHOT_ENTRY_SIZE 46

/* Kafka 2.8's transactional.id.expiration.ms default: a producer not heard
 * from for this long (by its batches' max timestamps) is forgotten. */
#define KB_PRODUCER_EXPIRATION_MS 604800000LL

typedef struct kb_producers kb_producers_t;

/* What is remembered of one appended batch. */
typedef struct kb_producer_batch {
    int32_t first_seq;
    int32_t last_seq;     /* first_seq + offset_delta, wrapping past INT32_MAX to 0 */
    int64_t last_offset;
    int32_t offset_delta; /* last_offset - base offset of the batch */
    int64_t timestamp;    /* the batch's max timestamp (the append time under LogAppendTime) */
} kb_producer_batch_t;

/* The outcome of kb_producers_check. */
typedef struct kb_producer_verdict {
    int16_t error_code; /* 0, 45 OUT_OF_ORDER_SEQUENCE_NUMBER or 47 INVALID_PRODUCER_EPOCH */
    bool duplicate;     /* a retry of `cached`: answer with its offsets, append nothing */
    kb_producer_batch_t cached;
} kb_producer_verdict_t;

kb_producers_t *kb_producers_new(void);
void kb_producers_free(kb_producers_t *ps);
/* Forgets every producer (before a reload). */
void kb_producers_clear(kb_producers_t *ps);
size_t kb_producers_count(const kb_producers_t *ps);

/*
 * Judges a client batch (h as produced: base offset not yet assigned)
 * before it is appended.  A batch without a producer id always passes.
 *   1. same epoch as stored and a cached batch with the same first and last
 *      sequence: duplicate (error 0, v->duplicate, v->cached);
 *   2. epoch below the stored one: 47;
 *   3. a new epoch must start at sequence 0 unless the producer is unknown;
 *      the same epoch must continue at last sequence + 1 (INT32_MAX wraps
 *      to 0); else 45, or, when the batch the producer needs next was
 *      refused (kb_producers_note_refused) and is still needed next, that
 *      refusal's error.  An unknown producer may start anywhere (KIP-360).
 */
void kb_producers_check(const kb_producers_t *ps, const kp_batch_header_t *h, kb_producer_verdict_t *v);

/*
 * A batch was refused before its append with a retriable error (6
 * NOT_LEADER_OR_FOLLOWER, 19 NOT_ENOUGH_REPLICAS, 56 KAFKA_STORAGE_ERROR):
 * if it is the one its (known) producer needs next, the batches that
 * producer pipelined behind it (up to 5 in flight) arrive with a sequence
 * gap, and get error_code instead of 45 for as long as it is still needed
 * next; they are retried after it.  45 would make librdkafka (2.0) bump its
 * producer epoch and send again records that may already be written,
 * under sequence numbers no longer deduplicated (the chaos tier's R3 and
 * R7 found both).  Per producer, so a client naming another's producer id
 * can only delay that producer's retries until its next append.
 */
void kb_producers_note_refused(kb_producers_t *ps, const kp_batch_header_t *h, int16_t error_code);

/* Records a batch just appended (h with its final base offset and max
 * timestamp), or replays one found in the log: a new epoch empties the
 * producer's cache, and beyond five batches the oldest is dropped.
 * Control batches (transaction markers) only move the epoch and the last
 * timestamp.  Returns 0, or -1 when a new producer cannot be allocated. */
int kb_producers_record(kb_producers_t *ps, const kp_batch_header_t *h);

/* Forgets producers whose last timestamp is more than max_age_ms before
 * now_ms (Kafka's producer expiry). */
void kb_producers_expire(kb_producers_t *ps, int64_t now_ms, int64_t max_age_ms);

/* The stored epoch and last batch of producer_id: true when known (a
 * producer with no batch yet reports last_seq -1 and last_offset -1). */
bool kb_producers_last(const kb_producers_t *ps, int64_t producer_id, int16_t *epoch, kb_producer_batch_t *last);

/* The table as a version-1 snapshot in a new heap buffer (the caller frees
 * it), entries ordered by producer id; each keeps only its last batch, as
 * Kafka's do.  NULL when out of memory. */
uint8_t *kb_producers_snapshot_encode(const kb_producers_t *ps, size_t *len);

/* Replaces the table with a snapshot's entries.  Returns 0, or -1 with a
 * one-line reason in err (wrong version, CRC mismatch, length not matching
 * the entry count, out of memory); the table is then empty. */
int kb_producers_snapshot_decode(kb_producers_t *ps, const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
