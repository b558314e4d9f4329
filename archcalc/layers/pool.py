"""Pooling: max, average, global, adaptive, spatial pyramid, and LeNet-5's trainable subsampling.

Per output element, with a k_h x k_w window (the window includes padding, as torch computes it):

    max_pool2d           flops (k_h k_w - 1) comparisons          connections k_h k_w
    avg_pool2d           flops k_h k_w (k_h k_w - 1 adds, 1 divide) connections k_h k_w
    global_avg_pool      flops H W per channel                     connections H W per channel
    global_max_pool      flops H W - 1 per channel                 connections H W per channel
    adaptive_*_pool2d    as avg/max, window by window (torch's start = floor(i*in/out),
                         end = ceil((i+1)*in/out)); RF defined only when in % out == 0
    spp                  one max (or avg) pool per level n: window ceil(a/n), stride floor(a/n)
                         (the seeds' rule); the level must give n x n bins; output C * sum(n^2)
    subsampling          LeNet-5: sum of the window, times a trainable coefficient, plus a trainable
                         bias, per map: params 2C; flops k_h k_w + 1; connections k_h k_w + 1
"""

from __future__ import annotations

import math

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, IntList, Padding, Pair
from archcalc.layers.base import Attrs, LayerType, Params, RFStep, Shape, numel, register, require_rank
from archcalc.layers.geometry import is_symmetric, resolve_padding, windows_out


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

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * a["kernel"][0] * a["kernel"][1]


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
    flops_rule = "out * (k_h k_w - 1) comparisons"
    connections_rule = "out * k_h k_w"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (a["kernel"][0] * a["kernel"][1] - 1)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        stride, dilation, pads = self.geometry(a, ins[0])
        if is_symmetric(pads):
            return nn.MaxPool2d(a["kernel"], stride, (pads[0], pads[2]), dilation, ceil_mode=a["ceil_mode"])
        return tm.Padded(pads, "max", nn.MaxPool2d(a["kernel"], stride, 0, dilation))


@register
class AvgPool2d(_Window):
    name = "avg_pool2d"
    summary = "average pooling with padding and ceil mode"
    attrs = _POOL_ATTRS + (
        Attr("ceil_mode", Bool(), False),
        Attr("count_include_pad", Bool(), True, "divide by the full window, padding included (torch default)"),
    )
    flops_rule = "out * k_h k_w (k_h k_w - 1 adds, 1 divide)"
    connections_rule = "out * k_h k_w"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * a["kernel"][0] * a["kernel"][1]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        from archcalc import torch_modules as tm

        stride, _, pads = self.geometry(a, ins[0])
        if is_symmetric(pads):
            return nn.AvgPool2d(a["kernel"], stride, (pads[0], pads[2]), a["ceil_mode"], a["count_include_pad"])
        return tm.Padded(pads, "zeros", nn.AvgPool2d(a["kernel"], stride, 0))


class _Global(LayerType):
    category = "pool"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        return (ins[0][0], 1, 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        return RFStep((ins[0][1], ins[0][2]))


@register
class GlobalAvgPool(_Global):
    name = "global_avg_pool"
    summary = "global average pooling to C x 1 x 1"
    flops_rule = "C * H W (H W - 1 adds and 1 divide per channel)"
    connections_rule = "C * H W"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(ins[0])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveAvgPool2d(1)


@register
class GlobalMaxPool(_Global):
    name = "global_max_pool"
    summary = "global max pooling to C x 1 x 1"
    flops_rule = "C * (H W - 1) comparisons"
    connections_rule = "C * H W"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (ins[0][1] * ins[0][2] - 1)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveMaxPool2d(1)


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

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        (h, w), (oh, ow) = ins[0][1:], a["output_size"]
        if h % oh or w % ow:
            return None  # windows of unequal size: no single kernel and stride describe it
        return RFStep((h // oh, w // ow), (h // oh, w // ow))


@register
class AdaptiveAvgPool2d(_Adaptive):
    name = "adaptive_avg_pool2d"
    summary = "adaptive average pooling to a fixed output size"
    flops_rule = "C * sum over windows of their area (adds and a divide)"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * self.window_area_sum(a, ins)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveAvgPool2d(a["output_size"])


@register
class AdaptiveMaxPool2d(_Adaptive):
    name = "adaptive_max_pool2d"
    summary = "adaptive max pooling to a fixed output size"
    flops_rule = "C * sum over windows of (area - 1) comparisons"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return ins[0][0] * (self.window_area_sum(a, ins) - a["output_size"][0] * a["output_size"][1])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.AdaptiveMaxPool2d(a["output_size"])


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

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        windows = [self.level_windows(level, ins[0]) for level in a["levels"]]
        return tm.SpatialPyramidPool(windows, a["mode"])


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

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Subsampling(ins[0][0], a["kernel"], a["stride"] or a["kernel"])
