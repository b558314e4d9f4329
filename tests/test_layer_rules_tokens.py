"""The token-sequence layer types (embeddings, attention, tensor algebra, token norms) against the torch
modules they describe, as tests/test_layer_rules.py does for images.

Per case: archcalc's output shape, trainable / non-trainable params and buffers equal those of a torch
reference built directly (where torch has the module) and of archcalc's own builder; for the linear-category
types (embedding, attention, matmul, einsum) FlopCounterMode on the meta device gives 2 x the analytic MACs,
which checks the attention's QKᵀ and A·V term by term. Everything runs on the meta device.
"""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.models import mvit
from tests.models.relative_position import BiasedSelfAttention, RelPosBias
from tests.models.timm_relpos2d import RelPosProduct
from tests.test_layer_rules import Case, check_case


class Twice(nn.Module):
    """A two- or three-operand reference fed the one input of a case."""

    def __init__(self, operands: int, call) -> None:
        super().__init__()
        self.operands, self.call = operands, call

    def forward(self, x):
        return self.call(*[x] * self.operands)


class SelfAttention(nn.Module):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(*args, batch_first=True, **kwargs)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


def attention(**attrs) -> dict:
    return {"type": "multi_head_attention", **attrs}


class Grid(nn.Module):
    """torchvision's MViT modules take the token grid beside the tensor and return (tensor, grid)."""

    def __init__(self, module: nn.Module, thw: tuple[int, int, int]) -> None:
        super().__init__()
        self.module, self.thw = module, thw

    def forward(self, x):
        return self.module(x, self.thw)[0]


def mvit_attention(embed, out, heads, kernel_q, stride_q, kernel_kv, stride_kv, residual_pool, with_cls, rel_pos,
                   grid=(2, 4, 4)):  # fmt: skip
    return mvit.MultiscaleAttention(list(grid), embed, out, heads, kernel_q, kernel_kv, stride_q, stride_kv,
                                    residual_pool, with_cls, rel_pos, norm_layer=partial(nn.LayerNorm, eps=1e-6))


MVIT_V2 = {"type": "multiscale_attention", "num_heads": 2, "thw": [2, 4, 4], "out_dim": 16, "kernel_q": 3,
           "stride_q": [1, 2, 2], "kernel_kv": 3, "rel_pos": True, "residual_pool": True}


CASES = [
    # embeddings
    Case("embedding", {"type": "embedding", "num_embeddings": 10, "embedding_dim": 4, "padding_idx": 0}, (6,),
         lambda: nn.Embedding(10, 4, 0), {"params": 40, "flops": 0, "output_shape": [6, 4]}, "int64"),
    Case("embedding-frozen-2d-ids", {"type": "embedding", "num_embeddings": 7, "embedding_dim": 3, "trainable": False},
         (2, 5), lambda: nn.Embedding(7, 3).requires_grad_(False), {"non_trainable_params": 21}, "int64"),
    Case("positional-learned", {"type": "positional_embedding", "max_len": 10}, (6, 8), None,
         {"params": 80, "flops": 48, "connections": 96}),
    Case("positional-exact-length", {"type": "positional_embedding"}, (2, 6, 8), None, {"params": 48}),
    Case("positional-sinusoidal", {"type": "positional_embedding", "mode": "sinusoidal"}, (6, 8), None,
         {"params": 0, "buffers": 48, "flops": 48}),
    Case("token-type", {"type": "token_type_embedding"}, (6, 8), None, {"params": 16, "flops": 48}),
    # a learned table resized to the 4 x 3 grid once per call (NaFlexViT, Hiera): one add per element + making it
    Case("resized-position-bicubic", {"type": "resized_position_embedding", "grid": [4, 3], "table": [2, 2],
                                      "mode": "bicubic", "antialias": True}, (12, 8), None,
         {"params": 4 * 8, "flops": 96 + 31 * 96, "connections": 192}),
    Case("resized-position-factorized", {"type": "resized_position_embedding", "grid": [4, 3], "table": [2, 5],
                                         "factorized": True, "mode": "linear"}, (12, 8), None,
         {"params": 7 * 8, "flops": 96 + 3 * 8 * (4 + 3) + 96}),
    # the Fourier encoding of a 3 x 4 grid (h = 4: 8 features), projected to 6 channels by a 1x1 conv
    Case("fourier-position", {"type": "fourier_position_encoding", "grid": [3, 4], "hidden_dim": 4, "dim": 6},
         (12, 8), None, {"params": 9 * 6, "macs": 12 * 8 * 6, "output_shape": [6, 3, 4],
                         "flops": 12 * 6 * 16 + 6 * 12 + 16 * 12 + 16, "connections": 12 * 6 * 9}),
    Case("fourier-position-once-no-bias", {"type": "fourier_position_encoding", "grid": [2, 2], "hidden_dim": 2,
                                           "dim": 3, "bias": False, "once": True}, (5, 5), None,
         {"params": 12, "macs": 4 * 4 * 3}),
    Case("resized-position-factorized-one-axis", {"type": "resized_position_embedding", "grid": [4, 3],
                                                  "table": [4, 5], "factorized": True, "mode": "linear"}, (12, 8),
         None, {"params": 9 * 8, "flops": 96 + 3 * 8 * 3 + 96}),
    Case("resized-position-prefix", {"type": "resized_position_embedding", "grid": [4, 3], "table": [2, 2],
                                     "mode": "bicubic", "prefix": 2}, (14, 8), None,
         {"params": 6 * 8, "flops": 14 * 8 + 31 * 96}),
    Case("resized-position-window", {"type": "resized_position_embedding", "grid": [4, 4], "table": [4, 4],
                                     "window": [2, 2]}, (16, 8), None, {"params": 20 * 8, "flops": 2 * 128}),
    Case("rotary", {"type": "rotary_embedding"}, (2, 6, 8), None, {"flops": 3 * 2 * 6 * 8, "params": 0}),
    Case("rotary-partial", {"type": "rotary_embedding", "dims": 4}, (6, 8), None, {"flops": 3 * 6 * 4}),
    Case("class-token", {"type": "class_token"}, (6, 8), None, {"params": 8, "output_shape": [7, 8]}),
    Case("class-and-distillation", {"type": "class_token", "count": 2}, (6, 8), None, {"output_shape": [8, 8]}),
    # attention: QKᵀ and A·V in the MACs, proven by FlopCounterMode on the meta device
    Case("mha-self", attention(num_heads=4), (6, 16), lambda: SelfAttention(16, 4),
         {"params": 4 * (16 * 16 + 16), "macs": 4 * 6 * 16 * 16 + 2 * 4 * 6 * 6 * 4, "activations": 6 * 16 + 4 * 36}),
    Case("mha-self-no-bias", attention(num_heads=2, bias=False), (5, 8), lambda: SelfAttention(8, 2, bias=False)),
    Case("mha-cross", attention(num_heads=2, inputs=["input", "input"]), (5, 8), None, {"params": 4 * 72}),
    Case("mha-causal-gqa-rope", attention(num_heads=4, kv_heads=2, bias=False, causal=True, rope=True), (6, 16),
         None, {"params": 16 * 16 + 2 * 16 * 8 + 16 * 16}),
    Case("mha-mqa-head-dim-flash", attention(num_heads=4, kv_heads=1, head_dim=8, flash=True), (6, 16), None,
         {"params": (16 + 1) * 32 + 2 * (16 + 1) * 8 + (32 + 1) * 16, "activations": 6 * 16}),
    Case("mha-t5-bias", attention(num_heads=2, bias=False, rel_pos_buckets=8), (5, 8), None,
         {"params": 4 * 64 + 8 * 2}),
    Case("sdpa", {"type": "scaled_dot_product_attention", "inputs": ["input"] * 3}, (2, 6, 8),
         lambda: Twice(3, F.scaled_dot_product_attention), {"macs": 2 * 2 * 6 * 6 * 8}),
    # an attn_mask computed from the input (SAM's decomposed relative-position bias): one add per score more
    Case("sdpa-mask", {"type": "scaled_dot_product_attention", "inputs": ["input"] * 4}, (2, 6, 6),
         lambda: Twice(4, lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
         {"macs": 2 * 2 * 6 * 6 * 6, "flops": 2 * 6 * 6 + 2 * 6 * 6 * 11 + 2 * 6 * 6 + 2 * 6 * 17 + 2 * 6 * 6 * 11}),
    Case("sdpa-causal-no-heads", {"type": "scaled_dot_product_attention", "causal": True, "inputs": ["input"] * 3},
         (6, 8), lambda: Twice(3, lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))),
    Case("window", {"type": "window_attention", "num_heads": 2, "window": 3}, (9, 9, 8), None,
         {"buffers": 81, "params": 8 * 24 + 24 + 8 * 8 + 8 + 25 * 2}),
    Case("window-shifted-padded", {"type": "window_attention", "num_heads": 2, "window": 3, "shift": 1},
         (7, 8, 8), None, {"output_shape": [7, 8, 8]}),
    # Swin3D: the time window (2) shrinks to the 1 frame; H and W padded to 6, shifted by 1
    Case("window-3d-fit", {"type": "window_attention", "num_heads": 2, "window": [2, 3, 3], "shift": [1, 1, 1],
                           "fit": True}, (1, 5, 5, 8), None,
         {"params": 8 * 24 + 24 + 8 * 8 + 8 + 3 * 5 * 5 * 2, "buffers": 18 * 18}),
    Case("window-v2", {"type": "window_attention_v2", "num_heads": 2, "window": 4, "cpb_hidden": 16}, (8, 8, 8), None,
         {"params": 8 * 24 + 24 + 8 * 8 + 8 + 2 + 2 * 16 + 16 + 16 * 2, "buffers": 2 * 7 * 7 + 16 * 16}),
    Case("window-v2-shifted-padded", {"type": "window_attention_v2", "num_heads": 2, "window": 3, "shift": 1,
                                      "cpb_hidden": 16, "qkv_bias": False}, (7, 8, 8), None,
         {"output_shape": [7, 8, 8]}),
    # tensor algebra and tokens
    Case("matmul", {"type": "matmul", "inputs": ["input", "input"]}, (6, 6), lambda: Twice(2, torch.matmul),
         {"macs": 216, "flops": 36 * 11}),
    Case("matmul-bmm", {"type": "matmul", "inputs": ["input", "input"]}, (5, 5), lambda: Twice(2, torch.bmm)),
    Case("matmul-4d", {"type": "matmul", "inputs": ["input", "input"]}, (2, 5, 5), lambda: Twice(2, torch.matmul)),
    Case("einsum-scores", {"type": "einsum", "equation": "hqd,hkd->hqk", "inputs": ["input", "input"]}, (2, 6, 4),
         lambda: Twice(2, lambda a, b: torch.einsum("bhqd,bhkd->bhqk", a, b)), {"output_shape": [2, 6, 6]}),
    Case("einsum-dot", {"type": "einsum", "equation": "ij,ij->i", "inputs": ["input", "input"]}, (3, 5),
         lambda: Twice(2, lambda a, b: torch.einsum("bij,bij->bi", a, b)), {"macs": 15, "flops": 27}),
    Case("permute", {"type": "permute", "dims": [2, 0, 1]}, (2, 6, 8), lambda: Twice(1, lambda x: x.permute(0, 3, 1, 2)),
         {"output_shape": [8, 2, 6], "receptive_field": None}),
    Case("transpose", {"type": "transpose", "dim0": -1, "dim1": -2}, (2, 6, 8),
         lambda: Twice(1, lambda x: x.transpose(-1, -2)), {"output_shape": [2, 8, 6]}),
    Case("roll", {"type": "roll", "shifts": [-1, 2], "axes": [0, 1]}, (5, 6, 8),
         lambda: Twice(1, lambda x: torch.roll(x, (-1, 2), (1, 2))), {"output_shape": [5, 6, 8], "flops": 0}),
    Case("select", {"type": "select", "axis": 0, "index": 0}, (6, 8), lambda: Twice(1, lambda x: x[:, 0]),
         {"output_shape": [8]}),
    Case("mean", {"type": "mean"}, (6, 8), lambda: Twice(1, lambda x: x.mean(1)), {"flops": 48}),
    Case("mean-keepdim", {"type": "mean", "axis": -1, "keepdim": True}, (6, 8), None, {"output_shape": [6, 1]}),
    # norms and blocks
    Case("rmsnorm", {"type": "rmsnorm"}, (6, 8), lambda: nn.RMSNorm(8), {"params": 8, "flops": 4 * 48}),
    Case("rmsnorm-two-axes-no-weight", {"type": "rmsnorm", "dims": 2, "affine": False}, (6, 8),
         lambda: nn.RMSNorm([6, 8], elementwise_affine=False), {"flops": 3 * 48}),
    Case("layernorm2d", {"type": "layernorm2d"}, (4, 5, 5), None, {"params": 8, "flops": 7 * 100}),
    Case("layer-scale", {"type": "layer_scale"}, (4, 5, 5), None, {"params": 4, "flops": 100}),
    # timm's RelPosBias (Swin, BEiT, CoAtNet): table [(2w-1)², H] gathered by a flat index; LeViT's [H, offsets]
    Case("relative-position-bias", {"type": "relative_position_bias", "table": [25, 2], "index": [81], "axis": 0,
                                    "bias": [1, 2, 9, 9]}, (2, 9, 9), lambda: RelPosBias((3, 3), 2),
         {"params": 50, "buffers": 81, "flops": 162, "macs": 0}),
    Case("relative-position-bias-levit", {"type": "relative_position_bias", "table": [2, 16], "index": [16, 16],
                                          "axis": 1, "bias": [2, 16, 16]}, (3, 2, 16, 16), None,
         {"params": 32, "buffers": 256, "flops": 3 * 512}),
    Case("relative-position-attention", {"type": "relative_position_attention", "table": [25, 2], "index": [81],
                                         "axis": 0, "bias": [1, 2, 9, 9], "inputs": ["input"] * 3}, (2, 9, 8),
         BiasedSelfAttention, {"params": 50, "buffers": 81, "macs": 2 * 2 * 9 * 9 * 8}),
    # SAM's and MViTv2's decomposed relative positions: queries [heads, h, w, C] times rows [h, k, C] that a computed
    # index gathers from a [2h - 1, C] table (tests/models/timm_relpos2d.py copies timm's get_rel_pos)
    Case("relative-position-product", {"type": "relative_position_product", "equation": "nhwc,hkc->nhwk",
                                       "table": [9, 8], "index": [5, 5]}, (3, 5, 5, 8), RelPosProduct,
         {"output_shape": [3, 5, 5, 5], "params": 72, "buffers": 0, "macs": 3 * 5 * 5 * 5 * 8,
          "flops": 3 * 5 * 5 * 5 * 15}),
    # a 6-row table resized to the 9 rows a 5x5 grid needs (SAM's get_rel_pos interpolates it on every call)
    Case("relative-position-product-resized", {"type": "relative_position_product", "equation": "nhwc,hkc->nhwk",
                                               "table": [9, 8], "index": [5, 5], "table_rows": 6}, (3, 5, 5, 8),
         partial(RelPosProduct, rows=6), {"params": 48, "macs": 3 * 5 * 5 * 5 * 8}),
    # MViTv2's `attn[:, :, 1:, 1:] = y`: here y is the whole of x, written at the origin
    Case("slice-scatter", {"type": "slice_scatter", "inputs": ["input", "input"]}, (3, 6, 6),
         lambda: Twice(2, lambda x, y: x.clone().index_copy(1, torch.arange(3, device=x.device), y)),
         {"output_shape": [3, 6, 6], "flops": 0, "params": 0}),
    Case("layer-scale-tokens", {"type": "layer_scale", "channels_last": True}, (6, 8), None, {"params": 8}),
    Case("drop-path", {"type": "drop_path", "p": 0.1}, (4, 5, 5), None, {"flops": 0, "receptive_field": [1, 1]}),
    Case("patch-merge-odd", {"type": "patch_merge"}, (5, 5, 4), None, {"output_shape": [3, 3, 16]}),
    Case("patch-merge-3d", {"type": "patch_merge"}, (2, 5, 4, 8), None, {"output_shape": [2, 3, 2, 32]}),
    # MViT (torchvision's mvit_v1_b / mvit_v2_s blocks): references are the copies in tests/models/mvit.py
    Case("multiscale-v2", MVIT_V2, (33, 8), lambda: Grid(mvit_attention(8, 16, 2, [3, 3, 3], [1, 2, 2], [3, 3, 3],
                                                                      [1, 1, 1], True, False, True), (2, 4, 4)),
         {"output_shape": [9, 16], "params": 8 * 48 + 48 + 16 * 16 + 16 + 3 * (8 * 27 + 16) + 8 * (3 + 7 + 7)}),
    Case("multiscale-v1", {"type": "multiscale_attention", "num_heads": 1, "thw": [2, 4, 4], "kernel_kv": 3,
                           "stride_kv": [1, 2, 2]}, (33, 8),
         lambda: Grid(mvit_attention(8, 8, 1, [], [], [3, 3, 3], [1, 2, 2], False, False, False), (2, 4, 4)),
         {"output_shape": [33, 8], "params": 8 * 24 + 24 + 64 + 8 + 2 * (8 * 27 + 16)}),
    Case("multiscale-residual-with-cls-unpooled", {"type": "multiscale_attention", "num_heads": 2, "thw": [1, 2, 3],
                                                   "residual_pool": True, "residual_with_cls": True}, (7, 4),
         lambda: Grid(mvit_attention(4, 4, 2, [], [], [], [], True, True, False, (1, 2, 3)), (1, 2, 3)),
         # qkv 7·4·12 + proj 7·4·4 + scores and A·V 2·(2·7·7·2) MACs; + the residual's 2·7·2 adds
         {"macs": 336 + 112 + 392, "flops": 7 * 12 * 8 + 7 * 4 * 8 + 2 * 7 * 2 + 2 * 7 * 7 * 3 + 2 * 7 * 20
                                               + 2 * 7 * 2 * 13 + 2 * 7 * 2}),
    Case("multiscale-non-square-grid", {"type": "multiscale_attention", "num_heads": 2, "thw": [2, 2, 4],
                                        "kernel_kv": 3, "rel_pos": True, "residual_pool": True,
                                        "rel_pos_rows": [3, 7, 7]}, (17, 8),
         # torchvision sizes the h table for the larger axis (7 rows) and interpolates it to the 3 needed
         lambda: Grid(mvit_attention(8, 8, 2, [], [], [3, 3, 3], [1, 1, 1], True, False, True, (2, 2, 4)), (2, 2, 4)),
         {"params": 8 * 24 + 24 + 64 + 8 + 2 * (4 * 27 + 8) + 4 * (3 + 7 + 7)}),
    Case("token-pool", {"type": "token_pool", "thw": [2, 4, 4], "kernel": [1, 3, 3], "stride": [1, 2, 2]}, (33, 8),
         lambda: Grid(mvit.Pool(nn.MaxPool3d([1, 3, 3], [1, 2, 2], [0, 1, 1]), None), (2, 4, 4)),
         # window taps inside the grid: t 2, h and w 2 + 3 each; 8 channels
         {"output_shape": [9, 8], "flops": 8 * 2 * 5 * 5 - 8 * 8, "connections": 8 * 2 * 5 * 5}),
    Case("grid-positions-separable", {"type": "grid_positions", "thw": [2, 4, 4], "separable": True}, (32, 8),
         lambda: mvit.PositionalEncoding(8, (4, 4), 2, False), {"params": 8 + (2 + 16 + 1) * 8, "flops": 33 * 8}),
    Case("grid-positions-class-token", {"type": "grid_positions", "thw": [2, 4, 4]}, (32, 8),
         lambda: mvit.PositionalEncoding(8, (4, 4), 2, True), {"params": 8, "flops": 0, "output_shape": [33, 8]}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_matches_torch(case: Case):
    check_case(case)
