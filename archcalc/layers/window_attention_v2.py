"""Swin V2's window attention (Liu et al. 2022, as torchvision's swin_v2_t builds it): the windows of
window_attention (window_attention.py) with cosine attention and a continuous position bias, on [*S, C].

window_attention_v2 (torchvision's ShiftedWindowAttentionV2)
    scores       cos(q, k) · exp(min(logit_scale, log 100)) per head (F.normalize of q and k, then QKᵀ), in
                 place of QKᵀ / √D; torchvision zeroes the key part of the qkv bias (of a copy, at every call:
                 the parameter keeps its 3C elements)
    bias         16·sigmoid of a table the MLP `cpb_mlp` (Linear(r, h) with bias, ReLU, Linear(h, H) without)
                 makes from the T = Π(2w_i − 1) log-spaced relative coordinates (the buffer
                 relative_coords_table, [1, *(2w_i − 1), r]), gathered by relative_position_index
    params       C·3C + C·C (+ 3C and C with the biases) + H (logit_scale) + r·h + h + h·H (cpb_mlp)
    buffers      r·T (relative_coords_table) + N² (relative_position_index), N = Π w_i
    macs, flops  the attention terms (attention_cost.py) per window, times the windows, with `normalize` and
                 `logit_scale` in place of `scale`; plus the bias, once per forward: the MLP's T·h·(r + H)
                 MACs and 16·sigmoid over H·N², which a batch of B computes once, not B times (`per_call`:
                 the totals count it once, as torch runs it; the per-sample rules include it once)
    memory       the score matrices, windows·H·N² elements (`flash: true`: not)
The cpb MLP's parameters are multiplied with coordinates, not looked up: no embedding parameters.

Receptive field: a channels-last map is outside the channels-first field analysis (None).
"""

from __future__ import annotations

import math

from archcalc.layers.attrs import Attr, Int
from archcalc.layers.axes import spatial_names
from archcalc.layers.base import Attrs, Params, Shape, register
from archcalc.layers.formula import Group, Term, product
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.window_attention import _Windows


@register
class WindowAttentionV2(_Windows):
    name = "window_attention_v2"
    summary = "Swin V2's (shifted) window attention: cosine scores, a continuous position bias MLP, on [*S, C]"
    attrs = _Windows.attrs + (Attr("cpb_hidden", Int(), 512, "hidden width h of the position bias MLP"),)

    def table_rows(self, window: tuple[int, ...]) -> int:
        return math.prod(2 * w - 1 for w in window)

    def extra_geometry(self, a: Attrs, shape: Shape) -> dict:
        window, _ = self.configured(a, shape)
        return {"cosine": True, "position_mlp": (len(window), a["cpb_hidden"], self.table_rows(window))}

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """The position bias (its MLP and 16·sigmoid) is computed once per call, whatever the batch."""
        terms = [t for t in self.geometry(a, ins).terms() if t.name in ("position_mlp", "position_bias")]
        return sum(t.macs for t in terms), sum(t.flops for t in terms)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        window, _ = self.configured(a, ins[0])
        r, h, heads = len(window), a["cpb_hidden"], a["num_heads"]
        trainable = self.projections(a, ins[0][-1]) + heads + r * h + h + h * heads
        return Params(trainable=trainable, buffers=r * self.table_rows(window) + math.prod(window) ** 2)

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        """C·3C (+ 3C) + C·C (+ C) + H + r·h + h + h·H; buffers r·Π(2w_i − 1) + (Π w_i)²."""
        window, _ = self.configured(a, ins[0])
        names = [f"w_{name.lower()}" for name in spatial_names(len(window))]
        H, h, r = Term("heads", a["num_heads"]), Term("h", a["cpb_hidden"]), Term("r", len(window))
        table = product([Group(2 * Term(n, w) - 1) for n, w in zip(names, window)])
        tokens = Group(product([Term(n, w) for n, w in zip(names, window)]))
        return self.explain_projections(a, ins[0][-1]) + H + r * h + h + h * H, r * table + tokens * tokens

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The attention's links plus the MLP's: T·h·(r + 1) + T·H·h."""
        window, _ = self.configured(a, ins[0])
        rows, r, h = self.table_rows(window), len(window), a["cpb_hidden"]
        return super().connections(a, ins, out) + rows * h * (r + 1) + rows * a["num_heads"] * h

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_window as tw

        window, shift = self.configured(a, ins[0])
        return tw.WindowAttentionV2(ins[0][-1], window, shift, a["num_heads"], a["qkv_bias"], a["proj_bias"],
                                    a["cpb_hidden"], a["fit"])  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_window as tw

        def read(call) -> dict:
            m = call.module
            if len(m.window_size) != len(call.in_shapes[0]) - 1:
                raise CannotMap(f"a window on {len(m.window_size)} axes over a map of shape {list(call.in_shapes[0])}")
            first, last = _cpb_linears(m)
            if first.in_features != len(m.window_size) or first.bias is None or last.bias is not None \
                    or last.out_features != m.num_heads:  # fmt: skip
                raise CannotMap("its cpb_mlp is not Linear(rank, h) with bias, ReLU, Linear(h, heads) without bias")
            return {**self.read_window(m), "cpb_hidden": first.out_features, "fit": getattr(m, "fit", False)}

        return (ImportRule(self.name, modules=(tw.WindowAttentionV2,), read=read),
                ImportRule(self.name, foreign=("torchvision.models.swin_transformer.ShiftedWindowAttentionV2",),
                           read=read))  # fmt: skip


def _cpb_linears(module) -> tuple:
    """The two linears of a Swin V2 attention's cpb_mlp (Linear, ReLU, Linear), or CannotMap."""
    from torch import nn

    mlp = getattr(module, "cpb_mlp", None)
    kinds = [type(layer) for layer in mlp] if isinstance(mlp, nn.Sequential) else []
    if kinds != [nn.Linear, nn.ReLU, nn.Linear]:
        raise CannotMap("its cpb_mlp is not Linear, ReLU, Linear")
    return mlp[0], mlp[2]
