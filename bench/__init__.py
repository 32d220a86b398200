"""Benchmarks, run as scripts (python bench/NAME.py). A package only so that mypy tells
bench/tunnel.py from the tunnel package."""
