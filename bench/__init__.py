"""presswatch benchmarks (issue 9): `bench/run --help`, docs/performance.md."""
