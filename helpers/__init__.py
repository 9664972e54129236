"""Helpers for ConvNets from Scratch: gradient checks, data and plots."""
