"""Helpers of scripts/bench.py."""
