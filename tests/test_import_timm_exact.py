"""The campaign's complete timm models whose convention totals once differed from the real tools (issue 17:
lowformer_b0, cpubone_nano, cpubone_b1_dwnorm, iformer_t, iformer_l under `--convention torch`;
convmixer_768_32 under `--convention fvcore`), reproduced without timm by tests/models/timm_exact.py (timm's
own lines). Each block imports complete with torch's params; fvcore's and FlopCounterMode's totals on the
model itself, at inference on the CPU as users run them, equal archcalc's conventions on its import; and the
exported spec loads back identical and passes `check`."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from archcalc import analyse
from archcalc.conventions import count_convention
from archcalc.importer import import_model
from tests.import_exact import assert_complete_and_exact, assert_round_trip_and_check
from tests.model_cases import imported, real
from tests.models import timm_exact
from tests.peer_check import tool_totals

NAMES = sorted(timm_exact.MODELS)
_imported, _real = partial(imported, timm_exact.MODELS), partial(real, timm_exact.MODELS)


@pytest.mark.parametrize("name", NAMES)
def test_imports_complete_and_conventions_equal_the_tools(name):
    """Complete; params and buffers; fvcore's and FlopCounterMode's totals on the CPU model at batch 1 and 2."""
    assert_complete_and_exact(*timm_exact.MODELS[name])


@pytest.mark.parametrize("name", NAMES)
def test_export_spec_round_trip_and_check(name):
    assert_round_trip_and_check(*timm_exact.MODELS[name])


def test_the_math_path_is_what_torch_counts():
    """The reasons, one by one: FlopCounterMode counts the attention's products (2 per MAC) when torch's CPU
    flash kernel refuses the call: q, k, v with a strided last axis (LowFormer; iFormer) or D_v ≠ D (iFormer)."""
    for name, head_sizes in (("lowformer_conv_attention", (16, 16)), ("iformer_shma", (8, 16))):
        graph = _imported(name)
        report = analyse(graph)
        torch_counts = count_convention(graph, report, "torch").layers
        (index,) = [i for i, node in enumerate(graph.nodes) if node.type == "scaled_dot_product_attention"]
        node, layer = graph.nodes[index], report.layers[index]
        shapes = {layer.name: layer.output_shape for layer in report.layers}
        assert node.attrs["strided"] and (shapes[node.inputs[0]][-1], shapes[node.inputs[2]][-1]) == head_sizes
        assert torch_counts[index] == 2 * layer.macs > 0


def test_a_contiguous_view_keeps_the_flash_kernel():
    """The same attention on contiguous q, k, v of one head size: flash kernel, 0 under FlopCounterMode."""

    class Contiguous(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = x.flatten(2).transpose(-1, -2).contiguous().unsqueeze(1)
            return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    graph = import_model(Contiguous, (8, 4, 4)).graph
    (node,) = [node for node in graph.nodes if node.type == "scaled_dot_product_attention"]
    assert not node.attrs["strided"]
    report = analyse(graph)
    assert count_convention(graph, report, "torch").total == 0
    assert tool_totals(lambda device: Contiguous(), (8, 4, 4), ("torch",), cpu_tools=("torch",)) == {"torch": 0}


def test_same_padding_is_what_fvcore_does_not_see():
    """ConvMixer's depthwise conv with padding="same": archcalc keeps torch's string (the export says `same`), and
    fvcore counts the 1x1 conv and the batch norms but not it; FlopCounterMode counts both convs."""
    graph = _imported("convmixer_block")
    depthwise = next(node for node in graph.nodes if node.type == "conv2d")
    assert depthwise.attrs["padding"] == "same"
    report = analyse(graph)
    by_name = {layer.name: layer for layer in report.layers}
    fvcore = count_convention(graph, report, "fvcore")
    pointwise = next(layer for layer in report.layers if layer.type == "conv2d" and layer.name != depthwise.name)
    norms = sum(2 * 8 * 9 * 9 for layer in report.layers if layer.type == "batchnorm")  # eval, affine: 2 each
    assert fvcore.total == pointwise.macs + norms
    assert count_convention(graph, report, "torch").total == 2 * (by_name[depthwise.name].macs + pointwise.macs)
