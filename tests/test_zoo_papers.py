"""The paper-original zoo specs against the numbers their papers print, and (where a structure is
involved enough to get wrong) against independent reference modules (tests/reference/papers.py)."""

from __future__ import annotations

import pytest
from tests.reference import papers
from tests.reference.layerwise import assert_matches_reference, build_reference

from archcalc.analysis import analyse
from archcalc.spec import load_spec


def report_of(spec: str, **overrides):
    return analyse(load_spec(spec, overrides))


REFERENCE_CASES = [
    ("se_resnet50", {}, papers.SEResNet50, {}),
    ("se_resnet50", {"reduction": 8, "num_classes": 10}, papers.SEResNet50, {"reduction": 8, "num_classes": 10}),
    ("mobilenet_v1", {}, papers.MobileNetV1, {}),
    ("mobilenet_v1", {"width": 0.5, "resolution": 160}, papers.MobileNetV1, {"width": 0.5}),
    ("xception", {}, papers.Xception, {}),
    ("unet", {}, papers.UNet, {}),
]


def case_id(spec: str, overrides: dict) -> str:
    return spec + "".join(f"-{key}={value}" for key, value in overrides.items())


@pytest.mark.parametrize("spec, overrides, factory, kwargs", REFERENCE_CASES,
                         ids=[case_id(c[0], c[1]) for c in REFERENCE_CASES])  # fmt: skip
def test_spec_matches_reference_module(spec, overrides, factory, kwargs):
    assert_matches_reference(load_spec(spec, overrides), build_reference(factory, **kwargs))


# ----- LeNet-5 ------------------------------------------------------------------------------------------
# (layer, output shape, trainable params, connections) as LeCun et al. 1998, section II.B, state them
LENET_PAPER = [
    ("C1", [6, 28, 28], 156, 122_304),
    ("S2", [6, 14, 14], 12, 5_880),
    ("C3", [16, 10, 10], 1_516, 151_600),
    ("S4", [16, 5, 5], 32, 2_000),
    ("C5", [120, 1, 1], 48_120, 48_120),
    ("F6", [84], 10_164, 10_164),
]


@pytest.mark.parametrize("name, shape, params, connections", LENET_PAPER, ids=[row[0] for row in LENET_PAPER])
def test_lenet5_layer_matches_the_paper(name, shape, params, connections):
    layer = report_of("lenet5").layer(name)
    assert (layer.output_shape, layer.trainable_params, layer.connections) == (shape, params, connections)


def test_lenet5_totals_and_fixed_rbf_output():
    report = report_of("lenet5")
    output = report.layer("output")
    assert (output.output_shape, output.non_trainable_params, output.trainable_params) == ([10], 840, 0)
    assert report.totals.trainable_params == 60_000  # "about 60,000 free parameters"
    # the paper's 340,908 connections: its per-layer figures, the squashing functions adding none
    assert report.totals.connections == sum(row[3] for row in LENET_PAPER) + 840 == 340_908
    assert {layer.connections for layer in report.layers if layer.type == "tanh"} == {0}


def test_lenet5_c3_table_is_the_papers_table_1():
    # Table I, row by row: the C3 maps (columns) that read each S2 map, as the paper prints the X's
    table_1 = {
        0: {0, 4, 5, 6, 9, 10, 11, 12, 14, 15},
        1: {0, 1, 5, 6, 7, 10, 11, 12, 13, 15},
        2: {0, 1, 2, 6, 7, 8, 11, 13, 14, 15},
        3: {1, 2, 3, 6, 7, 8, 9, 12, 14, 15},
        4: {2, 3, 4, 7, 8, 9, 10, 12, 13, 15},
        5: {3, 4, 5, 8, 9, 10, 11, 13, 14, 15},
    }
    rows = load_spec("lenet5").node("C3").attrs["table"]
    assert {s2: {c3 for c3, reads in enumerate(rows) if s2 in reads} for s2 in range(6)} == table_1
    assert set(rows[0]) == {0, 1, 2} and set(rows[15]) == set(range(6))  # the seeds digest's two rows


# ----- MobileNet v1 -------------------------------------------------------------------------------------
def mobilenet_v1_macs_from_table_1(width: float, side: int) -> int:
    """Mult-adds of Table 1, row by row (independent of the spec): (type, stride, in, out)."""
    rows = [("conv", 2, 3, 32)]
    for inp, out, stride in [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
                             (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]:  # fmt: skip
        rows += [("dw", stride, inp, inp), ("pw", 1, inp, out)]
    total = 0
    for kind, stride, inp, out in rows:
        side = -(-side // stride)
        c_in = inp if kind == "conv" else int(inp * width)
        c_out = int(out * width)
        total += side * side * {"conv": 9 * c_in * c_out, "dw": 9 * c_out, "pw": c_in * c_out}[kind]
    return total + int(1024 * width) * 1000  # the FC


@pytest.mark.parametrize("width, resolution, paper_params_m, paper_macs_m", [
    (1.0, 224, 4.2, 569), (0.75, 224, 2.6, 325), (0.5, 224, 1.3, 149), (0.25, 224, 0.5, 41),  # Tables 6, 8
    (1.0, 192, 4.2, 418), (1.0, 128, 4.2, 186),                                                # Table 7
])  # fmt: skip
def test_mobilenet_v1_matches_the_papers_tables(width, resolution, paper_params_m, paper_macs_m):
    report = report_of("mobilenet_v1", width=width, resolution=resolution)
    assert report.totals.macs == mobilenet_v1_macs_from_table_1(width, resolution)
    assert round(report.totals.macs / 1e6) == paper_macs_m
    assert round(report.totals.params / 1e6, 1) == paper_params_m


def test_mobilenet_v1_at_160_px_is_not_the_papers_rho_squared_estimate():
    """Table 7's 290M is 569M x (160/224)^2; the FC does not shrink with the input, so 290.7M."""
    macs = report_of("mobilenet_v1", resolution=160).totals.macs
    assert macs == mobilenet_v1_macs_from_table_1(1.0, 160) == 290_675_200
    assert round(569 * (160 / 224) ** 2) == 290


# ----- GoogLeNet ----------------------------------------------------------------------------------------
GOOGLENET_TABLE_1 = [  # (node, Table 1 output size, Table 1 ops in millions where they follow from the channels)
    ("pool1", [64, 56, 56], None), ("conv2", [192, 56, 56], None), ("pool2", [192, 28, 28], None),
    ("inception_3a.output", [256, 28, 28], 128), ("inception_3b.output", [480, 28, 28], 304),
    ("pool3", [480, 14, 14], None), ("inception_4a.output", [512, 14, 14], None),
    ("inception_4b.output", [512, 14, 14], 88), ("inception_4c.output", [512, 14, 14], 100),
    ("inception_4d.output", [528, 14, 14], 119), ("inception_4e.output", [832, 14, 14], 170),
    ("pool4", [832, 7, 7], None), ("inception_5a.output", [832, 7, 7], None),
    ("inception_5b.output", [1024, 7, 7], 71), ("pool5", [1024, 1, 1], None), ("classifier", [1000], 1),
]  # fmt: skip


@pytest.mark.parametrize("node, shape, ops_m", GOOGLENET_TABLE_1, ids=[row[0] for row in GOOGLENET_TABLE_1])
def test_googlenet_original_follows_table_1(node, shape, ops_m):
    report = report_of("googlenet_original")
    assert report.layer(node).output_shape == shape
    if ops_m is not None:
        block = node.split(".")[0]
        macs = sum(layer.macs for layer in report.layers if layer.name.split(".")[0] == block)
        assert round(macs / 1e6) == ops_m


def test_googlenet_original_has_the_digests_corrected_inputs():
    report = report_of("googlenet_original")
    # 3a's 5x5 conv reads its 16-channel reduction (the digest's slip says 96)
    assert report.layer("inception_3a.5x5").params == 16 * 5 * 5 * 32 + 32
    # 4e reads 4d's 528 channels (the digest's slip says 512)
    assert report.layer("inception_4e.1x1").params == 528 * 256 + 256
    assert report.layer("conv2").params + report.layer("conv2_reduce").params - 64 - 192 == 112 * 1024
    assert 1.5e9 < report.totals.macs < 1.6e9  # "1.5 billion multiply-adds at inference time"


# ----- Xception, SE-ResNet-50 ------------------------------------------------------------------------
def test_xception_matches_the_paper():
    report = report_of("xception")
    assert report.totals.trainable_params == 22_855_952  # Table 3
    assert report.totals.buffers == 2 * 27_264 + 40  # Keras' 54,528 non-trainable BN statistics + 40 counters
    sides = [report.layer(name).output_shape[1] for name in
             ("block1.conv1", "block1.conv2", "block2.add", "block3.add", "block4.add", "middle.7.add", "block13.add")]
    assert sides == [149, 147, 74, 37, 19, 19, 10]


def test_se_resnet50_matches_the_paper():
    report = report_of("se_resnet50")
    se = [layer for layer in report.layers if ".se." in layer.name]
    assert report.totals.params == 28_088_024  # "~28.1M"
    assert report.totals.params - sum(layer.params for layer in se) == 25_557_032  # ResNet-50
    assert round((report.totals.macs - sum(layer.macs for layer in se)) / 1e9, 2) == 3.86  # ResNet-50's 3.86 GFLOPs
    pool_and_scale = sum(layer.flops for layer in se if layer.type in ("global_avg_pool", "mul"))
    assert round((report.totals.macs + pool_and_scale) / 1e9, 2) == 3.87  # SE-ResNet-50's 3.87 GFLOPs
    assert report.layer("layer1.0.se.fc1").output_shape == [256 // 16, 1, 1]


# ----- YOLO v1, Darknet-19, YOLOv2 -------------------------------------------------------------------
def test_yolov1_is_24_convs_and_2_fcs_to_7x7x30():
    report = report_of("yolov1")
    types = [layer.type for layer in report.layers]
    assert (types.count("conv2d"), types.count("linear"), report.depth) == (24, 2, 26)
    assert report.layer("conv11.conv").output_shape == [1024, 7, 7]
    assert report.layers[-1].output_shape == [7, 7, 30] and report.layer("fc2").output_shape == [1470]


def test_darknet19_is_19_convs_and_5_pools_with_5_58_billion_operations():
    report = report_of("darknet19")
    types = [layer.type for layer in report.layers]
    assert (types.count("conv2d"), types.count("max_pool2d")) == (19, 5)
    assert round(2 * report.totals.macs / 1e9, 2) == 5.58
    assert report.layer("conv18.conv").output_shape == [1024, 7, 7]


@pytest.mark.parametrize("overrides, grid, route", [
    ({}, 13, 3072),                       # the paper: 26x26x512 -> 13x13x2048, + 1024
    ({"passthrough": 64}, 13, 1280),      # yolo-voc.cfg: 1x1 conv to 64 first, 13x13x256 + 1024
    ({"resolution": 608}, 19, 3072),      # multi-scale: 608 px -> 19x19
])  # fmt: skip
def test_yolov2_grid_and_passthrough(overrides, grid, route):
    report = report_of("yolov2", **overrides)
    assert report.layer("conv13.leaky").output_shape == [512, 2 * grid, 2 * grid]
    assert report.layer("route").output_shape == [route, grid, grid]
    assert report.layers[-1].output_shape == [125, grid, grid]


# ----- FCN-32s, U-Net, RPN -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [500, 224])
def test_fcn32s_maps_the_input_to_same_size_scores(size):
    report = report_of("fcn32s", size=size)
    assert report.layers[-1].output_shape == [21, size, size]
    assert report.layer("score_fr").effective_stride == [32, 32]  # "max stride 32"
    assert report.layer("fc6").receptive_field == [404, 404]  # Table 1: "rf size 404"
    assert round(report.totals.trainable_params / 1e6) == 134  # Table 1: 134M
    assert report.layer("upscore").non_trainable_params == 21 * 21 * 64 * 64  # fixed bilinear


def test_unet_maps_572_to_388_with_23_convs():
    report = report_of("unet")
    assert report.layers[-1].output_shape == [2, 388, 388]
    assert report.depth == 23  # "In total the network has 23 convolutional layers"
    crops = [(report.layer(f"down{i}.relu2").output_shape[1], report.layer(f"up{i}.crop").output_shape[1])
             for i in (4, 3, 2, 1)]  # fmt: skip
    assert crops == [(64, 56), (136, 104), (280, 200), (568, 392)]  # Figure 1's copy-and-crop arrows


def test_vgg16_rpn_has_two_sibling_outputs_and_20000_anchors():
    graph = load_spec("vgg16_rpn")
    report = analyse(graph)
    assert graph.outputs == ["rpn_cls_score", "rpn_bbox_pred"]
    score, boxes = (report.layer(name).output_shape for name in graph.outputs)
    assert (score, boxes) == ([18, 37, 62], [36, 37, 62])
    assert score[1] * score[2] * 9 == 20_646  # "roughly 20000 (~60 x 40 x 9)"
    assert report.layer("rpn_cls_score").receptive_field == [228, 228]


# ----- every spec of this zoo part runs in torch ---------------------------------------------------------
ZOO_B = ["lenet5", "mobilenet_v1", "googlenet_original", "xception", "se_resnet50", "yolov1", "darknet19",
         "yolov2", "fcn32s", "unet", "vgg16_rpn", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
         "shufflenet_v2_x1_0", "efficientnet_b0"]  # fmt: skip


@pytest.mark.parametrize("spec", ZOO_B)
def test_spec_is_documented_and_its_torch_build_gives_the_analysed_shapes(spec):
    import torch

    from archcalc.torch_build import build_module, example_input

    graph = load_spec(spec)
    report = analyse(graph)
    assert graph.description and graph.source, "`archcalc zoo` lists description and source"
    assert report.totals.params == sum(p.numel() for p in build_module(graph).parameters())
    with torch.no_grad():
        out = build_module(graph)(example_input(graph))
    outs = out if isinstance(out, tuple) else (out,)
    assert [list(o.shape[1:]) for o in outs] == [report.layer(name).output_shape for name in graph.outputs]
