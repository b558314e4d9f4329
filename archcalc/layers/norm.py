"""Normalisation by statistics per channel: batchnorm and instancenorm, generic over the input rank
(`batchnorm`, `instancenorm`) or fixed to it as torch's classes are (`batchnorm1d` on [F] or [C, L],
`batchnorm2d`, `batchnorm3d`; `instancenorm1d/2d/3d`). layernorm, groupnorm and LRN are in norm_stats.py.

Statistics-based norms count, per output element: 5 FLOPs to normalise (mean: 1 add; variance:
subtract, square, add; scale by the inverse deviation: 1), +1 for an affine scale and +1 for an affine
shift. The per-group scalar work (one divide, one square root) is not counted.

batchnorm (inference: running statistics fold into one scale and one shift per channel)
    params       2C trainable when affine; buffers 2C + 1 (running mean, variance, num_batches_tracked)
    flops        2 per element (x * scale + shift)
    connections  (1 + affine) per element (the shift counts as a bias link)
instancenorm
    shape        unchanged; without running statistics it needs more than one position per channel
                 (torch rejects a 1x1 map)
    params       as batchnorm (2C affine; 2C + 1 buffers with running statistics)
    flops        (5 + affine scale + affine shift) per element
    connections  (1 + affine) per element

Receptive field: all of these keep each position in place. Their statistics do mix positions, but,
as in Araujo et al., normalisation is treated as position-wise (the autograd check sets it to identity).

Training: backward about the forward cost (the default rule); the affine scale and shift are trained.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Float
from archcalc.layers.base import (Attrs, LayerType, Params, Shape, axis_names, elements, numel, rank_text, register,
                                  register_ranks, require_rank, torch_class)  # fmt: skip
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule

# batchnorm1d reads [F] or [C, L] as torch's BatchNorm1d does; the others one rank each.
_BATCHNORM_RANKS = {None: (1, 2, 3, 4), 1: (1, 2), 2: (3,), 3: (4,)}


def require_input_rank(layer: str, shape: Shape, spatial_rank: int | None) -> None:
    ranks = _BATCHNORM_RANKS[spatial_rank]
    if len(shape) not in ranks:
        expected = " or ".join(rank_text(rank) for rank in ranks) if spatial_rank else "a rank 1 to 4"
        raise ArchcalcError(f"{layer} needs {expected} input, got shape {list(shape)}")


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


class RunningStats:
    """What batchnorm and instancenorm share, at any rank: 2C affine parameters, 2C + 1 buffers with running
    statistics, torch's `<prefix>1d/2d/3d` class by rank; the rank-fixed names import as the generic one."""

    torch_prefix: str = ""

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        c = ins[0][0]
        return Params(trainable=2 * c if a["affine"] else 0, buffers=2 * c + 1 if a["track_running_stats"] else 0)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        rank = self.spatial_rank or max(len(ins[0]) - 1, 1)  # type: ignore[attr-defined]
        return torch_class(self.torch_prefix, rank)(ins[0][0], a["eps"], a["momentum"], a["affine"],
                                                     a["track_running_stats"])  # fmt: skip

    def torch_import(self) -> tuple:
        if self.spatial_rank is not None:  # type: ignore[attr-defined]
            return ()  # imported_as: torch's classes of every rank import as the generic type
        modules = tuple(torch_class(self.torch_prefix, rank) for rank in (1, 2, 3))
        return (ImportRule(self.name, modules=modules, read=running_stats_attrs),)  # type: ignore[attr-defined]


def _norm_links(a: Attrs, shift: bool, out: Shape):
    """(1 + shift) per element: the input, plus the shift as a bias link."""
    return (Const(2) * elements(out)) if shift else elements(out)


def _per_channel(a: Attrs, shape: Shape) -> dict:
    """Trainable 2C (affine) and buffers 2C + 1 (running mean, variance, batch count), as formulas."""
    c = Term(axis_names(len(shape))[0], shape[0])
    return {"params": 2 * c if a["affine"] else 0, "buffers": 2 * c + 1 if a["track_running_stats"] else None}


class _BatchNorm(RunningStats, _Norm):
    family = "batchnorm"
    torch_prefix = "BatchNorm"
    imported_as = "batchnorm"  # torch's BatchNorm1d/2d/3d: `batchnorm` takes the rank of its input
    summary = "batch normalisation; running statistics are buffers"
    attrs = (
        Attr("eps", Float(0.0), 1e-5),
        Attr("momentum", Float(0.0, 1.0), 0.1),
        Attr("affine", Bool(), True),
        Attr("track_running_stats", Bool(), True),
    )
    flops_rule = "2 * out (folded scale and shift)"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_input_rank(self.name, ins[0], self.spatial_rank)
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(flops=2 * elements(out), connections=_norm_links(a, a["affine"], out),
                      notes={"FLOPs": "inference: the statistics fold into one scale and one shift per channel"},
                      **_per_channel(a, ins[0]))  # fmt: skip



@register
class BatchNorm(_BatchNorm):
    name = "batchnorm"
    imported_as = None
    summary = "batch normalisation (1-D, 2-D or 3-D by input rank); running statistics are buffers"

    def torch_import(self) -> tuple:
        """torch's modules, and F.batch_norm with the module's weights as operands (timm's BatchNormAct2d calls
        it, then its activation); the calling module's num_batches_tracked, which the call never reads, is
        held with them (importer/weight_views.py)."""
        from torch.nn import functional as F

        def functional(call) -> dict:
            b = call.bind("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps",
                          weight=None, bias=None, training=False, momentum=0.1, eps=1e-5)  # fmt: skip
            tracked = b["running_mean"] is not None and b["running_var"] is not None
            if (b["weight"] is None) != (b["bias"] is None):
                raise CannotMap("a weight without a bias (or a bias without a weight)")
            if b["training"] and tracked:
                raise CannotMap("normalises with batch statistics while updating the running ones (training)")
            if len(call.in_shapes[0]) < 1 or any(t.shape != (call.in_shapes[0][0],) for t in call.weights):
                raise CannotMap("its weights are not one value per channel")
            return {"eps": b["eps"], "momentum": b["momentum"], "affine": b["weight"] is not None,
                    "track_running_stats": tracked}  # fmt: skip

        return super().torch_import() + (ImportRule(self.name, functions=(F.batch_norm,), read=functional,
                                                    weight_operands=True, note="eval, the module's weights"),)


register_ranks(_BatchNorm, {1: "batchnorm1d", 2: "batchnorm2d", 3: "batchnorm3d"}, {
    1: "batch normalisation over [F] or [C, L] (torch's BatchNorm1d); running statistics are buffers",
    2: "batch normalisation over [C, H, W] (torch's BatchNorm2d); running statistics are buffers",
    3: "batch normalisation over [C, D, H, W] (torch's BatchNorm3d); running statistics are buffers"})


class StatsNorm(_Norm):
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


class _InstanceNorm(RunningStats, StatsNorm):
    family = "instancenorm"
    torch_prefix = "InstanceNorm"
    imported_as = "instancenorm"  # torch's InstanceNorm1d/2d/3d: `instancenorm` takes the rank of its input
    summary = "instance normalisation (per sample and channel)"
    attrs = (
        Attr("eps", Float(0.0), 1e-5),
        Attr("momentum", Float(0.0, 1.0), 0.1),
        Attr("affine", Bool(), False),
        Attr("track_running_stats", Bool(), False),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if self.spatial_rank is not None:
            require_rank(self.name, ins[0], self.spatial_rank + 1)
        elif len(ins[0]) not in (2, 3, 4):
            raise ArchcalcError(f"{self.name} needs a [C, L], [C, H, W] or [C, D, H, W] input, got shape {list(ins[0])}")
        if numel(ins[0][1:]) == 1 and not a["track_running_stats"]:
            raise ArchcalcError(
                f"{self.name}: one position per channel has no variance to normalise by (torch rejects it); "
                "set track_running_stats to use running statistics"
            )
        return ins[0]



@register
class InstanceNorm(_InstanceNorm):
    name = "instancenorm"
    imported_as = None
    summary = "instance normalisation (per sample and channel; 1-D, 2-D or 3-D by input rank)"


register_ranks(_InstanceNorm, {1: "instancenorm1d", 2: "instancenorm2d", 3: "instancenorm3d"}, {
    1: "instance normalisation over [C, L] (torch's InstanceNorm1d)",
    2: "instance normalisation over [C, H, W] (torch's InstanceNorm2d)",
    3: "instance normalisation over [C, D, H, W] (torch's InstanceNorm3d)"})


class ChannelAffineNorm(StatsNorm):
    """A norm whose affine weight and bias hold one value per channel of [C, *] (group norm, ConvNeXt's
    LayerNorm2d): params = 2 C when affine (C without the bias: timm's GroupNorm1NoBias, LayerNorm2dNoBias),
    whatever is normalised together."""

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=(2 if a.get("bias", True) else 1) * ins[0][0] if a["affine"] else 0)

    def explain_params(self, a: Attrs, ins: list[Shape]) -> dict:
        if not a["affine"]:
            return {"params": 0}
        return {"params": 2 * Term("C", ins[0][0]) if a.get("bias", True) else Term("C", ins[0][0])}
