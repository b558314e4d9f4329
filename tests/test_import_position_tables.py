"""Position tables made from parameters on every call (tests/models/timm_position_tables.py, copied from timm
1.0.31: NaFlexViT's learned and factorised tables, Hiera's abswin table) import complete as
resized_position_embedding: params equal torch's, `--convention fvcore` / `--convention torch` equal fvcore and
FlopCounterMode on the model itself at batch 1 and 2 (the table is made once per call), and the exported spec
loads back to the same totals and passes `check`. What is not one of the forms stays unsupported, saying why."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.layers import numel
from archcalc.spec.export import export_spec
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check, seeded
from tests.models import timm_position_tables as pt

IMAGE = (3, 32, 32)  # patch 4: an 8 x 8 grid of 16-wide tokens
CASES = {
    "naflex_learned_bicubic_aa": pt.NaFlexLearned,
    "naflex_learned_bilinear": lambda: pt.NaFlexLearned(mode="bilinear", antialias=False),
    "naflex_factorized": pt.NaFlexFactorized,
    "naflex_factorized_same_size": lambda: pt.NaFlexFactorized(table=(8, 8)),
    "naflex_factorized_one_axis": lambda: pt.NaFlexFactorized(table=(8, 3)),
    "hiera_abswin": pt.HieraAbsWin,
    "sam2_channels_last": pt.Sam2PosEmbed,
    "vit_dynamic_class_row": pt.DynamicViT,
    "vit_dynamic_no_embed_class": lambda: pt.DynamicViT(no_embed_class=True),
}


def _table(report):
    [layer] = [layer for layer in report.layers if layer.type == "resized_position_embedding"]
    return layer


@pytest.mark.parametrize("case", list(CASES))
def test_imports_complete_and_equal_to_torch_and_the_tools(case):
    assert_complete_and_exact(CASES[case], IMAGE)


@pytest.mark.parametrize("case", list(CASES))
def test_round_trips_and_check_passes(case):
    assert_round_trip_and_check(CASES[case], IMAGE)


def test_the_forms_and_their_counts():
    """8x8 grid, E = 16, L = 64: one add per token element per sample, the table made once per call."""
    learned = _table(analyse(import_model(seeded(pt.NaFlexLearned), IMAGE).graph, batch=2))
    assert list(learned.attributes["grid"]) == [8, 8] and list(learned.attributes["table"]) == [6, 6]
    assert learned.attributes["mode"] == "bicubic" and learned.attributes["antialias"]
    assert learned.params == 6 * 6 * 16 and learned.flops == 2 * 64 * 16 + 31 * 64 * 16
    factorized = _table(analyse(import_model(seeded(pt.NaFlexFactorized), IMAGE).graph))
    assert factorized.attributes["factorized"] and list(factorized.attributes["table"]) == [6, 5]
    assert factorized.params == (6 + 5) * 16
    assert factorized.flops == 64 * 16 + 3 * 16 * 8 * 2 + 64 * 16  # add, two 1-D linear, the broadcast sum
    hiera = _table(analyse(import_model(seeded(pt.HieraAbsWin), IMAGE).graph))
    assert list(hiera.attributes["window"]) == [2, 2] and list(hiera.attributes["table"]) == [3, 3]
    assert hiera.params == (9 + 4) * 16 and hiera.flops == 64 * 16 + 31 * 64 * 16 + 64 * 16
    vit = _table(analyse(import_model(seeded(pt.DynamicViT), IMAGE).graph))
    assert vit.attributes["prefix"] == 1 and list(vit.output_shape) == [65, 16] and vit.params == 37 * 16
    sam2 = _table(analyse(import_model(seeded(pt.Sam2PosEmbed), IMAGE).graph))
    assert list(sam2.output_shape) == [8, 8, 16] and not sam2.attributes["antialias"]
    assert list(sam2.attributes["window"]) == [4, 4] and sam2.params == (9 + 16) * 16


def test_the_forward_hooks_trace_follows_them_too(monkeypatch):
    import archcalc.importer.trace as trace

    def untraceable(*args, **kwargs):
        raise RuntimeError("torch.fx refuses this model")

    monkeypatch.setattr(trace, "trace_fx", untraceable)
    for factory in CASES.values():
        result = import_model(seeded(factory), IMAGE)
        assert result.method == "forward hooks"
        assert analyse(result.graph).complete


class _Doubled(pt._Patches):
    """A table interpolated, then scaled: not a form resized_position_embedding counts."""

    def __init__(self) -> None:
        super().__init__(16, 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 16, 6, 6))

    def forward(self, x):
        x, grid = self.tokens(x)
        table = F.interpolate(self.pos_embed, size=grid, mode="bilinear") * 2
        return x + table.flatten(2).transpose(1, 2)


class _Transposed(pt._Patches):
    """An interpolated table added to channels-first maps, not to tokens."""

    def __init__(self) -> None:
        super().__init__(16, 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 16, 6, 6))

    def forward(self, x):
        x = self.proj(x)
        return x + F.interpolate(self.pos_embed, size=x.shape[-2:], mode="bilinear")


@pytest.mark.parametrize("factory", [_Doubled, _Transposed], ids=["scaled-table", "added-to-maps"])
def test_what_is_left_says_why_and_keeps_the_weights(factory):
    report = analyse(import_model(seeded(factory), IMAGE).graph)
    assert not report.complete
    assert report.totals.params == sum(p.numel() for p in seeded(factory).parameters())
    assert all(gap.reason for gap in report.unsupported)


@pytest.mark.parametrize("attrs, fragment", [
    ({"grid": [4, 4], "table": [8, 8], "mode": "bicubic", "antialias": True}, "no axis shrinking"),
    ({"grid": [4, 4], "table": [2, 2]}, "needs a mode"),
    ({"grid": [4, 4], "table": [4, 4]}, "that is a positional_embedding"),
    ({"grid": [4, 4], "table": [2, 2], "mode": "linear"}, "mode linear interpolates 1 axes"),
    ({"grid": [4, 4], "table": [2, 2], "factorized": True, "mode": "bilinear"}, "factorised tables have 1"),
    ({"grid": [4, 4], "table": [2, 2], "mode": "bilinear", "window": [3, 3]}, "must tile the grid"),
    ({"grid": [4, 3], "table": [2, 2], "mode": "bilinear"}, "L = prefix + Π grid = 12"),
    ({"grid": [4, 4], "table": [2, 2], "mode": "nearest", "align_corners": True}, "align_corners does not apply"),
    ({"grid": [4, 4], "table": [2, 2], "mode": "bilinear", "prefix": 1}, "L = prefix + Π grid = 17"),
    ({"grid": [4, 4], "table": [2, 2], "mode": "bilinear", "prefix": -1}, "'prefix' must be"),
])  # fmt: skip
def test_bad_spec_attributes_are_one_line_exit_2(tmp_path, attrs, fragment):
    import json

    from tests.hostile_support import error_line, report, write

    layer = {"name": "pos", "type": "resized_position_embedding", **attrs}
    spec = write(tmp_path, "spec.yaml", "input: [16, 8]\nlayers:\n  - " + json.dumps(layer) + "\n")
    error_line(report(spec), "spec.yaml:3", "layer pos", fragment)


def _stands_in_timm(monkeypatch, module: str, copied: type) -> None:
    """The copied class stands where timm keeps it (the import rule names timm's class)."""
    import sys
    import types

    fake = types.ModuleType(module)
    fake.PositionalEncodingFourier = copied
    monkeypatch.setitem(sys.modules, module, fake)


@pytest.fixture
def as_timm(monkeypatch):
    _stands_in_timm(monkeypatch, "timm.models.edgenext", pt.PositionalEncodingFourier)


def test_edgenext_fourier_encoding_imports_complete_and_exact(as_timm):
    report = assert_complete_and_exact(pt.EdgeNeXtXca, IMAGE)
    [encoding] = [layer for layer in report.layers if layer.type == "fourier_position_encoding"]
    assert list(encoding.output_shape) == [16, 8, 8] and encoding.macs == 64 * 16 * 16
    assert_round_trip_and_check(pt.EdgeNeXtXca, IMAGE)


def test_without_timm_the_encoding_is_unsupported_saying_why():
    """The copy alone (not timm's class) is traced through: the features it makes from the grid's shape are
    constants, and the 1x1 conv that reads them stays unsupported, saying so."""
    report = analyse(import_model(seeded(pt.EdgeNeXtXca), IMAGE).graph)
    assert not report.complete
    assert any("made inside forward" in gap.reason or "tensor factory" in gap.reason for gap in report.unsupported)
    assert report.totals.params == sum(p.numel() for p in seeded(pt.EdgeNeXtXca).parameters())


@st.composite
def timm_table(draw):
    """One of the copied timm position tables with a random width, patch grid (sides of 2 or more: a factorised
    table of one row broadcasts ambiguously, and stays unsupported) and table sizes: (image, factory, whether a
    table is resized; NaFlexViT adds a table of the grid's own size as it is: a positional_embedding)."""
    dim = draw(st.integers(2, 9))
    grid = (draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    image = (3, 2 * grid[0], 2 * grid[1])
    kind = draw(st.sampled_from(["learned", "factorized", "hiera", "sam2", "vit"]))
    if kind == "vit":  # the default grid's table upsampled to this grid (antialiased: shrinking is refused)
        table = tuple(draw(st.integers(1, g)) for g in grid)
        no_embed_class = draw(st.booleans())
        return image, lambda: pt.DynamicViT(dim, table, no_embed_class, patch=2), table != grid
    if kind == "learned":  # upsampling when antialiased (downsampling with antialias is refused, saying so)
        mode = draw(st.sampled_from(["bicubic", "bilinear"]))  # timm passes align_corners, which nearest refuses
        antialias = draw(st.booleans())
        table = tuple(draw(st.integers(1, g if antialias else 8)) for g in grid)
        return image, lambda: pt.NaFlexLearned(dim, 2, table, mode, antialias), table != grid
    if kind == "factorized":
        table = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
        return image, lambda: pt.NaFlexFactorized(dim, 2, table), True
    global_size = tuple(draw(st.integers(1, g)) for g in grid)
    if kind == "hiera":
        unit = tuple(draw(st.sampled_from([d for d in range(1, g + 1) if g % d == 0])) for g in grid)
        units = tuple(g // u for g, u in zip(grid, unit))
        return image, lambda: pt.HieraAbsWin(dim, 2, global_size, unit, units), True
    window = draw(st.sampled_from([d for d in range(1, grid[0] + 1) if grid[0] % d == 0]))
    return (3, 4 * grid[0], 4 * grid[0]), lambda: pt.Sam2PosEmbed(dim, global_size, window), True


@settings(max_examples=max(settings().max_examples // 12, 5))
@given(timm_table())
def test_random_timm_tables_import_complete_and_exact(drawn):
    """Any width (also one equal to a grid side), grid and table sizes: complete, params as torch's, FlopCounterMode
    as `--convention torch`, and the table made once per call (a second sample adds only the per-sample add)."""
    image, factory, resized = drawn
    graph = import_model(seeded(factory), image).graph
    one, two = analyse(graph), analyse(graph, batch=2)
    assert one.complete, [(gap.op, gap.reason) for gap in one.unsupported]
    model = seeded(factory)
    assert one.totals.params == sum(p.numel() for p in model.parameters())
    assert analyse(graph, batch=2, convention="torch").convention.total == run_peer("torch", model, image, batch=2)
    if resized:
        table = _table(one)
        assert _table(two).flops - table.flops == numel(table.output_shape)


@pytest.mark.parametrize("start", [0, 3])
def test_rows_of_a_table_added_to_the_tokens_are_a_positional_embedding(start):
    """`x + pos_embed[:, :L]` (or any L rows of it) adds one row per token of a [1, R, E] table: a learned
    positional_embedding of R rows, exact against torch and the tools, round trip and check."""

    class Sliced(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)
            self.table = nn.Parameter(torch.zeros(1, 20, 8))

        def forward(self, x):
            return self.lin(x) + self.table[:, start:start + x.shape[1]]

    graph = import_model(seeded(Sliced), (16, 8)).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    [table] = [layer for layer in report.layers if layer.type == "positional_embedding"]
    assert table.attributes["max_len"] == 20 and table.params == 160 and report.totals.params == 160 + 72
    for convention in ("fvcore", "torch"):
        assert analyse(graph, batch=2, convention=convention).convention.total == \
            run_peer(convention, seeded(Sliced), (16, 8), batch=2)  # fmt: skip
    spec = load_spec_text(export_spec(graph))
    assert analyse(spec).totals == report.totals
    assert check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0)).agrees


def test_a_slice_used_otherwise_says_so_and_keeps_the_weights():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(10))

        def forward(self, x):
            return x * self.scale[:8]

    report = analyse(import_model(seeded(Scaled), (8,)).graph)
    [gap] = report.unsupported
    assert "a slice of a parameter" in gap.reason and report.totals.params == 10


@pytest.fixture
def xcit_as_timm(monkeypatch):
    _stands_in_timm(monkeypatch, "timm.models.xcit", pt.XcitPositionalEncodingFourier)


def test_xcit_fourier_encoding_is_made_once_per_call(xcit_as_timm):
    assert_complete_and_exact(pt.XcitPosEmbed, IMAGE)
    [node] = [node for node in import_model(seeded(pt.XcitPosEmbed), IMAGE).graph.nodes
              if node.type == "fourier_position_encoding"]
    assert node.attrs["once"]
    assert_round_trip_and_check(pt.XcitPosEmbed, IMAGE)
