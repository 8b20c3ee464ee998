/*
 * test_kclient.c - libkclient (client/), the admin tool's Kafka client,
 * against scripted brokers (fakebroker.h) on 127.0.0.1.
 *
 * The connection: a refused connect and a name that does not resolve are
 * "unreachable"; a broker that never answers costs the deadline and is a
 * timeout; an answer announcing 2 GiB is refused from its size prefix alone
 * (were it allocated, AddressSanitizer would stop the test); a wrong
 * correlation id and a connection closed before the answer are protocol
 * errors; after any of these the connection refuses further calls; a good
 * call carries the client id "kbroker-admin".
 *
 * The views: describe-group puts together the coordinator's DescribeGroups
 * (members, assignments decoded with the consumer protocol and sorted),
 * OffsetFetch (committed offsets, "nothing committed" left out) and the
 * leaders' ListOffsets (a partition answered with an error, or of a topic
 * Metadata does not know, has no log end, hence no lag); it retries
 * NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE with a new FindCoordinator
 * and reports the second after the deadline with its name; a Dead group is
 * "does not exist"; an assignment that is not the consumer protocol is a
 * protocol error.  list-groups asks every broker, again while one is still
 * loading its groups, and their states of the broker that listed them.
 * Elections go to the controller Metadata names, a whole topic asked for
 * as its partitions, and again after NOT_CONTROLLER.
 */
#include <stdio.h>
#include <string.h>

#include "client/kcl_cluster.h"
#include "client/kcl_conn.h"
#include "client/kcl_groups.h"
#include "client/kcl_elect.h"
#include "proto/kp_consumer_protocol.h"
#include "proto/kp_electleaders.h"
#include "proto/kp_findcoordinator.h"
#include "proto/kp_groupadmin.h"
#include "proto/kp_listoffsets.h"
#include "proto/kp_metadata.h"
#include "proto/kp_offsets.h"
#include "proto/kp_types.h"
#include "tests/unit/fakebroker.h"
#include "tests/unit/unit.h"

/* The deadline of calls that are expected to succeed (a bound, never
 * reached), and of those that are expected to run out. */
#define GENEROUS_MS 20000
#define SHORT_MS 300

/* ------------------------------------------------------------ the script */

/* What the fake brokers of one test answer.  Broker ids are 1 and 2; the
 * group "g" is coordinated by broker 1. */
typedef struct script {
    int ports[2];
    int n_brokers;
    fb_action_t metadata_action;  /* for the connection tests */
    int16_t find_error;           /* FindCoordinator's answer */
    int not_coordinator_first;    /* DescribeGroups answers NOT_COORDINATOR this many times */
    const char *state;            /* DescribeGroups' state of "g" */
    bool bad_assignment;          /* member 1's assignment is not the consumer protocol */
    int loading_first;            /* broker 1's ListGroups answers LOAD_IN_PROGRESS this many times */
    int not_controller_first;     /* ElectLeaders answers NOT_CONTROLLER this many times */
} script_t;

typedef struct broker_role {
    script_t *s;
    int id;
} broker_role_t;

static void answer_metadata(const broker_role_t *b, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    static const int32_t replicas[] = {1};
    kp_metadata_response_broker_t brokers[2] = {
        {1, {9, "127.0.0.1"}, b->s->ports[0], KP_STR_NULL},
        {2, {9, "127.0.0.1"}, b->s->ports[1], KP_STR_NULL},
    };
    const kp_metadata_response_partition_t parts[] = {
        {0, 0, 1, 1, replicas, 1, replicas, 0, NULL},
        {0, 1, 1, 1, replicas, 1, replicas, 0, NULL},
    };
    kp_metadata_response_topic_t topics[2] = {{0, {6, "orders"}, false, 2, parts},
                                              {KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, {4, "gone"}, false, 0, NULL}};
    kp_metadata_request_t req;

    ck_assert_int_eq(kp_metadata_request_decode(body, v, &req), 0);
    ck_assert(!req.allow_auto_topic_creation);
    kp_metadata_response_t resp = {0, b->s->n_brokers, brokers, {2, "fk"}, 1, req.n_topics > 0 ? 2 : 0, topics};
    kp_metadata_request_clear(&req);
    ck_assert_int_eq(kp_metadata_response_encode(w, v, &resp), 0);
}

static void answer_findcoordinator(const broker_role_t *b, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    kp_findcoordinator_request_t req;
    kp_findcoordinator_response_t resp = {0, b->s->find_error, KP_STR_NULL, 1, {9, "127.0.0.1"}, b->s->ports[0]};

    ck_assert_int_eq(kp_findcoordinator_request_decode(body, v, &req), 0);
    ck_assert(kp_str_eq(req.key, "g"));
    if (resp.error_code != KP_ERR_NONE) resp = (kp_findcoordinator_response_t){0, b->s->find_error, KP_STR_NULL, -1,
                                                                               {0, ""}, -1};
    ck_assert_int_eq(kp_findcoordinator_response_encode(w, v, &resp), 0);
}

/* Member "m1" (client c1) holds orders-1 and orders-0, in that order;
 * "m2" (client c2) nothing. */
static void answer_describegroups(broker_role_t *b, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    static int32_t both[] = {1, 0};
    kp_consumer_assignment_topic_t t = {{6, "orders"}, 2, both};
    kp_consumer_assignment_t a = {1, 1, &t, {-1, NULL}};
    static const uint8_t garbage[] = {0x00, 0x00, 0x7f, 0xff, 0xff, 0xff};
    kp_describegroups_request_t req;
    kp_writer_t assignment;

    ck_assert_int_eq(kp_describegroups_request_decode(body, v, &req), 0);
    kp_writer_init(&assignment);
    ck_assert_int_eq(kp_consumer_assignment_encode(&assignment, &a), 0);
    kp_describegroups_response_member_t members[2] = {
        {{2, "m1"}, KP_STR_NULL, {2, "c1"}, {10, "/127.0.0.1"}, {0, NULL},
         b->s->bad_assignment ? (kp_bytes_t){sizeof(garbage), garbage}
                              : (kp_bytes_t){(int32_t)assignment.len, assignment.buf}},
        {{2, "m2"}, {4, "inst"}, {2, "c2"}, {10, "/127.0.0.2"}, {0, NULL}, {0, NULL}},
    };
    kp_describegroups_response_group_t g = {KP_ERR_NONE, req.groups[0], kp_str_c(b->s->state), {8, "consumer"},
                                            {5, "range"}, 2, members, KP_AUTHORIZED_OPERATIONS_OMITTED};
    if (b->s->not_coordinator_first > 0) {
        b->s->not_coordinator_first--;
        g = (kp_describegroups_response_group_t){KP_ERR_NOT_COORDINATOR, req.groups[0], {0, ""}, {0, ""}, {0, ""},
                                                 0, NULL, KP_AUTHORIZED_OPERATIONS_OMITTED};
    }
    if (strcmp(b->s->state, "Dead") == 0) g = (kp_describegroups_response_group_t){
        KP_ERR_NONE, req.groups[0], {4, "Dead"}, {0, ""}, {0, ""}, 0, NULL, KP_AUTHORIZED_OPERATIONS_OMITTED};
    kp_describegroups_response_t resp = {0, 1, &g};
    ck_assert_int_eq(kp_describegroups_response_encode(w, v, &resp), 0);
    kp_writer_free(&assignment);
    kp_describegroups_request_clear(&req);
}

/* orders-0 at 5, orders-1 with nothing committed, gone-0 at 7. */
static void answer_offsetfetch(kp_reader_t *body, int16_t v, kp_writer_t *w) {
    kp_offsetfetch_response_partition_t orders[] = {{0, 5, -1, {0, ""}, 0}, {1, -1, -1, {0, ""}, 0}};
    kp_offsetfetch_response_partition_t gone[] = {{0, 7, -1, {0, ""}, 0}};
    kp_offsetfetch_response_topic_t topics[] = {{{6, "orders"}, 2, orders}, {{4, "gone"}, 1, gone}};
    kp_offsetfetch_response_t resp = {0, 2, topics, KP_ERR_NONE};
    kp_offsetfetch_request_t req;

    ck_assert_int_eq(kp_offsetfetch_request_decode(body, v, &req), 0);
    ck_assert(req.topics_null);
    kp_offsetfetch_request_clear(&req);
    ck_assert_int_eq(kp_offsetfetch_response_encode(w, v, &resp), 0);
}

/* orders-0 ends at 10; orders-1 is answered NOT_LEADER_OR_FOLLOWER. */
static void answer_listoffsets(kp_reader_t *body, int16_t v, kp_writer_t *w) {
    static const kp_listoffsets_response_partition_t parts[] = {
        {0, KP_ERR_NONE, 0, NULL, -1, 10},
        {1, KP_ERR_NOT_LEADER_OR_FOLLOWER, 0, NULL, -1, -1},
    };
    static const kp_listoffsets_response_topic_t t = {{6, "orders"}, 2, parts};
    kp_listoffsets_response_t resp = {0, 1, &t};
    kp_listoffsets_request_t req;

    ck_assert_int_eq(kp_listoffsets_request_decode(body, v, &req), 0);
    ck_assert_int_eq(req.replica_id, -1);
    ck_assert_int_eq(req.n_topics, 1);
    ck_assert(kp_str_eq(req.topics[0].name, "orders"));
    ck_assert(req.topics[0].partitions[0].timestamp == KP_LISTOFFSETS_LATEST);
    kp_listoffsets_request_clear(&req);
    ck_assert_int_eq(kp_listoffsets_response_encode(w, v, &resp), 0);
}

/* Broker 1 lists "g" (after loading_first LOAD_IN_PROGRESS answers), broker
 * 2 lists "offsets-only". */
static void answer_listgroups(broker_role_t *b, int16_t v, kp_writer_t *w) {
    kp_listgroups_response_group_t one = b->id == 1 ? (kp_listgroups_response_group_t){{1, "g"}, {8, "consumer"}}
                                                    : (kp_listgroups_response_group_t){{12, "offsets-only"}, {0, ""}};
    kp_listgroups_response_t resp = {0, KP_ERR_NONE, 1, &one};

    if (b->id == 1 && b->s->loading_first > 0) {
        b->s->loading_first--;
        resp = (kp_listgroups_response_t){0, KP_ERR_COORDINATOR_LOAD_IN_PROGRESS, 0, NULL};
    }
    ck_assert_int_eq(kp_listgroups_response_encode(w, v, &resp), 0);
}

/* The states list-groups --state asks of the broker that listed a group. */
static void answer_states(broker_role_t *b, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    kp_describegroups_request_t req;

    ck_assert_int_eq(kp_describegroups_request_decode(body, v, &req), 0);
    ck_assert_int_eq(req.n_groups, 1);
    kp_describegroups_response_group_t g = {KP_ERR_NONE, req.groups[0], kp_str_c(b->id == 1 ? "Stable" : "Empty"),
                                            {0, ""}, {0, ""}, 0, NULL, KP_AUTHORIZED_OPERATIONS_OMITTED};
    kp_describegroups_response_t resp = {0, 1, &g};
    ck_assert_int_eq(kp_describegroups_response_encode(w, v, &resp), 0);
    kp_describegroups_request_clear(&req);
}

/* ElectLeaders: partition 0 elected, any other ELECTION_NOT_NEEDED (with
 * a message); every partition NOT_CONTROLLER while the script says so.  A
 * null list is answered orders-0. */
static void answer_electleaders(broker_role_t *b, kp_reader_t *body, int16_t v, kp_writer_t *w) {
    kp_electleaders_request_t req;
    kp_electleaders_partition_result_t results[8];
    kp_electleaders_topic_result_t t = {{6, "orders"}, 0, results};
    ck_assert_int_eq(kp_electleaders_request_decode(body, v, &req), 0);
    ck_assert_int_eq(req.election_type, KP_ELECTION_PREFERRED);
    ck_assert_int_gt(req.timeout_ms, 0);
    int32_t n = req.n_topics < 0 ? 1 : req.topics[0].n_partitions;
    ck_assert_int_le(n, 8);
    for (int32_t i = 0; i < n; i++) {
        int32_t p = req.n_topics < 0 ? 0 : req.topics[0].partitions[i];
        int16_t err = b->s->not_controller_first > 0 ? KP_ERR_NOT_CONTROLLER
                      : p == 0                       ? KP_ERR_NONE
                                                     : KP_ERR_ELECTION_NOT_NEEDED;
        results[t.n_partitions++] = (kp_electleaders_partition_result_t){p, err, err ? kp_str_c("why") : KP_STR_NULL};
    }
    if (b->s->not_controller_first > 0) b->s->not_controller_first--;
    kp_electleaders_response_t resp = {0, 0, 1, &t};
    ck_assert_int_eq(kp_electleaders_response_encode(w, v, &resp), 0);
    kp_electleaders_request_clear(&req);
}

static fb_action_t play(void *arg, int16_t api_key, int16_t v, kp_reader_t *body, kp_writer_t *w) {
    broker_role_t *b = arg;

    switch (api_key) {
    case KP_API_METADATA:
        if (b->s->metadata_action != FB_ANSWER) return b->s->metadata_action;
        answer_metadata(b, body, v, w);
        break;
    case KP_API_FIND_COORDINATOR: answer_findcoordinator(b, body, v, w); break;
    case KP_API_DESCRIBE_GROUPS:
        if (b->s->state != NULL) answer_describegroups(b, body, v, w);
        else answer_states(b, body, v, w);
        break;
    case KP_API_OFFSET_FETCH: answer_offsetfetch(body, v, w); break;
    case KP_API_LIST_OFFSETS: answer_listoffsets(body, v, w); break;
    case KP_API_LIST_GROUPS: answer_listgroups(b, v, w); break;
    case KP_API_ELECT_LEADERS: answer_electleaders(b, body, v, w); break;
    default: return FB_CLOSE;
    }
    return FB_ANSWER;
}

/* n fake brokers playing ids 1..n of script s. */
typedef struct fleet {
    broker_role_t roles[2];
    fakebroker_t *fb[2];
    int n;
    char bootstrap[64];
} fleet_t;

static void fleet_start(fleet_t *f, script_t *s, int n) {
    f->n = n;
    s->n_brokers = n;
    for (int i = 0; i < n; i++) {
        f->roles[i] = (broker_role_t){s, i + 1};
        f->fb[i] = fakebroker_start(play, &f->roles[i]);
        s->ports[i] = fakebroker_port(f->fb[i]);
    }
    snprintf(f->bootstrap, sizeof(f->bootstrap), "127.0.0.1:%d", s->ports[0]);
}

static void fleet_stop(fleet_t *f) {
    for (int i = 0; i < f->n; i++) fakebroker_stop(f->fb[i]);
}

/* ------------------------------------------------------------ connection */

/* One Metadata call for no topic over a new connection to fleet broker 1. */
static int call_metadata(fleet_t *f, kcl_conn_t **conn, int timeout_ms, kcl_error_t *err) {
    kp_metadata_request_t req = {0, NULL, false};
    kcl_answer_t a;
    kp_writer_t w;

    *conn = kcl_conn_open("127.0.0.1", fakebroker_port(f->fb[0]), "kbroker-admin", kcl_now_ms() + GENEROUS_MS, err);
    ck_assert_ptr_nonnull(*conn);
    kp_writer_init(&w);
    ck_assert_int_eq(kp_metadata_request_encode(&w, 5, &req), 0);
    int rc = kcl_conn_call(*conn, KP_API_METADATA, 5, KP_METADATA_FLEX_FROM, &w, kcl_now_ms() + timeout_ms, &a, err);
    kp_writer_free(&w);
    kcl_answer_free(&a);
    return rc;
}

START_TEST(a_refused_connection_is_unreachable) {
    fleet_t f;
    script_t s = {0};
    kcl_error_t err = {0};
    char want[64];

    fleet_start(&f, &s, 1);
    int port = s.ports[0];
    fleet_stop(&f); /* nothing listens there any more */
    ck_assert_ptr_null(kcl_conn_open("127.0.0.1", port, "kbroker-admin", kcl_now_ms() + GENEROUS_MS, &err));
    ck_assert_int_eq(err.status, KCL_EUNREACHABLE);
    snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: Connection refused", port);
    ck_assert_str_eq(err.message, want);
}
END_TEST

START_TEST(a_name_that_does_not_resolve_is_unreachable) {
    kcl_error_t err = {0};

    ck_assert_ptr_null(kcl_conn_open("no-such-host.invalid", 9092, "kbroker-admin", kcl_now_ms() + 2000, &err));
    ck_assert_int_eq(err.status, KCL_EUNREACHABLE);
    ck_assert_msg(strncmp(err.message, "cannot resolve 'no-such-host.invalid'", 37) == 0, "%s", err.message);
}
END_TEST

START_TEST(a_good_call_carries_the_client_id_and_reads_the_body) {
    fleet_t f;
    script_t s = {0};
    kcl_error_t err = {0};
    kcl_conn_t *conn;
    char client_id[64];

    fleet_start(&f, &s, 1);
    ck_assert_int_eq(call_metadata(&f, &conn, GENEROUS_MS, &err), KCL_OK);
    fakebroker_last_client_id(f.fb[0], client_id, sizeof(client_id));
    ck_assert_str_eq(client_id, "kbroker-admin");
    ck_assert_str_eq(kcl_conn_peer(conn), f.bootstrap);
    kcl_conn_close(conn);
    fleet_stop(&f);
}
END_TEST

/* The answer fb_action makes the call fail with status and a message
 * containing want; the connection then refuses another call. */
static void assert_call_fails(fb_action_t action, int timeout_ms, int status, const char *want) {
    fleet_t f;
    script_t s = {.metadata_action = action};
    kcl_error_t err = {0};
    kcl_conn_t *conn;

    fleet_start(&f, &s, 1);
    ck_assert_int_eq(call_metadata(&f, &conn, timeout_ms, &err), status);
    ck_assert_msg(strstr(err.message, want) != NULL, "'%s' does not say '%s'", err.message, want);
    kp_writer_t w;
    kcl_answer_t a;
    kp_writer_init(&w);
    ck_assert_int_eq(kcl_conn_call(conn, KP_API_METADATA, 5, KP_METADATA_FLEX_FROM, &w, kcl_now_ms() + GENEROUS_MS,
                                   &a, &err),
                     KCL_EPROTOCOL);
    ck_assert_str_eq(err.message + strlen(err.message) - strlen("was lost earlier"), "was lost earlier");
    kp_writer_free(&w);
    kcl_conn_close(conn);
    fleet_stop(&f);
}

START_TEST(a_broker_that_never_answers_times_out_at_the_deadline) {
    assert_call_fails(FB_SILENT, SHORT_MS, KCL_ETIMEOUT, "timed out waiting for the answer to Metadata from 127.0.0.1:");
}
END_TEST

START_TEST(a_two_gib_answer_is_refused_from_its_size_alone) {
    assert_call_fails(FB_HUGE_FRAME, GENEROUS_MS, KCL_EPROTOCOL, "announced an answer to Metadata of 2147483647 bytes");
}
END_TEST

START_TEST(an_answer_with_another_correlation_id_is_refused) {
    assert_call_fails(FB_WRONG_CORRELATION, GENEROUS_MS, KCL_EPROTOCOL, "carries correlation id 2, not 1");
}
END_TEST

START_TEST(a_connection_closed_before_the_answer_is_a_protocol_error) {
    assert_call_fails(FB_CLOSE, GENEROUS_MS, KCL_EPROTOCOL, "closed the connection before answering Metadata");
}
END_TEST

/* ----------------------------------------------------------------- views */

START_TEST(describe_group_joins_members_committed_offsets_and_log_ends) {
    fleet_t f;
    script_t s = {.state = "Stable"};
    kcl_error_t err = {0};
    kcl_group_description_t d;

    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_describe_group(&o, "g", &d, &err), KCL_OK);
    ck_assert_str_eq(d.state, "Stable");
    ck_assert_str_eq(d.protocol, "range");
    ck_assert_int_eq(d.coordinator_id, 1);
    ck_assert_int_eq(d.coordinator_port, s.ports[0]);
    ck_assert_int_eq(d.n_members, 2);
    ck_assert_str_eq(d.members[0].client_id, "c1");
    ck_assert_ptr_null(d.members[0].group_instance_id);
    ck_assert_int_eq(d.members[0].n_assigned, 2);
    ck_assert_int_eq(d.members[0].assigned[0].partition, 0); /* sorted */
    ck_assert_str_eq(d.members[1].group_instance_id, "inst");
    ck_assert_int_eq(d.members[1].n_assigned, 0);
    ck_assert_int_eq(d.n_rows, 3);
    /* gone-0: committed, topic unknown to Metadata: no log end, no lag. */
    ck_assert_str_eq(d.rows[0].topic, "gone");
    ck_assert(d.rows[0].committed == 7 && d.rows[0].log_end == -1 && d.rows[0].lag == -1);
    ck_assert_int_eq(d.rows[0].member, -1);
    /* orders-0: committed 5, ends at 10, held by m1. */
    ck_assert(d.rows[1].committed == 5 && d.rows[1].log_end == 10 && d.rows[1].lag == 5);
    ck_assert_int_eq(d.rows[1].member, 0);
    /* orders-1: assigned, nothing committed, its leader answered an error. */
    ck_assert(d.rows[2].committed == -1 && d.rows[2].log_end == -1 && d.rows[2].lag == -1);
    ck_assert_int_eq(d.rows[2].member, 0);
    kcl_group_description_clear(&d);
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_LIST_OFFSETS), 1);
    fleet_stop(&f);
}
END_TEST

START_TEST(describe_group_finds_the_coordinator_again_after_not_coordinator) {
    fleet_t f;
    script_t s = {.state = "Stable", .not_coordinator_first = 2};
    kcl_error_t err = {0};
    kcl_group_description_t d;

    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_describe_group(&o, "g", &d, &err), KCL_OK);
    ck_assert_int_eq(d.n_members, 2);
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_FIND_COORDINATOR), 3);
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_DESCRIBE_GROUPS), 3);
    kcl_group_description_clear(&d);
    fleet_stop(&f);
}
END_TEST

START_TEST(a_coordinator_never_available_is_reported_by_name_after_retries) {
    fleet_t f;
    script_t s = {.state = "Stable", .find_error = KP_ERR_COORDINATOR_NOT_AVAILABLE};
    kcl_error_t err = {0};
    kcl_group_description_t d;

    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, SHORT_MS};
    ck_assert_int_eq(kcl_describe_group(&o, "g", &d, &err), KCL_EBROKER);
    ck_assert_int_eq(err.kafka_error, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_str_eq(err.message, "no coordinator for group 'g' within 300 ms: COORDINATOR_NOT_AVAILABLE (15)");
    ck_assert_int_ge(fakebroker_seen(f.fb[0], KP_API_FIND_COORDINATOR), 2);
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_DESCRIBE_GROUPS), 0);
    kcl_group_description_clear(&d);
    fleet_stop(&f);
}
END_TEST

START_TEST(elections_expand_a_whole_topic_and_follow_a_moved_controller) {
    fleet_t f;
    script_t s = {.not_controller_first = 1};
    kcl_error_t err = {0};
    kcl_topic_partition_t whole = {"orders", -1};
    kcl_election_result_t *r;
    int n;
    fleet_start(&f, &s, 2);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_elect_leaders(&o, KCL_ELECTION_PREFERRED, &whole, 1, &r, &n, &err), KCL_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(r[0].topic, "orders");
    ck_assert_int_eq(r[0].partition, 0);
    ck_assert_int_eq(r[0].error, KP_ERR_NONE);
    ck_assert_ptr_null(r[0].message);
    ck_assert_int_eq(r[1].error, KP_ERR_ELECTION_NOT_NEEDED);
    ck_assert_str_eq(r[1].message, "why");
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_ELECT_LEADERS), 2); /* the controller is broker 1 */
    ck_assert_int_eq(fakebroker_seen(f.fb[1], KP_API_ELECT_LEADERS), 0);
    kcl_election_results_free(r, n);
    ck_assert_int_eq(kcl_elect_leaders(&o, KCL_ELECTION_PREFERRED, NULL, 0, &r, &n, &err), KCL_OK);
    ck_assert_int_eq(n, 1);
    kcl_election_results_free(r, n);
    fleet_stop(&f);
}
END_TEST

/* A whole topic Metadata does not know has no partition to name in an
 * answer: the call fails naming it, and nothing is asked of the controller. */
START_TEST(an_election_of_a_whole_topic_that_does_not_exist_is_refused_by_name) {
    fleet_t f;
    script_t s = {0};
    kcl_error_t err = {0};
    kcl_topic_partition_t whole = {"gone", -1};
    kcl_election_result_t *r;
    int n;
    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_elect_leaders(&o, KCL_ELECTION_PREFERRED, &whole, 1, &r, &n, &err), KCL_EBROKER);
    ck_assert_int_eq(err.kafka_error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_str_eq(err.message, "topic 'gone' does not exist: UNKNOWN_TOPIC_OR_PARTITION (3)");
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_ELECT_LEADERS), 0);
    kcl_election_results_free(r, n);
    fleet_stop(&f);
}
END_TEST

START_TEST(a_dead_group_does_not_exist) {
    fleet_t f;
    script_t s = {.state = "Dead"};
    kcl_error_t err = {0};
    kcl_group_description_t d;

    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_describe_group(&o, "g", &d, &err), KCL_ENOGROUP);
    ck_assert_str_eq(err.message, "Consumer group 'g' does not exist.");
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_OFFSET_FETCH), 0);
    kcl_group_description_clear(&d);
    fleet_stop(&f);
}
END_TEST

START_TEST(an_assignment_that_is_not_the_consumer_protocol_is_a_protocol_error) {
    fleet_t f;
    script_t s = {.state = "Stable", .bad_assignment = true};
    kcl_error_t err = {0};
    kcl_group_description_t d;

    fleet_start(&f, &s, 1);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_describe_group(&o, "g", &d, &err), KCL_EPROTOCOL);
    ck_assert_str_eq(err.message, "the assignment of member m1 of group 'g' is not a consumer-protocol assignment");
    kcl_group_description_clear(&d);
    fleet_stop(&f);
}
END_TEST

START_TEST(list_groups_asks_every_broker_and_waits_out_loading) {
    fleet_t f;
    script_t s = {.loading_first = 1};
    kcl_error_t err = {0};
    kcl_group_listing_t *groups;
    int n;

    fleet_start(&f, &s, 2);
    kcl_options_t o = {f.bootstrap, GENEROUS_MS};
    ck_assert_int_eq(kcl_list_groups(&o, true, &groups, &n, &err), KCL_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(groups[0].group_id, "g");
    ck_assert_str_eq(groups[0].protocol_type, "consumer");
    ck_assert_str_eq(groups[0].state, "Stable");
    ck_assert_int_eq(groups[0].coordinator, 1);
    ck_assert_str_eq(groups[1].group_id, "offsets-only");
    ck_assert_str_eq(groups[1].protocol_type, "");
    ck_assert_str_eq(groups[1].state, "Empty");
    ck_assert_int_eq(groups[1].coordinator, 2);
    ck_assert_int_eq(fakebroker_seen(f.fb[0], KP_API_LIST_GROUPS), 2);
    ck_assert_int_eq(fakebroker_seen(f.fb[1], KP_API_LIST_GROUPS), 1);
    kcl_group_listings_free(groups, n);
    fleet_stop(&f);
}
END_TEST

START_TEST(bootstrap_lists_are_checked_before_any_connection) {
    ck_assert(kcl_bootstrap_valid("127.0.0.1:9092"));
    ck_assert(kcl_bootstrap_valid("a:1,b:65535"));
    ck_assert(kcl_bootstrap_valid("[::1]:9092"));
    ck_assert(!kcl_bootstrap_valid(""));
    ck_assert(!kcl_bootstrap_valid("host"));
    ck_assert(!kcl_bootstrap_valid(":9092"));
    ck_assert(!kcl_bootstrap_valid("host:0"));
    ck_assert(!kcl_bootstrap_valid("host:65536"));
    ck_assert(!kcl_bootstrap_valid("host:9x"));
    ck_assert(!kcl_bootstrap_valid("host:-1"));
    ck_assert(!kcl_bootstrap_valid("a:1,,b:2"));
    ck_assert(!kcl_bootstrap_valid("a:1,"));
    ck_assert(!kcl_bootstrap_valid("[]:1"));
}
END_TEST

Suite *kclient_suite(void) {
    Suite *s = suite_create("kclient");
    TCase *conn = tcase_create("connection");
    TCase *views = tcase_create("views");

    tcase_add_test(conn, a_refused_connection_is_unreachable);
    tcase_add_test(conn, a_name_that_does_not_resolve_is_unreachable);
    tcase_add_test(conn, a_good_call_carries_the_client_id_and_reads_the_body);
    tcase_add_test(conn, a_broker_that_never_answers_times_out_at_the_deadline);
    tcase_add_test(conn, a_two_gib_answer_is_refused_from_its_size_alone);
    tcase_add_test(conn, an_answer_with_another_correlation_id_is_refused);
    tcase_add_test(conn, a_connection_closed_before_the_answer_is_a_protocol_error);
    tcase_add_test(views, describe_group_joins_members_committed_offsets_and_log_ends);
    tcase_add_test(views, describe_group_finds_the_coordinator_again_after_not_coordinator);
    tcase_add_test(views, a_coordinator_never_available_is_reported_by_name_after_retries);
    tcase_add_test(views, a_dead_group_does_not_exist);
    tcase_add_test(views, an_assignment_that_is_not_the_consumer_protocol_is_a_protocol_error);
    tcase_add_test(views, list_groups_asks_every_broker_and_waits_out_loading);
    tcase_add_test(views, bootstrap_lists_are_checked_before_any_connection);
    tcase_add_test(views, elections_expand_a_whole_topic_and_follow_a_moved_controller);
    tcase_add_test(views, an_election_of_a_whole_topic_that_does_not_exist_is_refused_by_name);
    tcase_set_timeout(conn, 30);
    tcase_set_timeout(views, 30);
    suite_add_tcase(s, conn);
    suite_add_tcase(s, views);
    return s;
}
