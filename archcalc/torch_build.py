"""Spec graph -> a real torch nn.Module, built from each layer type's `build_torch`.

The module tree mirrors the node names: node `layer1.0.conv1` is the submodule at that qualified
name, so `named_modules()`, hooks and fvcore's per-module counts line up with the analytic report.
Build under `torch.device("meta")` (the default here) to allocate no weights at all.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archcalc.analysis.shapes import infer_shapes
from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph


class SpecModule(nn.Module):
    """Runs the graph's nodes in topological order; returns the output (a tuple for several)."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        shapes = infer_shapes(graph)
        self.spec_name = graph.name
        self.input_shape = tuple(graph.input_shape)
        self.output_names = list(graph.outputs)
        self.node_names: list[str] = []
        self.node_inputs: list[list[str]] = []
        node_modules: list[nn.Module] = []
        for node in graph.nodes:
            try:
                module = node.rule.build_torch(node.attrs, [shapes[n] for n in node.inputs], shapes[node.name])
            except ArchcalcError as exc:
                raise node.error(exc) from None
            self._attach(node.name, module)
            self.node_names.append(node.name)
            self.node_inputs.append(list(node.inputs))
            node_modules.append(module)
        # A plain list, so the modules are registered once (in the tree) and looked up fast.
        object.__setattr__(self, "_node_modules", node_modules)
        # Free each output after its last consumer, as a hand-written forward would: keeping every
        # activation until the end costs memory and page faults that distort timings.
        last_use: dict[str, int] = {}
        for step, inputs in enumerate(self.node_inputs):
            for name in inputs:
                last_use[name] = step
        keep = set(self.output_names)
        self.free_after: list[list[str]] = [[] for _ in self.node_names]
        for name, step in last_use.items():
            if name not in keep:
                self.free_after[step].append(name)

    def _attach(self, path: str, module: nn.Module) -> None:
        parent: nn.Module = self
        *folders, leaf = path.split(".")
        for folder in folders:
            child = parent._modules.get(folder)
            if child is None:
                child = nn.Module()
                parent.add_module(folder, child)
            parent = child
        parent.add_module(leaf, module)

    def node_module(self, name: str) -> nn.Module:
        return self.get_submodule(name)

    def forward(self, x: torch.Tensor) -> Any:
        values: dict[str, torch.Tensor] = {INPUT: x}
        for name, inputs, module, done in zip(self.node_names, self.node_inputs, self._node_modules, self.free_after):
            values[name] = module(*[values[i] for i in inputs])
            for finished in done:
                del values[finished]
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


def build_module(graph: Graph, device: str = "meta", dtype: torch.dtype = torch.float32) -> SpecModule:
    """Build the module on `device` (meta: no memory for weights)."""
    with torch.device(device):
        module = SpecModule(graph)
    return module.to(dtype=dtype).eval()


def example_input(graph: Graph, batch: int = 1, device: str = "meta", dtype: torch.dtype = torch.float32):
    return torch.randn((batch,) + tuple(graph.input_shape), device=device, dtype=dtype)
