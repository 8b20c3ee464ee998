/* test_common.c - runs the Check suites of common/. */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {worker_suite(), names_suite(), fd_budget_suite(), NULL};
    return unit_run(suites);
}
