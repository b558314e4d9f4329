"""Structure and resampling: dropout, flatten, reshape, add, concat, mul, channel_shuffle,
pixel_shuffle, pixel_unshuffle, upsample, pad and identity.

Layers that only move data (dropout at inference, flatten, reshape, concat, shuffles, pad, nearest
upsampling, identity) cost no FLOPs and have no connections.

    add / mul      flops (n_inputs - 1) * out; connections n_inputs * out; inputs broadcast as in torch
    upsample       bilinear: each output is a weighted sum of 4 neighbours: flops 7 * out
                   (4 multiplies, 3 adds), connections 4 * out; nearest: 0 and 0
    receptive field: add, mul and concat merge their inputs' fields (see analysis/receptive.py);
                   pad shifts positions by its top/left padding; pixel_unshuffle is an r x r window
                   with stride r; flatten, reshape, pixel_shuffle and upsampling by a factor other
                   than 1 end the receptive field (None).
    training       backward about the forward cost (the default rule): a sum passes its gradient on to
                   each input, data movement moves the gradient back.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int, IntList, Padding, Pair
from archcalc.layers.base import (IDENTITY, Attrs, LayerType, RFStep, Shape, axis_names, elements, numel, register,
                                  require_rank, same_shape)  # fmt: skip
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts, floor, product
from archcalc.layers.geometry import check_border_padding


@register
class Identity(LayerType):
    name = "identity"
    summary = "passes its input through"
    category = "structure"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Identity()

    def torch_import(self) -> tuple:
        import torch
        from torch import nn

        from archcalc.importer.rules import ImportRule

        copies = (torch.Tensor.contiguous, torch.Tensor.clone, torch.clone, torch.Tensor.detach)
        read = lambda call: call.bind("input", "memory_format", memory_format=None) and {}  # noqa: E731
        lone = lambda call: call.bind("tensors", "dim", dim=0) and {}  # noqa: E731
        return (ImportRule(self.name, modules=(nn.Identity,)), ImportRule(self.name, functions=copies, read=read),
                ImportRule(self.name, functions=(torch.cat, torch.concat), read=lone, note="of one tensor",
                           when=lambda call: len(call.in_shapes) == 1))  # fmt: skip


@register
class Dropout(LayerType):
    name = "dropout"
    summary = "dropout (identity at inference)"
    category = "structure"
    attrs = (Attr("p", Float(0.0, 1.0), 0.5, "drop probability"),)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Dropout(a["p"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        from archcalc.importer.rules import ImportRule

        def function(call) -> dict:
            return {"p": call.bind("input", "p", "training", "inplace", p=0.5, training=True, inplace=False)["p"]}

        return (
            ImportRule(self.name, modules=(nn.Dropout, nn.Dropout1d, nn.Dropout2d), read=lambda c: {"p": c.module.p}),
            ImportRule(self.name, functions=(F.dropout, F.dropout1d, F.dropout2d), read=function),
        )  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        start, end = self._range(a, ins[0])
        terms = [Term(name, size) for name, size in zip(axis_names(len(ins[0])), ins[0])]
        merged = [product(terms[start : end + 1])]
        names = axis_names(len(out))
        return [Formula(f"{name}_out", term) for name, term in zip(names, terms[:start] + merged + terms[end + 1 :])]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        start, end = self._range(a, ins[0])
        return nn.Flatten(start + 1, end + 1)

    def torch_import(self) -> tuple:
        import torch
        from torch import nn

        from archcalc.importer.rules import ImportRule

        def axes(call, start: int, end: int) -> dict:
            return {"start": call.axis(start), "end": call.axis(end)}

        def function(call) -> dict:
            b = call.bind("input", "start_dim", "end_dim", start_dim=0, end_dim=-1)
            return axes(call, b["start_dim"], b["end_dim"])

        return (
            ImportRule(self.name, modules=(nn.Flatten,), read=lambda c: axes(c, c.module.start_dim, c.module.end_dim)),
            ImportRule(self.name, functions=(torch.flatten, torch.Tensor.flatten), read=function),
        )  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        known = [Const(size) for size in a["shape"] if size != -1]
        shape = []
        for name, size in zip(axis_names(len(out)), a["shape"]):
            if size != -1:
                shape.append(Formula(f"{name}_out", Const(size)))
                continue
            rest = Group(product(known)) if len(known) > 1 else (known or [Const(1)])[0]
            shape.append(Formula(f"{name}_out", Group(elements(ins[0])) / rest, "-1: the elements left over"))
        return shape

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Reshape(out)

    def torch_import(self) -> tuple:
        """archcalc's Reshape, nn.Unflatten, view / reshape / squeeze / unsqueeze: the traced output shape
        (the importer checks that the batch axis stays first)."""
        import torch
        from torch import nn

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import CannotMap, ImportRule

        def function(call) -> dict:
            if any(isinstance(arg, torch.dtype) for arg in call.args[1:]):
                raise CannotMap("reinterprets the dtype")
            return {"shape": call.out_shape}

        methods = [getattr(owner, name) for owner in (torch, torch.Tensor)
                   for name in ("reshape", "view", "squeeze", "unsqueeze") if hasattr(owner, name)]  # fmt: skip
        return (
            ImportRule(self.name, modules=(tm.Reshape, nn.Unflatten), read=lambda call: {"shape": call.out_shape}),
            ImportRule(self.name, functions=tuple(methods), read=function),
        )  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        if all(shape == out for shape in ins):
            return same_shape(out)
        return [Formula(f"{name}_out", Const(size), "inputs broadcast as in torch")
                for name, size in zip(axis_names(len(out)), out)]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n = Term("n_inputs", len(ins))
        return counts(flops=Group(n - 1) * elements(out, "_out"), connections=n * elements(out, "_out"),
                      notes={"FLOPs": f"one {'add' if self.name == 'add' else 'multiply'} per extra input"})

    def import_rules(self, module: type, functions: tuple) -> tuple:
        """Two tensor operands (the importer checks the count: `x + 1` is not this layer type)."""
        from archcalc.importer.rules import CannotMap, ImportRule

        def read(call) -> dict:
            b = call.bind("input", "other", "alpha", "out", alpha=1, out=None)
            if b["alpha"] != 1 or b["out"] is not None:
                raise CannotMap("scales the second operand or writes to out=")
            return {}

        return ImportRule(self.name, modules=(module,)), ImportRule(self.name, functions=functions, read=read)


@register
class Add(_Elementwise):
    name = "add"
    summary = "elementwise sum of its inputs (residual connections)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Add()

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_modules as tm

        T = torch.Tensor
        functions = (operator.add, operator.iadd, torch.add, T.add, T.add_, T.__add__, T.__iadd__, T.__radd__)
        return self.import_rules(tm.Add, functions)


@register
class Mul(_Elementwise):
    name = "mul"
    summary = "elementwise product of its inputs, broadcasting (the SE channel scale)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Mul()

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_modules as tm

        T = torch.Tensor
        functions = (operator.mul, operator.imul, torch.mul, T.mul, T.mul_, T.__mul__, T.__imul__, T.__rmul__)
        return self.import_rules(tm.Mul, functions)


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        axis = a["axis"] % len(out)
        names = axis_names(len(out))
        shape = same_shape(ins[0])
        joined: Expr = Term(f"{names[axis]}_1", ins[0][axis])
        for index, other in enumerate(ins[1:], start=2):
            joined = joined + Term(f"{names[axis]}_{index}", other[axis])
        shape[axis] = Formula(f"{names[axis]}_out", joined, "the inputs' sizes along the joined axis")
        return shape

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Concat(a["axis"] % len(ins[0]) + 1)

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule

        def function(call) -> dict:
            return {"axis": call.axis(call.bind("tensors", "dim", dim=0)["dim"])}

        return (
            ImportRule(self.name, modules=(tm.Concat,), read=lambda call: {"axis": call.axis(call.module.dim)}),
            ImportRule(self.name, functions=(torch.cat, torch.concat, torch.concatenate), read=function),
        )  # fmt: skip


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

    def torch_import(self) -> tuple:
        import torch
        from torch import nn
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule

        owners = [owner for owner in (torch, F) if hasattr(owner, "channel_shuffle")]
        functions = tuple(owner.channel_shuffle for owner in owners)
        read = lambda call: {"groups": call.bind("input", "groups")["groups"]}  # noqa: E731
        return (
            ImportRule(self.name, modules=(tm.ChannelShuffle, nn.ChannelShuffle),
                       read=lambda call: {"groups": call.module.groups}),
            ImportRule(self.name, functions=functions, read=read),
        )  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        r = Term("r", a["upscale"])
        c, h, w = (Term(name, size) for name, size in zip("CHW", ins[0]))
        return [Formula("C_out", c / (r * r)), Formula("H_out", h * r), Formula("W_out", w * r)]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.PixelShuffle(a["upscale"])

    def torch_import(self) -> tuple:
        import torch
        from torch import nn
        from torch.nn import functional as F

        from archcalc.importer.rules import ImportRule

        read = lambda call: {"upscale": call.bind("input", "upscale_factor")["upscale_factor"]}  # noqa: E731
        return (
            ImportRule(self.name, modules=(nn.PixelShuffle,), read=lambda c: {"upscale": c.module.upscale_factor}),
            ImportRule(self.name, functions=(F.pixel_shuffle, torch.pixel_shuffle), read=read),
        )  # fmt: skip


@register
class PixelUnshuffle(LayerType):
    name = "pixel_unshuffle"
    summary = "space to depth (YOLOv2's reorg): C x H x W -> C r^2 x H/r x W/r"
    category = "structure"
    attrs = (Attr("downscale", Int(), doc="factor r", aliases=("downscale_factor", "stride")),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        r = a["downscale"]
        if ins[0][1] % r or ins[0][2] % r:
            raise ArchcalcError(f"pixel_unshuffle: height and width {list(ins[0][1:])} are not divisible by {r}")
        return (ins[0][0] * r * r, ins[0][1] // r, ins[0][2] // r)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        r = Term("r", a["downscale"])
        c, h, w = (Term(name, size) for name, size in zip("CHW", ins[0]))
        return [Formula("C_out", c * r * r), Formula("H_out", h / r), Formula("W_out", w / r)]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        # Output position (y, x) gathers the r x r input block at (r y, r x) into its channels.
        r = a["downscale"]
        return RFStep((r, r), (r, r))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.PixelUnshuffle(a["downscale"])

    def torch_import(self) -> tuple:
        import torch
        from torch import nn
        from torch.nn import functional as F

        from archcalc.importer.rules import ImportRule

        read = lambda call: {"downscale": call.bind("input", "downscale_factor")["downscale_factor"]}  # noqa: E731
        return (
            ImportRule(self.name, modules=(nn.PixelUnshuffle,), read=lambda c: {"downscale": c.module.downscale_factor}),
            ImportRule(self.name, functions=(F.pixel_unshuffle, torch.pixel_unshuffle), read=read),
        )  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = Formula("C_out", Term("C", ins[0][0]))
        if a["size"] is not None:
            return [channels] + [Formula(f"{axis}_out", Const(size), "size") for axis, size in zip("HW", a["size"])]
        scale = Term("scale", a["scale"])
        return [channels] + [Formula(f"{axis}_out", floor(Term(axis, size) * scale))
                             for axis, size in zip("HW", ins[0][1:])]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        if a["mode"] != "bilinear":
            return counts(notes={"FLOPs": "nearest: copies"})
        outputs = elements(out, "_out")
        return counts(flops=7 * outputs, connections=4 * outputs,
                      notes={"FLOPs": "per output: 4 multiplies + 3 adds of the 4 neighbours"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] and a["mode"] == "nearest" else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        if a["size"] is not None:
            return nn.Upsample(size=a["size"], mode=a["mode"], align_corners=a["align_corners"])
        return nn.Upsample(scale_factor=a["scale"], mode=a["mode"], align_corners=a["align_corners"])

    def torch_import(self) -> tuple:
        """nn.Upsample and F.interpolate in nearest or bilinear mode. One scale for both axes stays a
        scale; anything else (a size, per-axis scales) imports as the traced output size."""
        from torch import nn
        from torch.nn import functional as F

        from archcalc.importer.rules import CannotMap, ImportRule

        def attrs(call, scale, mode: str, align_corners) -> dict:
            if mode not in ("nearest", "bilinear"):
                raise CannotMap(f"mode {mode!r} (nearest and bilinear map)")
            if isinstance(scale, (tuple, list)):
                scale = scale[0] if len(set(scale)) == 1 else None
            size = {"scale": float(scale)} if scale else {"size": call.out_shape[1:]}
            return size | {"mode": mode, "align_corners": align_corners if mode == "bilinear" else None}

        def function(call) -> dict:
            b = call.bind("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                          "antialias", size=None, scale_factor=None, mode="nearest", align_corners=None,
                          recompute_scale_factor=None, antialias=False)  # fmt: skip
            if b["antialias"]:
                raise CannotMap("antialiased interpolation")
            return attrs(call, b["scale_factor"], b["mode"], b["align_corners"])

        def module(call) -> dict:
            return attrs(call, call.module.scale_factor, call.module.mode, call.module.align_corners)

        return (ImportRule(self.name, modules=(nn.Upsample,), read=module),
                ImportRule(self.name, functions=(F.interpolate,), read=function))  # fmt: skip


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

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        t, b, l, r = a["padding"]
        return [Formula("C_out", Term("C", ins[0][0])),
                Formula("H_out", Term("H", ins[0][1]) + Term("p_t", t) + Term("p_b", b)),
                Formula("W_out", Term("W", ins[0][2]) + Term("p_l", l) + Term("p_r", r))]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        return RFStep((1, 1), (1, 1), (a["padding"][0], a["padding"][2]))

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        t, b, l, r = a["padding"]
        return tm.Pad((l, r, t, b), "constant" if a["mode"] == "zero" else a["mode"],
                      0.0 if a["mode"] == "zero" else a["value"])  # fmt: skip

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        from archcalc import torch_modules as tm
        from archcalc.importer.rules import ImportRule, spec_sides

        def attrs(pad, mode: str, value) -> dict:
            if mode == "constant" and not value:
                return {"padding": spec_sides(pad), "mode": "zero"}
            return {"padding": spec_sides(pad), "mode": mode} | ({"value": value} if mode == "constant" else {})

        def function(call) -> dict:
            b = call.bind("input", "pad", "mode", "value", mode="constant", value=None)
            return attrs(b["pad"], b["mode"], b["value"])

        fixed = [(nn.ZeroPad2d, "constant"), (nn.ConstantPad2d, "constant"), (nn.ReflectionPad2d, "reflect"),
                 (nn.ReplicationPad2d, "replicate"), (nn.CircularPad2d, "circular")]  # fmt: skip
        return (
            ImportRule(self.name, modules=(tm.Pad,), read=lambda c: attrs(c.module.pad, c.module.mode, c.module.value)),
            *[ImportRule(self.name, modules=(cls,),
                         read=lambda c, mode=mode: attrs(c.module.padding, mode, getattr(c.module, "value", 0.0)))
              for cls, mode in fixed],
            ImportRule(self.name, functions=(F.pad,), read=function),
        )  # fmt: skip
