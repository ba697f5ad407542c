"""Benchmarks of CLIP Compare against the usual ways of running CLIP; see bench/README.md."""
