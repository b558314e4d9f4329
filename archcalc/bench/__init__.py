"""Measured latency per layer next to the analytic counts: where FLOPs mislead.

    from archcalc.bench import bench_spec
    result = bench_spec("vgg16", input_shape=(3, 64, 64), dtypes=["float32", "bfloat16"])
    result.runs[0].summary.spearman          # FLOPs vs time, over the layers

Every run builds the spec's torch module with real weights on the device and times each layer on its
own recorded inputs and the whole forward separately (archcalc/bench/timing.py says how). The
analytic columns come from `archcalc.analysis.analyse`, so they equal `archcalc report`'s. Importing
this package does not import torch; running a benchmark does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from archcalc.analysis import analyse
from archcalc.bench.options import BENCH_DTYPES, parse_dtypes, parse_sweep
from archcalc.bench.results import BenchReport, BenchRun, BenchSettings, LayerBench, Machine, Timing
from archcalc.errors import ArchcalcError, closest
from archcalc.graph import Graph
from archcalc.progress import Progress, silent

if TYPE_CHECKING:
    from archcalc.graph_source import GraphSource

DEFAULT_SETTINGS = BenchSettings(warmup=3, repeats=20)


def check_settings(settings: BenchSettings) -> None:
    if settings.warmup < 0:
        raise ArchcalcError(f"--warmup must be 0 or more, got {settings.warmup}")
    if settings.repeats < 1:
        raise ArchcalcError(f"--repeats must be at least 1, got {settings.repeats}")


def bench_graph(graph: Graph, batch: int = 1, dtype: str = "float32", device: Any = "cpu",
                settings: BenchSettings = DEFAULT_SETTINGS, sweep: Mapping[str, Any] | None = None,
                progress: Progress = silent, task: str = "timing") -> BenchRun:  # fmt: skip
    """Time one graph at one dtype on `device` (a name or a torch.device); threads as currently set."""
    from archcalc.bench.summary import bench_run
    from archcalc.bench.timing import measure, resolve_device

    check_settings(settings)
    report = analyse(graph, batch=batch, dtype=dtype)
    samples = measure(graph, batch, dtype, resolve_device(str(device)), settings, progress, task)
    return bench_run(report, samples, dict(sweep or {}))


def bench_spec(source: "GraphSource | str", batch: int = 1, dtypes: Sequence[str] = ("float32",), device: str = "cpu", threads: int | None = None,
               sweep: tuple[str, list[Any]] | None = None,
               settings: BenchSettings = DEFAULT_SETTINGS, progress: Progress = silent) -> BenchReport:  # fmt: skip
    """Every dtype at every value of the swept variable (a (name, values) pair), on one machine.

    `source` is a GraphSource (a spec or a model, with overrides and input shape) or a spec name."""
    from archcalc.bench.machine import describe_machine
    from archcalc.bench.timing import device_name, resolve_device, torch_dtype, torch_threads
    from archcalc.graph_source import GraphSource

    if not isinstance(source, GraphSource):
        source = GraphSource(spec=source)

    if not dtypes:
        raise ArchcalcError("bench needs at least one dtype")
    for dtype in dtypes:
        torch_dtype(dtype)
    check_settings(settings)
    resolved = resolve_device(device)
    if sweep is not None and sweep[0] in source.overrides:
        raise ArchcalcError(f"--sweep {sweep[0]} and --set {sweep[0]} both set the same variable")
    graphs = [source.load().graph]
    points: list[dict[str, Any]] = [{}]
    if sweep is not None:
        name, values = sweep
        if name not in graphs[0].variables:
            known = list(graphs[0].variables)
            raise ArchcalcError(f"--sweep {name}: the spec has no variable {name!r}{closest(name, known)} "
                                f"(variables: {', '.join(known) or 'none'})", file=graphs[0].file)  # fmt: skip
        points = [{name: value} for value in values]
        graphs = [source.with_overrides(point).load().graph for point in points]
    # Check every point first (shapes, batch): a bad value fails at once, not after minutes of timing.
    for graph in graphs:
        analyse(graph, batch=batch, dtype=dtypes[0])
    from archcalc.bench.honesty import load_average, report_warnings

    runs = []
    before = load_average()
    with torch_threads(threads) as used:
        for graph, point in zip(graphs, points):
            for dtype in dtypes:
                label = ", ".join([dtype] + [f"{k}={v}" for k, v in point.items()])
                task = f"timing {label} ({len(runs) + 1} of {len(graphs) * len(dtypes)})"
                runs.append(bench_graph(graph, batch, dtype, resolved, settings, point, progress, task))
        machine = describe_machine(str(resolved), device_name(resolved), used, before)
    result = BenchReport(machine=machine, settings=settings, runs=runs, sweep_variable=sweep[0] if sweep else None)
    result.warnings = report_warnings(result)
    return result


__all__ = ["BENCH_DTYPES", "DEFAULT_SETTINGS", "BenchReport", "BenchRun", "BenchSettings", "LayerBench", "Machine",
           "Timing", "bench_graph", "bench_spec", "parse_dtypes", "parse_sweep"]  # fmt: skip
