"""Structure and resampling: dropout, flatten, reshape, add, concat, mul, channel_shuffle,
pixel_shuffle, upsample, pad and identity.

Layers that only move data (dropout at inference, flatten, reshape, concat, shuffles, pad, nearest
upsampling, identity) cost no FLOPs and have no connections.

    add / mul      flops (n_inputs - 1) * out; connections n_inputs * out; inputs broadcast as in torch
    upsample       bilinear: each output is a weighted sum of 4 neighbours: flops 7 * out
                   (4 multiplies, 3 adds), connections 4 * out; nearest: 0 and 0
    receptive field: add, mul and concat merge their inputs' fields (see analysis/receptive.py);
                   pad shifts positions by its top/left padding; flatten, reshape, pixel_shuffle and
                   upsampling by a factor other than 1 end the receptive field (None).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int, IntList, Padding, Pair
from archcalc.layers.base import IDENTITY, Attrs, LayerType, RFStep, Shape, numel, register, require_rank
from archcalc.layers.geometry import check_border_padding


@register
class Identity(LayerType):
    name = "identity"
    summary = "passes its input through"
    category = "structure"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Identity()


@register
class Dropout(LayerType):
    name = "dropout"
    summary = "dropout (identity at inference)"
    category = "structure"
    attrs = (Attr("p", Float(0.0, 1.0), 0.5, "drop probability"),)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Dropout(a["p"])


@register
class Flatten(LayerType):
    name = "flatten"
    summary = "flattens axes start..end of a sample into one (default: all)"
    category = "structure"
    attrs = (Attr("start", Int(None), 0, "first axis, not counting the batch"), Attr("end", Int(None), -1))

    def _range(self, a: Attrs, shape: Shape) -> tuple[int, int]:
        start, end = a["start"] % len(shape) if -len(shape) <= a["start"] < len(shape) else None, a["end"]
        end = end % len(shape) if -len(shape) <= end < len(shape) else None
        if start is None or end is None or start > end:
            raise ArchcalcError(f"flatten: axes {a['start']}..{a['end']} do not fit shape {list(shape)}")
        return start, end

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        start, end = self._range(a, ins[0])
        return ins[0][:start] + (numel(ins[0][start : end + 1]),) + ins[0][end + 1 :]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        start, end = self._range(a, ins[0])
        return nn.Flatten(start + 1, end + 1)


@register
class Reshape(LayerType):
    name = "reshape"
    summary = "reshapes a sample (one axis may be -1)"
    category = "structure"
    attrs = (Attr("shape", IntList(allow_minus_one=True), doc="target shape without the batch axis"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        target, total = list(a["shape"]), numel(ins[0])
        if target.count(-1) > 1:
            raise ArchcalcError("reshape: only one axis may be -1")
        if -1 in target:
            known = numel(tuple(s for s in target if s != -1))
            if total % known:
                raise ArchcalcError(f"reshape: {total} elements do not fit shape {target}")
            target[target.index(-1)] = total // known
        if numel(tuple(target)) != total:
            raise ArchcalcError(f"reshape: {total} elements of {list(ins[0])} do not fit shape {target}")
        return tuple(target)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Unflatten(1, out) if len(ins[0]) == 1 else nn.Sequential(nn.Flatten(), nn.Unflatten(1, out))


def broadcast(layer: str, shapes: list[Shape]) -> Shape:
    """torch's broadcasting of sample shapes (batch axes are equal by construction)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ArchcalcError(f"{layer}: input shapes {' and '.join(str(list(s)) for s in shapes)} do not match")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class _Elementwise(LayerType):
    category = "elementwise"
    min_inputs = 2
    max_inputs = None
    flops_rule = "(n_inputs - 1) * out"
    connections_rule = "n_inputs * out"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return broadcast(self.name, ins)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return (len(ins) - 1) * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return len(ins) * numel(out)


@register
class Add(_Elementwise):
    name = "add"
    summary = "elementwise sum of its inputs (residual connections)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Add()


@register
class Mul(_Elementwise):
    name = "mul"
    summary = "elementwise product of its inputs, broadcasting (the SE channel scale)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Mul()


@register
class Concat(LayerType):
    name = "concat"
    summary = "concatenation along an axis (default channels)"
    category = "structure"
    min_inputs = 2
    max_inputs = None
    attrs = (Attr("axis", Int(None), 0, "axis of the sample, not counting the batch"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        rank = len(ins[0])
        axis = a["axis"]
        if not -rank <= axis < rank:
            raise ArchcalcError(f"concat: axis {axis} is out of range for shape {list(ins[0])}")
        axis %= rank
        for other in ins[1:]:
            if len(other) != rank or any(x != y for i, (x, y) in enumerate(zip(ins[0], other)) if i != axis):
                raise ArchcalcError(
                    f"concat: input shapes {' and '.join(str(list(s)) for s in ins)} differ outside axis {axis}"
                )
        return ins[0][:axis] + (sum(s[axis] for s in ins),) + ins[0][axis + 1 :]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Concat(a["axis"] % len(ins[0]) + 1)


@register
class ChannelShuffle(LayerType):
    name = "channel_shuffle"
    summary = "ShuffleNet channel shuffle: reshape to groups, transpose, flatten"
    category = "structure"
    attrs = (Attr("groups", Int()),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        if ins[0][0] % a["groups"]:
            raise ArchcalcError(f"channel_shuffle: channels {ins[0][0]} are not divisible by groups {a['groups']}")
        return ins[0]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.ChannelShuffle(a["groups"])


@register
class PixelShuffle(LayerType):
    name = "pixel_shuffle"
    summary = "sub-pixel upsampling: C r^2 x H x W -> C x H r x W r"
    category = "structure"
    attrs = (Attr("upscale", Int(), doc="factor r", aliases=("upscale_factor",)),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        r = a["upscale"]
        if ins[0][0] % (r * r):
            raise ArchcalcError(f"pixel_shuffle: channels {ins[0][0]} are not divisible by {r}^2")
        return (ins[0][0] // (r * r), ins[0][1] * r, ins[0][2] * r)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.PixelShuffle(a["upscale"])


@register
class Upsample(LayerType):
    name = "upsample"
    summary = "nearest or bilinear upsampling, by scale factor or to a size"
    category = "other"
    attrs = (
        Attr("scale", Float(0.0), None, "scale factor (both axes); output = floor(in * scale)", ("scale_factor",)),
        Attr("size", Pair(), None, "output height and width"),
        Attr("mode", Choice("nearest", "bilinear"), "nearest"),
        Attr("align_corners", Bool(), None, "bilinear only; torch's default when omitted"),
    )
    flops_rule = "bilinear: 7 * out; nearest: 0"
    connections_rule = "bilinear: 4 * out; nearest: 0"

    def validate(self, a: Attrs) -> None:
        if (a["scale"] is None) == (a["size"] is None):
            raise ArchcalcError("upsample takes exactly one of 'scale' and 'size'")
        if a["scale"] is not None and a["scale"] <= 0:
            raise ArchcalcError(f"upsample: scale must be positive, got {a['scale']}")
        if a["align_corners"] is not None and a["mode"] == "nearest":
            raise ArchcalcError("upsample: align_corners applies to bilinear mode only")

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        if a["size"] is not None:
            return (ins[0][0],) + a["size"]
        h, w = int(ins[0][1] * a["scale"]), int(ins[0][2] * a["scale"])
        if h <= 0 or w <= 0:
            raise ArchcalcError(f"upsample: scale {a['scale']} collapses {list(ins[0][1:])} to {[h, w]}")
        return (ins[0][0], h, w)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 7 * numel(out) if a["mode"] == "bilinear" else 0

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 4 * numel(out) if a["mode"] == "bilinear" else 0

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] and a["mode"] == "nearest" else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        if a["size"] is not None:
            return nn.Upsample(size=a["size"], mode=a["mode"], align_corners=a["align_corners"])
        return nn.Upsample(scale_factor=a["scale"], mode=a["mode"], align_corners=a["align_corners"])


@register
class Pad(LayerType):
    name = "pad"
    summary = "spatial padding: zero, constant, reflect or replicate"
    category = "structure"
    attrs = (
        Attr("padding", Padding(), doc="int, [h, w] or [top, bottom, left, right]"),
        Attr("mode", Choice("zero", "constant", "reflect", "replicate", "circular"), "zero"),
        Attr("value", Float(), 0.0, "fill value for constant mode"),
    )

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        if a["padding"] == "same":
            raise ArchcalcError("pad: padding 'same' has no meaning here; give the sides")
        t, b, l, r = a["padding"]
        check_border_padding(self.name, a["mode"], a["padding"], ins[0][1:])
        return (ins[0][0], ins[0][1] + t + b, ins[0][2] + l + r)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        return RFStep((1, 1), (1, 1), (a["padding"][0], a["padding"][2]))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        t, b, l, r = a["padding"]
        return tm.Pad((l, r, t, b), "constant" if a["mode"] == "zero" else a["mode"],
                      0.0 if a["mode"] == "zero" else a["value"])  # fmt: skip
