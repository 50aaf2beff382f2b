"""Benchmarks run with `make bench` (as scripts), never with `make test`."""

collect_ignore_glob = ["bench_*.py"]
