/*
 * kb_fd_budget.c - the partition-log budget of a broker (kb_fd_budget.h).
 */
#include "common/kb_fd_budget.h"

#include <stdio.h>
#include <sys/resource.h>

uint64_t kb_fd_reserve(uint64_t nofile, int n_dirs) {
    if (nofile == KB_FD_UNLIMITED) return 0;
    return KB_FDS_RESERVED + (uint64_t)(n_dirs > 0 ? n_dirs : 0) + nofile / KB_FDS_CONNECTION_SHARE;
}

void kb_fd_budget_init(kb_fd_budget_t *b, uint64_t nofile, int n_dirs, int64_t max_partitions) {
    b->nofile = nofile;
    b->reserve = kb_fd_reserve(nofile, n_dirs);
    if (nofile == KB_FD_UNLIMITED) b->by_descriptors = KB_FD_UNLIMITED;
    else b->by_descriptors = nofile > b->reserve ? nofile - b->reserve : 0;
    b->configured = max_partitions > 0 ? max_partitions : -1;
    b->partitions = b->by_descriptors;
    if (b->configured > 0 && (uint64_t)b->configured < b->partitions) b->partitions = (uint64_t)b->configured;
}

void kb_fd_budget_read(kb_fd_budget_t *b, int n_dirs, int64_t max_partitions) {
    struct rlimit rl;
    uint64_t nofile = KB_FD_UNLIMITED;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) nofile = (uint64_t)rl.rlim_cur;
    kb_fd_budget_init(b, nofile, n_dirs, max_partitions);
}

uint64_t kb_fd_budget_need(const kb_fd_budget_t *b, uint64_t n) {
    return n > UINT64_MAX - b->reserve ? UINT64_MAX : n + b->reserve;
}

/* True when max.broker.partitions, not the descriptors, sets the budget. */
static int configured_binds(const kb_fd_budget_t *b) {
    return b->configured > 0 && (uint64_t)b->configured < b->by_descriptors;
}

const char *kb_fd_budget_explain(const kb_fd_budget_t *b, char *buf, size_t n) {
    if (configured_binds(b))
        snprintf(buf, n, "max.broker.partitions is %lld", (long long)b->configured);
    else if (b->nofile == KB_FD_UNLIMITED)
        snprintf(buf, n, "the file descriptor limit (RLIMIT_NOFILE) is unlimited");
    else
        snprintf(buf, n, "the file descriptor limit (RLIMIT_NOFILE) is %llu, less %llu kept for connections, "
                 "ZooKeeper and checkpoints", (unsigned long long)b->nofile, (unsigned long long)b->reserve);
    return buf;
}

const char *kb_fd_budget_describe(const kb_fd_budget_t *b, char *buf, size_t n) {
    char other[96];

    if (b->nofile == KB_FD_UNLIMITED && b->configured <= 0) {
        snprintf(buf, n, "there is no partition budget: RLIMIT_NOFILE is unlimited and max.broker.partitions is not "
                 "set");
        return buf;
    }
    if (configured_binds(b)) {
        if (b->nofile == KB_FD_UNLIMITED) snprintf(other, sizeof(other), "RLIMIT_NOFILE is unlimited");
        else snprintf(other, sizeof(other), "the descriptors allow %llu", (unsigned long long)b->by_descriptors);
        snprintf(buf, n, "the partition budget is %llu logs, set by max.broker.partitions (%s)",
                 (unsigned long long)b->partitions, other);
        return buf;
    }
    if (b->configured > 0) snprintf(other, sizeof(other), "max.broker.partitions, %lld, is no lower",
                                    (long long)b->configured);
    else snprintf(other, sizeof(other), "max.broker.partitions is not set");
    snprintf(buf, n, "the partition budget is %llu logs, set by the file descriptor limit (%s)",
             (unsigned long long)b->partitions, other);
    return buf;
}

const char *kb_fd_budget_fix(const kb_fd_budget_t *b) {
    if (configured_binds(b)) return "raise max.broker.partitions on every broker";
    return "raise the brokers' file descriptor limit (LimitNOFILE= in the systemd unit, ulimit -n)";
}
