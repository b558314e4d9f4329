"""The video, volume and audio zoo specs: exact against their reference parameter counts, layer by layer
against independent reference modules (tests/reference/video.py, audio.py), and `archcalc check`
passing on each at a small input (shapes, params, MACs by FlopCounterMode and fvcore, receptive fields
by autograd)."""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec
from archcalc.check import AGREE, RECEPTIVE_FIELD, CheckOptions, check
from archcalc.check.results import FLOP_COUNTER, FVCORE
from tests.reference import audio, video
from tests.reference.layerwise import assert_matches_reference, build_reference

# (spec, reference parameter count, where the count comes from)
PUBLISHED = [
    ("r3d_18", 33_371_472, "torchvision R3D_18_Weights.KINETICS400_V1 num_params"),
    ("mc3_18", 11_695_440, "torchvision MC3_18_Weights.KINETICS400_V1 num_params"),
    ("r2plus1d_18", 31_505_325, "torchvision R2Plus1D_18_Weights.KINETICS400_V1 num_params"),
    ("c3d", 79_991_015, "the released Sports-1M model (Caffe, and its PyTorch port)"),
    ("unet3d", 19_069_955, "Cicek et al.: 'The architecture has 19069955 parameters in total'"),
    ("m5", 559_114, "Dai et al. Table 1: 0.5M, counted exactly"),
    ("tcn", 66_910, "Bai et al.'s reference code, sequential MNIST (the paper's 70K)"),
]
# torchvision's published GFLOPS of the video models at 16 x 112 x 112 (archcalc's MACs)
PUBLISHED_GFLOPS = {"r3d_18": 40.697, "mc3_18": 43.343, "r2plus1d_18": 40.519}
MODELS = {**video.MODELS, **audio.MODELS}

# Small inputs keep the reference comparison and the torch check to seconds: the rules do not depend on
# the size, and the full-size totals are checked against the published counts above.
SMALL = {"r3d_18": (3, 4, 32, 32), "mc3_18": (3, 4, 32, 32), "r2plus1d_18": (3, 4, 32, 32),
         "c3d": (3, 16, 56, 56), "unet3d": (3, 92, 92, 92), "m5": (1, 4000), "tcn": (1, 64)}  # fmt: skip
# 92 is the smallest tile the 3-D U-Net takes (4 voxels out); an eighth of its width keeps the probe cheap
SMALL_SETS = {"tcn": {"length": 64}, "unet3d": {"depth": 92, "size": 92, "width": 4}}


def small(name: str):
    overrides = SMALL_SETS.get(name, {})
    graph = load_spec(name, overrides, input_shape=None if overrides else SMALL[name])
    assert tuple(graph.input_shape) == SMALL[name]
    return graph


@pytest.mark.parametrize("name, params, source", PUBLISHED, ids=[row[0] for row in PUBLISHED])
def test_params_equal_the_reference_count(name, params, source):
    assert analyse(load_spec(name)).totals.params == params, source


@pytest.mark.parametrize("name", sorted(PUBLISHED_GFLOPS))
def test_video_macs_round_to_torchvision_gflops(name):
    assert round(analyse(load_spec(name)).totals.macs / 1e9, 3) == PUBLISHED_GFLOPS[name]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_spec_matches_reference_module_layer_by_layer(name):
    """At full size, on the meta device (no weights, no arithmetic)."""
    assert_matches_reference(load_spec(name), build_reference(MODELS[name]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_check_passes_at_a_small_input(name):
    report = check(small(name), CheckOptions(rf_budget=10**9, fvcore_max_macs=10**9))
    assert report.agrees, [(layer.name, v) for layer in report.differing for v in layer.verdicts if v.differs]
    verdicts = [layer.verdict(quantity) for layer in report.layers for quantity in (FLOP_COUNTER, RECEPTIVE_FIELD)]
    assert AGREE in {v.status for v in verdicts if v and v.quantity == FLOP_COUNTER}
    assert AGREE in {v.status for v in verdicts if v and v.quantity == RECEPTIVE_FIELD}
    if analyse(small(name)).totals.macs <= 10**9:  # fvcore runs one real cpu inference
        assert AGREE in {v.status for layer in report.layers if (v := layer.verdict(FVCORE))}


def test_full_size_outputs():
    shapes = {name: analyse(load_spec(name)).layers[-1].output_shape for name in MODELS}
    assert shapes == {"r3d_18": [400], "mc3_18": [400], "r2plus1d_18": [400], "c3d": [487],
                      "unet3d": [3, 28, 44, 44], "m5": [10], "tcn": [10]}  # fmt: skip


def test_unet3d_with_torch_defaults():
    """Affine BN and biased up-convolutions: the 4,672 + 896 parameters the paper's total leaves out."""
    graph = load_spec("unet3d", {"bn_affine": True, "upconv_bias": True})
    assert analyse(graph).totals.params == 19_069_955 + 4_672 + 896
    small_graph = load_spec("unet3d", SMALL_SETS["unet3d"] | {"bn_affine": True, "upconv_bias": True})
    assert_matches_reference(small_graph, build_reference(video.UNet3D, affine=True, upconv_bias=True, width=4))
