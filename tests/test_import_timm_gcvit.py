"""GCViT's global query, repeated for every window of its image with `repeat_interleave(nW, dim=0)`
(tests/models/timm_gcvit.py, copied from timm 1.0.31), imports complete and exact: the repeat is an expand of
each sample along a new axis of nW, the batch merged into axis 0 after it; params and buffers equal torch's,
`--convention fvcore` / `--convention torch` equal fvcore and FlopCounterMode, and the exported spec loads back
to the same totals and passes `check`. A repeat of a sample axis is left unsupported, saying why."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from tests.import_exact import seeded
from tests.imported_checks import block_tests
from tests.models import timm_gcvit as gc

CASES = {
    "stage": (gc.GlobalContextStage, (16, 8, 8)),
    "stage_16_windows": (lambda: gc.GlobalContextStage(dim=12, resolution=16, window=4, num_heads=3, depth=3),
                         (12, 16, 16)),
}  # fmt: skip


test_imports_complete_and_exact, test_round_trips_and_check_passes = block_tests(CASES)


def test_the_repeat_is_an_expand_over_the_windows():
    """8x8 tokens in 4x4 windows: the 4x4 global query [4, 4, 16] becomes [4 windows, 4, 4, 16] per image."""
    report = analyse(import_model(seeded(gc.GlobalContextStage), (16, 8, 8)).graph)
    shapes = {layer.name: layer.output_shape for layer in report.layers}
    [repeat] = [layer for layer in report.layers if layer.type == "expand"]
    assert list(shapes[repeat.inputs[0]]) == [4, 4, 16] and list(repeat.output_shape) == [4, 4, 4, 16]
    assert (repeat.params, repeat.flops) == (0, 0)


class RepeatSampleAxis(nn.Module):
    def forward(self, x):
        return x.repeat_interleave(2, dim=1)


class RepeatBatchByTensor(nn.Module):
    def forward(self, x):
        return x.repeat_interleave(torch.tensor([1, 2]), dim=0)


@pytest.mark.parametrize("module, reason", [
    (RepeatSampleAxis, "repeats the elements of a sample axis"),
    (RepeatBatchByTensor, "constant tensor"),
], ids=["sample-axis", "tensor-repeats"])  # fmt: skip
def test_other_repeats_are_unsupported_saying_why(module, reason):
    report = analyse(import_model(module(), (3, 4)).graph)
    assert not report.complete
    assert any(reason in gap.reason for gap in report.unsupported), [gap.reason for gap in report.unsupported]


@pytest.mark.parametrize("shape, message", [
    ([5, 4], "do not match"),
    ([4], "does not expand to"),
])
def test_a_bad_expand_shape_is_a_one_line_error(shape, message):
    text = f"name: t\ninput: [3, 4]\nlayers:\n  - {{name: e, type: expand, shape: {shape}}}\n"
    with pytest.raises(ArchcalcError, match=message):
        analyse(load_spec_text(text))
