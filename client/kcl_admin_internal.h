/*
 * kcl_admin_internal.h - what the three files behind kcl_admin.h share:
 * the session (the cluster's connections, the controller, each broker's
 * API versions) and one call that picks the version, encodes, sends and
 * hands back the answer.  kcl_admin.c holds the session, Metadata and the
 * calls to the controller, kcl_admin_topics.c the topic changes,
 * kcl_admin_configs.c the configs, kcl_admin_reassign.c the partition
 * reassignments.
 */
#ifndef KCL_ADMIN_INTERNAL_H
#define KCL_ADMIN_INTERNAL_H

#include "client/kcl_admin.h"
#include "client/kcl_cluster.h"
#include "proto/kp_apiversions.h"
#include "proto/kp_buf.h"

/* One broker's ApiVersions answer. */
typedef struct {
    int32_t broker;
    int n;
    kp_apiversion_t *keys;
} kcl_versions_t;

struct kcl_admin {
    kcl_cluster_t cluster;
    int32_t controller; /* -1 until Metadata names one */
    int n_versions;
    kcl_versions_t *versions;
};

/* Encodes req as a request body of version. */
typedef int (*kcl_encode_fn)(kp_writer_t *w, int16_t version, const void *req);

/* What one call speaks: the API, the versions this client's codec
 * handles, and the API's first flexible version. */
typedef struct {
    int16_t key;
    int16_t min;
    int16_t max;
    int16_t flex_from;
} kcl_api_t;

/* Sends req to broker id at the highest version both sides handle
 * (*version receives it) and waits for the answer; release it with
 * kcl_answer_free().  KCL_EUNSUPPORTED when the broker lacks the API. */
int kcl_admin_call(kcl_admin_t *a, int32_t id, const kcl_api_t *api, kcl_encode_fn encode, const void *req,
                   kcl_answer_t *answer, int16_t *version, kcl_error_t *err);

/* Asks Metadata (no topic) again for the controller: KCL_OK with
 * a->controller set, or an error (no controller within the deadline). */
int kcl_admin_find_controller(kcl_admin_t *a, kcl_error_t *err);

/* What an outcome_fn returns when the answer says the broker asked is not
 * the controller (it moved): the request goes again to the new one. */
#define KCL_EAGAIN_CONTROLLER 1

/* Decodes the answer of broker id and reads its outcome: KCL_OK, a
 * refusal in err, or KCL_EAGAIN_CONTROLLER. */
typedef int (*kcl_outcome_fn)(kcl_admin_t *a, int32_t id, kcl_answer_t *ans, int16_t version, const void *req,
                              kcl_error_t *err);

/* Sends req to the controller (Metadata names it) and reads the outcome,
 * sending again after a backoff while the controller moves or cannot be
 * reached, until the deadline, as Kafka's admin client does. */
int kcl_admin_to_controller(kcl_admin_t *a, const kcl_api_t *api, kcl_encode_fn encode, const void *req,
                            kcl_outcome_fn outcome, kcl_error_t *err);

/* Fills err with the broker's refusal: its message when it sent one, else
 * Kafka's standard text for the code; KCL_EBROKER. */
int kcl_admin_refused(kcl_error_t *err, int16_t code, kp_str_t message);

/* A C string copy of a slice; NULL for null (and when out of memory). */
char *kcl_admin_strdup(kp_str_t s);

#endif
