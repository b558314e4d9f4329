"""The five peer tools on torchvision's own transformer-era models -> tests/data/transformer_peer_totals.json.

    /work/wt/realmodels/.venv-real/bin/python benchmarks/transformer_peers.py [--only vit_b_16]

Run it with an interpreter that has torchvision (the full torch build: `make realmodels` builds one; it
cannot sit beside .venv's CPU torch). It does not import archcalc. For vit_b_16, vit_l_16, swin_t and
convnext_tiny at 224 px, batch 1, eval mode, on the CPU with real weights, it records `sum(p.numel())`,
`sum(b.numel())` and each tool's headline total, with the same calls as archcalc.conventions.peers
(every tool under `torch.no_grad()`, as inference runs):

    fvcore     FlopCountAnalysis(model, x).total()
    ptflops    get_model_complexity_info(model, (3, 224, 224), as_strings=False, ...)[0]
    thop       thop.profile(model, inputs=(x,))[0]
    torchinfo  torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds
    torch      FlopCounterMode(display=False).get_total_flops()

Each tool gets a freshly built module. The versions of torch, torchvision and every tool are recorded with
the figures; tests/test_zoo_transformers_peers.py checks archcalc's convention profiles against them.
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

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "tests" / "data" / "transformer_peer_totals.json"
MODELS = ("vit_b_16", "vit_l_16", "swin_t", "convnext_tiny")
TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "torch")
PACKAGES = ("torch", "torchvision", "fvcore", "ptflops", "thop", "torchinfo")


def tool_total(tool: str, model, x) -> int:
    import torch

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
                macs, _ = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                    print_per_layer_stat=False, verbose=False)  # fmt: skip
            return int(macs)
        if tool == "thop":
            import thop

            return int(thop.profile(model, inputs=(x,), verbose=False)[0])
        if tool == "torchinfo":
            import torchinfo

            return int(torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds)
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            model(x)
        return int(counter.get_total_flops())


def measure(name: str) -> dict:
    import torch
    import torchvision.models as tvm

    def build():
        torch.manual_seed(0)
        return tvm.get_model(name).eval()

    x = torch.zeros(1, 3, 224, 224)
    model = build()
    entry = {"constructor": f"torchvision.models.{name}()", "input": [3, 224, 224],
             "params": sum(p.numel() for p in model.parameters()),
             "buffers": sum(b.numel() for b in model.buffers()), "totals": {}}  # fmt: skip
    for tool in TOOLS:
        entry["totals"][tool] = tool_total(tool, build(), x)
        print(f"  {tool}: {entry['totals'][tool]:,}", flush=True)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    output = Path(args.output)
    previous = json.loads(output.read_text())["models"] if output.exists() else {}
    models = dict(previous)
    for name in args.only or MODELS:
        print(f"{name} ...", flush=True)
        models[name] = measure(name)
    data = {
        "generated_by": "benchmarks/transformer_peers.py with torchvision's interpreter; do not edit",
        "about": "Peer tools' totals on torchvision's own modules at 224 px, batch 1, eval mode, CPU, no_grad.",
        "versions": {package: version(package) for package in PACKAGES} | {"python": platform.python_version()},
        "models": {name: models[name] for name in MODELS if name in models},
    }
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(temporary, output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
