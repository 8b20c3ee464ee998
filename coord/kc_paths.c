/*
 * kc_paths.c - formatters for the per-entity znode paths of kc_paths.h.
 */
#include "coord/kc_paths.h"

#include <stdio.h>

char *kc_path_broker(char *buf, size_t n, int32_t id) {
    snprintf(buf, n, KC_PATH_BROKER_IDS "/%d", (int)id);
    return buf;
}

char *kc_path_topic(char *buf, size_t n, const char *topic) {
    snprintf(buf, n, KC_PATH_BROKER_TOPICS "/%s", topic);
    return buf;
}

char *kc_path_topic_config(char *buf, size_t n, const char *topic) {
    snprintf(buf, n, KC_PATH_CONFIG_TOPICS "/%s", topic);
    return buf;
}

char *kc_path_partitions(char *buf, size_t n, const char *topic) {
    snprintf(buf, n, KC_PATH_BROKER_TOPICS "/%s/partitions", topic);
    return buf;
}

char *kc_path_partition(char *buf, size_t n, const char *topic, int32_t partition) {
    snprintf(buf, n, KC_PATH_BROKER_TOPICS "/%s/partitions/%d", topic, (int)partition);
    return buf;
}

char *kc_path_state(char *buf, size_t n, const char *topic, int32_t partition) {
    snprintf(buf, n, KC_PATH_BROKER_TOPICS "/%s/partitions/%d/state", topic, (int)partition);
    return buf;
}

char *kc_path_delete_topic(char *buf, size_t n, const char *topic) {
    snprintf(buf, n, KC_PATH_DELETE_TOPICS "/%s", topic);
    return buf;
}
