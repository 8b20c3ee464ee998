/*
 * kb_ctl_requests.c - LeaderAndIsr, UpdateMetadata and StopReplica built
 * from the view (see kb_ctl_requests.h).
 *
 * Each builder sizes its pointer arrays from the batch (an upper bound) and
 * takes every struct from the arena, so building costs a handful of chunk
 * allocations however many partitions a request carries, and freeing it is
 * one arena reset.  Strings and the ISR / replica arrays are the view's own
 * (protobuf-c's pack only reads them); the casts from const below are for
 * the generated structs' non-const members.
 */
#include "broker/controller/kb_ctl_requests.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK_MIN (64 * 1024)
#define ALIGN 16

struct kb_ctl_chunk {
    kb_ctl_chunk_t *next;
    size_t size, used;
    _Alignas(ALIGN) unsigned char data[];
};

/* ---- arena ---- */

void *kb_ctl_arena_alloc(kb_ctl_arena_t *a, size_t size) {
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    kb_ctl_chunk_t *c = a->chunks;
    if (!c || c->size - c->used < size) {
        size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;
        c = malloc(sizeof(*c) + want);
        if (!c) return NULL;
        c->next = a->chunks;
        c->size = want;
        c->used = 0;
        a->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

void kb_ctl_arena_reset(kb_ctl_arena_t *a) {
    kb_ctl_chunk_t *keep = a->chunks;
    if (!keep) return;
    for (kb_ctl_chunk_t *c = keep->next, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    keep->next = NULL;
    keep->used = 0;
}

void kb_ctl_arena_clear(kb_ctl_arena_t *a) {
    kb_ctl_arena_reset(a);
    free(a->chunks);
    a->chunks = NULL;
}

/* ---- shared pieces ---- */

int32_t kb_ctl_security_protocol_id(const char *name) {
    static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    for (int32_t i = 0; name && i < 4; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return 0;
}

static char *str(const char *s) { return (char *)(s ? s : protobuf_c_empty_string); }

static bool deleting(const kb_ctl_source_t *src, const char *topic) {
    return src->deleting && src->deleting(topic, src->deleting_arg);
}

/* The partition a key names, if its topic and partition still exist and it
 * has a state; *topic receives the topic's name as the view holds it. */
static const kc_partition_t *key_partition(const kb_ctl_source_t *src, kb_ctl_key_t key, const char **topic) {
    const char *name = kb_ctl_names_get(src->names, kb_ctl_key_topic(key));
    const kc_topic_t *t = name ? kc_view_topic(src->view, name) : NULL;
    int32_t p = kb_ctl_key_partition(key);
    if (!t || p < 0 || p >= t->n_partitions || !t->partitions[p].has_state) return NULL;
    *topic = t->name;
    return &t->partitions[p];
}

/* The state fields both requests share. */
static Kbroker__Rpc__PartitionState *partition_state(kb_ctl_arena_t *a, const char *topic, int32_t p,
                                                     const kc_partition_t *part) {
    Kbroker__Rpc__PartitionState *ps = kb_ctl_arena_alloc(a, sizeof(*ps));
    if (!ps) return NULL;
    kbroker__rpc__partition_state__init(ps);
    ps->topic_name = str(topic);
    ps->partition_index = p;
    ps->controller_epoch = part->state.controller_epoch;
    ps->leader = part->state.leader;
    ps->leader_epoch = part->state.leader_epoch;
    ps->n_isr = (size_t)part->state.n_isr;
    ps->isr = part->state.isr;
    ps->zk_version = part->state.zk_version;
    ps->n_replicas = (size_t)part->n_replicas;
    ps->replicas = part->replicas;
    return ps;
}

/* ---- LeaderAndIsr ---- */

/* Adds leader to req's live leaders unless it is there already or not live;
 * the array has room for one per partition state.  Returns -1 when out of
 * memory. */
static int add_live_leader(const kb_ctl_source_t *src, Kbroker__Rpc__LeaderAndIsrRequest *req, int32_t leader,
                           kb_ctl_arena_t *a) {
    const kc_broker_info_t *b = leader >= 0 ? kc_view_broker(src->view, leader) : NULL;
    int32_t port = -1;
    const char *host = b ? kc_broker_rpc_endpoint(b, &port) : NULL;
    if (!host) return 0; /* not live, or unreachable: a follower could not fetch from it */
    for (size_t i = 0; i < req->n_live_leaders; i++)
        if (req->live_leaders[i]->broker_id == leader) return 0;
    Kbroker__Rpc__LiveLeader *l = kb_ctl_arena_alloc(a, sizeof(*l));
    if (!l) return -1;
    kbroker__rpc__live_leader__init(l);
    l->broker_id = leader;
    l->host_name = str(host);
    l->port = port;
    req->live_leaders[req->n_live_leaders++] = l;
    return 0;
}

static int lai_add(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, size_t i,
                   Kbroker__Rpc__LeaderAndIsrRequest *req, kb_ctl_arena_t *a) {
    const char *topic;
    const kc_partition_t *part = key_partition(src, b->keys[i], &topic);
    /* A reassignment since the key was queued may have moved the replica;
     * a deletion since then stops it instead (Kafka sends no LeaderAndIsr
     * for a topic queued for deletion). */
    if (!part || !kc_int32_contains(part->replicas, part->n_replicas, b->broker_id) || deleting(src, topic))
        return 0;
    Kbroker__Rpc__PartitionState *ps = partition_state(a, topic, kb_ctl_key_partition(b->keys[i]), part);
    if (!ps) return -1;
    ps->is_new = (b->flags[i] & KB_CTL_F_NEW) != 0;
    req->partition_states[req->n_partition_states++] = ps;
    return add_live_leader(src, req, part->state.leader, a);
}

int kb_ctl_build_leader_and_isr(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                                Kbroker__Rpc__LeaderAndIsrRequest **out) {
    Kbroker__Rpc__LeaderAndIsrRequest *req = kb_ctl_arena_alloc(a, sizeof(*req));
    size_t n = b->n ? b->n : 1;
    *out = NULL;
    if (!req) return -1;
    kbroker__rpc__leader_and_isr_request__init(req);
    req->controller_id = src->controller_id;
    req->controller_epoch = src->controller_epoch;
    req->broker_epoch = b->broker_epoch;
    req->partition_states = kb_ctl_arena_alloc(a, n * sizeof(*req->partition_states));
    req->live_leaders = kb_ctl_arena_alloc(a, n * sizeof(*req->live_leaders));
    if (!req->partition_states || !req->live_leaders) return -1;
    for (size_t i = 0; i < b->n; i++)
        if (lai_add(src, b, i, req, a) < 0) return -1;
    if (req->n_partition_states) *out = req;
    return 0;
}

/* ---- UpdateMetadata ---- */

static int um_add(const kb_ctl_source_t *src, kb_ctl_key_t key, Kbroker__Rpc__UpdateMetadataRequest *req,
                  kb_ctl_arena_t *a) {
    const char *topic;
    const kc_partition_t *part = key_partition(src, key, &topic);
    if (!part) return 0;
    Kbroker__Rpc__PartitionState *ps = partition_state(a, topic, kb_ctl_key_partition(key), part);
    if (!ps) return -1;
    if (deleting(src, topic)) ps->leader = KB_CTL_LEADER_DURING_DELETE;
    int n_offline = 0;
    for (int r = 0; r < part->n_replicas; r++) n_offline += !kc_view_broker_live(src->view, part->replicas[r]);
    if (n_offline) {
        ps->offline_replicas = kb_ctl_arena_alloc(a, (size_t)n_offline * sizeof(int32_t));
        if (!ps->offline_replicas) return -1;
        for (int r = 0; r < part->n_replicas; r++)
            if (!kc_view_broker_live(src->view, part->replicas[r]))
                ps->offline_replicas[ps->n_offline_replicas++] = part->replicas[r];
    }
    req->partition_states[req->n_partition_states++] = ps;
    return 0;
}

static Kbroker__Rpc__LiveBroker *live_broker(const kc_broker_info_t *info, kb_ctl_arena_t *a) {
    Kbroker__Rpc__LiveBroker *lb = kb_ctl_arena_alloc(a, sizeof(*lb));
    size_t n = info->n_endpoints > 0 ? (size_t)info->n_endpoints : 1;
    if (!lb) return NULL;
    kbroker__rpc__live_broker__init(lb);
    lb->id = info->id;
    lb->rack = str(info->rack);
    lb->endpoints = kb_ctl_arena_alloc(a, n * sizeof(*lb->endpoints));
    if (!lb->endpoints) return NULL;
    for (int i = 0; i < info->n_endpoints; i++) {
        const kc_endpoint_t *e = &info->endpoints[i];
        Kbroker__Rpc__Endpoint *ep = kb_ctl_arena_alloc(a, sizeof(*ep));
        if (!ep) return NULL;
        kbroker__rpc__endpoint__init(ep);
        ep->port = e->port;
        ep->host = str(e->host);
        ep->listener = str(e->listener);
        ep->security_protocol = kb_ctl_security_protocol_id(e->security_protocol);
        lb->endpoints[lb->n_endpoints++] = ep;
    }
    return lb;
}

int kb_ctl_build_update_metadata(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                                 Kbroker__Rpc__UpdateMetadataRequest **out) {
    Kbroker__Rpc__UpdateMetadataRequest *req = kb_ctl_arena_alloc(a, sizeof(*req));
    int n_brokers = kc_view_broker_count(src->view);
    *out = NULL;
    if (!req) return -1;
    kbroker__rpc__update_metadata_request__init(req);
    req->controller_id = src->controller_id;
    req->controller_epoch = src->controller_epoch;
    req->broker_epoch = b->broker_epoch;
    req->partition_states = kb_ctl_arena_alloc(a, (b->n ? b->n : 1) * sizeof(*req->partition_states));
    req->live_brokers = kb_ctl_arena_alloc(a, (size_t)(n_brokers > 0 ? n_brokers : 1) * sizeof(*req->live_brokers));
    if (!req->partition_states || !req->live_brokers) return -1;
    for (size_t i = 0; i < b->n; i++)
        if (um_add(src, b->keys[i], req, a) < 0) return -1;
    for (int i = 0; i < n_brokers; i++) {
        Kbroker__Rpc__LiveBroker *lb = live_broker(kc_view_broker_at(src->view, i), a);
        if (!lb) return -1;
        req->live_brokers[req->n_live_brokers++] = lb;
    }
    *out = req;
    return 0;
}

/* ---- StopReplica ---- */

/* The leader epoch a stop carries (kb_ctl_requests.h). */
static int32_t stop_epoch(const kb_ctl_source_t *src, const char *topic, int32_t p) {
    if (deleting(src, topic)) return KB_CTL_EPOCH_DURING_DELETE;
    const kc_topic_t *t = kc_view_topic(src->view, topic);
    if (!t || p < 0 || p >= t->n_partitions || !t->partitions[p].has_state) return KB_CTL_NO_EPOCH;
    return t->partitions[p].state.leader_epoch;
}

int kb_ctl_build_stop_replica(const kb_ctl_source_t *src, const kb_ctl_batch_t *b, kb_ctl_arena_t *a,
                              Kbroker__Rpc__StopReplicaRequest **out) {
    Kbroker__Rpc__StopReplicaRequest *req = kb_ctl_arena_alloc(a, sizeof(*req));
    *out = NULL;
    if (!req) return -1;
    kbroker__rpc__stop_replica_request__init(req);
    req->controller_id = src->controller_id;
    req->controller_epoch = src->controller_epoch;
    req->broker_epoch = b->broker_epoch;
    req->partitions = kb_ctl_arena_alloc(a, (b->n ? b->n : 1) * sizeof(*req->partitions));
    if (!req->partitions) return -1;
    for (size_t i = 0; i < b->n; i++) {
        const char *topic = kb_ctl_names_get(src->names, kb_ctl_key_topic(b->keys[i]));
        if (!topic) continue;
        Kbroker__Rpc__StopReplicaPartition *sp = kb_ctl_arena_alloc(a, sizeof(*sp));
        if (!sp) return -1;
        kbroker__rpc__stop_replica_partition__init(sp);
        sp->topic_name = str(topic);
        sp->partition_index = kb_ctl_key_partition(b->keys[i]);
        sp->leader_epoch = stop_epoch(src, topic, sp->partition_index);
        sp->delete_partition = (b->flags[i] & KB_CTL_F_DELETE) != 0;
        req->partitions[req->n_partitions++] = sp;
    }
    if (req->n_partitions) *out = req;
    return 0;
}
