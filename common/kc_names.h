/*
 * kc_names.h - Kafka's rules for topic names.
 */
#ifndef KC_NAMES_H
#define KC_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define KC_TOPIC_NAME_MAX 249

/* Returns true when name is a legal Kafka topic name: 1..249 characters of
 * [a-zA-Z0-9._-], and not "." or "..".  Otherwise false with a one-line
 * reason (e.g. "topic name 'a b' contains illegal character ' '") in why. */
bool kc_topic_name_valid(const char *name, char *why, size_t whylen);

/* True for Kafka's internal topics (__consumer_offsets, __transaction_state). */
bool kc_topic_is_internal(const char *name);

/* True when a and b differ but collide once '.' is mapped to '_' (Kafka
 * refuses to create such a pair because their metric names would clash). */
bool kc_topic_names_collide(const char *a, const char *b);

#endif
