/* test_client.c - runs the Check suites of client/. */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {kclient_suite(), kclient_admin_suite(), NULL};
    return unit_run(suites);
}
