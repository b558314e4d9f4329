"""RoI pooling (Fast R-CNN) and the Fast R-CNN head spec."""

from __future__ import annotations

import math

import pytest

from archcalc import ArchcalcError, analyse, load_spec, load_spec_text


def caffe_roi_cells(size: int, bins: int) -> int:
    """Cells summed over the bins of one axis, as Caffe's ROIPoolingLayer (and torchvision's roi_pool)
    compute them for a region of `size` cells at the origin: floor(i * size / bins) .. ceil((i+1) * size / bins)."""
    bin_size = size / bins
    return sum(math.ceil((i + 1) * bin_size) - math.floor(i * bin_size) for i in range(bins))


@pytest.mark.parametrize(("region", "bins"), [((14, 14), (7, 7)), ((37, 62), (7, 7)), ((13, 9), (7, 3)), ((7, 7), (7, 7)),
                                              ((20, 30), (6, 6))])  # fmt: skip
def test_bins_sum_like_caffe(region, bins):
    spec = (f"input: [4, 40, 70]\nlayers:\n  - {{name: roi, type: roi_pool, rois: 5, output_size: {list(bins)}, "
            f"roi_size: {list(region)}}}\n")  # fmt: skip
    layer = analyse(load_spec_text(spec)).layer("roi")
    cells = caffe_roi_cells(region[0], bins[0]) * caffe_roi_cells(region[1], bins[1])
    assert layer.output_shape == [5, 4, *bins]
    assert layer.connections == 5 * 4 * cells
    assert layer.flops == 5 * 4 * (cells - bins[0] * bins[1])
    assert (layer.params, layer.macs, layer.receptive_field) == (0, 0, None)


def test_bad_regions_are_refused():
    for roi_size, message in (([50, 50], "does not fit"), ([5, 5], "need a region of at least")):
        spec = f"input: [4, 14, 14]\nlayers:\n  - {{type: roi_pool, rois: 2, roi_size: {roi_size}}}\n"
        with pytest.raises(ArchcalcError, match=message):
            analyse(load_spec_text(spec))


def test_fast_rcnn_head():
    report = analyse(load_spec("fast_rcnn_vgg16"))
    assert report.totals.params == 134_690_729 == 138_357_544 - 4_097_000 + 86_037 + 344_148
    assert report.outputs == ["cls_prob", "bbox_pred"]
    assert report.layer("conv5_3.conv").output_shape == [512, 37, 62]
    assert report.layer("roi_pool5").output_shape == [128, 512, 7, 7]
    assert report.layer("flatten").output_shape == [128, 25088]
    assert report.layer("bbox_pred").output_shape == [128, 84] and report.layer("cls_prob").output_shape == [128, 21]
    test_time = analyse(load_spec("fast_rcnn_vgg16", {"rois": 2000}))
    assert test_time.layer("fc6").macs == 2000 * 25088 * 4096  # the FC layers run once per region
    assert test_time.layer("conv5_3.conv").macs == report.layer("conv5_3.conv").macs  # the convs once per image


def test_fast_rcnn_head_against_torch():
    from archcalc.check import CheckOptions, check

    result = check(load_spec("fast_rcnn_vgg16", {"height": 224, "width": 224, "rois": 4}),
                   CheckOptions(fvcore=False, rf_budget=0))  # fmt: skip
    assert result.agrees, [layer.name for layer in result.differing]
