"""Running a torch model once and recording every call that matters: the two tracers.

`trace_fx` (first choice) traces the model with torch.fx, treating every module that has an import
rule (and every torch.nn built-in) as a leaf, then runs the fx graph on the model's device (meta: no
weights, no compute) to know every tensor's shape. `trace_hooks` (the fallback, for models torch.fx
cannot trace, e.g. with data-dependent control flow) runs the model itself with forward hooks on its
leaf modules and a TorchFunctionMode that sees the functional code between them.

Both produce the same record: a list of `Traced` calls in execution order, whose arguments and
outputs are the real (usually meta) tensors, so `mapping.py` can follow tensors by identity.
"""

from __future__ import annotations

import importlib.util
import operator
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode

import archcalc
from archcalc.importer.rules import RuleTable, method



def _package_folder(name: str) -> str | None:
    spec = importlib.util.find_spec(name)
    return str(Path(spec.origin).parent) if spec is not None and spec.origin else None


# Frames that are never the model's own line: torch, archcalc, and the command line that called archcalc
# (a call made where no model frame is on the stack, inside TorchScript-compiled library code, is placed by
# its module path alone rather than at typer's line).
_INTERNAL = tuple(folder for folder in (str(Path(torch.__file__).parent), str(Path(archcalc.__file__).parent),
                                        _package_folder("typer"), _package_folder("click")) if folder)  # fmt: skip
_FRAME = re.compile(r'File "(.+?)", line (\d+), in ')


@dataclass
class Traced:
    """One call: a leaf module (`is_module`) or a function, with its real arguments and output."""

    target: Any
    is_module: bool
    args: tuple
    kwargs: dict
    output: Any
    path: str  # module calls: the module's qualified name; functions: the enclosing module's
    op: str = ""  # functions: a short name for the node (add, cat, relu)
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        place = f"{self.file}:{self.line}" if self.file else ""
        module = f"module {self.path}" if self.path else "the top-level forward"
        return f"{module}, {place}" if place else module


@dataclass
class Trace:
    calls: list[Traced]
    input: torch.Tensor
    output: Any
    method: str
    notes: list[str] = field(default_factory=list)
    # The model's parameters and buffers by name as it was handed over, before the forward ran: a forward that
    # replaces a buffer (ConViT's `self.rel_indices = self.get_rel_indices(N)`) made the new one, no weight.
    handed: dict[str, torch.Tensor] = field(default_factory=dict)


_FX_DEFAULTS = fx.Tracer()


def is_leaf(module: nn.Module, table: RuleTable) -> bool:
    """A module with an import rule, or a torch.nn built-in (torch.fx's default leaves) is not traced into."""
    return bool(table.module_rules(module)) or _FX_DEFAULTS.is_leaf_module(module, "")


def op_name(function: Any) -> str:
    name = function if isinstance(function, str) else getattr(function, "__name__", "op")
    name = name.strip("_") or "op"
    return name[1:] if name in ("iadd", "imul", "isub") else name


def _internal(file: str) -> bool:
    return file.startswith(_INTERNAL) or file.startswith("<")


def _location_from_stack_text(text: str | None) -> tuple[str | None, int | None]:
    for file, line in reversed(_FRAME.findall(text or "")):
        if not _internal(file):
            return file, int(line)
    return None, None


def _location_from_frames() -> tuple[str | None, int | None]:
    frame = sys._getframe(1)
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else (None, None)


def _mutated(target: Any, args: tuple, result: Any) -> Any:
    """In-place writes (`x[i] = y`, `x.add_(y)` returning None) produce their first argument."""
    name = getattr(target, "__name__", str(target))
    if result is None and args and isinstance(args[0], torch.Tensor) and (name.endswith("_") or "setitem" in name):
        return args[0]
    return result


# ----- torch.fx ----------------------------------------------------------------------------------------
class _LeafTracer(fx.Tracer):
    def __init__(self, table: RuleTable) -> None:
        super().__init__()
        self.table = table
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return bool(self.table.module_rules(m)) or super().is_leaf_module(m, module_qualified_name)


class _Recorder(fx.Interpreter):
    """Runs the fx graph and records each call with its real arguments and result."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module, garbage_collect_values=False)
        self.calls: list[Traced] = []

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if n.op not in ("call_module", "call_function", "call_method"):
            return result
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        file, line = _location_from_stack_text(n.meta.get("stack_trace"))
        if n.op == "call_module":
            self.calls.append(Traced(self.fetch_attr(n.target), True, args, kwargs, result, n.target, "", file, line))
            return result
        target = method(n.target) if n.op == "call_method" else n.target
        stack = list((n.meta.get("nn_module_stack") or {}).values())
        scope = stack[-1][0] if stack and isinstance(stack[-1], tuple) else (stack[-1] if stack else "")
        output = _mutated(target, args, result) if target is not operator.setitem else args[0]
        self.calls.append(Traced(target, False, args, kwargs, output, scope, op_name(n.target), file, line))
        return result


def trace_fx(model: nn.Module, example: torch.Tensor, table: RuleTable) -> Trace:
    """Raises whatever torch.fx raises when it cannot trace the model."""
    tracer = _LeafTracer(table)
    graph = tracer.trace(model)
    recorder = _Recorder(fx.GraphModule(tracer.root, graph))
    with torch.no_grad():
        output = recorder.run(example)
    return Trace(recorder.calls, example, output, "torch.fx")


# ----- forward hooks -----------------------------------------------------------------------------------
class _Watcher(TorchFunctionMode):
    """Sees every torch function called outside leaf modules; module hooks keep the module stack."""

    def __init__(self, model: nn.Module, table: RuleTable) -> None:
        super().__init__()
        self.names = {id(m): name for name, m in model.named_modules()}
        self.leaves = {id(m) for m in model.modules() if m is not model and is_leaf(m, table)}
        self.stack: list[tuple[nn.Module, tuple, dict]] = []
        self.leaf_depth = 0
        self.calls: list[Traced] = []

    def scope(self) -> str:
        return self.names.get(id(self.stack[-1][0]), "") if self.stack else ""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.leaf_depth == 0:
            file, line = _location_from_frames()
            output = _mutated(func, args, result)
            self.calls.append(Traced(func, False, args, kwargs, output, self.scope(), op_name(func), file, line))
        return result

    def before(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        self.stack.append((module, args, kwargs))
        self.leaf_depth += id(module) in self.leaves

    def after(self, module: nn.Module, args: tuple, kwargs: dict, result: Any) -> None:
        _, args, kwargs = self.stack.pop()
        if id(module) not in self.leaves:
            return
        self.leaf_depth -= 1
        if self.leaf_depth == 0:
            file, line = _location_from_frames()
            path = self.names.get(id(module), "")
            self.calls.append(Traced(module, True, args, kwargs, result, path, "", file, line))


def trace_hooks(model: nn.Module, example: torch.Tensor, table: RuleTable) -> Trace:
    """Runs the model once, watching it; raises whatever the model's forward raises."""
    watcher = _Watcher(model, table)
    handles = []
    try:
        for module in model.modules():
            if module is not model:
                handles.append(module.register_forward_pre_hook(watcher.before, with_kwargs=True))
                handles.append(module.register_forward_hook(watcher.after, with_kwargs=True))
        with torch.no_grad(), watcher:
            output = model(example)
    finally:
        for handle in handles:
            handle.remove()
    return Trace(watcher.calls, example, output, "forward hooks")
