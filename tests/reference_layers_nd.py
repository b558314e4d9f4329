"""Hypothesis strategies for the rank-generic families, drawn at spatial rank 1, 2 or 3, each paired with
its reference built from torch.nn directly (nn.Conv1d/2d/3d, nn.MaxPool3d, ...), as in
tests/reference_layers.py. The references never go through archcalc's builders.
"""

from __future__ import annotations

import hypothesis.strategies as st
from torch import nn

from tests.reference_layers import Drawn

RANKS = st.sampled_from([1, 2, 3])


def cls(prefix: str, rank: int) -> type:
    return getattr(nn, f"{prefix}{rank}d")


def sizes(rank: int, low: int = 1, high: int = 4):
    """One int for every axis, or one per axis (a list)."""
    return st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=rank, max_size=rank))


def per_axis(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list) else (value,) * rank


@st.composite
def conv(draw, rank: int) -> Drawn:
    out, groups, bias = draw(st.sampled_from([1, 2, 4, 6])), draw(st.sampled_from([1, 1, 2])), draw(st.booleans())
    kernel, stride, dilation = draw(sizes(rank)), draw(st.one_of(st.just(1), sizes(rank, 1, 3))), draw(sizes(rank, 1, 2))
    padding = draw(st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=rank, max_size=rank),
                             st.sampled_from(["same", "valid"])))  # fmt: skip
    if padding == "same":
        stride = 1  # torch's padding='same' is stride 1 only
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    spec = {"type": f"conv{rank}d", "out_channels": out, "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "groups": groups, "bias": bias, "padding_mode": mode}  # fmt: skip
    torch_padding = padding if isinstance(padding, str) else per_axis(padding, rank)
    return Drawn(spec, lambda shape: cls("Conv", rank)(shape[1], out, per_axis(kernel, rank), per_axis(stride, rank),
                                                       torch_padding, per_axis(dilation, rank), groups, bias, mode))


@st.composite
def conv_transpose(draw, rank: int) -> Drawn:
    out, kernel, stride = draw(st.integers(1, 4)), draw(sizes(rank)), draw(sizes(rank, 1, 3))
    padding, output_padding = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dilation, groups, bias = draw(st.sampled_from([1, 2])), draw(st.sampled_from([1, 1, 2])), draw(st.booleans())
    spec = {"type": f"conv_transpose{rank}d", "out_channels": out, "kernel": kernel, "stride": stride,
            "padding": padding, "output_padding": output_padding, "dilation": dilation, "groups": groups,
            "bias": bias}  # fmt: skip
    return Drawn(spec, lambda shape: cls("ConvTranspose", rank)(shape[1], out, per_axis(kernel, rank),
                                                                per_axis(stride, rank), padding, output_padding,
                                                                groups, bias, dilation))  # fmt: skip


@st.composite
def pool(draw, rank: int) -> Drawn:
    kind, kernel, stride = draw(st.sampled_from(["max", "avg"])), draw(sizes(rank)), draw(st.one_of(st.none(), sizes(rank, 1, 3)))
    padding, ceil = draw(st.integers(0, 2)), draw(st.booleans())
    spec = {"type": f"{kind}_pool{rank}d", "kernel": kernel, "padding": padding, "ceil_mode": ceil}
    if stride is not None:
        spec["stride"] = stride
    torch_stride = stride and per_axis(stride, rank)
    if kind == "max":
        dilation = draw(st.sampled_from([1, 2]))
        spec["dilation"] = dilation
        return Drawn(spec, lambda shape: cls("MaxPool", rank)(per_axis(kernel, rank), torch_stride, padding, dilation,
                                                              ceil_mode=ceil))  # fmt: skip
    include = draw(st.booleans())
    spec["count_include_pad"] = include
    return Drawn(spec, lambda shape: cls("AvgPool", rank)(per_axis(kernel, rank), torch_stride, padding, ceil, include))


@st.composite
def adaptive(draw, rank: int) -> Drawn:
    kind, size = draw(st.sampled_from(["Avg", "Max"])), draw(sizes(rank))
    return Drawn({"type": f"adaptive_{kind.lower()}_pool{rank}d", "output_size": size},
                 lambda shape: cls(f"Adaptive{kind}Pool", rank)(per_axis(size, rank)))


@st.composite
def norm(draw, rank: int) -> Drawn:
    kind, affine, track = draw(st.sampled_from(["batchnorm", "instancenorm"])), draw(st.booleans()), draw(st.booleans())
    named = draw(st.booleans())  # batchnorm3d, or batchnorm taking the rank of its input
    prefix = "BatchNorm" if kind == "batchnorm" else "InstanceNorm"
    return Drawn({"type": f"{kind}{rank}d" if named else kind, "affine": affine, "track_running_stats": track},
                 lambda shape: cls(prefix, rank)(shape[1], affine=affine, track_running_stats=track))


@st.composite
def pad(draw, rank: int) -> Drawn:
    sides = draw(st.lists(st.integers(0, 3), min_size=2 * rank, max_size=2 * rank))
    mode = draw(st.sampled_from(["zero", "reflect", "replicate", "circular"]))
    name = {1: "pad1d", 2: "pad", 3: "pad3d"}[rank]
    torch_order = tuple(side for axis in reversed(range(rank)) for side in sides[2 * axis : 2 * axis + 2])
    prefix = {"zero": "ZeroPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad", "circular": "CircularPad"}
    return Drawn({"type": name, "padding": sides, "mode": mode}, lambda shape: cls(prefix[mode], rank)(torch_order))


@st.composite
def upsample(draw, rank: int) -> Drawn:
    mode = draw(st.sampled_from(["nearest", ("linear", "bilinear", "trilinear")[rank - 1]]))
    scale = draw(st.sampled_from([1, 2, 3]))
    return Drawn({"type": "upsample", "scale": scale, "mode": mode},
                 lambda shape: nn.Upsample(scale_factor=float(scale), mode=mode))


def layer(rank: int):
    return st.one_of(conv(rank), conv(rank), conv_transpose(rank), pool(rank), pool(rank), adaptive(rank), norm(rank),
                     pad(rank), upsample(rank))  # fmt: skip


@st.composite
def shapes(draw, rank: int) -> tuple[int, ...]:
    """[C, *spatial]: small sizes, and smaller ones in 3-D (the reference runs on the CPU)."""
    high = {1: 16, 2: 9, 3: 6}[rank]
    return (draw(st.sampled_from([1, 2, 3, 4, 6])),) + tuple(draw(st.integers(1, high)) for _ in range(rank))


@st.composite
def one_layer(draw) -> tuple[tuple[int, ...], Drawn]:
    rank = draw(RANKS)
    return draw(shapes(rank)), draw(layer(rank))


@st.composite
def stacks(draw) -> tuple[tuple[int, ...], list[Drawn]]:
    """Two to four layers of one rank in sequence."""
    rank = draw(RANKS)
    return draw(shapes(rank)), draw(st.lists(layer(rank), min_size=2, max_size=4))
