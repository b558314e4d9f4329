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

Training: backward about the forward cost (the default rule); the affine scale and shift are trained.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, axis_names, elements, numel, register
from archcalc.layers.formula import Const, Formula, Group, Term, counts


def running_stats_attrs(call) -> dict:
    """Import: the attributes of torch's BatchNorm and InstanceNorm modules. momentum None (a cumulative
    average) changes no count, so the spec keeps its default then."""
    m = call.module
    return {"eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats}


class _Norm(LayerType):
    category = "norm"
    connections_rule = "out * (1 + affine shift)"

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (2 if a["affine"] else 1)


def _norm_links(a: Attrs, shift: bool, out: Shape):
    """(1 + shift) per element: the input, plus the shift as a bias link."""
    return (Const(2) * elements(out)) if shift else elements(out)


def _per_channel(a: Attrs, shape: Shape) -> dict:
    """Trainable 2C (affine) and buffers 2C + 1 (running mean, variance, batch count), as formulas."""
    c = Term(axis_names(len(shape))[0], shape[0])
    return {"params": 2 * c if a["affine"] else 0, "buffers": 2 * c + 1 if a["track_running_stats"] else None}


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

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(flops=2 * elements(out), connections=_norm_links(a, a["affine"], out),
                      notes={"FLOPs": "inference: the statistics fold into one scale and one shift per channel"},
                      **_per_channel(a, ins[0]))  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        cls = nn.BatchNorm2d if len(ins[0]) == 3 else nn.BatchNorm1d
        return cls(ins[0][0], a["eps"], a["momentum"], a["affine"], a["track_running_stats"])

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc.importer.rules import ImportRule

        return (ImportRule(self.name, modules=(nn.BatchNorm1d, nn.BatchNorm2d), read=running_stats_attrs),)


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

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        scale, shift = self.affine_ops(a)
        per_element = Const(5) + Const(1) if scale else Const(5)
        per_element = per_element + Const(1) if shift else per_element
        return counts(
            flops=Group(per_element) * elements(out) if scale else Const(5) * elements(out),
            connections=_norm_links(a, bool(shift), out),
            notes={"FLOPs": "per element: 5 to normalise" + (" + 1 scale" if scale else "")
                   + (" + 1 shift" if shift else "")},
            **self.explain_params(a, ins),
        )  # fmt: skip

    def explain_params(self, a: Attrs, ins: list[Shape]) -> dict:
        return _per_channel(a, ins[0])


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

        from archcalc.importer.rules import CannotMap, ImportRule

        def read(call) -> dict:
            m, dims = call.module, len(call.module.normalized_shape)
            if tuple(call.in_shapes[0][-dims:]) != tuple(m.normalized_shape):
                raise CannotMap(f"normalized_shape {list(m.normalized_shape)} is not the input's trailing axes")
            return {"dims": dims, "eps": m.eps, "affine": m.elementwise_affine,
                    "bias": not m.elementwise_affine or m.bias is not None}  # fmt: skip

        return (ImportRule(self.name, modules=(nn.LayerNorm,), read=read),)


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

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc.importer.rules import ImportRule

        return (ImportRule(self.name, modules=(nn.InstanceNorm1d, nn.InstanceNorm2d), read=running_stats_attrs),)


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

    def explain_params(self, a: Attrs, ins: list[Shape]) -> dict:
        return {"params": 2 * Term("C", ins[0][0]) if a["affine"] else 0}

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.GroupNorm(a["groups"], ins[0][0], a["eps"], a["affine"])

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc.importer.rules import ImportRule

        def read(call) -> dict:
            return {"groups": call.module.num_groups, "eps": call.module.eps, "affine": call.module.affine}

        return (ImportRule(self.name, modules=(nn.GroupNorm,), read=read),)


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

        from archcalc.importer.rules import ImportRule

        def read(call) -> dict:
            m = call.module
            return {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}

        return (ImportRule(self.name, modules=(nn.LocalResponseNorm,), read=read),)
