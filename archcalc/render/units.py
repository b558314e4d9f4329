"""Human-readable numbers: 138.36 M, 15.47 G, 528 MiB. Exact integers stay available elsewhere."""

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
    return "x".join(str(s) for s in shape) if shape else ""


def pair_text(pair: list[int] | None) -> str:
    """A per-axis result (receptive field, stride) of any rank: '7' when every axis agrees, '7x3' when not."""
    return axes_text(pair) if pair else "-"


def share(part: int, whole: int) -> str:
    """A part of a total as a percentage with one decimal (presentation only; counts stay exact)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def axes_text(value) -> str:
    """A per-axis value: '3' when every axis agrees, '7x1' when not; scalars as they are."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value and all(v == value[0] for v in value) else "x".join(str(v) for v in value)
    return str(value)


def hyper_text(attributes: dict) -> str:
    """The hyper-parameters of a layer in the notation of a paper's table: 'k3 s2 p1 g32 d2'.

    kernel, then stride, padding and dilation where they are not the identity, and groups above 1.
    Padding lists every side when they differ (as the spec gives them: '0,1,0,1').
    """
    parts = []
    if "kernel" in attributes:
        parts.append("k" + axes_text(attributes["kernel"]))
    stride = attributes.get("stride")
    if stride is not None and any(v != 1 for v in (stride if isinstance(stride, (list, tuple)) else [stride])):
        parts.append("s" + axes_text(stride))
    padding = attributes.get("padding")
    if isinstance(padding, str):
        parts.append(f"p={padding}")
    elif isinstance(padding, (list, tuple)) and any(padding):
        parts.append("p" + (str(padding[0]) if all(v == padding[0] for v in padding) else ",".join(map(str, padding))))
    elif isinstance(padding, int) and padding:
        parts.append(f"p{padding}")
    dilation = attributes.get("dilation")
    if dilation is not None and any(v != 1 for v in (dilation if isinstance(dilation, (list, tuple)) else [dilation])):
        parts.append("d" + axes_text(dilation))
    groups = attributes.get("groups")
    if isinstance(groups, int) and groups > 1:
        parts.append(f"g{groups}")
    if "output_size" in attributes:
        parts.append("out " + axes_text(attributes["output_size"]))
    return " ".join(parts)
