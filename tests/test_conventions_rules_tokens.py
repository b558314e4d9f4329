"""Every convention rule of the token-sequence layer types against the real tool, as
tests/test_conventions_rules.py does for images: each tiny spec runs through fvcore, ptflops, thop,
torchinfo and FlopCounterMode (on archcalc's torch build, inference under torch.no_grad()), and each tool's
headline total must equal its profile's prediction, at batch 1 and (but ptflops) 2.

Attention is where the tools part ways: nn.MultiheadAttention's native path (self-attention, even heads,
biases) hides everything from fvcore and FlopCounterMode; elsewhere the CPU's flash kernel hides QKᵀ and
A·V; ptflops has its own formula; thop and torchinfo never see inside. The cases cover each path.
"""

from __future__ import annotations

import json

import pytest

from archcalc import analyse, load_spec_text
from archcalc.conventions import count_convention
from archcalc.conventions.peers import PEER_TOOLS
from tests.peer_check import cpu_tools_for, spec_module, tool_totals


def case(case_id: str, input_shape, *layers, dtype: str = "float32"):
    return pytest.param(list(input_shape), list(layers), dtype, id=case_id)


def attention(**attrs) -> dict:
    return {"type": "multi_head_attention", **attrs}


TOKENS = (6, 16)
BOTH = ["input", "input"]

CASES = [
    case("embedding", (6,), {"type": "embedding", "num_embeddings": 10, "embedding_dim": 4}, dtype="int64"),
    case("positional-learned", TOKENS, {"type": "positional_embedding", "max_len": 10}),
    case("positional-sinusoidal", TOKENS, {"type": "positional_embedding", "mode": "sinusoidal"}),
    case("fourier-position", (12, 8), {"type": "fourier_position_encoding", "grid": [3, 4], "hidden_dim": 4,
                                       "dim": 6}),
    case("fourier-position-once-no-bias", (3, 5, 5), {"type": "fourier_position_encoding", "grid": [2, 3],
                                                       "hidden_dim": 2, "dim": 3, "bias": False, "once": True}),
    *(case(f"resized-position-{name}", (12, 8), {"type": "resized_position_embedding", "grid": [4, 3], **attrs})
      for name, attrs in (("bicubic-aa", {"table": [2, 2], "mode": "bicubic", "antialias": True}),
                          ("bilinear", {"table": [3, 5], "mode": "bilinear", "align_corners": True}),
                          ("nearest", {"table": [2, 2], "mode": "nearest"}),
                          ("factorized", {"table": [2, 5], "factorized": True, "mode": "linear"}),
                          ("factorized-as-is", {"table": [4, 3], "factorized": True}),
                          ("factorized-one-axis", {"table": [4, 6], "factorized": True, "mode": "linear"}),
                          ("window", {"table": [2, 2], "mode": "bilinear", "window": [2, 3]}))),
    case("resized-position-prefix", (13, 8), {"type": "resized_position_embedding", "grid": [4, 3], "table": [2, 2],
                                              "mode": "bilinear", "prefix": 1}),
    case("resized-position-channels-last", (4, 3, 8), {"type": "resized_position_embedding", "grid": [4, 3],
                                                       "table": [2, 2], "mode": "bicubic", "window": [2, 1]}),
    case("token-type", TOKENS, {"type": "token_type_embedding"}),
    case("rotary", (2, 6, 8), {"type": "rotary_embedding"}),
    case("class-token", TOKENS, {"type": "class_token"}),
    # attention, path by path
    case("mha-native-path", TOKENS, attention(num_heads=4)),
    case("mha-odd-heads", (6, 15), attention(num_heads=3)),
    case("mha-no-bias", TOKENS, attention(num_heads=4, bias=False)),
    case("mha-causal", TOKENS, attention(num_heads=4, causal=True)),
    case("mha-cross", TOKENS, {"name": "memory", "type": "linear", "out_features": 8},
         attention(num_heads=4, inputs=["input", "memory"])),
    case("mha-cross-same-tensor", TOKENS, attention(num_heads=4, inputs=BOTH)),
    case("mha-gqa", TOKENS, attention(num_heads=4, kv_heads=2)),
    case("mha-rope-causal", TOKENS, attention(num_heads=4, rope=True, causal=True, bias=False)),
    case("mha-t5-bias", TOKENS, attention(num_heads=4, rel_pos_buckets=8, bias=False)),
    case("mha-t5-bias-causal-out-bias", TOKENS, attention(num_heads=2, rel_pos_buckets=4, causal=True, bias=False,
                                                          out_bias=True)),
    case("sdpa", (2, 6, 8), {"type": "scaled_dot_product_attention", "inputs": ["input"] * 3}),
    case("sdpa-mask", (2, 6, 6), {"type": "scaled_dot_product_attention", "inputs": ["input"] * 4}),
    case("sdpa-mask-3d", (6, 6), {"type": "scaled_dot_product_attention", "inputs": ["input"] * 4}),
    case("relative-position-product", (3, 5, 5, 8), {"type": "relative_position_product",
                                                     "equation": "nhwc,hkc->nhwk", "table": [9, 8], "index": [5, 5]}),
    # fvcore rounds numpy's 2·3·7·7·7·9 = 18,522 to "1.852e+04": 9,260, one less than the 9,261 MACs
    case("relative-position-product-rounds", (3, 7, 7, 9), {"type": "relative_position_product",
                                                           "equation": "nhwc,wkc->nhwk", "table": [13, 9],
                                                           "index": [7, 7]}),
    case("slice-scatter", (3, 6, 6), {"name": "block", "type": "slice", "axis": 1, "start": 1},
         {"name": "grid", "type": "slice", "axis": 2, "start": 1},
         {"type": "slice_scatter", "starts": [0, 1, 1], "inputs": ["input", "grid"]}),
    case("relative-position-product-resized", (3, 5, 5, 8), {"type": "relative_position_product",
                                                             "equation": "nhwc,hkc->nhwk", "table": [9, 8],
                                                             "index": [5, 5], "table_rows": 13}),
    case("sdpa-causal", (2, 6, 8), {"type": "scaled_dot_product_attention", "causal": True, "inputs": ["input"] * 3}),
    case("window", (9, 9, 8), {"type": "window_attention", "num_heads": 2, "window": 3}),
    case("window-shifted-padded", (7, 8, 8), {"type": "window_attention", "num_heads": 2, "window": 3, "shift": 1}),
    case("window-3d-fit", (1, 5, 5, 8), {"type": "window_attention", "num_heads": 2, "window": [2, 3, 3],
                                         "shift": [1, 1, 1], "fit": True}),
    case("window-v2", (8, 8, 8), {"type": "window_attention_v2", "num_heads": 2, "window": 4, "cpb_hidden": 16}),
    case("window-v2-shifted-padded", (7, 8, 8), {"type": "window_attention_v2", "num_heads": 2, "window": 3,
                                                 "shift": 1, "cpb_hidden": 16, "qkv_bias": False}),
    case("patch-merge-3d", (2, 5, 4, 8), {"type": "patch_merge"}),
    # tensor algebra, tokens, norms
    case("matmul", (6, 6), {"type": "matmul", "inputs": BOTH}),
    case("matmul-batched", (2, 6, 6), {"type": "matmul", "inputs": BOTH}),
    case("einsum-scores", (2, 6, 6), {"type": "einsum", "equation": "hqd,hkd->hqk", "inputs": BOTH}),
    case("einsum-outer", (6,), {"type": "einsum", "equation": "i,j->ij", "inputs": BOTH}),
    # fvcore rounds numpy's 32,768 to "3.277e+04": 16,385, one more than the 16,384 MACs
    case("einsum-fvcore-rounds", (4, 16, 16), {"type": "einsum", "equation": "hqd,hkd->hqk", "inputs": BOTH}),
    case("einsum-fvcore-special", (6, 5), {"type": "einsum", "equation": "qd,qk->dk", "inputs": BOTH}),
    case("einsum-dot", (2, 6), {"type": "einsum", "equation": "ij,ij->i", "inputs": BOTH}),
    case("permute", (2, 6, 8), {"type": "permute", "dims": [2, 0, 1]}),
    case("transpose", TOKENS, {"type": "transpose"}),
    case("roll", (5, 6, 8), {"type": "roll", "shifts": [-1, -1], "axes": [0, 1]}),
    case("select", TOKENS, {"type": "select"}),
    case("mean", TOKENS, {"type": "mean"}),
    case("rmsnorm", TOKENS, {"type": "rmsnorm"}),
    case("layernorm2d", (4, 5, 5), {"type": "layernorm2d"}),
    case("layer-scale", (4, 5, 5), {"type": "layer_scale"}),
    case("relative-position-bias", (2, 9, 9), {"type": "relative_position_bias", "table": [25, 2], "index": [81],
                                               "axis": 0, "bias": [1, 2, 9, 9]}),
    case("relative-position-attention", (2, 9, 8), {"type": "relative_position_attention", "table": [25, 2],
                                                    "index": [81], "axis": 0, "bias": [1, 2, 9, 9],
                                                    "inputs": ["input"] * 3}),
    case("relative-position-attention-3d-bias", (2, 9, 8), {"type": "relative_position_attention", "table": [2, 9],
                                                            "index": [9, 9], "axis": 1, "bias": [2, 9, 9],
                                                            "inputs": ["input"] * 3}),
    case("layer-scale-tokens", TOKENS, {"type": "layer_scale", "channels_last": True}),
    case("drop-path", (4, 5, 5), {"type": "drop_path", "p": 0.1}),
    case("patch-merge", (5, 5, 4), {"type": "patch_merge"}),
    # MViT: einsum rounding (fvcore), hooked Linear / Conv3d / LayerNorm children, patched torch.matmul
    case("multiscale-v2", (33, 8), {"type": "multiscale_attention", "num_heads": 2, "thw": [2, 4, 4], "out_dim": 16,
                                    "kernel_q": 3, "stride_q": [1, 2, 2], "kernel_kv": 3, "rel_pos": True,
                                    "residual_pool": True}),
    case("multiscale-v2-big-rel-einsums", (1 + 4 * 14 * 14, 8),
         {"type": "multiscale_attention", "num_heads": 1, "thw": [4, 14, 14], "kernel_q": 3, "kernel_kv": 3,
          "stride_kv": [1, 2, 2], "rel_pos": True, "residual_pool": True}),
    case("multiscale-v1", (33, 8), {"type": "multiscale_attention", "num_heads": 1, "thw": [2, 4, 4], "kernel_kv": 3,
                                    "stride_kv": [1, 2, 2]}),
    case("multiscale-resized-table", (17, 8), {"type": "multiscale_attention", "num_heads": 2, "thw": [2, 2, 4],
                                               "kernel_kv": 3, "rel_pos": True, "rel_pos_rows": [3, 7, 7]}),
    case("token-pool", (33, 8), {"type": "token_pool", "thw": [2, 4, 4], "kernel": [1, 3, 3], "stride": [1, 2, 2]}),
    case("grid-positions", (32, 8), {"type": "grid_positions", "thw": [2, 4, 4], "separable": True}),
]


@pytest.mark.parametrize("input_shape, layers, dtype", CASES)
def test_each_tool_counts_as_its_profile_predicts(input_shape, layers, dtype):
    graph = load_spec_text(json.dumps({"name": "case", "input": input_shape, "input_dtype": dtype, "layers": layers}))
    for batch in (1, 2):
        tools = PEER_TOOLS if batch == 1 else tuple(tool for tool in PEER_TOOLS if tool != "ptflops")
        measured = tool_totals(spec_module(graph), tuple(graph.input_shape), tools, batch, dtype,
                               cpu_tools_for(graph))  # fmt: skip
        report = analyse(graph, batch=batch)
        for tool in tools:
            predicted = count_convention(graph, report, tool)
            assert measured[tool] == predicted.total, (tool, batch, predicted.items)
