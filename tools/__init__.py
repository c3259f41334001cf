"""Maintainers' tools (not imported by the notebooks)."""
