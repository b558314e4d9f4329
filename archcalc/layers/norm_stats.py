"""Normalisation over other axes than batchnorm's: layernorm, groupnorm and LRN (see norm.py for the
shared per-element counts).

layernorm / groupnorm
    shape        unchanged; groupnorm takes [C, *] with C divisible by groups
    params       affine weight (and bias) over the normalised shape (layernorm) or per channel (groupnorm:
                 2C, or C with bias: false, timm's GroupNorm1NoBias)
    flops        (5 + affine scale + affine shift) per element
    connections  (1 + affine) per element
lrn (across channels; torch pads the channel window with size//2 before and (size-1)//2 after)
    flops        per element: 1 square + (w_c - 1) adds + 4 (times alpha/n, plus k, power, divide),
                 where w_c is the number of real channels in the window of channel c
    connections  w_c per element

Receptive field: position-wise (see norm.py). Training: backward about the forward cost.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, elements, numel, register
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.norm import ChannelAffineNorm, StatsNorm


@register
class LayerNorm(StatsNorm):
    name = "layernorm"
    summary = "layer normalisation over the last `dims` axes"
    attrs = (
        Attr("dims", Int(), 1, "how many trailing axes are normalised together"),
        Attr("eps", Float(0.0), 1e-5),
        Attr("affine", Bool(), True, "elementwise scale (and shift)"),
        Attr("bias", Bool(), True, "the affine shift"),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if a["dims"] > len(ins[0]):
            raise ArchcalcError(f"layernorm: dims {a['dims']} exceeds the input rank {len(ins[0])}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        if not a["affine"]:
            return Params()
        return Params(trainable=numel(ins[0][-a["dims"] :]) * (2 if a["bias"] else 1))

    def explain_params(self, a: Attrs, ins: list[Shape]) -> dict:
        if not a["affine"]:
            return {}
        normalised = elements(ins[0], start=len(ins[0]) - a["dims"])
        return {"params": 2 * normalised if a["bias"] else normalised}

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.LayerNorm(list(ins[0][-a["dims"] :]), a["eps"], a["affine"], a["bias"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        def read(call) -> dict:
            m, dims = call.module, len(call.module.normalized_shape)
            if tuple(call.in_shapes[0][-dims:]) != tuple(m.normalized_shape):
                raise CannotMap(f"normalized_shape {list(m.normalized_shape)} is not the input's trailing axes")
            return {"dims": dims, "eps": m.eps, "affine": m.elementwise_affine,
                    "bias": not m.elementwise_affine or m.bias is not None}  # fmt: skip

        def function(call) -> dict:
            b = call.bind("input", "normalized_shape", "weight", "bias", "eps", weight=None, bias=None, eps=1e-5)
            shape = tuple(b["normalized_shape"])
            if tuple(call.in_shapes[0][-len(shape):]) != shape:
                raise CannotMap(f"normalized_shape {list(shape)} is not the input's trailing axes")
            if b["weight"] is None and b["bias"] is not None:
                raise CannotMap("a shift without a scale")
            return {"dims": len(shape), "eps": b["eps"], "affine": b["weight"] is not None,
                    "bias": b["weight"] is None or b["bias"] is not None}  # fmt: skip

        return (ImportRule(self.name, modules=(nn.LayerNorm,), read=read),
                ImportRule(self.name, functions=(F.layer_norm,), read=function, weight_operands=True,
                           note="weight and bias: the model's parameters"))


@register
class GroupNorm(ChannelAffineNorm):
    name = "groupnorm"
    summary = "group normalisation: channels split into groups, normalised per group"
    attrs = (
        Attr("groups", Int(), doc="number of channel groups", aliases=("num_groups",)),
        Attr("eps", Float(0.0), 1e-5),
        Attr("affine", Bool(), True),
        Attr("bias", Bool(), True, "the affine shift (false: timm's GroupNorm1NoBias)"),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        # torch takes [C, *], spatial axes optional: a plain feature vector [C] is normalised per group too
        if ins[0][0] % a["groups"]:
            raise ArchcalcError(f"groupnorm: channels {ins[0][0]} are not divisible by groups {a['groups']}")
        return ins[0]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        norm = nn.GroupNorm(a["groups"], ins[0][0], a["eps"], a["affine"])
        if a["affine"] and not a["bias"]:
            norm.bias = None  # torch's GroupNorm has no bias flag; its forward passes bias=None on
        return norm

    def torch_import(self) -> tuple:
        from torch import nn

        from torch.nn import functional as F

        def read(call) -> dict:
            m = call.module
            return {"groups": m.num_groups, "eps": m.eps, "affine": m.affine, "bias": not m.affine or m.bias is not None}

        def function(call) -> dict:
            """F.group_norm with the module's weight and bias (timm's GroupNormAct, GroupNorm1)."""
            b = call.bind("input", "num_groups", "weight", "bias", "eps", weight=None, bias=None, eps=1e-5)
            if b["weight"] is None and b["bias"] is not None:
                raise CannotMap("a bias without a weight")
            if any(tuple(t.shape) != (call.in_shapes[0][0],) for t in call.weights):
                raise CannotMap("its weights are not one value per channel")
            return {"groups": b["num_groups"], "eps": b["eps"], "affine": b["weight"] is not None,
                    "bias": b["weight"] is None or b["bias"] is not None}

        return (ImportRule(self.name, modules=(nn.GroupNorm,), read=read),
                ImportRule(self.name, functions=(F.group_norm,), read=function, weight_operands=True,
                           note="weight and bias: the model's parameters"))


@register
class LocalResponseNorm(LayerType):
    name = "lrn"
    summary = "local response normalisation across channels (AlexNet: size 5, k 2)"
    category = "norm"
    attrs = (
        Attr("size", Int(), 5, "channels in the window"),
        Attr("alpha", Float(), 1e-4),
        Attr("beta", Float(), 0.75),
        Attr("k", Float(), 1.0),
    )
    flops_rule = "per element: 1 + (w_c - 1) + 4, w_c = real channels in the window"
    connections_rule = "per element: w_c"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise ArchcalcError(f"lrn needs a [C, ...] input with spatial axes, got {list(ins[0])}")
        return ins[0]

    @staticmethod
    def window_total(size: int, channels: int) -> int:
        """Sum over channels of the real channels in each window, in closed form (no loop over C).

        Channel c + o is in channel c's window for offsets o in [-before, after]; offset o pairs up
        C - |o| channels, so the total is the sum over offsets of max(0, C - |o|).
        """
        before, after = size // 2, (size - 1) // 2

        def up_to(last: int) -> int:  # offsets 0..last: sum of C - o
            last = min(last, channels - 1)
            return (last + 1) * channels - last * (last + 1) // 2

        return up_to(after) + up_to(before) - channels  # offset 0 was counted by both

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        positions = numel(out) // out[0]
        return positions * self.window_total(a["size"], out[0]) + 4 * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) // out[0] * self.window_total(a["size"], out[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        window = Formula("Σw_c", Const(self.window_total(a["size"], out[0])),
                         f"w_c: channels that exist in the size-{a['size']} window around channel c, summed over C")
        links, positions = Term("Σw_c", window.value), elements(out, start=1)
        return counts(
            flops=Group(links + 4 * Term("C", out[0])) * positions,
            connections=links * positions,
            notes={"FLOPs": "per element: 1 square + (w_c − 1) adds + 4 (scale, add k, power, divide)"},
            defs=[window],
        )

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"])

    def torch_import(self) -> tuple:
        from torch import nn

        def read(call) -> dict:
            m = call.module
            return {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}

        return (ImportRule(self.name, modules=(nn.LocalResponseNorm,), read=read),)
