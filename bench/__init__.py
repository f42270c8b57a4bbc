"""Benchmarks. ``python -m bench`` runs the off-chain suite (see bench/README.md)."""
