"""Pooling: max, average, global, adaptive, spatial pyramid, and LeNet-5's trainable subsampling.

A window reads n input elements: k_h k_w, less the taps that fall on padding or past the input edge
(torch's kernels clip every window to the input, so padding is never compared or added; ceil-mode
windows that overhang the edge read fewer). Per output element:

    max_pool2d           flops n - 1 comparisons                   connections n
    avg_pool2d           flops n (n - 1 adds, 1 divide)            connections n
    global_avg_pool      flops H W per channel                     connections H W per channel
    global_max_pool      flops H W - 1 per channel                 connections H W per channel
                         (output C x 1 x 1, or C with keep_dims false, as x.mean((2, 3)) gives)
    adaptive_*_pool2d    as avg/max, window by window (torch's start = floor(i*in/out),
                         end = ceil((i+1)*in/out)); RF defined only when in % out == 0
    spp                  one max (or avg) pool per level n: window ceil(a/n), stride floor(a/n)
                         (the seeds' rule); the level must give n x n bins; output C * sum(n^2)
    subsampling          LeNet-5: sum of the window, times a trainable coefficient, plus a trainable
                         bias, per map: params 2C; flops k_h k_w + 1; connections k_h k_w + 1

Training: backward about the forward cost (the default rule: max pooling routes each gradient to the
winner, average pooling spreads it over the window).
"""

from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, IntList, Padding, Pair
from archcalc.layers.base import Attrs, LayerType, Params, RFStep, Shape, elements, numel, register, require_rank
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts
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


def global_output_size(call) -> bool:
    """Import: an adaptive pool (module or function) to the int 1 is a global pool; a tuple stays adaptive."""
    if call.module is not None:
        size = call.module.output_size
    else:
        size = call.bind("input", "output_size", "return_indices", return_indices=False)["output_size"]
    return isinstance(size, int) and size == 1


class _Global(LayerType):
    category = "pool"
    attrs = (Attr("keep_dims", Bool(), True, "output C x 1 x 1 (true) or C (false, as x.mean((2, 3)))"),)
    mode = "avg"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        return (ins[0][0], 1, 1) if a["keep_dims"] else (ins[0][0],)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = [Formula("C_out", Term("C", ins[0][0]))]
        return channels + ([Formula("H_out", Const(1)), Formula("W_out", Const(1))] if a["keep_dims"] else [])

    def global_counts(self, ins: list[Shape], flops: Expr, note: str) -> list[Formula]:
        return counts(flops=flops, connections=elements(ins[0]), notes={"FLOPs": note})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        return RFStep((ins[0][1], ins[0][2]))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        if not a["keep_dims"]:
            return tm.GlobalPool(self.mode, keep_dims=False)
        return nn.AdaptiveAvgPool2d(1) if self.mode == "avg" else nn.AdaptiveMaxPool2d(1)

    def torch_import(self) -> tuple:
        """The adaptive pool with output size 1 (an int; a tuple imports as the adaptive type), archcalc's
        GlobalPool, `x.mean((2, 3))` / `x.amax((2, 3))` and the functional adaptive pool with size 1."""
        import torch
        from torch import nn
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule

        adaptive, functional = {"avg": (nn.AdaptiveAvgPool2d, F.adaptive_avg_pool2d),
                                "max": (nn.AdaptiveMaxPool2d, F.adaptive_max_pool2d)}[self.mode]  # fmt: skip
        reductions = (torch.mean, torch.Tensor.mean) if self.mode == "avg" else (torch.amax, torch.Tensor.amax)

        def reduce(call) -> dict:
            b = call.bind("input", "dim", "keepdim", "dtype", dim=None, keepdim=False, dtype=None)
            dims = (b["dim"],) if isinstance(b["dim"], int) else b["dim"]
            if len(call.in_shapes[0]) != 3 or not dims or sorted(d % 4 for d in dims) != [2, 3] or b["dtype"]:
                raise CannotMap("reduces axes other than height and width of a [C, H, W] input")
            return {"keep_dims": b["keepdim"]}

        return (
            ImportRule(self.name, modules=(adaptive,), functions=(functional,), when=global_output_size,
                       note="output size 1, an int"),
            ImportRule(self.name, modules=(tm.GlobalPool,), when=lambda call: call.module.mode == self.mode,
                       read=lambda call: {"keep_dims": call.module.keep_dims}, note=f"mode {self.mode}"),
            ImportRule(self.name, functions=reductions, read=reduce, note="over height and width"),
        )  # fmt: skip


@register
class GlobalAvgPool(_Global):
    name = "global_avg_pool"
    summary = "global average pooling to C x 1 x 1"
    flops_rule = "C * H W (H W - 1 adds and 1 divide per channel)"
    connections_rule = "C * H W"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.global_counts(ins, elements(ins[0]), "per channel: H×W − 1 adds + 1 divide")


@register
class GlobalMaxPool(_Global):
    name = "global_max_pool"
    summary = "global max pooling to C x 1 x 1"
    flops_rule = "C * (H W - 1) comparisons"
    connections_rule = "C * H W"
    mode = "max"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (ins[0][1] * ins[0][2] - 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        flops = Term("C", ins[0][0]) * Group(elements(ins[0], start=1) - 1)
        return self.global_counts(ins, flops, "per channel: H×W − 1 comparisons")


def adaptive_window_total(size_in: int, size_out: int) -> int:
    """Sum of the window lengths torch's adaptive pooling uses along one axis, in closed form.

    Window i spans [floor(i*in/out), ceil((i+1)*in/out)). Summed over i the floors telescope to `in`,
    and each ceiling adds 1 unless out divides (i+1)*in, which happens gcd(in, out) times:
    total = in + out - gcd(in, out).
    """
    return size_in + size_out - math.gcd(size_in, size_out)


class _Adaptive(LayerType):
    category = "pool"
    attrs = (Attr("output_size", Pair(), doc="output height and width"),)
    connections_rule = "C * sum over windows of their area"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        return (ins[0][0],) + a["output_size"]

    def window_area_sum(self, a: Attrs, ins: list[Shape]) -> int:
        heights = adaptive_window_total(ins[0][1], a["output_size"][0])
        widths = adaptive_window_total(ins[0][2], a["output_size"][1])
        return heights * widths

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * self.window_area_sum(a, ins)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Term("C", ins[0][0]))] + [
            Formula(f"{axis}_out", Const(size), "output_size") for axis, size in zip("HW", a["output_size"])
        ]

    def adaptive_counts(self, a: Attrs, ins: list[Shape], flops_per_window: Expr | None, note: str) -> list[Formula]:
        """`flops_per_window` adds to each window's area (−1 for max); None: the area itself (average)."""
        heights = adaptive_window_total(ins[0][1], a["output_size"][0])
        widths = adaptive_window_total(ins[0][2], a["output_size"][1])
        area = Formula("Σarea", Term("Σh_i", heights) * Term("Σw_j", widths),
                       "windows start at ⌊i×in/out⌋ and end at ⌈(i+1)×in/out⌉; their areas summed")
        channels, areas = Term("C", ins[0][0]), Term("Σarea", area.value)
        flops = channels * areas if flops_per_window is None else channels * Group(areas - flops_per_window)
        return counts(flops=flops, connections=channels * areas, notes={"FLOPs": note}, defs=[area])

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        (h, w), (oh, ow) = ins[0][1:], a["output_size"]
        if h % oh or w % ow:
            return None  # windows of unequal size: no single kernel and stride describe it
        return RFStep((h // oh, w // ow), (h // oh, w // ow))

    def torch_import_sources(self) -> tuple:
        """(module class, functional form) of torch's adaptive pool of this kind."""
        return ()

    def torch_import(self) -> tuple:
        """Output sizes are read from the traced output (torch allows None for "keep this axis"); an int
        output size of 1 imports as the global pool instead."""
        from archcalc.importer.rules import ImportRule

        module, function = self.torch_import_sources()
        return (ImportRule(self.name, modules=(module,), functions=(function,), note="output size other than the int 1",
                           read=lambda call: {"output_size": call.out_shape[1:]},
                           when=lambda call: not global_output_size(call)),)  # fmt: skip


@register
class AdaptiveAvgPool2d(_Adaptive):
    name = "adaptive_avg_pool2d"
    summary = "adaptive average pooling to a fixed output size"
    flops_rule = "C * sum over windows of their area (adds and a divide)"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * self.window_area_sum(a, ins)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.adaptive_counts(a, ins, None, "per window: area − 1 adds + 1 divide")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveAvgPool2d(a["output_size"])

    def torch_import_sources(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        return nn.AdaptiveAvgPool2d, F.adaptive_avg_pool2d


@register
class AdaptiveMaxPool2d(_Adaptive):
    name = "adaptive_max_pool2d"
    summary = "adaptive max pooling to a fixed output size"
    flops_rule = "C * sum over windows of (area - 1) comparisons"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (self.window_area_sum(a, ins) - a["output_size"][0] * a["output_size"][1])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        windows = Term("H_out", a["output_size"][0]) * Term("W_out", a["output_size"][1])
        return self.adaptive_counts(a, ins, windows, "per window: area − 1 comparisons")

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveMaxPool2d(a["output_size"])

    def torch_import_sources(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        return nn.AdaptiveMaxPool2d, F.adaptive_max_pool2d


@register
class SpatialPyramidPool(LayerType):
    name = "spp"
    summary = "spatial pyramid pooling (He et al.): one pool per level, flattened and concatenated"
    category = "pool"
    attrs = (
        Attr("levels", IntList(), doc="bins per side for each level, e.g. [4, 2, 1]"),
        Attr("mode", Choice("max", "avg"), "max"),
    )
    flops_rule = "sum over levels of C n^2 (window area - 1) for max, C n^2 area for avg"
    connections_rule = "sum over levels of C n^2 * window area"

    @staticmethod
    def level_windows(level: int, in_shape: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        """Window ceil(a/n) and stride floor(a/n) per axis."""
        h, w = in_shape[1:]
        return (-(-h // level), -(-w // level)), (h // level, w // level)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        for level in a["levels"]:
            if level > min(ins[0][1:]):
                raise ArchcalcError(f"spp: level {level} needs at least {level}x{level} input, got {list(ins[0][1:])}")
            kernel, stride = self.level_windows(level, ins[0])
            bins = windows_out(ins[0][1:], kernel, stride, (0, 0, 0, 0), (1, 1))
            if bins != (level, level):
                raise ArchcalcError(
                    f"spp: level {level} on a {ins[0][1]}x{ins[0][2]} map gives {bins[0]}x{bins[1]} bins "
                    f"with window {kernel} and stride {stride}"
                )
        return (ins[0][0] * sum(level * level for level in a["levels"]),)

    def _per_level(self, a: Attrs, ins: list[Shape], extra: int) -> int:
        total = 0
        for level in a["levels"]:
            kernel, _ = self.level_windows(level, ins[0])
            total += ins[0][0] * level * level * (kernel[0] * kernel[1] + extra)
        return total

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._per_level(a, ins, -1 if a["mode"] == "max" else 0)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._per_level(a, ins, 0)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        bins = [Const(level) * Const(level) for level in a["levels"]]
        total = bins[0]
        for item in bins[1:]:
            total = total + item
        return [Formula("F_out", Term("C", ins[0][0]) * Group(total), "C × Σ n×n over the levels")]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        extra = -1 if a["mode"] == "max" else 0
        flops: Expr | None = None
        links: Expr | None = None
        for level in a["levels"]:
            kernel, _ = self.level_windows(level, ins[0])
            area = Const(kernel[0]) * Const(kernel[1])
            bins = Term("C", ins[0][0]) * Const(level) * Const(level)
            level_flops = bins * (Group(area - 1) if extra else area)
            flops = level_flops if flops is None else flops + level_flops
            links = bins * area if links is None else links + bins * area
        return counts(flops=flops, connections=links,
                      notes={"FLOPs": "per level n: C×n×n bins, window ⌈a/n⌉ squared"
                             + (" − 1 comparisons each" if extra else " (adds and a divide)")})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        windows = [self.level_windows(level, ins[0]) for level in a["levels"]]
        return tm.SpatialPyramidPool(windows, a["mode"])

    def torch_import(self) -> tuple:
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule

        def read(call) -> dict:
            spatial = call.in_shapes[0][1:]
            windows = call.module.windows
            levels = [windows_out(spatial, kernel, stride, (0, 0, 0, 0), (1, 1))[0] for kernel, stride in windows]
            return {"levels": levels, "mode": "max" if call.module.pool is F.max_pool2d else "avg"}

        return (ImportRule(self.name, modules=(tm.SpatialPyramidPool,), read=read),)


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
