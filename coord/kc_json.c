/*
 * kc_json.c - the JSON bodies of every znode kbroker reads or writes.
 *
 * Kafka tools, dashboards and other brokers read these znodes, so what we
 * write must be what Kafka 2.6 writes (zk-and-replication.md section 1):
 * compact JSON, the same keys, numbers where Kafka has numbers and strings
 * where it has strings (timestamps, the /cluster/id version).  Key order is
 * not significant to Kafka's readers; we emit the order the spec's examples
 * show because jansson preserves insertion order, which keeps diffs readable.
 *
 * Decoders face whatever is in ZooKeeper, including data written by other
 * Kafka versions and by hand.  They ignore unknown keys, default missing
 * optional ones, check every type and range they rely on, and fail with -1
 * (leaving the output cleared) rather than hand the broker a half-valid
 * value.
 */
#include "coord/kc_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ------------------------------------------------------------------ */
/* Decoding helpers                                                    */
/* ------------------------------------------------------------------ */

/* Parses raw znode bytes; returns the root only when it is an object. */
static json_t *parse_object(const char *data, size_t len) {
    json_error_t err;

    if (data == NULL || len == 0) return NULL;
    json_t *root = json_loadb(data, len, 0, &err);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An integer JSON value within [min, max]; -1 for any other value. */
static int int_in_range(const json_t *v, json_int_t min, json_int_t max, json_int_t *out) {
    if (!json_is_integer(v)) return -1;
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}

/* Required int32 member `key` with value >= min. */
static int read_int32(const json_t *obj, const char *key, int32_t min, int32_t *out) {
    json_int_t x;

    if (int_in_range(json_object_get(obj, key), min, INT32_MAX, &x) < 0) return -1;
    *out = (int32_t)x;
    return 0;
}

/* Optional int32 member: missing or null gives dflt; anything else must be
 * an integer in [min, max]. */
static int read_opt_int32(const json_t *obj, const char *key, int32_t min, int32_t max,
                          int32_t dflt, int32_t *out) {
    const json_t *v = json_object_get(obj, key);
    json_int_t x;

    if (v == NULL || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (int_in_range(v, min, max, &x) < 0) return -1;
    *out = (int32_t)x;
    return 0;
}

/* A whole string of decimal digits (optionally signed) as int64. */
static int parse_int64_text(const char *s, int64_t *out) {
    char *end;

    if (*s == '\0' || *s == ' ' || *s == '+') return -1;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    *out = x;
    return 0;
}

/* Kafka writes epoch-millisecond timestamps as strings; a number is
 * accepted too, and a missing one reads as 0. */
static int read_timestamp(const json_t *obj, const char *key, int64_t *out) {
    const json_t *v = json_object_get(obj, key);

    *out = 0;
    if (v == NULL || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) return -1;
    return parse_int64_text(json_string_value(v), out);
}

/* Optional string member: missing or null gives NULL in *out, a string a
 * malloc'd copy; any other type fails. */
static int read_opt_string(const json_t *obj, const char *key, char **out) {
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    *out = strdup(json_string_value(v));
    return *out == NULL ? -1 : 0;
}

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorting a copy keeps the check O(n log n) even for a hostile, huge list. */
static bool has_duplicates(const int32_t *v, int n) {
    if (n < 2) return false;
    int32_t *sorted = malloc((size_t)n * sizeof(*sorted));
    if (sorted == NULL) return true; /* cannot check: treat as invalid */
    memcpy(sorted, v, (size_t)n * sizeof(*sorted));
    qsort(sorted, (size_t)n, sizeof(*sorted), compare_int32);
    bool dup = false;
    for (int i = 1; i < n && !dup; i++) dup = sorted[i] == sorted[i - 1];
    free(sorted);
    return dup;
}

/*
 * A JSON array of distinct broker ids (each 0..INT32_MAX), as used by replica
 * lists and ISRs.  An empty array gives n 0 and a NULL list, and is refused
 * unless allow_empty.  On failure *out is NULL.
 */
static int decode_broker_list(const json_t *arr, bool allow_empty, int32_t **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!json_is_array(arr)) return -1;
    size_t n = json_array_size(arr);
    if (n == 0) return allow_empty ? 0 : -1;
    if (n > INT32_MAX / sizeof(int32_t)) return -1;

    int32_t *ids = malloc(n * sizeof(*ids));
    if (ids == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
        json_int_t x;
        if (int_in_range(json_array_get(arr, i), 0, INT32_MAX, &x) < 0) goto bad;
        ids[i] = (int32_t)x;
    }
    if (has_duplicates(ids, (int)n)) goto bad;
    *out = ids;
    *n_out = (int)n;
    return 0;
bad:
    free(ids);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Encoding helpers                                                    */
/* ------------------------------------------------------------------ */

/* Sets obj[key] = value, taking ownership of value; false if anything
 * (including creating value) failed. */
static bool put(json_t *obj, const char *key, json_t *value) {
    return json_object_set_new(obj, key, value) == 0;
}

static bool append(json_t *arr, json_t *value) { return json_array_append_new(arr, value) == 0; }

/* Serialises root compactly and releases it.  ok carries the outcome of
 * building root: one failed put() anywhere makes the whole encode fail
 * instead of writing a znode with a key missing. */
static char *dump_compact(json_t *root, bool ok) {
    char *text = NULL;

    if (root != NULL && ok) text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static json_t *int_array(const int32_t *v, int n) {
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (int i = 0; ok && i < n; i++) ok = append(arr, json_integer(v[i]));
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *timestamp_string(int64_t ms) {
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, ms);
    return json_string(buf);
}

/* ------------------------------------------------------------------ */
/* /brokers/ids/N                                                      */
/* ------------------------------------------------------------------ */

/* An endpoint with no security protocol recorded uses its listener name as
 * the protocol, as Kafka's default listener.security.protocol.map does. */
static const char *endpoint_protocol(const kc_endpoint_t *e) {
    if (e->security_protocol != NULL) return e->security_protocol;
    return e->listener != NULL ? e->listener : "";
}

/* "NAME://host:port", with an IPv6 literal host in brackets. */
static json_t *endpoint_string(const kc_endpoint_t *e) {
    const char *host = e->host != NULL ? e->host : "";
    const char *name = e->listener != NULL ? e->listener : "";
    bool bracket = strchr(host, ':') != NULL;
    char *text = NULL;

    if (asprintf(&text, "%s://%s%s%s:%d", name, bracket ? "[" : "", host, bracket ? "]" : "",
                 (int)e->port) < 0)
        return NULL;
    json_t *s = json_string(text);
    free(text);
    return s;
}

/* Kafka fills the legacy host/port keys from the first endpoint whose
 * security protocol (not listener name) is PLAINTEXT. */
static const kc_endpoint_t *first_plaintext(const kc_broker_info_t *b) {
    for (int i = 0; i < b->n_endpoints; i++)
        if (strcmp(endpoint_protocol(&b->endpoints[i]), "PLAINTEXT") == 0) return &b->endpoints[i];
    return NULL;
}

static bool put_endpoints(json_t *root, const kc_broker_info_t *b) {
    json_t *list = json_array(), *map = json_object();
    bool ok = list != NULL && map != NULL;

    for (int i = 0; ok && i < b->n_endpoints; i++) {
        const kc_endpoint_t *e = &b->endpoints[i];
        ok = append(list, endpoint_string(e)) &&
             put(map, e->listener != NULL ? e->listener : "", json_string(endpoint_protocol(e)));
    }
    ok = put(root, "endpoints", list) && ok;
    return put(root, "listener_security_protocol_map", map) && ok;
}

char *kc_json_broker_encode(const kc_broker_info_t *b) {
    const kc_endpoint_t *plain = first_plaintext(b);
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(4));
    ok = ok && put(root, "host",
                   plain != NULL && plain->host != NULL ? json_string(plain->host) : json_null());
    ok = ok && put(root, "port", json_integer(plain != NULL ? plain->port : -1));
    ok = ok && put(root, "jmx_port", json_integer(b->jmx_port));
    ok = ok && put(root, "timestamp", timestamp_string(b->timestamp_ms));
    ok = ok && put_endpoints(root, b);
    if (ok && b->rack != NULL) ok = put(root, "rack", json_string(b->rack));
    if (ok && b->rpc_host != NULL && b->rpc_port > 0) {
        json_t *rpc = json_object();
        ok = rpc != NULL && put(rpc, "host", json_string(b->rpc_host)) && put(rpc, "port", json_integer(b->rpc_port));
        ok = ok ? put(root, "kbroker_rpc", rpc) : (json_decref(rpc), false);
    }
    return dump_compact(root, ok);
}

static int parse_port(const char *s, int32_t *out) {
    int64_t port;

    if (parse_int64_text(s, &port) < 0 || port < 0 || port > 65535) return -1;
    *out = (int32_t)port;
    return 0;
}

/* Splits "host:port" or "[v6]:port" into a malloc'd host and a port. */
static int parse_host_port(const char *s, char **host, int32_t *port) {
    const char *host_start = s, *host_end, *colon;

    if (*s == '[') {
        host_start = s + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL || host_end[1] != ':') return -1;
        colon = host_end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) return -1;
        host_end = colon;
    }
    if (parse_port(colon + 1, port) < 0) return -1;
    *host = strndup(host_start, (size_t)(host_end - host_start));
    return *host == NULL ? -1 : 0;
}

static bool is_security_protocol(const char *s) {
    static const char *const protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};
    for (int i = 0; protocols[i] != NULL; i++)
        if (strcmp(s, protocols[i]) == 0) return true;
    return false;
}

/*
 * The security protocol of `listener`: from the registration's map when it
 * has one (v4+), else the listener name itself, which must then be a
 * protocol name (v2/v3 registrations, where that was the rule).
 */
static int endpoint_protocol_from(const json_t *protocol_map, const char *listener, char **out) {
    const char *protocol = listener;

    if (protocol_map != NULL) {
        const json_t *v = json_object_get(protocol_map, listener);
        if (!json_is_string(v)) return -1;
        protocol = json_string_value(v);
    }
    if (!is_security_protocol(protocol)) return -1;
    *out = strdup(protocol);
    return *out == NULL ? -1 : 0;
}

/* One "NAME://host:port" string into e (which the caller clears). */
static int decode_endpoint(const json_t *v, const json_t *protocol_map, kc_endpoint_t *e) {
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    const char *sep = strstr(s, "://");
    if (sep == NULL || sep == s) return -1;

    e->listener = strndup(s, (size_t)(sep - s));
    if (e->listener == NULL) return -1;
    if (parse_host_port(sep + 3, &e->host, &e->port) < 0) return -1;
    return endpoint_protocol_from(protocol_map, e->listener, &e->security_protocol);
}

static int decode_endpoints(const json_t *root, kc_broker_info_t *out) {
    const json_t *list = json_object_get(root, "endpoints");
    const json_t *map = json_object_get(root, "listener_security_protocol_map");

    if (!json_is_array(list)) return -1;
    if (map != NULL && json_is_null(map)) map = NULL;
    if (map != NULL && !json_is_object(map)) return -1;
    size_t n = json_array_size(list);
    if (n == 0) return 0;
    if (n > INT32_MAX / sizeof(kc_endpoint_t)) return -1;
    out->endpoints = calloc(n, sizeof(*out->endpoints));
    if (out->endpoints == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
        out->n_endpoints = (int)i + 1; /* so a failure clears this entry too */
        if (decode_endpoint(json_array_get(list, i), map, &out->endpoints[i]) < 0) return -1;
    }
    return 0;
}

/* A v1 registration has no endpoint list: its host/port is the PLAINTEXT one. */
static int synthesise_v1_endpoint(kc_broker_info_t *out) {
    if (out->host == NULL || out->port < 0) return 0; /* no endpoint without a port */
    out->endpoints = calloc(1, sizeof(*out->endpoints));
    if (out->endpoints == NULL) return -1;
    out->n_endpoints = 1;
    kc_endpoint_t *e = &out->endpoints[0];
    e->listener = strdup("PLAINTEXT");
    e->host = strdup(out->host);
    e->security_protocol = strdup("PLAINTEXT");
    e->port = out->port;
    return e->listener && e->host && e->security_protocol ? 0 : -1;
}

/* The kbroker-only key "kbroker_rpc": {"host":H,"port":P}.  Absent (a
 * Kafka broker's znode) or malformed: NULL / -1 and no failure, so a
 * broken RPC key never makes the rest of the registration unreadable.
 * -1 only when out of memory. */
static int decode_rpc_endpoint(const json_t *root, kc_broker_info_t *out) {
    const json_t *rpc = json_object_get(root, "kbroker_rpc");
    out->rpc_host = NULL;
    out->rpc_port = -1;
    if (!json_is_object(rpc)) return 0;
    const json_t *host = json_object_get(rpc, "host"), *port = json_object_get(rpc, "port");
    if (!json_is_string(host) || json_string_length(host) == 0 || !json_is_integer(port)) return 0;
    if (json_integer_value(port) < 1 || json_integer_value(port) > 65535) return 0;
    if (!(out->rpc_host = strdup(json_string_value(host)))) return -1;
    out->rpc_port = (int32_t)json_integer_value(port);
    return 0;
}

/* The registration's rack: a string of at most a Kafka string's 32767
 * bytes (a longer one could not go into any broker's Metadata answer, so
 * the registration is unreadable), an empty one standing for none, as
 * broker.rack= does (kbroker.properties(5)). */
static int read_rack(const json_t *root, char **out) {
    if (read_opt_string(root, "rack", out) < 0) return -1;
    if (*out && strlen(*out) > INT16_MAX) return -1; /* the caller frees it with the rest */
    if (*out && !(*out)[0]) {
        free(*out);
        *out = NULL;
    }
    return 0;
}

static int decode_broker_fields(const json_t *root, kc_broker_info_t *out) {
    int32_t version;

    if (read_int32(root, "version", 1, &version) < 0) return -1;
    if (read_opt_string(root, "host", &out->host) < 0) return -1;
    if (read_opt_int32(root, "port", -1, 65535, -1, &out->port) < 0) return -1;
    if (read_opt_int32(root, "jmx_port", -1, 65535, -1, &out->jmx_port) < 0) return -1;
    if (read_timestamp(root, "timestamp", &out->timestamp_ms) < 0) return -1;
    if (read_rack(root, &out->rack) < 0) return -1;
    if (decode_rpc_endpoint(root, out) < 0) return -1;
    return version == 1 ? synthesise_v1_endpoint(out) : decode_endpoints(root, out);
}

int kc_json_broker_decode(const char *data, size_t len, int32_t id, kc_broker_info_t *out) {
    memset(out, 0, sizeof(*out));
    json_t *root = parse_object(data, len);
    int rc = root != NULL ? decode_broker_fields(root, out) : -1;

    json_decref(root);
    if (rc < 0) {
        kc_broker_info_clear(out);
        return -1;
    }
    out->id = id;
    return 0;
}

/* ------------------------------------------------------------------ */
/* /brokers/topics/T                                                   */
/* ------------------------------------------------------------------ */

/* {"0":[...],"1":[...],...} for every partition of t. */
static json_t *partitions_object(const kc_topic_t *t) {
    json_t *parts = json_object();
    bool ok = parts != NULL;

    for (int i = 0; ok && i < t->n_partitions; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", i);
        ok = put(parts, key, int_array(t->partitions[i].replicas, t->partitions[i].n_replicas));
    }
    if (!ok) {
        json_decref(parts);
        return NULL;
    }
    return parts;
}

/* {"P":[...],...} for the partitions with a non-empty adding (or, with
 * removing, removing) list: Kafka lists only those. */
static json_t *reassign_object(const kc_topic_t *t, bool removing) {
    json_t *obj = json_object();
    bool ok = obj != NULL;

    for (int i = 0; ok && i < t->n_partitions; i++) {
        const kc_partition_t *p = &t->partitions[i];
        int n = removing ? p->n_removing : p->n_adding;
        char key[16];
        if (n == 0) continue;
        snprintf(key, sizeof(key), "%d", i);
        ok = put(obj, key, int_array(removing ? p->removing : p->adding, n));
    }
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

char *kc_json_topic_encode(const kc_topic_t *t) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(2));
    ok = ok && put(root, "partitions", partitions_object(t));
    ok = ok && put(root, "adding_replicas", reassign_object(t, false));
    ok = ok && put(root, "removing_replicas", reassign_object(t, true));
    return dump_compact(root, ok);
}

/* A partition key: canonical decimal ("0", "17", never "+1" or "01"). */
static int parse_partition_key(const char *key, int64_t *out) {
    if (key[0] < '0' || key[0] > '9') return -1;
    if (key[0] == '0' && key[1] != '\0') return -1;
    return parse_int64_text(key, out);
}

/* Fills out->partitions from the "partitions" object.  Every key must be a
 * partition id below the key count; since keys are unique, that makes the
 * ids exactly 0..n-1 with no gap.  Replica counts may differ between
 * partitions: during a reassignment a list holds target and original
 * replicas together. */
static int decode_partitions(json_t *parts, kc_topic_t *out) {
    const char *key;
    json_t *value;

    if (!json_is_object(parts)) return -1;
    size_t n = json_object_size(parts);
    if (n == 0 || n > INT32_MAX / sizeof(kc_partition_t)) return -1;
    out->partitions = calloc(n, sizeof(*out->partitions));
    if (out->partitions == NULL) return -1;
    out->n_partitions = (int)n;
    json_object_foreach(parts, key, value) {
        int64_t id;
        if (parse_partition_key(key, &id) < 0 || id >= (int64_t)n) return -1;
        kc_partition_t *p = &out->partitions[id];
        if (p->replicas != NULL) return -1; /* same id spelled twice */
        if (decode_broker_list(value, false, &p->replicas, &p->n_replicas) < 0) return -1;
    }
    return 0;
}

/* Every id of list (n of them) is one of the partition's replicas and
 * none is in other (n_other). */
static bool within_replicas(const kc_partition_t *p, const int32_t *list, int n, const int32_t *other, int n_other) {
    for (int i = 0; i < n; i++)
        if (!kc_int32_contains(p->replicas, p->n_replicas, list[i]) || kc_int32_contains(other, n_other, list[i]))
            return false;
    return true;
}

/*
 * adding_replicas / removing_replicas (v2+, optional: missing or null is
 * none): {"P":[ids],...} describing an ongoing reassignment.  Each key
 * must name an existing partition (keys are unique and canonical, so once),
 * each list hold distinct ids among
 * the partition's replicas (an empty list means none).  Decoded after the
 * partitions; the removing lists after the adding ones, so the two can be
 * checked disjoint.  Anything else fails the whole znode: a reassignment
 * read half would be resumed wrong.
 */
static int decode_reassign_lists(json_t *root, const char *key, bool removing, kc_topic_t *out) {
    const json_t *obj = json_object_get(root, key);
    const char *part_key;
    json_t *value;

    if (obj == NULL || json_is_null(obj)) return 0;
    if (!json_is_object(obj)) return -1;
    json_object_foreach((json_t *)obj, part_key, value) {
        int64_t id;
        int32_t *ids;
        int n;
        if (parse_partition_key(part_key, &id) < 0 || id >= out->n_partitions) return -1;
        kc_partition_t *p = &out->partitions[id];
        if (decode_broker_list(value, true, &ids, &n) < 0) return -1;
        bool ok = removing ? within_replicas(p, ids, n, p->adding, p->n_adding) : within_replicas(p, ids, n, NULL, 0);
        if (!ok) {
            free(ids);
            return -1;
        }
        if (removing) {
            p->removing = ids;
            p->n_removing = n;
        } else {
            p->adding = ids;
            p->n_adding = n;
        }
    }
    return 0;
}

int kc_json_topic_decode(const char *data, size_t len, kc_topic_t *out) {
    memset(out, 0, sizeof(*out));
    json_t *root = parse_object(data, len);
    int32_t version;
    int rc = -1;

    if (root != NULL && read_int32(root, "version", 1, &version) == 0)
        rc = decode_partitions(json_object_get(root, "partitions"), out);
    if (rc == 0) rc = decode_reassign_lists(root, "adding_replicas", false, out);
    if (rc == 0) rc = decode_reassign_lists(root, "removing_replicas", true, out);
    json_decref(root);
    if (rc < 0) kc_topic_clear(out);
    return rc;
}

/* True when one of root's `key` objects (adding_replicas,
 * removing_replicas) lists brokers for some partition. */
static bool lists_replicas(const json_t *root, const char *key) {
    const json_t *obj = json_object_get(root, key);
    const char *k;
    json_t *v;

    if (!json_is_object(obj)) return false;
    json_object_foreach((json_t *)obj, k, v) if (json_is_array(v) && json_array_size(v) > 0) return true;
    return false;
}

bool kc_json_topic_reassigning(const char *data, size_t len) {
    json_t *root = parse_object(data, len);
    bool moving = root != NULL && (lists_replicas(root, "adding_replicas") || lists_replicas(root, "removing_replicas"));

    json_decref(root);
    return moving;
}

/* Adds "first".."first+n-1" to parts, which must hold exactly `first`
 * partitions, so the ids stay 0..n-1 without a gap. */
static bool add_partition_keys(json_t *parts, const kc_partition_t *added, int n, int first) {
    if (!json_is_object(parts) || json_object_size(parts) != (size_t)first) return false;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", first + i);
        if (!put(parts, key, int_array(added[i].replicas, added[i].n_replicas))) return false;
    }
    return true;
}

/* Kafka 2.6 writes every topic znode as version 2 at least, whose
 * adding_replicas and removing_replicas must be present. */
static bool raise_to_v2(json_t *root) {
    json_int_t version;
    bool ok = true;

    if (int_in_range(json_object_get(root, "version"), 1, INT32_MAX, &version) < 0) return false;
    if (version >= 2) return true;
    ok = ok && put(root, "version", json_integer(2));
    if (!json_object_get(root, "adding_replicas")) ok = ok && put(root, "adding_replicas", json_object());
    if (!json_object_get(root, "removing_replicas")) ok = ok && put(root, "removing_replicas", json_object());
    return ok;
}

char *kc_json_topic_add_partitions(const char *data, size_t len, const kc_partition_t *added, int n, int first) {
    json_t *root = parse_object(data, len);
    bool ok = root != NULL && raise_to_v2(root) && add_partition_keys(json_object_get(root, "partitions"), added, n, first);

    if (root == NULL) return NULL;
    return dump_compact(root, ok);
}

/* {"version":1,"partitions":[{"topic":T,"partition":P,"replicas":[...]},...]}:
 * any entry of `topic` counts; entries of another shape are skipped. */
bool kc_json_reassignment_names_topic(const char *data, size_t len, const char *topic) {
    json_t *root = parse_object(data, len);
    const json_t *parts = root != NULL ? json_object_get(root, "partitions") : NULL;
    bool named = false;

    for (size_t i = 0; json_is_array(parts) && i < json_array_size(parts) && !named; i++) {
        const json_t *t = json_object_get(json_array_get(parts, i), "topic");
        named = json_is_string(t) && strcmp(json_string_value(t), topic) == 0;
    }
    json_decref(root);
    return named;
}

/* ------------------------------------------------------------------ */
/* /brokers/topics/T/partitions/P/state                                */
/* ------------------------------------------------------------------ */

char *kc_json_state_encode(const kc_partition_state_t *s) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "controller_epoch", json_integer(s->controller_epoch));
    ok = ok && put(root, "leader", json_integer(s->leader));
    ok = ok && put(root, "version", json_integer(1));
    ok = ok && put(root, "leader_epoch", json_integer(s->leader_epoch));
    ok = ok && put(root, "isr", int_array(s->isr, s->n_isr));
    return dump_compact(root, ok);
}

/* leader_recovery_state (3.2+) is ignored: kbroker never elects uncleanly
 * into a RECOVERING state, and a reader must tolerate the key. */
static int decode_state_fields(const json_t *root, kc_partition_state_t *out) {
    int32_t version;

    if (read_int32(root, "version", 1, &version) < 0) return -1;
    if (read_int32(root, "controller_epoch", 0, &out->controller_epoch) < 0) return -1;
    if (read_int32(root, "leader", -1, &out->leader) < 0) return -1;
    if (read_int32(root, "leader_epoch", 0, &out->leader_epoch) < 0) return -1;
    return decode_broker_list(json_object_get(root, "isr"), true, &out->isr, &out->n_isr);
}

int kc_json_state_decode(const char *data, size_t len, kc_partition_state_t *out) {
    memset(out, 0, sizeof(*out));
    json_t *root = parse_object(data, len);
    int rc = root != NULL ? decode_state_fields(root, out) : -1;

    json_decref(root);
    if (rc < 0) kc_partition_state_clear(out);
    return rc;
}

/* ------------------------------------------------------------------ */
/* /controller and /cluster/id                                         */
/* ------------------------------------------------------------------ */

char *kc_json_controller_encode(int32_t broker_id, int64_t timestamp_ms) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(1));
    ok = ok && put(root, "brokerid", json_integer(broker_id));
    ok = ok && put(root, "timestamp", timestamp_string(timestamp_ms));
    return dump_compact(root, ok);
}

int kc_json_controller_decode(const char *data, size_t len, int32_t *broker_id) {
    json_t *root = parse_object(data, len);
    int32_t id;
    int rc = root != NULL ? read_int32(root, "brokerid", 0, &id) : -1;

    json_decref(root);
    if (rc == 0) *broker_id = id;
    return rc;
}

char *kc_json_cluster_id_encode(const char *id) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_string("1"));
    ok = ok && put(root, "id", json_string(id));
    return dump_compact(root, ok);
}

/* Only "id" matters to readers; "version" is a string in Kafka's format and
 * is not checked, so a hand-written numeric one is tolerated. */
int kc_json_cluster_id_decode(const char *data, size_t len, char *out, size_t outlen) {
    json_t *root = parse_object(data, len);
    const json_t *id = root != NULL ? json_object_get(root, "id") : NULL;
    int rc = -1;

    if (json_is_string(id)) {
        size_t n = json_string_length(id);
        if (n > 0 && n < outlen && strlen(json_string_value(id)) == n) {
            memcpy(out, json_string_value(id), n + 1);
            rc = 0;
        }
    }
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ */
/* /config/... and /config/changes/...                                 */
/* ------------------------------------------------------------------ */

static json_t *config_object(const kc_config_entry_t *entries, int n) {
    json_t *config = json_object();
    bool ok = config != NULL;

    for (int i = 0; ok && i < n; i++)
        ok = put(config, entries[i].key, json_string(entries[i].value));
    if (!ok) {
        json_decref(config);
        return NULL;
    }
    return config;
}

char *kc_json_config_encode(const kc_config_entry_t *entries, int n) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(1));
    ok = ok && put(root, "config", config_object(entries, n));
    return dump_compact(root, ok);
}

static int decode_config_entries(json_t *config, kc_config_entry_t *entries, int *filled) {
    const char *key;
    json_t *value;

    json_object_foreach(config, key, value) {
        if (!json_is_string(value)) return -1;
        kc_config_entry_t *e = &entries[*filled];
        e->key = strdup(key);
        e->value = strdup(json_string_value(value));
        (*filled)++;
        if (e->key == NULL || e->value == NULL) return -1;
    }
    return 0;
}

/* A missing "config" is an empty configuration, as Kafka reads it. */
int kc_json_config_decode(const char *data, size_t len, kc_config_entry_t **out, int *n_out) {
    json_t *root = parse_object(data, len);
    json_t *config = root != NULL ? json_object_get(root, "config") : NULL;
    kc_config_entry_t *entries = NULL;
    int filled = 0, rc = -1;

    *out = NULL;
    *n_out = 0;
    if (root != NULL && config == NULL) rc = 0;
    if (json_is_object(config)) {
        size_t n = json_object_size(config);
        entries = n > 0 ? calloc(n, sizeof(*entries)) : NULL;
        if (n == 0 || entries != NULL) rc = decode_config_entries(config, entries, &filled);
    }
    json_decref(root);
    if (rc < 0) {
        kc_config_entries_free(entries, filled);
        return -1;
    }
    *out = entries;
    *n_out = filled;
    return 0;
}

char *kc_json_config_change_encode(const char *entity_path) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(2));
    ok = ok && put(root, "entity_path", json_string(entity_path));
    return dump_compact(root, ok);
}

/* ------------------------------------------------------------------ */
/* Cluster id                                                          */
/* ------------------------------------------------------------------ */

static void fill_random(uint8_t *buf, size_t n) {
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* Without getrandom() fall back to random(): the id must only be unique
     * among clusters sharing one ZooKeeper, not secret. */
    for (; got < n; got++) buf[got] = (uint8_t)random();
}

/* RFC 4648 section 5 alphabet, no padding: 16 bytes -> 22 characters. */
static void base64url_encode(const uint8_t *in, size_t n, char *out) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *out++ = alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0) *out++ = alphabet[(acc << (6 - bits)) & 0x3f];
    *out = '\0';
}

void kc_new_cluster_id(char out[23]) {
    uint8_t uuid[16];

    fill_random(uuid, sizeof(uuid));
    /* Stamp the version-4 and IETF-variant bits, as Java's
     * UUID.randomUUID() (which Kafka uses) does. */
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
    base64url_encode(uuid, sizeof(uuid), out);
}

/* ------------------------------------------------------------------ */
/* /latest_producer_id_block                                           */
/* ------------------------------------------------------------------ */

char *kc_json_producer_id_block_encode(const kc_producer_id_block_t *b) {
    json_t *root = json_object();
    bool ok = root != NULL;

    ok = ok && put(root, "version", json_integer(1));
    ok = ok && put(root, "broker", json_integer(b->broker));
    /* Longs as decimal strings, the same text form as the timestamps. */
    ok = ok && put(root, "block_start", timestamp_string(b->block_start));
    ok = ok && put(root, "block_end", timestamp_string(b->block_end));
    return dump_compact(root, ok);
}

/* Kafka writes the ids as strings; a number is accepted too, a missing or
 * malformed one is not (unlike a timestamp, there is no safe default). */
static int read_id_text(const json_t *obj, const char *key, int64_t *out) {
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) return -1;
    return parse_int64_text(json_string_value(v), out);
}

int kc_json_producer_id_block_decode(const char *data, size_t len, kc_producer_id_block_t *out) {
    json_t *root = parse_object(data, len);
    kc_producer_id_block_t b = {0};
    int rc = -1;

    if (root != NULL && read_opt_int32(root, "broker", -1, INT32_MAX, -1, &b.broker) == 0 &&
        read_id_text(root, "block_start", &b.block_start) == 0 && read_id_text(root, "block_end", &b.block_end) == 0 &&
        b.block_start >= 0 && b.block_end >= b.block_start)
        rc = 0;
    json_decref(root);
    if (rc == 0) *out = b;
    return rc;
}

/* ------------------------------------------------------------------ */
/* /isr_change_notification/isr_change_N                               */
/* ------------------------------------------------------------------ */

static json_t *isr_change_entry(const kc_isr_change_t *c) {
    json_t *e = json_object();
    bool ok = e != NULL;

    ok = ok && put(e, "topic", json_string(c->topic));
    ok = ok && put(e, "partition", json_integer(c->partition));
    if (!ok) {
        json_decref(e);
        return NULL;
    }
    return e;
}

char *kc_json_isr_change_encode(const kc_isr_change_t *parts, int n) {
    json_t *root = json_object();
    json_t *arr = json_array();
    bool ok = root != NULL && arr != NULL;

    for (int i = 0; ok && i < n; i++) ok = append(arr, isr_change_entry(&parts[i]));
    ok = ok && put(root, "version", json_integer(1));
    if (ok) {
        ok = put(root, "partitions", arr);
        arr = NULL; /* put() owns it now, whatever it returned */
    }
    json_decref(arr);
    return dump_compact(root, ok);
}

void kc_isr_changes_free(kc_isr_change_t *parts, int n) {
    for (int i = 0; parts != NULL && i < n; i++) free(parts[i].topic);
    free(parts);
}

static int decode_isr_change_entry(const json_t *e, kc_isr_change_t *out) {
    const json_t *topic = json_object_get(e, "topic");
    int32_t partition;

    if (!json_is_object(e) || !json_is_string(topic)) return -1;
    if (read_int32(e, "partition", 0, &partition) < 0) return -1;
    out->topic = strdup(json_string_value(topic));
    out->partition = partition;
    return out->topic == NULL ? -1 : 0;
}

int kc_json_isr_change_decode(const char *data, size_t len, kc_isr_change_t **out, int *n_out) {
    json_t *root = parse_object(data, len);
    const json_t *arr = root != NULL ? json_object_get(root, "partitions") : NULL;
    kc_isr_change_t *parts = NULL;
    int rc = json_is_array(arr) ? 0 : -1;
    size_t n = rc == 0 ? json_array_size(arr) : 0;

    *out = NULL;
    *n_out = 0;
    if (n > 0 && (n > INT32_MAX || !(parts = calloc(n, sizeof(*parts))))) rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) rc = decode_isr_change_entry(json_array_get(arr, i), &parts[i]);
    json_decref(root);
    if (rc < 0) {
        kc_isr_changes_free(parts, (int)n); /* calloc'd: unfilled entries hold NULL */
        return -1;
    }
    *out = parts;
    *n_out = (int)n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* /admin/preferred_replica_election                                   */
/* ------------------------------------------------------------------ */

char *kc_json_preferred_election_encode(const kc_isr_change_t *parts, int n) {
    return kc_json_isr_change_encode(parts, n);
}

int kc_json_preferred_election_decode(const char *data, size_t len, kc_isr_change_t **out, int *n_out) {
    return kc_json_isr_change_decode(data, len, out, n_out);
}
