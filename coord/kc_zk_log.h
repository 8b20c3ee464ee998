/*
 * kc_zk_log.h - the ZooKeeper C client's own log lines, through kc_log.
 *
 * Left alone, the client prints to stderr in a format of its own
 * ("2024-01-01 10:00:00,123:4242:ZOO_ERROR@handle_socket_error_msg@2185:
 * ...") and repeats a line on every reconnect attempt, about every 100 ms
 * while ZooKeeper is down.  Once installed, every such line goes through the
 * project's logger (module "zkclient", the client's level) and each call
 * site of the client logs at most once per KC_ZK_LOG_INTERVAL_MS; the lines
 * dropped in between are counted and the count is appended to the next line
 * from that site (or logged by kc_zk_log_flush).
 */
#ifndef KC_ZK_LOG_H
#define KC_ZK_LOG_H

#include <stddef.h>

#define KC_ZK_LOG_INTERVAL_MS 10000

/* Routes the client's library-wide log stream (lines logged without a
 * handle) through kc_log and sets the client's level to warnings and
 * errors.  Idempotent. */
void kc_zk_log_install(void);

/* The per-handle callback to pass to zookeeper_init2(). */
void kc_zk_log_callback(const char *message);

/* Logs, for every call site with dropped lines, how many were dropped
 * (a closing session calls it, so no count is lost at exit). */
void kc_zk_log_flush(void);

/* Splits one client line "TIME:PID:ZOO_LEVEL@function@line: text" into its
 * level (0 error .. 3 debug, -1 when the line is not in that format), its
 * call site ("function@line", in site) and the text (returned, pointing into
 * message).  Exposed for the unit tests. */
const char *kc_zk_log_parse(const char *message, int *level, char *site, size_t sitelen);

#endif
