"""Weight-normalised convolutions over any axis of the weight (`weight_norm_dim`), and `x[:, None]` as a reshape:
what Hugging Face's wav2vec2 needs (its positional conv keeps one g per kernel tap: weight_norm dim=2). Checked
against torch: params equal `sum(p.numel())`, `--convention fvcore` and `--convention torch` equal fvcore and
FlopCounterMode, an export-spec round trip that `check` passes."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from archcalc import analyse, load_spec_text
from archcalc.check import check
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.spec.export import export_spec


class PositionalConv(nn.Module):
    """transformers' Wav2Vec2PositionalConvEmbedding, reduced: x[:, None] (the feature extractor's first line),
    a grouped Conv1d weight-normalised over `dim`, as the parametrization or the older hook."""

    def __init__(self, dim: int, parametrization: bool = True) -> None:
        super().__init__()
        conv = nn.Conv1d(1, 8, 4, stride=2)
        self.first = conv
        pos = nn.Conv1d(8, 8, 5, padding=2, groups=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            norm = nn.utils.parametrizations.weight_norm if parametrization else nn.utils.weight_norm
            self.pos = norm(pos, name="weight", dim=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x[:, None])
        return x + self.pos(x)


CASES = [(dim, parametrization) for dim in (0, 1, 2) for parametrization in (True, False)]


@pytest.mark.parametrize(("dim", "parametrization"), CASES)
def test_weight_norm_over_any_axis_is_exact(dim, parametrization):
    factory = lambda: PositionalConv(dim, parametrization)  # noqa: E731
    graph = import_model(factory, (64,)).graph
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = factory().eval()
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    conv = next(layer for layer in report.layers if layer.type == "conv1d" and layer.attributes.get("weight_norm"))
    assert conv.params == 8 * 4 * 5 + 8 + (8, 4, 5)[dim]  # weights, bias, one g per index of axis `dim`
    assert [layer.type for layer in report.layers][0] == "reshape"  # x[:, None]
    for convention in ("fvcore", "torch"):
        assert analyse(graph, convention=convention).convention.total == run_peer(convention, model, (64,))
    again = load_spec_text(export_spec(graph))
    assert analyse(again).totals == report.totals
    assert all(v.status != "differ" for v in check(again).totals)


def test_weight_norm_over_the_whole_weight_is_unsupported_saying_why():
    class Whole(nn.Module):
        def __init__(self):
            super().__init__()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.conv = nn.utils.weight_norm(nn.Conv1d(4, 4, 3), dim=None)

        def forward(self, x):
            return self.conv(x)

    report = analyse(import_model(Whole, (4, 16)).graph)
    assert not report.complete
    assert "whole weight" in report.unsupported[0].reason
    assert report.totals.params == sum(p.numel() for p in Whole().parameters())


def test_weight_norm_dim_outside_the_weight_is_a_clear_error():
    from archcalc.errors import ArchcalcError

    spec = "name: bad\ninput: [4, 16]\nlayers:\n  - {type: conv1d, out_channels: 4, kernel: 3, weight_norm: true, weight_norm_dim: 3}\n"
    with pytest.raises(ArchcalcError, match="weight_norm_dim 3"):
        analyse(load_spec_text(spec))


def test_hugging_face_wav2vec2_is_complete_and_exact():
    pytest.importorskip("transformers")
    from tests.models import hugging_face as hf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = import_model(hf.wav2vec2, (400,)).graph
        torch.manual_seed(0)
        model = hf.wav2vec2().eval()
    report = analyse(graph)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    # masked_spec_embed (training only) is counted in the totals and named in a note
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    positional = report.layer("encoder.pos_conv_embed.conv")
    assert positional.attributes["weight_norm_dim"] == 2
    assert positional.params == sum(p.numel() for p in model.encoder.pos_conv_embed.conv.parameters())
    for convention in ("fvcore", "torch"):
        assert analyse(graph, convention=convention).convention.total == run_peer(convention, model, (400,))
    again = load_spec_text(export_spec(graph))
    assert analyse(again).totals == report.totals
