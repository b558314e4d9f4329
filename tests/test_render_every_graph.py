"""Every format renders every graph (issue 14 §2): random specs of the differential tests, MLPs, sequences.

A graph without a receptive field (no spatial layer, or one whose field is undefined) crashed the table
and markdown renderers with exit 3. Here every spec archcalc accepts goes through every format, with
`--exact`, with training figures and with a convention, in the library and through the CLI.
"""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

from archcalc import ArchcalcError, analyse, load_spec_text
from archcalc.cli import app
from tests.reference_layers import ANY_LAYER, image_shapes
from tests.test_differential import networks

runner = CliRunner()

MLP = {"name": "mlp", "input": [784], "layers": [{"name": "fc1", "type": "linear", "out_features": 100},
                                                  {"type": "relu"}, {"name": "fc2", "type": "linear", "out_features": 10}]}
SEQUENCE = {"name": "tokens", "input": [16, 100], "layers": [{"name": "proj", "type": "linear", "out_features": 32},
                                                            {"type": "gelu"}, {"type": "layernorm", "dims": 1}]}
STRIDED_TRANSPOSE = {"name": "up", "input": [4, 8, 8], "layers": [
    {"name": "up", "type": "conv_transpose2d", "out_channels": 2, "kernel": 3, "stride": 2}]}
FIXED = {"mlp": MLP, "sequence": SEQUENCE, "strided_transpose": STRIDED_TRANSPOSE}


def render_everything(spec_text: str) -> None:
    """Every format of `archcalc.render`, plain, exact, with training, and with every convention."""
    from archcalc.analysis import TrainingPlan
    from archcalc.conventions import CONVENTIONS
    from archcalc.render import FORMATS, render

    try:
        graph = load_spec_text(spec_text)
        report = analyse(graph, batch=2)
    except ArchcalcError:
        return  # a spec archcalc refuses has nothing to render (the differential tests check the refusal)
    trained = analyse(graph, batch=2, training=TrainingPlan("adam", 1000, 2))
    for fmt in FORMATS:
        for item in (report, trained):
            text = render(item, fmt)
            assert text.strip(), fmt
            if fmt == "json":
                json.loads(text)
        render(report, fmt, exact=True)
        for convention in CONVENTIONS:
            text = render(analyse(graph, batch=2, convention=convention), fmt)
            assert text.strip()


def spec_text(input_shape, steps) -> str:
    layers = [{"name": name, "inputs": inputs, **(dict(what.spec) if hasattr(what, "spec") else {"type": what})}
              for name, inputs, what in steps]  # fmt: skip
    return json.dumps({"name": "random", "input": list(input_shape), "layers": layers})


@settings(max_examples=60)
@given(st.tuples(st.sampled_from([1, 2, 4, 8]), st.integers(4, 16), st.integers(4, 16)), networks())
def test_every_format_renders_random_networks(input_shape, steps):
    render_everything(spec_text(input_shape, steps))


@settings(max_examples=60)
@given(st.one_of(image_shapes, st.tuples(st.integers(1, 40)), st.tuples(st.integers(1, 8), st.integers(1, 40))),
       ANY_LAYER)
def test_every_format_renders_one_layer_on_any_input(input_shape, drawn):
    render_everything(spec_text(input_shape, [("layer", ["input"], drawn)]))


@pytest.mark.parametrize("name", sorted(FIXED))
def test_every_format_renders_graphs_without_a_receptive_field(name):
    render_everything(json.dumps(FIXED[name]))


@pytest.mark.parametrize("name", sorted(FIXED))
@pytest.mark.parametrize("options", [[], ["--exact"], ["--train"], ["--convention", "fvcore"]])
def test_cli_renders_graphs_without_a_receptive_field(tmp_path, name, options):
    from archcalc.render import FORMATS

    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(FIXED[name]))
    for fmt in FORMATS:
        result = runner.invoke(app, ["report", str(path), "--format", fmt, *options])
        assert result.exit_code == 0, (fmt, result.output)
    document = tmp_path / "doc.md"
    result = runner.invoke(app, ["report", str(path), "--format", "markdown", "-o", str(document), *options])
    assert result.exit_code == 0, result.output
    assert "final receptive field" not in document.read_text() or name == "strided_transpose"


def test_module_of_a_single_linear_renders(tmp_path):
    model = tmp_path / "one_linear.py"
    model.write_text("from torch import nn\n\ndef build():\n    return nn.Linear(10, 5)\n")
    for fmt in ("table", "markdown", "csv", "json"):
        result = runner.invoke(app, ["report", "--module", f"{model}:build", "--input", "10", "--format", fmt])
        assert result.exit_code == 0, result.output
