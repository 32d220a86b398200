"""Benchmarks, run as scripts (python bench/NAME.py). A package only so that mypy tells
bench/pbx.py and bench/tunnel.py from the pbx and tunnel packages."""
