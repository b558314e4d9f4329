"""The torchvision-named mobile specs against independent re-implementations of torchvision's modules
(tests/reference/mobile.py) and against torchvision's published parameter counts and GFLOPs.

The published figures are the `num_params` and `_ops` (GMACs at the eval crop) in the weights' meta
of torchvision/models/{mobilenetv2,mobilenetv3,shufflenetv2,efficientnet}.py.
"""

from __future__ import annotations

import pytest
from tests.reference import mobile
from tests.reference.layerwise import assert_matches_reference, build_reference

from archcalc.analysis import analyse
from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec

# spec, --set overrides, reference factory and its arguments, torchvision's num_params (None: unpublished).
# EfficientNet B1-B7 (width, depth) are checked at 224 px: their counts do not depend on the resolution,
# and meta-device batchnorm is slow enough that 600 px would cost seconds.
CASES = [
    ("mobilenet_v2", {}, (mobile.MobileNetV2,), {}, 3_504_872),
    ("mobilenet_v2", {"width": 0.5}, (mobile.MobileNetV2,), {"width_mult": 0.5}, None),
    ("mobilenet_v2", {"width": 1.4, "resolution": 160, "num_classes": 10}, (mobile.MobileNetV2,),
     {"width_mult": 1.4, "num_classes": 10}, None),
    ("mobilenet_v3_large", {}, (mobile.MobileNetV3, "large"), {}, 5_483_032),
    ("mobilenet_v3_large", {"width": 0.75}, (mobile.MobileNetV3, "large"), {"width_mult": 0.75}, None),
    ("mobilenet_v3_small", {}, (mobile.MobileNetV3, "small"), {}, 2_542_856),
    ("mobilenet_v3_small", {"width": 0.75}, (mobile.MobileNetV3, "small"), {"width_mult": 0.75}, None),
    ("shufflenet_v2_x1_0", {}, (mobile.ShuffleNetV2, 1.0), {}, 2_278_604),
    ("shufflenet_v2_x1_0", {"width": 0.5}, (mobile.ShuffleNetV2, 0.5), {}, 1_366_792),
    ("shufflenet_v2_x1_0", {"width": 1.5}, (mobile.ShuffleNetV2, 1.5), {}, 3_503_624),
    ("shufflenet_v2_x1_0", {"width": 2.0}, (mobile.ShuffleNetV2, 2.0), {}, 7_393_996),
    ("efficientnet_b0", {}, (mobile.EfficientNet,), {}, 5_288_548),
    ("efficientnet_b0", {"width": 1.0, "depth": 1.1}, (mobile.EfficientNet, 1.0, 1.1), {}, 7_794_184),
    ("efficientnet_b0", {"width": 1.1, "depth": 1.2}, (mobile.EfficientNet, 1.1, 1.2), {}, 9_109_994),
    ("efficientnet_b0", {"width": 1.2, "depth": 1.4}, (mobile.EfficientNet, 1.2, 1.4), {}, 12_233_232),
    ("efficientnet_b0", {"width": 1.4, "depth": 1.8}, (mobile.EfficientNet, 1.4, 1.8), {}, 19_341_616),
    ("efficientnet_b0", {"width": 1.6, "depth": 2.2}, (mobile.EfficientNet, 1.6, 2.2), {}, 30_389_784),
    ("efficientnet_b0", {"width": 1.8, "depth": 2.6}, (mobile.EfficientNet, 1.8, 2.6), {}, 43_040_704),
    ("efficientnet_b0", {"width": 2.0, "depth": 3.1}, (mobile.EfficientNet, 2.0, 3.1), {}, 66_347_960),
]  # fmt: skip


def _id(case) -> str:
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("spec, overrides, factory, kwargs, published", CASES, ids=[_id(c) for c in CASES])
def test_spec_matches_torchvision_structure(spec, overrides, factory, kwargs, published):
    graph = load_spec(spec, overrides)
    assert_matches_reference(graph, build_reference(*factory, **kwargs))
    if published is not None:
        assert analyse(graph).totals.params == published


# torchvision's `_ops` (GFLOPs in its docs, counted as multiply-adds) at each model's eval crop
PUBLISHED_GMACS = [
    ("mobilenet_v2", {}, 0.301, 3),
    ("mobilenet_v3_large", {}, 0.217, 3),
    ("mobilenet_v3_small", {}, 0.057, 3),
    ("shufflenet_v2_x1_0", {"width": 0.5}, 0.04, 2),
    ("shufflenet_v2_x1_0", {}, 0.145, 3),
    ("shufflenet_v2_x1_0", {"width": 1.5}, 0.296, 3),
    ("shufflenet_v2_x1_0", {"width": 2.0}, 0.583, 3),
    ("efficientnet_b0", {}, 0.4, 1),
    ("efficientnet_b0", {"width": 1.0, "depth": 1.1, "resolution": 240}, 0.7, 1),
    ("efficientnet_b0", {"width": 1.1, "depth": 1.2, "resolution": 288}, 1.1, 1),
    ("efficientnet_b0", {"width": 2.0, "depth": 3.1, "resolution": 600}, 37.7, 1),
]


@pytest.mark.parametrize("spec, overrides, gmacs, digits", PUBLISHED_GMACS, ids=[_id(c) for c in PUBLISHED_GMACS])
def test_macs_match_torchvision_published_ops(spec, overrides, gmacs, digits):
    assert round(analyse(load_spec(spec, overrides)).totals.macs / 1e9, digits) == gmacs


def test_comparison_catches_a_different_structure():
    """The layer-by-layer comparison must fail when spec and reference differ (width 0.5 vs 1.0)."""
    with pytest.raises(AssertionError):
        assert_matches_reference(load_spec("mobilenet_v2", {"width": 0.5}), build_reference(mobile.MobileNetV2))


def test_mobilenet_v3_squeeze_channels_follow_make_divisible():
    report = analyse(load_spec("mobilenet_v3_large"))
    # features.4 expands to 72: SE squeezes to make_divisible(72 // 4, 8) = 24, not 72 / 4 = 18
    assert report.layer("features.4.block.2.fc1").output_shape == [24, 1, 1]
    assert report.layer("features.4.block.2.scale").output_shape == [72, 28, 28]
    # the first block has no expansion conv: its block.0 is the depthwise conv (16 weights of 3x3)
    assert report.layer("features.1.block.0.0").params == 16 * 9


def test_shufflenet_rejects_a_width_without_a_channel_table():
    with pytest.raises(ArchcalcError, match=r"shufflenet_v2_x1_0.yaml:\d+: .*width must be 0.5, 1.0, 1.5 or 2.0"):
        load_spec("shufflenet_v2_x1_0", {"width": 0.75})
