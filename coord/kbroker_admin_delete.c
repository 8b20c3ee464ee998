/*
 * kbroker_admin_delete.c - kbroker-admin delete-topic: what
 * `kafka-topics.sh --zookeeper Z --delete --topic T` does in Kafka 2.6, the
 * marker /admin/delete_topics/T (kc_admin.h), with Kafka's output:
 *
 *     Topic T is marked for deletion.
 *     Note: This will have no impact if delete.topic.enable is not set to true.
 *
 * ("Topic T is already marked for deletion." when it was).  The controller
 * does the rest (broker/controller/kb_ctl_delete.c).  A topic that does
 * not exist exits 6, as Kafka's tool refuses it; so does an internal one
 * (exit 1), which Kafka's tool refuses to mark.  With --wait the command
 * then follows the cluster view until the topic znode is gone (exit 0),
 * or the controller removed the marker and kept the topic (deletion is
 * disabled: exit 7), or --timeout runs out (exit 7; the deletion goes on,
 * typically waiting for a broker that is down and holds a replica).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/kc_names.h"
#include "coord/kbroker_admin.h"
#include "coord/kc_admin.h"

typedef struct mark_wait {
    int done;
    int rc;
} mark_wait_t;

static void marked(int rc, void *arg) {
    mark_wait_t *w = arg;
    w->rc = rc;
    w->done = 1;
}

static int parse_options(int argc, char **argv, const char **topic, bool *wait) {
    static const struct option options[] = {{"topic", required_argument, NULL, 't'},
                                            {"wait", no_argument, NULL, 'w'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "+:", options, NULL)) != -1) {
        if (opt == 't') *topic = optarg;
        else if (opt == 'w') *wait = true;
        else return option_error("delete-topic", opt, argv);
    }
    if (optind < argc) return fail(EXIT_USAGE, "delete-topic: unexpected argument '%s'", argv[optind]);
    if (*topic == NULL) return fail(EXIT_USAGE, "delete-topic: missing --topic T");
    return EXIT_OK;
}

/* Where the deletion stands in ZooKeeper (kc_topic_deletion_state): the
 * view may not list the marker yet, or never, when the controller removed
 * it at once. */
static int deletion_state(admin_t *a, const char *topic) {
    mark_wait_t w = {0, KC_ERR};
    kc_topic_deletion_state(a->session, topic, marked, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0) return KC_CONNLOSS;
    return w.rc;
}

/* Until the topic is gone, or its marker is while it stays (the controller
 * refused), or --timeout.  The view wakes the wait; ZooKeeper decides. */
static int wait_until_gone(admin_t *a, const char *topic) {
    for (;;) {
        a->view_changed = 0; /* before the read: a change during it wakes the wait below at once */
        int rc = deletion_state(a, topic); /* also for a topic no view can read */
        if (rc == KC_NONODE) {
            printf("Topic %s is deleted.\n", topic);
            return EXIT_OK;
        }
        if (rc == KC_OK)
            return fail(EXIT_ZK_ERROR, "the controller removed the deletion marker of topic '%s' and kept the "
                        "topic: delete.topic.enable is false on the controller", topic);
        if (rc != KC_MARKED) return admin_wait_failed(a, "reading the topic's deletion from ZooKeeper");
        if (kc_session_wait(a->session, &a->view_changed, admin_remaining_ms(a)) < 0)
            return admin_wait_failed(a, "waiting for the topic's deletion (it goes on: a broker that holds "
                                     "one of its replicas may be down)");
    }
}

int cmd_delete_topic(admin_t *a, int argc, char **argv) {
    const char *topic = NULL;
    bool wait = false;
    mark_wait_t w = {0, KC_ERR};
    int rc = parse_options(argc, argv, &topic, &wait);
    if (rc == EXIT_OK) rc = admin_load_view(a);
    if (rc != EXIT_OK) return rc;
    /* Not the view: ZooKeeper decides (a topic whose znode no view can
     * read must be deletable too; kc_topic_mark_deletion answers KC_NONODE
     * for a topic that does not exist). */
    if (kc_topic_is_internal(topic))
        return fail(EXIT_USAGE, "Topic %s is a kafka internal topic and is not allowed to be marked for deletion.",
                    topic);
    kc_topic_mark_deletion(a->session, topic, marked, &w);
    if (kc_session_wait(a->session, &w.done, admin_remaining_ms(a)) < 0)
        return admin_wait_failed(a, "marking the topic for deletion; it may or may not be marked now");
    if (w.rc == KC_NONODE) return fail(EXIT_NO_TOPIC, "topic '%s' does not exist", topic);
    if (w.rc == KC_EXISTS) {
        printf("Topic %s is already marked for deletion.\n", topic);
    } else if (w.rc == KC_OK) {
        printf("Topic %s is marked for deletion.\n", topic);
        printf("Note: This will have no impact if delete.topic.enable is not set to true.\n");
    } else {
        return fail(EXIT_ZK_ERROR, "cannot mark topic '%s' for deletion: %s", topic, kc_strerror(w.rc));
    }
    fflush(stdout);
    return wait ? wait_until_gone(a, topic) : EXIT_OK;
}
