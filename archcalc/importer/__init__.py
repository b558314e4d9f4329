"""Import a PyTorch model: trace an nn.Module, map its calls to registry layers, get a Graph.

    from archcalc.importer import import_model
    result = import_model(build_model, (3, 224, 224))   # a factory (built on the meta device) or a module
    report = archcalc.analyse(result.graph)

torch.fx traces the model first, on the meta device when the model is built there (no weights are
allocated); models it cannot trace fall back to forward hooks (see trace.py). Calls without an import
rule become `unsupported` layers, listed in the report, which then says it is incomplete. Importing
runs the model's code: only import models you trust. See docs/import.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.graph import Graph
from archcalc.importer.rules import Call, CannotMap, ImportRule, RuleTable, register_import, unregister_import
from archcalc.layers import numel

# The trace runs this many samples, so a hard-coded batch of 1 (`x.view(1, -1)`) shows up.
TRACE_BATCH = 2
# A model that cannot run on the meta device runs on the CPU only below this many input or weight
# elements (2 GiB of float32 each).
CPU_LIMIT = 2**29


@dataclass
class ImportResult:
    graph: Graph
    method: str  # "torch.fx" or "forward hooks"
    notes: list[str] = field(default_factory=list)
    # Module path -> class name, for naming blocks when exporting a spec.
    labels: dict[str, str] = field(default_factory=dict)


class _RunFailed(Exception):
    def __init__(self, fx_failure: str, run_failure: str, device: str) -> None:
        super().__init__(run_failure)
        self.fx_failure, self.run_failure, self.device = fx_failure, run_failure, device

    def error(self, input_shape: tuple[int, ...], hint: str = "") -> ArchcalcError:
        fx = "" if self.fx_failure[:60] == self.run_failure[:60] else f" (torch.fx: {self.fx_failure[:150]})"
        if "'indices'" in self.run_failure and "FloatTensor" in self.run_failure:
            hint = "; a text model takes token ids: pass --input-dtype int64" + hint
        return ArchcalcError(f"running the model on input {list(input_shape)} failed: {self.run_failure}{fx}{hint}")


def _device(model: Any) -> Any:
    """Where the model's weights are; meta if any is (a model built on the meta device can hold a CPU tensor
    made with the legacy `torch.Tensor(n)` constructor, which ignores the default device: wav2vec 2.0)."""
    import torch

    devices = [tensor.device for tensor in list(model.parameters()) + list(model.buffers())]
    return next((device for device in devices if device.type == "meta"), devices[0] if devices else torch.device("meta"))


def _trace(model: Any, input_shape: tuple[int, ...], table: RuleTable, notes: list[str], input_dtype: str,
           device: Any = None):
    """torch.fx first, forward hooks second; the model runs in eval mode (its modes are restored)."""
    import torch

    from archcalc.importer.loading import one_line
    from archcalc.importer.trace import trace_fx, trace_hooks

    dtype = torch.int64 if input_dtype == "int64" else None  # token ids: zeros are a valid id everywhere
    example = torch.zeros((TRACE_BATCH,) + tuple(input_shape), device=device or _device(model), dtype=dtype)
    modes = {module: module.training for module in model.modules()}
    handed = dict(model.named_parameters(remove_duplicate=False)) | dict(model.named_buffers(remove_duplicate=False))
    model.eval()
    try:
        try:
            trace = trace_fx(model, example, table)
            trace.handed = handed
            return trace
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - any tracing failure (even sys.exit) means: try the hooks
            fx_failure = one_line(exc)
        try:
            trace = trace_hooks(model, example, table)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the user's forward: anything it raises is bad input
            raise _RunFailed(fx_failure, one_line(exc), example.device.type) from None
        notes.append(f"torch.fx could not trace the model ({fx_failure}); used forward hooks instead")
        trace.handed = handed
        return trace
    finally:
        for module, training in modes.items():
            module.training = training


def _root(model: Any) -> Any:
    """A model that is itself a leaf (a bare nn.Conv2d) is traced inside a container, as `model`."""
    from torch import nn

    from archcalc.importer.trace import is_leaf

    class Root(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: Any) -> Any:
            return self.model(x)

    return Root() if is_leaf(model, RuleTable()) else model


def unwrapped(model: Any, notes: list[str]) -> Any:
    """nn.DataParallel and DistributedDataParallel only spread the batch over devices: the model is inside.
    A TorchScript module has no Python forward to trace: say so."""
    import torch
    from torch import nn

    if isinstance(model, torch.jit.ScriptModule):
        raise ArchcalcError("the model is a TorchScript module, which archcalc cannot trace (torch.fx and forward "
                            "hooks need its Python code); pass the nn.Module before torch.jit.script or trace")  # fmt: skip
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        notes.append(f"the model is wrapped in {type(model).__name__}; archcalc analyses the module inside it")
        model = model.module
    return model


def _build_on_cpu(factory: Any, label: str, meta_failure: ArchcalcError) -> Any:
    """The documented fallback when the meta device cannot build the model: build it for real."""
    from archcalc.importer.loading import build

    try:
        return build(factory, label, "cpu")
    except ArchcalcError as cpu_failure:
        raise ArchcalcError(f"{cpu_failure.message} (on the meta device: {meta_failure.message[:150]})") from None


def import_model(model: Any, input_shape: tuple[int, ...], name: str | None = None, source: str = "",
                 input_dtype: str = "float32") -> ImportResult:  # fmt: skip
    """Import an nn.Module, or a factory returning one (built on the meta device), for `input_shape`
    (batch excluded); `input_dtype` "int64" feeds token ids (text models). A model that cannot run on the
    meta device (it branches on tensor values) is built again on the CPU when a factory was given."""
    import torch

    from archcalc.graph import INPUT_DTYPES

    if input_dtype not in INPUT_DTYPES:
        raise ArchcalcError(f"input dtype must be one of {', '.join(INPUT_DTYPES)}, got {input_dtype!r}")
    from archcalc.importer.loading import build
    from archcalc.importer.graph_of_trace import to_graph

    factory = None if isinstance(model, torch.nn.Module) else model
    label = source or getattr(factory, "__name__", "the model factory")
    notes: list[str] = []
    if factory is None:
        built = model
        if any(module.training for module in model.modules()):  # a factory's fresh model always is: no note
            notes.append("the model is in training mode; archcalc counts it in eval mode, as inference runs it "
                         "(dropout off, batch norm on its running statistics)")  # fmt: skip
    else:
        try:
            built = build(factory, label, "meta")
        except ArchcalcError as meta_failure:  # its constructor reads tensor values (torchvision's RegNets)
            built = _build_on_cpu(factory, label, meta_failure)
            notes.append(f"the model cannot be built on the meta device ({meta_failure.message}); built it on "
                         "the CPU")  # fmt: skip
    built = unwrapped(built, notes)
    root = _root(built)
    table = RuleTable()  # after the build: rules for a library's classes join once the model imported it
    device = _device(built) if any(True for _ in [*built.parameters(), *built.buffers()]) else None
    try:
        trace = _trace(root, input_shape, table, notes, input_dtype, device)
    except _RunFailed as failed:
        if failed.device != "meta" or factory is None:
            hint = "; give a factory instead of a built module to let archcalc build it on the CPU"
            raise failed.error(input_shape, hint if failed.device == "meta" else "") from None
        weights = sum(t.numel() for t in [*built.parameters(), *built.buffers()])
        largest = max(TRACE_BATCH * numel(tuple(input_shape)), weights)
        if largest > CPU_LIMIT:
            raise failed.error(input_shape, f"; too large to run on the CPU instead ({largest:,} elements)") from None
        built = build(factory, label, "cpu")
        root = _root(built)
        try:  # on the CPU even without parameters: a parameter-free model would otherwise run on meta again
            trace = _trace(root, input_shape, table, notes, input_dtype, torch.device("cpu"))
        except _RunFailed as again:
            raise again.error(input_shape) from None
        notes.append(f"the model does not run on the meta device ({failed.run_failure}); built it on the CPU")
    title = name or type(built).__name__
    graph, mapping_notes = to_graph(trace, tuple(input_shape), TRACE_BATCH, table, root, title,
                                    f"imported from {source or title} with {trace.method}")  # fmt: skip
    graph.input_dtype = input_dtype
    labels = {path: type(module).__name__ for path, module in root.named_modules()
              if path and not type(module).__module__.startswith(("torch.", "archcalc."))}  # fmt: skip
    return ImportResult(graph, trace.method, notes + trace.notes + mapping_notes, labels)


__all__ = ["Call", "CannotMap", "ImportResult", "ImportRule", "TRACE_BATCH", "import_model", "register_import",
           "unregister_import"]  # fmt: skip
