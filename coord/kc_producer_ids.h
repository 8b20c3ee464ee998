/*
 * kc_producer_ids.h - producer ids for InitProducerId, handed out from
 * blocks of 1000 that each broker reserves in /latest_producer_id_block
 * (wire-protocol.md 7.1, zk-and-replication.md 1.11).
 *
 * Any broker may answer an idempotent producer, so ids must be unique
 * cluster-wide without asking anyone per id: a broker claims the block
 * after the one the znode names by a setData conditional on the version it
 * read (create when the znode is absent; read again and retry when another
 * broker won the race), then hands out its ids one by one.  Ids left in a
 * block when the broker stops are never used (ids are never reused).
 *
 * A request for an id while none is left waits for the claim; waiters are
 * answered in arrival order on the session's event loop.
 */
#ifndef KC_PRODUCER_IDS_H
#define KC_PRODUCER_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "coord/kc_zk.h"

#define KC_PRODUCER_ID_BLOCK_SIZE 1000

typedef struct kc_producer_ids kc_producer_ids_t;

/* rc is KC_OK with a fresh id, or a KC_* code (id -1) when no block could
 * be claimed (not connected, ZooKeeper error, ids exhausted, shutdown). */
typedef void (*kc_producer_id_fn)(int rc, int64_t producer_id, void *arg);

kc_producer_ids_t *kc_producer_ids_new(kc_session_t *s, int32_t broker_id);

/* Answers every waiter with KC_ERR and frees the allocator; a claim still
 * in flight in ZooKeeper finishes the release when it completes. */
void kc_producer_ids_free(kc_producer_ids_t *ids);

/* The next id of the current block, without waiting: true and *id set, or
 * false when the block is used up (or others are already waiting). */
bool kc_producer_ids_take(kc_producer_ids_t *ids, int64_t *id);

/*
 * Queues a request for an id and starts claiming a block if none is being
 * claimed.  Returns KC_OK when done(arg) will be called later, on the loop
 * (never from inside this call), or a KC_* code, without queueing, when a
 * claim cannot even be started (no ZooKeeper handle).
 */
int kc_producer_ids_wait(kc_producer_ids_t *ids, kc_producer_id_fn done, void *arg);

/* The current block: [*start, *end]; false before the first claim. */
bool kc_producer_ids_block(const kc_producer_ids_t *ids, int64_t *start, int64_t *end);

#endif
