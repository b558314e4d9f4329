"""torchvision's and timm's building blocks get rules keyed on the libraries' own classes (never on class
names): the stand-ins of tests/models/library_blocks.py, installed under the libraries' dotted names, map
to layernorm2d, layer_scale and drop_path, and the block imports complete with torch's parameter count."""

from __future__ import annotations

import sys
import types

import pytest

from archcalc import analyse
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from archcalc import load_spec_text
from tests.models import everyday, library_blocks


@pytest.fixture
def libraries(monkeypatch):
    """torchvision.models.convnext.LayerNorm2d and timm.layers.drop.DropPath are the stand-ins."""
    for dotted, name, cls in [("torchvision.models.convnext", "LayerNorm2d", library_blocks.LayerNorm2d),
                              ("timm.layers.drop", "DropPath", library_blocks.DropPath)]:  # fmt: skip
        module = types.ModuleType(dotted)
        setattr(module, name, cls)
        monkeypatch.setitem(sys.modules, dotted, module)


def test_library_blocks_map_to_their_layer_types(libraries):
    report = analyse(import_model(library_blocks.ConvNeXtBlock, (8, 14, 14)).graph)
    assert report.complete
    assert [layer.type for layer in report.layers] == ["conv2d", "layernorm2d", "conv2d", "gelu", "conv2d",
                                                       "layer_scale", "drop_path", "add"]  # fmt: skip
    assert report.totals.params == sum(p.numel() for p in library_blocks.ConvNeXtBlock().parameters())
    assert report.layer("drop_path").attributes["p"] == 0.1


def test_without_the_library_the_same_classes_are_traced_through():
    """Not imported under the library's name, the classes are the user's own: traced, still complete."""
    report = analyse(import_model(library_blocks.ConvNeXtBlock, (8, 14, 14)).graph)
    types_seen = [layer.type for layer in report.layers]
    assert "layernorm2d" not in types_seen and "drop_path" not in types_seen
    assert "layer_scale" in types_seen and report.complete


def test_a_parameter_that_does_not_scale_channels_is_a_parameter_op():
    from torch import nn

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.gamma = nn.Parameter(library_blocks.torch.ones(1, 1, 5))

        def forward(self, x):
            return x * self.gamma

    report = analyse(import_model(Odd, (3, 4, 5)).graph)
    assert report.complete and [(layer.type, layer.params) for layer in report.layers] == [("parameter_op", 5)]


def test_export_names_a_skip_across_stages_that_a_child_would_shadow():
    graph = import_model(everyday.SkipAcrossStages, (3, 4, 4)).graph
    text = export_spec(graph)
    assert "features.0.2" in text
    assert analyse(load_spec_text(text)).totals == analyse(graph).totals


def test_export_names_a_node_every_relative_name_would_miss_from_the_top_level():
    graph = import_model(everyday.SkipHiddenEverywhere, (3, 4, 4)).graph
    text = export_spec(graph)
    assert "/blocks.0.1" in text
    loaded = load_spec_text(text)
    assert [node.inputs for node in loaded.nodes if node.name.endswith("add")] == [["blocks.1.blocks.0.conv",
                                                                                   "blocks.0.1"]]
    assert analyse(loaded).totals == analyse(graph).totals
