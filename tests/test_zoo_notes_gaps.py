"""The notes' last gaps: VGG configurations A-LRN and C, FCN-16s and FCN-8s, and LeNet-5's "60,790"."""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec

# Simonyan & Zisserman, Table 2: "Number of parameters (in millions)" for A, A-LRN, B, C, D, E.
VGG_TABLE_2 = {"vgg11": 133, "vgg11_lrn": 133, "vgg13": 133, "vgg16_c": 134, "vgg16": 138, "vgg19": 144}
VGG_EXACT = {"vgg11": 132_863_336, "vgg11_lrn": 132_863_336, "vgg13": 133_047_848, "vgg16_c": 133_638_952,
             "vgg16": 138_357_544, "vgg19": 143_667_240}  # fmt: skip


@pytest.mark.parametrize("name", sorted(VGG_TABLE_2))
def test_vgg_configurations_match_table_2(name):
    params = analyse(load_spec(name)).totals.params
    assert params == VGG_EXACT[name] and round(params / 1e6) == VGG_TABLE_2[name]


def test_a_lrn_is_a_with_lrn_after_the_first_conv():
    report = analyse(load_spec("vgg11_lrn"))
    names = [layer.name for layer in report.layers]
    assert names[:4] == ["conv1_1.conv", "conv1_1.relu", "lrn1", "pool1"]
    lrn = report.layer("lrn1")
    assert lrn.type == "lrn" and lrn.params == 0 and lrn.attributes["size"] == 5
    assert report.depth == 11 and report.totals.macs == analyse(load_spec("vgg11")).totals.macs


def test_c_has_1x1_third_convs():
    report = analyse(load_spec("vgg16_c"))
    for name in ("conv3_3.conv", "conv4_3.conv", "conv5_3.conv"):
        assert report.layer(name).attributes["kernel"] == (1, 1)
    d = analyse(load_spec("vgg16")).totals.params
    assert d - report.totals.params == 8 * (256 * 256 + 2 * 512 * 512) == 4_718_592
    # D's 196 less the 2 pixels each 1x1 conv does not add, at strides 4, 8 and 16: 196 - 2 x 28 = 140
    assert report.depth == 16 and report.layer("conv5_3.conv").receptive_field == [140, 140]


@pytest.mark.parametrize(("name", "trainable", "fixed", "stride", "crops"), [
    ("fcn16s", 134_357_354, 21 * 21 * (4 * 4 + 32 * 32), 16, {"score_pool4c": 34, "score": 500}),
    ("fcn8s", 134_362_751, 21 * 21 * (4 * 4 + 4 * 4 + 16 * 16), 8, {"score_pool4c": 34, "score_pool3c": 70, "score": 500}),
])  # fmt: skip
def test_fcn_skips(name, trainable, fixed, stride, crops):
    report = analyse(load_spec(name))
    t = report.totals
    assert (t.trainable_params, t.non_trainable_params) == (trainable, fixed)
    assert trainable - 134_346_581 == 10_773 + (5_397 if name == "fcn8s" else 0)  # FCN-32s + the score convs
    for layer, side in crops.items():
        assert report.layer(layer).output_shape == [21, side, side]
    fuse = report.layer("fuse_pool4")
    assert fuse.type == "add" and fuse.inputs == ["upscore2", "score_pool4c"]
    last_up = "upscore16" if name == "fcn16s" else "upscore8"
    assert report.layer(last_up).attributes["stride"] == (stride, stride)


def test_fcn_skips_against_torch_at_another_size():
    from archcalc.check import CheckOptions, check

    for name in ("fcn16s", "fcn8s"):
        result = check(load_spec(name, {"size": 96}), CheckOptions(fvcore=False, rf_budget=0))
        assert result.agrees, [layer.name for layer in result.differing]


def test_lenet5_60790_is_a_slip():
    """docs/zoo.md: the notes' "about 60,000 (60,790)" is no consistent count of LeNet-5; it is the
    count of a modern reading (plain pooling, an FC output with biases) that forgets C3's 16 biases."""
    report = analyse(load_spec("lenet5"))
    p = {layer.name: layer.params for layer in report.layers}
    paper = report.totals.trainable_params + report.totals.non_trainable_params
    assert (report.totals.trainable_params, paper) == (60_000, 60_840)
    modern_output = 84 * 10 + 10  # an FC output layer with biases instead of the fixed RBF units
    modern = p["C1"] + p["C3"] + p["C5"] + p["F6"] + modern_output  # no trainable subsampling (S2, S4)
    assert modern == 60_806
    c3_biases = 16
    assert modern - c3_biases == 60_790


@pytest.mark.parametrize(("strides", "field", "misapplied"), [((2, 1), 7, 5), ((1, 2), 5, 7), ((1, 1), 5, 5)])
def test_bottom_up_use_of_the_notes_formula_is_right_only_for_stride_1(strides, field, misapplied):
    """docs/zoo.md: (RF - 1) * stride + k grown from the input with each layer's own stride."""
    from archcalc import load_spec_text

    spec = "input: [1, 32, 32]\nlayers:\n" + "".join(
        f"  - {{name: c{i}, type: conv2d, out_channels: 1, kernel: 3, stride: {s}}}\n" for i, s in enumerate(strides))
    assert analyse(load_spec_text(spec)).layer("c1").receptive_field == [field, field]
    grown = 1
    for stride in strides:
        grown = (grown - 1) * stride + 3
    assert grown == misapplied and (grown == field) == (strides == (1, 1))
