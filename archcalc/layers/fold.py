"""A map's sliding-window blocks as columns, and back: unfold (torch's nn.Unfold / F.unfold, im2col) and fold
(nn.Fold / F.fold, col2im), over the two spatial axes torch's kernels take (VOLO's outlook attention unfolds
the values around each position and folds the weighted windows back; TNT cuts its pixel embedding into patches
with nn.Unfold). Tensor.unfold, windows along one axis, is layers/sliding_window.py.

Both take kernel k, stride s (default 1), padding p (zeros, the same on both sides of an axis) and dilation d,
each an int or [h, w]. Per axis, an n-long map holds b = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 windows.

unfold on [C, H, W]
    shape        [C · k_h · k_w, L] with L = b_h · b_w: column l holds window l's C · k_h · k_w taps (taps on
                 the padding read zeros)
    flops, connections   0: it only copies elements (data movement)
    RF           none: the positions are flattened into the column axis L
fold on [C · k_h · k_w, L] with output_size [H, W]
    shape        [C, H, W]; L must be b_h · b_w of that map and the rows a multiple of k_h · k_w
    flops        contributions − covered: every column element whose tap lies inside the map is added into
                 its position (taps on the padding are dropped), so a position that receives n > 0 elements
                 takes n − 1 adds (VOLO's 3 x 3 windows at stride 1: 9 per inner position, 8 adds)
                 contributions = C · Π over the axes (the taps of all windows inside the map:
                 geometry.real_window_total), covered = C · Π over the axes (positions some tap reaches:
                 geometry.transposed_coverage); both closed forms, no loop over positions
    connections  contributions: each output reads the elements summed into it
    RF           none (its input has no spatial axes)

Peers: fvcore has no handle for aten::im2col or aten::col2im and torch's FlopCounterMode no formula, so both count
0 for unfold and fold; ptflops, thop and torchinfo neither hook nn.Unfold / nn.Fold nor patch F.unfold / F.fold
(0). fold's adds are work those tools do not see: the convention tables say so, archcalc's own FLOPs count them.
Training: backward about the forward cost (the default rule; unfold's gradient is a fold and fold's an unfold).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Sizes
from archcalc.layers.base import Attrs, LayerType, Shape, numel, register, require_rank
from archcalc.layers.formula import Formula, Term, counts, product
from archcalc.layers.geometry import (Window, axis_symbols, kernel_terms, real_window_total, transposed_coverage,
                                      window_formula, windows_out)  # fmt: skip
from archcalc.layers.imports import CannotMap, ImportRule

_RANK = 2  # torch's im2col and col2im take 4-D [N, C, H, W] maps only


def _window_attrs() -> tuple[Attr, ...]:
    return (
        Attr("kernel", Sizes(_RANK), doc="window size: k or [k_h, k_w]", aliases=("kernel_size",)),
        Attr("stride", Sizes(_RANK), 1, "window step: s or [s_h, s_w]"),
        Attr("padding", Sizes(_RANK, 0), 0, "zeros on both sides of each axis: p or [p_h, p_w]"),
        Attr("dilation", Sizes(_RANK), 1, "spacing of the taps: d or [d_h, d_w]"),
    )


def _as_pair(value) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)] * _RANK


class _Blocks(LayerType):
    """What unfold and fold share: the sliding window over a [C, H, W] map."""

    category = "structure"
    spatial_rank = _RANK

    def blocks_window(self, a: Attrs) -> Window:
        pads = tuple(side for p in a["padding"] for side in (p, p))
        return Window(a["kernel"], a["stride"], pads, a["dilation"])

    def blocks(self, a: Attrs, spatial: Shape) -> tuple[int, ...]:
        """Windows per axis on a map of these spatial sizes."""
        return windows_out(spatial, self.blocks_window(a))

    def blocks_formulas(self, a: Attrs, spatial: Shape) -> list[Formula]:
        return [window_formula(_RANK, axis, size, a["kernel"][axis], a["stride"][axis], a["padding"][axis],
                               a["padding"][axis], a["dilation"][axis])
                for axis, size in enumerate(spatial)]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    @staticmethod
    def read_window(call, names: tuple[str, ...]) -> dict:
        """kernel, stride, padding and dilation of F.unfold / F.fold (names: the function's parameters)."""
        b = call.bind(*names, dilation=1, padding=0, stride=1)
        if isinstance(b["padding"], str):
            raise CannotMap(f"padding {b['padding']!r}: torch's unfold and fold take sizes only")
        return {key.removesuffix("_size"): _as_pair(b[key]) for key in ("kernel_size", "dilation", "padding", "stride")}

    @staticmethod
    def module_window(module) -> dict:
        return {key.removesuffix("_size"): _as_pair(getattr(module, key))
                for key in ("kernel_size", "dilation", "padding", "stride")}


@register
class Unfold(_Blocks):
    name = "unfold"
    summary = "a map's sliding-window blocks as columns (nn.Unfold, F.unfold: im2col): [C, H, W] -> [C k_h k_w, L]"
    data_movement = True
    calls = {"function": "F.unfold"}
    attrs = _window_attrs()

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], _RANK + 1)
        return (ins[0][0] * numel(a["kernel"]), numel(self.blocks(a, ins[0][1:])))

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        rows = product([Term("C", ins[0][0])] + kernel_terms(a["kernel"]))
        columns = product([formula.expr for formula in self.blocks_formulas(a, ins[0][1:])])
        return [Formula("C_out", rows), Formula("L_out", columns, "one column per window position")]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(notes={"FLOPs": "only copies each window into a column"})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Unfold(a["kernel"], a["dilation"], a["padding"], a["stride"])

    def torch_import(self) -> tuple:
        import torch.nn.functional as F
        from torch import nn

        names = ("input", "kernel_size", "dilation", "padding", "stride")
        return (ImportRule(self.name, modules=(nn.Unfold,), read=lambda c: self.module_window(c.module)),
                ImportRule(self.name, functions=(F.unfold,), read=lambda c: self.read_window(c, names)))  # fmt: skip


@register
class Fold(_Blocks):
    name = "fold"
    summary = "columns of sliding-window blocks summed back into a map (nn.Fold, F.fold: col2im)"
    calls = {"function": "F.fold"}
    attrs = (Attr("output_size", Sizes(_RANK), doc="the map's size: n or [H, W]"),) + _window_attrs()
    flops_rule = "contributions - covered: n - 1 adds per output position receiving n > 0 taps"
    connections_rule = "contributions: the column elements whose taps lie inside the map"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"fold needs a [rows, columns] input (columns of blocks), got shape {list(ins[0])}")
        rows, columns = ins[0]
        taps = numel(a["kernel"])
        if rows % taps:
            raise ArchcalcError(f"fold: the {rows} rows are not a multiple of the kernel's {taps} taps")
        blocks = numel(self.blocks(a, a["output_size"]))
        if columns != blocks:
            raise ArchcalcError(f"fold: {columns} columns, but a {list(a['output_size'])} map holds {blocks} "
                                "windows of this kernel, stride, padding and dilation")  # fmt: skip
        return (rows // taps,) + tuple(a["output_size"])

    def per_axis(self, a: Attrs) -> tuple[list[int], list[int]]:
        """(taps inside the map, positions reached) along each axis, over all windows."""
        blocks = self.blocks(a, a["output_size"])
        taps, covered = [], []
        for axis, (size, count) in enumerate(zip(a["output_size"], blocks)):
            k, s, p, d = a["kernel"][axis], a["stride"][axis], a["padding"][axis], a["dilation"][axis]
            taps.append(real_window_total(size, count, k, s, p, d))
            covered.append(transposed_coverage(count, size, k, s, p, d))
        return taps, covered

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        taps, covered = self.per_axis(a)
        return out[0] * (numel(tuple(taps)) - numel(tuple(covered)))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return out[0] * numel(tuple(self.per_axis(a)[0]))

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = Term("R", ins[0][0]) / product(kernel_terms(a["kernel"]))
        return [Formula("C_out", channels, "R: the input's rows")] + [
            Formula(f"{axis_symbols(_RANK, axis)[0]}_out", Term(f"output_size[{axis}]", size))
            for axis, size in enumerate(a["output_size"])]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        taps, covered = self.per_axis(a)
        names = [axis_symbols(_RANK, axis)[0].lower() for axis in range(_RANK)]
        contributions = product([Term("C", out[0])] + [Term(f"Σtaps_{n}", t) for n, t in zip(names, taps)])
        reached = product([Term("C", out[0])] + [Term(f"covered_{n}", c) for n, c in zip(names, covered)])
        return counts(flops=contributions - reached, connections=contributions,
                      notes={"FLOPs": "n − 1 adds per position receiving n taps; Σtaps_h, Σtaps_w: window taps "
                                      "inside the map along each axis, over all windows; covered_h, covered_w: "
                                      "positions some tap reaches"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.Fold(a["output_size"], a["kernel"], a["dilation"], a["padding"], a["stride"])

    def torch_import(self) -> tuple:
        import torch.nn.functional as F
        from torch import nn

        def read(call) -> dict:
            names = ("input", "output_size", "kernel_size", "dilation", "padding", "stride")
            return {"output_size": _as_pair(call.bind(*names, dilation=1, padding=0, stride=1)["output_size"])} | (
                self.read_window(call, names))

        def module(call) -> dict:
            return {"output_size": _as_pair(call.module.output_size)} | self.module_window(call.module)

        return (ImportRule(self.name, modules=(nn.Fold,), read=module),
                ImportRule(self.name, functions=(F.fold,), read=read))  # fmt: skip
