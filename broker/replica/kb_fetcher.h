/*
 * kb_fetcher.h - the follower side of replication (zk-and-replication.md
 * 3.3, 3.7, 3.8): one fetcher per leader broker, each one RPC connection
 * (kb_rpc.h) carrying ReplicaFetch for every partition this broker follows
 * there, and OffsetForLeaderEpoch for those that must truncate first.
 *
 * A partition that becomes a follower (a new leader or leader epoch) joins
 * its leader's fetcher in the Truncating state: it asks the leader where
 * its latest leader epoch ends and truncates there, walking back epoch by
 * epoch until the logs agree (kb_log_truncation_point); a log with no epoch
 * truncates to its high watermark without asking.  Then it is Fetching: its
 * fetcher asks for everything from its log end offset, appends the bytes
 * unchanged (each batch's CRC checked, the first starting at the log end
 * offset), takes HW = min(leader HW, own LEO) and the leader's log start
 * when higher, and fetches again at once.  A partition error (fenced epoch,
 * not the leader yet) holds that partition back replica.fetch.backoff.ms; a
 * failed call holds the whole fetcher back as long.  OFFSET_OUT_OF_RANGE is
 * spec 3.8: a leader log shorter than ours truncates ours to it (only
 * possible after an unclean election), a leader log that starts past our
 * end restarts ours empty at its start.
 *
 * The leader's RPC endpoint and registration come from the resolver given
 * to kb_fetchers_new (main.c: the cluster view): a fetcher whose leader
 * re-registered (another epoch or address) is replaced by one dialling the
 * new registration.  The fetchers use one connection per leader, well below
 * the server's per-broker allowance (KB_RPC_MAX_PER_BROKER).
 */
#ifndef KB_FETCHER_H
#define KB_FETCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/rpc/kb_rpc.h"

struct event_base;
struct evdns_base;
typedef struct kb_replicas kb_replicas_t;
typedef struct kb_partition kb_partition_t;
typedef struct kb_fetchers kb_fetchers_t;

/* Where broker_id's RPC port is (host valid until the loop runs again) and
 * the czxid of its registration; false when it is not registered or has
 * no RPC endpoint (as far as the caller knows). */
typedef bool (*kb_leader_resolve_fn)(void *arg, int32_t broker_id, const char **host, int *port, int64_t *epoch);

typedef struct kb_fetchers_opts {
    struct evdns_base *dns;          /* NULL: hosts must be numeric */
    kb_leader_resolve_fn resolve;
    void *resolve_arg;
    kb_rpc_identity_t self;          /* this broker, as its Hello says (the epoch changes: set_identity) */
} kb_fetchers_opts_t;

/* NULL when out of memory.  The partitions of r follow through it once
 * kb_replicas_start_fetchers has installed it. */
kb_fetchers_t *kb_fetchers_new(kb_replicas_t *r, const kb_fetchers_opts_t *o);
/* Closes every connection; partitions stop following. */
void kb_fetchers_free(kb_fetchers_t *fs);
void kb_fetchers_set_identity(kb_fetchers_t *fs, kb_rpc_identity_t self);

/* p (hosted, with its log, not the leader) follows p->leader_id at
 * p->leader_epoch from now: it truncates first.  Without fetchers, or
 * without a leader, it stops following. */
void kb_fetcher_follow(kb_partition_t *p);
/* p no longer follows (it leads, lost its role, or has no leader). */
void kb_fetcher_unfollow(kb_partition_t *p);

#endif
