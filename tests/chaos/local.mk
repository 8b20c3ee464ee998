# tests/chaos: the chaos tier (network namespaces, faults, the history
# checker).  scripts/test.sh runs it as root against the build; here it is
# only shipped in the tarball, as a whole directory, without byte-code caches.
EXTRA_DIST += tests/chaos

dist-hook: dist-chaos-clean
.PHONY: dist-chaos-clean
dist-chaos-clean:
	chmod -R u+w $(distdir)/tests/chaos
	rm -rf $(distdir)/tests/chaos/__pycache__ $(distdir)/tests/chaos/.pytest_cache
