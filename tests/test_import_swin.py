"""torchvision's Swin V2 and Video Swin (Swin3D) import complete and exact, without torchvision: the copies of
torchvision's code in tests/models/swin_v2.py and swin3d.py, installed under torchvision's dotted names,
map to window_attention_v2, window_attention (3-D, `fit`) and patch_merge; parameters and buffers equal
torch's, `--convention fvcore` and `--convention torch` equal fvcore's and FlopCounterMode's totals, the
exported spec loads back to the same totals, and `check` passes on it (at batch 2: the V2 bias MLP runs
once per call, whatever the batch)."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions import count_convention
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import swin3d, swin_v2


@pytest.fixture
def torchvision(monkeypatch):
    """The copies stand in for torchvision's own classes and functions."""
    names = {"torchvision.models.swin_transformer": (swin_v2, ("ShiftedWindowAttention", "ShiftedWindowAttentionV2",
                                                              "_patch_merging_pad")),
             "torchvision.models.video.swin_transformer": (swin3d, ("ShiftedWindowAttention3d",))}  # fmt: skip
    for dotted, (source, members) in names.items():
        module = types.ModuleType(dotted)
        for name in members:
            setattr(module, name, getattr(source, name))
        monkeypatch.setitem(sys.modules, dotted, module)


MODELS = {
    # 16 px, patch 2: an 8x8 map in 4x4 windows (shifted by 2), merged to 4x4 (one window: the shift dropped)
    "swin_v2": (lambda: swin_v2.SwinV2(), (3, 16, 16)),
    # a 10x10 map in 4x4 windows: padded to 12x12, the merge of an odd 5x5 map padded to 6x6
    "swin_v2_padded": (lambda: swin_v2.SwinV2(window=4), (3, 20, 20)),
    # 4 frames x 12 x 12, patch 2: a 2x6x6 map in 2x3x3 windows; after the merge 2x3x3 (the window covers it)
    "swin3d": (lambda: swin3d.Swin3d(), (3, 4, 12, 12)),
    # a 1x5x5 map in 2x3x3 windows: the time window shrinks to the 1 frame (fit), H and W padded to 6
    "swin3d_fit": (lambda: swin3d.Swin3d(window=(2, 3, 3), patch=(4, 2, 2)), (3, 4, 10, 10)),
}
TYPES = {"swin_v2": "window_attention_v2", "swin_v2_padded": "window_attention_v2", "swin3d": "window_attention",
         "swin3d_fit": "window_attention"}  # fmt: skip


def imported(name: str):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    return model, shape, import_model(model, shape)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_imports_complete_with_torchs_parameters_and_buffers(torchvision, name):
    model, _, result = imported(name)
    report = analyse(result.graph)
    assert report.complete, [gap.op for gap in report.unsupported]
    types_seen = {layer.type for layer in report.layers}
    assert {TYPES[name], "patch_merge"} <= types_seen
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conventions_equal_fvcore_and_flop_counter_mode(torchvision, name):
    model, shape, result = imported(name)
    report = analyse(result.graph)
    assert count_convention(result.graph, report, "fvcore").total == run_peer("fvcore", model, shape)
    assert count_convention(result.graph, report, "torch").total == run_peer("torch", model, shape)


@pytest.mark.parametrize("name", ["swin_v2", "swin3d_fit"])
def test_exported_spec_loads_back_and_checks(torchvision, name):
    _, _, result = imported(name)
    spec = load_spec_text(export_spec(result.graph))
    assert analyse(spec).totals == analyse(result.graph).totals
    outcome = check(spec, CheckOptions(batch=2, fvcore=True, rf_budget=0))
    assert outcome.agrees, [(layer.name, [str(v) for v in layer.verdicts]) for layer in outcome.differing]


def test_the_v2_bias_mlp_runs_once_per_call(torchvision):
    """At batch 4 the MLP's MACs are counted once, as FlopCounterMode and fvcore count them."""
    model, shape, result = imported("swin_v2")
    report = analyse(result.graph, batch=4)
    assert count_convention(result.graph, report, "torch").total == run_peer("torch", model, shape, batch=4)
    one = analyse(result.graph).totals.macs
    assert one < report.totals.macs < 4 * one


def test_without_torchvision_the_copies_are_traced_through_and_incomplete():
    """Not under torchvision's names, the attention is the user's own code: traced into, said, never zero."""
    _, _, result = imported("swin_v2")
    report = analyse(result.graph)
    assert not report.complete
    assert "window_attention_v2" not in {layer.type for layer in report.layers}


BAD = [
    ("[3, 9, 7, 8]", "{type: window_attention_v2, num_heads: 2, window: [3, 3]}",
     "window [3, 3] has 2 sizes, but the input has 3 spatial axes"),
    ("[3, 9, 7, 8]", "{type: window_attention, num_heads: 2, window: [2, 3, 3], shift: [1, 3, 1], fit: true}",
     "shift [1, 3, 1] must be below the window [2, 3, 3]"),
    ("[9, 7, 8]", "{type: window_attention_v2, num_heads: 3, window: 3}", "8 channels do not split into 3 heads"),
    ("[9, 7, 8]", "{type: window_attention_v2, num_heads: 2, cpb_hidden: 0}", "'cpb_hidden' must be positive"),
    ("[8]", "{type: window_attention, num_heads: 2}", "needs a channels-last map [*S, C]"),
    ("[4, 8]", "{type: patch_merge}", "needs a channels-last map [*, H, W, C]"),
]


@pytest.mark.parametrize("shape, layer, message", BAD, ids=[message for _, _, message in BAD])
def test_bad_window_layers_are_one_line_errors(tmp_path, shape, layer, message):
    from typer.testing import CliRunner

    from archcalc.cli import app
    from tests.cli_errors import assert_one_line_error

    spec = tmp_path / "bad.yaml"
    spec.write_text(f"input: {shape}\nlayers:\n  - {{name: attn, {layer[1:]}\n")
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert_one_line_error(result, "bad.yaml:3: layer attn: ")
    assert message in result.stderr
