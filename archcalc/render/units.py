"""Human-readable numbers for the renderers: they live in archcalc/units.py, below every package that
uses them (check, conventions and bench too); this module re-exports them."""

from archcalc.units import exact, human, human_bytes, pair_text, shape_text, share

__all__ = ["exact", "human", "human_bytes", "pair_text", "shape_text", "share"]
