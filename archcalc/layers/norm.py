"""Normalisation: batchnorm, layernorm, instancenorm, groupnorm and LRN.

Statistics-based norms count, per output element: 5 FLOPs to normalise (mean: 1 add; variance:
subtract, square, add; scale by the inverse deviation: 1), +1 for an affine scale and +1 for an affine
shift. The per-group scalar work (one divide, one square root) is not counted.

batchnorm (inference: running statistics fold into one scale and one shift per channel)
    params       2C trainable when affine; buffers 2C + 1 (running mean, variance, num_batches_tracked)
    flops        2 per element (x * scale + shift)
    connections  (1 + affine) per element (the shift counts as a bias link)
layernorm / instancenorm / groupnorm
    shape        unchanged; instancenorm without running statistics needs more than one position per
                 channel (torch rejects a 1x1 map), groupnorm takes [C, *] with C divisible by groups
    params       affine weight (and bias) over the normalised shape (layernorm) or per channel
    flops        (5 + affine scale + affine shift) per element
    connections  (1 + affine) per element
lrn (across channels; torch pads the channel window with size//2 before and (size-1)//2 after)
    flops        per element: 1 square + (w_c - 1) adds + 4 (times alpha/n, plus k, power, divide),
                 where w_c is the number of real channels in the window of channel c
    connections  w_c per element

Receptive field: all of these keep each position in place. Their statistics do mix positions, but,
as in Araujo et al., normalisation is treated as position-wise (the autograd check sets it to identity).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, numel, register, require_rank


class _Norm(LayerType):
    category = "norm"
    connections_rule = "out * (1 + affine shift)"

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (2 if a["affine"] else 1)


@register
class BatchNorm(_Norm):
    name = "batchnorm"
    summary = "batch normalisation (1-D or 2-D by input rank); running statistics are buffers"
    attrs = (
        Attr("eps", Float(0.0), 1e-5),
        Attr("momentum", Float(0.0, 1.0), 0.1),
        Attr("affine", Bool(), True),
        Attr("track_running_stats", Bool(), True),
    )
    flops_rule = "2 * out (folded scale and shift)"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) not in (1, 2, 3):
            raise ArchcalcError(f"batchnorm needs a rank 1 to 3 input, got shape {list(ins[0])}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        c = ins[0][0]
        return Params(
            trainable=2 * c if a["affine"] else 0,
            buffers=2 * c + 1 if a["track_running_stats"] else 0,
        )

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        cls = nn.BatchNorm2d if len(ins[0]) == 3 else nn.BatchNorm1d
        return cls(ins[0][0], a["eps"], a["momentum"], a["affine"], a["track_running_stats"])


class _StatsNorm(_Norm):
    flops_rule = "out * (5 + affine scale + affine shift)"

    @staticmethod
    def affine_ops(a: Attrs) -> tuple[int, int]:
        """(scale, shift): which affine operations run per element."""
        return (1, 1 if a.get("bias", True) else 0) if a["affine"] else (0, 0)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        scale, shift = self.affine_ops(a)
        return numel(out) * (5 + scale + shift)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (1 + self.affine_ops(a)[1])


@register
class LayerNorm(_StatsNorm):
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

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.LayerNorm(list(ins[0][-a["dims"] :]), a["eps"], a["affine"], a["bias"])


@register
class InstanceNorm(_StatsNorm):
    name = "instancenorm"
    summary = "instance normalisation (per sample and channel)"
    attrs = (
        Attr("eps", Float(0.0), 1e-5),
        Attr("momentum", Float(0.0, 1.0), 0.1),
        Attr("affine", Bool(), False),
        Attr("track_running_stats", Bool(), False),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) not in (2, 3):
            raise ArchcalcError(f"instancenorm needs a [C, L] or [C, H, W] input, got shape {list(ins[0])}")
        if numel(ins[0][1:]) == 1 and not a["track_running_stats"]:
            raise ArchcalcError(
                "instancenorm: one position per channel has no variance to normalise by (torch rejects it); "
                "set track_running_stats to use running statistics"
            )
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        c = ins[0][0]
        return Params(
            trainable=2 * c if a["affine"] else 0,
            buffers=2 * c + 1 if a["track_running_stats"] else 0,
        )

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        cls = nn.InstanceNorm2d if len(ins[0]) == 3 else nn.InstanceNorm1d
        return cls(ins[0][0], a["eps"], a["momentum"], a["affine"], a["track_running_stats"])


@register
class GroupNorm(_StatsNorm):
    name = "groupnorm"
    summary = "group normalisation: channels split into groups, normalised per group"
    attrs = (
        Attr("groups", Int(), doc="number of channel groups", aliases=("num_groups",)),
        Attr("eps", Float(0.0), 1e-5),
        Attr("affine", Bool(), True),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        # torch takes [C, *], spatial axes optional: a plain feature vector [C] is normalised per group too
        if ins[0][0] % a["groups"]:
            raise ArchcalcError(f"groupnorm: channels {ins[0][0]} are not divisible by groups {a['groups']}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=2 * ins[0][0] if a["affine"] else 0)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.GroupNorm(a["groups"], ins[0][0], a["eps"], a["affine"])


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
        """Sum over channels of the real channels in each window."""
        before, after = size // 2, (size - 1) // 2
        return sum(min(channels - 1, c + after) - max(0, c - before) + 1 for c in range(channels))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        positions = numel(out) // out[0]
        return positions * self.window_total(a["size"], out[0]) + 4 * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) // out[0] * self.window_total(a["size"], out[0])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.LocalResponseNorm(a["size"], a["alpha"], a["beta"], a["k"])
