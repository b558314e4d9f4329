"""Hypothesis strategies for random layers, each paired with its reference built from torch.nn directly.

A strategy draws one layer's arguments and returns a `Drawn`: the archcalc spec entry, and a factory
that builds the torch.nn module with the same arguments from the input shape torch really sees (with
batch). The references never go through archcalc's builders, so "both reject" and "both agree" are
two independent opinions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import hypothesis.strategies as st
from torch import nn

Factory = Callable[[tuple[int, ...]], nn.Module]


@dataclass
class Drawn:
    spec: dict
    make: Factory

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return f"Drawn({self.spec})"


small = st.integers(1, 4)
pair_or_int = st.one_of(small, st.tuples(small, small).map(list))
ANY_SHAPE, IMAGE, FEATURES = "any", "image", "features"


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, list) else (value, value)


@st.composite
def conv2d(draw) -> Drawn:
    out = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12]))
    kernel, stride, dilation = draw(pair_or_int), draw(st.one_of(st.just(1), pair_or_int)), draw(st.sampled_from([1, 1, 2, 3]))
    groups, bias = draw(st.sampled_from([1, 1, 2, 3, 4])), draw(st.booleans())
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)).map(list),
                             st.tuples(*[st.integers(0, 3)] * 4).map(list), st.sampled_from(["same", "valid"])))  # fmt: skip
    if padding == "same":
        stride = 1  # torch's padding='same' is stride 1 only; archcalc's strided 'same' is TensorFlow's on purpose
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    spec = {"type": "conv2d", "out_channels": out, "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "groups": groups, "bias": bias, "padding_mode": mode}  # fmt: skip

    def make(shape):
        c_in = shape[1]
        if isinstance(padding, list) and len(padding) == 4:
            top, bottom, left, right = padding
            pad = {"zeros": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d,
                   "circular": nn.CircularPad2d}[mode]((left, right, top, bottom))  # fmt: skip
            return nn.Sequential(pad, nn.Conv2d(c_in, out, _pair(kernel), _pair(stride), 0, dilation, groups, bias))
        torch_padding = padding if isinstance(padding, str) else _pair(padding)
        return nn.Conv2d(c_in, out, _pair(kernel), _pair(stride), torch_padding, dilation, groups, bias, mode)

    return Drawn(spec, make)


@st.composite
def conv_transpose2d(draw) -> Drawn:
    out, kernel, stride = draw(st.integers(1, 8)), draw(pair_or_int), draw(pair_or_int)
    padding, output_padding = draw(st.integers(0, 3)), draw(st.integers(0, 2))
    dilation, groups, bias = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2, 3])), draw(st.booleans())
    spec = {"type": "conv_transpose2d", "out_channels": out, "kernel": kernel, "stride": stride, "padding": padding,
            "output_padding": output_padding, "dilation": dilation, "groups": groups, "bias": bias}  # fmt: skip
    return Drawn(spec, lambda shape: nn.ConvTranspose2d(shape[1], out, _pair(kernel), _pair(stride), padding,
                                                        output_padding, groups, bias, dilation))  # fmt: skip


@st.composite
def max_pool2d(draw) -> Drawn:
    kernel, stride = draw(pair_or_int), draw(st.one_of(st.none(), pair_or_int))
    padding, dilation, ceil = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)).map(list))), \
        draw(st.sampled_from([1, 1, 2])), draw(st.booleans())  # fmt: skip
    spec = {"type": "max_pool2d", "kernel": kernel, "padding": padding, "dilation": dilation, "ceil_mode": ceil}
    if stride is not None:
        spec["stride"] = stride
    return Drawn(spec, lambda shape: nn.MaxPool2d(_pair(kernel), stride and _pair(stride), _pair(padding), dilation,
                                                  ceil_mode=ceil))  # fmt: skip


@st.composite
def avg_pool2d(draw) -> Drawn:
    kernel, stride = draw(pair_or_int), draw(st.one_of(st.none(), pair_or_int))
    padding, ceil, include = draw(st.integers(0, 2)), draw(st.booleans()), draw(st.booleans())
    spec = {"type": "avg_pool2d", "kernel": kernel, "padding": padding, "ceil_mode": ceil, "count_include_pad": include}
    if stride is not None:
        spec["stride"] = stride
    return Drawn(spec, lambda shape: nn.AvgPool2d(_pair(kernel), stride and _pair(stride), padding, ceil, include))


@st.composite
def adaptive_pool(draw) -> Drawn:
    kind, size = draw(st.sampled_from(["avg", "max"])), draw(pair_or_int)
    cls = nn.AdaptiveAvgPool2d if kind == "avg" else nn.AdaptiveMaxPool2d
    return Drawn({"type": f"adaptive_{kind}_pool2d", "output_size": size}, lambda shape: cls(_pair(size)))


@st.composite
def norm(draw) -> Drawn:
    kind, affine = draw(st.sampled_from(["batchnorm", "groupnorm", "layernorm", "instancenorm", "lrn"])), draw(st.booleans())
    if kind == "batchnorm":
        track = draw(st.booleans())
        return Drawn({"type": kind, "affine": affine, "track_running_stats": track},
                     lambda shape: (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(
                         shape[1], affine=affine, track_running_stats=track))  # fmt: skip
    if kind == "groupnorm":
        groups = draw(st.integers(1, 4))
        return Drawn({"type": kind, "groups": groups, "affine": affine},
                     lambda shape: nn.GroupNorm(groups, shape[1], affine=affine))
    if kind == "layernorm":
        dims, bias = draw(st.integers(1, 3)), draw(st.booleans())
        return Drawn({"type": kind, "dims": dims, "affine": affine, "bias": bias},
                     # normalized_shape = the last `dims` sample axes; longer than the sample when dims exceeds it
                     lambda shape: nn.LayerNorm(([1] * dims + list(shape[1:]))[-dims:] if dims >= len(shape) else
                                                list(shape[-dims:]), elementwise_affine=affine, bias=bias))  # fmt: skip
    if kind == "instancenorm":
        track = draw(st.booleans())
        return Drawn({"type": kind, "affine": affine, "track_running_stats": track},
                     lambda shape: nn.InstanceNorm2d(shape[1], affine=affine, track_running_stats=track))
    size = draw(st.integers(1, 6))
    return Drawn({"type": "lrn", "size": size}, lambda shape: nn.LocalResponseNorm(size))


SIMPLE_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                      "hardswish": nn.Hardswish, "silu": nn.SiLU, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU,
                      "elu": nn.ELU}  # fmt: skip


@st.composite
def activation(draw) -> Drawn:
    kind = draw(st.sampled_from(sorted(SIMPLE_ACTIVATIONS) + ["prelu", "softmax"]))
    if kind == "prelu":
        per_channel = draw(st.booleans())
        return Drawn({"type": "prelu", "per_channel": per_channel},
                     lambda shape: nn.PReLU(shape[1] if per_channel else 1))
    if kind == "softmax":
        axis = draw(st.integers(-3, 2))
        # archcalc's axis counts sample axes; an axis beyond the sample must stay beyond torch's too.
        return Drawn({"type": "softmax", "axis": axis},
                     lambda shape: nn.Softmax(axis + 1 if axis >= 0 else axis if -axis < len(shape) else axis - 1))
    return Drawn({"type": kind}, lambda shape: SIMPLE_ACTIVATIONS[kind]())


@st.composite
def linear(draw, claims: bool = True) -> Drawn:
    out, bias = draw(st.integers(1, 16)), draw(st.booleans())
    # archcalc's optional check of the input size, mostly wrong when drawn
    claimed = draw(st.one_of(st.none(), st.integers(1, 300))) if claims else None
    spec = {"type": "linear", "out_features": out, "bias": bias}
    if claimed is not None:
        spec["in_features"] = claimed
    return Drawn(spec, lambda shape: nn.Linear(claimed or shape[-1], out, bias))


def flatten() -> Drawn:
    return Drawn({"type": "flatten"}, lambda shape: nn.Flatten())


@st.composite
def size_keeping(draw) -> Drawn:
    """A stride-1 conv or pool padded to keep height and width (branches that concat or add can meet)."""
    kernel, dilation = draw(st.sampled_from([1, 3, 3, 5])), draw(st.sampled_from([1, 1, 2]))
    kind = draw(st.sampled_from(["conv2d", "conv2d", "max_pool2d", "avg_pool2d"]))
    if kind == "conv2d":
        out, groups, bias = draw(st.sampled_from([1, 2, 4, 8])), draw(st.sampled_from([1, 1, 2])), draw(st.booleans())
        pad = dilation * (kernel // 2)
        return Drawn({"type": "conv2d", "out_channels": out, "kernel": kernel, "padding": pad, "dilation": dilation,
                      "groups": groups, "bias": bias},
                     lambda shape: nn.Conv2d(shape[1], out, kernel, 1, pad, dilation, groups, bias))  # fmt: skip
    spec = {"type": kind, "kernel": kernel, "stride": 1, "padding": kernel // 2}
    if kind == "max_pool2d":
        return Drawn(spec, lambda shape: nn.MaxPool2d(kernel, 1, kernel // 2))
    return Drawn(spec, lambda shape: nn.AvgPool2d(kernel, 1, kernel // 2))


IMAGE_LAYERS = st.one_of(conv2d(), conv2d(), conv_transpose2d(), max_pool2d(), avg_pool2d(), adaptive_pool(), norm(),
                         activation())  # fmt: skip
ANY_LAYER = st.one_of(IMAGE_LAYERS, linear(), st.just(flatten()))
BRANCH_LAYERS = st.one_of(size_keeping(), size_keeping(), size_keeping(), norm(), activation(), IMAGE_LAYERS)
# Channel counts with many divisors, so grouped convolutions and group norms are often valid.
image_shapes = st.tuples(st.sampled_from([1, 2, 3, 4, 6, 8, 12]), st.integers(1, 12), st.integers(1, 12))
