"""constant_op: an activation times or plus a constant table, a tensor made inside forward from the input's shape
and buffers alone (importer/constants.py), such as RoPE's cos and sin.

Rotary embeddings written out in a model's own code rather than inside an attention class archcalc maps as a
whole (Gemma 4's vision encoder, timm 1.0.31 models/gemma4_vit.py: `apply_rotary_pos_emb`, `(x * cos) +
(rotate_half(x) * sin)`, with cos and sin computed from the `inv_freq` buffer and the patch grid) multiply
the queries and keys by such a table. No input value reaches the table, so it is no layer; the product is.

    {type: constant_op, op: mul, shape: [64, 1, 16]}    x * cos, cos one row per token, broadcast over heads

`shape` is the table's per-sample shape aligned to the input's trailing axes (a leading batch axis, expanded
or computed for every sample alike, is dropped, as are leading 1s). It must broadcast into the input without
enlarging it.

    params       0 (the buffers the table is made from, `inv_freq`, are held as index tables by the first
                 layer that reads it: importer/mapping.py, shown as buffers)
    MACs         0
    flops        out (one multiply or add per element)
    connections  out (one link from the input element; the table is no unit)

Receptive field: position-wise (identity). Peers: fvcore and FlopCounterMode have no handle for aten::mul /
add (0); ptflops does not patch the operators (0); thop and torchinfo see a module without parameters (0).
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Choice, IntList
from archcalc.layers.base import Attrs, LayerType, Shape, elements, numel, register, same_shape
from archcalc.layers.elementwise import addition_functions, broadcast
from archcalc.layers.formula import Formula, counts
from archcalc.layers.imports import CannotMap, ImportRule


@register
class ConstantOp(LayerType):
    name = "constant_op"
    summary = "x * table or x + table with a constant made in forward from the input's shape and buffers (RoPE)"
    category = "elementwise"
    attrs = (Attr("op", Choice("mul", "add"), doc="mul (x * table) or add (x + table)"),
             Attr("shape", IntList(), doc="the table's per-sample shape, aligned to the input's trailing axes"))
    flops_rule = "out (one multiply or add per element)"
    connections_rule = "out (one link from the input element)"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        table = tuple(a["shape"])
        if len(table) > len(ins[0]) or broadcast(self.name, [ins[0], table]) != tuple(ins[0]):
            raise ArchcalcError(f"constant_op: a table of shape {list(table)} does not broadcast into the input "
                                f"{list(ins[0])} (it must not enlarge it)")  # fmt: skip
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)  # one multiply or add per element

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)  # one link from the input element; the table is no unit

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return same_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(flops=elements(out), connections=elements(out),
                      notes={"FLOPs": f"one {'multiply' if a['op'] == 'mul' else 'add'} per element",
                             "params": "none: the table is computed, not learned"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.ConstantOp(a["op"], tuple(a["shape"]))

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_pointwise as tp

        T = torch.Tensor
        products = (operator.mul, operator.imul, torch.mul, T.mul, T.mul_, T.__mul__, T.__imul__, T.__rmul__)

        def read(call: Any) -> dict:
            if call.kwargs:
                raise CannotMap(f"argument {next(iter(call.kwargs))!r} is not understood")
            if call.batch_axis or call.batch_merged:
                raise CannotMap("the batch of the input is not in front")
            [table] = call.weights
            shape = _per_sample(tuple(table.shape), call.in_shapes[0])
            return {"op": "mul" if call.target in products else "add", "shape": list(shape)}

        def one_table(call: Any) -> bool:
            """One constant operand: no parameter nor a view of one (those are parameter_op's and layer_scale's,
            whichever order the rules come in)."""
            if len(call.in_shapes) != 1 or len(call.weights) != 1:
                return False
            table = call.weights[0]
            return not isinstance(table, torch.nn.Parameter) and not isinstance(table._base, torch.nn.Parameter)

        return (ImportRule(self.name, modules=(tp.ConstantOp,),
                           read=lambda call: {"op": call.module.op, "shape": list(call.module.shape)}),
                ImportRule(self.name, functions=products + addition_functions(), read=read, when=one_table,
                           constant_operands=True, note="a constant table (RoPE's cos/sin made from the input's "
                                                        "shape and buffers)"))  # fmt: skip


def _per_sample(table: Shape, sample: Shape) -> Shape:
    """The table as each sample sees it: leading 1s dropped, and a leading batch axis (one more axis than the
    sample, every sample's table alike) dropped; a CannotMap when it would enlarge the sample."""
    shape = tuple(table)
    while len(shape) > len(sample) and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == len(sample) + 1:
        shape = shape[1:]  # the batch axis: a constant is the same for every sample
    if len(shape) > len(sample) or any(t not in (1, s) for t, s in zip(reversed(shape), reversed(sample))):
        raise CannotMap(f"a constant table of shape {list(table)} does not broadcast into {list(sample)}")
    return shape or (1,)
