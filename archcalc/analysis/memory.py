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


def peak_live_elements(graph: Graph, shapes: dict[str, Shape], ins: dict[str, list[Shape]] | None = None,
                       workspaces: list[int] | None = None) -> int:
    """Largest number of elements alive at once (per sample), walking in topological order; with `ins`
    (each node's input shapes) a layer's workspace counts while it runs (`workspaces`: those already
    counted, in the order of graph.nodes)."""
    nodes = graph.nodes
    last_use = {name: position for position, node in enumerate(nodes) for name in node.inputs}  # the last one wins
    keep = set(graph.outputs)
    size_of = {shape: numel(shape) for shape in set(shapes.values())}  # a big graph repeats a few shapes
    sizes = dict(zip(shapes, map(size_of.__getitem__, shapes.values())))
    sizes[INPUT] = numel(graph.input_shape)
    if workspaces is None:
        workspaces = [node.rule.workspace(node.attrs, ins[node.name], shapes[node.name]) if ins is not None else 0
                      for node in nodes]  # fmt: skip
    live = sizes[INPUT]
    peak = live
    for position, (node, workspace) in enumerate(zip(nodes, workspaces)):
        output = node.name
        live += sizes[output]
        if live + workspace > peak:
            peak = live + workspace
        inputs = node.inputs
        for name in (inputs if len(inputs) < 2 else set(inputs)):
            if last_use.get(name) == position and name not in keep:
                live -= sizes[name]
        if output not in last_use and output not in keep:
            live -= sizes[output]
    return peak
