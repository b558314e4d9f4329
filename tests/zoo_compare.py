"""Layer-by-layer comparison of a zoo spec with a reference torch module (torchvision's structure).

Used by tests/test_zoo_torchvision.py. Everything runs on the meta device: no weights are allocated
and no arithmetic runs, so ResNet-152 or Inception v3 at full size take well under a second.

The three views that must agree:
- the analytic report (archcalc.analysis.analyse on the spec),
- archcalc's own torch build of the spec (archcalc.torch_build.build_module), and
- the reference module (tests/reference/*, torchvision's module tree re-created from its source).
Spec node names are mapped to reference module names (identity for most specs); nodes that
torchvision computes functionally (a concat, a functional ReLU or pool) have no module to compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from archcalc.analysis import analyse
from archcalc.graph import Graph
from archcalc.torch_build import build_module

# spec layer type -> the torch class torchvision uses for it (for positional matching)
TORCH_CLASS = {
    "conv2d": nn.Conv2d, "batchnorm": nn.BatchNorm2d, "relu": nn.ReLU, "max_pool2d": nn.MaxPool2d,
    "avg_pool2d": nn.AvgPool2d, "adaptive_avg_pool2d": nn.AdaptiveAvgPool2d, "linear": nn.Linear,
    "dropout": nn.Dropout,
}  # fmt: skip


@dataclass
class Recorded:
    """What a module did in one forward pass: its last output shape (batch dropped) and its class."""

    shape: tuple[int, ...]
    module: nn.Module


def _numel(tensors) -> int:
    return sum(t.numel() for t in tensors)


def record_outputs(model: nn.Module, modules: dict[str, nn.Module], input_shape: tuple[int, ...],
                   batch: int = 2) -> dict[str, Recorded]:  # fmt: skip
    """Run `model` once on a meta input; keep each listed module's last output shape.

    Modules called several times (torchvision's shared `relu` in a ResNet block) keep the last call.
    """
    seen: dict[str, Recorded] = {}
    handles = []
    for name, module in modules.items():
        def hook(mod, args, out, name=name):
            seen[name] = Recorded(tuple(out.shape[1:]), mod)

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(torch.empty((batch,) + tuple(input_shape), device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return seen


def leaf_modules(model: nn.Module) -> dict[str, nn.Module]:
    return {name: module for name, module in model.named_modules() if name and not list(module.children())}


def densenet_names(spec_name: str) -> str:
    """features.denseblock1.denselayer.0.conv1 -> features.denseblock1.denselayer1.conv1"""
    return re.sub(r"denselayer\.(\d+)", lambda m: f"denselayer{int(m.group(1)) + 1}", spec_name)


def positional_names(graph: Graph, reference: nn.Module) -> Callable[[str], str]:
    """Pair spec nodes with the reference's leaf modules in order (for VGG's paper-named specs).

    Spec nodes whose type has no module in torchvision (flatten) are skipped; the pairing checks that
    every pair has the expected torch class, so a shifted or missing layer fails here.
    """
    nodes = [node for node in graph.nodes if node.type in TORCH_CLASS]
    leaves = list(leaf_modules(reference).items())
    assert len(nodes) == len(leaves), f"{len(nodes)} spec layers with modules vs {len(leaves)} reference leaves"
    pairs = {}
    for node, (leaf_name, leaf) in zip(nodes, leaves):
        assert type(leaf) is TORCH_CLASS[node.type], f"{node.name} ({node.type}) pairs with {leaf_name} ({leaf})"
        pairs[node.name] = leaf_name
    return lambda name: pairs.get(name, "")


@dataclass
class Comparison:
    matched: dict[str, str] = field(default_factory=dict)  # spec node -> reference module


def compare(graph: Graph, reference: nn.Module, rename: Callable[[str], str] = lambda name: name,
            training: bool = False) -> Comparison:  # fmt: skip
    """Assert that spec, own build and reference agree; return which nodes were matched.

    `training` runs the modules in training mode (auxiliary heads only run then).
    """
    report = analyse(graph)
    own = build_module(graph).train(training)
    reference = reference.train(training)
    own_seen = record_outputs(own, {name: own.node_module(name) for name in own.node_names}, graph.input_shape)
    ref_leaves = leaf_modules(reference)
    ref_seen = record_outputs(reference, ref_leaves, graph.input_shape)

    result = Comparison()
    for layer in report.layers:
        analytic, own_shape = tuple(layer.output_shape), own_seen[layer.name].shape
        assert own_shape == analytic, f"{layer.name}: own torch build gives {own_shape}"
        target = rename(layer.name)
        if target not in ref_leaves:
            assert layer.params == 0 and layer.buffers == 0, f"{layer.name} has weights but no reference module"
            continue
        assert target in ref_seen, f"reference module {target} did not run"
        assert ref_seen[target].shape == analytic, f"{layer.name}: reference {target} gives {ref_seen[target].shape}"
        module = ref_leaves[target]
        assert _numel(module.parameters()) == layer.params, f"{layer.name}: params differ from {target}"
        assert _numel(module.buffers()) == layer.buffers, f"{layer.name}: buffers differ from {target}"
        result.matched[layer.name] = target

    weighted = {name for name, module in ref_leaves.items() if _numel(module.parameters()) + _numel(module.buffers())}
    missing = sorted(weighted - set(result.matched.values()))
    assert not missing, f"reference modules with weights that no spec layer matches: {missing[:5]}"
    for model in (own, reference):
        assert _numel(model.parameters()) == report.totals.params
        assert _numel(model.buffers()) == report.totals.buffers
    return result
