/*
 * kbroker_admin.h - what the two halves of kbroker-admin share: the run's
 * options, the exit statuses, and the helpers that report errors and print
 * JSON.  kbroker_admin.c holds the command table, the ZooKeeper commands
 * and main(); kbroker_admin_groups.c the consumer-group commands, which
 * reach the brokers through libkclient (client/kcl_groups.h) and never see
 * the Kafka protocol themselves.
 */
#ifndef KBROKER_ADMIN_H
#define KBROKER_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "coord/kc_view.h"
#include "coord/kc_zk.h"

#define PROG "kbroker-admin"
#define DEFAULT_TIMEOUT_S 30

/* The man page copies this list (kbroker_admin.c's top comment explains
 * each status). */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_UNREACHABLE = 2,
    EXIT_TOPIC_EXISTS = 3,
    EXIT_INVALID_NAME = 4,
    EXIT_INVALID_LAYOUT = 5,
    EXIT_NO_TOPIC = 6,
    EXIT_ZK_ERROR = 7,
    EXIT_NO_GROUP = 8,
    EXIT_BROKER_ERROR = 9,
};

/* Everything one run of the tool holds. */
typedef struct admin {
    const char *zookeeper;
    const char *bootstrap; /* --bootstrap-server, for the group commands */
    int timeout_s;
    bool json;
    struct timespec deadline; /* --timeout counts from the first connect */
    struct event_base *base;
    kc_session_t *session;
    kc_view_t *view;
    int view_loaded;          /* set from the view's change callback */
} admin_t;

/* Prints "kbroker-admin: <message>" on stderr and returns status. */
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one-line complaint for getopt_long's '?' or ':' answer c; command is
 * the command's name, or NULL for the tool's own options. */
int option_error(const char *command, int c, char **argv);

/* A whole decimal integer within [min, max]. */
bool parse_int(const char *s, long min, long max, long *out);

/* Prints a JSON document compactly on one line and releases it. */
int print_json(json_t *doc);

/* The consumer-group commands (kbroker_admin_groups.c). */
int cmd_list_groups(admin_t *a, int argc, char **argv);
int cmd_describe_group(admin_t *a, int argc, char **argv);

/* Connects to ZooKeeper and waits (within --timeout) until the cluster
 * view has read everything once; an exit status. */
int admin_load_view(admin_t *a);
/* What is left of --timeout, in ms (0 when it is over). */
int admin_remaining_ms(const admin_t *a);
/* The exit status and message of a ZooKeeper wait that ran out while
 * `doing`. */
int admin_wait_failed(const admin_t *a, const char *doing);

/* elect-leaders (kbroker_admin_elect.c), through the brokers or ZooKeeper. */
int cmd_elect_leaders(admin_t *a, int argc, char **argv);

#endif
