"""Benchmarks and fault campaigns: each module prints figures and never asserts (see README.md)."""

__all__: list[str] = []
