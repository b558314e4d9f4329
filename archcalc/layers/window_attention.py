"""Swin's window attention and patch merging, on channels-last maps [*S, C] (Liu et al. 2021, as torchvision
builds them: [H, W, C] for swin_t, [T, H, W, C] for swin3d_t).

window_attention (torchvision's ShiftedWindowAttention, v1, and ShiftedWindowAttention3d), any spatial rank
    the map is padded to whole windows (pad_i = ⌈S_i / w_i⌉·w_i on each spatial axis), cyclically shifted by
    `shift` (0 on an axis whose padded size the window covers), cut into windows = Π pad_i / w_i windows of
    N = Π w_i tokens, and each window attends within itself with H heads of D = C / H. With `fit`
    (torchvision's Swin3D) a window at least as large as the map shrinks to it first (w_i = min(w_i, S_i))
    instead of the map being padded up to it:
    params       C·3C + C·C (+ 3C and C with the biases) + Π(2w_i − 1)·H (relative-position table)
    buffers      N² of the configured window (the table index, torchvision's relative_position_index)
    macs, flops  the attention terms (attention_cost.py) per window, times the windows, with L = S = N: the
                 qkv and output projections, scaling, QKᵀ, the relative-position bias (one add per score),
                 the shift mask (one add per score, shifted blocks only), softmax, A·V. Building the mask
                 and gathering the bias from the table are constant bookkeeping, not counted.
    memory       the score matrices, windows·H·N² elements (`flash: true`: not)
window_attention_v2 (Swin V2, window_attention_v2.py) shares the windows and adds cosine attention and the
continuous position bias.
patch_merge (torchvision's _patch_merging_pad: [*, H, W, C] -> [*, ⌈H/2⌉, ⌈W/2⌉, 4C], the 2x2 neighbours of
the last two spatial axes side by side along the channels, odd sizes padded with zeros; Swin3D merges only
H and W of [T, H, W, C]). Only moves data.

Receptive field: a channels-last map is outside the channels-first field analysis (None).
"""

from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.attention import _Attention
from archcalc.layers.attention_cost import AttentionGeometry
from archcalc.layers.attrs import Attr, AxisSizes, Bool, Int, per_axis
from archcalc.layers.axes import spatial_names
from archcalc.layers.base import Attrs, LayerType, Params, Shape, register
from archcalc.layers.formula import Const, Formula, Group, Term, ceil, counts, product
from archcalc.layers.imports import CannotMap, ImportRule


def _require_map(layer: str, shape: Shape, least: int = 2) -> None:
    if len(shape) < least:
        need = ("[*, H, W, C] (two or more spatial axes, then the channels)" if least == 3
                else "[*S, C] (one or more spatial axes, then the channels)")
        raise ArchcalcError(f"{layer} needs a channels-last map {need}, got shape {list(shape)}")


class _Windows(_Attention):
    """The windows of Swin's attention, shared by window_attention and window_attention_v2."""

    fused_kernel = False  # torchvision's F.linear and Tensor.matmul, which fvcore counts
    fvcore_exact = True
    attrs = (
        Attr("num_heads", Int(), doc="heads H", aliases=("heads",)),
        Attr("window", AxisSizes(), 7, "window size per spatial axis ([w_h, w_w]; [w_t, w_h, w_w] for video)"),
        Attr("shift", AxisSizes(0), 0, "cyclic shift per spatial axis (Swin's odd blocks: half the window)"),
        Attr("fit", Bool(), False, "a window at least as large as the map shrinks to it (torchvision's Swin3D) "
                                   "instead of the map being padded to it"),  # fmt: skip
        Attr("qkv_bias", Bool(), True),
        Attr("proj_bias", Bool(), True),
        Attr("flash", Bool(), False, "a fused kernel that never stores the score matrices (memory only)"),
    )

    def configured(self, a: Attrs, shape: Shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(window, shift) as configured, one per spatial axis."""
        _require_map(self.name, shape)
        rank = len(shape) - 1
        window, shift = per_axis(self.name, "window", a["window"], rank), per_axis(self.name, "shift", a["shift"], rank)
        if any(s >= w for s, w in zip(shift, window)):
            raise ArchcalcError(f"{self.name}: shift {list(shift)} must be below the window {list(window)}")
        return window, shift

    def used(self, a: Attrs, shape: Shape) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
        """(window, padded sizes, shifted) on this map: the window after `fit`, the map padded to whole windows,
        and whether any axis is shifted (one the window does not cover)."""
        window, shift = self.configured(a, shape)
        if a["fit"]:
            window = tuple(min(w, size) for w, size in zip(window, shape))
        padded = tuple(-(-size // w) * w for size, w in zip(shape, window))
        return window, padded, any(s and w < p for s, w, p in zip(shift, window, padded))

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        window, padded, shifted = self.used(a, ins[0])
        channels, heads = ins[0][-1], a["num_heads"]
        if channels % heads:
            raise ArchcalcError(f"{self.name}: {channels} channels do not split into {heads} heads")
        tokens = math.prod(window)
        return AttentionGeometry(
            queries=tokens, keys=tokens, heads=heads, kv_heads=heads, head_dim=channels // heads,
            value_dim=channels // heads, embed_dim=channels, bias=a["qkv_bias"], out_bias=a["proj_bias"],
            biased_scores=True, masked=shifted, windows=math.prod(p // w for p, w in zip(padded, window)),
            **self.extra_geometry(a, ins[0]))  # fmt: skip

    def extra_geometry(self, a: Attrs, shape: Shape) -> dict:
        return {}

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.geometry(a, ins)
        return ins[0]

    def projections(self, a: Attrs, channels: int) -> int:
        """The qkv and output projections' weights and biases."""
        return 4 * channels * channels + (3 * channels if a["qkv_bias"] else 0) + (channels if a["proj_bias"] else 0)

    def explain_projections(self, a: Attrs, channels: int):
        C = Term("C", channels)
        qkv = C * 3 * C + 3 * C if a["qkv_bias"] else C * 3 * C
        return qkv + (C * C + C if a["proj_bias"] else C * C)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        names = spatial_names(len(ins[0]) - 1) + ("C",)
        return [Formula(f"{name}_out", Term(name, size)) for name, size in zip(names, ins[0])]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        formulas = super().explain_counts(a, ins, out)
        window, padded, shifted = self.used(a, ins[0])
        names = spatial_names(len(ins[0]) - 1)
        per_axis_windows = [ceil(Term(name, size) / Term(f"w_{name.lower()}", w))
                            for name, size, w in zip(names, ins[0], window)]  # fmt: skip
        note = "padded to " + "x".join(map(str, padded)) + ("; shifted" if shifted else "")
        return [Formula("windows", product(per_axis_windows), note)] + formulas

    @staticmethod
    def read_window(m) -> dict:
        return {"num_heads": m.num_heads, "window": list(m.window_size), "shift": list(m.shift_size),
                "qkv_bias": m.qkv.bias is not None, "proj_bias": m.proj.bias is not None}  # fmt: skip


@register
class WindowAttention(_Windows):
    name = "window_attention"
    summary = "Swin's (shifted) window self-attention with a relative-position bias table, on [*S, C]"

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        window, _ = self.configured(a, ins[0])
        table = math.prod(2 * w - 1 for w in window) * a["num_heads"]
        return Params(trainable=self.projections(a, ins[0][-1]) + table, buffers=math.prod(window) ** 2)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The relative-position bias table is a position embedding: Π(2w_i − 1)·H."""
        window, _ = self.configured(a, ins[0])
        return math.prod(2 * w - 1 for w in window) * a["num_heads"]

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        """C·3C (+ 3C) + C·C (+ C) + Π(2w_i − 1)·H; buffers (Π w_i)²."""
        window, _ = self.configured(a, ins[0])
        names = [f"w_{name.lower()}" for name in spatial_names(len(window))]
        table = product([Group(2 * Term(n, w) - 1) for n, w in zip(names, window)]) * Term("heads", a["num_heads"])
        tokens = Group(product([Term(n, w) for n, w in zip(names, window)]))
        return self.explain_projections(a, ins[0][-1]) + table, tokens * tokens

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_window as tw

        window, shift = self.configured(a, ins[0])
        return tw.WindowAttention(ins[0][-1], window, shift, a["num_heads"], a["qkv_bias"], a["proj_bias"], a["fit"])

    def torch_import(self) -> tuple:
        from archcalc import torch_window as tw

        def read(call) -> dict:
            if len(call.module.window_size) != len(call.in_shapes[0]) - 1:
                raise CannotMap(f"a window on {len(call.module.window_size)} axes over a map of shape "
                                f"{list(call.in_shapes[0])}")  # fmt: skip
            return {**self.read_window(call.module), "fit": getattr(call.module, "fit", False)}

        def read_3d(call) -> dict:
            return {**read(call), "fit": True}

        return (ImportRule(self.name, modules=(tw.WindowAttention,), read=read),
                ImportRule(self.name, foreign=("torchvision.models.swin_transformer.ShiftedWindowAttention",),
                           read=read),
                ImportRule(self.name, foreign=("torchvision.models.video.swin_transformer.ShiftedWindowAttention3d",),
                           read=read_3d, note="`fit`: its window shrinks to a smaller map"))  # fmt: skip


@register
class PatchMerge(LayerType):
    name = "patch_merge"
    summary = "Swin's 2x2 patch merging on [*, H, W, C]: [*, ⌈H/2⌉, ⌈W/2⌉, 4C] (neighbours side by side)"
    category = "structure"
    data_movement = True

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _require_map(self.name, ins[0], least=3)
        *leading, height, width, channels = ins[0]
        return (*leading, -(-height // 2), -(-width // 2), 4 * channels)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        names = spatial_names(len(ins[0]) - 1)
        *leading, height, width, channels = ins[0]
        kept = [Formula(f"{name}_out", Term(name, size)) for name, size in zip(names, leading)]
        return kept + [Formula(f"{names[-2]}_out", ceil(Term(names[-2], height) / Const(2)), "odd sizes padded"),
                       Formula(f"{names[-1]}_out", ceil(Term(names[-1], width) / Const(2))),
                       Formula("C_out", Group(Const(4)) * Term("C", channels), "the 2x2 neighbours")]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "padding, strided slices and a concatenation only move data"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.PatchMerge()

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        return (ImportRule(self.name, modules=(tt.PatchMerge,)),
                ImportRule(self.name, foreign=("torchvision.models.swin_transformer._patch_merging_pad",)))
