"""YAML that tries to do harm: Python object tags, alias and merge-key bombs, recursive aliases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.hostile_support import TINY, error_line, report, write

from archcalc.errors import ArchcalcError
from archcalc.spec.source import parse_text


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:archcalc.errors.ArchcalcError {{message: x}}",
    "!custom {{a: 1}}",
])  # fmt: skip
def test_tags_that_construct_python_objects_are_refused(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, "tag.yaml", TINY + "notes: " + tag.format(marker=marker) + "\n")
    error_line(report(path), f"{path}:5: ", "YAML tag", "is not allowed")
    assert not marker.exists()


@pytest.mark.parametrize("tagged", ["!!binary aGk=", "!!timestamp 2020-01-01", "!!set {a: null}", "!!omap [{a: 1}]",
                                    "!!pairs [{a: 1}]", "!!python/tuple [1]", "!foo 3", "!<tag:x.org,1:y> 1"])  # fmt: skip
def test_only_core_tags_are_read(tagged: str) -> None:
    """The builder reads events itself: no constructor, no tag beyond YAML 1.2's core ones."""
    with pytest.raises(ArchcalcError, match="is not allowed"):
        parse_text(f"a: {tagged}\n", None)


def test_core_tags_and_plain_values_build_plain_data() -> None:
    data = parse_text("a: !!int '7'\nb: !!str 8\nc: !!float 1\nd: !!bool true\ne: !!null ''\nf: !!seq [1]\n"
                      "g: !!map {x: 1}\nh: 2020-01-01\n", None)  # fmt: skip
    assert data == {"a": 7, "b": "8", "c": 1.0, "d": True, "e": None, "f": [1], "g": {"x": 1}, "h": "2020-01-01"}
    with pytest.raises(ArchcalcError, match="not a valid !!int"):
        parse_text("a: !!int x\n", None)


def _laughs(levels: int = 9, width: int = 10, leaf: str = "relu") -> str:
    """Anchors l0..l8: each a list of `width` aliases of the one before: 10**9 leaves as text of 1 kB."""
    lines = [f"  - &l0 [{', '.join([leaf] * width)}]"]
    lines += [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "notes:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("where, expected", [
    ("variables: {v: *l8}\n", "--max-list-items"),
    ("description: *l8\n", "'description' must be text"),
    ("source: *l8\n", "'source' must be text"),
    ("outputs: *l8\n", "'outputs' must be a layer name"),
    ("layers_extra: *l8\n", "unknown key 'layers_extra'"),
])  # fmt: skip
def test_billion_laughs_outside_layers(tmp_path: Path, where: str, expected: str) -> None:
    path = write(tmp_path, "laughs.yaml", _laughs() + where + TINY)
    error_line(report(path), f"{path}:", expected)


@pytest.mark.parametrize("layer, expected", [
    ("{name: c, type: conv2d, out_channels: 4, kernel: *l8}", "'kernel' takes one integer or [height, width]"),
    ("{name: c, type: conv2d, out_channels: *l8, kernel: 3}", "attribute 'out_channels' must be an integer, got [[["),
    ("{name: c, type: relu, inputs: *l8}", "'inputs' must be a layer name"),
    ("{name: c, type: conv2d, kernel: 3, table: *l8}", "--max-list-items"),
    ("{name: c, type: spp, levels: *l8}", "attribute 'levels' must be an integer"),
    ("{name: c, type: relu, note: *l8, repeat: 3}", None),
    ("*l8", "a layer entry must be a mapping"),
])  # fmt: skip
def test_billion_laughs_in_a_layer(tmp_path: Path, layer: str, expected: str | None) -> None:
    path = write(tmp_path, "laughs.yaml", _laughs(leaf="1") + TINY + f"  - {layer}\n")
    result = report(path)
    if expected is None:
        assert result.exit_code == 0  # notes are never walked
    else:
        error_line(result, f"{path}:", expected)


def test_billion_laughs_of_layer_groups_stops_at_the_layer_limit(tmp_path: Path) -> None:
    """Groups of groups of aliases: 10**9 layers from a 1 kB file, stopped at --max-layers."""
    lines = ["notes:", "  - &g0 {layers: [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]}"]
    lines += [f"  - &g{i} {{layers: [{', '.join([f'*g{i - 1}'] * 10)}]}}" for i in range(1, 9)]
    path = write(tmp_path, "groups.yaml", "\n".join(lines) + "\ninput: [3, 8, 8]\nlayers: [*g8]\n")
    error_line(report(path, "--max-layers", "5000"), "too many layers", "--max-layers")
    small = write(tmp_path, "small.yaml", path.read_text().replace("layers: [*g8]", "layers: [*g2]"))
    assert report(small).exit_code == 0


def test_merge_key_bomb(tmp_path: Path) -> None:
    """`<<: [*a, *a, *a]` nested 30 deep: merged keys are not copied over and over."""
    lines = ["notes:", "  - &m0 {k0: 0, k1: 1}"]
    lines += [f"  - &m{i} {{<<: [*m{i - 1}, *m{i - 1}, *m{i - 1}], x{i}: {i}}}" for i in range(1, 30)]
    path = write(tmp_path, "merge.yaml", "\n".join(lines) + "\n" + TINY)
    assert report(path).exit_code == 0
    written = sum(1 for event in yaml.parse(path.read_text()) if isinstance(event, (
        yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)))  # fmt: skip
    limit = str(written + 10)  # enough for the values written, not for the copies merges make
    error_line(report(path, "--max-yaml-nodes", limit), "merge keys (<<) copy too many values", "--max-yaml-nodes")


def test_merge_keys_keep_yaml_semantics() -> None:
    doc = parse_text("base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\nc: {<<: [*b, *o], y: 3, w: 4}\n", "f")
    assert doc["c"] == {"x": 1, "y": 3, "z": 30, "w": 4}  # written keys win; earlier merged maps win
    assert doc["c"].line_of("y") == 3 and doc["c"].line_of("x") == 1


def test_merged_variables_come_first(tmp_path: Path) -> None:
    text = "defaults: &d {width: 4}\n".replace("defaults", "notes") + TINY.replace(
        "input: [3, 8, 8]", "input: [3, 8, 8]\nvariables: {<<: *d, channels: 'width * 2'}").replace(
        "out_channels: 4", "out_channels: channels")  # fmt: skip
    assert report(write(tmp_path, "merged.yaml", text)).exit_code == 0


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", TINY + "  - {name: r2, type: relu, type: tanh}\n")
    error_line(report(path), f"{path}:5: ", "duplicate key 'type'")


def test_recursive_alias(tmp_path: Path) -> None:
    path = write(tmp_path, "loop.yaml", "notes: &n [1, *n]\n" + TINY)
    error_line(report(path), f"{path}:1: ", "an alias refers to the mapping or list that contains it")


def test_integer_too_long_for_python(tmp_path: Path) -> None:
    path = write(tmp_path, "digits.yaml", TINY + "notes: " + "9" * 5000 + "\n")
    error_line(report(path), f"{path}:5: ", "5,000 digits")


def test_mapping_keys_must_be_scalars(tmp_path: Path) -> None:
    path = write(tmp_path, "keys.yaml", TINY + "? [a, b]\n: 1\n")
    error_line(report(path), f"{path}:5: ", "mapping keys must be plain scalars")


def test_two_documents(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", TINY + "---\n" + TINY)
    error_line(report(path), f"{path}:5: ", "one YAML document")
