/*
 * kc_topics.h - topic creation and partition state writes.
 *
 * Topic creation is shared by kbroker-admin, CreateTopics and auto-creation:
 * validate, then write /config/topics/T and then create /brokers/topics/T
 * (topic znode v2), exactly in Kafka's order, so the controller (watching
 * /brokers/topics) only ever sees topics whose config already exists.
 */
#ifndef KC_TOPICS_H
#define KC_TOPICS_H

#include "coord/kc_assign.h"
#include "coord/kc_model.h"
#include "coord/kc_zk.h"

/* A topic whose /brokers/topics/T create request would exceed
 * KC_ZK_MAX_REQUEST_BYTES is refused with 37 INVALID_PARTITIONS by
 * kc_topic_plan, which measures the encoded znode.  Every partition takes
 * at least 8 bytes of it ("0":[1], with its comma), so a count above this
 * can never fit and is refused before planning allocates per partition. */
#define KC_TOPIC_MAX_PARTITIONS (KC_ZK_MAX_REQUEST_BYTES / 8)

/* Length of kc_json_topic_encode(t), computed without encoding. */
size_t kc_topic_znode_size(const kc_topic_t *t);

/* Writes a one-line reason to why and code to *kafka_error, and returns
 * KC_INVALID: the refusal of kc_topic_plan's and kc_topic_grow's checks,
 * which `return kc_refuse(...)`. */
int kc_refuse(int16_t *kafka_error, int16_t code, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Checks a request to create topic `name`.  Either assignment is given
 * (explicit --replica-assignment: n_partitions lists, all the same length,
 * no duplicate broker within a list, every broker registered) or it is NULL
 * and partitions/rf are used with Kafka's assignment over live_brokers
 * (sorted ascending), rack-aware when racks (parallel to live_brokers) is
 * not NULL: then every broker has one (kc_assign_racks_used decides that
 * with the path's kc_rack_mode_t; the caller refuses a mixed set in its
 * own words).  On success fills *out (name and replica lists; the
 * caller clears it).  Returns KC_OK or KC_INVALID with a one-line reason in
 * why; *kafka_error receives the matching Kafka error code
 * (17 INVALID_TOPIC_EXCEPTION, 37 INVALID_PARTITIONS, also for a layout
 *  whose topic znode ZooKeeper would refuse as too large,
 *  38 INVALID_REPLICATION_FACTOR, 39 INVALID_REPLICA_ASSIGNMENT).
 */
int kc_topic_plan(const char *name, int32_t partitions, int32_t rf, const kc_topic_t *assignment,
                  const int32_t *live_brokers, const char *const *racks, int n_live, kc_topic_t *out,
                  int16_t *kafka_error, char *why, size_t whylen);

/* The checks below read the cluster through callbacks, so that
 * kbroker-admin (the ZooKeeper view) and the broker (its metadata cache)
 * run the same checks on their own picture.  name_at(i, arg) is the i-th
 * existing topic name, 0 <= i < n, in strcmp order; id_at(i, arg) the i-th
 * live broker id, in any order. */
typedef const char *(*kc_topic_name_at_fn)(int i, const void *arg);
typedef int32_t (*kc_broker_id_at_fn)(int i, const void *arg);

/* The n live broker ids in ascending order (the order Kafka's assignment
 * is computed over), in a malloc'd array the caller frees; NULL when out
 * of memory. */
int32_t *kc_topic_live_brokers(int n, kc_broker_id_at_fn id_at, const void *arg);

/* rack_of(id, arg): broker id's broker.rack, NULL when it has none or is
 * unknown. */
typedef const char *(*kc_broker_rack_fn)(int32_t id, const void *arg);

/* The racks Kafka's placement over brokers ids[0..n-1] uses in `mode`
 * (kc_assign_racks_used over rack_of's answers): 0 with *racks NULL
 * (rack-unaware) or an array parallel to ids, which the caller frees (the
 * strings stay rack_of's), and *mixed set when mode is KC_RACKS_ENFORCED
 * and only some brokers have a rack (the caller refuses, in its path's
 * words); -1 when out of memory. */
int kc_topic_placement_racks(const int32_t *ids, int n, kc_broker_rack_fn rack_of, const void *arg,
                             kc_rack_mode_t mode, const char ***racks, bool *mixed);

/* Checks that `name` is free among the n_topics existing topics: KC_EXISTS
 * with *kafka_error 36 TOPIC_ALREADY_EXISTS when the topic exists,
 * KC_INVALID with 17 INVALID_TOPIC_EXCEPTION when it collides with an
 * existing topic once '.' and '_' are equated (Kafka refuses such pairs),
 * else KC_OK.  A one-line reason goes to why.  O(log n) for a name without
 * '.' or '_', else one pass over the names. */
int kc_topic_check_new(const char *name, int n_topics, kc_topic_name_at_fn name_at, const void *arg,
                       int16_t *kafka_error, char *why, size_t whylen);

/* Writes /config/topics/T (creating it, or overwriting a leftover) and then
 * creates /brokers/topics/T from `topic`.  done gets KC_OK, KC_EXISTS when
 * the topic znode already exists, KC_MARKED (nothing written) while a
 * deletion of a topic of that name has not finished (its marker
 * /admin/delete_topics/T exists), or another KC_* code. */
void kc_topic_create(kc_session_t *s, const kc_topic_t *topic, const kc_config_entry_t *configs,
                     int n_configs, kc_done_fn done, void *arg);

/*
 * Controller write of a partition's first state: creates .../partitions,
 * .../partitions/P and .../partitions/P/state in one multi guarded by a check
 * of /controller_epoch at epoch_zk_version.  done gets KC_OK, KC_EXISTS,
 * KC_FENCED or another code.
 */
void kc_state_create(kc_session_t *s, const char *topic, int32_t partition,
                     const kc_partition_state_t *state, int32_t epoch_zk_version, kc_done_fn done,
                     void *arg);

/* Controller update of a state znode: setData conditional on state->zk_version,
 * in a multi guarded by the /controller_epoch check.  done gets KC_OK,
 * KC_BADVERSION, KC_FENCED or another code. */
void kc_state_update(kc_session_t *s, const char *topic, int32_t partition,
                     const kc_partition_state_t *state, int32_t epoch_zk_version, kc_done_fn done,
                     void *arg);

#endif
