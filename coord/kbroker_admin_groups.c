/*
 * kbroker_admin_groups.c - kbroker-admin's consumer-group commands,
 * list-groups and describe-group: what kafka-consumer-groups.sh --list and
 * --describe show, for a kbroker (or Kafka) cluster.
 *
 * Groups live in the brokers (their coordinators and __consumer_offsets),
 * not in ZooKeeper, so these commands ask the brokers, through libkclient.
 * What comes back are plain structs (client/kcl_groups.h); this file only
 * turns them into text tables laid out like Kafka's, or one JSON document,
 * and failures into the tool's exit statuses.  The Kafka protocol itself
 * stays out of coord/.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kcl_error.h"
#include "client/kcl_groups.h"
#include "coord/kbroker_admin.h"

/* What a group command was asked for. */
typedef struct group_args {
    const char *group; /* describe-group */
    bool state;        /* list-groups --state */
    int timeout_ms;
} group_args_t;

/* ------------------------------------------------------------ arguments */

/* --timeout-ms counts for the whole command; without it the global
 * --timeout (seconds) does. */
static int parse_group_options(admin_t *a, const char *command, group_args_t *g, int argc, char **argv) {
    static const struct option options[] = {{"group", required_argument, NULL, 'g'},
                                            {"state", no_argument, NULL, 's'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"timeout-ms", required_argument, NULL, 't'},
                                            {NULL, 0, NULL, 0}};
    bool describe = strcmp(command, "describe-group") == 0;
    long v;
    int opt;

    g->timeout_ms = a->timeout_s * 1000;
    while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (opt == 'g' && describe) g->group = optarg;
        else if (opt == 's' && !describe) g->state = true;
        else if (opt == 'j') a->json = true;
        else if (opt == 't' && parse_int(optarg, 1, INT_MAX, &v)) g->timeout_ms = (int)v;
        else if (opt == 't') return fail(EXIT_USAGE, "%s: --timeout-ms '%s' is not a positive number", command, optarg);
        else if (opt == 'g' || opt == 's') return fail(EXIT_USAGE, "%s: unknown option '%s'", command, argv[optind - 1]);
        else return option_error(command, opt, argv);
    }
    if (optind < argc) return fail(EXIT_USAGE, "%s: unexpected argument '%s'", command, argv[optind]);
    if (describe && g->group == NULL) return fail(EXIT_USAGE, "%s: missing --group G", command);
    if (!kcl_bootstrap_valid(a->bootstrap))
        return fail(EXIT_USAGE, "invalid --bootstrap-server '%s': expected HOST:PORT[,HOST:PORT...]", a->bootstrap);
    return EXIT_OK;
}

/* The exit status of a libkclient failure, its message printed. */
static int client_failed(const kcl_error_t *e, const group_args_t *g) {
    switch (e->status) {
    case KCL_EUNREACHABLE: return fail(EXIT_UNREACHABLE, "%s", e->message);
    case KCL_ENOGROUP: return fail(EXIT_NO_GROUP, "%s", e->message);
    case KCL_ETIMEOUT: return fail(EXIT_BROKER_ERROR, "%s (--timeout-ms %d)", e->message, g->timeout_ms);
    default: return fail(EXIT_BROKER_ERROR, "%s", e->message);
    }
}

/* ------------------------------------------------------------ text tables */

/* A table of owned strings, row-major, row 0 the header. */
typedef struct table {
    int cols, rows;
    char **cells;
} table_t;

/* Appends a copy of one row of t->cols cells (NULL is printed as "-"). */
static void table_row(table_t *t, const char *const *cells) {
    char **grown = realloc(t->cells, (size_t)(t->rows + 1) * (size_t)t->cols * sizeof(*grown));

    if (grown == NULL) return;
    t->cells = grown;
    for (int c = 0; c < t->cols; c++) grown[t->rows * t->cols + c] = strdup(cells[c] != NULL ? cells[c] : "-");
    t->rows++;
}

/* Prints the columns padded to their widest cell, as Kafka's tools do, and
 * frees the table. */
static void table_print(table_t *t) {
    int *width = calloc((size_t)t->cols, sizeof(*width));

    for (int r = 0; width != NULL && r < t->rows; r++)
        for (int c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * t->cols + c];
            int len = cell != NULL ? (int)strlen(cell) : 0;
            if (len > width[c]) width[c] = len;
        }
    for (int r = 0; width != NULL && r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            const char *cell = t->cells[r * t->cols + c];
            if (c + 1 < t->cols) printf("%-*s  ", width[c], cell != NULL ? cell : "");
            else printf("%s\n", cell != NULL ? cell : "");
        }
    }
    for (int i = 0; i < t->rows * t->cols; i++) free(t->cells[i]);
    free(t->cells);
    free(width);
}

/* An offset as text into buf: "-" when unknown, as Kafka prints it. */
static const char *offset_text(int64_t v, char *buf, size_t size) {
    if (v < 0) return "-";
    snprintf(buf, size, "%" PRId64, v);
    return buf;
}

static const char *or_dash(const char *s) { return s != NULL && *s != '\0' ? s : "-"; }

/* ------------------------------------------------------------ list-groups */

static json_t *listing_json(const kcl_group_listing_t *g, bool with_state) {
    json_t *o = json_pack("{s:s, s:s, s:i}", "group", g->group_id, "protocol_type", g->protocol_type, "coordinator",
                          (int)g->coordinator);
    if (o != NULL && with_state) json_object_set_new(o, "state", g->state != NULL ? json_string(g->state) : json_null());
    return o;
}

/* kafka-consumer-groups.sh --list: one id per line; with --state a GROUP
 * STATE table (its --list --state). */
static int print_listing(const admin_t *a, const group_args_t *g, const kcl_group_listing_t *groups, int n) {
    if (a->json) {
        json_t *list = json_array();
        for (int i = 0; list != NULL && i < n; i++) json_array_append_new(list, listing_json(&groups[i], g->state));
        return print_json(list);
    }
    if (!g->state) {
        for (int i = 0; i < n; i++) puts(groups[i].group_id);
        return EXIT_OK;
    }
    table_t t = {2, 0, NULL};
    table_row(&t, (const char *[]){"GROUP", "STATE"});
    for (int i = 0; i < n; i++) table_row(&t, (const char *[]){groups[i].group_id, or_dash(groups[i].state)});
    table_print(&t);
    return EXIT_OK;
}

int cmd_list_groups(admin_t *a, int argc, char **argv) {
    group_args_t g = {0};
    kcl_group_listing_t *groups = NULL;
    kcl_error_t err = {0};
    int n = 0;

    int rc = parse_group_options(a, "list-groups", &g, argc, argv);
    if (rc != EXIT_OK) return rc;
    kcl_options_t o = {a->bootstrap, g.timeout_ms};
    if (kcl_list_groups(&o, g.state, &groups, &n, &err) != KCL_OK) rc = client_failed(&err, &g);
    else rc = print_listing(a, &g, groups, n);
    kcl_group_listings_free(groups, n);
    return rc;
}

/* --------------------------------------------------------- describe-group */

static json_t *offset_json(int64_t v) { return v >= 0 ? json_integer(v) : json_null(); }
static json_t *string_or_null(const char *s) { return s != NULL ? json_string(s) : json_null(); }

static json_t *member_json(const kcl_member_t *m) {
    json_t *assigned = json_array();

    for (int i = 0; assigned != NULL && i < m->n_assigned; i++)
        json_array_append_new(assigned, json_pack("{s:s, s:i}", "topic", m->assigned[i].topic, "partition",
                                                  (int)m->assigned[i].partition));
    return json_pack("{s:s, s:o, s:s, s:s, s:o}", "member_id", m->member_id, "group_instance_id",
                     string_or_null(m->group_instance_id), "client_id", m->client_id, "host", m->client_host,
                     "assignment", assigned);
}

static json_t *row_json(const kcl_group_description_t *d, const kcl_partition_row_t *r) {
    const kcl_member_t *m = r->member >= 0 ? &d->members[r->member] : NULL;

    return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "topic", r->topic, "partition", (int)r->partition,
                     "current_offset", offset_json(r->committed), "log_end_offset", offset_json(r->log_end), "lag",
                     offset_json(r->lag), "member_id", string_or_null(m ? m->member_id : NULL), "client_id",
                     string_or_null(m ? m->client_id : NULL), "host", string_or_null(m ? m->client_host : NULL));
}

static json_t *description_json(const kcl_group_description_t *d) {
    json_t *members = json_array(), *partitions = json_array();

    for (int i = 0; members != NULL && i < d->n_members; i++) json_array_append_new(members, member_json(&d->members[i]));
    for (int i = 0; partitions != NULL && i < d->n_rows; i++) json_array_append_new(partitions, row_json(d, &d->rows[i]));
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:s, s:i}, s:o, s:o}", "group", d->group_id, "state", d->state,
                     "protocol_type", d->protocol_type, "protocol", d->protocol, "coordinator", "id",
                     (int)d->coordinator_id, "host", d->coordinator_host ? d->coordinator_host : "", "port",
                     (int)d->coordinator_port, "members", members, "partitions", partitions);
}

/* The group line: kafka-consumer-groups.sh --describe --state's columns,
 * with the protocol type. */
static void print_group_table(const kcl_group_description_t *d) {
    char coordinator[320], members[16];
    table_t t = {6, 0, NULL};

    snprintf(coordinator, sizeof(coordinator), "%s:%d (%d)", d->coordinator_host ? d->coordinator_host : "?",
             (int)d->coordinator_port, (int)d->coordinator_id);
    snprintf(members, sizeof(members), "%d", d->n_members);
    table_row(&t, (const char *[]){"GROUP", "COORDINATOR (ID)", "PROTOCOL-TYPE", "ASSIGNMENT-STRATEGY", "STATE",
                                   "#MEMBERS"});
    table_row(&t, (const char *[]){d->group_id, coordinator, or_dash(d->protocol_type), or_dash(d->protocol),
                                   d->state, members});
    table_print(&t);
}

/* kafka-consumer-groups.sh --describe's offsets table: one row per
 * partition, then one per member without partitions. */
static void print_offsets_table(const kcl_group_description_t *d) {
    table_t t = {9, 0, NULL};
    char part[16], cur[24], end[24], lag[24];

    table_row(&t, (const char *[]){"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                   "CONSUMER-ID", "HOST", "CLIENT-ID"});
    for (int i = 0; i < d->n_rows; i++) {
        const kcl_partition_row_t *r = &d->rows[i];
        const kcl_member_t *m = r->member >= 0 ? &d->members[r->member] : NULL;
        snprintf(part, sizeof(part), "%d", (int)r->partition);
        table_row(&t, (const char *[]){d->group_id, r->topic, part, offset_text(r->committed, cur, sizeof(cur)),
                                       offset_text(r->log_end, end, sizeof(end)), offset_text(r->lag, lag, sizeof(lag)),
                                       m ? m->member_id : "-", m ? m->client_host : "-", m ? m->client_id : "-"});
    }
    for (int i = 0; i < d->n_members; i++)
        if (d->members[i].n_assigned == 0)
            table_row(&t, (const char *[]){d->group_id, "-", "-", "-", "-", "-", d->members[i].member_id,
                                           d->members[i].client_host, d->members[i].client_id});
    table_print(&t);
}

/* Kafka's notes on a group with nobody consuming, or between generations. */
static void print_state_note(const kcl_group_description_t *d) {
    if (strcmp(d->state, "Empty") == 0)
        fprintf(stderr, "Consumer group '%s' has no active members.\n", d->group_id);
    else if (strcmp(d->state, "PreparingRebalance") == 0 || strcmp(d->state, "CompletingRebalance") == 0)
        fprintf(stderr, "Warning: Consumer group '%s' is rebalancing.\n", d->group_id);
}

static int print_description(const admin_t *a, const kcl_group_description_t *d) {
    if (a->json) return print_json(description_json(d));
    print_state_note(d);
    print_group_table(d);
    putchar('\n');
    print_offsets_table(d);
    return EXIT_OK;
}

int cmd_describe_group(admin_t *a, int argc, char **argv) {
    group_args_t g = {0};
    kcl_group_description_t d;
    kcl_error_t err = {0};

    int rc = parse_group_options(a, "describe-group", &g, argc, argv);
    if (rc != EXIT_OK) return rc;
    kcl_options_t o = {a->bootstrap, g.timeout_ms};
    if (kcl_describe_group(&o, g.group, &d, &err) != KCL_OK) rc = client_failed(&err, &g);
    else rc = print_description(a, &d);
    kcl_group_description_clear(&d);
    return rc;
}
