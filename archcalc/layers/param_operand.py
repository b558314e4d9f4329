"""A learned tensor as an operand: parameter_op (x * weight, x + bias) and affine (torch.addcmul(bias, weight, x)).

parameter_op: an elementwise multiply or add between an activation and a parameter of any shape that
broadcasts into it without enlarging it: timm's [1]-shaped scale and bias (StarReLU `scale * relu(x) ** 2 +
bias`, HGNetV2's LearnableAffineBlock `scale * x + bias`), a [C, 1, 1] bias (EvoNorm's `x * v + bias`), a
[1, L, 1] bias. The per-channel scale [C, 1, ...] or [E] is layer_scale's (layers/norm_tokens.py) and a
[1, L, E] table added to tokens is positional_embedding's; this type takes every other shape.

    {type: parameter_op, op: mul, shape: [1]}          x * s, s a learned scalar
    {type: parameter_op, op: add, shape: [64, 1, 1]}   x + b, one bias per channel

`shape` is the parameter's shape aligned to the sample's trailing axes, as torch broadcasts it (leading axes
of size 1 beyond the sample's rank, the batch's, are dropped: a [1, C, 1, 1] parameter is [C, 1, 1]).

A parameter can be computed on before it is used: `fn` lists the functions applied to it element by element
(Swin V2's `clamp(logit_scale, max=log 100).exp()` is `fn: [clamp_max, exp]`; layers/weight_fn.py has the list
and their FLOPs), and `rows: R` says the operand is one of the R rows of a [R, *shape] parameter
(EfficientViM's `sigmoid(alpha).view(4, -1, 1, 1)[i]`: the first layer reading it holds the parameter, the
others share it, `weights: {shared: n}`).

    params       numel(shape) (R·numel(shape) with `rows`); with `buffer: true` (the operand is a buffer: Swin's
                 shifted-window attention mask `attn.view(-1, nW, H, N, N) + mask.unsqueeze(1).unsqueeze(0)`)
                 numel(shape) buffers instead
    MACs         0
    flops        out (one multiply or add per output element) + f·numel(shape) with `fn` (f: the functions'
                 FLOPs per element), computed once per call whatever the batch (`per_call`); a function run
                 before a row is taken is counted on each row read (the rows a block reads add up to the whole)
    connections  out (one link from the input element; the parameter is not a unit, as for layer_scale)

affine: resmlp's Affine, `torch.addcmul(beta, alpha, x)` = beta + alpha * x, with alpha and beta
parameters of one shape that broadcasts into x (`[1, 1, E]`: `shape: [1, E]` for [L, E] tokens).

    params       2 * numel(shape)
    flops        2 * out (a multiply and an add per output element)
    connections  out

Receptive field: position-wise (identity). Training: backward about the forward cost (the default rule).

Peers: fvcore and torch's FlopCounterMode have no handle for aten::mul / add / addcmul, nor for the functions
of `fn` (0); ptflops does
not patch the operators or torch.addcmul and hooks no such module (0); thop hooks none (0); torchinfo
counts the parameters named weight and bias of a leaf module times the batch (archcalc's builds name them
so: numel(shape) x N for parameter_op, 2 numel(shape) x N for affine; with `fn` or `rows` the build names it
`source`, as the models name it neither: 0).
"""

from __future__ import annotations

import operator
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int, IntList
from archcalc.layers.base import Attrs, LayerType, Params, Shape, elements, numel, register, same_shape
from archcalc.layers.elementwise import addition_functions, broadcast
from archcalc.layers import weight_fn
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule


def aligned(weight: Shape, sample: Shape) -> Shape:
    """A parameter's shape as it broadcasts into the sample: the batch's leading ones dropped. A CannotMap
    when it would broadcast across the batch or enlarge the sample."""
    shape = tuple(weight)
    while len(shape) > len(sample) and shape[0] == 1:
        shape = shape[1:]
    if len(shape) > len(sample) or any(w not in (1, s) for w, s in zip(reversed(shape), reversed(sample))):
        raise CannotMap(f"a parameter of shape {list(weight)} does not broadcast into {list(sample)}")
    return shape or (1,)


def unexpanded(weight: Any) -> Shape:
    """The shape a parameter broadcasts with: an axis `expand` stretched (stride 0: every index reads the same
    elements) counts as 1, so CaiT's class token `cls_token.expand(B, -1, -1)` added to the residual is the
    [1, 1, C] parameter it is."""
    return tuple(1 if stride == 0 else size for size, stride in zip(weight.shape, weight.stride()))


def _fits(layer: str, shape: Shape, sample: Shape) -> None:
    if len(shape) > len(sample) or broadcast(layer, [sample, shape]) != tuple(sample):
        raise ArchcalcError(f"{layer}: a parameter of shape {list(shape)} does not broadcast into the input "
                            f"{list(sample)} (it must not enlarge it)")  # fmt: skip


def _multiplications() -> tuple:
    import torch

    T = torch.Tensor
    return (operator.mul, operator.imul, torch.mul, T.mul, T.mul_, T.__mul__, T.__imul__, T.__rmul__)


class _Learned(LayerType):
    category = "elementwise"
    per_element = 1

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _fits(self.name, a["shape"], ins[0])
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.per_element * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])


@register
class ParameterOp(_Learned):
    name = "parameter_op"
    summary = "x * weight or x + bias with a learned tensor of any broadcastable shape ([1]-shaped scale and bias)"
    attrs = (Attr("op", Choice("mul", "add"), doc="mul (a learned scale) or add (a learned bias)"),
             Attr("shape", IntList(), doc="the parameter's shape, aligned to the input's trailing axes"),
             Attr("buffer", Bool(), False, doc="the operand is a buffer, a fixed tensor (Swin's shifted-window "
                                               "attention mask): counted as buffers, not parameters"),
             Attr("fn", weight_fn.Functions(), None, doc="functions applied to the parameter element by element "
                                                         "before use, in order (Swin V2's [clamp_max, exp]; "
                                                         "layers/weight_fn.py); default none"),
             Attr("rows", Int(), None, doc="the operand is one row of a parameter of `rows` rows of this shape "
                                           "(EfficientViM's `sigmoid(alpha)[i]`); default: the whole parameter"),
             Attr("reused", Bool(), False, doc="an earlier layer computed `fn` on this parameter and this one reads its "
                                               "result: the functions are not counted again"))  # fmt: skip
    flops_rule = "out (one multiply or add per element) + the functions of `fn` on the parameter, once per call"
    connections_rule = "out (one link from the input element)"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if a["buffer"] and (a["fn"] or a["rows"] is not None):
            raise ArchcalcError(f"{self.name}: fn and rows describe a parameter, not a buffer operand")
        if a["reused"] and not a["fn"]:
            raise ArchcalcError(f"{self.name}: reused needs the functions it reuses (fn)")
        return super().shape(a, ins)

    def softmax_group(self, a: Attrs) -> int:
        """N of a softmax in `fn`: over the rows, or else over the last axis of shape."""
        return a["rows"] or a["shape"][-1]

    def held(self, a: Attrs) -> int:
        return numel(a["shape"]) * (a["rows"] or 1)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(buffers=self.held(a)) if a["buffer"] else Params(trainable=self.held(a))

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """The functions of `fn` run on the whole parameter once per call, whatever the batch (not again when
        `reused`)."""
        if not a["fn"] or a["reused"]:
            return 0, 0
        return 0, weight_fn.chain_flops(a["fn"], self.held(a), self.softmax_group(a))

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) + self.per_call(a, ins, out)[1]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        held = Const(numel(a["shape"])) if a["rows"] is None else Term("R", a["rows"]) * Const(numel(a["shape"]))
        kind = "buffers" if a["buffer"] else "params"
        flops, note = elements(out), f"one {'multiply' if a['op'] == 'mul' else 'add'} per element"
        if a["fn"] and not a["reused"]:
            size = Term("E", self.held(a))
            flops = flops + Term("f", weight_fn.per_element(a["fn"])) * size
            if "softmax" in a["fn"]:
                group = Term("N", self.softmax_group(a))
                flops = flops + Const(a["fn"].count("softmax")) * Group(size / group) * Group(3 * group - 1)
            note += f"; for {weight_fn.describe(a['fn'])} on the E elements of the parameter, once per call"
        rows = f", one of R rows" if a["rows"] is not None else ""
        return counts(params=0 if a["buffer"] else held, buffers=held if a["buffer"] else None,
                      flops=flops, connections=elements(out),
                      notes={"FLOPs": note,
                             kind: f"the {'buffer' if a['buffer'] else 'parameter'} of shape {list(a['shape'])}{rows}"})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.ParameterOp(a["op"], tuple(a["shape"]), a["buffer"], a["fn"] or (), a["rows"], a["reused"])

    def torch_import(self) -> tuple:
        from archcalc import torch_pointwise as tp

        products = _multiplications()

        def read(call: Any) -> dict:
            if call.kwargs:
                raise CannotMap(f"argument {next(iter(call.kwargs))!r} is not understood")
            shape = aligned(unexpanded(call.weights[0]), call.in_shapes[0])
            fixed = call.buffer_parts.get(id(call.weights[0]), 0)  # its elements held in buffers
            if 0 < fixed < numel(shape):
                raise CannotMap("the operand is partly a parameter and partly a buffer")
            return {"op": "mul" if call.target in products else "add", "shape": list(shape), "buffer": fixed > 0}

        def one_parameter(call: Any) -> bool:
            return len(call.in_shapes) == 1 and len(call.weights) == 1

        def computed(call: Any) -> bool:
            """One activation and one tensor computed from a parameter (importer/derived_math.py)."""
            return one_parameter(call) and getattr(call.weights[0], "kind", "") == "computed"

        def read_computed(call: Any) -> dict:
            if call.kwargs or len(call.args) != 2:
                raise CannotMap("takes arguments other than two tensors")
            source = call.weights[0]
            shape = aligned(source.broadcast_shape, call.in_shapes[0])
            if numel(shape) * (source.rows or 1) != source.parameter.numel():
                raise CannotMap(f"reads {numel(shape)} of the {source.parameter.numel()} elements of a parameter")
            if "softmax" in source.steps and source.softmax_group != (source.rows or shape[-1]):
                raise CannotMap("a softmax of the parameter over another axis than its rows or its last")
            return {"op": "mul" if call.target in products else "add", "shape": list(shape),
                    "fn": list(source.steps) or None, "rows": source.rows, "reused": source.reused}

        def built(call: Any) -> dict:
            m = call.module
            return {"op": m.op, "shape": list(m.shape), "buffer": m.buffer, "fn": list(m.fn) or None, "rows": m.rows,
                    "reused": m.reused}

        return (ImportRule(self.name, modules=(tp.ParameterOp,), read=built),
                ImportRule(self.name, functions=products + addition_functions(), read=read, when=one_parameter,
                           weight_operands=True, note="a tensor times or plus a parameter of another shape than "
                           "layer_scale's and positional_embedding's"),
                ImportRule(self.name, functions=products + addition_functions(), read=read_computed, when=computed,
                           gathered_operands=True, note="a tensor times or plus a tensor computed from a parameter "
                           "alone (sigmoid, exp, clamp, 1 - w, a row of it)"))  # fmt: skip


@register
class Affine(_Learned):
    name = "affine"
    summary = "bias + weight * x with learned tensors of one broadcastable shape (torch.addcmul; resmlp's Affine)"
    attrs = (Attr("shape", IntList(), doc="the weight's and the bias's shape, aligned to the input's trailing axes"),)
    per_element = 2
    flops_rule = "2 * out (a multiply and an add per element)"
    connections_rule = "out (one link from the input element)"

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=2 * numel(a["shape"]))

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(params=Const(2) * Const(numel(a["shape"])), flops=Const(2) * elements(out),
                      connections=elements(out), notes={"FLOPs": "a multiply and an add per element",
                                                        "params": f"weight and bias of shape {list(a['shape'])}"})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.Affine(tuple(a["shape"]))

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp

        def read(call: Any) -> dict:
            b = call.bind("input", "tensor1", "tensor2", "value", value=1)
            if b["value"] != 1:
                raise CannotMap(f"scales the product by value={b['value']!r}")
            if not any(b["input"] is w for w in call.weights):
                raise CannotMap("adds an activation, not a learned bias")
            shapes = {aligned(w.shape, call.in_shapes[0]) for w in call.weights}
            if len(shapes) != 1:
                raise CannotMap(f"its weight and bias differ in shape ({' and '.join(str(list(s)) for s in shapes)})")
            return {"shape": list(shapes.pop())}

        def learned(call: Any) -> bool:
            return len(call.in_shapes) == 1 and len(call.weights) == 2

        return (ImportRule(self.name, modules=(tp.Affine,), read=lambda call: {"shape": list(call.module.weight.shape)}),
                ImportRule(self.name, functions=(torch.addcmul, torch.Tensor.addcmul), read=read, when=learned,
                           weight_operands=True, note="addcmul(bias, weight, x) with two parameters"))  # fmt: skip
