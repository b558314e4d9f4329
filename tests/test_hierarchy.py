"""`report --depth N`: the block tree, subtotals that add up, a readable default depth, every format."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec, load_spec_text
from archcalc.analysis.hierarchy import SUMMED, auto_depth, block_tree, leaves, rows
from archcalc.cli import app
from archcalc.render import render

runner = CliRunner()
ZOO_SAMPLE = ("resnet50", "vgg16", "densenet121", "googlenet", "mobilenet_v2", "lenet5", "unet")


@pytest.fixture(scope="module")
def resnet50():
    return analyse(load_spec("resnet50"))


@pytest.mark.parametrize("name", ZOO_SAMPLE)
def test_subtotals_add_up(name):
    report = analyse(load_spec(name))
    tree = block_tree(report)
    stack = [tree]
    while stack:
        block = stack.pop()
        if block.children:
            for key in SUMMED:
                assert sum(getattr(c, key) for c in block.children) == getattr(block, key), (block.name, key)
            assert sum(c.layer_count for c in block.children) == block.layer_count
            stack.extend(block.children)
    for key in SUMMED:
        assert getattr(tree, key) == getattr(report.totals, key), key
    for depth in range(1, tree.height() + 1):
        partition = leaves(rows(tree, depth))
        assert sum(row.block.layer_count for row in partition) == len(report.layers)
        assert sum(row.block.macs for row in partition) == report.totals.macs


def test_default_depth_reads_like_a_person_would(resnet50):
    tree = block_tree(resnet50)
    assert auto_depth(tree) == 2
    names = [row.block.name for row in rows(tree, 2)]
    assert len(names) == 27 and names[:6] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0"]
    assert "layer4.2" in names and "layer1.0.conv1" not in names
    vgg = block_tree(analyse(load_spec("vgg16")))
    assert auto_depth(vgg) == 1 and len(rows(vgg, 1)) == 27  # conv blocks (conv + relu), pools, classifier
    assert auto_depth(block_tree(analyse(load_spec("lenet5")))) == 1  # flat: every layer


def test_a_name_that_is_also_a_block_is_listed_as_both():
    """Specs cannot name a layer with a dot, imported models can (a module that also has submodules)."""
    spec = """
input: [3, 8, 8]
layers:
  - {name: head, type: conv2d, out_channels: 4, kernel: 3}
  - {name: extra, type: relu}
"""
    report = analyse(load_spec_text(spec))
    report.layers[1].name = "head.extra"
    tree = block_tree(report)
    assert [(b.name, b.is_layer) for b in tree.children] == [("head", True), ("head", False)]
    assert tree.params == report.totals.params


def test_table_tree_indentation_and_totals_row(resnet50):
    text = render(resnet50, "table", depth=2)
    lines = text.splitlines()
    assert any(line.startswith("│ layer1 ") for line in lines)
    assert any(line.startswith("│   layer1.0 ") for line in lines)  # indented under its stage
    total = next(line for line in lines if line.startswith("│ total "))
    assert "25.56 M" in total and "4.09 G" in total and "100%" in total
    layer4 = next(line for line in lines if line.startswith("│ layer4 "))
    assert "32 layers" in layer4 and "14.96 M" in layer4 and "58.6%" in layer4
    assert "depth 2 of 4" in text


def test_csv_at_a_depth_is_a_partition(resnet50):
    frame = list(csv.DictReader(io.StringIO(render(resnet50, "csv", depth=2))))
    assert sum(int(row["params"]) for row in frame) == resnet50.totals.params
    assert sum(int(row["macs"]) for row in frame) == resnet50.totals.macs
    assert {row["kind"] for row in frame if row["name"] == "layer3.5"} == {"block"}
    assert not [row for row in frame if row["name"] == "layer3"]  # expanded blocks are not rows
    assert "total" not in {row["name"] for row in frame}
    flat = list(csv.DictReader(io.StringIO(render(resnet50, "csv"))))
    assert len(flat) == len(resnet50.layers)  # without --depth, one row per layer as before


def test_json_carries_the_block_tree(resnet50):
    data = json.loads(render(resnet50, "json", depth=2))
    tree = data["blocks"]
    assert data["depth_shown"] == 2 and tree["params"] == resnet50.totals.params
    layer2 = next(child for child in tree["children"] if child["name"] == "layer2")
    assert [child["name"] for child in layer2["children"]] == [f"layer2.{i}" for i in range(4)]
    assert all("children" not in child for child in layer2["children"])  # collapsed at depth 2
    assert sum(child["macs"] for child in layer2["children"]) == layer2["macs"]
    assert "blocks" not in json.loads(render(resnet50, "json"))


def test_markdown_blocks_section(resnet50):
    text = render(resnet50, "markdown", depth=1)
    section = text.split("## Blocks")[1].split("## Heaviest")[0]
    assert "| **`layer3`** | 62 | 1024x14x14 | 7,098,368 | 27.8% |" in section
    assert "| **total** | 175 |" in section


def test_cli_depth_option(resnet50):
    result = runner.invoke(app, ["report", "resnet50", "--depth", "1"])
    assert result.exit_code == 0 and "│ layer3 " in result.stdout and "layer3.0" not in result.stdout
    result = runner.invoke(app, ["report", "resnet50", "--depth", "all", "-f", "csv"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1 + len(resnet50.layers)
    for bad in ("0", "two", "-1"):
        result = runner.invoke(app, ["report", "resnet50", "--depth", bad])
        assert result.exit_code == 2 and "--depth takes a level" in result.output
