"""`archcalc conventions` and `archcalc report --convention`: formats, JSON keys, errors, import hygiene."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import archcalc.conventions as conventions
from archcalc import analyse, load_spec
from archcalc.conventions import CONVENTIONS, ITEMS, count_all, count_convention
from archcalc.conventions.base import Profile, Rule
from archcalc.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def invoke(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_report_json_carries_the_chosen_convention():
    graph = load_spec("resnet18")
    expected = count_convention(graph, analyse(graph, batch=2), "fvcore")
    data = json.loads(invoke("report", "resnet18", "--convention", "fvcore", "--batch", "2", "-f", "json").stdout)
    assert data["convention"] == "fvcore"
    assert data["totals"]["convention_total"] == expected.total
    assert [layer["convention_count"] for layer in data["layers"]] == expected.layers
    assert sum(layer["convention_count"] for layer in data["layers"]) == expected.total
    # fvcore counts BatchNorm at 2 per element in eval mode and nothing for ReLU
    bn1 = next(layer for layer in data["layers"] if layer["name"] == "bn1")
    relu = next(layer for layer in data["layers"] if layer["name"] == "relu")
    assert (bn1["convention_count"], relu["convention_count"]) == (2 * bn1["activations"], 0)


def test_report_json_defaults_to_archcalcs_macs():
    data = json.loads(invoke("report", "vgg16", "-f", "json").stdout)
    assert data["convention"] == "archcalc" and data["totals"]["convention_total"] == data["totals"]["macs"]
    assert all(layer["convention_count"] == layer["macs"] for layer in data["layers"])


def test_report_csv_gains_a_column_and_text_formats_a_sum_of_items():
    text = invoke("report", "resnet18", "--convention", "ptflops", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = count_convention(load_spec("resnet18"), analyse(load_spec("resnet18")), "ptflops")
    assert [int(row["convention_count"]) for row in rows] == expected.layers
    for fmt in ("table", "markdown"):
        text = invoke("report", "resnet18", "--convention", "ptflops", "-f", fmt).stdout
        assert "ptflops convention (" in text and f"{expected.total:,} = conv/linear MACs" in text


def test_conventions_formats_agree():
    graph = load_spec("mobilenet_v3_small")
    results = count_all(graph, analyse(graph))
    data = json.loads(invoke("conventions", "mobilenet_v3_small", "-f", "json").stdout)
    assert [c["convention"] for c in data["conventions"]] == list(CONVENTIONS)
    for entry, result in zip(data["conventions"], results):
        assert entry["total"] == result.total == sum(entry["breakdown"].values())
        assert list(entry["breakdown"]) == list(ITEMS)
    by_name = {result.convention: result for result in results}
    assert sum(layer["counts"]["thop"] for layer in data["layers"]) == by_name["thop"].total
    rows = list(csv.DictReader(io.StringIO(invoke("conventions", "mobilenet_v3_small", "-f", "csv").stdout)))
    assert [int(row["total"]) for row in rows] == [r.total for r in results]
    assert [int(row["pool"]) for row in rows] == [r.items["pool"] for r in results]
    markdown = invoke("conventions", "mobilenet_v3_small", "-f", "markdown").stdout
    table = invoke("conventions", "mobilenet_v3_small", "--exact").stdout
    for result in results:
        assert f"| {result.convention} | {result.total:,} |" in markdown
        assert f"{result.total:,}" in table and result.headline in table


def test_the_issue_figures_for_resnet50():
    """The numbers users see from the tools on ResNet-50 at 224 (4.09 G, 4.11 G, 4.13 G, 4.13 G, 8.18 G)."""
    graph = load_spec("resnet50")
    totals = {r.convention: r.total for r in count_all(graph, analyse(graph))}
    assert totals == {"archcalc": 4_089_184_256, "fvcore": 4_111_512_576, "ptflops": 4_132_436_968,
                      "thop": 4_133_742_592, "torchinfo": 4_089_238_376, "torch": 8_178_368_512}  # fmt: skip


@pytest.mark.parametrize("args, message", [
    (("report", "resnet50", "--convention", "fvcor"), "unknown convention 'fvcor' (did you mean 'fvcore'?)"),
    (("conventions", "resnet50", "-f", "yaml"), "conventions --format takes table, markdown, csv, json"),
    (("conventions", "no_such_spec"), "no spec file or built-in spec named 'no_such_spec'"),
    (("conventions", "stress/giant_vgg", "--peers"), "--peers builds the model on the CPU and its weights need 4.50 TiB"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = invoke(*args, code=2)
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_peers_column_shows_each_tools_own_total():
    data = json.loads(invoke("conventions", "examples/depthwise_separable", "--peers", "-f", "json").stdout)
    for entry in data["conventions"]:
        if entry["convention"] != "archcalc":
            assert entry["measured"] == entry["total"], entry


def test_peers_mismatch_exits_1(monkeypatch):
    broken = Profile("thop", "thop", "thop.profile", "MACs", {**conventions.PROFILES["thop"].rules,
                                                              "conv2d": Rule(lambda v: v.macs + 1, "off by one")})
    monkeypatch.setitem(conventions.PROFILES, "thop", broken)
    result = invoke("conventions", "examples/single_conv", "--peers", "-f", "csv", code=1)
    assert "differ from the reproduction: thop" in result.output


def test_conventions_never_import_torch():
    code = (
        "import sys\n"
        "from archcalc.cli import app\n"
        "from typer.testing import CliRunner\n"
        "for args in (['conventions', 'resnet50'], ['conventions', 'resnet50', '-f', 'json'],\n"
        "             ['report', 'resnet50', '--convention', 'thop', '-f', 'csv']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "print(','.join(m for m in ('torch', 'pandas', 'numpy', 'fvcore', 'thop') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_the_rule_tables_in_the_docs_are_current(update_goldens):
    from archcalc.render.convention_docs import replace_rules_section

    path = ROOT / "docs" / "conventions.md"
    current = path.read_text()
    expected = replace_rules_section(current)
    if update_goldens:
        path.write_text(expected)
        return
    assert current == expected, "docs/conventions.md rule tables are stale: pytest --update-goldens"
