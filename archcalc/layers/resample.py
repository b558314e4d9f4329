"""Resampling: channel_shuffle, pixel_shuffle, pixel_unshuffle and upsample (padding is in pad.py).

Shuffles and nearest upsampling only move data: no FLOPs and no connections.

    upsample       over r = 1, 2 or 3 spatial axes (mode linear, bilinear, trilinear: each output is a
                   weighted sum of its n = 2^r neighbours; bicubic, 2 axes: of its n = 4^2 = 16): flops
                   (2n - 1) * out (n multiplies, n - 1 adds; bilinear 7 * out, bicubic 31 * out),
                   connections n * out; nearest: 0 and 0
    receptive field: pixel_unshuffle is an r x r window
                   with stride r; pixel_shuffle and upsampling by a factor other than 1 end the
                   receptive field (None); channel_shuffle keeps positions.
    training       backward about the forward cost (the default rule).
"""


from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, AxisSizes, Bool, Choice, Float, Int, per_axis
from archcalc.layers.base import (IDENTITY, Attrs, LayerType, RFStep, Shape, elements, numel, rank_text, register,
                                  require_rank, spatial_names)  # fmt: skip
from archcalc.layers.formula import Const, Formula, Term, counts, floor
from archcalc.layers.imports import CannotMap, ImportRule

# Interpolation modes, and the spatial rank each needs (nearest takes any) and the neighbours per axis it weighs.
INTERPOLATION = ("nearest", "linear", "bilinear", "trilinear", "bicubic")
_RANK = {"nearest": 0, "linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
_PER_AXIS = {"nearest": 0, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}


@register
class ChannelShuffle(LayerType):
    name = "channel_shuffle"
    calls = {"function": "a function of view, transpose and view (torchvision's channel_shuffle)"}
    data_movement = True
    summary = "ShuffleNet channel shuffle: reshape to groups, transpose, flatten"
    category = "structure"
    attrs = (Attr("groups", Int()),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if not 2 <= len(ins[0]) <= 4:  # torch's channel shuffle takes [C, *spatial]
            raise ArchcalcError(f"channel_shuffle needs a [C, L], [C, H, W] or [C, D, H, W] input, got shape "
                                f"{list(ins[0])}")  # fmt: skip
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
    spatial_rank = 2
    data_movement = True
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

        read = lambda call: {"upscale": call.bind("input", "upscale_factor")["upscale_factor"]}  # noqa: E731
        return (
            ImportRule(self.name, modules=(nn.PixelShuffle,), read=lambda c: {"upscale": c.module.upscale_factor}),
            ImportRule(self.name, functions=(F.pixel_shuffle, torch.pixel_shuffle), read=read),
        )  # fmt: skip


@register
class PixelUnshuffle(LayerType):
    name = "pixel_unshuffle"
    spatial_rank = 2
    data_movement = True
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

        read = lambda call: {"downscale": call.bind("input", "downscale_factor")["downscale_factor"]}  # noqa: E731
        return (
            ImportRule(self.name, modules=(nn.PixelUnshuffle,), read=lambda c: {"downscale": c.module.downscale_factor}),
            ImportRule(self.name, functions=(F.pixel_unshuffle, torch.pixel_unshuffle), read=read),
        )  # fmt: skip


@register
class Upsample(LayerType):
    name = "upsample"
    summary = "nearest, linear, bilinear, bicubic or trilinear upsampling (1 to 3 spatial axes), by scale or to a size"
    category = "other"
    calls = {"function": "F.interpolate"}
    attrs = (
        Attr("scale", Float(0.0), None, "scale factor (every axis); output = floor(in * scale)", ("scale_factor",)),
        Attr("size", AxisSizes(), None, "output size per spatial axis ([h, w] for an image)"),
        Attr("mode", Choice(*INTERPOLATION), "nearest"),
        Attr("align_corners", Bool(), None, "linear modes only; torch's default when omitted"),
    )
    flops_rule = "linear modes on r axes: (2^(r+1) - 1) * out (bilinear 7 * out); bicubic 31 * out; nearest: 0"
    connections_rule = "linear modes: 2^r * out (bilinear 4 * out); bicubic 16 * out; nearest: 0"

    def validate(self, a: Attrs) -> None:
        if (a["scale"] is None) == (a["size"] is None):
            raise ArchcalcError("upsample takes exactly one of 'scale' and 'size'")
        if a["scale"] is not None and a["scale"] <= 0:
            raise ArchcalcError(f"upsample: scale must be positive, got {a['scale']}")
        if a["align_corners"] is not None and a["mode"] == "nearest":
            raise ArchcalcError("upsample: align_corners applies to the linear, bilinear, bicubic and trilinear modes "
                                "only")

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        rank = len(ins[0]) - 1
        if not 1 <= rank <= 3:
            raise ArchcalcError(f"upsample needs a [C, L], [C, H, W] or [C, D, H, W] input, got shape {list(ins[0])}")
        needed = _RANK[a["mode"]]
        if needed and needed != rank:
            raise ArchcalcError(f"upsample: mode {a['mode']} interpolates {rank_text(needed + 1)} inputs, "
                                f"got shape {list(ins[0])}")  # fmt: skip
        if a["size"] is not None:
            return (ins[0][0],) + per_axis(self.name, "size", a["size"], rank)
        sizes = tuple(int(size * a["scale"]) for size in ins[0][1:])
        if min(sizes) <= 0:
            raise ArchcalcError(f"upsample: scale {a['scale']} collapses {list(ins[0][1:])} to {list(sizes)}")
        return (ins[0][0],) + sizes

    @staticmethod
    def neighbours(a: Attrs, out: Shape) -> int:
        """Input elements each output interpolates: 2 per axis in the linear modes, 4 in bicubic, none copied in
        nearest."""
        return _PER_AXIS[a["mode"]] ** (len(out) - 1) if a["mode"] != "nearest" else 0

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        n = self.neighbours(a, out)
        return (2 * n - 1) * numel(out) if n else 0

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.neighbours(a, out) * numel(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = Formula("C_out", Term("C", ins[0][0]))
        names = spatial_names(len(ins[0]) - 1)
        if a["size"] is not None:
            return [channels] + [Formula(f"{axis}_out", Const(size), "size") for axis, size in zip(names, out[1:])]
        scale = Term("scale", a["scale"])
        return [channels] + [Formula(f"{axis}_out", floor(Term(axis, size) * scale))
                             for axis, size in zip(names, ins[0][1:])]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n = self.neighbours(a, out)
        if not n:
            return counts(notes={"FLOPs": "nearest: copies"})
        outputs = elements(out, "_out")
        return counts(flops=(2 * n - 1) * outputs, connections=n * outputs,
                      notes={"FLOPs": f"per output: {n} multiplies + {n - 1} adds of the {n} neighbours"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if out == ins[0] and a["mode"] == "nearest" else None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        if a["size"] is not None:
            return nn.Upsample(size=tuple(out[1:]), mode=a["mode"], align_corners=a["align_corners"])
        return nn.Upsample(scale_factor=a["scale"], mode=a["mode"], align_corners=a["align_corners"])

    def torch_import(self) -> tuple:
        """nn.Upsample and F.interpolate in nearest, linear, bilinear, bicubic or trilinear mode. One scale for every
        axis stays a scale; anything else (a size, per-axis scales) imports as the traced output size."""
        from torch import nn
        from torch.nn import functional as F

        def attrs(call, scale, mode: str, align_corners) -> dict:
            if mode not in INTERPOLATION:
                raise CannotMap(f"mode {mode!r} ({', '.join(INTERPOLATION)} map)")
            if isinstance(scale, (tuple, list)):
                scale = scale[0] if len(set(scale)) == 1 else None
            size = {"scale": float(scale)} if scale else {"size": call.out_shape[1:]}
            return size | {"mode": mode, "align_corners": align_corners if mode != "nearest" else None}

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
