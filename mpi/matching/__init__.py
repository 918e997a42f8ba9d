"""Probabilistic patient matching: blocking keys, field comparisons, weights, zones, vetoes."""
