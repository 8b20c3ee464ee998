/*
 * kc_topic_grow.h - adding partitions to an existing topic, shared by the
 * CreatePartitions API (on the controller) and kbroker-admin alter-topic.
 *
 * Both read the topic's assignment, the deletion marker, the pending
 * reassignments and the registered brokers from ZooKeeper, judge the
 * request in Kafka 2.6's order with Kafka's messages
 * (AdminManager.createPartitions, AdminZkClient.addPartitions), lay out the
 * new partitions with Kafka's rule (kc_assign_added_replicas) unless the
 * caller gave them, and rewrite /brokers/topics/T with the new partitions
 * appended, everything else in it kept.  The rewrite is conditional on the
 * version read (Kafka's is not): a concurrent change makes the whole round
 * run again on what is there now.  Existing partitions are never moved.
 * The controller, watching the topic znode, then gives the new partitions
 * their first states.
 */
#ifndef KC_TOPIC_GROW_H
#define KC_TOPIC_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/kc_model.h"
#include "coord/kc_topics.h"
#include "coord/kc_zk.h"

/* A rewrite that loses to a concurrent writer this many times in a row is
 * reported as KC_BADVERSION. */
#define KC_GROW_ATTEMPTS 5

/* The caller's own last judgement of the planned new partitions (added:
 * their replica lists, ids from the old count on), just before they are
 * written or, with validate_only, reported: false refuses the request
 * (KC_INVALID) with *kafka_error and why.  It runs again when a concurrent
 * change makes the round start over. */
typedef bool (*kc_grow_accept_fn)(const kc_topic_t *added, void *arg, int16_t *kafka_error, char *why,
                                  size_t whylen);

typedef struct kc_grow_request {
    const char *topic;
    int32_t count;                /* the requested total partition count */
    /* Replica lists of the new partitions, or NULL for Kafka's placement.
     * Normally one list per new partition; with lists_all, kafka-topics
     * --alter's form is accepted too: a list for every partition, existing
     * ones first, whose entries for existing partitions are ignored. */
    const kc_topic_t *assignment;
    bool lists_all;
    bool validate_only;           /* judge and plan, write nothing */
    /* A count that is not an increase is refused in AdminZkClient's words
     * (kafka-topics --zookeeper --alter, kbroker-admin alter-topic) rather
     * than the CreatePartitions API's (AdminManager). */
    bool zk_words;
    kc_grow_accept_fn accept;     /* NULL: none */
    void *accept_arg;
    /* The registered brokers' racks for Kafka's placement, looked up when
     * the round judges (NULL: rack-unaware).  As Kafka's addPartitions
     * (RackAwareMode.Enforced): rack-aware when every broker has one,
     * refused (-1 UNKNOWN_SERVER_ERROR, AdminZkClient's words) when only
     * some have.  A broker registered after the caller's picture of the
     * cluster was read counts as one without a rack (the next request
     * sees it). */
    kc_broker_rack_fn rack_of;
    const void *rack_arg;
} kc_grow_request_t;

/* What became of a request.  rc: KC_OK (written, or would be with
 * validate_only); KC_INVALID or KC_NONODE (no such topic) with the Kafka
 * error and Kafka's message in kafka_error and why; KC_BADVERSION when
 * concurrent changes won KC_GROW_ATTEMPTS times; another KC_* code for a
 * ZooKeeper failure (why says which step).  On KC_OK, old_count is the
 * count before and added the new partitions' replica lists (ids old_count
 * .. old_count + added.n_partitions - 1), valid during the callback. */
typedef struct kc_grow_result {
    int rc;
    int16_t kafka_error;
    char why[512];
    int32_t old_count;
    kc_topic_t added;
} kc_grow_result_t;

typedef void (*kc_grow_done_fn)(const kc_grow_result_t *r, void *arg);

/*
 * Judges growing `current` (the topic as its znode holds it, not being
 * deleted or reassigned) to `count` partitions over `brokers` (the
 * registered ids, ascending; racks parallel to them, or NULL for a
 * rack-unaware placement), with req's assignment when given, and fills
 * *added with the new partitions' replica lists (the caller clears it).
 * Returns KC_OK, KC_INVALID with *kafka_error (37 INVALID_PARTITIONS, also
 * for an internal topic, 38 INVALID_REPLICATION_FACTOR, 39
 * INVALID_REPLICA_ASSIGNMENT) and Kafka's message in why, or KC_ERR when out
 * of memory.  Pure: no ZooKeeper.
 */
int kc_topic_plan_growth(const kc_topic_t *current, const char *name, int32_t count, const kc_topic_t *assignment,
                         bool lists_all, const int32_t *brokers, const char *const *racks, int n_brokers,
                         kc_topic_t *added, int16_t *kafka_error, char *why, size_t whylen);

/* The whole round trip on session s; req and what it points at are copied.
 * done runs once, from the loop, or before this returns when nothing could
 * be sent (and from inside kc_session_free() for reads still in flight). */
void kc_topic_grow(kc_session_t *s, const kc_grow_request_t *req, kc_grow_done_fn done, void *arg);

#endif
