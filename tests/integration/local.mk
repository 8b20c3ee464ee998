# tests/integration: the pytest acceptance suite (real ZooKeeper, brokers and
# Kafka clients).  scripts/test.sh runs it against the build; here it is only
# shipped in the tarball, as a whole directory (a new scenario file needs no
# line here), without Python's byte-code caches and without the KafkaJS that
# `npm ci` installed (the tarball has the lockfile to install it again).
EXTRA_DIST += tests/integration

dist-hook: dist-integration-clean
.PHONY: dist-integration-clean
dist-integration-clean:
	chmod -R u+w $(distdir)/tests/integration
	rm -rf $(distdir)/tests/integration/__pycache__ $(distdir)/tests/integration/.pytest_cache \
	  $(distdir)/tests/integration/kafkajs/node_modules
