"""The built-in zoo: every spec renders everywhere, `archcalc zoo` lists them, and the seeds' worked
numbers for VGG16 and GoogLeNet come out of the torchvision-exact specs."""

from __future__ import annotations

import csv
import functools
import io
import json

import pytest
from typer.testing import CliRunner

import archcalc.cli
from archcalc.analysis import analyse, infer_shapes, top_down_chain
from archcalc.errors import ArchcalcError
from archcalc.render import FORMATS, render
from archcalc.spec import builtin_specs, load_spec

TORCHVISION_NAMED = (
    "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg16_bn", "googlenet", "inception_v3", "resnet18", "resnet34",
    "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "densenet121", "densenet169",
    "squeezenet1_0", "squeezenet1_1",
)  # fmt: skip


@pytest.mark.parametrize("name", sorted(builtin_specs()))
def test_every_builtin_spec_renders_in_every_format(name):
    report = analyse(load_spec(name))
    outputs = {fmt: render(report, fmt) for fmt in FORMATS}
    data = json.loads(outputs["json"])
    assert data["totals"]["params"] == report.totals.params
    assert [layer["name"] for layer in data["layers"]] == [layer.name for layer in report.layers]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert sum(int(row["params"]) for row in rows) == report.totals.params
    assert f"{report.totals.params:,}" in outputs["markdown"]
    assert report.layers[-1].name.rsplit(".", 1)[-1] in outputs["table"]  # nested rows show the last part


@functools.cache
def zoo_listing() -> str:
    """`archcalc zoo --format json`, run once: it analyses every built-in spec for its params and MACs."""
    result = CliRunner().invoke(archcalc.cli.app, ["zoo", "--format", "json"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", TORCHVISION_NAMED)
def test_zoo_lists_the_spec_with_description_and_source(name):
    row = next(row for row in json.loads(zoo_listing()) if row["name"] == name)
    assert row["description"] and "\n" not in row["description"]
    assert f"torchvision.models.{name}" in row["source"]


def test_report_command_gives_torchvision_resnet50():
    result = CliRunner().invoke(archcalc.cli.app, ["report", "resnet50", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    assert (totals["params"], totals["macs"]) == (25_557_032, 4_089_184_256)


# Layers with weights on the longest path: the number in the model's name (AlexNet's 8 layers,
# GoogLeNet's 22, Inception v3's 48 and SqueezeNet's 18 as their authors count them).
DEPTHS = {"alexnet": 8, "inception_v3": 48, "squeezenet1_0": 18, "squeezenet1_1": 18, "vgg11": 11, "vgg13": 13,
          "vgg16": 16, "vgg19": 19, "vgg16_bn": 16, "resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101,
          "resnet152": 152, "resnext50_32x4d": 50, "wide_resnet50_2": 50,
          "densenet121": 121, "densenet169": 169, "googlenet": 22}  # fmt: skip


@pytest.mark.parametrize("name, depth", sorted(DEPTHS.items()))
def test_depth_is_the_number_in_the_name(name, depth):
    assert analyse(load_spec(name)).depth == depth


VGG16_TOP_DOWN = [3, 5, 7, 14, 16, 18, 20, 40, 42, 44, 46, 92, 94, 96, 192, 194, 196]


@pytest.mark.parametrize("name, top", [("vgg16", "conv5_3.relu"), ("vgg16_bn", "conv5_3.relu")])
def test_vgg16_receptive_field_chain_top_down(name, top):
    """Seeds' note 002: from conv5_3 down, 3, 5, 7, 14 (pool4), ..., 196 (the note's 2x7=14 is 2*(7-1)+2)."""
    graph = load_spec(name)
    chain = top_down_chain(graph, infer_shapes(graph), top)
    windows = [(layer, size) for layer, size in chain if graph.node(layer).type in ("conv2d", "max_pool2d")]
    assert [size[0] for _, size in windows] == VGG16_TOP_DOWN
    assert all(size[0] == size[1] for _, size in windows)
    assert windows[3][0] == "pool4" and windows[-1][0] == "conv1_1.conv"
    # The bottom-up analyser agrees: one conv5_3 position sees 196x196 input pixels.
    assert analyse(graph).layer("conv5_3.conv").receptive_field == [196, 196]


def test_vgg16_keeps_the_paper_names():
    names = [node.name for node in load_spec("vgg16").nodes]
    assert names[:3] == ["conv1_1.conv", "conv1_1.relu", "conv1_2.conv"]
    assert ["pool5", "avgpool", "flatten", "fc6"] == names[names.index("pool5"):names.index("fc6") + 1]
    assert names[-1] == "fc8"


def test_top_down_chain_needs_a_sequential_path():
    graph = load_spec("resnet18")
    with pytest.raises(ArchcalcError, match="layer1.1.add.*merges 2 inputs"):
        top_down_chain(graph, infer_shapes(graph), "layer1.1.relu")
    with pytest.raises(ArchcalcError, match="no layer named 'nope'"):
        top_down_chain(graph, infer_shapes(graph), "nope")
    # A sequential stretch works and starts over at the named layer: the stem's 7x7/2 then 3x3/2 pool.
    stem = top_down_chain(graph, infer_shapes(graph), "maxpool")
    assert [size for _, size in stem] == [(3, 3), (3, 3), (3, 3), (11, 11)]


def test_top_down_chain_stops_where_the_field_is_undefined():
    graph = load_spec("alexnet")
    with pytest.raises(ArchcalcError, match="classifier.1.*not defined"):
        top_down_chain(graph, infer_shapes(graph), "classifier.2")


# Seeds' note 002: inception output widths (1x1 + 3x3 + 5x5 + pool projection).
GOOGLENET_WIDTHS = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832, "5a": 832, "5b": 1024}
GOOGLENET_SIZES = {"3": 28, "4": 14, "5": 7}


@pytest.mark.parametrize("aux", [False, True])
def test_googlenet_inception_output_widths(aux):
    report = analyse(load_spec("googlenet", {"aux_logits": aux}))
    for module, width in GOOGLENET_WIDTHS.items():
        size = GOOGLENET_SIZES[module[0]]
        assert report.layer(f"inception{module}.concat").output_shape == [width, size, size]
    assert report.layer("maxpool1").output_shape == [64, 56, 56]
    assert report.layer("conv3.conv").output_shape == [192, 56, 56]
    assert report.layer("avgpool").output_shape == [1024, 1, 1]
    assert report.outputs == ["fc"]


def test_googlenet_paper_5x5_branch():
    """--set kernel_5x5=5 restores the paper's 5x5 convs: 5x5 instead of 3x3 weights in 9 branches."""
    quirk, paper = (analyse(load_spec("googlenet", {"kernel_5x5": k})) for k in (3, 5))
    pairs = [(16, 32), (32, 96), (16, 48), (24, 64), (24, 64), (32, 64), (32, 128), (32, 128), (48, 128)]
    assert paper.totals.params - quirk.totals.params == sum((25 - 9) * c_in * c_out for c_in, c_out in pairs)
    assert paper.layer("inception3a.concat").output_shape == [256, 28, 28]
