"""`archcalc check`: prove every analytic number against real torch modules.

    >>> from archcalc import load_spec
    >>> from archcalc.check import check
    >>> check(load_spec("vgg16")).agrees
    True

The module is built from the spec (archcalc/torch_build.py) and witnessed three ways:
  forward.py         output shapes, parameters and buffers, and FlopCounterMode, on `device` (meta:
                     nothing allocated)
  fvcore_witness.py  fvcore's FlopCountAnalysis per module (a jit trace, so on cpu; skipped above limits)
  receptive.py       receptive fields by autograd, every path made live (live.py), float64 on cpu
Everything comes back as a `CheckReport` (results.py); archcalc/render/check_out.py renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.check.results import (
    AGREE, BUFFERS, DIFFER, FLOP_COUNTER, FVCORE, NON_TRAINABLE, NOT_CHECKED, NOT_COUNTED, OWN_CONVENTION,
    PARAMS, QUANTITIES, RECEPTIVE_FIELD, SHAPE, TORCH_RUNS, TRAINABLE, WITNESSES, CheckReport, LayerCheck,
    Verdict, compare,
)  # fmt: skip
from archcalc.errors import ArchcalcError
from archcalc.interrupts import raise_if_interrupted
from archcalc.graph import Graph
from archcalc.progress import Progress, silent

DEVICES = ("meta", "cpu")


@dataclass(frozen=True)
class CheckOptions:
    device: str = "meta"  # meta: no memory for weights or activations; cpu: real tensors and weights
    batch: int = 2  # of the forward pass: a module that drops or fixes the batch axis shows up
    fvcore: bool = True
    fvcore_max_macs: int = 10**11  # fvcore needs one real cpu inference: skip it above this ...
    fvcore_max_bytes: int = 2 * 2**30  # ... or above this much float32 weight memory
    rf_budget: int | None = 10**10  # MACs + elements of the autograd probes; None probes every layer; 0 none
    progress: Progress = field(default=silent, compare=False)  # (task, done, total) as each step finishes


def _require_torch() -> None:
    import warnings

    try:
        import torch  # noqa: F401

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fvcore calls torch.jit.script on import
            import fvcore.nn  # noqa: F401
    except ImportError as exc:
        raise_if_interrupted()  # a Ctrl-C during torch's import can surface as an ImportError
        raise ArchcalcError(
            f"archcalc check needs torch and fvcore, which do not import here ({exc}); "
            "install them with `pip install torch==2.13.0 fvcore`"
        ) from None
    raise_if_interrupted()  # ... or be swallowed by it


def check(graph: Graph, options: CheckOptions = CheckOptions()) -> CheckReport:
    """Compare every layer's analytic numbers with what torch and the witnesses measure."""
    if options.device not in DEVICES:
        raise ArchcalcError(f"--device takes {' or '.join(DEVICES)}, got {options.device!r}")
    if options.batch < 1:
        raise ArchcalcError(f"batch must be a positive integer, got {options.batch}")
    _require_torch()
    from archcalc.analysis.counts import count_macs, count_params, input_shapes
    from archcalc.analysis.receptive import receptive_fields
    from archcalc.analysis.shapes import infer_shapes
    from archcalc.check.forward import run_forward
    from archcalc.check.fvcore_witness import fvcore_verdicts
    from archcalc.check.receptive import receptive_verdicts

    shapes = infer_shapes(graph)
    ins = input_shapes(graph, shapes)
    params, macs = count_params(graph, shapes, ins), count_macs(graph, shapes, ins)
    verdicts: dict[str, list[Verdict]] = {node.name: [] for node in graph.nodes}
    notes = [f"forward pass on {options.device}, batch {options.batch}: shapes, parameters, buffers, "
             "FlopCounterMode"]  # fmt: skip
    steps = 1 + options.fvcore + (options.rf_budget != 0)
    options.progress("check", 0, steps)
    outcome = run_forward(graph, shapes, params, macs, options.device, options.batch, verdicts)
    options.progress("check", 1, steps)
    if outcome.failed_node is not None:
        notes.append(f"torch rejects layer {outcome.failed_node}; fvcore and receptive fields not run")
    else:
        weight_elements = sum(p.total + p.buffers for p in params.values())
        if options.fvcore:
            notes.append(fvcore_verdicts(outcome.model, graph, macs, weight_elements, sum(macs.values()),
                                         options.fvcore_max_macs, options.fvcore_max_bytes, verdicts))  # fmt: skip
            options.progress("check", 2, steps)
        if options.rf_budget != 0 and graph.input_dtype == "int64":
            notes.append("receptive fields not checked: the input is token ids, which take no gradient")
        elif options.rf_budget != 0:
            fields = receptive_fields(graph, shapes)
            notes.append(receptive_verdicts(graph, shapes, fields, macs, options.rf_budget, verdicts, options.progress))
            options.progress("check", steps, steps)
    layers = [LayerCheck(node.name, node.type, verdicts[node.name], node.line) for node in graph.nodes]
    return CheckReport(
        name=graph.name,
        input_shape=list(graph.input_shape),
        device=options.device,
        batch=options.batch,
        layers=layers,
        totals=_totals(params, layers, outcome.totals),
        notes=notes,
        file=graph.file,
    )


def _totals(params: dict, layers: list[LayerCheck], seen) -> list[Verdict]:
    """Whole-module parameters, and each witness summed over the layers it is compared on."""
    totals = []
    if seen is not None:
        trainable = sum(p.trainable for p in params.values())
        non_trainable = sum(p.non_trainable for p in params.values())
        totals += [
            compare(PARAMS, trainable + non_trainable, seen.total),
            compare(TRAINABLE, trainable, seen.trainable),
            compare(NON_TRAINABLE, non_trainable, seen.non_trainable),
            compare(BUFFERS, sum(p.buffers for p in params.values()), seen.buffers),
        ]
    for quantity in (FVCORE, FLOP_COUNTER):
        compared = [v for layer in layers if (v := layer.verdict(quantity)) and v.status in (AGREE, DIFFER)]
        if compared:
            totals.append(compare(quantity, sum(v.archcalc for v in compared), sum(v.torch for v in compared),
                                  f"over the {len(compared)} layers it is compared on"))  # fmt: skip
    return totals


__all__ = [
    "AGREE", "DIFFER", "NOT_CHECKED", "NOT_COUNTED", "OWN_CONVENTION", "QUANTITIES", "WITNESSES", "SHAPE",
    "TORCH_RUNS", "RECEPTIVE_FIELD", "CheckOptions", "CheckReport", "LayerCheck", "Verdict", "check",
]  # fmt: skip
