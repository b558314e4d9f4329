"""RoI pooling (Girshick, "Fast R-CNN", 2015): max pooling of each region of interest of a feature map
into a fixed grid (7x7 on VGG16's conv5_3), so that regions of any size feed the same FC layers.

roi_pool (C x H x W feature map -> R x C x h x w, one grid per region)
    rois         R, the number of regions per image (Fast R-CNN: 128 per image in training, up to 2,000
                 proposals at test); the boxes themselves are data, not part of the network
    output_size  h x w bins per region (7 x 7)
    roi_size     the extent of every region on the feature map (cells); by default the whole map. The
                 cost of RoI pooling depends on the boxes, so archcalc counts regions of this size: the
                 whole map is the most a region can cover
    bins         as Caffe's and torchvision's RoIPool (and torch's adaptive pooling): bin i of an axis of
                 length a spans cells floor(i a / h) .. ceil((i + 1) a / h) - 1, so their lengths add up
                 to a + h - gcd(a, h)
    FLOPs        R C sum over bins of (cells - 1) comparisons; connections R C sum over bins of cells
    params       none; MACs none
    RF           not defined: where a region lies on the map is data, not geometry (the field ends here)

The torch build pools a region of `roi_size` at the map's top left for every region (the shapes and
counts are the same for any placement). torchvision.ops.RoIPool, the reference, needs the full torch
build: tests compare the bin arithmetic with torch's adaptive max pooling, which uses the same bins.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Int, Pair
from archcalc.layers.base import Attrs, LayerType, RFStep, Shape, register, require_rank
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import ImportRule
from archcalc.layers.pool_global import adaptive_window_total


def bin_total(size_in: int, bins: int) -> int:
    """Sum of the bin lengths along one axis: the adaptive pools' windows, a + h - gcd(a, h)."""
    return adaptive_window_total(size_in, bins)


@register
class RoIPool(LayerType):
    name = "roi_pool"
    spatial_rank = 2
    summary = "RoI max pooling (Fast R-CNN): each of R regions of the map pooled to a fixed h x w grid"
    category = "pool"
    attrs = (
        Attr("rois", Int(), doc="regions of interest per image (R)"),
        Attr("output_size", Pair(), (7, 7), "bins per region, height and width"),
        Attr("roi_size", Pair(), None, "each region's extent on the map in cells; default: the whole map"),
    )
    flops_rule = "R * C * sum over bins of (cells - 1) comparisons, for regions of roi_size"
    connections_rule = "R * C * sum over bins of cells"

    def region(self, a: Attrs, ins: list[Shape]) -> tuple[int, int]:
        return a["roi_size"] if a["roi_size"] is not None else (ins[0][1], ins[0][2])

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], 3)
        (height, width), (bins_h, bins_w) = self.region(a, ins), a["output_size"]
        if height > ins[0][1] or width > ins[0][2]:
            raise ArchcalcError(f"roi_pool: a {height}x{width} region does not fit the {ins[0][1]}x{ins[0][2]} map")
        if bins_h > height or bins_w > width:
            raise ArchcalcError(f"roi_pool: {bins_h}x{bins_w} bins need a region of at least that many cells, "
                                f"got {height}x{width}")  # fmt: skip
        return (a["rois"], ins[0][0]) + a["output_size"]

    def cells(self, a: Attrs, ins: list[Shape]) -> int:
        (height, width), (bins_h, bins_w) = self.region(a, ins), a["output_size"]
        return bin_total(height, bins_h) * bin_total(width, bins_w)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bins = a["output_size"][0] * a["output_size"][1]
        return a["rois"] * ins[0][0] * (self.cells(a, ins) - bins)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return a["rois"] * ins[0][0] * self.cells(a, ins)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("R", Term("R", a["rois"]), "rois"), Formula("C_out", Term("C", ins[0][0])),
                Formula("H_out", Const(a["output_size"][0]), "output_size"),
                Formula("W_out", Const(a["output_size"][1]), "output_size")]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        (height, width), (bins_h, bins_w) = self.region(a, ins), a["output_size"]
        cells = Formula("Σcells", Term("Σh_i", bin_total(height, bins_h)) * Term("Σw_j", bin_total(width, bins_w)),
                        f"bins of a {height}x{width} region: ⌊i×a/h⌋ .. ⌈(i+1)×a/h⌉ − 1; their areas summed")
        regions, channels, area = Term("R", a["rois"]), Term("C", ins[0][0]), Term("Σcells", cells.value)
        bins = Term("h", bins_h) * Term("w", bins_w)
        return counts(flops=regions * channels * Group(area - bins), connections=regions * channels * area,
                      notes={"FLOPs": "per bin: cells − 1 comparisons"}, defs=[cells])  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep | None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.RegionPool(a["rois"], self.region(a, ins), a["output_size"])

    def torch_import(self) -> tuple:
        """archcalc's own RegionPool reads back; torchvision.ops.RoIPool takes boxes at run time, which
        a traced model does not show as a size (docs/import.md)."""
        from archcalc import torch_modules as tm

        def read(call) -> dict:
            module = call.module
            return {"rois": module.rois, "output_size": module.output_size, "roi_size": module.region}

        return (ImportRule(self.name, modules=(tm.RegionPool,), read=read),)

