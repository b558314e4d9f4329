"""Output shape of every node: one pass in topological order.

No output may exceed `graph.limits.max_elements`: that bounds every size the counting rules see.

The same pass follows what each tensor holds: numbers, or integer token ids (a graph whose
`input_dtype` is int64). An embedding needs ids; every layer that computes needs numbers; data
movement passes ids on as ids (LayerType.reads()). A mismatch is an error naming the layer.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph
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


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {INPUT: graph.input_shape}
    ids: set[str] = {INPUT} if graph.input_dtype == "int64" else set()
    unknown: set[str] = set()  # outputs of imported operations without a rule
    for node in graph.nodes:
        try:
            reads = node.rule.reads()
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
            shape = node.rule.shape(node.attrs, [shapes[name] for name in node.inputs])
            if numel(shape) > graph.limits.max_elements:
                raise ArchcalcError(f"the output {'x'.join(map(str, shape))} has {numel(shape):,} elements; "
                                    + note(graph.limits, "max_elements"))  # fmt: skip
        except ArchcalcError as exc:
            raise node.error(exc) from None
        shapes[node.name] = shape
    return shapes


def token_nodes(graph: Graph) -> set[str]:
    """The nodes (and `input`) whose outputs are integer token ids."""
    ids: set[str] = {INPUT} if graph.input_dtype == "int64" else set()
    for node in graph.nodes:
        if ids and node.rule.reads() == "any" and node.inputs and node.inputs[0] in ids:
            ids.add(node.name)
    return ids
