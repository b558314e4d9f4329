"""Running the peer tools for the convention tests: each on the device where it is both faithful and fast.

thop, torchinfo and torch's FlopCounterMode only look at shapes (module hooks, parameter counts, the
dispatched aten ops), so they run on the meta device, where no arithmetic happens and full input
sizes cost nothing. fvcore needs real tensors for its jit trace (it rejects meta tensors), and
ptflops must run on real tensors too: on meta, batch norm decomposes into Python-level tensor ops
that ptflops' patched Tensor.add / Tensor.mul would count. Those two run on the CPU, with
uninitialised weights (archcalc.conventions.peers.build_for_peers).
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from archcalc.conventions.peers import build_for_peers, run_peer
from archcalc.graph import Graph
from archcalc.torch_build import build_module

CPU_TOOLS = ("fvcore", "ptflops")
META_TOOLS = ("thop", "torchinfo", "torch")


def tool_totals(make_module: Callable[[str], nn.Module], input_shape: tuple[int, ...],
                tools: tuple[str, ...] = CPU_TOOLS + META_TOOLS, batch: int = 1) -> dict[str, int]:  # fmt: skip
    """Each tool's headline total for a batch; `make_module(device)` builds the module on "cpu" or "meta"."""
    totals: dict[str, int] = {}
    for device, group in (("cpu", CPU_TOOLS), ("meta", META_TOOLS)):
        wanted = [tool for tool in group if tool in tools]
        if wanted:
            module = make_module(device)
            for tool in wanted:
                totals[tool] = run_peer(tool, module, input_shape, batch, device=device)
    return totals


def spec_module(graph: Graph) -> Callable[[str], nn.Module]:
    """`make_module` for archcalc's own build of `graph`."""
    return lambda device: build_for_peers(graph) if device == "cpu" else build_module(graph, device="meta")
