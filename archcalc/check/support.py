"""What the autograd probe should see: the input positions that one output position really reaches.

The receptive field (analysis/receptive.py) is Araujo et al.'s window: output x spans
[x*j - P, x*j - P + r - 1], which the probe clips to the input. Where a layer pads more than its input is
long (a TCN's dilated causal conv pads (k - 1) d = 384 around 64 positions), whole taps land in padding:
they see nothing, and the window clipped to the input can be wider than the positions really reached.

So the expectation is propagated tap by tap, per spatial axis, from each layer's RF step (kernel, stride,
padding, dilation): the first input position reached by output x of node n is the smallest first
position reached by its valid taps q = x*s - p + t*d (0 <= q < the input's size) in each input, and the
last one likewise. A map that broadcasts (a 1 x 1 map merged into a larger one, the SE scale) is read
at 0. Every valid tap is followed: near a border a dilated tap can fall off the map for one position and
not for its neighbour, so the extremes are not monotone in the position. Iterative and memoised per
(node, position, end): no recursion over deep graphs, and each position of each layer is resolved once.
"""

from __future__ import annotations

from archcalc.graph import INPUT, Graph
from archcalc.layers import Shape

Extent = list[list[int]]


class Support:
    """First and last input position reached along one spatial axis, for any node and output position."""

    def __init__(self, graph: Graph, shapes: dict[str, Shape], axis: int) -> None:
        self.axis, self.shapes = axis, shapes
        self.nodes = {node.name: node for node in graph.nodes}
        self.rank = len(graph.input_shape) - 1
        self.memo: dict[tuple[str, int, bool], int | None] = {}

    def _taps(self, name: str, x: int, source: str, last: bool) -> list[int]:
        """Valid positions of `source` that output x of `name` reads (nearest the chosen end first)."""
        node, axis = self.nodes[name], self.axis
        size_in, size_out = self.shapes[source][1 + axis], self.shapes[name][1 + axis]
        if len(node.inputs) > 1 and size_in == 1 and size_out > 1:
            return [0]  # a 1 x 1 map broadcast over a larger one by an elementwise merge
        step = node.rule.receptive_field(node.attrs, [self.shapes[i] for i in node.inputs], self.shapes[name])
        step = step.for_rank(self.rank)
        k, s, p, d = step.kernel[axis], step.stride[axis], step.padding[axis], step.dilation[axis]
        start = x * s - p
        first_t = max(0, -(-(-start) // d)) if start < 0 else 0  # first tap at or after position 0
        last_t = min(k - 1, (size_in - 1 - start) // d) if size_in - 1 >= start else -1
        taps = range(last_t, first_t - 1, -1) if last else range(first_t, last_t + 1)
        return [start + t * d for t in taps]

    def end(self, name: str, x: int, last: bool) -> int | None:
        """The first (or last) input position output x of `name` reaches; None when it reaches none."""
        stack = [(name, x)]
        while stack:
            current, position = stack[-1]
            if (current, position, last) in self.memo:
                stack.pop()
                continue
            if current == INPUT:
                self.memo[(current, position, last)] = position
                stack.pop()
                continue
            pending, found = self._resolve(current, position, last)
            if pending:
                stack.append(pending)
                continue
            self.memo[(current, position, last)] = found
            stack.pop()
        return self.memo[(name, x, last)]

    def _resolve(self, name: str, x: int, last: bool) -> tuple[tuple[str, int] | None, int | None]:
        """(a request still to compute, or None; the end over every input once all are known)."""
        best: int | None = None
        for source in self.nodes[name].inputs:
            for q in self._taps(name, x, source, last):
                key = (source, q, last)
                if key not in self.memo:
                    return (source, q), None
                value = self.memo[key]
                if value is not None:
                    best = value if best is None else (max(best, value) if last else min(best, value))
        return None, best


def supports(graph: Graph, shapes: dict[str, Shape]) -> list[Support]:
    """One `Support` per spatial axis (their memos serve every probe of the graph)."""
    return [Support(graph, shapes, axis) for axis in range(len(graph.input_shape) - 1)]


def reached_extent(per_axis: list[Support], shapes: dict[str, Shape], name: str) -> Extent:
    """[first, last] input position reached per spatial axis by the centre output position of `name`."""
    extent = []
    for axis, support in enumerate(per_axis):
        centre = (shapes[name][1 + axis] - 1) // 2
        first, last = support.end(name, centre, False), support.end(name, centre, True)
        if first is None or last is None:
            return []
        extent.append([first, last])
    return extent
