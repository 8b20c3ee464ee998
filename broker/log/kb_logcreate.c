/*
 * kb_logcreate.c - partition logs created at run time, built off the event
 * loop (see kb_logmgr_create_async in kb_log.h).
 *
 * Creating a log is a mkdir, three files, blocks allocated for both
 * indexes and two mappings: a millisecond or more of filesystem work each.
 * On the loop, the 10,000 logs of 20 topics of 500 partitions held it for
 * seconds at a time, long enough for the ZooKeeper session it drives to
 * expire.  Here a job on the manager's creation worker (common/kb_worker)
 * builds the kb_log_t and its files, and the job's completion, back on the
 * loop, inserts the log into the manager's table: the table, and
 * everything else the loop reads, is never touched by the thread.
 *
 * What the thread touches: the job (its own copy of the topic and the
 * settings) and the log it builds in a partition dir it has just created
 * itself.  A dir that already exists may hold segments to load and
 * recover, which counts in the manager's statistics: it is left to the
 * completion, which loads it on the loop as start-up would (a run-time
 * creation never finds one unless someone made it by hand).  A log that
 * cannot be built leaves nothing behind: the segment removes its files,
 * the job removes the dir it made.
 *
 * The dir is chosen on the loop when the job is submitted and counted
 * there at once (kb_logmgr_place), so that a burst of creations spreads
 * over log.dirs as one-at-a-time creations do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/kb_log_internal.h"
#include "common/kb_worker.h"
#include "common/kc_log.h"
#include "common/kc_names.h"

#define WHY_LEN 256

struct kb_log_creation {
    kb_worker_job_t job;
    kb_logmgr_t *m;
    kb_logdir_t *dir;          /* placed at submission */
    int32_t partition;
    kb_log_config_t cfg;
    kb_log_created_fn done;    /* NULL once abandoned */
    bool delete_when_made;     /* cancelled: its partition was deleted meanwhile */
    void *arg;
    kb_log_t *log;             /* built by the thread */
    bool dir_existed;          /* left to the completion */
    char why[WHY_LEN];
    char topic[];
};

static const kb_log_saved_t nothing_saved = {-1, -1, -1};

/* On the creation thread. */
static void create_run(void *arg) {
    kb_log_creation_t *c = arg;
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s-%" PRId32, c->dir->path, c->topic, c->partition) >=
        sizeof(path)) {
        snprintf(c->why, sizeof(c->why), "path too long in %s", c->dir->path);
        return;
    }
    if (mkdir(path, 0755) != 0) {
        if (errno == EEXIST) c->dir_existed = true;
        else snprintf(c->why, sizeof(c->why), "cannot create its dir in %s: %s", c->dir->path, strerror(errno));
        return;
    }
    c->log = kb_log_load(c->m, c->dir, c->topic, c->partition, &c->cfg, true, &nothing_saved, c->why,
                         sizeof(c->why));
    if (!c->log) rmdir(path); /* the failed segment removed its files */
}

/* The log the completion hands out: built, loaded now, or NULL. */
static kb_log_t *finish(kb_log_creation_t *c, bool cancelled) {
    kb_log_t *log = c->log;

    if (cancelled) {
        snprintf(c->why, sizeof(c->why), "the log manager is closing");
        return NULL;
    }
    if (c->dir_existed)
        log = kb_log_load(c->m, c->dir, c->topic, c->partition, &c->cfg, true, &nothing_saved, c->why,
                          sizeof(c->why));
    if (log && kb_logmgr_publish(c->m, log) != 0) {
        kb_log_free(log);
        snprintf(c->why, sizeof(c->why), "out of memory");
        log = NULL;
    }
    return log;
}

/* On the loop. */
static void create_done(void *arg, bool cancelled) {
    kb_log_creation_t *c = arg;
    kb_log_t *log = finish(c, cancelled);

    kb_log_stats_t *stats = kb_logmgr_stats_mut(c->m);

    stats->log_creations_pending--;
    if (log && c->delete_when_made) {
        kc_info("log", "created log %s, whose partition was deleted meanwhile: deleting it", log->path);
        kb_logmgr_delete(c->m, c->topic, c->partition);
        log = NULL;
    } else if (log) {
        stats->logs_created++;
        kc_info("log", "created log %s", log->path);
    } else {
        if (!cancelled) stats->log_creation_failures++;
        c->dir->n_partitions--; /* placed, never published */
    }
    if (c->done) c->done(c->arg, log, c->why);
    free(c);
}

kb_log_creation_t *kb_logmgr_create_async(kb_logmgr_t *m, const char *topic, int32_t partition,
                                          const kb_log_config_t *lc, kb_log_created_fn done, void *arg) {
    char why[256];
    size_t n = strlen(topic) + 1;
    kb_log_creation_t *c;

    if (partition < 0 || !kc_topic_name_valid(topic, why, sizeof(why))) {
        errno = EINVAL;
        return NULL;
    }
    if (!kb_logmgr_has_room(m)) { /* counted before the job runs: a burst cannot overshoot */
        errno = EMFILE;
        return NULL;
    }
    if (!(c = calloc(1, sizeof(*c) + n))) return NULL;
    memcpy(c->topic, topic, n);
    c->m = m;
    c->partition = partition;
    c->cfg = *lc;
    c->done = done;
    c->arg = arg;
    c->job = (kb_worker_job_t){.run = create_run, .done = create_done, .arg = c};
    c->dir = kb_logmgr_place(m);
    if (!kb_logmgr_creator(m) || kb_worker_submit(kb_logmgr_creator(m), &c->job) != 0) {
        c->dir->n_partitions--;
        free(c);
        errno = ESHUTDOWN;
        return NULL;
    }
    kb_logmgr_stats_mut(m)->log_creations_pending++;
    return c;
}

void kb_logmgr_stop_creating(kb_logmgr_t *m) { kb_worker_cancel_queued(kb_logmgr_creator(m)); }

void kb_logmgr_create_abandon(kb_log_creation_t *c) {
    if (c) c->done = NULL;
}

void kb_logmgr_create_cancel(kb_log_creation_t *c) {
    if (!c) return;
    c->done = NULL;
    c->delete_when_made = true;
}
