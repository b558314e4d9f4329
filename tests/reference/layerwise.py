"""Layer-by-layer comparison of an archcalc spec with an independent reference nn.Module.

The zoo specs name their nodes after the reference's modules (torchvision's qualified names), so the
comparison is by name: every leaf module the reference runs must be a node of the spec with the same
output shape and the same parameter and buffer counts, and the totals must agree. The spec's own torch
build must have the reference's state_dict keys and shapes (a torchvision checkpoint would load).
"""

from __future__ import annotations

import torch
from torch import nn

from archcalc.analysis import analyse
from archcalc.graph import Graph
from archcalc.torch_build import build_module


def leaf_outputs(module: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Output shape (batch excluded) of every leaf module that runs, by qualified name, and of the
    whole module under the name ''; on the meta device."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, child in module.named_modules():
        if name and not any(True for _ in child.children()):
            def hook(_module, _inputs, output, name=name):
                shapes.setdefault(name, tuple(output.shape[1:]))
            handles.append(child.register_forward_hook(hook))
    try:
        with torch.no_grad():
            shapes[""] = tuple(module.eval()(torch.empty((1,) + tuple(input_shape), device="meta")).shape[1:])
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _counts(module: nn.Module) -> tuple[int, int]:
    params = sum(p.numel() for p in module.parameters(recurse=False))
    buffers = sum(b.numel() for b in module.buffers(recurse=False))
    return params, buffers


def assert_matches_reference(graph: Graph, reference: nn.Module) -> None:
    """Fail with the first difference between the spec's analysis and the reference module."""
    report = analyse(graph)
    layers = {layer.name: layer for layer in report.layers}
    ran = leaf_outputs(reference, graph.input_shape)
    final = ran.pop("")
    assert ran, "the reference ran no leaf modules"
    for name, shape in ran.items():
        assert name in layers, f"reference module {name!r} has no spec node of that name"
        layer = layers[name]
        assert tuple(layer.output_shape) == shape, f"{name}: spec {layer.output_shape}, reference {list(shape)}"
        params, buffers = _counts(reference.get_submodule(name))
        assert (layer.params, layer.buffers) == (params, buffers), (
            f"{name}: spec params/buffers {layer.params}/{layer.buffers}, reference {params}/{buffers}"
        )
    total_params = sum(p.numel() for p in reference.parameters())
    total_buffers = sum(b.numel() for b in reference.buffers())
    assert report.totals.params == total_params, f"total params: spec {report.totals.params}, ref {total_params}"
    assert report.totals.buffers == total_buffers, f"buffers: spec {report.totals.buffers}, ref {total_buffers}"
    trainable = sum(p.numel() for p in reference.parameters() if p.requires_grad)
    assert report.totals.trainable_params == trainable
    module = build_module(graph)
    built = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    expected = {key: tuple(value.shape) for key, value in reference.state_dict().items()}
    assert built == expected, f"state_dict keys differ: {sorted(set(built) ^ set(expected))[:6]}"
    with torch.no_grad():
        out = module(torch.empty((1,) + tuple(graph.input_shape), device="meta"))
    assert tuple(out.shape[1:]) == final, f"the spec's torch build gives {list(out.shape)}, the reference {final}"


def build_reference(factory, *args, **kwargs) -> nn.Module:
    """Instantiate a reference module on the meta device (no weights allocated)."""
    with torch.device("meta"):
        return factory(*args, **kwargs).eval()
