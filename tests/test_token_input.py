"""Token-id input: `input_dtype: int64` in a spec, checked layer by layer (an embedding needs ids, a computing
layer needs numbers, data movement passes ids on), with a one-line error and exit 2 on a mismatch; `check`
and the peer tools feed torch integer ids."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import archcalc.cli
from archcalc import analyse, load_spec_text
from archcalc.check import CheckOptions, check
from archcalc.errors import ArchcalcError
from tests.cli_errors import assert_one_line_error

EMBED = {"name": "tokens", "type": "embedding", "num_embeddings": 100, "embedding_dim": 8}


def spec(layers: list[dict], dtype: str | None = "int64", shape: list[int] | None = None) -> str:
    doc = {"name": "text", "input": shape or [12], "layers": layers}
    if dtype is not None:
        doc["input_dtype"] = dtype
    return json.dumps(doc)


def test_token_ids_go_through_data_movement_into_an_embedding():
    layers = [{"type": "reshape", "shape": [3, 4]}, {"type": "select", "axis": 0, "index": 1}, EMBED,
              {"type": "multi_head_attention", "num_heads": 2}, {"type": "mean"}]  # fmt: skip
    report = analyse(load_spec_text(spec(layers)))
    assert report.layers[2].output_shape == [4, 8] and report.totals.params == 800 + 4 * 72


@pytest.mark.parametrize("layers, dtype, message", [
    ([EMBED], None, "embedding looks up integer token ids, but the network input holds floating-point values; "
                    "declare `input_dtype: int64` in the spec, or pass --input-dtype int64"),
    ([{"type": "linear", "out_features": 4}], "int64",
     "linear computes on floating-point values, but the network input holds integer token ids"),
    ([{"name": "ids", "type": "identity"}, {"type": "relu", "inputs": "ids"}], "int64", "but 'ids' holds integer"),
    ([EMBED, {"type": "embedding", "num_embeddings": 4, "embedding_dim": 2}], "int64",
     "embedding looks up integer token ids, but 'tokens' holds floating-point values"),
    ([EMBED, {"type": "flatten"}, {"type": "concat", "inputs": ["input", "1"]}], "int64",
     "concat mixes token ids and floating-point values"),
    ([EMBED], "int32", "'input_dtype' must be one of float32, int64 (int64: token ids), got 'int32'"),
])  # fmt: skip
def test_a_mismatch_is_one_clear_error(tmp_path, layers, dtype, message):
    path = tmp_path / "text.json"
    path.write_text(spec(layers, dtype))
    with pytest.raises(ArchcalcError) as caught:
        analyse(load_spec_text(spec(layers, dtype)))
    assert message in str(caught.value)
    result = CliRunner().invoke(archcalc.cli.app, ["report", str(path)])
    assert_one_line_error(result, message)
    assert str(path) in result.stderr


def test_the_error_names_the_layer_and_its_line(tmp_path):
    path = tmp_path / "text.yaml"
    path.write_text("input: [12]\ninput_dtype: int64\nlayers:\n  - {type: embedding, num_embeddings: 9, "
                    "embedding_dim: 4}\n  - {name: head, type: linear, out_features: 2, inputs: input}\n")
    result = CliRunner().invoke(archcalc.cli.app, ["report", str(path)])
    assert_one_line_error(result, f"{path}:5: layer head: linear computes on floating-point values")


def test_check_feeds_torch_token_ids():
    layers = [EMBED, {"type": "positional_embedding"}, {"type": "multi_head_attention", "num_heads": 2,
                                                         "causal": True}, {"type": "linear", "out_features": 100}]
    report = check(load_spec_text(spec(layers)), CheckOptions(fvcore_max_macs=10**9))
    assert report.agrees
    assert any("token ids" in note for note in report.notes)


def test_peers_run_on_token_ids():
    from archcalc.conventions import count_convention
    from archcalc.conventions.peers import measure_all

    graph = load_spec_text(spec([EMBED, {"type": "linear", "out_features": 5}]))
    report = analyse(graph)
    measured = measure_all(graph, report)
    assert measured == {tool: count_convention(graph, report, tool).total for tool in measured}


MODEL = '''
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.head = nn.Linear(16, 100)

    def forward(self, ids):
        x = self.emb(ids)
        return self.head(self.attn(x, x, x, need_weights=False)[0])
'''


def test_input_dtype_option_feeds_a_module_token_ids(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(MODEL)
    runner = CliRunner()
    result = runner.invoke(archcalc.cli.app, ["report", "--module", f"{path}:Tiny", "--input", "12", "--input-dtype",
                                              "int64", "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["complete"] and [layer["type"] for layer in data["layers"]] == ["embedding", "multi_head_attention",
                                                                                  "linear"]  # fmt: skip
    assert data["totals"]["params"] == 1600 + 4 * (16 * 16 + 16) + 1700
    without = runner.invoke(archcalc.cli.app, ["report", "--module", f"{path}:Tiny", "--input", "12"])
    assert_one_line_error(without, "a text model takes token ids: pass --input-dtype int64")


def test_input_dtype_option_overrides_the_spec_and_names_itself(tmp_path):
    path = tmp_path / "text.json"
    path.write_text(spec([EMBED], dtype=None))
    runner = CliRunner()
    assert runner.invoke(archcalc.cli.app, ["report", str(path), "--input-dtype", "int64"]).exit_code == 0
    assert runner.invoke(archcalc.cli.app, ["check", str(path), "--input-dtype", "int64"]).exit_code == 0
    result = runner.invoke(archcalc.cli.app, ["report", "gpt2_small", "--input-dtype", "float32"])
    assert_one_line_error(result, "layer wte: embedding looks up integer token ids")
    assert_one_line_error(runner.invoke(archcalc.cli.app, ["report", "gpt2_small", "--input-dtype", "int8"]),
                          "--input-dtype takes float32 or int64 (int64: token ids), got 'int8'")
