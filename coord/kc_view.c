/*
 * kc_view.c - the watched cluster picture (see kc_view.h).
 *
 * Every read leaves a watch, and a watch that fires re-reads exactly its
 * znode (and thereby re-arms itself), so after the first full load the view
 * follows ZooKeeper one znode at a time.  A get on a missing znode leaves no
 * watch, so a NONODE answer is followed by an exists-watch that fires when
 * the znode is created.
 *
 * A full reload happens when a new session starts (the old session's watches
 * are gone) or after a read was lost to a connection drop.  It overwrites
 * entries in place, so clients keep being answered from the old contents
 * while it runs.  Completions carry the session generation they were issued
 * in; stale ones only balance the pending counter.
 *
 * Change generations (kc_view.h) let listeners visit only what changed:
 * every change to a topic, a partition or the broker set takes the next
 * number of one counter, and the topics are also linked in the order of
 * their last change, so "the topics changed after generation g" is a walk
 * from the newest end that stops at the first older one.  Each topic is
 * allocated on its own (the sorted array holds pointers) so that the links
 * and the pointers handed out survive insertions into the array.
 */
#include "coord/kc_view.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/kc_configs.h"
#include "coord/kc_election.h"
#include "coord/kc_json.h"
#include "common/kc_log.h"
#include "common/kc_names.h"
#include "coord/kc_paths.h"

/* A topic as the view holds it: the value handed out (first, so that a
 * kc_topic_t pointer from the view is the view_topic_t's), plus its place
 * in the list ordered by last change. */
typedef struct view_topic {
    kc_topic_t t;
    struct view_topic *older, *newer;
} view_topic_t;

struct kc_view {
    kc_session_t *s;
    kc_view_change_fn on_change;
    void *arg;
    kc_broker_info_t *brokers; /* sorted by id */
    int n_brokers;
    view_topic_t **topics;     /* sorted by name */
    int n_topics;
    view_topic_t *oldest, *newest; /* every topic, by generation of its last change */
    uint64_t generation;           /* of the last change applied (0: none yet) */
    uint64_t brokers_changed;      /* generation of the last broker-set change */
    uint64_t topics_removed;       /* ... of the last removal of a topic or of partitions */
    char **marked;                 /* /admin/delete_topics children, sorted by name */
    int n_marked;
    uint64_t marks_changed;        /* generation of the last change of that set */
    int32_t controller;
    int32_t controller_epoch;  /* /controller_epoch; -1 while missing or unreadable */
    char cluster_id[64];
    bool has_cluster_id;
    int pending;               /* reads issued and not yet completed */
    bool loading;              /* a full reload is running */
    bool loaded;
    bool need_reload;          /* a read was lost to a connection drop */
    bool states;               /* partition states are read and watched (kc_view_set_states) */
    bool states_loading;       /* they were just switched on and are being read */
    uint64_t gen;
    bool dead;                 /* freed by its owner; the last completion releases it */
    int changed;               /* KC_VIEW_* flags not yet reported */
    struct event *notify_ev;
};

/* What one outstanding read is about.  Freed by its completion. */
typedef struct read_ctx {
    kc_view_t *v;
    uint64_t gen;
    bool reload;   /* part of a full reload: re-read children too */
    char path[];
} read_ctx_t;

static void view_get(kc_view_t *v, const char *path, bool reload);
static void view_get_children(kc_view_t *v, const char *path, bool reload);

/* ---- bookkeeping ---- */

static read_ctx_t *ctx_new(kc_view_t *v, const char *path, bool reload) {
    size_t n = strlen(path) + 1;
    read_ctx_t *c = malloc(sizeof(*c) + n);
    if (!c) return NULL;
    c->v = v;
    c->gen = v->gen;
    c->reload = reload;
    memcpy(c->path, path, n);
    v->pending++;
    return c;
}

static void notify_cb(evutil_socket_t fd, short what, void *arg) {
    kc_view_t *v = arg;
    int what_changed = v->changed;
    v->changed = 0;
    if (what_changed && v->on_change) v->on_change(v, what_changed, v->arg);
}

static void mark_changed(kc_view_t *v, int what) {
    v->changed |= what;
    if (!event_pending(v->notify_ev, EV_TIMEOUT, NULL)) event_active(v->notify_ev, EV_TIMEOUT, 0);
}

/* Decides whether a completion is current: not for a freed view, not from an
 * earlier session, not cut off by a lost connection (which calls for a reload
 * at the next connect).  ctx_done() then settles the pending count. */
static bool ctx_finish(read_ctx_t *c, int rc) {
    kc_view_t *v = c->v;
    if (v->dead || c->gen != v->gen || rc == ZCLOSING) return false;
    if (kc_from_zrc(rc) == KC_CONNLOSS) {
        v->need_reload = true;
        return false;
    }
    return true;
}

static void ctx_done(read_ctx_t *c) {
    kc_view_t *v = c->v;
    free(c);
    v->pending--;
    if (v->dead) {
        if (v->pending == 0) free(v);
        return;
    }
    if (v->pending == 0 && v->states_loading && !v->need_reload) {
        v->states_loading = false;
        mark_changed(v, KC_VIEW_STATES | KC_VIEW_LOADED);
    }
    if (v->pending == 0 && v->loading) {
        v->loading = false;
        if (!v->loaded) kc_debug("view", "cluster view loaded");
        v->loaded = true;
        mark_changed(v, KC_VIEW_BROKERS | KC_VIEW_TOPICS | KC_VIEW_STATES | KC_VIEW_CONTROLLER | KC_VIEW_CONFIGS |
                            KC_VIEW_DELETIONS | KC_VIEW_LOADED);
    }
}

/* ---- brokers ---- */

static int broker_index(const kc_view_t *v, int32_t id, bool *found) {
    int lo = 0, hi = v->n_brokers;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v->brokers[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < v->n_brokers && v->brokers[lo].id == id;
    return lo;
}

static void broker_remove(kc_view_t *v, int32_t id) {
    bool found;
    int i = broker_index(v, id, &found);
    if (!found) return;
    kc_broker_info_clear(&v->brokers[i]);
    memmove(&v->brokers[i], &v->brokers[i + 1], (size_t)(v->n_brokers - i - 1) * sizeof(*v->brokers));
    v->n_brokers--;
    kc_info("view", "broker %d left the cluster", (int)id);
    v->brokers_changed = ++v->generation;
    mark_changed(v, KC_VIEW_BROKERS);
}

/* Takes ownership of *b's contents. */
static void broker_put(kc_view_t *v, kc_broker_info_t *b) {
    bool found;
    int i = broker_index(v, b->id, &found);
    if (found) {
        kc_broker_info_clear(&v->brokers[i]);
    } else {
        kc_broker_info_t *nb = realloc(v->brokers, (size_t)(v->n_brokers + 1) * sizeof(*nb));
        if (!nb) {
            kc_broker_info_clear(b);
            return;
        }
        v->brokers = nb;
        memmove(&v->brokers[i + 1], &v->brokers[i], (size_t)(v->n_brokers - i) * sizeof(*nb));
        v->n_brokers++;
        kc_info("view", "broker %d joined the cluster at %s:%d", (int)b->id, b->host ? b->host : "-",
                (int)b->port);
    }
    v->brokers[i] = *b;
    v->brokers_changed = ++v->generation;
    mark_changed(v, KC_VIEW_BROKERS);
}

/* ---- topics ---- */

static void recent_unlink(kc_view_t *v, view_topic_t *vt) {
    if (vt->older) vt->older->newer = vt->newer;
    else v->oldest = vt->newer;
    if (vt->newer) vt->newer->older = vt->older;
    else v->newest = vt->older;
    vt->older = vt->newer = NULL;
}

static void recent_append(kc_view_t *v, view_topic_t *vt) {
    vt->older = v->newest;
    vt->newer = NULL;
    if (v->newest) v->newest->newer = vt;
    else v->oldest = vt;
    v->newest = vt;
}

/* Stamps a topic (already in the list) with the next generation, which
 * makes it the most recently changed; returns that generation. */
static uint64_t topic_touch(kc_view_t *v, view_topic_t *vt) {
    recent_unlink(v, vt);
    recent_append(v, vt);
    vt->t.changed = ++v->generation;
    return vt->t.changed;
}

static int topic_index(const kc_view_t *v, const char *name, bool *found) {
    int lo = 0, hi = v->n_topics;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (strcmp(v->topics[mid]->t.name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < v->n_topics && strcmp(v->topics[lo]->t.name, name) == 0;
    return lo;
}

static view_topic_t *topic_find(kc_view_t *v, const char *name) {
    bool found;
    int i = topic_index(v, name, &found);
    return found ? v->topics[i] : NULL;
}

static void topic_free(view_topic_t *vt) {
    kc_topic_clear(&vt->t);
    free(vt);
}

static void topic_remove(kc_view_t *v, const char *name) {
    bool found;
    int i = topic_index(v, name, &found);
    if (!found) return;
    recent_unlink(v, v->topics[i]);
    topic_free(v->topics[i]);
    memmove(&v->topics[i], &v->topics[i + 1], (size_t)(v->n_topics - i - 1) * sizeof(*v->topics));
    v->n_topics--;
    v->topics_removed = ++v->generation;
    mark_changed(v, KC_VIEW_TOPICS);
}

static void read_states(kc_view_t *v, const kc_topic_t *t, int from) {
    if (!v->states) return;
    char path[512];
    for (int p = from; p < t->n_partitions; p++) view_get(v, kc_path_state(path, sizeof(path), t->name, p), false);
}

/* The config znode is read once per topic (and again after a reload): its
 * data watch then reports every change. */
static void read_config(kc_view_t *v, const char *topic) {
    char path[512];
    view_get(v, kc_path_topic_config(path, sizeof(path), topic), false);
}

/* Moves the states and config overrides already known from old to t, the
 * topic's freshly decoded assignment; returns how many partitions kept
 * their state. */
static int topic_carry_over(kc_topic_t *t, kc_topic_t *old) {
    int known = old->n_partitions < t->n_partitions ? old->n_partitions : t->n_partitions;
    for (int p = 0; p < known; p++) {
        t->partitions[p].has_state = old->partitions[p].has_state;
        t->partitions[p].state = old->partitions[p].state;
        old->partitions[p].state = (kc_partition_state_t){0};
        old->partitions[p].has_state = false;
    }
    t->configs = old->configs;
    t->n_configs = old->n_configs;
    t->configs_changed = old->configs_changed;
    old->configs = NULL;
    old->n_configs = 0;
    return known;
}

/* A new, empty entry at index i of the sorted array, linked
 * as the newest; NULL when out of memory. */
static view_topic_t *topic_insert(kc_view_t *v, int i) {
    view_topic_t *vt = calloc(1, sizeof(*vt));
    view_topic_t **nt = vt ? realloc(v->topics, (size_t)(v->n_topics + 1) * sizeof(*nt)) : NULL;
    if (!nt) {
        free(vt);
        return NULL;
    }
    v->topics = nt;
    memmove(&v->topics[i + 1], &v->topics[i], (size_t)(v->n_topics - i) * sizeof(*nt));
    v->topics[i] = vt;
    v->n_topics++;
    recent_append(v, vt);
    return vt;
}

/* Installs a freshly decoded assignment, keeping the states and configs
 * already known.  Takes ownership of *t's contents.  Every partition is
 * stamped as changed (its replicas may be new); fewer partitions than
 * before count as a removal. */
static void topic_put(kc_view_t *v, kc_topic_t *t, bool reload) {
    bool found;
    int i = topic_index(v, t->name, &found);
    int known = 0;
    view_topic_t *vt = found ? v->topics[i] : topic_insert(v, i);
    if (!vt) {
        kc_topic_clear(t);
        return;
    }
    if (found) {
        bool shrunk = t->n_partitions < vt->t.n_partitions;
        known = topic_carry_over(t, &vt->t);
        kc_topic_clear(&vt->t);
        if (shrunk) v->topics_removed = ++v->generation;
    }
    vt->t = *t;
    uint64_t gen = topic_touch(v, vt);
    for (int p = 0; p < vt->t.n_partitions; p++) vt->t.partitions[p].changed = gen;
    mark_changed(v, KC_VIEW_TOPICS);
    read_states(v, &vt->t, reload ? 0 : known);
    if (!found || reload) read_config(v, vt->t.name);
}

/* ---- topic configs ---- */

static const kc_config_entry_t *config_find(const kc_config_entry_t *e, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0) return &e[i];
    return NULL;
}

/* Keys are unique within a set (they are JSON object keys), so equal sizes
 * plus "every entry of a is in b with the same value" is set equality. */
static bool configs_equal(const kc_config_entry_t *a, int na, const kc_config_entry_t *b, int nb) {
    if (na != nb) return false;
    for (int i = 0; i < na; i++) {
        const kc_config_entry_t *twin = config_find(b, nb, a[i].key);
        if (!twin || strcmp(twin->value, a[i].value) != 0) return false;
    }
    return true;
}

/* Overrides are checked by whoever writes them; one written by hand that
 * kbroker cannot apply is reported here, once per change, and ignored by
 * the broker.  The internal topics' cleanup.policy=compact is the broker's
 * own (group-protocol.md 3.3): their logs keep everything until a cleaner
 * exists (kb_topic_config.c). */
static void warn_invalid_configs(const char *topic, const kc_config_entry_t *e, int n) {
    char why[300];
    for (int i = 0; i < n; i++)
        if (!(kc_topic_is_internal(topic) && strcmp(e[i].key, "cleanup.policy") == 0) &&
            !kc_topic_config_check(e[i].key, e[i].value, why, sizeof(why)))
            kc_warn("view", "topic %s: ignoring config override: %s", topic, why);
}

/* Installs a topic's override set; takes ownership of entries.  A config
 * read for a topic the view does not hold (being deleted) is dropped. */
static void topic_configs_put(kc_view_t *v, const char *name, kc_config_entry_t *entries, int n) {
    view_topic_t *vt = topic_find(v, name);
    kc_topic_t *t = vt ? &vt->t : NULL;
    if (!t || configs_equal(t->configs, t->n_configs, entries, n)) {
        kc_config_entries_free(entries, n);
        return;
    }
    kc_config_entries_free(t->configs, t->n_configs);
    t->configs = entries;
    t->n_configs = n;
    t->configs_changed = topic_touch(v, vt);
    kc_info("view", "topic %s: %d config override%s", name, n, n == 1 ? "" : "s");
    warn_invalid_configs(name, entries, n);
    mark_changed(v, KC_VIEW_CONFIGS);
}

/* ---- completions ---- */

/* The znodes whose children, not data, the view follows. */
static bool is_listed_parent(const char *path) {
    return strcmp(path, KC_PATH_BROKER_IDS) == 0 || strcmp(path, KC_PATH_BROKER_TOPICS) == 0 ||
           strcmp(path, KC_PATH_DELETE_TOPICS) == 0;
}

static void exists_done(int rc, const struct Stat *stat, const void *data) {
    read_ctx_t *c = (read_ctx_t *)data;
    /* Created between our get and this exists: read it now. */
    if (ctx_finish(c, rc) && rc == ZOK) {
        if (is_listed_parent(c->path)) view_get_children(c->v, c->path, false);
        else view_get(c->v, c->path, false);
    }
    ctx_done(c);
}

static void watch_creation(kc_view_t *v, const char *path) {
    read_ctx_t *c = ctx_new(v, path, false);
    if (!c) return;
    zhandle_t *zh = kc_session_handle(v->s);
    int rc = zh ? zoo_awexists(zh, path, kc_session_watcher, v->s, exists_done, c) : ZCONNECTIONLOSS;
    if (rc != ZOK) exists_done(rc, NULL, c);
    kc_session_kick(v->s);
}

static void apply_broker(kc_view_t *v, int32_t id, const char *data, int len, const struct Stat *st) {
    kc_broker_info_t b = {0};
    if (kc_json_broker_decode(data, (size_t)len, id, &b) < 0) {
        kc_warn("view", "ignoring unreadable registration of broker %d", (int)id);
        return;
    }
    b.czxid = st->czxid;
    broker_put(v, &b);
}

static void apply_topic(kc_view_t *v, const char *name, const char *data, int len, const struct Stat *st,
                        bool reload) {
    kc_topic_t t = {0};
    if (kc_json_topic_decode(data, (size_t)len, &t) < 0) {
        kc_warn("view", "ignoring unreadable assignment of topic %s", name);
        return;
    }
    t.zk_version = st->version;
    t.name = strdup(name);
    if (!t.name) {
        kc_topic_clear(&t);
        return;
    }
    topic_put(v, &t, reload);
}

/* A znode created with null or empty data is an empty config, as Kafka
 * reads it; unreadable JSON leaves the overrides known so far in place. */
static void apply_topic_config(kc_view_t *v, const char *name, const char *data, int len) {
    kc_config_entry_t *entries = NULL;
    int n = 0;
    if (data && len > 0 && kc_json_config_decode(data, (size_t)len, &entries, &n) < 0) {
        kc_warn("view", "ignoring unreadable config of topic %s", name);
        return;
    }
    topic_configs_put(v, name, entries, n);
}

static void apply_state(kc_view_t *v, const char *topic, int32_t p, const char *data, int len,
                        const struct Stat *st) {
    view_topic_t *vt = topic_find(v, topic);
    kc_topic_t *t = vt ? &vt->t : NULL;
    kc_partition_state_t s = {0};
    if (!v->states || !t || p < 0 || p >= t->n_partitions) return;
    if (kc_json_state_decode(data, (size_t)len, &s) < 0) {
        kc_warn("view", "ignoring unreadable state of %s-%d", topic, (int)p);
        return;
    }
    s.zk_version = st->version;
    kc_partition_state_clear(&t->partitions[p].state);
    t->partitions[p].state = s;
    t->partitions[p].has_state = true;
    t->partitions[p].changed = topic_touch(v, vt);
    mark_changed(v, KC_VIEW_STATES);
}

static void clear_state(kc_view_t *v, const char *topic, int32_t p) {
    view_topic_t *vt = topic_find(v, topic);
    kc_topic_t *t = vt ? &vt->t : NULL;
    if (!t || p < 0 || p >= t->n_partitions || !t->partitions[p].has_state) return;
    kc_partition_state_clear(&t->partitions[p].state);
    t->partitions[p].has_state = false;
    t->partitions[p].changed = topic_touch(v, vt);
    mark_changed(v, KC_VIEW_STATES);
}

/* Parses "/brokers/topics/T/partitions/P/state" into topic and partition. */
static bool parse_state_path(const char *path, char *topic, size_t tn, int32_t *p) {
    const char *prefix = KC_PATH_BROKER_TOPICS "/";
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0) return false;
    const char *name = path + plen, *slash = strchr(name, '/');
    if (!slash || (size_t)(slash - name) >= tn) return false;
    int part = -1, consumed = 0;
    if (sscanf(slash, "/partitions/%d/state%n", &part, &consumed) != 1 || slash[consumed] != '\0') return false;
    memcpy(topic, name, (size_t)(slash - name));
    topic[slash - name] = '\0';
    *p = part;
    return true;
}

/* Returns the last path component when path is parent + "/" + one component. */
static const char *child_of(const char *path, const char *parent) {
    size_t n = strlen(parent);
    if (strncmp(path, parent, n) != 0 || path[n] != '/') return NULL;
    const char *name = path + n + 1;
    return (*name && !strchr(name, '/')) ? name : NULL;
}

static void controller_epoch_put(kc_view_t *v, int32_t epoch) {
    if (epoch != v->controller_epoch) mark_changed(v, KC_VIEW_CONTROLLER);
    v->controller_epoch = epoch;
}

static void apply_missing(kc_view_t *v, const char *path) {
    const char *name;
    char topic[256];
    int32_t p;
    if ((name = child_of(path, KC_PATH_BROKER_IDS))) {
        broker_remove(v, atoi(name));
        return; /* the child watch on /brokers/ids reports a re-registration */
    }
    if ((name = child_of(path, KC_PATH_BROKER_TOPICS))) {
        topic_remove(v, name);
        return;
    }
    if ((name = child_of(path, KC_PATH_CONFIG_TOPICS))) {
        /* Only a topic that still exists waits for its config to appear;
         * the config of a deleted topic is not watched any more. */
        if (!topic_find(v, name)) return;
        topic_configs_put(v, name, NULL, 0);
    } else if (strcmp(path, KC_PATH_CONTROLLER) == 0) {
        if (v->controller != -1) mark_changed(v, KC_VIEW_CONTROLLER);
        v->controller = -1;
    } else if (strcmp(path, KC_PATH_CONTROLLER_EPOCH) == 0) {
        controller_epoch_put(v, -1);
    } else if (parse_state_path(path, topic, sizeof(topic), &p)) {
        if (!v->states) return; /* switched off since: not watched any more */
        clear_state(v, topic, p);
    }
    watch_creation(v, path);
}

static void apply_data(kc_view_t *v, const char *path, const char *data, int len, const struct Stat *st,
                       bool reload) {
    const char *name;
    char topic[256];
    int32_t p;
    if ((name = child_of(path, KC_PATH_BROKER_IDS))) {
        apply_broker(v, atoi(name), data, len, st);
    } else if ((name = child_of(path, KC_PATH_BROKER_TOPICS))) {
        apply_topic(v, name, data, len, st, reload);
    } else if (parse_state_path(path, topic, sizeof(topic), &p)) {
        apply_state(v, topic, p, data, len, st);
    } else if ((name = child_of(path, KC_PATH_CONFIG_TOPICS))) {
        apply_topic_config(v, name, data, len);
    } else if (strcmp(path, KC_PATH_CONTROLLER) == 0) {
        int32_t id = -1;
        if (kc_json_controller_decode(data, (size_t)len, &id) < 0) id = -1;
        if (id != v->controller) mark_changed(v, KC_VIEW_CONTROLLER);
        v->controller = id;
    } else if (strcmp(path, KC_PATH_CONTROLLER_EPOCH) == 0) {
        int32_t epoch;
        controller_epoch_put(v, kc_election_parse_epoch(data, len, &epoch) == 0 ? epoch : -1);
    } else if (strcmp(path, KC_PATH_CLUSTER_ID) == 0) {
        if (kc_json_cluster_id_decode(data, (size_t)len, v->cluster_id, sizeof(v->cluster_id)) == 0) {
            v->has_cluster_id = true;
            mark_changed(v, KC_VIEW_CLUSTER_ID);
        }
    }
}

static void get_done(int rc, const char *value, int value_len, const struct Stat *stat, const void *data) {
    read_ctx_t *c = (read_ctx_t *)data;
    if (ctx_finish(c, rc)) {
        if (rc == ZOK) apply_data(c->v, c->path, value, value_len, stat, c->reload);
        else if (rc == ZNONODE) apply_missing(c->v, c->path);
        else kc_warn("view", "reading %s failed: %s", c->path, zerror(rc));
    }
    ctx_done(c);
}

static void view_get(kc_view_t *v, const char *path, bool reload) {
    read_ctx_t *c = ctx_new(v, path, reload);
    if (!c) return;
    zhandle_t *zh = kc_session_handle(v->s);
    int rc = zh ? zoo_awget(zh, path, kc_session_watcher, v->s, get_done, c) : ZCONNECTIONLOSS;
    if (rc != ZOK) get_done(rc, NULL, 0, NULL, c);
    kc_session_kick(v->s);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Drops the topics a listing of /brokers/topics no longer shows.  The
 * listing's names are sorted (a copy of the pointers) so that each topic
 * is looked up by binary search: a cluster of many topics lists them all
 * on every creation. */
static void drop_unlisted_topics(kc_view_t *v, const struct String_vector *names) {
    char **sorted = NULL;
    if (names->count > 0) {
        sorted = malloc((size_t)names->count * sizeof(*sorted));
        if (!sorted) return; /* the next listing tries again */
        memcpy(sorted, names->data, (size_t)names->count * sizeof(*sorted));
        qsort(sorted, (size_t)names->count, sizeof(*sorted), name_cmp);
    }
    for (int i = v->n_topics - 1; i >= 0; i--) {
        const char *name = v->topics[i]->t.name;
        if (!sorted || !bsearch(&name, sorted, (size_t)names->count, sizeof(*sorted), name_cmp))
            topic_remove(v, name);
    }
    free(sorted);
}

/* ---- topics marked for deletion ---- */

static void marks_free(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static bool marks_equal(char **a, int na, char **b, int nb) {
    if (na != nb) return false;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

/* The listing of /admin/delete_topics replaces the set (markers have no
 * data to read); out of memory keeps the old set until the next listing. */
static void apply_marks(kc_view_t *v, const struct String_vector *names) {
    int n = names ? names->count : 0;
    char **copy = calloc((size_t)n + 1, sizeof(*copy));
    for (int i = 0; copy && i < n; i++) {
        if (!(copy[i] = strdup(names->data[i]))) {
            marks_free(copy, i);
            return;
        }
    }
    if (!copy) return;
    qsort(copy, (size_t)n, sizeof(*copy), name_cmp);
    if (marks_equal(copy, n, v->marked, v->n_marked)) {
        marks_free(copy, n);
        return;
    }
    marks_free(v->marked, v->n_marked);
    v->marked = copy;
    v->n_marked = n;
    v->marks_changed = ++v->generation;
    mark_changed(v, KC_VIEW_DELETIONS);
}

/* Drops the entries of `parent` that are not in the listing, and reads the
 * ones that are new (all of them on a reload, to re-arm their watches). */
static void apply_children(kc_view_t *v, const char *parent, const struct String_vector *names, bool reload) {
    char path[512];
    bool is_brokers = strcmp(parent, KC_PATH_BROKER_IDS) == 0;
    if (strcmp(parent, KC_PATH_DELETE_TOPICS) == 0) {
        apply_marks(v, names);
        return;
    }
    if (is_brokers) {
        for (int i = v->n_brokers - 1; i >= 0; i--) {
            bool listed = false;
            for (int j = 0; j < names->count && !listed; j++) listed = atoi(names->data[j]) == v->brokers[i].id;
            if (!listed) broker_remove(v, v->brokers[i].id);
        }
    } else {
        drop_unlisted_topics(v, names);
    }
    for (int j = 0; j < names->count; j++) {
        bool found;
        if (is_brokers) broker_index(v, atoi(names->data[j]), &found);
        else topic_index(v, names->data[j], &found);
        if (found && !reload) continue;
        snprintf(path, sizeof(path), "%s/%s", parent, names->data[j]);
        view_get(v, path, reload);
    }
}

static void children_done(int rc, const struct String_vector *strings, const struct Stat *stat, const void *data) {
    read_ctx_t *c = (read_ctx_t *)data;
    if (ctx_finish(c, rc)) {
        bool marks = strcmp(c->path, KC_PATH_DELETE_TOPICS) == 0;
        if (rc == ZOK) apply_children(c->v, c->path, strings, c->reload);
        else if (rc == ZNONODE) watch_creation(c->v, c->path);
        else kc_warn("view", "listing %s failed: %s", c->path, zerror(rc));
        if (rc == ZNONODE && marks) apply_marks(c->v, NULL); /* no parent: nothing is marked */
    }
    ctx_done(c);
}

static void view_get_children(kc_view_t *v, const char *path, bool reload) {
    read_ctx_t *c = ctx_new(v, path, reload);
    if (!c) return;
    zhandle_t *zh = kc_session_handle(v->s);
    int rc = zh ? zoo_awget_children2(zh, path, kc_session_watcher, v->s, children_done, c) : ZCONNECTIONLOSS;
    if (rc != ZOK) children_done(rc, NULL, NULL, c);
    kc_session_kick(v->s);
}

/* ---- watches and session ---- */

static void view_reload(kc_view_t *v) {
    bool was_loaded = kc_view_loaded(v);
    v->need_reload = false;
    v->loading = true;
    /* Listeners that answer clients from the view's picture (the broker's
     * metadata cache) must learn now, not at the first re-read that
     * changes something, that it is being reloaded. */
    if (was_loaded) mark_changed(v, KC_VIEW_LOADED);
    view_get_children(v, KC_PATH_BROKER_IDS, true);
    view_get_children(v, KC_PATH_BROKER_TOPICS, true);
    view_get_children(v, KC_PATH_DELETE_TOPICS, true);
    view_get(v, KC_PATH_CONTROLLER, true);
    view_get(v, KC_PATH_CONTROLLER_EPOCH, true);
    view_get(v, KC_PATH_CLUSTER_ID, true);
}

static void on_watch(kc_session_t *s, int type, const char *path, void *arg) {
    kc_view_t *v = arg;
    char topic[256];
    int32_t p;
    if (type == ZOO_CHILD_EVENT) {
        if (is_listed_parent(path)) view_get_children(v, path, false);
        return;
    }
    if (is_listed_parent(path)) {
        /* The parent itself appeared (a fresh cluster): start listing it. */
        view_get_children(v, path, false);
        return;
    }
    /* A state watched before kc_view_set_states(v, false) fires once more;
     * not re-reading it lets the watch lapse. */
    if (!v->states && parse_state_path(path, topic, sizeof(topic), &p)) return;
    /* Created, changed or deleted: a get either reads it or, for a deleted
     * znode, records the absence and watches for its re-creation. */
    view_get(v, path, false);
}

static void on_session(kc_session_t *s, kc_session_state_t st, bool new_session, void *arg) {
    kc_view_t *v = arg;
    if (st != KC_SESSION_CONNECTED) return;
    if (new_session) v->gen = kc_session_generation(s);
    if (new_session || v->need_reload) view_reload(v);
}

kc_view_t *kc_view_new(kc_session_t *s, kc_view_change_fn on_change, void *arg) {
    kc_view_t *v = calloc(1, sizeof(*v));
    if (!v) return NULL;
    v->s = s;
    v->on_change = on_change;
    v->arg = arg;
    v->controller = -1;
    v->controller_epoch = -1;
    v->states = true;
    v->notify_ev = event_new(kc_session_base(s), -1, 0, notify_cb, v);
    if (!v->notify_ev) {
        free(v);
        return NULL;
    }
    kc_session_set_watch_handler(s, on_watch, v);
    kc_session_add_listener(s, on_session, v);
    if (kc_session_connected(s)) {
        v->gen = kc_session_generation(s);
        view_reload(v);
    }
    return v;
}

/* Reads still outstanding hold a pointer to the view, so a view freed with
 * reads in flight stays allocated, emptied and marked dead, until the last
 * of their completions (at the latest when the session closes). */
void kc_view_free(kc_view_t *v) {
    if (!v) return;
    kc_session_set_watch_handler(v->s, NULL, NULL);
    kc_session_remove_listener(v->s, on_session, v);
    for (int i = 0; i < v->n_brokers; i++) kc_broker_info_clear(&v->brokers[i]);
    for (int i = 0; i < v->n_topics; i++) topic_free(v->topics[i]);
    marks_free(v->marked, v->n_marked);
    free(v->brokers);
    free(v->topics);
    event_free(v->notify_ev);
    v->dead = true;
    if (v->pending == 0) free(v);
}

/* ---- partition states on demand ---- */

/* Forgets every state (a broker that stops being the controller gives the
 * memory back).  Nothing is stamped: whoever switches states on again
 * walks every partition anyway. */
static void drop_states(kc_view_t *v) {
    for (int i = 0; i < v->n_topics; i++) {
        kc_topic_t *t = &v->topics[i]->t;
        for (int p = 0; p < t->n_partitions; p++) {
            kc_partition_state_clear(&t->partitions[p].state);
            t->partitions[p].has_state = false;
        }
    }
}

void kc_view_set_states(kc_view_t *v, bool on) {
    if (on == v->states) return;
    v->states = on;
    if (!on) {
        v->states_loading = false;
        drop_states(v);
        return;
    }
    /* Topics not yet read get their states with their assignment (a load
     * or reload in progress); those known are read now.  Reads that fail
     * for a lost connection are redone by the reload that follows. */
    v->states_loading = true;
    for (int i = 0; i < v->n_topics; i++) read_states(v, &v->topics[i]->t, 0);
    if (v->pending == 0 && !v->need_reload) {
        v->states_loading = false;
        mark_changed(v, KC_VIEW_STATES | KC_VIEW_LOADED);
    }
}

bool kc_view_states_loaded(const kc_view_t *v) { return v->states && !v->states_loading && kc_view_loaded(v); }

/* ---- accessors ---- */

/* A view in the middle of a reload may hold brokers or states that are no
 * longer true; deciders (the controller) wait until it has settled. */
bool kc_view_loaded(const kc_view_t *v) { return v->loaded && !v->loading; }
int kc_view_broker_count(const kc_view_t *v) { return v->n_brokers; }
const kc_broker_info_t *kc_view_broker_at(const kc_view_t *v, int i) { return &v->brokers[i]; }

const kc_broker_info_t *kc_view_broker(const kc_view_t *v, int32_t id) {
    bool found;
    int i = broker_index(v, id, &found);
    return found ? &v->brokers[i] : NULL;
}

bool kc_view_broker_live(const kc_view_t *v, int32_t id) { return kc_view_broker(v, id) != NULL; }
int kc_view_topic_count(const kc_view_t *v) { return v->n_topics; }
const kc_topic_t *kc_view_topic_at(const kc_view_t *v, int i) { return &v->topics[i]->t; }

const kc_topic_t *kc_view_topic(const kc_view_t *v, const char *name) {
    bool found;
    int i = topic_index(v, name, &found);
    return found ? &v->topics[i]->t : NULL;
}

uint64_t kc_view_generation(const kc_view_t *v) { return v->generation; }
uint64_t kc_view_brokers_changed(const kc_view_t *v) { return v->brokers_changed; }
uint64_t kc_view_topics_removed(const kc_view_t *v) { return v->topics_removed; }

/* Walks back from the newest end while the topics are newer than since:
 * as many steps as topics returned, plus one. */
const kc_topic_t *kc_view_changed_since(const kc_view_t *v, uint64_t since) {
    const view_topic_t *first = NULL;
    for (const view_topic_t *vt = v->newest; vt && vt->t.changed > since; vt = vt->older) first = vt;
    return first ? &first->t : NULL;
}

const kc_topic_t *kc_view_changed_next(const kc_view_t *v, const kc_topic_t *t) {
    const view_topic_t *vt = (const view_topic_t *)t; /* t is the first member */
    (void)v;
    return vt->newer ? &vt->newer->t : NULL;
}

int32_t kc_view_controller(const kc_view_t *v) { return v->controller; }
int32_t kc_view_controller_epoch(const kc_view_t *v) { return v->controller_epoch; }
const char *kc_view_cluster_id(const kc_view_t *v) { return v->has_cluster_id ? v->cluster_id : NULL; }

bool kc_view_topic_marked(const kc_view_t *v, const char *name) {
    return v->n_marked > 0 && bsearch(&name, v->marked, (size_t)v->n_marked, sizeof(*v->marked), name_cmp) != NULL;
}

int kc_view_marked_count(const kc_view_t *v) { return v->n_marked; }
const char *kc_view_marked_at(const kc_view_t *v, int i) { return v->marked[i]; }
uint64_t kc_view_marks_changed(const kc_view_t *v) { return v->marks_changed; }
