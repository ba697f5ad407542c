"""The version of CLIP Compare's core, recorded in the provenance of every saved run."""

__version__ = "0.1.0"
