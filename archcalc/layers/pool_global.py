"""Pooling to a fixed size: global, adaptive and spatial pyramid pooling.

    global_avg_pool      flops H W per channel                     connections H W per channel
    global_max_pool      flops H W - 1 per channel                 connections H W per channel
                         (output C x 1 x 1, or C with keep_dims false, as x.mean((2, 3)) gives)
    adaptive_*_pool2d    as avg/max, window by window (torch's start = floor(i*in/out),
                         end = ceil((i+1)*in/out)); RF defined only when in % out == 0
    spp                  one max (or avg) pool per level n: window ceil(a/n), stride floor(a/n)
                         (the seeds' rule); the level must give n x n bins; output C * sum(n^2)

Training: backward about the forward cost (the default rule).
"""


from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, IntList, Pair
from archcalc.layers.base import Attrs, LayerType, RFStep, Shape, elements, numel, register, require_rank
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts
from archcalc.layers.geometry import windows_out

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
