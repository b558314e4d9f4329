"""One way in (issue 15 §3): every command loads its graph through GraphSource; SPEC, --module, --input,
--set and the limit flags are declared once and behave alike everywhere; --input errors name the option."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.core import _click as click  # typer 0.28 bundles its own click

import archcalc.cli
from archcalc.errors import ArchcalcError
from archcalc.graph_source import GraphSource, SourceOptions, parse_input_shape
from archcalc.limits import Limits, flag
from tests.conftest import ROOT
from tests.hostile_support import error_line, run

GRAPH_COMMANDS = ("report", "check", "explain", "compare", "sweep", "conventions", "bench", "export-spec")
HANDMADE = str(ROOT / "tests" / "models" / "handmade.py")


def _options(command: str) -> dict[str, click.Parameter]:
    group = typer_group()
    ctx = click.Context(group)
    found = group.get_command(ctx, command)
    assert found is not None, command
    return {opt: param for param in found.params for opt in getattr(param, "opts", [])}


def typer_group() -> click.Group:
    import typer.main

    return typer.main.get_command(archcalc.cli.load_commands())


@pytest.mark.parametrize("command", GRAPH_COMMANDS)
def test_every_graph_command_takes_the_same_source_options(command: str) -> None:
    options = _options(command)
    for name in ["--module", "--input", "--set"] + [flag(item.name) for item in dataclasses.fields(Limits)]:
        assert name in options, f"{command} lacks {name}"
    # declared once: the same help text everywhere (sweep's --set takes lists, by design)
    reference = _options("report")
    for name in ("--module", "--input"):
        assert options[name].help == reference[name].help


@pytest.mark.parametrize("command, extra", [
    ("report", []), ("explain", []), ("conventions", []), ("export-spec", []), ("compare", []),
    ("sweep", ["--set", "num_classes=10,20"]), ("check", []), ("bench", ["--repeats", "1", "--warmup", "0"]),
])  # fmt: skip
def test_limit_flags_apply_on_every_command(command: str, extra: list[str]) -> None:
    error_line(run(command, "resnet18", "--max-layers", "10", *extra), "--max-layers")


@pytest.mark.parametrize("command", ["report", "explain", "conventions", "export-spec", "check", "compare"])
def test_input_errors_name_the_option_not_the_spec(command: str) -> None:
    message = error_line(run(command, "vgg16", "--input", "3x1000000x1000000"), "--input", "--max-elements")
    assert "vgg16.yaml" not in message


@pytest.mark.parametrize("text", ["３x224x224", "3x2_24x224", "3x224x", "x", "", "3.0x4", "-3x4", "0x4",
                                  "3x" + "9" * 5000, "1x" * 40 + "1", "3 x 4x"])  # fmt: skip
def test_bad_input_texts_are_refused(text: str) -> None:
    with pytest.raises(ArchcalcError, match="--input"):
        parse_input_shape(text)


def test_input_takes_any_rank_the_layers_accept() -> None:
    assert parse_input_shape("3x16x16x16") == (3, 16, 16, 16)
    assert parse_input_shape(" 784 ") == (784,)
    assert parse_input_shape("16X100") == (16, 100)
    # a rank the layers cannot take is the layer's error, at the layer
    error_line(run("report", "vgg16", "--input", "3x8x8x8", "--format", "json"), "conv1_1")


def test_set_is_checked_as_in_a_spec() -> None:
    error_line(run("report", "resnet18", "--set", "num_classes=.nan"), "--set num_classes", "not finite")
    # YAML 1.2 has no dates: the text reaches the layer, which refuses it
    error_line(run("report", "resnet18", "--set", "num_classes=2020-01-01"), "out_features", "'2020-01-01'")
    error_line(run("report", "resnet18", "--set", "layers=" + "[" * 40 + "]" * 40), "--set layers", "nest")
    error_line(run("report", "resnet18", "--set", "layers=[" + "1," * 20000 + "1]"), "--max-list-items")
    error_line(run("report", "resnet18", "--set", "lambda=1"), "keyword")
    error_line(run("report", "resnet18", "--set", "num_classes=" + "9" * 30), "2**63")


def test_library_source_rules() -> None:
    with pytest.raises(ArchcalcError, match="not both"):
        GraphSource(spec="vgg16", module="m.py:f")
    with pytest.raises(ArchcalcError, match="give a SPEC"):
        GraphSource()
    with pytest.raises(ArchcalcError, match="needs --input"):
        GraphSource(module="m.py:f")
    with pytest.raises(ArchcalcError, match="has none"):
        GraphSource(module="m.py:f", input_shape=(3,), overrides={"a": 1})
    source = SourceOptions.from_options(input_text="3x32x32", set_pairs=["num_classes=10"]).source("vgg16")
    graph = source.load().graph
    assert graph.input_shape == (3, 32, 32) and graph.variables["num_classes"] == 10
    assert "num_classes" in source.variables()
    assert source.with_overrides({"num_classes": 7}).load().graph.variables["num_classes"] == 7


def test_module_works_on_every_command_that_reads_a_model() -> None:
    module = ["--module", f"{HANDMADE}:build", "--input", "3x16x16"]
    totals = json.loads(run("report", *module, "--format", "json").stdout)["totals"]
    explained = run("explain", *module, "--format", "json")
    assert explained.exit_code == 0, explained.output
    macs = next(item["value"] for item in json.loads(explained.stdout)["totals"] if item["name"] == "MACs")
    assert macs == totals["macs"]
    compared = run("compare", "vgg11", "--module", f"{HANDMADE}:build", "--input", "3x32x32", "--format", "json")
    assert compared.exit_code == 0, compared.output
    assert [entry["spec"] for entry in json.loads(compared.stdout)["specs"]][-1] == f"{HANDMADE}:build"
    error_line(run("sweep", *module, "--set", "a=1,2"), "--module model has none")
    error_line(run("report", "vgg16", *module), "not both")


def test_explain_with_module_takes_the_layer_as_its_one_argument() -> None:
    result = run("explain", "--module", f"{HANDMADE}:build", "--input", "3x16x16", "nope_layer")
    error_line(result, "nope_layer")
