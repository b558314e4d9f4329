"""torchvision's MViT (mvit_v1_b, mvit_v2_s) imports complete and exact: the copy in tests/models/mvit.py,
installed as `torchvision.models.video.mvit`, maps to multiscale_attention, token_pool and grid_positions
(rules keyed on torchvision's classes), with torch's parameter count, each peer tool's own total, a spec
that exports and loads back to the same totals, and a `check` that agrees layer by layer."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
import torch
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.conventions import count_convention
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec
from tests.hostile_support import error_line, report, write
from tests.models import mvit

MODELS = [mvit.mvit_v2_tiny, mvit.mvit_v1_tiny]


@pytest.fixture
def torchvision_mvit(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision.models.video.mvit", mvit)


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_mvit_imports_complete_with_torchs_parameters(torchvision_mvit, factory):
    report = analyse(import_model(factory, mvit.INPUT).graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    kinds = Counter(layer.type for layer in report.layers)
    assert kinds["multiscale_attention"] == 3 and kinds["grid_positions"] == 1 and kinds["token_pool"] == 1
    assert report.totals.params == sum(p.numel() for p in factory().parameters())


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_every_convention_equals_its_tool_on_the_model(torchvision_mvit, factory):
    graph = import_model(factory, mvit.INPUT).graph
    report = analyse(graph)
    with torch.device("meta"):
        on_meta = factory().eval()
    seen = {tool: run_peer(tool, factory().eval(), mvit.INPUT, 1, device="cpu") for tool in ("fvcore", "ptflops")}
    seen |= {tool: run_peer(tool, on_meta, mvit.INPUT, 1, device="meta") for tool in ("torch", "thop", "torchinfo")}
    assert {tool: count_convention(graph, report, tool).total for tool in seen} == seen


@pytest.mark.parametrize("factory", MODELS, ids=lambda f: f.__name__)
def test_exported_spec_loads_back_and_checks(torchvision_mvit, factory):
    graph = import_model(factory, mvit.INPUT).graph
    loaded = load_spec_text(export_spec(graph))
    assert analyse(loaded).totals == analyse(graph).totals
    result = check(loaded, CheckOptions(rf_budget=0))
    assert result.agrees, [layer.name for layer in result.differing]


def test_without_torchvision_the_copy_is_traced_through_and_says_so():
    """Not installed under torchvision's name, the blocks are the user's own code: traced, and what has no
    rule is listed, never counted as zero."""
    report = analyse(import_model(mvit.mvit_v2_tiny, mvit.INPUT).graph)
    assert not report.complete
    assert "multiscale_attention" not in {layer.type for layer in report.layers}


class Interpolated(nn.Module):
    """Tables sized for an 8x8 grid, run on a 4x4 one: torchvision interpolates them."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = mvit.MultiscaleAttention([2, 8, 8], 8, 8, 2, [], [3, 3, 3], [], [1, 1, 1], True, False, True)

    def forward(self, x):
        return self.attn(x, (2, 4, 4))[0]


def test_tables_torchvision_interpolates_are_counted_as_they_are(torchvision_mvit):
    """Tables sized for another grid (a non-square input gives one) keep their rows; resizing them does not
    depend on the batch and is not counted per sample."""
    graph = import_model(Interpolated, (33, 8)).graph
    report = analyse(graph)
    assert report.complete and list(report.layers[-1].attributes["rel_pos_rows"]) == [3, 15, 15]
    assert report.totals.params == sum(p.numel() for p in Interpolated().parameters())
    with torch.device("meta"):
        on_meta = Interpolated().eval()
    seen = {tool: run_peer(tool, Interpolated().eval(), (33, 8), 1, device="cpu") for tool in ("fvcore", "ptflops")}
    seen |= {tool: run_peer(tool, on_meta, (33, 8), 1, device="meta") for tool in ("torch", "thop", "torchinfo")}
    assert {tool: count_convention(graph, report, tool).total for tool in seen} == seen
    loaded = load_spec_text(export_spec(graph))
    assert analyse(loaded).totals == report.totals
    assert check(loaded, CheckOptions(rf_budget=0)).agrees


@pytest.mark.parametrize("layer, fragments", [
    ({"type": "multiscale_attention", "num_heads": 2, "thw": [2, 4, 4]}, ("layer 0", "not a class token and the 2x4x4 grid (33)")),
    ({"type": "multiscale_attention", "num_heads": 3, "thw": [1, 1, 31]}, ("8 features do not split into 3 heads",)),
    ({"type": "multiscale_attention", "num_heads": 1, "thw": [1, 1, 31], "kernel_q": 0}, ("kernel_q",)),
    ({"type": "token_pool", "thw": [2, 4, 4], "kernel": 3}, ("not a class token and the 2x4x4 grid",)),
    ({"type": "grid_positions", "thw": [2, 4, 3]}, ("32 tokens are not the 2x4x3 grid (24)",)),
    ({"type": "grid_positions", "thw": [2, 4]}, ("thw",)),
])  # fmt: skip
def test_a_grid_that_does_not_fit_the_tokens_is_one_line_and_exit_2(tmp_path, layer, fragments):
    import json

    spec = write(tmp_path, "spec.json", json.dumps({"input": [32, 8], "layers": [layer]}))
    error_line(report(spec), *fragments)


class MeanHead(nn.Module):
    """S3D's head (torchvision/models/video/s3d.py): a 1x1 Conv3d classifier, then torch.mean over (T, H, W);
    `spatial` 2: the same on images, torch.mean over (H, W)."""

    def __init__(self, spatial: int = 3) -> None:
        super().__init__()
        conv = nn.Conv3d if spatial == 3 else nn.Conv2d
        self.features, self.classifier, self.dims = conv(3, 8, 3), conv(8, 5, 1), tuple(range(2, 2 + spatial))

    def forward(self, x):
        return torch.mean(self.classifier(self.features(x)), dim=self.dims)


@pytest.mark.parametrize("spatial, input_shape", [(3, (3, 4, 6, 6)), (2, (3, 6, 6))])
def test_torch_mean_over_the_grid_is_x_mean_and_exports(spatial, input_shape):
    """torch.mean(x, dims) is the method form x.mean(dims): what fvcore sees (aten::mean, no handle) and what
    export-spec can write back (F.adaptive_avg_pool2d would keep the axes)."""
    graph = import_model(lambda: MeanHead(spatial), input_shape).graph
    (pool,) = [node for node in graph.nodes if node.type == "global_avg_pool"]
    assert pool.call == "method"
    report = analyse(graph)
    assert analyse(load_spec_text(export_spec(graph))).totals == report.totals
    assert count_convention(graph, report, "fvcore").total == run_peer("fvcore", MeanHead(spatial).eval(), input_shape)
