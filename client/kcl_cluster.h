/*
 * kcl_cluster.h - the cluster as one command of the admin tool sees it:
 * the brokers a bootstrap server names, a connection to each opened when
 * first needed, the partitions and leaders of the topics it asks about,
 * and the coordinator of a group.  One deadline bounds everything the
 * command does, retries included.
 *
 * Requests go to a broker by id.  A broker whose connection failed gets a
 * new one on its next request; the failed request itself is not repeated
 * here, because only the caller knows whether repeating it is safe and
 * useful.  The only retries are those of Kafka's admin client for a
 * coordinator that is not ready yet (COORDINATOR_NOT_AVAILABLE,
 * COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR), with a backoff from
 * 100 ms doubling to 1 s, until the deadline.
 */
#ifndef KCL_CLUSTER_H
#define KCL_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/kcl_conn.h"
#include "client/kcl_error.h"
#include "proto/kp_buf.h"

/* The client_id of every request. */
#define KCL_CLIENT_ID "kbroker-admin"

typedef struct {
    int32_t id;
    char *host;
    int32_t port;
    kcl_conn_t *conn; /* opened on first use; NULL again after a failure */
} kcl_broker_t;

typedef struct {
    int timeout_ms;
    int64_t deadline_ms;
    int n_brokers;
    kcl_broker_t *brokers; /* in the order Metadata listed them */
    int32_t controller_id; /* as the bootstrap answer named it; -1 when none */
} kcl_cluster_t;

/* A topic as Metadata described it: leaders[p] is the leader of partition
 * p (-1 for none); a topic Metadata refused has its error code and no
 * partitions. */
typedef struct {
    char *name;
    int16_t error_code;
    int32_t n_partitions;
    int32_t *leaders;
} kcl_topic_t;

/* Starts the command's clock (timeout_ms) and learns the brokers from the
 * first bootstrap server ("host:port[,host:port...]", "[v6]:port" too,
 * kcl_bootstrap_valid() in kcl_groups.h) that answers Metadata.  When none does, the error
 * is the last server's.  Release with kcl_cluster_close() whatever the
 * result. */
int kcl_cluster_open(kcl_cluster_t *c, const char *bootstrap, int timeout_ms, kcl_error_t *err);
void kcl_cluster_close(kcl_cluster_t *c);

/* Sends one request to broker id (see kcl_conn_call). */
int kcl_cluster_call(kcl_cluster_t *c, int32_t id, int16_t api_key, int16_t version, int16_t flex_from,
                     const kp_writer_t *body, kcl_answer_t *answer, kcl_error_t *err);
/* The same to the first broker that answers, in Metadata's order; *id
 * (may be NULL) receives the broker that did. */
int kcl_cluster_call_any(kcl_cluster_t *c, int16_t api_key, int16_t version, int16_t flex_from,
                         const kp_writer_t *body, kcl_answer_t *answer, int32_t *id, kcl_error_t *err);

/* Fills err for an answer from broker id that did not decode. */
int kcl_cluster_undecodable(const kcl_cluster_t *c, int32_t id, int16_t api_key, kcl_error_t *err);

/* Metadata for the n named topics (never creating one): *topics receives n
 * entries in the same order.  Release with kcl_topics_free(). */
int kcl_cluster_topics(kcl_cluster_t *c, char *const *names, int n, kcl_topic_t **topics, kcl_error_t *err);
void kcl_topics_free(kcl_topic_t *topics, int n);

/* True for the errors that mean "the coordinator is not ready yet". */
bool kcl_coordinator_retriable(int16_t kafka_error);
/* Sleeps the next backoff step (*backoff_ms, 0 to start) unless the
 * deadline would pass first: 0 when slept, -1 when there is no time left
 * for another try. */
int kcl_cluster_backoff(kcl_cluster_t *c, int *backoff_ms);

/* The coordinator of group (FindCoordinator, retried while not ready):
 * *id is a broker of c->brokers (added if Metadata did not list it). */
int kcl_cluster_coordinator(kcl_cluster_t *c, const char *group, int32_t *id, kcl_error_t *err);

#endif
