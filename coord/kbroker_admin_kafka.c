/*
 * kbroker_admin_kafka.c - the helpers the Kafka front ends share (see
 * kbroker_admin_kafka.h).
 */
#include "coord/kbroker_admin_kafka.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kafka_usage_die(const char *usage, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return KAFKA_EXIT_FAILED;
}

int kafka_option_error(const char *usage, int c, char **argv) {
    const char *opt = argv[optind - 1];
    size_t dashes = strspn(opt, "-");

    if (c == ':') return kafka_usage_die(usage, "Option %s requires an argument", opt + dashes);
    if (optopt != 0) return kafka_usage_die(usage, "%c is not a recognized option", optopt);
    return kafka_usage_die(usage, "%.*s is not a recognized option", (int)strcspn(opt + dashes, "="),
                           opt + dashes);
}

int kafka_open_brokers(admin_t *a, const char *bootstrap, kafka_client_words_t words, kcl_admin_t **out) {
    kcl_error_t err = {0};

    if (!kcl_bootstrap_valid(bootstrap))
        return fail(KAFKA_EXIT_FAILED, "invalid --bootstrap-server '%s': expected HOST:PORT[,HOST:PORT...]",
                    bootstrap);
    kcl_options_t o = {bootstrap, a->timeout_s * 1000};
    if (kcl_admin_open(&o, out, &err) != KCL_OK)
        return words == KAFKA_CLIENT_EXCEPTION ? kafka_client_raised(&err) : kafka_client_failed(&err);
    return EXIT_OK;
}

int kafka_client_failed(const kcl_error_t *e) { return fail(KAFKA_EXIT_FAILED, "%s", e->message); }

int kafka_client_raised(const kcl_error_t *e) {
    char text[sizeof(e->message) + 128];
    return fail(KAFKA_EXIT_FAILED, "%s", kcl_exception_text(e, text, sizeof(text)));
}

bool kafka_partition_reported(unsigned reports, const kafka_partition_health_t *h) {
    if (reports == 0) return true;
    if ((reports & KAFKA_REPORT_UNDER_REPLICATED) && h->replication_factor - h->n_isr > 0) return true;
    if ((reports & KAFKA_REPORT_UNAVAILABLE) && (!h->has_leader || !h->leader_live)) return true;
    if ((reports & KAFKA_REPORT_UNDER_MIN_ISR) && (!h->has_leader || (h->min_isr >= 0 && h->n_isr < h->min_isr)))
        return true;
    return (reports & KAFKA_REPORT_AT_MIN_ISR) && h->min_isr >= 0 && h->n_isr == h->min_isr;
}

bool kafka_parse_int(const char *s, long *out) {
    char *end;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return false;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX) return false;
    *out = v;
    return true;
}

char *kafka_trim(char *s) {
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    while (isspace((unsigned char)*s)) s++;
    return s;
}

int kafka_set_timeout(admin_t *a, const char *usage, const char *value) {
    long v;

    if (!kafka_parse_int(value, &v) || v < 1 || v > INT_MAX / 1000)
        return kafka_usage_die(usage, "--timeout '%s' is not a positive number of seconds", value);
    a->timeout_s = (int)v;
    return EXIT_OK;
}
