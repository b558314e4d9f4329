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
                tools: tuple[str, ...] = CPU_TOOLS + META_TOOLS, batch: int = 1, dtype: str = "float32",
                cpu_tools: tuple[str, ...] = CPU_TOOLS) -> dict[str, int]:  # fmt: skip
    """Each tool's headline total for a batch; `make_module(device)` builds the module on "cpu" or "meta".

    `cpu_tools` run on the CPU, the others on meta. FlopCounterMode must run on the CPU for attention (a
    layer type with `fused_kernel`): there torch takes the fused paths whose products it does not count,
    as it does for users; on meta it runs the math path and counts them (see `for_graph`)."""
    totals: dict[str, int] = {}
    meta_tools = tuple(tool for tool in CPU_TOOLS + META_TOOLS if tool not in cpu_tools)
    for device, group in (("cpu", cpu_tools), ("meta", meta_tools)):
        wanted = [tool for tool in group if tool in tools]
        if wanted:
            module = make_module(device)
            for tool in wanted:
                totals[tool] = run_peer(tool, module, input_shape, batch, device=device, dtype=dtype)
    return totals


def cpu_tools_for(graph: Graph) -> tuple[str, ...]:
    """The tools to run on the CPU for `graph`: FlopCounterMode too when it has a fused-kernel layer."""
    return CPU_TOOLS + (("torch",) if any(node.rule.fused_kernel for node in graph.nodes) else ())


def spec_module(graph: Graph) -> Callable[[str], nn.Module]:
    """`make_module` for archcalc's own build of `graph`."""
    return lambda device: build_for_peers(graph) if device == "cpu" else build_module(graph, device="meta")
