"""Shared helpers for the NTU ML 2022 Spring homework notebooks.

Importing this package has no side effects: nothing is seeded, downloaded or queried
(CUDA included) until a function is called.
"""
