"""The receptive-field witness: autograd on the real modules, every path made live (see live.py).

For a probed node with output [C, *spatial] (1, 2 or 3 spatial axes), take the gradient of the sum over
channels of its centre position (x_c = (size - 1) // 2 on every spatial axis) with respect to the network
input. Along each spatial axis, the positions where that gradient is non-zero must span exactly the
input positions that position reaches through every layer's RF step (check/support.py): the analytic
field of that position clipped to the input, [x*j - P, x*j - P + r - 1] (archcalc/analysis/receptive.py),
or less where whole taps fall in padding wider than a map (the verdict then says so).

Which nodes: every node whose analytic field is defined. A probe of node n costs about a forward and a
backward through everything before it (float64, on cpu). When probing all of them would exceed
`budget` (MACs plus output elements plus NODE_OVERHEAD per layer, forward and backward), a sample is
probed:
  1. for each distinct layer geometry (type, kernel, stride, padding, dilation, number of inputs), its
     shallowest node, in network order, while the budget lasts;
  2. then the deepest remaining nodes that still fit (the longest compositions, where clipping shows).
The report's notes say how many nodes were probed; the others are "not checked".
"""

from __future__ import annotations

from archcalc.analysis.receptive import Field
from archcalc.check.results import NOT_CHECKED, RECEPTIVE_FIELD, Verdict, compare
from archcalc.check.support import reached_extent, supports
from archcalc.graph import Graph
from archcalc.layers import Shape, numel
from archcalc.progress import Progress, silent
from archcalc.torch_build import TorchRejected

# Python and autograd cost a fixed ~0.1 ms per layer and pass, about what 3 * 10^5 float64 MACs take:
# without it a 1,000-layer stack of tiny convs would look free and take minutes.
NODE_OVERHEAD = 3 * 10**5

Extent = list[list[int]]  # [first, last] per spatial axis ([[rows], [columns]] for an image); [] when empty


def analytic_extent(field: Field, out: Shape, in_shape: Shape) -> Extent:
    """The field of the centre output position, clipped to the input."""
    extent = []
    for axis in range(len(out) - 1):
        centre = (out[1 + axis] - 1) // 2
        start = centre * field.stride[axis] - field.padding[axis]
        end = start + field.size[axis] - 1
        first, last = max(start, 0), min(end, in_shape[1 + axis] - 1)
        if first > last:
            return []
        extent.append([first, last])
    return extent


def choose_probes(candidates: list[str], cost_before: dict[str, int], geometry: dict[str, tuple],
                  budget: int | None) -> list[str]:  # fmt: skip
    """All candidates when affordable (or budget None), else the sample described in the module docstring.

    Cost of a set of probes: one forward to the deepest, plus one backward from each. Candidates come
    in topological order, so `cost_before` grows along the list.
    """
    everything = (cost_before[candidates[-1]] if candidates else 0) + sum(cost_before[n] for n in candidates)
    if budget is None or everything <= budget:
        return list(candidates)
    chosen: set[str] = set()
    forward = backward = 0

    def take(name: str) -> bool:
        nonlocal forward, backward
        if max(forward, cost_before[name]) + backward + cost_before[name] > budget:
            return False
        forward, backward = max(forward, cost_before[name]), backward + cost_before[name]
        chosen.add(name)
        return True

    seen: set[tuple] = set()
    for name in candidates:
        if geometry[name] not in seen and take(name):
            seen.add(geometry[name])
    for name in reversed(candidates):
        if name not in chosen:
            take(name)
    return [name for name in candidates if name in chosen]


def probe_extents(graph: Graph, probes: list[str], progress: Progress = silent) -> dict[str, Extent]:
    """Gradient support of each probe's centre output, on a float64 cpu copy with every path live."""
    import torch

    from archcalc.check.live import LivePaths, fill_positive
    from archcalc.torch_build import build_module, to_empty

    model = build_module(graph, device="meta")
    needed = model.needed_for(probes)
    for name in model.node_names:
        if name in needed:
            module = model.node_module(name)
            to_empty(module, "cpu")
            module.to(torch.float64)
            fill_positive(module)
    x = torch.ones((1,) + tuple(graph.input_shape), dtype=torch.float64, requires_grad=True)
    wanted = set(probes)
    outputs = {}
    with LivePaths():
        for name, output in model.node_outputs(x, needed):
            if name in wanted:
                outputs[name] = output
    extents: dict[str, Extent] = {}
    for position, name in enumerate(reversed(probes)):
        output = outputs.pop(name)
        centre = output[(0, slice(None)) + tuple((size - 1) // 2 for size in output.shape[2:])].sum()
        last = position == len(probes) - 1
        (gradient,) = torch.autograd.grad(centre, x, retain_graph=not last, allow_unused=True)
        extents[name] = _support(gradient)
        progress("receptive fields (autograd)", position + 1, len(probes))
    return extents


def _support(gradient) -> Extent:
    """[first, last] non-zero position along each spatial axis of the input gradient."""
    if gradient is None:
        return []
    touched = gradient[0].abs().sum(dim=0)  # every term is >= 0 here: no cancellation
    extent = []
    for axis in range(touched.dim()):
        others = tuple(other for other in range(touched.dim()) if other != axis)
        hit = (touched.sum(dim=others) if others else touched).nonzero().flatten()
        if hit.numel() == 0:
            return []
        extent.append([int(hit[0]), int(hit[-1])])
    return extent


def receptive_verdicts(graph: Graph, shapes: dict[str, Shape], fields: dict[str, Field | None],
                       macs: dict[str, int], budget: int | None, verdicts: dict[str, list[Verdict]],
                       progress: Progress = silent) -> str:  # fmt: skip
    """Append one receptive-field verdict per node with a defined field; return a note on the sample."""
    rank = len(graph.input_shape)
    if rank < 2:
        return "receptive fields: the input has no spatial axes, nothing to probe"
    nodes = {node.name: node for node in graph.nodes}
    candidates = [n.name for n in graph.nodes if fields.get(n.name) is not None and len(shapes[n.name]) == rank]
    cost_before, running = {}, 0
    for node in graph.nodes:  # upper bound of the work before each node: everything earlier in order
        running += macs[node.name] + numel(shapes[node.name]) + NODE_OVERHEAD
        cost_before[node.name] = running
    geometry = {}
    for name in candidates:
        node = nodes[name]
        step = node.rule.receptive_field(node.attrs, [shapes[i] for i in node.inputs], shapes[name])
        geometry[name] = (node.type, len(node.inputs), step)
    probes = choose_probes(candidates, cost_before, geometry, budget)
    failure = ""
    try:
        extents = probe_extents(graph, probes, progress) if probes else {}
    except TorchRejected as exc:  # the live-path swaps, not archcalc's numbers: the real forward ran
        extents, failure = {}, f"the autograd probe failed at layer {exc.node}: {exc.message}"
    per_axis = supports(graph, shapes)
    for name in candidates:
        expected = analytic_extent(fields[name], shapes[name], graph.input_shape)  # type: ignore[arg-type]
        if name in extents:
            reached = reached_extent(per_axis, shapes, name)
            verdict = compare(RECEPTIVE_FIELD, reached, extents[name])
            if reached != expected:  # taps wholly in padding: the clipped window is wider than what is reached
                verdict.note = (f"{verdict.note}; " if verdict.note else "") + (
                    f"the field clipped to the input spans {expected}; taps that fall wholly in padding reach nothing")
            verdicts[name].append(verdict)
        else:
            reason = failure or "outside the probed sample"
            verdicts[name].append(Verdict(RECEPTIVE_FIELD, NOT_CHECKED, expected, None, reason))
    if failure:
        return f"receptive fields not checked: {failure}"
    scope = "all" if len(probes) == len(candidates) else f"a sample of {len(probes)} of the"
    return (f"receptive fields: autograd probed {scope} {len(candidates)} layers with a defined field "
            "(float64 on cpu, positive constant weights, max pools averaged, flat activations and norms "
            "as identity, padding zero)")
