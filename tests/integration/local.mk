EXTRA_DIST += tests/integration
