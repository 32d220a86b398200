"""Benchmarks: scripts run as files (a package only so mypy names bench/pbx.py bench.pbx)."""
