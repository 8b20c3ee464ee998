/*
 * kc_log.c - timestamped, leveled logging to stderr.
 *
 * One fprintf per line keeps lines whole even when several processes share
 * the terminal.  Repeated lines are thinned out by kc_ratelimit_t, which
 * counts what it drops so the next line can say so (kc_log_limited does
 * both for the lines a peer can cause).  The logger has no locking: kbroker logs only from its event
 * loop thread and helper threads format into a local buffer first.  A
 * limiter may be shared by threads (one per kind of line, whichever thread
 * hits it): its counters are updated under one lock.
 */
#include "common/kc_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static const char *log_prog = "kbroker";
static int32_t log_broker_id = -1;
static kc_log_level_t log_min_level = KC_LOG_INFO;

void kc_log_init(const char *prog, int32_t broker_id, kc_log_level_t min_level) {
    log_prog = prog;
    log_broker_id = broker_id;
    log_min_level = min_level;
}

void kc_log_set_broker_id(int32_t broker_id) { log_broker_id = broker_id; }

void kc_log(kc_log_level_t level, const char *module, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    kc_vlog(level, module, fmt, ap);
    va_end(ap);
}

void kc_vlog(kc_log_level_t level, const char *module, const char *fmt, va_list ap) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char msg[2048], stamp[32], who[48];
    struct timeval tv;
    struct tm tm;

    if (level < log_min_level) return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (log_broker_id >= 0)
        snprintf(who, sizeof(who), "%s[%d]", log_prog, (int)log_broker_id);
    else
        snprintf(who, sizeof(who), "%s", log_prog);
    fprintf(stderr, "%s.%03dZ %-5s %s %s: %s\n", stamp, (int)(tv.tv_usec / 1000), names[level], who,
            module, msg);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

bool kc_ratelimit_allow(kc_ratelimit_t *rl, int interval_ms, uint64_t *dropped) {
    int64_t now = monotonic_ms();
    bool allowed = false;

    pthread_mutex_lock(&ratelimit_lock);
    if (rl->last_ms != 0 && now - rl->last_ms < interval_ms) {
        rl->suppressed++;
    } else {
        rl->last_ms = now > 0 ? now : 1;
        *dropped = rl->suppressed;
        rl->suppressed = 0;
        allowed = true;
    }
    pthread_mutex_unlock(&ratelimit_lock);
    return allowed;
}

bool kc_vlog_limited(kc_ratelimit_t *rl, int interval_ms, kc_log_level_t level, const char *module,
                     const char *fmt, va_list ap) {
    char msg[1900];
    uint64_t dropped = 0;
    bool allowed = !rl || kc_ratelimit_allow(rl, interval_ms, &dropped);

    if (!allowed && log_min_level > KC_LOG_DEBUG) return false; /* the common case under a flood: no formatting */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!allowed)
        kc_log(KC_LOG_DEBUG, module, "%s", msg);
    else if (dropped)
        kc_log(level, module, "%s (%llu similar lines suppressed since the last one)", msg,
               (unsigned long long)dropped);
    else
        kc_log(level, module, "%s", msg);
    return allowed;
}

bool kc_log_limited(kc_ratelimit_t *rl, int interval_ms, kc_log_level_t level, const char *module,
                    const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    bool allowed = kc_vlog_limited(rl, interval_ms, level, module, fmt, ap);
    va_end(ap);
    return allowed;
}
