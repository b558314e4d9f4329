"""Swin's window attention and patch merging, on channels-last feature maps [H, W, C] (Liu et al. 2021, as
torchvision's swin_t builds them).

window_attention (torchvision's ShiftedWindowAttention, v1)
    the map is padded to whole windows (pad_H = ⌈H / w_h⌉·w_h, likewise W), cyclically shifted by `shift`
    (0 on an axis whose padded size the window covers), cut into windows = (pad_H / w_h)·(pad_W / w_w)
    windows of N = w_h·w_w tokens, and each window attends within itself with H heads of D = C / H:
    params       C·3C + C·C (+ 3C and C with the biases) + (2w_h − 1)(2w_w − 1)·H (relative-position table)
    buffers      N² (the table index, torchvision's relative_position_index)
    macs, flops  the attention terms (attention_cost.py) per window, times the windows, with L = S = N: the
                 qkv and output projections, scaling, QKᵀ, the relative-position bias (one add per score),
                 the shift mask (one add per score, shifted blocks only), softmax, A·V. Building the mask
                 and gathering the bias from the table are constant bookkeeping, not counted.
    memory       the score matrices, windows·H·N² elements (`flash: true`: not)
patch_merge (torchvision's _patch_merging_pad: [H, W, C] -> [⌈H/2⌉, ⌈W/2⌉, 4C], the 2x2 neighbours side by
side along the channels; odd sizes padded with zeros). Only moves data.

Receptive field: a channels-last map is outside the channels-first field analysis (None).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attention import _Attention
from archcalc.layers.attention_cost import AttentionGeometry
from archcalc.layers.attrs import Attr, Bool, Int, Sizes
from archcalc.layers.base import Attrs, LayerType, Params, Shape, register
from archcalc.layers.formula import Const, Formula, Group, Term, ceil, counts
from archcalc.layers.imports import ImportRule


def _require_map(layer: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise ArchcalcError(f"{layer} needs a channels-last map [H, W, C], got shape {list(shape)}")


@register
class WindowAttention(_Attention):
    name = "window_attention"
    fused_kernel = False  # torchvision's F.linear and Tensor.matmul, which fvcore counts
    fvcore_exact = True
    summary = "Swin's (shifted) window self-attention with a relative-position bias, on [H, W, C]"
    attrs = (
        Attr("num_heads", Int(), doc="heads H", aliases=("heads",)),
        Attr("window", Sizes(2), 7, "window size [w_h, w_w]"),
        Attr("shift", Sizes(2, 0), 0, "cyclic shift [s_h, s_w] (Swin's odd blocks: half the window)"),
        Attr("qkv_bias", Bool(), True),
        Attr("proj_bias", Bool(), True),
        Attr("flash", Bool(), False, "a fused kernel that never stores the score matrices (memory only)"),
    )

    def padded(self, a: Attrs, shape: Shape) -> tuple[int, int]:
        _require_map(self.name, shape)
        return tuple(-(-size // w) * w for size, w in zip(shape[:2], a["window"]))  # type: ignore[return-value]

    def shifted(self, a: Attrs, shape: Shape) -> bool:
        padded = self.padded(a, shape)
        return any(s and w < p for s, w, p in zip(a["shift"], a["window"], padded))

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        (height, width), channels, heads = self.padded(a, ins[0]), ins[0][2], a["num_heads"]
        if channels % heads:
            raise ArchcalcError(f"window_attention: {channels} channels do not split into {heads} heads")
        if any(s >= w for s, w in zip(a["shift"], a["window"])):
            raise ArchcalcError(f"window_attention: shift {list(a['shift'])} must be below the window "
                                f"{list(a['window'])}")  # fmt: skip
        tokens = a["window"][0] * a["window"][1]
        return AttentionGeometry(
            queries=tokens, keys=tokens, heads=heads, kv_heads=heads, head_dim=channels // heads,
            value_dim=channels // heads, embed_dim=channels, bias=a["qkv_bias"], out_bias=a["proj_bias"],
            biased_scores=True, masked=self.shifted(a, ins[0]),
            windows=(height // a["window"][0]) * (width // a["window"][1]))  # fmt: skip

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.geometry(a, ins)
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        C, (w_h, w_w), heads = ins[0][2], a["window"], a["num_heads"]
        weights = C * 3 * C + (3 * C if a["qkv_bias"] else 0) + C * C + (C if a["proj_bias"] else 0)
        return Params(trainable=weights + (2 * w_h - 1) * (2 * w_w - 1) * heads, buffers=(w_h * w_w) ** 2)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The relative-position bias table is a position embedding: (2w_h − 1)(2w_w − 1)·H."""
        (w_h, w_w), heads = a["window"], a["num_heads"]
        return (2 * w_h - 1) * (2 * w_w - 1) * heads

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        """C·3C (+ 3C) + C·C (+ C) + (2w_h − 1)(2w_w − 1)·H; buffers (w_h·w_w)²."""
        C, H, (w_h, w_w) = Term("C", ins[0][2]), Term("heads", a["num_heads"]), a["window"]
        qkv = C * 3 * C + 3 * C if a["qkv_bias"] else C * 3 * C
        proj = C * C + C if a["proj_bias"] else C * C
        table = Group(2 * Term("w_h", w_h) - 1) * Group(2 * Term("w_w", w_w) - 1) * H
        tokens = Group(Term("w_h", w_h) * Term("w_w", w_w))
        return qkv + proj + table, tokens * tokens

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"{name}_out", Term(name, size)) for name, size in zip(("H", "W", "C"), ins[0])]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        formulas = super().explain_counts(a, ins, out)
        (w_h, w_w), (pad_h, pad_w) = a["window"], self.padded(a, ins[0])
        windows = Formula("windows", (ceil(Term("H", ins[0][0]) / Term("w_h", w_h))
                                      * ceil(Term("W", ins[0][1]) / Term("w_w", w_w))),
                          f"padded to {pad_h}x{pad_w}" + ("; shifted" if self.shifted(a, ins[0]) else ""))
        return [windows] + formulas

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_attention as ta

        return ta.WindowAttention(ins[0][2], tuple(a["window"]), tuple(a["shift"]), a["num_heads"], a["qkv_bias"],
                                  a["proj_bias"])  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_attention as ta

        def read(call) -> dict:
            m = call.module
            return {"num_heads": m.num_heads, "window": list(m.window_size), "shift": list(m.shift_size),
                    "qkv_bias": m.qkv.bias is not None, "proj_bias": m.proj.bias is not None}  # fmt: skip

        return (ImportRule(self.name, modules=(ta.WindowAttention,), read=read),)


@register
class PatchMerge(LayerType):
    name = "patch_merge"
    summary = "Swin's 2x2 patch merging on [H, W, C]: [⌈H/2⌉, ⌈W/2⌉, 4C] (neighbours side by side)"
    category = "structure"
    data_movement = True

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _require_map(self.name, ins[0])
        height, width, channels = ins[0]
        return (-(-height // 2), -(-width // 2), 4 * channels)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        height, width, channels = ins[0]
        return [Formula("H_out", ceil(Term("H", height) / Const(2)), "odd sizes padded"),
                Formula("W_out", ceil(Term("W", width) / Const(2))),
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

        return (ImportRule(self.name, modules=(tt.PatchMerge,)),)
