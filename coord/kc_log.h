/*
 * kc_log.h - the one small logger shared by kbroker and kbroker-admin.
 *
 * Every line carries a UTC timestamp, the level, the broker id (when known)
 * and the module that wrote it, so the interleaved logs of a 3-broker test
 * cluster stay readable.  Output goes to stderr.
 */
#ifndef KC_LOG_H
#define KC_LOG_H

#include <stdint.h>

typedef enum { KC_LOG_DEBUG = 0, KC_LOG_INFO, KC_LOG_WARN, KC_LOG_ERROR } kc_log_level_t;

/* prog names the process in each line; broker_id -1 leaves it out. */
void kc_log_init(const char *prog, int32_t broker_id, kc_log_level_t min_level);
void kc_log_set_broker_id(int32_t broker_id);
void kc_log(kc_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define kc_debug(mod, ...) kc_log(KC_LOG_DEBUG, mod, __VA_ARGS__)
#define kc_info(mod, ...) kc_log(KC_LOG_INFO, mod, __VA_ARGS__)
#define kc_warn(mod, ...) kc_log(KC_LOG_WARN, mod, __VA_ARGS__)
#define kc_error(mod, ...) kc_log(KC_LOG_ERROR, mod, __VA_ARGS__)

#endif
