"""ConvNeXt V2's / CSATv2's Global Response Normalization (tests/models/timm_grn.py, copied from timm 1.0.31):
`x.norm(p=2, dim=(1, 2), keepdim=True)` imports as vector_norm (archcalc/layers/reduce_norm.py); the GRN in
both layouts and the channels-last MLP around it are complete, params equal torch's, `--convention fvcore` /
`--convention torch` equal fvcore and FlopCounterMode, and the exported spec round trips and passes `check`.
Another p-norm is refused, saying so. CSATv2's per-channel buffers (its stem's denormalisation) are fixed operands
(parameter_op with buffer), not a learned layer scale."""

from __future__ import annotations

import pytest

from archcalc import analyse, load_spec_text
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from tests.import_exact import seeded
from tests.imported_checks import block_tests
from tests.models import timm_grn as grn

CASES = {
    "grn_channels_last": (lambda: grn.GlobalResponseNorm(6), (5, 4, 6)),
    "grn_channels_first": (lambda: grn.GlobalResponseNorm(6, channels_last=False), (6, 5, 4)),
    "csatv2_mlp": (grn.ChannelsLastMlpGrn, (8, 6, 6)),
    "linalg_vector_norm": (grn.NormByLinalg, (3, 7)),
    "csatv2_denormalize": (grn.Denormalize, (3, 4, 4)),
}

test_imports_complete_and_exact, test_round_trips_and_check_passes = block_tests(CASES)


def test_the_norm_is_over_the_spatial_axes_of_each_channel():
    report = analyse(import_model(seeded(lambda: grn.GlobalResponseNorm(6)), (5, 4, 6)).graph)
    [norm] = [layer for layer in report.layers if layer.type == "vector_norm"]
    assert norm.attributes["axis"] == (0, 1) and norm.attributes["keepdim"] and norm.output_shape == [1, 1, 6]
    assert norm.flops == 2 * 5 * 4 * 6


def test_another_p_norm_is_unsupported_saying_why():
    report = analyse(import_model(grn.NormOne(), (3, 7)).graph)
    assert not report.complete and "only the 2-norm" in report.unsupported[0].reason


def test_a_bad_axis_is_a_one_line_error():
    text = "name: t\ninput: [3, 4]\nlayers:\n  - {name: n, type: vector_norm, axis: 5}\n"
    with pytest.raises(ArchcalcError, match="vector_norm"):
        analyse(load_spec_text(text))


def test_a_per_channel_buffer_is_a_fixed_operand_not_a_layer_scale():
    report = analyse(import_model(grn.Denormalize(), (3, 4, 4)).graph)
    ops = [(layer.type, layer.attributes.get("buffer"), layer.buffers) for layer in report.layers][:2]
    assert ops == [("parameter_op", True, 3), ("parameter_op", True, 3)]


def test_csatv2s_attention_across_the_batch_is_unsupported_saying_so():
    """Its cost grows with the square of the batch: no per-sample count can be right, so it is refused."""
    report = analyse(import_model(grn.ScalarAttentionAcrossTheBatch(), (49, 1)).graph)
    assert not report.complete and report.totals.params == 3
    assert "mixes samples" in report.unsupported[0].reason, [gap.reason for gap in report.unsupported]
