/*
 * kc_names.c - Kafka's topic name rules.
 *
 * A topic name becomes a znode name, a log directory name ("T-P") and part of
 * metric names, which is why Kafka limits it to 249 characters of
 * [a-zA-Z0-9._-] (249 leaves room for the "-P" and ".deleted" suffixes within
 * a 255-byte file name) and refuses "." and "..".  Metric names map '.' to
 * '_', so two names differing only there would clash: the collision check
 * lets topic creation refuse the second one, as Kafka does.
 */
#include "common/kc_names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool topic_char_legal(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Fills why (if the caller gave room for it) and returns false. */
static bool name_refused(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool name_refused(char *why, size_t whylen, const char *fmt, ...) {
    va_list ap;

    if (why == NULL || whylen == 0) return false;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

/* Names the offending byte so the message stays one readable line even for
 * control characters and non-ASCII bytes. */
static void describe_char(unsigned char c, char *buf, size_t n) {
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, n, "'%c'", c);
    else
        snprintf(buf, n, "0x%02x", c);
}

static bool all_printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) return false;
    return true;
}

bool kc_topic_name_valid(const char *name, char *why, size_t whylen) {
    if (name == NULL || name[0] == '\0') return name_refused(why, whylen, "topic name is empty");
    size_t len = strlen(name);
    if (len > KC_TOPIC_NAME_MAX)
        return name_refused(why, whylen, "topic name is %zu characters, longer than the maximum %d",
                            len, KC_TOPIC_NAME_MAX);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return name_refused(why, whylen, "topic name cannot be '%s'", name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (topic_char_legal(c)) continue;
        char shown[8];
        describe_char(c, shown, sizeof(shown));
        /* Quote the name only when it is safe to print on one line. */
        if (all_printable(name))
            return name_refused(why, whylen, "topic name '%s' contains illegal character %s",
                                name, shown);
        return name_refused(why, whylen, "topic name contains illegal character %s", shown);
    }
    return true;
}

bool kc_topic_is_internal(const char *name) {
    return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0;
}

static char collision_char(char c) { return c == '.' ? '_' : c; }

bool kc_topic_names_collide(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return false;
    size_t len = strlen(a);
    if (strlen(b) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (collision_char(a[i]) != collision_char(b[i])) return false;
    return true;
}
