/*
 * kcl_exception.c - the Java exception Kafka 2.6's admin client raises for
 * each wire error code (Errors.java: every code names the ApiException
 * subclass its client throws), so that a Kafka front end can print a
 * failure exactly as Kafka's tool does.
 *
 * Why it matters: kafka-topics.sh --bootstrap-server prints most failures
 * as an ExecutionException's message, which is its cause's toString():
 * "org.apache.kafka.common.errors.InvalidPartitionsException: Topic
 * currently has 3 partitions, ...".  Scripts written against Kafka grep
 * for those class names.
 */
#include <stddef.h>
#include <stdio.h>

#include "client/kcl_error.h"
#include "proto/kp_types.h"

/* Every class lives in org.apache.kafka.common; all but one of them in its
 * errors package.  Indexed by code; -1 is handled apart. */
#define JAVA_PACKAGE "org.apache.kafka.common."

static const char *const classes[] = {
    [KP_ERR_OFFSET_OUT_OF_RANGE] = "errors.OffsetOutOfRangeException",
    [KP_ERR_CORRUPT_MESSAGE] = "errors.CorruptRecordException",
    [KP_ERR_UNKNOWN_TOPIC_OR_PARTITION] = "errors.UnknownTopicOrPartitionException",
    [KP_ERR_INVALID_FETCH_SIZE] = "errors.InvalidFetchSizeException",
    [KP_ERR_LEADER_NOT_AVAILABLE] = "errors.LeaderNotAvailableException",
    [KP_ERR_NOT_LEADER_OR_FOLLOWER] = "errors.NotLeaderOrFollowerException",
    [KP_ERR_REQUEST_TIMED_OUT] = "errors.TimeoutException",
    [KP_ERR_BROKER_NOT_AVAILABLE] = "errors.BrokerNotAvailableException",
    [KP_ERR_REPLICA_NOT_AVAILABLE] = "errors.ReplicaNotAvailableException",
    [KP_ERR_MESSAGE_TOO_LARGE] = "errors.RecordTooLargeException",
    [KP_ERR_STALE_CONTROLLER_EPOCH] = "errors.ControllerMovedException",
    [KP_ERR_OFFSET_METADATA_TOO_LARGE] = "errors.OffsetMetadataTooLarge",
    [KP_ERR_NETWORK_EXCEPTION] = "errors.NetworkException",
    [KP_ERR_COORDINATOR_LOAD_IN_PROGRESS] = "errors.CoordinatorLoadInProgressException",
    [KP_ERR_COORDINATOR_NOT_AVAILABLE] = "errors.CoordinatorNotAvailableException",
    [KP_ERR_NOT_COORDINATOR] = "errors.NotCoordinatorException",
    [KP_ERR_INVALID_TOPIC_EXCEPTION] = "errors.InvalidTopicException",
    [KP_ERR_RECORD_LIST_TOO_LARGE] = "errors.RecordBatchTooLargeException",
    [KP_ERR_NOT_ENOUGH_REPLICAS] = "errors.NotEnoughReplicasException",
    [KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND] = "errors.NotEnoughReplicasAfterAppendException",
    [KP_ERR_INVALID_REQUIRED_ACKS] = "errors.InvalidRequiredAcksException",
    [KP_ERR_ILLEGAL_GENERATION] = "errors.IllegalGenerationException",
    [KP_ERR_INCONSISTENT_GROUP_PROTOCOL] = "errors.InconsistentGroupProtocolException",
    [KP_ERR_INVALID_GROUP_ID] = "errors.InvalidGroupIdException",
    [KP_ERR_UNKNOWN_MEMBER_ID] = "errors.UnknownMemberIdException",
    [KP_ERR_INVALID_SESSION_TIMEOUT] = "errors.InvalidSessionTimeoutException",
    [KP_ERR_REBALANCE_IN_PROGRESS] = "errors.RebalanceInProgressException",
    [KP_ERR_INVALID_COMMIT_OFFSET_SIZE] = "errors.InvalidCommitOffsetSizeException",
    [KP_ERR_TOPIC_AUTHORIZATION_FAILED] = "errors.TopicAuthorizationException",
    [KP_ERR_GROUP_AUTHORIZATION_FAILED] = "errors.GroupAuthorizationException",
    [KP_ERR_CLUSTER_AUTHORIZATION_FAILED] = "errors.ClusterAuthorizationException",
    [KP_ERR_INVALID_TIMESTAMP] = "errors.InvalidTimestampException",
    [KP_ERR_UNSUPPORTED_SASL_MECHANISM] = "errors.UnsupportedSaslMechanismException",
    [KP_ERR_ILLEGAL_SASL_STATE] = "errors.IllegalSaslStateException",
    [KP_ERR_UNSUPPORTED_VERSION] = "errors.UnsupportedVersionException",
    [KP_ERR_TOPIC_ALREADY_EXISTS] = "errors.TopicExistsException",
    [KP_ERR_INVALID_PARTITIONS] = "errors.InvalidPartitionsException",
    [KP_ERR_INVALID_REPLICATION_FACTOR] = "errors.InvalidReplicationFactorException",
    [KP_ERR_INVALID_REPLICA_ASSIGNMENT] = "errors.InvalidReplicaAssignmentException",
    [KP_ERR_INVALID_CONFIG] = "errors.InvalidConfigurationException",
    [KP_ERR_NOT_CONTROLLER] = "errors.NotControllerException",
    [KP_ERR_INVALID_REQUEST] = "errors.InvalidRequestException",
    [KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT] = "errors.UnsupportedForMessageFormatException",
    [KP_ERR_POLICY_VIOLATION] = "errors.PolicyViolationException",
    [KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER] = "errors.OutOfOrderSequenceException",
    [KP_ERR_DUPLICATE_SEQUENCE_NUMBER] = "errors.DuplicateSequenceException",
    [KP_ERR_INVALID_PRODUCER_EPOCH] = "errors.ProducerFencedException",
    [KP_ERR_INVALID_TXN_STATE] = "errors.InvalidTxnStateException",
    [KP_ERR_INVALID_PRODUCER_ID_MAPPING] = "errors.InvalidPidMappingException",
    [KP_ERR_INVALID_TRANSACTION_TIMEOUT] = "errors.InvalidTxnTimeoutException",
    [KP_ERR_CONCURRENT_TRANSACTIONS] = "errors.ConcurrentTransactionsException",
    [KP_ERR_TRANSACTION_COORDINATOR_FENCED] = "errors.TransactionCoordinatorFencedException",
    [KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED] = "errors.TransactionalIdAuthorizationException",
    [KP_ERR_SECURITY_DISABLED] = "errors.SecurityDisabledException",
    [KP_ERR_OPERATION_NOT_ATTEMPTED] = "errors.OperationNotAttemptedException",
    [KP_ERR_KAFKA_STORAGE_ERROR] = "errors.KafkaStorageException",
    [KP_ERR_LOG_DIR_NOT_FOUND] = "errors.LogDirNotFoundException",
    [KP_ERR_SASL_AUTHENTICATION_FAILED] = "errors.SaslAuthenticationException",
    [KP_ERR_UNKNOWN_PRODUCER_ID] = "errors.UnknownProducerIdException",
    [KP_ERR_REASSIGNMENT_IN_PROGRESS] = "errors.ReassignmentInProgressException",
    [KP_ERR_DELEGATION_TOKEN_AUTH_DISABLED] = "errors.DelegationTokenDisabledException",
    [KP_ERR_DELEGATION_TOKEN_NOT_FOUND] = "errors.DelegationTokenNotFoundException",
    [KP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH] = "errors.DelegationTokenOwnerMismatchException",
    [KP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED] = "errors.UnsupportedByAuthenticationException",
    [KP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED] = "errors.DelegationTokenAuthorizationException",
    [KP_ERR_DELEGATION_TOKEN_EXPIRED] = "errors.DelegationTokenExpiredException",
    [KP_ERR_INVALID_PRINCIPAL_TYPE] = "errors.InvalidPrincipalTypeException",
    [KP_ERR_NON_EMPTY_GROUP] = "errors.GroupNotEmptyException",
    [KP_ERR_GROUP_ID_NOT_FOUND] = "errors.GroupIdNotFoundException",
    [KP_ERR_FETCH_SESSION_ID_NOT_FOUND] = "errors.FetchSessionIdNotFoundException",
    [KP_ERR_INVALID_FETCH_SESSION_EPOCH] = "errors.InvalidFetchSessionEpochException",
    [KP_ERR_LISTENER_NOT_FOUND] = "errors.ListenerNotFoundException",
    [KP_ERR_TOPIC_DELETION_DISABLED] = "errors.TopicDeletionDisabledException",
    [KP_ERR_FENCED_LEADER_EPOCH] = "errors.FencedLeaderEpochException",
    [KP_ERR_UNKNOWN_LEADER_EPOCH] = "errors.UnknownLeaderEpochException",
    [KP_ERR_UNSUPPORTED_COMPRESSION_TYPE] = "errors.UnsupportedCompressionTypeException",
    [KP_ERR_STALE_BROKER_EPOCH] = "errors.StaleBrokerEpochException",
    [KP_ERR_OFFSET_NOT_AVAILABLE] = "errors.OffsetNotAvailableException",
    [KP_ERR_MEMBER_ID_REQUIRED] = "errors.MemberIdRequiredException",
    [KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE] = "errors.PreferredLeaderNotAvailableException",
    [KP_ERR_GROUP_MAX_SIZE_REACHED] = "errors.GroupMaxSizeReachedException",
    [KP_ERR_FENCED_INSTANCE_ID] = "errors.FencedInstanceIdException",
    [KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE] = "errors.EligibleLeadersNotAvailableException",
    [KP_ERR_ELECTION_NOT_NEEDED] = "errors.ElectionNotNeededException",
    [KP_ERR_NO_REASSIGNMENT_IN_PROGRESS] = "errors.NoReassignmentInProgressException",
    [KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC] = "errors.GroupSubscribedToTopicException",
    [KP_ERR_INVALID_RECORD] = "InvalidRecordException",
    [KP_ERR_UNSTABLE_OFFSET_COMMIT] = "errors.UnstableOffsetCommitException",
};

/* What a Kafka 2.6 client does with a code it does not know
 * (Errors.forCode): UNKNOWN_SERVER_ERROR. */
static const char unknown_server[] = "errors.UnknownServerException";

static const char *class_of_code(int16_t code) {
    size_t n = sizeof(classes) / sizeof(classes[0]);

    if (code == KP_ERR_NONE) return NULL;
    if (code < 0 || (size_t)code >= n || classes[code] == NULL) return unknown_server;
    return classes[code];
}

/* The admin client gives up on a call whose deadline passed, whether no
 * broker could be reached or one did not answer, with a TimeoutException;
 * a broker without the API is an UnsupportedVersionException. */
static const char *class_of_status(int status) {
    switch (status) {
    case KCL_EUNREACHABLE:
    case KCL_ETIMEOUT: return "errors.TimeoutException";
    case KCL_EUNSUPPORTED: return "errors.UnsupportedVersionException";
    default: return NULL;
    }
}

const char *kcl_exception_text(const kcl_error_t *e, char *buf, size_t size) {
    const char *cls = e->status == KCL_EBROKER ? class_of_code(e->kafka_error) : class_of_status(e->status);

    if (cls == NULL) snprintf(buf, size, "%s", e->message);
    else snprintf(buf, size, JAVA_PACKAGE "%s: %s", cls, e->message);
    return buf;
}
