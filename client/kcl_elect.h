/*
 * kcl_elect.h - leader elections asked of the controller, as Kafka's
 * kafka-leader-election.sh asks for them (ElectLeaders through the admin
 * client): plain C structs for kbroker-admin (coord/), like kcl_groups.h.
 */
#ifndef KCL_ELECT_H
#define KCL_ELECT_H

#include <stdint.h>

#include "client/kcl_error.h"
#include "client/kcl_groups.h"

/* election_type */
#define KCL_ELECTION_PREFERRED 0
#define KCL_ELECTION_UNCLEAN 1

/* One partition's outcome: error 0 (elected), or the controller's Kafka
 * error code and its message (NULL when it sent none). */
typedef struct {
    char *topic;
    int32_t partition;
    int16_t error;
    char *message;
} kcl_election_result_t;

/*
 * ElectLeaders (v2) to the controller the cluster's metadata names, for
 * the n partitions of tps (partition -1: every partition of that topic,
 * as Metadata lists them; a topic it does not list fails the call, with
 * KCL_EBROKER and kafka_error 3 when it does not exist), or for every
 * partition when tps is NULL (the controller then leaves out those that
 * needed no election).  The
 * controller waits for its writes up to the command's timeout.  When the
 * answer says the broker asked is not the controller (it moved), the
 * metadata is read again and the request sent again, until the timeout.
 * *out (sorted by topic, then partition) is the caller's: free it with
 * kcl_election_results_free whatever the result.  Returns 0 or a
 * kcl_status_t with err filled (KCL_EBROKER for a top-level error code).
 */
int kcl_elect_leaders(const kcl_options_t *o, int election_type, const kcl_topic_partition_t *tps, int n,
                      kcl_election_result_t **out, int *n_out, kcl_error_t *err);
void kcl_election_results_free(kcl_election_result_t *r, int n);

#endif
