"""Plain data returned by `archcalc.bench`: timings next to the analytic counts. Torch-free.

Times are seconds per forward call (of one layer, or of the whole network) at the run's batch.
Shares are fractions of the sum over layers, so each run's time shares and FLOP shares add up to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    """Seconds per call over `samples` timed calls (one per round)."""

    median: float
    best: float  # the fastest call: the one least disturbed by other work on the machine
    q1: float
    q3: float
    samples: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


@dataclass
class Samples:
    """The raw measurements of one run: one entry per timed round.

    Page faults are the process's minor faults during the call (Linux and macOS; None elsewhere):
    first touches of freshly mapped memory, which the allocator causes and FLOPs never show.
    """

    layer_seconds: list[list[float]]  # per layer, in graph order
    whole_seconds: list[float]
    layer_faults: list[list[int]] | None = None
    whole_faults: list[int] | None = None


@dataclass
class LayerBench:
    name: str
    type: str
    category: str
    macs: int  # the analytic counts, exactly as `archcalc report` gives them (at the run's batch)
    flops: int
    bytes_moved: int  # (params + buffers + input elements + output elements) x dtype size
    time: Timing
    time_share: float
    flop_share: float
    gflops_per_second: float  # achieved: flops / median time / 1e9
    intensity: float  # arithmetic intensity, FLOPs per byte moved
    page_faults: float | None = None  # median minor page faults per call
    flags: list[str] = field(default_factory=list)  # "unstable", "below the timing floor" (bench/honesty.py)

    @property
    def excess_share(self) -> float:
        """How far the layer's share of the time exceeds its share of the FLOPs (percentage points / 100)."""
        return self.time_share - self.flop_share


@dataclass
class CategoryShare:
    """Layers of one registry category (conv, activation, norm, pool, ...) taken together."""

    category: str
    layers: int
    seconds: float
    time_share: float
    flop_share: float


@dataclass
class BenchSummary:
    end_to_end: Timing  # the whole forward, timed separately from the layers
    layer_sum: float  # sum of the layers' median times
    sum_ratio: float  # median over rounds of (that round's layer times added up) / (that round's forward)
    throughput: float  # samples per second end to end: batch / end_to_end.median
    layer_sum_throughput: float  # batch / layer_sum
    pearson: float | None  # correlation over layers between analytic FLOPs and median time
    spearman: float | None
    over_share: list[str]  # layers whose time share most exceeds their FLOP share, worst first
    categories: list[CategoryShare]
    page_faults: float | None = None  # median minor page faults per whole forward


@dataclass
class BenchRun:
    """One model at one dtype (and one value of a swept variable)."""

    name: str
    dtype: str
    batch: int
    input_shape: list[int]
    macs: int
    flops: int
    layers: list[LayerBench]
    summary: BenchSummary
    sweep: dict[str, Any] = field(default_factory=dict)  # {variable: value} when --sweep made this run

    @property
    def label(self) -> str:
        swept = ", ".join(f"{name}={value}" for name, value in self.sweep.items())
        return f"{self.dtype}, {swept}" if swept else self.dtype

    def layer(self, name: str) -> LayerBench:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


@dataclass
class Machine:
    """Where the figures were measured; figures from different machines do not compare."""

    cpu: str
    logical_cores: int | None
    threads: int
    device: str
    device_name: str
    torch: str
    python: str
    platform: str
    hostname: str
    measured_at: str  # UTC, ISO 8601
    load_average: list[float] | None = None  # 1, 5 and 15 minute load averages before the runs
    load_average_after: list[float] | None = None  # and after them


@dataclass
class BenchSettings:
    warmup: int  # untimed rounds first
    repeats: int  # timed rounds: each times every layer once, then the whole forward once


@dataclass
class BenchReport:
    machine: Machine
    settings: BenchSettings
    runs: list[BenchRun]
    sweep_variable: str | None = None
    warnings: list[str] = field(default_factory=list)  # what makes the figures doubtful (bench/honesty.py)
