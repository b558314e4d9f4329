"""Receptive fields, after Araujo, Norris and Sim, "Computing Receptive Fields of CNNs" (Distill 2019).

Per spatial axis (L for [C, L]; H, W for [C, H, W]; D, H, W for [C, D, H, W]), every node carries
    r  receptive field size      (input pixels one output position sees)
    j  effective stride          (input pixels between neighbouring output positions)
    P  effective padding         (output position x sees input pixels x*j - P ... x*j - P + r - 1)
starting from the input (r = 1, j = 1, P = 0). A layer with kernel k, dilation d (effective kernel
k' = (k - 1) d + 1), stride s and padding p before the first element gives
    r' = r + (k' - 1) j        j' = j s        P' = P + p j
which is the seeds' bottom-up rule RF_{l+1} = RF_l + (k_{l+1} - 1) * prod(strides); padding does not
change r. Where inputs merge (add, mul, concat) the field is the union over inputs (so at least the
largest); a node is flagged not aligned when its inputs' fields have different strides or centres.
Inputs of spatial size 1 that broadcast (the SE scale) see the whole image and do not count as
misaligned. The field ends (None) at layers whose output does not keep the input's rank (flatten,
global pooling without keep_dims) or that have no single window geometry (linear, strided transposed
conv, upsampling, uneven adaptive pooling); an input without spatial axes ([F]) has none at all.

`top_down_chain` is the seeds' other form, for one sequential path: from a layer down to the input,
r_i = s_i * (r_{i+1} - 1) + k'_i with r = 1 above the top layer (padding plays no part in r).
VGG16 from conv5_3 down: 3, 5, 7, 14 (pool4), 16, ..., 196 at conv1_1, the bottom-up field of conv5_3.
"""

from __future__ import annotations

from operator import add, mul, sub
from typing import NamedTuple

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, Node
from archcalc.layers import IDENTITY, RFStep, Shape


class Field(NamedTuple):
    """One node's receptive field, one entry per spatial axis (a tuple: cheap to build 100,000 of)."""

    size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    aligned: bool = True


def spatial_rank(graph: Graph) -> int:
    """Spatial axes of the graph's input: 0 for [F], 1 for [C, L], 2 for [C, H, W], 3 for [C, D, H, W]."""
    return len(graph.input_shape) - 1


def merge_fields(fields: list[Field], shapes: list[Shape], out: Shape) -> Field:
    """The union of the inputs' fields (add, mul, concat).

    Inputs of spatial size 1 that broadcast over a larger output (the SE scale) see the same input
    pixels from every output position. The merged field is then the smallest (r, j, P) whose window
    contains, at every output position x, both the moving local field and that fixed one:
    P = max(P_local, (out - 1) j - start_fixed), r = max(r_local + P - P_local, end_fixed + P + 1).
    Clipped to the input, that is exactly what autograd sees (the whole image after a global pool).
    """
    if len(fields) == 1:
        return fields[0]
    spatial = out[1:]
    if len(fields) == 2 and shapes[0][1:] == spatial == shapes[1][1:]:
        # The common case (a residual add): the rule below for two local fields, every axis at once (map with
        # operator: C speed). P = max(P_a, P_b), r = max(r_a - P_a, r_b - P_b) + P; aligned: equal strides and centres.
        a, b = fields
        aligned = a.aligned and b.aligned
        if a[:3] == b[:3]:
            return a if a.aligned == aligned else a._replace(aligned=aligned)
        pad = tuple(map(max, a.padding, b.padding))
        size = tuple(map(add, map(max, map(sub, a.size, a.padding), map(sub, b.size, b.padding)), pad))
        centre_a = tuple(map(sub, a.size, map(add, a.padding, a.padding)))  # 2 x centre + 1
        centre_b = tuple(map(sub, b.size, map(add, b.padding, b.padding)))
        aligned = aligned and a.stride == b.stride and centre_a == centre_b
        return Field(size, tuple(map(max, a.stride, b.stride)), pad, aligned)  # type: ignore[arg-type]
    local = [f for f, s in zip(fields, shapes) if s[1:] == spatial] or fields
    fixed = [f for f, s in zip(fields, shapes) if s[1:] != spatial and all(n == 1 for n in s[1:])]
    aligned = all(f.aligned for f in fields)
    first = local[0]
    if not fixed and all(f[:3] == first[:3] for f in local):  # one field seen along every path (the common case)
        return first if first.aligned == aligned else first._replace(aligned=aligned)
    size, stride, padding = [], [], []
    for axis in range(len(spatial)):
        start = min(-f.padding[axis] for f in local)
        end = max(-f.padding[axis] + f.size[axis] - 1 for f in local)
        step = max(f.stride[axis] for f in local)
        pad, span = -start, end - start + 1
        if fixed:
            fixed_start = min(-f.padding[axis] for f in fixed)
            fixed_end = max(-f.padding[axis] + f.size[axis] - 1 for f in fixed)
            widened = max(pad, (spatial[axis] - 1) * step - fixed_start)
            span = max(span + widened - pad, fixed_end + widened + 1)
            pad = widened
        size.append(span)
        padding.append(pad)
        stride.append(step)
        strides = {f.stride[axis] for f in local}
        centres = {2 * -f.padding[axis] + f.size[axis] - 1 for f in local}
        aligned = aligned and len(strides) == 1 and len(centres) == 1
    return Field(tuple(size), tuple(stride), tuple(padding), aligned)  # type: ignore[arg-type]


def receptive_fields(graph: Graph, shapes: dict[str, Shape], keys: list | None = None) -> dict[str, Field | None]:
    """Every node's field, bottom-up. `keys` (each node's signature, from analysis.shapes) lets nodes
    that read alike share one call of their `receptive_field` rule."""
    rank = spatial_rank(graph)
    start = Field((1,) * rank, (1,) * rank, (0,) * rank) if rank else None
    fields: dict[str, Field | None] = {INPUT: start}
    # signature -> the rule's step on `rank` axes, in the form the update below reads (see _growth), or None
    steps: dict = {}
    neutral = RFStep((1,) * rank)
    field_of, shape_of = fields.__getitem__, shapes.__getitem__  # mapped over inputs (C speed)
    for node, key in zip(graph.nodes, keys or [None] * len(graph.nodes)):
        name, names = node.name, node.inputs
        out = shapes[name]
        inputs = list(map(field_of, names))
        if len(out) != rank + 1 or None in inputs:
            fields[name] = None
            continue
        growth = steps.get(key, _UNKNOWN) if key is not None else _UNKNOWN
        if growth is _UNKNOWN:
            try:
                step = node.rule.receptive_field(node.attrs, list(map(shape_of, names)), out)
            except ArchcalcError as exc:
                raise node.error(exc) from None
            growth = _growth(step, rank, neutral)
            if key is not None:
                steps[key] = growth
        if growth is None:
            fields[name] = None
            continue
        merged = inputs[0] if len(inputs) == 1 else merge_fields(inputs, list(map(shape_of, names)), out)
        if growth is IDENTITY:  # every position stays where it is, the field too
            fields[name] = merged
            continue
        kernel_growth, padding, stride = growth
        # r' = r + (k' - 1) j, P' = P + p j, j' = j s, axis by axis (map with operator: C speed)
        fields[name] = Field(tuple(map(add, merged.size, map(mul, kernel_growth, merged.stride))),
                             merged.stride if stride is None else tuple(map(mul, merged.stride, stride)),
                             tuple(map(add, merged.padding, map(mul, padding, merged.stride))), merged.aligned)
    return fields


_UNKNOWN = object()


def _growth(step: RFStep | None, rank: int, neutral: RFStep) -> tuple | None:
    """A rule's step as receptive_fields applies it: None (the field ends), IDENTITY (it passes unchanged),
    or ((k - 1) d per axis, padding, stride or None when every stride is 1)."""
    if step is None:
        return None
    if not step.kernel:
        return IDENTITY
    step = step.for_rank(rank)
    if step == neutral:  # a 1x1 window, stride 1, no padding: the field passes unchanged
        return IDENTITY
    growth = tuple((k - 1) * d for k, d in zip(step.kernel, step.dilation))
    return growth, step.padding, None if all(s == 1 for s in step.stride) else step.stride


def top_down_chain(graph: Graph, shapes: dict[str, Shape], top: str) -> list[tuple[str, tuple[int, ...]]]:
    """(layer, receptive field per spatial axis: (h, w) for an image) for each layer on the path from
    `top` down to the input.

    Each entry is the field of one `top` position measured at that layer's input; the last entry is
    the field in input pixels. The path must be sequential: every layer on it has one input.
    """
    nodes: dict[str, Node] = {node.name: node for node in graph.nodes}
    if top not in nodes:
        raise ArchcalcError(f"no layer named {top!r}", file=graph.file)
    rank = spatial_rank(graph)
    if not rank:
        raise ArchcalcError(f"the input {list(graph.input_shape)} has no spatial axes: there is no receptive field",
                            file=graph.file)  # fmt: skip
    field = (1,) * rank
    chain: list[tuple[str, tuple[int, ...]]] = []
    name = top
    while name != INPUT:
        node = nodes[name]
        if len(node.inputs) != 1:
            raise node.error(ArchcalcError(f"merges {len(node.inputs)} inputs; the top-down chain needs a "
                                           "sequential path (use the bottom-up receptive_fields)"))  # fmt: skip
        try:
            step = node.rule.receptive_field(node.attrs, [shapes[node.inputs[0]]], shapes[name])
        except ArchcalcError as exc:
            raise node.error(exc) from None
        if step is None:
            raise node.error(ArchcalcError("the receptive field is not defined through this layer"))
        step = step.for_rank(rank)
        field = tuple(
            step.stride[axis] * (field[axis] - 1) + (step.kernel[axis] - 1) * step.dilation[axis] + 1
            for axis in range(rank)
        )
        chain.append((name, field))
        name = node.inputs[0]
    return chain
