"""Benchmarks: one module per concern, run with ``python -m bench <name> [--quick]``."""
