/*
 * test_serving.c - runner of the serving-path suites: hosted partitions
 * and their delayed operations, the Kafka listener's framing, the sendfile
 * output, the API dispatcher, the controller's election decisions and the
 * broker side of the controller's requests.  They run in a
 * program of their own because they link the hand-made cluster view
 * (viewfix.c) in place of coord/kc_view.c.
 */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {replica_suite(), net_suite(), sendfile_suite(), api_suite(), election_suite(), control_suite(), NULL};
    return unit_run(suites);
}
