/*
 * kb_fd_budget.h - how many partition logs a broker may hold, from its
 * file descriptor limit: the one piece of arithmetic behind the start-up
 * check (the logs found in log.dirs must fit), the run-time check (a log is
 * created only while one more fits) and the request-time check of
 * CreateTopics, CreatePartitions and auto-creation (no broker may be given
 * more partition replicas than it can hold).
 *
 * A partition log keeps one descriptor open (its active segment; indexes
 * are mapped and their descriptors closed).  Everything else a broker
 * opens comes out of a reserve the logs may never eat into: a fixed part
 * for the broker's own needs (listeners, the ZooKeeper connection, RPC
 * peers, the metrics endpoint, stdio, a checkpoint or snapshot being
 * written, logs being created, old segments open for a read) plus one per
 * log dir (its .lock), and a tenth of the limit for client connections,
 * whose number nothing else bounds.  Running out of descriptors costs a
 * broker its ZooKeeper session, its listeners and its checkpoints, so the
 * reserve errs on the large side.
 *
 * max.broker.partitions (KIP-578's name and meaning: the partition replicas
 * one broker may host) caps the budget further; by default it does not.
 * Pure arithmetic except kb_fd_budget_read, which asks getrlimit.
 */
#ifndef KB_FD_BUDGET_H
#define KB_FD_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* Descriptors kept for the broker's own needs, besides one per log dir. */
#define KB_FDS_RESERVED 64
/* The share of the limit kept for client connections: 1 / this. */
#define KB_FDS_CONNECTION_SHARE 10
/* RLIMIT_NOFILE of RLIM_INFINITY, and a budget without a bound. */
#define KB_FD_UNLIMITED UINT64_MAX

typedef struct kb_fd_budget {
    uint64_t nofile;          /* the soft RLIMIT_NOFILE, or KB_FD_UNLIMITED */
    uint64_t reserve;         /* descriptors the logs may not use */
    uint64_t by_descriptors;  /* logs the descriptors allow: nofile - reserve, at least 0 */
    int64_t configured;       /* max.broker.partitions */
    uint64_t partitions;      /* the budget: the smaller of the two */
} kb_fd_budget_t;

/* Descriptors kept out of the logs' reach for a limit of nofile and n_dirs
 * log dirs (KB_FD_UNLIMITED: none needed). */
uint64_t kb_fd_reserve(uint64_t nofile, int n_dirs);

/* The budget for a limit of nofile, n_dirs log dirs and max.broker.partitions
 * max_partitions (<= 0 or INT32_MAX: no cap). */
void kb_fd_budget_init(kb_fd_budget_t *b, uint64_t nofile, int n_dirs, int64_t max_partitions);

/* The same with this process's soft RLIMIT_NOFILE (unreadable: unlimited). */
void kb_fd_budget_read(kb_fd_budget_t *b, int n_dirs, int64_t max_partitions);

/* Descriptors n partition logs need with this budget's reserve. */
uint64_t kb_fd_budget_need(const kb_fd_budget_t *b, uint64_t n);

/* One clause saying where the budget comes from, for messages that name
 * the limit and the fix: "max.broker.partitions is 1000" or "the file
 * descriptor limit (RLIMIT_NOFILE) is 256, less 90 kept for connections,
 * ZooKeeper and checkpoints".  Returns buf. */
const char *kb_fd_budget_explain(const kb_fd_budget_t *b, char *buf, size_t n);

/* The budget itself and which bound sets it, for the start-up line: "the
 * partition budget is 1000 logs, set by max.broker.partitions (the
 * descriptors allow 17935)", "the partition budget is 166 logs, set by the
 * file descriptor limit (max.broker.partitions, 2147483647, is no lower)",
 * or that there is none.  Returns buf. */
const char *kb_fd_budget_describe(const kb_fd_budget_t *b, char *buf, size_t n);

/* What to do about it, matching kb_fd_budget_explain: raise the limit
 * (LimitNOFILE=, ulimit -n) or max.broker.partitions on every broker. */
const char *kb_fd_budget_fix(const kb_fd_budget_t *b);

#endif
