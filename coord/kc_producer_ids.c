/*
 * kc_producer_ids.c - the producer-id block allocator of kc_producer_ids.h.
 *
 * Claiming a block is Kafka's ZooKeeper algorithm (ProducerIdManager before
 * IBP 3.0): read /latest_producer_id_block with its version; the new block
 * starts after the block_end found there (at 0 when the znode is absent or
 * empty, as the base path a broker creates at start is); write it with a
 * setData conditional on that version, or create the znode when it was
 * absent.  Losing the race (BADVERSION, NODEEXISTS) means another broker
 * just took a block: read again and take the next one.
 *
 * Invariant: waiters are queued only while a claim is in flight, so a
 * claim's completion is what answers them.  The completion serves them in
 * order from the new block, and claims again if more are waiting than the
 * block holds.
 *
 * The allocator may be released while ZooKeeper still holds a completion
 * for it; it is then only marked, and the completion frees it (ZooKeeper
 * runs every outstanding completion, at the latest when the session
 * closes).
 */
#include "coord/kc_producer_ids.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "coord/kc_paths.h"

/* Conflicting claims end as soon as the other brokers have their blocks;
 * this bound only stops a loop against something that keeps changing the
 * znode. */
#define MAX_CLAIM_ATTEMPTS 100

typedef struct waiter {
    struct waiter *next;
    kc_producer_id_fn done;
    void *arg;
} waiter_t;

struct kc_producer_ids {
    kc_session_t *s;
    int32_t broker_id;
    bool has_block;
    int64_t block_start, block_end;
    int64_t next_id;  /* > block_end when the block is used up */
    bool claiming;    /* a ZooKeeper operation of a claim is in flight */
    bool released;    /* kc_producer_ids_free ran during the claim */
    int attempts;     /* reads of the current claim */
    kc_producer_id_block_t claim;
    waiter_t *head, *tail;
};

static void claim_read(kc_producer_ids_t *ids);

/* ------------------------------------------------------------- waiters */

static void push_waiter(kc_producer_ids_t *ids, waiter_t *w) {
    w->next = NULL;
    if (ids->tail) ids->tail->next = w;
    else ids->head = w;
    ids->tail = w;
}

static waiter_t *pop_waiter(kc_producer_ids_t *ids) {
    waiter_t *w = ids->head;

    if (w) {
        ids->head = w->next;
        if (!ids->head) ids->tail = NULL;
    }
    return w;
}

/* Answers every waiter with rc (each is popped before its callback runs,
 * so a callback may queue a new request). */
static void fail_waiters(kc_producer_ids_t *ids, int rc) {
    waiter_t *w;

    while ((w = pop_waiter(ids))) {
        w->done(rc, -1, w->arg);
        free(w);
    }
}

static bool block_has_ids(const kc_producer_ids_t *ids) { return ids->has_block && ids->next_id <= ids->block_end; }

/* -------------------------------------------------------------- claims */

/* The end of a claim.  Returns true when the allocator was released
 * meanwhile and is now freed (the caller must not touch it). */
static bool claim_over(kc_producer_ids_t *ids) {
    ids->claiming = false;
    if (!ids->released) return false;
    free(ids);
    return true;
}

static void claim_failed(kc_producer_ids_t *ids, int rc, const char *what) {
    if (claim_over(ids)) return;
    kc_error("coord", "cannot claim a producer id block: %s: %s", what, kc_strerror(rc));
    fail_waiters(ids, rc);
}

static int start_claim(kc_producer_ids_t *ids);

/* The claimed block becomes current; waiters are served from it in order. */
static void claim_won(kc_producer_ids_t *ids) {
    waiter_t *w;
    int rc;

    if (claim_over(ids)) return;
    ids->has_block = true;
    ids->block_start = ids->next_id = ids->claim.block_start;
    ids->block_end = ids->claim.block_end;
    kc_info("coord", "claimed producer ids %" PRId64 "-%" PRId64, ids->block_start, ids->block_end);
    while (block_has_ids(ids) && (w = pop_waiter(ids))) {
        w->done(KC_OK, ids->next_id++, w->arg);
        free(w);
    }
    if (ids->head && (rc = start_claim(ids)) != KC_OK) fail_waiters(ids, rc);
}

/* A lost race: someone else wrote the znode since we read it. */
static void claim_retry(kc_producer_ids_t *ids) {
    if (ids->released) {
        claim_over(ids);
        return;
    }
    if (++ids->attempts > MAX_CLAIM_ATTEMPTS) {
        claim_failed(ids, KC_BADVERSION, "too many concurrent claims");
        return;
    }
    claim_read(ids);
}

static void block_written(int rc, const struct Stat *st, const void *data) {
    kc_producer_ids_t *ids = (kc_producer_ids_t *)data;

    (void)st;
    if (rc == ZOK) claim_won(ids);
    else if (rc == ZBADVERSION) claim_retry(ids);
    else claim_failed(ids, kc_from_zrc(rc), "setData " KC_PATH_PRODUCER_ID_BLOCK);
}

static void block_created(int rc, const char *value, const void *data) {
    kc_producer_ids_t *ids = (kc_producer_ids_t *)data;

    (void)value;
    if (rc == ZOK) claim_won(ids);
    else if (rc == ZNODEEXISTS) claim_retry(ids);
    else claim_failed(ids, kc_from_zrc(rc), "create " KC_PATH_PRODUCER_ID_BLOCK);
}

/* Writes ids->claim: a create when the znode was absent (version < 0),
 * else a setData at the version read.  The client copies the data when
 * the request is queued, so the JSON is freed right away. */
static void write_claim(kc_producer_ids_t *ids, int version) {
    zhandle_t *zh = kc_session_handle(ids->s);
    char *json = kc_json_producer_id_block_encode(&ids->claim);
    int rc;

    if (!zh || !json) {
        free(json);
        claim_failed(ids, zh ? KC_ERR : KC_CONNLOSS, "writing the new block");
        return;
    }
    if (version < 0)
        rc = zoo_acreate(zh, KC_PATH_PRODUCER_ID_BLOCK, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0,
                         block_created, ids);
    else
        rc = zoo_aset(zh, KC_PATH_PRODUCER_ID_BLOCK, json, (int)strlen(json), version, block_written, ids);
    free(json);
    if (rc != ZOK) claim_failed(ids, kc_from_zrc(rc), "writing the new block");
    kc_session_kick(ids->s);
}

/* The block after the one the znode names (0 when there is none). */
static int next_block(const char *value, int len, kc_producer_id_block_t *next, int32_t broker_id) {
    kc_producer_id_block_t prev;
    int64_t start = 0;

    if (value && len > 0) {
        if (kc_json_producer_id_block_decode(value, (size_t)len, &prev) != 0) return KC_INVALID;
        if (prev.block_end > INT64_MAX - KC_PRODUCER_ID_BLOCK_SIZE) return KC_INVALID; /* ids exhausted */
        start = prev.block_end + 1;
    }
    *next = (kc_producer_id_block_t){broker_id, start, start + KC_PRODUCER_ID_BLOCK_SIZE - 1};
    return KC_OK;
}

static void block_read(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    kc_producer_ids_t *ids = (kc_producer_ids_t *)data;
    int brc;

    if (ids->released) {
        claim_over(ids);
        return;
    }
    if (rc != ZOK && rc != ZNONODE) {
        claim_failed(ids, kc_from_zrc(rc), "reading " KC_PATH_PRODUCER_ID_BLOCK);
        return;
    }
    brc = next_block(rc == ZOK ? value : NULL, rc == ZOK ? len : 0, &ids->claim, ids->broker_id);
    if (brc != KC_OK) {
        claim_failed(ids, brc, KC_PATH_PRODUCER_ID_BLOCK " holds no valid block (or the ids are used up)");
        return;
    }
    write_claim(ids, rc == ZOK ? st->version : -1);
}

static void claim_read(kc_producer_ids_t *ids) {
    zhandle_t *zh = kc_session_handle(ids->s);
    int rc = zh ? zoo_aget(zh, KC_PATH_PRODUCER_ID_BLOCK, 0, block_read, ids) : ZCONNECTIONLOSS;

    if (rc != ZOK) claim_failed(ids, kc_from_zrc(rc), "reading " KC_PATH_PRODUCER_ID_BLOCK);
    kc_session_kick(ids->s);
}

/* Starts a claim when none is running; KC_OK, or the code of a request
 * that could not even be queued (nothing is then in flight). */
static int start_claim(kc_producer_ids_t *ids) {
    zhandle_t *zh = kc_session_handle(ids->s);
    int rc;

    if (ids->claiming) return KC_OK;
    if (!zh) return KC_CONNLOSS;
    rc = zoo_aget(zh, KC_PATH_PRODUCER_ID_BLOCK, 0, block_read, ids);
    if (rc != ZOK) return kc_from_zrc(rc);
    ids->claiming = true;
    ids->attempts = 1;
    kc_session_kick(ids->s);
    return KC_OK;
}

/* ----------------------------------------------------------------- API */

kc_producer_ids_t *kc_producer_ids_new(kc_session_t *s, int32_t broker_id) {
    kc_producer_ids_t *ids = calloc(1, sizeof(*ids));

    if (!ids) return NULL;
    ids->s = s;
    ids->broker_id = broker_id;
    return ids;
}

void kc_producer_ids_free(kc_producer_ids_t *ids) {
    if (!ids) return;
    fail_waiters(ids, KC_ERR);
    if (ids->claiming) ids->released = true; /* the completion frees it */
    else free(ids);
}

bool kc_producer_ids_take(kc_producer_ids_t *ids, int64_t *id) {
    if (ids->head || !block_has_ids(ids)) return false;
    *id = ids->next_id++;
    return true;
}

int kc_producer_ids_wait(kc_producer_ids_t *ids, kc_producer_id_fn done, void *arg) {
    waiter_t *w = malloc(sizeof(*w));
    int rc;

    if (!w) return KC_ERR;
    rc = start_claim(ids);
    if (rc != KC_OK) {
        free(w);
        return rc;
    }
    w->done = done;
    w->arg = arg;
    push_waiter(ids, w);
    return KC_OK;
}

bool kc_producer_ids_block(const kc_producer_ids_t *ids, int64_t *start, int64_t *end) {
    if (!ids->has_block) return false;
    *start = ids->block_start;
    *end = ids->block_end;
    return true;
}
