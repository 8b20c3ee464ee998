/*
 * kb_producer_ids.h - the producer-id service InitProducerId asks for ids
 * of idempotent producers.  It hides where ids come from: today blocks of
 * 1000 claimed in ZooKeeper's /latest_producer_id_block by libkcoord
 * (coord/kc_producer_ids.h), so the handler writes nothing to ZooKeeper
 * itself.  Explicit lifetime: main creates it with the session and frees
 * it before the session.
 */
#ifndef KB_PRODUCER_IDS_H
#define KB_PRODUCER_IDS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kb_producer_ids kb_producer_ids_t;
typedef struct kc_session kc_session_t;

/* ok with a fresh id, or !ok (id -1) when no block could be claimed (not
 * connected, ZooKeeper error, ids exhausted, shutdown). */
typedef void (*kb_producer_id_fn)(bool ok, int64_t producer_id, void *arg);

kb_producer_ids_t *kb_producer_ids_new(kc_session_t *zk, int32_t broker_id);
/* Answers every waiter with !ok and frees the service. */
void kb_producer_ids_free(kb_producer_ids_t *p);
/* The next id without waiting: true and *id set, or false when none is at
 * hand (the block is used up, or others already wait). */
bool kb_producer_ids_take(kb_producer_ids_t *p, int64_t *id);
/* Queues a request for an id: 0 when done(arg) will be called later on the
 * loop (never from inside this call), -1 when it cannot be queued. */
int kb_producer_ids_wait(kb_producer_ids_t *p, kb_producer_id_fn done, void *arg);

#endif
