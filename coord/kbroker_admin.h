/*
 * kbroker_admin.h - what the parts of kbroker-admin share: the run's
 * options, the exit statuses, and the helpers that report errors and print
 * JSON.  kbroker_admin.c holds the command table, the ZooKeeper commands
 * and main(); kbroker_admin_alter.c alter-topic (adding partitions);
 * kbroker_admin_delete.c delete-topic; kbroker_admin_reassign.c partition
 * reassignment through /admin/reassign_partitions, and
 * kbroker_admin_reassign_api.c its cancellation and listing through the
 * brokers;
 * kbroker_admin_groups.c the consumer-group commands, which
 * reach the brokers through libkclient (client/kcl_groups.h) and never see
 * the Kafka protocol themselves; kbroker_admin_kafka_*.c the front ends
 * that take Kafka's own command lines (kafka-topics.sh, kafka-configs.sh)
 * and run them through the same ZooKeeper code or libkclient.
 */
#ifndef KBROKER_ADMIN_H
#define KBROKER_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "coord/kc_assign.h"
#include "coord/kc_model.h"
#include "coord/kc_reassign.h"
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
    EXIT_TOPIC_BUSY = 10,
};

/* Everything one run of the tool holds. */
typedef struct admin {
    const char *zookeeper;
    const char *bootstrap; /* --bootstrap-server, for the group commands */
    int timeout_s;
    bool json;
    /* Set by the Kafka front ends: a command they run on their behalf
     * prints nothing on success (the front end prints Kafka's line);
     * delete-topic, whose lines are Kafka's, prints them still. */
    bool quiet;
    struct timespec deadline; /* --timeout counts from the first connect */
    struct event_base *base;
    kc_session_t *session;
    kc_view_t *view;
    int view_loaded;          /* set from the view's change callback */
    int view_changed;         /* set on every change the view reports (a waiter clears it) */
} admin_t;

/* How fail() words a failure (admin_set_error_style, once, before any
 * work): kbroker-admin's own "kbroker-admin: <message>" on stderr, or as
 * the Kafka tool a front end stands in for prints it: kafka-topics.sh's
 * "Error while executing topic command : <message>" on stdout, or
 * kafka-configs.sh's "Error while executing config command with args
 * '<context>'" and the message on stderr (context: the arguments), or
 * "Error: <message>" on stdout (kafka-reassign-partitions.sh) or stderr
 * (kafka-leader-election.sh). */
typedef enum {
    ADMIN_ERRORS_OWN,
    ADMIN_ERRORS_KAFKA_TOPICS,
    ADMIN_ERRORS_KAFKA_CONFIGS,
    ADMIN_ERRORS_KAFKA_STDOUT,
    ADMIN_ERRORS_KAFKA_STDERR,
} admin_error_style_t;
void admin_set_error_style(admin_error_style_t style, const char *context);
/* The style set (a command that prints a Kafka tool's own lines asks). */
admin_error_style_t admin_error_style(void);

/* A command: argv[0] is its name, its options follow. */
typedef int (*command_fn)(admin_t *a, int argc, char **argv);

/* Prints a failure as the error style says and returns status. */
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one-line complaint for getopt_long's '?' or ':' answer c; command is
 * the command's name, or NULL for the tool's own options. */
int option_error(const char *command, int c, char **argv);

/* A whole decimal integer within [min, max]. */
bool parse_int(const char *s, long min, long max, long *out);

/* Prints a JSON document compactly on one line and releases it. */
int print_json(json_t *doc);
json_t *json_int_list(const int32_t *v, int n);

/* Kafka's --replica-assignment text ("0:1:2,1:2:0") into out, which the
 * caller clears; -1 when malformed (the checks of content are libkcoord's). */
int admin_parse_assignment(const char *text, kc_topic_t *out);

/* The racks a layout over the registered brokers ids[0..n-1] is made with
 * in `mode` (kc_assign_racks_used over the view): *racks NULL
 * (rack-unaware) or an array parallel to ids that the caller frees.
 * EXIT_INVALID_LAYOUT with Kafka's words when mode is KC_RACKS_ENFORCED
 * and only some brokers have broker.rack. */
int admin_placement_racks(const admin_t *a, const int32_t *ids, int n, kc_rack_mode_t mode, const char ***racks);
/* The broker.rack of registered broker id in the kc_view_t `view`, NULL
 * when it has none (kc_topics.h's kc_broker_rack_fn). */
const char *admin_view_broker_rack(int32_t id, const void *view);

/* alter-topic (kbroker_admin_alter.c). */
int cmd_alter_topic(admin_t *a, int argc, char **argv);

/* Asks the controller, with validate_only, whether the brokers can hold a
 * planned topic or the partitions planned for an existing one
 * (kbroker_admin_capacity.c): EXIT_OK, or EXIT_INVALID_LAYOUT with the
 * controller's refusal printed.  Loads the view.  Without a controller to
 * ask, or one that does not answer, EXIT_OK (the latter with a warning). */
int admin_check_capacity_create(admin_t *a, const kc_topic_t *plan);
int admin_check_capacity_grow(admin_t *a, const char *topic, int32_t count, const kc_topic_t *added);

/* --------------------------------------------------------------------
 * The ZooKeeper side the Kafka front ends share with the commands
 * (kbroker_admin.c).  Each returns an exit status, its failure printed.
 * -------------------------------------------------------------------- */

/* HOST:PORT[,HOST:PORT...][/chroot]. */
bool admin_zookeeper_valid(const char *connect);
/* Connects (once; later calls find the session) within --timeout. */
int admin_connect(admin_t *a);
/* Connects and waits until the cluster view (a->view) is loaded. */
int admin_load_view(admin_t *a);
/* "host:port,..." of the registered brokers' client endpoints (IPv6
 * hosts bracketed; malloc'd), or NULL when none has one. */
char *admin_registered_bootstrap(const kc_view_t *v);
/* Milliseconds left of --timeout. */
int admin_remaining_ms(const admin_t *a);
/* The status and message for a wait on ZooKeeper that ran out. */
int admin_wait_failed(const admin_t *a, const char *doing);
/* /config/<type>/<name>'s overrides (a missing znode is an empty set);
 * release with kc_config_entries_free(). */
int admin_read_configs(admin_t *a, const char *type, const char *name, kc_config_entry_t **entries, int *n);
/* Checks a topic's whole new override set and writes it with its change
 * notification, printing nothing on success. */
int admin_write_topic_configs(admin_t *a, const char *topic, const kc_config_entry_t *e, int n);
/* The length of the next item of a kafka-configs.sh list ("k=[a,b],k2=v"):
 * it ends at a comma outside square brackets, as Kafka's split on
 * ",(?=[^\]]*(?:\[|$))". */
size_t admin_list_item_len(const char *s);
/* Runs the kbroker-admin command argv[0] with its options in argv[1..]. */
int admin_command(admin_t *a, int argc, char **argv);

/* describe-topic (kbroker_admin_describe.c). */
int cmd_describe_topic(admin_t *a, int argc, char **argv);

/* reassign (kbroker_admin_reassign.c). */
int cmd_reassign(admin_t *a, int argc, char **argv);
/* A plan file's bytes (path "-": stdin), malloc'd; NULL when missing,
 * unreadable or over the plan size limit (kbroker_admin_reassign.c). */
char *reassign_read_file(const char *path, size_t *len);
/* One entry of Kafka's reassignment JSON, log_dirs "any" for each replica
 * (formatAsReassignmentJson); NULL when out of memory. */
json_t *reassign_entry_json(const char *topic, int32_t partition, const int32_t *replicas, int n_replicas);
/* kafka-reassign-partitions --generate over a.zookeeper's view
 * (kbroker_admin_reassign_generate.c); an exit status. */
int reassign_generate(admin_t *a, const char *topics_file, const char *broker_list, bool disable_rack_aware);
/* reassign --cancel (the n entries of a plan, sorted by topic, then
 * partition) and reassign --list, through the brokers at a->bootstrap
 * (kbroker_admin_reassign_api.c). */
int admin_reassign_cancel(admin_t *a, const kc_reassign_entry_t *e, int n);
int admin_reassign_list(admin_t *a);
/* The topic deletion command (kbroker_admin_delete.c). */
int cmd_delete_topic(admin_t *a, int argc, char **argv);

/* The consumer-group commands (kbroker_admin_groups.c). */
int cmd_list_groups(admin_t *a, int argc, char **argv);
int cmd_describe_group(admin_t *a, int argc, char **argv);

/* Kafka's own command lines, argv[0] being the tool's name
 * (kbroker_admin_kafka_topics.c, kbroker_admin_kafka_configs.c): the
 * options and output of kafka-topics.sh and kafka-configs.sh 2.6.  They
 * return Kafka's exit status, 0 or 1. */
int kafka_topics_main(admin_t *a, int argc, char **argv);
int kafka_configs_main(admin_t *a, int argc, char **argv);
/* kafka-reassign-partitions.sh (--zookeeper) and kafka-leader-election.sh
 * (--bootstrap-server) over the reassign and elect-leaders commands
 * (kbroker_admin_kafka_tools.c); Kafka's exit status, 0 or 1. */
int kafka_reassign_partitions_main(admin_t *a, int argc, char **argv);
int kafka_leader_election_main(admin_t *a, int argc, char **argv);

/* elect-leaders (kbroker_admin_elect.c), through the brokers or ZooKeeper. */
int cmd_elect_leaders(admin_t *a, int argc, char **argv);

#endif
