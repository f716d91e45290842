"""Benchmark scripts (run as files) and the data generators they share with the tests."""
