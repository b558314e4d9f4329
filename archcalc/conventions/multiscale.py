"""What the peer tools count of MViT's layer types (layers/multiscale_attention.py, layers/mvit_tokens.py),
on archcalc's build (archcalc/torch_mvit.py), which makes torchvision's calls: so on torchvision's MViT too.

multiscale_attention runs nn.Linear qkv and project modules, per pooling a depthwise nn.Conv3d and an
nn.LayerNorm module, torch.matmul for QKᵀ, A·V and the temporal relative positions, torch.einsum for the
height and width ones, `*` for the scaling, Tensor.softmax, and in-place adds:
    fvcore     aten::linear and aten::_convolution MACs, aten::layer_norm 5 per element, aten::matmul MACs,
               each aten::einsum numpy's count printed to 4 digits, halved, floored (layers' `einsum`)
    ptflops    the nn.Linear hooks (MACs + one bias add per output), the nn.Conv3d hooks (MACs), the
               nn.LayerNorm hooks (input elements), the patched torch.matmul (MACs) and F.interpolate (output
               elements: D times the rows needed, for a table of other rows, counted per sample as ptflops
               analyses one); einsum, Tensor.softmax, `*` and in-place adds are not patched
    thop       the nn.Linear hooks (MACs), nn.Conv3d (MACs), nn.LayerNorm (4 per element: 2, x 2 affine)
    torchinfo  per module with weights: nn.Linear (n_in·n_out + n_out) x N, nn.Conv3d weights x its output
               positions x its batch (N·H, the heads folded in), nn.LayerNorm parameters x N (its input's first axis)
token_pool: ptflops counts its nn.MaxPool3d twice (hook and patched F.max_pool3d), 2 per grid element.
grid_positions: torchinfo skips parameters not named weight or bias; nothing else counts an add or a cat.
"""

from __future__ import annotations

import math

from archcalc.conventions.base import Rule, zero
from archcalc.layers.base import numel


def _parts(v) -> dict[str, int]:
    """Per-sample pieces of a multiscale_attention: MACs by kind, and the elements the norms see."""
    g = v.layer.geometry(v.attrs, v.ins)
    terms = {t.name: t for t in g.terms()}
    pools = [(name, kernel, grid, rows) for name, kernel, grid, rows in
             (("pool_q", g.kernel_q, g.q_grid, g.queries), ("pool_k", g.kernel_kv, g.kv_grid, g.keys),
              ("pool_v", g.kernel_kv, g.kv_grid, g.keys)) if kernel is not None]  # fmt: skip
    return {
        "linear": terms["qkv"].macs + terms["proj"].macs,
        "linear_bias": g.tokens * 3 * g.out_dim + g.queries * g.out_dim,
        "linear_params": (g.embed + 1) * 3 * g.out_dim + (g.out_dim + 1) * g.out_dim,
        "conv": sum(terms[name].macs for name, *_ in pools),
        "conv_torchinfo": sum(g.head_dim * numel(kernel) * g.heads * numel(grid) for _, kernel, grid, _ in pools),
        "norm": sum(g.heads * rows * g.head_dim for *_, rows in pools),
        "norm_params": 2 * g.head_dim * len(pools),
        "matmul": terms["scores"].macs + terms["A·V"].macs + (terms["rel_t"].macs if g.rel_pos else 0),
        "einsum": [terms[name].macs for name in ("rel_h", "rel_w")] if g.rel_pos else [],
        # F.interpolate's output, [1, D, rows needed], for each table of other rows (ptflops patches it)
        "resized": sum(g.head_dim * need for need, rows in zip(g.needed(), g.tables()) if need != rows)
        if g.rel_pos else 0,
    }


def _fvcore_einsum(macs: int) -> int:
    """fvcore's einsum_flop_jit on "bythwc,hkc->bythwk": numpy counts 2 per product, printed "%.3e", halved."""
    return math.floor(float(f"{2 * macs:.3e}") / 2)


def _fvcore(v) -> dict[str, int]:
    p, B = _parts(v), v.batch
    return {"macs": B * (p["linear"] + p["conv"] + p["matmul"]) + sum(_fvcore_einsum(B * m) for m in p["einsum"]),
            "norm": 5 * B * p["norm"]}


def _ptflops(v) -> dict[str, int]:
    p, B = _parts(v), v.batch
    return {"macs": B * (p["linear"] + p["conv"] + p["matmul"]), "bias": B * p["linear_bias"], "norm": B * p["norm"],
            "other": B * p["resized"]}


def _thop(v) -> dict[str, int]:
    p, B = _parts(v), v.batch
    return {"macs": B * (p["linear"] + p["conv"]), "norm": 4 * B * p["norm"]}


def _torchinfo(v) -> dict[str, int]:
    p, B = _parts(v), v.batch
    return {"macs": B * (p["linear_params"] + p["conv_torchinfo"]), "norm": B * p["norm_params"]}


ATTENTION = {
    "fvcore": Rule(_fvcore, "aten::linear, _convolution, matmul: MACs; einsum: numpy's rounded count / 2; "
                            "layer_norm: 5 per element"),
    "ptflops": Rule(_ptflops, "nn.Linear hooks (MACs + bias), nn.Conv3d (MACs), nn.LayerNorm (input elements), "
                              "patched torch.matmul (MACs) and F.interpolate (a resized table); einsum and softmax unseen"),
    "thop": Rule(_thop, "nn.Linear and nn.Conv3d hooks: MACs; nn.LayerNorm: 4 per element; functionals unseen"),
    "torchinfo": Rule(_torchinfo, "nn.Linear (n_in n_out + n_out) x N; nn.Conv3d weights x positions x N·H; "
                                  "nn.LayerNorm params x N"),
}

TOKEN_POOL_PTFLOPS = Rule(lambda v: 2 * v.batch * v.ins[0][1] * (v.ins[0][0] - 1),
                          "2 per grid element (nn.MaxPool3d hook + the patched F.max_pool3d)")
GRID_POSITIONS_TORCHINFO = zero("its parameters are not named weight or bias")
