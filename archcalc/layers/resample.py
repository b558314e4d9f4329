"""Resampling: channel_shuffle, pixel_shuffle, pixel_unshuffle, upsample and pad.

Shuffles, padding and nearest upsampling only move data: no FLOPs and no connections.

    upsample       bilinear: each output is a weighted sum of 4 neighbours: flops 7 * out
                   (4 multiplies, 3 adds), connections 4 * out; nearest: 0 and 0
    receptive field: pad shifts positions by its top/left padding; pixel_unshuffle is an r x r window
                   with stride r; pixel_shuffle and upsampling by a factor other than 1 end the
                   receptive field (None); channel_shuffle keeps positions.
    training       backward about the forward cost (the default rule).
"""


from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int, Padding, Pair
from archcalc.layers.base import (IDENTITY, Attrs, LayerType, RFStep, Shape, elements, numel, register,
                                  require_rank)  # fmt: skip
from archcalc.layers.formula import Const, Formula, Term, counts, floor
from archcalc.layers.geometry import check_border_padding


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
