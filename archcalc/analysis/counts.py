"""Counting analysers: params, MACs, FLOPs, connections and activations, one loop each.

Each asks the node's registry entry; the rules (and their formulas) live in archcalc/layers/.
`ins` maps each node to the list of its input shapes (computed once by `input_shapes`).
"""

from __future__ import annotations

from typing import NamedTuple

from archcalc.errors import ArchcalcError
from archcalc.graph import NO_WEIGHT_USE, Graph, Node
from archcalc.layers import Params, Shape, numel

InputShapes = dict[str, list[Shape]]


def input_shapes(graph: Graph, shapes: dict[str, Shape]) -> InputShapes:
    return {n.name: [shapes[name] for name in n.inputs] for n in graph.nodes}


def count_params(graph: Graph, shapes: dict[str, Shape], ins: InputShapes) -> dict[str, Params]:
    return {n.name: held(n, n.rule.params(n.attrs, ins[n.name], shapes[n.name])) for n in graph.nodes}


def held(node: Node, counted: Params) -> Params:
    """The layer type's counts as the layer holds them (`weights:`): frozen parameters move to non-trainable,
    pruning masks and index tables add buffers. Shared elements stay on the row (the totals leave them out)."""
    use = node.weights
    if use is NO_WEIGHT_USE:
        return counted
    if use.frozen > counted.trainable:
        raise node.error(ArchcalcError(f"weights.frozen is {use.frozen:,}, but the {node.type} layer has "
                                       f"{counted.trainable:,} trainable parameters"))  # fmt: skip
    params = Params(counted.trainable - use.frozen, counted.non_trainable + use.frozen, counted.buffers + use.masks + use.tables)
    if use.shared > params.total or use.shared_buffers > params.buffers:
        raise node.error(ArchcalcError(f"weights.shared ({use.shared:,} parameters, {use.shared_buffers:,} buffer "
                                       f"elements) exceeds what the layer holds ({params.total:,}, {params.buffers:,})"))
    return params


def count_macs(graph: Graph, shapes: dict[str, Shape], ins: InputShapes) -> dict[str, int]:
    return {n.name: n.rule.macs(n.attrs, ins[n.name], shapes[n.name]) for n in graph.nodes}


def count_flops(graph: Graph, shapes: dict[str, Shape], ins: InputShapes) -> dict[str, int]:
    return {n.name: n.rule.flops(n.attrs, ins[n.name], shapes[n.name]) for n in graph.nodes}


def count_connections(graph: Graph, shapes: dict[str, Shape], ins: InputShapes) -> dict[str, int]:
    return {n.name: n.rule.connections(n.attrs, ins[n.name], shapes[n.name]) for n in graph.nodes}


def count_activations(graph: Graph, shapes: dict[str, Shape], ins: InputShapes | None = None) -> dict[str, int]:
    """Neurons of a layer: its output elements (AlexNet conv1: 55*55*96 = 290,400), plus the intermediate
    tensors it materialises (`workspace`: an attention's score matrix) when `ins` is given."""
    if ins is None:
        return {n.name: numel(shapes[n.name]) for n in graph.nodes}
    return {n.name: numel(shapes[n.name]) + n.rule.workspace(n.attrs, ins[n.name], shapes[n.name])
            for n in graph.nodes}  # fmt: skip


class LayerCosts(NamedTuple):
    params: Params
    macs: int
    flops: int
    connections: int
    workspace: int
    per_call: tuple[int, int] = (0, 0)  # the (MACs, FLOPs) of macs and flops done once per call, not per sample

    def batched(self, batch: int) -> tuple[int, int]:
        """(MACs, FLOPs) of a batch: the per-sample work `batch` times, the per-call work once."""
        once_macs, once_flops = self.per_call
        return (self.macs - once_macs) * batch + once_macs, (self.flops - once_flops) * batch + once_flops


def layer_costs(graph: Graph, shapes: dict[str, Shape], ins: InputShapes, keys: list) -> list[LayerCosts]:
    """Every count of each node (in the order of graph.nodes), asked of its rules once per signature
    (`keys`, from analysis.shapes.shapes_and_signatures: None asks that node's rules on their own)."""
    known: dict = {}
    out = []
    for node, key in zip(graph.nodes, keys):
        costs = known.get(key) if key is not None else None
        if costs is None:
            rule, a, i, o = node.rule, node.attrs, ins[node.name], shapes[node.name]
            costs = LayerCosts(rule.params(a, i, o), rule.macs(a, i, o), rule.flops(a, i, o), rule.connections(a, i, o),
                               rule.workspace(a, i, o), rule.per_call(a, i, o))  # fmt: skip
            if key is not None:
                known[key] = costs
        out.append(costs if node.weights is NO_WEIGHT_USE else costs._replace(params=held(node, costs.params)))
    return out
