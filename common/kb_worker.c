/*
 * kb_worker.c - worker threads with completions on the owning loop (see
 * kb_worker.h).
 *
 * Two FIFO lists under one mutex: `queue` holds submitted jobs, `finished`
 * the jobs whose run() returned (or that were cancelled).  A thread takes
 * the head of the queue, runs it without the lock, appends it to finished
 * and activates done_ev; the event's callback on the loop swaps the whole
 * finished list out under the lock and calls the done() functions without
 * it, so a done() may submit again.  event_active() on an event that is
 * already active is a no-op, and the callback always drains everything, so
 * no completion is ever lost or reported twice.
 *
 * The threads block every signal: signals are the loop's business (libevent
 * turns them into events there).  They may run at a lower priority than
 * the loop (kb_worker_new's nice): work handed off the loop should not
 * take the CPU from it either.
 */
#include "common/kb_worker.h"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define THREAD_NAME_MAX 15 /* pthread_setname_np's limit, without the NUL */

struct kb_worker {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    kb_worker_job_t *queue_head, *queue_tail;       /* under lock */
    kb_worker_job_t *finished_head, *finished_tail; /* under lock */
    size_t queued;                                  /* under lock */
    bool stopping;                                  /* under lock */
    struct event *done_ev;                          /* NULL once the threads are gone */
    int n_threads;
    int nice;
    pthread_t *threads;
    char name[THREAD_NAME_MAX + 1];
};

static void list_push(kb_worker_job_t **head, kb_worker_job_t **tail, kb_worker_job_t *job) {
    job->next = NULL;
    if (*tail) (*tail)->next = job;
    else *head = job;
    *tail = job;
}

/* Appends the list first..last to another one. */
static void list_splice(kb_worker_job_t **head, kb_worker_job_t **tail, kb_worker_job_t *first,
                        kb_worker_job_t *last) {
    if (!first) return;
    if (*tail) (*tail)->next = first;
    else *head = first;
    *tail = last;
}

/* ----------------------------------------------------------- the threads */

static kb_worker_job_t *take_job(kb_worker_t *w) {
    kb_worker_job_t *job = w->queue_head;

    w->queue_head = job->next;
    if (!w->queue_head) w->queue_tail = NULL;
    w->queued--;
    return job;
}

static void *worker_main(void *arg) {
    kb_worker_t *w = arg;

    /* Linux applies a thread's own tid to it alone (not the process);
     * lowering one's priority needs no privilege, and failing to is
     * harmless. */
    if (w->nice > 0) (void)setpriority(PRIO_PROCESS, (id_t)gettid(), getpriority(PRIO_PROCESS, 0) + w->nice);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (!w->queue_head) {
            if (w->stopping) break;
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        kb_worker_job_t *job = take_job(w);
        pthread_mutex_unlock(&w->lock);
        job->run(job->arg);
        pthread_mutex_lock(&w->lock);
        list_push(&w->finished_head, &w->finished_tail, job);
        if (w->done_ev) event_active(w->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ----------------------------------------------------------- on the loop */

static void complete_finished(kb_worker_t *w) {
    kb_worker_job_t *job;

    pthread_mutex_lock(&w->lock);
    job = w->finished_head;
    w->finished_head = w->finished_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    while (job) {
        kb_worker_job_t *next = job->next;
        job->next = NULL;
        job->done(job->arg, job->cancelled);
        job = next;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg) { complete_finished(arg); }

int kb_worker_submit(kb_worker_t *w, kb_worker_job_t *job) {
    int rc = -1;

    pthread_mutex_lock(&w->lock);
    if (!w->stopping) {
        job->cancelled = false;
        list_push(&w->queue_head, &w->queue_tail, job);
        w->queued++;
        pthread_cond_signal(&w->wake);
        rc = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

size_t kb_worker_queued(kb_worker_t *w) {
    size_t n;

    pthread_mutex_lock(&w->lock);
    n = w->queued;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* ------------------------------------------------------------------ life */

/* Starts the threads with every signal blocked (they inherit the mask).
 * Returns how many started. */
static int start_threads(kb_worker_t *w) {
    sigset_t all, old;
    int n = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; n < w->n_threads; n++) {
        if (pthread_create(&w->threads[n], NULL, worker_main, w) != 0) break;
        pthread_setname_np(w->threads[n], w->name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n;
}

/* Stops and joins the first n threads. */
static void join_threads(kb_worker_t *w, int n) {
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < n; i++) pthread_join(w->threads[i], NULL);
}

static void worker_free(kb_worker_t *w) {
    if (w->done_ev) event_free(w->done_ev);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}

kb_worker_t *kb_worker_new(struct event_base *base, int n_threads, const char *name, int nice) {
    kb_worker_t *w = calloc(1, sizeof(*w));
    int started;

    if (!w) return NULL;
    w->n_threads = n_threads > 0 ? n_threads : 1;
    w->nice = nice;
    snprintf(w->name, sizeof(w->name), "%s", name ? name : "kb-worker");
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->threads = calloc((size_t)w->n_threads, sizeof(*w->threads));
    w->done_ev = event_new(base, -1, 0, on_done, w);
    if (!w->threads || !w->done_ev) {
        worker_free(w);
        return NULL;
    }
    started = start_threads(w);
    if (started < w->n_threads) {
        join_threads(w, started);
        worker_free(w);
        return NULL;
    }
    return w;
}

/* Moves every queued job to the finished list, marked cancelled, and
 * refuses further submissions. */
static void cancel_queued(kb_worker_t *w) {
    w->stopping = true;
    for (kb_worker_job_t *job = w->queue_head; job; job = job->next) job->cancelled = true;
    list_splice(&w->finished_head, &w->finished_tail, w->queue_head, w->queue_tail);
    w->queue_head = w->queue_tail = NULL;
    w->queued = 0;
}

void kb_worker_cancel_queued(kb_worker_t *w) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    cancel_queued(w);
    /* Idle threads leave once stopping is set and the queue is empty: wake
     * them, and have the loop complete what was cancelled. */
    pthread_cond_broadcast(&w->wake);
    if (w->finished_head && w->done_ev) event_active(w->done_ev, EV_READ, 0);
    pthread_mutex_unlock(&w->lock);
}

void kb_worker_stop(kb_worker_t *w) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    cancel_queued(w);
    pthread_mutex_unlock(&w->lock);
    join_threads(w, w->n_threads);
    /* The threads are gone: nobody activates done_ev any more, and the
     * remaining completions run here, in the order they finished. */
    event_free(w->done_ev);
    w->done_ev = NULL;
    complete_finished(w);
    worker_free(w);
}
