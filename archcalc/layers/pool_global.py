"""Pooling to a fixed size: global, adaptive and spatial pyramid pooling.

    global_avg_pool      flops H W per channel                     connections H W per channel
    global_max_pool      flops H W - 1 per channel                 connections H W per channel
                         (any number of spatial axes: H W stands for their product; output C x 1 x 1,
                         or C with keep_dims false, as x.mean((2, 3)) gives)
    adaptive_avg_pool1d/2d/3d, adaptive_max_pool1d/2d/3d
                         as avg/max, window by window (torch's start = floor(i*in/out),
                         end = ceil((i+1)*in/out)), per axis in closed form; RF defined only when
                         in % out == 0 on every axis
    spp                  one max (or avg) pool per level n: window ceil(a/n), stride floor(a/n)
                         (the seeds' rule); the level must give n x n bins; output C * sum(n^2)

Training: backward about the forward cost (the default rule).
"""


from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, IntList, Sizes
from archcalc.layers.base import (Attrs, LayerType, RFStep, Shape, elements, numel, register, register_ranks,
                                  require_rank, spatial_names, torch_class)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts, product
from archcalc.layers.geometry import Window, windows_out
from archcalc.layers.imports import CannotMap, ImportRule

def global_output_size(call) -> bool:
    """Import: an adaptive pool (module or function) to the int 1 is a global pool; a tuple stays adaptive."""
    if call.module is not None:
        size = call.module.output_size
    else:
        size = call.bind("input", "output_size", "return_indices", return_indices=False)["output_size"]
    return isinstance(size, int) and size == 1


def _require_spatial(layer: str, shape: Shape) -> None:
    if not 2 <= len(shape) <= 4:
        raise ArchcalcError(f"{layer} needs a [channels, length], [channels, height, width] or "
                            f"[channels, depth, height, width] input, got shape {list(shape)}")  # fmt: skip


class _Global(LayerType):
    category = "pool"
    attrs = (Attr("keep_dims", Bool(), True, "output C x 1 x 1 (true) or C (false, as x.mean((2, 3)))"),)
    mode = "avg"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _require_spatial(self.name, ins[0])
        return (ins[0][0],) + (1,) * (len(ins[0]) - 1) if a["keep_dims"] else (ins[0][0],)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = [Formula("C_out", Term("C", ins[0][0]))]
        spatial = spatial_names(len(ins[0]) - 1)
        return channels + ([Formula(f"{name}_out", Const(1)) for name in spatial] if a["keep_dims"] else [])

    def global_counts(self, ins: list[Shape], flops: Expr, note: str) -> list[Formula]:
        return counts(flops=flops, connections=elements(ins[0]), notes={"FLOPs": note})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        return RFStep(tuple(ins[0][1:])) if len(out) == len(ins[0]) else None

    def call_refused(self, a: Attrs, call: str) -> str | None:
        if call == "function" and not a["keep_dims"]:
            return (f"{self.calls['function']} keeps the pooled axes as 1 x 1: set keep_dims: true (and flatten "
                    f"after it), or call: method for {self.calls['method']}")  # fmt: skip
        return None

    def build_invoked(self, a: Attrs, ins: list[Shape], out: Shape, call: str):
        from archcalc import torch_modules as tm

        return tm.GlobalPool(self.mode, a["keep_dims"]) if call == "method" else self.build_torch(a, ins, out)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        if not a["keep_dims"]:
            return tm.GlobalPool(self.mode, keep_dims=False)
        return torch_class("AdaptiveAvgPool" if self.mode == "avg" else "AdaptiveMaxPool", len(ins[0]) - 1)(1)

    def torch_import(self) -> tuple:
        """The adaptive pool with output size 1 (an int; a tuple imports as the adaptive type), archcalc's
        GlobalPool, `x.mean((2, 3))` / `x.amax((2, 3))` over every spatial axis and the functional adaptive
        pool with size 1, in 1, 2 or 3 spatial axes."""
        import torch
        from torch.nn import functional as F

        from archcalc import torch_modules as tm

        kind = "Avg" if self.mode == "avg" else "Max"
        adaptive = tuple(torch_class(f"Adaptive{kind}Pool", rank) for rank in (1, 2, 3))
        functional = tuple(getattr(F, f"adaptive_{self.mode}_pool{rank}d") for rank in (1, 2, 3))
        reductions = (torch.mean, torch.Tensor.mean) if self.mode == "avg" else (torch.amax, torch.Tensor.amax)

        def every_spatial_axis(call) -> bool:
            """Only a reduction over every spatial axis of a [C, ...] map is this pool (x.mean(1) is `mean`)."""
            dim = call.kwargs.get("dim", call.args[1] if len(call.args) > 1 else None)
            dims = (dim,) if isinstance(dim, int) else dim
            rank = len(call.in_shapes[0]) + 1  # with the batch axis
            return bool(3 <= rank <= 5 and dims and sorted(d % rank for d in dims) == list(range(2, rank)))

        def reduce(call) -> dict:
            b = call.bind("input", "dim", "keepdim", "dtype", dim=None, keepdim=False, dtype=None)
            if b["dtype"]:
                raise CannotMap("converts the dtype")
            return {"keep_dims": b["keepdim"]}

        return (
            ImportRule(self.name, modules=adaptive, functions=functional, when=global_output_size,
                       note="output size 1, an int"),
            ImportRule(self.name, modules=(tm.GlobalPool,), when=lambda call: call.module.mode == self.mode,
                       read=lambda call: {"keep_dims": call.module.keep_dims}, note=f"mode {self.mode}"),
            ImportRule(self.name, functions=reductions, read=reduce, when=every_spatial_axis,
                       note="over every spatial axis", form="method"),  # torch.mean(x, dims) is x.mean(dims)
        )  # fmt: skip


@register
class GlobalAvgPool(_Global):
    name = "global_avg_pool"
    calls = {"function": "F.adaptive_avg_pool2d(x, 1) (any rank)", "method": "x.mean(spatial axes)"}
    summary = "global average pooling to C x 1 x 1 (any number of spatial axes)"
    flops_rule = "C * H W (H W - 1 adds and 1 divide per channel)"
    connections_rule = "C * H W"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        area = "×".join(spatial_names(len(ins[0]) - 1))
        return self.global_counts(ins, elements(ins[0]), f"per channel: {area} − 1 adds + 1 divide")


@register
class GlobalMaxPool(_Global):
    name = "global_max_pool"
    calls = {"function": "F.adaptive_max_pool2d(x, 1) (any rank)", "method": "x.amax(spatial axes)"}
    summary = "global max pooling to C x 1 x 1 (any number of spatial axes)"
    flops_rule = "C * (H W - 1) comparisons"
    connections_rule = "C * H W"
    mode = "max"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (numel(ins[0][1:]) - 1)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        flops = Term("C", ins[0][0]) * Group(elements(ins[0], start=1) - 1)
        area = "×".join(spatial_names(len(ins[0]) - 1))
        return self.global_counts(ins, flops, f"per channel: {area} − 1 comparisons")


def adaptive_window_total(size_in: int, size_out: int) -> int:
    """Sum of the window lengths torch's adaptive pooling uses along one axis, in closed form.

    Window i spans [floor(i*in/out), ceil((i+1)*in/out)). Summed over i the floors telescope to `in`,
    and each ceiling adds 1 unless out divides (i+1)*in, which happens gcd(in, out) times:
    total = in + out - gcd(in, out).
    """
    return size_in + size_out - math.gcd(size_in, size_out)


class _Adaptive(LayerType):
    category = "pool"
    connections_rule = "C * sum over windows of their area"
    mode = "avg"

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        what = {1: "output length", 2: "output height and width", 3: "output depth, height and width"}[rank]
        return (Attr("output_size", Sizes(rank), doc=what),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], self.spatial_rank + 1)
        return (ins[0][0],) + a["output_size"]

    def window_totals(self, a: Attrs, ins: list[Shape]) -> list[int]:
        return [adaptive_window_total(size, n_out) for size, n_out in zip(ins[0][1:], a["output_size"])]

    def window_area_sum(self, a: Attrs, ins: list[Shape]) -> int:
        return numel(tuple(self.window_totals(a, ins)))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * self.window_area_sum(a, ins)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Term("C", ins[0][0]))] + [
            Formula(f"{axis}_out", Const(size), "output_size")
            for axis, size in zip(spatial_names(self.spatial_rank), a["output_size"])
        ]

    def adaptive_counts(self, a: Attrs, ins: list[Shape], flops_per_window: Expr | None, note: str) -> list[Formula]:
        """`flops_per_window` adds to each window's area (−1 for max); None: the area itself (average)."""
        names = [f"Σ{name.lower()}_{index}" for name, index in zip(spatial_names(self.spatial_rank), "ijk")]
        area = Formula("Σarea", product([Term(name, total) for name, total in zip(names, self.window_totals(a, ins))]),
                       "windows start at ⌊i×in/out⌋ and end at ⌈(i+1)×in/out⌉; their areas summed")  # fmt: skip
        channels, areas = Term("C", ins[0][0]), Term("Σarea", area.value)
        flops = channels * areas if flops_per_window is None else channels * Group(areas - flops_per_window)
        return counts(flops=flops, connections=channels * areas, notes={"FLOPs": note}, defs=[area])

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        spatial, sizes = ins[0][1:], a["output_size"]
        if any(size % n_out for size, n_out in zip(spatial, sizes)):
            return None  # windows of unequal size: no single kernel and stride describe it
        step = tuple(size // n_out for size, n_out in zip(spatial, sizes))
        return RFStep(step, step)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        return torch_class("AdaptiveAvgPool" if self.mode == "avg" else "AdaptiveMaxPool", self.spatial_rank)(
            a["output_size"])

    def torch_import(self) -> tuple:
        """Output sizes are read from the traced output (torch allows None for "keep this axis"); an int
        output size of 1 imports as the global pool instead."""
        from torch.nn import functional as F

        module = torch_class("AdaptiveAvgPool" if self.mode == "avg" else "AdaptiveMaxPool", self.spatial_rank)
        function = getattr(F, f"adaptive_{self.mode}_pool{self.spatial_rank}d")
        return (ImportRule(self.name, modules=(module,), functions=(function,), note="output size other than the int 1",
                           read=lambda call: {"output_size": call.out_shape[1:]},
                           when=lambda call: not global_output_size(call)),)  # fmt: skip


class _AdaptiveAvg(_Adaptive):
    family = "adaptive_avg_pool"
    calls = {"function": "F.adaptive_avg_pool1d / 2d / 3d"}
    summary = "adaptive average pooling to a fixed output size"
    flops_rule = "C * sum over windows of their area (adds and a divide)"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * self.window_area_sum(a, ins)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return self.adaptive_counts(a, ins, None, "per window: area − 1 adds + 1 divide")


class _AdaptiveMax(_Adaptive):
    family = "adaptive_max_pool"
    calls = {"function": "F.adaptive_max_pool1d / 2d / 3d"}
    summary = "adaptive max pooling to a fixed output size"
    flops_rule = "C * sum over windows of (area - 1) comparisons"
    mode = "max"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (self.window_area_sum(a, ins) - numel(a["output_size"]))

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        windows = product([Term(f"{name}_out", size)
                           for name, size in zip(spatial_names(self.spatial_rank), a["output_size"])])  # fmt: skip
        return self.adaptive_counts(a, ins, windows, "per window: area − 1 comparisons")


register_ranks(_AdaptiveAvg, {1: "adaptive_avg_pool1d", 2: "adaptive_avg_pool2d", 3: "adaptive_avg_pool3d"})
register_ranks(_AdaptiveMax, {1: "adaptive_max_pool1d", 2: "adaptive_max_pool2d", 3: "adaptive_max_pool3d"})


@register
class SpatialPyramidPool(LayerType):
    name = "spp"
    spatial_rank = 2
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
            bins = windows_out(ins[0][1:], Window(kernel, stride, (0, 0, 0, 0), (1, 1)))
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

        def read(call) -> dict:
            spatial = call.in_shapes[0][1:]
            windows = call.module.windows
            levels = [windows_out(spatial, Window(kernel, stride, (0, 0, 0, 0), (1, 1)))[0] for kernel, stride in windows]
            return {"levels": levels, "mode": "max" if call.module.pool is F.max_pool2d else "avg"}

        return (ImportRule(self.name, modules=(tm.SpatialPyramidPool,), read=read),)
