/*
 * kcl_group_offsets.h - the two offsets a group's lag is made of: what the
 * group committed (OffsetFetch to its coordinator) and where each
 * partition's log ends (ListOffsets to each partition's leader).
 * Internal to libkclient; kcl_describe_group() puts them together.
 */
#ifndef KCL_GROUP_OFFSETS_H
#define KCL_GROUP_OFFSETS_H

#include <stdint.h>

#include "client/kcl_cluster.h"
#include "client/kcl_error.h"
#include "client/kcl_groups.h"

typedef struct {
    char *topic;
    int32_t partition;
    int64_t offset;
} kcl_committed_t;

/* Every offset group has committed (OffsetFetch with a null topic array),
 * asked of its coordinator.  KCL_OK with *kafka_error set to the answer's
 * group-level error; on NONE, *committed holds the partitions that have an
 * offset (a partition answered with an error, or with -1, is left out).
 * Release with kcl_committed_free(). */
int kcl_fetch_committed(kcl_cluster_t *c, int32_t coordinator, const char *group, kcl_committed_t **committed,
                        int *n, int16_t *kafka_error, kcl_error_t *err);
void kcl_committed_free(kcl_committed_t *committed, int n);

/* Fills rows[i].log_end with the latest offset of each row's partition
 * (ListOffsets, one request per leader), KCL_OFFSET_UNKNOWN for a topic
 * Metadata does not know, a partition without a leader, or a partition its
 * leader answered with an error.  A leader that cannot be reached fails
 * the call. */
int kcl_fetch_log_ends(kcl_cluster_t *c, kcl_partition_row_t *rows, int n, kcl_error_t *err);

#endif
