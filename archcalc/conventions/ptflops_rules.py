"""ptflops (0.7.5), default backend (`pytorch`): `get_model_complexity_info(model, input_res)[0]`, in MACs.

The pytorch backend (`ptflops/pytorch_engine.py`) counts in two ways at once
(`ptflops/pytorch_ops.py`):

1. forward hooks on modules whose class is in MODULES_MAPPING (conv and transposed conv of every
   rank, linear, BatchNorm / InstanceNorm 1d/2d/3d, GroupNorm, LayerNorm, ReLU, ReLU6, LeakyReLU, PReLU,
   ELU, GELU, the max / avg / adaptive pools of every rank, Upsample), summed over the module tree and
   divided by the batch;
2. while the model runs, it replaces torch.nn.functional's relu, prelu, elu, relu6, gelu, silu,
   softmax, avg/max/adaptive pools (1d, 2d, 3d) and interpolate, and torch.Tensor's add, mul, matmul,
   mm, bmm and addmm, by wrappers that also count (functional: input numel; add / mul: numel of the
   result).

Because torch's nn.ReLU, nn.MaxPool*d, nn.AdaptiveAvgPool*d, ... call those very functionals, the
modules in both lists count twice: a ReLU module counts 2 per element, a max pool 2 per input
element. Operators (`a + b`, `a * b`) do not go through the patched methods and count 0, so
residual adds and SE scales count nothing; LocalResponseNorm calls `input.mul(input)`,
`.mul(alpha).add(k)` and avg_pool3d internally, so those count.

ptflops always analyses one sample (`input_res` has no batch axis); archcalc multiplies its per-sample
count by --batch.

nn.MultiheadAttention has its own hook (multihead_attention_counter_hook): Q scaling L·E, projections
L·E² + S·E_k² + S·E_v² (squares of each input's width), biases (L + 2S)·E, per head L·S·(E/H + 1 +
E_v/H), and the output projection L·E_v·(E_v + 1), whichever path torch takes. archcalc's general
attention build is nn.Linear projections (hooked, the bias per row) around
F.scaled_dot_product_attention (not patched). Swin's window attention calls F.linear (not patched) and
Tensor.matmul (patched: the two products' MACs) and F.softmax (patched: the scores).

A layer invoked as a function, method or operator (a spec's `call:`) has no module hook: it counts only
what the patched functionals count, once (F.relu, F.elu, F.gelu, F.silu, F.softmax, the pools: input
elements); F.leaky_relu, x.mean, x.amax, torch.cat and operators are not patched. A `scalar` layer
(`x * 0.5`) counts its elements as torch.add / torch.mul / x.add / x.mul (patched), nothing otherwise.

Default (any type not in the table): MACs + one bias add per output element for dense conv and linear
layers (hooked), 0 for everything else (no hook, and no patched functional).
"""

from __future__ import annotations

from archcalc.conventions import recurrent_rules
from archcalc.conventions.attention import (position_mlp_links, product_macs, projection_biases, projection_macs,
                                            ptflops_mha_hook, score_elements, term_macs, torch_mha)  # fmt: skip
from archcalc.conventions import multiscale, position_tables
from archcalc.conventions.base import UNKNOWN, Profile, Rule, per_input, per_output, same_for, zero
from archcalc.layers import LayerType, numel

_TWICE = "module hook + the patched functional it calls"


def _conv(v) -> dict[str, int]:
    return {"macs": v.macs, "bias": v.out_elems if v.bias else 0}


def _pool_module_input(v) -> int:
    """Elements entering the torch pool module: asymmetric padding is applied before it (Padded)."""
    window = v.window
    if window.symmetric:
        return v.in_elems
    return v.ins[0][0] * numel(window.padded(v.ins[0][1:])) * v.batch


def _global(v) -> int:
    """The adaptive pool module (hook + functional); a GlobalPool without kept axes is x.mean / x.amax: 0."""
    return 2 * v.in_elems if len(v.out) == len(v.ins[0]) else 0


def _lrn(v) -> int:
    """input.mul(input), avg_pool over the channel-padded squares, .mul(alpha), .add(k)."""
    size, channels = v.attrs["size"], v.ins[0][0]
    return 3 * v.in_elems + (channels + size - 1) * numel(v.ins[0][1:]) * v.batch


def _interpolate(v) -> int:
    """The patched F.interpolate: size: prod(size) * N * C; scale: numel * scale^rank."""
    if v.attrs["size"] is not None:
        return numel(v.out) * v.batch
    # a float, as ptflops computes it; ptflops truncates only its final sum
    return int(numel(v.ins[0]) * float(v.attrs["scale"]) ** v.spatial_rank) * v.batch


def _upsample(v) -> int:
    """Module hook (output elements) + F.interpolate."""
    return numel(v.out) * v.batch + _interpolate(v)


def _patched_scalar(v) -> int:
    """torch.add / torch.mul and Tensor.add / mul are patched: numel of the tensor operand (not x.mul_, not sub)."""
    return v.out_elems if v.attrs["op"] in ("add", "mul") and not v.attrs["inplace"] else 0


_AFFINE_NORM = Rule(lambda v: v.in_elems * (2 if v.attrs["affine"] else 1), "input elements x (2 if affine)")

TABLE = {
    **UNKNOWN,
    **recurrent_rules.PTFLOPS,
    "batchnorm": _AFFINE_NORM,
    "instancenorm": _AFFINE_NORM,
    "groupnorm": _AFFINE_NORM,
    "layernorm": per_input(1, "input elements (the BN hook looks for `affine`; LayerNorm has "
                              "`elementwise_affine`)"),
    "lrn": Rule(_lrn, "not hooked; inside: mul, mul, add (input elements each) + avg_pool of the "
                      "(C + size - 1)-channel padded squares"),
    **same_for(("relu", "prelu", "elu", "gelu"), per_output(2, f"2 per element ({_TWICE})")),
    "relu6": per_output(1, "1 per element (module hook; F.hardtanh is not patched)"),
    "leaky_relu": per_output(1, "1 per element (module hook; F.leaky_relu is not patched)"),
    "silu": per_output(1, "1 per element (patched F.silu; no module hook)"),
    "softmax": per_input(1, "input elements (patched F.softmax; no module hook)"),
    **same_for(("max_pool", "avg_pool"), Rule(lambda v: 2 * _pool_module_input(v), f"2 per input element ({_TWICE})")),
    **same_for(("adaptive_avg_pool", "adaptive_max_pool"), per_input(2, f"2 per input element ({_TWICE})")),
    **same_for(("global_avg_pool", "global_max_pool"),
               Rule(_global, f"2 per input element ({_TWICE}); 0 with keep_dims false (x.mean)")),
    "spp": zero("archcalc's module binds F.max_pool2d / F.avg_pool2d when built, before ptflops patches them"),
    "roi_pool": zero("no hook for torchvision's RoIPool; archcalc's module binds F.adaptive_max_pool2d when built"),
    "subsampling": per_input(1, "input elements (patched F.avg_pool2d); `*` and `+` are not patched"),
    "upsample": Rule(_upsample, "module hook: output elements + F.interpolate: numel x scale^rank (or output "
                                "elements for a size)"),
    "multi_head_attention": Rule(lambda v: ptflops_mha_hook(v) if torch_mha(v) else projection_macs(v)
                                 + projection_biases(v), "nn.MultiheadAttention: ptflops' own hook formula; the "
                                 "general build: its nn.Linear hooks (bias per row), sdpa not patched"),
    **same_for(("scaled_dot_product_attention", "relative_position_attention"),
               zero("F.scaled_dot_product_attention is not patched")),
    "window_attention": Rule(lambda v: product_macs(v) + score_elements(v),
                             "patched Tensor.matmul (QKᵀ, A·V) + F.softmax (the scores); F.linear is not patched"),
    "window_attention_v2": Rule(lambda v: v.batch * (term_macs(v, "A·V", "position_mlp") + 3 * position_mlp_links(v)[0])
                                + score_elements(v), "patched attn.matmul(v) (A·V; q @ kᵀ is the operator, not "
                                "patched) + F.softmax (the scores) + the bias MLP's nn.Linear hooks (MACs + bias) "
                                "and its ReLU (2 per element), per sample"),
    "multiscale_attention": multiscale.ATTENTION["ptflops"],
    "token_pool": multiscale.TOKEN_POOL_PTFLOPS,
    "einsum": zero("torch.einsum is not patched"),
    "relative_position_product": Rule(lambda v: v.attrs["table"][0] * v.attrs["table"][1]
                                      if v.attrs["table_rows"] is not None else 0,
                                      "torch.einsum is not patched; a resized table's F.interpolate (patched): its "
                                      "output elements, once"),
    "one_hot_position_embedding": zero("its product is the `@` operator, which ptflops does not patch"),
    "linear_norm": Rule(lambda v: {**_conv(v), "norm": 2 * v.out_elems}, "its children's hooks: nn.Linear (MACs + "
                        "bias) and BatchNorm1d (2 per element, affine)"),
    "resized_position_embedding": position_tables.RULES["ptflops"],
    "blur_pool2d": zero("no hook (not in MODULES_MAPPING); F.pad and F.conv2d are not patched"),
    "layernorm2d": zero("a LayerNorm subclass (hooks match exact classes); F.layer_norm is not patched"),
}

_PATCHED = "patched functional, no module hook"
INVOKED = {
    **same_for(("function:relu", "function:elu", "function:gelu"), per_output(1, f"1 per element ({_PATCHED})")),
    "function:leaky_relu": zero("F.leaky_relu is not patched, and no module hook"),
    **same_for(("function:max_pool", "function:avg_pool"), Rule(_pool_module_input, f"input elements ({_PATCHED})")),
    **same_for(("function:adaptive_avg_pool", "function:adaptive_max_pool", "function:global_avg_pool",
                "function:global_max_pool"), per_input(1, f"input elements ({_PATCHED})")),
    **same_for(("method:global_avg_pool", "method:global_max_pool"), zero("x.mean / x.amax are not patched")),
    "function:upsample": Rule(_interpolate, "F.interpolate (patched): output elements for a size, numel x "
                                            "scale^rank for a scale; no module hook"),
    **same_for(("function:scalar", "method:scalar"), Rule(_patched_scalar, "output elements for torch.add / mul and "
                                                          "x.add / mul (patched); 0 for sub, div, pow and in place")),
}  # any other call form: the module's rule, which for those types is the patched functional alone (or 0)

_CONV = Rule(_conv, "MACs + bias: output elements")
TABLE["conv"] = Rule(lambda v: 0 if v.attrs.get("standardize", "none") != "none" else _conv(v),
                     "MACs + bias: output elements; a standardised conv: 0 (its class is not in MODULES_MAPPING, "
                     "hooks match exact classes, and F.conv2d / F.batch_norm are not patched)")
_NONE = zero("no hook, and no patched functional")


def default(layer: LayerType) -> Rule:
    return _CONV if layer.dense_macs else _NONE


PROFILE = Profile(
    name="ptflops",
    tool="ptflops 0.7.5, pytorch backend (the default)",
    headline="get_model_complexity_info(model, input_res, as_strings=False)[0]",
    unit="MACs",
    table=TABLE,
    default=default,
    invoked=INVOKED,
)
