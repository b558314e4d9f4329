"""timm's convolution variants import complete and exact, without timm: the stand-ins of tests/models/timm_convs.py
(timm's own lines) installed under timm's dotted names. Each model: complete, params and buffers equal to torch's,
`--convention fvcore` / `--convention torch` equal to fvcore and FlopCounterMode on the model itself, the layer
types and attributes expected, and an export-spec round trip that `check` passes."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from archcalc import analyse, load_spec_text
from archcalc.check import check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.models import timm_convs as tc

_TIMM = {
    "timm.layers.std_conv": ("StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame"),
    "timm.layers.conv2d_same": ("Conv2dSame",),
    "timm.layers.pool2d_same": ("MaxPool2dSame", "AvgPool2dSame"),
    "timm.layers.blur_pool": ("BlurPool2d",),
    "timm.models.levit": ("LinearNorm",),
}


@pytest.fixture
def timm_installed(monkeypatch):
    for dotted, names in _TIMM.items():
        module = types.ModuleType(dotted)
        for name in names:
            setattr(module, name, getattr(tc, name))
        monkeypatch.setitem(sys.modules, dotted, module)


CASES = {
    "nf_stem": (tc.NfStem, (3, 20, 20)),
    "nasnet_branch": (tc.NasNetBranch, (8, 12, 12)),
    "anti_aliased": (tc.AntiAliased, (3, 13, 13)),
    "pit_embed": (tc.PitEmbed, (3, 12, 12)),
    "levit_mlp": (tc.LevitMlp, (7, 8)),
    "multi_query_attention": (tc.MultiQueryAttention, (16, 5, 5)),
    "additive_attention": (tc.EfficientAdditiveAttention, (8, 3, 4)),
    "levit_subsample": (tc.LevitDownsampleQuery, (25, 8)),
}
# (type, the attributes that matter) of each layer, in order
LAYERS = {
    "nf_stem": [("conv2d", {"standardize": "std", "padding": (2, 3, 2, 3), "stride": (2, 2)}),
                ("max_pool2d", {"padding": (0, 1, 0, 1)}),
                ("conv2d", {"standardize": "scaled", "groups": 2}),
                ("conv2d", {"standardize": "scaled", "padding": (1, 1, 1, 1), "bias": False}),
                ("relu", {}), ("conv2d", {"standardize": "std", "bias": True})],
    "nasnet_branch": [("pad", {"padding": (-1, 1, -1, 1)}), ("avg_pool2d", {}),
                      ("conv2d", {"standardize": "none", "padding": (1, 2, 1, 2), "groups": 8}), ("conv2d", {}),
                      ("add", {}), ("max_pool2d", {"padding": (0, 1, 0, 1)}), ("add", {}),
                      ("avg_pool2d", {"padding": (0, 1, 0, 1), "count_include_pad": True}), ("add", {})],
    "anti_aliased": [("conv2d", {}), ("blur_pool2d", {"kernel": 3, "shared_filter": False}),
                     ("blur_pool2d", {"kernel": 5, "padding_mode": "zeros", "shared_filter": True})],
    "pit_embed": [("conv2d", {}), ("parameter_op", {}), ("dropout", {})],
    "levit_mlp": [("linear_norm", {"out_features": 16, "bias": False}), ("hardswish", {}),
                  ("linear_norm", {"out_features": 8}), ("add", {})],
    "multi_query_attention": [("conv2d", {}), ("reshape", {}), ("transpose", {}), ("identity", {})]
    + [("conv2d", {}), ("reshape", {}), ("transpose", {}), ("reshape", {}), ("identity", {})] * 2
    + [("scaled_dot_product_attention", {"enable_gqa": False}), ("transpose", {}), ("reshape", {}), ("permute", {}),
       ("conv2d", {})],
    "additive_attention": [("flatten", {}), ("permute", {}), ("linear", {}), ("normalize", {"axis": -1}),
                           ("linear", {}), ("normalize", {"axis": -1}), ("linear", {"bias": False, "out_features": 1}),
                           ("scalar", {}), ("normalize", {"axis": 0}), ("mul", {}), ("linear", {}), ("add", {}),
                           ("linear", {}), ("permute", {}), ("reshape", {})],
    "levit_subsample": [("reshape", {}), ("strided_slice", {"axis": 0, "steps": (2, 2)}), ("reshape", {}),
                        ("linear_norm", {"out_features": 12})],
}  # fmt: skip


def _model(factory):
    torch.manual_seed(0)
    return factory().eval()


@pytest.mark.parametrize("case", list(CASES))
def test_timm_conv_variants_import_complete_and_exact(case, timm_installed):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _model(factory)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    assert [layer.type for layer in report.layers] == [kind for kind, _ in LAYERS[case]]
    for layer, (_, expected) in zip(report.layers, LAYERS[case]):
        assert {key: layer.attributes[key] for key in expected} == expected, layer.name
    assert report.layers[-1].output_shape == list(model(torch.zeros(1, *shape)).shape[1:])
    again = load_spec_text(export_spec(graph))
    assert analyse(again).totals == report.totals
    assert check(again).agrees


@pytest.mark.parametrize("case", list(CASES))
def test_timm_conv_variants_conventions_equal_the_tools(case, timm_installed):
    factory, shape = CASES[case]
    graph = import_model(factory, shape).graph
    model = _model(factory)
    for convention in ("fvcore", "torch"):
        ours = analyse(graph, convention=convention).convention.total
        assert ours == run_peer(convention, model, shape), convention


def test_the_weight_standardisation_runs_once_per_batch(timm_installed):
    """fvcore counts F.batch_norm over the weight once per call: a batch of 3 adds it once, not 3 times."""
    graph = import_model(tc.NfStem, (3, 20, 20)).graph
    model = _model(tc.NfStem)
    ours = analyse(graph, batch=3, convention="fvcore").convention.total
    assert ours == run_peer("fvcore", model, (3, 20, 20), batch=3)
