"""Output shape of every node: one pass in topological order."""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph
from archcalc.layers import Shape


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {INPUT: graph.input_shape}
    for node in graph.nodes:
        try:
            shapes[node.name] = node.rule.shape(node.attrs, [shapes[name] for name in node.inputs])
        except ArchcalcError as exc:
            raise node.error(exc) from None
    return shapes
