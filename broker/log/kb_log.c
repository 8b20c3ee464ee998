/*
 * kb_log.c - one partition's log: its segments, offset assignment on
 * append, segment rolls, byte ranges for sendfile, the high watermark and
 * log start, and flush bookkeeping (timestamp lookups: kb_log_timestamp.c)
 * (zk-and-replication.md 4.1-4.9, wire-protocol.md 5.9).
 *
 * Appends take whole batches: the header fields Kafka rewrites are patched
 * in the caller's buffer and the batch goes to the active segment with one
 * pwrite; there is no per-record work and no allocation.  Offsets are
 * assigned here, on the loop, in the order batches arrive.
 *
 * The recovery point is the offset below which everything is fsynced.  It
 * moves only when a flush request completes (kb_log_flush_finished), which
 * the flusher does in request order per log.  flush_target is the highest
 * offset a queued flush will cover, so flush.messages does not queue a
 * second flush for data a pending one already covers; the flush_queued_*
 * mark says which segments the flusher was already asked to fsync, so
 * that every request queues only what changed since (a sealed segment is
 * fsynced once).
 *
 * Every appended batch (client or replicated) is also recorded in the log's
 * idempotent-producer table, whose <offset>.snapshot files this file writes
 * at rolls and at a clean shutdown that finds the log end moved, and reads
 * back, with a header-only replay of the batches after the newest one, when
 * the log is loaded (wire-protocol.md 7.2-7.3).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "broker/log/kb_producer_state.h"
#include "common/kc_log.h"
#include "proto/kp_compress.h"

#define LOG_APPEND_TIME "LogAppendTime"

int64_t kb_log_now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kb_log_mono_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* compression.type as a codec; the key was validated, so only a missing
 * value (a kb_config_t not loaded from a file, in the unit suites) is not
 * a name: it means Kafka's default, producer. */
static int log_codec(const char *compression_type) {
    int codec = kp_codec_by_name(compression_type);
    return codec == KP_CODEC_UNKNOWN ? KP_CODEC_PRODUCER : codec;
}

void kb_log_config_from_broker(kb_log_config_t *lc, const kb_config_t *cfg) {
    lc->segment_bytes = cfg->log_segment_bytes;
    lc->roll_ms = cfg->log_roll_ms;
    lc->index_interval_bytes = cfg->log_index_interval_bytes;
    lc->index_size_max_bytes = cfg->log_index_size_max_bytes;
    lc->flush_interval_messages = cfg->log_flush_interval_messages;
    lc->flush_interval_ms = cfg->log_flush_interval_ms;
    lc->log_append_time =
        cfg->log_message_timestamp_type && strcmp(cfg->log_message_timestamp_type, LOG_APPEND_TIME) == 0;
    lc->max_message_bytes = cfg->message_max_bytes;
    lc->compression_codec = log_codec(cfg->compression_type);
    lc->retention_ms = cfg->log_retention_ms;
    lc->retention_bytes = cfg->log_retention_bytes;
    lc->file_delete_delay_ms = cfg->log_segment_delete_delay_ms;
}

/* The active segment keeps the index size it was created with; a new
 * segment.bytes or segment.index.bytes applies from the next roll. */
void kb_log_set_config(kb_log_t *log, const kb_log_config_t *lc) { log->cfg = *lc; }

/* ---------------------------------------------------------- segment list */

static kb_segment_t *active_segment(const kb_log_t *log) { return log->segs[log->n_segs - 1]; }

/* Takes ownership of the caller's reference to s. */
static int push_segment(kb_log_t *log, kb_segment_t *s) {
    if (log->n_segs == log->cap_segs) {
        size_t cap = log->cap_segs ? log->cap_segs * 2 : 8;
        kb_segment_t **grown = realloc(log->segs, cap * sizeof(*grown));
        if (!grown) return -1;
        log->segs = grown;
        log->cap_segs = cap;
    }
    log->segs[log->n_segs++] = s;
    return 0;
}

/* Index of the last segment whose base offset <= offset (0 if none). */
static size_t floor_segment(const kb_log_t *log, int64_t offset) {
    size_t lo = 0, hi = log->n_segs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base_offset <= offset) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

int64_t kb_log_first_segment_base(const kb_log_t *log) { return log->segs[0]->base_offset; }

size_t kb_log_floor_segment(const kb_log_t *log, int64_t offset) { return floor_segment(log, offset); }
int kb_log_push_segment(kb_log_t *log, kb_segment_t *s) { return push_segment(log, s); }

/* -------------------------------------------------------------- loading */

static kb_log_stats_t *stats_of(kb_log_t *log) { return kb_logmgr_stats_mut(log->mgr); }

static kb_log_t *log_alloc(kb_logmgr_t *m, kb_logdir_t *dir, const char *topic, int32_t partition,
                           const kb_log_config_t *lc) {
    kb_log_t *log = calloc(1, sizeof(*log));

    if (!log) return NULL;
    log->mgr = m;
    log->dir = dir;
    log->partition = partition;
    log->cfg = *lc;
    log->flush_cap = INT64_MAX;
    kb_epoch_cache_init(&log->epochs);
    log->topic = strdup(topic);
    log->producers = kb_producers_new();
    if (!log->topic || !log->producers || asprintf(&log->path, "%s/%s-%" PRId32, dir->path, topic, partition) < 0) {
        kb_producers_free(log->producers);
        free(log->topic);
        free(log);
        return NULL;
    }
    log->name = strrchr(log->path, '/') + 1;
    return log;
}

/* Parses "<20 digits><suffix>"; returns the suffix or NULL. */
static const char *segment_file_suffix(const char *name, int64_t *base) {
    char digits[KB_SEGMENT_NAME_DIGITS + 1];

    for (int i = 0; i < KB_SEGMENT_NAME_DIGITS; i++)
        if (name[i] < '0' || name[i] > '9') return NULL;
    memcpy(digits, name, KB_SEGMENT_NAME_DIGITS);
    digits[KB_SEGMENT_NAME_DIGITS] = '\0';
    *base = strtoll(digits, NULL, 10);
    return name + KB_SEGMENT_NAME_DIGITS;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Leftovers of interrupted deletes and compactions go; an index without
 * its .log goes; other files (snapshots, leader-epoch-checkpoint) stay. */
static void tidy_file(kb_log_t *log, const char *name, const char *suffix, int64_t base) {
    char path[4096];
    struct stat st;
    bool orphan_index = false;

    if (has_suffix(name, ".swap")) {
        kc_warn("log", "%s/%s: interrupted compaction swap files are not supported; left alone", log->path, name);
        return;
    }
    if (!strcmp(suffix, ".index") || !strcmp(suffix, ".timeindex")) {
        snprintf(path, sizeof(path), "%s/%0*" PRId64 ".log", log->path, KB_SEGMENT_NAME_DIGITS, base);
        orphan_index = stat(path, &st) != 0 && errno == ENOENT;
    }
    if (!orphan_index && !has_suffix(name, ".deleted") && !has_suffix(name, ".cleaned")) return;
    snprintf(path, sizeof(path), "%s/%s", log->path, name);
    if (unlink(path) != 0) kc_warn("log", "cannot delete %s: %s", path, strerror(errno));
}

static int cmp_offset(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The base offsets of the .log files in the partition dir, sorted. */
static int list_segments(kb_log_t *log, int64_t **bases, size_t *n) {
    DIR *d = opendir(log->path);
    struct dirent *e;
    size_t cap = 0;

    *bases = NULL;
    *n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        int64_t base;
        const char *suffix = segment_file_suffix(e->d_name, &base);
        if (!suffix) continue;
        if (strcmp(suffix, ".log") != 0) {
            tidy_file(log, e->d_name, suffix, base);
            continue;
        }
        if (*n == cap) {
            int64_t *grown = realloc(*bases, (cap = cap ? cap * 2 : 16) * sizeof(*grown));
            if (!grown) break;
            *bases = grown;
        }
        (*bases)[(*n)++] = base;
    }
    closedir(d);
    if (*n) qsort(*bases, *n, sizeof(**bases), cmp_offset);
    return e == NULL ? 0 : -1;
}

/* A corrupt segment makes every later one suspect (Kafka deletes them). */
static void delete_later_segments(kb_log_t *log, const int64_t *bases, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) {
        bool skip_checks = true;
        kb_segment_t *s = kb_segment_open(log->path, bases[i], &skip_checks);
        if (s) kb_segment_delete(s);
    }
    if (from < n) kc_warn("log", "%s: deleted %zu segment(s) after the corrupt one", log->name, n - from);
}

/* Recovers one segment, counting it; *cut tells whether bytes were cut
 * off (then the later segments must go). */
static int recover_segment(kb_log_t *log, kb_segment_t *s, bool *cut) {
    uint64_t truncated = 0;
    int rc = kb_segment_recover(s, &log->cfg, log->name, &truncated);

    stats_of(log)->segments_recovered++;
    stats_of(log)->recovery_truncated_bytes += truncated;
    if (rc == 0) stats_of(log)->fsyncs++;
    *cut = truncated > 0;
    return rc;
}

/*
 * Opens the segments in order.  After an unclean shutdown every segment
 * from the one holding the recovery point on is rescanned (and any segment
 * whose indexes fail their check, wherever it is).  Rescanned segments are
 * sealed unless they end up last; the last is made appendable.
 */
static int load_segments(kb_log_t *log, const int64_t *bases, size_t n, bool clean, int64_t recovery_point,
                         int64_t *rescanned_from) {
    size_t first_unflushed = n;

    if (!clean) {
        first_unflushed = 0;
        while (first_unflushed + 1 < n && bases[first_unflushed + 1] <= recovery_point) first_unflushed++;
    }
    for (size_t i = 0; i < n; i++) {
        bool recover = i >= first_unflushed, cut = false;
        kb_segment_t *s = kb_segment_open(log->path, bases[i], &recover);
        int rc;
        if (!s || push_segment(log, s) != 0) {
            kb_segment_unref(s);
            return -1;
        }
        rc = recover ? recover_segment(log, s, &cut) : 0;
        if (recover && *rescanned_from < 0) *rescanned_from = bases[i];
        if (rc == 0 && (cut || i + 1 == n)) rc = kb_segment_activate(s, &log->cfg);
        else if (rc == 0 && recover) kb_segment_seal(s);
        kb_segment_unpin(s); /* the .log stays open only if s is now active */
        if (rc != 0) return -1;
        if (cut) {
            delete_later_segments(log, bases, i + 1, n);
            break;
        }
    }
    return 0;
}

static void drop_segments(kb_log_t *log, bool delete_files) {
    for (size_t i = 0; i < log->n_segs; i++) {
        if (delete_files) kb_segment_delete(log->segs[i]);
        else kb_segment_unref(log->segs[i]);
    }
    log->n_segs = 0;
}

/* Starts the log over, empty, at offset (no segment found, or the log start
 * checkpoint is past everything that survived recovery). */
static int restart_at(kb_log_t *log, int64_t offset, bool delete_files) {
    kb_segment_t *s;

    drop_segments(log, delete_files);
    s = kb_segment_create(log->path, offset, &log->cfg);
    if (!s || push_segment(log, s) != 0) {
        kb_segment_unref(s);
        return -1;
    }
    return 0;
}

static void mark_flush_queued(kb_log_t *log, size_t i);

static void set_offsets(kb_log_t *log, const kb_log_saved_t *saved) {
    int64_t first = log->segs[0]->base_offset;

    log->log_end_offset = active_segment(log)->next_offset;
    log->log_start_offset = saved->log_start_offset > first ? saved->log_start_offset : first;
    if (log->log_start_offset > log->log_end_offset) log->log_start_offset = log->log_end_offset;
    log->high_watermark = saved->high_watermark >= 0 ? saved->high_watermark : log->log_start_offset;
    kb_log_set_high_watermark(log, log->high_watermark);
    /* Trusted segments were fsynced before the clean shutdown; recovered
     * ones were fsynced by the recovery itself. */
    log->recovery_point = log->log_end_offset;
    log->flush_target = log->recovery_point;
    mark_flush_queued(log, log->n_segs - 1);
    log->last_flush_ms = kb_log_mono_ms();
}

static int load_or_create(kb_log_t *log, bool clean, const kb_log_saved_t *saved, int64_t *rescanned_from) {
    int64_t *bases = NULL;
    size_t n = 0;
    int rc;

    if (mkdir(log->path, 0755) != 0 && errno != EEXIST) return -1;
    if (list_segments(log, &bases, &n) != 0) {
        free(bases);
        return -1;
    }
    if (n == 0) rc = restart_at(log, saved->log_start_offset > 0 ? saved->log_start_offset : 0, false);
    else rc = load_segments(log, bases, n, clean, saved->recovery_point, rescanned_from);
    free(bases);
    if (rc == 0 && saved->log_start_offset > active_segment(log)->next_offset) {
        kc_warn("log", "%s: log end offset %" PRId64 " is below the log start offset %" PRId64
                       "; starting over at the log start",
                log->name, active_segment(log)->next_offset, saved->log_start_offset);
        rc = restart_at(log, saved->log_start_offset, true);
    }
    return rc;
}

static void load_producer_state(kb_log_t *log);

kb_log_t *kb_log_load(kb_logmgr_t *m, kb_logdir_t *dir, const char *topic, int32_t partition,
                      const kb_log_config_t *lc, bool clean_shutdown, const kb_log_saved_t *saved, char *err,
                      size_t errlen) {
    kb_log_t *log = log_alloc(m, dir, topic, partition, lc);
    int64_t rescanned_from = -1; /* base of the first segment recovery rescanned */

    if (!log) {
        snprintf(err, errlen, "out of memory loading %s-%" PRId32, topic, partition);
        return NULL;
    }
    if (load_or_create(log, clean_shutdown, saved, &rescanned_from) != 0 || log->n_segs == 0) {
        snprintf(err, errlen, "cannot load log %s: %s", log->path, strerror(errno ? errno : EIO));
        kb_log_free(log);
        return NULL;
    }
    set_offsets(log, saved);
    load_producer_state(log);
    kb_log_load_epochs(log, rescanned_from);
    return log;
}

void kb_log_free(kb_log_t *log) {
    if (!log) return;
    if (log->epochs_dirty) kb_logmgr_epochs_clean(log->mgr, log);
    kb_epoch_cache_free(&log->epochs);
    drop_segments(log, false);
    kb_producers_free(log->producers);
    free(log->segs);
    free(log->path);
    free(log->topic);
    free(log);
}

/* ------------------------------------------------- producer snapshots */

/* Producer state (kb_producer_state.h) survives restarts in
 * <20-digit offset>.snapshot files in the partition dir, each holding the
 * state of every batch below its offset (wire-protocol.md 7.3). */

#define SNAPSHOT_SUFFIX ".snapshot"
#define SNAPSHOT_PATH_LEN 4096
/* Far above any real table (a million producers take 46 MB): a damaged
 * size is refused instead of allocated. */
#define SNAPSHOT_MAX_BYTES ((off_t)256 << 20)

static void snapshot_path(const kb_log_t *log, int64_t offset, char *buf, size_t len) {
    snprintf(buf, len, "%s/%0*" PRId64 SNAPSHOT_SUFFIX, log->path, KB_SEGMENT_NAME_DIGITS, offset);
}

/* The offsets of the snapshot files in the partition dir, ascending. */
static int list_snapshots(const kb_log_t *log, int64_t **offsets, size_t *n) {
    DIR *d = opendir(log->path);
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;

    *offsets = NULL;
    *n = 0;
    if (!d) return -1;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int64_t offset;
        const char *suffix = segment_file_suffix(e->d_name, &offset);
        if (!suffix || strcmp(suffix, SNAPSHOT_SUFFIX) != 0) continue;
        if (*n == cap) {
            int64_t *grown = realloc(*offsets, (cap = cap ? cap * 2 : 8) * sizeof(*grown));
            if (!grown) rc = -1;
            else *offsets = grown;
        }
        if (rc == 0) (*offsets)[(*n)++] = offset;
    }
    closedir(d);
    if (*n) qsort(*offsets, *n, sizeof(**offsets), cmp_offset);
    return rc;
}

static void delete_snapshot(const kb_log_t *log, int64_t offset) {
    char path[SNAPSHOT_PATH_LEN];

    snapshot_path(log, offset, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT) kc_warn("log", "cannot delete %s: %s", path, strerror(errno));
}

void kb_log_delete_snapshot(const kb_log_t *log, int64_t offset) { delete_snapshot(log, offset); }

int kb_log_list_snapshots(const kb_log_t *log, int64_t **offsets, size_t *n) {
    return list_snapshots(log, offsets, n);
}

void kb_log_unlink_snapshot_async(kb_log_t *log, int64_t offset) {
    kb_flush_job_t *job = calloc(1, sizeof(*job));
    char path[SNAPSHOT_PATH_LEN];

    snapshot_path(log, offset, path, sizeof(path));
    if (job) {
        job->log = log;
        job->path = strdup(path);
    }
    if (!job || !job->path) {
        free(job);
        delete_snapshot(log, offset); /* out of memory: at least the file there now */
        return;
    }
    kb_flusher_submit(kb_logmgr_flusher(log->mgr), job);
}

/* Deletes the snapshots whose offset is outside [lo, hi]. */
static void delete_snapshots_outside(const kb_log_t *log, int64_t lo, int64_t hi) {
    int64_t *offsets;
    size_t n;

    if (list_snapshots(log, &offsets, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (offsets[i] < lo || offsets[i] > hi) delete_snapshot(log, offsets[i]);
    free(offsets);
}

void kb_log_prune_snapshots(kb_log_t *log) { delete_snapshots_outside(log, log->log_start_offset, INT64_MAX); }

/* The whole file in a new heap buffer, or NULL (errno set). */
static uint8_t *read_whole_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;

    if (fd < 0) return NULL;
    if (fstat(fd, &st) == 0 && st.st_size <= SNAPSHOT_MAX_BYTES && (buf = malloc((size_t)st.st_size + 1))) {
        while (got < (size_t)st.st_size) {
            ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got < (size_t)st.st_size) {
            free(buf);
            buf = NULL;
            errno = EIO;
        }
    } else if (st.st_size > SNAPSHOT_MAX_BYTES) {
        errno = EFBIG;
    }
    close(fd);
    *len = got;
    return buf;
}

/* Loads one snapshot into the table: 0, or -1 (logged; table empty). */
static int read_snapshot(kb_log_t *log, int64_t offset) {
    char path[SNAPSHOT_PATH_LEN], why[128];
    size_t len = 0;
    uint8_t *buf;
    int rc = -1;

    snapshot_path(log, offset, path, sizeof(path));
    errno = 0;
    buf = read_whole_file(path, &len);
    if (!buf) snprintf(why, sizeof(why), "%s", strerror(errno ? errno : EIO));
    else rc = kb_producers_snapshot_decode(log->producers, buf, len, why, sizeof(why));
    free(buf);
    if (rc != 0) kc_warn("log", "%s: deleting unusable producer snapshot %s: %s", log->name, path, why);
    return rc;
}

typedef struct replay {
    kb_producers_t *producers;
    uint64_t batches;
} replay_t;

static int replay_batch(void *arg, const kp_batch_header_t *h) {
    replay_t *r = arg;

    r->batches++;
    return kb_producers_record(r->producers, h);
}

/* Records the header of every batch from `from` to the log end. */
static int replay_producers(kb_log_t *log, int64_t from, uint64_t *batches) {
    replay_t r = {log->producers, 0};
    int rc = 0;

    for (size_t i = floor_segment(log, from); rc == 0 && i < log->n_segs; i++)
        rc = kb_segment_scan_headers(log->segs[i], from, replay_batch, &r);
    *batches = r.batches;
    return rc;
}

/* Kafka's loadProducerState: snapshots past the log end (cut off by
 * recovery) or below the log start go; the newest one left that reads
 * back is loaded (unusable ones are deleted, the next older one tried)
 * and the batches after it replayed; with none, the log from its start. */
static void load_producer_state(kb_log_t *log) {
    int64_t *offsets = NULL, from = log->log_start_offset, snapshot = -1;
    size_t n = 0;
    uint64_t batches = 0;

    delete_snapshots_outside(log, log->log_start_offset, log->log_end_offset);
    list_snapshots(log, &offsets, &n);
    while (n > 0 && read_snapshot(log, offsets[n - 1]) != 0) delete_snapshot(log, offsets[--n]);
    if (n > 0) snapshot = offsets[n - 1];
    free(offsets);
    log->snapshot_offset = snapshot;
    if (snapshot > from) from = snapshot;
    if (replay_producers(log, from, &batches) != 0)
        kc_error("log", "%s: producer state replay stopped at an unreadable batch header", log->name);
    kb_producers_expire(log->producers, kb_log_now_ms(), KB_PRODUCER_EXPIRATION_MS);
    if (kb_producers_count(log->producers) > 0)
        kc_info("log", "%s: producer state: %zu producer(s) from snapshot %" PRId64 " and %" PRIu64
                       " batch(es) replayed up to offset %" PRId64,
                log->name, kb_producers_count(log->producers), snapshot, batches, log->log_end_offset);
}

void kb_log_reload_producers(kb_log_t *log) {
    kb_producers_clear(log->producers);
    load_producer_state(log);
}

/* The table's snapshot bytes, expired producers dropped first. */
static uint8_t *encode_snapshot(kb_log_t *log, size_t *len) {
    kb_producers_expire(log->producers, kb_log_now_ms(), KB_PRODUCER_EXPIRATION_MS);
    return kb_producers_snapshot_encode(log->producers, len);
}

kb_flush_job_t *kb_flush_job_new(kb_log_t *log, kb_log_t *lane, const char *path, char *text, size_t text_len) {
    kb_flush_job_t *job = text ? calloc(1, sizeof(*job)) : NULL;
    char *p = job ? strdup(path) : NULL;

    if (!p) {
        kc_error("log", "%s: cannot write %s: out of memory", log->name, path);
        free(job);
        free(text);
        return NULL;
    }
    *job = (kb_flush_job_t){.log = lane, .owner = log, .path = p, .text = text, .text_len = text_len};
    return job;
}

/* Written by the flusher (tmp file, fsync, rename) after the fsyncs queued
 * for this log before it, so a snapshot on disk never runs ahead of
 * fsynced data. */
static void snapshot_async(kb_log_t *log, int64_t offset) {
    char path[SNAPSHOT_PATH_LEN];
    size_t len = 0;

    snapshot_path(log, offset, path, sizeof(path));
    char *text = (char *)encode_snapshot(log, &len);
    kb_flush_job_t *job = kb_flush_job_new(log, log, path, text, len);
    if (!job) return;
    kb_flusher_submit(kb_logmgr_flusher(log->mgr), job);
    log->snapshot_offset = offset;
}

/* At clean shutdown, when the flusher has stopped. */
static void snapshot_now(kb_log_t *log, int64_t offset) {
    char path[SNAPSHOT_PATH_LEN];
    size_t len = 0;
    uint8_t *bytes = encode_snapshot(log, &len);

    snapshot_path(log, offset, path, sizeof(path));
    static kc_ratelimit_t snapshot_rl;
    if (!bytes || kb_checkpoint_write_text(path, (const char *)bytes, len) != 0)
        kc_log_limited(&snapshot_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "%s: cannot write %s: %s", log->name,
                       path, bytes ? strerror(errno) : "out of memory");
    else log->snapshot_offset = offset;
    free(bytes);
}

/* As Kafka at close: a snapshot only when the log end moved past the
 * newest one (producer state changes only with appends; expiry is redone
 * at load).  An empty log with no producers needs none either: without a
 * snapshot the next start replays from the log start, which is nothing. */
static bool snapshot_stale(const kb_log_t *log) {
    if (log->snapshot_offset == log->log_end_offset) return false;
    return log->log_end_offset > log->log_start_offset || kb_producers_count(log->producers) > 0;
}

/* --------------------------------------------------------------- append */

/* Has the segment waited longer than roll_ms?  Timestamps are the
 * client's: any int64.  With the first batch's timestamp known (>= 0) the
 * difference is taken only when the new one is larger, so it fits. */
static bool segment_aged(const kb_log_t *log, const kb_segment_t *s, const kp_batch_header_t *h) {
    if (s->rolling_timestamp < 0) return kb_log_now_ms() - s->created_ms > log->cfg.roll_ms;
    return h->max_timestamp > s->rolling_timestamp && h->max_timestamp - s->rolling_timestamp > log->cfg.roll_ms;
}

/* Kafka's LogSegment.shouldRoll (zk-and-replication.md 4.6), jitter 0.
 * h's offsets are sane (assigned here, or checked by kp_batch_scan), and
 * the segment's base offset is >= 0, so last - base cannot overflow. */
static bool should_roll(const kb_log_t *log, const kb_segment_t *s, size_t size, const kp_batch_header_t *h) {
    if (kp_batch_last_offset(h) - s->base_offset > INT32_MAX) return h->base_offset != s->base_offset;
    if (s->size == 0) return false;
    if ((int64_t)s->size + (int64_t)size > log->cfg.segment_bytes) return true;
    if (kb_segment_index_full(s)) return true;
    return segment_aged(log, s, h);
}

static int log_flush_to(kb_log_t *log, int64_t target, void (*done)(void *arg, int rc), void *arg);

/* The new segment starts at the incoming batch's base offset (the log end
 * offset, or past it when a follower copies a batch after a gap).  Like
 * Kafka, the segment just rolled is fsynced in the background. */
static int roll(kb_log_t *log, int64_t base_offset) {
    kb_segment_t *old = active_segment(log), *s = kb_segment_create(log->path, base_offset, &log->cfg);

    if (!s || push_segment(log, s) != 0) {
        kc_error("log", "%s: cannot roll a new segment at offset %" PRId64 ": %s", log->name, base_offset,
                 strerror(s ? ENOMEM : errno));
        kb_segment_unref(s);
        return -1;
    }
    kb_segment_seal(old);
    kc_info("log", "%s: rolled new segment at offset %" PRId64, log->name, base_offset);
    log_flush_to(log, base_offset, NULL, NULL);
    snapshot_async(log, base_offset); /* queued behind that flush */
    kb_log_prune_snapshots(log);
    return 0;
}

int kb_log_roll_now(kb_log_t *log) { return roll(log, log->log_end_offset); }

/* h describes the batch with its final offsets. */
static int append_batch(kb_log_t *log, const uint8_t *batch, size_t size, const kp_batch_header_t *h) {
    kb_log_stats_t *st = stats_of(log);

    if (should_roll(log, active_segment(log), size, h) && roll(log, h->base_offset) != 0) return -1;
    if (kb_segment_append(active_segment(log), batch, size, h, log->cfg.index_interval_bytes) != 0) {
        kc_error("log", "%s: append of %zu bytes at offset %" PRId64 " failed: %s", log->name, size, h->base_offset,
                 strerror(errno));
        return -1;
    }
    log->log_end_offset = kp_batch_last_offset(h) + 1;
    kb_log_note_epoch(log, h->partition_leader_epoch, h->base_offset);
    if (kb_producers_record(log->producers, h) != 0)
        kc_error("log", "%s: out of memory recording producer %" PRId64, log->name, h->producer_id);
    st->bytes_appended += size;
    st->batches_appended++;
    return 0;
}

int kb_log_append(kb_log_t *log, uint8_t *batch, const kp_batch_header_t *h, int32_t leader_epoch,
                  kb_append_result_t *out) {
    kp_batch_header_t a = *h;
    size_t size = kp_batch_size(h);

    /* last_offset_delta >= 0 was validated; offsets end at INT64_MAX. */
    if (log->log_end_offset >= INT64_MAX - h->last_offset_delta) {
        kc_error("log", "%s: no offsets left after %" PRId64, log->name, log->log_end_offset);
        errno = EOVERFLOW;
        return -1;
    }
    a.base_offset = log->log_end_offset;
    a.partition_leader_epoch = leader_epoch;
    kp_batch_set_base_offset(batch, a.base_offset);
    kp_batch_set_leader_epoch(batch, leader_epoch);
    out->log_append_time = -1;
    if (log->cfg.log_append_time) {
        out->log_append_time = a.max_timestamp = kb_log_now_ms();
        a.attributes |= KP_ATTR_LOG_APPEND_TIME;
        kp_batch_set_log_append_time(batch, size, a.max_timestamp);
    }
    if (append_batch(log, batch, size, &a) != 0) return -1;
    out->base_offset = a.base_offset;
    out->last_offset = kp_batch_last_offset(&a);
    out->log_start_offset = log->log_start_offset;
    return 0;
}

/* One pass: each batch is checked (CRC, increasing offsets) and appended.
 * A partial batch at the end (a fetch response cut at max_bytes) is left
 * for the next fetch; a corrupt one stops the append with -1, the batches
 * before it staying appended. */
int kb_log_append_verbatim(kb_log_t *log, const uint8_t *batches, size_t len) {
    size_t pos = 0, size = 0;
    kp_batch_header_t h;

    while (pos < len) {
        int rc = kp_batch_scan(batches + pos, len - pos, SIZE_MAX, &h, &size);
        if (rc == KP_SCAN_INCOMPLETE) break;
        if (rc != KP_SCAN_OK || h.base_offset < log->log_end_offset) {
            kc_error("log", "%s: refusing replicated data at offset %" PRId64 " (%s)", log->name,
                     log->log_end_offset, rc != KP_SCAN_OK ? "corrupt batch" : "offset below the log end");
            return -1;
        }
        if (append_batch(log, batches + pos, size, &h) != 0) return -1;
        pos += size;
    }
    return 0;
}

/* ---------------------------------------------------------------- flush */

/* The flusher was asked to cover segment i as it is now: it is below the
 * segment last queued, or is that segment, unchanged since (same size,
 * and sealed then if it is now: sealing trims the index files). */
static bool flush_queued(const kb_log_t *log, size_t i) {
    const kb_segment_t *s = log->segs[i];
    bool sealed = i + 1 < log->n_segs;

    if (s->base_offset != log->flush_queued_base) return s->base_offset < log->flush_queued_base;
    return s->size == log->flush_queued_size && sealed == log->flush_queued_sealed;
}

static void mark_flush_queued(kb_log_t *log, size_t i) {
    log->flush_queued_base = log->segs[i]->base_offset;
    log->flush_queued_size = log->segs[i]->size;
    log->flush_queued_sealed = i + 1 < log->n_segs;
}

void kb_log_mark_flush_queued(kb_log_t *log, size_t i) { mark_flush_queued(log, i); }

/*
 * Asks the flusher to fsync the segments holding offsets below target that
 * changed since their last fsync was queued, then to move the recovery
 * point to target and call done once they, and everything queued for this
 * log before them, are on disk.  Segments are queued in offset order, so
 * the scan starts at the last one queued: a roll costs one fsync, however
 * many segments lie between the recovery point and the new one.
 */
static int log_flush_to(kb_log_t *log, int64_t target, void (*done)(void *arg, int rc), void *arg) {
    kb_flusher_t *f = kb_logmgr_flusher(log->mgr);
    int rc = 0;

    /* Queued before the request: the recovery point it moves must never
     * pass an epoch entry whose write is not queued (kb_log_epochs.c). */
    if (log->epochs_dirty) kb_log_save_epochs(log);
    for (size_t i = floor_segment(log, log->flush_queued_base);
         rc == 0 && i < log->n_segs && log->segs[i]->base_offset < target; i++) {
        if (flush_queued(log, i)) continue;
        rc = kb_flusher_fsync(f, log, log->segs[i]);
        if (rc == 0) mark_flush_queued(log, i);
    }
    if (rc == 0) rc = kb_flusher_wait(f, log, target, done, arg);
    if (rc != 0) {
        kc_error("log", "%s: cannot queue a flush: out of memory", log->name);
        if (done) done(arg, -1);
        return -1;
    }
    if (target > log->flush_target) log->flush_target = target;
    log->last_flush_ms = kb_log_mono_ms();
    return 0;
}

void kb_log_flush_async(kb_log_t *log, void (*done)(void *arg, int rc), void *arg) {
    log_flush_to(log, log->log_end_offset, done, arg);
}

/* After a failed fsync nothing queued is trusted: the next request queues
 * every segment from the recovery point again (flush.messages too). */
static void forget_flush_queued(kb_log_t *log) {
    log->flush_target = log->recovery_point;
    log->flush_queued_base = log->segs[floor_segment(log, log->recovery_point)]->base_offset;
    log->flush_queued_size = -1;
}

void kb_log_flush_finished(kb_log_t *log, int64_t target, int rc) {
    if (target > log->flush_cap) target = log->flush_cap; /* queued before a truncation */
    if (rc == 0 && target > log->recovery_point) log->recovery_point = target;
    if (rc != 0) forget_flush_queued(log);
    log->last_flush_ms = kb_log_mono_ms();
}

bool kb_log_flush_due(const kb_log_t *log) {
    return log->log_end_offset - log->flush_target >= log->cfg.flush_interval_messages;
}

void kb_log_flush_if_idle(kb_log_t *log, int64_t now_mono_ms) {
    if (log->log_end_offset > log->flush_target && now_mono_ms - log->last_flush_ms >= log->cfg.flush_interval_ms)
        log_flush_to(log, log->log_end_offset, NULL, NULL);
}

/*
 * What a clean shutdown must fsync of segment i, once the active one is
 * sealed: a segment holding batches at or past the recovery point (their
 * index entries go with them), and the active one also when its indexes are
 * not those it was loaded with (the seal trimmed them, and may have added
 * the last time index entry, after their last fsync).  Older segments were
 * fsynced after their seal by the flush every roll queues; the recovery
 * point is past them once that flush is done.  An empty segment never: a
 * restart finds its index files either empty or failing their check, and
 * rebuilds them from the empty .log.  So a log not written since it was
 * loaded (or since its last flush, apart from the trim) costs no fsync.
 */
static bool unsynced_at_shutdown(const kb_log_t *log, size_t i) {
    const kb_segment_t *s = log->segs[i];

    if (s->size == 0) return false;
    if (s->next_offset > log->recovery_point) return true;
    return i + 1 == log->n_segs && s->indexes_changed;
}

/* Sealed first so that the trimmed index sizes are fsynced too. */
int kb_log_shutdown(kb_log_t *log) {
    int rc = 0;

    kb_segment_seal(active_segment(log));
    for (size_t i = floor_segment(log, log->recovery_point); i < log->n_segs; i++) {
        if (!unsynced_at_shutdown(log, i)) continue;
        if (kb_segment_sync(log->segs[i]) != 0) {
            kc_error("log", "%s: fsync of %s.log failed: %s", log->name, log->segs[i]->path, strerror(errno));
            rc = -1;
            continue;
        }
        stats_of(log)->fsyncs++;
    }
    if (rc == 0) log->recovery_point = log->flush_target = log->log_end_offset;
    /* A missing snapshot only makes the next start replay more. */
    if (snapshot_stale(log)) snapshot_now(log, log->log_end_offset);
    kb_log_save_epochs_now(log);
    return rc;
}

/* -------------------------------------------------------------- offsets */

int64_t kb_log_end_offset(const kb_log_t *log) { return log->log_end_offset; }
int64_t kb_log_start_offset(const kb_log_t *log) { return log->log_start_offset; }
int64_t kb_log_high_watermark(const kb_log_t *log) { return log->high_watermark; }
int64_t kb_log_recovery_point(const kb_log_t *log) { return log->recovery_point; }
const char *kb_log_topic(const kb_log_t *log) { return log->topic; }
int32_t kb_log_partition(const kb_log_t *log) { return log->partition; }
kb_producers_t *kb_log_producers(kb_log_t *log) { return log->producers; }

void kb_log_set_high_watermark(kb_log_t *log, int64_t hw) {
    if (hw > log->log_end_offset) hw = log->log_end_offset;
    if (hw < log->log_start_offset) hw = log->log_start_offset;
    log->high_watermark = hw;
}

/* ----------------------------------------------------------------- read */

/* Where the range must stop: before the batch holding `upper`. */
static int range_end(kb_segment_t *s, int64_t upper, off_t start, off_t *end) {
    kp_batch_header_t h;
    int rc;

    if (upper >= s->next_offset) {
        *end = s->size;
        return 0;
    }
    rc = kb_segment_locate(s, upper, start, end, &h);
    return rc < 0 ? -1 : 0;
}

/* How a read ends at max_bytes: cutting the last batch (consumers accept
 * that), the same but with a larger first batch sent whole, or at the last
 * batch boundary the offset index knows below it (followers append whole
 * batches only). */
typedef enum { READ_CUT, READ_FIRST_WHOLE, READ_WHOLE_BATCHES } read_mode_t;

/* max_bytes may cut the last batch (READ_CUT, READ_FIRST_WHOLE) but never
 * leaves only a fragment. */
static void fill_range(kb_log_range_t *out, kb_segment_t *s, off_t start, off_t end, const kp_batch_header_t *first,
                       size_t max_bytes, read_mode_t mode) {
    size_t len = (size_t)(end - start), first_size = kp_batch_size(first);

    if (len > max_bytes && mode == READ_WHOLE_BATCHES) {
        off_t limit = max_bytes < (size_t)(end - start) ? start + (off_t)max_bytes : end;
        off_t at = kb_segment_batch_start_at_most(s, start, limit);
        len = at > start ? (size_t)(at - start) : first_size;
    } else if (len > max_bytes) {
        len = first_size <= max_bytes ? max_bytes : mode == READ_FIRST_WHOLE ? first_size : 0;
    }
    if (len == 0) return;
    out->fd = s->fd;
    out->pos = start;
    out->len = len;
    out->first_offset = first->base_offset;
    out->segment = kb_segment_ref(s);
    atomic_fetch_add(&s->sending, 1);
    if (start + (off_t)len > s->sent_upto) s->sent_upto = start + (off_t)len;
}

/* Reads from s (see kb_log_read): 0, or 1 when no batch of s holds
 * offset, or -1.  The segment is pinned once for all its reads, and the
 * pin moves to the range when the range is not empty. */
static int read_segment(kb_segment_t *s, int64_t offset, int64_t upper, size_t max_bytes, read_mode_t mode,
                        kb_log_range_t *out) {
    kp_batch_header_t h;
    off_t start = 0, end = 0;
    int rc;

    if (kb_segment_pin(s) != 0) return -1;
    rc = kb_segment_locate(s, offset, 0, &start, &h);
    if (rc == 0 && h.base_offset < upper) {
        if (range_end(s, upper, start, &end) != 0) rc = -1;
        else fill_range(out, s, start, end, &h, max_bytes, mode);
    }
    if (!out->segment) kb_segment_unpin(s);
    return rc;
}

static int log_read(kb_log_t *log, int64_t offset, int64_t upper, size_t max_bytes, read_mode_t mode,
                    kb_log_range_t *out) {
    int rc = 1;

    *out = (kb_log_range_t){.fd = -1, .first_offset = offset};
    if (offset < log->log_start_offset || offset > log->log_end_offset) return 1;
    if (upper > log->log_end_offset) upper = log->log_end_offset;
    if (offset >= upper) return 0;
    /* A gap (offsets that no batch holds) moves the search on to the next
     * segment. */
    for (size_t i = floor_segment(log, offset); rc > 0 && i < log->n_segs; i++)
        rc = read_segment(log->segs[i], offset, upper, max_bytes, mode, out);
    return rc < 0 ? -1 : 0;
}

int kb_log_read(kb_log_t *log, int64_t offset, int64_t upper, size_t max_bytes, bool first_batch_whole,
                kb_log_range_t *out) {
    return log_read(log, offset, upper, max_bytes, first_batch_whole ? READ_FIRST_WHOLE : READ_CUT, out);
}

int kb_log_read_batches(kb_log_t *log, int64_t offset, int64_t upper, size_t max_bytes, kb_log_range_t *out) {
    return log_read(log, offset, upper, max_bytes, READ_WHOLE_BATCHES, out);
}

void kb_log_range_release(kb_log_range_t *r) {
    if (r->segment) {
        atomic_fetch_sub(&r->segment->sending, 1);
        kb_segment_unpin(r->segment);
        kb_segment_unref(r->segment);
    }
    r->segment = NULL;
    r->fd = -1;
    r->len = 0;
}

const kb_log_config_t *kb_log_get_config(const kb_log_t *log) { return &log->cfg; }
