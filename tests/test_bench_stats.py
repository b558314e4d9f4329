"""bench's statistics and summary arithmetic, without torch: quantiles, correlations, shares, ratios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archcalc import analyse, load_spec_text
from archcalc.bench.results import Samples
from archcalc.bench.options import parse_dtypes, parse_sweep
from archcalc.bench.stats import pearson, quantile, ranks, spearman
from archcalc.bench.summary import bench_run, paired_sum_ratio
from archcalc.errors import ArchcalcError

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Few distinct values, so that ties are common (Spearman's average ranks).
tied = st.integers(min_value=0, max_value=4).map(float)


@given(st.lists(finite, min_size=1, max_size=40), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]))
def test_quantile_matches_numpy_linear(values, q):
    assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)), rel=1e-9, abs=1e-9)


@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=40))
def test_pearson_matches_numpy(pairs):
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = pearson(xs, ys)
    if np.std(xs) < 1e-3 or np.std(ys) < 1e-3:
        return  # numpy's answer is rounding noise there; the no-spread case is tested below
    assert ours == pytest.approx(float(np.corrcoef(xs, ys)[0, 1]), abs=1e-6)


@given(st.lists(st.tuples(tied, tied), min_size=2, max_size=30))
def test_spearman_matches_pandas_with_ties(pairs):
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    # DataFrame.corr ranks by itself (Series.corr would need scipy); ties get their average rank.
    expected = pd.DataFrame({"x": xs, "y": ys}).corr(method="spearman").loc["x", "y"]
    ours = spearman(xs, ys)
    if math.isnan(expected):
        assert ours is None
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


def test_ranks_average_ties_and_undefined_correlations():
    assert ranks([10.0, 20.0, 10.0, 30.0]) == [1.5, 3.0, 1.5, 4.0]
    assert pearson([1.0], [2.0]) is None
    assert pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert spearman([1.0, 2.0, 3.0], [30.0, 20.0, 10.0]) == -1.0


def test_paired_sum_ratio_is_the_median_of_round_ratios():
    layers = [[1.0, 2.0, 1.0], [1.0, 2.0, 3.0]]  # rounds: sums 2, 4, 4
    whole = [2.0, 2.0, 8.0]  # ratios 1.0, 2.0, 0.5
    assert paired_sum_ratio(layers, whole) == 1.0


TWO_LAYERS = """
name: two
input: [2, 4, 4]
layers:
  - {name: conv, type: conv2d, out_channels: 3, kernel: 3, padding: 1}
  - {name: relu, type: relu}
"""


def test_layer_figures_from_known_times():
    report = analyse(load_spec_text(TWO_LAYERS), batch=2)
    samples = Samples([[3e-6, 1e-6, 2e-6], [1e-6, 1e-6, 1e-6]], [3e-6, 3e-6, 4e-6], [[0, 5, 1], [0, 0, 0]], [2, 9, 3])
    run = bench_run(report, samples)
    conv, relu = run.layers
    assert conv.time.median == 2e-6 and conv.time.best == 1e-6 and conv.time.samples == 3
    assert (conv.time.q1, conv.time.q3) == pytest.approx((1.5e-6, 2.5e-6))
    assert conv.time_share == pytest.approx(2 / 3) and relu.time_share == pytest.approx(1 / 3)
    assert conv.flop_share + relu.flop_share == pytest.approx(1.0)
    assert (conv.macs, conv.flops) == (report.layer("conv").macs, report.layer("conv").flops)
    # weights (2*9+1)*3 = 57; input 2*4*4*2 = 64 and output 3*4*4*2 = 96 elements at batch 2; 4 bytes each
    assert conv.bytes_moved == (57 + 64 + 96) * 4
    assert conv.intensity == pytest.approx(conv.flops / conv.bytes_moved)
    assert conv.gflops_per_second == pytest.approx(conv.flops / 2e-6 / 1e9)
    s = run.summary
    assert s.end_to_end.median == 3e-6 and s.layer_sum == pytest.approx(3e-6)
    assert s.sum_ratio == pytest.approx(0.75)  # rounds: 4/3, 2/3, 3/4
    assert s.throughput == pytest.approx(2 / 3e-6)
    assert s.over_share == ["relu"]  # 1/3 of the time, a sliver of the FLOPs
    assert {c.category for c in s.categories} == {"conv", "activation"}
    assert (conv.page_faults, relu.page_faults, s.page_faults) == (1, 0, 3)


def test_parse_dtypes_and_sweep():
    assert parse_dtypes("float32, bfloat16") == ["float32", "bfloat16"]
    assert parse_sweep("width=8,16") == ("width", [8, 16])
    assert parse_sweep("stages=[1,1],[2,2]") == ("stages", [[1, 1], [2, 2]])
    assert parse_sweep(None) is None
    for bad in ("int8", "float32,float32", "float32,", "flaot32"):
        with pytest.raises(ArchcalcError):
            parse_dtypes(bad)
    for bad in ("width", "width=", "2x=1", "width=1,1", "width={a: 1}", "width=[1,"):
        with pytest.raises(ArchcalcError):
            parse_sweep(bad)
