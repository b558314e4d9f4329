"""Limits stop runaway specs with a message naming the flag; each flag moves its limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.hostile_support import TINY, error_line, report, run, write

from archcalc.limits import DEFAULT_LIMITS, LIMIT_HELP, Limits, flag
from archcalc.spec.expand import Expander
from archcalc.spec.source import parse_text


def _nested_groups(levels: int) -> str:
    return "input: [3, 8, 8]\nlayers:\n  - " + "{layers: [" * levels + "relu" + "]}" * levels + "\n"


LONG_NAME = "w" * 1100
SUM_200 = " + ".join(["1"] * 200)  # 799 characters, 600 syntax nodes
# flag -> (spec text, value that refuses it, value that accepts it). None means the default.
CASES = {
    "max_file_bytes": (TINY, "50", None),
    "max_yaml_nesting": (TINY + "notes: " + "[" * 250 + "]" * 250 + "\n", None, "300"),
    "max_yaml_nodes": (TINY, "5", None),
    "max_layers": (TINY + "  - {type: relu, repeat: 300}\n", "200", None),
    "max_depth": (_nested_groups(70), None, "100"),
    "max_expression_chars": (f"variables:\n  ? {LONG_NAME}\n  : 4\n"  # YAML keys over 1,024 characters need '?'
                             + TINY.replace("out_channels: 4", f"out_channels: {LONG_NAME}"), None, "2000"),
    "max_expression_nodes": (TINY.replace("out_channels: 4", f'out_channels: "{SUM_200}"'), None, "1000"),
    "max_list_items": (TINY + f"variables: {{v: {list(range(20_000))}}}\n", None, "30000"),
    "max_elements": (f"input: [1, {2**20}, {2**21}]\nlayers: [relu]\n", None, str(2**42)),
}


def test_every_limit_has_a_case_and_a_flag() -> None:
    assert set(CASES) == set(LIMIT_HELP) == set(Limits.__dataclass_fields__)
    help_text = run("report", "--help").stdout
    for name in LIMIT_HELP:
        assert flag(name) in help_text


@pytest.mark.parametrize("name", sorted(CASES))
def test_flag_moves_the_limit(tmp_path: Path, name: str) -> None:
    text, refuse, accept = CASES[name]
    path = write(tmp_path, "spec.yaml", text)
    refused = report(path, *([flag(name), refuse] if refuse else []))
    error_line(refused, str(path), flag(name), "the limit is")
    accepted = report(path, *([flag(name), accept] if accept else []))
    assert accepted.exit_code == 0, accepted.stderr


@pytest.mark.parametrize("value", ["0", "-5", "x", "1001"])
def test_bad_limit_values(value: str) -> None:
    error_line(run("report", "vgg16", "--max-depth", value))


def test_repeat_a_billion(tmp_path: Path) -> None:
    path = write(tmp_path, "repeat.yaml", TINY + "  - {name: many, type: relu, repeat: 10**9}\n")
    error_line(report(path), f"{path}:5: layer many: repeat 1,000,000,000", "--max-layers")


def _expander(text: str, **limits: int) -> Expander:
    return Expander(parse_text(text, "spec.yaml"), "spec.yaml", {}, Limits(**limits))


def test_nested_repeats_are_refused_before_they_are_built() -> None:
    """A group of 2,000 x 2,000 layers: the first instance shows the size, the rest are never built."""
    text = TINY + "  - {name: bomb, repeat: 2000, layers: [{type: relu, repeat: 2000}]}\n"
    expander = _expander(text)
    with pytest.raises(Exception, match=r"layer bomb: repeat 2,000 of 2,00\d steps each .*--max-layers"):
        expander.run("spec")
    assert len(expander.nodes) < 2100


def test_nested_repeats_that_read_the_index_stop_at_the_limit() -> None:
    """Instances that may differ (they read `i`) are built until the layer count runs out."""
    text = TINY + "  - {name: bomb, repeat: 1000, layers: [{type: relu, repeat: 'i + 1000'}]}\n"
    expander = _expander(text, max_layers=20_000)
    with pytest.raises(Exception, match="too many layers"):
        expander.run("spec")
    assert len(expander.nodes) <= 20_000


def test_repeats_of_dropped_entries_still_count() -> None:
    """Nothing is built, but a million dropped entries are a million steps: stopped too."""
    text = TINY + "  - {repeat: 1000, layers: [{repeat: 1000, layers: [{type: relu, when: 'i < 0'}]}]}\n"
    expander = _expander(text, max_layers=50_000)
    with pytest.raises(Exception, match="too many layers"):
        expander.run("spec")
    assert len(expander.nodes) == 2


def test_long_chains_of_dropped_entries_resolve_once() -> None:
    """5,000 dropped entries chained by name, read by 5,000 layers: each link is followed once, not 5,000 times."""
    n = 5_000
    lines = [TINY.rstrip("\n"), "  - {name: d0, type: relu, when: false}"]
    lines += [f"  - {{name: d{k}, type: relu, when: false, inputs: d{k - 1}}}" for k in range(1, n)]
    lines += [f"  - {{name: r{k}, type: relu, inputs: d{n - 1}}}" for k in range(n)]
    graph = _expander("\n".join(lines) + "\n").run("spec")
    assert len(graph.nodes) == n + 2
    assert {node.inputs[0] for node in graph.nodes if node.name.startswith("r") and node.name != "relu"} == {"relu"}


def test_references_that_loop_through_dropped_entries(tmp_path: Path) -> None:
    text = TINY + "  - {name: a, type: relu, when: false, inputs: b}\n"
    text += "  - {name: b, type: relu, when: false, inputs: a}\n  - {name: c, type: relu, inputs: a}\n"
    error_line(report(write(tmp_path, "loop.yaml", text)), ":7: layer c: references loop through dropped layers")


def test_defaults_are_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text(encoding="utf-8")
    for name in LIMIT_HELP:
        assert f"`{flag(name)}`" in doc and f"{getattr(DEFAULT_LIMITS, name):,}" in doc, name


def test_long_lists_repeated_count_as_work() -> None:
    """A 9,600-entry connection table in each of 100,000 layers would be a billion items to parse."""
    row = list(range(2400))
    text = f"input: [2400, 8, 8]\nvariables:\n  t: {[row] * 4}\nlayers:\n"
    same = text + "  - {name: c, type: conv2d, kernel: 1, table: t, repeat: 100000}\n"
    with pytest.raises(Exception, match=r"layer c: repeat 100,000 of 9\d\d steps each"):
        _expander(same).run("spec")  # instances are alike: refused after the first
    differing = text + "  - {name: g, repeat: 100000, layers: [{type: conv2d, kernel: 1, table: t, when: 'i >= 0'}]}\n"
    expander = _expander(differing)
    with pytest.raises(Exception, match=r"layer g\.\d+\.0: attributes, arguments .* too many list items"):
        expander.run("spec")
    assert len(expander.nodes) < 250


def test_expressions_that_churn_lists_count_as_work() -> None:
    """Each layer's expression copies a 5,000-item list 20 times and keeps only a number."""
    churn = " + ".join(["len(v + v)"] * 20)
    text = f"input: [3, 8, 8]\nvariables:\n  v: {list(range(5000))}\nlayers:\n"
    text += f"  - {{name: g, repeat: 100000, layers: [{{type: relu, when: 'i >= 0 and {churn} > 0'}}]}}\n"
    expander = _expander(text)
    with pytest.raises(Exception, match="too many list items"):
        expander.run("spec")
    assert len(expander.nodes) < 100


@pytest.mark.parametrize("entry", [
    "{name: *long, type: relu, repeat: 100000}",                     # every node named by the 10 MB name
    "{name: g, repeat: 100000, layers: [{type: add, inputs: *names}]}",  # 100,000 inputs per layer
    "{name: g, repeat: 100000, layers: [{type: relu, inputs: *ref}]}",  # a 1 MB reference per layer
])  # fmt: skip
def test_aliased_names_and_inputs_count_as_work(entry: str) -> None:
    """A 1 kB spec may hand every layer the same huge name or input list through an alias."""
    long = "x" * 10_000_000
    text = f"notes: [&long {long}, &names [{', '.join(['relu'] * 100_000)}], &ref {'y.' * 500_000}y]\n"
    expander = _expander(text + TINY + f"  - {entry}\n")
    with pytest.raises(Exception, match="--max-layers"):
        expander.run("spec")
    assert len(expander.nodes) < 1000
