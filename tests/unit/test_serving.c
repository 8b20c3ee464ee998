/*
 * test_serving.c - runner of the serving-path suites: hosted partitions
 * and their delayed operations, the Kafka listener's framing, the sendfile
 * output, the API dispatcher, the controller's election decisions and its
 * requests to brokers, the broker side of those requests, the topic
 * deletion service of DeleteTopics, the
 * inter-broker RPC channel, and the consumer group coordinator over real
 * partitions.  They run in a
 * program of their own because they link the hand-made cluster view
 * (viewfix.c) in place of coord/kc_view.c.
 */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {replica_suite(), net_suite(), sendfile_suite(), api_suite(), partition_adder_suite(), capacity_suite(), election_suite(), reassign_rules_suite(), rpc_channel_suite(),
                       ctl_queue_suite(), control_suite(), topic_deleter_suite(), group_coordinator_suite(), NULL};
    return unit_run(suites);
}
