"""Tensor algebra on activations: matmul (and bmm), two-operand einsum contractions, permute and transpose
(token_ops.py takes tokens out of a sequence).

matmul (torch.matmul / bmm on [*, n, k] and [*, k, m] -> [*, n, m]; leading axes broadcast; both
operands are layer outputs)
    macs         numel(out) · k
    flops        numel(out) · (2k − 1)   (k multiplies, k − 1 adds per output)
    connections  numel(out) · 2k         (each output reads k elements of each operand)
einsum (two operands, an equation over the sample axes: "hqd,hkd->hqk"; every summed letter is in both
operands, i.e. one contraction, which torch computes as one batched matrix product)
    macs         Π sizes of all letters (P); 0 when no letter is summed: an outer or elementwise product
                 has no accumulation (torch computes it as a multiply, not a matrix product)
    flops        2P − numel(out) (P multiplies, P − numel(out) adds);  connections 2P
permute / transpose: reorder axes (torch.permute, Tensor.transpose); only move data

Receptive field: matmul and einsum mix whole axes (None); a reorder that changes the layout ends the
field (None).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Int, IntList, Text
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Shape, numel, register
from archcalc.layers.elementwise import broadcast
from archcalc.layers.embedding import token_names
from archcalc.layers.formula import Const, Formula, Group, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _axis(layer: str, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ArchcalcError(f"{layer}: axis {axis} is out of range for a sample of rank {rank}")
    return axis % rank


@register
class MatMul(LayerType):
    name = "matmul"
    summary = "matrix product of two activations, [*, n, k] @ [*, k, m] (torch.matmul, bmm)"
    category = "linear"
    dense_macs = True
    min_inputs = max_inputs = 2
    flops_rule = "out * (2k - 1)"
    connections_rule = "out * 2k"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        left, right = ins
        if len(left) < 2 or len(right) < 2:
            raise ArchcalcError(f"matmul needs operands of rank 2 or more, got {list(left)} and {list(right)} "
                                "(with the batch axis, a rank-1 sample is a matrix to torch)")  # fmt: skip
        if left[-1] != right[-2]:
            raise ArchcalcError(f"matmul: {list(left)} @ {list(right)}: {left[-1]} columns against {right[-2]} rows")
        return broadcast(self.name, [left[:-2], right[:-2]]) + (left[-2], right[-1])

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * ins[0][-1]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * (2 * ins[0][-1] - 1)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) * 2 * ins[0][-1]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        lead = [Formula(f"b{i}_out", Const(size), "leading axes broadcast") for i, size in enumerate(out[:-2])]
        return lead + [Formula("n_out", Term("n", ins[0][-2])), Formula("m_out", Term("m", ins[1][-1]))]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        outputs = Term("n", out[-2]) * Term("m", out[-1])
        if out[:-2]:
            outputs = Term("batch", numel(out[:-2])) * outputs
        k = Term("k", ins[0][-1])
        return counts(macs=outputs * k, flops=outputs * Group(2 * k - 1), connections=outputs * 2 * k,
                      notes={"FLOPs": "per output: k multiplies, k − 1 adds"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.MatMul()

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_tokens as tt

        functions = (torch.matmul, torch.Tensor.matmul, operator.matmul, torch.Tensor.__matmul__, torch.bmm,
                     torch.Tensor.bmm)  # fmt: skip

        def read(call) -> dict:
            if call.kwargs.get("out") is not None or len(call.in_shapes) != 2:
                raise CannotMap("needs two activation operands and no out=")
            return {}

        return (ImportRule(self.name, modules=(tt.MatMul,)), ImportRule(self.name, functions=functions, read=read))


def parse_equation(equation: str, shapes: list[Shape]) -> tuple[list[str], str, dict[str, int]]:
    """(operand subscripts, output subscripts, size of each letter) of a two-operand contraction."""
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    operands = lhs.split(",")
    if len(operands) != 2:
        raise ArchcalcError(f"einsum: {equation!r} needs exactly two operands")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        rhs = "".join(sorted(c for c in set(lhs) if c != "," and lhs.count(c) == 1))
    for part in operands + [rhs]:
        if any(c not in _LETTERS for c in part) or len(set(part)) != len(part):
            raise ArchcalcError(f"einsum: {equation!r}: use letters only (no '...'), each at most once per operand")
    sizes: dict[str, int] = {}
    for part, shape in zip(operands, shapes):
        if len(part) != len(shape):
            raise ArchcalcError(f"einsum: operand {part!r} names {len(part)} axes, its input {list(shape)} has "
                                f"{len(shape)}")  # fmt: skip
        for letter, size in zip(part, shape):
            if sizes.setdefault(letter, size) != size:
                raise ArchcalcError(f"einsum: axis {letter!r} is {sizes[letter]} in one operand, {size} in the other")
    for letter in rhs:
        if letter not in sizes:
            raise ArchcalcError(f"einsum: output axis {letter!r} is in no operand")
    for letter in sizes:
        if letter not in rhs and not all(letter in part for part in operands):
            raise ArchcalcError(f"einsum: {equation!r} sums axis {letter!r}, which only one operand has; a "
                                "two-operand contraction sums only shared axes (reduce it first)")  # fmt: skip
    return operands, rhs, sizes


@register
class Einsum(LayerType):
    name = "einsum"
    summary = "two-operand einsum contraction over the sample axes (\"hqd,hkd->hqk\")"
    category = "linear"
    dense_macs = True
    fvcore_exact = False  # fvcore rounds numpy's FLOP count to four digits (conventions/fvcore_rules.py)
    min_inputs = max_inputs = 2
    attrs = (Attr("equation", Text(), doc="subscripts of the two operands and the output, batch axis left out"),)
    flops_rule = "2P - out, P = product of every letter's size"
    connections_rule = "2P"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        _, rhs, sizes = parse_equation(a["equation"], ins)
        return tuple(sizes[letter] for letter in rhs)

    @staticmethod
    def products(a: Attrs, ins: list[Shape]) -> tuple[int, bool]:
        """(P, whether any letter is summed): the products one contraction computes."""
        _, rhs, sizes = parse_equation(a["equation"], ins)
        return numel(tuple(sizes.values())), len(rhs) < len(sizes)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        total, summed = self.products(a, ins)
        return total if summed else 0

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * self.products(a, ins)[0] - numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * self.products(a, ins)[0]

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        _, rhs, sizes = parse_equation(a["equation"], ins)
        return [Formula(f"{letter}_out", Term(letter, sizes[letter])) for letter in rhs]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        _, rhs, sizes = parse_equation(a["equation"], ins)
        every = product(Term(letter, size) for letter, size in sizes.items())
        kept = product(Term(letter, sizes[letter]) for letter in rhs) if rhs else Const(1)
        summed = len(rhs) < len(sizes)
        return counts(macs=every if summed else 0, flops=2 * every - kept, connections=2 * every,
                      notes={"MACs": "one multiply-add per combination of all letters" if summed else
                             "no letter is summed: multiplies, no accumulation",
                             "FLOPs": "multiplies, and adds for the summed letters"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def torch_equation(self, a: Attrs, ins: list[Shape]) -> str:
        """The equation archcalc's build hands torch.einsum: the spec's, with a batch letter in front."""
        operands, rhs, _ = parse_equation(a["equation"], ins)
        batch = next(c for c in _LETTERS if c not in a["equation"])
        return f"{batch}{operands[0]},{batch}{operands[1]}->{batch}{rhs}"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.Einsum(self.torch_equation(a, ins))

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def strip(equation: str) -> str:
            text = equation.replace(" ", "")
            lhs, arrow, rhs = text.partition("->")
            parts = lhs.split(",")
            if not arrow or len(parts) != 2 or not all(parts) or not rhs:
                raise CannotMap("needs two operands and an explicit output ('->')")
            batch = parts[0][0]
            if parts[1][0] != batch or rhs[0] != batch or text.count(batch) != 3:
                raise CannotMap("the batch axis is not the first axis of both operands and the output")
            return f"{parts[0][1:]},{parts[1][1:]}->{rhs[1:]}"

        def read(call) -> dict:
            if not isinstance(call.args[0], str) or len(call.in_shapes) != 2 or call.kwargs:
                raise CannotMap("needs an equation and two activation operands")
            return {"equation": strip(call.args[0])}

        return (ImportRule(self.name, modules=(tt.Einsum,), read=lambda call: {"equation": strip(call.module.equation)}),
                ImportRule(self.name, functions=(torch.einsum,), read=read))  # fmt: skip


class _Reorder(LayerType):
    category = "structure"
    data_movement = True

    def order(self, a: Attrs, rank: int) -> tuple[int, ...]:
        raise NotImplementedError

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return tuple(ins[0][axis] for axis in self.order(a, len(ins[0])))

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        names = token_names(len(ins[0])) if len(ins[0]) <= 3 else tuple(f"d{i}" for i in range(len(ins[0])))
        return [Formula(f"axis{position}_out", Term(names[axis], ins[0][axis]), f"input axis {axis}")
                for position, axis in enumerate(self.order(a, len(ins[0])))]  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY if self.order(a, len(ins[0])) == tuple(range(len(ins[0]))) else None


@register
class Permute(_Reorder):
    name = "permute"
    summary = "reorders the sample axes (torch.permute; dims without the batch axis)"
    attrs = (Attr("dims", IntList(None), doc="the input axis for each output axis: [1, 0] swaps [L, E]"),)

    def order(self, a: Attrs, rank: int) -> tuple[int, ...]:
        dims = tuple(_axis(self.name, d, rank) for d in a["dims"])
        if sorted(dims) != list(range(rank)):
            raise ArchcalcError(f"permute: dims {list(a['dims'])} are not a permutation of the {rank} sample axes")
        return dims

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.Permute([0] + [d + 1 for d in self.order(a, len(ins[0]))])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def sample_dims(dims, rank: int) -> dict:
            dims = [int(d) % (rank + 1) for d in dims]
            if len(dims) != rank + 1 or dims[0] != 0:
                raise CannotMap("moves the batch axis")
            return {"dims": [d - 1 for d in dims[1:]]}

        def read(call) -> dict:
            args = call.args[1:] if call.args else ()
            dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            dims = call.kwargs.get("dims", dims)
            return sample_dims(dims, len(call.in_shapes[0]))

        return (ImportRule(self.name, modules=(tt.Permute,), read=lambda c: sample_dims(c.module.dims,
                                                                                       len(c.in_shapes[0]))),
                ImportRule(self.name, functions=(torch.permute, torch.Tensor.permute), read=read))  # fmt: skip


@register
class Transpose(_Reorder):
    name = "transpose"
    summary = "swaps two sample axes (Tensor.transpose; axes without the batch axis)"
    attrs = (Attr("dim0", Int(None), 0, "one axis"), Attr("dim1", Int(None), 1, "the other"))

    def order(self, a: Attrs, rank: int) -> tuple[int, ...]:
        first, second = _axis(self.name, a["dim0"], rank), _axis(self.name, a["dim1"], rank)
        order = list(range(rank))
        order[first], order[second] = second, first
        return tuple(order)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        rank = len(ins[0])
        return tt.Transpose(_axis(self.name, a["dim0"], rank) + 1, _axis(self.name, a["dim1"], rank) + 1)

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            b = call.bind("input", "dim0", "dim1")
            return {"dim0": call.axis(b["dim0"]), "dim1": call.axis(b["dim1"])}

        functions = (torch.transpose, torch.Tensor.transpose, torch.swapaxes, torch.Tensor.swapaxes,
                     torch.swapdims, torch.Tensor.swapdims)  # fmt: skip
        return (ImportRule(self.name, modules=(tt.Transpose,),
                           read=lambda c: {"dim0": c.module.dim0 - 1, "dim1": c.module.dim1 - 1}),
                ImportRule(self.name, functions=functions, read=read))  # fmt: skip
