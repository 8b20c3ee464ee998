/*
 * kb_producer_state.c - the per-partition producer table of
 * kb_producer_state.h: a hash table by producer id whose entries hold the
 * epoch, the last timestamp and a ring of the last five batches.
 *
 * Why five: an idempotent producer has at most five requests in flight per
 * partition, so any retry it can send is of one of its last five batches;
 * a retry matching one of them (same epoch, same first and last sequence)
 * was already written and must be answered, not appended again.
 *
 * The hot path (check before, record after an append) is one hash lookup
 * and a few compares; memory is allocated only when a producer id is seen
 * for the first time.  Snapshots are encoded with the proto/ writer and
 * decoded with its reader (big-endian, bounds-checked), and sorted by
 * producer id so the same table always gives the same bytes.
 */
#include "broker/log/kb_producer_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kp_buf.h"
#include "proto/kp_types.h"

#define INITIAL_BUCKETS 16
#define NO_EPOCH (-1)
#define NO_SEQUENCE (-1)
#define SNAPSHOT_CRC_END 6 /* version int16 + crc uint32: the CRC covers what follows */

typedef struct producer {
    struct producer *next; /* hash chain */
    int64_t id;
    int16_t epoch;
    uint8_t n_batches; /* valid entries of the ring */
    uint8_t oldest;    /* ring index of the oldest one */
    int64_t last_timestamp;
    kb_producer_batch_t batches[KB_PRODUCER_CACHED_BATCHES];
    /* The batch that was next in sequence and was refused before its
     * append (kb_producers_note_refused), while it stays next: refused_error
     * 0 when none.  Memory only, never in a snapshot. */
    int16_t refused_error;
    int16_t refused_epoch;
    int32_t refused_seq;
} producer_t;

struct kb_producers {
    producer_t **buckets;
    size_t n_buckets; /* a power of two */
    size_t n;
};

/* ------------------------------------------------------------ sequences */

/* seq + delta in Kafka's sequence space, which wraps from INT32_MAX to 0. */
static int32_t seq_add(int32_t seq, int32_t delta) {
    int64_t s = (int64_t)seq + delta;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

static int32_t seq_sub(int32_t seq, int32_t delta) {
    int64_t s = (int64_t)seq - delta;
    return (int32_t)(s < 0 ? s + INT32_MAX + 1 : s);
}

/* Kafka's inSequence: next follows last (NO_SEQUENCE is followed by 0). */
static bool in_sequence(int32_t last, int32_t next) {
    return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

static kb_producer_batch_t batch_of(const kp_batch_header_t *h) {
    return (kb_producer_batch_t){.first_seq = h->base_sequence,
                                 .last_seq = seq_add(h->base_sequence, h->last_offset_delta),
                                 .last_offset = kp_batch_last_offset(h),
                                 .offset_delta = h->last_offset_delta,
                                 .timestamp = h->max_timestamp};
}

/* ----------------------------------------------------------- the table */

static size_t bucket_index(const kb_producers_t *ps, int64_t id) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing */
    return (size_t)(h ^ (h >> 32)) & (ps->n_buckets - 1);
}

static producer_t *find(const kb_producers_t *ps, int64_t id) {
    producer_t *p = ps->buckets[bucket_index(ps, id)];
    while (p && p->id != id) p = p->next;
    return p;
}

/* Doubles the buckets; on allocation failure the chains just get longer. */
static void grow(kb_producers_t *ps) {
    size_t old_n = ps->n_buckets;
    producer_t **old = ps->buckets, **nb = calloc(old_n * 2, sizeof(*nb));

    if (!nb) return;
    ps->buckets = nb;
    ps->n_buckets = old_n * 2;
    for (size_t i = 0; i < old_n; i++) {
        for (producer_t *p = old[i], *next; p; p = next) {
            size_t j = bucket_index(ps, p->id);
            next = p->next;
            p->next = nb[j];
            nb[j] = p;
        }
    }
    free(old);
}

/* The entry of id, created empty (epoch NO_EPOCH) when new; NULL when out
 * of memory. */
static producer_t *find_or_add(kb_producers_t *ps, int64_t id) {
    producer_t *p = find(ps, id);
    size_t i;

    if (p) return p;
    if (ps->n >= ps->n_buckets) grow(ps);
    p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->id = id;
    p->epoch = NO_EPOCH;
    p->last_timestamp = -1;
    i = bucket_index(ps, id);
    p->next = ps->buckets[i];
    ps->buckets[i] = p;
    ps->n++;
    return p;
}

kb_producers_t *kb_producers_new(void) {
    kb_producers_t *ps = calloc(1, sizeof(*ps));

    if (!ps) return NULL;
    ps->n_buckets = INITIAL_BUCKETS;
    ps->buckets = calloc(ps->n_buckets, sizeof(*ps->buckets));
    if (!ps->buckets) {
        free(ps);
        return NULL;
    }
    return ps;
}

void kb_producers_clear(kb_producers_t *ps) {
    for (size_t i = 0; i < ps->n_buckets; i++) {
        for (producer_t *p = ps->buckets[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
        ps->buckets[i] = NULL;
    }
    ps->n = 0;
}

void kb_producers_free(kb_producers_t *ps) {
    if (!ps) return;
    kb_producers_clear(ps);
    free(ps->buckets);
    free(ps);
}

size_t kb_producers_count(const kb_producers_t *ps) { return ps->n; }

/* ------------------------------------------------------ the batch ring */

static const kb_producer_batch_t *ring_at(const producer_t *p, unsigned i) {
    return &p->batches[(p->oldest + i) % KB_PRODUCER_CACHED_BATCHES];
}

static const kb_producer_batch_t *newest(const producer_t *p) {
    return p->n_batches ? ring_at(p, p->n_batches - 1u) : NULL;
}

static void ring_push(producer_t *p, const kb_producer_batch_t *b) {
    if (p->n_batches < KB_PRODUCER_CACHED_BATCHES) {
        p->batches[(p->oldest + p->n_batches) % KB_PRODUCER_CACHED_BATCHES] = *b;
        p->n_batches++;
        return;
    }
    p->batches[p->oldest] = *b; /* overwrites the oldest */
    p->oldest = (uint8_t)((p->oldest + 1) % KB_PRODUCER_CACHED_BATCHES);
}

static const kb_producer_batch_t *find_duplicate(const producer_t *p, const kb_producer_batch_t *b) {
    for (unsigned i = 0; i < p->n_batches; i++) {
        const kb_producer_batch_t *c = ring_at(p, i);
        if (c->first_seq == b->first_seq && c->last_seq == b->last_seq) return c;
    }
    return NULL;
}

/* ---------------------------------------------------- check and record */

/* Kafka's checkSequence for a producer with a known epoch. */
static bool sequence_ok(const producer_t *p, const kp_batch_header_t *h) {
    const kb_producer_batch_t *last;

    if (h->producer_epoch != p->epoch) return h->base_sequence == 0;
    last = newest(p);
    return in_sequence(last ? last->last_seq : NO_SEQUENCE, h->base_sequence);
}

/* Whether the refused batch p remembers is still the one p must append
 * next, so that h, with a gap, is one pipelined behind it. */
static bool behind_refused(const producer_t *p, const kp_batch_header_t *h) {
    if (!p->refused_error || h->producer_epoch != p->refused_epoch || h->base_sequence == p->refused_seq)
        return false;
    kp_batch_header_t next = {.producer_id = p->id, .producer_epoch = p->refused_epoch,
                              .base_sequence = p->refused_seq};
    return sequence_ok(p, &next);
}

void kb_producers_note_refused(kb_producers_t *ps, const kp_batch_header_t *h, int16_t error_code) {
    producer_t *p;
    if (h->producer_id < 0 || !(p = find(ps, h->producer_id)) || p->epoch == NO_EPOCH) return;
    if (h->producer_epoch < p->epoch || !sequence_ok(p, h)) return; /* not the batch it needed next */
    p->refused_error = error_code;
    p->refused_epoch = h->producer_epoch;
    p->refused_seq = h->base_sequence;
}

void kb_producers_check(const kb_producers_t *ps, const kp_batch_header_t *h, kb_producer_verdict_t *v) {
    const producer_t *p;
    const kb_producer_batch_t *dup;
    kb_producer_batch_t b;

    *v = (kb_producer_verdict_t){.error_code = KP_ERR_NONE};
    if (h->producer_id < 0) return;
    p = find(ps, h->producer_id);
    /* Unknown (never seen, expired, or state lost): any sequence goes. */
    if (!p || p->epoch == NO_EPOCH) return;
    b = batch_of(h);
    if (h->producer_epoch == p->epoch && (dup = find_duplicate(p, &b)) != NULL) {
        v->duplicate = true;
        v->cached = *dup;
        return;
    }
    if (h->producer_epoch < p->epoch) v->error_code = KP_ERR_INVALID_PRODUCER_EPOCH;
    else if (!sequence_ok(p, h))
        v->error_code = behind_refused(p, h) ? p->refused_error : KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
}

int kb_producers_record(kb_producers_t *ps, const kp_batch_header_t *h) {
    producer_t *p;
    kb_producer_batch_t b;

    if (h->producer_id < 0) return 0;
    p = find_or_add(ps, h->producer_id);
    if (!p) return -1;
    if (h->producer_epoch != p->epoch) {
        p->epoch = h->producer_epoch;
        p->n_batches = 0;
        p->oldest = 0;
    }
    p->last_timestamp = h->max_timestamp;
    if (h->attributes & KP_ATTR_CONTROL) return 0;
    b = batch_of(h);
    ring_push(p, &b);
    return 0;
}

/* last_timestamp is a client's batch timestamp, any int64: it is compared
 * with the cutoff rather than subtracted from now, which could overflow. */
void kb_producers_expire(kb_producers_t *ps, int64_t now_ms, int64_t max_age_ms) {
    int64_t cutoff = now_ms - max_age_ms;

    for (size_t i = 0; i < ps->n_buckets; i++) {
        producer_t **link = &ps->buckets[i];
        while (*link) {
            producer_t *p = *link;
            if (p->last_timestamp >= cutoff) {
                link = &p->next;
                continue;
            }
            *link = p->next;
            free(p);
            ps->n--;
        }
    }
}

bool kb_producers_last(const kb_producers_t *ps, int64_t producer_id, int16_t *epoch, kb_producer_batch_t *last) {
    const producer_t *p = find(ps, producer_id);
    const kb_producer_batch_t *b;

    if (!p) return false;
    *epoch = p->epoch;
    b = newest(p);
    if (b) *last = *b;
    else *last = (kb_producer_batch_t){NO_SEQUENCE, NO_SEQUENCE, -1, 0, p->last_timestamp};
    return true;
}

/* ------------------------------------------------------------ snapshots */

static int cmp_producer_id(const void *a, const void *b) {
    int64_t x = (*(const producer_t *const *)a)->id, y = (*(const producer_t *const *)b)->id;
    return (x > y) - (x < y);
}

/* One 46-byte entry: only the last batch survives in a snapshot. */
static void write_entry(kp_writer_t *w, const producer_t *p) {
    const kb_producer_batch_t *b = newest(p);

    kp_write_int64(w, p->id);
    kp_write_int16(w, p->epoch);
    kp_write_int32(w, b ? b->last_seq : NO_SEQUENCE);
    kp_write_int64(w, b ? b->last_offset : -1);
    kp_write_int32(w, b ? b->offset_delta : 0);
    kp_write_int64(w, p->last_timestamp);
    kp_write_int32(w, -1); /* coordinator_epoch: never transactional */
    kp_write_int64(w, -1); /* current_txn_first_offset: no open transaction */
}

uint8_t *kb_producers_snapshot_encode(const kb_producers_t *ps, size_t *len) {
    producer_t **sorted = malloc((ps->n ? ps->n : 1) * sizeof(*sorted));
    size_t n = 0, crc_at;
    kp_writer_t w;

    if (!sorted) return NULL;
    for (size_t i = 0; i < ps->n_buckets; i++)
        for (producer_t *p = ps->buckets[i]; p; p = p->next) sorted[n++] = p;
    qsort(sorted, n, sizeof(*sorted), cmp_producer_id);
    kp_writer_init(&w);
    kp_write_int16(&w, KB_PRODUCER_SNAPSHOT_VERSION);
    crc_at = kp_write_reserve_int32(&w);
    kp_write_int32(&w, (int32_t)n);
    for (size_t i = 0; i < n; i++) write_entry(&w, sorted[i]);
    free(sorted);
    if (w.err || w.len == 0) {
        kp_writer_free(&w);
        return NULL;
    }
    kp_write_patch_int32(&w, crc_at, (int32_t)kp_crc32c(0, w.buf + SNAPSHOT_CRC_END, w.len - SNAPSHOT_CRC_END));
    *len = w.len;
    return w.buf; /* ownership passes to the caller */
}

/* Reads one entry into the table. */
static int read_entry(kb_producers_t *ps, kp_reader_t *r) {
    int64_t id = kp_read_int64(r);
    int16_t epoch = kp_read_int16(r);
    int32_t last_seq = kp_read_int32(r);
    int64_t last_offset = kp_read_int64(r);
    int32_t offset_delta = kp_read_int32(r);
    int64_t timestamp = kp_read_int64(r);
    producer_t *p;

    kp_read_skip(r, 4 + 8); /* coordinator epoch and open transaction: unused without transactions */
    if (r->err || !(p = find_or_add(ps, id))) return -1;
    p->epoch = epoch;
    p->last_timestamp = timestamp;
    p->n_batches = 0;
    p->oldest = 0;
    if (last_offset >= 0) {
        kb_producer_batch_t b = {seq_sub(last_seq, offset_delta), last_seq, last_offset, offset_delta, timestamp};
        ring_push(p, &b);
    }
    return 0;
}

static int decode_fail(kb_producers_t *ps, char *err, size_t errlen, const char *why) {
    snprintf(err, errlen, "%s", why);
    kb_producers_clear(ps);
    return -1;
}

int kb_producers_snapshot_decode(kb_producers_t *ps, const uint8_t *buf, size_t len, char *err, size_t errlen) {
    kp_reader_t r;
    int16_t version;
    uint32_t crc;
    int32_t count;

    kb_producers_clear(ps);
    if (len < KB_PRODUCER_SNAPSHOT_HEADER_SIZE) return decode_fail(ps, err, errlen, "shorter than its header");
    kp_reader_init(&r, buf, len);
    version = kp_read_int16(&r);
    crc = kp_read_uint32(&r);
    count = kp_read_int32(&r);
    if (version != KB_PRODUCER_SNAPSHOT_VERSION) return decode_fail(ps, err, errlen, "unknown snapshot version");
    if (crc != kp_crc32c(0, buf + SNAPSHOT_CRC_END, len - SNAPSHOT_CRC_END))
        return decode_fail(ps, err, errlen, "CRC-32C mismatch");
    if (count < 0 || len - KB_PRODUCER_SNAPSHOT_HEADER_SIZE != (size_t)count * KB_PRODUCER_SNAPSHOT_ENTRY_SIZE)
        return decode_fail(ps, err, errlen, "length does not match the entry count");
    for (int32_t i = 0; i < count; i++)
        if (read_entry(ps, &r) != 0) return decode_fail(ps, err, errlen, "out of memory");
    return 0;
}
