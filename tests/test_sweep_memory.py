"""`sweep` keeps each combination's totals, not its report, and reads the spec once (issue 14 §3: 10,000
combinations of resnet152 passed 1.5 GB)."""

from __future__ import annotations

import tracemalloc

from archcalc.analysis.results import Report
from archcalc.analysis.sweep import parse_sweep_sets, run_sweep
from archcalc.graph_source import GraphSource


def test_points_hold_plain_totals_and_the_spec_is_read_once(monkeypatch) -> None:
    import archcalc.spec as spec

    reads = []
    original = spec.read_spec_document
    monkeypatch.setattr(spec, "read_spec_document", lambda *a, **k: reads.append(a) or original(*a, **k))
    grid = parse_sweep_sets(["num_classes=" + ",".join(str(n) for n in range(1, 41))])
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sweep = run_sweep(GraphSource(spec="resnet18"), grid)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(sweep.points) == 40
    assert not any(isinstance(value, Report) for point in sweep.points for value in vars(point).values())
    assert sweep.points[3].row()["params"] > 0 and sweep.points[3].row()["values"] == {"num_classes": 4}
    assert grown < 40 * 20_000, grown  # a few kB per combination; a resnet18 report alone is far more
    assert len(reads) <= 2  # the variables, then the one document every point expands
