/*
 * kb_logmgr.c - the log manager: every directory of log.dirs and every
 * partition log in them, laid out as Kafka lays them out
 * (zk-and-replication.md 4.1, 4.5, 4.9) so operators and their tools
 * recognise a kbroker data directory.
 *
 * Per log dir it owns:
 *   - .lock, held with flock(LOCK_EX) for the manager's lifetime: a second
 *     broker pointed at the same directory fails at start instead of
 *     corrupting the first one's logs;
 *   - meta.properties (version=0, broker.id, cluster.id), compared with the
 *     configured broker id at open and with ZooKeeper's cluster id by
 *     kb_logmgr_check_identity, and written where missing;
 *   - .kafka_cleanshutdown: written last by a clean close, deleted at open;
 *     without it, segments past the recovery point are rescanned;
 *   - the recovery-point, replication (high watermark) and log-start
 *     checkpoints, written by libevent timers at Kafka's intervals (the
 *     file I/O itself goes to the flusher thread) and at close; the
 *     log-start one also whenever retention or DeleteRecords moves a log
 *     start (kb_retention.c decides and deletes; the manager starts and
 *     stops it and walks the logs for it).  A checkpoint that cannot be
 *     read never stops start-up: as Kafka, the manager warns, naming the
 *     file, and goes on as if it were empty.
 *
 * Partition dirs are <topic>-<partition>, split at the LAST '-' since topic
 * names may contain '-'; <...>-delete dirs are removed, <...>-future dirs
 * skipped, anything else unparsable is a start-up error, as in Kafka.
 * Loading: collect the partitions of every dir and sort them, check that
 * the descriptor limit allows one per partition, then per dir apply the
 * three checkpoint files (binary search per entry) and load each log.
 *
 * Logs are found through a hash table keyed by topic and partition (every
 * Produce and Fetch looks one up).  Only the loop changes it: logs created
 * at run time are built on the creation worker (kb_logcreate.c) and
 * inserted here by its completion.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"
#include "common/kc_names.h"

#define RECOVERY_POINT_FILE "recovery-point-offset-checkpoint"
#define REPLICATION_FILE "replication-offset-checkpoint"
#define LOG_START_FILE "log-start-offset-checkpoint"
#define CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"
#define LOCK_FILE ".lock"
#define META_FILE "meta.properties"
#define DELETE_SUFFIX "-delete"
#define FUTURE_SUFFIX "-future"
#define PATH_LEN 4096

typedef enum { CKPT_RECOVERY_POINT, CKPT_HIGH_WATERMARK, CKPT_LOG_START, CKPT_KINDS } ckpt_kind_t;

static const char *const ckpt_files[CKPT_KINDS] = {RECOVERY_POINT_FILE, REPLICATION_FILE, LOG_START_FILE};

struct kb_logmgr {
    struct event_base *base;
    kb_log_config_t defaults;
    int32_t configured_broker_id;
    int n_dirs;
    kb_logdir_t dirs[KB_MAX_LOG_DIRS];
    kb_log_t **buckets; /* hash chains through kb_log_t.bucket_next */
    size_t n_buckets, n_logs;
    kb_flusher_t *flusher;
    kb_retention_t *retention;
    kb_worker_t *creator; /* builds the logs created at run time */
    kb_worker_t *deleter; /* removes the files of deleted logs (started on first use) */
    kb_log_deletion_t *deletions; /* deleted logs whose files are not removed yet */
    bool closing;         /* no deleter is started any more */
    struct ckpt_timer {
        kb_logmgr_t *m;
        ckpt_kind_t kind;
        struct event *ev;
    } timers[CKPT_KINDS];
    struct event *log_start_ev; /* active while a dir's log starts wait to be saved */
    struct event *epochs_ev;    /* active while logs wait for their leader-epoch-checkpoint */
    kb_log_t *epochs_head;      /* those logs (kb_log.epochs_prev/next) */
    kb_fd_budget_t budget;      /* the logs it may hold (read at open, after the limit was raised) */
    struct event *room_ev;      /* activated when deleted logs give their slots back */
    void (*room_fn)(void *arg); /* ... and the watcher it calls */
    void *room_arg;
    kb_log_stats_t stats;
};

/* ----------------------------------------------------------- hash table */

static size_t log_hash(const char *topic, int32_t partition) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (const char *p = topic; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    h = (h ^ (uint32_t)partition) * 1099511628211ULL;
    return (size_t)h;
}

static kb_log_t **bucket_of(const kb_logmgr_t *m, const char *topic, int32_t partition) {
    return &m->buckets[log_hash(topic, partition) & (m->n_buckets - 1)];
}

static int table_grow(kb_logmgr_t *m) {
    size_t n = m->n_buckets ? m->n_buckets * 2 : 64;
    kb_log_t **nb = calloc(n, sizeof(*nb)), **old = m->buckets;
    size_t old_n = m->n_buckets;

    if (!nb) return -1;
    m->buckets = nb;
    m->n_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        for (kb_log_t *l = old[i], *next; l; l = next) {
            kb_log_t **b = bucket_of(m, l->topic, l->partition);
            next = l->bucket_next;
            l->bucket_next = *b;
            *b = l;
        }
    }
    free(old);
    return 0;
}

/* Links log in; its dir counts it unless `placed` says it already does. */
static int table_link(kb_logmgr_t *m, kb_log_t *log, bool placed) {
    kb_log_t **b;

    if (m->n_logs >= m->n_buckets && table_grow(m) != 0) return -1;
    b = bucket_of(m, log->topic, log->partition);
    log->bucket_next = *b;
    *b = log;
    m->n_logs++;
    if (!placed) log->dir->n_partitions++;
    return 0;
}

static int table_insert(kb_logmgr_t *m, kb_log_t *log) { return table_link(m, log, false); }

static void table_unlink(kb_logmgr_t *m, kb_log_t *log) {
    for (kb_log_t **pp = bucket_of(m, log->topic, log->partition); *pp; pp = &(*pp)->bucket_next)
        if (*pp == log) {
            *pp = log->bucket_next;
            log->bucket_next = NULL;
            m->n_logs--;
            log->dir->n_partitions--;
            return;
        }
}

int kb_logmgr_publish(kb_logmgr_t *m, kb_log_t *log) { return table_link(m, log, true); }

kb_log_t *kb_logmgr_get(kb_logmgr_t *m, const char *topic, int32_t partition) {
    if (!m->n_buckets) return NULL;
    for (kb_log_t *l = *bucket_of(m, topic, partition); l; l = l->bucket_next)
        if (l->partition == partition && strcmp(l->topic, topic) == 0) return l;
    return NULL;
}

#define FOR_EACH_LOG(m, l)                      \
    for (size_t b_ = 0; b_ < (m)->n_buckets; b_++) \
        for (kb_log_t *l = (m)->buckets[b_]; l; l = l->bucket_next)

/* ----------------------------------------------------- accessors, stats */

kb_flusher_t *kb_logmgr_flusher(kb_logmgr_t *m) { return m->flusher; }
kb_retention_t *kb_logmgr_retention(kb_logmgr_t *m) { return m->retention; }
kb_log_stats_t *kb_logmgr_stats_mut(kb_logmgr_t *m) { return &m->stats; }
const kb_fd_budget_t *kb_logmgr_budget(const kb_logmgr_t *m) { return &m->budget; }
size_t kb_logmgr_log_count(const kb_logmgr_t *m) {
    return m->n_logs + (size_t)m->stats.log_creations_pending + (size_t)m->stats.log_deletions_open;
}
size_t kb_logmgr_deleted_open(const kb_logmgr_t *m) { return (size_t)m->stats.log_deletions_open; }
bool kb_logmgr_has_room(const kb_logmgr_t *m) { return kb_logmgr_log_count(m) < m->budget.partitions; }
kb_worker_t *kb_logmgr_creator(kb_logmgr_t *m) { return m->creator; }

void kb_logmgr_on_room(kb_logmgr_t *m, void (*fn)(void *arg), void *arg) {
    m->room_fn = fn;
    m->room_arg = arg;
}

/* Deferred to a later turn: a slot frees inside flusher completions and
 * deletion timers, where the watcher's creations should not run. */
void kb_logmgr_room_freed(kb_logmgr_t *m) {
    if (m->room_ev && m->room_fn) event_active(m->room_ev, 0, 0);
}

static void on_room(evutil_socket_t fd, short what, void *arg) {
    kb_logmgr_t *m = arg;
    (void)fd;
    (void)what;
    if (m->room_fn) m->room_fn(m->room_arg);
}

kb_log_deletion_t **kb_logmgr_deletions(kb_logmgr_t *m) { return &m->deletions; }
struct event_base *kb_logmgr_base(kb_logmgr_t *m) { return m->base; }

/* One thread, niced like the broker's workers: removing a large log is
 * slow disk work that must yield the CPU to the loop. */
#define KB_LOG_DELETE_NICE 5

kb_worker_t *kb_logmgr_deleter(kb_logmgr_t *m) {
    if (!m->deleter && !m->closing) m->deleter = kb_worker_new(m->base, 1, "kb-logdelete", KB_LOG_DELETE_NICE);
    return m->deleter;
}
void kb_logmgr_stats(const kb_logmgr_t *m, kb_log_stats_t *out) {
    *out = m->stats;
    out->flush_backlog = m->flusher ? kb_flusher_backlog(m->flusher) : 0;
}

int32_t kb_logmgr_stored_broker_id(const kb_logmgr_t *m) {
    for (int i = 0; i < m->n_dirs; i++)
        if (m->dirs[i].has_meta && m->dirs[i].meta_broker_id >= 0) return m->dirs[i].meta_broker_id;
    return -1;
}

void kb_logmgr_flush_idle_logs(kb_logmgr_t *m) {
    int64_t now = kb_log_mono_ms();
    FOR_EACH_LOG(m, l) kb_log_flush_if_idle(l, now);
}

/* ------------------------------------------------------ dirs and locks */

static void dir_file(const kb_logdir_t *d, const char *name, char *buf, size_t len) {
    snprintf(buf, len, "%s/%s", d->path, name);
}

static int mkdir_p(const char *dir) {
    char path[PATH_LEN];

    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int lock_dir(kb_logdir_t *d, char *err, size_t errlen) {
    char path[PATH_LEN];

    if (mkdir_p(d->path) != 0) {
        snprintf(err, errlen, "cannot create log dir %s: %s", d->path, strerror(errno));
        return -1;
    }
    dir_file(d, LOCK_FILE, path, sizeof(path));
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->lock_fd >= 0 && flock(d->lock_fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EWOULDBLOCK)
        snprintf(err, errlen, "log dir %s is locked (%s): another broker is using it", d->path, path);
    else
        snprintf(err, errlen, "cannot lock log dir %s: %s", d->path, strerror(errno));
    return -1;
}

/* Removes the marker; true when it was there (the last stop was clean). */
static bool take_clean_marker(const kb_logdir_t *d) {
    char path[PATH_LEN];

    dir_file(d, CLEAN_SHUTDOWN_FILE, path, sizeof(path));
    return unlink(path) == 0;
}

static void write_clean_marker(const kb_logdir_t *d) {
    char path[PATH_LEN];
    int fd;

    dir_file(d, CLEAN_SHUTDOWN_FILE, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0) kc_error("log", "cannot create %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------ meta.properties */

static char *trim(char *s) {
    char *e;

    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) *--e = '\0';
    return s;
}

/* One "key=value" (or "key: value") line of a Java properties file. */
static int meta_line(kb_logdir_t *d, char *line, int64_t *version) {
    char *sep, *key, *value, *end;
    long long v;

    line = trim(line);
    if (!*line || *line == '#' || *line == '!') return 0;
    sep = line + strcspn(line, "=:");
    if (!*sep) return -1;
    *sep = '\0';
    key = trim(line);
    value = trim(sep + 1);
    if (!strcmp(key, "cluster.id")) {
        free(d->meta_cluster_id);
        d->meta_cluster_id = strdup(value);
        return d->meta_cluster_id ? 0 : -1;
    }
    if (strcmp(key, "version") && strcmp(key, "broker.id")) return 0;
    errno = 0;
    v = strtoll(value, &end, 10);
    if (errno || end == value || *end) return -1;
    if (!strcmp(key, "version")) *version = v;
    else d->meta_broker_id = (int32_t)v;
    return 0;
}

static int read_meta(kb_logdir_t *d, char *err, size_t errlen) {
    char path[PATH_LEN], line[1024];
    int64_t version = -1;
    FILE *f;

    dir_file(d, META_FILE, path, sizeof(path));
    d->meta_broker_id = -1;
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    d->has_meta = true;
    while (fgets(line, sizeof(line), f)) {
        if (meta_line(d, line, &version) == 0) continue;
        fclose(f);
        snprintf(err, errlen, "%s: malformed line '%s'", path, trim(line));
        return -1;
    }
    fclose(f);
    if (version != 0) {
        snprintf(err, errlen, "%s: version %" PRId64 " is not supported (ZooKeeper mode uses version=0)", path,
                 version);
        return -1;
    }
    return 0;
}

static int write_meta(const kb_logdir_t *d, int32_t broker_id, const char *cluster_id) {
    char path[PATH_LEN], date[64], *text = NULL;
    time_t now = time(NULL);
    struct tm tm;
    int len, rc;

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm); /* Java's Date.toString() */
    len = asprintf(&text, "#\n#%s\nversion=0\nbroker.id=%" PRId32 "\ncluster.id=%s\n", date, broker_id, cluster_id);
    if (len < 0) return -1;
    dir_file(d, META_FILE, path, sizeof(path));
    rc = kb_checkpoint_write_text(path, text, (size_t)len);
    free(text);
    return rc;
}

/* Every meta.properties must agree, and a configured broker.id must match. */
static int check_meta_agree(const kb_logmgr_t *m, char *err, size_t errlen) {
    const kb_logdir_t *first = NULL;

    for (int i = 0; i < m->n_dirs; i++) {
        const kb_logdir_t *d = &m->dirs[i];
        if (!d->has_meta) continue;
        if (!first) first = d;
        bool same_cluster = !d->meta_cluster_id == !first->meta_cluster_id &&
                            (!d->meta_cluster_id || !strcmp(d->meta_cluster_id, first->meta_cluster_id));
        if (d->meta_broker_id != first->meta_broker_id || !same_cluster) {
            snprintf(err, errlen, "meta.properties of %s and %s differ: the log dirs belong to different brokers",
                     first->path, d->path);
            return -1;
        }
    }
    if (first && m->configured_broker_id >= 0 && first->meta_broker_id != m->configured_broker_id) {
        snprintf(err, errlen,
                 "InconsistentBrokerIdException: configured broker.id %" PRId32
                 " doesn't match stored broker.id %" PRId32
                 " in meta.properties of %s; if you moved your data, make sure your configured broker.id matches",
                 m->configured_broker_id, first->meta_broker_id, first->path);
        return -1;
    }
    return 0;
}

int kb_logmgr_check_identity(kb_logmgr_t *m, int32_t broker_id, const char *cluster_id, char *err, size_t errlen) {
    for (int i = 0; i < m->n_dirs; i++) {
        const kb_logdir_t *d = &m->dirs[i];
        if (d->has_meta && d->meta_broker_id != broker_id) {
            snprintf(err, errlen,
                     "InconsistentBrokerIdException: broker.id %" PRId32 " doesn't match stored broker.id %" PRId32
                     " in %s/" META_FILE,
                     broker_id, d->meta_broker_id, d->path);
            return -1;
        }
        if (d->has_meta && d->meta_cluster_id && strcmp(d->meta_cluster_id, cluster_id) != 0) {
            snprintf(err, errlen,
                     "InconsistentClusterIdException: the cluster ID %s doesn't match stored cluster.id %s in "
                     "%s/" META_FILE "; the broker is trying to join the wrong cluster (is zookeeper.connect right?)",
                     cluster_id, d->meta_cluster_id, d->path);
            return -1;
        }
    }
    for (int i = 0; i < m->n_dirs; i++) {
        kb_logdir_t *d = &m->dirs[i];
        if (d->has_meta && d->meta_cluster_id) continue;
        if (write_meta(d, broker_id, cluster_id) != 0) {
            snprintf(err, errlen, "cannot write %s/" META_FILE ": %s", d->path, strerror(errno));
            return -1;
        }
        free(d->meta_cluster_id);
        d->meta_cluster_id = strdup(cluster_id);
        d->has_meta = true;
        d->meta_broker_id = broker_id;
    }
    return 0;
}

/* ---------------------------------------------------------- checkpoints */

static int64_t ckpt_value(const kb_log_t *l, ckpt_kind_t kind) {
    switch (kind) {
    case CKPT_RECOVERY_POINT: return l->recovery_point;
    case CKPT_HIGH_WATERMARK: return l->high_watermark;
    default: return l->log_start_offset;
    }
}

/* Kafka writes a log-start entry only when the log start has moved past
 * the first segment (DeleteRecords). */
static bool ckpt_wanted(const kb_log_t *l, ckpt_kind_t kind) {
    return kind != CKPT_LOG_START || l->log_start_offset > kb_log_first_segment_base(l);
}

/* The file's text for one dir, in a new heap buffer (NULL: no memory). */
static char *ckpt_text(kb_logmgr_t *m, const kb_logdir_t *d, ckpt_kind_t kind, size_t *len) {
    kb_ckpt_entry_t *e = calloc((size_t)d->n_partitions + 1, sizeof(*e));
    size_t n = 0;
    char *text;

    if (!e) return NULL;
    FOR_EACH_LOG(m, l) {
        if (l->dir != d || !ckpt_wanted(l, kind)) continue;
        e[n++] = (kb_ckpt_entry_t){l->topic, l->partition, ckpt_value(l, kind)};
    }
    text = kb_checkpoint_format(e, n, len);
    free(e);
    return text;
}

static int write_checkpoint_now(kb_logmgr_t *m, const kb_logdir_t *d, ckpt_kind_t kind) {
    char path[PATH_LEN];
    size_t len = 0;
    char *text = ckpt_text(m, d, kind, &len);
    int rc = -1;

    dir_file(d, ckpt_files[kind], path, sizeof(path));
    if (text) rc = kb_checkpoint_write_text(path, text, len);
    static kc_ratelimit_t write_rl;
    if (rc != 0)
        kc_log_limited(&write_rl, KB_LOG_REPEAT_MS, KC_LOG_ERROR, "log", "cannot write %s: %s", path, strerror(errno));
    free(text);
    return rc;
}

/* The timers' version: format on the loop, write on the flusher thread. */
static void queue_checkpoint(kb_logmgr_t *m, const kb_logdir_t *d, ckpt_kind_t kind) {
    kb_flush_job_t *job = calloc(1, sizeof(*job));
    char path[PATH_LEN];

    dir_file(d, ckpt_files[kind], path, sizeof(path));
    if (job) {
        job->path = strdup(path);
        job->text = ckpt_text(m, d, kind, &job->text_len);
    }
    if (!job || !job->path || !job->text) {
        kc_error("log", "cannot write %s: out of memory", path);
        if (job) {
            free(job->path);
            free(job->text);
        }
        free(job);
        return;
    }
    m->stats.checkpoint_writes++;
    kb_flusher_submit(m->flusher, job);
}

/* Queued behind the periodic writes rather than written here: two writers
 * of the same <file>.tmp at once would interleave. */
void kb_logmgr_checkpoint(kb_logmgr_t *m) {
    for (int i = 0; i < m->n_dirs; i++)
        for (int k = 0; k < CKPT_KINDS; k++) queue_checkpoint(m, &m->dirs[i], (ckpt_kind_t)k);
}

void kb_logmgr_unlink(kb_logmgr_t *m, kb_log_t *log) {
    table_unlink(m, log);
    if (log->epochs_dirty) kb_logmgr_epochs_clean(m, log);
    log->epochs_dirty = false;
    for (int k = 0; k < CKPT_KINDS; k++) queue_checkpoint(m, log->dir, (ckpt_kind_t)k);
}

/* Queues d's checkpoint of `kind` at the end of this loop turn (*unsaved
 * marks it for on_log_start_moved), or at once before the loop exists. */
static void checkpoint_at_turn_end(kb_logmgr_t *m, kb_logdir_t *d, ckpt_kind_t kind, bool *unsaved) {
    if (!m->log_start_ev) {
        queue_checkpoint(m, d, kind);
        return;
    }
    *unsaved = true;
    event_active(m->log_start_ev, EV_TIMEOUT, 0);
}

/* A DeleteRecords moved a log start in d: its log-start checkpoint is
 * queued once at the end of this loop turn, however many partitions the
 * request (or the turn) moved.  One file per moved partition cost the loop
 * a pass over every log each time: a request of 20,000 entries took 12 s. */
void kb_logmgr_save_log_start(kb_logmgr_t *m, kb_logdir_t *d) {
    checkpoint_at_turn_end(m, d, CKPT_LOG_START, &d->log_start_unsaved);
}

/* A truncation lowered a recovery point in d: the checkpoint is queued
 * the same way, so that a crash soon after recovers the rewritten tail
 * instead of trusting it (Kafka's LogManager.truncateTo checkpoints at
 * once too). */
void kb_logmgr_save_recovery_point(kb_logmgr_t *m, kb_logdir_t *d) {
    checkpoint_at_turn_end(m, d, CKPT_RECOVERY_POINT, &d->recovery_unsaved);
}

static void on_log_start_moved(evutil_socket_t fd, short what, void *arg) {
    kb_logmgr_t *m = arg;

    for (int i = 0; i < m->n_dirs; i++) {
        kb_logdir_t *d = &m->dirs[i];
        if (d->recovery_unsaved) queue_checkpoint(m, d, CKPT_RECOVERY_POINT);
        if (d->log_start_unsaved) queue_checkpoint(m, d, CKPT_LOG_START);
        d->recovery_unsaved = d->log_start_unsaved = false;
    }
}

/* A log's epoch cache changed: it is written once at the end of this loop
 * turn however often it changes in the turn (a failover's burst of
 * become-leader calls), on the log's flusher lane (kb_log_epochs.c). */
bool kb_logmgr_epochs_dirty(kb_logmgr_t *m, kb_log_t *log) {
    if (!m->epochs_ev) return false;
    log->epochs_prev = NULL;
    log->epochs_next = m->epochs_head;
    if (m->epochs_head) m->epochs_head->epochs_prev = log;
    m->epochs_head = log;
    event_active(m->epochs_ev, EV_TIMEOUT, 0);
    return true;
}

/* Unlinks log if it is on the list (a no-op otherwise). */
void kb_logmgr_epochs_clean(kb_logmgr_t *m, kb_log_t *log) {
    if (log->epochs_prev) log->epochs_prev->epochs_next = log->epochs_next;
    else if (m->epochs_head == log) m->epochs_head = log->epochs_next;
    else return;
    if (log->epochs_next) log->epochs_next->epochs_prev = log->epochs_prev;
    log->epochs_prev = log->epochs_next = NULL;
}

static void on_epochs_dirty(evutil_socket_t fd, short what, void *arg) {
    kb_logmgr_t *m = arg;

    while (m->epochs_head) kb_log_save_epochs(m->epochs_head); /* unlinks it */
}

/* The deciding runs here on the loop (it only compares offsets, sizes and
 * clocks); the files go to the deleter thread. */
void kb_logmgr_enforce_retention(kb_logmgr_t *m) {
    bool moved[KB_MAX_LOG_DIRS] = {false};
    int64_t now = kb_log_now_ms();

    FOR_EACH_LOG(m, l) {
        if (kb_retention_check_log(l, now) > 0) moved[l->dir - m->dirs] = true;
    }
    for (int i = 0; i < m->n_dirs; i++)
        if (moved[i]) queue_checkpoint(m, &m->dirs[i], CKPT_LOG_START);
}

static void on_ckpt_timer(evutil_socket_t fd, short what, void *arg) {
    struct ckpt_timer *t = arg;

    for (int i = 0; i < t->m->n_dirs; i++) queue_checkpoint(t->m, &t->m->dirs[i], t->kind);
}

static int start_timers(kb_logmgr_t *m, const kb_config_t *cfg) {
    const int64_t ms[CKPT_KINDS] = {cfg->log_flush_offset_checkpoint_interval_ms,
                                    cfg->replica_high_watermark_checkpoint_interval_ms,
                                    cfg->log_flush_start_offset_checkpoint_interval_ms};

    for (int k = 0; k < CKPT_KINDS; k++) {
        struct ckpt_timer *t = &m->timers[k];
        struct timeval tv = {(time_t)(ms[k] / 1000), (suseconds_t)(ms[k] % 1000) * 1000};
        t->m = m;
        t->kind = (ckpt_kind_t)k;
        if (ms[k] <= 0) continue; /* 0: only at close */
        t->ev = event_new(m->base, -1, EV_PERSIST, on_ckpt_timer, t);
        if (!t->ev || event_add(t->ev, &tv) != 0) return -1;
    }
    m->log_start_ev = event_new(m->base, -1, 0, on_log_start_moved, m);
    m->epochs_ev = event_new(m->base, -1, 0, on_epochs_dirty, m);
    return m->log_start_ev && m->epochs_ev ? 0 : -1;
}

static void stop_timers(kb_logmgr_t *m) {
    for (int k = 0; k < CKPT_KINDS; k++) {
        if (m->timers[k].ev) event_free(m->timers[k].ev);
        m->timers[k].ev = NULL;
    }
    if (m->log_start_ev) event_free(m->log_start_ev); /* close writes every checkpoint itself */
    m->log_start_ev = NULL;
    /* Dirty epoch caches stay linked: each log's close writes its own. */
    if (m->epochs_ev) event_free(m->epochs_ev);
    m->epochs_ev = NULL;
}

/* ----------------------------------------------------- partition dirs */

/* A partition dir found at start-up, before its log is loaded. */
typedef struct pending_log {
    char *topic;
    int32_t partition;
    kb_log_saved_t saved;
} pending_log_t;

typedef struct pending_set {
    pending_log_t *v;
    size_t n, cap;
    ckpt_kind_t kind; /* the checkpoint file being applied */
} pending_set_t;

static int pending_cmp(const void *a, const void *b) {
    const pending_log_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static int pending_add(pending_set_t *ps, const char *topic, int32_t partition) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        pending_log_t *grown = realloc(ps->v, cap * sizeof(*grown));
        if (!grown) return -1;
        ps->v = grown;
        ps->cap = cap;
    }
    ps->v[ps->n].topic = strdup(topic);
    if (!ps->v[ps->n].topic) return -1;
    ps->v[ps->n].partition = partition;
    ps->v[ps->n].saved = (kb_log_saved_t){-1, -1, -1};
    ps->n++;
    return 0;
}

static void pending_free(pending_set_t *ps) {
    for (size_t i = 0; i < ps->n; i++) free(ps->v[i].topic);
    free(ps->v);
}

/* A checkpoint entry: the partition's saved value, if it has a dir here. */
static void apply_checkpoint_entry(void *arg, const char *topic, int32_t partition, int64_t offset) {
    pending_set_t *ps = arg;
    pending_log_t key = {(char *)topic, partition, {0, 0, 0}};
    pending_log_t *p = bsearch(&key, ps->v, ps->n, sizeof(*ps->v), pending_cmp);

    if (!p) return;
    if (ps->kind == CKPT_RECOVERY_POINT) p->saved.recovery_point = offset;
    else if (ps->kind == CKPT_HIGH_WATERMARK) p->saved.high_watermark = offset;
    else p->saved.log_start_offset = offset;
}

/* What an unusable checkpoint file costs, as Kafka handles it: its
 * entries are ignored and the logs fall back to what they hold. */
static const char *const ckpt_fallback[CKPT_KINDS] = {
    "recovery points reset to 0 (after an unclean shutdown every segment is recovered)",
    "high watermarks start at the log start offset (a leader moves them to its log end)",
    "log start offsets start at each log's first segment",
};

/* Never fails start-up: a file that cannot be read or parsed (the reader
 * hands out no entry then) is reported and treated as empty, and the next
 * checkpoint write replaces it. */
static void read_checkpoints(const kb_logdir_t *d, pending_set_t *ps) {
    char path[PATH_LEN], why[PATH_LEN + 256];

    for (int k = 0; k < CKPT_KINDS; k++) {
        dir_file(d, ckpt_files[k], path, sizeof(path));
        ps->kind = (ckpt_kind_t)k;
        if (kb_checkpoint_read(path, apply_checkpoint_entry, ps, why, sizeof(why)) != 0)
            kc_warn("log", "ignoring unusable %s (%s): %s", ckpt_files[k], why, ckpt_fallback[k]);
        if (kb_checkpoint_touch(path) != 0) kc_warn("log", "cannot create %s: %s", path, strerror(errno));
    }
}

/* "<topic>-<partition>", split at the last '-'. */
static bool parse_partition_dir(const char *name, char *topic, size_t topic_len, int32_t *partition) {
    const char *dash = strrchr(name, '-');
    char why[256], *end;
    long long p;

    if (!dash || dash == name || (size_t)(dash - name) >= topic_len || dash[1] < '0' || dash[1] > '9') return false;
    errno = 0;
    p = strtoll(dash + 1, &end, 10);
    if (errno || *end || p > INT32_MAX) return false;
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    *partition = (int32_t)p;
    return kc_topic_name_valid(topic, why, sizeof(why));
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Partition dirs are flat: their files, then the dir. */
static void remove_partition_dir(const char *path) {
    DIR *dir = opendir(path);
    char file[PATH_LEN];
    struct dirent *e;

    while (dir && (e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if ((size_t)snprintf(file, sizeof(file), "%s/%s", path, e->d_name) < sizeof(file)) unlink(file);
    }
    if (dir) closedir(dir);
    if (rmdir(path) != 0) kc_warn("log", "cannot delete %s: %s", path, strerror(errno));
    else kc_info("log", "deleted %s (partition awaiting deletion)", path);
}

static int scan_entry(const kb_logdir_t *d, const char *name, pending_set_t *ps, char *err, size_t errlen) {
    char path[PATH_LEN], topic[KC_TOPIC_NAME_MAX + 1];
    int32_t partition;
    struct stat st;

    if (!strcmp(name, ".") || !strcmp(name, "..")) return 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->path, name) >= sizeof(path)) {
        snprintf(err, errlen, "path too long in log dir %s", d->path);
        return -1;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    if (has_suffix(name, DELETE_SUFFIX)) {
        remove_partition_dir(path);
        return 0;
    }
    if (has_suffix(name, FUTURE_SUFFIX)) {
        kc_warn("log", "%s: moving replicas between log dirs is not supported; ignored", path);
        return 0;
    }
    if (!parse_partition_dir(name, topic, sizeof(topic), &partition)) {
        snprintf(err, errlen, "found directory %s, '%s' is not in the form of topic-partition", path, name);
        return -1;
    }
    return pending_add(ps, topic, partition);
}

static int scan_dir(const kb_logdir_t *d, pending_set_t *ps, char *err, size_t errlen) {
    DIR *dir = opendir(d->path);
    struct dirent *e;
    int rc = 0;

    if (!dir) {
        snprintf(err, errlen, "cannot read log dir %s: %s", d->path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(dir)) != NULL) rc = scan_entry(d, e->d_name, ps, err, errlen);
    closedir(dir);
    if (rc == 0 && ps->n) qsort(ps->v, ps->n, sizeof(*ps->v), pending_cmp);
    return rc;
}

/* Loads the partitions scan_dir found in d. */
static int load_dir(kb_logmgr_t *m, kb_logdir_t *d, pending_set_t *ps, char *err, size_t errlen) {
    int rc = 0;

    read_checkpoints(d, ps);
    for (size_t i = 0; rc == 0 && i < ps->n; i++) {
        pending_log_t *p = &ps->v[i];
        kb_log_t *log = kb_log_load(m, d, p->topic, p->partition, &m->defaults, d->clean_shutdown, &p->saved, err,
                                    errlen);
        if (!log) rc = -1;
        else if (table_insert(m, log) != 0) {
            kb_log_free(log);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0)
        kc_info("log", "loaded %zu partition(s) from %s%s", ps->n, d->path,
                d->clean_shutdown || ps->n == 0 ? "" : " after an unclean shutdown");
    return rc;
}

/* Checked before a single log is opened, so that a broker short of
 * descriptors says so instead of failing later on whatever runs out first
 * (a segment, a socket, the ZooKeeper connection).  The arithmetic is the
 * run-time budget's (kb_fd_budget.h), so logs created at run time always
 * fit again after a restart under the same limit; max.broker.partitions
 * is left out of the check: it only stops new logs.  The line says what
 * the budget is and which bound sets it. */
static int check_fd_budget(const kb_logmgr_t *m, size_t partitions, char *err, size_t errlen) {
    const kb_fd_budget_t *b = &m->budget;
    unsigned long long need = kb_fd_budget_need(b, partitions);
    char budget[256];
    const char *over = partitions > b->partitions ? "; more logs than that were found: all of them load, and no log "
                                                    "is created until fewer remain" : "";

    kb_fd_budget_describe(b, budget, sizeof(budget));
    if (b->nofile == KB_FD_UNLIMITED) {
        kc_info("log", "file descriptors: %zu partition log(s) found; the limit (RLIMIT_NOFILE) is unlimited; %s%s",
                partitions, budget, over);
        return 0;
    }
    kc_info("log", "file descriptors: the %zu partition log(s) found need about %llu (one per partition plus %llu "
                   "kept for connections, ZooKeeper and checkpoints); the limit (RLIMIT_NOFILE) is %llu, room for %llu "
                   "partition logs; %s%s",
            partitions, need, (unsigned long long)b->reserve, (unsigned long long)b->nofile,
            (unsigned long long)b->by_descriptors, budget, partitions <= b->by_descriptors ? over : "");
    if (partitions <= b->by_descriptors) return 0;
    snprintf(err, errlen,
             "too few file descriptors: the %zu partition logs in log.dirs need about %llu open files (one each plus "
             "%llu kept for connections, ZooKeeper and checkpoints), but the limit (RLIMIT_NOFILE) is %llu, room for "
             "%llu; raise it (ulimit -n, LimitNOFILE= in the systemd unit) or move partitions to other brokers",
             partitions, need, (unsigned long long)b->reserve, (unsigned long long)b->nofile,
             (unsigned long long)b->by_descriptors);
    return -1;
}

/* ------------------------------------------------------------ lifecycle */

/* Kafka checks log.flush.interval.ms only every
 * log.flush.scheduler.interval.ms (by default never); kbroker checks at the
 * smaller of the two so that setting the first one alone takes effect. */
static int64_t flush_check_ms(const kb_config_t *cfg) {
    int64_t a = cfg->log_flush_scheduler_interval_ms, b = cfg->log_flush_interval_ms;
    return a < b ? a : b;
}

static void free_logs(kb_logmgr_t *m) {
    for (size_t b = 0; b < m->n_buckets; b++) {
        kb_log_t *l = m->buckets[b];
        while (l) {
            kb_log_t *next = l->bucket_next;
            kb_log_free(l);
            l = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->n_buckets = m->n_logs = 0;
}

/* Frees everything and releases the locks; files stay as they are. */
static void release(kb_logmgr_t *m) {
    kb_worker_stop(m->creator);
    m->creator = NULL;
    m->closing = true;
    kb_worker_stop(m->deleter); /* a removal under way finishes, the queued ones are left */
    m->deleter = NULL;
    stop_timers(m);
    kb_retention_stop_checks(m->retention);
    kb_flusher_stop(m->flusher);
    m->flusher = NULL;
    kb_logdelete_free_all(m); /* after the flusher: their lanes are its */
    if (m->room_ev) event_free(m->room_ev); /* after the deletions: they may activate it */
    m->room_ev = NULL;
    kb_retention_free(m->retention); /* after the flusher: see kb_retention_stop_checks */
    m->retention = NULL;
    free_logs(m);
    for (int i = 0; i < m->n_dirs; i++) {
        if (m->dirs[i].lock_fd >= 0) close(m->dirs[i].lock_fd);
        free(m->dirs[i].path);
        free(m->dirs[i].meta_cluster_id);
    }
    free(m);
}

static int open_dirs(kb_logmgr_t *m, const kb_config_t *cfg, char *err, size_t errlen) {
    for (int i = 0; i < cfg->n_log_dirs; i++) {
        kb_logdir_t *d = &m->dirs[m->n_dirs];
        d->lock_fd = -1;
        d->path = strdup(cfg->log_dirs[i]);
        if (!d->path) return -1;
        m->n_dirs++;
        if (lock_dir(d, err, errlen) != 0 || read_meta(d, err, errlen) != 0) return -1;
    }
    return check_meta_agree(m, err, errlen);
}

/* Every dir is scanned before any log is loaded: the descriptor check
 * needs the total. */
static int load_dirs(kb_logmgr_t *m, char *err, size_t errlen) {
    pending_set_t found[KB_MAX_LOG_DIRS] = {{0}};
    size_t total = 0;
    int rc = 0;

    for (int i = 0; rc == 0 && i < m->n_dirs; i++) {
        rc = scan_dir(&m->dirs[i], &found[i], err, errlen);
        total += found[i].n;
    }
    if (rc == 0) rc = check_fd_budget(m, total, err, errlen);
    for (int i = 0; rc == 0 && i < m->n_dirs; i++) {
        kb_logdir_t *d = &m->dirs[i];
        char marker[PATH_LEN];
        dir_file(d, CLEAN_SHUTDOWN_FILE, marker, sizeof(marker));
        d->clean_shutdown = access(marker, F_OK) == 0;
        rc = load_dir(m, d, &found[i], err, errlen);
        /* Deleted only once everything is loaded: a crash while loading
         * leaves the marker, and the files are still as they were left. */
        if (rc == 0 && d->clean_shutdown) take_clean_marker(d);
    }
    for (int i = 0; i < m->n_dirs; i++) pending_free(&found[i]);
    return rc;
}

kb_logmgr_t *kb_logmgr_open(struct event_base *base, const kb_config_t *cfg, char *err, size_t errlen) {
    kb_logmgr_t *m = calloc(1, sizeof(*m));

    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    err[0] = '\0';
    m->base = base;
    m->configured_broker_id = cfg->broker_id;
    kb_log_config_from_broker(&m->defaults, cfg);
    kb_fd_budget_read(&m->budget, cfg->n_log_dirs, cfg->max_broker_partitions);
    if (table_grow(m) != 0 || open_dirs(m, cfg, err, errlen) != 0 || load_dirs(m, err, errlen) != 0 ||
        !(m->flusher = kb_flusher_start(base, m, &m->stats, flush_check_ms(cfg))) ||
        !(m->retention = kb_retention_start(base, m, cfg->log_retention_check_interval_ms)) ||
        !(m->creator = kb_worker_new(base, KB_LOG_CREATE_THREADS, "kb-logcreate", KB_LOG_CREATE_NICE)) ||
        !(m->room_ev = event_new(base, -1, 0, on_room, m)) || start_timers(m, cfg) != 0) {
        if (!err[0]) snprintf(err, errlen, "cannot open the log dirs: %s", strerror(errno ? errno : ENOMEM));
        release(m);
        return NULL;
    }
    return m;
}

static kb_logdir_t *emptiest_dir(kb_logmgr_t *m) {
    kb_logdir_t *best = &m->dirs[0];

    for (int i = 1; i < m->n_dirs; i++)
        if (m->dirs[i].n_partitions < best->n_partitions) best = &m->dirs[i];
    return best;
}

kb_logdir_t *kb_logmgr_place(kb_logmgr_t *m) {
    kb_logdir_t *d = emptiest_dir(m);
    d->n_partitions++;
    return d;
}

kb_log_t *kb_logmgr_get_or_create(kb_logmgr_t *m, const char *topic, int32_t partition, const kb_log_config_t *lc) {
    const kb_log_saved_t none = {-1, -1, -1};
    kb_log_t *log = kb_logmgr_get(m, topic, partition);
    kb_logdir_t *d;
    char why[512];

    if (log) {
        if (lc) log->cfg = *lc; /* topic overrides may have changed */
        return log;
    }
    if (!lc) lc = &m->defaults;
    if (partition < 0 || !kc_topic_name_valid(topic, why, sizeof(why))) {
        kc_error("log", "refusing to create a log for %s-%" PRId32 ": bad topic or partition", topic, partition);
        return NULL;
    }
    if (!kb_logmgr_has_room(m)) {
        kc_error("log", "refusing to create a log for %s-%" PRId32 ": the partition budget of %llu logs is full",
                 topic, partition, (unsigned long long)m->budget.partitions);
        return NULL;
    }
    d = emptiest_dir(m);
    log = kb_log_load(m, d, topic, partition, lc, true, &none, why, sizeof(why));
    if (log && table_insert(m, log) != 0) {
        kb_log_free(log);
        log = NULL;
        snprintf(why, sizeof(why), "out of memory");
    }
    if (!log) kc_error("log", "cannot create the log of %s-%" PRId32 ": %s", topic, partition, why);
    else kc_info("log", "created log %s", log->path);
    return log;
}

void kb_logmgr_shutdown(kb_logmgr_t *m) {
    bool ok[KB_MAX_LOG_DIRS];
    uint64_t backlog, fsyncs;

    /* Queued creations are cancelled; one being built is finished and
     * published, so that it is closed below like every other log. */
    kb_worker_stop(m->creator);
    m->creator = NULL;
    m->closing = true;
    kb_worker_stop(m->deleter);
    m->deleter = NULL;
    backlog = kb_flusher_backlog(m->flusher);
    fsyncs = m->stats.fsyncs;
    stop_timers(m);
    kb_retention_stop_checks(m->retention);
    /* Finishes the queued fsyncs and file writes: each segment rolled or
     * written since its last fsync once, so the time this takes is bounded
     * by what is unflushed, not by how often it was asked for. */
    kb_flusher_stop(m->flusher);
    m->flusher = NULL;
    /* Retired segments are renamed to .deleted before the clean-shutdown
     * marker promises that the files are as the checkpoints say. */
    kb_retention_free(m->retention);
    m->retention = NULL;
    for (int i = 0; i < m->n_dirs; i++) ok[i] = true;
    /* Each log fsyncs only what may not be on disk yet (kb_log_shutdown):
     * with thousands of logs, almost none written since their last flush,
     * an fsync of every one took seconds. */
    FOR_EACH_LOG(m, l) {
        if (kb_log_shutdown(l) != 0) ok[l->dir - m->dirs] = false;
    }
    for (int i = 0; i < m->n_dirs; i++) {
        for (int k = 0; k < CKPT_KINDS; k++)
            if (write_checkpoint_now(m, &m->dirs[i], (ckpt_kind_t)k) != 0) ok[i] = false;
        /* The marker promises that every file in the dir is complete. */
        if (ok[i]) write_clean_marker(&m->dirs[i]);
        else kc_warn("log", "%s: not marking a clean shutdown after errors", m->dirs[i].path);
    }
    kc_info("log", "closed %zu log(s): %" PRIu64 " segment fsync(s) at shutdown, %" PRIu64
                   " flush item(s) were queued",
            m->n_logs, m->stats.fsyncs - fsyncs, backlog);
}

void kb_logmgr_close(kb_logmgr_t *m) {
    if (!m) return;
    kb_logmgr_shutdown(m);
    release(m);
}

void kb_logmgr_abandon(kb_logmgr_t *m) {
    if (m) release(m);
}
