# tests/integration: the pytest acceptance suite (real ZooKeeper, brokers and
# Kafka clients).  scripts/test.sh runs it against the build; here it is only
# shipped in the tarball, file by file so that no __pycache__ comes along.
EXTRA_DIST += \
	tests/integration/pytest.ini \
	tests/integration/conftest.py \
	tests/integration/kbharness.py \
	tests/integration/kafkawire.py \
	tests/integration/test_a_topic_creation.py \
	tests/integration/test_b_controller_failover.py \
	tests/integration/test_c_session_expiry.py \
	tests/integration/test_d_zookeeper_outage.py \
	tests/integration/test_e_bad_inputs.py \
	tests/integration/test_f_python_clients.py \
	tests/integration/test_g_codecs_and_clients.py \
	tests/integration/test_h_long_poll_and_list_offsets.py \
	tests/integration/test_i_kill9_durability.py \
	tests/integration/test_j_segment_recovery.py \
	tests/integration/test_k_crafted_produce_requests.py \
	tests/integration/test_l_create_topics.py \
	tests/integration/test_m_configs.py \
	tests/integration/test_n_retention.py \
	tests/integration/test_o_idempotence.py \
	tests/integration/test_p_compressed_batches.py
