/*
 * kb_group_admin.c - what operators and admin clients read about groups:
 * ListGroups and DescribeGroups (group-protocol.md 2.8, 2.9, 4.9).
 *
 * Only groups of partitions owned here are listed; a partition still
 * loading makes ListGroups answer COORDINATOR_LOAD_IN_PROGRESS with the
 * groups it has.  A described group the coordinator does not know is not
 * an error: it is Dead with no members.  Member metadata and assignments
 * are shown only while the group is Stable, as Kafka shows them.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group/kb_group_internal.h"
#include "proto/kp_types.h"

int16_t kb_group_list(kb_coordinator_t *c, void (*fn)(void *arg, const kb_group_summary_t *g), void *arg) {
    int16_t err = KP_ERR_NONE;

    for (int32_t p = 0; p < c->n_parts; p++)
        if (c->parts[p].state == KB_OWN_LOADING) err = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    for (size_t i = 0; i < c->n_buckets; i++)
        for (const kb_group_t *g = c->buckets[i]; g; g = g->hnext) {
            if (!kb_coordinator_owns(c, g->partition)) continue;
            kb_group_summary_t s = {g->id, g->protocol_type ? g->protocol_type : "", kb_group_state_name(g->state)};
            fn(arg, &s);
        }
    return err;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

void kb_group_describe(kb_coordinator_t *c, kp_str_t group_id,
                       void (*fn)(void *arg, const kb_group_description_t *d), void *arg) {
    int32_t partition;
    kb_group_description_t d = {.error_code = kb_coordinator_check(c, group_id, true, &partition), .state = "",
                                .protocol_type = "", .protocol = ""};
    kb_group_description_member_t *members = NULL;
    const kb_group_t *g = d.error_code ? NULL : kb_coordinator_find(c, group_id);
    const kb_member_t *m;

    if (!d.error_code) d.state = g ? kb_group_state_name(g->state) : "Dead";
    if (g) {
        bool stable = g->state == KB_GROUP_STABLE;
        d.protocol_type = or_empty(g->protocol_type);
        d.protocol = stable ? or_empty(g->protocol) : "";
        members = calloc((size_t)g->n_members + 1, sizeof(*members));
        TAILQ_FOREACH(m, &g->members, link) {
            if (!members) break;
            kb_group_description_member_t *x = &members[d.n_members++];
            *x = (kb_group_description_member_t){m->member_id, m->instance_id, m->client_id, m->client_host,
                                                 {0, NULL}, {0, NULL}};
            for (int32_t i = 0; stable && g->protocol && i < m->n_protocols; i++)
                if (strcmp(m->protocols[i].name, g->protocol) == 0)
                    x->metadata = (kp_bytes_t){m->protocols[i].len, m->protocols[i].metadata};
            if (stable) x->assignment = (kp_bytes_t){m->assignment_len, m->assignment};
        }
        if (!members && g->n_members) d.error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    d.members = members;
    fn(arg, &d);
    free(members);
}
