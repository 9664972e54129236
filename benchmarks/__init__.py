"""Benchmarks for ConvNets from Scratch: `make bench` runs them all (benchmarks/run.py)."""
