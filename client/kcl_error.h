/*
 * kcl_error.h - how libkclient, the admin tool's Kafka client, reports a
 * failure: a kind the caller turns into its exit status, the broker's
 * Kafka error code when a broker answered with one, and one sentence for
 * the operator that says what was being done and what went wrong.
 *
 * Like every internal status in the tree, a kind is 0 or negative; Kafka
 * error codes are data (kafka_error), never a status.  This header holds
 * plain C only, so that kbroker-admin can read a failure without seeing
 * the Kafka protocol.
 */
#ifndef KCL_ERROR_H
#define KCL_ERROR_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    KCL_OK = 0,
    /* No TCP connection: refused, no route, a name that does not resolve,
     * or a connect that did not finish before the deadline. */
    KCL_EUNREACHABLE = -1,
    /* Connected, but the answer did not come before the deadline. */
    KCL_ETIMEOUT = -2,
    /* A broker answered with a Kafka error code (kafka_error), including a
     * retriable one that was still the answer when the deadline came. */
    KCL_EBROKER = -3,
    /* What came back is not a Kafka answer: a frame size out of bounds, a
     * wrong correlation id, a body that does not decode, or a connection
     * closed before the answer was whole. */
    KCL_EPROTOCOL = -4,
    /* The group does not exist (its coordinator describes it as Dead). */
    KCL_ENOGROUP = -5,
    KCL_ENOMEM = -6,
    /* The broker does not have the API (or no version this client
     * speaks), as its ApiVersions answer says. */
    KCL_EUNSUPPORTED = -7,
} kcl_status_t;

typedef struct {
    int status;          /* a kcl_status_t */
    int16_t kafka_error; /* with KCL_EBROKER; 0 otherwise */
    char message[512];   /* "" while status is KCL_OK */
} kcl_error_t;

/* Fills e (status, a printf-style message, kafka_error 0) and returns
 * status, so that a caller can write `return kcl_fail(e, ...)`. */
int kcl_fail(kcl_error_t *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same with the broker's error code; the message gets ": NAME (code)"
 * appended. */
int kcl_fail_kafka(kcl_error_t *e, int16_t kafka_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The failure as Kafka 2.6's admin client would raise it, written as that
 * exception's toString() (what an ExecutionException's message is) into
 * buf: "org.apache.kafka.common.errors.InvalidPartitionsException:
 * <message>" for a broker's refusal (Errors.java's class for the code; a
 * code it does not know is an UnknownServerException), a TimeoutException
 * for a deadline that passed (unreachable or silent), an
 * UnsupportedVersionException for an API the broker lacks; the message
 * alone for anything else.  Returns buf (kcl_exception.c). */
const char *kcl_exception_text(const kcl_error_t *e, char *buf, size_t size);

#endif
