"""The forward pass of `archcalc check`: build the module, run it once, compare per node.

- output shape: what the node's module returns (batch axis removed) vs the analytic shape;
- parameters: the node module's `parameters()` split by `requires_grad`, and its `buffers()`;
- FLOPs: torch.utils.flop_counter.FlopCounterMode, attributed to modules by its own tracker. It counts
  only convolutions and matrix products, 2 per multiply-add, bias adds excluded: so it is compared
  with 2 * MACs * batch on layer types whose MACs are exactly those products (`dense_macs`), and every
  other layer is listed as not counted (or counted under its own convention when it reports a number).

On the meta device (the default) nothing is allocated, so specs far larger than RAM check in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.check.results import (
    BUFFERS, DIFFER, FLOP_COUNTER, NON_TRAINABLE, NOT_CHECKED, SHAPE, TORCH_RUNS, TRAINABLE, Verdict, compare,
    witness_verdict,
)  # fmt: skip
from archcalc.graph import Graph
from archcalc.layers import Params, Shape


@dataclass
class ForwardOutcome:
    model: object | None  # the SpecModule, or None when torch could not build it
    failed_node: str | None = None  # the node torch rejected (build or forward), if any
    totals: Params | None = None  # the whole module's parameters() and buffers()


def module_params(module) -> Params:
    trainable = non_trainable = 0
    for parameter in module.parameters():
        if parameter.requires_grad:
            trainable += parameter.numel()
        else:
            non_trainable += parameter.numel()
    return Params(trainable, non_trainable, sum(buffer.numel() for buffer in module.buffers()))


def params_verdicts(expected: Params, seen: Params) -> list[Verdict]:
    return [
        compare(TRAINABLE, expected.trainable, seen.trainable),
        compare(NON_TRAINABLE, expected.non_trainable, seen.non_trainable),
        compare(BUFFERS, expected.buffers, seen.buffers),
    ]


def _rejected(verdicts: dict[str, list[Verdict]], node: str, message: str) -> None:
    verdicts[node].append(Verdict(TORCH_RUNS, DIFFER, "accepts", "rejects", message))


def run_forward(graph: Graph, shapes: dict[str, Shape], params: dict[str, Params], macs: dict[str, int],
                device: str, batch: int, verdicts: dict[str, list[Verdict]]) -> ForwardOutcome:  # fmt: skip
    """Append shape, parameter and FlopCounterMode verdicts to `verdicts` (node name -> list)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torch_build import TorchRejected, build_module, example_input

    try:
        model = build_module(graph, device=device)
    except TorchRejected as exc:
        _rejected(verdicts, exc.node, exc.message)
        for node in graph.nodes:
            if node.name != exc.node:
                verdicts[node.name].append(
                    Verdict(SHAPE, NOT_CHECKED, list(shapes[node.name]), None, "torch could not build the module"))
        return ForwardOutcome(None, exc.node)
    outcome = ForwardOutcome(model, totals=module_params(model))
    for node in graph.nodes:
        verdicts[node.name].extend(params_verdicts(params[node.name], module_params(model.node_module(node.name))))

    x = example_input(graph, batch, device)
    seen: dict[str, list[int] | None] = {}
    hooks = [model.node_module(name).register_forward_hook(_recorder(seen, name)) for name in model.node_names]
    counter = FlopCounterMode(display=False)  # it names modules by the call stack: run the root module
    try:
        with counter, torch.no_grad():
            model(x)
    except TorchRejected as exc:
        outcome.failed_node = exc.node
        _rejected(verdicts, exc.node, exc.message)
    finally:
        for hook in hooks:
            hook.remove()
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    root = type(model).__name__
    for node in graph.nodes:
        name, out = node.name, verdicts[node.name]
        if name not in seen:
            if name != outcome.failed_node:
                out.append(Verdict(SHAPE, NOT_CHECKED, list(shapes[name]), None, "torch failed at an earlier layer"))
            continue
        out.append(_shape_verdict(list(shapes[name]), seen[name], batch))
        once = node.rule.per_call(node.attrs, [shapes[i] for i in node.inputs], shapes[name])[0]
        expected = 2 * ((macs[name] - once) * batch + once)  # work done once per call (Layer.per_call) is not batched
        out.append(witness_verdict(FLOP_COUNTER, node.rule.dense_macs, expected, counts.get(f"{root}.{model.module_path(name)}", 0)))
    return outcome


def _recorder(seen: dict, name: str):
    """A forward hook noting the shape of what the node's module returns (None if not a tensor)."""
    import torch

    def hook(module, args, output) -> None:
        seen[name] = list(output.shape) if isinstance(output, torch.Tensor) else None

    return hook


def _shape_verdict(expected: list[int], seen: list[int] | None, batch: int) -> Verdict:
    if seen is None:
        return Verdict(SHAPE, DIFFER, expected, None, "the module returned something other than a tensor")
    if not seen or seen[0] != batch:
        return Verdict(SHAPE, DIFFER, expected, seen, f"the batch axis of {batch} is gone or changed")
    return compare(SHAPE, expected, seen[1:])
