"""Gemma 4's clippable linears (tests/models/timm_gemma4.py, copied from timm 1.0.31): `torch.clamp(x, min, max)`
with 0-dim buffers as the bounds imports as clamp_buffers (archcalc/layers/clamp_buffers.py), holding the two
buffers; the gated MLP built of them is complete, its params and buffers equal torch's, `--convention fvcore` /
`--convention torch` equal fvcore and FlopCounterMode, and the exported spec round trips and passes `check`.
Bounds that are parameters or per-feature buffers stay unsupported, saying why."""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec_text
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from tests.imported_checks import block_tests, seeded
from tests.models import timm_gemma4 as g4

CASES = {
    "gated_mlp_clipped": (g4.Gemma4GatedMlp, (5, 16)),
    "gated_mlp_unclipped": (lambda: g4.Gemma4GatedMlp(use_clipped=False), (5, 16)),
    "clippable_linear_on_a_map": (lambda: g4.Gemma4ClippableLinear(8, 4), (3, 6, 8)),
}


test_imports_complete_and_equal_to_the_tools, test_round_trips_and_check_passes = block_tests(CASES)


def test_each_clamp_holds_its_two_bounds():
    report = analyse(import_model(seeded(g4.Gemma4GatedMlp), (5, 16)).graph)
    clamps = [layer for layer in report.layers if layer.type == "clamp_buffers"]
    assert len(clamps) == 6 and all(layer.buffers == 2 and layer.params == 0 for layer in clamps)
    assert [layer.flops for layer in clamps[:2]] == [2 * 5 * 16, 2 * 5 * 24]
    assert report.totals.buffers == 12


@pytest.mark.parametrize("module, reason", [
    (g4.ClampByParameter, "min bound is not a buffer"),
    (g4.ClampByVector, "not a scalar tensor"),
], ids=["parameter-bound", "vector-bound"])  # fmt: skip
def test_other_tensor_bounds_are_unsupported_saying_why(module, reason):
    model = module()
    report = analyse(import_model(model, (8,)).graph)
    assert not report.complete
    assert any(reason in gap.reason for gap in report.unsupported), [gap.reason for gap in report.unsupported]
    assert report.totals.params + report.totals.buffers == sum(t.numel() for t in (*model.parameters(),
                                                                                   *model.buffers()))


def test_a_bound_in_the_spec_is_a_one_line_error():
    text = "name: t\ninput: [3, 4]\nlayers:\n  - {name: c, type: clamp_buffers, min: 0}\n"
    with pytest.raises(ArchcalcError, match="clamp_buffers"):
        analyse(load_spec_text(text))
