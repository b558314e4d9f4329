"""The layer registry: every module in this package that defines layer types registers them on import.

Adding a layer type means adding (or extending) one module here; nothing else needs to know.
"""

from __future__ import annotations

import importlib
import pkgutil

from archcalc.layers.base import IDENTITY, NO_PARAMS, REGISTRY, LayerType, Params, RFStep, Shape, numel, register

_INFRASTRUCTURE = {"attrs", "axes", "base", "formula", "geometry", "imports"}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _INFRASTRUCTURE:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["IDENTITY", "NO_PARAMS", "REGISTRY", "LayerType", "Params", "RFStep", "Shape", "numel", "register"]
