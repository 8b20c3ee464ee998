/*
 * kb_worker.h - a small pool of worker threads for the work an event loop
 * must not do itself (design.md "Threads"): decompression, whole-segment
 * scans, and the creation of partition logs.
 *
 * The owner of a libevent loop creates a worker with some threads, submits
 * jobs to it from that loop, and gets each job back on the loop: run() is
 * called on a worker thread, then done() on the loop (libevent's
 * event_active, as the log flusher does), in the order the jobs finished.
 * Jobs are started in submission order; with more than one thread they may
 * finish in any order.
 *
 * A job is memory of the submitter's (usually embedded in a larger struct
 * that arg points to): the worker links it into its lists and never
 * allocates or frees one.  From submission until done() is called the job
 * belongs to the worker; run() may touch only what the job owns (never
 * loop-side state), done() may do anything the loop may, including
 * submitting again.
 *
 * Lifetime: kb_worker_new() starts the threads; kb_worker_stop() is the end,
 * called on the loop's thread once the loop no longer runs.  It cancels the
 * jobs still queued, waits for the running ones, then calls done() for
 * every job not yet completed on the calling thread (cancelled true for
 * those that never ran), so every submitted job is completed exactly once
 * and nothing is leaked.  A submission from such a done() is refused.
 *
 * Needs libevent's pthread support (evthread_use_pthreads() before the
 * event_base is created).  Depends on nothing else in the tree.
 */
#ifndef KB_WORKER_H
#define KB_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

typedef struct kb_worker kb_worker_t;

typedef struct kb_worker_job {
    void (*run)(void *arg);                  /* on a worker thread */
    void (*done)(void *arg, bool cancelled); /* on the loop; cancelled: run() was never called */
    void *arg;
    struct kb_worker_job *next; /* the worker's link while it owns the job */
    bool cancelled;             /* set by the worker */
} kb_worker_job_t;

/* Starts n_threads threads (at least one) named `name` (at most 15
 * characters are kept) whose completions run on base.  nice (0 to 19) is
 * added to the threads' niceness: with a positive value, their work yields
 * the CPU to the loop's thread when both want it.  NULL when a thread or
 * the event cannot be created. */
kb_worker_t *kb_worker_new(struct event_base *base, int n_threads, const char *name, int nice);

/* Queues job (run, done and arg set by the caller).  Returns 0, or -1 when
 * the worker is stopping (job untouched, done will not be called). */
int kb_worker_submit(kb_worker_t *w, kb_worker_job_t *job);

/* Jobs submitted and not yet taken by a thread. */
size_t kb_worker_queued(kb_worker_t *w);

/* The beginning of the end, on the loop while it still runs: the queued
 * jobs are cancelled (their done() comes on the loop soon, cancelled
 * true), those running finish and complete as usual, and submissions are
 * refused from now on.  kb_worker_stop() is still needed to free w. */
void kb_worker_cancel_queued(kb_worker_t *w);
/* Cancels the queued jobs, joins the threads after their current job,
 * completes every outstanding job on the calling thread and frees w.
 * NULL is a no-op. */
void kb_worker_stop(kb_worker_t *w);

#endif
