/*
 * kb_epoch_cache.c - the leader-epoch cache's rules (see kb_epoch_cache.h),
 * as Kafka 2.6's LeaderEpochFileCache and
 * AbstractFetcherThread.getOffsetTruncationState have them.
 *
 * A cache holds a handful of entries (one per leadership change that wrote
 * data and is still in the log), so every operation is a linear pass over
 * a small sorted array.
 */
#include "broker/log/kb_epoch_cache.h"

#include <stdlib.h>
#include <string.h>

void kb_epoch_cache_init(kb_epoch_cache_t *c) { memset(c, 0, sizeof(*c)); }

void kb_epoch_cache_free(kb_epoch_cache_t *c) {
    free(c->v);
    kb_epoch_cache_init(c);
}

void kb_epoch_cache_clear(kb_epoch_cache_t *c) { c->n = 0; }

int32_t kb_epoch_cache_latest(const kb_epoch_cache_t *c) {
    return c->n ? c->v[c->n - 1].epoch : KB_EPOCH_UNDEFINED;
}

int64_t kb_epoch_cache_start_of(const kb_epoch_cache_t *c, int32_t epoch) {
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].epoch == epoch) return c->v[i].start_offset;
    return -1;
}

/* Kafka's truncateAndAppend: an entry survives only if both its epoch and
 * its start offset are below the new one's, which keeps the array strictly
 * increasing in both.  The survivors are a prefix (both fields increase
 * along the array), so dropping the rest is a new length. */
int kb_epoch_cache_assign(kb_epoch_cache_t *c, int32_t epoch, int64_t start_offset) {
    size_t keep = 0;

    if (epoch < 0 || start_offset < 0) return 0;
    if (c->n && c->v[c->n - 1].epoch == epoch && start_offset >= c->v[c->n - 1].start_offset) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        kb_epoch_entry_t *grown = realloc(c->v, cap * sizeof(*grown));
        if (!grown) return -1;
        c->v = grown;
        c->cap = cap;
    }
    while (keep < c->n && c->v[keep].epoch < epoch && c->v[keep].start_offset < start_offset) keep++;
    c->v[keep] = (kb_epoch_entry_t){epoch, start_offset};
    c->n = keep + 1;
    return 1;
}

bool kb_epoch_cache_truncate_from_end(kb_epoch_cache_t *c, int64_t end_offset) {
    size_t keep = c->n;

    if (end_offset < 0) return false;
    while (keep > 0 && c->v[keep - 1].start_offset >= end_offset) keep--;
    if (keep == c->n) return false;
    c->n = keep;
    return true;
}

bool kb_epoch_cache_truncate_from_start(kb_epoch_cache_t *c, int64_t start_offset) {
    size_t last = 0; /* one past the last entry starting at or below start_offset */

    while (last < c->n && c->v[last].start_offset <= start_offset) last++;
    if (last == 0) return false;
    if (last == 1 && c->v[0].start_offset == start_offset) return false;
    memmove(c->v, c->v + last - 1, (c->n - last + 1) * sizeof(c->v[0]));
    c->n -= last - 1;
    c->v[0].start_offset = start_offset;
    return true;
}

void kb_epoch_cache_end_offset_for(const kb_epoch_cache_t *c, int64_t leo, int32_t epoch, int32_t *out_epoch,
                                   int64_t *out_end_offset) {
    size_t higher = 0; /* the first entry with an epoch above the requested one */

    *out_epoch = KB_EPOCH_UNDEFINED;
    *out_end_offset = KB_EPOCH_UNDEFINED_OFFSET;
    if (epoch == KB_EPOCH_UNDEFINED) return;
    if (c->n && kb_epoch_cache_latest(c) == epoch) {
        *out_epoch = epoch;
        *out_end_offset = leo;
        return;
    }
    while (higher < c->n && c->v[higher].epoch <= epoch) higher++;
    if (higher == c->n) return; /* above every cached epoch, or none cached */
    *out_epoch = higher == 0 ? epoch : c->v[higher - 1].epoch;
    *out_end_offset = c->v[higher].start_offset;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

bool kb_epoch_cache_truncation_point(const kb_epoch_cache_t *c, int64_t leo, int64_t hw, int32_t reply_epoch,
                                     int64_t reply_end, int64_t *offset) {
    int32_t fe;
    int64_t fend;

    if (reply_end == KB_EPOCH_UNDEFINED_OFFSET) {
        *offset = hw;
        return true;
    }
    if (reply_epoch == KB_EPOCH_UNDEFINED) {
        *offset = min64(reply_end, leo);
        return true;
    }
    kb_epoch_cache_end_offset_for(c, leo, reply_epoch, &fe, &fend);
    if (fend == KB_EPOCH_UNDEFINED_OFFSET) {
        *offset = min64(reply_end, leo);
        return true;
    }
    if (fe != reply_epoch) {
        *offset = min64(fend, leo);
        return false;
    }
    *offset = min64(min64(fend, reply_end), leo);
    return true;
}
