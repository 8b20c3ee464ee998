/*
 * test_api.c - the request dispatcher (broker/api/kb_api.c) behind a real
 * listener (netfix): what wire-protocol.md 1.6 and 3.1 say a broker does
 * with an unknown API key, an unsupported version (ApiVersions answered
 * with the v0 "unsupported" body, anything else closed without an answer),
 * a malformed or truncated header, a truncated body or trailing bytes, and
 * flexible (v2) request headers with tagged fields.
 *
 * The broker has no ZooKeeper: the dispatcher and handlers read its
 * metadata cache (broker/metadata), which the tests fill through the
 * cache's update calls, as UpdateMetadata does.  Further cases cover the
 * cache's update semantics, the config feed that copies topic overrides
 * into it from a hand-made ZooKeeper view (viewfix: only what changed is
 * copied), kb_api_partition's errors from the cache, and the topic-creation
 * service's parked operations (broker/admin) with a stand-in for its
 * ZooKeeper writer.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "broker/admin/kb_topic_creator.h"
#include "broker/api/kb_api.h"
#include "broker/api/kb_api_internal.h"
#include "broker/metadata/kb_metadata.h"
#include "broker/metadata/kb_metadata_view.h"
#include "broker/metrics/kb_metrics.h"
#include "proto/kp_types.h"
#include "tests/unit/logfix.h"
#include "tests/unit/netfix.h"
#include "tests/unit/unit.h"
#include "tests/unit/viewfix.h"

static kb_api_ctx_t api;
static kb_metrics_t metrics;
static kb_metadata_t *md;

static void setup(void) {
    logfix_setup("api");
    memset(&metrics, 0, sizeof(metrics));
    md = kb_metadata_new();
    ck_assert_ptr_nonnull(md);
    api = (kb_api_ctx_t){.base = lf.base, .cfg = &lf.cfg, .metadata = md, .metrics = &metrics};
    netfix_start(kb_api_on_request, &api, 0);
}

static void teardown(void) {
    netfix_stop();
    kb_metadata_free(md);
    md = NULL;
    logfix_teardown();
}

/* A request header v1 (key, version, correlation id, client_id "t") in hdr;
 * returns its length. */
static size_t header_v1(uint8_t *hdr, int16_t key, int16_t version, int32_t corr) {
    uint8_t h[] = {(uint8_t)(key >> 8), (uint8_t)key, (uint8_t)(version >> 8), (uint8_t)version,
                   (uint8_t)(corr >> 24), (uint8_t)(corr >> 16), (uint8_t)(corr >> 8), (uint8_t)corr,
                   0, 1, 't'};
    memcpy(hdr, h, sizeof(h));
    return sizeof(h);
}

/* Sends a frame of a v1 header plus body. */
static void request(int16_t key, int16_t version, int32_t corr, const uint8_t *body, size_t body_len) {
    uint8_t frame[256];
    size_t n = header_v1(frame, key, version, corr);
    if (body_len) memcpy(frame + n, body, body_len);
    netfix_send_frame(frame, n + body_len);
}

static void assert_closed_without_answer(void) {
    size_t unread = 99;
    ck_assert(netfix_closed(&unread));
    ck_assert_uint_eq(unread, 0);
}

static int32_t be32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]); }
static int16_t be16(const uint8_t *p) { return (int16_t)(p[0] << 8 | p[1]); }

/* An ApiVersions v0 exchange on the same connection: it is still open and
 * in step. */
static void assert_still_serving(int32_t corr) {
    uint8_t buf[512];
    request(KP_API_API_VERSIONS, 0, corr, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_gt(n, 10);
    ck_assert_int_eq(be32(buf), corr);
    ck_assert_int_eq(be16(buf + 4), 0);
}

START_TEST(too_new_apiversions_gets_the_v0_unsupported_body) {
    uint8_t buf[64];
    request(KP_API_API_VERSIONS, 4, 7, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    /* wire-protocol.md 4.1's worked example, after the size 16. */
    static const uint8_t want[] = {0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12, 0, 0, 0, 3};
    ck_assert_int_eq(n, (ssize_t)sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    assert_still_serving(8);
}
END_TEST

START_TEST(apiversions_v0_lists_every_table_row) {
    uint8_t buf[512];
    request(KP_API_API_VERSIONS, 0, 42, NULL, 0);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_eq(be32(buf), 42);
    ck_assert_int_eq(be16(buf + 4), 0);
    int32_t count = be32(buf + 6);
    ck_assert_int_eq(n, 10 + 6 * count);
    bool produce = false, fetch = false;
    for (int32_t i = 0; i < count; i++) {
        const uint8_t *e = buf + 10 + 6 * i;
        ck_assert_int_le(be16(e + 2), be16(e + 4));
        if (be16(e) == KP_API_PRODUCE) produce = be16(e + 2) == 0 && be16(e + 4) == 7;
        if (be16(e) == KP_API_FETCH) fetch = be16(e + 2) == 4 && be16(e + 4) == 11;
    }
    ck_assert(produce && fetch);
    ck_assert_uint_eq(metrics.requests_total, 1);
}
END_TEST

START_TEST(flexible_apiversions_reads_header_tags_and_answers_header_v0) {
    uint8_t buf[512];
    /* Header v2: client_id stays an int16 string, then a tag section with
     * one unknown tag (0, 2 bytes) the broker must skip. */
    static const uint8_t frame[] = {0, 18, 0, 3, 0, 0, 0, 9, 0, 1, 'c', 1, 0, 2, 0xab, 0xcd,
                                    /* body: compact strings "k" and "1", no tags */
                                    2, 'k', 2, '1', 0};
    netfix_send_frame(frame, sizeof(frame));
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_gt(n, 8);
    ck_assert_int_eq(be32(buf), 9);
    ck_assert_int_eq(be16(buf + 4), 0); /* no tag byte between correlation id and error code */
    ck_assert_int_gt(buf[6], 1);        /* compact array: count + 1 */
}
END_TEST

START_TEST(unknown_api_key_closes_without_an_answer) {
    request(KP_API_OFFSET_COMMIT, 0, 1, NULL, 0);
    assert_closed_without_answer();
}
END_TEST

START_TEST(unsupported_version_closes_without_an_answer) {
    request(KP_API_METADATA, 7, 1, (const uint8_t[]){0, 0, 0, 0}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(version_below_the_handled_range_closes) {
    /* DescribeConfigs v0 has a codec, but the table handles 1-2. */
    request(KP_API_DESCRIBE_CONFIGS, 0, 1, (const uint8_t[]){0, 0, 0, 0}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(frame_shorter_than_a_header_closes) {
    netfix_send_frame((const uint8_t[]){0, 18, 0, 0, 0, 0}, 6);
    assert_closed_without_answer();
}
END_TEST

START_TEST(client_id_running_past_the_frame_closes) {
    netfix_send_frame((const uint8_t[]){0, 18, 0, 0, 0, 0, 0, 1, 0, 50, 'x'}, 11);
    assert_closed_without_answer();
}
END_TEST

START_TEST(broken_tag_section_in_a_flexible_header_closes) {
    /* One tag announced with 9 bytes of data, 1 present. */
    netfix_send_frame((const uint8_t[]){0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 1, 0, 9, 0}, 14);
    assert_closed_without_answer();
}
END_TEST

START_TEST(truncated_body_closes) {
    /* Metadata v1: five topics announced, none present. */
    request(KP_API_METADATA, 1, 1, (const uint8_t[]){0, 0, 0, 5}, 4);
    assert_closed_without_answer();
}
END_TEST

START_TEST(trailing_bytes_after_the_body_close) {
    request(KP_API_API_VERSIONS, 0, 1, (const uint8_t[]){0}, 1);
    assert_closed_without_answer();
}
END_TEST

START_TEST(metadata_is_answered_in_order_with_its_correlation_id) {
    uint8_t buf[512];
    request(KP_API_METADATA, 1, 100, (const uint8_t[]){0xff, 0xff, 0xff, 0xff}, 4); /* all topics */
    request(KP_API_API_VERSIONS, 0, 101, NULL, 0);
    ck_assert_int_gt(netfix_read_frame(buf, sizeof(buf)), 4);
    ck_assert_int_eq(be32(buf), 100);
    ck_assert_int_eq(be32(buf + 4), 0); /* no brokers in an empty view */
    ck_assert_int_gt(netfix_read_frame(buf, sizeof(buf)), 4);
    ck_assert_int_eq(be32(buf), 101);
}
END_TEST

START_TEST(oversized_frame_is_refused_by_the_listener) {
    uint32_t be = htonl(200u << 20); /* above socket.request.max.bytes (100 MiB) */
    netfix_send(&be, 4);
    assert_closed_without_answer();
    ck_assert_uint_eq(metrics.requests_total, 0);
}
END_TEST

/* ------------------------------------------------------ the metadata cache */

/* Makes brokers ids[0..n) the cache's broker set, each with a PLAINTEXT
 * endpoint (the listener netfix serves on). */
static void cache_brokers(const int32_t *ids, int n) {
    kb_metadata_endpoint_t ep[8];
    kb_metadata_broker_t b[8];
    ck_assert_int_le(n, 8);
    for (int i = 0; i < n; i++) {
        ep[i] = (kb_metadata_endpoint_t){"PLAINTEXT", "127.0.0.1", 9000 + ids[i]};
        b[i] = (kb_metadata_broker_t){ids[i], NULL, 1, &ep[i]};
    }
    ck_assert_int_eq(kb_metadata_set_brokers(md, b, n), 0);
    kb_metadata_set_loaded(md, true);
}

/* Upserts topic `name` with n partitions, each replicated and led by
 * `leader` (-1: no leader yet) at leader epoch `epoch`. */
static void cache_topic(const char *name, int n, int32_t leader, int32_t epoch) {
    kb_metadata_partition_t parts[16];
    int32_t replica = leader >= 0 ? leader : 1;
    ck_assert_int_le(n, 16);
    for (int i = 0; i < n; i++)
        parts[i] = (kb_metadata_partition_t){leader, epoch, 1, leader >= 0 ? 1 : 0, &replica, &replica};
    kb_metadata_topic_t t = {(char *)name, n, parts, 0, NULL};
    ck_assert_int_eq(kb_metadata_upsert_topic(md, &t), 0);
}

static int notified;
static void count_notify(kb_metadata_t *m, void *arg) {
    (void)m;
    (*(int *)arg)++;
}

START_TEST(cache_upserts_copies_and_keeps_topics_sorted) {
    cache_topic("b", 2, 1, 0);
    cache_topic("a", 1, 1, 0);
    ck_assert_int_eq(kb_metadata_topic_count(md), 2);
    ck_assert_str_eq(kb_metadata_topic_at(md, 0)->name, "a");
    ck_assert_str_eq(kb_metadata_topic_at(md, 1)->name, "b");
    /* Upserting again replaces the topic, partitions included; the cache
     * holds its own copy, not the caller's arrays. */
    cache_topic("b", 3, 2, 4);
    ck_assert_int_eq(kb_metadata_topic_count(md), 2);
    const kb_metadata_topic_t *b = kb_metadata_topic(md, "b");
    ck_assert_int_eq(b->n_partitions, 3);
    ck_assert_int_eq(b->partitions[2].leader, 2);
    ck_assert_int_eq(b->partitions[2].leader_epoch, 4);
    ck_assert_int_eq(b->partitions[2].n_isr, 1);
    ck_assert_int_eq(b->partitions[2].isr[0], 2);
    ck_assert_ptr_null(kb_metadata_topic(md, "c"));
}
END_TEST

START_TEST(cache_partition_and_config_updates_touch_only_their_target) {
    int32_t isr[] = {3, 1};
    kb_metadata_partition_t p = {3, 9, 2, 2, isr, isr};
    kc_config_entry_t cfg[] = {{"retention.ms", "1000"}};
    cache_topic("t", 2, 1, 0);
    ck_assert_int_eq(kb_metadata_set_partition(md, "t", 1, &p), 0);
    isr[0] = 42; /* copied: the cache does not see this */
    const kb_metadata_topic_t *t = kb_metadata_topic(md, "t");
    ck_assert_int_eq(t->partitions[1].leader, 3);
    ck_assert_int_eq(t->partitions[1].leader_epoch, 9);
    ck_assert_int_eq(t->partitions[1].isr[0], 3);
    ck_assert_int_eq(t->partitions[0].leader, 1);
    ck_assert_int_eq(kb_metadata_set_partition(md, "t", 2, &p), -1);
    ck_assert_int_eq(kb_metadata_set_partition(md, "nope", 0, &p), -1);
    ck_assert_int_eq(kb_metadata_set_topic_configs(md, "t", cfg, 1), 0);
    t = kb_metadata_topic(md, "t");
    ck_assert_int_eq(t->n_configs, 1);
    ck_assert_str_eq(t->configs[0].value, "1000");
    ck_assert_int_eq(kb_metadata_set_topic_configs(md, "nope", cfg, 1), -1);
}
END_TEST

START_TEST(cache_remove_drops_a_topic_and_listeners_hear_notify) {
    notified = 0;
    ck_assert_int_eq(kb_metadata_subscribe(md, count_notify, &notified), 0);
    cache_topic("a", 1, 1, 0);
    cache_topic("b", 1, 1, 0);
    ck_assert(kb_metadata_remove_topic(md, "a"));
    ck_assert(!kb_metadata_remove_topic(md, "a"));
    ck_assert_ptr_null(kb_metadata_topic(md, "a"));
    ck_assert_int_eq(kb_metadata_topic_count(md), 1);
    ck_assert_str_eq(kb_metadata_topic_at(md, 0)->name, "b");
    ck_assert_int_eq(notified, 0); /* updates batch up until notify */
    kb_metadata_notify(md);
    ck_assert_int_eq(notified, 1);
    kb_metadata_unsubscribe(md, count_notify, &notified);
    kb_metadata_notify(md);
    ck_assert_int_eq(notified, 1);
}
END_TEST

/* The config feed: the overrides the ZooKeeper view stamped as changed
 * reach the topics the cache holds (UpdateMetadata put them there), and
 * nothing else is copied again. */
START_TEST(config_feed_copies_only_the_overrides_the_view_changed) {
    int32_t one[] = {1};
    kc_config_entry_t mine[] = {{"segment.ms", "7"}};
    viewfix_reset();
    viewfix_topic("a", 1, one, 1);
    viewfix_topic("b", 1, one, 1);
    viewfix_topic_config("a", "retention.ms", "5");
    cache_topic("a", 1, 1, 0);
    cache_topic("b", 1, 1, 0);
    kb_metadata_config_feed_t *feed = kb_metadata_config_feed_new(md, viewfix_view());
    notified = 0;
    ck_assert_int_eq(kb_metadata_subscribe(md, count_notify, &notified), 0);
    ck_assert_int_eq(kb_metadata_config_feed_apply(feed), 0);
    ck_assert_int_eq(notified, 1);
    ck_assert_str_eq(kb_metadata_topic(md, "a")->configs[0].value, "5");
    ck_assert_int_eq(kb_metadata_topic(md, "b")->n_configs, 0);
    /* Only b's overrides changed in the view (a's assignment did, not its
     * overrides): a's, set here behind the feed's back, are not copied
     * over again. */
    ck_assert_int_eq(kb_metadata_set_topic_configs(md, "a", mine, 1), 0);
    viewfix_assign("a", 0, one, 1);
    viewfix_topic_config("b", "retention.ms", "6");
    ck_assert_int_eq(kb_metadata_config_feed_apply(feed), 0);
    ck_assert_int_eq(notified, 2);
    ck_assert_str_eq(kb_metadata_topic(md, "a")->configs[0].value, "7");
    ck_assert_str_eq(kb_metadata_topic(md, "b")->configs[0].value, "6");
    /* A topic the cache does not hold is not added: it is UpdateMetadata's. */
    viewfix_topic("c", 1, one, 1);
    viewfix_topic_config("c", "retention.ms", "8");
    ck_assert_int_eq(kb_metadata_config_feed_apply(feed), 0);
    ck_assert_ptr_null(kb_metadata_topic(md, "c"));
    ck_assert_int_eq(kb_metadata_topic_count(md), 2);
    kb_metadata_unsubscribe(md, count_notify, &notified);
    kb_metadata_config_feed_free(feed);
    viewfix_reset();
}
END_TEST

/* A topic deleted and re-created under the same name, with the same
 * partition count and no overrides, between two applies: the cache must
 * not keep the old topic's overrides (the new, empty set carries no
 * config stamp). */
START_TEST(config_feed_forgets_the_overrides_of_a_recreated_topic) {
    int32_t one[] = {1};
    viewfix_reset();
    viewfix_topic("a", 2, one, 1);
    viewfix_topic_config("a", "retention.ms", "5");
    cache_topic("a", 2, 1, 0);
    kb_metadata_config_feed_t *feed = kb_metadata_config_feed_new(md, viewfix_view());
    ck_assert_int_eq(kb_metadata_config_feed_apply(feed), 0);
    ck_assert_int_eq(kb_metadata_topic(md, "a")->n_configs, 1);
    viewfix_remove_topic("a");
    viewfix_topic("a", 2, one, 1);
    ck_assert_int_eq(kb_metadata_config_feed_apply(feed), 0);
    ck_assert_int_eq(kb_metadata_topic(md, "a")->n_partitions, 2);
    ck_assert_int_eq(kb_metadata_topic(md, "a")->n_configs, 0);
    kb_metadata_config_feed_free(feed);
    viewfix_reset();
}
END_TEST

/* ------------------------------------------------- Metadata from the cache */

typedef struct {
    const uint8_t *p, *end;
} cursor_t;

static int32_t take32(cursor_t *c) {
    ck_assert(c->end - c->p >= 4);
    int32_t v = be32(c->p);
    c->p += 4;
    return v;
}
static int16_t take16(cursor_t *c) {
    ck_assert(c->end - c->p >= 2);
    int16_t v = be16(c->p);
    c->p += 2;
    return v;
}
static void skip_str(cursor_t *c) {
    int16_t n = take16(c);
    if (n > 0) c->p += n;
}

/* What one Metadata v1 answer for one topic says. */
typedef struct {
    int32_t n_brokers, first_broker;
    int16_t topic_error;
    int32_t n_partitions;
    int16_t p0_error;
    int32_t p0_leader;
} md_answer_t;

/* Asks Metadata v1 for topic `name` and reads the answer. */
static md_answer_t ask_metadata(const char *name, int32_t corr) {
    uint8_t body[64], buf[4096];
    size_t len = strlen(name);
    md_answer_t a = {0};
    body[0] = body[1] = body[2] = 0;
    body[3] = 1;
    body[4] = 0;
    body[5] = (uint8_t)len;
    memcpy(body + 6, name, len);
    request(KP_API_METADATA, 1, corr, body, 6 + len);
    ssize_t n = netfix_read_frame(buf, sizeof(buf));
    ck_assert_int_gt(n, 4);
    cursor_t c = {buf, buf + n};
    ck_assert_int_eq(take32(&c), corr);
    a.n_brokers = take32(&c);
    for (int32_t i = 0; i < a.n_brokers; i++) {
        int32_t id = take32(&c);
        if (i == 0) a.first_broker = id;
        skip_str(&c);
        take32(&c);
        skip_str(&c);
    }
    take32(&c); /* controller id */
    ck_assert_int_eq(take32(&c), 1);
    a.topic_error = take16(&c);
    skip_str(&c);
    c.p++; /* is_internal */
    a.n_partitions = take32(&c);
    a.p0_leader = -2;
    if (a.n_partitions > 0) {
        a.p0_error = take16(&c);
        ck_assert_int_eq(take32(&c), 0);
        a.p0_leader = take32(&c);
    }
    return a;
}

START_TEST(metadata_answers_follow_cache_updates) {
    int32_t ids[] = {1};
    cache_brokers(ids, 1);
    cache_topic("t", 2, 1, 0);
    md_answer_t a = ask_metadata("t", 1);
    ck_assert_int_eq(a.n_brokers, 1);
    ck_assert_int_eq(a.first_broker, 1);
    ck_assert_int_eq(a.topic_error, 0);
    ck_assert_int_eq(a.n_partitions, 2);
    ck_assert_int_eq(a.p0_error, 0);
    ck_assert_int_eq(a.p0_leader, 1);
    /* Partition 0 loses its leader: 5 with leader -1. */
    int32_t replica = 1;
    kb_metadata_partition_t leaderless = {-1, 1, 1, 0, &replica, NULL};
    ck_assert_int_eq(kb_metadata_set_partition(md, "t", 0, &leaderless), 0);
    a = ask_metadata("t", 2);
    ck_assert_int_eq(a.p0_error, KP_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(a.p0_leader, -1);
    /* The topic grows, then goes. */
    cache_topic("t", 5, 1, 1);
    ck_assert_int_eq(ask_metadata("t", 3).n_partitions, 5);
    kb_metadata_remove_topic(md, "t");
    a = ask_metadata("t", 4);
    ck_assert_int_eq(a.topic_error, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(a.n_partitions, 0);
}
END_TEST

/* ------------------------------------------------------ kb_api_partition */

static int16_t partition_error(const char *topic, int32_t partition, bool leader_only) {
    kb_request_t req = {.ctx = &api};
    int16_t err = -1;
    ck_assert_ptr_null(kb_api_partition(&req, kp_str_c(topic), partition, leader_only, &err));
    return err;
}

START_TEST(partition_lookup_errors_come_from_the_cache) {
    ck_assert_int_eq(partition_error("t", 0, false), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    cache_topic("t", 2, 2, 0);
    /* Known to the cluster but not hosted here (no partition objects). */
    ck_assert_int_eq(partition_error("t", 0, false), KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(partition_error("t", 1, true), KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(partition_error("t", 2, false), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(partition_error("t", -1, false), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kb_metadata_remove_topic(md, "t");
    ck_assert_int_eq(partition_error("t", 0, false), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}
END_TEST

/* ------------------------------------------- the topic-creation service */

static int writes;
/* Stands in for kc_topic_create: the znodes are "written" at once. */
static void fake_write(kc_session_t *zk, const kc_topic_t *plan, const kc_config_entry_t *configs, int n_configs,
                       void (*done)(int rc, void *arg), void *arg) {
    (void)zk;
    (void)configs;
    (void)n_configs;
    ck_assert_int_gt(plan->n_partitions, 0);
    writes++;
    done(0, arg);
}

typedef struct {
    int calls;
    int16_t error_code;
    char message[512];
} answer_t;

static void on_answer(const kb_admin_op_t *op, void *arg) {
    answer_t *a = arg;
    kp_str_t name;
    const char *why;
    a->calls++;
    ck_assert_int_eq(kb_admin_op_count(op), 1);
    kb_admin_op_result(op, 0, &name, &a->error_code, &why);
    snprintf(a->message, sizeof(a->message), "%s", why ? why : "");
}

static kb_topic_creator_t *creator(void) {
    int32_t ids[] = {1};
    kb_topic_creator_deps_t deps = {lf.base, NULL, md, 1, 1, fake_write, NULL, NULL};
    cache_brokers(ids, 1);
    writes = 0;
    kb_topic_creator_t *tc = kb_topic_creator_new(&deps);
    ck_assert_ptr_nonnull(tc);
    return tc;
}

/* Starts creating `name` with 2 partitions and parks the operation. */
static void park_creation(kb_topic_creator_t *tc, kp_createtopics_topic_t *topic, const char *name, answer_t *a) {
    *topic = (kp_createtopics_topic_t){.name = kp_str_c(name), .num_partitions = 2, .replication_factor = 1};
    kp_createtopics_request_t body = {1, topic, 60000, false};
    kb_admin_op_t *op = kb_topic_creator_start(tc, &body);
    ck_assert_ptr_nonnull(op);
    ck_assert_int_eq(writes, 1);
    ck_assert(!kb_admin_op_settled(op)); /* written, no leaders yet */
    ck_assert_int_eq(kb_admin_op_wait(op, 60000, on_answer, a), 0);
    ck_assert_int_eq(kb_topic_creator_waiting(tc), 1);
    ck_assert_int_eq(a->calls, 0);
}

START_TEST(parked_creation_is_answered_at_shutdown) {
    kb_topic_creator_t *tc = creator();
    kp_createtopics_topic_t topic;
    answer_t a = {0};
    park_creation(tc, &topic, "fresh", &a);
    kb_topic_creator_shutdown(tc);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error_code, KP_ERR_REQUEST_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(a.message, "shut down"));
    ck_assert_int_eq(kb_topic_creator_waiting(tc), 0);
    kb_topic_creator_shutdown(tc); /* nothing left: no second answer */
    kb_topic_creator_free(tc);
    ck_assert_int_eq(a.calls, 1);
}
END_TEST

START_TEST(parked_creation_is_answered_when_the_cache_shows_leaders) {
    kb_topic_creator_t *tc = creator();
    kp_createtopics_topic_t topic;
    answer_t a = {0};
    park_creation(tc, &topic, "fresh", &a);
    cache_topic("fresh", 2, -1, -1); /* assigned, not led yet */
    kb_metadata_notify(md);
    ck_assert_int_eq(a.calls, 0);
    cache_topic("fresh", 2, 1, 0);
    kb_metadata_notify(md);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error_code, KP_ERR_NONE);
    ck_assert_int_eq(kb_topic_creator_waiting(tc), 0);
    kb_topic_creator_free(tc);
    ck_assert_int_eq(a.calls, 1);
}
END_TEST

START_TEST(freeing_the_creator_answers_what_is_parked) {
    kb_topic_creator_t *tc = creator();
    kp_createtopics_topic_t topic;
    answer_t a = {0};
    park_creation(tc, &topic, "fresh", &a);
    kb_topic_creator_free(tc);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.error_code, KP_ERR_REQUEST_TIMED_OUT);
}
END_TEST

/* CreateTopics for one topic `name` that must be answered at once: its
 * error code, and its message in why (a static buffer). */
static int16_t create_now(kb_topic_creator_t *tc, const char *name, const char **why) {
    static char message[512];
    kp_createtopics_topic_t topic = {.name = kp_str_c(name), .num_partitions = 1, .replication_factor = 1};
    kp_createtopics_request_t body = {1, &topic, 1000, false};
    kb_admin_op_t *op = kb_topic_creator_start(tc, &body);
    kp_str_t got;
    int16_t err;
    const char *m;
    ck_assert_ptr_nonnull(op);
    ck_assert(kb_admin_op_settled(op));
    kb_admin_op_result(op, 0, &got, &err, &m);
    snprintf(message, sizeof(message), "%s", m ? m : "");
    *why = message;
    kb_admin_op_release(op);
    return err;
}

START_TEST(creating_an_existing_topic_is_refused_without_a_write) {
    kb_topic_creator_t *tc = creator();
    const char *why;
    cache_topic("t.x", 1, 1, 0);
    ck_assert_int_eq(create_now(tc, "t.x", &why), KP_ERR_TOPIC_ALREADY_EXISTS);
    /* collides once '.' reads as '_' */
    ck_assert_int_eq(create_now(tc, "t_x", &why), KP_ERR_INVALID_TOPIC_EXCEPTION);
    ck_assert_int_eq(writes, 0);
    kb_topic_creator_free(tc);
}
END_TEST

/* Until UpdateMetadata has filled the cache it is not loaded, and Metadata
 * auto-creation writes nothing: the picture it would plan against (which
 * topics exist, which brokers are live) may be incomplete, so the client
 * is told 5 and retries. */
START_TEST(auto_creation_waits_until_the_cache_is_loaded) {
    kb_topic_creator_t *tc = creator();
    kb_metadata_set_loaded(md, false);
    ck_assert_int_eq(kb_topic_creator_auto_create(tc, "first"), KP_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(writes, 0);
    kb_metadata_set_loaded(md, true);
    kb_metadata_notify(md);
    ck_assert_int_eq(kb_topic_creator_auto_create(tc, "first"), KP_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(writes, 1);
    kb_topic_creator_free(tc);
}
END_TEST

/* Without a session and without a substitute writer, creation fails at
 * once instead of handing libkcoord a NULL session. */
START_TEST(creation_without_a_session_is_refused) {
    int32_t ids[] = {1};
    kb_topic_creator_deps_t deps = {lf.base, NULL, md, 1, 1, NULL, NULL, NULL};
    const char *why;
    cache_brokers(ids, 1);
    kb_metadata_set_loaded(md, true);
    kb_topic_creator_t *tc = kb_topic_creator_new(&deps);
    ck_assert_ptr_nonnull(tc);
    ck_assert_int_eq(create_now(tc, "fresh", &why), KP_ERR_UNKNOWN_SERVER_ERROR);
    ck_assert_str_eq(why, "no ZooKeeper session");
    ck_assert_int_eq(kb_topic_creator_auto_create(tc, "other"), KP_ERR_LEADER_NOT_AVAILABLE);
    kb_topic_creator_free(tc);
}
END_TEST

Suite *api_suite(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("dispatcher");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, too_new_apiversions_gets_the_v0_unsupported_body);
    tcase_add_test(tc, apiversions_v0_lists_every_table_row);
    tcase_add_test(tc, flexible_apiversions_reads_header_tags_and_answers_header_v0);
    tcase_add_test(tc, unknown_api_key_closes_without_an_answer);
    tcase_add_test(tc, unsupported_version_closes_without_an_answer);
    tcase_add_test(tc, version_below_the_handled_range_closes);
    tcase_add_test(tc, frame_shorter_than_a_header_closes);
    tcase_add_test(tc, client_id_running_past_the_frame_closes);
    tcase_add_test(tc, broken_tag_section_in_a_flexible_header_closes);
    tcase_add_test(tc, truncated_body_closes);
    tcase_add_test(tc, trailing_bytes_after_the_body_close);
    tcase_add_test(tc, metadata_is_answered_in_order_with_its_correlation_id);
    tcase_add_test(tc, oversized_frame_is_refused_by_the_listener);
    tcase_add_test(tc, metadata_answers_follow_cache_updates);
    suite_add_tcase(s, tc);

    TCase *cache = tcase_create("metadata cache");
    tcase_add_checked_fixture(cache, setup, teardown);
    tcase_add_test(cache, cache_upserts_copies_and_keeps_topics_sorted);
    tcase_add_test(cache, cache_partition_and_config_updates_touch_only_their_target);
    tcase_add_test(cache, cache_remove_drops_a_topic_and_listeners_hear_notify);
    tcase_add_test(cache, partition_lookup_errors_come_from_the_cache);
    tcase_add_test(cache, config_feed_copies_only_the_overrides_the_view_changed);
    tcase_add_test(cache, config_feed_forgets_the_overrides_of_a_recreated_topic);
    suite_add_tcase(s, cache);

    TCase *creation = tcase_create("topic creation service");
    tcase_add_checked_fixture(creation, setup, teardown);
    tcase_add_test(creation, parked_creation_is_answered_at_shutdown);
    tcase_add_test(creation, parked_creation_is_answered_when_the_cache_shows_leaders);
    tcase_add_test(creation, freeing_the_creator_answers_what_is_parked);
    tcase_add_test(creation, creating_an_existing_topic_is_refused_without_a_write);
    tcase_add_test(creation, auto_creation_waits_until_the_cache_is_loaded);
    tcase_add_test(creation, creation_without_a_session_is_refused);
    suite_add_tcase(s, creation);
    return s;
}
