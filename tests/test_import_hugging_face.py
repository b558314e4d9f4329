"""Hugging Face models imported complete: tiny configs (tests/models/hugging_face.py) of BERT, DistilBERT, RoBERTa,
GPT-2, Llama (model and LM), Mistral and Qwen2, fed token ids.

For each: complete (no unsupported operation); parameters equal `sum(p.numel())` and buffers `sum(b.numel())`
(less buffers the forward never reads, which a note says: RoPE's `original_inv_freq`, RoBERTa's `position_ids`); MACs times 2
and `--convention torch` equal FlopCounterMode on the CPU model (SDPA's math path) and `--convention fvcore`
equals fvcore; export-spec loads back to the same graph. A `--module` Llama's LLM section equals the one of the
llama2_7b spec at the same sizes. Constants made from the input's shape (position ids, masks, cos/sin) make
no layer (archcalc/importer/constants.py): hand-written modules check the rules without transformers' code.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from typer.testing import CliRunner

from archcalc import analyse, load_spec_text
from archcalc.cli import app
from archcalc.importer import TRACE_BATCH, import_model
from archcalc.spec.export import export_spec, graph_difference

pytest.importorskip("transformers")  # a dev dependency: always there in CI
from tests.models import hugging_face as hf  # noqa: E402

TOKENS = 12
MODELS = ("bert", "distilbert", "gpt2", "llama", "llama_model", "mistral", "qwen2", "roberta")
ROPE = {"llama", "llama_model", "mistral", "qwen2"}
# The layer types each family must import as (the attention of decoders is one multi_head_attention)
TYPES = {"bert": {"embedding", "token_type_embedding", "positional_embedding", "scaled_dot_product_attention"},
         "distilbert": {"embedding", "positional_embedding", "scaled_dot_product_attention"},
         "gpt2": {"embedding", "positional_embedding", "multi_head_attention"},
         "roberta": {"embedding", "token_type_embedding", "positional_embedding", "scaled_dot_product_attention"}}
TYPES |= {name: {"embedding", "rmsnorm", "multi_head_attention", "silu"} for name in ROPE}


def imported(name: str, tokens: int = TOKENS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_model(getattr(hf, name), (tokens,), input_dtype="int64")


def cpu_model(name: str):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(hf, name)().eval()


def flop_counter(model, math: bool = True) -> int:
    """FlopCounterMode's total; `math`: on SDPA's math path, which shows the attention products (the CPU's
    default flash kernel has no flop formula, as `--convention torch` says)."""
    with sdpa_kernel(SDPBackend.MATH if math else SDPBackend.FLASH_ATTENTION):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(TRACE_BATCH, TOKENS, dtype=torch.long))
    return counter.get_total_flops()


@pytest.mark.parametrize("name", MODELS)
def test_hugging_face_model_imports_complete_and_exact(name):
    result = imported(name)
    report = analyse(result.graph, batch=TRACE_BATCH)
    assert report.complete, [(gap.op, gap.reason) for gap in report.unsupported]
    model = cpu_model(name)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    # buffers the forward never reads (the copy kept for dynamic RoPE scaling, and RoBERTa's position_ids: it
    # computes positions from the token ids) are shown as unused and counted, as sum(b.numel()) counts them
    unread = "original_inv_freq" if name in ROPE else "embeddings.position_ids" if name == "roberta" else None
    unused = sum(b.numel() for key, b in model.named_buffers() if unread and key.endswith(unread))
    assert sum(u.buffers for u in report.unused) == unused and bool(unused) == bool(unread)
    assert not unused or any(f"{unused:,} parameter and buffer elements" in note for note in result.notes)
    assert report.totals.buffers == buffers
    assert TYPES[name] <= {layer.type for layer in report.layers}
    assert 2 * report.totals.macs == flop_counter(model)
    by_torch = analyse(result.graph, batch=TRACE_BATCH, convention="torch").convention.total
    assert by_torch == flop_counter(model, math=False)


@pytest.mark.parametrize("name", MODELS)
def test_hugging_face_export_spec_round_trip(name):
    graph = imported(name).graph
    again = load_spec_text(export_spec(graph), name)
    assert graph_difference(graph, again) is None
    assert analyse(again).totals == analyse(graph).totals


@pytest.mark.parametrize("name", MODELS)
def test_fvcore_convention_equals_fvcore(name):
    from fvcore.nn import FlopCountAnalysis

    class Tensors(nn.Module):  # fvcore's jit trace takes tensors only: the output's, not its KV cache object
        def __init__(self) -> None:
            super().__init__()
            self.model = cpu_model(name)

        def forward(self, ids):
            return tuple(value for value in self.model(ids).values() if isinstance(value, torch.Tensor))

    with warnings.catch_warnings(), sdpa_kernel(SDPBackend.MATH):
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(Tensors().eval(), torch.zeros(1, TOKENS, dtype=torch.long))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        fvcore_total = analysis.total()
    assert analyse(imported(name).graph, convention="fvcore").convention.total == fvcore_total


def test_decoder_attention_is_read_from_the_hugging_face_class():
    layers = [layer for layer in analyse(imported("llama").graph).layers if layer.type == "multi_head_attention"]
    graph = imported("llama").graph
    attrs = [node.attrs for node in graph.nodes if node.type == "multi_head_attention"]
    assert len(layers) == 2 and all(a["num_heads"] == 4 and a["kv_heads"] == 2 and a["rope"] and a["causal"]
                                    and not a["bias"] and a["head_dim"] == 16 for a in attrs)  # fmt: skip
    # RoPE's inverse frequencies are an angle table the first attention holds, not a weight
    assert [node.weights.tables for node in graph.nodes if node.type == "multi_head_attention"] == [8, 0]


runner = CliRunner()
TINY = ["--set", "seq_len=12", "--set", "num_layers=2", "--set", "hidden_size=64", "--set", "intermediate_size=96",
        "--set", "vocab_size=50", "--set", "num_heads=4", "--set", "kv_heads=2"]  # fmt: skip


def report_json(*args: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = runner.invoke(app, ["report", *args, "--format", "json", "--train", "--tokens", "1M"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


GPT2_TINY = ["--set", "seq_len=12", "--set", "n_layer=2", "--set", "n_embd=64", "--set", "n_inner=96", "--set",
             "vocab_size=50", "--set", "n_head=4", "--set", "n_positions=64"]  # fmt: skip
EQUIVALENT = {"llama": ("llama2_7b", TINY, 2 * 2 * 2 * 16), "gpt2": ("gpt2_small", GPT2_TINY, 2 * 2 * 4 * 16)}


@pytest.mark.parametrize("name", sorted(EQUIVALENT))
def test_module_decoder_gets_the_llm_section_of_the_equivalent_spec(name):
    """KV cache per token, decoding FLOPs per token, training FLOPs (`--train --tokens`): as the zoo spec's."""
    spec, settings, kv_elements = EQUIVALENT[name]
    expected = report_json(spec, *settings)
    module = report_json("--module", f"tests/models/hugging_face.py:{name}", "--input", "12", "--input-dtype", "int64")
    assert module["complete"] and module["llm"]["decode"]["note"] is None
    assert module["llm"] == expected["llm"]
    assert module["llm"]["kv_cache"]["elements_per_token"] == kv_elements  # 2 layers, K and V, heads of 16


def test_mistral_gets_an_llm_section():
    llm = report_json("--module", "tests/models/hugging_face.py:mistral", "--input", "12", "--input-dtype", "int64")["llm"]
    assert llm["kv_cache"]["elements_per_token"] == 2 * 2 * 2 * 16 and llm["decode"]["note"] is None


def test_mistral_window_shorter_than_the_sequence_is_unsupported():
    report = analyse(imported("mistral", tokens=40).graph)  # sliding_window=32 < 40 tokens
    assert not report.complete
    assert any("sliding window of 32 tokens" in gap.reason for gap in report.unsupported)


# ----- the constants, on hand-written modules --------------------------------------------------------------------
class PositionTables(nn.Module):
    """GPT-2's and BERT's pattern (transformers GPT2Model.forward, BertEmbeddings.forward): position ids from
    torch.arange and a zero token-type buffer expanded to the batch, looked up and added to the tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.wte, self.wpe, self.types = nn.Embedding(30, 8), nn.Embedding(16, 8), nn.Embedding(2, 8)
        self.register_buffer("token_type_ids", torch.zeros(1, 16, dtype=torch.long), persistent=False)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        kinds = self.token_type_ids[:, : ids.shape[1]].expand(ids.shape[0], ids.shape[1])
        return self.wte(ids) + self.wpe(positions).to(ids.device) + self.types(kinds)


class ConstantProduct(nn.Module):
    """A constant that no rule reads (a product by a matrix made in forward; a table multiplied element by element
    is a constant_op): unsupported, saying why."""

    def __init__(self) -> None:
        super().__init__()
        self.wte = nn.Embedding(30, 8)

    def forward(self, ids):
        return self.wte(ids) @ torch.arange(64, device=ids.device, dtype=torch.float32).view(8, 8)


def test_position_and_segment_tables_from_constants():
    result = import_model(PositionTables, (10,), input_dtype="int64")
    report = analyse(result.graph)
    assert report.complete
    assert [layer.type for layer in report.layers] == ["embedding", "positional_embedding", "token_type_embedding"]
    assert report.totals.params == 30 * 8 + 16 * 8 + 2 * 8 and report.totals.buffers == 16
    assert not any("not used" in note for note in result.notes)
    assert load_spec_text(export_spec(result.graph)) is not None


def test_a_constant_no_rule_reads_is_unsupported():
    report = analyse(import_model(ConstantProduct, (10,), input_dtype="int64").graph)
    assert not report.complete
    assert "made inside forward from the input's shape" in report.unsupported[0].reason


# ----- index tables in a spec: `weights: {tables: n}` -------------------------------------------------------------
TABLES_SPEC = ("input: [12, 64]\nlayers:\n  - {name: attn, type: multi_head_attention, num_heads: 4, kv_heads: 2, "
               "bias: false, causal: true, rope: true, weights: {tables: %s}}\n")  # fmt: skip


def test_index_tables_count_as_buffers_and_check_builds_them():
    from archcalc.check import check

    graph = load_spec_text(TABLES_SPEC % 8)
    assert analyse(graph).totals.buffers == 8
    assert all(v.status != "differ" for v in check(graph).totals)


def test_exported_llama_spec_passes_check():
    from archcalc.check import check

    again = load_spec_text(export_spec(imported("llama").graph))
    assert all(v.status != "differ" for v in check(again).totals)


def test_bad_index_tables_get_one_line(tmp_path):
    from tests.cli_errors import assert_one_line_error

    spec = tmp_path / "net.yaml"
    spec.write_text(TABLES_SPEC % -1)
    assert_one_line_error(runner.invoke(app, ["report", str(spec)]), "weights.tables must be a count")
