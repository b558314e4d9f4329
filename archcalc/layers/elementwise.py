"""Elementwise merges: add (residual connections) and mul (the SE channel scale).

Inputs broadcast as in torch.

    flops        (n_inputs - 1) * out     (one add or multiply per extra input)
    connections  n_inputs * out
    receptive field: the union of the inputs' fields (see analysis/receptive.py)
    training     backward about the forward cost (the default rule): a sum passes its gradient on
                 to each input.
"""


from archcalc.errors import ArchcalcError
from archcalc.layers.base import (Attrs, LayerType, Shape, axis_names, elements, numel, register,
                                  same_shape)  # fmt: skip
from archcalc.layers.formula import Const, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule


def broadcast(layer: str, shapes: list[Shape]) -> Shape:
    """torch's broadcasting of sample shapes (batch axes are equal by construction)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ArchcalcError(f"{layer}: input shapes {' and '.join(str(list(s)) for s in shapes)} do not match")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class _Elementwise(LayerType):
    category = "elementwise"
    min_inputs = 2
    max_inputs = None
    flops_rule = "(n_inputs - 1) * out"
    connections_rule = "n_inputs * out"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return broadcast(self.name, ins)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return (len(ins) - 1) * numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return len(ins) * numel(out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        if all(shape == out for shape in ins):
            return same_shape(out)
        return [Formula(f"{name}_out", Const(size), "inputs broadcast as in torch")
                for name, size in zip(axis_names(len(out)), out)]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        n = Term("n_inputs", len(ins))
        return counts(flops=Group(n - 1) * elements(out, "_out"), connections=n * elements(out, "_out"),
                      notes={"FLOPs": f"one {'add' if self.name == 'add' else 'multiply'} per extra input"})

    def import_rules(self, module: type, functions: tuple) -> tuple:
        """Two tensor operands (the importer checks the count: `x + 1` is not this layer type)."""

        def read(call) -> dict:
            b = call.bind("input", "other", "alpha", "out", alpha=1, out=None)
            if b["alpha"] != 1 or b["out"] is not None:
                raise CannotMap("scales the second operand or writes to out=")
            return {}

        def tensors(call) -> bool:  # one tensor and a number is the `scalar` layer type (layers/scalar.py)
            return len(call.in_shapes) >= 2

        return (ImportRule(self.name, modules=(module,)),
                ImportRule(self.name, functions=functions, read=read, when=tensors))  # fmt: skip


def addition_functions() -> tuple:
    """Every callable torch code adds two tensors with (operator, function, method, in place): the import rules
    of `add`, of a position table added to tokens, and the importer's constant tables all key on these. torch
    is imported here, not at module level: the analytic path never loads it."""
    import operator

    import torch

    T = torch.Tensor
    return (operator.add, operator.iadd, torch.add, T.add, T.add_, T.__add__, T.__iadd__, T.__radd__)


@register
class Add(_Elementwise):
    name = "add"
    calls = {"operator": "x + y"}
    summary = "elementwise sum of its inputs (residual connections)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Add()

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm

        return self.import_rules(tm.Add, addition_functions())


@register
class Mul(_Elementwise):
    name = "mul"
    calls = {"operator": "x * y"}
    summary = "elementwise product of its inputs, broadcasting (the SE channel scale)"

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.Mul()

    def torch_import(self) -> tuple:
        import operator

        import torch

        from archcalc import torch_modules as tm

        T = torch.Tensor
        functions = (operator.mul, operator.imul, torch.mul, T.mul, T.mul_, T.__mul__, T.__imul__, T.__rmul__)
        return self.import_rules(tm.Mul, functions)
