/*
 * kb_flusher.c - the thread that fsyncs, so the event loop never waits for
 * a disk (design.md "Threads": flushing runs off the I/O loops).
 *
 * The loop submits jobs (fsync these segments of a log; write this
 * checkpoint file) to a FIFO guarded by a mutex and a condition variable.
 * The thread takes them one at a time, so jobs finish in submission order
 * and a log's recovery point only ever moves forward.  Finished jobs go to
 * a second list and a libevent event is made active from the thread; its
 * callback runs on the loop and completes them there (recovery point, fsync
 * counter, segment references, the submitter's callback).  This needs
 * libevent's pthread locking (evthread_use_pthreads() before the
 * event_base is created).
 *
 * The periodic log.flush.interval.ms check is a timer on the loop: it only
 * compares clocks and submits jobs, which is cheap; the fsyncs themselves
 * happen here.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/kb_log_internal.h"
#include "coord/kc_log.h"

/* Intervals past this are Kafka's "never" (Long.MaxValue by default). */
#define FLUSH_CHECK_NEVER_MS (100LL * 365 * 24 * 3600 * 1000)

struct kb_flusher {
    kb_logmgr_t *mgr;
    kb_log_stats_t *stats;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    kb_flush_job_t *queue_head, *queue_tail; /* under lock */
    kb_flush_job_t *done_head, *done_tail;   /* under lock */
    bool stopping;                           /* under lock */
    struct event *done_ev;
    struct event *check_ev;
};

static void list_push(kb_flush_job_t **head, kb_flush_job_t **tail, kb_flush_job_t *job) {
    job->next = NULL;
    if (*tail) (*tail)->next = job;
    else *head = job;
    *tail = job;
}

/* ------------------------------------------------------- flusher thread */

static void run_job(kb_flush_job_t *job) {
    if (job->path) {
        job->rc = kb_checkpoint_write_text(job->path, job->text, job->text_len);
        if (job->rc != 0) kc_error("log", "cannot write %s: %s", job->path, strerror(errno));
        return;
    }
    for (size_t i = 0; i < job->n_segs; i++) {
        if (kb_segment_sync(job->segs[i]) != 0) {
            kc_error("log", "fsync of %s.log failed: %s", job->segs[i]->path, strerror(errno));
            job->rc = -1;
            continue;
        }
        job->fsyncs++;
    }
}

static void *flusher_main(void *arg) {
    kb_flusher_t *f = arg;

    pthread_mutex_lock(&f->lock);
    for (;;) {
        kb_flush_job_t *job = f->queue_head;
        if (!job) {
            if (f->stopping) break;
            pthread_cond_wait(&f->wake, &f->lock);
            continue;
        }
        f->queue_head = job->next;
        if (!f->queue_head) f->queue_tail = NULL;
        pthread_mutex_unlock(&f->lock);
        run_job(job);
        pthread_mutex_lock(&f->lock);
        list_push(&f->done_head, &f->done_tail, job);
        if (f->done_ev) event_active(f->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---------------------------------------------------------- on the loop */

static void complete_job(kb_flusher_t *f, kb_flush_job_t *job) {
    if (job->log) kb_log_flush_finished(job->log, job->target, job->rc);
    f->stats->fsyncs += job->fsyncs;
    for (size_t i = 0; i < job->n_segs; i++) kb_segment_unref(job->segs[i]);
    if (job->done) job->done(job->arg, job->rc);
    free(job->path);
    free(job->text);
    free(job);
}

static void complete_all(kb_flusher_t *f) {
    kb_flush_job_t *job;

    pthread_mutex_lock(&f->lock);
    job = f->done_head;
    f->done_head = f->done_tail = NULL;
    pthread_mutex_unlock(&f->lock);
    while (job) {
        kb_flush_job_t *next = job->next;
        complete_job(f, job);
        job = next;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg) { complete_all(arg); }

static void on_check(evutil_socket_t fd, short what, void *arg) {
    kb_flusher_t *f = arg;
    kb_logmgr_flush_idle_logs(f->mgr);
}

void kb_flusher_submit(kb_flusher_t *f, kb_flush_job_t *job) {
    pthread_mutex_lock(&f->lock);
    list_push(&f->queue_head, &f->queue_tail, job);
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

static int start_check_timer(kb_flusher_t *f, struct event_base *base, int64_t check_ms) {
    struct timeval tv = {(time_t)(check_ms / 1000), (suseconds_t)(check_ms % 1000) * 1000};

    if (check_ms <= 0 || check_ms >= FLUSH_CHECK_NEVER_MS) return 0;
    f->check_ev = event_new(base, -1, EV_PERSIST, on_check, f);
    return f->check_ev ? event_add(f->check_ev, &tv) : -1;
}

kb_flusher_t *kb_flusher_start(struct event_base *base, kb_logmgr_t *m, kb_log_stats_t *stats, int64_t check_ms) {
    kb_flusher_t *f = calloc(1, sizeof(*f));

    if (!f) return NULL;
    f->mgr = m;
    f->stats = stats;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    f->done_ev = event_new(base, -1, 0, on_done, f);
    if (!f->done_ev || start_check_timer(f, base, check_ms) != 0 ||
        pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        if (f->done_ev) event_free(f->done_ev);
        if (f->check_ev) event_free(f->check_ev);
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
    }
    return f;
}

void kb_flusher_stop(kb_flusher_t *f) {
    if (!f) return;
    if (f->check_ev) event_free(f->check_ev);
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    /* The thread is gone: no one activates done_ev any more. */
    event_free(f->done_ev);
    f->done_ev = NULL;
    complete_all(f);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
