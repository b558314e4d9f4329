"""Measured times + the analytic Report -> per-layer figures and the summary. Torch-free.

Per layer:
    time share       median time / sum of the layers' median times
    FLOP share       analytic FLOPs / total analytic FLOPs (0 for every layer when the net has none)
    GFLOP/s          analytic FLOPs / median seconds / 1e9 (what the hardware achieved on this layer)
    bytes moved      (params + buffers + input elements + output elements) x dtype size: each weight
                     and each activation read or written once, the least traffic the layer can have
    intensity        FLOPs / bytes moved (FLOP/B); low intensity means the layer is bound by memory
                     bandwidth or call overhead, not arithmetic, so FLOPs underestimate its cost
The summary correlates FLOPs with time over the layers (Pearson on the values, Spearman on the
ranks), lists the layers whose time share most exceeds their FLOP share, groups the shares by layer
category, and sets the end-to-end forward (timed separately) against the sum over layers.
"""

from __future__ import annotations

from archcalc.analysis.results import DTYPE_BYTES, Report
from archcalc.bench.results import BenchRun, BenchSummary, CategoryShare, LayerBench, Samples, Timing
from archcalc.bench.honesty import timing_flags
from archcalc.bench.stats import pearson, quantile, spearman
from archcalc.layers import numel

# How many layers the summary names as costing more time than their FLOPs suggest.
OVER_SHARE_LAYERS = 5


def timing(seconds: list[float]) -> Timing:
    return Timing(median=quantile(seconds, 0.5), best=min(seconds), q1=quantile(seconds, 0.25),
                  q3=quantile(seconds, 0.75), samples=len(seconds))  # fmt: skip


def median_or_none(values: list[int] | None) -> float | None:
    return None if values is None else quantile([float(v) for v in values], 0.5)


def paired_sum_ratio(layer_seconds: list[list[float]], whole_seconds: list[float]) -> float:
    """Median over rounds of (the layers' times in that round, added up) / (that round's whole forward)."""
    return quantile([sum(layer[r] for layer in layer_seconds) / whole for r, whole in enumerate(whole_seconds)], 0.5)


def _input_elements(report: Report) -> dict[str, int]:
    """Output elements (times batch) of every value a layer can read, the network input included."""
    elements = {layer.name: layer.activations for layer in report.layers}
    elements["input"] = numel(tuple(report.input_shape)) * report.batch
    return elements


def layer_figures(report: Report, times: list[Timing], faults: list[list[int]] | None = None) -> list[LayerBench]:
    if len(times) != len(report.layers):
        raise ValueError("one timing per layer expected")
    fault_medians = [median_or_none(f) for f in faults] if faults is not None else [None] * len(times)
    width = DTYPE_BYTES[report.dtype]
    elements = _input_elements(report)
    total_time = sum(t.median for t in times)
    total_flops = report.totals.flops
    layers = []
    for layer, time, page_faults in zip(report.layers, times, fault_medians):
        moved = (layer.params + layer.buffers + sum(elements[i] for i in layer.inputs) + layer.activations) * width
        layers.append(
            LayerBench(
                name=layer.name,
                type=layer.type,
                category=layer.category,
                macs=layer.macs,
                flops=layer.flops,
                bytes_moved=moved,
                time=time,
                time_share=time.median / total_time,
                flop_share=layer.flops / total_flops if total_flops else 0.0,
                gflops_per_second=layer.flops / time.median / 1e9,
                intensity=layer.flops / moved if moved else 0.0,
                page_faults=page_faults,
                flags=timing_flags(time),
            )
        )
    return layers


def _categories(layers: list[LayerBench]) -> list[CategoryShare]:
    groups: dict[str, list[LayerBench]] = {}
    for layer in layers:
        groups.setdefault(layer.category, []).append(layer)
    shares = [
        CategoryShare(
            category=name,
            layers=len(members),
            seconds=sum(m.time.median for m in members),
            time_share=sum(m.time_share for m in members),
            flop_share=sum(m.flop_share for m in members),
        )
        for name, members in groups.items()
    ]
    return sorted(shares, key=lambda share: -share.seconds)


def summarise(layers: list[LayerBench], end_to_end: Timing, sum_ratio: float, batch: int) -> BenchSummary:
    layer_sum = sum(layer.time.median for layer in layers)
    flops = [float(layer.flops) for layer in layers]
    seconds = [layer.time.median for layer in layers]
    over = sorted((layer for layer in layers if layer.excess_share > 0), key=lambda layer: -layer.excess_share)
    return BenchSummary(
        end_to_end=end_to_end,
        layer_sum=layer_sum,
        sum_ratio=sum_ratio,
        throughput=batch / end_to_end.median,
        layer_sum_throughput=batch / layer_sum,
        pearson=pearson(flops, seconds),
        spearman=spearman(flops, seconds),
        over_share=[layer.name for layer in over[:OVER_SHARE_LAYERS]],
        categories=_categories(layers),
    )


def bench_run(report: Report, samples: Samples, sweep: dict | None = None) -> BenchRun:
    """The run's figures from the raw measurements of every timed call."""
    layers = layer_figures(report, [timing(seconds) for seconds in samples.layer_seconds], samples.layer_faults)
    summary = summarise(layers, timing(samples.whole_seconds),
                        paired_sum_ratio(samples.layer_seconds, samples.whole_seconds), report.batch)  # fmt: skip
    summary.page_faults = median_or_none(samples.whole_faults)
    return BenchRun(
        name=report.name,
        dtype=report.dtype,
        batch=report.batch,
        input_shape=list(report.input_shape),
        macs=report.totals.macs,
        flops=report.totals.flops,
        layers=layers,
        summary=summary,
        sweep=dict(sweep or {}),
    )
