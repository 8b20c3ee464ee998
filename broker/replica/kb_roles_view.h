/*
 * kb_roles_view.h - role updates built from the cluster view: the adapter
 * that stands in for the controller's LeaderAndIsr until it arrives, and
 * goes away then (see kb_roles_view.c).
 */
#ifndef KB_ROLES_VIEW_H
#define KB_ROLES_VIEW_H

#include "broker/replica/kb_partition.h"
#include "coord/kc_view.h"

/* Turns what the view stamped as changed since the previous call into one
 * kb_replicas_apply_roles batch (and topic settings changes); nothing
 * happens before the view has loaded completely.  `what` (KC_VIEW_* flags)
 * is only informative. */
void kb_replicas_on_view_change(kb_replicas_t *r, const kc_view_t *v, int what);

#endif
