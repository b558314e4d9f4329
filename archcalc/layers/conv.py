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
    params       C_in * (C_out / g) * k_h * k_w + b * C_out
    macs         C_in * H * W * (C_out / g) * k_h * k_w
    flops        macs multiplies + (macs - covered) adds + b * out, where `covered` counts the output
                 elements that receive at least one product (stride > kernel leaves holes)
    connections  macs + b * out
    RF           stride 1 only (a conv with padding d(k - 1) - p); fractional strides give None.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int, Padding, Pair, Table
from archcalc.layers.base import Attrs, LayerType, Params, RFStep, Shape, numel, register, require_rank
from archcalc.layers.geometry import check_border_padding, is_symmetric, resolve_padding, windows_out


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

    def _fan_in(self, a: Attrs, ins: list[Shape]) -> list[int]:
        """Weights read per output element, one entry per output map (K_j)."""
        kk = a["kernel"][0] * a["kernel"][1]
        if a["table"] is not None:
            return [len(row) * kk for row in a["table"]]
        return [ins[0][0] // a["groups"] * kk] * a["out_channels"]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=sum(self._fan_in(a, ins)) + (out[0] if a["bias"] else 0))

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return out[1] * out[2] * sum(self._fan_in(a, ins))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0
        return out[1] * out[2] * sum(2 * k - 1 + bias for k in self._fan_in(a, ins))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0
        return out[1] * out[2] * sum(k + bias for k in self._fan_in(a, ins))

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


def _covered(size_in: int, size_out: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """Output positions along one axis that receive at least one product in a transposed conv."""
    hit = set()
    for i in range(size_in):
        for t in range(kernel):
            position = i * stride - pad + t * dilation
            if 0 <= position < size_out:
                hit.add(position)
    return len(hit)


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
    )
    flops_rule = "2 * macs - covered + bias * out (covered: outputs that receive a product)"
    connections_rule = "macs + bias * out"

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
        return Params(trainable=weights + (out[0] if a["bias"] else 0))

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0]) * (out[0] // a["groups"]) * a["kernel"][0] * a["kernel"][1]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        covered = out[0]
        for axis in (0, 1):
            covered *= _covered(ins[0][1 + axis], out[1 + axis], a["kernel"][axis], a["stride"][axis],
                                a["padding"][axis], a["dilation"][axis])  # fmt: skip
        macs = self.macs(a, ins, out)
        return 2 * macs - covered + (numel(out) if a["bias"] else 0)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.macs(a, ins, out) + (numel(out) if a["bias"] else 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        if a["stride"] != (1, 1):
            return None
        pad = tuple(a["dilation"][i] * (a["kernel"][i] - 1) - a["padding"][i] for i in (0, 1))
        return RFStep(a["kernel"], (1, 1), pad, a["dilation"])  # type: ignore[arg-type]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.ConvTranspose2d(
            ins[0][0], a["out_channels"], a["kernel"], a["stride"], a["padding"], a["output_padding"],
            a["groups"], a["bias"], a["dilation"],
        )  # fmt: skip
