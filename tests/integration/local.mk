# tests/integration: the pytest acceptance suite (real ZooKeeper, brokers and
# Kafka clients).  scripts/test.sh runs it against the build; here it is only
# shipped in the tarball, as a whole directory (a new scenario file needs no
# line here), without Python's byte-code caches.
EXTRA_DIST += tests/integration

dist-hook: dist-integration-clean
.PHONY: dist-integration-clean
dist-integration-clean:
	chmod -R u+w $(distdir)/tests/integration
	rm -rf $(distdir)/tests/integration/__pycache__ $(distdir)/tests/integration/.pytest_cache
