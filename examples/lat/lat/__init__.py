"""Toy Fermi-LAT-like gamma-ray telescope: an example experiment release for hepstack.

Importing ``lat`` imports nothing beyond the standard library; each processing step
imports only what it needs (see README.md, "Imports per step").
"""

from __future__ import annotations

__version__ = "1.0.0"
__all__ = ["__version__"]
