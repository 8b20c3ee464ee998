/* test_broker.c - runs the Check suites of broker/. */
#include "tests/unit/unit.h"

int main(void) {
    Suite *suites[] = {config_suite(),          log_suite(),          log_limits_suite(),
                       logcreate_suite(),       retention_suite(),    flusher_suite(),
                       producer_state_suite(),  topic_config_suite(), isr_suite(),
                       session_record_suite(),  log_timestamp_suite(), epoch_cache_suite(),
                       log_truncate_suite(),    elect_moves_suite(),  NULL};
    return unit_run(suites);
}
