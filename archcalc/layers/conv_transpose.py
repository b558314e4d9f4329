"""Transposed convolutions over 1, 2 or 3 spatial axes: conv_transpose1d, conv_transpose2d and
conv_transpose3d (fractionally strided, with output_padding), as torch's nn.ConvTranspose1d/2d/3d.

Each input element scatters into C_out / g * prod(k) outputs; b = 1 with a bias.

    shape        per axis out = (in - 1) s - 2 p + d (k - 1) + output_padding + 1 (must stay positive,
                 as torch requires: that bounds the padding); output_padding < max(stride, dilation)
    params       C_in * (C_out / g) * prod(k) + b * C_out; all non-trainable with `trainable: false`
                 (FCN-32s keeps its bilinear upsampling fixed)
    macs         C_in * prod(input spatial) * (C_out / g) * prod(k)
    flops        macs multiplies + (macs - covered) adds + b * out, where `covered` counts the output
                 elements that receive at least one product (stride > kernel leaves holes): per axis a
                 closed form (geometry.transposed_coverage, O(log) in the sizes), multiplied over the axes
    connections  macs + b * out
    RF           stride 1 only (a conv with padding d(k - 1) - p); fractional strides give None.

Training: as conv (weight gradient = forward MACs, input gradient = forward MACs unless nothing before
it is trained; backward FLOPs = 2 x backward MACs + out).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Int, Sizes
from archcalc.layers.base import (WEIGHTS_BACKWARD_RULE, Attrs, LayerType, Params, RFStep, Shape, axis_word, elements,
                                  numel, register_ranks, require_rank, spatial_names, torch_class,
                                  weights_backward)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts, product
from archcalc.layers.geometry import kernel_terms, transposed_coverage
from archcalc.layers.imports import ImportRule


class _ConvTranspose(LayerType):
    family = "conv_transpose"
    dense_macs = True
    summary = "transposed convolution"
    category = "conv"
    neurons = True
    flops_rule = "2 * macs - covered + bias * out (covered: outputs that receive a product)"
    connections_rule = "macs + bias * out"
    backward_rule = WEIGHTS_BACKWARD_RULE

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        axes = "[" + ", ".join(f"k_{s.lower()}" for s in spatial_names(rank)) + "]" if rank > 1 else "[k]"
        per_axis = "[h, w]" if rank == 2 else "one per axis"
        return (
            Attr("out_channels", Int(), doc="output maps", aliases=("out",)),
            Attr("kernel", Sizes(rank), doc=f"kernel size: k or {axes}", aliases=("kernel_size",)),
            Attr("stride", Sizes(rank), 1),
            Attr("padding", Sizes(rank, 0), 0, f"symmetric per axis: int or {per_axis}"),
            Attr("output_padding", Sizes(rank, 0), 0, "extra rows/columns on one side; must be < stride or dilation"),
            Attr("dilation", Sizes(rank), 1),
            Attr("groups", Int(), 1),
            Attr("bias", Bool(), True),
            Attr("trainable", Bool(), True, "false: fixed weights (e.g. a bilinear upsampling kernel)"),
        )

    def validate(self, a: Attrs) -> None:
        for axis in range(self.spatial_rank):
            if a["output_padding"][axis] >= max(a["stride"][axis], a["dilation"][axis]):
                raise ArchcalcError(
                    f"{self.name}: output_padding {a['output_padding'][axis]} must be smaller than "
                    f"stride or dilation ({max(a['stride'][axis], a['dilation'][axis])})"
                )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        rank = self.spatial_rank
        require_rank(self.name, ins[0], rank + 1)
        c_in, groups = ins[0][0], a["groups"]
        if c_in % groups or a["out_channels"] % groups:
            raise ArchcalcError(
                f"{self.name}: channels {c_in} -> {a['out_channels']} are not divisible by groups {groups}"
            )
        sizes = []
        for axis in range(rank):
            k, s, p = a["kernel"][axis], a["stride"][axis], a["padding"][axis]
            size = (ins[0][1 + axis] - 1) * s - 2 * p + a["dilation"][axis] * (k - 1) + a["output_padding"][axis] + 1
            if size <= 0:
                raise ArchcalcError(f"{self.name}: the {axis_word(rank + 1, axis)} collapses to {size}")
            sizes.append(size)
        return (a["out_channels"],) + tuple(sizes)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        weights = ins[0][0] * (out[0] // a["groups"]) * numel(a["kernel"])
        total = weights + (out[0] if a["bias"] else 0)
        return Params(trainable=total) if a["trainable"] else Params(non_trainable=total)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0]) * (out[0] // a["groups"]) * numel(a["kernel"])

    @staticmethod
    def _covered_outputs(a: Attrs, ins: list[Shape], out: Shape) -> int:
        covered = out[0]
        for axis in range(len(out) - 1):
            covered *= transposed_coverage(ins[0][1 + axis], out[1 + axis], a["kernel"][axis], a["stride"][axis],
                                           a["padding"][axis], a["dilation"][axis])  # fmt: skip
        return covered

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        macs = self.macs(a, ins, out)
        return 2 * macs - self._covered_outputs(a, ins, out) + (numel(out) if a["bias"] else 0)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.macs(a, ins, out) + (numel(out) if a["bias"] else 0)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Const(out[0]))] + [self._axis_formula(a, ins, axis) for axis in range(len(out) - 1)]

    def _axis_formula(self, a: Attrs, ins: list[Shape], axis: int) -> Formula:
        """H_out = (H − 1)×s_h − 2×p_h + d_h×(k_h − 1) + output_padding_h + 1, leaving out what is 0 or 1."""
        name = spatial_names(self.spatial_rank)[axis]
        suffix = "" if self.spatial_rank == 1 else "_" + name.lower()
        expr: Expr = Group(Term(name, ins[0][1 + axis]) - 1) * Term(f"s{suffix}", a["stride"][axis])
        if a["padding"][axis]:
            expr = expr - 2 * Term(f"p{suffix}", a["padding"][axis])
        span: Expr = Group(Term(f"k{suffix}", a["kernel"][axis]) - 1)
        if a["dilation"][axis] != 1:
            span = Term(f"d{suffix}", a["dilation"][axis]) * span
        expr = expr + span
        if a["output_padding"][axis]:
            expr = expr + Term(f"output_padding{suffix}", a["output_padding"][axis])
        return Formula(f"{name}_out", expr + 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        weights = product([Term("C_in", ins[0][0]), Term("C_out", out[0])])
        if a["groups"] != 1:
            weights = weights / Term("g", a["groups"])
        kernel = kernel_terms(a["kernel"])
        weights = product([weights] + kernel)
        inputs = elements(ins[0], start=1)
        macs = product([inputs, weights])
        covered_term = Term("covered", self._covered_outputs(a, ins, out))
        bias = elements(out, "_out")
        symbols = "×".join(term.symbol for term in kernel)  # type: ignore[attr-defined]
        return counts(
            params=weights + Term("C_out", out[0]) if a["bias"] else weights,
            macs=macs,
            flops=(2 * Group(macs) - covered_term + bias) if a["bias"] else 2 * Group(macs) - covered_term,
            connections=macs + bias if a["bias"] else macs,
            notes={"MACs": f"each input element scatters into C_out/g×{symbols} outputs",
                   "FLOPs": "a multiply per MAC; adds: products minus the `covered` outputs that receive one"},
        )  # fmt: skip

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        rank = self.spatial_rank
        if a["stride"] != (1,) * rank:
            return None
        pad = tuple(a["dilation"][i] * (a["kernel"][i] - 1) - a["padding"][i] for i in range(rank))
        return RFStep(a["kernel"], (1,) * rank, pad, a["dilation"])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        deconv = torch_class("ConvTranspose", self.spatial_rank)(
            ins[0][0], a["out_channels"], a["kernel"], a["stride"], a["padding"], a["output_padding"],
            a["groups"], a["bias"], a["dilation"],
        )  # fmt: skip
        return deconv.requires_grad_(a["trainable"])

    def torch_import(self) -> tuple:
        def read(call) -> dict:
            m = call.module
            return {"out_channels": m.out_channels, "kernel": m.kernel_size, "stride": m.stride, "padding": m.padding,
                    "output_padding": m.output_padding, "dilation": m.dilation, "groups": m.groups,
                    "bias": m.bias is not None, "trainable": m.weight.requires_grad}  # fmt: skip

        return (ImportRule(self.name, modules=(torch_class("ConvTranspose", self.spatial_rank),), read=read),)


_SUMMARIES = {
    1: "1-D transposed convolution over [C, L], with output_padding",
    2: "2-D transposed convolution (fractionally strided), with output_padding",
    3: "3-D transposed convolution over [C, D, H, W], with output_padding",
}
register_ranks(_ConvTranspose, {1: "conv_transpose1d", 2: "conv_transpose2d", 3: "conv_transpose3d"}, _SUMMARIES)
