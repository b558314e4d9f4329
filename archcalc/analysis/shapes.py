"""Output shape of every node: one pass in topological order.

No output may exceed `graph.limits.max_elements`: that bounds every size the counting rules see.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph
from archcalc.layers import Shape, numel
from archcalc.limits import note


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {INPUT: graph.input_shape}
    for node in graph.nodes:
        try:
            shape = node.rule.shape(node.attrs, [shapes[name] for name in node.inputs])
            if numel(shape) > graph.limits.max_elements:
                raise ArchcalcError(f"the output {'x'.join(map(str, shape))} has {numel(shape):,} elements; "
                                    + note(graph.limits, "max_elements"))  # fmt: skip
        except ArchcalcError as exc:
            raise node.error(exc) from None
        shapes[node.name] = shape
    return shapes
