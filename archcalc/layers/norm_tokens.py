"""Norms and block pieces of transformers and ConvNeXt: rmsnorm, layernorm2d, layer_scale, drop_path.

rmsnorm (Zhang & Sennrich 2019; Llama: x / sqrt(mean(x²) + eps) · w over the last `dims` axes)
    params       the normalised shape (weight only) when affine
    flops        (3 + affine) per element: square, add (the mean of squares), multiply by 1/rms, + the
                 weight; the per-group scalar work (divide, add eps, rsqrt) is not counted, as for layernorm
    connections  (1 + affine) per element
layernorm2d (ConvNeXt's LayerNorm2d: a layer norm over the channels of [C, *] at each position)
    params       2C with affine (weight and bias), C without the bias (timm's LayerNorm2dNoBias);
    flops        (5 + 2) per element, as layernorm (5 + 1 without the bias)
layer_scale (Touvron et al. 2021, ConvNeXt: a learned per-channel scale γ · x)
    params       C (channels first, γ of shape [C, 1, 1]) or E (channels last, [E]: timm's LayerScale)
    flops        numel(out) multiplies;  connections numel(out)
drop_path (stochastic depth, Huang et al. 2016; torchvision's StochasticDepth): drops a whole residual
    branch per sample in training; the identity at inference, like dropout: no FLOPs

Receptive field: position-wise (identity).
"""

from __future__ import annotations

import operator

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, elements, numel, register
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule, readable
from archcalc.layers.norm import ChannelAffineNorm, _Norm


# Hugging Face's RMSNorm classes (x · rsqrt(mean(x²) + eps) · weight, eps in `variance_epsilon`); T5's LayerNorm
# is one too (no mean subtracted, no bias).
_HF_RMS_NORMS = tuple(f"transformers.models.{name}.modeling_{name}.{cls}" for name, cls in (
    ("llama", "LlamaRMSNorm"), ("mistral", "MistralRMSNorm"), ("qwen2", "Qwen2RMSNorm"), ("t5", "T5LayerNorm")))


@register
class RMSNorm(_Norm):
    name = "rmsnorm"
    summary = "RMS normalisation over the last `dims` axes, weight only (Llama, T5)"
    attrs = (
        Attr("dims", Int(), 1, "how many trailing axes are normalised together"),
        Attr("eps", Float(0.0), None, "default: torch's (the dtype's machine epsilon)"),
        Attr("affine", Bool(), True, "the elementwise weight"),
    )
    flops_rule = "out * (3 + affine)"
    connections_rule = "out * (1 + affine)"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if a["dims"] > len(ins[0]):
            raise ArchcalcError(f"rmsnorm: dims {a['dims']} exceeds the input rank {len(ins[0])}")
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=numel(ins[0][-a["dims"] :]) if a["affine"] else 0)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (3 + int(a["affine"]))

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (1 + int(a["affine"]))

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        per = Group(Const(3) + Const(1)) if a["affine"] else Const(3)
        return counts(params=elements(ins[0], start=len(ins[0]) - a["dims"]) if a["affine"] else 0,
                      flops=per * elements(out), connections=(Const(2) if a["affine"] else Const(1)) * elements(out),
                      notes={"FLOPs": "per element: square, add, scale by 1/rms" + (" + 1 weight" if a["affine"]
                                                                                     else "")})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        return nn.RMSNorm(list(ins[0][-a["dims"] :]), a["eps"], a["affine"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        def read(call) -> dict:
            m, dims = call.module, len(call.module.normalized_shape)
            if tuple(call.in_shapes[0][-dims:]) != tuple(m.normalized_shape):
                raise CannotMap(f"normalized_shape {list(m.normalized_shape)} is not the input's trailing axes")
            return {"dims": dims, "eps": m.eps, "affine": m.elementwise_affine}

        def function(call) -> dict:
            b = call.bind("input", "normalized_shape", "weight", "eps", weight=None, eps=None)
            shape = tuple(b["normalized_shape"])
            if tuple(call.in_shapes[0][-len(shape):]) != shape:
                raise CannotMap(f"normalized_shape {list(shape)} is not the input's trailing axes")
            return {"dims": len(shape), "eps": b["eps"], "affine": b["weight"] is not None}

        def llama(call) -> dict:
            return {"dims": 1, "eps": call.module.variance_epsilon, "affine": True}

        return (ImportRule(self.name, modules=(nn.RMSNorm,), read=read),
                ImportRule(self.name, functions=(F.rms_norm,), read=function, weight_operands=True),
                ImportRule(self.name, foreign=_HF_RMS_NORMS, read=llama))


@register
class LayerNorm2d(ChannelAffineNorm):
    name = "layernorm2d"
    summary = "layer normalisation over the channels of [C, *] at each position (ConvNeXt's LayerNorm2d)"
    attrs = (Attr("eps", Float(0.0), 1e-6), Attr("affine", Bool(), True, "weight and bias per channel"),
             Attr("bias", Bool(), True, "the affine shift (false: timm's LayerNorm2dNoBias)"))

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise ArchcalcError(f"layernorm2d needs a [C, ...] map, got shape {list(ins[0])}")
        return ins[0]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.LayerNorm2d(ins[0][0], a["eps"], a["affine"], bias=a["bias"])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            m = call.module
            return {"eps": m.eps, "affine": m.elementwise_affine, "bias": not m.elementwise_affine or m.bias is not None}

        libraries = ("torchvision.models.convnext.LayerNorm2d", "timm.layers.norm.LayerNorm2d")
        return (ImportRule(self.name, modules=(tt.LayerNorm2d,), read=read),
                ImportRule(self.name, foreign=libraries, read=read))


@register
class LayerScale(LayerType):
    name = "layer_scale"
    summary = "learned per-channel scale γ · x (ConvNeXt's layer scale; timm's LayerScale on tokens)"
    category = "elementwise"
    attrs = (Attr("channels_last", Bool(), False, "scale the last axis ([L, E] tokens) instead of the first"),)
    flops_rule = "out: one multiply per element"
    connections_rule = "out"

    def channels(self, a: Attrs, shape: Shape) -> int:
        return shape[-1] if a["channels_last"] else shape[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=self.channels(a, ins[0]))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        symbol = "E" if a["channels_last"] else "C"
        return counts(params=Term(symbol, self.channels(a, ins[0])), flops=elements(out), connections=elements(out),
                      notes={"FLOPs": "one multiply per element"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        rank, channels = len(ins[0]), self.channels(a, ins[0])
        return tt.LayerScale((channels,) if a["channels_last"] else (channels,) + (1,) * (rank - 1))

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            shape = tuple(call.module.layer_scale.shape)
            return {"channels_last": len(shape) == 1 and len(call.in_shapes[0]) > 1}

        def operand(call) -> dict:
            """x * gamma with gamma a parameter of shape [C, 1, ...] (channels first) or [E] (channels last),
            or reshaped with a leading 1 for the batch (timm's ConvNeXt: gamma.reshape(1, -1, 1, 1))."""
            shape, sample = tuple(call.weights[0].shape), call.in_shapes[0]
            if len(shape) == len(sample) + 1 and shape[0] == 1:
                shape = shape[1:]
            if shape == (sample[0],) + (1,) * (len(sample) - 1) and len(sample) > 1:
                return {"channels_last": False}
            if shape == (sample[-1],):
                return {"channels_last": True}
            raise CannotMap(f"a parameter of shape {list(shape)} does not scale each channel of {list(sample)}")

        def one_parameter(call) -> bool:
            """One per-channel parameter; any other shape, or a buffer (CSATv2's `x.mul(self.imagenet_std)`), is
            parameter_op's (layers/param_operand.py)."""
            if len(call.in_shapes) != 1 or len(call.weights) != 1:
                return False
            return not call.buffer_parts.get(id(call.weights[0])) and readable(operand, call)

        T = torch.Tensor
        products = (operator.mul, torch.mul, T.mul, T.__mul__, T.__rmul__)
        return (ImportRule(self.name, modules=(tt.LayerScale,), read=read),
                ImportRule(self.name, functions=products, read=operand, when=one_parameter, weight_operands=True,
                           note="a tensor times a per-channel parameter"))


@register
class DropPath(LayerType):
    name = "drop_path"
    summary = "stochastic depth: drops a residual branch per sample in training (identity at inference)"
    category = "structure"
    data_movement = True
    attrs = (Attr("p", Float(0.0, 1.0), 0.0, "drop probability"),
             Attr("mode", Choice("row", "batch"), "row", "per sample (row) or the whole batch"))  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.StochasticDepth(a["p"], a["mode"])

    def torch_import(self) -> tuple:
        """archcalc's module, and torchvision's StochasticDepth and stochastic_depth when the model comes from
        torchvision (already imported: the rule never imports it)."""
        from archcalc import torch_tokens as tt

        module = lambda call: {"p": call.module.p, "mode": call.module.mode}  # noqa: E731

        def function(call) -> dict:
            b = call.bind("input", "p", "mode", "training", training=True)
            return {"p": b["p"], "mode": b["mode"]}

        tv = "torchvision.ops.stochastic_depth."
        timm = lambda call: {"p": call.module.drop_prob}  # noqa: E731 - timm's DropPath: per sample
        return (ImportRule(self.name, modules=(tt.StochasticDepth,), read=module),
                ImportRule(self.name, foreign=("timm.layers.drop.DropPath",), read=timm),
                ImportRule(self.name, foreign=(tv + "StochasticDepth",), read=module),
                ImportRule(self.name, foreign=(tv + "stochastic_depth",), read=function))
