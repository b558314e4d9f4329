"""archcalc: exact shapes, parameters, MACs, FLOPs, connections, memory and receptive fields of
neural-network architectures, from declarative specs, proven against torch.

    >>> from archcalc import load_spec, analyse
    >>> report = analyse(load_spec("vgg16"))
    >>> report.totals.params
    138357544
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["ArchcalcError", "analyse", "load_spec", "load_spec_text", "__version__"]

# Loaded on first use: `import archcalc.cli` (the console script) then starts with almost nothing
# imported, so a Ctrl-C during start-up reaches the CLI's handler (exit 130, no traceback).
_LAZY = {"analyse": "archcalc.analysis", "ArchcalcError": "archcalc.errors", "load_spec": "archcalc.spec",
         "load_spec_text": "archcalc.spec"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archcalc' has no attribute {name!r}")
