"""The fast path for one-line flow mappings (spec/yaml_flow.py) gives exactly what the general path gives:
the same data, the same line of every mapping, key and item, and the same errors, on generated specs."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from archcalc.errors import ArchcalcError
from archcalc.limits import Limits
from archcalc.spec import yaml_build
from archcalc.spec.lines import LineDict, LineList
from archcalc.spec.source import parse_text
from archcalc.spec.yaml_flow import flow_items

TOKENS = ["conv", "u0_add", "8", "-3", "1.5", "1e3", ".inf", "true", "null", "0o17", "0x1F", "010", "a-b", "x.y",
          "+2", "-a", "_", "~", "yes", "1" * 4100]  # fmt: skip
KEYS = ["name", "type", "kernel", "inputs", "3", "true", "null", "<<", "name"]
SEPARATORS = [", ", ",", " , ", ",  "]
COLONS = [": ", ":  ", ":"]


def _value(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        items = draw(st.lists(st.sampled_from(TOKENS[:-1]), max_size=3))
        return "[" + draw(st.sampled_from(SEPARATORS)).join(items) + "]"
    return draw(st.sampled_from(TOKENS))


@st.composite
def flow_line(draw) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(COLONS)), min_size=1, max_size=5))
    body = draw(st.sampled_from(SEPARATORS)).join(key + colon + _value(draw) for key, colon in pairs)
    indent = " " * draw(st.sampled_from([2, 2, 2, 4, 0, 3]))
    tail = draw(st.sampled_from(["", "", "  # note", "#x", " ", "\t"]))
    return f"{indent}- {{{body}}}{tail}"


OTHER_LINES = ["  - {name: q, type: 'relu'}", "  - name: block", "    type: relu", "  - relu", "  - &a {type: relu}",
               "  - *a", "  - {type: relu, <<: {kernel: 3}}", "  - {a: {b: c}}", "  - {name: a}\n    b",
               "  - {name: a,\n     type: relu}", "note: |\n  - {name: in, type: text}", "  # - {name: c}", "",
               "  - {}", "  - {a: b,}", "other: [\n  - {a: b}]", "---", "  - _archcalc_flow_item_",
               # runs of fast lines (one placeholder each) inside a block scalar, or ending in a continuation
               "note: |\n  - {name: in, type: text}\n  - {name: out, type: text}",
               "  - {name: a}\n  - {name: b}\n      more"]  # fmt: skip


@st.composite
def spec_text(draw) -> str:
    lines = ["name: generated", "layers:"]
    for _ in range(draw(st.integers(0, 12))):
        lines.append(draw(flow_line()) if draw(st.booleans()) else draw(st.sampled_from(OTHER_LINES)))
    if draw(st.booleans()):
        lines.append("outputs: [a]")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


def _outcome(parse) -> Any:
    try:
        return "ok", parse()
    except (ArchcalcError, yaml.YAMLError) as exc:
        return "error", str(exc)


def assert_same(fast: Any, general: Any, where: str = "root") -> None:
    assert type(fast) is type(general), where
    if isinstance(fast, LineDict):
        assert fast.line == general.line and fast.key_lines == general.key_lines, where
        assert list(fast) == list(general), where
        for key in fast:
            assert_same(fast[key], general[key], f"{where}.{key}")
    elif isinstance(fast, LineList):
        assert fast.line == general.line and tuple(fast.item_lines) == tuple(general.item_lines), where
        assert len(fast) == len(general), where
        for index, (a, b) in enumerate(zip(fast, general)):
            assert_same(a, b, f"{where}[{index}]")
    else:
        assert fast == general or (fast != fast and general != general), where


def _general(text: str, limits: Limits) -> Any:
    """The general path alone, with parse_text's error handling."""
    original = yaml_build.flow_items
    yaml_build.flow_items = lambda text, resolve: None
    try:
        return parse_text(text, "spec.yaml", limits)
    finally:
        yaml_build.flow_items = original


@given(spec_text(), st.sampled_from([Limits(), Limits(max_yaml_nodes=25), Limits(max_yaml_nesting=3),
                                     Limits(max_yaml_nesting=4)]))  # fmt: skip
def test_fast_lines_give_what_the_general_path_gives(text: str, limits: Limits) -> None:
    fast = _outcome(lambda: parse_text(text, "spec.yaml", limits))
    general = _outcome(lambda: _general(text, limits))
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "error":
        assert fast[1] == general[1]
    else:
        assert_same(fast[1], general[1])


@given(st.lists(flow_line(), min_size=1, max_size=20))
def test_plain_flow_lines_take_the_fast_path_without_diverging(lines: list[str]) -> None:
    """Where the fast path builds lines and the document is valid, it is used, not thrown away."""
    text = "layers:\n" + "\n".join(lines) + "\n"
    general = _outcome(lambda: yaml_build._build(text, Limits()))
    if general[0] != "ok":
        return
    built = flow_items(text, yaml_build._plain)  # resolves every value: refuses what the general path refused
    if built is not None:
        assert_same(yaml_build._build(built.text, Limits(), built), general[1])


def test_the_scale_spec_lines_are_all_fast_and_keep_their_lines() -> None:
    from benchmarks.scale_spec import scale_spec

    text = scale_spec(3000)
    built = flow_items(text, yaml_build._plain)
    assert built is not None and len(built.items) == text.count("- {")
    assert_same(yaml_build._build(built.text, Limits(), built), yaml_build._build(text, Limits()))


def test_an_error_after_fast_lines_names_the_general_paths_line() -> None:
    text = "layers:\n" + "  - {name: a, type: relu}\n" * 5 + "  - {name: b, name: c}\n" + "  - {name: d}\n"
    assert _outcome(lambda: parse_text(text, "s.yaml")) == ("error", "s.yaml:7: duplicate key 'name'")
    nodes = Limits(max_yaml_nodes=13)  # the fourth line's first value is the 14th
    assert _outcome(lambda: parse_text(text, "s.yaml", nodes))[1].startswith("s.yaml:5: the document has too many")
