/*
 * kc_log.h - the one small logger shared by kbroker and kbroker-admin.
 *
 * Every line carries a UTC timestamp, the level, the broker id (when known)
 * and the module that wrote it, so the interleaved logs of a 3-broker test
 * cluster stay readable.  Output goes to stderr.
 */
#ifndef KC_LOG_H
#define KC_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { KC_LOG_DEBUG = 0, KC_LOG_INFO, KC_LOG_WARN, KC_LOG_ERROR } kc_log_level_t;

/* prog names the process in each line; broker_id -1 leaves it out. */
void kc_log_init(const char *prog, int32_t broker_id, kc_log_level_t min_level);
void kc_log_set_broker_id(int32_t broker_id);
void kc_log(kc_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kc_vlog(kc_log_level_t level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * A rate limit for one kind of repeated line (a retry loop, a client library
 * that logs every reconnect attempt): at most one line per interval gets
 * through; the ones dropped in between are counted, and the caller reports
 * the count with the next line it logs.  Zero-initialise it.  Threads may
 * share one (a static limiter per kind of line): it is updated under a
 * lock.
 */
typedef struct kc_ratelimit {
    int64_t last_ms;     /* monotonic time a line last got through; 0 = never */
    uint64_t suppressed; /* lines dropped since then */
} kc_ratelimit_t;

/* True when a line may be logged now; *dropped then receives (and the
 * limiter forgets) the number of lines dropped since the last one. */
bool kc_ratelimit_allow(kc_ratelimit_t *rl, int interval_ms, uint64_t *dropped);

/*
 * A line a peer can make us write at will (one per connection it opens, a
 * bad frame, a refused Hello): logged at level when rl lets it through,
 * with " (N similar lines suppressed since the last one)" appended when
 * some were dropped; a dropped line goes out at DEBUG instead, so a debug
 * log still has every one.  rl NULL: no limit.  Returns whether the line
 * went out at level.
 */
bool kc_log_limited(kc_ratelimit_t *rl, int interval_ms, kc_log_level_t level, const char *module,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool kc_vlog_limited(kc_ratelimit_t *rl, int interval_ms, kc_log_level_t level, const char *module,
                     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#define kc_debug(mod, ...) kc_log(KC_LOG_DEBUG, mod, __VA_ARGS__)
#define kc_info(mod, ...) kc_log(KC_LOG_INFO, mod, __VA_ARGS__)
#define kc_warn(mod, ...) kc_log(KC_LOG_WARN, mod, __VA_ARGS__)
#define kc_error(mod, ...) kc_log(KC_LOG_ERROR, mod, __VA_ARGS__)

#endif
