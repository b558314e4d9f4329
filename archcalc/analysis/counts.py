"""Counting analysers: params, MACs, FLOPs, connections and activations, one loop each.

Each asks the node's registry entry; the rules (and their formulas) live in archcalc/layers/.
"""

from __future__ import annotations

from archcalc.graph import Graph
from archcalc.layers import Params, Shape, numel


def _ins(node, shapes: dict[str, Shape]) -> list[Shape]:
    return [shapes[name] for name in node.inputs]


def count_params(graph: Graph, shapes: dict[str, Shape]) -> dict[str, Params]:
    return {n.name: n.rule.params(n.attrs, _ins(n, shapes), shapes[n.name]) for n in graph.nodes}


def count_macs(graph: Graph, shapes: dict[str, Shape]) -> dict[str, int]:
    return {n.name: n.rule.macs(n.attrs, _ins(n, shapes), shapes[n.name]) for n in graph.nodes}


def count_flops(graph: Graph, shapes: dict[str, Shape]) -> dict[str, int]:
    return {n.name: n.rule.flops(n.attrs, _ins(n, shapes), shapes[n.name]) for n in graph.nodes}


def count_connections(graph: Graph, shapes: dict[str, Shape]) -> dict[str, int]:
    return {n.name: n.rule.connections(n.attrs, _ins(n, shapes), shapes[n.name]) for n in graph.nodes}


def count_activations(graph: Graph, shapes: dict[str, Shape]) -> dict[str, int]:
    """Neurons of a layer: its output elements (AlexNet conv1: 55*55*96 = 290,400)."""
    return {n.name: numel(shapes[n.name]) for n in graph.nodes}
