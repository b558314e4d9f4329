"""Human-readable numbers: 138.36 M, 15.47 G, 528 MiB. Exact integers stay available elsewhere.

Shared by the renderers, check, conventions and bench, so it sits below all of them (archcalc/render/units.py
re-exports it for the renderers).
"""

from __future__ import annotations

_SCALES = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


def human(value: int) -> str:
    """Two decimals and an SI prefix above 1,000; the exact integer below."""
    for scale, suffix in _SCALES:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {suffix}"
    return str(value)


def human_bytes(value: int) -> str:
    for scale, suffix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= scale:
            return f"{value / scale:.2f} {suffix}"
    return f"{value} B"


def exact(value: int) -> str:
    return f"{value:,}"


def shape_text(shape: list[int] | None) -> str:
    return "x".join(map(str, shape)) if shape else ""


def pair_text(pair: list[int] | None) -> str:
    """A per-axis value (a receptive field): one number when every spatial axis agrees, else 7x3 (x5)."""
    if not pair:
        return "-"
    return str(pair[0]) if len(set(pair)) == 1 else "x".join(str(value) for value in pair)


def share(part: int, whole: int) -> str:
    """A part of a total as a percentage with one decimal (presentation only; counts stay exact)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"
