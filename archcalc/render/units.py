"""Human-readable numbers and notation for the renderers. The numbers (human, human_bytes, exact,
shape_text, pair_text, share) live in archcalc/units.py, below every package that uses them (check,
conventions and bench too), and are re-exported here; the layer notation below is the renderers' own."""

from __future__ import annotations

from archcalc.units import exact, human, human_bytes, pair_text, shape_text, share


def axes_text(value) -> str:
    """A per-axis value: '3' when every axis agrees, '7x1' when not; scalars as they are."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value and all(v == value[0] for v in value) else "x".join(str(v) for v in value)
    return str(value)


def hyper_text(attributes: dict) -> str:
    """The hyper-parameters of a layer in the notation of a paper's table: 'k3 s2 p1 g32 d2'.

    kernel, then stride, padding and dilation where they are not the identity, and groups above 1.
    Padding lists every side when they differ (as the spec gives them: '0,1,0,1'). A layer applied over leading
    axes (`over: k`) starts with 'over k'.
    """
    parts = [f"over {attributes['over']}"] if attributes.get("over") else []
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


__all__ = ["axes_text", "exact", "human", "human_bytes", "hyper_text", "pair_text", "shape_text", "share"]
