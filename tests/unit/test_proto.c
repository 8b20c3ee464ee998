/* test_proto.c - runs the Check suites of proto/. */
#include "tests/unit/unit.h"

int main(void) {
    /* One suite per line, so that suites added side by side merge cleanly. */
    Suite *suites[] = {
        buf_suite(),
        apiversions_suite(),
        metadata_suite(),
        batch_suite(),
        produce_suite(),
        fetch_suite(),
        listoffsets_suite(),
        createtopics_suite(),
        createpartitions_suite(),
        configs_suite(),
        deleterecords_suite(),
        deletetopics_suite(),
        electleaders_suite(),
        group_suite(),
        group_records_suite(),
        offsets_suite(),
        groupadmin_suite(),
        client_codecs_suite(),
        client_admin_codecs_suite(),
        initproducerid_suite(),
        reassign_codec_suite(),
        client_reassign_codec_suite(),
        codec_suite(),
        records_suite(),
        recompress_suite(),
        rpc_suite(),
        NULL,
    };
    return unit_run(suites);
}
