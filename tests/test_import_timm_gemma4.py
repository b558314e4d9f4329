"""Gemma 4's vision encoder pieces (tests/models/timm_gemma4.py, copied from timm 1.0.31).

Clippable linears: `torch.clamp(x, min, max)` with 0-dim buffers as the bounds imports as clamp_buffers
(archcalc/layers/clamp_buffers.py), holding the two buffers. RoPE written out in the model's code: `x * cos`
with cos a constant made in forward from the patch grid and the `inv_freq` buffer imports as constant_op
(archcalc/layers/constant_operand.py). The gated MLP and the attention are complete, their params and buffers
equal torch's, `--convention fvcore` / `--convention torch` equal fvcore and FlopCounterMode, and the exported
spec round trips and passes `check`. timm's rotary module (Gemma4RotaryEmbedding2D) maps whole, as its cos and
sin tables (archcalc/layers/rope_table.py), counting the angle products `inv_freq @ positions` both tools count;
a look-alike module of another class leaves its tables constants, and those products uncounted (asserted
exactly, so that it shows). The patch embedding's one-hot table lookup is a one_hot_position_embedding.
Bounds that are parameters or per-feature buffers stay unsupported, saying why."""

from __future__ import annotations

import sys
import types

import pytest

from archcalc import analyse, load_spec_text
from archcalc.errors import ArchcalcError
from archcalc.importer import import_model
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check, seeded
from tests.imported_checks import block_tests
from tests.models import timm_gemma4 as g4

CASES = {
    "gated_mlp_clipped": (g4.Gemma4GatedMlp, (5, 16)),
    "gated_mlp_unclipped": (lambda: g4.Gemma4GatedMlp(use_clipped=False), (5, 16)),
    "clippable_linear_on_a_map": (lambda: g4.Gemma4ClippableLinear(8, 4), (3, 6, 8)),
    "patch_embed": (g4.Gemma4PatchEmbed, (3, 12, 16)),
    "patch_embed_p2": (lambda: g4.Gemma4PatchEmbed(patch_size=2, embed_dim=8, position_embedding_size=7), (3, 8, 6)),
    "attention_rope_2d": (lambda: g4.Gemma4Attention(by_matmul=False), (12, 32)),
    "attention_rope_2d_4_heads": (lambda: g4.Gemma4Attention(dim=24, num_heads=4, head_dim=8, grid=(4, 5),
                                                             by_matmul=False), (20, 24)),
}


test_imports_complete_and_exact, test_round_trips_and_check_passes = block_tests(CASES)

ROTARY = {
    "attention_timm_rotary": (g4.Gemma4Attention, (12, 32)),
    "attention_timm_rotary_4_heads": (lambda: g4.Gemma4Attention(dim=24, num_heads=4, head_dim=8, grid=(4, 5)),
                                      (20, 24)),
}


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


def test_the_rope_products_are_constant_ops_and_the_first_holds_inv_freq():
    """12 tokens, 2 heads of 16 features: per head feature half (2 parts of 8), x * cos and rotate_half(x) * sin
    for q and k: 8 constant_op layers, each [12, 2, 8], the table [12, 1, 8] (one row per token)."""
    report = analyse(import_model(seeded(lambda: g4.Gemma4Attention(by_matmul=False)), (12, 32)).graph)
    products = [layer for layer in report.layers if layer.type == "constant_op"]
    assert len(products) == 8 and all(layer.attributes == {"op": "mul", "shape": (12, 1, 8)} for layer in products)
    assert [layer.output_shape for layer in products] == [[12, 2, 8]] * 8
    assert [layer.flops for layer in products] == [12 * 2 * 8] * 8
    assert [layer.buffers for layer in products] == [4] + [0] * 7  # inv_freq: head_dim / 4 angles


@pytest.fixture
def timm_installed(monkeypatch):
    """The rotary module's rule is keyed on timm's class by dotted name: the stand-in takes that name."""
    gemma4 = types.ModuleType("timm.models.gemma4_vit")
    gemma4.Gemma4RotaryEmbedding2D = g4.Gemma4RotaryEmbedding2D
    monkeypatch.setitem(sys.modules, "timm.models.gemma4_vit", gemma4)


@pytest.mark.parametrize("case", ["attention_timm_rotary", "attention_timm_rotary_4_heads"])
def test_timms_rotary_module_maps_whole_and_its_angle_products_count(timm_installed, case):
    """With timm's class, Gemma4RotaryEmbedding2D maps as its cos and sin tables (axial_rope_table), the first
    counting the angle products inv_freq @ positions that fvcore and FlopCounterMode count: exact."""
    factory, shape = ROTARY[case]
    assert_complete_and_exact(factory, shape)
    assert_round_trip_and_check(factory, shape)
    report = analyse(import_model(seeded(factory), shape).graph)
    cos, sin = [layer for layer in report.layers if layer.type == "axial_rope_table"]
    head_dim, tokens = cos.output_shape[1], cos.output_shape[0]
    assert (cos.attributes["fn"], cos.macs, cos.buffers) == ("cos", 2 * (head_dim // 4) * tokens, head_dim // 4)
    assert (sin.attributes["fn"], sin.macs, sin.buffers) == ("sin", 0, 0)
    assert "constant_op" not in {layer.type for layer in report.layers}  # q·cos and k·sin: broadcast products


@pytest.mark.parametrize("batch", [1, 2])
def test_without_timms_class_the_angle_products_are_what_is_left(batch):
    """A look-alike rotary module (not timm's class): its tables are constants, and the products fvcore and
    FlopCounterMode count in them (2 axes x 4 angles x 12 tokens per image) are missing, exactly."""
    from archcalc.conventions.peers import run_peer

    model = seeded(g4.Gemma4Attention)
    graph = import_model(model, (12, 32)).graph
    assert analyse(graph).complete
    table_macs = batch * 2 * (16 // 4) * 12
    ours = {c: analyse(graph, batch=batch, convention=c).convention.total for c in ("fvcore", "torch")}
    assert run_peer("fvcore", model, (12, 32), batch=batch) - ours["fvcore"] == table_macs
    assert run_peer("torch", model, (12, 32), batch=batch) - ours["torch"] == 2 * table_macs


def test_a_constant_table_that_would_enlarge_the_input_is_a_one_line_error():
    text = "name: t\ninput: [3, 4]\nlayers:\n  - {name: c, type: constant_op, op: mul, shape: [5, 4]}\n"
    with pytest.raises(ArchcalcError, match="constant_op"):
        analyse(load_spec_text(text))


def test_the_patch_embedding_counts_the_dense_one_hot_product():
    """12x16 image, 4x4 patches: 12 tokens of 16 features; the [2, 10, 16] table read by a [2, 12, 10] one-hot."""
    report = analyse(import_model(seeded(g4.Gemma4PatchEmbed), (3, 12, 16)).graph)
    [table] = [layer for layer in report.layers if layer.type == "one_hot_position_embedding"]
    assert table.attributes == {"positions": 10, "axes": 2} and table.params == 2 * 10 * 16
    assert table.macs == 2 * 12 * 10 * 16 and table.flops == 2 * table.macs + 2 * 12 * 16


def test_a_lookup_not_summed_over_its_axes_is_unsupported_saying_why():
    model = g4.OneHotLookupOnly()
    report = analyse(import_model(model, (12, 16)).graph)
    assert not report.complete and report.totals.params == 320
    assert any("one-hot" in gap.reason or "gathered" in gap.reason for gap in report.unsupported), \
        [gap.reason for gap in report.unsupported]
