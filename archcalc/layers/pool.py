"""Sliding-window pooling over 1, 2 or 3 spatial axes: max_pool1d/2d/3d and avg_pool1d/2d/3d (torch's
nn.MaxPool*d, nn.AvgPool*d), and LeNet-5's trainable 2-D subsampling.

A window reads n input elements: prod(k), less the taps that fall on padding or past the input edge
(torch's kernels clip every window to the input, so padding is never compared or added; ceil-mode
windows that overhang the edge read fewer). Per axis, the taps read by all windows together are a
closed form (geometry.real_window_total: no loop over positions or taps); over the axes they multiply.
Per output element:

    max_pool*d           flops n - 1 comparisons                   connections n
    avg_pool*d           flops n (n - 1 adds, 1 divide)            connections n
    subsampling          LeNet-5: sum of the window, times a trainable coefficient, plus a trainable
                         bias, per map: params 2C; flops k_h k_w + 1; connections k_h k_w + 1

Padding is at most half the kernel on each side (torch's rule); ceil mode needs symmetric padding; torch's
avg_pool3d also needs every axis of its input at least as long as the kernel, padding aside.
Training: backward about the forward cost (the default rule: max pooling routes each gradient to the
winner, average pooling spreads it over the window).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Padding, Pair, Sizes
from archcalc.layers.base import (Attrs, LayerType, Params, RFStep, Shape, elements, numel, register, register_ranks,
                                  require_rank, spatial_names, torch_class)  # fmt: skip
from archcalc.layers.formula import Expr, Formula, Group, Term, counts, product
from archcalc.layers.geometry import (Window, befores, kernel_terms, real_window_total, resolve_padding, sides,
                                      window_formulas, windows_out)  # fmt: skip
from archcalc.layers.conv_timm import same_pool_rules
from archcalc.layers.imports import CannotMap, ImportRule, spec_sides


class _Window(LayerType):
    """A sliding-window pool over (C, *spatial)."""

    category = "pool"

    def window(self, a: Attrs, in_shape: Shape) -> Window:
        stride = a["stride"] or a["kernel"]
        dilation = a.get("dilation") or (1,) * len(a["kernel"])
        pads = resolve_padding(a.get("padding", (0,) * (2 * len(a["kernel"]))), a["kernel"], stride, dilation,
                               in_shape[1:])  # fmt: skip
        return Window(a["kernel"], stride, pads, dilation, a.get("ceil_mode", False))

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], len(a["kernel"]) + 1)
        window = self.window(a, ins[0])
        for axis, (before, after) in enumerate(sides(window.pads)):
            half = a["kernel"][axis] // 2
            if max(before, after) > half:
                raise ArchcalcError(
                    f"{self.name}: padding {max(before, after)} is more than half the kernel "
                    f"{a['kernel'][axis]} (torch rejects this)"
                )
        if window.ceil_mode and not window.symmetric:
            raise ArchcalcError(f"{self.name}: ceil_mode with asymmetric or 'same' padding is not supported")
        return (ins[0][0],) + windows_out(ins[0][1:], window)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        window = self.window(a, ins[0])
        return RFStep(window.kernel, window.stride, befores(window.pads), window.dilation)

    def read_per_axis(self, a: Attrs, ins: list[Shape], out: Shape) -> list[int]:
        """Per spatial axis: input positions read by all windows along it together (padding excluded)."""
        window = self.window(a, ins[0])
        return [real_window_total(size, n_out, window.kernel[axis], window.stride[axis], before, window.dilation[axis])
                for axis, (size, n_out, (before, _)) in enumerate(zip(ins[0][1:], out[1:], sides(window.pads)))]

    def real_elements(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """Input elements read by all windows together (padding excluded), over all channels."""
        return out[0] * numel(tuple(self.read_per_axis(a, ins, out)))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Term("C", ins[0][0]))] + window_formulas(self.window(a, ins[0]), ins[0][1:])

    @staticmethod
    def window_area(a: Attrs) -> Expr:
        return product(kernel_terms(a["kernel"]))

    def window_counts(self, a: Attrs, ins: list[Shape], out: Shape, comparisons: bool, note: str) -> list[Formula]:
        """Counts of a window pool: every output reads the n elements of its window inside the input
        (max: n - 1 comparisons; avg: n - 1 adds and a divide)."""
        outputs = elements(out, "_out")
        if self.real_elements(a, ins, out) == numel(out) * numel(a["kernel"]):
            read: Expr = self.window_area(a) * outputs
        else:  # windows clipped by padding or a ceil-mode overhang read fewer elements
            names = [f"Σn_{name.lower()}" for name in spatial_names(len(a["kernel"]))]
            read = product([Term("C", out[0])] + [Term(name, n) for name, n in zip(names, self.read_per_axis(a, ins, out))])
            note += ("; Σn_h, Σn_w: window rows / columns inside the input, summed over the outputs" if len(names) == 2
                     else f"; {', '.join(names)}: window taps inside the input along each axis, summed over the outputs")
        flops = read - outputs if comparisons else read
        return counts(flops=flops, connections=read, notes={"FLOPs": note})


def _pool_attrs(rank: int) -> tuple[Attr, ...]:
    return (
        Attr("kernel", Sizes(rank), doc="window size", aliases=("kernel_size",)),
        Attr("stride", Sizes(rank), None, "defaults to the kernel size"),
        Attr("padding", Padding(rank), 0, "at most half the kernel on each side"),
    )


class _MaxPool(_Window):
    family = "max_pool"
    calls = {"function": "F.max_pool1d / 2d / 3d"}
    summary = "max pooling with padding, dilation and ceil mode"
    flops_rule = "n - 1 comparisons per output, n = window elements inside the input"
    connections_rule = "n per output"

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        return _pool_attrs(rank) + (Attr("dilation", Sizes(rank), 1), Attr("ceil_mode", Bool(), False))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out) - numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.window_counts(a, ins, out, True, "per output: n − 1 comparisons, n = window elements read")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        window, cls = self.window(a, ins[0]), torch_class("MaxPool", self.spatial_rank)
        if window.symmetric:
            return cls(a["kernel"], window.stride, befores(window.pads), window.dilation, ceil_mode=a["ceil_mode"])
        return tm.Padded(window.pads, "max", cls(a["kernel"], window.stride, 0, window.dilation))

    def torch_import(self) -> tuple:
        from torch.nn import functional as F

        from archcalc import torch_modules as tm

        rank, cls = self.spatial_rank, torch_class("MaxPool", self.spatial_rank)

        def module(m) -> dict:
            if m.return_indices:
                raise CannotMap("returns indices")
            return {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding, "dilation": m.dilation,
                    "ceil_mode": m.ceil_mode}  # fmt: skip

        def padded(call) -> dict:
            inner = module(call.module.inner)
            if inner["padding"] not in (0, (0,) * rank) or inner["ceil_mode"] or call.module.value != float("-inf"):
                raise CannotMap("pads twice, with ceil mode, or with a finite constant")
            return inner | {"padding": spec_sides(call.module.pad, rank)}

        def function(call) -> dict:
            b = call.bind("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                          stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False)  # fmt: skip
            if b["return_indices"]:
                raise CannotMap("returns indices")
            return {"kernel": b["kernel_size"], "stride": b["stride"] or None, "padding": b["padding"],
                    "dilation": b["dilation"], "ceil_mode": b["ceil_mode"]}  # fmt: skip

        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        return (
            ImportRule(self.name, modules=(cls,), read=lambda call: module(call.module)),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note=f"around {article} {cls.__name__}",
                       when=lambda call: isinstance(call.module.inner, cls)),
            ImportRule(self.name, functions=(getattr(F, f"max_pool{rank}d"),), read=function),
            *(same_pool_rules(self.name, "Max", lambda call: module(call.module)) if rank == 2 else ()),
        )  # fmt: skip


class _AvgPool(_Window):
    family = "avg_pool"
    calls = {"function": "F.avg_pool1d / 2d / 3d"}
    summary = "average pooling with padding and ceil mode"
    flops_rule = "n per output (n - 1 adds, 1 divide), n = window elements inside the input"
    connections_rule = "n per output"

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        return _pool_attrs(rank) + (
            Attr("ceil_mode", Bool(), False),
            Attr("count_include_pad", Bool(), True, "divide by the full window, padding included (torch default)"),
        )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        out = super().shape(a, ins)
        window = self.window(a, ins[0])
        # torch's avg_pool3d (unlike 1d and 2d) refuses an input smaller than the kernel on any axis, padding
        # aside; archcalc pads asymmetric windows itself first (Padded), so those see the padded sizes.
        sizes = ins[0][1:] if window.symmetric else window.padded(ins[0][1:])
        if self.spatial_rank == 3 and any(size < k for size, k in zip(sizes, window.kernel)):
            raise ArchcalcError(f"{self.name}: the input {list(sizes)} is smaller than the kernel {list(window.kernel)} "
                                "on some axis (torch's avg_pool3d needs every axis at least the kernel, padding aside)")
        return out

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.real_elements(a, ins, out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.window_counts(a, ins, out, False, "per output: n − 1 adds + 1 divide, n = window elements read")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        window, cls = self.window(a, ins[0]), torch_class("AvgPool", self.spatial_rank)
        if window.symmetric:
            return cls(a["kernel"], window.stride, befores(window.pads), a["ceil_mode"], a["count_include_pad"])
        return tm.Padded(window.pads, "zeros", cls(a["kernel"], window.stride, 0))

    def torch_import(self) -> tuple:
        from torch.nn import functional as F

        from archcalc import torch_modules as tm

        rank, cls = self.spatial_rank, torch_class("AvgPool", self.spatial_rank)

        def module(m) -> dict:
            if getattr(m, "divisor_override", None) is not None:
                raise CannotMap("divides by an override")
            return {"kernel": m.kernel_size, "stride": m.stride, "padding": m.padding, "ceil_mode": m.ceil_mode,
                    "count_include_pad": m.count_include_pad}  # fmt: skip

        def padded(call) -> dict:
            inner = module(call.module.inner)
            if inner["padding"] not in (0, (0,) * rank) or inner["ceil_mode"] or call.module.value != 0.0:
                raise CannotMap("pads twice, with ceil mode, or with a non-zero constant")
            return inner | {"padding": spec_sides(call.module.pad, rank)}

        def function(call) -> dict:
            names = ["input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]
            b = call.bind(*(names + ["divisor_override"] if rank > 1 else names), stride=None, padding=0,
                          ceil_mode=False, count_include_pad=True, divisor_override=None)  # fmt: skip
            if b["divisor_override"] is not None:
                raise CannotMap("divides by an override")
            return {"kernel": b["kernel_size"], "stride": b["stride"] or None, "padding": b["padding"],
                    "ceil_mode": b["ceil_mode"], "count_include_pad": b["count_include_pad"]}  # fmt: skip

        return (
            ImportRule(self.name, modules=(cls,), read=lambda call: module(call.module)),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note=f"around an {cls.__name__}",
                       when=lambda call: isinstance(call.module.inner, cls)),
            ImportRule(self.name, functions=(getattr(F, f"avg_pool{rank}d"),), read=function),
            *(same_pool_rules(self.name, "Avg", lambda call: module(call.module)) if rank == 2 else ()),
        )  # fmt: skip


register_ranks(_MaxPool, {1: "max_pool1d", 2: "max_pool2d", 3: "max_pool3d"})
register_ranks(_AvgPool, {1: "avg_pool1d", 2: "avg_pool2d", 3: "avg_pool3d"})


@register
class Subsampling(_Window):
    name = "subsampling"
    summary = "LeNet-5 trainable subsampling: window sum x coefficient + bias, per map"
    neurons = True
    spatial_rank = 2
    attrs = (
        Attr("kernel", Pair(), 2, "window size", ("kernel_size",)),
        Attr("stride", Pair(), None, "defaults to the kernel size"),
    )
    flops_rule = "out * (k_h k_w - 1 adds + 1 multiply + 1 bias add)"
    connections_rule = "out * (k_h k_w + 1)"

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=2 * ins[0][0])

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (numel(a["kernel"]) + 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (numel(a["kernel"]) + 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        per_output = Group(self.window_area(a) + 1)
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

        read = lambda call: {"kernel": call.module.kernel, "stride": call.module.stride}  # noqa: E731
        return (ImportRule(self.name, modules=(tm.Subsampling,), read=read),)
