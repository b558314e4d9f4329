"""One whole-process peer run: build the torch module for a spec, then analyse it with one tool.

    python benchmarks/peer.py TOOL SPEC        TOOL: fvcore | ptflops | torchinfo | thop

Prints one JSON line: {"tool", "spec", "total", "build_s", "analyse_s"} or {"error": ...}.
The module is built on the CPU with real weights (what the peers need to run), from the same spec
archcalc reads, by archcalc's torch builder: every tool analyses the identical architecture.
"""

from __future__ import annotations

import json
import sys
import time


def analyse(tool: str, module, shape: tuple[int, ...]) -> int:
    import torch

    x = torch.randn((1,) + shape)
    if tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(module, x)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return int(analysis.total())
    if tool == "ptflops":
        from ptflops import get_model_complexity_info

        macs, _ = get_model_complexity_info(module, shape, as_strings=False, print_per_layer_stat=False,
                                            verbose=False)  # fmt: skip
        return int(macs)
    if tool == "torchinfo":
        import torchinfo

        return int(torchinfo.summary(module, input_size=(1,) + shape, verbose=0).total_mult_adds)
    if tool == "thop":
        import thop

        macs, _ = thop.profile(module, inputs=(x,), verbose=False)
        return int(macs)
    raise SystemExit(f"unknown tool {tool!r}")


def main() -> None:
    tool, spec = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    from archcalc.errors import ArchcalcError

    try:
        from archcalc import load_spec
        from archcalc.torch_build import build_module

        graph = load_spec(spec)
        module = build_module(graph, device="cpu")
    except (RuntimeError, MemoryError, ArchcalcError) as exc:  # the giant spec: the weights do not fit
        print(json.dumps({"tool": tool, "spec": spec, "error": " ".join(str(exc).split())[:600]}))
        return
    built = time.perf_counter()
    total = analyse(tool, module, tuple(graph.input_shape))
    done = time.perf_counter()
    print(json.dumps({"tool": tool, "spec": spec, "total": total, "build_s": built - started,
                      "analyse_s": done - built}))  # fmt: skip


if __name__ == "__main__":
    main()
