/*
 * kb_api_internal.h - what the API handler files share with the dispatcher
 * in kb_api.c: the table row, the per-request context, the handler
 * prototypes, a request-scoped arena and the response-frame helpers.
 *
 * Adding an API takes three steps: write its codec in proto/, write a
 * handler `kb_api_status_t kb_api_<name>(kb_request_t *, kp_writer_t *)` in
 * a kb_api_<family>.c file and declare it below, and add its row to the
 * table in kb_api.c.  The dispatcher has already checked key and version,
 * decoded the request header and written the response header when the
 * handler runs; the handler decodes the body from req->body, decides, and
 * encodes the response body into w.
 *
 * Asynchronous completion (acks=all Produce, long-polling Fetch): a handler
 * that cannot answer before it returns moves the request to the heap with
 * kb_api_request_detach() and returns KB_API_PENDING.  It then owns the
 * detached request; the frame (body, client_id) stays valid because the
 * connection reads no further request until this one is finished.  Later it
 * frames its answer itself (kb_api_response_begin/kb_api_response_send, or
 * kb_conn_reply for a hand-built evbuffer; kb_conn_done when there is no
 * answer; kb_api_close on failure) and then calls kb_api_request_free().
 */
#ifndef KB_API_INTERNAL_H
#define KB_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/api/kb_api.h"
#include "broker/net/kb_net.h"
#include "common/kc_names.h"
#include "proto/kp_buf.h"
#include "proto/kp_header.h"

typedef struct kb_partition kb_partition_t;

/* Request-scoped memory: many small allocations, one release.  The
 * dispatcher releases it when the handler returns, unless the handler
 * detached the request (the arena then moves with it). */
typedef struct kb_arena_chunk kb_arena_chunk_t;
typedef struct {
    kb_arena_chunk_t *head;
} kb_arena_t;

/* Zeroed, suitably aligned memory for n bytes (n may be 0); NULL when out
 * of memory. */
void *kb_arena_alloc(kb_arena_t *a, size_t n);
/* n elements of size bytes each, checking the multiplication. */
void *kb_arena_calloc(kb_arena_t *a, size_t n, size_t size);
void kb_arena_free(kb_arena_t *a);

typedef struct kb_api kb_api_t;

/* One request being handled.  Every pointer is valid until the request is
 * finished: when the handler returns, or for a detached request when its
 * owner has replied (header.client_id and the body point into the frame). */
typedef struct {
    kb_conn_t *conn;
    const kb_api_ctx_t *ctx;    /* what the handler may use (given to kb_api_listen()) */
    const kb_api_t *api;        /* the table row of this request's key */
    kp_request_header_t header;
    bool flexible;              /* the request version uses KIP-482 encodings */
    kp_reader_t body;           /* positioned at the first byte of the body */
    kb_arena_t arena;
} kb_request_t;

/* What a handler tells the dispatcher. */
typedef enum {
    KB_API_REPLY = 0,      /* w holds the response body: frame it and send it */
    KB_API_DONE = 1,       /* the handler finished the request itself (replied with
                            * kb_conn_reply, kb_conn_done for no response, or closed) */
    KB_API_PENDING = 2,    /* the handler detached the request and will finish it later */
    KB_API_MALFORMED = -1, /* the body could not be decoded: log and close */
    KB_API_FAILED = -2,    /* out of memory or unencodable answer: log and close */
} kb_api_status_t;

typedef kb_api_status_t (*kb_api_handler_fn)(kb_request_t *req, kp_writer_t *w);

/* A row of the API table.  Advertised and handled ranges differ when a
 * client needs a version advertised that the broker refuses
 * (wire-protocol.md 2.1: Produce 0 for librdkafka's compression check). */
struct kb_api {
    int16_t api_key;
    const char *name;
    int16_t adv_min, adv_max;         /* what ApiVersions reports */
    int16_t handled_min, handled_max; /* what the dispatcher accepts */
    int16_t flex_from;                /* first flexible version, or KP_FLEX_NEVER */
    kb_api_handler_fn handler;
};

/* Handlers, one per table row. */
kb_api_status_t kb_api_apiversions(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_metadata(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_createtopics(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_createpartitions(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_deletetopics(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_deleterecords(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_initproducerid(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_describeconfigs(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_alterconfigs(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_produce(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_fetch(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_listoffsets(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_findcoordinator(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_joingroup(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_syncgroup(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_heartbeat(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_leavegroup(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_offsetcommit(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_offsetfetch(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_listgroups(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_describegroups(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_deletegroups(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_alterreassignments(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_listreassignments(kb_request_t *req, kp_writer_t *w);
kb_api_status_t kb_api_electleaders(kb_request_t *req, kp_writer_t *w);

/* Moves req to the heap, its arena included, for a handler that will finish
 * it after returning KB_API_PENDING (or KB_API_DONE when it finished the
 * heap copy before returning after all).  req keeps its fields but no
 * longer owns the arena, so the dispatcher's release of it is a no-op.
 * Returns the heap copy, or NULL when out of memory (req is unchanged). */
kb_request_t *kb_api_request_detach(kb_request_t *req);
/* Releases a detached request and its arena once it is finished. */
void kb_api_request_free(kb_request_t *req);

/* The hosted partition a data-path request (Produce, Fetch, ListOffsets)
 * names, or NULL with *error set: 3 UNKNOWN_TOPIC_OR_PARTITION when the
 * metadata cache knows no such topic-partition, 6 NOT_LEADER_OR_FOLLOWER when
 * it exists but is not hosted here, or is not led here and leader_only. */
kb_partition_t *kb_api_partition(const kb_request_t *req, kp_str_t topic, int32_t partition,
                                 bool leader_only, int16_t *error);

/* A requested topic name as a C string in buf; false when it cannot be a
 * topic name (too long, or an embedded NUL). */
bool kb_api_topic_cstr(kp_str_t name, char buf[KC_TOPIC_NAME_MAX + 1]);
/* Whether name is one of Kafka's internal topics (__consumer_offsets,
 * __transaction_state). */
bool kb_api_topic_is_internal(kp_str_t name);
/* Whether the metadata cache knows topic-partition. */
bool kb_api_partition_known(const kb_request_t *req, kp_str_t topic, int32_t partition);

/* One topic-partition named by a request, for kb_api_mark_repeated. */
typedef struct {
    kp_str_t topic;
    int32_t partition;
    int32_t index; /* the entry's position in the request, over all topics */
} kb_api_tp_t;
/* Which of the n entries of keys name a topic-partition that the request
 * names more than once: an array of n flags (by index) in arena a, or NULL
 * when out of memory.  With spare_first the first copy of each (lowest
 * index) is not flagged.  Sorts keys.  O(n log n): a hostile request of
 * many megabytes must not turn into a quadratic search on the loop. */
bool *kb_api_mark_repeated(kb_arena_t *a, kb_api_tp_t *keys, int32_t n, bool spare_first);

/* ------------------------------------------- topic operations (kb_api_topicops.c) */

typedef struct kb_admin_op kb_admin_op_t;

/* True while this broker is the active controller (ctx->is_controller). */
bool kb_api_is_controller(const kb_api_ctx_t *ctx);

/* What CreateTopics, CreatePartitions and DeleteTopics differ in once
 * their service started an operation (broker/admin/kb_admin_op.h). */
typedef struct {
    /* Encodes op's per-topic results as the response body of version. */
    int (*encode)(const kb_admin_op_t *op, int16_t version, kp_writer_t *w);
    /* The message of topics left unsettled when waiting is impossible
     * (NULL: null). */
    const char *give_up_why;
} kb_api_topicop_t;

/* The end of such a handler: with op NULL returns st; when every topic of
 * op is settled encodes the answer into w, else detaches req and parks op
 * with its service until its topics settle or timeout_ms passes
 * (KB_API_PENDING; the answer is then framed and sent from the service's
 * callback).  Takes over the hold of op.  Returns st, or KB_API_FAILED
 * when the answer cannot be encoded. */
kb_api_status_t kb_api_topicop_finish(kb_request_t *req, kp_writer_t *w, const kb_api_topicop_t *t,
                                      kb_admin_op_t *op, int32_t timeout_ms, kb_api_status_t st);

/* Starts a response frame for req in w: reserves the size and writes the
 * response header of the right version.  Returns the frame's offset in w,
 * to be given to kb_api_response_send(). */
size_t kb_api_response_begin(kp_writer_t *w, const kb_request_t *req);
/* Patches the frame size and hands the frame to the connection.  Returns 0,
 * or -1 when the writer failed or the frame could not be queued (the caller
 * then closes the connection). */
int kb_api_response_send(kb_conn_t *c, kp_writer_t *w, size_t frame_start);

/* Logs one warning with the connection context (peer, listener, API,
 * version, correlation id) followed by the reason, then closes the
 * connection. */
void kb_api_close(const kb_request_t *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
