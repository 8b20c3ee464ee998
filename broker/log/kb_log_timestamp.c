/*
 * kb_log_timestamp.c - ListOffsets by timestamp, with the segment scan and
 * the decompression on a worker thread (design.md "Threads").
 *
 * Kafka's answer is the first record, in offset order, whose timestamp is
 * at or after the target: the first segment whose largest timestamp
 * reaches it, then inside that segment the batch found through the time
 * index, then the record inside that batch.  The split between the loop
 * and the worker follows what may be touched where:
 *
 *   on the loop: the log's segment list, each segment's largest timestamp
 *     and its in-memory indexes (which the appends on the loop change).
 *     They pick the candidate segment and the byte position the time and
 *     offset indexes give for the target, and the segment's size at that
 *     moment bounds the scan.  The job takes a reference on the segment,
 *     so retention may retire it meanwhile without closing its fd under
 *     the worker, and appends only ever write past that size;
 *   on the worker: pread of the batch headers from that position, then of
 *     the first batch whose max timestamp reaches the target, whose records
 *     are walked - decompressed only up to the record looked for, and never
 *     beyond kbroker.batch.decompressed.max.bytes.  A batch whose records
 *     cannot be read (corrupt, or inflating past the cap) answers with its
 *     first offset and max timestamp, as before the records were read at
 *     all: a consumer seeking there misses nothing.
 *
 * A producer's max_timestamp is not checked against its records, so a
 * segment may hold no qualifying record after all: the completion on the
 * loop then moves on to the next candidate segment, looked up again by
 * base offset in the current list, and resubmits the same job.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"
#include "proto/kp_batch.h"
#include "proto/kp_records.h"

typedef struct ts_search {
    kb_worker_job_t job;
    kb_log_t *log;
    kb_worker_t *worker;
    int64_t ts, upper;
    size_t max_inflate;
    kb_log_time_fn done;
    void *arg;
    /* The segment being searched: referenced from submission to completion. */
    kb_segment_t *seg;
    int64_t seg_base;
    int fd;
    off_t pos, end;
    /* The worker's answer. */
    int rc; /* 0 found, 1 none in this segment, -1 I/O error */
    int64_t offset, timestamp;
    int unreadable;  /* the KP_WALK_* reason when a batch stood in for its records, else 0 */
    size_t inflated; /* bytes decompressed */
} ts_search_t;

/* ------------------------------------------------------- worker thread */

/* The header of the batch at pos, which must end by `end`. */
static int read_header(int fd, off_t pos, off_t end, kp_batch_header_t *h) {
    uint8_t b[KP_BATCH_HEADER_SIZE];

    if (end - pos < KP_BATCH_HEADER_SIZE || pread(fd, b, sizeof(b), pos) != (ssize_t)sizeof(b)) return -1;
    kp_batch_header_decode(b, sizeof(b), h);
    if (h->magic != KP_BATCH_MAGIC || h->batch_length < KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD) return -1;
    return (off_t)kp_batch_size(h) <= end - pos ? 0 : -1;
}

/* The batch stands in for records that cannot be read. */
static int stand_in(ts_search_t *t, const kp_batch_header_t *h, int why) {
    t->offset = h->base_offset;
    t->timestamp = h->max_timestamp;
    t->unreadable = why;
    return 0;
}

/* Reads the batch at pos whole and walks its records: 0 found (or stood
 * in), 1 none qualifies, -1 I/O error. */
static int search_batch(ts_search_t *t, off_t pos, const kp_batch_header_t *h) {
    size_t size = kp_batch_size(h), inflated;
    uint8_t *buf;
    int rc;

    if (size > t->max_inflate) return stand_in(t, h, KP_WALK_TOO_LARGE);
    buf = malloc(size);
    if (!buf) return stand_in(t, h, KP_WALK_NOMEM);
    if (pread(t->fd, buf, size, pos) != (ssize_t)size) {
        free(buf);
        return -1;
    }
    rc = kp_batch_find_timestamp(buf, size, t->ts, t->max_inflate, &t->offset, &t->timestamp, &inflated);
    t->inflated += inflated;
    free(buf);
    if (rc < 0) return stand_in(t, h, rc);
    return rc == KP_FIND_FOUND ? 0 : 1;
}

static void search_run(void *arg) {
    ts_search_t *t = arg;
    kp_batch_header_t h;
    off_t pos = t->pos;

    t->rc = 1;
    t->unreadable = 0;
    t->inflated = 0;
    while (pos < t->end) {
        if (read_header(t->fd, pos, t->end, &h) != 0) {
            t->rc = -1;
            return;
        }
        if (h.max_timestamp >= t->ts && (t->rc = search_batch(t, pos, &h)) <= 0) return;
        pos += (off_t)kp_batch_size(&h);
    }
    t->rc = 1;
}

/* --------------------------------------------------------- on the loop */

/* The first segment after base offset `after` (any, when `first`) that may
 * hold a record at or after the target below the upper bound. */
static kb_segment_t *next_candidate(const ts_search_t *t, bool first, int64_t after) {
    const kb_log_t *log = t->log;

    for (size_t i = 0; i < log->n_segs; i++) {
        kb_segment_t *s = log->segs[i];
        if (!first && s->base_offset <= after) continue;
        if (s->base_offset >= t->upper) return NULL;
        if (s->next_offset <= log->log_start_offset || s->max_timestamp < t->ts) continue;
        return s;
    }
    return NULL;
}

/* The log stays allocated while a search holds it (a deleted log waits,
 * kb_logdelete.c), and it is let go before the answer: the callback may
 * delete the partition. */
static void finish(ts_search_t *t, int rc) {
    t->log->searches--;
    t->done(t->arg, rc, rc == 0 ? t->offset : -1, rc == 0 ? t->timestamp : -1);
    free(t);
}

static void search_done(void *arg, bool cancelled);

static void release_segment(ts_search_t *t) {
    kb_segment_unpin(t->seg);
    kb_segment_unref(t->seg);
    t->seg = NULL;
}

/* Points the job at segment s (the index reads happen here, on the loop)
 * and queues it. */
static int submit(ts_search_t *t, kb_segment_t *s) {
    /* The pin keeps a sealed segment's .log open for the worker (it is
     * opened by path if no reader had it open); the reference keeps the
     * segment itself. */
    if (kb_segment_pin(s) != 0) {
        kc_error("log", "%s: ListOffsets by timestamp cannot open segment %020lld: %s", t->log->name,
                 (long long)s->base_offset, strerror(errno));
        return -1;
    }
    t->seg = kb_segment_ref(s);
    t->seg_base = s->base_offset;
    t->fd = s->fd;
    t->pos = kb_segment_timestamp_position(s, t->ts);
    t->end = s->size;
    t->job = (kb_worker_job_t){.run = search_run, .done = search_done, .arg = t};
    if (kb_worker_submit(t->worker, &t->job) == 0) return 0;
    release_segment(t);
    return -1;
}

static void report_unreadable(const ts_search_t *t) {
    kc_warn("log", "%s: ListOffsets for timestamp %lld: the records of the batch at offset %lld %s; "
                   "the batch's first offset answers",
            t->log->name, (long long)t->ts, (long long)t->offset,
            t->unreadable == KP_WALK_TOO_LARGE ? "inflate beyond kbroker.batch.decompressed.max.bytes"
            : t->unreadable == KP_WALK_NOMEM   ? "could not be read (out of memory)"
                                               : "are corrupt");
}

/* The answer of a segment whose search found a record (or a batch that
 * stands in for its records). */
static int found_answer(ts_search_t *t) {
    if (t->unreadable) report_unreadable(t);
    if (t->offset < t->log->log_start_offset) t->offset = t->log->log_start_offset;
    return t->offset < t->upper ? 0 : 1;
}

static void search_done(void *arg, bool cancelled) {
    ts_search_t *t = arg;
    kb_log_stats_t *stats = kb_logmgr_stats_mut(t->log->mgr);
    kb_segment_t *next;
    int rc = t->rc;

    release_segment(t);
    if (!cancelled) {
        stats->timestamp_scans++;
        stats->timestamp_decompressed_bytes += t->inflated;
    }
    if (cancelled) {
        rc = -1;
    } else if (atomic_load(&t->log->deleted)) {
        rc = 1; /* deleted meanwhile: nothing more to search, nor to answer from */
    } else if (rc < 0) {
        kc_error("log", "%s: timestamp lookup failed in segment %020lld: unreadable batch header", t->log->name,
                 (long long)t->seg_base);
        rc = 1;
    } else if (rc == 0) {
        rc = found_answer(t);
    } else if ((next = next_candidate(t, false, t->seg_base)) != NULL) {
        if (submit(t, next) == 0) return; /* the search goes on in the next segment */
        rc = -1;
    }
    finish(t, rc);
}

int kb_log_offset_for_timestamp(kb_log_t *log, kb_worker_t *w, int64_t ts, int64_t upper, size_t max_inflate,
                                kb_log_time_fn done, void *arg) {
    ts_search_t *t = calloc(1, sizeof(*t));
    kb_segment_t *s;

    if (!t) return -1;
    *t = (ts_search_t){.log = log, .worker = w, .ts = ts, .upper = upper, .max_inflate = max_inflate,
                       .done = done, .arg = arg};
    s = next_candidate(t, true, 0);
    if (!s) {
        free(t);
        return 1;
    }
    if (submit(t, s) != 0) {
        free(t);
        return -1;
    }
    log->searches++;
    return 0;
}
