"""Spec graph -> a real torch nn.Module, built from each layer type's `build_torch`.

The module tree mirrors the node names: node `layer1.0.conv1` is the submodule at that qualified
name, so `named_modules()`, hooks and fvcore's per-module counts line up with the analytic report.
Build under `torch.device("meta")` (the default here) to allocate no weights at all.

When torch refuses a layer that archcalc accepted (its constructor or its forward raises), the error
is a `TorchRejected` naming the node: for `archcalc check` that is a disagreement, for everyone else
a one-line error.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch
from torch import nn

from archcalc.analysis.shapes import infer_shapes
from archcalc.errors import ArchcalcError
from archcalc.graph import INPUT, Graph, WeightUse


class TorchRejected(ArchcalcError):
    """torch raised while building or running the module of a node archcalc accepted."""

    def __init__(self, node: str, stage: str, exc: BaseException) -> None:
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        super().__init__(f"torch rejects this layer ({stage}): {detail}", path=node)
        self.node, self.stage = node, stage


def out_of_memory(exc: BaseException) -> bool:
    """Whether torch failed for want of memory (not a disagreement: the machine is too small)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc))


def rejected(node: str, stage: str, exc: BaseException) -> ArchcalcError:
    """The error for a node torch failed on: out of memory is the user's machine (exit 2), anything
    else torch refusing what archcalc accepted (TorchRejected)."""
    if out_of_memory(exc):
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        return ArchcalcError(f"out of memory on the {stage} of this layer ({detail}); the meta device "
                             "(check --device meta, the default) needs none", path=node)  # fmt: skip
    return TorchRejected(node, stage, exc)


def _free_key(parent: nn.Module, name: str) -> str:
    """The submodule key for a layer named `name`: the name itself unless it is one of nn.Module's own
    attributes (a layer called `to`, `forward` or `train`, as an import of `x.to(dtype)` names it), which
    add_module refuses; then the name with `_layer` appended (the layer keeps its name everywhere else)."""
    key = name
    while key not in parent._modules and hasattr(parent, key):
        key += "_layer"
    return key


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
                module = self._build(node, [shapes[n] for n in node.inputs], shapes[node.name])
            except ArchcalcError as exc:
                raise node.error(exc) from None
            except Exception as exc:  # noqa: BLE001 - torch's own validation (ValueError, RuntimeError, ...)
                raise node.error(rejected(node.name, "build", exc)) from exc
            hold(module, node.weights)
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

    @staticmethod
    def _build(node, ins: list, out: tuple) -> nn.Module:
        """The node's module; a layer invoked as a function, method or operator (`call:`) runs outside hooks."""
        if node.call == "module":
            return node.rule.build_torch(node.attrs, ins, out)
        from archcalc.torch_modules import Invoked

        return Invoked(node.rule.build_invoked(node.attrs, ins, out, node.call), node.call)

    def _attach(self, path: str, module: nn.Module) -> None:
        parent: nn.Module = self
        *folders, leaf = path.split(".")
        keys = []
        for folder in folders:
            keys.append(_free_key(parent, folder))
            child = parent._modules.get(keys[-1])
            if child is None:
                child = nn.Module()
                parent.add_module(keys[-1], child)
            parent = child
        keys.append(_free_key(parent, leaf))
        parent.add_module(keys[-1], module)
        self.__dict__.setdefault("_by_name", {})[path] = module
        self.__dict__.setdefault("_paths", {})[path] = ".".join(keys)

    def node_module(self, name: str) -> nn.Module:
        return self.__dict__["_by_name"][name]

    def module_path(self, name: str) -> str:
        """Where the layer `name` sits in the module tree (its name, unless `_free_key` had to change it): the
        key fvcore's and FlopCounterMode's per-module counts use."""
        return self.__dict__["_paths"][name]

    def needed_for(self, names: Iterable[str]) -> set[str]:
        """The given nodes and every node they depend on (one backward sweep, no recursion)."""
        needed = set(names)
        for name, inputs in zip(reversed(self.node_names), reversed(self.node_inputs)):
            if name in needed:
                needed.update(inputs)
        return needed

    def node_outputs(self, x: torch.Tensor, only: set[str] | None = None) -> Iterator[tuple[str, Any]]:
        """Run the nodes in topological order (only those in `only`, when given), yielding each output.

        A node whose module raises ends the run with a `TorchRejected` naming it.
        """
        values: dict[str, Any] = {INPUT: x}
        for step, (name, inputs, module) in enumerate(zip(self.node_names, self.node_inputs, self._node_modules)):
            if only is not None and name not in only:
                continue
            try:
                values[name] = module(*[values[i] for i in inputs])
            except Exception as exc:  # noqa: BLE001 - attribute torch's failure to the node
                raise rejected(name, "forward", exc) from exc
            yield name, values[name]
            for finished in self.free_after[step]:
                values.pop(finished, None)

    def forward(self, x: torch.Tensor) -> Any:
        # Every node runs, as the report counts them all; only the outputs are kept.
        wanted = set(self.output_names)
        values = {name: value for name, value in self.node_outputs(x) if name in wanted}
        outputs = tuple(values[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


def hold(module: nn.Module, use: WeightUse) -> None:
    """Give a built layer the spec's `weights:` (graph.WeightUse): `frozen` parameter elements get
    requires_grad=False and `masks` elements a pruning mask (torch.nn.utils.prune.identity), whole
    parameters in order, each taken while it fits; `tables` one long buffer. Shared elements need nothing: every row holds its own."""
    from torch.nn.utils import prune

    frozen, masks = use.frozen, use.masks
    held = [(owner, name, p) for owner in module.modules() for name, p in list(owner.named_parameters(recurse=False))]
    for owner, name, parameter in held:
        if 0 < parameter.numel() <= frozen:
            parameter.requires_grad_(False)
            frozen -= parameter.numel()
        if 0 < parameter.numel() <= masks:
            prune.identity(owner, name)
            masks -= parameter.numel()
    if use.tables:  # index and angle tables (position ids, RoPE's inverse frequencies): a buffer of that size
        module.register_buffer("index_tables", torch.zeros(use.tables, dtype=torch.long))


def to_empty(module: nn.Module, device: str = "cpu") -> nn.Module:
    """`module.to_empty(device=...)`: storage without initialising it, except for index buffers (Swin's
    relative-position index), which modules refill through `reset_index_buffers()`: garbage indices would
    make the forward fail, garbage weights change no count."""
    module.to_empty(device=device)
    for child in module.modules():
        if hasattr(child, "reset_index_buffers"):
            child.reset_index_buffers()
    return module


def build_module(graph: Graph, device: str = "meta", dtype: torch.dtype = torch.float32) -> SpecModule:
    """Build the module on `device` (meta: no memory for weights)."""
    with torch.device(device):
        module = SpecModule(graph)
    return module.to(dtype=dtype).eval()


def example_input(graph: Graph, batch: int = 1, device: str = "meta", dtype: torch.dtype = torch.float32):
    """A random input batch; token ids (input_dtype int64) are zeros, a valid id for every embedding."""
    if graph.input_dtype == "int64":
        return torch.zeros((batch,) + tuple(graph.input_shape), device=device, dtype=torch.int64)
    return torch.randn((batch,) + tuple(graph.input_shape), device=device, dtype=dtype)
