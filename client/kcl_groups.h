/*
 * kcl_groups.h - the operator's view of consumer groups, as Kafka's
 * kafka-consumer-groups.sh shows it: every group of the cluster, and one
 * group described with its members, what each was assigned, and per
 * partition the committed offset, the log end and the lag.
 *
 * This is the whole interface kbroker-admin (coord/) sees of libkclient:
 * plain C structs of strings and numbers, no Kafka protocol, so that the
 * command-line tool can print a group without learning how it was asked
 * for (tests/unit/include_graph.sh holds coord/ to that).  Everything
 * returned is owned by the caller and released with the matching *_free /
 * *_clear function, whatever the result.
 */
#ifndef KCL_GROUPS_H
#define KCL_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kcl_error.h"

/* An offset, log end or lag that is not known: nothing committed, no
 * leader, or a leader that did not answer. */
#define KCL_OFFSET_UNKNOWN (-1)

typedef struct {
    const char *bootstrap; /* "host:port[,host:port...]" */
    int timeout_ms;        /* bounds the whole command, retries included */
} kcl_options_t;

typedef struct {
    char *group_id;
    char *protocol_type; /* "" for a group that only stores offsets */
    char *state;         /* with_state only (else NULL); NULL also when its coordinator would not say */
    int32_t coordinator; /* the broker that listed it */
} kcl_group_listing_t;

typedef struct {
    char *topic;
    int32_t partition;
} kcl_topic_partition_t;

typedef struct {
    char *member_id;
    char *group_instance_id; /* NULL for a dynamic member */
    char *client_id;
    char *client_host; /* as the coordinator saw it: "/" and the address */
    int n_assigned;
    kcl_topic_partition_t *assigned; /* sorted by topic, then partition */
} kcl_member_t;

/* One partition the group has a committed offset for or a member is
 * assigned. */
typedef struct {
    char *topic;
    int32_t partition;
    int64_t committed; /* KCL_OFFSET_UNKNOWN when nothing is committed */
    int64_t log_end;   /* the leader's latest offset (its high watermark), or KCL_OFFSET_UNKNOWN */
    int64_t lag;       /* log_end - committed, or KCL_OFFSET_UNKNOWN when either is unknown */
    int member;        /* index in members of the member assigned it, -1 for none */
} kcl_partition_row_t;

typedef struct {
    char *group_id;
    char *state;         /* "Stable", "Empty", "PreparingRebalance", "CompletingRebalance" */
    char *protocol_type; /* "consumer", or "" for a group that only stores offsets */
    char *protocol;      /* the assignor ("range"); "" unless Stable */
    int32_t coordinator_id;
    char *coordinator_host;
    int32_t coordinator_port;
    int n_members;
    kcl_member_t *members; /* in the coordinator's order */
    int n_rows;
    kcl_partition_row_t *rows; /* sorted by topic, then partition */
} kcl_group_description_t;

/* True when bootstrap is "host:port[,host:port...]" with ports 1..65535. */
bool kcl_bootstrap_valid(const char *bootstrap);

/* Every group of the cluster: ListGroups to each broker (a group is listed
 * by its coordinator only), retried on a broker still loading its groups;
 * with_state, each broker is also asked (DescribeGroups) the state of the
 * groups it listed.  *groups is sorted by group id.  Returns 0 or a
 * kcl_status_t with err filled; a broker that cannot be asked fails the
 * whole listing rather than leave its groups out silently. */
int kcl_list_groups(const kcl_options_t *o, bool with_state, kcl_group_listing_t **groups, int *n,
                    kcl_error_t *err);
void kcl_group_listings_free(kcl_group_listing_t *groups, int n);

/* Describes group: its coordinator (FindCoordinator), its state and
 * members (DescribeGroups, each member's assignment decoded as the
 * consumer protocol when the protocol type is "consumer"), its committed
 * offsets (OffsetFetch for every partition) and the log end of each of
 * those partitions and of every assigned one (ListOffsets to each leader).
 * A group the coordinator does not know is KCL_ENOGROUP.  Coordinator
 * errors that mean "not ready yet" are retried until the deadline.
 * Release out with kcl_group_description_clear() whatever the result. */
int kcl_describe_group(const kcl_options_t *o, const char *group, kcl_group_description_t *out, kcl_error_t *err);
void kcl_group_description_clear(kcl_group_description_t *d);

#endif
