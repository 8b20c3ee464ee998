/*
 * kb_segment.c - one log segment: <base>.log and its sparse .index and
 * .timeindex in Kafka's layouts (zk-and-replication.md 4.2-4.4), the
 * recovery scan that rebuilds them, and the reference count that keeps the
 * files open while a sender or the flusher still uses them.
 *
 * The .log is a plain concatenation of record batches; `size` is where the
 * next one goes (one pwrite per batch).  Both indexes are mmapped: the
 * active segment's are preallocated to log.index.size.max.bytes (rounded
 * down to the entry size) so an entry is a memcpy, and trimmed to the used
 * size when the segment is sealed (roll, clean close).  The number of valid
 * entries of a file found on disk is its size / entry size, which is why a
 * crash leaving a preallocated, zero-filled tail makes the sanity check
 * fail and the index get rebuilt.  A segment loaded as a clean shutdown
 * left it and not written since is trimmed at close back to the very files
 * it was loaded from, so that close need not fsync it (indexes_changed).
 *
 * Full disks.  The preallocation is sparse (ftruncate), and a store through
 * the mapping into a hole that the filesystem cannot fill is a SIGBUS that
 * kills the broker.  So disk blocks are allocated with posix_fallocate, in
 * growing chunks, before any entry reaches them, and an append reserves the
 * room its entries may take before it writes its batch: on a full disk the
 * append (or the roll that creates a segment) fails with ENOSPC, which the
 * producer sees as KAFKA_STORAGE_ERROR, and nothing already written moves.
 *
 * Descriptors.  A segment holds at most one: its .log while it is active
 * or pinned by a reader; the index files are opened only to resize,
 * allocate or sync them (see kb_log_internal.h).
 *
 * Index rules, as Kafka's LogSegment: an offset index entry
 * (last offset of a batch, position of the batch) is added when more than
 * index_interval_bytes were appended since the previous entry, so the first
 * batch of a segment never gets one; a time index entry (largest timestamp
 * so far, last offset of the batch that set it) goes with it, and once more
 * when the segment is sealed, but only when its timestamp is larger than
 * the last entry's.  Lookups find the greatest entry at or below the target
 * and scan batch headers forward from its position.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "proto/kp_buf.h"
#include "common/kc_log.h"

#define RECOVERY_CHUNK (1u << 20) /* bytes read at a time by the recovery scan */
#define PATH_MAX_LEN 4096
#define INDEX_CHUNK_MIN ((size_t)4096)    /* the first disk allocation of an active index */
#define INDEX_CHUNK_MAX ((size_t)1 << 20) /* the largest one allocation step */
#define DELETED_SUFFIX ".deleted"

static void file_path(const kb_segment_t *s, const char *suffix, char *buf, size_t len) {
    snprintf(buf, len, "%s%s", s->path, suffix);
}

/* ----------------------------------------------------------- index files */

static void index_init(kb_index_t *ix, size_t entry_size, const char *suffix) {
    ix->map = NULL;
    ix->map_bytes = 0;
    ix->allocated = 0;
    ix->entries = 0;
    ix->entry_size = entry_size;
    ix->suffix = suffix;
}

/* Opens path, or path.deleted once retention has renamed it (renames only
 * go that way, so trying in this order cannot miss the file). */
static int open_either(const char *path, int flags) {
    char deleted[PATH_MAX_LEN + sizeof(DELETED_SUFFIX)];
    int fd = open(path, flags | O_CLOEXEC);

    if (fd >= 0 || errno != ENOENT) return fd;
    snprintf(deleted, sizeof(deleted), "%s%s", path, DELETED_SUFFIX);
    return open(deleted, flags | O_CLOEXEC);
}

/* A descriptor for one operation on an index file; the caller closes it. */
static int index_open(const kb_segment_t *s, const kb_index_t *ix, int flags) {
    char path[PATH_MAX_LEN];

    file_path(s, ix->suffix, path, sizeof(path));
    return open(path, flags | O_CLOEXEC, 0644);
}

static void close_keeping_errno(int fd) {
    int saved = errno;

    close(fd);
    errno = saved;
}

/* Sets the file size to `bytes` (growing it sparsely: no disk blocks) and
 * maps all of it.  Entries below the new size survive (they are in the
 * file, not only in the old mapping).  The old mapping is replaced only
 * once the new one exists; entries are never written past `allocated`,
 * which is kept within the file whatever fails. */
static int index_map(kb_segment_t *s, kb_index_t *ix, size_t bytes) {
    int fd = index_open(s, ix, O_RDWR);
    void *m = NULL;

    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        close_keeping_errno(fd);
        return -1;
    }
    if (ix->allocated > bytes) ix->allocated = bytes;
    if (bytes > 0) m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close_keeping_errno(fd);
    if (m == MAP_FAILED) return -1;
    if (ix->map) munmap(ix->map, ix->map_bytes);
    ix->map = m;
    ix->map_bytes = bytes;
    return 0;
}

/* Makes sure disk blocks back the first `want` bytes of the file (capped
 * at its size).  Chunks double from INDEX_CHUNK_MIN up to INDEX_CHUNK_MAX,
 * so a new partition costs a few KiB of disk rather than
 * log.index.size.max.bytes, and a busy one one allocation per MiB of
 * index.  0, or -1 with errno (ENOSPC) when the disk is full. */
static int index_reserve(const kb_segment_t *s, kb_index_t *ix, size_t want) {
    size_t step = ix->allocated < INDEX_CHUNK_MIN ? INDEX_CHUNK_MIN : ix->allocated, to;
    int fd, err;

    if (want > ix->map_bytes) want = ix->map_bytes;
    if (want <= ix->allocated) return 0;
    to = ix->allocated + (step < INDEX_CHUNK_MAX ? step : INDEX_CHUNK_MAX);
    if (to < want) to = want;
    if (to > ix->map_bytes) to = ix->map_bytes;
    fd = index_open(s, ix, O_RDWR);
    if (fd < 0) return -1;
    err = posix_fallocate(fd, (off_t)ix->allocated, (off_t)(to - ix->allocated));
    close(fd);
    if (err != 0) {
        errno = err;
        return -1;
    }
    ix->allocated = to;
    return 0;
}

/* The preallocated size: the configured maximum rounded down to whole
 * entries, but never below what is already used.  Only the used part is
 * known to have disk blocks. */
static int index_extend(kb_segment_t *s, kb_index_t *ix, int32_t max_bytes) {
    size_t cap = (size_t)(max_bytes > 0 ? max_bytes : 0) / ix->entry_size * ix->entry_size;
    size_t used = ix->entries * ix->entry_size;

    ix->allocated = used;
    return index_map(s, ix, cap > used ? cap : used);
}

static int index_trim(kb_segment_t *s, kb_index_t *ix) { return index_map(s, ix, ix->entries * ix->entry_size); }

/* Empties the index and preallocates it again (sparse, zero-filled). */
static int index_reset(kb_segment_t *s, kb_index_t *ix, int32_t max_bytes) {
    ix->entries = 0;
    s->indexes_changed = true;
    if (index_map(s, ix, 0) != 0) return -1;
    return index_extend(s, ix, max_bytes);
}

static void index_close(kb_index_t *ix) {
    if (ix->map) munmap(ix->map, ix->map_bytes);
    ix->map = NULL;
    ix->map_bytes = 0;
}

/* A descriptor of its own, so a remap on the loop never races the sync. */
static int index_sync(const kb_segment_t *s, const kb_index_t *ix) {
    char path[PATH_MAX_LEN];
    int fd, rc;

    file_path(s, ix->suffix, path, sizeof(path));
    fd = open_either(path, O_RDONLY);
    if (fd < 0) return errno == ENOENT ? 0 : -1; /* no index file: rebuilt at recovery */
    rc = fdatasync(fd);
    close_keeping_errno(fd);
    return rc;
}

static bool index_has_room(const kb_index_t *ix) { return (ix->entries + 1) * ix->entry_size <= ix->map_bytes; }

/* Room for one more entry, with disk blocks under it: appends reserved
 * them before writing their batch, so only a recovery scan or a seal on a
 * full disk gets false here, and the entry is skipped (a sparser index is
 * still a correct one: lookups scan forward from an earlier entry). */
static bool index_can_append(kb_segment_t *s, kb_index_t *ix) {
    if (!index_has_room(ix)) return false;
    if (index_reserve(s, ix, (ix->entries + 1) * ix->entry_size) == 0) return true;
    if (!s->index_warned)
        kc_warn("log", "%s%s: cannot allocate index space (%s); index entries skipped", s->path, ix->suffix,
                strerror(errno));
    s->index_warned = true;
    return false;
}

static const uint8_t *index_entry(const kb_index_t *ix, size_t i) { return ix->map + i * ix->entry_size; }

/* Opens an index file.  A missing one is created empty and a torn one (not
 * whole entries) cut back; both set *rebuild.  The whole file is mapped and
 * counted as entries (sanity-checked later). */
static int index_open_existing(kb_segment_t *s, kb_index_t *ix, bool *rebuild) {
    struct stat st;
    int fd = index_open(s, ix, O_RDWR), rc;

    *rebuild = false;
    if (fd < 0 && errno == ENOENT) {
        *rebuild = true;
        fd = index_open(s, ix, O_RDWR | O_CREAT);
    }
    if (fd < 0) return -1;
    rc = fstat(fd, &st);
    close_keeping_errno(fd);
    if (rc != 0) return -1;
    if (st.st_size % (off_t)ix->entry_size != 0) *rebuild = true;
    ix->entries = (size_t)st.st_size / ix->entry_size;
    ix->allocated = ix->entries * ix->entry_size;
    return index_map(s, ix, ix->entries * ix->entry_size);
}

/* ------------------------------------------------------ offset and time */

static int64_t offset_entry_offset(const kb_segment_t *s, size_t i) {
    return s->base_offset + (int32_t)kp_get_be(index_entry(&s->offset_index, i), 4);
}

static off_t offset_entry_position(const kb_segment_t *s, size_t i) {
    return (off_t)(uint32_t)kp_get_be(index_entry(&s->offset_index, i) + 4, 4);
}

static int64_t time_entry_timestamp(const kb_segment_t *s, size_t i) {
    return (int64_t)kp_get_be(index_entry(&s->time_index, i), 8);
}

static int64_t time_entry_offset(const kb_segment_t *s, size_t i) {
    return s->base_offset + (int32_t)kp_get_be(index_entry(&s->time_index, i) + 8, 4);
}

static void offset_index_append(kb_segment_t *s, int64_t offset, off_t position) {
    kb_index_t *ix = &s->offset_index;
    uint8_t *e;

    if (!index_can_append(s, ix)) return;
    e = ix->map + ix->entries * ix->entry_size;
    kp_put_be(e, (uint64_t)(offset - s->base_offset), 4);
    kp_put_be(e + 4, (uint64_t)position, 4);
    ix->entries++;
    s->indexes_changed = true;
}

/* Kafka's TimeIndex.maybeAppend: timestamps strictly increase; an empty
 * index behaves as if its last entry had timestamp -1. */
static void time_index_maybe_append(kb_segment_t *s, int64_t timestamp, int64_t offset) {
    kb_index_t *ix = &s->time_index;
    int64_t last = ix->entries ? time_entry_timestamp(s, ix->entries - 1) : KB_NO_TIMESTAMP;
    uint8_t *e;

    if (timestamp <= last || !index_can_append(s, ix)) return;
    e = ix->map + ix->entries * ix->entry_size;
    kp_put_be(e, (uint64_t)timestamp, 8);
    kp_put_be(e + 8, (uint64_t)(offset - s->base_offset), 4);
    ix->entries++;
    s->indexes_changed = true;
}

/* Position of the greatest offset index entry <= offset, else 0. */
static off_t offset_index_lookup(const kb_segment_t *s, int64_t offset) {
    size_t lo = 0, hi = s->offset_index.entries;

    while (lo < hi) { /* first entry > offset */
        size_t mid = lo + (hi - lo) / 2;
        if (offset_entry_offset(s, mid) <= offset) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? 0 : offset_entry_position(s, lo - 1);
}

/* Offset of the greatest time index entry with timestamp <= ts, else the
 * base offset. */
static int64_t time_index_lookup(const kb_segment_t *s, int64_t ts) {
    size_t lo = 0, hi = s->time_index.entries;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time_entry_timestamp(s, mid) <= ts) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? s->base_offset : time_entry_offset(s, lo - 1);
}

/* Everything an append (or the recovery scan) learns from one batch at
 * `pos`: timestamps, the sparse index entries, the next offset. */
static void index_batch(kb_segment_t *s, off_t pos, const kp_batch_header_t *h, size_t size, int32_t interval) {
    int64_t last = kp_batch_last_offset(h);

    if (pos == 0) s->rolling_timestamp = h->max_timestamp;
    if (h->max_timestamp > s->max_timestamp) {
        s->max_timestamp = h->max_timestamp;
        s->offset_of_max_timestamp = last;
    }
    if (s->bytes_since_index > (size_t)(interval > 0 ? interval : 0)) {
        offset_index_append(s, last, pos);
        time_index_maybe_append(s, s->max_timestamp, s->offset_of_max_timestamp);
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += size;
    s->next_offset = last + 1;
}

/* ------------------------------------------------------- batch headers */

/* Reads the header of the batch at pos; -1 when it cannot be read or does
 * not describe a magic-2 batch that ends inside the segment. */
static int read_header(const kb_segment_t *s, off_t pos, kp_batch_header_t *h) {
    uint8_t b[KP_BATCH_HEADER_SIZE];

    if (pos + KP_BATCH_HEADER_SIZE > s->size) return -1;
    if (pread(s->fd, b, sizeof(b), pos) != (ssize_t)sizeof(b)) return -1;
    kp_batch_header_decode(b, sizeof(b), h);
    if (h->magic != KP_BATCH_MAGIC || h->batch_length < KP_BATCH_HEADER_SIZE - KP_LOG_OVERHEAD) return -1;
    if (!kp_batch_offsets_sane(h)) return -1; /* last offset + 1 must not overflow */
    return pos + (off_t)kp_batch_size(h) <= s->size ? 0 : -1;
}

static int locate_pinned(kb_segment_t *s, int64_t offset, off_t from, off_t *pos, kp_batch_header_t *h) {
    off_t p = offset_index_lookup(s, offset);

    if (p < from) p = from;
    while (p < s->size) {
        if (read_header(s, p, h) != 0) {
            kc_error("log", "%s.log: unreadable batch header at position %lld", s->path, (long long)p);
            return -1;
        }
        if (kp_batch_last_offset(h) >= offset) {
            *pos = p;
            return 0;
        }
        p += (off_t)kp_batch_size(h);
    }
    *pos = s->size;
    return 1;
}

off_t kb_segment_batch_start_at_most(const kb_segment_t *s, off_t start, off_t limit) {
    size_t lo = 0, hi = s->offset_index.entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (offset_entry_position(s, mid) <= limit) lo = mid + 1;
        else hi = mid;
    }
    off_t p = lo > 0 ? offset_entry_position(s, lo - 1) : start;
    return p > start ? p : start;
}

int kb_segment_locate(kb_segment_t *s, int64_t offset, off_t from, off_t *pos, kp_batch_header_t *h) {
    int rc;

    if (kb_segment_pin(s) != 0) return -1;
    rc = locate_pinned(s, offset, from, pos, h);
    kb_segment_unpin(s);
    return rc;
}

static int scan_pinned(kb_segment_t *s, int64_t from, int (*fn)(void *arg, const kp_batch_header_t *h), void *arg) {
    kp_batch_header_t h;
    off_t pos = 0;
    int rc = locate_pinned(s, from, 0, &pos, &h);

    while (rc == 0) {
        if (fn(arg, &h) != 0) return -1;
        pos += (off_t)kp_batch_size(&h);
        if (pos >= s->size) return 0;
        rc = read_header(s, pos, &h);
    }
    return rc > 0 ? 0 : -1;
}

int kb_segment_scan_headers(kb_segment_t *s, int64_t from, int (*fn)(void *arg, const kp_batch_header_t *h),
                            void *arg) {
    int rc;

    if (kb_segment_pin(s) != 0) return -1;
    rc = scan_pinned(s, from, fn, arg);
    kb_segment_unpin(s);
    return rc;
}

/* Batches before the one the time index points at all have smaller
 * timestamps (the entry's offset is the first batch that reached its
 * timestamp), so the forward scan may start there. */
off_t kb_segment_timestamp_position(const kb_segment_t *s, int64_t ts) {
    return offset_index_lookup(s, time_index_lookup(s, ts));
}

/* ---------------------------------------------------------- descriptor */

/* Why a sealed segment's .log is closed as soon as its last pin goes
 * rather than kept in a cache of recently read files: most reads are of
 * the active segment, which stays open anyway; a consumer catching up on
 * old segments costs one open() per Fetch, which is small beside the
 * sendfile of up to a MiB that follows; and the descriptors a broker
 * needs stay one per partition, with nothing to tune or to evict. */

static int open_log_file(const kb_segment_t *s, int flags) {
    char path[PATH_MAX_LEN];

    file_path(s, ".log", path, sizeof(path));
    return open_either(path, flags);
}

int kb_segment_pin(kb_segment_t *s) {
    int rc = 0, saved;

    pthread_mutex_lock(&s->fd_lock);
    if (s->fd < 0) s->fd = open_log_file(s, O_RDONLY);
    saved = errno;
    if (s->fd < 0) rc = -1;
    else s->fd_users++;
    pthread_mutex_unlock(&s->fd_lock);
    if (rc != 0) {
        static kc_ratelimit_t open_log_rl;
        kc_log_limited(&open_log_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "cannot open %s.log: %s", s->path,
                       strerror(saved));
    }
    errno = saved;
    return rc;
}

/* Closes the .log when nothing needs it; called with fd_lock held. */
static void close_if_unused(kb_segment_t *s) {
    if (s->fd_users > 0 || s->active || s->fd < 0) return;
    close(s->fd);
    s->fd = -1;
}

void kb_segment_unpin(kb_segment_t *s) {
    pthread_mutex_lock(&s->fd_lock);
    s->fd_users--;
    close_if_unused(s);
    pthread_mutex_unlock(&s->fd_lock);
}

bool kb_segment_has_fd(kb_segment_t *s) {
    pthread_mutex_lock(&s->fd_lock);
    bool open = s->fd >= 0;
    pthread_mutex_unlock(&s->fd_lock);
    return open;
}

/* --------------------------------------------------------------- life */

static kb_segment_t *segment_alloc(const char *dir, int64_t base_offset) {
    kb_segment_t *s = calloc(1, sizeof(*s));

    if (!s) return NULL;
    if (asprintf(&s->path, "%s/%0*" PRId64, dir, KB_SEGMENT_NAME_DIGITS, base_offset) < 0) {
        free(s);
        return NULL;
    }
    s->fd = -1;
    pthread_mutex_init(&s->fd_lock, NULL);
    index_init(&s->offset_index, KB_OFFSET_ENTRY_SIZE, ".index");
    index_init(&s->time_index, KB_TIME_ENTRY_SIZE, ".timeindex");
    s->base_offset = base_offset;
    s->next_offset = base_offset;
    s->max_timestamp = KB_NO_TIMESTAMP;
    s->offset_of_max_timestamp = base_offset;
    s->rolling_timestamp = KB_NO_TIMESTAMP;
    s->created_ms = kb_log_now_ms();
    atomic_init(&s->refs, 1);
    return s;
}

static const char *const segment_suffixes[] = {".log", ".index", ".timeindex"};
#define N_SEGMENT_SUFFIXES (sizeof(segment_suffixes) / sizeof(segment_suffixes[0]))

static void segment_free(kb_segment_t *s) {
    char path[PATH_MAX_LEN];

    index_close(&s->offset_index);
    index_close(&s->time_index);
    if (s->fd >= 0) close(s->fd);
    /* The lock orders the unlinks with kb_retention_orphan (see orphaned). */
    pthread_mutex_lock(&s->fd_lock);
    for (size_t i = 0; s->deleted && !s->orphaned && i < N_SEGMENT_SUFFIXES; i++) {
        snprintf(path, sizeof(path), "%s%s%s", s->path, segment_suffixes[i], s->renamed ? DELETED_SUFFIX : "");
        if (unlink(path) != 0 && errno != ENOENT) kc_warn("log", "cannot delete %s: %s", path, strerror(errno));
    }
    pthread_mutex_unlock(&s->fd_lock);
    pthread_mutex_destroy(&s->fd_lock);
    free(s->path);
    free(s);
}

void kb_segment_destroy(kb_segment_t *s) { segment_free(s); }

int kb_segment_rename_deleted(kb_segment_t *s) {
    char from[PATH_MAX_LEN], to[PATH_MAX_LEN + sizeof(DELETED_SUFFIX)];
    int rc = 0;

    pthread_mutex_lock(&s->fd_lock); /* see orphaned */
    for (size_t i = 0; !s->orphaned && i < N_SEGMENT_SUFFIXES; i++) {
        file_path(s, segment_suffixes[i], from, sizeof(from));
        snprintf(to, sizeof(to), "%s%s", from, DELETED_SUFFIX);
        if (rename(from, to) == 0) {
            if (i == 0) s->renamed = true;
            continue;
        }
        if (i > 0 && errno == ENOENT) continue;
        kc_error("log", "cannot rename %s to %s: %s", from, to, strerror(errno));
        rc = -1;
        if (i == 0) break; /* the files keep their names and are deleted under them */
    }
    pthread_mutex_unlock(&s->fd_lock);
    return rc;
}

kb_segment_t *kb_segment_ref(kb_segment_t *s) {
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void kb_segment_unref(kb_segment_t *s) {
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
    if (s->on_last_ref) s->on_last_ref(s, s->on_last_ref_arg);
    else segment_free(s);
}

void kb_segment_delete(kb_segment_t *s) {
    s->deleted = true;
    kb_segment_unref(s);
}

/* Creates (empty) one file of a new segment: its fd, or -1 with errno
 * (kb_segment_create's caller reports it). */
static int create_file(const kb_segment_t *s, const char *suffix) {
    char path[PATH_MAX_LEN];

    file_path(s, suffix, path, sizeof(path));
    return open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static bool create_index_file(const kb_segment_t *s, const kb_index_t *ix) {
    int fd = create_file(s, ix->suffix);

    return fd >= 0 && close(fd) == 0;
}

/* The first chunk of both indexes is allocated here, so that on a full disk
 * the roll fails and the old segment stays active, rather than leaving a
 * new, empty segment whose first append would fail anyway. */
kb_segment_t *kb_segment_create(const char *dir, int64_t base_offset, const kb_log_config_t *lc) {
    kb_segment_t *s = segment_alloc(dir, base_offset);
    int saved;

    if (!s) return NULL;
    s->indexes_changed = true;
    s->fd = create_file(s, ".log");
    if (s->fd < 0 || !create_index_file(s, &s->offset_index) || !create_index_file(s, &s->time_index)) {
        saved = errno;
    } else if (kb_segment_activate(s, lc) != 0 || index_reserve(s, &s->offset_index, INDEX_CHUNK_MIN) != 0 ||
               index_reserve(s, &s->time_index, INDEX_CHUNK_MIN) != 0) {
        saved = errno; /* the caller says what failed (a roll, a new log retried later) */
    } else {
        return s;
    }
    s->deleted = true; /* no half-made segment stays behind */
    segment_free(s);
    errno = saved;
    return NULL;
}

/* The checks Kafka's index sanityCheck makes, plus the one that catches a
 * preallocated tail left by a crash: the last two entries must increase. */
static bool indexes_sane(const kb_segment_t *s) {
    size_t n = s->offset_index.entries, t = s->time_index.entries;

    if (n > 0 && (offset_entry_offset(s, n - 1) < s->base_offset || offset_entry_position(s, n - 1) > s->size))
        return false;
    if (n > 1 && (offset_entry_offset(s, n - 1) <= offset_entry_offset(s, n - 2) ||
                  offset_entry_position(s, n - 1) <= offset_entry_position(s, n - 2)))
        return false;
    if (t > 0 && time_entry_offset(s, t - 1) < s->base_offset) return false;
    if (t > 1 && time_entry_timestamp(s, t - 1) <= time_entry_timestamp(s, t - 2)) return false;
    return true;
}

/* What a trusted segment needs in memory: the next offset (scan from the
 * last index entry to the end), the largest timestamp (the last time index
 * entry, forced in at seal time) and the first batch's timestamp (for
 * log.roll.ms).  False when the files do not add up: recover instead. */
static bool load_state(kb_segment_t *s) {
    kp_batch_header_t h;
    size_t t = s->time_index.entries;
    off_t p;

    if (!indexes_sane(s)) return false;
    p = s->offset_index.entries ? offset_entry_position(s, s->offset_index.entries - 1) : 0;
    while (p < s->size) {
        if (read_header(s, p, &h) != 0) return false;
        s->next_offset = kp_batch_last_offset(&h) + 1;
        p += (off_t)kp_batch_size(&h);
    }
    if (t > 0) {
        s->max_timestamp = time_entry_timestamp(s, t - 1);
        s->offset_of_max_timestamp = time_entry_offset(s, t - 1);
    }
    if (s->size > 0) {
        if (read_header(s, 0, &h) != 0) return false;
        s->rolling_timestamp = h.max_timestamp;
    }
    return true;
}

kb_segment_t *kb_segment_open(const char *dir, int64_t base_offset, bool *needs_recovery) {
    kb_segment_t *s = segment_alloc(dir, base_offset);
    char path[PATH_MAX_LEN];
    bool rebuild_offset = false, rebuild_time = false;
    struct stat st;

    if (!s) return NULL;
    file_path(s, ".log", path, sizeof(path));
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 || fstat(s->fd, &st) != 0) goto fail;
    s->fd_users = 1; /* the caller's pin */
    s->size = st.st_size;
    file_path(s, ".index", path, sizeof(path));
    if (index_open_existing(s, &s->offset_index, &rebuild_offset) != 0) goto fail;
    file_path(s, ".timeindex", path, sizeof(path));
    if (index_open_existing(s, &s->time_index, &rebuild_time) != 0) goto fail;
    if (s->size > 0 && (rebuild_offset || rebuild_time)) *needs_recovery = true;
    if (!*needs_recovery && !load_state(s)) {
        kc_warn("log", "%s: indexes or tail inconsistent, rebuilding", s->path);
        *needs_recovery = true;
    }
    return s;
fail:;
    static kc_ratelimit_t open_segment_rl;
    kc_log_limited(&open_segment_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "cannot open segment %s: %s", path,
                   strerror(errno));
    segment_free(s);
    return NULL;
}

/* ------------------------------------------------------------ recovery */

/* A window of the file read into memory by the recovery scan. */
typedef struct scan_window {
    uint8_t *buf;
    size_t cap;
    off_t start; /* file position of buf[0] */
    size_t len;  /* bytes valid in buf */
} scan_window_t;

/* Reads up to cap bytes at pos, first growing the buffer to `want`. */
static int window_fill(int fd, scan_window_t *w, off_t pos, size_t want, off_t file_size) {
    size_t n;

    if (want > w->cap) {
        uint8_t *nb = realloc(w->buf, want);
        if (!nb) return -1;
        w->buf = nb;
        w->cap = want;
    }
    n = (size_t)(file_size - pos) < w->cap ? (size_t)(file_size - pos) : w->cap;
    w->start = pos;
    w->len = 0;
    while (w->len < n) {
        ssize_t r = pread(fd, w->buf + w->len, n - w->len, pos + (off_t)w->len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        w->len += (size_t)r;
    }
    return 0;
}

/* Bytes needed in memory to see the whole batch at the window's start. */
static size_t batch_bytes_wanted(const scan_window_t *w) {
    int64_t len;

    if (w->len < KP_LOG_OVERHEAD) return RECOVERY_CHUNK;
    len = (int32_t)kp_get_be(w->buf + KP_BATCH_OFF_LENGTH, 4);
    return len < 0 ? RECOVERY_CHUNK : (size_t)len + KP_LOG_OVERHEAD;
}

/* Offsets must increase and fit the segment's 32-bit relative offsets. */
static bool batch_offsets_fit(const kb_segment_t *s, const kp_batch_header_t *h) {
    return h->base_offset >= s->next_offset && kp_batch_last_offset(h) - s->base_offset <= INT32_MAX;
}

/* Indexes every valid batch from the start; returns the length of the
 * valid prefix, or -1 on an I/O error. */
static off_t recover_scan(kb_segment_t *s, off_t file_size, int32_t interval) {
    scan_window_t w = {malloc(RECOVERY_CHUNK), RECOVERY_CHUNK, 0, 0};
    off_t pos = 0;

    if (!w.buf) return -1;
    while (pos < file_size) {
        kp_batch_header_t h;
        size_t size = 0, avail = (size_t)(w.start + (off_t)w.len - pos);
        int rc = kp_batch_scan(w.buf + (pos - w.start), avail, (size_t)(file_size - pos), &h, &size);

        if (rc == KP_SCAN_INCOMPLETE) {
            if (w.start + (off_t)w.len == file_size) break; /* cut at the end of the file */
            bool refilled_here = w.start == pos;
            if (window_fill(s->fd, &w, pos, refilled_here ? batch_bytes_wanted(&w) : 0, file_size) != 0) {
                pos = -1;
                break;
            }
            continue;
        }
        if (rc != KP_SCAN_OK || !batch_offsets_fit(s, &h)) break;
        index_batch(s, pos, &h, size, interval);
        pos += (off_t)size;
    }
    free(w.buf);
    return pos;
}

static void reset_state(kb_segment_t *s) {
    s->size = 0;
    s->next_offset = s->base_offset;
    s->max_timestamp = KB_NO_TIMESTAMP;
    s->offset_of_max_timestamp = s->base_offset;
    s->rolling_timestamp = KB_NO_TIMESTAMP;
    s->bytes_since_index = 0;
}

int kb_segment_recover(kb_segment_t *s, const kb_log_config_t *lc, const char *name, uint64_t *truncated) {
    struct stat st;
    off_t valid;

    *truncated = 0;
    if (fstat(s->fd, &st) != 0) return -1;
    if (index_reset(s, &s->offset_index, lc->index_size_max_bytes) != 0 ||
        index_reset(s, &s->time_index, lc->index_size_max_bytes) != 0)
        return -1;
    reset_state(s);
    valid = recover_scan(s, st.st_size, lc->index_interval_bytes);
    if (valid < 0) return -1;
    if (valid < st.st_size) {
        if (ftruncate(s->fd, valid) != 0) return -1;
        *truncated = (uint64_t)(st.st_size - valid);
        kc_warn("log", "recovered %s segment %0*" PRId64 ": truncated %" PRIu64 " bytes after offset %" PRId64, name,
                KB_SEGMENT_NAME_DIGITS, s->base_offset, *truncated, s->next_offset - 1);
    }
    s->size = valid;
    return kb_segment_sync(s);
}

/* -------------------------------------------------------- append, seal */

bool kb_segment_index_full(const kb_segment_t *s) {
    return !index_has_room(&s->offset_index) || !index_has_room(&s->time_index);
}

/* Normally one pwrite; a short write (rare on regular files) continues. */
static int write_all(int fd, const uint8_t *p, size_t n, off_t at) {
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* Allocates, before the batch is written, the index space its entries
 * (and the time index entry a seal adds) may need: once the batch is in
 * the file an entry can no longer fail cleanly.  Mostly two compares. */
static int reserve_for_append(kb_segment_t *s) {
    kb_index_t *o = &s->offset_index, *t = &s->time_index;

    if (index_reserve(s, o, (o->entries + 1) * o->entry_size) != 0) return -1;
    return index_reserve(s, t, (t->entries + 2) * t->entry_size);
}

int kb_segment_append(kb_segment_t *s, const uint8_t *batch, size_t size, const kp_batch_header_t *h,
                      int32_t index_interval_bytes) {
    off_t at = s->size;

    if (reserve_for_append(s) != 0) return -1;
    if (write_all(s->fd, batch, size, at) != 0) {
        int saved = errno;
        if (ftruncate(s->fd, at) != 0)
            kc_error("log", "%s.log: cannot cut a failed append back: %s", s->path, strerror(errno));
        errno = saved;
        return -1;
    }
    s->size += (off_t)size;
    index_batch(s, at, h, size, index_interval_bytes);
    return 0;
}

/* The .log is open here (a new or loading segment); reopened read-write
 * should it not be. */
/* A sealed segment made active again (truncation) may have its .log open
 * read-only for a pin: a writable descriptor replaces it under the same
 * number (dup2), so holders of a pin keep reading the same file. */
static int reopen_writable(kb_segment_t *s) {
    int fd = open_log_file(s, O_RDWR), rc;

    if (fd < 0) return -1;
    rc = dup3(fd, s->fd, O_CLOEXEC) < 0 ? -1 : 0;
    close_keeping_errno(fd);
    return rc;
}

int kb_segment_activate(kb_segment_t *s, const kb_log_config_t *lc) {
    int rc = 0;

    pthread_mutex_lock(&s->fd_lock);
    if (s->fd < 0) s->fd = open_log_file(s, O_RDWR);
    else if ((fcntl(s->fd, F_GETFL) & O_ACCMODE) != O_RDWR) rc = reopen_writable(s);
    if (s->fd < 0) rc = -1;
    else if (rc == 0) s->active = true;
    pthread_mutex_unlock(&s->fd_lock);
    if (rc != 0 || index_extend(s, &s->offset_index, lc->index_size_max_bytes) != 0) return -1;
    return index_extend(s, &s->time_index, lc->index_size_max_bytes);
}

void kb_segment_seal(kb_segment_t *s) {
    time_index_maybe_append(s, s->max_timestamp, s->offset_of_max_timestamp);
    if (index_trim(s, &s->offset_index) != 0 || index_trim(s, &s->time_index) != 0)
        kc_error("log", "%s: cannot trim indexes: %s", s->path, strerror(errno));
    pthread_mutex_lock(&s->fd_lock);
    s->active = false;
    close_if_unused(s);
    pthread_mutex_unlock(&s->fd_lock);
}

int kb_segment_sync(kb_segment_t *s) {
    int rc;

    if (kb_segment_pin(s) != 0) return -1;
    rc = fdatasync(s->fd);
    kb_segment_unpin(s);
    if (rc == 0) rc = index_sync(s, &s->offset_index);
    if (rc == 0) rc = index_sync(s, &s->time_index);
    return rc;
}

/* ---------------------------------------------------------- truncation */

/* Offset index entries pointing below pos (positions increase). */
static size_t offset_entries_below(const kb_segment_t *s, off_t pos) {
    size_t lo = 0, hi = s->offset_index.entries;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (offset_entry_position(s, mid) < pos) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Time index entries for offsets below `offset` (offsets increase with
 * the timestamps, both being maxima so far). */
static size_t time_entries_below(const kb_segment_t *s, int64_t offset) {
    size_t lo = 0, hi = s->time_index.entries;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time_entry_offset(s, mid) < offset) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The in-memory state of the first pos bytes, the indexes already cut:
 * the largest timestamp from the last time entry kept, then the batches
 * after the last offset entry kept (a few index intervals at most) read
 * for the next offset, their timestamps and bytes_since_index. */
static int state_below(kb_segment_t *s, off_t pos) {
    size_t n = s->offset_index.entries, t = s->time_index.entries;
    off_t p = n ? offset_entry_position(s, n - 1) : 0;
    kp_batch_header_t h;

    s->max_timestamp = t ? time_entry_timestamp(s, t - 1) : KB_NO_TIMESTAMP;
    s->offset_of_max_timestamp = t ? time_entry_offset(s, t - 1) : s->base_offset;
    s->next_offset = s->base_offset;
    s->bytes_since_index = (size_t)(pos - p);
    if (pos == 0) {
        s->rolling_timestamp = KB_NO_TIMESTAMP;
        s->created_ms = kb_log_now_ms();
    }
    for (; p < pos; p += (off_t)kp_batch_size(&h)) {
        if (read_header(s, p, &h) != 0) return -1;
        if (h.max_timestamp > s->max_timestamp) {
            s->max_timestamp = h.max_timestamp;
            s->offset_of_max_timestamp = kp_batch_last_offset(&h);
        }
        s->next_offset = kp_batch_last_offset(&h) + 1;
    }
    return 0;
}

int kb_segment_truncate(kb_segment_t *s, off_t pos, int64_t cut_offset, const kb_log_config_t *lc) {
    char path[PATH_MAX_LEN];
    int rc;

    if (kb_segment_pin(s) != 0) return -1;
    s->offset_index.entries = offset_entries_below(s, pos);
    s->time_index.entries = time_entries_below(s, cut_offset);
    s->indexes_changed = true;
    rc = state_below(s, pos);
    kb_segment_unpin(s);
    if (rc != 0) return -1;
    file_path(s, ".log", path, sizeof(path));
    if (pos < s->size && truncate(path, pos) != 0) return -1;
    s->size = pos;
    /* Trimmed first: the bytes of the dropped entries leave the files, so
     * the sparse extension reads back as zeros, never as stale entries. */
    if (index_trim(s, &s->offset_index) != 0 || index_trim(s, &s->time_index) != 0) return -1;
    return kb_segment_activate(s, lc);
}

void kb_segment_deactivate(kb_segment_t *s) {
    pthread_mutex_lock(&s->fd_lock);
    s->active = false;
    close_if_unused(s);
    pthread_mutex_unlock(&s->fd_lock);
}

int kb_segment_unrename(kb_segment_t *s) {
    char from[PATH_MAX_LEN + sizeof(DELETED_SUFFIX)], to[PATH_MAX_LEN];
    int rc = 0;

    for (size_t i = 0; i < N_SEGMENT_SUFFIXES; i++) {
        file_path(s, segment_suffixes[i], to, sizeof(to));
        snprintf(from, sizeof(from), "%s%s", to, DELETED_SUFFIX);
        if (rename(from, to) != 0 && (i == 0 || errno != ENOENT)) rc = -1;
    }
    if (rc == 0) s->renamed = false;
    return rc;
}

int kb_segment_copy_prefix(kb_segment_t *to, kb_segment_t *from, off_t len) {
    off_t in = 0;
    int rc = 0;

    if (kb_segment_pin(from) != 0) return -1;
    while (rc == 0 && in < len) {
        ssize_t n = copy_file_range(from->fd, &in, to->fd, NULL, (size_t)(len - in), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) rc = -1;
    }
    kb_segment_unpin(from);
    return rc;
}
