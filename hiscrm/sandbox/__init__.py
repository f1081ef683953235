"""A local imitation of the Douyin creator web, for tests, demos and benchmarks (see docs/sandbox.md)."""
