"""Windows, heads or rows folded into torch's batch before a per-sample layer: the call as one slice sees it.

EfficientViT's cascaded group attention runs `Conv2d` on `[B·heads, C, H, W]`, MobileViT its attention on
`[B·patches, N, C]`, Sequencer an LSTM on `[B·H, W, C]`: the batch is merged as the outermost factor of axis 0
(importer/layout.py), so one sample is `[s, C, H, W]`, and the module, reading axis 0 as its batch, runs on each
of the s slices on its own. When the layer type's rules refuse the whole sample, the dispatcher (mapping.py)
asks them again about one slice `[C, H, W]` and writes the layer with `over: 1` (archcalc/layers/over.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from archcalc.importer.layout import Layout
from archcalc.layers.imports import Call, CannotMap

FOLDED = Layout(0, merged=True)


def folded_view(view: Call, shapes: list[tuple[int, ...]], layouts: list[Layout],
                out_layouts: list[Layout]) -> Call | None:  # fmt: skip
    """`view` for one slice of the leading axis, or None unless every activation and output holds the batch merged
    into axis 0 with the same leading size (then torch's batch axis is the batch and the slices together)."""
    if not layouts or any(layout != FOLDED for layout in list(layouts) + list(out_layouts)):
        return None
    lead = shapes[0][:1]
    if any(len(shape) < 2 or shape[:1] != lead for shape in list(shapes) + list(view.out_shapes)):
        return None
    outs = [shape[1:] for shape in view.out_shapes]
    return replace(view, in_shapes=[shape[1:] for shape in shapes], out_shape=outs[0], out_shapes=outs,
                   batch_axis=0, batch_merged=False)  # fmt: skip


def reads_lead(layer: Any, layers: list, shapes: list[tuple[int, ...]]) -> bool:
    """Whether the type's rules read the leading axis of the whole sample as theirs (a batch norm's channels, a
    conv's, an LSTM's steps): its output's other axes or its parameters change with that axis's size, or the rules
    refuse another size. Elementwise and last-axis layers (relu, linear, layernorm) do not: for them the whole sample
    and each slice are the same computation, and they stay as they are; so do the types that only move data (a
    reshape or permute of the whole sample moves the same elements)."""
    if layer.data_movement:
        return False
    attrs, out = layers[0]
    grown = [(shape[0] + 1,) + tuple(shape[1:]) for shape in shapes]
    try:
        shape = tuple(layer.shape(attrs, grown))
        if len(shape) != len(out) or shape[1:] != tuple(out[1:]):
            return True
        return layer.params(attrs, grown, shape) != layer.params(attrs, shapes, out)
    except Exception:  # noqa: BLE001 - a rule that refuses the other size reads that axis
        return True


def whole_or_sliced(mapper: Any, call: Any, view: Call, sliced: Call | None, rules: list, activations: list,
                    choice: dict) -> tuple[int, tuple, Any]:  # fmt: skip
    """(over, what `Mapper.chosen` found, the weight use) for the call read as a whole sample (over 0) or, when the
    batch is folded into axis 0 (`sliced`), as one slice (over 1): the slice when the whole is refused or its
    rules would read the folded axis as theirs. CannotMap when neither maps, naming both reasons."""
    found: list[tuple[int, tuple]] = []
    failure = None
    try:
        found.append((0, mapper.chosen(view, rules, activations, 0, **choice)))
    except CannotMap as exc:
        if sliced is None:
            raise
        failure = exc
    if sliced is not None and (not found or reads_lead(found[0][1][1], found[0][1][2], found[0][1][4])):
        try:
            found.insert(0, (1, mapper.chosen(sliced, rules, activations, 1, **choice)))
        except CannotMap as exc:
            if not found:
                raise CannotMap(f"{failure}; per slice of the windows or heads folded into axis 0: {exc}") from None
    def held(chosen: tuple) -> Any:
        rule, layer, layers, _, shapes = chosen
        return mapper.held(call, choice["weights"], layer, layers, shapes, rule.layer)

    for over, chosen in found[:-1]:  # the slice first; its weights may still not fit (then the whole sample)
        try:
            return over, chosen, held(chosen)
        except CannotMap:
            pass
    over, chosen = found[-1]
    return over, chosen, held(chosen)
