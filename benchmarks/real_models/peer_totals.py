"""Issue 14 section 8's test data: the peer tools on torchvision's own modules, for the zoo specs named
like a torchvision constructor -> tests/data/torchvision_peer_totals.json (`make peer-totals`).

    python -m benchmarks.real_models.peer_totals [--output PATH]

Needs .venv-real (torchvision). For every spec in specs/ whose name is a torchvision classification
constructor, at the spec's default input and with the constructor arguments that give the spec's
default architecture (CONSTRUCTOR_ARGS), it records:
- each tool's headline total on torchvision's module, batch 1, eval mode, under `torch.no_grad()`,
  with the same calls archcalc.conventions.peers makes on archcalc's own build: fvcore
  `FlopCountAnalysis(m, x).total()`; ptflops `get_model_complexity_info(m, shape, as_strings=False,
  print_per_layer_stat=False, verbose=False)[0]` (its default backend, module hooks); thop
  `thop.profile(m, inputs=(x,), verbose=False)[0]`; torchinfo `summary(m, input_data=x,
  verbose=0).total_mult_adds`; torch `FlopCounterMode(display=False).get_total_flops()`. Each tool gets
  a freshly built module (thop and ptflops attach state to it), on the CPU with real weights;
- `sum(p.numel())` and `sum(b.numel())`;
- every place where torchvision computes with a function or a tensor method instead of a module
  (torch.fx's call_function and call_method nodes, shapes from one forward): module-hook tools
  (ptflops, thop, torchinfo) never see these, so they count differently from a spec that uses a
  module for the same step (mobilenet_v2's `F.adaptive_avg_pool2d`, shufflenet_v2's `x.mean([2, 3])`).
The versions of torch, torchvision and every tool are recorded with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import warnings
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "data" / "torchvision_peer_totals.json"
TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "torch")
PACKAGES = ("torch", "torchvision", "fvcore", "ptflops", "thop", "torchinfo")
# The specs' defaults: inference form without the training-only auxiliary heads (see their headers).
CONSTRUCTOR_ARGS = {"googlenet": {"aux_logits": False, "init_weights": False},
                    "inception_v3": {"aux_logits": False, "init_weights": False}}  # fmt: skip
# fx nodes that only read structure, not compute: left out of the function-call list.
_STRUCTURAL = {"getattr", "getitem", "size", "dim"}


def _tool_total(tool: str, model, x) -> int:
    import torch

    shape = tuple(x.shape[1:])
    with torch.no_grad():
        if tool == "fvcore":
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(model, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            return int(analysis.total())
        if tool == "ptflops":
            from ptflops import get_model_complexity_info

            with contextlib.redirect_stdout(io.StringIO()):
                macs, _ = get_model_complexity_info(model, shape, as_strings=False, print_per_layer_stat=False,
                                                    verbose=False)  # fmt: skip
            return int(macs)
        if tool == "thop":
            import thop

            macs, _ = thop.profile(model, inputs=(x,), verbose=False)
            return int(macs)
        if tool == "torchinfo":
            import torchinfo

            return int(torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds)
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            model(x)
        return int(counter.get_total_flops())


def _target_name(node) -> str:
    target = node.target
    if node.op == "call_method":
        return f"torch.Tensor.{target}"
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", str(target))
    if name.startswith("_VariableFunctionsClass."):  # torch.flatten, torch.cat, ... (C functions)
        module, name = "torch", name.split(".", 1)[1]
    if "<locals>" in name:  # F.max_pool2d is a boolean_dispatch closure named after the function
        module, name = "torch.nn.functional", target.__name__
    if module == "torch._C._nn":  # F.avg_pool2d is the C function itself
        module = "torch.nn.functional"
    if module in ("_operator", "operator"):
        module = "operator"
    return f"{module}.{name}" if module else name


def _shapes(meta) -> list:
    """Output shapes without the batch axis: one for a tensor, several for a tuple (chunk, split)."""
    if meta is None:
        return []
    if hasattr(meta, "shape"):
        return [list(meta.shape[1:])]
    if isinstance(meta, (list, tuple)):
        return [shape for item in meta for shape in _shapes(item)]
    return []


def function_calls(model, x) -> list[dict]:
    """torch.fx's call_function / call_method nodes that compute on tensors, with their module and
    shapes (batch axis excluded); arithmetic on sizes (`c // 2`) is left out."""
    import torch
    from torch.fx import Node, symbolic_trace
    from torch.fx.node import map_arg
    from torch.fx.passes.shape_prop import ShapeProp

    traced = symbolic_trace(model)
    with torch.no_grad():
        ShapeProp(traced).propagate(x)
    calls = []
    for node in traced.graph.nodes:
        if node.op not in ("call_function", "call_method"):
            continue
        name = _target_name(node)
        inputs = [shape for arg in node.all_input_nodes for shape in _shapes(arg.meta.get("tensor_meta"))]
        outputs = _shapes(node.meta.get("tensor_meta"))
        if name.rsplit(".", 1)[-1] in _STRUCTURAL or not (inputs or outputs):
            continue
        stack = node.meta.get("nn_module_stack") or {}
        module = list(stack.values())[-1][0] if stack else ""
        arguments = map_arg((node.args, node.kwargs), lambda n: "%" + n.name if isinstance(n, Node) else n)
        calls.append({"node": node.name, "function": name, "module": module if isinstance(module, str) else "",
                      "input_shapes": inputs, "output_shapes": outputs, "arguments": repr(arguments)[:160]})
    return calls


def zoo_constructor_names() -> list[str]:
    import torchvision.models as tvm

    constructors = set(tvm.list_models(module=tvm))
    return sorted(path.stem for path in (ROOT / "specs").glob("*.yaml") if path.stem in constructors)


def measure(name: str) -> dict:
    import torch
    import torchvision.models as tvm

    from archcalc import load_spec

    shape = tuple(load_spec(name).input_shape)
    kwargs = CONSTRUCTOR_ARGS.get(name, {})

    def build():
        torch.manual_seed(0)
        return tvm.get_model(name, **kwargs).eval()

    x = torch.zeros((1,) + shape)
    model = build()
    entry = {"constructor": f"torchvision.models.{name}(**{kwargs})" if kwargs else f"torchvision.models.{name}()",
             "constructor_args": kwargs, "input": list(shape),
             "params": sum(p.numel() for p in model.parameters()),
             "buffers": sum(b.numel() for b in model.buffers()), "totals": {}}  # fmt: skip
    for tool in TOOLS:
        entry["totals"][tool] = _tool_total(tool, build(), x)
    entry["function_calls"] = function_calls(build(), x)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--only", action="append", default=[], help="measure only these models (for a try)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torch
    import torchvision.models as tvm

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    names = args.only or zoo_constructor_names()
    models = {}
    for name in names:
        print(f"{name} ...", flush=True)
        models[name] = measure(name)
    data = {
        "generated_by": "make peer-totals (benchmarks/real_models/peer_totals.py); do not edit",
        "about": "Peer tools' totals on torchvision's own modules at each zoo spec's default input, batch 1, "
                 "eval mode; function_calls lists where torchvision computes with a function or tensor method "
                 "instead of a module (invisible to module-hook tools). Issue 14, section 8.",
        "versions": {package: version(package) for package in PACKAGES} | {"python": platform.python_version()},
        "tools": {"fvcore": "FlopCountAnalysis(model, x).total()",
                  "ptflops": "get_model_complexity_info(model, input_shape, as_strings=False, "
                             "print_per_layer_stat=False, verbose=False)[0] (backend pytorch: module hooks)",
                  "thop": "thop.profile(model, inputs=(x,), verbose=False)[0]",
                  "torchinfo": "torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds",
                  "torch": "torch.utils.flop_counter.FlopCounterMode(display=False).get_total_flops()"},
        "torchvision_classification_models": sorted(tvm.list_models(module=tvm)),
        "models": models,
    }  # fmt: skip
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, output)
    print(f"wrote {output} ({len(models)} models)")


if __name__ == "__main__":
    main()
