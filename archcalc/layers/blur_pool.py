"""Anti-aliased downsampling (Zhang 2019, "Making convolutional networks shift-invariant again"): timm's
BlurPool2d (timm/layers/blur_pool.py, 1.0.31; TResNet's anti-aliasing), a depthwise convolution with a fixed
binomial filter held in a buffer, after a padding of the input.

blur_pool2d on [C, H, W]
    shape        per axis: padding p = ((s - 1) + (k - 1)) // 2 on both sides (timm's get_padding), in
                 `padding_mode` (reflect by default); out = floor((in + 2p - k) / s) + 1
    params       0 trainable; buffers C k² (the filter repeated per channel), k² with `shared_filter`
                 (timm's channels=None: one [1, 1, k, k] filter expanded over the channels)
    macs         C * positions * k²   (the depthwise conv: fvcore's aten::_convolution and FlopCounterMode
                 count it as any conv)
    flops        out * (2k² - 1)      (k² multiplies, k² - 1 adds; no bias)
    connections  out * k²
    RF           kernel k, stride s, padding p (before)
"""

from __future__ import annotations

from archcalc.layers.attrs import Attr, Bool, Choice, Int
from archcalc.layers.base import Attrs, LayerType, Params, RFStep, Shape, elements, numel, register, require_rank
from archcalc.layers.formula import Formula, Term, counts
from archcalc.layers.geometry import Window, befores, check_border_padding, window_formulas, windows_out
from archcalc.layers.imports import CannotMap, ImportRule

_MODES = {"reflect": "reflect", "constant": "zeros", "replicate": "replicate", "circular": "circular"}


@register
class BlurPool2d(LayerType):
    name = "blur_pool2d"
    summary = "anti-aliased downsampling: a fixed binomial filter per channel (a buffer), strided (timm's BlurPool2d)"
    category = "conv"
    dense_macs = True
    spatial_rank = 2
    flops_rule = "out * (2k² - 1)"
    connections_rule = "out * k²"
    attrs = (
        Attr("kernel", Int(2), 3, "binomial filter size k (timm's filt_size)", ("filt_size",)),
        Attr("stride", Int(), 2),
        Attr("padding_mode", Choice("reflect", "zeros", "replicate", "circular"), "reflect",
             "how the ((s - 1) + (k - 1)) // 2 positions on each side are filled"),
        Attr("shared_filter", Bool(), False, "one k x k filter for every channel (timm's channels=None)"),
    )

    def window(self, a: Attrs, in_shape: Shape) -> Window:
        k, s = a["kernel"], a["stride"]
        pad = ((s - 1) + (k - 1)) // 2
        return Window((k, k), (s, s), (pad,) * 4, (1, 1))

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        window = self.window(a, ins[0])
        check_border_padding(self.name, a["padding_mode"], window.pads, ins[0][1:])
        return (ins[0][0],) + windows_out(ins[0][1:], window)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        taps = a["kernel"] ** 2
        return Params(buffers=taps if a["shared_filter"] else ins[0][0] * taps)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * a["kernel"] ** 2

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (2 * a["kernel"] ** 2 - 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * a["kernel"] ** 2

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("C_out", Term("C", ins[0][0]))] + window_formulas(self.window(a, ins[0]), ins[0][1:])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        k = Term("k", a["kernel"])
        outputs = elements(out, "_out")
        buffers = k * k if a["shared_filter"] else Term("C", ins[0][0]) * k * k
        return counts(buffers=buffers, macs=k * k * outputs, flops=(2 * k * k - 1) * outputs,
                      connections=k * k * outputs, notes={"buffers": "the fixed filter",
                                                          "FLOPs": "per output: k² multiplies + (k² − 1) adds"})

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        window = self.window(a, ins[0])
        return RFStep(window.kernel, window.stride, befores(window.pads), window.dilation)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc.torch_convs import BlurPool2d as Blur

        mode = next(torch_mode for torch_mode, mode in _MODES.items() if mode == a["padding_mode"])
        return Blur(None if a["shared_filter"] else ins[0][0], a["kernel"], a["stride"], mode)

    def torch_import(self) -> tuple:
        from archcalc.torch_convs import BlurPool2d as Blur

        def read(call) -> dict:
            m = call.module
            pad = ((m.stride - 1) + (m.filt_size - 1)) // 2
            if list(m.padding) != [pad] * 4 or m.pad_mode not in _MODES:
                raise CannotMap(f"pads {list(m.padding)} in mode {m.pad_mode!r}, not {pad} on each side")
            if m.channels is not None and m.channels != call.in_shapes[0][0]:
                raise CannotMap(f"has {m.channels} filters for {call.in_shapes[0][0]} channels")
            return {"kernel": m.filt_size, "stride": m.stride, "padding_mode": _MODES[m.pad_mode],
                    "shared_filter": m.channels is None}  # fmt: skip

        return (ImportRule(self.name, modules=(Blur,), read=read),
                ImportRule(self.name, foreign=("timm.layers.blur_pool.BlurPool2d",), read=read))
