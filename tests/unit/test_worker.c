/*
 * test_worker.c - common/kb_worker: jobs run on worker threads and come back
 * on the loop, in order with one thread; stop cancels what is queued,
 * waits for what runs, and completes every job exactly once.
 */
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/kb_worker.h"
#include "tests/unit/unit.h"

#define N_JOBS 64
#define WAIT_BOUND_S 30

typedef struct job {
    kb_worker_job_t wj;
    kb_worker_t *w;
    pthread_t run_thread;
    int run_nice; /* the niceness run() saw */
    int ran, completed, cancelled;
    int order;       /* completion rank, from the shared counter */
    bool hold;       /* run() waits until armed and the worker's queue is empty */
    int resubmit;    /* done() submits again this many times, keeping the result */
    int resubmit_rc;
} job_t;

static struct event_base *base;
static int completions;
static pthread_t loop_thread;
static atomic_bool held_started, held_armed;

static void job_run(void *arg) {
    job_t *j = arg;
    j->run_thread = pthread_self();
    j->run_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    j->ran++;
    if (!j->hold) return;
    /* A held job waits, with a bound, until the test has queued jobs behind
     * it and stop has cancelled them (with one thread nobody else empties
     * the queue). */
    atomic_store(&held_started, true);
    for (int i = 0; !(atomic_load(&held_armed) && kb_worker_queued(j->w) == 0) && i < WAIT_BOUND_S * 1000; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
}

static void job_done(void *arg, bool cancelled) {
    job_t *j = arg;
    ck_assert(pthread_equal(pthread_self(), loop_thread));
    j->completed++;
    j->cancelled += cancelled;
    j->order = completions++;
    if (j->resubmit > 0) {
        j->resubmit--;
        j->resubmit_rc = kb_worker_submit(j->w, &j->wj);
    }
}

static void job_init(job_t *j, kb_worker_t *w) {
    *j = (job_t){.w = w};
    j->wj = (kb_worker_job_t){.run = job_run, .done = job_done, .arg = j};
}

/* Runs the loop until `want` completions have been seen, with a bound. */
static void loop_until(int want) {
    struct timeval tick = {0, 10000};
    for (int i = 0; completions < want && i < WAIT_BOUND_S * 100; i++) {
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
    }
    ck_assert_int_eq(completions, want);
}

static void setup(void) {
    ck_assert_int_eq(evthread_use_pthreads(), 0);
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    completions = 0;
    loop_thread = pthread_self();
    atomic_store(&held_started, false);
    atomic_store(&held_armed, false);
}

static void teardown(void) { event_base_free(base); }

START_TEST(jobs_run_off_the_loop_and_complete_on_it_in_order) {
    static job_t jobs[N_JOBS];
    kb_worker_t *w = kb_worker_new(base, 1, "kb-test", 0);

    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < N_JOBS; i++) {
        job_init(&jobs[i], w);
        ck_assert_int_eq(kb_worker_submit(w, &jobs[i].wj), 0);
    }
    loop_until(N_JOBS);
    for (int i = 0; i < N_JOBS; i++) {
        ck_assert_int_eq(jobs[i].ran, 1);
        ck_assert_int_eq(jobs[i].completed, 1);
        ck_assert_int_eq(jobs[i].cancelled, 0);
        ck_assert_int_eq(jobs[i].order, i); /* one thread: finished as submitted */
        ck_assert(!pthread_equal(jobs[i].run_thread, loop_thread));
    }
    kb_worker_stop(w);
    ck_assert_int_eq(completions, N_JOBS);
}
END_TEST

START_TEST(several_threads_complete_every_job_once) {
    static job_t jobs[N_JOBS];
    kb_worker_t *w = kb_worker_new(base, 4, "kb-test", 0);

    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < N_JOBS; i++) {
        job_init(&jobs[i], w);
        ck_assert_int_eq(kb_worker_submit(w, &jobs[i].wj), 0);
    }
    loop_until(N_JOBS);
    for (int i = 0; i < N_JOBS; i++) ck_assert_int_eq(jobs[i].ran + jobs[i].completed, 2);
    kb_worker_stop(w);
}
END_TEST

/* A done() may submit the same job again: the loop side of a multi-step
 * search (ListOffsets goes segment by segment). */
START_TEST(a_completion_may_submit_again) {
    job_t j;
    kb_worker_t *w = kb_worker_new(base, 2, "kb-test", 0);

    job_init(&j, w);
    j.resubmit = 3;
    ck_assert_int_eq(kb_worker_submit(w, &j.wj), 0);
    loop_until(4);
    ck_assert_int_eq(j.resubmit_rc, 0);
    ck_assert_int_eq(j.ran, 4);
    kb_worker_stop(w);
    ck_assert_int_eq(completions, 4);
}
END_TEST

/* Stop with one job running and more queued: the running one finishes and
 * completes normally, the queued ones complete as cancelled without
 * running, all on the calling thread, and a resubmission from a cancelled
 * completion is refused. */
START_TEST(stop_cancels_the_queue_and_waits_for_the_running_job) {
    static job_t jobs[8];
    kb_worker_t *w = kb_worker_new(base, 1, "kb-test", 0);

    for (int i = 0; i < 8; i++) job_init(&jobs[i], w);
    jobs[0].hold = true;
    jobs[7].resubmit = 1;
    ck_assert_int_eq(kb_worker_submit(w, &jobs[0].wj), 0);
    for (int i = 0; !atomic_load(&held_started) && i < WAIT_BOUND_S * 1000; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    ck_assert(atomic_load(&held_started));
    for (int i = 1; i < 8; i++) ck_assert_int_eq(kb_worker_submit(w, &jobs[i].wj), 0);
    ck_assert_uint_eq(kb_worker_queued(w), 7);
    atomic_store(&held_armed, true);
    kb_worker_stop(w);
    ck_assert_int_eq(completions, 8);
    ck_assert_int_eq(jobs[0].ran, 1);
    ck_assert_int_eq(jobs[0].cancelled, 0);
    for (int i = 1; i < 8; i++) {
        ck_assert_int_eq(jobs[i].ran, 0);
        ck_assert_int_eq(jobs[i].completed, 1);
        ck_assert_int_eq(jobs[i].cancelled, 1);
    }
    ck_assert_int_eq(jobs[7].resubmit_rc, -1);
}
END_TEST

/* Cancelling while the loop runs (a broker told to stop): the queued jobs
 * complete on the loop as cancelled without running, the running one
 * completes normally, and nothing new is taken; stop then has nothing
 * left to complete. */
START_TEST(cancel_queued_completes_the_queue_on_the_loop) {
    static job_t jobs[8];
    job_t late;
    kb_worker_t *w = kb_worker_new(base, 1, "kb-test", 0);

    for (int i = 0; i < 8; i++) job_init(&jobs[i], w);
    job_init(&late, w);
    jobs[0].hold = true;
    ck_assert_int_eq(kb_worker_submit(w, &jobs[0].wj), 0);
    for (int i = 0; !atomic_load(&held_started) && i < WAIT_BOUND_S * 1000; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    ck_assert(atomic_load(&held_started));
    for (int i = 1; i < 8; i++) ck_assert_int_eq(kb_worker_submit(w, &jobs[i].wj), 0);
    kb_worker_cancel_queued(w);
    ck_assert_uint_eq(kb_worker_queued(w), 0);
    ck_assert_int_eq(kb_worker_submit(w, &late.wj), -1);
    loop_until(7); /* the cancelled ones, while the held job still runs */
    for (int i = 1; i < 8; i++) {
        ck_assert_int_eq(jobs[i].ran, 0);
        ck_assert_int_eq(jobs[i].cancelled, 1);
    }
    ck_assert_int_eq(jobs[0].completed, 0);
    atomic_store(&held_armed, true);
    loop_until(8);
    ck_assert_int_eq(jobs[0].ran, 1);
    ck_assert_int_eq(jobs[0].cancelled, 0);
    kb_worker_stop(w);
    ck_assert_int_eq(completions, 8);
    ck_assert_int_eq(late.completed, 0);
}
END_TEST

/* Work handed off the loop runs at a lower priority than the loop. */
START_TEST(threads_run_at_the_niceness_asked_for) {
    job_t j;
    int loop_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    kb_worker_t *w = kb_worker_new(base, 1, "kb-test", 5);

    job_init(&j, w);
    ck_assert_int_eq(kb_worker_submit(w, &j.wj), 0);
    loop_until(1);
    ck_assert_int_eq(j.run_nice, loop_nice + 5 > 19 ? 19 : loop_nice + 5);
    ck_assert_int_eq(getpriority(PRIO_PROCESS, (id_t)gettid()), loop_nice);
    kb_worker_stop(w);
}
END_TEST

START_TEST(stop_of_an_idle_worker_and_of_null) {
    kb_worker_t *w = kb_worker_new(base, 3, "a-name-longer-than-fifteen", 0);

    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(kb_worker_queued(w), 0);
    kb_worker_stop(w);
    kb_worker_stop(NULL);
}
END_TEST

Suite *worker_suite(void) {
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("worker");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jobs_run_off_the_loop_and_complete_on_it_in_order);
    tcase_add_test(tc, several_threads_complete_every_job_once);
    tcase_add_test(tc, a_completion_may_submit_again);
    tcase_add_test(tc, stop_cancels_the_queue_and_waits_for_the_running_job);
    tcase_add_test(tc, cancel_queued_completes_the_queue_on_the_loop);
    tcase_add_test(tc, threads_run_at_the_niceness_asked_for);
    tcase_add_test(tc, stop_of_an_idle_worker_and_of_null);
    suite_add_tcase(s, tc);
    return s;
}
