/*
 * kcl_error.c - filling a kcl_error_t (see kcl_error.h).
 */
#include "client/kcl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/kp_types.h"

static void vformat(kcl_error_t *e, const char *fmt, va_list ap) {
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

int kcl_fail(kcl_error_t *e, int status, const char *fmt, ...) {
    va_list ap;

    e->status = status;
    e->kafka_error = 0;
    va_start(ap, fmt);
    vformat(e, fmt, ap);
    va_end(ap);
    return status;
}

int kcl_fail_kafka(kcl_error_t *e, int16_t kafka_error, const char *fmt, ...) {
    const char *name = kp_error_name(kafka_error);
    va_list ap;
    size_t used;

    e->status = KCL_EBROKER;
    e->kafka_error = kafka_error;
    va_start(ap, fmt);
    vformat(e, fmt, ap);
    va_end(ap);
    used = strlen(e->message);
    snprintf(e->message + used, sizeof(e->message) - used, ": %s (%d)", name ? name : "unknown error",
             (int)kafka_error);
    return KCL_EBROKER;
}
