"""Import rules for timm's convolution and pooling variants (timm 1.0.31, timm/layers/), read as conv2d,
max_pool2d and avg_pool2d with per-side padding and weight standardisation:

- std_conv.py: StdConv2d, ScaledStdConv2d (conv `standardize: std | scaled`) and their "Same" variants;
- conv2d_same.py: Conv2dSame, which pads each input TF-style ("SAME") before a conv that pads nothing;
- pool2d_same.py: MaxPool2dSame (pads with -inf) and AvgPool2dSame (pads with zeros, which the average
  then always counts, whatever count_include_pad says).

TF's SAME padding, per spatial axis (timm's get_same_padding / pad_same): pad = max((ceil(x / s) - 1) s +
(k - 1) d + 1 - x, 0), before = pad // 2, after = pad - pad // 2, computed from the traced input's size.
The classes are looked up by dotted name when timm is already imported (ImportRule.foreign).
"""

from __future__ import annotations

from typing import Callable

from archcalc.layers.geometry import same_padding
from archcalc.layers.imports import CannotMap, ImportRule

_STD = "timm.layers.std_conv."


def same_sides(size: tuple[int, ...], kernel, stride, dilation) -> list[int]:
    """TF "SAME" padding of a map of spatial `size`, as the spec's [before, after] per axis, first axis first."""
    return [side for x, k, s, d in zip(size, kernel, stride, dilation) for side in same_padding(x, k, s, d)]


def _dynamic(call, m) -> list[int]:
    if any(m.padding if not isinstance(m.padding, str) else [1]):
        raise CannotMap("pads twice: TF-style SAME padding before a conv that pads itself")
    return same_sides(call.in_shapes[0][1:], m.kernel_size, m.stride, m.dilation)


def standardized_conv_rules(layer: str, rank: int, conv: Callable) -> tuple[ImportRule, ...]:
    """conv1d/2d/3d's rules for archcalc's own standardised build and (conv2d) timm's classes; `conv(m)`
    reads an nn.ConvNd's attributes."""
    from archcalc.torch_convs import CLASSES

    own = ImportRule(layer, modules=(CLASSES[rank],), read=lambda call: conv(call.module),
                     note="archcalc's build of a standardised conv")  # fmt: skip
    if rank != 2:
        return (own,)

    def reader(standardize: str, same: str) -> Callable:
        """same: "" (static padding), "always" (Conv2dSame) or "flag" (the module's same_pad says)."""

        def read(call) -> dict:
            m = call.module
            attrs = conv(m) | {"standardize": standardize}
            if same == "always" or (same == "flag" and m.same_pad):
                attrs["padding"] = _dynamic(call, m)
            return attrs

        return read

    return (
        own,
        ImportRule(layer, foreign=(_STD + "StdConv2d",), read=reader("std", "")),
        ImportRule(layer, foreign=(_STD + "StdConv2dSame",), read=reader("std", "flag")),
        ImportRule(layer, foreign=(_STD + "ScaledStdConv2d",), read=reader("scaled", "")),
        ImportRule(layer, foreign=(_STD + "ScaledStdConv2dSame",), read=reader("scaled", "flag")),
        ImportRule(layer, foreign=("timm.layers.conv2d_same.Conv2dSame",), read=reader("none", "always"),
                   note="TF-style SAME padding per input"),
    )  # fmt: skip


def same_pool_rules(layer: str, kind: str, read_pool: Callable) -> tuple[ImportRule, ...]:
    """max_pool2d's / avg_pool2d's rules for timm's MaxPool2dSame / AvgPool2dSame; `read_pool(m)` reads the
    torch pool module's attributes."""

    def read(call) -> dict:
        m = call.module
        dilation = getattr(m, "dilation", 1)
        dilation = (dilation,) * 2 if isinstance(dilation, int) else dilation
        attrs = read_pool(call) | {"padding": same_sides(call.in_shapes[0][1:], m.kernel_size, m.stride, dilation)}
        if any(m.padding if not isinstance(m.padding, int) else [m.padding]):
            raise CannotMap("pads twice: TF-style SAME padding before a pool that pads itself")
        if kind == "Avg":  # the zeros are padded before F.avg_pool2d, so every average counts them
            attrs["count_include_pad"] = True
        return attrs

    return (ImportRule(layer, foreign=(f"timm.layers.pool2d_same.{kind}Pool2dSame",), read=read,
                       note="TF-style SAME padding per input"),)  # fmt: skip
