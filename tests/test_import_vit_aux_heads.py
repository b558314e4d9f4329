"""torchvision's classification forms that issue 17 names: ViT's class token (a parameter expanded to the batch
and joined in front with torch.cat) and position table (`x + self.pos_embedding`), and GoogLeNet's auxiliary
heads, which the eval-mode forward never runs. Both import complete, with parameters equal to sum(p.numel())
and `--convention fvcore` / `--convention torch` equal to fvcore and FlopCounterMode on the same module; the
exported spec loads back to the same totals, and `check` passes on it."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.cli import app
from archcalc.conventions import count_convention
from archcalc.conventions.peers import run_peer
from archcalc.importer import import_model
from archcalc.render.json_out import render_json
from archcalc.render.table import render_table
from archcalc.spec.export import export_spec, graph_difference
from tests.cli_errors import assert_one_line_error
from tests.models.aux_heads import AuxHeadNet
from tests.models.vision_transformer import VisionTransformer

VIT_INPUT, AUX_INPUT = (3, 32, 32), (3, 16, 16)
runner = CliRunner()


def built(factory) -> nn.Module:
    torch.manual_seed(0)
    return factory().eval()


def peer_totals(factory, shape) -> dict[str, int]:
    """fvcore and FlopCounterMode on the CPU module in eval mode under no_grad, as people run them (there
    nn.MultiheadAttention takes its native path, which neither counts)."""
    return {tool: run_peer(tool, built(factory), shape) for tool in ("fvcore", "torch")}


@pytest.mark.parametrize("factory, shape", [(VisionTransformer, VIT_INPUT), (AuxHeadNet, AUX_INPUT)],
                         ids=["vit", "aux-heads"])
def test_imports_complete_with_torchs_params_and_the_peers_totals(factory, shape):
    graph = import_model(factory, shape).graph
    report = analyse(graph)
    model = built(factory)
    assert report.complete, report.unsupported
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    ours = {tool: count_convention(graph, report, tool).total for tool in ("fvcore", "torch")}
    assert ours == peer_totals(factory, shape)


def test_vit_class_token_and_position_table_map_to_their_layer_types():
    report = analyse(import_model(VisionTransformer, VIT_INPUT).graph)
    types = [layer.type for layer in report.layers]
    assert types[:5] == ["conv2d", "reshape", "permute", "class_token", "positional_embedding"]
    assert report.layer("cat").params == 32 and report.layer("cat").output_shape == [17, 32]
    assert report.layer("encoder.add").params == 17 * 32
    assert "select" in types and "multi_head_attention" in types


class TokenBehind(nn.Module):
    """The learned token after the patches: not a class token in front, so not mapped as one."""

    def __init__(self) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x):
        return torch.cat([x, self.token.expand(x.shape[0], -1, -1)], dim=1)


def test_a_token_joined_behind_is_listed_not_guessed_and_its_parameter_stays_counted():
    report = analyse(import_model(TokenBehind, (4, 8)).graph)
    [gap] = report.unsupported
    assert gap.op == "torch.cat" and "not all in front" in gap.reason
    assert report.totals.params == 8


def test_aux_heads_are_counted_in_params_and_listed_with_no_macs():
    graph = import_model(AuxHeadNet, AUX_INPUT).graph
    report = analyse(graph)
    without = analyse(import_model(lambda: AuxHeadNet(aux_logits=False), AUX_INPUT).graph)
    heads = {name: built(AuxHeadNet).get_submodule(name) for name in ("aux1", "aux2")}
    assert [(u.name, u.params, u.buffers) for u in report.unused] == [
        (name, sum(p.numel() for p in head.parameters()), sum(b.numel() for b in head.buffers()))
        for name, head in heads.items()]  # fmt: skip
    assert report.totals.params == without.totals.params + sum(u.params for u in report.unused)
    assert report.totals.trainable_params == report.totals.params
    assert (report.totals.macs, report.layers) == (without.totals.macs, without.layers)  # rows: what runs
    assert sum(layer.params for layer in report.layers) + sum(u.params for u in report.unused) == report.totals.params
    text = render_table(report, width=400)
    assert "UNUSED: 9,268 parameters and 34 buffer elements are not used by the forward" in text
    assert "aux1 4,602 (+17 buffers)" in text
    assert json.loads(render_json(report))["unused"][0] == {"name": "aux1", "params": 4602, "frozen": 0,
                                                             "buffers": 17}  # fmt: skip


@pytest.mark.parametrize("factory, shape", [(VisionTransformer, VIT_INPUT), (AuxHeadNet, AUX_INPUT)],
                         ids=["vit", "aux-heads"])
def test_export_spec_round_trips_and_check_passes(factory, shape):
    result = import_model(factory, shape)
    text = export_spec(result.graph, result.labels)
    loaded = load_spec_text(text)
    assert graph_difference(result.graph, loaded) is None
    assert analyse(loaded).totals == analyse(result.graph).totals
    assert ("unused:" in text) == (factory is AuxHeadNet)
    assert check(loaded, CheckOptions(fvcore=False, rf_budget=0)).agrees


def test_a_frozen_aux_head_counts_as_non_trainable():
    def frozen():
        model = AuxHeadNet()
        model.aux2.requires_grad_(False)
        return model

    report = analyse(import_model(frozen, AUX_INPUT).graph)
    assert report.unused[1].frozen == report.unused[1].params == 4666
    assert report.totals.non_trainable_params == 4666
    text = export_spec(import_model(frozen, AUX_INPUT).graph)
    assert "{name: aux2, params: 4666, frozen: 4666, buffers: 17}" in text


SPEC = "input: [8]\nlayers:\n  - {type: linear, out_features: 4}\nunused:\n  - %s\n"


@pytest.mark.parametrize("entry, message", [
    ("{name: aux1, params: -3}", "unused[0]: 'params' must be a count (an integer >= 0), got -3"),
    ("{name: aux1, params: 3, frozen: 4}", "unused[0]: 'frozen' (4) is more than its 3 params"),
    ("{name: aux1, parms: 3}", "unused[0]: has no key 'parms' (did you mean 'params'?)"),
    ("{params: 3}", "unused[0]: 'name' must be the module or parameter that holds the weights"),
    ("{name: aux1}", "unused[0]: holds no parameter or buffer element"),
    ("aux1", "unused[0]: must be a mapping with name, params, frozen, buffers"),
])  # fmt: skip
def test_a_bad_unused_entry_is_one_line_naming_the_file_and_line(tmp_path, entry, message):
    path = tmp_path / "model.yaml"
    path.write_text(SPEC % entry)
    result = runner.invoke(app, ["report", str(path)])
    assert_one_line_error(result, message)
    assert "model.yaml:5" in result.stderr


def test_a_spec_with_unused_weights_counts_them():
    report = analyse(load_spec_text(SPEC % "{name: aux, params: 10, frozen: 4, buffers: 3}"))
    assert (report.totals.params, report.totals.trainable_params, report.totals.non_trainable_params,
            report.totals.buffers) == (36 + 10, 36 + 6, 4, 3)  # fmt: skip
    assert report.totals.param_bytes == (46 + 3) * 4


class RelativeBias(nn.Module):
    """torchvision's MaxViT get_relative_positional_bias: a table gathered by an index buffer read through a
    view (which torch.fx leaves out of the trace), added to the scores."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(9, 2))
        self.register_buffer("index", torch.zeros(4, 4, dtype=torch.long))

    def forward(self, x):
        bias = self.table[self.index.view(-1)].view(4, 4, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        return x + bias


def test_an_index_buffer_read_through_a_view_is_used_not_unused():
    result = import_model(RelativeBias, (2, 4, 4))
    report = analyse(result.graph)
    assert report.unused == [] and not any("not used" in note for note in result.notes)
    # the gather is computed from weights alone (no layer); the add that uses it holds the table and its index
    [bias] = report.layers
    assert report.complete and bias.type == "relative_position_bias"
    assert (bias.params, bias.buffers) == (18, 16)


class TwoTokens(nn.Module):
    """DeiT's class and distillation tokens (timm's VisionTransformerDistilled): two parameters in front."""

    def __init__(self) -> None:
        super().__init__()
        self.cls_token, self.dist_token = nn.Parameter(torch.zeros(1, 1, 8)), nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x):
        n = x.shape[0]
        return torch.cat((self.cls_token.expand(n, -1, -1), self.dist_token.expand(n, -1, -1), x), dim=1)


def test_two_tokens_in_front_are_one_class_token_layer_of_count_two():
    report = analyse(import_model(TwoTokens, (4, 8)).graph)
    [layer] = report.layers
    assert report.complete and layer.type == "class_token" and layer.attributes["count"] == 2
    assert layer.params == report.totals.params == 16 and layer.output_shape == [6, 8]
