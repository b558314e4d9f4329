"""Output shape of every node: one pass in topological order.

No output may exceed `graph.limits.max_elements`: that bounds every size the counting rules see.

Every rule is a pure function of a node's type, attributes and input shapes: its `signature`. The pass
gives each node's signature too, so the analysers ask the rules once per distinct signature (the
100,000 layers of a generated spec have a few dozen; ResNet-50's 161 layers about 60).

The same pass follows what each tensor holds: numbers, or integer token ids (a graph whose
`input_dtype` is int64). An embedding needs ids; every layer that computes needs numbers; data
movement passes ids on as ids (LayerType.reads()). A mismatch is an error naming the layer.
"""

from __future__ import annotations

from typing import Any, Hashable

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, Node
from archcalc.layers import Shape, numel
from archcalc.limits import note

_INPUT_HINT = "declare `input_dtype: int64` in the spec, or pass --input-dtype int64"


def _kind_error(node, reads: str, inputs: list[str], ids: set[str], unknown: set[str]) -> ArchcalcError | None:
    """Why this node cannot read what its inputs hold, or None (an input of unknown kind fits anything)."""
    inputs = [name for name in inputs if name not in unknown]
    holding = [name in ids for name in inputs]
    if reads == "tokens" and not all(holding):
        name = inputs[holding.index(False)]
        where = "the network input" if name == INPUT else f"'{name}'"
        hint = f"; {_INPUT_HINT}" if name == INPUT else ""
        return ArchcalcError(f"{node.type} looks up integer token ids, but {where} holds floating-point values{hint}")
    if reads == "float" and any(holding):
        name = inputs[holding.index(True)]
        where = "the network input" if name == INPUT else f"'{name}'"
        return ArchcalcError(f"{node.type} computes on floating-point values, but {where} holds integer token ids "
                             "(an embedding turns ids into vectors)")  # fmt: skip
    if reads == "any" and any(holding) and not all(holding):
        return ArchcalcError(f"{node.type} mixes token ids and floating-point values in its inputs")
    return None


def signature(node: Node, ins: list[Shape]) -> Hashable:
    """What a node's rules read: type, attributes (with their types: True is not 1) and input shapes.
    Unhashable when an attribute or a shape is (that node's rules are then asked on their own)."""
    attrs = node.attrs
    return node.type, node.over, tuple(attrs.items()), tuple(map(type, attrs.values())), tuple(ins)


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    return shapes_and_signatures(graph)[0]


def shapes_and_signatures(graph: Graph) -> tuple[dict[str, Shape], list[int | None], dict[str, list[Shape]]]:
    """Each node's output shape; its `signature` as a small number (in the order of graph.nodes): nodes
    with the same number read alike, None reads like no other node; and each node's input shapes."""
    shapes: dict[str, Shape] = {INPUT: graph.input_shape}
    numbers: dict[Any, int] = {}  # signature -> its number, the index of its shape in `known`
    keys: list[int | None] = []
    inputs: dict[str, list[Shape]] = {}
    known: list[Shape] = []
    ids: set[str] = {INPUT} if graph.input_dtype == "int64" else set()
    unknown: set[str] = set()  # outputs of imported operations without a rule
    max_elements = graph.limits.max_elements
    reads_of: dict[Any, str] = {}  # registry entry -> what its inputs hold
    shape_of = shapes.__getitem__  # mapped over inputs (C speed)
    for node in graph.nodes:
        ins = list(map(shape_of, node.inputs))
        key = signature(node, ins)
        try:
            number = numbers.get(key)
        except TypeError:  # an unhashable attribute
            key = number = None
        try:
            reads = reads_of.get(node.rule)
            if reads is None:
                reads = reads_of[node.rule] = node.rule.reads()
            if reads == "unknown":
                unknown.add(node.name)
            elif ids or reads == "tokens":
                problem = _kind_error(node, reads, node.inputs, ids, unknown)
                if problem is not None:
                    raise problem
                if reads == "any" and node.inputs and node.inputs[0] in ids:
                    ids.add(node.name)
                elif reads == "any" and node.inputs and node.inputs[0] in unknown:
                    unknown.add(node.name)
            if number is not None:
                shape = known[number]
            else:
                shape = node.rule.shape(node.attrs, ins)
                if numel(shape) > max_elements:
                    raise ArchcalcError(f"the output {'x'.join(map(str, shape))} has {numel(shape):,} elements; "
                                        + note(graph.limits, "max_elements"))  # fmt: skip
                if key is not None:
                    number = numbers[key] = len(known)
                    known.append(shape)
        except ArchcalcError as exc:
            raise node.error(exc) from None
        keys.append(number)
        inputs[node.name] = ins
        shapes[node.name] = shape
    return shapes, keys, inputs


def token_nodes(graph: Graph) -> set[str]:
    """The nodes (and `input`) whose outputs are integer token ids."""
    ids: set[str] = {INPUT} if graph.input_dtype == "int64" else set()
    for node in graph.nodes:
        if ids and node.rule.reads() == "any" and node.inputs and node.inputs[0] in ids:
            ids.add(node.name)
    return ids
