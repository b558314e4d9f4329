"""The spec parsers (spec/yaml_build.py, spec/json_build.py): YAML 1.2 scalars, anchors shared, merge
keys, lines on everything, JSON through a JSON parser with lines, and the limits as they read."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from archcalc.errors import ArchcalcError
from archcalc.limits import Limits
from archcalc.spec import load_spec
from archcalc.spec.source import load_document, parse_text
from tests.hostile_support import TINY, error_line, report, write


@pytest.mark.parametrize("text, value", [
    ("010", 10), ("0o10", 8), ("0x1F", 31), ("-7", -7), ("+3", 3), ("1e3", 1000.0), ("1.5", 1.5), (".5", 0.5),
    ("1:04", "1:04"), ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),
    ("true", True), ("False", False), ("~", None), ("null", None), ("", None), ("2020-01-01", "2020-01-01"),
    ("1_000", "1_000"), ("0b101", "0b101"), ("'010'", "010"), ('"yes"', "yes"), ("-.inf", float("-inf")),
])  # fmt: skip
def test_scalars_follow_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert parse_text(f"a: {text}\n", None) == {"a": value}


def test_nan_is_read_then_refused_where_it_is_used() -> None:
    error_line(report_text(TINY.replace("kernel: 3", "kernel: .nan")), "'kernel'", "got nan")
    error_line(report_text("variables: {v: .nan}\n" + TINY), "spec.yaml:1: ", "not finite")


def report_text(text: str, tmp: Path = Path("/tmp")) -> object:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return report(write(folder, "spec.yaml", text))


def test_anchors_are_shared_not_copied() -> None:
    data = parse_text("a: &x [1, 2]\nb: *x\nc: {k: *x}\n", None)
    assert data["a"] is data["b"] is data["c"]["k"]


def test_merge_keys_written_keys_win_then_earlier_sources() -> None:
    data = parse_text("base: &b {x: 1, y: 2}\nmore: &m {y: 3, z: 4}\nc:\n  <<: [*b, *m]\n  x: 9\n", None)
    assert data["c"] == {"x": 9, "y": 2, "z": 4}
    assert list(data["c"]) == ["y", "z", "x"]  # merged keys first, as before
    assert data["c"].line_of("y") == 1 and data["c"].line_of("x") == 5


@pytest.mark.parametrize("text, fragment", [
    ("a: &x [1, *x]\n", "contains it"),
    ("a: *nope\n", "undefined alias"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("? [1]\n: 2\n", "plain scalars"),
    ("<<: 3\n", "merge key"),
    ("a: 1\n---\nb: 2\n", "one YAML document"),
    ("a: " + "9" * 5000 + "\n", "digits is too long"),
])  # fmt: skip
def test_bad_documents_name_their_line(text: str, fragment: str) -> None:
    with pytest.raises(ArchcalcError, match=fragment) as caught:
        parse_text(text, "x.yaml")
    assert caught.value.line is not None and caught.value.file == "x.yaml"


def test_lines_of_mappings_keys_and_items() -> None:
    data = parse_text("a:\n  - 1\n  - {k: 2,\n     j: 3}\nb: [x, y]\n", None)
    assert data.line_of("a") == 1 and data["a"].line == 2 and data["a"].line_of(1) == 3
    assert data["a"][1].line_of("k") == 3 and data["a"][1].line_of("j") == 4
    assert data["b"].line_of(1) == 5


def test_limits_stop_the_parser_where_they_are_broken() -> None:
    with pytest.raises(ArchcalcError, match="--max-yaml-nodes") as caught:
        parse_text("a: 1\nb: [1,\n 2, 3]\n", None, Limits(max_yaml_nodes=4))  # keys count too: 2 is the 5th
    assert caught.value.line == 3
    with pytest.raises(ArchcalcError, match="--max-yaml-nesting"):
        parse_text("a: [[[1]]]\n", None, Limits(max_yaml_nesting=3))
    assert parse_text("a: [[1]]\n", None, Limits(max_yaml_nesting=3)) == {"a": [[1]]}
    with pytest.raises(ArchcalcError, match="merge keys"):
        parse_text("b: &b {x: 1, y: 2, z: 3}\nc: {<<: [*b, *b]}\n", None, Limits(max_yaml_nodes=14))


def test_a_big_flat_document_is_refused_by_the_node_limit_quickly(tmp_path: Path) -> None:
    """Issue 14: 4 million scalars in 8 MB sat under every limit and took 20 s and 1.4 GB."""
    path = write(tmp_path, "big.yaml", "input: [3, 8, 8]\nlayers: [relu]\nnotes: [" + ",".join(["0"] * 4_000_000) + "]\n")
    start = time.process_time()
    error_line(report(path), "--max-yaml-nodes")
    assert time.process_time() - start < 60  # a bound for a loaded CI machine, not a benchmark


def test_json_specs_load_through_json_with_lines(tmp_path: Path) -> None:
    doc = yaml.safe_load((Path(__file__).parents[1] / "specs" / "resnet18.yaml").read_text())
    path = write(tmp_path, "r18.json", json.dumps(doc, indent=2))
    from_json, from_yaml = load_spec(path), load_spec("resnet18")
    assert [n.name for n in from_json.nodes] == [n.name for n in from_yaml.nodes]
    assert all(isinstance(n.line, int) and n.line > 1 for n in from_json.nodes)
    text = path.read_text().splitlines()
    first = from_json.nodes[0]
    assert '"name"' in text[first.line - 1] or "{" in text[first.line - 1]


@pytest.mark.parametrize("text, fragment, line", [
    ('{"input": [3, 8, 8],\n "layers": [{"type": "relu",\n  "type": "relu"}]}', "duplicate key 'type'", 3),
    ('{"input": [3, 8, 8],\n "layers": [{"type": "conv2d", "out_channels": NaN, "kernel": 3}]}', "NaN", 2),
    ('{"input": [3, 8, 8],\n "layers": [{"type": "conv2d",\n "out_channels": -4, "kernel": 3}]}', "positive", 3),
    ('{"input": [3, 8, 8],\n "layers": [{"type": "relu"}]', "invalid JSON", 2),
    ('{"input": [3, 8, 8],\n "layers": [' + "[" * 300 + "]" * 300 + "]}", "--max-yaml-nesting", 2),
    ('{"input": [3, 8, 8],\n "layers": [{"type": "linear", "out_features": ' + "9" * 5000 + "}]}", "digits", 2),
])  # fmt: skip
def test_json_errors_name_the_line(tmp_path: Path, text: str, fragment: str, line: int) -> None:
    path = write(tmp_path, "bad.json", text)
    error_line(report(path), f"{path}:{line}: ", fragment)


def test_json_file_is_not_read_as_yaml(tmp_path: Path) -> None:
    """`.json` means JSON: YAML-only syntax is an error there."""
    path = write(tmp_path, "yaml.json", "input: [3, 8, 8]\nlayers: [relu]\n")
    error_line(report(path), "invalid JSON")
    assert load_document(write(tmp_path, "ok.json", '{"a": [1, {"b": 2}]}')) == {"a": [1, {"b": 2}]}


def test_pythons_yaml_parser_gives_the_same_data(monkeypatch) -> None:
    """Without libyaml, PyYAML's own parser feeds the same builder: same data, same lines."""
    from archcalc.spec import yaml_build

    text = (Path(__file__).parents[1] / "specs" / "resnet50.yaml").read_text()
    fast = parse_text(text, None)
    monkeypatch.setattr(yaml_build, "_Parser", yaml.SafeLoader)
    slow = parse_text(text, None)
    assert fast == slow and fast["layers"].item_lines == slow["layers"].item_lines


def test_an_alias_bomb_through_set_is_refused_unwalked() -> None:
    levels = ["&l0 [" + ", ".join(["1"] * 10) + "]"]
    levels += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    start = time.process_time()
    error_line(run_cli("report", "resnet18", "--set", "layers=[" + ", ".join(levels) + "]"), "--max-list-items")
    assert time.process_time() - start < 30


def run_cli(*args: str):
    from tests.hostile_support import run

    return run(*args)
