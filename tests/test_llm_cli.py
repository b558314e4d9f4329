"""`archcalc report` on a decoder: the LLM section in every format (goldens), none for other graphs, the JSON
contract of `llm`, and `--train --tokens` with its errors (one line, exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.cli import app
from archcalc.render import render
from tests.cli_errors import assert_one_line_error
from tests.conftest import check_golden

runner = CliRunner()
TINY = ["--set", "seq_len=12", "--set", "num_layers=2", "--set", "hidden_size=64", "--set", "intermediate_size=96",
        "--set", "vocab_size=50", "--set", "num_heads=4", "--set", "kv_heads=2"]  # fmt: skip
LLM_KEYS = ["context", "batch", "dtype", "attention_layers", "attention_width", "heads", "params", "prefill", "decode",
            "kv_cache", "forward", "training"]  # fmt: skip


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "html"])
def test_llama2_7b_report_has_the_llm_section(fmt):
    out = invoke("report", "llama2_7b", "--format", fmt, "--dtype", "float16", "--depth", "1", "--width", "400")
    if fmt == "json":
        llm = json.loads(out)["llm"]
        assert llm["kv_cache"]["bytes_per_token"] == 524_288 and llm["kv_cache"]["bytes"] == 2_147_483_648
        return
    assert "LLM arithmetic: decoder of 32 causal self-attention layers" in out
    assert "524,288 B" in out and "2,147,483,648 B" in out and "Kaplan 6N + 6·n_layer·n_ctx·d_attn" in out


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "html"])
def test_other_specs_print_no_llm_section(fmt):
    out = invoke("report", "bert_base", "--format", fmt, "--depth", "1", "--set", "num_layers=1")
    assert "LLM arithmetic" not in out and '"llm"' not in out and "KV cache" not in out


def test_json_contract_of_the_llm_section():
    data = json.loads(invoke("report", "llama3_8b", "--format", "json", "--dtype", "bf16", "--batch", "2",
                             "--train", "--tokens", "15T"))  # fmt: skip
    llm = data["llm"]
    assert list(llm) == LLM_KEYS
    assert set(llm["params"]) == {"total", "embedding", "lm_head", "lm_head_params", "non_embedding",
                                  "non_embedding_with_lm_head"}  # fmt: skip
    assert llm["params"]["total"] == data["totals"]["params"] == 8_030_261_248
    assert llm["prefill"]["flops"] == data["totals"]["flops"]
    assert llm["prefill"]["quadratic_flops"] + llm["prefill"]["linear_flops"] == llm["prefill"]["flops"]
    assert llm["kv_cache"] == {"elements_per_token": 2 * 32 * 8 * 128, "bytes_per_token": 131_072,
                               "bytes": 131_072 * 8192 * 2, "tokens": 8192, "batch": 2}  # fmt: skip
    assert llm["decode"]["flops_per_step"] == 2 * llm["decode"]["flops_per_token"]
    training = llm["training"]
    assert training["tokens"] == 15 * 10**12 and training["flops"] == training["flops_per_token"] * 15 * 10**12
    assert training["six_nd"] == 6 * llm["params"]["non_embedding"] * 15 * 10**12
    for rules in (llm["forward"]["rules"], training["rules"]):
        assert [set(rule) for rule in rules] == [{"name", "formula", "per_token", "exact_per_token", "off_percent"}] * 3
        assert all(type(rule["per_token"]) is int and type(rule["exact_per_token"]) is int for rule in rules)
    for key in ("macs_per_token", "flops_per_token", "attention_flops_per_token"):
        assert type(llm["decode"][key]) is int


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "html"])
def test_goldens(fmt, update_goldens):
    overrides = {k: int(v) for k, v in (item.split("=") for item in TINY[1::2])}
    from archcalc.analysis import TrainingPlan

    report = analyse(load_spec("llama2_7b", overrides), dtype="float16", training=TrainingPlan(tokens=10**9))
    suffix = {"table": "txt", "markdown": "md"}.get(fmt, fmt)
    check_golden(f"llm_tiny_llama.{suffix}", render(report, fmt, depth=1, width=160), update_goldens)


@pytest.mark.parametrize("args, message", [
    (["llama2_7b", "--train", "--tokens", "2X"], "--tokens takes a whole, positive number of tokens"),
    (["llama2_7b", "--train", "--tokens", "0"], "--tokens takes a whole, positive number of tokens"),
    (["llama2_7b", "--train", "--tokens", "1e30"], "--tokens must be below 2**63"),
    (["llama2_7b", "--tokens", "2T"], "--tokens applies to training cost; add --train"),
    (["resnet18", "--train", "--tokens", "2T"], "this graph is not a decoder"),
    (["llama2_7b", "--train", "--tokens", "2T", "--dataset-size", "10"], "not both"),
])  # fmt: skip
def test_bad_token_counts_exit_2_with_one_line(args, message):
    assert_one_line_error(runner.invoke(app, ["report", *args]), message)
