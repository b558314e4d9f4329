"""fvcore's FlopCountAnalysis as a witness of archcalc's MACs, per module.

fvcore counts one fused multiply-add as one "flop", only for the ops it has handles for (convolution,
linear and matrix products; plus its own conventions for batch norm, other norms, upsampling and
adaptive average pooling), and ignores elementwise ops. So on layer types whose MACs are convolution
or matrix-product multiply-adds (`dense_macs`) its count must equal archcalc's MACs; the other layers
are listed as not counted, or counted under fvcore's own convention (shown, not compared).

Why on cpu: fvcore traces with torch.jit, which does not work on meta tensors. The jit tracer records
convolutions at `aten::_convolution`, which the meta kernel of `aten::convolution` never reaches, and
the Python meta kernels it does reach receive traced sizes (tensors) instead of ints and fail. So the
module is moved to cpu with `to_empty` (memory is reserved, nothing is initialised or copied) and
traced once at batch 1 on a zero input; denormals are flushed so garbage weights cannot slow it down.
That costs one real inference, so specs above `max_macs` MACs or `max_bytes` of weights skip fvcore
(the FlopCounterMode witness, which runs on meta, still covers every layer).
"""

from __future__ import annotations

import warnings

from archcalc.check.results import FVCORE, NOT_CHECKED, Verdict, witness_verdict
from archcalc.graph import Graph
from archcalc.units import human, human_bytes

BYTES_PER_ELEMENT = 4  # float32
_NORM_OPS = ("batch_norm", "group_norm", "layer_norm", "instance_norm")  # fvcore's names for its norm handles


def fvcore_verdicts(model, graph: Graph, macs: dict[str, int], weight_elements: int, total_macs: int,
                    max_macs: int, max_bytes: int, verdicts: dict[str, list[Verdict]]) -> str:  # fmt: skip
    """Append one fvcore verdict per node; return a note on how fvcore ran (or why it did not)."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    on_meta = any(t.is_meta for t in model.parameters()) or any(t.is_meta for t in model.buffers())
    weight_bytes = weight_elements * BYTES_PER_ELEMENT
    if total_macs > max_macs or weight_bytes > max_bytes:
        reason = (f"fvcore not run: tracing needs one real cpu inference, and this spec has {human(total_macs)} MACs "
                  f"and {human_bytes(weight_bytes)} of weights (limits {human(max_macs)} MACs, "
                  f"{human_bytes(max_bytes)})")  # fmt: skip
        for node in graph.nodes:
            verdicts[node.name].append(Verdict(FVCORE, NOT_CHECKED, None, None, "spec too large for fvcore's cpu trace"))
        return reason
    if on_meta:
        from archcalc.torch_build import to_empty

        to_empty(model, "cpu")
    x = torch.zeros((1,) + tuple(graph.input_shape), dtype=torch.int64 if graph.input_dtype == "int64" else None)
    torch.set_flush_denormal(True)  # torch's default is off; it is set back below
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # jit tracer warnings about python values
            analysis = FlopCountAnalysis(model, (x,))
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
            by_operator = analysis.by_module_and_operator()
    finally:
        torch.set_flush_denormal(False)
    # Only the multiply-adds witness the MACs: a weight-standardised conv also runs aten::batch_norm over its
    # weight (conv `standardize`), which fvcore counts under its own norm convention. A conv padded 'same' or
    # 'valid' as torch's string runs aten::_convolution_mode, which fvcore does not see (FlopCounterMode does).
    for node in graph.nodes:
        dense = node.rule.dense_macs and node.rule.fvcore_exact and not node.rule.fused_kernel  # nor a rounded einsum
        dense = dense and not node.rule.fvcore_hidden(node.attrs)
        ops = by_operator.get(model.module_path(node.name), {})
        counted = sum(n for op, n in ops.items() if not (dense and op in _NORM_OPS))
        verdicts[node.name].append(witness_verdict(FVCORE, dense, macs[node.name], counted))
    if on_meta:
        return ("fvcore traced the module once on cpu (meta tensors cannot be jit-traced): weights reserved "
                "with to_empty, batch 1, zero input")  # fmt: skip
    return "fvcore traced the module once on cpu, batch 1, zero input"
