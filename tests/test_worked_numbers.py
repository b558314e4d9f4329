"""Every number in SEEDS-DIGEST.md's "Worked numbers" section, through the library and the CLI.

(GoogLeNet's inception widths, LeNet-5, YOLO, DenseNet and the other zoo architectures are tested with
the zoo specs.)
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.analysis.receptive import top_down_chain
from archcalc.cli import app


def report_of(spec: str, **overrides):
    return analyse(load_spec(spec, overrides))


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(app, ["report", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ----- AlexNet, 227x227x3 (note 002) -----------------------------------------------------------
ALEXNET_SHAPES = {
    "conv1": [96, 55, 55], "pool1": [96, 27, 27], "conv2": [256, 27, 27], "pool2": [256, 13, 13],
    "conv3": [384, 13, 13], "conv4": [384, 13, 13], "conv5": [256, 13, 13], "pool5": [256, 6, 6],
    "flatten": [9216], "fc6": [4096], "fc7": [4096], "fc8": [1000],
}  # fmt: skip


def test_alexnet_shapes_params_and_neurons():
    report = report_of("alexnet_original")
    for name, shape in ALEXNET_SHAPES.items():
        assert report.layer(name).output_shape == shape, name
    assert report.layer("conv1").activations == 55 * 55 * 96 == 290_400
    # "About 60M params, 650k neurons": exactly 60,965,224 and 659,272 (conv and FC outputs).
    assert report.totals.params == 60_965_224
    assert report.totals.neurons == 290_400 + 186_624 + 64_896 + 64_896 + 43_264 + 4096 + 4096 + 1000 == 659_272
    # The two-GPU split: conv2, conv4, conv5 see half the maps.
    assert report.layer("conv2").params == (5 * 5 * 48 + 1) * 256
    assert report.layer("conv3").params == (3 * 3 * 256 + 1) * 384
    assert report.layer("conv4").params == (3 * 3 * 192 + 1) * 384
    lrn = load_spec("alexnet_original").node("norm1").attrs
    assert (lrn["size"], lrn["k"], lrn["alpha"], lrn["beta"]) == (5, 2.0, 1e-4, 0.75)
    assert load_spec("alexnet_original").node("drop6").attrs["p"] == 0.5


def test_alexnet_through_cli():
    data = cli_json("alexnet_original")
    shapes = {layer["name"]: layer["output_shape"] for layer in data["layers"]}
    assert {name: shapes[name] for name in ALEXNET_SHAPES} == ALEXNET_SHAPES
    assert data["totals"]["params"] == 60_965_224
    assert data["totals"]["neurons"] == 659_272


# ----- VGG16 -----------------------------------------------------------------------------------
def test_vgg16_structure():
    report = report_of("vgg16")
    convs = [layer for layer in report.layers if layer.type == "conv2d"]
    assert len(convs) == 13
    assert [c.output_shape[0] for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 3 + [512] * 3
    pools = [layer.output_shape[1] for layer in report.layers if layer.type == "max_pool2d"]
    assert pools == [112, 56, 28, 14, 7]
    fcs = [layer for layer in report.layers if layer.type == "linear"]
    assert [f.output_shape[0] for f in fcs] == [4096, 4096, 1000]
    assert report.layer("flatten").output_shape == [25088]
    # "Most parameters sit in the first FC."
    assert max(report.layers, key=lambda layer: layer.params).name == "fc6"
    assert report.layer("fc6").params == (25088 + 1) * 4096
    assert report.totals.params == 138_357_544
    assert report.depth == 16


def test_vgg16_receptive_field_chain_top_down():
    graph = load_spec("vgg16")
    chain = top_down_chain(graph, "conv5_3.conv")
    sizes = [size for name, size in chain if name.endswith(".conv") or name.startswith("pool")]
    assert sizes == [3, 5, 7, 14, 16, 18, 20, 40, 42, 44, 46, 92, 94, 96, 192, 194, 196]
    assert dict(chain)["pool4"] == 2 * (7 - 1) + 2 == 14
    assert report_of("vgg16").layer("conv5_3.conv").receptive_field == [196, 196]


def test_rpn_window_on_conv5_3_sees_228():
    report = report_of("examples/vgg16_rpn_window")
    assert report.layer("stage5.conv.2.conv").receptive_field == [196, 196]
    assert report.layer("rpn_conv").receptive_field == [228, 228]
    assert cli_json("examples/vgg16_rpn_window")["layers"][-1]["receptive_field"] == [228, 228]


# ----- Stacked small kernels -------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 16, 64])
def test_stacked_3x3_vs_single_kernels(channels):
    c2 = channels * channels
    assert report_of("examples/stacked_3x3", C=channels, n=2).totals.params == 18 * c2
    assert report_of("examples/single_conv", C=channels, k=5).totals.params == 25 * c2
    assert report_of("examples/stacked_3x3", C=channels, n=3).totals.params == 27 * c2
    assert report_of("examples/single_conv", C=channels, k=7).totals.params == 49 * c2
    # Same receptive field for the stack and the single kernel.
    assert report_of("examples/stacked_3x3", C=channels, n=2).layers[-1].receptive_field == [5, 5]
    assert report_of("examples/stacked_3x3", C=channels, n=3).layers[-1].receptive_field == [7, 7]


# ----- ResNet stems ----------------------------------------------------------------------------
def conv_numbers(spec: str) -> tuple[list[int], list[int]]:
    report = report_of(spec)
    convs = [layer for layer in report.layers if layer.type == "conv2d"]
    assert convs[-1].output_shape == [64, 112, 112]
    return [c.macs for c in convs], [c.params for c in convs]


def test_resnet_stems():
    assert conv_numbers("examples/stem_7x7") == ([7 * 7 * 3 * 112 * 112 * 64], [9_472])
    assert 7 * 7 * 3 * 112 * 112 * 64 == 118_013_952
    macs, params = conv_numbers("examples/stem_3x3x3")
    assert macs == [21_676_032, 462_422_016, 462_422_016] and sum(macs) == 946_520_064
    assert params == [1_792, 36_928, 36_928] and sum(params) == 75_648
    macs, params = conv_numbers("examples/stem_3x3x3_slim")
    assert macs == [8_128_512, 86_704_128, 231_211_008] and sum(macs) == 326_043_648
    assert params == [672, 6_944, 18_496] and sum(params) == 26_112


def test_resnet_stems_through_cli():
    assert cli_json("specs/examples/stem_7x7.yaml")["totals"]["macs"] == 118_013_952
    assert cli_json("examples/stem_3x3x3")["totals"]["macs"] == 946_520_064
    slim = cli_json("examples/stem_3x3x3", "--set", "c1=24", "--set", "c2=32")
    assert slim["totals"]["macs"] == 326_043_648 and slim["totals"]["params"] == 26_112


# ----- Depthwise separable (notes 002 and 000) -------------------------------------------------
def test_depthwise_separable():
    standard = report_of("examples/conv_standard")
    separable = report_of("examples/depthwise_separable")
    assert standard.totals.params == 108
    assert separable.layer("depthwise").params == 27
    assert separable.layer("pointwise").params == 12
    assert separable.totals.params == 39
    # The note's FLOPs are 2 x MACs: (27 + 27 - 1 + 1) * 5*5*4 = 5,400, and so on.
    assert 2 * standard.totals.macs == 5_400
    assert 2 * separable.layer("depthwise").macs == 1_350
    assert 2 * separable.layer("pointwise").macs == 600
    assert 2 * separable.totals.macs == 1_950
    # archcalc's FLOPs count the arithmetic that runs: no bias, so 2K - 1 per output.
    assert standard.totals.flops == (27 + 26) * 5 * 5 * 4 == 5_300
    assert separable.totals.flops == (9 + 8) * 75 + (3 + 2) * 100
    # Both 13/36 of the standard conv = 1/C_out + 1/(k_w k_h).
    ratio = Fraction(1, 4) + Fraction(1, 9)
    assert Fraction(separable.totals.params, standard.totals.params) == ratio == Fraction(13, 36)
    assert Fraction(separable.totals.macs, standard.totals.macs) == ratio


def test_depthwise_separable_note_000():
    assert report_of("examples/depthwise_separable", in_channels=16, out_channels=32).totals.params == 656
    assert cli_json("examples/depthwise_separable", "--set", "in_channels=16", "--set", "out_channels=32")[
        "totals"]["params"] == 3 * 3 * 16 + 1 * 1 * 16 * 32  # fmt: skip


# ----- Grouped conv (note 000) -----------------------------------------------------------------
def test_grouped_conv_is_one_eighth():
    standard = report_of("examples/grouped_conv", groups=1)
    grouped = report_of("examples/grouped_conv", groups=8)
    assert standard.totals.params == 256 * 3 * 3 * 256
    assert grouped.totals.params == 8 * 32 * 3 * 3 * 32 == standard.totals.params // 8
    assert grouped.totals.macs * 8 == standard.totals.macs


# ----- Receptive fields ------------------------------------------------------------------------
def test_three_3x3_on_7x7():
    report = report_of("examples/three_3x3_on_7x7")
    assert [layer.receptive_field[0] for layer in report.layers] == [3, 5, 7]
    assert [layer.output_shape[1] for layer in report.layers] == [5, 3, 1]


def test_dilated_1_2_4_grows_exponentially():
    report = report_of("examples/dilated_124")
    assert [layer.receptive_field for layer in report.layers] == [[3, 3], [7, 7], [15, 15]]
    assert all(layer.output_shape[1:] == [32, 32] for layer in report.layers)


def test_transposed_conv_inverts_the_shape():
    report = report_of("examples/transposed_conv")
    assert report.layer("conv").output_shape == [1, 2, 2]
    assert report.layer("deconv").output_shape == [1, 4, 4]


# ----- Formulas in the digest's table ----------------------------------------------------------
def test_conv_and_fc_formulas_on_alexnet_conv1_and_fc8():
    report = report_of("alexnet_original")
    conv1 = report.layer("conv1")
    k = 11 * 11 * 3
    assert conv1.params == (k + 1) * 96
    assert conv1.macs == k * 55 * 55 * 96
    assert conv1.flops == (k + (k - 1) + 1) * 55 * 55 * 96 == 2 * conv1.macs
    assert conv1.connections == (k + 1) * (55 * 55 * 96)
    fc8 = report.layer("fc8")
    assert fc8.params == (4096 + 1) * 1000 == fc8.connections
    assert fc8.flops == (4096 + (4096 - 1) + 1) * 1000


def test_training_arithmetic_iterations_per_epoch():
    from archcalc.analysis.training import iterations_per_epoch

    assert iterations_per_epoch(1000, 10) == 100
    assert iterations_per_epoch(1001, 10) == 101
