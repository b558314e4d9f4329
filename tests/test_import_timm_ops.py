"""timm's everyday tensor operations import complete and exact (issue 17), without timm: the stand-ins of
tests/models/timm_ops.py (timm's own lines). Each: complete, params and buffers equal to torch's; fvcore's,
FlopCounterMode's and thop's totals on the model itself equal to archcalc's conventions on its import; and an
export-spec round trip that `check` passes.

ptflops and torchinfo are compared on archcalc's own build of each new type (tests/test_conventions_rules*.py),
not on these models: what they count depends on spelling the import does not keep. ptflops hooks exact
classes (timm's GroupNorm1, a subclass of nn.GroupNorm calling F.group_norm, counts 0; archcalc's build is an
nn.GroupNorm) and patches F.softmax and Tensor.matmul but not torch.softmax or `@`; torchinfo counts only
parameters named weight or bias of leaf modules (StarReLU's `scale`, resmlp's `alpha` and `beta` count 0)."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from archcalc import analyse
from archcalc.conventions import count_convention
from archcalc.importer import import_model
from tests.models import timm_ops
from tests.model_cases import assert_graph_round_trips_and_checks, imported, real
from tests.peer_check import tool_totals

NAMES = sorted(timm_ops.MODELS)
LAYERS = {
    "fastvit_repmixer": {"sub", "layer_scale", "add"},
    "poolformerv2_block": {"groupnorm", "sub", "parameter_op", "layer_scale"},
    "caformer_stem": {"layernorm2d", "sub", "parameter_op"},
    "hgnet_affine": {"parameter_op"},
    "efficientvit_lite_mla": {"div"},
    "eca": {"expand_as", "mul"},
    "mobilevitv2_attention": {"sum", "expand_as"},
    "selective_kernel": {"stack", "sum"},
    "split_attention": {"sum"},
    "mambaout_head": {"mean"},
    "resmlp_affine": {"affine"},
    "hiera_pool": {"reshape", "amax"},
    "cait_class_residual": {"class_token", "parameter_op"},
    "evonorm_s0": {"var", "expand", "div", "layer_scale", "parameter_op"},
    "parallel_vit_block": {"add"},
    "crossvit_heads": {"add", "scalar"},
    "crossvit_scales": {"upsample"},
}


@pytest.fixture(autouse=True)
def timm_installed(monkeypatch):
    """timm.layers.norm.LayerNorm2d is the stand-in (the layernorm2d rule is keyed on timm's class, by name)."""
    module = types.ModuleType("timm.layers.norm")
    module.LayerNorm2d = timm_ops.LayerNorm2d
    monkeypatch.setitem(sys.modules, "timm.layers.norm", module)


def _imported(name: str):
    return imported(timm_ops.MODELS, name)


def _real(name: str):
    return real(timm_ops.MODELS, name)


@pytest.mark.parametrize("name", NAMES)
def test_imports_complete_with_torchs_params(name):
    graph = _imported(name)
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = _real(name)("cpu")
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    assert LAYERS[name] <= {layer.type for layer in report.layers}


@pytest.mark.parametrize("name", NAMES)
def test_conventions_equal_the_tools_on_the_model(name):
    graph = _imported(name)
    report = analyse(graph)
    measured = tool_totals(_real(name), timm_ops.MODELS[name][1], ("fvcore", "torch", "thop"))
    assert measured == {tool: count_convention(graph, report, tool).total for tool in measured}


@pytest.mark.parametrize("name", NAMES)
def test_export_spec_round_trip_and_check(name):
    assert_graph_round_trips_and_checks(_imported(name), name)


def test_frozen_scale_is_counted_frozen():
    """StarReLU's scale with requires_grad=False (poolformerv2): a frozen parameter, not unsupported."""
    report = analyse(_imported("poolformerv2_block"))
    assert report.complete and report.totals.non_trainable_params == 1


def test_shapes_that_do_not_fit_stay_unsupported():
    class Enlarging(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = torch.nn.Parameter(torch.ones(4, 6, 6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x * self.table, torch.stack([x, x], dim=0), x.sum(1, dtype=torch.float64),
                    torch.addcmul(x, x, x, value=2))

    report = analyse(import_model(Enlarging, (1, 6, 6)).graph)
    reasons = {gap.op: gap.reason for gap in report.unsupported}
    assert reasons["operator.mul"] == "a parameter of shape [4, 6, 6] does not broadcast into [1, 6, 6]"
    assert reasons["torch.stack"] == "works across the batch axis"
    assert reasons["torch.Tensor.sum"] == "converts the dtype"
    assert reasons["torch.addcmul"] == "no rule accepts this configuration"  # no parameter operands


def test_a_stack_in_front_of_the_batch_is_an_add_of_its_branches():
    """torch.stack(branches).sum(0): one add of the branches; torch.mean(..., dim=0): that add, then / n."""
    report = analyse(_imported("parallel_vit_block"))
    adds = [layer for layer in report.layers if layer.type == "add"]
    assert [len(layer.inputs) for layer in adds] == [2, 2, 2, 2]  # stack-sum, residual, stack-sum, residual
    heads = analyse(_imported("crossvit_heads")).layers
    assert [layer.type for layer in heads[-2:]] == ["add", "scalar"] and len(heads[-2].inputs) == 3
    assert heads[-2].flops == 2 * 5 and heads[-1].flops == 5  # two adds, then one division, per class score


def test_any_other_reader_of_such_a_stack_leaves_it_unsupported():
    class Reads(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([x.relu(), x.sigmoid()]).amax(dim=0)

    gaps = analyse(import_model(Reads, (4, 5)).graph).unsupported
    assert (gaps[0].op, gaps[0].reason) == ("torch.stack", "works across the batch axis")
