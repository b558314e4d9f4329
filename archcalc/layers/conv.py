"""Convolutions: conv2d (standard, grouped, depthwise, dilated, asymmetric, connection table) and
conv_transpose2d.

Notation per output: K = (C_in / groups) * k_h * k_w weights are read; b = 1 with a bias, else 0.

conv2d
    shape        C_out x H_out x W_out, H_out = floor((H + p_t + p_b - d_h(k_h - 1) - 1) / s_h) + 1;
                 padding_mode reflect needs each pad <= H - 1 (W - 1), circular <= H (W), as torch's F.pad
    params       C_out * K + b * C_out              (the seeds' (k_w k_h C_in + 1) C_out when g = 1)
    macs         C_out H_out W_out * K
    flops        C_out H_out W_out * (K multiplies + (K - 1) adds + b bias add) = out * (2K - 1 + b)
    connections  C_out H_out W_out * (K + b)        (the seeds' (C_in k_w k_h + 1) H_out W_out C_out)
    With a connection `table` (LeNet-5's C3), output map j reads n_j input maps: K_j = n_j k_h k_w
    replaces K, map by map, so only the real links are counted.

conv_transpose2d (each input element scatters into C_out / g * k_h * k_w outputs)
    shape        H_out = (H - 1) s - p_t - p_b + d (k - 1) + output_padding + 1
    params       C_in * (C_out / g) * k_h * k_w + b * C_out; all non-trainable with `trainable: false`
                 (FCN-32s keeps its bilinear upsampling fixed)
    macs         C_in * H * W * (C_out / g) * k_h * k_w
    flops        macs multiplies + (macs - covered) adds + b * out, where `covered` counts the output
                 elements that receive at least one product (stride > kernel leaves holes)
    connections  macs + b * out
    RF           stride 1 only (a conv with padding d(k - 1) - p); fractional strides give None.

Training (backward per sample, both types): the weight gradient costs the forward MACs again and the
input gradient once more, except when no layer before this one is trained (the first conv needs no
input gradient, as autograd skips it). Backward FLOPs = 2 x backward MACs + out (the bias gradient).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int, Padding, Pair, Table
from archcalc.layers.base import (WEIGHTS_BACKWARD_RULE, Attrs, LayerType, Params, RFStep, Shape, numel, register,
                                  require_rank, weights_backward)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts, plus_one_if, product
from archcalc.layers.geometry import (check_border_padding, is_symmetric, resolve_padding, transposed_coverage,
                                      window_formula, windows_out)  # fmt: skip


def _kernel_terms(a: Attrs) -> list[Expr]:
    return [Term("k_h", a["kernel"][0]), Term("k_w", a["kernel"][1])]


def _outputs(out: Shape) -> Expr:
    """C_out×H_out×W_out: the output elements."""
    return product([Term("C_out", out[0]), Term("H_out", out[1]), Term("W_out", out[2])])


@register
class Conv2d(LayerType):
    name = "conv2d"
    dense_macs = True
    summary = "2-D convolution: standard, grouped, depthwise, dilated, asymmetric, or with a connection table"
    category = "conv"
    neurons = True
    attrs = (
        Attr("out_channels", Int(), None, "output maps (optional when `table` is given)", ("out",)),
        Attr("kernel", Pair(), doc="kernel size: k or [k_h, k_w]", aliases=("kernel_size",)),
        Attr("stride", Pair(), 1),
        Attr("padding", Padding(), 0, "int, [h, w], [top, bottom, left, right], 'same' or 'valid'"),
        Attr("dilation", Pair(), 1),
        Attr("groups", Int(), 1, "channel groups; groups = C_in makes it depthwise"),
        Attr("bias", Bool(), True),
        Attr("padding_mode", Choice("zeros", "reflect", "replicate", "circular"), "zeros"),
        Attr("table", Table(), None, "connection table: for each output map, the input maps it reads"),
    )
    flops_rule = "out * (2K - 1 + bias), K = C_in/g * k_h * k_w (per output map with a table)"
    connections_rule = "out * (K + bias)"
    backward_rule = WEIGHTS_BACKWARD_RULE

    def validate(self, a: Attrs) -> None:
        table = a["table"]
        if table is None and a["out_channels"] is None:
            raise ArchcalcError("conv2d needs attribute 'out_channels' (integer >= 1)")
        if table is not None:
            if a["groups"] != 1:
                raise ArchcalcError("conv2d: a connection table replaces groups; leave groups at 1")
            if a["out_channels"] is not None and a["out_channels"] != len(table):
                raise ArchcalcError(
                    f"conv2d: out_channels {a['out_channels']} differs from the table's {len(table)} rows"
                )
            a["out_channels"] = len(table)

    def pads(self, a: Attrs, in_shape: Shape) -> tuple[int, int, int, int]:
        return resolve_padding(a["padding"], a["kernel"], a["stride"], a["dilation"], in_shape[1:])

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        c_in = ins[0][0]
        groups, c_out = a["groups"], a["out_channels"]
        if c_in % groups:
            raise ArchcalcError(f"conv2d: input channels {c_in} are not divisible by groups {groups}")
        if c_out % groups:
            raise ArchcalcError(f"conv2d: out_channels {c_out} is not divisible by groups {groups}")
        if a["table"] is not None:
            worst = max(max(row) for row in a["table"])
            if worst >= c_in:
                raise ArchcalcError(f"conv2d: the table reads input map {worst}, but the input has {c_in} maps")
        pads = self.pads(a, ins[0])
        check_border_padding(self.name, a["padding_mode"], pads, ins[0][1:])
        h, w = windows_out(ins[0][1:], a["kernel"], a["stride"], pads, a["dilation"])
        return (c_out, h, w)

    def _fan_in_total(self, a: Attrs, ins: list[Shape]) -> int:
        """Weights read per output position, summed over the output maps (sum of K_j).

        Closed form rather than a list per map: out_channels may be huge in a hostile spec.
        """
        kk = a["kernel"][0] * a["kernel"][1]
        if a["table"] is not None:
            return sum(len(row) for row in a["table"]) * kk
        return ins[0][0] // a["groups"] * kk * a["out_channels"]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=self._fan_in_total(a, ins) + (out[0] if a["bias"] else 0))

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return out[1] * out[2] * self._fan_in_total(a, ins)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0  # per map: 2 K_j - 1 + bias
        return out[1] * out[2] * (2 * self._fan_in_total(a, ins) + (bias - 1) * out[0])

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0
        return out[1] * out[2] * (self._fan_in_total(a, ins) + bias * out[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        pads = self.pads(a, ins[0])
        channels = Formula("C_out", Const(out[0]), "one per row of the connection table" if a["table"] else "")
        return [channels] + [
            window_formula(axis, ins[0][1 + axis], a["kernel"][axis], a["stride"][axis], pads[2 * axis],
                           pads[2 * axis + 1], a["dilation"][axis])  # fmt: skip
            for axis in (0, 1)
        ]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        if a["table"] is not None:
            return self._explain_table(a, out)
        fan_in = product(_kernel_terms(a) + [Term("C_in", ins[0][0])])  # K, the weights one output reads
        if a["groups"] != 1:
            fan_in = fan_in / Term("g", a["groups"])
        per_output = Group(plus_one_if(fan_in, a["bias"]))
        adds = Group(fan_in - 1)
        return counts(
            params=per_output * Term("C_out", out[0]) if a["bias"] else fan_in * Term("C_out", out[0]),
            macs=fan_in * _outputs(out),
            flops=Group(plus_one_if(fan_in + adds, a["bias"])) * _outputs(out),
            connections=(per_output if a["bias"] else fan_in) * _outputs(out),
            notes={"FLOPs": "per output: K multiplies + (K − 1) adds" + (" + 1 bias add" if a["bias"] else "")
                   + ", K = k_h×k_w×C_in" + ("/g" if a["groups"] != 1 else "")},
        )  # fmt: skip

    def _explain_table(self, a: Attrs, out: Shape) -> list[Formula]:
        links = sum(len(row) for row in a["table"])
        fan_in = Formula("ΣK", product([Term("Σn_j", links)] + _kernel_terms(a)),
                         "n_j input maps feed output map j (the connection table)")
        total, maps = Term("ΣK", fan_in.value), Term("C_out", out[0])
        positions = Term("H_out", out[1]) * Term("W_out", out[2])
        biased = (total + maps) if a["bias"] else total
        multiply_add = total + Group(total - maps)
        return counts(
            params=biased,
            macs=total * positions,
            flops=Group(multiply_add + maps if a["bias"] else multiply_add) * positions,
            connections=Group(biased) * positions if a["bias"] else biased * positions,
            defs=[fan_in],
        )

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        pads = self.pads(a, ins[0])
        return RFStep(a["kernel"], a["stride"], (pads[0], pads[2]), a["dilation"])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        c_in, pads = ins[0][0], self.pads(a, ins[0])
        if a["table"] is not None:
            return tm.TableConv2d(a["table"], c_in, a["kernel"], a["stride"], pads, a["dilation"], a["bias"])
        symmetric = is_symmetric(pads)
        conv = nn.Conv2d(
            c_in, a["out_channels"], a["kernel"], a["stride"], (pads[0], pads[2]) if symmetric else 0,
            a["dilation"], a["groups"], a["bias"], a["padding_mode"],
        )  # fmt: skip
        return conv if symmetric else tm.Padded(pads, a["padding_mode"], conv)

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule, spec_sides

        def conv(m: nn.Conv2d) -> dict:
            padding = m.padding if isinstance(m.padding, str) else list(m.padding)
            return {"out_channels": m.out_channels, "kernel": m.kernel_size, "stride": m.stride, "padding": padding,
                    "dilation": m.dilation, "groups": m.groups, "bias": m.bias is not None,
                    "padding_mode": m.padding_mode}  # fmt: skip

        def padded(call) -> dict:
            outer, inner = call.module, conv(call.module.inner)
            if inner["padding"] not in ([0, 0], "valid") or outer.value != 0.0:
                raise CannotMap("pads twice, or with a non-zero constant")
            mode = "zeros" if outer.mode == "constant" else outer.mode
            return inner | {"padding": spec_sides(outer.pad), "padding_mode": mode}

        def table(call) -> dict:
            first = call.module.maps[0]
            return {"table": call.module.rows, "kernel": first.kernel_size, "stride": first.stride,
                    "padding": spec_sides(call.module.pad), "dilation": first.dilation,
                    "bias": first.bias is not None}  # fmt: skip

        return (
            ImportRule(self.name, modules=(nn.Conv2d,), read=lambda call: conv(call.module)),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note="around a Conv2d",
                       when=lambda call: isinstance(call.module.inner, nn.Conv2d)),
            ImportRule(self.name, modules=(tm.TableConv2d,), read=table),
        )  # fmt: skip


@register
class ConvTranspose2d(LayerType):
    name = "conv_transpose2d"
    dense_macs = True
    summary = "2-D transposed convolution (fractionally strided), with output_padding"
    category = "conv"
    neurons = True
    attrs = (
        Attr("out_channels", Int(), doc="output maps", aliases=("out",)),
        Attr("kernel", Pair(), doc="kernel size: k or [k_h, k_w]", aliases=("kernel_size",)),
        Attr("stride", Pair(), 1),
        Attr("padding", Pair(0), 0, "symmetric per axis: int or [h, w]"),
        Attr("output_padding", Pair(0), 0, "extra rows/columns on one side; must be < stride or dilation"),
        Attr("dilation", Pair(), 1),
        Attr("groups", Int(), 1),
        Attr("bias", Bool(), True),
        Attr("trainable", Bool(), True, "false: fixed weights (e.g. a bilinear upsampling kernel)"),
    )
    flops_rule = "2 * macs - covered + bias * out (covered: outputs that receive a product)"
    connections_rule = "macs + bias * out"
    backward_rule = WEIGHTS_BACKWARD_RULE

    def validate(self, a: Attrs) -> None:
        for axis in (0, 1):
            if a["output_padding"][axis] >= max(a["stride"][axis], a["dilation"][axis]):
                raise ArchcalcError(
                    f"conv_transpose2d: output_padding {a['output_padding'][axis]} must be smaller than "
                    f"stride or dilation ({max(a['stride'][axis], a['dilation'][axis])})"
                )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        c_in, groups = ins[0][0], a["groups"]
        if c_in % groups or a["out_channels"] % groups:
            raise ArchcalcError(
                f"conv_transpose2d: channels {c_in} -> {a['out_channels']} are not divisible by groups {groups}"
            )
        sizes = []
        for axis in (0, 1):
            k, s, p = a["kernel"][axis], a["stride"][axis], a["padding"][axis]
            size = (ins[0][1 + axis] - 1) * s - 2 * p + a["dilation"][axis] * (k - 1) + a["output_padding"][axis] + 1
            if size <= 0:
                raise ArchcalcError(f"conv_transpose2d: the {('height', 'width')[axis]} collapses to {size}")
            sizes.append(size)
        return (a["out_channels"], sizes[0], sizes[1])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        weights = ins[0][0] * (out[0] // a["groups"]) * a["kernel"][0] * a["kernel"][1]
        total = weights + (out[0] if a["bias"] else 0)
        return Params(trainable=total) if a["trainable"] else Params(non_trainable=total)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0]) * (out[0] // a["groups"]) * a["kernel"][0] * a["kernel"][1]

    @staticmethod
    def _covered_outputs(a: Attrs, ins: list[Shape], out: Shape) -> int:
        covered = out[0]
        for axis in (0, 1):
            covered *= transposed_coverage(ins[0][1 + axis], out[1 + axis], a["kernel"][axis], a["stride"][axis],
                                           a["padding"][axis], a["dilation"][axis])  # fmt: skip
        return covered

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        macs = self.macs(a, ins, out)
        return 2 * macs - self._covered_outputs(a, ins, out) + (numel(out) if a["bias"] else 0)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.macs(a, ins, out) + (numel(out) if a["bias"] else 0)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Const(out[0]))] + [self._axis_formula(a, ins, axis) for axis in (0, 1)]

    @staticmethod
    def _axis_formula(a: Attrs, ins: list[Shape], axis: int) -> Formula:
        """H_out = (H − 1)×s_h − 2×p_h + d_h×(k_h − 1) + output_padding_h + 1, leaving out what is 0 or 1."""
        hw = "hw"[axis]
        expr: Expr = Group(Term("HW"[axis], ins[0][1 + axis]) - 1) * Term(f"s_{hw}", a["stride"][axis])
        if a["padding"][axis]:
            expr = expr - 2 * Term(f"p_{hw}", a["padding"][axis])
        span: Expr = Group(Term(f"k_{hw}", a["kernel"][axis]) - 1)
        if a["dilation"][axis] != 1:
            span = Term(f"d_{hw}", a["dilation"][axis]) * span
        expr = expr + span
        if a["output_padding"][axis]:
            expr = expr + Term(f"output_padding_{hw}", a["output_padding"][axis])
        return Formula(f"{'HW'[axis]}_out", expr + 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        weights = product([Term("C_in", ins[0][0]), Term("C_out", out[0])])
        if a["groups"] != 1:
            weights = weights / Term("g", a["groups"])
        weights = product([weights] + _kernel_terms(a))
        macs = product([Term("H", ins[0][1]), Term("W", ins[0][2]), weights])
        covered_term = Term("covered", self._covered_outputs(a, ins, out))
        bias = _outputs(out)
        return counts(
            params=weights + Term("C_out", out[0]) if a["bias"] else weights,
            macs=macs,
            flops=(2 * Group(macs) - covered_term + bias) if a["bias"] else 2 * Group(macs) - covered_term,
            connections=macs + bias if a["bias"] else macs,
            notes={"MACs": "each input element scatters into C_out/g×k_h×k_w outputs",
                   "FLOPs": "a multiply per MAC; adds: products minus the `covered` outputs that receive one"},
        )  # fmt: skip

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        if a["stride"] != (1, 1):
            return None
        pad = tuple(a["dilation"][i] * (a["kernel"][i] - 1) - a["padding"][i] for i in (0, 1))
        return RFStep(a["kernel"], (1, 1), pad, a["dilation"])  # type: ignore[arg-type]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        deconv = nn.ConvTranspose2d(
            ins[0][0], a["out_channels"], a["kernel"], a["stride"], a["padding"], a["output_padding"],
            a["groups"], a["bias"], a["dilation"],
        )  # fmt: skip
        return deconv.requires_grad_(a["trainable"])

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc.importer.rules import ImportRule

        def read(call) -> dict:
            m = call.module
            return {"out_channels": m.out_channels, "kernel": m.kernel_size, "stride": m.stride, "padding": m.padding,
                    "output_padding": m.output_padding, "dilation": m.dilation, "groups": m.groups,
                    "bias": m.bias is not None, "trainable": m.weight.requires_grad}  # fmt: skip

        return (ImportRule(self.name, modules=(nn.ConvTranspose2d,), read=read),)
