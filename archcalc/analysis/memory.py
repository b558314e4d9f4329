"""Memory: bytes of parameters and activations at a dtype, and the inference peak.

    param_bytes            (params + buffers) * bytes per element
    activation_bytes       sum of every layer's output elements (times batch) * bytes per element:
                           what keeping all outputs costs (training keeps most of them), plus the
                           intermediate tensors a layer materialises (`workspace`: attention's score
                           matrix, heads x L x S; none with `flash: true`)
    peak_activation_bytes  inference with each output freed after its last consumer: the largest
                           sum of live tensors (the input included) while a layer runs, no in-place ops;
                           a layer's workspace is live while it runs
"""

from __future__ import annotations

from archcalc.graph import INPUT, Graph
from archcalc.layers import Shape, numel


def peak_live_elements(graph: Graph, shapes: dict[str, Shape], ins: dict[str, list[Shape]] | None = None) -> int:
    """Largest number of elements alive at once (per sample), walking in topological order; with `ins`
    (each node's input shapes) a layer's workspace counts while it runs."""
    last_use: dict[str, int] = {}
    for position, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_use[name] = position
    keep = set(graph.outputs)
    live = numel(graph.input_shape)
    peak = live
    for position, node in enumerate(graph.nodes):
        live += numel(shapes[node.name])
        scratch = node.rule.workspace(node.attrs, ins[node.name], shapes[node.name]) if ins is not None else 0
        peak = max(peak, live + scratch)
        for name in set(node.inputs):
            if last_use.get(name) == position and name not in keep:
                live -= numel(shapes[name]) if name != INPUT else numel(graph.input_shape)
        if node.name not in last_use and node.name not in keep:
            live -= numel(shapes[node.name])
    return peak
