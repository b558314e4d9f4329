"""Names of a sample's axes, for formulas and messages: F; C, L; C, H, W; C, D, H, W.

Shapes put channels first, as torch does; the axes after the first are the spatial axes.
"""

from __future__ import annotations

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_WORDS = {"F": "features", "C": "channels", "L": "length", "D": "depth", "H": "height", "W": "width"}


def spatial_names(rank: int) -> tuple[str, ...]:
    """Symbols of the spatial axes: L; H, W; D, H, W (d0, d1, ... beyond)."""
    return _SPATIAL.get(rank, tuple(f"d{i}" for i in range(rank)))


def axis_names(rank: int) -> tuple[str, ...]:
    """Symbols of a sample's axes: F; C, L; C, H, W; C, D, H, W."""
    return ("F",) if rank == 1 else ("C",) + spatial_names(rank - 1)


def axis_word(rank: int, axis: int) -> str:
    """The spatial axis `axis` of a `rank`-axis map in words: length; height, width; depth, height, width."""
    symbol = spatial_names(rank - 1)[axis]
    return _WORDS.get(symbol, f"axis {axis + 1}")


def rank_text(rank: int) -> str:
    """[features], [channels, length], [channels, height, width], [channels, depth, height, width]."""
    if rank > 4:
        return f"rank {rank}"
    return "[" + ", ".join(_WORDS[name] for name in axis_names(rank)) + "]"
