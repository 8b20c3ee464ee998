/* test_coord.c - runs the Check suites of coord/. */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {json_suite(), assign_suite(), topic_grow_suite(), zkclient_suite(), reassign_json_suite(), NULL};
    return unit_run(suites);
}
