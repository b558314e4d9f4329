"""Windows, heads or rows folded into torch's batch before a per-sample layer: the call as one slice sees it.

EfficientViT's cascaded group attention runs `Conv2d` on `[B·heads, C, H, W]`, MobileViT its attention on
`[B·patches, N, C]`, Sequencer an LSTM on `[B·H, W, C]`: the batch is merged as the outermost factor of axis 0
(importer/layout.py), so one sample is `[s, C, H, W]`, and the module, reading axis 0 as its batch, runs on each
of the s slices on its own. When the layer type's rules refuse the whole sample, the dispatcher (mapping.py)
asks them again about one slice `[C, H, W]` and writes the layer with `over: 1` (archcalc/layers/over.py).
"""

from __future__ import annotations

from dataclasses import replace

from archcalc.importer.layout import Layout
from archcalc.layers.imports import Call

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
