"""The colourless table written without rich (render/plain_table.py) is exactly what rich prints; where rich
would lay it out differently (a shortened column, a title wider than the table) it is left to rich."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archcalc.analysis import analyse
from archcalc.render import render
from archcalc.render.columns import Column, console_text, fit_columns, rich_table
from archcalc.render.plain_table import plain_table
from archcalc.spec import load_spec

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.text(  # wide, combining, control
    st.characters(max_codepoint=127), max_size=12)  # and ASCII, spaces and control characters among it
HEAD = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="["), max_size=8)  # no markup


def by_rich(columns: list[Column], title: str | None, width: int | None = None) -> str:
    return console_text([rich_table(columns, title=title, show_footer=True)], width, False).removesuffix("\n")


@given(st.lists(st.tuples(HEAD, st.sampled_from(["left", "right"]), HEAD), min_size=1, max_size=4),
       st.lists(st.lists(TEXT, min_size=4, max_size=4), min_size=1, max_size=4), st.none() | TEXT)  # fmt: skip
def test_random_tables_match_rich(heads: list, rows: list, title: str | None) -> None:
    columns = [Column(header, [row[position] for row in rows], footer=footer, justify=justify)
               for position, (header, justify, footer) in enumerate(heads)]  # fmt: skip
    text = plain_table(columns, title, None)
    if title is None and all(cell.isascii() for row in rows for cell in row):
        assert text is not None  # the fast path is taken
    if text is not None:
        assert text == by_rich(columns, title)


def test_a_title_wider_than_the_table_is_left_to_rich() -> None:
    columns = [Column("a", ["1"], footer="1")]
    assert plain_table(columns, "a long title", None) is None


def test_shortened_columns_are_left_to_rich() -> None:
    columns = [Column("layer", ["a_rather_long_layer_name"], justify="left", shrink_to=6), Column("n", ["1"])]
    shown, _ = fit_columns(columns, 16)
    assert plain_table(shown, None, 16) is None


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "examples/single_conv"])
@pytest.mark.parametrize("depth", [None, "all"])
def test_report_tables_are_what_rich_prints(name: str, depth: str | None, monkeypatch) -> None:
    report = analyse(load_spec(name))
    fast = render(report, "table", depth=depth)
    monkeypatch.setattr("archcalc.render.table.plain_table", lambda *args: None)
    assert fast == render(report, "table", depth=depth)
