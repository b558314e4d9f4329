"""The JSON report writes each layer with a format string when its values are plain (render/json_out.py):
the text must be exactly what json's encoder writes, and anything else must go through the encoder."""

from __future__ import annotations

import dataclasses
import json

import pytest

from archcalc.analysis import analyse
from archcalc.render.json_out import layer_dict, render_json
from archcalc.spec import load_spec, load_spec_text

SPEC = """
name: odd
input: [3, 16, 16]
layers:
  - {name: "conv\u00e9 \\"quoted\\" \\\\ tab\\t", type: conv2d, out_channels: 4, kernel: 3, padding: 1}
  - {name: pooled, type: global_avg_pool}
  - {name: flat, type: flatten}
  - {name: head, type: linear, out_features: 3}
"""


def encoder_text(report) -> list[str]:
    """Each layer's line as json's encoder writes it (the reference the format string must match)."""
    compact = json.JSONEncoder(separators=(", ", ": ")).encode
    return [compact({**layer_dict(layer), "convention_count": layer.macs}) for layer in report.layers]


def layer_lines(text: str) -> list[str]:
    data = json.loads(text)
    lines = text.splitlines()
    start = lines.index('  "layers": [') + 1
    return [line.strip().rstrip(",") for line in lines[start : start + len(data["layers"])]]


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "examples/single_conv"])
def test_the_format_string_writes_what_the_encoder_writes(name: str) -> None:
    report = analyse(load_spec(name))
    assert layer_lines(render_json(report)) == encoder_text(report)


def test_escapes_none_fields_and_booleans() -> None:
    report = analyse(load_spec_text(SPEC, "odd"))
    assert any(layer.receptive_field is None for layer in report.layers)  # flatten ends the field
    assert "\\u00e9" in render_json(report)
    assert layer_lines(render_json(report)) == encoder_text(report)


@pytest.mark.parametrize("change", [
    {"params": 1.5}, {"macs": None}, {"output_shape": (4, 16, 16)}, {"receptive_field": [3.0, 3.0]},
    {"name": 7}, {"rf_aligned": "yes"}, {"category": None},
])  # fmt: skip
def test_values_of_other_types_go_through_the_encoder(change: dict) -> None:
    report = analyse(load_spec_text(SPEC, "odd"))
    report.layers[1] = dataclasses.replace(report.layers[1], **change)
    text = render_json(report)
    assert layer_lines(text) == encoder_text(report)
    json.loads(text)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "examples/single_conv"])
def test_layers_of_one_signature_hold_the_same_values(name: str) -> None:
    """The JSON writer writes what layers of one signature share once (LayerResult.signature): they must hold
    equal values in every field but their own (name, inputs, line, receptive field)."""
    own = {"name", "inputs", "line", "receptive_field", "effective_stride", "effective_padding", "rf_aligned"}
    first: dict[int, dict] = {}
    report = analyse(load_spec(name))
    for layer in report.layers:
        values = {key: value for key, value in dataclasses.asdict(layer).items() if key not in own}
        if layer.signature is not None:
            assert first.setdefault(layer.signature, values) == values, layer.name
    assert len(first) < len(report.layers) or name == "examples/single_conv"  # resnet50 repeats its blocks
