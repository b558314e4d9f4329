"""Sliding-window pooling: max and average pooling, and LeNet-5's trainable subsampling.

A window reads n input elements: k_h k_w, less the taps that fall on padding or past the input edge
(torch's kernels clip every window to the input, so padding is never compared or added; ceil-mode
windows that overhang the edge read fewer). Per output element:

    max_pool2d           flops n - 1 comparisons                   connections n
    avg_pool2d           flops n (n - 1 adds, 1 divide)            connections n
    subsampling          LeNet-5: sum of the window, times a trainable coefficient, plus a trainable
                         bias, per map: params 2C; flops k_h k_w + 1; connections k_h k_w + 1

Training: backward about the forward cost (the default rule: max pooling routes each gradient to the
winner, average pooling spreads it over the window).
"""


from __future__ import annotations


from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Padding, Pair
from archcalc.layers.base import Attrs, LayerType, Params, RFStep, Shape, elements, numel, register, require_rank
from archcalc.layers.formula import Expr, Formula, Group, Term, counts
from archcalc.layers.geometry import is_symmetric, real_window_total, resolve_padding, window_formula, windows_out

class _Window(LayerType):
    """A sliding-window pool over (C, H, W)."""

    category = "pool"
    has_dilation = False

    def geometry(self, a: Attrs, in_shape: Shape):
        stride = a["stride"] or a["kernel"]
        dilation = a.get("dilation") or (1, 1)
        pads = resolve_padding(a.get("padding", (0, 0, 0, 0)), a["kernel"], stride, dilation, in_shape[1:])
        return stride, dilation, pads

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        stride, dilation, pads = self.geometry(a, ins[0])
        for axis, (before, after) in enumerate(((pads[0], pads[1]), (pads[2], pads[3]))):
            half = a["kernel"][axis] // 2
            if max(before, after) > half:
                raise ArchcalcError(
                    f"{self.name}: padding {max(before, after)} is more than half the kernel "
                    f"{a['kernel'][axis]} (torch rejects this)"
                )
        ceil_mode = a.get("ceil_mode", False)
        if ceil_mode and not is_symmetric(pads):
            raise ArchcalcError(f"{self.name}: ceil_mode with asymmetric or 'same' padding is not supported")
        h, w = windows_out(ins[0][1:], a["kernel"], stride, pads, dilation, ceil_mode)
        return (ins[0][0], h, w)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        stride, dilation, pads = self.geometry(a, ins[0])
        return RFStep(a["kernel"], stride, (pads[0], pads[2]), dilation)

    def real_elements(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """Input elements read by all windows together (padding excluded), over all channels."""
        stride, dilation, pads = self.geometry(a, ins[0])
        rows = real_window_total(ins[0][1], out[1], a["kernel"][0], stride[0], pads[0], dilation[0])
        cols = real_window_total(ins[0][2], out[2], a["kernel"][1], stride[1], pads[2], dilation[1])
        return out[0] * rows * cols

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        stride, dilation, pads = self.geometry(a, ins[0])
        return [Formula("C_out", Term("C", ins[0][0]))] + [
            window_formula(axis, ins[0][1 + axis], a["kernel"][axis], stride[axis], pads[2 * axis],
                           pads[2 * axis + 1], dilation[axis], a.get("ceil_mode", False))  # fmt: skip
            for axis in (0, 1)
        ]

    @staticmethod
    def window(a: Attrs) -> Expr:
        return Term("k_h", a["kernel"][0]) * Term("k_w", a["kernel"][1])

    def window_counts(self, a: Attrs, ins: list[Shape], out: Shape, comparisons: bool, note: str) -> list[Formula]:
        """Counts of a window pool: every output reads the n elements of its window inside the input
        (max: n - 1 comparisons; avg: n - 1 adds and a divide)."""
        outputs = elements(out, "_out")
        if self.real_elements(a, ins, out) == numel(out) * a["kernel"][0] * a["kernel"][1]:
            read: Expr = self.window(a) * outputs
        else:  # windows clipped by padding or a ceil-mode overhang read fewer elements
            stride, dilation, pads = self.geometry(a, ins[0])
            rows = real_window_total(ins[0][1], out[1], a["kernel"][0], stride[0], pads[0], dilation[0])
            cols = real_window_total(ins[0][2], out[2], a["kernel"][1], stride[1], pads[2], dilation[1])
            read = Term("C", out[0]) * Term("Σn_h", rows) * Term("Σn_w", cols)
            note += "; Σn_h, Σn_w: window rows / columns inside the input, summed over the outputs"
        flops = read - outputs if comparisons else read
        return counts(flops=flops, connections=read, notes={"FLOPs": note})


_POOL_ATTRS = (
    Attr("kernel", Pair(), doc="window size", aliases=("kernel_size",)),
    Attr("stride", Pair(), None, "defaults to the kernel size"),
    Attr("padding", Padding(), 0, "at most half the kernel on each side"),
)


@register
class MaxPool2d(_Window):
    name = "max_pool2d"
    summary = "max pooling with padding, dilation and ceil mode"
    attrs = _POOL_ATTRS + (Attr("dilation", Pair(), 1), Attr("ceil_mode", Bool(), False))
    flops_rule = "n - 1 comparisons per output, n = window elements inside the input"
    connections_rule = "n per output"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out) - numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.window_counts(a, ins, out, True, "per output: n − 1 comparisons, n = window elements read")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        stride, dilation, pads = self.geometry(a, ins[0])
        if is_symmetric(pads):
            return nn.MaxPool2d(a["kernel"], stride, (pads[0], pads[2]), dilation, ceil_mode=a["ceil_mode"])
        return tm.Padded(pads, "max", nn.MaxPool2d(a["kernel"], stride, 0, dilation))

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule, spec_sides

        def module(m: nn.MaxPool2d) -> dict:
            if m.return_indices:
                raise CannotMap("returns indices")
            return {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding, "dilation": m.dilation,
                    "ceil_mode": m.ceil_mode}  # fmt: skip

        def padded(call) -> dict:
            inner = module(call.module.inner)
            if inner["padding"] not in (0, (0, 0)) or inner["ceil_mode"] or call.module.value != float("-inf"):
                raise CannotMap("pads twice, with ceil mode, or with a finite constant")
            return inner | {"padding": spec_sides(call.module.pad)}

        def function(call) -> dict:
            b = call.bind("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                          stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False)  # fmt: skip
            if b["return_indices"]:
                raise CannotMap("returns indices")
            return {"kernel": b["kernel_size"], "stride": b["stride"] or None, "padding": b["padding"],
                    "dilation": b["dilation"], "ceil_mode": b["ceil_mode"]}  # fmt: skip

        return (
            ImportRule(self.name, modules=(nn.MaxPool2d,), read=lambda call: module(call.module)),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note="around a MaxPool2d",
                       when=lambda call: isinstance(call.module.inner, nn.MaxPool2d)),
            ImportRule(self.name, functions=(F.max_pool2d,), read=function),
        )  # fmt: skip


@register
class AvgPool2d(_Window):
    name = "avg_pool2d"
    summary = "average pooling with padding and ceil mode"
    attrs = _POOL_ATTRS + (
        Attr("ceil_mode", Bool(), False),
        Attr("count_include_pad", Bool(), True, "divide by the full window, padding included (torch default)"),
    )
    flops_rule = "n per output (n - 1 adds, 1 divide), n = window elements inside the input"
    connections_rule = "n per output"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.window_counts(a, ins, out, False, "per output: n − 1 adds + 1 divide, n = window elements read")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        stride, _, pads = self.geometry(a, ins[0])
        if is_symmetric(pads):
            return nn.AvgPool2d(a["kernel"], stride, (pads[0], pads[2]), a["ceil_mode"], a["count_include_pad"])
        return tm.Padded(pads, "zeros", nn.AvgPool2d(a["kernel"], stride, 0))

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule, spec_sides

        def module(m: nn.AvgPool2d) -> dict:
            if m.divisor_override is not None:
                raise CannotMap("divides by an override")
            return {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding, "ceil_mode": m.ceil_mode,
                    "count_include_pad": m.count_include_pad}  # fmt: skip

        def padded(call) -> dict:
            inner = module(call.module.inner)
            if inner["padding"] not in (0, (0, 0)) or inner["ceil_mode"] or call.module.value != 0.0:
                raise CannotMap("pads twice, with ceil mode, or with a non-zero constant")
            return inner | {"padding": spec_sides(call.module.pad)}

        def function(call) -> dict:
            b = call.bind("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                          "divisor_override", stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                          divisor_override=None)  # fmt: skip
            if b["divisor_override"] is not None:
                raise CannotMap("divides by an override")
            return {"kernel": b["kernel_size"], "stride": b["stride"] or None, "padding": b["padding"],
                    "ceil_mode": b["ceil_mode"], "count_include_pad": b["count_include_pad"]}  # fmt: skip

        return (
            ImportRule(self.name, modules=(nn.AvgPool2d,), read=lambda call: module(call.module)),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note="around an AvgPool2d",
                       when=lambda call: isinstance(call.module.inner, nn.AvgPool2d)),
            ImportRule(self.name, functions=(F.avg_pool2d,), read=function),
        )  # fmt: skip


@register
class Subsampling(_Window):
    name = "subsampling"
    summary = "LeNet-5 trainable subsampling: window sum x coefficient + bias, per map"
    neurons = True
    attrs = (
        Attr("kernel", Pair(), 2, "window size", ("kernel_size",)),
        Attr("stride", Pair(), None, "defaults to the kernel size"),
    )
    flops_rule = "out * (k_h k_w - 1 adds + 1 multiply + 1 bias add)"
    connections_rule = "out * (k_h k_w + 1)"

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=2 * ins[0][0])

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (a["kernel"][0] * a["kernel"][1] + 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (a["kernel"][0] * a["kernel"][1] + 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        per_output = Group(self.window(a) + 1)
        outputs = elements(out, "_out")
        return counts(params=2 * Term("C", ins[0][0]), flops=per_output * outputs,
                      connections=per_output * outputs,
                      notes={"params": "a coefficient and a bias per map",
                             "FLOPs": "per output: k_h×k_w − 1 adds, 1 multiply, 1 bias add"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Subsampling(ins[0][0], a["kernel"], a["stride"] or a["kernel"])

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule

        read = lambda call: {"kernel": call.module.kernel, "stride": call.module.stride}  # noqa: E731
        return (ImportRule(self.name, modules=(tm.Subsampling,), read=read),)
